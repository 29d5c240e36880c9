#!/usr/bin/env bash
# Set up everything the tests need on a fresh Debian/Ubuntu machine, then run the whole suite.
# Debian packages: OpenSM + ibsim + infiniband-diags (the fabric is routed by the real subnet
# manager), openssh-server and busybox-static (node acceptance runs over real SSH against staged
# hosts, each a chroot built from the static busybox).
set -euo pipefail
cd "$(dirname "$0")/.."
source_packages=(opensm ibsim-utils infiniband-diags openssh-server busybox-static procps zsh chromium chromium-driver)
EXTRAS=test bash infra/bootstrap.sh
missing=()
for pkg in "${source_packages[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=(); [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
.venv/bin/ruff check infra components tests
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
