#!/usr/bin/env bash
# Links the two renders under $1 (large/ and small/) into one data set, $1/mix/<Class>/.
set -euo pipefail
W="$1"
for part in large small; do
    for d in "$W/$part"/*/; do
        c=$(basename "$d"); mkdir -p "$W/mix/$c"
        for f in "$d"*.avi; do ln -sf "$f" "$W/mix/$c/"; done
    done
done
echo "mix: $(find "$W/mix" -name '*.avi' | wc -l) videos"
