#!/usr/bin/env bash
# Attempt 8 (issue 14), on the machine that still held attempt 7's frames (so no render):
# the single-frame MobileNetV2 continued from attempt 7's kept weights, same data, split,
# settings and learning rate, for FRAME_MIN minutes on one core.
#   W=/work/people8 FRAME_MIN=105 models/recipe/people/attempt-8/run/frame.sh
# On a fresh machine run attempt-7/run/run.sh's render and extract steps first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
FRAME_MIN="${FRAME_MIN:-105}"
a7=models/recipe/people/attempt-7
mkdir -p "$W/frame8/cache"
[ -d "$W/frame8/cache/frames" ] || cp -al "$W/frame/cache/frames" "$W/frame8/cache/frames"
.venv/bin/python models/recipe/recipe.py train --data "$W/mix" --alpha 0.5 --size 96 \
    --test-groups 761-800,1161-1200 --val-groups 741-760,1141-1160 --threads 1 --seed 8 \
    --config models/recipe/people/medium.json --sample-fps 10 --learning-rate 1e-3 \
    --max-minutes "$FRAME_MIN" --out "$W/frame8" --name actiond-people-mobilenetv2 \
    --backbone mobilenet_v2 --epochs 40 --batch-size 32 --train-frame-step 4 \
    --init-from "$a7/weights/frame.weights.h5" > "$W/frame8.log" 2>&1
