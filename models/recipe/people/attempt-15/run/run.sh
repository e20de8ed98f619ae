#!/usr/bin/env bash
# Attempt 15 (issue 14): attempt 14's TSM, whose validation was still rising at 160 px, trained
# on at 160 px from a fresh cosine at lr 2e-4 on both cores. On a machine with only the
# repository it renders the data set and re-exports attempt 11's frame model first.
#   W=/work/people8 TSM_MIN=80 models/recipe/people/attempt-15/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=models/recipe/people/attempt-15 TSM=tsm15 SEED=15 LR=2e-4 SIZE=160 TSM_MIN="${TSM_MIN:-80}" \
    INIT="--init-from models/recipe/people/attempt-14/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
