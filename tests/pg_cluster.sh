#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (CI and developers' machines alike).
#
#   tests/pg_cluster.sh start DIR   -> creates a cluster in DIR (unless there is one), starts it, prints its URL
#   tests/pg_cluster.sh stop DIR    -> stops it (the folder is left for the caller to remove; start restarts it
#                                      on the same port)
#
# The cluster runs as an unprivileged user (the current one, or `postgres` when run as root: initdb refuses
# root), listens only on a Unix socket in DIR and on 127.0.0.1 at a free port. Local socket connections are
# trusted (the tests' admin URL); TCP connections need a password (scram-sha-256), so the tests can check
# wrong credentials. Use the printed URL as BIOFEEDBACK_TEST_PG.
set -euo pipefail

cmd=${1:?usage: pg_cluster.sh start|stop DIR}
dir=${2:?usage: pg_cluster.sh start|stop DIR}

bindir=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bindir=$d; done
if [ -z "$bindir" ]; then bindir=$(dirname "$(command -v initdb)"); fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  chmod 700 "$dir"
  if [ ! -d "$dir/data" ]; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' >"$dir/port"
    pwfile="$dir/pw"
    echo "biofeedback-test" >"$pwfile"
    [ "$(id -u)" = 0 ] && chown postgres "$pwfile"
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  port=$(cat "$dir/port")
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  echo "postgresql://postgres@/postgres?host=$dir&port=$port"
  ;;
stop)
  if [ -d "$dir/data" ]; then as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true; fi
  ;;
*)
  echo "usage: pg_cluster.sh start|stop DIR" >&2; exit 2
  ;;
esac
