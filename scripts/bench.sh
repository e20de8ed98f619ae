#!/usr/bin/env bash
# The performance benchmark (not part of the test suite): installs what is missing,
# builds the release binary and runs `actiond bench` (all rows, ~10 minutes).
# Extra arguments go to `actiond bench`, e.g. --duration 60 --streams 1,4,8,16.
# The JSON report is written to bench-report.json in the repository root.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ACTIOND_ROOT"

bash scripts/setup.sh
bash scripts/python-env.sh
add_cargo_to_path
cargo build --release --locked
# The shipped models (frame, and the clip and stateful ones where present, and the people
# TSM) get a row each.
also=()
for m in models/default models/default-int8 models/tsm models/clip models/people; do
    [[ -f "$m/model.onnx" ]] && also+=(--also-model "$m/model.onnx")
done
exec target/release/actiond bench --work-dir .cache/bench --json bench-report.json "${also[@]}" "$@"
