#!/usr/bin/env bash
# Attempt 7 (issue 14): the shared post-run steps (../../post.sh) into this attempt's
# folder, without the street checks (they came with attempt 8).
#   W=/work/people8 models/recipe/people/attempt-7/run/post.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.."
A=models/recipe/people/attempt-7 FRAME=frame TSM=tsm STREET=0 bash models/recipe/people/post.sh
