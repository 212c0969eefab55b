#!/usr/bin/env bash
# Makes a PostgreSQL server available for the tests and prints its URL on stdout.
#
# Reuses a server that already answers at the URL; otherwise installs PostgreSQL from
# Debian's packages if it is missing, and starts a throwaway cluster on 127.0.0.1 in a
# temporary folder (as the `postgres` user when run as root: initdb refuses root).
#
#   export KEYGATE_TEST_DATABASE_URL=$(.ci/postgres.sh)
#   .ci/postgres.sh stop      # stops the throwaway cluster
set -euo pipefail

port=${KEYGATE_PG_PORT:-55432}
dir=${KEYGATE_PG_DIR:-/tmp/keygate-pg}
url="postgres://keygate:keygate@127.0.0.1:${port}/keygate_test"

log() { printf '%s\n' "$*" >&2; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

find_bindir() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$found" ] && [ -x "$found/initdb" ]; then
    printf '%s\n' "$found"
  fi
}

if [ "${1:-}" = stop ]; then
  bindir=$(find_bindir)
  if [ -n "$bindir" ] && [ -d "$dir/data" ]; then
    as_postgres "$bindir/pg_ctl" -D "$dir/data" -m fast stop >&2 || true
  fi
  exit 0
fi

if command -v psql >/dev/null && psql "$url" -Atqc 'select 1' >/dev/null 2>&1; then
  log "postgres: reusing the server at 127.0.0.1:${port}"
  printf '%s\n' "$url"
  exit 0
fi

bindir=$(find_bindir)
if [ -z "$bindir" ]; then
  log "postgres: installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bindir=$(find_bindir)
fi
if [ -z "$bindir" ]; then
  log "postgres: no initdb found after installing; cannot start a server"
  exit 1
fi

if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir "$dir" --shell /usr/sbin/nologin postgres
fi

log "postgres: starting a throwaway cluster in $dir on port $port ($bindir)"
if [ -d "$dir/data" ]; then
  as_postgres "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
fi
rm -rf "$dir"
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
as_postgres "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >&2

admin=(psql -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -Atq)
"${admin[@]}" -c "create role keygate login password 'keygate'"
"${admin[@]}" -c "create database keygate_test owner keygate"
printf '%s\n' "$url"
