#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Pins and checks the images' artifacts without building: for each URL (default: every artifact
# of every image at the versions in images/versions.env) it reads every checksum source
# images/checksums.txt names for it (or its host's publisher, for a URL with no line), fails if a
# source no longer states the pinned value, and pins a `pending` value: downloads the artifact,
# checks it against every value stated or pinned for it, and records the value with its algorithm
# and source, as images/build.sh does before a build (both use images/sources.sh). Nothing is
# computed that a publisher does not state: a value is recorded only when the download matches
# what the publisher says.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  echo "Usage: images/pin.sh [--write] [URL ...]"
  echo "Checks each URL (default: every artifact images/build.sh needs) against its checksum sources"
  echo "and pins what is pending; prints each value. Without --write, images/checksums.txt is not changed."
}

record=0
urls=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --write) record=1 ;;
    -*) echo "pin.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *) urls+=("$1") ;;
  esac
  shift
done
for tool in curl cut tr grep sed awk mktemp; do
  command -v "$tool" >/dev/null 2>&1 || { echo "pin.sh: $tool not found on PATH" >&2; exit 1; }
done

. "$here/versions.env"
. "$here/artifacts.sh"
. "$here/sources.sh"
if ((${#urls[@]} == 0)); then
  for img in tool connect-jdbc connect-s3; do
    while read -r _ url; do urls+=("$url"); done < <(artifacts_for "$img")
  done
fi

checksums=${ALPAKA_IMAGES_CHECKSUMS:-$here/checksums.txt}
[[ -r $checksums ]] || { echo "pin.sh: cannot read $checksums" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sources_init pin.sh "$checksums" "$record" "$work"
load_checksums || exit 1
for url in "${urls[@]}"; do
  resolve "$url" "${url##*/}" || exit 1
done
if ((record)); then
  echo "pin.sh: $pinned_now checksums pinned in $checksums"
else
  echo "pin.sh: nothing written (use --write to record the values above in $checksums)"
fi
