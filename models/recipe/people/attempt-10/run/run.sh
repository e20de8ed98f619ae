#!/usr/bin/env bash
# Attempt 10 (issue 14): attempt 9's scheme again, one session on: the frame model continued
# from attempt 9's kept frame weights at lr 5e-4 (at 1e-3 attempt 9's first epoch fell
# 4 points below where attempt 8 had left it), and a TSM started from those same weights
# (--init-from-frame) at lr 2e-4, which gained attempt 9's TSM 8 points.
#   W=/work/people8 FRAME_MIN=88 TSM_MIN=88 models/recipe/people/attempt-10/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=models/recipe/people/attempt-10 FROM=models/recipe/people/attempt-9/weights/frame.weights.h5 \
    FRAME=frame10 TSM=tsm10 SEED=10 FRAME_LR=5e-4 TSM_LR=2e-4 \
    FRAME_MIN="${FRAME_MIN:-88}" TSM_MIN="${TSM_MIN:-88}" bash "$here/../../train-pair.sh"
