#!/usr/bin/env bash
# One TSM run on both cores, compared with attempt 11's frame model (issue 14, attempts 12
# on): prepare.sh, the frame run FRAME (default frame11; when missing, or tested before clips
# were rendered again, export-frame.sh makes it again from attempt 11's kept weights), its
# frames hard-linked in when they are at the TSM's input size SIZE (default 128; otherwise it
# extracts its own),
# train-temporal started from INIT (--init-from-frame <frame weights> or
# --init-from <TSM weights>), then post.sh with FRAME_COPY=0 into the attempt's folder A.
# TRAIN_GROUPS (e.g. 441-740,801-1140) trains on those groups only, so that the frames of a
# larger SIZE fit the disk. FROM_ONSET (e.g. 0.3) trains on a fall's or a sit's windows only
# once that share of it is under way (train-temporal --from-onset); ONSET_MASK=1 also gives a
# kept window's frames from before then no loss (--mask-before-onset). FRAMES (default 8) is the
# training clip's length, CLIP_STEP (default 8) how far apart its windows start and BATCH
# (default the config's 8) the clips per step. CONFIG (default models/recipe/people/medium.json) is
# the training settings, augmentations included. FRAME=none trains without a frame run: none is
# made, and post.sh assesses the TSM alone. EVALUATE=0 leaves train-temporal's own evaluation out
# (post.sh's assessment, on both cores, measures the model) and FORMS=stateful the clip form.
# DRY_RUN=1 prints the commands instead of running them.
#   W=/work/people8 A=models/recipe/people/attempt-N TSM=tsmN SEED=N LR=2e-4 SIZE=128 TSM_MIN=108 \
#   INIT="--init-from models/recipe/people/attempt-M/weights/tsm.weights.h5" models/recipe/people/train-tsm.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
: "${A:?attempt folder}" "${TSM:?TSM run name}" "${SEED:?seed}" "${LR:?learning rate}"
: "${TSM_MIN:?minutes}" "${INIT:?--init-from-frame or --init-from, and the weights}"
FRAME="${FRAME:-frame11}"
SIZE="${SIZE:-128}"
py=.venv/bin/python
onset_mask=()
[ "${ONSET_MASK:-0}" = 0 ] || onset_mask=(--mask-before-onset)
no_eval=()
[ "${EVALUATE:-1}" != 0 ] || no_eval=(--no-evaluate)
run=()
[ "${DRY_RUN:-0}" = 0 ] || run=(echo)
# post.sh compares with the frame run: say so now, not after the training.
[ -f "$W/$FRAME/model.onnx" ] || [ "$FRAME" = frame11 ] || [ "$FRAME" = none ] || { echo "$W/$FRAME (the frame run post.sh" \
    "compares with) is missing: run the attempt that makes it first" >&2; exit 1; }
"${run[@]}" env W="$W" bash models/recipe/people/prepare.sh
# Attempt 11's frame run is made again when it is missing or was tested before clips were
# rendered again (people-report refuses runs tested on different data).
if [ "$FRAME" != none ] && { [ ! -f "$W/$FRAME/model.onnx" ] || { [ "$FRAME" = frame11 ] && [ -n "$(find -L "$W/mix" -name '*.avi' \
        -newer "$W/$FRAME/report.json" -print -quit 2>/dev/null)" ]; }; }; then
    "${run[@]}" env W="$W" FRAME="$FRAME" SIZE=128 SEED=11 \
        FROM=models/recipe/people/attempt-11/weights/frame.weights.h5 bash models/recipe/people/export-frame.sh
fi
"${run[@]}" mkdir -p "$W/$TSM/cache"
if [ ${#run[@]} = 0 ]; then exec 3> "$W/$TSM.log"; else exec 3>&1; fi  # the training log
# The frame run's frames serve only at the same size (a cache with other settings is emptied).
[ -d "$W/$TSM/cache/frames" ] || ! grep -qs "\"width\": $SIZE," "$W/$FRAME/cache/frames/settings.json" \
    || "${run[@]}" cp -al "$W/$FRAME/cache/frames" "$W/$TSM/cache/frames"
# shellcheck disable=SC2086  # INIT is an option and its value
"${run[@]}" $py models/recipe/recipe.py train-temporal --data "$W/mix" --alpha 0.5 \
    --test-groups 761-800,1161-1200 --val-groups 741-760,1141-1160 --threads 2 --seed "$SEED" \
    --config "${CONFIG:-models/recipe/people/medium.json}" --sample-fps 10 --epochs 40 --size "$SIZE" \
    --learning-rate "$LR" --max-minutes "$TSM_MIN" --out "$W/$TSM" \
    --name actiond-people-tsm-mobilenetv2 --frames "${FRAMES:-8}" --clip-step "${CLIP_STEP:-8}" \
    ${BATCH:+--batch-size "$BATCH"} ${TRAIN_GROUPS:+--train-groups "$TRAIN_GROUPS"} ${FROM_ONSET:+--from-onset "$FROM_ONSET"} \
    ${FORMS:+--forms "$FORMS"} "${onset_mask[@]}" "${no_eval[@]}" $INIT >&3 2>&1
# The frame model's weights and reports stand in its own attempt's folder, not copied here.
"${run[@]}" env W="$W" A="$A" FRAME="$FRAME" TSM="$TSM" FRAME_COPY=0 bash models/recipe/people/post.sh
