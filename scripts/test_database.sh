# Sourced by scripts/test.sh and scripts/test_fast.sh: the PostgreSQL server the tests make their
# throwaway databases on. TEST_DATABASE_URL, else the local one, else a throwaway cluster (stopped
# when the sourcing shell exits).
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
