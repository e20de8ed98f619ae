#!/usr/bin/env bash
# The TSM that shipped before an attempt, attempt PREV's (run folder W/tsmPREV), on the same
# held-out clips and frames as the attempt's TSM run W/TSM: assess into A/assess/before-*,
# and (unless CHAIR=0) chair-check into A/chair/before-*. When PREV's run folder is gone
# its model is exported again from its kept weights (SIZE, default 192), with the frames of
# W/TSM hard-linked (the same size and settings) instead of extracted again.
#   W=/work/people8 A=models/recipe/people/attempt-19 TSM=tsm19 PREV=18 models/recipe/people/assess-before.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
: "${A:?attempt folder}" "${TSM:?the TSM run of the attempt, under W}" "${PREV:?attempt number of the model before}"
SIZE="${SIZE:-192}" CHAIR="${CHAIR:-1}"
py=.venv/bin/python
. models/recipe/people/halves.sh
old="$W/tsm$PREV"
before="$old/tsm/model.onnx"
if [ ! -f "$before" ]; then
    mkdir -p "$old/cache"
    [ -d "$old/cache/frames" ] || cp -al "$W/$TSM/cache/frames" "$old/cache/frames"
    $py models/recipe/recipe.py train-temporal --data "$W/mix" --alpha 0.5 \
        --test-groups 761-800,1161-1200 --val-groups 741-760,1141-1160 --threads 2 --seed "$PREV" \
        --config models/recipe/people/medium.json --sample-fps 10 --epochs 0 --size "$SIZE" --out "$old" \
        --name actiond-people-tsm-mobilenetv2 --frames 8 --clip-step 8 \
        --init-from "models/recipe/people/attempt-$PREV/weights/tsm.weights.h5"
fi
mkdir -p "$A/assess"
for half in $TEST_HALVES; do
    $py models/recipe/recipe.py assess --model "$before" --data "$W/mix" --groups "${half#*:}" \
        --cache "$W/$TSM/cache/frames" --out "$A/assess/before-${half%%:*}.json" > /dev/null
done
[ "$CHAIR" = 0 ] || mkdir -p "$A/chair"
for half in $CHAIR_HALVES; do
    [ "$CHAIR" = 0 ] && break
    IFS=: read -r name groups size scale <<< "$half"
    $py models/recipe/recipe.py chair-check --model "$before" --groups "$groups" --size "$size" --scale "$scale" \
        --out "$A/chair/before-$name.json" > /dev/null
done
