#!/usr/bin/env bash
# A throwaway PostgreSQL for tests: scripts/pg.sh start|stop|url|status
#
#   start   init (first time) and start a server on 127.0.0.1:$PGPORT; idempotent, silent unless it fails
#   stop    stop it (fast mode) and delete its data folder
#   url     print the SQLAlchemy URL, e.g. HEADRACE_TEST_PG_URL=$(scripts/pg.sh url)
#   status  exit 0 when it is running
#
# Env: PGPORT (default 55432), PGDATA (default /tmp/headrace-pg-$PGPORT). The server runs as the
# `postgres` user (it refuses root): run this as root, or as a user with sudo. Installs the
# `postgresql` Debian package when no /usr/lib/postgresql/*/bin exists. Durability is off
# (fsync=off): tests only.
set -euo pipefail

PGPORT=${PGPORT:-55432}
PGDATA=${PGDATA:-/tmp/headrace-pg-$PGPORT}

die() { echo "pg.sh: $*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo -n); fi

pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

ensure_installed() {
    if [ -z "$(pg_bin)" ]; then
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
            || die "apt-get install postgresql failed"
        [ -n "$(pg_bin)" ] || die "postgresql installed but no /usr/lib/postgresql/*/bin found"
    fi
}

as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    elif [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        sudo -n -u postgres -- "$@"
    fi
}

# The data folder is mode 700 and owned by postgres: look inside it as postgres.
has_cluster() {
    as_postgres test -f "$PGDATA/PG_VERSION" 2>/dev/null
}

is_running() {
    local bin
    bin=$(pg_bin)
    [ -n "$bin" ] && has_cluster && as_postgres "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

start() {
    ensure_installed
    is_running && return 0
    local bin
    bin=$(pg_bin)
    if ! has_cluster; then
        "${SUDO[@]}" rm -rf "$PGDATA"
        "${SUDO[@]}" install -d -o postgres -g postgres -m 700 "$PGDATA"
        as_postgres "$bin/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
            >/dev/null 2>"$PGDATA.initdb.err" || { cat "$PGDATA.initdb.err" >&2; die "initdb failed"; }
        rm -f "$PGDATA.initdb.err"
    fi
    as_postgres "$bin/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || {
        "${SUDO[@]}" tail -20 "$PGDATA/server.log" >&2 || true
        die "the server did not start (port $PGPORT in use?)"
    }
}

stop() {
    local bin
    bin=$(pg_bin)
    if [ -n "$bin" ] && is_running; then
        as_postgres "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    fi
    "${SUDO[@]}" rm -rf "$PGDATA"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) echo "postgresql+psycopg://postgres@127.0.0.1:$PGPORT/postgres" ;;
    status) is_running ;;
    *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac
