#!/usr/bin/env python3
"""Stands in for a Kafka cluster (the Strimzi `alpaka` Kafka) in alpaka's end-to-end tests:
librdkafka's built-in **mock cluster**, a real Kafka-protocol peer on real TCP ports, which
other processes (kcat, confluent_kafka clients, the kafka-topics.sh fake) reach like a broker.

Start: kafka_mock.py [--brokers N] [--control-port 0]   (python with confluent-kafka 2.16.x)
Prints, flushed, once a Metadata round trip against the cluster has worked:
  BOOTSTRAP host:port[,host:port...]      (one address per broker, 127.0.0.1)
  CONTROL http://127.0.0.1:PORT           (the control endpoint below)
then stays alive until SIGTERM/SIGINT or, when its stdin is a pipe, until that pipe closes (so
a test that dies takes the mock with it; a stdin of /dev/null is ignored).

The mock cluster is created through ctypes on the librdkafka bundled with confluent-kafka
(`rd_kafka_mock_cluster_new`), which also gives the mock's topic admin calls. The control
endpoint (plain HTTP, JSON) exposes them, because the mock broker does NOT answer the Kafka
CreateTopics/DeleteTopics requests (they are absent from its ApiVersions: AdminClient
create_topics/delete_topics time out "waiting for controller"):
  GET    /topics                      -> {"topics": {"NAME": PARTITIONS, ...}} (from Metadata)
  POST   /topics {"topic": T, "partitions": N, "replication_factor": R}
                                      -> 201 {"created": T} | 409 {"error": "..."} exists
  DELETE /topics/NAME                 -> 200 {"deleted": NAME} | 404 {"error": "..."}
integration/fakes/kafka-topics.sh uses it through $STANDIN_KAFKA_CONTROL.

Works (measured with kcat 1.7.1): Metadata (`kcat -L`), Produce (`kcat -P`, topics auto-create
on produce with 4 partitions, replication min(3, brokers)), Fetch/ListOffsets (`kcat -C -o
beginning -e`), consumer groups (FindCoordinator/JoinGroup/SyncGroup/OffsetCommit/Fetch).

NOT modelled: CreateTopics/DeleteTopics/CreatePartitions/DescribeConfigs/AlterConfigs over the
Kafka protocol (use the control endpoint), topic configs (retention, cleanup.policy...),
replication (replicas are bookkeeping only; replication_factor is accepted and ignored by the
mock beyond metadata), persistence (all data is in memory and gone on exit), TLS, SASL,
ACLs, quotas, KRaft controllers, the broker metrics that KMinion/Prometheus scrape.
"""
import argparse
import ctypes
import glob
import json
import os
import signal
import stat
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import confluent_kafka
from confluent_kafka.admin import AdminClient

ERR_UNKNOWN_TOPIC = 3
ERR_TOPIC_EXISTS = 36


def load_librdkafka():
    """The librdkafka that confluent-kafka bundles (wheel: confluent_kafka.libs/), else the system's."""
    site = os.path.dirname(os.path.dirname(confluent_kafka.__file__))
    cands = glob.glob(os.path.join(site, "confluent_kafka.libs", "librdkafka*.so*"))
    lib = ctypes.CDLL(cands[0] if cands else "librdkafka.so.1")
    vp, cp = ctypes.c_void_p, ctypes.c_char_p
    lib.rd_kafka_conf_new.restype = vp
    lib.rd_kafka_conf_set.argtypes = [vp, cp, cp, cp, ctypes.c_size_t]
    lib.rd_kafka_new.restype = vp
    lib.rd_kafka_new.argtypes = [ctypes.c_int, vp, cp, ctypes.c_size_t]
    lib.rd_kafka_destroy.argtypes = [vp]
    lib.rd_kafka_mock_cluster_new.restype = vp
    lib.rd_kafka_mock_cluster_new.argtypes = [vp, ctypes.c_int]
    lib.rd_kafka_mock_cluster_destroy.argtypes = [vp]
    lib.rd_kafka_mock_cluster_bootstraps.restype = cp
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [vp]
    lib.rd_kafka_mock_topic_create.argtypes = [vp, cp, ctypes.c_int, ctypes.c_int]
    lib.rd_kafka_mock_topic_delete.argtypes = [vp, cp]
    return lib


class Mock:
    def __init__(self, brokers):
        self.lib = load_librdkafka()
        err = ctypes.create_string_buffer(512)
        conf = self.lib.rd_kafka_conf_new()
        self.lib.rd_kafka_conf_set(conf, b"log_level", b"3", err, 512)
        self.rk = self.lib.rd_kafka_new(0, conf, err, 512)  # RD_KAFKA_PRODUCER: only hosts the mock
        if not self.rk:
            raise SystemExit(f"rd_kafka_new: {err.value.decode()}")
        self.mc = self.lib.rd_kafka_mock_cluster_new(self.rk, brokers)
        if not self.mc:
            raise SystemExit("rd_kafka_mock_cluster_new failed")
        self.bootstrap = self.lib.rd_kafka_mock_cluster_bootstraps(self.mc).decode()
        self.lock = threading.Lock()

    def topics(self):
        md = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 3}).list_topics(timeout=10)
        return {t: len(m.partitions) for t, m in md.topics.items()}

    def create(self, topic, partitions, rf):
        with self.lock:
            return self.lib.rd_kafka_mock_topic_create(self.mc, topic.encode(), partitions, rf)

    def delete(self, topic):
        with self.lock:
            return self.lib.rd_kafka_mock_topic_delete(self.mc, topic.encode())

    def close(self):
        self.lib.rd_kafka_mock_cluster_destroy(self.mc)
        self.lib.rd_kafka_destroy(self.rk)


def serve_control(mock, port):
    class Handler(BaseHTTPRequestHandler):
        def reply(self, code, obj):
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.rstrip("/") == "/topics":
                return self.reply(200, {"topics": mock.topics()})
            self.reply(404, {"error": f"no {self.path}"})

        def do_POST(self):
            if self.path.rstrip("/") != "/topics":
                return self.reply(404, {"error": f"no {self.path}"})
            n = int(self.headers.get("Content-Length") or 0)
            req = json.loads(self.rfile.read(n) or b"{}")
            topic = req.get("topic") or ""
            if not topic:
                return self.reply(400, {"error": "topic is required"})
            if topic in mock.topics():
                return self.reply(409, {"error": f"Topic '{topic}' already exists."})
            rc = mock.create(topic, int(req.get("partitions") or 1), int(req.get("replication_factor") or 1))
            if rc == ERR_TOPIC_EXISTS:
                return self.reply(409, {"error": f"Topic '{topic}' already exists."})
            if rc:
                return self.reply(500, {"error": f"rd_kafka_mock_topic_create: error {rc}"})
            self.reply(201, {"created": topic})

        def do_DELETE(self):
            parts = self.path.strip("/").split("/")
            if len(parts) != 2 or parts[0] != "topics":
                return self.reply(404, {"error": f"no {self.path}"})
            rc = mock.delete(parts[1])
            if rc == ERR_UNKNOWN_TOPIC:
                return self.reply(404, {"error": f"Topic '{parts[1]}' does not exist"})
            if rc:
                return self.reply(500, {"error": f"rd_kafka_mock_topic_delete: error {rc}"})
            self.reply(200, {"deleted": parts[1]})

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brokers", type=int, default=1)
    ap.add_argument("--control-port", type=int, default=0)
    args = ap.parse_args()
    t0 = time.time()
    mock = Mock(args.brokers)
    deadline = time.time() + 30
    while True:  # a Metadata round trip before saying BOOTSTRAP
        try:
            mock.topics()
            break
        except Exception as e:  # noqa: BLE001
            if time.time() > deadline:
                raise SystemExit(f"the mock cluster never answered Metadata: {e}")
            time.sleep(0.1)
    srv = serve_control(mock, args.control_port)
    print(f"BOOTSTRAP {mock.bootstrap}", flush=True)
    print(f"CONTROL http://127.0.0.1:{srv.server_address[1]}", flush=True)
    print(f"# ready in {time.time() - t0:.3f}s", file=sys.stderr, flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    def watch_stdin():
        try:  # os.read: a buffered stdin read in a daemon thread breaks interpreter shutdown
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        done.set()

    try:  # only a pipe counts: a stdin of /dev/null (or a terminal) would end the mock at once
        piped = stat.S_ISFIFO(os.fstat(0).st_mode)
    except OSError:
        piped = False
    if piped:
        threading.Thread(target=watch_stdin, daemon=True).start()
    while not done.wait(0.5):
        pass
    srv.shutdown()
    mock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
