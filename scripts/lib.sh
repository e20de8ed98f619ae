# shellcheck shell=bash
# Helpers shared by the scripts in this folder. Source it; it does nothing by itself.

# The repository root: the parent of the folder this file is in.
# shellcheck disable=SC2034 # used by the scripts that source this file
ACTIOND_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ACTIOND_ROOT

log() {
    printf '%s: %s\n' "$(basename "$0")" "$*"
}

die() {
    printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2
    exit 1
}

# Put rustup's bin folder on PATH when cargo isn't found, as a fresh login
# shell would after `rustup` installed it.
add_cargo_to_path() {
    local cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
    if ! command -v cargo >/dev/null 2>&1 && [[ -x "$cargo_bin/cargo" ]]; then
        PATH="$cargo_bin:$PATH"
        export PATH
    fi
}
