#!/usr/bin/env bash
# Runs every fuzz target of the module, one after another, for a given time
# each (default 10m): go test -fuzz takes one target of one package per run.
# A failing input is written by go test to the package's testdata/fuzz/FuzzX/
# directory: commit it, and the normal test run replays it from then on.
#
#   scripts/fuzz.sh            # 10 minutes each
#   scripts/fuzz.sh 30s        # a quick pass
#   scripts/fuzz.sh 10m qr     # only the targets of packages matching "qr"
#   scripts/fuzz.sh 10m qr 'FuzzDecode|FuzzEncode'   # only targets matching an ERE
#
# FUZZ_PARALLEL=N sets go test's fuzzing workers (default GOMAXPROCS), so two
# runs can share a machine: FUZZ_PARALLEL=1 scripts/fuzz.sh 10m qr & ...
#
# Go 1.26's fuzzing coordinator can fail a target with a bare "context
# deadline exceeded" as -fuzztime runs out, having found nothing and written
# no input (go.dev/issue/75804, fixed in Go 1.27; more likely on a busy
# machine). Such a run is reported and the target run again once; a failure
# that writes an input, or fails again, counts.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${1:-10m}
filter=${2:-}
targets=${3:-}
parallel=()
[[ -n "${FUZZ_PARALLEL:-}" ]] && parallel=(-parallel "$FUZZ_PARALLEL")
status=0
for pkg in $(go list ./...); do
	[[ -n "$filter" && "$pkg" != *"$filter"* ]] && continue
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		[[ -n "$targets" ]] && ! [[ "$target" =~ ^($targets)$ ]] && continue
		for try in 1 2; do
			echo "== $pkg $target ($time) $(date -u +%FT%TZ)"
			before=$(ls "$dir/testdata/fuzz/$target" 2>/dev/null | sort || true)
			out=$(mktemp)
			if go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "${parallel[@]}" 2>&1 | tee "$out"; then
				rm -f "$out"
				break
			fi
			after=$(ls "$dir/testdata/fuzz/$target" 2>/dev/null | sort || true)
			if [[ $try == 1 && "$before" == "$after" ]] && grep -q '^    context deadline exceeded$' "$out"; then
				echo "?? $pkg $target: Go's fuzzing coordinator stopped with no input written (go.dev/issue/75804): once more"
				rm -f "$out"
				continue
			fi
			rm -f "$out"
			echo "!! $pkg $target found a failure: see $dir/testdata/fuzz/$target/"
			status=1
			break
		done
	done
done
exit $status
