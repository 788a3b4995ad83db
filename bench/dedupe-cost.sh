#!/usr/bin/env bash
# dedupe-cost.sh: what the sync issue's global client-ID index costs the
# shared harness's own Echo+bbolt reference. Runs, rep by rep under wrk
# (64 connections, 50-record batches, the harness's sync50.lua):
#   echo     the harness's echo-bolt, as run-sync.sh runs it
#   noids    bench/refdedupe -ids=false: the same work (a control)
#   ids      bench/refdedupe: the same, plus a Get and a Put per record in a
#            global index of 16-byte client IDs (140-byte values), as
#            cross-device dedupe needs (SYNC.md §6.5)
#   issue    bench/refdedupe -perpush: ids, plus what the issue asks of each
#            push in the same transaction: the device's status, its day's
#            totals and a partner feed entry
# and prints each case's records/s and the paired ratios against echo.
# usage: bash bench/dedupe-cost.sh [reps=5] [seconds=4]
# Needs wrk; ../shared/bench beside the repo (SHARED=DIR to change). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-5}; D=${2:-4}
SHARED=$(realpath "${SHARED:-../shared/bench}")
BIN=$(mktemp -d); OUT=$BIN/out
(cd "$SHARED/echo-bolt" && go build -o "$BIN/echo-bolt" .)
go build -o "$BIN/refdedupe" ./bench/refdedupe
"$BIN/echo-bolt" -addr 127.0.0.1:18081 -db "$BIN/echo.db" & P1=$!
"$BIN/refdedupe" -addr 127.0.0.1:18083 -db "$BIN/noids.db" -ids=false & P2=$!
"$BIN/refdedupe" -addr 127.0.0.1:18084 -db "$BIN/ids.db" & P3=$!
"$BIN/refdedupe" -addr 127.0.0.1:18085 -db "$BIN/issue.db" -perpush & P4=$!
trap 'kill $P1 $P2 $P3 $P4 2>/dev/null || true; wait 2>/dev/null; rm -rf "$BIN"' EXIT
for port in 18081 18083 18084 18085; do
  for i in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/stats" && break; sleep 0.1; done
done
port() { case $1 in echo) echo 18081;; noids) echo 18083;; ids) echo 18084;; issue) echo 18085;; esac; }
load() { # case run-id seconds
  SYNC_MODE=echo SYNC_RUN=$2 SYNC_N=50 wrk -t2 -c64 -d"$3s" --timeout 10s -s "$SHARED/wrk/sync50.lua" \
    "http://127.0.0.1:$(port "$1")/sync" | grep '^RESULT'
}
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)"
for c in echo noids ids issue; do load "$c" "w$c" 2 >/dev/null; done # warm-up
for r in $(seq "$R"); do
  for c in echo noids ids issue; do echo "rep=$r case=$c $(load "$c" "$r$c" "$D")" | tee -a "$OUT"; done
done
echo "--- summary (median [min-max]) over $R reps"
for c in echo noids ids issue; do grep " case=$c " "$OUT" | awk -v c="$c" -f "$SHARED/summarize.awk"; done
awk -v key=rec_s -v ref=echo -f "$SHARED/ratios.awk" "$OUT"
for port in 18081 18083 18084 18085; do echo "stored on :$port $(curl -s "http://127.0.0.1:$port/stats")"; done
