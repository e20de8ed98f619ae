#!/usr/bin/env bash
# Attempt 26 (issue 14): attempt 25 longer. At 320 px attempt 25's small people gained (79.8 %
# against attempt 24's 76.9; under 0.15 of the frame high 63.6 against 58.3) but its large
# people lost (84.1 against 88.7, most at 0.6 of the frame high and more) after 708 batches:
# its weights go on, same data and groups, lr 5e-5, 25 minutes (attempt 25's 320 px frames were
# hard-linked into $W/tsm26/cache by hand first; without them train-temporal extracts them again).
#   W=/work/people8 models/recipe/people/attempt-26/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=models/recipe/people/attempt-26 TSM=tsm26 SEED=26 LR=5e-5 SIZE=320 TSM_MIN="${TSM_MIN:-25}" EXTRACT=0 \
    FROM_ONSET=0.3 TRAIN_GROUPS=541-740,841-1140 FRAME_ASSESS=models/recipe/people/attempt-19/assess \
    INIT="--init-from models/recipe/people/attempt-25/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
echo attempt 26 done
