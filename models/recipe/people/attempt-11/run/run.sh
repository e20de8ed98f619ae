#!/usr/bin/env bash
# Attempt 11 (issue 14): is the input size the limit? The frame model, flat at 96 px for six
# epochs in attempt 10, continues from attempt 10's kept frame weights at 128 px (the pooled
# head has no size-bound weights), lr 5e-4; beside it, on the other core, attempt 10's TSM
# continues from its own weights at 96 px, lr 2e-4 (its validation was still rising).
#   W=/work/people8 FRAME_MIN=90 TSM_MIN=95 models/recipe/people/attempt-11/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
a10=models/recipe/people/attempt-10/weights
A=models/recipe/people/attempt-11 FROM=$a10/frame.weights.h5 TSM_FROM=$a10/tsm.weights.h5 FRAME_SIZE=128 \
    FRAME=frame11 TSM=tsm11 SEED=11 FRAME_LR=5e-4 TSM_LR=2e-4 \
    FRAME_MIN="${FRAME_MIN:-90}" TSM_MIN="${TSM_MIN:-95}" bash "$here/../../train-pair.sh"
