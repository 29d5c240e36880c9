#!/usr/bin/env bash
# Set up gigafactory in ./.venv on a fresh Debian/Ubuntu machine (Python 3.10+), then run
# `gigafactory ARGS...` (nothing when no ARGS). EXTRAS=test installs the test tools too.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "bootstrap: need root (or sudo) to run: $*" >&2; return 1; fi; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "bootstrap: Python 3.10+ needed" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv .venv >/dev/null 2>&1; then
    rm -rf .venv
    apt_install python3-venv
    python3 -m venv .venv
  fi
fi
spec="."
[ -n "${EXTRAS:-}" ] && spec=".[${EXTRAS}]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec"
[ $# -gt 0 ] && exec .venv/bin/gigafactory "$@"
exit 0
