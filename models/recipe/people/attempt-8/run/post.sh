#!/usr/bin/env bash
# Attempt 8 (issue 14): the shared post-run steps (../../post.sh) into this attempt's folder.
#   W=/work/people8 models/recipe/people/attempt-8/run/post.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.."
A=models/recipe/people/attempt-8 FRAME=frame8 TSM=tsm8 bash models/recipe/people/post.sh
