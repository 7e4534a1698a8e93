#!/usr/bin/env bash
# Builds the web app (frontend/dist) for the backend to serve: `npm ci` when the lock file changed
# since the last install, `vite build` when a source changed since the last build. Safe to re-run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$here/frontend"
log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

command -v npm >/dev/null || { log "npm not found: install Node.js 20 (https://nodejs.org) and run again"; exit 1; }

fingerprint() { (cd "$web" && sha256sum "$@" | sha256sum | cut -d' ' -f1); }

installed="$web/node_modules/.tstv-lock"
lock=$(fingerprint package-lock.json)
if [ ! -f "$installed" ] || [ "$(cat "$installed")" != "$lock" ]; then
  log "installing web app npm packages"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock" > "$installed"
fi

built="$web/dist/.tstv-sources"
sources=$(cd "$web" && fingerprint package-lock.json index.html vite.config.ts tsconfig.json \
  $(find src public -type f | sort))
if [ -f "$built" ] && [ "$(cat "$built")" = "$sources" ] && [ -f "$web/dist/index.html" ]; then
  log "web app is up to date"
  exit 0
fi
log "building the web app"
(cd "$web" && npx vite build --logLevel warn)
echo "$sources" > "$built"
