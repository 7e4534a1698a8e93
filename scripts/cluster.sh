#!/usr/bin/env bash
# `make cluster`: the scale-out topology on one machine (docs/SCALING.md): two API replicas
# and two workers (TSTV_ROLE) on the local PostgreSQL, nginx in front as the segment CDN (:8081) and
# the API's load balancer (:8000, proxy_next_upstream). Ctrl-C stops everything.
#
# Try a failure: `kill -9 $(cat var/cluster/api-1.pid)` or `kill -9 $(cat var/cluster/worker-1.pid)`
# while a programme plays on http://localhost:8000; the other replica answers, the other worker
# takes the encoders over within seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/bootstrap.sh" nginx-light
bash "$here/scripts/build_web.sh"
export PATH="$HOME/.local/bin:$PATH"

state="$here/var/cluster"
mkdir -p "$state/hls"
pg_server="${CLUSTER_PG_SERVER:-postgresql://postgres@127.0.0.1:5432}"
db_name="${CLUSTER_DATABASE:-tstv_cluster}"
if ! psql "$pg_server/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1; then
  echo "[cluster] creating database $db_name" >&2
  psql "$pg_server/postgres" -qc "CREATE DATABASE $db_name"
fi
# One signing secret for every replica (a token from one is valid on the others), kept across runs.
[ -s "$state/jwt_secret" ] || python3 -c 'import secrets; print(secrets.token_hex(32))' > "$state/jwt_secret"

export DATABASE_URL="$pg_server/$db_name"
export JWT_SECRET="$(cat "$state/jwt_secret")"
export HLS_SEGMENT_DIR="$state/hls"
export CDN_BASE_URL="${CDN_BASE_URL:-http://{host}:8081/hls}"

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo "[cluster] stopping" >&2
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

start() {  # name role port [extra env...]
  local name=$1 role=$2 port=$3
  shift 3
  # The venv's python itself (bootstrap synced it), not `uv run`: the pid file must be the
  # process a person kills to try a failure (`uv run` would leave its child running, orphaned).
  (cd "$here/backend" && exec env TSTV_ROLE="$role" PORT="$port" "$@" \
    "$here/backend/.venv/bin/python" -m app.launcher) > "$state/$name.log" 2>&1 &
  pids+=($!)
  echo $! > "$state/$name.pid"
}

start worker-1 worker 8101 TSTV_WORKER_ID=w1
start worker-2 worker 8102 TSTV_WORKER_ID=w2
start api-1 api 8001
start api-2 api 8002

(cd "$here/backend" && uv run --frozen python -m app.services.archive.cdn_config --write \
  --archive "$state/hls" --prefix "$state/cdn" --host 0.0.0.0 --port 8081 \
  --api 127.0.0.1:8001 --api 127.0.0.1:8002 --api-listen 0.0.0.0:8000) > /dev/null
nginx -p "$state/cdn" -c "$state/cdn/nginx.conf" > "$state/nginx.log" 2>&1 &
pids+=($!)
echo $! > "$state/nginx.pid"

python3 - <<'PY'
import sys, time, urllib.request
ports = {"worker-1": 8101, "worker-2": 8102, "api-1": 8001, "api-2": 8002, "balancer": 8000}
deadline = time.monotonic() + 180
for name, port in ports.items():
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            break
        except Exception:
            if time.monotonic() > deadline:
                sys.exit(f"[cluster] {name} did not come up: see var/cluster/{name}.log")
            time.sleep(0.5)
PY
cat >&2 <<MSG
[cluster] up: http://localhost:8000 (nginx -> api-1 :8001, api-2 :8002), segments on :8081,
          workers :8101 and :8102 (/healthz, /metrics). Logs and pids in var/cluster/.
          Operator console: http://localhost:8000/admin. Ctrl-C stops the cluster.
MSG
wait -n "${pids[@]}" || true
echo "[cluster] a process exited; the others keep running until Ctrl-C" >&2
wait
