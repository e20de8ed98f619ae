#!/usr/bin/env bash
# Attempt 6 (issue 14): held-out halves, street checks and the comparison for the two models.
set -euo pipefail
cd /work/main
W=/work/people7
A=models/recipe/people/attempt-6
py=.venv/bin/python
mkdir -p $A/assess $A/street $A/tsm $A/clip $A/frame
cache=$W/frame/cache/frames   # same size, resize, channel order and rate as the models
for m in tsm:$W/tsm/tsm clip:$W/tsm/clip frame:$W/frame; do
    name=${m%%:*}; dir=${m#*:}
    for half in large:761-800 small:1161-1200; do
        $py models/recipe/recipe.py assess --model $dir/model.onnx --data $W/mix --groups ${half#*:} \
            --cache $cache --out $A/assess/$name-${half%%:*}.json > /dev/null
    done
done
for m in tsm:$W/tsm/tsm frame:$W/frame; do
    [ "${STREET:-1}" = 1 ] || break
    name=${m%%:*}; dir=${m#*:}
    for s in 0.4-0.9 0.15-0.6 0.08-0.2; do
        $py models/recipe/recipe.py street-check --model $dir/model.onnx --scenes 20 --scale $s \
            --out $A/street/$name-$s.json > /dev/null
    done
done
$py models/recipe/recipe.py people-report --frame $W/frame --tsm $W/tsm --out $A/COMPARISON.md
for f in REPORT.md report.json training_config.json; do
    cp $W/tsm/tsm/$f $A/tsm/; cp $W/tsm/clip/$f $A/clip/; cp $W/frame/$f $A/frame/
done
echo post done
