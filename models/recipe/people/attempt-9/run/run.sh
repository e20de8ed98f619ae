#!/usr/bin/env bash
# Attempt 9 (issue 14), on a fresh machine: the data set rendered and extracted again, then
# as attempt 8 recommended, the frame model continued from attempt 8's kept frame weights
# at lr 1e-3, and a TSM started from those same weights (--init-from-frame) at lr 2e-4,
# not continued from attempt 8's TSM, which trailed the frame model by 7 points.
#   W=/work/people8 FRAME_MIN=75 TSM_MIN=75 models/recipe/people/attempt-9/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=models/recipe/people/attempt-9 FROM=models/recipe/people/attempt-8/weights/frame.weights.h5 \
    FRAME=frame9 TSM=tsm9 SEED=9 FRAME_LR=1e-3 TSM_LR=2e-4 \
    FRAME_MIN="${FRAME_MIN:-75}" TSM_MIN="${TSM_MIN:-75}" bash "$here/../../train-pair.sh"
