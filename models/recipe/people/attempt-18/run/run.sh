#!/usr/bin/env bash
# Attempt 18 (issue 14): attempt 17 read 57 of 240 held-out idle clips of large people as
# `falling`, every one a person whose hands hang. Every fall and sit in the data set began
# from hanging hands, so hanging hands had become a cue for `falling`. The renderer now
# starts falls and sits from idle's stance (hands hanging, on the hips or in front, looking
# around) and a little sooner in the clip (start 0.05-0.3 of it, was 0.1-0.45 and
# 0.1-0.4); prepare.sh renders those 2,400 clips again. Attempt 17's TSM trains on at 192 px,
# a fresh cosine from lr 1e-4, TSM_MIN minutes; the frame model is assessed again (its
# held-out clips changed) and attempt 17's TSM too, on the same held-out clips, as the
# before of the change (assess/before-*).
#   W=/work/people8 TSM_MIN=70 models/recipe/people/attempt-18/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../../../../.."
W="${W:-/work/people8}"
A=models/recipe/people/attempt-18
A=$A TSM=tsm18 SEED=18 LR=1e-4 SIZE=192 TSM_MIN="${TSM_MIN:-70}" EXTRACT=0 \
    INIT="--init-from models/recipe/people/attempt-17/weights/tsm.weights.h5" \
    bash "$here/../../train-tsm.sh"
# Attempt 17's TSM (models/people until this attempt) on the same held-out clips and frames.
CHAIR=0 W="$W" A=$A TSM=tsm18 PREV=17 bash "$here/../../assess-before.sh"
echo attempt 18 done
