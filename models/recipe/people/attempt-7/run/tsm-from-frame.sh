#!/usr/bin/env bash
# Attempt 7, second TSM (the one kept): run.sh's TSM (lr 1e-3 from attempt 6's frame model)
# was stopped after its first epoch (52 minutes, validation 14.6 %, below the frame model it
# started from); this one starts from this attempt's own frame model after its third
# epoch (frame/cache/model.weights.h5 copied at that point, validation 32.2 %; sha256
# 316f0b3c98b2eaca4168b4f7bf1ee9e12af7b47dd6cde9247910a5432163bd2b) at a fifth of the
# learning rate, for 22 minutes beside the frame run.
#   W=/work/people8 models/recipe/people/attempt-7/run/tsm-from-frame.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
until grep -q "^epoch 3/" "$W/frame.log"; do sleep 10; done
cp "$W/frame/cache/model.weights.h5" "$W/frame-e3.weights.h5"
pkill -f "train-temporal.*--out $W/tsm " || true   # run.sh's first TSM
sleep 5
if [ -d "$W/tsm" ]; then mv "$W/tsm" "$W/tsm-lr1e-3"; mv "$W/tsm.log" "$W/tsm-lr1e-3.log"; fi
mkdir -p "$W/tsm/cache" && cp -al "$W/frame/cache/frames" "$W/tsm/cache/frames"
.venv/bin/python models/recipe/recipe.py train-temporal --data "$W/mix" --alpha 0.5 --size 96 \
    --test-groups 761-800,1161-1200 --val-groups 741-760,1141-1160 --threads 1 --seed 5 \
    --config models/recipe/people/medium.json --sample-fps 10 --learning-rate 2e-4 --max-minutes 22 \
    --out "$W/tsm" --name actiond-people-tsm-mobilenetv2 --frames 8 --clip-step 8 --epochs 40 \
    --init-from-frame "$W/frame-e3.weights.h5" > "$W/tsm.log" 2>&1
