#!/usr/bin/env bash
# Builds the real control plane the tests run alpaka against, from the Go module proxy only:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes, pinned by
# go.mod beside this file) and kwok (fake nodes that run pods). No binary is downloaded.
#
# Built once per go.mod/go.sum: the binaries land in $ALPAKA_CONTROLPLANE_CACHE/<hash>/bin
# (default ~/.cache/alpaka/controlplane); GOMODCACHE and GOCACHE stay where Go keeps them, so a
# rebuild after a pin change compiles only what changed. Prints the bin directory on stdout.
#
#   integration/controlplane/build.sh            # build if missing, print the bin dir
#   integration/controlplane/build.sh --time     # also say how long it took (stderr)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v go >/dev/null || { echo "build.sh: Go is needed to build the control plane (apt-get install golang, or the machine's Go)" >&2; exit 1; }

# This script is in the key too: its build flags are part of what the binaries are.
hash="$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)"
cache="${ALPAKA_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alpaka/controlplane}"
bin="$cache/$hash/bin"
tools=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

complete() {
  for t in "${tools[@]}"; do [ -x "$bin/$t" ] || return 1; done
}

if ! complete; then
  start=$(date +%s)
  tmp="$(mktemp -d "$cache/.build.XXXXXX" 2>/dev/null || { mkdir -p "$cache"; mktemp -d "$cache/.build.XXXXXX"; })"
  trap 'rm -rf "$tmp"' EXIT
  echo "build.sh: building the control plane into $bin (minutes on a cold cache)" >&2
  # The version the binaries report (`kubectl version`, /version): set as Kubernetes' own
  # release build sets it (k8s.io/kubernetes hack/lib/version.sh, kube::version::ldflags);
  # without it the server says v0.0.0-master+$Format:%H$, which no client can parse as a
  # version. The build date is the release's commit time, so the build is reproducible.
  kube="$(cd "$here" && go list -m -f '{{.Version}} {{.Time}}' k8s.io/kubernetes)"
  version="${kube%% *}"
  when="${kube#* }"
  built="$(date -u -d "${when% UTC}" +%Y-%m-%dT%H:%M:%SZ)"
  minor="${version#v*.}"
  minor="${minor%%.*}"
  major="${version#v}"
  major="${major%%.*}"
  ldflags="-s"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags="$ldflags -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags="$ldflags -X $pkg.buildDate=$built -X $pkg.gitTreeState=clean"
  done
  # -mod=readonly: go.sum is the pin; a missing sum is an error, never a silent update.
  # The `tool` lines of go.mod name the five main packages.
  (cd "$here" && go build -mod=readonly -trimpath -ldflags="$ldflags" -o "$tmp/" tool)
  # go.etcd.io/etcd/server/v3's main package is named after its path: `server`.
  mv "$tmp/server" "$tmp/etcd"
  mkdir -p "$(dirname "$bin")"
  rm -rf "$bin"
  mv "$tmp" "$bin"
  trap - EXIT
  if [ "${1:-}" = "--time" ]; then
    echo "build.sh: built in $(( $(date +%s) - start )) s" >&2
  fi
fi
complete || { echo "build.sh: $bin lacks one of: ${tools[*]}" >&2; exit 1; }
echo "$bin"
