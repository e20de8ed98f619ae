# The people data set's two held-out halves, sourced by post.sh and assess-before.sh:
# TEST_HALVES as name:groups (the test groups train-tsm.sh holds out), CHAIR_HALVES as
# name:groups:render size:people's size for recipe.py chair-check (prepare.sh's settings).
# shellcheck disable=SC2034  # used by the scripts that source it
TEST_HALVES="large:761-800 small:1161-1200"
CHAIR_HALVES="large:781-800:160x120:0.4-0.9 small:1181-1200:256x192:0.1-0.4"
