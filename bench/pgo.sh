#!/usr/bin/env bash
# pgo.sh: makes cmd/choso/default.pgo, the CPU profile the Go toolchain
# reads to optimise choso's build (profile-guided optimisation: `go build`
# and `go run` of ./cmd/choso use it by default; -pgo=off builds without).
# The profile is of the server's hot path in the field, a market-close
# ingest: 64 phones pushing 50-event batches through the full apply rules
# with fsync on, as bench/sync.sh runs it. Run it again when the push path
# changes much; a stale profile only loses some of the gain.
# usage: bash bench/pgo.sh [reps=3] [events_per_phone=4000]
# Needs jq (bench/sync.sh). Loopback only. About a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-3}; N=${2:-4000}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
HARNESS=off ISSUE=off PROFILE="$DIR" bash bench/sync.sh "$R" "$N" --wire
go tool pprof -proto "$DIR"/cpu-*.prof >cmd/choso/default.pgo
echo "wrote cmd/choso/default.pgo ($(wc -c <cmd/choso/default.pgo) bytes) from $R reps"
