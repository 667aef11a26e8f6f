#!/usr/bin/env python3
"""Fake of Apache Kafka's `kafka-topics.sh` (run through kafka-topics.sh beside it), talking to a
REAL Kafka-protocol peer: the mock cluster of integration/standins/kafka_mock.py.

Supported (like the real tool, Kafka 3.x/4.x wording and exit codes):
  --bootstrap-server B --list                       names, sorted, one per line
  --bootstrap-server B --describe [--topic T]       `Topic: T\tTopicId: ...\tPartitionCount: N\t
                                                     ReplicationFactor: R\tConfigs: ` + a line per
                                                     partition (Leader/Replicas/Isr from Metadata)
  --bootstrap-server B --create --topic T [--partitions N] [--replication-factor R]
                                  [--if-not-exists] -> "Created topic T."
  --bootstrap-server B --delete --topic T [--if-exists]   (prints nothing on success)
  --command-config F is accepted and ignored.
Errors go to stderr as "Error while executing topic command : <message>" with exit 1: topic
already exists on create (without --if-not-exists), "Topic 'T' does not exist as expected" on
delete (without --if-exists) or describe of an unknown topic, a replication factor larger than
the broker count; unknown options exit 1 too.

Create and delete: the librdkafka mock broker does not answer CreateTopics/DeleteTopics, so this
fake asks kafka_mock.py's control endpoint ($STANDIN_KAFKA_CONTROL, e.g. http://127.0.0.1:PORT,
printed by kafka_mock.py as `CONTROL ...`), which creates/deletes the topic in the mock cluster
itself (rd_kafka_mock_topic_create/delete): afterwards every client sees the change through
Metadata. Without $STANDIN_KAFKA_CONTROL, --create/--delete fail (exit 1) saying so.
List/describe use Metadata over the Kafka protocol (confluent_kafka AdminClient).

Every call is logged via _common.record (`kafka-topics.sh ARGS...`) when $ALPAKA_FAKE_LOG is set;
$ALPAKA_FAKE_FAIL="kafka-topics.sh --create" etc. scripts a failure.

NOT modelled: topic configs (--config, --alter, --describe shows `Configs: ` empty), topic IDs
(a fixed dummy per name), --partitions changes (--alter), regex --topic patterns, --exclude-internal
(the mock has no internal topics to list), --zookeeper, SSL/SASL settings in --command-config.
"""
import json
import os
import sys
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import record  # noqa: E402

TOOL = "kafka-topics.sh"
VALUED = {"--bootstrap-server", "--topic", "--partitions", "--replication-factor", "--command-config"}
SWITCHES = {"--create", "--delete", "--list", "--describe", "--if-not-exists", "--if-exists"}


def fail(msg, code=1):
    sys.stderr.write(f"Error while executing topic command : {msg}\n")
    sys.exit(code)


def parse(argv):
    opts, i = {}, 0
    while i < len(argv):
        a = argv[i]
        if "=" in a and a.split("=", 1)[0] in VALUED:
            k, v = a.split("=", 1)
            opts[k] = v
        elif a in VALUED:
            if i + 1 >= len(argv):
                sys.stderr.write(f"Exception in thread \"main\" joptsimple.OptionMissingRequiredArgumentException: Option {a} requires an argument\n")
                sys.exit(1)
            opts[a] = argv[i + 1]
            i += 1
        elif a in SWITCHES:
            opts[a] = True
        else:
            sys.stderr.write(f"Exception in thread \"main\" joptsimple.UnrecognizedOptionException: {a.lstrip('-')} is not a recognized option\n")
            sys.exit(1)
        i += 1
    return opts


def metadata(bootstrap):
    from confluent_kafka.admin import AdminClient
    try:
        return AdminClient({"bootstrap.servers": bootstrap, "log_level": 3}).list_topics(timeout=15)
    except Exception as e:  # noqa: BLE001
        fail(f"Timed out waiting for a node assignment. Call: listTopics ({e})")


def control(method, path, body=None):
    base = os.environ.get("STANDIN_KAFKA_CONTROL")
    if not base:
        fail("the kafka-topics.sh fake needs $STANDIN_KAFKA_CONTROL (kafka_mock.py's CONTROL url) to create or delete topics")
    req = urllib.request.Request(base.rstrip("/") + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def main(argv):
    record(TOOL, argv)
    o = parse(argv)
    actions = [a for a in ("--create", "--delete", "--list", "--describe") if o.get(a)]
    if len(actions) != 1:
        sys.stderr.write("Command must include exactly one action: --list, --describe, --create, --alter or --delete\n")
        return 1
    bootstrap = o.get("--bootstrap-server")
    if not bootstrap:
        sys.stderr.write("Missing required argument \"[bootstrap-server]\"\n")
        return 1
    action, topic = actions[0], o.get("--topic")
    if action in ("--create", "--delete") and not topic:
        sys.stderr.write(f"Missing required argument \"[topic]\"\n")
        return 1
    md = metadata(bootstrap)
    if action == "--list":
        for t in sorted(md.topics):
            print(t)
        return 0
    if action == "--describe":
        names = [topic] if topic else sorted(md.topics)
        if topic and topic not in md.topics:
            fail(f"Topic '{topic}' does not exist as expected")
        for t in names:
            parts = md.topics[t].partitions
            rf = max((len(p.replicas) for p in parts.values()), default=0)
            tid = uuid.uuid5(uuid.NAMESPACE_URL, "topic:" + t).hex[:22]
            print(f"Topic: {t}\tTopicId: {tid}\tPartitionCount: {len(parts)}\tReplicationFactor: {rf}\tConfigs: ")
            for pid in sorted(parts):
                p = parts[pid]
                print(f"\tTopic: {t}\tPartition: {pid}\tLeader: {p.leader}\t"
                      f"Replicas: {','.join(map(str, p.replicas))}\tIsr: {','.join(map(str, p.isrs))}")
        return 0
    if action == "--create":
        try:
            partitions = int(o.get("--partitions", 1))
            rf = int(o.get("--replication-factor", 1))
        except ValueError as e:
            fail(str(e))
        if topic in md.topics:
            if o.get("--if-not-exists"):
                return 0
            fail(f"Topic '{topic}' already exists.")
        if partitions < 1:
            fail("The partitions must be greater than 0")
        if rf > len(md.brokers):
            fail(f"Unable to replicate the partition {rf} time(s): The target replication factor of {rf} "
                 f"cannot be reached because only {len(md.brokers)} broker(s) are registered.")
        code, body = control("POST", "/topics", {"topic": topic, "partitions": partitions, "replication_factor": rf})
        if code == 409:
            if o.get("--if-not-exists"):
                return 0
            fail(f"Topic '{topic}' already exists.")
        if code != 201:
            fail(body.get("error", f"control endpoint answered {code}"))
        print(f"Created topic {topic}.")
        return 0
    # --delete
    if topic not in md.topics:
        if o.get("--if-exists"):
            return 0
        fail(f"Topic '{topic}' does not exist as expected")
    code, body = control("DELETE", f"/topics/{topic}")
    if code == 404:
        if o.get("--if-exists"):
            return 0
        fail(f"Topic '{topic}' does not exist as expected")
    if code != 200:
        fail(body.get("error", f"control endpoint answered {code}"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
