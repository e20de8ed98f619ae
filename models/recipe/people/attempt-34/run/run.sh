#!/usr/bin/env bash
# Attempt 34 (issue 14): sharp and enlarged detail in one model. Attempt 33 trained on
# 424x320 renders only and lost 1.1 points on the old, enlarged ones (160x120 / 256x192),
# which a small stream or a tight [[stream.region]] gives. Here half of the training clips
# are shrunk to 0.35-0.8 of their size and enlarged back (config.json: medium.json with
# low_resolution first, the same factor for every frame of a clip). Attempt 33's weights
# trained 60 minutes more on attempt 33's data set (W, every group at 424x320), lr 1e-4.
#   [W=/work/people8/hr] models/recipe/people/attempt-34/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export W="${W:-/work/people8/hr}"
A=models/recipe/people/attempt-34 TSM=tsm34 SEED=34 LR=1e-4 SIZE=320 TSM_MIN="${TSM_MIN:-60}" EXTRACT=0 \
    RENDER_SIZE=424x320 LARGE_GROUPS=391-800 SMALL_GROUPS=951-1200 CHAIR=0 \
    FROM_ONSET=0.3 TRAIN_GROUPS=391-740,951-1140 CONFIG=models/recipe/people/attempt-34/run/config.json \
    INIT="--init-from models/recipe/people/attempt-33/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
echo attempt 34 done
