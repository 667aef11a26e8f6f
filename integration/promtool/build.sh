#!/usr/bin/env bash
# Builds `check-rules` (main.go beside this file): `promtool check rules` reduced to its rule
# loader, Prometheus's own rulefmt.ParseFile from the Go module proxy (github.com/prometheus/
# prometheus, pinned by go.mod/go.sum; no binary is downloaded), for the test that checks
# alpaka's alerting rules. The whole promtool took ~16 min to build here (its service discovery
# pulls every cloud SDK); this takes well under a minute with the modules downloaded.
#
# Built once per go.mod/go.sum/main.go: the binary lands in $ALPAKA_PROMTOOL_CACHE/<hash>/check-rules
# (default ~/.cache/alpaka/promtool). Prints the directory holding `check-rules` on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v go >/dev/null || { echo "promtool/build.sh: Go is needed to build promtool" >&2; exit 1; }

hash="$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" "$here/build.sh" | sha256sum | cut -c1-16)"
cache="${ALPAKA_PROMTOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alpaka/promtool}"
bin="$cache/$hash"

if ! [ -x "$bin/check-rules" ]; then
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  echo "promtool/build.sh: building check-rules into $bin (a minute or more on a cold cache)" >&2
  # -mod=readonly: go.sum is the pin; a missing sum is an error, never a silent update.
  (cd "$here" && go build -mod=readonly -trimpath -ldflags=-s -o "$tmp/check-rules" .)
  rm -rf "$bin"
  mv "$tmp" "$bin"
  trap - EXIT
fi
echo "$bin"
