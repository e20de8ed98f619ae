#!/usr/bin/env bash
# Where the daemon's memory goes (README, Memory): runs the release binary with 0, 1, 2
# and 4 streams of one video and 1 or 2 ONNX Runtime sessions, 45 s each, and prints
# resident memory split into file-backed (libraries) and anonymous (heap, stacks,
# buffers). Not part of the test suite; about 5 minutes.
# Usage: scripts/memory-parts.sh [VIDEO] [MODEL]
# (defaults: the benchmark's 720p30 input, made by scripts/bench.sh; the provisional model)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ACTIOND_ROOT"

video="${1:-$(ls .cache/bench/bench-720p30-60s*.mp4 2>/dev/null | head -n1)}"
model="${2:-models/provisional/model.onnx}"
[[ -f "$video" ]] || { echo "no video: pass one, or run scripts/bench.sh first" >&2; exit 2; }
add_cargo_to_path
cargo build --release --locked
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
port=44100
kib() { awk -v k="$1" '$1 == k":" {print $2}' "$2"; }
for cfg in "0 1" "0 2" "1 2" "2 2" "4 2" "4 1"; do
    read -r n sessions <<<"$cfg"
    port=$((port + 1))
    conf="$work/$n-$sessions.toml"
    printf '[runtime]\nsessions = %s\nmax_batch = 4\n[model]\npath = "%s"\n[smoothing]\nwindow = 1\nstride = 1\n[output]\nsocket = "%s/%s.sock"\n[http]\nlisten = "127.0.0.1:%s"\n' \
        "$sessions" "$PWD/$model" "$work" "$port" "$port" >"$conf"
    # No stream running: one that is disabled.
    [[ $n == 0 ]] && printf '[[stream]]\nname = "off"\nuri = "%s"\nenabled = false\n' "$PWD/$video" >>"$conf"
    for i in $(seq 1 "$n"); do
        printf '[[stream]]\nname = "s%s"\nuri = "%s"\nloop = true\nsample_fps = 5\n' "$i" "$PWD/$video" >>"$conf"
    done
    target/release/actiond run --config "$conf" >/dev/null 2>"$work/log" &
    pid=$!
    sleep 45
    cp "/proc/$pid/smaps_rollup" "$work/smaps"
    rss=$(kib Rss "$work/smaps")
    anon=$(kib Anonymous "$work/smaps")
    peak=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    kill "$pid"
    wait "$pid" || true
    echo "streams=$n sessions=$sessions rss=$((rss / 1024)) file-backed=$(((rss - anon) / 1024)) anonymous=$((anon / 1024)) peak=$((peak / 1024)) MiB"
done
