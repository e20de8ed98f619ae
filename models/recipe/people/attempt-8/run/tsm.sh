#!/usr/bin/env bash
# Attempt 8 (issue 14): the TSM continued from attempt 7's kept TSM weights (which started
# from attempt 7's frame model) at attempt 7's low learning rate, for TSM_MIN minutes on
# the second core beside frame.sh.
#   W=/work/people8 TSM_MIN=100 models/recipe/people/attempt-8/run/tsm.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
TSM_MIN="${TSM_MIN:-100}"
a7=models/recipe/people/attempt-7
mkdir -p "$W/tsm8/cache"
[ -d "$W/tsm8/cache/frames" ] || cp -al "$W/frame/cache/frames" "$W/tsm8/cache/frames"
.venv/bin/python models/recipe/recipe.py train-temporal --data "$W/mix" --alpha 0.5 --size 96 \
    --test-groups 761-800,1161-1200 --val-groups 741-760,1141-1160 --threads 1 --seed 8 \
    --config models/recipe/people/medium.json --sample-fps 10 --learning-rate 2e-4 \
    --max-minutes "$TSM_MIN" --out "$W/tsm8" --name actiond-people-tsm-mobilenetv2 \
    --frames 8 --clip-step 8 --epochs 40 --init-from "$a7/weights/tsm.weights.h5" > "$W/tsm8.log" 2>&1
