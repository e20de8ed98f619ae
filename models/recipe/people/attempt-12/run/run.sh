#!/usr/bin/env bash
# Attempt 12 (issue 14): the fair motion test attempt 11 left. A TSM at 128 px, started from
# attempt 11's kept frame weights (trained at 128 px; --init-from-frame), lr 3e-4, on both
# cores; the frame model it is compared with is attempt 11's, unchanged (run folder frame11,
# which also holds the 128 px frames the TSM reuses; without it the TSM extracts its own).
#   W=/work/people8 TSM_MIN=105 models/recipe/people/attempt-12/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=models/recipe/people/attempt-12 TSM=tsm12 SEED=12 LR=3e-4 TSM_MIN="${TSM_MIN:-105}" \
    INIT="--init-from-frame models/recipe/people/attempt-11/weights/frame.weights.h5" \
    bash "$here/../../train-tsm.sh"
