#!/usr/bin/env bash
# Builds Prometheus's promtool from the Go module proxy (github.com/prometheus/prometheus, pinned
# by go.mod/go.sum beside this file; no binary is downloaded), for the test that checks alpaka's
# alerting rules with the real rule loader: `promtool check rules`.
#
# Built once per go.mod/go.sum: the binary lands in $ALPAKA_PROMTOOL_CACHE/<hash>/promtool
# (default ~/.cache/alpaka/promtool). Prints the directory holding `promtool` on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v go >/dev/null || { echo "promtool/build.sh: Go is needed to build promtool" >&2; exit 1; }

hash="$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)"
cache="${ALPAKA_PROMTOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alpaka/promtool}"
bin="$cache/$hash"

if ! [ -x "$bin/promtool" ]; then
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  echo "promtool/build.sh: building promtool into $bin (a minute or more on a cold cache)" >&2
  # -mod=readonly: go.sum is the pin; a missing sum is an error, never a silent update.
  (cd "$here" && go build -mod=readonly -trimpath -ldflags=-s -o "$tmp/promtool" github.com/prometheus/prometheus/cmd/promtool)
  rm -rf "$bin"
  mv "$tmp" "$bin"
  trap - EXIT
fi
echo "$bin"
