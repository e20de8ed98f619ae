#!/usr/bin/env bash
# Attempt 12 (issue 14): the fair motion test attempt 11 left. A TSM at 128 px, started from
# attempt 11's kept frame weights (trained at 128 px; --init-from-frame), lr 3e-4, on both
# cores; the frame model it is compared with is attempt 11's, unchanged (run folder frame11,
# which also holds the 128 px frames the TSM reuses; without it the TSM extracts its own).
#   W=/work/people8 TSM_MIN=105 models/recipe/people/attempt-12/run/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
A=models/recipe/people/attempt-12
py=.venv/bin/python
# post.sh compares with attempt 11's frame run: say so now, not after 105 minutes of training.
[ -f "$W/frame11/model.onnx" ] || { echo "$W/frame11 (attempt 11's frame run) is missing:" \
    "run models/recipe/people/attempt-11/run/run.sh first" >&2; exit 1; }
W="$W" bash models/recipe/people/prepare.sh
mkdir -p "$W/tsm12/cache"
[ -d "$W/tsm12/cache/frames" ] || [ ! -d "$W/frame11/cache/frames" ] \
    || cp -al "$W/frame11/cache/frames" "$W/tsm12/cache/frames"
$py models/recipe/recipe.py train-temporal --data "$W/mix" --alpha 0.5 \
    --test-groups 761-800,1161-1200 --val-groups 741-760,1141-1160 --threads 2 --seed 12 \
    --config models/recipe/people/medium.json --sample-fps 10 --epochs 40 --size 128 \
    --learning-rate 3e-4 --max-minutes "${TSM_MIN:-105}" --out "$W/tsm12" \
    --name actiond-people-tsm-mobilenetv2 --frames 8 --clip-step 8 \
    --init-from-frame models/recipe/people/attempt-11/weights/frame.weights.h5 > "$W/tsm12.log" 2>&1
# The frame model is attempt 11's: its weights and reports stand there, not copied here.
W="$W" A="$A" FRAME=frame11 TSM=tsm12 FRAME_COPY=0 bash models/recipe/people/post.sh
