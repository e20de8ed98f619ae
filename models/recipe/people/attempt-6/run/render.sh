#!/usr/bin/env bash
set -euo pipefail
cd /work/main
start=$(date +%s)
.venv/bin/python models/recipe/recipe.py render-humans --out /work/people7/large --groups 1-800 --clips 1 --seed 21 --scale 0.4-0.9 --jobs 2
echo "large done $(( $(date +%s) - start )) s"
.venv/bin/python models/recipe/recipe.py render-humans --out /work/people7/small --groups 801-1200 --clips 1 --seed 21 --scale 0.1-0.4 --jobs 2
echo "small done $(( $(date +%s) - start )) s"
