#!/bin/sh
# Installs the alpaka binary from a release archive, after checking its SHA-256.
#
#   curl -fsSL https://github.com/alpaka/alpaka/releases/latest/download/install.sh | sh
#   curl -fsSL .../install.sh | sh -s -- --version 0.2.0 --prefix "$HOME/.local"
#
# Options:
#   --version V    a released version (default: the newest release)
#   --prefix DIR   install into DIR/bin, DIR/share/man/man1 and the shells' completion folders
#                  (default: $HOME/.local; no root needed, none is asked for)
#   --base-url U   where releases live (default: https://github.com/alpaka/alpaka/releases;
#                  a mirror serving the same paths works too)
#
# Nothing is installed unless the archive's SHA-256 equals the one published beside it.
# Root is used only if you run this script as root yourself (e.g. for --prefix /usr/local).
set -eu

base_url="${ALPAKA_INSTALL_BASE_URL:-https://github.com/alpaka/alpaka/releases}"
version="${ALPAKA_VERSION:-}"
prefix="${ALPAKA_PREFIX:-${HOME:-}/.local}"

say() { printf '%s\n' "alpaka-install: $*"; }
fail() { printf '%s\n' "alpaka-install: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || fail "--version needs a value"; version="${2#v}"; shift 2 ;;
    --prefix) [ $# -ge 2 ] || fail "--prefix needs a value"; prefix="$2"; shift 2 ;;
    --base-url) [ $# -ge 2 ] || fail "--base-url needs a value"; base_url="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" 2>/dev/null || true; exit 0 ;;
    *) fail "unknown option $1 (known: --version, --prefix, --base-url)" ;;
  esac
done
[ -n "$prefix" ] || fail "no --prefix given and HOME is not set"

os="$(uname -s)"
arch="$(uname -m)"
case "$arch" in
  x86_64|amd64) arch=x86_64 ;;
  aarch64|arm64) arch=aarch64 ;;
  *) fail "no release is built for the $arch processor; build from source: cargo install --locked alpaka" ;;
esac
case "$os" in
  Linux) target="$arch-unknown-linux-gnu" ;;
  Darwin) target="$arch-apple-darwin" ;;
  *) fail "no release is built for $os; build from source: cargo install --locked alpaka" ;;
esac

asset="alpaka-$target.tar.gz"
if [ -n "$version" ]; then
  url="$base_url/download/v$version/$asset"
else
  url="$base_url/latest/download/$asset"
fi

if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --proto '=https,http' -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -O "$2" "$1"; }
else
  fail "curl or wget is needed to download $url"
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
  fail "sha256sum or shasum is needed to check the download; nothing installed"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT INT TERM
say "downloading $url"
fetch "$url" "$tmp/$asset" || fail "could not download $url"
fetch "$url.sha256" "$tmp/$asset.sha256" || fail "could not download $url.sha256 (the published checksum); nothing installed"

# The checksum file is "HASH  NAME": it must name this asset.
expected="$(cut -d' ' -f1 <"$tmp/$asset.sha256")"
named="$(sed 's/^[0-9a-fA-F]*[ *]*//' <"$tmp/$asset.sha256" | tr -d '\r\n')"
[ "$named" = "$asset" ] || fail "$url.sha256 is for '$named', not $asset; nothing installed"
actual="$(sha256 "$tmp/$asset")"
[ "$actual" = "$expected" ] || fail "checksum mismatch for $asset: published $expected, downloaded $actual; nothing installed"
say "checksum ok ($actual)"

tar -xzf "$tmp/$asset" -C "$tmp"
src="$tmp/alpaka-$target"
[ -x "$src/alpaka" ] || fail "$asset holds no alpaka-$target/alpaka; nothing installed"

mkdir -p "$prefix/bin" 2>/dev/null && [ -w "$prefix/bin" ] \
  || fail "cannot write to $prefix/bin: choose a --prefix you own, or run this script as root for a system prefix"
# Into place by rename, so a running alpaka is never half overwritten.
cp "$src/alpaka" "$prefix/bin/.alpaka.new"
chmod 755 "$prefix/bin/.alpaka.new"
mv -f "$prefix/bin/.alpaka.new" "$prefix/bin/alpaka"
say "installed $prefix/bin/alpaka ($("$prefix/bin/alpaka" --version))"

place() {
  mkdir -p "$(dirname "$2")" && cp "$1" "$2" && say "installed $2"
}
place "$src/man/alpaka.1" "$prefix/share/man/man1/alpaka.1"
place "$src/completions/alpaka.bash" "$prefix/share/bash-completion/completions/alpaka"
place "$src/completions/_alpaka" "$prefix/share/zsh/site-functions/_alpaka"
place "$src/completions/alpaka.fish" "$prefix/share/fish/vendor_completions.d/alpaka.fish"

case ":${PATH:-}:" in
  *":$prefix/bin:"*) ;;
  *) say "$prefix/bin is not on your PATH: add it, e.g. export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
say "next: mkdir my-platform && cd my-platform && alpaka init && alpaka plan"
