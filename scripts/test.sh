#!/usr/bin/env bash
# `make test`: set everything up, then run linters, type checks and every test on PostgreSQL.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/bootstrap.sh" nginx-light chromium
export PATH="$HOME/.local/bin:$PATH"

# A PostgreSQL server for the tests: TEST_DATABASE_URL, else the local one, else a throwaway cluster.
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  if ! python3 - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(2)
sys.exit(0 if s.connect_ex(("127.0.0.1", 5432)) == 0 else 1)
PY
  then
    eval "$(bash "$here/scripts/throwaway_postgres.sh")"
  fi
fi

# The player the browser tests load (Shaka Player from npm).
if [ ! -d "$here/e2e/node_modules/shaka-player" ]; then
  echo "[setup] installing e2e npm packages" >&2
  (cd "$here/e2e" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The web app: installed and built (the browser tests drive the build the backend serves).
bash "$here/scripts/build_web.sh"
(
  cd "$here/frontend"
  echo "== eslint" && npx eslint --max-warnings=0 .
  echo "== tsc" && npm run --silent typecheck
  echo "== vitest" && npx vitest run
)

cd "$here/backend"
echo "== ruff" && uv run --frozen ruff check . && uv run --frozen ruff format --check .
echo "== mypy" && uv run --frozen mypy app tests bench
echo "== pytest"
# The 15 slowest steps are printed: the whole command must stay within 30 minutes on 2 cores.
uv run --frozen pytest -p no:cacheprovider --durations=15 "$@"
