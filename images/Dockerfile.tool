# The tool image: kcat, the Kafka CLI (kafka-topics.sh, … on PATH), jq, python3, dig/nslookup,
# curl, vim, a MySQL client (MariaDB's; `mysql` and `mysqldump` are in it), ping, nc and kubectl.
# `alpaka` runs its tool pod and test Jobs from it (kcat and /bin/sh).
#
# Why Debian plus Strimzi's /opt/kafka rather than FROM the Strimzi image: Strimzi's image is
# UBI-minimal, whose repositories carry neither kcat nor a MySQL client, and whose package
# versions cannot be pinned or checked offline; Debian has every tool, each pinned below (apt
# verifies signatures and checksums itself). The Kafka CLI comes from the exact Strimzi image the
# brokers run (same Kafka version), with Debian's Java 21 (Kafka 4.x's tools need Java >= 17;
# Kafka's docs, "Java Version", 4.0 to 4.2: Java 17 and 21 fully supported; 21 is trixie's default
# JRE, and 17 is not in trixie).
#
# Why Debian 13 trixie (issue 21): kcat logs in with SCRAM-SHA-512, and librdkafka before 2.6.1
# puts the client nonce twice into the SCRAM client-final-message, which Kafka 4.x brokers reject
# ("Authentication failed during authentication due to invalid credentials"; fixed by
# confluentinc/librdkafka PR #4895 in 2.6.1, reported as edenhill/kcat issue #462). bookworm's
# kcat links librdkafka 2.0.2; trixie's links librdkafka1 2.8.0, pinned explicitly below because
# kcat itself only asks for librdkafka1 >= 1.6.0.
#
# Versions: images/versions.env (build.sh passes them); ARG defaults repeat them. The Debian
# versions come from trixie's Packages indexes (main, trixie-updates, trixie-security; the newest
# of them where they differ, which is what apt picks too), and are the same on amd64 and arm64
# except kcat, rebuilt on arm64 (binNMU +b1). A pinned version disappears when trixie ships a
# fix: re-check with `apt-cache madison <pkg>` on trixie (both architectures) and bump.

ARG STRIMZI_KAFKA_IMAGE=quay.io/strimzi/kafka
ARG STRIMZI_KAFKA_TAG=1.2.0-kafka-4.3.1
ARG DEBIAN_TAG=trixie-slim

FROM ${STRIMZI_KAFKA_IMAGE}:${STRIMZI_KAFKA_TAG} AS kafka

# kubectl is downloaded and verified against images/checksums.txt: trixie's kubectl is 1.32, and
# kubectl is supported only within one minor version of the API server.
FROM debian:${DEBIAN_TAG} AS download
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates=20250419+deb13u1 \
        curl=8.14.1-2+deb13u7 \
    && rm -rf /var/lib/apt/lists/*
COPY fetch.sh /usr/local/bin/fetch
ARG KUBECTL_VERSION=v1.34.1
ARG KUBECTL_SUM_AMD64
ARG KUBECTL_SUM_ARM64
ARG TARGETARCH
RUN case "${TARGETARCH:-amd64}" in \
        amd64) sum="$KUBECTL_SUM_AMD64" arch=amd64 ;; \
        arm64) sum="$KUBECTL_SUM_ARM64" arch=arm64 ;; \
        *) echo "unsupported architecture: $TARGETARCH" >&2; exit 1 ;; \
    esac \
    && fetch "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${arch}/kubectl" "$sum" /kubectl \
    && chmod 0755 /kubectl

FROM debian:${DEBIAN_TAG}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG TARGETARCH
RUN case "${TARGETARCH:-amd64}" in \
        amd64) kcat_version=1.7.1-3 ;; \
        arm64) kcat_version=1.7.1-3+b1 ;; \
        *) echo "unsupported architecture: $TARGETARCH" >&2; exit 1 ;; \
    esac \
    && apt-get update \
    && apt-get install -y --no-install-recommends \
        bind9-dnsutils=1:9.20.30-1~deb13u1 \
        ca-certificates=20250419+deb13u1 \
        curl=8.14.1-2+deb13u7 \
        iputils-ping=3:20240905-3 \
        jq=1.7.1-6+deb13u4 \
        kcat="$kcat_version" \
        librdkafka1=2.8.0-1 \
        mariadb-client=1:11.8.9+ds-0+deb13u1 \
        netcat-openbsd=1.229-1 \
        openjdk-21-jre-headless=21.0.13.1+2-1~deb13u1 \
        python3=3.13.5-1 \
        vim=2:9.1.1230-2+deb13u2 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 1001 --gid 0 --create-home --shell /bin/bash tool
COPY --from=kafka /opt/kafka /opt/kafka
COPY --from=download /kubectl /usr/local/bin/kubectl
ENV KAFKA_HOME=/opt/kafka \
    PATH=/opt/kafka/bin:$PATH
# Same non-root uid as the Strimzi images.
USER 1001
WORKDIR /home/tool
CMD ["sleep", "infinity"]
