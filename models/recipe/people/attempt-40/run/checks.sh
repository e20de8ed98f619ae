#!/usr/bin/env bash
# Attempt 40's checks after run.sh: the paired comparison with the shipped model (attempt 34) on
# both held-out draws (paired.py; attempt 39's second-draw.sh first, for the probabilities and
# where-second.md), the street checks at three walker sizes, as post.sh runs them, and ten fresh
# demos as models/people/demo_eval.json's (run by hand after the rest, at 01:37).
#   [W=/work/people8/hr] models/recipe/people/attempt-40/run/checks.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../../../../.."
W="${W:-/work/people8/hr}" A=models/recipe/people/attempt-40
MODEL="$W/tsm40/tsm/model.onnx"
env MODEL="$MODEL" CACHE="$W/tsm40/cache" bash models/recipe/people/attempt-39/run/second-draw.sh > $A/where-second.md
sets=("first draw:761-800" "first draw:1161-1200" "second draw:1201-1260" "second draw:1261-1320")
for g in 761-800 1161-1200 1201-1260 1261-1320; do sets+=("both draws:$g"); done
.venv/bin/python "$here/paired.py" models/people/model.onnx "$W/cal34" "$MODEL" "$W/tsm40/cache" "$W/mix" "${sets[@]}" \
    2> /dev/null > $A/paired.md
mkdir -p $A/street
for s in 0.4-0.9 0.15-0.6 0.08-0.2; do
    .venv/bin/python models/recipe/recipe.py street-check --model "$MODEL" --scenes 20 --scale $s \
        --out "$A/street/tsm-$s.json" > /dev/null &
done
wait
mkdir -p $A/demo
.venv/bin/python models/recipe/recipe.py demo-eval --model "$MODEL" --people --seeds 100-109 --scenes 10 --seconds 6 \
    --out $A/demo/demo_eval.json > /dev/null
