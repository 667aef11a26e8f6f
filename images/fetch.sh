#!/bin/sh
# fetch URL ALGO:HEX OUT — download URL to OUT and verify it, inside the images' download stages.
# ALGO:HEX is the value images/checksums.txt pins for URL (images/build.sh passes it as a build
# arg; ALGO sha512, sha256, sha1 or md5). A missing or malformed value, a failed download or a
# different checksum fails the build, and nothing is left at OUT: nothing unverified reaches an
# image. ALPAKA_IMAGES_HOSTS_BASE (tests only; see images/sources.sh) fetches https://HOST/PATH
# from $ALPAKA_IMAGES_HOSTS_BASE/HOST/PATH.
set -eu
url=$1 sum=$2 out=$3
algo=${sum%%:*}
want=${sum#*:}
case "$algo" in
  sha512) len=128 ;;
  sha256) len=64 ;;
  sha1) len=40 ;;
  md5) len=32 ;;
  *) len=0 ;;
esac
case "$want" in
  *[!0-9a-f]* | '') len=0 ;;
esac
if [ "$len" -eq 0 ] || [ "${#want}" -ne "$len" ] || [ "$sum" = "$want" ]; then
  echo "fetch: no usable checksum for $url (got '$sum'; want <algo>:<hex>); build with images/build.sh, which passes the values images/checksums.txt pins" >&2
  exit 1
fi
target=$url
if [ -n "${ALPAKA_IMAGES_HOSTS_BASE:-}" ]; then
  case "$url" in https://*) target="${ALPAKA_IMAGES_HOSTS_BASE%/}/${url#https://}" ;; esac
fi
part="$out.part.$$"
trap 'rm -f "$part"' EXIT
trap 'exit 1' HUP INT TERM
if ! curl -fsSL --retry 3 --connect-timeout 30 --proto-redir =https -o "$part" "$target"; then
  echo "fetch: downloading $url failed" >&2
  exit 1
fi
got=$("${algo}sum" "$part" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
  echo "fetch: CHECKSUM MISMATCH for $url: images/checksums.txt pins $algo $want, the download is $algo $got; discarded" >&2
  exit 1
fi
mv -f "$part" "$out"
