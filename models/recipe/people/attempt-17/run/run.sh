#!/usr/bin/env bash
# Attempt 17 (issue 14): attempt 16's TSM, whose small people (60.7 %) held it back, trained
# on at 192 px (its frames extracted by train-temporal, about 37 GB) from a fresh cosine at
# lr 1.5e-4 on both cores. The 96 px frames are left out (EXTRACT=0) and the frame model's
# held-out results are copied from attempt 16 (FRAME_ASSESS), where the same model was
# assessed on the same groups. On a machine with only the repository it renders the data set
# and re-exports attempt 11's frame model first.
#   W=/work/people8 TSM_MIN=90 models/recipe/people/attempt-17/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=models/recipe/people/attempt-17 TSM=tsm17 SEED=17 LR=1.5e-4 SIZE=192 TSM_MIN="${TSM_MIN:-90}" \
    EXTRACT=0 FRAME_ASSESS=models/recipe/people/attempt-16/assess \
    INIT="--init-from models/recipe/people/attempt-16/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
