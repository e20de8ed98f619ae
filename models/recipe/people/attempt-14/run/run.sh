#!/usr/bin/env bash
# Attempt 14 (issue 14): is the input size still the lever? Attempt 13's TSM (the pooled head
# has no size-bound weights) trained on at 160 px, the clips' own width, instead of 128, with
# a fresh cosine from lr 3e-4 on both cores; it extracts its own 160 px frames (26 GB). The
# frame model it is compared with is attempt 11's at 128 px, unchanged.
#   W=/work/people8 TSM_MIN=108 models/recipe/people/attempt-14/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=models/recipe/people/attempt-14 TSM=tsm14 SEED=14 LR=3e-4 SIZE=160 TSM_MIN="${TSM_MIN:-108}" \
    INIT="--init-from models/recipe/people/attempt-13/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
