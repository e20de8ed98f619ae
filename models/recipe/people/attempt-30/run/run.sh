#!/usr/bin/env bash
# Attempt 30 (issue 14): a wider network. Attempts 27-29 (320 px, alpha 0.5) end within a
# point of each other, their training accuracy no higher than their validation accuracy
# (69.6 against 69.2 % a frame): the net underfits. Attempt 27's weights are widened to half
# as many hidden channels again in every block (--expand 1.5: expansion 9 instead of 6; the
# added channels start with no say, so the net first computes exactly what attempt 27's does)
# and trained on attempt 27's groups (391-740, 951-1140) at 320 px, lr 2e-4 (the added
# channels start from nothing), 75 minutes.
#   W=/work/people8 models/recipe/people/attempt-30/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=models/recipe/people/attempt-30 TSM=tsm30 SEED=30 LR=2e-4 SIZE=320 TSM_MIN="${TSM_MIN:-75}" EXTRACT=0 \
    FROM_ONSET=0.3 TRAIN_GROUPS=391-740,951-1140 FRAME_ASSESS=models/recipe/people/attempt-19/assess \
    INIT="--expand 1.5 --init-from models/recipe/people/attempt-27/weights/tsm.weights.h5 --init-from-expand 1.0" \
    bash "$here/../../train-tsm.sh"
echo attempt 30 done
