#!/usr/bin/env bash
# Attempt 20 (issue 14): attempt 19's TSM trains on, on the same data (empty chairs in 30 %
# of clips, the small half at 256x192). Attempt 19 saw about 70 % of one epoch, so each
# chair clip at most once, and still read 13-18 % of clips with a chair behind the person
# as `sitting_down`. A fresh cosine from lr 1e-4 at 192 px, TSM_MIN minutes. The held-out
# clips are attempt 19's, unchanged, so attempt 19's assess/ and chair/ results are the
# before, and the frame model's held-out results are copied from there (FRAME_ASSESS).
#   W=/work/people8 TSM_MIN=75 models/recipe/people/attempt-20/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../../../../.."
W="${W:-/work/people8}"
A=models/recipe/people/attempt-20
A=$A TSM=tsm20 SEED=20 LR=1e-4 SIZE=192 TSM_MIN="${TSM_MIN:-75}" EXTRACT=0 \
    FRAME_ASSESS=models/recipe/people/attempt-19/assess \
    INIT="--init-from models/recipe/people/attempt-19/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
echo attempt 20 done
