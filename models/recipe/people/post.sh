#!/usr/bin/env bash
# After an attempt (issue 14): the kept weights (with SHA256SUMS), each model's report,
# both models on each held-out half, street checks at three walker sizes, chair checks on
# each half, and the comparison, into the attempt's folder A.
#   W=/work/people8 A=models/recipe/people/attempt-N FRAME=frameN TSM=tsmN models/recipe/people/post.sh
# FRAME and TSM are run folders under W (recipe.py train / train-temporal --out); STREET=0
# leaves out the street checks (attempt 7 had none), CHAIR=0 the chair checks (none before
# attempt 19); FRAME_COPY=0 leaves the frame model's weights and reports out when an
# earlier attempt's folder already holds them (attempt 12); FRAME_ASSESS=<an earlier
# attempt's assess folder> copies the same frame model's held-out results from there
# instead of assessing it again (its 128 px frames need 17 GB); FRAME=none assesses and checks
# the TSM alone (a run without a frame run to compare with: no COMPARISON.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
W="${W:-/work/people8}"
: "${A:?attempt folder}" "${FRAME:?frame run under W}" "${TSM:?TSM run under W}"
F="$W/$FRAME" T="$W/$TSM" FRAMES_TOO=1
[ "$FRAME" != none ] || FRAMES_TOO=0 FRAME_COPY=0
STREET="${STREET:-1}" CHAIR="${CHAIR:-1}" FRAME_COPY="${FRAME_COPY:-1}" FRAME_ASSESS="${FRAME_ASSESS:-}"
py=.venv/bin/python
. models/recipe/people/halves.sh
mkdir -p $A/assess $A/tsm $A/weights
cp "$T/cache/tsm.weights.h5" $A/weights/tsm.weights.h5
for f in REPORT.md report.json training_config.json; do cp "$T/tsm/$f" $A/tsm/; done
# The clip form's reports only when its evaluation ran to the end (attempts 21 and 22 stopped it).
if [ -f "$T/clip/report.json" ]; then
    mkdir -p $A/clip
    for f in REPORT.md report.json training_config.json; do cp "$T/clip/$f" $A/clip/; done
fi
if [ "$FRAME_COPY" != 0 ]; then
    mkdir -p $A/frame
    cp "$F/cache/model.weights.h5" $A/weights/frame.weights.h5
    for f in REPORT.md report.json training_config.json; do cp "$F/$f" $A/frame/; done
fi
(cd $A/weights && sha256sum *.weights.h5 > SHA256SUMS)
# Each run's own frames (recipe.py train and train-temporal extract into <run>/cache/frames),
# so each model is assessed at its own size. Never a shared cache: a cache whose settings
# differ from the model's is emptied and extracted again (dataset.extract).
# Also scored without a fall's or sit's clips that end before 30 % of it is under way (they show
# someone standing; attempt 23 trained without them).
assess() {  # model-name dir half-name groups cache
    $py models/recipe/recipe.py assess --model "$2/model.onnx" --data "$W/mix" --groups "$4" \
        --cache "$5" --from-onset 0.3 --out "$A/assess/$1-$3.json" > /dev/null
}
for half in $TEST_HALVES; do
    assess tsm "$T/tsm" "${half%%:*}" "${half#*:}" "$T/cache/frames" &
    if [ "$FRAMES_TOO" = 0 ]; then
        :
    elif [ -n "$FRAME_ASSESS" ]; then
        cp "$FRAME_ASSESS/frame-${half%%:*}".{json,md} $A/assess/
    else
        assess frame "$F" "${half%%:*}" "${half#*:}" "$F/cache/frames" &
    fi
    [ "$FRAMES_TOO" = 0 ] || wait  # a half at a time, both models; the TSM alone: both halves at once
done
wait
street() {  # model-name dir scale
    $py models/recipe/recipe.py street-check --model "$2/model.onnx" --scenes 20 --scale "$3" \
        --out "$A/street/$1-$3.json" > /dev/null
}
[ "$STREET" = 0 ] || mkdir -p $A/street
for s in 0.4-0.9 0.15-0.6 0.08-0.2; do
    [ "$STREET" = 0 ] && break
    street tsm "$T/tsm" $s &
    [ "$FRAMES_TOO" = 0 ] || street frame "$F" $s &
    wait
done
# Held-out clips of the nine actions but sitting down, without and with an empty chair right
# behind the main person, at each half's render size and people's size (halves.sh).
chair() {  # model-name dir half groups size scale
    $py models/recipe/recipe.py chair-check --model "$2/model.onnx" --groups "$4" --size "$5" --scale "$6" \
        --out "$A/chair/$1-$3.json" > /dev/null
}
[ "$CHAIR" = 0 ] || mkdir -p $A/chair
for half in $CHAIR_HALVES; do
    [ "$CHAIR" = 0 ] && break
    IFS=: read -r name groups size scale <<< "$half"
    chair tsm "$T/tsm" "$name" "$groups" "$size" "$scale" &
    [ "$FRAMES_TOO" = 0 ] || chair frame "$F" "$name" "$groups" "$size" "$scale" &
    wait
done
[ "$FRAMES_TOO" = 0 ] || $py models/recipe/recipe.py people-report --frame "$F" --tsm "$T" --out $A/COMPARISON.md
echo post done
