#!/usr/bin/env bash
# Trains the people models from nothing into OUT (default runs/people): OUT/frame
# (single-frame MobileNetV2) and OUT/tsm (online TSM MobileNetV2). Renders 1200 clips of
# procedural people (10 actions × 20 groups × 6 clips; groups 17-20 held out for
# testing, 16 for validation), trains both side by side on one core each with a
# 24-minute budget, writes the comparison (OUT/COMPARISON.md) and the demo video
# (OUT/demo.mp4). About 30 minutes on two cores. The first attempt's results are in
# models/recipe/people/attempt-1/ (at chance: not shipped).
# Needs .venv/ (scripts/python-env.sh) and a built actiond (ACTIOND, default target/release/actiond).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
py=.venv/bin/python
work="${WORK:-/tmp/actiond-people}"
actiond="${ACTIOND:-$root/target/release/actiond}"
out="${OUT:-runs/people}"
common=(--alpha 0.5 --size 96 --test-groups 17-20 --val-groups 16 --max-minutes 24 --threads 1 --seed 1
        --config models/recipe/people/augment.json --actiond "$actiond")

$py models/recipe/recipe.py render-humans --out "$work/data" --groups 1-20 --clips 6 --seed 1 --scale 0.3-0.9
nice -n 19 $py models/recipe/recipe.py train --data "$work/data" --out "$work/frame" "${common[@]}" \
    --name actiond-people-mobilenetv2 --backbone mobilenet_v2 --epochs 40 --learning-rate 1e-3 \
    --train-frame-step 2 &
sleep 60  # the frame run extracts the frames; the TSM run reuses them
mkdir -p "$work/tsm/cache" && cp -al "$work/frame/cache/frames" "$work/tsm/cache/frames" 2>/dev/null || true
nice -n 19 $py models/recipe/recipe.py train-temporal --data "$work/data" --out "$work/tsm" "${common[@]}" \
    --name actiond-people-tsm-mobilenetv2 --frames 8 --clip-step 4 --epochs 30 --learning-rate 1.5e-3 &
wait
mkdir -p "$out/frame" "$out/tsm"
for f in model.onnx model.toml model.onnx.sha256 training_config.json report.json REPORT.md confusion.json confusion.png; do
    cp "$work/frame/$f" "$out/frame/$f"
done
for f in model.onnx model.toml model.onnx.sha256 training_config.json report.json REPORT.md; do
    cp "$work/tsm/tsm/$f" "$out/tsm/$f"
done
$py models/recipe/recipe.py people-report --frame "$work/frame" --tsm "$work/tsm" --out "$out/COMPARISON.md"
$py models/recipe/recipe.py render-people-demo --out "$out/demo.mp4" --seed 7 --scenes 10 --seconds 6 --scale 0.3-0.9
