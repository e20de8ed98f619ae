#!/usr/bin/env bash
# Attempt 31 (issue 14): longer training clips. The daemon runs the TSM one frame at a time
# over the whole stream, so a held-out clip's frames see up to 29 frames of history through
# the shift buffers; training clips of 8 frames never showed the net more than 7 (and each
# clip's first frame none). Attempt 27's weights trained on clips of 16 frames (windows at 0
# and 14 of each 30-frame video, 4 clips a step: the same 64 frames a step), on attempt 27's
# groups (391-740, 951-1140) at 320 px, lr 1e-4, 90 minutes. A 16-frame window of a fall
# always ends once it is under way, so --from-onset leaves none out: the frames before it get no
# loss instead (ONSET_MASK, --mask-before-onset). The clip accuracy is measured as before (the
# daemon's mean over 8 frames, every 4).
#   W=/work/people8 models/recipe/people/attempt-31/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=models/recipe/people/attempt-31 TSM=tsm31 SEED=31 LR=1e-4 SIZE=320 TSM_MIN="${TSM_MIN:-90}" EXTRACT=0 \
    FRAMES=16 CLIP_STEP=14 BATCH=4 ONSET_MASK=1 \
    FROM_ONSET=0.3 TRAIN_GROUPS=391-740,951-1140 FRAME_ASSESS=models/recipe/people/attempt-19/assess \
    INIT="--init-from models/recipe/people/attempt-27/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
echo attempt 31 done
