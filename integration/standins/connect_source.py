#!/usr/bin/env python3
"""Stands in for Kafka Connect running a JDBC source connector over MySQL: the --on-apply hook
command of kube_api.py for a KafkaConnector (e.g. `alpaka-test-x-jdbc`).

Start (as a hook): connect_source.py [--bootstrap HOST:PORT]   (python with confluent-kafka)
Reads $STANDIN_OBJECT (the stored KafkaConnector, host map applied), takes its
spec.config["topic.prefix"] and the table of spec.config["table.whitelist"] (or
"table.include.list"; the first entry of a comma list, a `db.` schema prefix dropped) and
produces $STANDIN_RECORDS (default 10000) records to topic prefix + table, as the Confluent
JDBC source connector names topics. Each value is plain JSON (value converter with schemas
disabled, `value.converter.schemas.enable=false`) shaped like a row of a `person` table:
{"id": i, "name": "person-i", "age": 18 + i % 60}, i = 1..N, key null. The bootstrap comes
from --bootstrap, else $STANDIN_BOOTSTRAP, else spec.bootstrapServers-like config is NOT read.
With $STANDIN_API (kube_api.py sets it for hooks) it logs in as the workers would: it reads the
connector's KafkaConnect (label `strimzi.io/cluster`) and takes `spec.authentication`
(`scram-sha-512`: `username`, the password from `passwordSecret.{secretName,password}`) and
`spec.tls.trustedCertificates[]` (`{secretName, certificate}`) from the Secrets they name, as
Strimzi 1.2.0 configures Connect's clients (KafkaConnectConfigurationBuilder: SASL_SSL with
SCRAM-SHA-512 when both are set). Another authentication type, or a Secret or key missing, ends
it with exit 1 saying which.
Prints `produced N records to TOPIC in S s` and exits 0 (1 on a delivery error).

NOT modelled: MySQL itself (no database, no connection.url check, no credentials check: the hook
stands in for MySQL + the connector), incrementing/timestamp modes and offsets (every run
produces the N rows again), polling (one batch, then the process ends), record keys, Connect's
schema'd JSON envelope, Avro, the connector's status (see web_fakes.py `connect`), tasks.max.
"""
import argparse
import base64
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request

from confluent_kafka import Producer


def topic_of(obj):
    cfg = obj.get("spec", {}).get("config", {})
    table = cfg.get("table.whitelist") or cfg.get("table.include.list") or ""
    table = table.split(",")[0].strip().split(".")[-1]
    if not table:
        raise SystemExit("connect_source: the connector names no table.whitelist/table.include.list")
    return cfg.get("topic.prefix", "") + table


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def secret_key(api, ns, name, key):
    try:
        data = get(f"{api}/api/v1/namespaces/{ns}/secrets/{name}").get("data", {})
    except urllib.error.HTTPError as e:
        raise SystemExit(f"connect_source: Secret {ns}/{name}: HTTP {e.code}") from e
    if key not in data:
        raise SystemExit(f"connect_source: Secret {ns}/{name} has no key {key}")
    return base64.b64decode(data[key]).decode()


def login(obj):
    """librdkafka settings for the worker's login, from its KafkaConnect as the API holds it."""
    api = os.environ.get("STANDIN_API")
    if not api:
        return {}
    md = obj.get("metadata", {})
    ns, cluster = md.get("namespace", ""), md.get("labels", {}).get("strimzi.io/cluster", "")
    spec = get(f"{api}/apis/kafka.strimzi.io/v1/namespaces/{ns}/kafkaconnects/{cluster}").get("spec", {})
    conf = {}
    certs = (spec.get("tls") or {}).get("trustedCertificates") or []
    if certs:
        pem = "".join(secret_key(api, ns, c["secretName"], c["certificate"]) for c in certs)
        fd, path = tempfile.mkstemp(suffix=".crt")
        with os.fdopen(fd, "w") as f:
            f.write(pem)
        conf.update({"security.protocol": "SSL", "ssl.ca.location": path})
    auth = spec.get("authentication")
    if auth:
        if auth.get("type") != "scram-sha-512":
            raise SystemExit(f"connect_source: authentication {auth.get('type')!r} is not modelled")
        ps = auth["passwordSecret"]
        conf.update({
            "security.protocol": "SASL_SSL" if certs else "SASL_PLAINTEXT",
            "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": auth["username"],
            "sasl.password": secret_key(api, ns, ps["secretName"], ps["password"]),
        })
    return conf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", default=os.environ.get("STANDIN_BOOTSTRAP"))
    args = ap.parse_args()
    if not args.bootstrap:
        raise SystemExit("connect_source: give --bootstrap or $STANDIN_BOOTSTRAP")
    obj = json.loads(os.environ["STANDIN_OBJECT"])
    topic = topic_of(obj)
    n = int(os.environ.get("STANDIN_RECORDS", "10000"))
    t0 = time.time()
    errors = []
    p = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 20, "message.timeout.ms": 30000,
                  **login(obj)})
    for i in range(1, n + 1):
        row = {"id": i, "name": f"person-{i}", "age": 18 + i % 60}
        while True:
            try:
                p.produce(topic, json.dumps(row).encode(),
                          on_delivery=lambda err, _m: err and errors.append(err))
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(60)
    if left or errors:
        print(f"connect_source: {left} undelivered, errors: {errors[:3]}", flush=True)
        return 1
    print(f"produced {n} records to {topic} in {time.time() - t0:.2f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
