#!/usr/bin/env bash
# Rebuilds models/default/ from nothing: renders the synthetic dataset, trains the
# default MobileNetV2 with the recipe, copies the artifacts, renders the demo video.
# About 45 minutes on two idle CPU cores (longer on a loaded one). Needs .venv/
# (scripts/python-env.sh) and a built actiond (cargo build --release). WORK defaults
# to a folder outside the repo.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
py=.venv/bin/python
work="${WORK:-/tmp/actiond-default}"
out=models/default

# Training profile for groups 1-8 (seed 1), test profile for groups 9-10 (seed 2):
# the test clips are drawn from other resolutions, speeds, noise levels and texts.
$py models/recipe/recipe.py render --out "$work/synth" --groups 1-8 --clips 9 --seed 1 --profile train
$py models/recipe/recipe.py render --out "$work/synth" --groups 9,10 --clips 3 --seed 2 --profile test
$py models/recipe/recipe.py train --data "$work/synth" --out "$work/run-mnv2-96" \
    --name actiond-default-mobilenetv2 --backbone mobilenet_v2 --size 96 --epochs 40 \
    --train-frame-step 3 --test-groups 9,10 --val-groups 8 --max-minutes 36 --seed 1
mkdir -p "$out"
for f in model.onnx model.toml model.onnx.sha256 training_config.json report.json REPORT.md \
         confusion.json confusion.png; do
    cp "$work/run-mnv2-96/$f" "$out/$f"
done
# The demo video config/demo.toml loops, with its schedule beside it.
$py models/recipe/recipe.py render-demo --out "$out/demo.mp4" --seed 7 --scenes 10 --seconds 5
# Clip accuracy on held-out demo streams (seeds fixed before evaluating).
$py models/recipe/recipe.py demo-eval --model "$out/model.onnx" --seeds 100-109 --out "$out/demo_eval.json"
# The int8 variant beside it, calibrated on the same training groups, measured on the
# same held-out groups and demo seeds.
$py models/recipe/recipe.py quantize --model "$out" --data "$work/synth" --out "$work/int8" \
    --actiond "${ACTIOND:-target/release/actiond}"
mkdir -p models/default-int8
for f in model.onnx model.toml quantization.json REPORT.md; do cp "$work/int8/$f" "models/default-int8/$f"; done
(cd models/default-int8 && sha256sum model.onnx > model.onnx.sha256)
$py models/recipe/recipe.py demo-eval --model models/default-int8/model.onnx --seeds 100-109 \
    --out models/default-int8/demo_eval.json
