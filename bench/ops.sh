#!/usr/bin/env bash
# ops.sh: the cost of choso's middleware stack (request ID, JSON request log,
# metrics, recover, security headers, body limit) on GET /healthz, paired
# rep by rep with the shared harness's bare Echo v4 no-op (GET /health).
# usage: bash bench/ops.sh [seconds=5] [reps=3] [conns=64]
# Needs wrk (apt-get install -y wrk) and ../shared/bench beside the repo.
# Both servers listen on 127.0.0.1 only; every load is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-5}; R=${2:-3}; C=${3:-64}
SHARED=${SHARED:-../shared/bench}
BIN=$(mktemp -d)
DATA=$(mktemp -d)
go build -o "$BIN/choso" ./cmd/choso
(cd "$SHARED/echo-noop" && go build -o "$BIN/echo-noop" .)
"$BIN/echo-noop" -addr 127.0.0.1:18080 & NOOP=$!
"$BIN/choso" --data "$DATA" --addr 127.0.0.1:18082 2>/dev/null & CHOSO=$!
trap 'kill $NOOP $CHOSO 2>/dev/null || true; wait 2>/dev/null; rm -rf "$BIN" "$DATA"' EXIT
for u in http://127.0.0.1:18080/health http://127.0.0.1:18082/healthz; do
  for i in $(seq 100); do curl -sf -o /dev/null "$u" && break; sleep 0.1; done
  wrk -t2 -c16 -d1s "$u" >/dev/null   # warm-up
done
rps() { wrk -t2 -c"$C" -d"${D}s" --latency "$1" | awk '/Requests\/sec/ {r=$2} / 50%/ {p50=$2} / 99%/ {p99=$2} END {printf "rps=%s p50=%s p99=%s", r, p50, p99}'; }
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), conns=$C, ${D}s x $R reps"
for r in $(seq "$R"); do
  a=$(rps http://127.0.0.1:18080/health)
  b=$(rps http://127.0.0.1:18082/healthz)
  echo "rep=$r noop: $a | choso: $b" | tee -a "$BIN/out"
done
awk '{ split($3,a,"="); split($8,b,"="); printf "rep=%s ratio choso/noop = %.2f\n", NR, b[2]/a[2] }' "$BIN/out"
