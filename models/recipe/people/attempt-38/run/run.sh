#!/usr/bin/env bash
# Attempt 38 (issue 14): attempt 37 (attempt 34's TSM trained 40 minutes at 384 px) trained on at
# 384 px for 55 more minutes. Attempt 37 read small people better than attempt 34 (85.0 against
# 83.2 %) but large people worse (87.5 against 90.8 %), after 413 batches at the new size: does
# more training at 384 bring large people back? The same data, groups and settings as attempt
# 37's run/run.sh, lr 7e-5 (attempt 35's, a continuation), seed 38 (another draw of the batches).
# The stateful form only, not evaluated by train-temporal (its evaluation at 384 px, one thread,
# takes longer than the session had); post.sh assesses both held-out halves from the run's frames.
# It ran as its own copy of train-tsm.sh's train-temporal command, stopped once the stateful form
# was exported (commit 18085e3); the shared script now does the same (FRAME=none, FORMS,
# EVALUATE=0: the same training command, seed and data) and keeps the run's REPORT.md.
#   [W=/work/people8/hr] models/recipe/people/attempt-38/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export W="${W:-/work/people8/hr}"
A=models/recipe/people/attempt-38 TSM=tsm38 SEED=38 LR=7e-5 SIZE=384 TSM_MIN="${TSM_MIN:-55}" EXTRACT=0 \
    RENDER_SIZE=424x320 LARGE_GROUPS=391-480,741-800 SMALL_GROUPS=951-1060,1141-1200 \
    FRAME=none FORMS=stateful EVALUATE=0 STREET=0 CHAIR=0 FROM_ONSET=0.3 \
    TRAIN_GROUPS=391-480,951-1060 CONFIG=models/recipe/people/attempt-34/run/config.json \
    INIT="--init-from models/recipe/people/attempt-37/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
echo attempt 38 trained and assessed
