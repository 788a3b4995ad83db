#!/usr/bin/env bash
# sync.sh: choso's sync ingest side by side with the shared harness's
# Echo+bbolt reference and PocketBase batch API, rep by rep in one run.
# The harness drives its servers with wrk (64 connections, 50-record
# batches); choso-sim drives choso (64 phones, 50-event batches, device
# auth, gzip, the full apply rules, fsync on, --push-limit off).
# usage: bash bench/sync.sh [reps=3] [events_per_phone=2000] [extra choso-sim flags, e.g. --wire]
# --wire builds every push body before the timed window and sends it as is
# (as wrk does for the harness), so the figure is the server's; without it
# the simulator's own outboxes (bbolt, JSON, gzip) share the 2 cores.
# Environment:
#   BASE=REV      also run choso built from git revision REV (case choso-base),
#                 right after the current build in every rep: a paired before/after.
#   PROFILE=DIR   write the current build's CPU profile of each rep to DIR/cpu-REP.prof
#   CHOSO_GOGC=N  GOGC for the choso servers only (default: choso's own, 400; the harness's
#                 servers keep the default)
#   SHARED=DIR    the shared harness (default ../shared/bench)
#   HARNESS=off   skip the harness's servers: choso (and choso-base) alone, for more
#                 paired reps in the time
#   ISSUE=off     skip case issue: bench/refdedupe -perpush, the harness's reference
#                 plus the writes the sync issue requires of every push (a global
#                 client-ID index; a device status, day totals and a feed entry per
#                 push), driven by wrk like the reference (see bench/dedupe-cost.sh)
# Each choso line also gives the server's CPU time over the whole run (setup and
# verification included: the same for both builds), the server's over the
# timed window alone (window_cpu_ms, from its /metrics; --wire only) and the
# driver's over that window: on a shared machine steadier than records/s.
# Needs wrk, jq; ../shared/bench beside the repo. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-3}; N=${2:-2000}; EXTRA=${3:-}
SHARED=${SHARED:-../shared/bench}
BIN=$(mktemp -d); OUT=$BIN/out
trap 'rm -rf "$BIN"' EXIT
go build -o "$BIN/choso" ./cmd/choso
go build -o "$BIN/choso-sim" ./cmd/choso-sim
go build -o "$BIN/refdedupe" ./bench/refdedupe
CASES=choso
if [ -n "${BASE:-}" ]; then
  mkdir -p "$BIN/base"
  git archive "$BASE" | tar -x -C "$BIN/base"
  (cd "$BIN/base" && go build -o "$BIN/choso-base" ./cmd/choso)
  CASES="choso choso-base"
fi
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)${BASE:+, base $BASE}${CHOSO_GOGC:+, choso GOGC=$CHOSO_GOGC}"

# run_choso CASE REP: a fresh server of CASE's build, the simulator against it.
run_choso() {
  local c=$1 r=$2 DATA SRV PW
  DATA=$(mktemp -d)
  local prof=
  [ "$c" = choso ] && [ -n "${PROFILE:-}" ] && { mkdir -p "$PROFILE"; prof=$(realpath "$PROFILE")/cpu-$r.prof; }
  env ${CHOSO_GOGC:+GOGC=$CHOSO_GOGC} CHOSO_CPU_PROFILE=$prof "$BIN/$c" --data "$DATA" --addr 127.0.0.1:18300 --push-limit off --trusted-proxies 127.0.0.1/32 >"$DATA/log" 2>&1 & SRV=$!
  # The admin's password is logged before the listener is up: wait for the
  # server to answer, not for the log line (a rep once failed on that race).
  for i in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:18300/healthz && break; sleep 0.1; done
  PW=$(grep '"admin created"' "$DATA/log" | sed 's/.*"password":"\([^"]*\)".*/\1/')
  local ok=1
  "$BIN/choso-sim" --server http://127.0.0.1:18300 --user admin --password "$PW" --mode ingest --phones 64 --batch 50 \
     --events-per-phone "$N" --progress 0 --json "$DATA/sim.json" $EXTRA >"$DATA/sim.out" 2>&1 ||
    { ok=0; echo "choso-sim failed ($c, rep $r):"; tail -3 "$DATA/sim.out"; tail -3 "$DATA/log"; }
  local cpu_ms
  cpu_ms=$(awk -v hz="$(getconf CLK_TCK)" '{print int(($14+$15)*1000/hz)}' /proc/$SRV/stat)
  kill -INT $SRV; wait $SRV || true
  # A rep whose simulator failed or whose totals did not verify is not a
  # figure: its keys go out prefixed unverified_, which the medians and
  # paired ratios below (rec_s, server_cpu_ms, window_cpu_ms) do not read.
  local line
  line="$(jq -r '"rec_s=\(.events_per_sec|floor) p50_ms=\(.p50_ms) p99_ms=\(.p99_ms) driver_cpu_ms=\(.driver_cpu_ms // 0 | floor) window_cpu_ms=\(.server_cpu_ms // 0 | floor) verified=\(.verified)"' "$DATA/sim.json" || true) server_cpu_ms=$cpu_ms"
  { [ $ok = 1 ] && [ "$(jq -r .verified "$DATA/sim.json" 2>/dev/null)" = true ]; } ||
    line=$(echo "$line" | sed 's/\([a-z0-9_]*\)=/unverified_\1=/g')
  echo "rep=$r case=$c conns=64 $line" | tee -a "$OUT"
  rm -rf "$DATA"
}

# run_issue REP: a fresh refdedupe -perpush under wrk, as run-sync.sh runs the reference.
run_issue() {
  local r=$1 DATA SRV
  DATA=$(mktemp -d)
  "$BIN/refdedupe" -addr 127.0.0.1:18085 -db "$DATA/issue.db" -perpush >"$DATA/log" 2>&1 & SRV=$!
  for i in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:18085/stats && break; sleep 0.1; done
  for run in "w$r" "$r"; do
    local secs=4; [ "$run" = "w$r" ] && secs=2 # warm-up first, as run-sync.sh does
    local res
    res=$(SYNC_MODE=echo SYNC_RUN=$run SYNC_N=50 wrk -t2 -c64 -d${secs}s --timeout 10s -s "$SHARED/wrk/sync50.lua" \
      http://127.0.0.1:18085/sync | grep '^RESULT')
  done
  echo "rep=$r case=issue conns=64 $res" | tee -a "$OUT"
  kill $SRV; wait $SRV 2>/dev/null || true
  rm -rf "$DATA"
}

HARNESS_CASES="echo pb"
[ "${HARNESS:-}" = off ] && HARNESS_CASES=
ISSUE_CASE=issue
{ [ "${ISSUE:-}" = off ] || [ -z "$HARNESS_CASES" ]; } && ISSUE_CASE=
for r in $(seq "$R"); do
  [ -n "$HARNESS_CASES" ] && bash "$SHARED/run-sync.sh" 4 1 64 "$HARNESS_CASES" 2>/dev/null | grep '^rep=' | sed "s/^rep=1/rep=$r/" | tee -a "$OUT"
  [ -n "$ISSUE_CASE" ] && run_issue "$r"
  for c in $CASES; do run_choso "$c" "$r"; done
done
if grep -q ' unverified_server_cpu_ms=' "$OUT"; then
  echo "--- NOT VERIFIED: $(grep -c ' unverified_server_cpu_ms=' "$OUT") choso rep(s) failed or did not verify; their figures go out as unverified_* and no median or paired ratio below reads them"
fi
echo "--- summary (median [min-max]) over $R reps"
for c in $HARNESS_CASES $ISSUE_CASE $CASES; do grep " case=$c " "$OUT" | awk -v c="$c" -f "$SHARED/summarize.awk"; done
echo "--- paired ratios"
if [ -n "$HARNESS_CASES" ]; then
  awk -v key=rec_s -v ref=echo -f "$SHARED/ratios.awk" "$OUT"
  awk -v key=rec_s -v ref=pb -f "$SHARED/ratios.awk" "$OUT" | grep '^ratio choso'
fi
if [ -n "$ISSUE_CASE" ]; then
  awk -v key=rec_s -v ref=issue -f "$SHARED/ratios.awk" "$OUT" | grep '^ratio choso'
fi
if [ -n "${BASE:-}" ]; then
  grep -E ' case=choso(-base)? ' "$OUT" | awk -v key=rec_s -v ref=choso-base -f "$SHARED/ratios.awk"
  grep -E ' case=choso(-base)? ' "$OUT" | awk -v key=server_cpu_ms -v ref=choso-base -f "$SHARED/ratios.awk"
  grep -E ' case=choso(-base)? ' "$OUT" | awk -v key=window_cpu_ms -v ref=choso-base -f "$SHARED/ratios.awk"
fi
true
