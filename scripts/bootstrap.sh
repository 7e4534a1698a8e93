#!/usr/bin/env bash
# Installs what the platform needs on a fresh Debian machine with Python 3.11 and Node 20:
# uv, the backend's locked Python packages, and any Debian packages named as arguments that
# are missing (for example nginx-light, chromium). Safe to run again: it only fills gaps.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || { log "apt-get not found; please install: ${missing[*]}"; return 1; }
  if [ $apt_updated = 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq || return 1
    apt_updated=1
  fi
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_uv() {
  export PATH="$HOME/.local/bin:$PATH"
  if ! command -v uv >/dev/null; then
    log "installing uv from PyPI"
    python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  fi
}

ensure_uv
for pkg in "$@"; do
  apt_install "$pkg" || log "could not install $pkg (continuing without it)"
done
log "syncing backend Python packages"
(cd "$here/backend" && uv sync --frozen --quiet)
