#!/usr/bin/env bash
# Attempt 38 (issue 14): attempt 37 (attempt 34's TSM trained 40 minutes at 384 px) trained on at
# 384 px for 55 more minutes. Attempt 37 read small people better than attempt 34 (85.0 against
# 83.2 %) but large people worse (87.5 against 90.8 %), after 413 batches at the new size: does
# more training at 384 bring large people back? The same data, groups and settings as attempt
# 37's run/run.sh, lr 7e-5 (attempt 35's, a continuation), seed 38 (another draw of the batches).
# Once the stateful form is exported the run is stopped (its own evaluation at 384 px, one
# thread, takes longer than the session leaves) and both held-out halves are assessed with
# recipe.py assess from the run's frames, as post.sh assesses.
#   [W=/work/people8/hr] models/recipe/people/attempt-38/run/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../../../../.."
W="${W:-/work/people8/hr}" TSM=tsm38 A=models/recipe/people/attempt-38
env W="$W" LARGE_GROUPS=391-480,741-800 SMALL_GROUPS=951-1060,1141-1200 RENDER_SIZE=424x320 EXTRACT=0 \
    bash models/recipe/people/prepare.sh
mkdir -p "$W/$TSM" $A/assess
.venv/bin/python models/recipe/recipe.py train-temporal --data "$W/mix" --alpha 0.5 \
    --test-groups 761-800,1161-1200 --val-groups 741-760,1141-1160 --threads 2 --seed 38 \
    --config models/recipe/people/attempt-34/run/config.json --sample-fps 10 --epochs 40 --size 384 \
    --learning-rate 7e-5 --max-minutes "${TSM_MIN:-55}" --out "$W/$TSM" \
    --name actiond-people-tsm-mobilenetv2 --frames 8 --clip-step 8 \
    --train-groups 391-480,951-1060 --from-onset 0.3 \
    --init-from models/recipe/people/attempt-37/weights/tsm.weights.h5 > "$W/$TSM.log" 2>&1 &
train=$!
until [ -f "$W/$TSM/tsm/model.toml" ]; do  # written once the stateful export is verified
    kill -0 $train 2> /dev/null || { echo "train-temporal ended before its export; see $W/$TSM.log"; exit 1; }
    sleep 10
done
kill $train; wait $train || true
. models/recipe/people/halves.sh
for half in $TEST_HALVES; do  # the run's frames at 384 px, already extracted
    .venv/bin/python models/recipe/recipe.py assess --model "$W/$TSM/tsm/model.onnx" --data "$W/mix" \
        --groups "${half#*:}" --cache "$W/$TSM/cache/frames" --from-onset 0.3 \
        --out "$A/assess/tsm-${half%%:*}.json" > /dev/null &
done
wait
echo attempt 38 trained and assessed
