#!/usr/bin/env bash
# Prints a directory holding `kcat` as the tool image runs it, to put first on PATH for the tests:
# Debian's kcat 1.7.1 with librdkafka 2.8.0, the librdkafka of Debian 13 trixie
# (images/Dockerfile.tool). Why: librdkafka before 2.6.1 cannot log in with SCRAM to Kafka 4.x
# (it sent the client nonce twice in the client-final-message; Kafka 4 checks it as RFC 5802
# says: confluentinc/librdkafka PR #4895, edenhill/kcat issue #462), and this Debian 12 host's
# kcat links librdkafka 2.0.2. Trixie's own librdkafka1 needs glibc 2.38, which a bookworm host
# lacks, so the same librdkafka release comes from PyPI: the confluent-kafka 2.8.0 manylinux
# wheel bundles librdkafka 2.8.0 (confluent-kafka's version is the librdkafka it ships), built
# for glibc 2.28. pip checks the wheel against PyPI's hash. The result is checked (`kcat -V`
# must say librdkafka 2.8.0) and cached under ~/.cache/alpaka/tools/ (ALPAKA_TOOLS_CACHE moves it).
set -euo pipefail
version=2.8.0
cache="${ALPAKA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alpaka/tools}"
dir="$cache/kcat-librdkafka-$version"
py="${ALPAKA_TEST_PYTHON:-python3}"

check() { "$dir/kcat" -V 2>/dev/null | grep -q "librdkafka $version "; }

if ! check; then
  system_kcat="$(command -v kcat)" || { echo "kcat.sh: kcat is not installed (apt-get install -y kcat)" >&2; exit 1; }
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "$py" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    "confluent-kafka==$version" -d "$tmp/wheel" >&2
  "$py" -m zipfile -e "$tmp"/wheel/confluent_kafka-*.whl "$tmp/x"
  rm -rf "$dir"
  mkdir -p "$dir/lib"
  # The wheel's libraries (auditwheel renamed them; they find each other through $ORIGIN).
  cp "$tmp"/x/confluent_kafka.libs/* "$dir/lib/"
  lib="$(cd "$dir/lib" && ls librdkafka-*.so.1)"
  ln -s "$lib" "$dir/lib/librdkafka.so.1"
  cat >"$dir/kcat" <<SH
#!/bin/sh
# kcat $("$system_kcat" -V 2>&1 | sed -n 's/^Version \([^ ]*\).*/\1/p') with librdkafka $version (integration/kcat.sh)
LD_LIBRARY_PATH="$dir/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$system_kcat" "\$@"
SH
  chmod 0755 "$dir/kcat"
  check || { echo "kcat.sh: $dir/kcat does not run with librdkafka $version:" >&2; "$dir/kcat" -V >&2 || true; exit 1; }
fi
echo "$dir"
