#!/usr/bin/env bash
# Rebuilds models/tsm/ (online TSM MobileNetV2, stateful) and models/clip/ (the same
# weights as an 8-frame clip model) from nothing: renders a small synthetic dataset,
# trains the TSM MobileNetV2 on clips of 8 consecutive frames, exports both forms.
# About 20 minutes on two shared CPU cores. Needs .venv/ (scripts/python-env.sh) and a
# built actiond (cargo build). WORK defaults to a folder outside the repo.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
py=.venv/bin/python
work="${WORK:-/tmp/actiond-temporal}"

# Same generator as make_default.sh, fewer clips (6 per class and group): groups 1-8 train profile, 9-10 test profile.
$py models/recipe/recipe.py render --out "$work/synth" --groups 1-8 --clips 6 --seed 1 --profile train
$py models/recipe/recipe.py render --out "$work/synth" --groups 9,10 --clips 3 --seed 2 --profile test
start=$(date +%s)
$py models/recipe/recipe.py train-temporal --data "$work/synth" --out "$work/run-tsm" \
    --name actiond-tsm-mobilenetv2 --alpha 0.5 --size 96 --frames 8 --clip-step 8 --epochs 25 \
    --test-groups 9,10 --val-groups 8 --max-minutes 15 --seed 1
echo "train-temporal wall time: $(( $(date +%s) - start )) s"
for kind in tsm clip; do
    mkdir -p "models/$kind"
    for f in model.onnx model.toml model.onnx.sha256 training_config.json report.json REPORT.md; do
        cp "$work/run-tsm/$kind/$f" "models/$kind/$f"
    done
done
