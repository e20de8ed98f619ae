#!/usr/bin/env bash
# Attempt 29 (issue 14): attempt 27 with all 400 large groups. Attempt 27 (83.7 % held out,
# small people 80.4 %) still had its large people 1.7 points under attempt 24's (87.0 against
# 88.7) and had not seen large groups 341-390 at 320 px. Its weights go on at 320 px on all
# large groups (341-740) and the same 190 small ones (951-1140; all 740 groups' frames do not
# fit the disk), lr 1e-4, 50 minutes.
#   W=/work/people8 models/recipe/people/attempt-29/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=models/recipe/people/attempt-29 TSM=tsm29 SEED=29 LR=1e-4 SIZE=320 TSM_MIN="${TSM_MIN:-50}" EXTRACT=0 \
    FROM_ONSET=0.3 TRAIN_GROUPS=341-740,951-1140 FRAME_ASSESS=models/recipe/people/attempt-19/assess \
    INIT="--init-from models/recipe/people/attempt-27/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
echo attempt 29 done
