#!/usr/bin/env bash
# README command #1: install what is missing, build, and run the demo config.
# Extra arguments go to `actiond run`. actiond finds ONNX Runtime itself
# (config, then $ORT_DYLIB_PATH, then .ort/libonnxruntime.so in this repository).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ACTIOND_ROOT"

bash scripts/setup.sh
add_cargo_to_path
cargo build --release --locked
exec target/release/actiond run --config config/demo.toml "$@"
