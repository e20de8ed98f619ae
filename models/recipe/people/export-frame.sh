#!/usr/bin/env bash
# A kept frame model exported and evaluated again, untrained (recipe.py train --epochs 0), into
# the run folder W/FRAME with the settings train-pair.sh trained it with, so that a machine
# that has only this repository gets the frame run post.sh compares with. Needs prepare.sh's
# data set; extracts the frames at SIZE itself.
#   W=/work/people8 FRAME=frame11 FROM=models/recipe/people/attempt-11/weights/frame.weights.h5 \
#   SIZE=128 SEED=11 models/recipe/people/export-frame.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
: "${FRAME:?frame run name}" "${FROM:?frame weights}" "${SIZE:?input size}" "${SEED:?seed}"
.venv/bin/python models/recipe/recipe.py train --data "$W/mix" --alpha 0.5 --test-groups 761-800,1161-1200 \
    --val-groups 741-760,1141-1160 --threads 2 --seed "$SEED" --config models/recipe/people/medium.json \
    --sample-fps 10 --epochs 0 --size "$SIZE" --out "$W/$FRAME" --name actiond-people-mobilenetv2 \
    --backbone mobilenet_v2 --batch-size 32 --train-frame-step 4 --init-from "$FROM" > "$W/$FRAME.log" 2>&1
