#!/usr/bin/env bash
# README command #1: install what is missing, build, and run the demo config.
# Extra arguments go to `actiond run`. actiond finds ONNX Runtime itself
# (config, then $ORT_DYLIB_PATH, then .ort/libonnxruntime.so in this repository).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ACTIOND_ROOT"

# The status page's address, from the demo config's [http] listen.
page_url="http://$(sed -n 's/^listen = "\(.*\)"$/\1/p' config/demo.toml | head -n1)/"
log "status page: $page_url (open it in a browser while the demo runs)"

bash scripts/setup.sh
add_cargo_to_path
cargo build --release --locked
log "status page: $page_url"
exec target/release/actiond run --config config/demo.toml "$@"
