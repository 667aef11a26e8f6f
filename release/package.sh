#!/usr/bin/env bash
# Packages one built alpaka binary as a release archive, the way the release workflow
# (.github/workflows/release.yml) does for every platform, and the way integration/release.rs
# tests it:
#
#   release/package.sh TARGET BINARY OUTDIR
#
# writes OUTDIR/alpaka-TARGET.tar.gz (the binary, shell completions, the man page, README) and
# OUTDIR/alpaka-TARGET.tar.gz.sha256 ("HASH  NAME", what `sha256sum -c` reads). Asset names carry
# no version, so `releases/latest/download/NAME` always names the newest; the version is in the
# binary (`alpaka --version`) and in the release's tag. The binary must run on this machine
# (the workflow builds each platform on its own runner): it writes its own completions and man page.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 TARGET BINARY OUTDIR" >&2; exit 2; }
target="$1" bin="$2" out="$3"
here="$(cd "$(dirname "$0")/.." && pwd)"
[ -x "$bin" ] || { echo "package.sh: $bin is not an executable" >&2; exit 1; }

name="alpaka-$target"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
dir="$stage/$name"
mkdir -p "$dir/completions" "$dir/man" "$out"
cp "$bin" "$dir/alpaka"
chmod 755 "$dir/alpaka"
"$dir/alpaka" completions bash >"$dir/completions/alpaka.bash"
"$dir/alpaka" completions zsh >"$dir/completions/_alpaka"
"$dir/alpaka" completions fish >"$dir/completions/alpaka.fish"
"$dir/alpaka" man >"$dir/man/alpaka.1"
cp "$here/README.md" "$dir/README.md"

archive="$out/$name.tar.gz"
# Same bytes for the same inputs where GNU tar is there (the linux runners): sorted names, no
# owner, the commit's time.
if tar --version 2>/dev/null | grep -q GNU; then
  mtime="${SOURCE_DATE_EPOCH:-0}"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
    -C "$stage" -cf - "$name" | gzip -n >"$archive"
else
  tar -C "$stage" -cf - "$name" | gzip -n >"$archive"
fi
if command -v sha256sum >/dev/null; then
  (cd "$out" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
else
  (cd "$out" && shasum -a 256 "$name.tar.gz" >"$name.tar.gz.sha256")
fi
echo "$archive"
