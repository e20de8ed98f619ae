#!/usr/bin/env bash
# README command #2 (and CI's): install what is missing, then check formatting,
# lint, and run the tests. Extra arguments go to `cargo test`.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ACTIOND_ROOT"

bash scripts/setup.sh
# The training recipe's pinned Python packages (TensorFlow CPU, ONNX Runtime, ...) in
# .venv/: the recipe, parity and default-model tests run them.
bash scripts/python-env.sh
add_cargo_to_path
# One build from scratch gains nothing from incremental state (0.9 GB of target/debug);
# export CARGO_INCREMENTAL=1 to keep it when rerunning this often.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
# Supply chain (deny.toml): licenses, duplicate crates, crates.io only. cargo-deny is
# built once (pinned, ~5 minutes on two cores) into ~/.cargo/bin.
readonly CARGO_DENY_VERSION=0.20.2
if [[ "$(cargo deny --version 2>/dev/null || true)" != *"$CARGO_DENY_VERSION"* ]]; then
    log "installing cargo-deny $CARGO_DENY_VERSION"
    cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION"
fi
cargo deny --log-level error check licenses bans sources
# tests/e2e_package.rs builds the .deb and installs it on this machine (dpkg -i, users
# created and removed): only as root, where this script is the machine's CI.
if [[ $EUID -eq 0 ]]; then
    export ACTIOND_PACKAGE_TEST="${ACTIOND_PACKAGE_TEST:-1}"
fi
# One test at a time: the integration tests run real daemons doing real-time
# inference, and several at once on a two-core machine would starve each other.
RUST_TEST_THREADS="${RUST_TEST_THREADS:-1}" cargo test --locked --no-fail-fast "$@"
