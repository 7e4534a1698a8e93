#!/usr/bin/env bash
# `make test-fast`: the backend's linters and the first two test tiers, tests/unit and tests/api
# (`-m "unit or api"`: the app in-process on PostgreSQL, no FFmpeg, nginx or browser), for the
# edit-and-test loop; `make test` runs every tier. Arguments go to pytest (`-k guide`, `-x`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/bootstrap.sh"
export PATH="$HOME/.local/bin:$PATH"

source "$here/scripts/test_database.sh"

# tests/api/test_api_client.py runs the web app's client generator (frontend npm packages).
if [ ! -x "$here/frontend/node_modules/.bin/openapi-typescript" ]; then
  echo "[setup] installing web app npm packages" >&2
  (cd "$here/frontend" && npm ci --no-audit --no-fund --loglevel=error)
fi

cd "$here/backend"
echo "== ruff" && uv run --frozen ruff check . && uv run --frozen ruff format --check .
echo "== pytest (unit, api)"
uv run --frozen pytest -p no:cacheprovider -m "unit or api" --durations=5 "$@"
