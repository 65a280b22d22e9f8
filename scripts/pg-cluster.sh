#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: initdb in a temporary folder (as a non-root
# user: initdb refuses root), started on 127.0.0.1 on a free port, stopped and deleted by
# `stop`. Debian's packages (apt-get install postgresql) provide the binaries.
#
#   eval "$(scripts/pg-cluster.sh start)"   # exports MEMORABLE_TEST_PG_URL and PG_CLUSTER_DIR
#   scripts/pg-cluster.sh halt "$PG_CLUSTER_DIR"     # stop the server, keep the cluster
#   scripts/pg-cluster.sh resume "$PG_CLUSTER_DIR"   # start it again on the same port
#   scripts/pg-cluster.sh stop "$PG_CLUSTER_DIR"     # stop and delete
set -euo pipefail

bin_dir() {
  local initdb
  initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n "$initdb" ]] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
  dirname "$initdb"
}

# Run a command as the cluster's owner (ourselves unless we are root).
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    id memorable-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin memorable-pg
    runuser -u memorable-pg -- "$@"
  else
    "$@"
  fi
}

case "${1:-}" in
  start)
    bin=$(bin_dir)
    dir=$(mktemp -d /tmp/memorable-pg.XXXXXX)
    chmod 755 "$dir"
    [[ $(id -u) -eq 0 ]] && { as_owner true 2>/dev/null || true; chown memorable-pg "$dir"; }
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
    printf '%s\n' "$password" > "$dir/pwfile"
    [[ $(id -u) -eq 0 ]] && chown memorable-pg "$dir/pwfile"
    as_owner "$bin/initdb" -D "$dir/data" -U memorable --pwfile="$dir/pwfile" -A scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/pwfile"
    # TLS with a throwaway self-signed certificate, so clients that prefer TLS (MemoRable's
    # default, as libpq's) use it and `sslmode=require` is tested.
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
      -keyout "$dir/server.key" -out "$dir/server.crt" >/dev/null 2>&1
    chmod 600 "$dir/server.key"
    [[ $(id -u) -eq 0 ]] && chown memorable-pg "$dir/server.key" "$dir/server.crt"
    options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200 -c fsync=on -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
    printf '%s\n' "$options" > "$dir/options"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "$options" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "export MEMORABLE_TEST_PG_URL='postgres://memorable:$password@127.0.0.1:$port/postgres'"
    echo "export PG_CLUSTER_DIR='$dir'"
    ;;
  halt)
    dir="${2:?usage: pg-cluster.sh halt DIR}"
    as_owner "$(bin_dir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  resume)
    dir="${2:?usage: pg-cluster.sh resume DIR}"
    as_owner "$(bin_dir)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "$(cat "$dir/options")" start >/dev/null
    ;;
  stop)
    dir="${2:?usage: pg-cluster.sh stop DIR}"
    bin=$(bin_dir)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | halt DIR | resume DIR | stop DIR" >&2
    exit 2
    ;;
esac
