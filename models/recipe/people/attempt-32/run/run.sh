#!/usr/bin/env bash
# Attempt 32 (issue 14): camera detail. The held-out halves were rendered at 160x120 and
# 256x192 (sizes chosen for the 96-192 px models of attempts 6-19) and the 320 px models
# enlarge them; a camera box's 720p or 1080p frames are scaled down instead. Rendered again at
# 424x320 (the same plans: people, scenes, motion), attempt 27's model scores 84.8 % held
# out, untrained. Attempt 27's weights trained 50 minutes on its groups (391-740, 951-1140)
# with groups 601-800 and 1061-1200 rendered at 424x320 (held-out and validation groups
# among them) and the rest linked from the 160x120 / 256x192 data set in W0, at 320 px, lr 1e-4.
# It ran in W=/work/people8/hr, where attempt 33 then rendered these groups too (its 424x320
# clips replace the links): the default W is a fresh folder, so that a rerun links again.
#   [W=/work/people8/hr32] [W0=/work/people8] models/recipe/people/attempt-32/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Its own data set: rendered into W0, 424x320 clips would replace the old renders there.
export W="${W:-/work/people8/hr32}"
W0="${W0:-/work/people8}"
[ "$(readlink -f "$W")" != "$(readlink -f "$W0")" ] || { echo "W and W0 must differ ($W)" >&2; exit 1; }
A=models/recipe/people/attempt-32 TSM=tsm32 SEED=32 LR=1e-4 SIZE=320 TSM_MIN="${TSM_MIN:-50}" EXTRACT=0 \
    RENDER_SIZE=424x320 LARGE_GROUPS=601-800 SMALL_GROUPS=1061-1200 \
    LINK_FROM="$W0" LINK_GROUPS=391-600,951-1060 CHAIR=0 \
    FROM_ONSET=0.3 TRAIN_GROUPS=391-740,951-1140 \
    INIT="--init-from models/recipe/people/attempt-27/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
echo attempt 32 done
