#!/usr/bin/env bash
# Attempt 33 (issue 14): every training group at a camera's detail. Attempt 32 trained on
# groups 601-740 and 1061-1140 rendered at 424x320 and on 391-600 and 951-1060 linked from
# the old 160x120 / 256x192 renders; here those are rendered at 424x320 too (3,200 clips,
# the same plans), so every clip it trains, validates and is tested on has the held-out
# test's detail. Attempt 32's weights trained 60 minutes more on groups 391-740, 951-1140,
# at 320 px, lr 1e-4. It renders into attempt 32's data set (W): links there to the old
# renders are replaced, so attempt 32's run is reproduced only on a fresh W (its default since).
#   [W=/work/people8/hr] models/recipe/people/attempt-33/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export W="${W:-/work/people8/hr}"
A=models/recipe/people/attempt-33 TSM=tsm33 SEED=33 LR=1e-4 SIZE=320 TSM_MIN="${TSM_MIN:-60}" EXTRACT=0 \
    RENDER_SIZE=424x320 LARGE_GROUPS=391-800 SMALL_GROUPS=951-1200 CHAIR=0 \
    FROM_ONSET=0.3 TRAIN_GROUPS=391-740,951-1140 \
    INIT="--init-from models/recipe/people/attempt-32/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
echo attempt 33 done
