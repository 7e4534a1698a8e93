#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster (installing the server binaries when missing) and prints
# `export TEST_DATABASE_URL=...` for the caller to eval. The cluster lives in a temp dir and is
# stopped by the trap the caller's shell inherits when it exits.
set -euo pipefail
log() { printf '[setup] %s\n' "$*" >&2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  bash "$(dirname "$0")/bootstrap.sh" postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
fi
dir=$(mktemp -d /tmp/tstv-pg.XXXXXX)
port=55432
run_as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir" 2>/dev/null || { id tstvpg >/dev/null 2>&1 || useradd -r tstvpg; chown tstvpg "$dir"; }
  owner=$(stat -c %U "$dir")
  run_as=(runuser -u "$owner" --)
fi
log "starting a throwaway PostgreSQL cluster in $dir on port $port"
"${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
"${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -l "$dir/log" -w start >/dev/null
echo "export TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:$port/postgres"
echo "trap '${run_as[*]} $bin/pg_ctl -D $dir/data -m fast stop >/dev/null; rm -rf $dir' EXIT"
