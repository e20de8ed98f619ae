#!/usr/bin/env bash
# Attempt 16 (issue 14): attempt 15's TSM, whose validation loss was still falling when the
# budget cut its second epoch, trained on at 160 px from a fresh cosine at lr 1.5e-4 on both
# cores. On a machine with only the repository it renders the data set and re-exports
# attempt 11's frame model first.
#   W=/work/people8 TSM_MIN=92 models/recipe/people/attempt-16/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=models/recipe/people/attempt-16 TSM=tsm16 SEED=16 LR=1.5e-4 SIZE=160 TSM_MIN="${TSM_MIN:-92}" \
    INIT="--init-from models/recipe/people/attempt-15/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
