#!/usr/bin/env bash
# pg-sync.sh: sync ingest on PostgreSQL with one node and with two nodes,
# beside the default bbolt store, rep by rep in one run. Every case is a
# fresh store and the same choso-sim ingest (64 phones, 50-event batches,
# --wire, device auth, gzip, every rule, fsync on: PostgreSQL runs with
# fsync and synchronous_commit on, as choso demands). In the two-node case
# the phones are spread over both nodes, which share the database.
#
# usage: bash bench/pg-sync.sh [reps=3] [events_per_phone=1000]
# Environment:
#   PROFILE=DIR   CPU profiles of the nodes (DIR/CASE-REP-NODE.prof) and
#                 PostgreSQL's busiest statements (DIR/CASE-REP-statements.txt)
#   PGBIN=DIR     initdb and pg_ctl (default: Debian's newest /usr/lib/postgresql/N/bin)
# Needs Debian's postgresql package and jq. Loopback only; as root the
# database runs as the postgres user.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-3}; N=${2:-1000}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
W=$(mktemp -d); chmod 755 "$W"; OUT=$W/out
PGDATA=$W/pg; PGPORT=15432
AS=(); [ "$(id -u)" = 0 ] && AS=(runuser -u postgres --)
cleanup() { "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup EXIT
go build -o "$W/choso" ./cmd/choso
go build -o "$W/choso-sim" ./cmd/choso-sim
mkdir -p "$PGDATA"; [ ${#AS[@]} -gt 0 ] && chown postgres "$PGDATA"
"${AS[@]}" "$PGBIN/initdb" -D "$PGDATA" -U choso --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = ''
max_connections = 200
shared_buffers = 512MB
shared_preload_libraries = 'pg_stat_statements'
CONF
"${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/log" -w start >/dev/null
PSQL=$PGBIN/psql; [ -x "$PSQL" ] || PSQL=psql
psql() { "$PSQL" -X -h 127.0.0.1 -p $PGPORT -U choso "$@"; }
export CHOSO_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD), $("$PGBIN/postgres" --version)"

# node CASE REP I STORE PORT: start one choso node, echo its pid.
node() {
  local c=$1 r=$2 i=$3 store=$4 port=$5 prof=
  [ -n "${PROFILE:-}" ] && { mkdir -p "$PROFILE"; prof=$(realpath "$PROFILE")/$c-$r-$i.prof; }
  mkdir -p "$W/$c-$i"
  CHOSO_CPU_PROFILE=$prof "$W/choso" --data "$W/$c-$i" --addr 127.0.0.1:$port --push-limit off \
    --trusted-proxies 127.0.0.1/32 --store "$store" >"$W/$c-$i/log" 2>&1 &
  echo $!
}
wait_up() { for _ in $(seq 200); do curl -fs "http://127.0.0.1:$1/healthz" >/dev/null && return; sleep 0.1; done; echo "node on $1 did not start" >&2; exit 1; }

# run CASE REP: a fresh store, its nodes, the simulator through them.
run() {
  local c=$1 r=$2 store servers pids=() pw
  rm -rf "$W/$c-"*
  case $c in
    bolt) store=bolt:$W/$c-1/choso.db ;;
    *) psql -d postgres -qc "DROP DATABASE IF EXISTS bench" -qc "CREATE DATABASE bench" >/dev/null
       psql -d bench -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
       store="postgres://choso@127.0.0.1:$PGPORT/bench" ;;
  esac
  pids+=("$(node "$c" "$r" 1 "$store" 18311)"); wait_up 18311
  servers=http://127.0.0.1:18311
  if [ "$c" = pg2 ]; then
    pids+=("$(node "$c" "$r" 2 "$store" 18312)"); wait_up 18312
    servers=$servers,http://127.0.0.1:18312
  fi
  pw=$(grep -h '"admin created"' "$W/$c-1/log" | sed 's/.*"password":"\([^"]*\)".*/\1/')
  [ "$c" != bolt ] && psql -d bench -qc "SELECT pg_stat_statements_reset()" >/dev/null
  "$W/choso-sim" --server "$servers" --user admin --password "$pw" --mode ingest --phones 64 --batch 50 \
     --events-per-phone "$N" --progress 0 --wire --json "$W/sim.json" >"$W/sim.log" 2>&1 || { echo "choso-sim failed ($c, rep $r)"; tail -5 "$W/sim.log"; }
  if [ -n "${PROFILE:-}" ] && [ "$c" != bolt ]; then
    psql -d bench -c "SELECT calls, round(total_exec_time) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms, left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
      FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15" >"$PROFILE/$c-$r-statements.txt" 2>&1 || true
  fi
  kill -INT "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
  echo "rep=$r case=$c nodes=${#pids[@]} $(jq -r '"rec_s=\(.events_per_sec|floor) p50_ms=\(.p50_ms) p99_ms=\(.p99_ms) verified=\(.verified)"' "$W/sim.json")" | tee -a "$OUT"
}

for r in $(seq "$R"); do
  for c in bolt pg1 pg2; do run "$c" "$r"; done
done
echo "--- summary (median [min-max]) over $R reps"
for c in bolt pg1 pg2; do grep " case=$c " "$OUT" | awk -v c="$c" -f ../shared/bench/summarize.awk; done
echo "--- paired ratios of records/s"
awk -v key=rec_s -v ref=bolt -f ../shared/bench/ratios.awk "$OUT"
awk -v key=rec_s -v ref=pg1 -f ../shared/bench/ratios.awk "$OUT" | grep '^ratio pg2'
