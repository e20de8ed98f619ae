#!/usr/bin/env bash
# Builds the Debian package target/debian/actiond_<version>_<arch>.deb with cargo-deb
# (installed, pinned, when missing): builds the binary, writes the man pages and shell
# completions it generates (`actiond assets`) into target/assets/, then packages.
# ONNX Runtime comes from .ort/ (scripts/setup.sh).
#   scripts/package.sh                  release build, then the package
#   scripts/package.sh --profile dev    the debug build (what tests/e2e_package.rs uses)
# Other arguments go to `cargo deb` (e.g. --fast, --output DIR).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ACTIOND_ROOT"

readonly CARGO_DEB_VERSION=3.8.0

profile=release
deb_args=()
while (($#)); do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        --no-build) shift ;; # this script always builds (a no-op when up to date)
        *) deb_args+=("$1"); shift ;;
    esac
done
[[ "$profile" == dev ]] && bin_dir=target/debug || bin_dir="target/$profile"

add_cargo_to_path
command -v cargo >/dev/null 2>&1 || die "cargo not found: run scripts/setup.sh"
if [[ "$(cargo deb --version 2>/dev/null || true)" != *"$CARGO_DEB_VERSION"* ]]; then
    log "installing cargo-deb $CARGO_DEB_VERSION"
    cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi
for lib in libonnxruntime.so.1.32.0 libonnxruntime_providers_shared.so; do
    [[ -f ".ort/onnxruntime-1.32.0/$lib" ]] || die ".ort/onnxruntime-1.32.0/$lib missing: run scripts/setup.sh"
done
[[ -f models/default/model.onnx ]] || die "models/default/model.onnx missing"
[[ -f models/people/model.onnx ]] || die "models/people/model.onnx missing"

cargo build --locked --profile "$profile" --bin actiond
rm -rf target/assets
"$bin_dir/actiond" assets --out target/assets
cargo deb --locked --profile "$profile" --no-build "${deb_args[@]}"
