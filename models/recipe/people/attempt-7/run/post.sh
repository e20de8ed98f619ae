#!/usr/bin/env bash
# Attempt 7 (issue 14): the kept weights (with SHA256SUMS), each model's report, both
# models on each held-out half, and the comparison, into models/recipe/people/attempt-7/.
#   W=/work/people8 models/recipe/people/attempt-7/run/post.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
A=models/recipe/people/attempt-7
py=.venv/bin/python
mkdir -p $A/assess $A/tsm $A/clip $A/frame $A/weights
cp "$W/frame/cache/model.weights.h5" $A/weights/frame.weights.h5
cp "$W/tsm/cache/tsm.weights.h5" $A/weights/tsm.weights.h5
(cd $A/weights && sha256sum frame.weights.h5 tsm.weights.h5 > SHA256SUMS)
for f in REPORT.md report.json training_config.json; do
    cp "$W/tsm/tsm/$f" $A/tsm/; cp "$W/tsm/clip/$f" $A/clip/; cp "$W/frame/$f" $A/frame/
done
cache="$W/frame/cache/frames"   # same size, resize, channel order and rate as the models
assess() {  # model-name dir half-name groups
    $py models/recipe/recipe.py assess --model "$2/model.onnx" --data "$W/mix" --groups "$4" \
        --cache "$cache" --out "$A/assess/$1-$3.json" > /dev/null
}
for half in large:761-800 small:1161-1200; do
    assess tsm "$W/tsm/tsm" "${half%%:*}" "${half#*:}" &
    assess frame "$W/frame" "${half%%:*}" "${half#*:}" &
    wait
done
$py models/recipe/recipe.py people-report --frame "$W/frame" --tsm "$W/tsm" --out $A/COMPARISON.md
echo post done
