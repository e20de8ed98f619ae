#!/usr/bin/env bash
# Attempt 8 (issue 14): the kept weights (with SHA256SUMS), each model's report, both
# models on each held-out half, street checks at three walker sizes, and the comparison,
# into models/recipe/people/attempt-8/.
#   W=/work/people8 models/recipe/people/attempt-8/run/post.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
A=models/recipe/people/attempt-8
py=.venv/bin/python
mkdir -p $A/assess $A/street $A/tsm $A/clip $A/frame $A/weights
cp "$W/frame8/cache/model.weights.h5" $A/weights/frame.weights.h5
cp "$W/tsm8/cache/tsm.weights.h5" $A/weights/tsm.weights.h5
(cd $A/weights && sha256sum frame.weights.h5 tsm.weights.h5 > SHA256SUMS)
for f in REPORT.md report.json training_config.json; do
    cp "$W/tsm8/tsm/$f" $A/tsm/; cp "$W/tsm8/clip/$f" $A/clip/; cp "$W/frame8/$f" $A/frame/
done
cache="$W/frame/cache/frames"   # same size, resize, channel order and rate as the models
assess() {  # model-name dir half-name groups
    $py models/recipe/recipe.py assess --model "$2/model.onnx" --data "$W/mix" --groups "$4" \
        --cache "$cache" --out "$A/assess/$1-$3.json" > /dev/null
}
for half in large:761-800 small:1161-1200; do
    assess tsm "$W/tsm8/tsm" "${half%%:*}" "${half#*:}" &
    assess frame "$W/frame8" "${half%%:*}" "${half#*:}" &
    wait
done
street() {  # model-name dir scale
    $py models/recipe/recipe.py street-check --model "$2/model.onnx" --scenes 20 --scale "$3" \
        --out "$A/street/$1-$3.json" > /dev/null
}
for s in 0.4-0.9 0.15-0.6 0.08-0.2; do
    street tsm "$W/tsm8/tsm" $s &
    street frame "$W/frame8" $s &
    wait
done
$py models/recipe/recipe.py people-report --frame "$W/frame8" --tsm "$W/tsm8" --out $A/COMPARISON.md
echo post done
