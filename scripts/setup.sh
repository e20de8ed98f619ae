#!/usr/bin/env bash
# Installs what actiond needs to build, run and test, when it is missing:
#   - Debian packages (GStreamer and its plugins, build tools, socat, Python,
#     Mosquitto for the MQTT tests, VLC and ffmpeg as independent cameras),
#   - a check that Rust >= 1.95 with rustfmt and clippy is there,
#   - ONNX Runtime's shared library in .ort/ (from the official PyPI wheel).
# Idempotent: when everything is present it changes nothing and takes a second.
# Prints one line for each thing it installs.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ACTIOND_ROOT"

readonly RUST_MIN_MAJOR=1
readonly RUST_MIN_MINOR=95

readonly ORT_VERSION=1.32.0
# sha256 of onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_<arch>.whl on PyPI.
readonly ORT_WHEEL_SHA256_X86_64=5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d
readonly ORT_WHEEL_SHA256_AARCH64=2303372a85299b6757b0e11e1cbf13e410ddf7e10c37f4b37e99d1c90e7daf7c
readonly ORT_DIR=".ort/onnxruntime-$ORT_VERSION"
readonly ORT_LIBS=("libonnxruntime.so.$ORT_VERSION" "libonnxruntime_providers_shared.so")

readonly APT_PACKAGES=(
    pkg-config
    build-essential
    libgstreamer1.0-dev
    libgstreamer-plugins-base1.0-dev
    libgstreamer-plugins-bad1.0-dev
    libgstrtspserver-1.0-dev
    gstreamer1.0-tools
    gstreamer1.0-plugins-base
    gstreamer1.0-plugins-good
    gstreamer1.0-plugins-bad
    gstreamer1.0-plugins-ugly
    gstreamer1.0-libav
    gstreamer1.0-x
    socat
    jq
    openssl
    systemd
    mosquitto
    mosquitto-clients
    # Camera servers nobody here wrote, for the source tests: VLC as an RTSP camera
    # (run as a non-root user) and ffmpeg's HTTP server as an MJPEG camera.
    vlc-bin
    vlc-plugin-base
    ffmpeg
    # A real browser for the status page test (tests/e2e_status_page.rs), driven
    # headless through chromedriver.
    chromium
    chromium-driver
    # Real photographs (landscapes, rooms, a bridge, a wooden wall) behind the recipe's
    # rendered people (models/recipe/actiond_recipe/humans/scene.py).
    lomiri-wallpapers-16.04
)

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' and sudo is not installed; run this script as root"
    fi
}

apt_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

ensure_apt_packages() {
    command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian and Ubuntu"

    local wanted=("${APT_PACKAGES[@]}")
    # Python is needed for pip (which fetches ONNX Runtime) and venv: keep a
    # working one (pyenv's, a distribution's) rather than add Debian's.
    local python_missing
    python_missing="$(python3 -c 'import importlib.util as u
print(" ".join(m for m in ("pip", "ensurepip", "venv") if u.find_spec(m) is None))' 2>/dev/null ||
        echo "python3")"
    python_missing=" $python_missing "
    if [[ $python_missing == *" python3 "* || $python_missing == *" pip "* ]]; then
        wanted+=(python3 python3-pip)
    fi
    if [[ $python_missing == *" python3 "* || $python_missing == *" ensurepip "* || $python_missing == *" venv "* ]]; then
        wanted+=(python3 python3-venv)
    fi

    # One dpkg-query for all: "name status" lines for the installed ones.
    local installed
    installed="$(dpkg-query -W -f='${Package} ${Status}\n' "${wanted[@]}" 2>/dev/null |
        awk '$2 == "install" && $3 == "ok" && $4 == "installed" { print $1 }' || true)"

    local missing=() pkg
    for pkg in "${wanted[@]}"; do
        if ! grep -qxF "$pkg" <<<"$installed" && [[ " ${missing[*]} " != *" $pkg "* ]]; then
            missing+=("$pkg")
        fi
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0

    log "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
    for pkg in "${missing[@]}"; do
        apt_installed "$pkg" || die "apt-get did not install $pkg"
        log "installed $pkg $(dpkg-query -W -f='${Version}' "$pkg")"
    done
}

ensure_rust() {
    add_cargo_to_path
    local hint="install Rust $RUST_MIN_MAJOR.$RUST_MIN_MINOR or newer with rustup (rustup toolchain install 1.95.0 && rustup default 1.95.0)"
    command -v cargo >/dev/null 2>&1 || die "cargo not found; $hint"
    command -v rustc >/dev/null 2>&1 || die "rustc not found; $hint"

    local version major minor
    version="$(rustc --version)"
    if [[ ! "$version" =~ ^rustc\ ([0-9]+)\.([0-9]+)\. ]]; then
        die "cannot read the version from '$version'; $hint"
    fi
    major="${BASH_REMATCH[1]}"
    minor="${BASH_REMATCH[2]}"
    if ((major < RUST_MIN_MAJOR || (major == RUST_MIN_MAJOR && minor < RUST_MIN_MINOR))); then
        die "found $version, need $RUST_MIN_MAJOR.$RUST_MIN_MINOR or newer; $hint"
    fi

    # scripts/test.sh runs cargo fmt and cargo clippy.
    local component subcommand
    for component in rustfmt:fmt clippy:clippy; do
        subcommand="${component#*:}"
        component="${component%%:*}"
        cargo "$subcommand" --version >/dev/null 2>&1 && continue
        command -v rustup >/dev/null 2>&1 ||
            die "cargo $subcommand not found and there is no rustup to add it; install Rust's $component component"
        rustup component add "$component" >/dev/null 2>&1 || die "rustup component add $component failed"
        log "installed Rust component $component"
    done
}

# True when the libraries are unpacked, complete and unchanged since.
ort_present() {
    [[ -f "$ORT_DIR/SHA256SUMS" ]] || return 1
    [[ "$(awk '{print $2}' "$ORT_DIR/SHA256SUMS" | sort)" == "$(printf '%s\n' "${ORT_LIBS[@]}" | sort)" ]] || return 1
    (cd "$ORT_DIR" && sha256sum --check --status --strict SHA256SUMS)
}

# .ort/libonnxruntime.so is where actiond looks when neither the config nor
# ORT_DYLIB_PATH names a library. ONNX Runtime looks for the providers_shared
# library beside the path it was loaded from, so link that one too.
ensure_ort_links() {
    local pair link target
    for pair in "libonnxruntime.so:${ORT_LIBS[0]}" "libonnxruntime_providers_shared.so:${ORT_LIBS[1]}"; do
        link=".ort/${pair%%:*}"
        target="onnxruntime-$ORT_VERSION/${pair#*:}"
        if [[ "$(readlink "$link" 2>/dev/null || true)" != "$target" ]]; then
            ln -sfn "$target" "$link"
            log "linked $link -> $target"
        fi
    done
}

ensure_onnxruntime() {
    if ort_present; then
        ensure_ort_links
        return 0
    fi

    local arch expected
    case "$(uname -m)" in
        x86_64 | amd64)
            arch=x86_64
            expected=$ORT_WHEEL_SHA256_X86_64
            ;;
        aarch64 | arm64)
            arch=aarch64
            expected=$ORT_WHEEL_SHA256_AARCH64
            ;;
        *) die "no ONNX Runtime $ORT_VERSION wheel for $(uname -m); set [runtime] onnxruntime or ORT_DYLIB_PATH to your own build" ;;
    esac

    local tmp
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064 # expand $tmp now: it is local.
    trap "rm -rf '$tmp'" EXIT

    log "downloading onnxruntime $ORT_VERSION ($arch) from PyPI"
    # Only the wheel's C library is used, so the wheel for Python 3.11 serves
    # whatever python3 runs pip.
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --python-version 3.11 --platform "manylinux_2_28_$arch" \
        "onnxruntime==$ORT_VERSION" -d "$tmp" ||
        die "pip could not download onnxruntime==$ORT_VERSION"

    local wheel="$tmp/onnxruntime-$ORT_VERSION-cp311-cp311-manylinux_2_28_$arch.whl"
    [[ -f "$wheel" ]] || die "pip did not produce $(basename "$wheel")"
    local actual
    actual="$(sha256sum "$wheel" | cut -d' ' -f1)"
    [[ "$actual" == "$expected" ]] ||
        die "sha256 mismatch for $(basename "$wheel"): expected $expected, got $actual"

    # Unpack into a fresh folder, record the checksums, then swap it in.
    mkdir -p .ort
    local staging=".ort/.onnxruntime-$ORT_VERSION.tmp"
    rm -rf "$staging"
    mkdir -p "$staging"
    python3 - "$wheel" "$staging" "${ORT_LIBS[@]}" <<'PY'
import os, shutil, sys, zipfile

wheel, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as zf:
    for name in names:
        member = "onnxruntime/capi/" + name
        out = os.path.join(dest, name)
        with zf.open(member) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(out, 0o755)
PY
    (cd "$staging" && sha256sum "${ORT_LIBS[@]}" >SHA256SUMS)
    rm -rf "$ORT_DIR"
    mv "$staging" "$ORT_DIR"
    log "installed $ORT_DIR/${ORT_LIBS[0]} (sha256 $(cut -d' ' -f1 <"$ORT_DIR/SHA256SUMS" | head -n1))"

    ensure_ort_links
    rm -rf "$tmp"
    trap - EXIT
}

main() {
    ensure_apt_packages
    ensure_rust
    ensure_onnxruntime
}

main "$@"
