#!/usr/bin/env bash
# The scale-out stack on one machine, from Debian packages (no containers):
#
#   bash scripts/stack.sh up        start everything and print its URLs
#   bash scripts/stack.sh status    say what runs (HAProxy's view of each node, replica lag)
#   bash scripts/stack.sh down      stop everything (the data stays in $STACK_DIR)
#   bash scripts/stack.sh kill-node N / start-node N    kill (SIGKILL) or start app node N
#
# Parts (ports can be changed by the environment variables named):
#   PostgreSQL primary   127.0.0.1:$PRIMARY_PORT (5442)  a cluster of its own in $STACK_DIR/pg-primary
#   PostgreSQL replica   127.0.0.1:$REPLICA_PORT (5443)  streaming replica (pg_basebackup -R), hot standby
#   PgBouncer            127.0.0.1:$PGBOUNCER_PORT (6442) transaction pooling in front of the primary
#   Redis                127.0.0.1:$REDIS_PORT (6392)    sessions, rate limits (and the job queue)
#   app nodes            127.0.0.1:8101, 8102, ...       gunicorn, $NODES of them (2), $WEB_CONCURRENCY workers each
#   HAProxy              http://127.0.0.1:$HAPROXY_PORT (8100), stats on $HAPROXY_STATS_PORT (8199)
#   job workers          $JOB_WORKERS (1) of `flask --app survey_app $JOB_WORKER_COMMAND`, when the app has that command
#
# Needs: apt-get install haproxy pgbouncer postgresql-15 redis-server; run as root (the
# PostgreSQL clusters and PgBouncer run as the postgres user). Separate from any
# PostgreSQL or Redis already on the machine: other ports, other data directories.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
STACK_DIR="${STACK_DIR:-/tmp/survey-stack}"
PRIMARY_PORT="${PRIMARY_PORT:-5442}"
REPLICA_PORT="${REPLICA_PORT:-5443}"
PGBOUNCER_PORT="${PGBOUNCER_PORT:-6442}"
REDIS_PORT="${REDIS_PORT:-6392}"
HAPROXY_PORT="${HAPROXY_PORT:-8100}"
HAPROXY_STATS_PORT="${HAPROXY_STATS_PORT:-8199}"
NODES="${NODES:-2}"
NODE_BASE_PORT="${NODE_BASE_PORT:-8100}"
WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}"
JOB_WORKERS="${JOB_WORKERS:-1}"
JOB_WORKER_COMMAND="${JOB_WORKER_COMMAND:-worker}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
VENV="${VENV:-$ROOT/.venv}"

say() { printf '%s\n' "$*"; }
fail() { printf 'stack: %s\n' "$*" >&2; exit 1; }
as_pg() { runuser -u postgres -- "$@"; }
node_port() { echo $((NODE_BASE_PORT + $1)); }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
wait_http() {  # URL, seconds
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

app_env() {
  local secret extra=() name
  secret="$(cat "$STACK_DIR/secret")"
  # What `up` was given stays for nodes started later (start-node) from another shell.
  # shellcheck disable=SC1091
  [ -f "$STACK_DIR/app.env" ] && . "$STACK_DIR/app.env"
  # Passed on when set (benchmarks/morning.py: BENCHMARK_ENDPOINTS=1, CODE_ATTEMPT_LIMIT=...).
  for name in BENCHMARK_ENDPOINTS CODE_ATTEMPT_LIMIT RATELIMIT_ENABLED GUNICORN_THREADS; do
    [ -n "${!name:-}" ] && extra+=("$name=${!name}")
  done
  env SURVEY_ENV=production SECRET_KEY="$secret" ${extra[@]+"${extra[@]}"} \
    DATABASE_URL="postgresql://postgres@127.0.0.1:$PGBOUNCER_PORT/survey" DATABASE_TRANSACTION_POOLING=1 \
    REPORTS_DATABASE_URL="postgresql://postgres@127.0.0.1:$REPLICA_PORT/survey" \
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" TRUSTED_PROXIES=1 SESSION_COOKIE_SECURE=0 \
    DATABASE_POOL_SIZE="${DATABASE_POOL_SIZE:-8}" WEB_CONCURRENCY="$WEB_CONCURRENCY" "$@"
}

start_primary() {
  local data="$STACK_DIR/pg-primary"
  if [ ! -s "$data/PG_VERSION" ]; then
    say "==> initdb primary ($data)"
    as_pg "$PGBIN/initdb" -D "$data" -A trust -U postgres >/dev/null
    cat >> "$data/postgresql.conf" <<CONF
port = $PRIMARY_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$STACK_DIR/run'
wal_level = replica
max_wal_senders = 5
wal_keep_size = 256MB
max_connections = 100
shared_buffers = 256MB
synchronous_commit = on
CONF
  fi
  as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1 \
    || as_pg "$PGBIN/pg_ctl" -D "$data" -l "$STACK_DIR/pg-primary.log" -w start >/dev/null
  as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -Atqc "SELECT 1 FROM pg_database WHERE datname='survey'" \
    | grep -q 1 || as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres survey
}

start_replica() {
  local data="$STACK_DIR/pg-replica"
  if [ ! -s "$data/PG_VERSION" ]; then
    say "==> pg_basebackup replica ($data)"
    as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$data" -R -X stream
    cat >> "$data/postgresql.conf" <<CONF
port = $REPLICA_PORT
hot_standby = on
hot_standby_feedback = on
CONF
  fi
  as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1 \
    || as_pg "$PGBIN/pg_ctl" -D "$data" -l "$STACK_DIR/pg-replica.log" -w start >/dev/null
}

start_redis() {
  mkdir -p "$STACK_DIR/redis"
  alive "$STACK_DIR/redis.pid" || redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
    --dir "$STACK_DIR/redis" --pidfile "$STACK_DIR/redis.pid" --logfile "$STACK_DIR/redis.log" --save "" >/dev/null
}

start_pgbouncer() {
  sed -e "s#@STACK_DIR@#$STACK_DIR#g" -e "s#@PRIMARY_PORT@#$PRIMARY_PORT#g" -e "s#@PGBOUNCER_PORT@#$PGBOUNCER_PORT#g" \
    deploy/pgbouncer.ini.in > "$STACK_DIR/pgbouncer.ini"
  echo '"postgres" ""' > "$STACK_DIR/pgbouncer-users.txt"
  chown postgres "$STACK_DIR/pgbouncer.ini" "$STACK_DIR/pgbouncer-users.txt"
  alive "$STACK_DIR/pgbouncer.pid" || as_pg pgbouncer -d -q "$STACK_DIR/pgbouncer.ini"
}

start_node() {
  local n="$1" port
  port="$(node_port "$n")"
  alive "$STACK_DIR/node$n.pid" && return 0
  app_env BIND="127.0.0.1:$port" "$VENV/bin/gunicorn" -c gunicorn.conf.py --daemon --pid "$STACK_DIR/node$n.pid" \
    --error-logfile "$STACK_DIR/node$n.log" --capture-output
  wait_http "http://127.0.0.1:$port/healthz" 30 || fail "node $n did not answer /healthz (see $STACK_DIR/node$n.log)"
}

start_haproxy() {
  local lines="" n
  for ((n = 1; n <= NODES; n++)); do
    lines+="    server node$n 127.0.0.1:$(node_port "$n") check"$'\n'
  done
  awk -v nodes="$lines" '{ if ($0 == "@NODE_LINES@") printf "%s", nodes; else print }' deploy/haproxy.cfg.in \
    | sed -e "s#@STACK_DIR@#$STACK_DIR#g" -e "s#@HAPROXY_PORT@#$HAPROXY_PORT#g" \
          -e "s#@HAPROXY_STATS_PORT@#$HAPROXY_STATS_PORT#g" > "$STACK_DIR/haproxy.cfg"
  haproxy -c -q -f "$STACK_DIR/haproxy.cfg" || fail "haproxy.cfg is not valid"
  alive "$STACK_DIR/haproxy.pid" || haproxy -D -f "$STACK_DIR/haproxy.cfg"
  wait_http "http://127.0.0.1:$HAPROXY_PORT/healthz" 20 || fail "HAProxy did not pass /healthz through"
}

start_workers() {
  if ! app_env "$VENV/bin/flask" --app survey_app "$JOB_WORKER_COMMAND" --help >/dev/null 2>&1; then
    say "    job workers: none (this build has no \`flask $JOB_WORKER_COMMAND\` command; long exports run in the web workers)"
    return 0
  fi
  local w
  for ((w = 1; w <= JOB_WORKERS; w++)); do
    alive "$STACK_DIR/worker$w.pid" && continue
    app_env nohup "$VENV/bin/flask" --app survey_app "$JOB_WORKER_COMMAND" >> "$STACK_DIR/worker$w.log" 2>&1 &
    echo $! > "$STACK_DIR/worker$w.pid"
  done
}

urls() {
  say ""
  say "The app (through HAProxy):  http://127.0.0.1:$HAPROXY_PORT/   staff: http://127.0.0.1:$HAPROXY_PORT/staff/"
  say "HAProxy stats:              http://127.0.0.1:$HAPROXY_STATS_PORT/"
  for ((n = 1; n <= NODES; n++)); do say "App node $n:                 http://127.0.0.1:$(node_port "$n")/healthz"; done
  say "PgBouncer (transaction):    postgresql://postgres@127.0.0.1:$PGBOUNCER_PORT/survey"
  say "PostgreSQL primary:         postgresql://postgres@127.0.0.1:$PRIMARY_PORT/survey"
  say "PostgreSQL replica:         postgresql://postgres@127.0.0.1:$REPLICA_PORT/survey (REPORTS_DATABASE_URL)"
  say "Redis:                      redis://127.0.0.1:$REDIS_PORT/0"
  say "State and logs:             $STACK_DIR"
}

up() {
  [ "$(id -u)" = 0 ] || fail "run as root (the clusters run as the postgres user)"
  local name
  for tool in haproxy pgbouncer redis-server curl "$PGBIN/initdb"; do
    command -v "$tool" >/dev/null || fail "$tool not found: apt-get install haproxy pgbouncer postgresql-15 redis-server curl"
  done
  [ -x "$VENV/bin/gunicorn" ] || fail "$VENV/bin/gunicorn not found (scripts/setup.sh)"
  mkdir -p "$STACK_DIR/run"
  chown postgres "$STACK_DIR" "$STACK_DIR/run"
  [ -s "$STACK_DIR/secret" ] || "$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(32))' > "$STACK_DIR/secret"
  chmod 600 "$STACK_DIR/secret"
  : > "$STACK_DIR/app.env"
  for name in BENCHMARK_ENDPOINTS CODE_ATTEMPT_LIMIT RATELIMIT_ENABLED GUNICORN_THREADS; do
    [ -n "${!name:-}" ] && printf '%s=%q\n' "$name" "${!name}" >> "$STACK_DIR/app.env"
  done
  say "==> PostgreSQL primary :$PRIMARY_PORT";   start_primary
  say "==> PostgreSQL replica :$REPLICA_PORT";   start_replica
  say "==> Redis :$REDIS_PORT";                  start_redis
  say "==> PgBouncer :$PGBOUNCER_PORT";          start_pgbouncer
  say "==> flask db upgrade (on the primary)"
  app_env DATABASE_URL="postgresql://postgres@127.0.0.1:$PRIMARY_PORT/survey" "$VENV/bin/flask" --app survey_app db upgrade \
    >> "$STACK_DIR/migrate.log" 2>&1 || fail "migration failed (see $STACK_DIR/migrate.log)"
  for ((n = 1; n <= NODES; n++)); do say "==> app node $n :$(node_port "$n")"; start_node "$n"; done
  say "==> HAProxy :$HAPROXY_PORT";              start_haproxy
  say "==> job workers";                          start_workers
  urls
}

stop_pid() {  # pidfile, name
  if alive "$1"; then
    kill "$(cat "$1")" 2>/dev/null || true
    for _ in $(seq 50); do alive "$1" || break; sleep 0.1; done
    say "stopped $2"
  fi
  rm -f "$1"
}

down() {
  for f in "$STACK_DIR"/worker*.pid; do [ -e "$f" ] && stop_pid "$f" "$(basename "$f" .pid)"; done
  stop_pid "$STACK_DIR/haproxy.pid" haproxy
  for f in "$STACK_DIR"/node*.pid; do [ -e "$f" ] && stop_pid "$f" "$(basename "$f" .pid)"; done
  stop_pid "$STACK_DIR/pgbouncer.pid" pgbouncer
  stop_pid "$STACK_DIR/redis.pid" redis
  for c in pg-replica pg-primary; do
    [ -s "$STACK_DIR/$c/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$STACK_DIR/$c" -m fast stop >/dev/null 2>&1 \
      && say "stopped $c"
  done
  return 0
}

status() {
  local state
  for ((n = 1; n <= NODES; n++)); do
    state=down; alive "$STACK_DIR/node$n.pid" && state="running (pid $(cat "$STACK_DIR/node$n.pid"))"
    say "app node $n  :$(node_port "$n")  $state"
  done
  for part in haproxy pgbouncer redis; do
    state=down; alive "$STACK_DIR/$part.pid" && state=running
    say "$part  $state"
  done
  for c in pg-primary pg-replica; do
    state=down; as_pg "$PGBIN/pg_ctl" -D "$STACK_DIR/$c" status >/dev/null 2>&1 && state=running
    say "$c  $state"
  done
  if curl -fsS --max-time 2 "http://127.0.0.1:$HAPROXY_STATS_PORT/;csv" -o "$STACK_DIR/stats.csv" 2>/dev/null; then
    say "HAProxy's view:"; awk -F, '$1 == "app_nodes" && $2 != "BACKEND" { printf "  %s %s\n", $2, $18 }' "$STACK_DIR/stats.csv"
  fi
  local lag
  lag="$(as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d survey -Atqc \
    "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 ELSE round(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::numeric, 1) END" 2>/dev/null || echo '?')"
  say "replica lag: ${lag} s"
  urls
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  kill-node) alive "$STACK_DIR/node${2:?node number}.pid" || fail "node $2 is not running"
             pkill -KILL -P "$(cat "$STACK_DIR/node$2.pid")" || true; kill -KILL "$(cat "$STACK_DIR/node$2.pid")"
             rm -f "$STACK_DIR/node$2.pid"; say "killed node $2" ;;
  start-node) start_node "${2:?node number}"; say "started node $2 on :$(node_port "$2")" ;;
  *) echo "usage: bash scripts/stack.sh up|down|status|kill-node N|start-node N" >&2; exit 2 ;;
esac
