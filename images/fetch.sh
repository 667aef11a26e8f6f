#!/bin/sh
# fetch URL ALGO:HEX OUT — download URL to OUT and verify it, inside the images' download stages.
# A missing or malformed checksum fails the build: nothing unverified reaches an image.
set -eu
url=$1 sum=$2 out=$3
case "$sum" in
  sha512:?* | sha256:?* | md5:?*) ;;
  *)
    echo "fetch: no checksum for $url (got '$sum'); build with images/build.sh, which passes images/checksums.txt" >&2
    exit 1
    ;;
esac
algo=${sum%%:*}
hex=${sum#*:}
curl -fsSL --retry 3 -o "$out" "$url"
echo "$hex  $out" | "${algo}sum" -c -
