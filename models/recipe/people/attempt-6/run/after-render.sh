#!/usr/bin/env bash
# Attempt 6 (issue 14): mix the two renders, extract frames at 10 fps / 96 px once (two
# processes, half the classes each), then train the TSM and the single-frame model side by
# side on one core each, from scratch, for $MINUTES minutes.
set -euo pipefail
cd /work/main
W=/work/people7
MINUTES="${MINUTES:-80}"
py=.venv/bin/python
t0=$(date +%s)
bash "$(dirname "${BASH_SOURCE[0]}")/mix.sh" "$W"
extract() {
    $py - "$@" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "models/recipe")
from actiond_recipe import dataset as ds
labels = sys.argv[1].split(",")
_, videos = ds.scan(Path("/work/people7/mix"))
videos = [v for v in videos if v.label in labels]
ds.extract(videos, Path("/work/people7/frame/cache/frames"), ds.find_actiond(), 96, "stretch", "RGB", 10.0)
PY
}
mkdir -p $W/frame/cache/frames
extract boxing,clapping,falling,idle,jumping & p1=$!
extract kicking,running,sitting_down,walking,waving & p2=$!
wait $p1 $p2
echo "extracted in $(( $(date +%s) - t0 )) s"
mkdir -p $W/tsm/cache && cp -al $W/frame/cache/frames $W/tsm/cache/frames
common=(--data $W/mix --alpha 0.5 --size 96 --test-groups 761-800,1161-1200 --val-groups 741-760,1141-1160
        --threads 1 --seed 3 --config models/recipe/people/medium.json --sample-fps 10 --learning-rate 1e-3
        --max-minutes "$MINUTES")
$py models/recipe/recipe.py train-temporal "${common[@]}" --out $W/tsm --name actiond-people-tsm-mobilenetv2 \
    --frames 8 --clip-step 8 --epochs 40 > $W/tsm.log 2>&1 &
$py models/recipe/recipe.py train "${common[@]}" --out $W/frame --name actiond-people-mobilenetv2 \
    --backbone mobilenet_v2 --epochs 40 --batch-size 32 --train-frame-step 4 > $W/frame.log 2>&1 &
wait
echo "trained; all in $(( $(date +%s) - t0 )) s"
