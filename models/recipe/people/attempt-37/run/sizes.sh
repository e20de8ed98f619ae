#!/usr/bin/env bash
# Attempt 37: attempt 34's TSM exported untrained at 320, 352 and 384 px (export-at.py) and
# assessed on both held-out halves as post.sh assesses (into ../sizes/<size>-<half>.json).
# Needs the held-out groups rendered (prepare.sh with RENDER_SIZE=424x320).
#   [W=/work/people8/hr] models/recipe/people/attempt-37/run/sizes.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../../../../.."
W="${W:-/work/people8/hr}" A=models/recipe/people/attempt-34
. models/recipe/people/halves.sh
mkdir -p "$here/../sizes"
for s in ${SIZES:-320 352 384}; do
    .venv/bin/python "$here/export-at.py" $A/weights/tsm.weights.h5 $A/tsm/training_config.json "$s" "$W/a34-$s"
    for half in $TEST_HALVES; do  # a cache each: one would make the halves extract in turn
        .venv/bin/python models/recipe/recipe.py assess --model "$W/a34-$s/model.onnx" --data "$W/mix" \
            --groups "${half#*:}" --cache "$W/a34-$s/cache-${half%%:*}" --from-onset 0.3 \
            --out "$here/../sizes/$s-${half%%:*}.json" > /dev/null &
    done
    wait
    rm -rf "$W/a34-$s"/cache-*  # 7-11 GB a size: this attempt's first launch ran out of disk beside them
done
