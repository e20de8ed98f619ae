#!/usr/bin/env bash
# Attempt 39: a second held-out draw for the shipped model, 60 groups a half that no attempt has
# trained or been tested on (1201-1260 large, 1261-1320 small, rendered as the held-out halves
# are), scored with where.py beside the first draw (761-800, 1161-1200) and pooled with it.
# MODEL (default the shipped models/people/model.onnx) is the model scored and CACHE (default
# $W/cal34, calibrate.py's cache of the shipped model) where its frames and probabilities are
# kept; the probabilities of each half are computed first, two halves at a time (one thread each).
#   [W=/work/people8/hr] [MODEL=… CACHE=…] models/recipe/people/attempt-39/run/second-draw.sh > where-second.md
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../../../../.."
W="${W:-/work/people8/hr}"
MODEL="${MODEL:-models/people/model.onnx}" CACHE="${CACHE:-$W/cal34}"
env W="$W" LARGE_GROUPS=1201-1260 SMALL_GROUPS=1261-1320 RENDER_SIZE=424x320 EXTRACT=0 \
    bash models/recipe/people/prepare.sh >&2
sets=("first draw, large:761-800" "first draw, small:1161-1200" "first draw:761-800" "first draw:1161-1200"
      "second draw, large:1201-1260" "second draw, small:1261-1320" "second draw:1201-1260" "second draw:1261-1320")
for g in 761-800 1161-1200 1201-1260 1261-1320; do sets+=("both draws:$g"); done
for pair in "761-800 1161-1200" "1201-1260 1261-1320"; do
    for g in $pair; do .venv/bin/python "$here/where.py" "$MODEL" "$W/mix" "$CACHE" "half:$g" > /dev/null 2>&1 & done
    wait
done
.venv/bin/python "$here/where.py" "$MODEL" "$W/mix" "$CACHE" "${sets[@]}" 2> /dev/null \
    | grep -v '^extracted'
