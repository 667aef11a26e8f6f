#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Pins artifacts for images/checksums.txt on a machine with network access: downloads each URL
# (default: every artifact of every image at the versions in images/versions.env), prints
# `<sha512> sha512 <url>`, and with --write replaces that URL's line in checksums.txt.
# Review what it wrote (compare with a checksum the publisher states, where one exists) before
# committing: this records what the network served today, nothing more.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  echo "Usage: images/pin.sh [--write] [URL ...]"
  echo "Prints '<sha512> sha512 <url>' for each URL (default: every artifact images/build.sh needs);"
  echo "--write also records the lines in images/checksums.txt."
}

write=0
urls=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --write) write=1 ;;
    -*) echo "pin.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *) urls+=("$1") ;;
  esac
  shift
done
for tool in curl sha512sum; do
  command -v "$tool" >/dev/null 2>&1 || { echo "pin.sh: $tool not found on PATH" >&2; exit 1; }
done

. "$here/versions.env"
. "$here/artifacts.sh"
if ((${#urls[@]} == 0)); then
  for img in tool connect-jdbc connect-s3; do
    while read -r _ url; do urls+=("$url"); done < <(artifacts_for "$img")
  done
fi

checksums=${ALPAKA_IMAGES_CHECKSUMS:-$here/checksums.txt}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for url in "${urls[@]}"; do
  curl -fsSL --retry 3 -o "$tmp/artifact" "$url"
  line="$(sha512sum "$tmp/artifact" | cut -d' ' -f1) sha512 $url"
  echo "$line"
  if ((write)); then
    # Drop any earlier pin of this URL (whatever its algorithm), keep everything else.
    awk -v url="$url" '!($0 !~ /^#/ && $3 == url)' "$checksums" >"$tmp/checksums"
    echo "$line" >>"$tmp/checksums"
    cat "$tmp/checksums" >"$checksums"
  fi
done
