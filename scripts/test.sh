#!/usr/bin/env bash
# `make test`: set everything up, then run linters, type checks and every test on PostgreSQL.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/bootstrap.sh" nginx-light chromium
export PATH="$HOME/.local/bin:$PATH"

source "$here/scripts/test_database.sh"

# The player the browser tests load (Shaka Player from npm).
if [ ! -d "$here/e2e/node_modules/shaka-player" ]; then
  echo "[setup] installing e2e npm packages" >&2
  (cd "$here/e2e" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The web app: installed and built (the browser tests drive the build the backend serves).
bash "$here/scripts/build_web.sh"

# The static checks, three at a time (each is mostly one busy core): each one's output is printed
# whole once all have ended, and any failure stops here, before the tests.
checks="$(mktemp -d)"
started=$SECONDS
(cd "$here/frontend" && echo "== eslint" && npx eslint --max-warnings=0 . && echo "== tsc" \
  && npm run --silent typecheck) >"$checks/web" 2>&1 &
web=$!
(cd "$here/frontend" && echo "== vitest" && npx vitest run) >"$checks/vitest" 2>&1 &
vitest=$!
(cd "$here/backend" && echo "== ruff" && uv run --frozen ruff check . && uv run --frozen ruff format --check . \
  && echo "== mypy" && uv run --frozen mypy app tests bench) >"$checks/python" 2>&1 &
python=$!
failed=0
for job in "$web:web" "$vitest:vitest" "$python:python"; do
  wait "${job%%:*}" || failed=1
  cat "$checks/${job#*:}"
done
rm -rf "$checks"
echo "== static checks: $((SECONDS - started)) s"
[ "$failed" = 0 ] || exit 1

cd "$here/backend"
echo "== pytest"
# Every tier (tests/unit, api, media, web, cluster; `make test-fast` runs the first two). Four
# modules at a time (pytest-xdist; a module's tests stay together on one worker, the longest
# modules start first: tests/conftest.py): much of a browser or cluster module's time is spent
# waiting for programmes to air, not on the CPU (with three, the cores were a quarter idle). test_first_run measures what a first start's load
# leaves to a viewer, so it runs alone, after them. The 15 slowest steps are printed: the whole
# command must stay within 12 minutes on 2 cores.
if [ $# -gt 0 ]; then
  uv run --frozen pytest -p no:cacheprovider --durations=15 "$@"
  exit
fi
# How busy the cores were while the modules ran side by side (from /proc/stat): a batch that
# leaves them idle is waiting on the clock and could run more modules at once.
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
rc=0
started=$SECONDS
read -r busy0 all0 < <(busy)
uv run --frozen pytest -p no:cacheprovider -n 4 --dist loadfile --no-loadscope-reorder --durations=15 \
  --ignore=tests/web/test_first_run.py || rc=$?
read -r busy1 all1 < <(busy)
echo "== tests side by side: $((SECONDS - started)) s, cores busy $(( 100 * (busy1 - busy0) / (all1 - all0 + 1) )) %"
started=$SECONDS
uv run --frozen pytest -p no:cacheprovider --durations=3 tests/web/test_first_run.py || rc=$?
echo "== first-run test: $((SECONDS - started)) s; make test in all: $SECONDS s"
exit "$rc"
