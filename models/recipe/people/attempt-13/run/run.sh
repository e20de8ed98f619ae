#!/usr/bin/env bash
# Attempt 13 (issue 14): attempt 12's TSM at 128 px trained on (--init-from its kept weights)
# with a fresh cosine from lr 2e-4, on both cores; the frame model it is compared with is
# attempt 11's, unchanged (run folder frame11, which also holds the 128 px frames the TSM
# reuses; without it the TSM extracts its own).
#   W=/work/people8 TSM_MIN=108 models/recipe/people/attempt-13/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=models/recipe/people/attempt-13 TSM=tsm13 SEED=13 LR=2e-4 TSM_MIN="${TSM_MIN:-108}" \
    INIT="--init-from models/recipe/people/attempt-12/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
