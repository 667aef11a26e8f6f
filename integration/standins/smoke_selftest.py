#!/usr/bin/env python3
"""Self-test of the stand-ins working together (no alpaka binary involved): kafka_mock.py (a real
Kafka-protocol peer) + kube_api.py (--run-jobs, --host-map, --proxy-map, --on-apply) +
web_fakes.py + connect_source.py + integration/fakes/kafka-topics.sh, driven by plain HTTP the
way kube-rs would drive the API (server-side apply: PATCH, Content-Type
application/apply-patch+yaml, JSON body, ?fieldManager=...).

Run: $ALPAKA_TEST_PYTHON integration/standins/smoke_selftest.py   (needs confluent-kafka and kcat)
Exit 0 and `SMOKE OK` when everything held; prints timings. Everything it starts is stopped on
exit (their stdin is a pipe from this process, and they get SIGTERM).
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FAKES = os.path.join(os.path.dirname(HERE), "fakes")
PY = os.environ.get("ALPAKA_TEST_PYTHON") or sys.executable
IN_CLUSTER = "alpaka-kafka-bootstrap.alpaka.svc:9093"
procs = []


def start(args, env=None):
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    procs.append(p)
    return p


def http(method, url, body=None, ctype=None, accept=None):
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    if accept:
        req.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def check(cond, what):
    if not cond:
        raise SystemExit(f"SMOKE FAILED: {what}")
    print(f"ok - {what}", flush=True)


def main():
    tmp = tempfile.mkdtemp(prefix="standin-smoke-")
    t0 = time.time()
    mock = start([PY, os.path.join(HERE, "kafka_mock.py")])
    bootstrap = mock.stdout.readline().split()[1]
    control = mock.stdout.readline().split()[1]
    print(f"# kafka mock ready in {time.time() - t0:.2f}s at {bootstrap}", flush=True)

    web_cfg = os.path.join(tmp, "web.json")
    apps = [{"name": "grafana", "kind": "grafana"},
            {"name": "prometheus", "kind": "prometheus", "targets": [
                {"scrapePool": "podMonitor/alpaka/strimzi-kafka/0", "job": "alpaka/strimzi-kafka",
                 "pod": "alpaka-broker-0", "health": "up"},
                {"scrapePool": "serviceMonitor/alpaka/kminion/0", "job": "kminion", "pod": "kminion-abc",
                 "container": "kminion", "health": "up"}]},
            {"name": "ui", "kind": "kafbat"}, {"name": "headlamp", "kind": "headlamp"},
            {"name": "srccon", "kind": "connect", "plugins": [
                {"class": "io.confluent.connect.jdbc.JdbcSourceConnector", "type": "source", "version": "10.8.4"}]},
            {"name": "ksqldb", "kind": "ksqldb", "bootstrap": bootstrap, "query_timeout": 10}]
    with open(web_cfg, "w") as f:
        json.dump({"apps": apps, "overrides": {}}, f)
    web = start([PY, os.path.join(HERE, "web_fakes.py"), "--config", web_cfg])
    ports = {}
    for line in web.stdout:
        if line.strip() == "READY":
            break
        _, name, port = line.split()
        ports[name] = int(port)

    hosts, pmap, hooks, world = (os.path.join(tmp, n) for n in ("hosts.json", "proxy.json", "hooks.json", "world.json"))
    with open(hosts, "w") as f:
        json.dump({IN_CLUSTER: bootstrap}, f)
    proxies = {"alpaka/grafana:80": f"http://127.0.0.1:{ports['grafana']}",
               "monitoring/prometheus-operated:9090": f"http://127.0.0.1:{ports['prometheus']}",
               "alpaka/ksqldb:8088": f"http://127.0.0.1:{ports['ksqldb']}",
               "alpaka/srccon-connect-api:8083": f"http://127.0.0.1:{ports['srccon']}",
               "alpaka/down:80": "http://127.0.0.1:9"}
    with open(pmap, "w") as f:
        json.dump(proxies, f)
    with open(hooks, "w") as f:
        json.dump([{"kind": "KafkaConnector", "name_regex": "^alpaka-test-",
                    "command": [PY, os.path.join(HERE, "connect_source.py")]}], f)
    with open(world, "w") as f:
        json.dump({"gitVersion": "v1.34.1+k3s1"}, f)
    env = dict(os.environ, STANDIN_BOOTSTRAP=bootstrap, STANDIN_KAFKA_CONTROL=control, ALPAKA_TEST_PYTHON=PY,
               ALPAKA_FAKE_LOG=os.path.join(tmp, "fake.log"))
    log = os.path.join(tmp, "api.log")
    api = start([sys.executable, os.path.join(HERE, "kube_api.py"), "--world", world,
                 "--kubeconfig", os.path.join(tmp, "kubeconfig"), "--log", log, "--run-jobs",
                 "--job-path", FAKES, "--host-map", hosts, "--proxy-map", pmap, "--on-apply", hooks], env=env)
    base = "http://127.0.0.1:" + api.stdout.readline().split()[1]

    def apply(path, obj):
        code, text = http("PATCH", f"{base}{path}?fieldManager=smoke&force=true", obj, "application/apply-patch+yaml")
        check(code == 200, f"apply {obj['kind']} {obj['metadata']['name']} ({code})")
        return json.loads(text)

    def get(path):
        code, text = http("GET", base + path)
        return code, (json.loads(text) if text.startswith("{") else text)

    def wait_job(name, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            _, job = get(f"/apis/batch/v1/namespaces/alpaka/jobs/{name}")
            conds = job.get("status", {}).get("conditions") or []
            if conds:
                return job, conds[-1]
            time.sleep(0.2)
        raise SystemExit(f"SMOKE FAILED: job {name} never finished")

    # 1. A Secret and a Job producing 5 records with kcat to the in-cluster bootstrap, consuming them back.
    apply("/api/v1/namespaces/alpaka/secrets/smoke-creds",
          {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "smoke-creds"},
           "data": {"password": base64.b64encode(b"s3cret").decode()}})
    script = ('set -e; kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --topic smoke --partitions 1 '
              '--replication-factor 1; '
              'for i in 1 2 3 4 5; do echo "{\\"n\\": $i}"; done | kcat -P -b "$BOOTSTRAP" -t smoke; '
              'echo "consumed $(kcat -C -b "$BOOTSTRAP" -t smoke -o beginning -e -q | wc -l) records"; '
              'echo "password length ${#PASSWORD}"')
    t1 = time.time()
    apply("/apis/batch/v1/namespaces/alpaka/jobs/smoke-kafka",
          {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "smoke-kafka"},
           "spec": {"backoffLimit": 0, "activeDeadlineSeconds": 60, "template": {"metadata": {"labels": {"app": "smoke"}}, "spec": {
               "restartPolicy": "Never", "containers": [{
                   "name": "check", "image": "edenhill/kcat:1.7.1", "command": ["/bin/sh", "-c"], "args": [script],
                   "env": [{"name": "BOOTSTRAP", "value": IN_CLUSTER},
                           {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "smoke-creds", "key": "password"}}}]}]}}}})
    job, cond = wait_job("smoke-kafka")
    print(f"# kafka job done in {time.time() - t1:.2f}s", flush=True)
    _, pods = get("/api/v1/namespaces/alpaka/pods?labelSelector=batch.kubernetes.io/job-name=smoke-kafka")
    pod = pods["items"][0]
    _, text = get(f"/api/v1/namespaces/alpaka/pods/{pod['metadata']['name']}/log?container=check")
    check(cond["type"] == "Complete" and job["status"].get("succeeded") == 1, f"job Complete ({cond}) log={text!r}")
    check(pod["status"]["phase"] == "Succeeded"
          and pod["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed", "pod Succeeded")
    check("Created topic smoke." in text and "consumed 5 records" in text and "password length 6" in text,
          "pod log: topic created, 5 records back, secret resolved")
    _, tail = get(f"/api/v1/namespaces/alpaka/pods/{pod['metadata']['name']}/log?tailLines=1")
    check(tail == "password length 6\n", "tailLines=1")

    # 2. A KafkaConnector named alpaka-test-*: the hook produces 10000 rows to prefix+table,
    #    logged in as its KafkaConnect says (this one: plaintext, no authentication, like the mock).
    t2 = time.time()
    apply("/apis/kafka.strimzi.io/v1/namespaces/alpaka/kafkaconnects/srccon",
          {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaConnect", "metadata": {"name": "srccon"},
           "spec": {"replicas": 1, "bootstrapServers": IN_CLUSTER}})
    apply("/apis/kafka.strimzi.io/v1/namespaces/alpaka/kafkaconnectors/alpaka-test-x-jdbc",
          {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaConnector", "metadata": {"name": "alpaka-test-x-jdbc",
           "labels": {"strimzi.io/cluster": "srccon"}}, "spec": {
              "class": "io.confluent.connect.jdbc.JdbcSourceConnector", "tasksMax": 1, "config": {
                  "connection.url": "jdbc:mysql://mysql.alpaka.svc:3306/test", "mode": "incrementing",
                  "incrementing.column.name": "id", "table.whitelist": "person", "topic.prefix": "alpaka-test-x-",
                  "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                  "value.converter.schemas.enable": "false"}}})
    end = time.time() + 60
    while time.time() < end and "HOOK KafkaConnector alpaka/alpaka-test-x-jdbc exit=" not in open(log).read():
        time.sleep(0.1)
    hook_s = time.time() - t2
    lines = [ln for ln in open(log).read().splitlines() if ln.startswith("HOOK")]
    check(any(ln.endswith("exit=0") for ln in lines), f"hook ran: {lines}")
    out = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", "alpaka-test-x-person", "-o", "beginning", "-e", "-q"],
                         capture_output=True, text=True, timeout=60).stdout.splitlines()
    check(len(out) == 10000 and json.loads(out[0]).keys() == {"id", "name", "age"},
          f"10000 person rows in alpaka-test-x-person (hook {hook_s:.2f}s)")

    # 3. The service proxy.
    code, text = http("GET", f"{base}/api/v1/namespaces/alpaka/services/grafana:80/proxy/api/health")
    check(code == 200 and json.loads(text)["database"] == "ok", f"proxy GET grafana /api/health: {text}")
    code, text = http("GET", f"{base}/api/v1/namespaces/alpaka/services/http:grafana:80/proxy/api/health")
    check(code == 200, "proxy spelling http:NAME:PORT")
    code, text = http("GET", f"{base}/api/v1/namespaces/monitoring/services/prometheus-operated:9090/proxy/api/v1/targets?state=active")
    tg = json.loads(text)["data"]["activeTargets"]
    check(code == 200 and [t["labels"]["job"] for t in tg] == ["alpaka/strimzi-kafka", "kminion"], "proxy prometheus targets")
    ksql = "application/vnd.ksql.v1+json"
    code, text = http("POST", f"{base}/api/v1/namespaces/alpaka/services/ksqldb:8088/proxy/ksql",
                      {"ksql": "SHOW TOPICS;", "streamsProperties": {}}, ksql, ksql)
    topics = [t["name"] for t in json.loads(text)[0]["topics"]]
    check(code == 200 and "smoke" in topics and "alpaka-test-x-person" in topics, f"proxy POST ksqldb SHOW TOPICS: {topics}")
    code, text = http("POST", f"{base}/api/v1/namespaces/alpaka/services/ksqldb:8088/proxy/ksql",
                      {"ksql": "CREATE STREAM person_s (id INT, name VARCHAR, age INT) WITH (kafka_topic='alpaka-test-x-person', value_format='JSON');",
                       "streamsProperties": {}}, ksql, ksql)
    check(code == 200 and json.loads(text)[0]["commandStatus"]["status"] == "SUCCESS", f"CREATE STREAM: {text}")
    code, text = http("POST", f"{base}/api/v1/namespaces/alpaka/services/ksqldb:8088/proxy/query",
                      {"ksql": "SELECT * FROM person_s EMIT CHANGES LIMIT 3;",
                       "streamsProperties": {"ksql.streams.auto.offset.reset": "earliest"}}, ksql, ksql)
    q = json.loads(text)
    check(code == 200 and q[0]["header"]["schema"] == "`ID` INTEGER, `NAME` STRING, `AGE` INTEGER"
          and len(q) == 5 and q[-1] == {"finalMessage": "Limit Reached"}, f"/query LIMIT 3: {q[:2]}...")
    code, text = http("POST", f"{base}/api/v1/namespaces/alpaka/services/ksqldb:8088/proxy/ksql",
                      {"ksql": "CREATE STREAM nope (id INT) WITH (kafka_topic='no-such-topic', value_format='JSON');"}, ksql, ksql)
    check(code == 400 and json.loads(text)["message"] == "Kafka topic does not exist: no-such-topic", "unknown topic -> 400")
    code, text = http("GET", f"{base}/api/v1/namespaces/alpaka/services/nothere:80/proxy/")
    st = json.loads(text)
    check(code == 404 and st["reason"] == "NotFound" and st["message"] == 'services "nothere" not found', "unmapped -> 404")
    code, text = http("GET", f"{base}/api/v1/namespaces/alpaka/services/down:80/proxy/")
    check(code == 503 and "connection refused" in json.loads(text)["message"], "refused -> 503")
    with open(web_cfg, "w") as f:
        json.dump({"apps": apps, "overrides": {"grafana": {"status": 503, "body": "grafana is down"}}}, f)
    code, text = http("GET", f"{base}/api/v1/namespaces/alpaka/services/grafana:80/proxy/api/health")
    check(code == 503 and text == "grafana is down", "override flips grafana to 503, passed through the proxy")

    # 4. A Job over its activeDeadlineSeconds.
    t4 = time.time()
    apply("/apis/batch/v1/namespaces/alpaka/jobs/smoke-slow",
          {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "smoke-slow"},
           "spec": {"activeDeadlineSeconds": 1, "template": {"spec": {"containers": [{
               "name": "c", "image": "busybox", "command": ["/bin/sh", "-c", "echo start; sleep 30"]}]}}}})
    job, cond = wait_job("smoke-slow", timeout=15)
    check(cond["type"] == "Failed" and cond["reason"] == "DeadlineExceeded" and time.time() - t4 < 5,
          f"deadline job Failed/DeadlineExceeded after {time.time() - t4:.1f}s")
    # 5. A failing Job and a deleted running Job.
    apply("/apis/batch/v1/namespaces/alpaka/jobs/smoke-fail",
          {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "smoke-fail"},
           "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x", "command": ["/bin/sh", "-c", "echo boom >&2; exit 2"]}]}}}})
    job, cond = wait_job("smoke-fail")
    check(cond["type"] == "Failed" and cond["reason"] == "BackoffLimitExceeded" and job["status"]["failed"] == 1, "failing job")
    code, _ = http("DELETE", f"{base}/apis/batch/v1/namespaces/alpaka/jobs/smoke-fail")
    _, pods = get("/api/v1/namespaces/alpaka/pods?labelSelector=job-name=smoke-fail")
    check(code == 200 and pods["items"] == [], "deleting a Job deletes its pods")
    print(f"# total {time.time() - t0:.1f}s", flush=True)
    print("SMOKE OK", flush=True)
    return 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
    sys.exit(rc)
