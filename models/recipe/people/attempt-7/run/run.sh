#!/usr/bin/env bash
# Attempt 7 (issue 14) on a machine that has only this repository: renders attempt 6's
# 12,000 clips again (seeded: identical), extracts the frames at 10 fps / 96 px once, then
# trains side by side on one core each:
#   - the single-frame MobileNetV2, continued from attempt 6's frame weights;
#   - the TSM, started from attempt 6's frame weights copied into it (--init-from-frame),
#     not from attempt 6's TSM (which was at chance after 75 minutes).
#   W=/work/people8 FRAME_MIN=80 TSM_MIN=75 models/recipe/people/attempt-7/run/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
FRAME_MIN="${FRAME_MIN:-80}"
TSM_MIN="${TSM_MIN:-75}"
a6=models/recipe/people/attempt-6
py=.venv/bin/python
t0=$(date +%s)
W="$W" bash models/recipe/people/prepare.sh   # render, mix, extract
mkdir -p "$W/tsm/cache" && cp -al "$W/frame/cache/frames" "$W/tsm/cache/frames"
common=(--data "$W/mix" --alpha 0.5 --size 96 --test-groups 761-800,1161-1200 --val-groups 741-760,1141-1160
        --threads 1 --seed 5 --config models/recipe/people/medium.json --sample-fps 10 --learning-rate 1e-3)
$py models/recipe/recipe.py train "${common[@]}" --max-minutes "$FRAME_MIN" --out "$W/frame" \
    --name actiond-people-mobilenetv2 --backbone mobilenet_v2 --epochs 40 --batch-size 32 \
    --train-frame-step 4 --init-from "$a6/weights/frame.weights.h5" > "$W/frame.log" 2>&1 &
$py models/recipe/recipe.py train-temporal "${common[@]}" --max-minutes "$TSM_MIN" --out "$W/tsm" \
    --name actiond-people-tsm-mobilenetv2 --frames 8 --clip-step 8 --epochs 40 \
    --init-from-frame "$a6/weights/frame.weights.h5" > "$W/tsm.log" 2>&1 &
wait
echo "trained; all in $(( $(date +%s) - t0 )) s"
