#!/usr/bin/env bash
# Two runs side by side on one core each (issue 14, attempts 9 on): the single-frame
# MobileNetV2 continued from FROM (frame weights, train --init-from), and a TSM started
# from the same frame weights (train-temporal --init-from-frame), or continued from TSM
# weights TSM_FROM when that is set (--init-from). FRAME_SIZE (default 96) trains the frame
# model at another input size; it then extracts its own frames. Then post.sh writes the
# weights, reports and checks into the attempt's folder A. prepare.sh runs first, so a
# fresh machine renders and extracts the data set again (about 23 minutes).
#   W=/work/people8 A=models/recipe/people/attempt-N FROM=.../frame.weights.h5 FRAME=frameN TSM=tsmN \
#   SEED=N FRAME_LR=1e-3 TSM_LR=2e-4 FRAME_MIN=75 TSM_MIN=75 models/recipe/people/train-pair.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
: "${A:?attempt folder}" "${FROM:?frame weights to start from}" "${FRAME:?frame run name}" "${TSM:?TSM run name}"
: "${SEED:?seed}" "${FRAME_LR:?}" "${TSM_LR:?}" "${FRAME_MIN:?}" "${TSM_MIN:?}"
FRAME_SIZE="${FRAME_SIZE:-96}"
py=.venv/bin/python
W="$W" bash models/recipe/people/prepare.sh
runs=("$TSM"); [ "$FRAME_SIZE" = 96 ] && runs+=("$FRAME")   # prepare.sh extracts at 96 px
for run in "${runs[@]}"; do
    mkdir -p "$W/$run/cache"
    [ -d "$W/$run/cache/frames" ] || cp -al "$W/frame/cache/frames" "$W/$run/cache/frames"
done
common=(--data "$W/mix" --alpha 0.5 --test-groups 761-800,1161-1200 --val-groups 741-760,1141-1160
        --threads 1 --seed "$SEED" --config models/recipe/people/medium.json --sample-fps 10 --epochs 40)
tsm_start=(--init-from-frame "$FROM"); [ -z "${TSM_FROM:-}" ] || tsm_start=(--init-from "$TSM_FROM")
$py models/recipe/recipe.py train "${common[@]}" --size "$FRAME_SIZE" --learning-rate "$FRAME_LR" \
    --max-minutes "$FRAME_MIN" --out "$W/$FRAME" --name actiond-people-mobilenetv2 --backbone mobilenet_v2 \
    --batch-size 32 --train-frame-step 4 --init-from "$FROM" > "$W/$FRAME.log" 2>&1 &
$py models/recipe/recipe.py train-temporal "${common[@]}" --size 96 --learning-rate "$TSM_LR" --max-minutes "$TSM_MIN" \
    --out "$W/$TSM" --name actiond-people-tsm-mobilenetv2 --frames 8 --clip-step 8 \
    "${tsm_start[@]}" > "$W/$TSM.log" 2>&1 &
wait
W="$W" A="$A" FRAME="$FRAME" TSM="$TSM" bash models/recipe/people/post.sh
