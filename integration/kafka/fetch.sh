#!/usr/bin/env bash
# Fetches a real Kafka (KRaft broker, Connect, command-line tools) and the Debezium MySQL and
# MariaDB connector plugins, from Maven Central only, through Maven (nothing else downloads):
#   - the class path from pom.xml beside this file (`mvn -C dependency:copy-dependencies`:
#     -C/--strict-checksums makes Maven refuse any file whose .sha1 published beside it differs);
#   - each Debezium `plugin.tar.gz` (also -C), then checked again against the .sha512 Maven
#     Central publishes beside it and against the MD5 the Debezium project publishes for it
#     (table below); any difference, or a missing published value, stops the fetch.
#
# Fetched once per pom.xml/fetch.sh: $ALPAKA_KAFKA_CACHE/<hash>/ (default ~/.cache/alpaka/kafka)
# holds lib/ (the class path: `java -cp "lib/*"`), plugins/ (Connect's plugin.path, one
# subdirectory per plugin) and versions (what is there and where each checksum came from).
# Maven's own repository (~/.m2) keeps the downloads, so a new key re-downloads only what changed.
# Prints the directory on stdout.
#
#   integration/kafka/fetch.sh            # fetch if missing, print the directory
#   integration/kafka/fetch.sh --time     # also say how long it took (stderr)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v mvn >/dev/null || { echo "fetch.sh: Maven is needed (apt-get install maven)" >&2; exit 1; }
command -v java >/dev/null || { echo "fetch.sh: Java 17 or later is needed (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }

# Debezium: the version, and the plugin archives' MD5 as the Debezium project publishes them:
# github.com/debezium/container-images, connect/<major.minor>/Dockerfile (MYSQL_MD5, MARIADB_MD5),
# the values its docker-maven-download.sh checks with `md5sum -c` against the same Maven Central
# file. Copied from the commit named; never computed here.
# The version is the one the images ship (images/versions.env), so the tests run what ships.
debezium="${ALPAKA_DEBEZIUM_VERSION:-$(sed -n 's/^DEBEZIUM_VERSION=//p' "$here/../../images/versions.env")}"
[ -n "$debezium" ] || { echo "fetch.sh: no DEBEZIUM_VERSION in images/versions.env" >&2; exit 1; }
published_md5() { # connector version
  case "$1 $2" in
    # commit 797b87d4681d8f47e4a891ba4dd043a1b32b2917 "Updated container images for release 3.5.0.Final"
    "mysql 3.5.0.Final") echo f9c6069db7b486e67968a22996a46b22 ;;
    "mariadb 3.5.0.Final") echo a7d45f403d739506964dee62dee6620d ;;
    # commit 16035afbe9c74b592b150f8daf146182805b61f5 (shared/reference/connect-artifacts.md);
    # 3.5.2.Final is not on every Maven Central mirror.
    "mysql 3.5.2.Final") echo 77d6b5cba2b94239383c083146dd6c82 ;;
    "mariadb 3.5.2.Final") echo 82eb6666be2331deb9807e2ca5711411 ;;
    # commit 07fabf0541b948a0da58e4d8d0092d4e44696399 "Updated container images for release
    # 3.6.0.Final". These differ from the archives Maven Central serves (whose own .md5, .sha1
    # and .sha512 agree with each other), so 3.6.0.Final is refused: kept to say so.
    "mysql 3.6.0.Final") echo b6740897423afc33ffe7c384a35c9da4 ;;
    "mariadb 3.6.0.Final") echo 79cb54b05a66a56c92f3a75bf2ebd1ff ;;
    *) return 1 ;;
  esac
}
connectors=(mysql mariadb)

# This script and the Debezium version are in the key too: they are part of the result.
hash="$( (cat "$here/pom.xml" "$here/fetch.sh"; echo "$debezium") | sha256sum | cut -c1-16)"
cache="${ALPAKA_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alpaka/kafka}"
out="$cache/$hash"

complete() {
  [ -f "$out/versions" ] || return 1
  ls "$out"/lib/kafka_2.13-*.jar "$out"/lib/connect-runtime-*.jar "$out"/lib/kafka-tools-*.jar >/dev/null 2>&1 || return 1
  for c in "${connectors[@]}"; do [ -d "$out/plugins/debezium-connector-$c" ] || return 1; done
}

if ! complete; then
  start=$(date +%s)
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch.sh: fetching Kafka and Debezium $debezium into $out (about 15 s with a cold Maven repository here)" >&2
  # Maven's output is kept in a log and shown only when it fails.
  mvn() {
    command mvn -B -q -f "$here/pom.xml" "$@" >>"$tmp/mvn.log" 2>&1 && return 0
    sed 's/\x1b\[[0-9;]*m//g' "$tmp/mvn.log" | grep -v '^\s*$' | tail -n 20 >&2
    return 1
  }
  mvn -C dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/lib" \
    || { echo "fetch.sh: resolving pom.xml failed" >&2; exit 1; }
  kafka="$(sed -n 's|.*<kafka.version>\(.*\)</kafka.version>.*|\1|p' "$here/pom.xml")"
  {
    echo "kafka $kafka (org.apache.kafka:kafka_2.13, connect-runtime, kafka-tools; Maven -C: .sha1 from Maven Central)"
    echo "debezium $debezium"
  } >"$tmp/versions"
  mkdir -p "$tmp/plugins" "$tmp/dl"
  for c in "${connectors[@]}"; do
    name="debezium-connector-$c"
    file="$name-$debezium-plugin.tar.gz"
    mvn -C dependency:copy -Dartifact="io.debezium:$name:$debezium:tar.gz:plugin" \
      -DoutputDirectory="$tmp/dl" \
      || { echo "fetch.sh: io.debezium:$name:$debezium:tar.gz:plugin did not resolve" >&2; exit 1; }
    # The .sha512 beside it, as a file of its own (no -C: nothing is published beside a checksum).
    mvn dependency:copy -Dartifact="io.debezium:$name:$debezium:tar.gz.sha512:plugin" \
      -DoutputDirectory="$tmp/dl" \
      || { echo "fetch.sh: Maven Central publishes no .sha512 for $file" >&2; exit 1; }
    want512="$(cut -c1-128 "$tmp/dl/$file.sha512")"
    got512="$(sha512sum "$tmp/dl/$file" | cut -d' ' -f1)"
    if [ "$want512" != "$got512" ]; then
      echo "fetch.sh: CHECKSUM MISMATCH $file: Maven Central's .sha512 says $want512, the file is $got512" >&2
      exit 1
    fi
    want5="$(published_md5 "$c" "$debezium")" \
      || { echo "fetch.sh: no Debezium-published MD5 for $file in fetch.sh; refusing it (add one, with its source, to published_md5)" >&2; exit 1; }
    got5="$(md5sum "$tmp/dl/$file" | cut -d' ' -f1)"
    if [ "$want5" != "$got5" ]; then
      echo "fetch.sh: CHECKSUM MISMATCH $file: the Debezium project publishes MD5 $want5, the file is $got5" >&2
      exit 1
    fi
    echo "$name $debezium plugin.tar.gz: sha1 (Maven -C) and sha512 $got512 from Maven Central; md5 $got5 published by Debezium (container-images)" >>"$tmp/versions"
    # The archive's top directory is the plugin's (debezium-connector-<c>/).
    tar -xzf "$tmp/dl/$file" -C "$tmp/plugins"
    [ -d "$tmp/plugins/$name" ] || { echo "fetch.sh: $file has no $name/ directory" >&2; exit 1; }
  done
  rm -rf "$tmp/dl" "$tmp/mvn.log"
  rm -rf "$out"
  mv "$tmp" "$out"
  trap - EXIT
  if [ "${1:-}" = "--time" ]; then
    echo "fetch.sh: fetched in $(( $(date +%s) - start )) s" >&2
  fi
fi
complete || { echo "fetch.sh: $out is incomplete" >&2; exit 1; }
echo "$out"
