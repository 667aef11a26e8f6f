# The tool image: kcat, the Kafka CLI (kafka-topics.sh, … on PATH), jq, python3, dig/nslookup,
# curl, vim, a MySQL client (MariaDB's, Debian's default-mysql-client), ping, nc and kubectl.
# `alpaka` runs its tool pod and test Jobs from it (kcat and /bin/sh).
#
# Why Debian plus Strimzi's /opt/kafka rather than FROM the Strimzi image: Strimzi's image is
# UBI-minimal, whose repositories carry neither kcat nor a MySQL client, and whose package
# versions cannot be pinned or checked offline; Debian bookworm has every tool, each pinned below
# (apt verifies signatures and checksums itself). The Kafka CLI comes from the exact Strimzi
# image the brokers run (same Kafka version), with Debian's Java 17 (Kafka 4 tools need ≥ 17).
# Versions: images/versions.env (build.sh passes them); ARG defaults repeat them.
# Pinned Debian versions disappear when bookworm ships a fix: re-check with
# `apt-cache madison <pkg>` on bookworm and bump.

ARG STRIMZI_KAFKA_IMAGE=quay.io/strimzi/kafka
ARG STRIMZI_KAFKA_TAG=1.2.0-kafka-4.3.1
ARG DEBIAN_TAG=bookworm-slim

FROM ${STRIMZI_KAFKA_IMAGE}:${STRIMZI_KAFKA_TAG} AS kafka

# kubectl is not in Debian at a usable version (bookworm's kubernetes-client is 1.20), so it is
# downloaded and verified against images/checksums.txt.
FROM debian:${DEBIAN_TAG} AS download
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates=20230311+deb12u1 \
        curl=7.88.1-10+deb12u14 \
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
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        bind9-dnsutils=1:9.18.47-1~deb12u1 \
        ca-certificates=20230311+deb12u1 \
        curl=7.88.1-10+deb12u14 \
        iputils-ping=3:20221126-1+deb12u1 \
        jq=1.6-2.1+deb12u1 \
        kcat=1.7.1-2 \
        mariadb-client=1:10.11.14-0+deb12u2 \
        netcat-openbsd=1.219-1 \
        openjdk-17-jre-headless=17.0.19+10-1~deb12u2 \
        python3=3.11.2-1+b1 \
        vim=2:9.0.1378-2+deb12u2 \
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
