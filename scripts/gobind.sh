#!/usr/bin/env bash
# gobind.sh: checks that every exported name of sync/client binds with
# gomobile, as a phone app would use it (Java for Android, Objective-C for
# iOS). gobind writes the bindings' source without an Android SDK or Xcode,
# and marks each exported function, method or field it cannot bind with a
# "skipped ... unsupported" comment: the check fails on any such mark.
# It works in a copy of the module (golang.org/x/mobile is not one of
# choso's dependencies) and needs the Go module proxy.
# usage: bash scripts/gobind.sh [golang.org/x/mobile version, default latest]
set -euo pipefail
cd "$(dirname "$0")/.."
V=${1:-latest}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$W"
cd "$W"
go get "golang.org/x/mobile/bind@$V" >/dev/null 2>&1
go run "golang.org/x/mobile/cmd/gobind@$V" -lang=go,java,objc -outdir "$W/out" ./sync/client
if grep -rn "skipped" "$W/out"; then
  echo "gobind: the names above do not bind" >&2
  exit 1
fi
echo "gobind: every exported name of sync/client binds ($(find "$W/out" -name '*.java' -path '*client*' | wc -l) Java classes, $(find "$W/out" -name '*.h' | wc -l) Objective-C headers)"
