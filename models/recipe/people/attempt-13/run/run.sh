#!/usr/bin/env bash
# Attempt 13 (issue 14): attempt 12's TSM at 128 px trained on (--init-from its kept weights)
# with a fresh cosine from lr 2e-4, on both cores; the frame model it is compared with is
# attempt 11's, unchanged (run folder frame11, which also holds the 128 px frames the TSM
# reuses; without it the TSM extracts its own).
#   W=/work/people8 TSM_MIN=108 models/recipe/people/attempt-13/run/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
A=models/recipe/people/attempt-13
py=.venv/bin/python
# post.sh compares with attempt 11's frame run: say so now, not after 108 minutes of training.
[ -f "$W/frame11/model.onnx" ] || { echo "$W/frame11 (attempt 11's frame run) is missing:" \
    "run models/recipe/people/attempt-11/run/run.sh first" >&2; exit 1; }
W="$W" bash models/recipe/people/prepare.sh
mkdir -p "$W/tsm13/cache"
[ -d "$W/tsm13/cache/frames" ] || [ ! -d "$W/frame11/cache/frames" ] \
    || cp -al "$W/frame11/cache/frames" "$W/tsm13/cache/frames"
$py models/recipe/recipe.py train-temporal --data "$W/mix" --alpha 0.5 \
    --test-groups 761-800,1161-1200 --val-groups 741-760,1141-1160 --threads 2 --seed 13 \
    --config models/recipe/people/medium.json --sample-fps 10 --epochs 40 --size 128 \
    --learning-rate 2e-4 --max-minutes "${TSM_MIN:-108}" --out "$W/tsm13" \
    --name actiond-people-tsm-mobilenetv2 --frames 8 --clip-step 8 \
    --init-from models/recipe/people/attempt-12/weights/tsm.weights.h5 > "$W/tsm13.log" 2>&1
# The frame model is attempt 11's: its weights and reports stand there, not copied here.
W="$W" A="$A" FRAME=frame11 TSM=tsm13 FRAME_COPY=0 bash models/recipe/people/post.sh
