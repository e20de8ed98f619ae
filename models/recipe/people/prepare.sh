#!/usr/bin/env bash
# The people data set every attempt since 6 trains on, made on a machine that has only
# this repository: renders the 12,000 clips (seeded, so identical each time; large people
# in groups 1-800 at 160x120, small in 801-1200 at 256x192 since attempt 19, so that a
# person a tenth of the frame high is drawn in the rows the 192 px models see, not
# enlarged), links them into $W/mix, and extracts their frames at 10 fps / 96 px once into
# $W/frame/cache/frames, through the daemon's own decoding path. A render that stopped part
# way resumes, and clips and frames already there are not made again, unless the renderer
# now plans a clip differently (it is rendered, and its frames extracted, again). EXTRACT=0
# leaves the 96 px frames out (9.4 GB; only the frame runs of attempts 6-11 train on them).
# RENDER_SIZE (e.g. 424x320, a camera's detail at a 320 px model's input) renders both halves
# at that size instead, LARGE_GROUPS and SMALL_GROUPS (defaults 1-800, 801-1200) only those
# groups, and LINK_FROM=<another W> LINK_GROUPS=<groups> links that data set's renders of
# those groups into this one's mix as they are (a group rendered here is not linked).
# Give a RENDER_SIZE its own W: clips of another size already there are rendered again.
# VIEWS (e.g. front,high) with VIEW_LARGE_GROUPS and VIEW_SMALL_GROUPS also renders those
# groups with cameras drawn from those views only (render-humans --views), at the halves'
# sizes and scales: a training set weighted towards the views where clips are lost.
#   W=/work/people8 models/recipe/people/prepare.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
py=.venv/bin/python
t0=$(date +%s)
bash scripts/python-env.sh
# Always run: clips already written with the same plan are skipped (about 5 ms each), and
# those the renderer now plans differently are rendered again (attempt 18's falls and sits,
# attempt 19's small half at its new size and its clips with an empty chair).
$py models/recipe/recipe.py render-humans --out "$W/large" --groups "${LARGE_GROUPS:-1-800}" --clips 1 --seed 21 \
    --scale 0.4-0.9 --jobs 2 --size "${RENDER_SIZE:-160x120}"
$py models/recipe/recipe.py render-humans --out "$W/small" --groups "${SMALL_GROUPS:-801-1200}" --clips 1 --seed 21 \
    --scale 0.1-0.4 --jobs 2 --size "${RENDER_SIZE:-256x192}"
if [ -n "${VIEWS:-}" ]; then
    : "${VIEW_LARGE_GROUPS:?groups of large people rendered from VIEWS}" "${VIEW_SMALL_GROUPS:?and of small ones}"
    $py models/recipe/recipe.py render-humans --out "$W/large" --groups "$VIEW_LARGE_GROUPS" --clips 1 --seed 21 \
        --scale 0.4-0.9 --jobs 2 --size "${RENDER_SIZE:-160x120}" --views "$VIEWS"
    $py models/recipe/recipe.py render-humans --out "$W/small" --groups "$VIEW_SMALL_GROUPS" --clips 1 --seed 21 \
        --scale 0.1-0.4 --jobs 2 --size "${RENDER_SIZE:-256x192}" --views "$VIEWS"
fi
echo "rendered; $(( $(date +%s) - t0 )) s so far"
cargo build --release --locked   # extract-frames runs the daemon's own decoding path
bash models/recipe/people/attempt-6/run/mix.sh "$W"   # links; idempotent
if [ -n "${LINK_FROM:-}" ]; then
    : "${LINK_GROUPS:?the groups of LINK_FROM to link}"
    in_groups() {  # group ranges ("391-600,951-1060")
        local r
        for r in ${LINK_GROUPS//,/ }; do
            [ "$1" -ge "${r%-*}" ] && [ "$1" -le "${r#*-}" ] && return 0
        done
        return 1
    }
    n=0
    for f in "$LINK_FROM"/mix/*/*.avi; do
        name=$(basename "$f") class=$(basename "$(dirname "$f")")
        g=${name##*_g}; g=$((10#${g%%_c*}))
        in_groups "$g" && [ ! -e "$W/mix/$class/$name" ] || continue
        mkdir -p "$W/mix/$class"; ln -s "$(readlink -f "$f")" "$W/mix/$class/$name"; n=$((n + 1))
    done
    echo "linked $n videos of groups $LINK_GROUPS from $LINK_FROM"
fi
extract() {
    W="$W" $py - "$@" <<'PY'
import os, sys
from pathlib import Path
sys.path.insert(0, "models/recipe")
from actiond_recipe import dataset as ds
w = Path(os.environ["W"])
labels = sys.argv[1].split(",")
_, videos = ds.scan(w / "mix")
videos = [v for v in videos if v.label in labels]
ds.extract(videos, w / "frame/cache/frames", ds.find_actiond(), 96, "stretch", "RGB", 10.0)
PY
}
[ "${EXTRACT:-1}" != 0 ] || { echo "prepared in $(( $(date +%s) - t0 )) s (no 96 px frames: EXTRACT=0)"; exit 0; }
mkdir -p "$W/frame/cache/frames"
extract boxing,clapping,falling,idle,jumping & p1=$!
extract kicking,running,sitting_down,walking,waving & p2=$!
wait $p1 $p2
echo "prepared in $(( $(date +%s) - t0 )) s"
