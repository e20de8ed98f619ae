#!/usr/bin/env bash
# Attempt 28 (issue 14): attempt 27 longer. Its large people came back from attempt 26's 85.0 %
# to 87.0 (attempt 24: 88.7) with 350 large groups instead of 200, its small people kept 80.4 %:
# its weights go on, same groups, lr 5e-5, 25 minutes (attempt 27's 320 px frames were
# hard-linked into $W/tsm28/cache by hand first; without them train-temporal extracts them again).
#   W=/work/people8 models/recipe/people/attempt-28/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=models/recipe/people/attempt-28 TSM=tsm28 SEED=28 LR=5e-5 SIZE=320 TSM_MIN="${TSM_MIN:-25}" EXTRACT=0 \
    FROM_ONSET=0.3 TRAIN_GROUPS=391-740,951-1140 FRAME_ASSESS=models/recipe/people/attempt-19/assess \
    INIT="--init-from models/recipe/people/attempt-27/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
echo attempt 28 done
