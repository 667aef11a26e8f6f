#!/usr/bin/env python3
"""Fake web apps of the alpaka platform, for `alpaka test`'s HTTP checks through the Kubernetes
API service proxy (kube_api.py --proxy-map points services at these ports): Grafana, Prometheus,
kafbat UI, Headlamp, Kafka Connect's REST API, and a ksqlDB server backed by a REAL Kafka peer
(kafka_mock.py).

Start: web_fakes.py --config CONFIG.json      (python with confluent-kafka, for the ksqldb kind)
Prints `PORT <name> <port>` per app (127.0.0.1, one port each, in config order) once all serve,
then `READY`, flushed; runs until SIGTERM/SIGINT or, when stdin is a pipe, until it closes.
The config is read again on every request (ports are fixed at start: apps added later are not
served), so a test flips a failure by rewriting it:
  {"apps": [{"name": "grafana", "kind": "grafana"},
            {"name": "prometheus", "kind": "prometheus", "targets": [
               {"scrapePool": "podMonitor/alpaka/strimzi-kafka/0", "job": "alpaka/strimzi-kafka",
                "pod": "alpaka-broker-0", "health": "up"}, ...]},
            {"name": "ui", "kind": "kafbat"}, {"name": "headlamp", "kind": "headlamp"},
            {"name": "srccon", "kind": "connect", "plugins": [{"class": "...", "type": "source",
               "version": "..."}], "running": ["extra-connector-name"]},
            {"name": "ksqldb", "kind": "ksqldb", "bootstrap": "127.0.0.1:NNNN",
             "kafka_config": "FILE (optional: librdkafka key=value lines, e.g. SASL_SSL login)"}],
   "overrides": {"grafana": {"status": 503, "body": "..." | {...}, "content_type": "..."}}}
An override answers every request of that app with its status and body (a dict/list body is
sent as JSON).

Behaviours (the shapes come from each product's documentation, cited beside each handler):
- grafana: GET /api/health -> 200 {"commit", "database": "ok", "version"}.
- prometheus: GET /-/ready -> 200 text; GET /api/v1/targets[?state=active|dropped|any] ->
  {"status": "success", "data": {"activeTargets": [...], "droppedTargets": []}}; each target
  from the config's `targets` (keys: scrapePool, job, pod, health up|down|unknown, and optional
  namespace, container, endpoint, instance, lastError, scrapeUrl).
- kafbat: GET /actuator/health -> 200 {"status": "UP"}.
- headlamp: GET / -> 200 HTML.
- connect: GET / -> {"version", "commit", "kafka_cluster_id"}; GET /connector-plugins -> the
  config's plugins; GET /connectors/NAME/status -> RUNNING for names starting `alpaka-test-`
  (or listed in `running`), else 404 {"error_code": 404, "message": "No status found for
  connector NAME"}.
- ksqldb: POST /ksql: `SHOW TOPICS;` (the mock cluster's topics, names starting `_` left out as
  ksqlDB hides internal topics), `CREATE STREAM n (col TYPE, ...) WITH (kafka_topic='t',
  value_format='JSON');`, `DROP STREAM [IF EXISTS] n;`; POST /query: `SELECT * | cols FROM n
  EMIT CHANGES LIMIT k;` consumes up to k JSON records from the stream's topic (from the
  beginning when streamsProperties has ksql.streams.auto.offset.reset=earliest, else only new
  ones) and answers the documented JSON array (the shapes of confluentinc/ksql v8.3.1,
  `ksqldb-rest-model/.../StreamedRow.java`: header, `row.columns`, finalMessage, errorMessage,
  as served by cp-ksqldb-server 8.3; /info reports that version). Anything else: 400 statement_error "unsupported
  by the stand-in".
Other paths: 404 (JSON or text, per app).

NOT modelled: authentication, real metrics, dashboards, datasources; Prometheus queries
(/api/v1/query...), scraping (targets are what the config says), droppedTargets contents;
Kafka Connect connector CRUD, config validation, restarts, task traces; ksqlDB persistent
queries, tables, WHERE/GROUP BY/joins/functions, value formats other than JSON, key columns,
ROWTIME/ROWPARTITION pseudo columns, /query-stream (HTTP/2), streaming a /query answer
chunk by chunk (the whole array is sent once the LIMIT is reached or after `query_timeout`
seconds, default 30, without a finalMessage), persistence of streams across restarts,
commandSequenceNumber semantics (a counter). ksqlDB identifiers are upper-cased unless quoted
with backticks.
"""
import argparse
import itertools
import json
import os
import re
import signal
import stat
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

CONFIG = None
STREAMS = {}  # ksqldb app name -> {STREAM: {"topic": t, "columns": [(NAME, TYPE)]}}
STREAMS_LOCK = threading.Lock()
SEQ = itertools.count(1)


def config():
    with open(CONFIG, encoding="utf-8") as f:
        return json.load(f)


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())


# ---- grafana: https://grafana.com/docs/grafana/latest/developers/http_api/other/#health-api
# ("Returns health information about Grafana", GET /api/health, example
#  {"commit": "087143285", "database": "ok", "version": "5.1.3"}).
def grafana(app, method, path, query, body):
    if method == "GET" and path == "/api/health":
        return 200, {"commit": "standin", "database": "ok", "version": app.get("version", "12.1.1")}
    return 404, {"message": "Not found"}


# ---- prometheus: https://prometheus.io/docs/prometheus/latest/querying/api/#targets
# (GET /api/v1/targets, `state=active|dropped|any`; active targets carry discoveredLabels,
# labels, scrapePool, scrapeUrl, globalUrl, lastError, lastScrape, lastScrapeDuration, health,
# scrapeInterval, scrapeTimeout) and .../management_api/#readiness-check (GET /-/ready, 200).
# Scrape pools and the `job` label as the Prometheus Operator generates them
# (prometheus-operator pkg/prometheus/promcfg.go: job_name "podMonitor/<ns>/<name>/<i>" and
# "serviceMonitor/<ns>/<name>/<i>"; the job label is "<ns>/<podmonitor>" for a PodMonitor, the
# Service's name (or its jobLabel) for a ServiceMonitor).
def target(t, i):
    pool = t.get("scrapePool", f"podMonitor/alpaka/standin/{i}")
    parts = pool.split("/")
    ns = t.get("namespace", parts[1] if len(parts) > 2 else "alpaka")
    instance = t.get("instance", f"10.42.0.{10 + i}:{t.get('port', 9404)}")
    health = t.get("health", "up")
    url = t.get("scrapeUrl", f"http://{instance}/metrics")
    labels = {"job": t.get("job", pool), "namespace": ns, "pod": t.get("pod", f"pod-{i}"),
              "container": t.get("container", "kafka"), "endpoint": t.get("endpoint", "tcp-prometheus"),
              "instance": instance}
    return {"discoveredLabels": {}, "labels": labels, "scrapePool": pool, "scrapeUrl": url,
            "globalUrl": url, "lastError": t.get("lastError", "" if health == "up" else
                                                  f'Get "{url}": dial tcp {instance}: connect: connection refused'),
            "lastScrape": now(), "lastScrapeDuration": 0.012, "health": health,
            "scrapeInterval": t.get("scrapeInterval", "10s"), "scrapeTimeout": t.get("scrapeTimeout", "5s")}


def prometheus(app, method, path, query, body):
    if method == "GET" and path == "/-/ready":
        return 200, "Prometheus Server is Ready.\n"
    if method == "GET" and path == "/-/healthy":
        return 200, "Prometheus Server is Healthy.\n"
    if method == "GET" and path == "/api/v1/targets":
        state = (query.get("state") or ["any"])[0]
        active = [target(t, i) for i, t in enumerate(app.get("targets", []))]
        if state == "dropped":
            active = []
        return 200, {"status": "success", "data": {"activeTargets": active, "droppedTargets": []}}
    return 404, "404 page not found\n"


# ---- kafbat UI: a Spring Boot app; its health is Spring Boot Actuator's
# https://docs.spring.io/spring-boot/reference/actuator/endpoints.html#actuator.endpoints.health
# (GET /actuator/health -> {"status": "UP"} when details are not shown).
def kafbat(app, method, path, query, body):
    if method == "GET" and path == "/actuator/health":
        return 200, {"status": "UP"}
    return 404, {"timestamp": now(), "status": 404, "error": "Not Found", "path": path}


# ---- headlamp: the web UI's index page (https://headlamp.dev/docs/latest/installation/in-cluster/).
def headlamp(app, method, path, query, body):
    if method == "GET" and path in ("/", "/index.html"):
        return 200, ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"/>"
                     "<title>Headlamp</title></head><body><div id=\"root\"></div></body></html>\n", "text/html; charset=utf-8")
    return 404, "404 page not found\n"


# ---- Kafka Connect REST API: https://kafka.apache.org/documentation/#connect_rest and
# https://docs.confluent.io/platform/current/connect/references/restapi.html
# (GET / -> version/commit/kafka_cluster_id; GET /connector-plugins -> [{class, type, version}];
# GET /connectors/{name}/status -> {name, connector: {state, worker_id}, tasks: [{id, state,
# worker_id}], type}; unknown connector: 404 {"error_code": 404, "message": "No status found
# for connector NAME"}).
def connect(app, method, path, query, body):
    worker = app.get("worker_id", "10.42.0.20:8083")
    if method == "GET" and path == "/":
        return 200, {"version": app.get("version", "4.1.0"), "commit": "standin0000000000",
                     "kafka_cluster_id": app.get("kafka_cluster_id", "standin-cluster-id")}
    if method == "GET" and path == "/connector-plugins":
        return 200, [{"class": p["class"], "type": p.get("type", "source"), "version": p.get("version", "10.8.4")}
                     for p in app.get("plugins", [])]
    m = re.fullmatch(r"/connectors/([^/]+)/status", path)
    if method == "GET" and m:
        name = m.group(1)
        if name.startswith("alpaka-test-") or name in app.get("running", []):
            return 200, {"name": name, "connector": {"state": "RUNNING", "worker_id": worker},
                         "tasks": [{"id": 0, "state": "RUNNING", "worker_id": worker}],
                         "type": app.get("connector_type", "source")}
        return 404, {"error_code": 404, "message": f"No status found for connector {name}"}
    return 404, {"error_code": 404, "message": "HTTP 404 Not Found"}


# ---- ksqlDB REST API: /ksql https://docs.ksqldb.io/en/latest/developer-guide/ksqldb-rest-api/ksql-endpoint/
# (array of results; SHOW TOPICS -> {"@type": "kafka_topics", "statementText", "topics": [{"name",
# "replicaInfo": [replicas per partition]}], "warnings"}; CREATE/DROP -> {"@type": "currentStatus",
# "statementText", "commandId", "commandStatus": {"status", "message"}, "commandSequenceNumber",
# "warnings"}; errors -> HTTP 400 {"@type": "statement_error", "error_code": 40001, "message",
# "statementText", "entities": []}); /query
# https://docs.ksqldb.io/en/latest/developer-guide/ksqldb-rest-api/query-endpoint/ (an array:
# {"header": {"queryId", "schema": "`COL` TYPE, ..."}}, {"row": {"columns": [...]}}...,
# {"finalMessage": "Limit Reached"}).
KSQL_TYPES = {"INT": "INTEGER", "INTEGER": "INTEGER", "BIGINT": "BIGINT", "DOUBLE": "DOUBLE",
              "BOOLEAN": "BOOLEAN", "VARCHAR": "STRING", "STRING": "STRING", "DECIMAL": "DECIMAL"}


def ident(s):
    s = s.strip()
    return s[1:-1] if s.startswith("`") and s.endswith("`") else s.upper()


def stmt_error(text, message, code=400):
    return code, {"@type": "statement_error", "error_code": 40001, "message": message,
                  "statementText": text, "entities": []}


def kafka_login(app):
    """librdkafka settings from the app's `kafka_config` (a `key=value` properties file), if any."""
    conf = {}
    if app.get("kafka_config"):
        with open(app["kafka_config"], encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    k, v = line.split("=", 1)
                    conf[k.strip()] = v.strip()
    return conf


def ksql_topics(app):
    from confluent_kafka.admin import AdminClient
    conf = {"bootstrap.servers": app["bootstrap"], "log_level": 3, **kafka_login(app)}
    md = AdminClient(conf).list_topics(timeout=10)
    return {t: [len(p.replicas) for _, p in sorted(m.partitions.items())] for t, m in md.topics.items()}


def ksqldb(app, method, path, query, body):
    if method == "GET" and path in ("/info", "/healthcheck"):
        return 200, ({"KsqlServerInfo": {"version": "8.3.0", "kafkaClusterId": "standin", "ksqlServiceId": "alpaka_",
                                         "serverStatus": "RUNNING"}} if path == "/info" else
                     {"isHealthy": True, "details": {"metastore": {"isHealthy": True}, "kafka": {"isHealthy": True}}})
    if method != "POST" or path not in ("/ksql", "/query"):
        return 404, {"@type": "generic_error", "error_code": 40400, "message": "HTTP 404 Not Found"}
    try:
        req = json.loads(body or b"{}")
    except ValueError as e:
        return 400, {"@type": "generic_error", "error_code": 40000, "message": f"Invalid JSON: {e}"}
    text = (req.get("ksql") or "").strip()
    props = req.get("streamsProperties") or req.get("properties") or {}
    streams = STREAMS.setdefault(app["name"], {})
    if path == "/query":
        return ksql_query(app, text, props, streams)
    if re.fullmatch(r"(?is)(SHOW|LIST)\s+TOPICS\s*;?", text):
        topics = ksql_topics(app)
        return 200, [{"@type": "kafka_topics", "statementText": text, "warnings": [],
                      "topics": [{"name": t, "replicaInfo": r} for t, r in sorted(topics.items()) if not t.startswith("_")]}]
    m = re.fullmatch(r"(?is)CREATE\s+STREAM\s+(`[^`]+`|\w+)\s*\((.*)\)\s*WITH\s*\((.*)\)\s*;?", text)
    if m:
        name = ident(m.group(1))
        cols = []
        for c in m.group(2).split(","):
            parts = c.split()
            if len(parts) < 2 or parts[1].upper().split("(")[0] not in KSQL_TYPES:
                return stmt_error(text, f"unsupported by the stand-in: column {c.strip()!r}")
            cols.append((ident(parts[0]), KSQL_TYPES[parts[1].upper().split("(")[0]]))
        opts = {k.lower(): v for k, v in re.findall(r"(\w+)\s*=\s*'([^']*)'", m.group(3))}
        topic = opts.get("kafka_topic")
        if not topic:
            return stmt_error(text, "Missing required property \"KAFKA_TOPIC\" which has no default value.")
        if opts.get("value_format", "").upper() != "JSON":
            return stmt_error(text, "unsupported by the stand-in: value_format other than JSON")
        if topic not in ksql_topics(app):
            return stmt_error(text, f"Kafka topic does not exist: {topic}")
        with STREAMS_LOCK:
            if name in streams:
                return stmt_error(text, f"Cannot add stream '{name}': A stream with the same name already exists")
            streams[name] = {"topic": topic, "columns": cols}
        return 200, [{"@type": "currentStatus", "statementText": text, "commandId": f"stream/`{name}`/create",
                      "commandStatus": {"status": "SUCCESS", "message": "Stream created", "queryId": None},
                      "commandSequenceNumber": next(SEQ), "warnings": []}]
    m = re.fullmatch(r"(?is)DROP\s+STREAM\s+(IF\s+EXISTS\s+)?(`[^`]+`|\w+)\s*;?", text)
    if m:
        name = ident(m.group(2))
        with STREAMS_LOCK:
            s = streams.pop(name, None)
        if s is None and not m.group(1):
            return stmt_error(text, f"Stream {name} does not exist.")
        msg = f"Source `{name}` (topic: {s['topic']}) was dropped." if s else f"Source `{name}` does not exist."
        return 200, [{"@type": "currentStatus", "statementText": text, "commandId": f"stream/`{name}`/drop",
                      "commandStatus": {"status": "SUCCESS", "message": msg, "queryId": None},
                      "commandSequenceNumber": next(SEQ), "warnings": []}]
    return stmt_error(text, "unsupported by the stand-in")


def ksql_query(app, text, props, streams):
    m = re.fullmatch(r"(?is)SELECT\s+(.+?)\s+FROM\s+(`[^`]+`|\w+)\s+EMIT\s+CHANGES(?:\s+LIMIT\s+(\d+))?\s*;?", text)
    if not m:
        return stmt_error(text, "unsupported by the stand-in")
    name = ident(m.group(2))
    s = streams.get(name)
    if s is None:
        return stmt_error(text, f"Exception while preparing statement: {name} does not exist.")
    if m.group(1).strip() == "*":
        cols = s["columns"]
    else:
        known = dict(s["columns"])
        cols = []
        for c in m.group(1).split(","):
            c = ident(c)
            if c not in known:
                return stmt_error(text, f"Exception while preparing statement: Column '{c}' cannot be resolved.")
            cols.append((c, known[c]))
    limit = int(m.group(3)) if m.group(3) else None
    from confluent_kafka import Consumer
    reset = props.get("ksql.streams.auto.offset.reset", props.get("auto.offset.reset", "latest"))
    # A transient query's consumer group is `_confluent-ksql-<service id>transient_…` (ksqlDB
    # QueryIdUtil / "ksql.service.id" docs), within the ACLs alpaka grants its ksqlDB user.
    group = f"_confluent-ksql-alpaka_transient_{uuid.uuid4().hex}"
    consumer = Consumer({"bootstrap.servers": app["bootstrap"], "group.id": group,
                         "auto.offset.reset": reset, "enable.auto.commit": False, "log_level": 3,
                         **kafka_login(app)})
    consumer.subscribe([s["topic"]])
    qid = f"transient_{name}_{uuid.uuid4().int % 10**18}"
    out = [{"header": {"queryId": qid, "schema": ", ".join(f"`{c}` {t}" for c, t in cols)}}]
    deadline = time.time() + float(app.get("query_timeout", 30))
    n = 0
    try:
        while (limit is None or n < limit) and time.time() < deadline:
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            try:
                v = json.loads(msg.value() or b"null")
            except ValueError:
                continue  # ksqlDB skips records it cannot deserialize (processing log)
            if not isinstance(v, dict):
                continue
            lower = {k.upper(): val for k, val in v.items()}
            out.append({"row": {"columns": [lower.get(c) for c, _ in cols]}})
            n += 1
    finally:
        consumer.close()
    if limit is not None and n >= limit:
        out.append({"finalMessage": "Limit Reached"})
    return 200, out


KINDS = {"grafana": grafana, "prometheus": prometheus, "kafbat": kafbat, "headlamp": headlamp,
         "connect": connect, "ksqldb": ksqldb}


def make_handler(name):
    class Handler(BaseHTTPRequestHandler):
        def answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            u = urlparse(self.path)
            cfg = config()
            app = next((a for a in cfg.get("apps", []) if a["name"] == name), None)
            ov = cfg.get("overrides", {}).get(name)
            ctype = None
            if ov is not None:
                code, out = ov.get("status", 500), ov.get("body", "")
                ctype = ov.get("content_type")
            elif app is None:
                code, out = 503, "the app was removed from the config\n"
            else:
                try:
                    code, out = KINDS[app["kind"]](app, self.command, u.path.rstrip("/") or "/", parse_qs(u.query), body)
                except Exception as e:  # noqa: BLE001
                    code, out = 500, {"error": f"stand-in failure: {e!r}"}
            if isinstance(out, tuple):
                out, ctype = out
            if isinstance(out, (dict, list)):
                data = json.dumps(out).encode()
                ctype = ctype or ("application/vnd.ksql.v1+json" if app and app.get("kind") == "ksqldb" else "application/json")
            else:
                data = str(out).encode()
                ctype = ctype or "text/plain; charset=utf-8"
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = answer

        def log_message(self, *a):
            pass

    return Handler


def main():
    global CONFIG
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    args = ap.parse_args()
    CONFIG = args.config
    servers = []
    for app in config().get("apps", []):
        if app.get("kind") not in KINDS:
            raise SystemExit(f"web_fakes: unknown kind {app.get('kind')!r}")
        srv = ThreadingHTTPServer(("127.0.0.1", int(app.get("port", 0))), make_handler(app["name"]))
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append((app["name"], srv))
    for name, srv in servers:
        print(f"PORT {name} {srv.server_address[1]}", flush=True)
    print("READY", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        piped = stat.S_ISFIFO(os.fstat(0).st_mode)
    except OSError:
        piped = False
    if piped:
        def watch():
            try:
                while os.read(0, 4096):
                    pass
            except OSError:
                pass
            done.set()
        threading.Thread(target=watch, daemon=True).start()
    done.wait()
    for _, srv in servers:
        srv.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
