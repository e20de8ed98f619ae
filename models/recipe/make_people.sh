#!/usr/bin/env bash
# Trains the people models from nothing into OUT (default runs/people): OUT/frame
# (single-frame MobileNetV2) and OUT/tsm (online TSM MobileNetV2). Renders 2000 clips of
# procedural people: 10 actions × 200 groups × 1 clip (diversity over repetition: 170
# training groups of performers and scenes instead of attempt-1's 15), people 0.4-0.9 of
# the frame height; groups 181-200 held out for testing, 171-180 for validation. Trains
# both side by side on one core each with a 30-minute budget (light augmentation,
# people/light.json, Adam 1e-3 with a cosine over the budget), continues the TSM for 17
# minutes at 5e-4, writes the comparison (OUT/COMPARISON.md) and the demo video
# (OUT/demo.mp4). About 65 minutes on two cores. What each attempt gave:
# models/recipe/people/attempt-1/ and attempt-2/.
# Needs .venv/ (scripts/python-env.sh) and a built actiond (ACTIOND, default target/release/actiond).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
py=.venv/bin/python
work="${WORK:-/tmp/actiond-people}"
actiond="${ACTIOND:-$root/target/release/actiond}"
out="${OUT:-runs/people}"
minutes="${MINUTES:-30}"
common=(--alpha 0.5 --size 64 --test-groups 181-200 --val-groups 171-180 --max-minutes "$minutes" --threads 1
        --seed 1 --config models/recipe/people/light.json --learning-rate 1e-3 --actiond "$actiond")

$py models/recipe/recipe.py render-humans --out "$work/data" --groups 1-200 --clips 1 --seed 21 --scale 0.4-0.9
nice -n 19 $py models/recipe/recipe.py train --data "$work/data" --out "$work/frame" "${common[@]}" \
    --name actiond-people-mobilenetv2 --backbone mobilenet_v2 --epochs 40 --batch-size 32 --train-frame-step 2 &
# The frame run extracts the frames; the TSM run reuses them.
until [ -f "$work/frame/cache/frames/waving/v_waving_g200_c01.json" ]; do sleep 5; done
sleep 20
mkdir -p "$work/tsm/cache" && cp -al "$work/frame/cache/frames" "$work/tsm/cache/frames" 2>/dev/null || true
nice -n 19 $py models/recipe/recipe.py train-temporal --data "$work/data" --out "$work/tsm" "${common[@]}" \
    --name actiond-people-tsm-mobilenetv2 --frames 8 --clip-step 4 --epochs 20 &
wait
# The TSM's validation accuracy is still rising at the budget: continue it (attempt-2's r9).
mkdir -p "$work/tsm2/cache" && cp -al "$work/frame/cache/frames" "$work/tsm2/cache/frames" 2>/dev/null || true
nice -n 19 $py models/recipe/recipe.py train-temporal --data "$work/data" --out "$work/tsm2" "${common[@]}" \
    --name actiond-people-tsm-mobilenetv2 --frames 8 --clip-step 4 --epochs 20 --threads 2 --seed 2 \
    --learning-rate 5e-4 --max-minutes "${MORE_MINUTES:-17}" --init-from "$work/tsm/cache/tsm.weights.h5"
mkdir -p "$out/frame" "$out/tsm"
for f in model.onnx model.toml model.onnx.sha256 training_config.json report.json REPORT.md confusion.json confusion.png; do
    cp "$work/frame/$f" "$out/frame/$f"
done
for f in model.onnx model.toml model.onnx.sha256 training_config.json report.json REPORT.md; do
    cp "$work/tsm2/tsm/$f" "$out/tsm/$f"
done
$py models/recipe/recipe.py people-report --frame "$work/frame" --tsm "$work/tsm2" --out "$out/COMPARISON.md"
$py models/recipe/recipe.py render-people-demo --out "$out/demo.mp4" --seed 7 --scenes 10 --seconds 6 --scale 0.4-0.9
