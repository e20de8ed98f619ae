#!/usr/bin/env bash
# Attempt 35 (issue 14): more of the same. Attempt 34 saw 963 of an epoch's 1,951 batches in
# its 60 minutes, as did attempt 33 before it; its validation accuracy was still rising. Here
# attempt 34's weights train 55 minutes more on the same data set (W, every group at 424x320)
# with attempt 34's settings (its run/config.json, low_resolution on half of the clips), another
# seed (another draw of the epoch's batches) and a lower learning rate, 7e-5.
#   [W=/work/people8/hr] models/recipe/people/attempt-35/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export W="${W:-/work/people8/hr}"
A=models/recipe/people/attempt-35 TSM=tsm35 SEED=35 LR=7e-5 SIZE=320 TSM_MIN="${TSM_MIN:-55}" EXTRACT=0 \
    RENDER_SIZE=424x320 LARGE_GROUPS=391-800 SMALL_GROUPS=951-1200 CHAIR=0 \
    FROM_ONSET=0.3 TRAIN_GROUPS=391-740,951-1140 CONFIG=models/recipe/people/attempt-34/run/config.json \
    INIT="--init-from models/recipe/people/attempt-34/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
echo attempt 35 done
