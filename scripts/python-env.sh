#!/usr/bin/env bash
# Creates .venv/ (git-ignored) with the training recipe's pinned Python packages
# (models/recipe/requirements.txt). Idempotent: reinstalls only when the
# requirements file changed since the last successful install (its sha256 is kept
# in .venv/.requirements.sha256). Prints one line per action. Needs python3 >= 3.11
# with the venv module (Debian: python3-venv).
#   PYTHON=python3.11 scripts/python-env.sh     # choose the interpreter
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
req="$root/models/recipe/requirements.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"
say() { printf 'python-env: %s\n' "$*"; }

command -v "$python" >/dev/null 2>&1 || { say "error: $python not found (install Python 3.11 and python3-venv)" >&2; exit 1; }
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)'; then
    say "error: $("$python" --version 2>&1) is too old; the pinned TensorFlow needs Python 3.11 or newer" >&2
    exit 1
fi
if [[ ! -x "$venv/bin/python" ]]; then
    say "creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi
want="$(sha256sum "$req" | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [[ "$want" == "$have" ]]; then
    say "up to date ($venv, requirements ${want:0:12})"
    exit 0
fi
say "installing models/recipe/requirements.txt into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
echo "$want" >"$stamp"
say "installed (requirements ${want:0:12})"
