#!/usr/bin/env bash
# Continues attempt 6 on a machine that has only this repository: renders the same 12,000
# clips again (seeded, so identical; a render already there is kept), extracts the frames
# and trains both models on from the weights committed in ../weights/, one core each.
#   W=/work/people8 MINUTES=90 LR=5e-4 models/recipe/people/attempt-6/run/resume.sh
# About 25 minutes of rendering and 3 of extraction on two cores before training starts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
MINUTES="${MINUTES:-90}"
LR="${LR:-5e-4}"
here=models/recipe/people/attempt-6
py=.venv/bin/python
bash scripts/python-env.sh
[ -x target/release/actiond ] || cargo build --release --locked
$py models/recipe/recipe.py render-humans --out "$W/large" --groups 1-800 --clips 1 --seed 21 --scale 0.4-0.9 --jobs 2
$py models/recipe/recipe.py render-humans --out "$W/small" --groups 801-1200 --clips 1 --seed 21 --scale 0.1-0.4 --jobs 2
bash "$(dirname "${BASH_SOURCE[0]}")/mix.sh" "$W"
common=(--data "$W/mix" --alpha 0.5 --size 96 --test-groups 761-800,1161-1200 --val-groups 741-760,1141-1160
        --threads 1 --seed 4 --config models/recipe/people/medium.json --sample-fps 10 --learning-rate "$LR"
        --max-minutes "$MINUTES")
# The frame run extracts the frames; the TSM run shares them (hard links: one copy in the page cache).
$py models/recipe/recipe.py train "${common[@]}" --out "$W/frame" --name actiond-people-mobilenetv2 \
    --backbone mobilenet_v2 --epochs 40 --batch-size 32 --train-frame-step 4 \
    --init-from "$here/weights/frame.weights.h5" > "$W/frame.log" 2>&1 &
until grep -q "^frames: train" "$W/frame.log" 2>/dev/null; do sleep 10; done
mkdir -p "$W/tsm/cache" && cp -al "$W/frame/cache/frames" "$W/tsm/cache/frames"
$py models/recipe/recipe.py train-temporal "${common[@]}" --out "$W/tsm" --name actiond-people-tsm-mobilenetv2 \
    --frames 8 --clip-step 8 --epochs 40 --init-from "$here/weights/tsm.weights.h5" > "$W/tsm.log" 2>&1 &
wait
