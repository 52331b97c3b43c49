#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and examples/PostgresStreaming; .ci/run uses it too.
#
#   eval "$(tools/postgres.sh start)"        # installs PostgreSQL when missing (as root, apt-get), starts a server,
#                                            # exports MLNMB_POSTGRES (connection string) and MLNMB_POSTGRES_DIR
#   tools/postgres.sh stop "$MLNMB_POSTGRES_DIR"   # stops it and deletes its files
#
# The cluster lives in a new temporary directory, listens on a free port of 127.0.0.1 only, trusts local connections
# (user postgres, no password) and runs without fsync: it holds test data that is thrown away. PostgreSQL refuses to
# run as root, so under root (CI) it runs as the user postgres, created when absent. Only the export lines go to
# standard output; progress and errors go to standard error.
set -eEuo pipefail

log() { echo "postgres.sh: $*" >&2; }

find_bin_dir() {
    local dir
    for dir in "${MLNMB_POSTGRES_BIN:-}" /usr/lib/postgresql/*/bin; do
        if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb > /dev/null && command -v pg_ctl > /dev/null; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

install_postgres() {
    if [ "$(id -u)" != 0 ]; then
        log "PostgreSQL is not installed. Install it (Debian/Ubuntu: sudo apt-get install postgresql) or set MLNMB_POSTGRES_BIN to the directory holding initdb and pg_ctl."
        return 1
    fi
    log "installing PostgreSQL with apt-get"
    # No default cluster: this script makes its own, and the package's would start a second server on port 5432.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/mlnetminibatch.conf
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

# Runs a command as the user the server runs as: postgres under root, the caller otherwise.
as_server_user() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_is_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

start() {
    local bin dir port attempt
    bin="$(find_bin_dir)" || { install_postgres && bin="$(find_bin_dir)"; } || { log "no initdb found after installing"; return 1; }
    if [ "$(id -u)" = 0 ] && ! id postgres > /dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    dir="$(mktemp -d "${TMPDIR:-/tmp}/mlnmb-postgres.XXXXXX")"
    # Whatever fails from here on leaves nothing behind.
    trap 'as_server_user "$bin/pg_ctl" -D "$dir/data" -m immediate stop > /dev/null 2>&1 || true; rm -rf "$dir"' ERR
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    cd "$dir" # the server user may not be allowed into the caller's directory
    as_server_user "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C > "$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; false; }
    for attempt in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 40000))
        port_is_free "$port" || continue
        if as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start > /dev/null; then
            trap - ERR
            log "server running on 127.0.0.1:$port, files in $dir"
            echo "export MLNMB_POSTGRES='Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres'"
            echo "export MLNMB_POSTGRES_DIR='$dir'"
            return 0
        fi
        log "could not start on port $port (attempt $attempt); trying another"
    done
    tail -n 20 "$dir/server.log" >&2 || true
    false
}

stop() {
    local dir="${1:-${MLNMB_POSTGRES_DIR:-}}" bin
    [ -n "$dir" ] && [ -d "$dir" ] || { log "stop: no server directory given (pass \$MLNMB_POSTGRES_DIR)"; return 0; }
    if [ -f "$dir/data/postmaster.pid" ] && bin="$(find_bin_dir)"; then
        as_server_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null || log "pg_ctl stop failed; see $dir/server.log"
    fi
    rm -rf "$dir"
    log "stopped and removed $dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    *) echo "usage: eval \"\$(tools/postgres.sh start)\"  |  tools/postgres.sh stop DIR" >&2; exit 2 ;;
esac
