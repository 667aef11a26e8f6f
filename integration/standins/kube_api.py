#!/usr/bin/env python3
"""A small stand-in for the Kubernetes API server, for `alpaka test`'s end-to-end tests.

Every other test runs against the real control plane (integration/controlplane/). This one is
kept for what KWOK cannot do: run a Job's script (kcat against a Kafka peer) and proxy a
Service to a web backend (docs/test-boundaries.md).

Start: kube_api.py --world WORLD.json --kubeconfig OUT [--context NAME] [--port 0]
                   [--log FILE] [--ready-after N] [--decoy]
                   [--proxy-map FILE] [--proxy-timeout SECS]
                   [--run-jobs] [--job-path DIR[:DIR...]] [--host-map FILE] [--on-apply FILE]
                   [--kafka-admin BOOTSTRAP,PROPERTIES] [--user-secrets DIR] [--cluster-ca FILE]
It listens on 127.0.0.1 (plain HTTP), writes a kubeconfig whose context NAME points at it, and
prints `PORT <n>` on stdout once it is serving. With --decoy the kubeconfig's *current* context
is another one ("decoy", pointing at a closed port), so a client that ignores the explicit
context fails.

The world file is read again on every request, so a test changes the cluster by rewriting it:
  {"gitVersion": "v1.34.1+k3s1", "kubeSystemUid": "...",
   "nodes": [{"name": "n1", "labels": {"k": "v"}}], "objects": [<full objects>]}
Objects written through the API (server-side apply) live in memory for the life of the process,
on top of the world's objects; `GET /standin/objects` returns every stored object (a test's view
of "what is in the cluster").

Served:
- GET /version; discovery: /api, /api/v1, /apis, /apis/GROUP/VERSION for the resources in
  RESOURCES (core, apps/v1, batch/v1, networking.k8s.io/v1, rbac.authorization.k8s.io/v1,
  storage.k8s.io/v1, monitoring.coreos.com/v1, kafka.strimzi.io/v1);
- GET one object or a LIST (namespaced or across namespaces; `labelSelector` k=v[,k=v] only);
- PATCH with `application/apply-patch+yaml` (server-side apply; the body must be JSON, as
  kube-rs sends it): requires `fieldManager`, creates the object or replaces the manager's
  applied configuration (so a field left out of the next apply is removed), keeps uid and
  status, bumps `metadata.generation` when anything but metadata/status changed;
- DELETE (immediate: no finalizers, no cascading — a namespace's contents stay until deleted —
  except that a Job's pods go with it);
- GET /api/v1/namespaces/NS/pods/NAME/log (`tailLines`; `container` must name one of the pod's
  containers, else 400), 404 for an unknown pod;
- the service proxy: GET and POST on /api/v1/namespaces/NS/services/SVC/proxy[/PATH][?QUERY],
  SVC spelled `NAME:PORT`, `SCHEME:NAME:PORT` (`http:grafana:80`) or `NAME` (as the real API splits
  it: two parts are NAME:PORT), URL-escaped or not. The backend comes from --proxy-map FILE, JSON
  {"NS/NAME:PORT": "http://127.0.0.1:PPPP"} (an `NS/NAME` key, or for a bare NAME the first
  `NS/NAME:*` key, also serves a request without a port), re-read on every request. Body,
  Content-Type and Accept go to the backend; its status code, body and Content-Type come back
  as-is. No entry: 404 Status `services "NAME" not found` (reason NotFound). Backend refusing the
  connection: 503 Status reason ServiceUnavailable, `error trying to reach service: dial tcp
  HOST:PORT: connect: connection refused`. POST is answered for the proxy only (405 elsewhere).
  No lock is held while a backend answers.
--run-jobs (without it, Jobs flip as below): a Job applied (created) runs its first container's
  `command` + `args` as a local process, in a fresh temp dir (also $HOME), in its own process
  group (a supervisor kills the group if the stand-in dies). Env: the stand-in's own environment,
  PATH = --job-path + the stand-in's PATH, then the container's `env[].value` and
  `env[].valueFrom.secretKeyRef` / `configMapKeyRef` (stored Secrets' `stringData` or base64
  `data`; ConfigMaps' `data`). In-cluster DNS names are mapped to local ports: every occurrence
  of a key of --host-map FILE (JSON {"alpaka-kafka-bootstrap.alpaka.svc:9093": "127.0.0.1:38335"},
  read when the Job starts) in env values, command and args is replaced by its value. A Pod
  `<job>-<5 random chars>` appears (labels: the template's + job-name, batch.kubernetes.io/job-name,
  controller-uid; ownerReferences the Job), phase Running (container state running) then
  Succeeded/Failed (state terminated, exitCode, reason Completed/Error); its log is the process's
  combined stdout+stderr, growing while it runs. Job status: active 1 (ready 1, startTime) while
  running, then succeeded 1 + completionTime + condition Complete "True", or failed 1 + condition
  Failed reason BackoffLimitExceeded. spec.activeDeadlineSeconds: the process group is killed, the
  Job gets condition Failed reason DeadlineExceeded, and its pod is deleted (as the Job controller
  does; the log goes with it). A missing Secret/key, or a container without `command`: the pod
  stays Pending (waiting reason CreateContainerConfigError, no log) and the Job active, until its
  deadline if any. Deleting the Job kills a running process and deletes its pods. Log lines:
  `JOB <ns>/<name> pod=<pod> started`, `JOB <ns>/<name> exit=<rc>`, `JOB <ns>/<name> deadline
  exceeded`, `JOB <ns>/<name> cannot start: <why>`.
--on-apply FILE (JSON list, re-read on every apply): [{"kind": "KafkaConnector", "name_regex":
  "^alpaka-test-", "command": ["python3", "connect_source.py"]}]: after an apply that creates or
  changes a matching object (re.search on the name), the command runs in the background
  (supervised like a Job, PATH as for Jobs) with $STANDIN_OBJECT = the stored object's JSON with
  the host map applied; each output line goes to --log as `HOOK <Kind> <ns>/<name> <line>`, framed
  by `HOOK <Kind> <ns>/<name> start <command JSON>` and `HOOK <Kind> <ns>/<name> exit=<rc>`. This
  stands in for controllers (e.g. Kafka Connect running a JDBC source connector).
--kafka-admin BOOTSTRAP,PROPERTIES: the stand-in plays Strimzi's User Operator against that REAL
  broker, logged in with the librdkafka PROPERTIES file (an identity allowed to alter the
  cluster): a KafkaUser applied (created or changed) gets its SCRAM-SHA-512 credential and
  exactly its ACLs through user_operator.py (its docstring: the mapping, from Strimzi 1.2.0's
  source), then the Secret named after the user (`password`, `sasl.jaas.config`; labels
  strimzi.io/cluster, strimzi.io/kind=KafkaUser) and status Ready with `username`/`secret`; what
  user_operator.py refuses, or a broker error, leaves the KafkaUser NotReady with the reason
  (logged `USER ns/name refused: …`). Deleting a KafkaUser removes its credential, ACLs and
  Secret. Passwords are kept in --user-secrets DIR (default a private temp dir), so a changed
  KafkaUser keeps its password, as the operator keeps the existing Secret's.
--cluster-ca FILE: when a Kafka is applied, Secret `<kafka>-cluster-ca-cert` with `ca.crt` = FILE
  (the Cluster Operator's cluster CA certificate Secret; here the real broker's CA).
Jobs' Secret volumes (--run-jobs): each volumeMount of the first container whose volume is a
  `secret` gets a fresh directory with one file per key (or per `items[]` entry at its `path`),
  and the mount path is rewritten to that directory in env values and the command (like the
  host map). A missing Secret/key that is not `optional` keeps the pod Pending
  (CreateContainerConfigError, message `MountVolume.SetUp failed …`). Hooks get $STANDIN_API,
  this server's URL, to read objects as a controller would.
"Something that flips custom resources to Ready": every GET of an object counts; after
--ready-after reads (default 1) since its last change, Kafka/KafkaConnect/KafkaConnector/KafkaTopic get
`status.conditions=[{type: Ready, status: "True"}]` and `observedGeneration`, Deployments
`updatedReplicas = availableReplicas = spec.replicas`, Jobs `succeeded: 1` and a Complete condition
(without --run-jobs). A failed Job and its pod log are the real control plane's now
(integration/platform_k3d.rs).
Every write is appended to --log as one line: `APPLY <apiVersion> <Kind> <ns>/<name> created|changed|unchanged manager=<m> force=<f>`
or `DELETE <apiVersion> <Kind> <ns>/<name>`.

NOT modelled: authentication and authorization (any credentials pass; no RBAC), TLS, POST/PUT
(except POST through the service proxy) and other patch types (405/415), field ownership between several managers and conflicts,
YAML bodies, resourceVersion checks, watches, field selectors, set-based label selectors,
pagination (`limit` is ignored), admission, defaulting, validation against schemas, finalizers,
garbage collection and namespace cascade, controllers (nothing runs: no pods except, with --run-jobs, each Job's one pod), subresources other than pod logs and the service
proxy. The service proxy: no Service/Endpoints objects are consulted (only the proxy map), no
PUT/PATCH/DELETE through it, no streaming (the backend's whole answer is read, then sent), only
Content-Type and Accept headers are forwarded, https backends. Jobs (--run-jobs): the image is
ignored (the command runs on this machine with whatever is on PATH), as are volumes other than
Secrets (emptyDirs: the process has its temp dir), workingDir, resources, securityContext, init containers and every container but
the first, `parallelism`/`completions` (one pod), `backoffLimit` and restarts (the first failure
fails the Job), restartPolicy, podFailurePolicy, ttlSecondsAfterFinished, suspend, Pending/
ContainerCreating phases (Running at once), SuccessCriteriaMet/FailureTarget conditions, the
grace period on kill (SIGKILL at once), template changes on re-apply (a changed Job does not run
again; delete and re-create it). In-cluster DNS: only the host-map's literal keys are rewritten.
"""
import argparse
import atexit
import base64
import copy
import http.client
import json
import os
import random
import re
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse


def user_operator_module():
    """user_operator.py beside this file, imported when first used (it needs confluent-kafka)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import user_operator
    return user_operator

# (group, version, plural, kind, namespaced)
RESOURCES = [
    ("", "v1", "namespaces", "Namespace", False),
    ("", "v1", "nodes", "Node", False),
    ("", "v1", "configmaps", "ConfigMap", True),
    ("", "v1", "secrets", "Secret", True),
    ("", "v1", "services", "Service", True),
    ("", "v1", "pods", "Pod", True),
    ("", "v1", "serviceaccounts", "ServiceAccount", True),
    ("apps", "v1", "deployments", "Deployment", True),
    ("batch", "v1", "jobs", "Job", True),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", False),
    ("monitoring.coreos.com", "v1", "podmonitors", "PodMonitor", True),
    ("kafka.strimzi.io", "v1", "kafkas", "Kafka", True),
    ("kafka.strimzi.io", "v1", "kafkanodepools", "KafkaNodePool", True),
    ("kafka.strimzi.io", "v1", "kafkaconnects", "KafkaConnect", True),
    ("kafka.strimzi.io", "v1", "kafkaconnectors", "KafkaConnector", True),
    ("kafka.strimzi.io", "v1", "kafkatopics", "KafkaTopic", True),
    ("kafka.strimzi.io", "v1", "kafkausers", "KafkaUser", True),
]
# KafkaUser is flipped only without --kafka-admin (with it, the User Operator stand-in decides).
STRIMZI_READY = {"Kafka", "KafkaConnect", "KafkaConnector", "KafkaTopic"}


def gv_of(group, version):
    return f"{group}/{version}" if group else version


def resource(gv, plural):
    for g, v, p, k, ns in RESOURCES:
        if gv_of(g, v) == gv and p == plural:
            return k, ns
    return None


def status(code, reason, message):
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason, "code": code}


class Raw:
    """A response body passed through as-is (the service proxy's backend answers)."""

    def __init__(self, data, ctype):
        self.data, self.ctype = data, ctype


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read_json(path, default):
    if not path:
        return default
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def map_hosts(text, hosts):
    """Every occurrence of a host-map key (an in-cluster address) replaced by its local address."""
    for k in sorted(hosts, key=len, reverse=True):
        text = text.replace(k, hosts[k])
    return text


# The direct child of every Job/hook process: it runs the command in its own process group and
# kills that whole group if the stand-in goes away (even by SIGKILL), so nothing is left behind.
SUPERVISOR = r"""
import os, signal, subprocess, sys, time
parent = os.getppid()
try:
    p = subprocess.Popen(sys.argv[1:])
except OSError as e:
    print(f"exec: {sys.argv[1]!r}: {e.strerror}", flush=True)
    sys.exit(127)
while p.poll() is None:
    if os.getppid() != parent:
        os.killpg(0, signal.SIGKILL)
    time.sleep(0.2)
sys.exit(p.returncode if p.returncode >= 0 else 128 - p.returncode)
"""


def world_objects(world):
    """(gv, plural, ns, name) -> object, from the world file."""
    out = {}

    def put(gv, plural, ns, o):
        out[(gv, plural, ns, o["metadata"]["name"])] = o

    for name, uid in (("kube-system", world.get("kubeSystemUid", "uid-kube-system")), ("default", "uid-default")):
        put("v1", "namespaces", "", {"apiVersion": "v1", "kind": "Namespace",
                                     "metadata": {"name": name, "uid": uid}, "status": {"phase": "Active"}})
    for n in world.get("nodes", []):
        put("v1", "nodes", "", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": n["name"], "uid": "uid-node-" + n["name"], "labels": n.get("labels", {})},
            "status": {"nodeInfo": {"kubeletVersion": world.get("gitVersion", "v1.34.0")}},
        })
    for o in world.get("objects", []):
        put(o.get("apiVersion", "v1"), o["kind"].lower() + "s", o["metadata"].get("namespace", ""), o)
    return out


class Cluster:
    """Written objects over the world's; a lock around everything."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.written = {}
        self.deleted = set()
        self.reads = {}
        self.logs = {}
        self.uid = 0
        self.log_lock = threading.Lock()
        self.procs = {}  # (ns, job) -> Popen of a running Job
        self.hook_procs = []
        self.pod_containers = {}  # (ns, pod) -> container names
        self.api_url = ""

    def world(self):
        with open(self.args.world, encoding="utf-8") as f:
            return json.load(f)

    def objects(self, world):
        objs = {k: v for k, v in world_objects(world).items() if k not in self.deleted}
        objs.update(self.written)
        return objs

    def log(self, line):
        if self.args.log:
            with self.log_lock, open(self.args.log, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    def flip(self, key, obj):
        """Readiness after enough reads since the last change."""
        if key not in self.written:
            return
        self.reads[key] = self.reads.get(key, 0) + 1
        if self.reads[key] < self.args.ready_after:
            return
        kind = obj.get("kind")
        gen = obj["metadata"].get("generation", 1)
        st = obj.setdefault("status", {})
        if kind in STRIMZI_READY or (kind == "KafkaUser" and not self.args.kafka_admin):
            st.update({"observedGeneration": gen,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "StandIn"}]})
            if kind == "Kafka":
                # A reconciled Kafka reports the version its brokers run and the KRaft metadata
                # version in use (Strimzi 1.2.0 KafkaStatus: kafkaVersion, kafkaMetadataVersion).
                k = obj.get("spec", {}).get("kafka", {})
                for field, key in (("version", "kafkaVersion"), ("metadataVersion", "kafkaMetadataVersion")):
                    if k.get(field):
                        st[key] = k[field]
        elif kind == "Deployment":
            n = obj.get("spec", {}).get("replicas", 1)
            st.update({"observedGeneration": gen, "replicas": n, "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n})
        elif kind == "Job" and not st.get("conditions") and not self.args.run_jobs:
            st.update({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})

    def apply(self, gv, plural, kind, ns, name, query, body):
        manager = (query.get("fieldManager") or [""])[0]
        force = (query.get("force") or ["false"])[0]
        if not manager:
            return status(422, "Invalid", "PATCH with apply-patch requires fieldManager")
        try:
            obj = json.loads(body or b"{}")
        except ValueError as e:
            return status(400, "BadRequest", f"the stand-in reads JSON apply bodies only: {e}")
        if obj.get("apiVersion") != gv or obj.get("kind") != kind:
            return status(400, "BadRequest", f"body is {obj.get('apiVersion')} {obj.get('kind')}, path is {gv} {kind}")
        if obj.get("metadata", {}).get("name") != name:
            return status(400, "BadRequest", "metadata.name does not match the path")
        key = (gv, plural, ns, name)
        old = self.objects(self.world()).get(key)
        new = copy.deepcopy(obj)
        md = new.setdefault("metadata", {})
        if ns:
            md["namespace"] = ns
        if old is None:
            self.uid += 1
            md["uid"] = f"uid-{self.uid}"
            md["generation"] = 1
            md["resourceVersion"] = "1"
            what = "created"
        else:
            omd = old["metadata"]
            md["uid"] = omd.get("uid")
            body_of = lambda o: {k: v for k, v in o.items() if k not in ("metadata", "status")}  # noqa: E731
            labels_of = lambda m: (m.get("labels"), m.get("annotations"))  # noqa: E731
            spec_changed = body_of(old) != body_of(new)
            changed = spec_changed or labels_of(omd) != labels_of(md)
            md["generation"] = omd.get("generation", 1) + (1 if spec_changed else 0)
            md["resourceVersion"] = str(int(omd.get("resourceVersion", "1")) + (1 if changed else 0))
            if not spec_changed and "status" in old:
                new["status"] = old["status"]
            what = "changed" if changed else "unchanged"
        if what != "unchanged":
            self.reads[key] = 0
        self.written[key] = new
        self.deleted.discard(key)
        self.log(f"APPLY {gv} {kind} {ns}/{name} {what} manager={manager} force={force}")
        if kind == "Job" and what == "created" and self.args.run_jobs:
            self.start_job(key, new)
        if kind == "Kafka" and self.args.cluster_ca:
            self.cluster_ca_secret(ns, name)
        if kind == "KafkaUser" and self.args.kafka_admin and what != "unchanged":
            self.user_operator(key, new)
        if what != "unchanged":
            self.run_hooks(kind, ns, name, new)
        return 200, new

    def delete(self, gv, plural, kind, ns, name):
        key = (gv, plural, ns, name)
        obj = self.objects(self.world()).get(key)
        if obj is None:
            return status(404, "NotFound", f'{plural} "{name}" not found')
        self.written.pop(key, None)
        self.deleted.add(key)
        self.log(f"DELETE {gv} {kind} {ns}/{name}")
        if kind == "KafkaUser" and self.args.kafka_admin:
            # The User Operator removes the user's credential, ACLs and Secret with it.
            user_operator_module().delete_kafka_user(self.kafka_admin(), name)
            skey = ("v1", "secrets", ns, name)
            self.written.pop(skey, None)
            self.deleted.add(skey)
        if kind == "Job":
            proc = self.procs.pop((ns, name), None)
            if proc is not None and proc.poll() is None:
                kill_group(proc)
            # The one piece of garbage collection modelled: a Job's pods go with it.
            for k, o in list(self.written.items()):
                if k[1] == "pods" and k[2] == ns and o["metadata"].get("labels", {}).get("job-name") == name:
                    del self.written[k]
                    self.logs.pop((ns, k[3]), None)
        return 200, obj

    # ---- --kafka-admin / --cluster-ca: Strimzi's operators' outputs, against a real broker

    def kafka_admin(self):
        if getattr(self, "_admin", None) is None:
            bootstrap, config = self.args.kafka_admin.split(",", 1)
            self._admin = user_operator_module().admin_client(bootstrap, config)
        return self._admin

    def put_secret(self, ns, name, data, labels):
        """A Secret as an operator writes it (`data` base64, labels naming its owner)."""
        self.uid += 1
        key = ("v1", "secrets", ns, name)
        self.written[key] = {
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-{self.uid}", "labels": labels},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        }
        self.deleted.discard(key)

    def cluster_ca_secret(self, ns, kafka):
        """Strimzi's Cluster Operator publishes the cluster CA's certificate as Secret
        `<cluster>-cluster-ca-cert`, key `ca.crt` (Strimzi 1.2.0 docs, "Secrets generated by the
        operators"; ClusterCa.java). Here the CA is the real broker's (--cluster-ca FILE)."""
        with open(self.args.cluster_ca, encoding="utf-8") as f:
            ca = f.read()
        self.put_secret(ns, f"{kafka}-cluster-ca-cert", {"ca.crt": ca},
                        {"strimzi.io/cluster": kafka, "strimzi.io/kind": "Kafka"})

    def user_operator(self, key, user):
        """The User Operator (user_operator.py against the real broker): credential and exactly
        the user's ACLs, then its Secret, then status Ready; what it refuses is Ready=False with
        the reason, as the real operator reports a failed reconcile."""
        _, _, ns, name = key
        st = user.setdefault("status", {})
        gen = user["metadata"].get("generation", 1)
        t = now()
        try:
            # A changed KafkaUser keeps its password (kept in a private directory, as the
            # operator keeps the existing Secret's).
            if getattr(self, "_user_secrets", None) is None:
                self._user_secrets = self.args.user_secrets or tempfile.mkdtemp(prefix="standin-user-operator-")
            secret = user_operator_module().apply_kafka_user(self.kafka_admin(), user, self._user_secrets)
        except Exception as e:  # noqa: BLE001 - every failure is the resource's status
            st.update({"observedGeneration": gen, "conditions": [{
                "type": "NotReady", "status": "True", "reason": type(e).__name__,
                "message": str(e), "lastTransitionTime": t}]})
            self.log(f"USER {ns}/{name} refused: {e}")
            return
        labels = {"strimzi.io/cluster": user["metadata"].get("labels", {}).get("strimzi.io/cluster", ""),
                  "strimzi.io/kind": "KafkaUser"}
        self.put_secret(ns, name, secret, labels)
        st.update({"observedGeneration": gen, "username": name, "secret": name, "conditions": [{
            "type": "Ready", "status": "True", "lastTransitionTime": t}]})
        self.log(f"USER {ns}/{name} ready")

    # ---- --run-jobs: a Job's first container runs here, as a local process

    def secret_value(self, ns, ref, kind):
        plural = "secrets" if kind == "Secret" else "configmaps"
        obj = self.objects(self.world()).get(("v1", plural, ns, ref.get("name", "")))
        if obj is None:
            return None, f'{plural[:-1]} "{ref.get("name")}" not found'
        key = ref.get("key", "")
        if key in obj.get("stringData", {}):
            return obj["stringData"][key], None
        if key in obj.get("data", {}):
            v = obj["data"][key]
            return (base64.b64decode(v).decode() if kind == "Secret" else v), None
        return None, f"couldn't find key {key} in {kind} {ns}/{ref.get('name')}"

    def start_job(self, key, job):
        """Under the lock: a pod for the Job, and a thread running its first container."""
        _, _, ns, name = key
        uid = job["metadata"]["uid"]
        tmpl = job.get("spec", {}).get("template", {})
        containers = tmpl.get("spec", {}).get("containers") or [{}]
        c = containers[0]
        hosts = read_json(self.args.host_map, {})
        pod = f"{name}-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
        labels = dict(tmpl.get("metadata", {}).get("labels", {}))
        labels.update({"job-name": name, "batch.kubernetes.io/job-name": name,
                       "controller-uid": uid, "batch.kubernetes.io/controller-uid": uid})
        self.uid += 1
        started = now()
        pod_obj = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod, "namespace": ns, "uid": f"uid-{self.uid}", "labels": labels,
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name,
                                              "uid": uid, "controller": True}]},
            "spec": copy.deepcopy(tmpl.get("spec", {})),
            "status": {"phase": "Running", "startTime": started, "containerStatuses": [{
                "name": c.get("name", ""), "image": c.get("image", ""), "ready": True, "restartCount": 0,
                "started": True, "state": {"running": {"startedAt": started}}}]},
        }
        pkey = ("v1", "pods", ns, pod)
        self.written[pkey] = pod_obj
        self.logs[(ns, pod)] = ""
        self.pod_containers[(ns, pod)] = [x.get("name", "") for x in containers]
        job.setdefault("status", {}).update({"active": 1, "ready": 1, "startTime": started})
        env = dict(os.environ)
        env["PATH"] = ":".join(filter(None, [self.args.job_path, os.environ.get("PATH", "")]))
        problem = None
        for e in c.get("env", []):
            if "value" in e:
                env[e["name"]] = map_hosts(str(e["value"]), hosts)
            elif "valueFrom" in e:
                vf = e["valueFrom"]
                ref, rkind = (vf["secretKeyRef"], "Secret") if "secretKeyRef" in vf else (vf.get("configMapKeyRef"), "ConfigMap")
                if ref is None:
                    problem = f"env {e['name']}: the stand-in resolves secretKeyRef/configMapKeyRef only"
                    continue
                v, err = self.secret_value(ns, ref, rkind)
                if v is None:
                    if not ref.get("optional"):
                        problem = err
                    continue
                env[e["name"]] = map_hosts(v, hosts)
            else:
                env[e["name"]] = ""
        mounts, mount_problem = self.secret_mounts(ns, tmpl.get("spec", {}), c)
        problem = problem or mount_problem
        if mounts:
            hosts = dict(hosts, **mounts)
            for k, v in list(env.items()):
                env[k] = map_hosts(v, mounts)
        cmd = [map_hosts(str(a), hosts) for a in (c.get("command") or []) + (c.get("args") or [])]
        if not c.get("command"):
            problem = "the stand-in runs a container's `command` only (the image's entrypoint is unknown)"
        deadline = job.get("spec", {}).get("activeDeadlineSeconds")
        self.log(f"JOB {ns}/{name} pod={pod} started")
        threading.Thread(target=self.run_job, daemon=True,
                         args=(key, uid, pkey, cmd, env, deadline, problem)).start()

    def secret_mounts(self, ns, pod_spec, c):
        """The container's Secret volumes as the kubelet makes them: one file per key (or per
        `items[]` entry, at its `path`), in a fresh directory standing for the mount path; the
        mount path is then rewritten to it in env values and the command, like the host map. A
        missing Secret or key that is not optional keeps the pod from starting."""
        volumes = {v.get("name"): v for v in pod_spec.get("volumes", [])}
        out = {}
        for m in c.get("volumeMounts", []):
            src = volumes.get(m.get("name"), {}).get("secret")
            if src is None:
                continue
            obj = self.objects(self.world()).get(("v1", "secrets", ns, src.get("secretName", "")))
            if obj is None:
                if src.get("optional"):
                    continue
                return {}, f'MountVolume.SetUp failed for volume "{m["name"]}" : secret "{src.get("secretName")}" not found'
            data = {k: base64.b64decode(v).decode() for k, v in obj.get("data", {}).items()}
            data.update(obj.get("stringData", {}))
            items = src.get("items") or [{"key": k, "path": k} for k in data]
            d = tempfile.mkdtemp(prefix="standin-secret-")
            for it in items:
                if it["key"] not in data:
                    if src.get("optional"):
                        continue
                    return {}, f'MountVolume.SetUp failed for volume "{m["name"]}" : couldn\'t find key {it["key"]} in Secret {ns}/{src.get("secretName")}'
                p = os.path.join(d, it["path"])
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w", encoding="utf-8") as f:
                    f.write(data[it["key"]])
                os.chmod(p, 0o400)
            out[m["mountPath"].rstrip("/")] = d
        return out, None

    def current_job(self, key, uid):
        job = self.written.get(key)
        return job if job is not None and job["metadata"].get("uid") == uid else None

    def run_job(self, key, uid, pkey, cmd, env, deadline, problem):
        _, _, ns, name = key
        t0 = time.monotonic()
        proc = None
        if problem is None:
            tmp = tempfile.mkdtemp(prefix=f"standin-job-{name}-")
            env["HOME"] = tmp
            with self.lock:
                if self.current_job(key, uid) is None:
                    return  # deleted before it started
                proc = subprocess.Popen([sys.executable, "-c", SUPERVISOR] + cmd, cwd=tmp, env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True)
                self.procs[(ns, name)] = proc

            def pump():
                for chunk in iter(lambda: proc.stdout.read1(65536), b""):
                    with self.lock:
                        if (ns, pkey[3]) in self.logs:
                            self.logs[(ns, pkey[3])] += chunk.decode("utf-8", "replace")

            reader = threading.Thread(target=pump, daemon=True)
            reader.start()
        else:
            with self.lock:
                pod = self.written.get(pkey)
                if pod is not None:  # the kubelet cannot start the container
                    pod["status"]["phase"] = "Pending"
                    pod["status"]["containerStatuses"][0].update({"ready": False, "started": False, "state": {
                        "waiting": {"reason": "CreateContainerConfigError", "message": problem}}})
                    self.logs.pop((ns, pkey[3]), None)
            self.log(f"JOB {ns}/{name} cannot start: {problem}")
        timed_out = False
        while True:
            if proc is not None and proc.poll() is not None:
                break
            if deadline is not None and time.monotonic() - t0 > float(deadline):
                timed_out = True
                if proc is not None:
                    kill_group(proc)
                break
            if proc is None and self.current_job(key, uid) is None:
                return
            time.sleep(0.05)
        if proc is not None:
            proc.wait()
            reader.join(timeout=5)
            shutil.rmtree(tmp, ignore_errors=True)
        rc = proc.returncode if proc is not None else None
        with self.lock:
            job = self.current_job(key, uid)
            if job is None:
                return  # deleted: its pods went with it
            self.procs.pop((ns, name), None)
            st = job.setdefault("status", {})
            st.pop("active", None)
            st["ready"] = 0
            t = now()
            if timed_out:
                # The Job controller deletes a timed-out Job's running pods (their logs go too).
                self.written.pop(pkey, None)
                self.logs.pop((ns, pkey[3]), None)
                st["failed"] = 1
                st["conditions"] = [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                                     "message": "Job was active longer than specified deadline",
                                     "lastProbeTime": t, "lastTransitionTime": t}]
                self.log(f"JOB {ns}/{name} deadline exceeded")
                return
            pod = self.written.get(pkey)
            ok = rc == 0
            if pod is not None:
                cs = pod["status"]["containerStatuses"][0]
                started = cs["state"].get("running", {}).get("startedAt", t)
                pod["status"]["phase"] = "Succeeded" if ok else "Failed"
                cs.update({"ready": False, "started": False, "state": {"terminated": {
                    "exitCode": rc, "reason": "Completed" if ok else "Error", "startedAt": started, "finishedAt": t}}})
            if ok:
                st["succeeded"] = 1
                st["completionTime"] = t
                st["conditions"] = [{"type": "Complete", "status": "True", "lastProbeTime": t, "lastTransitionTime": t}]
            else:
                st["failed"] = 1
                st["conditions"] = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                     "message": "Job has reached the specified backoff limit",
                                     "lastProbeTime": t, "lastTransitionTime": t}]
            self.log(f"JOB {ns}/{name} exit={rc}")

    # ---- --on-apply: commands standing in for controllers

    def run_hooks(self, kind, ns, name, obj):
        hooks = read_json(self.args.on_apply, [])
        for h in hooks:
            if h.get("kind") != kind or not re.search(h.get("name_regex", ""), name):
                continue
            hosts = read_json(self.args.host_map, {})
            env = dict(os.environ)
            env["PATH"] = ":".join(filter(None, [self.args.job_path, os.environ.get("PATH", "")]))
            env["STANDIN_OBJECT"] = map_hosts(json.dumps(obj), hosts)
            env["STANDIN_API"] = self.api_url  # a controller reads the API too
            tag = f"HOOK {kind} {ns}/{name}"
            self.log(f"{tag} start {json.dumps(h['command'])}")
            proc = subprocess.Popen([sys.executable, "-c", SUPERVISOR] + list(h["command"]), env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            self.hook_procs.append(proc)

            def pump(proc=proc, tag=tag):
                for line in proc.stdout:
                    self.log(f"{tag} {line.decode('utf-8', 'replace').rstrip()}")
                self.log(f"{tag} exit={proc.wait()}")

            threading.Thread(target=pump, daemon=True).start()

    def kill_all(self):
        for p in list(self.procs.values()) + self.hook_procs:
            if p.poll() is None:
                kill_group(p)

    # ---- the service proxy (no lock held while the backend answers)

    def proxy(self, method, url, headers, body):
        u = urlparse(url)
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/services/([^/]+)/proxy(/.*)?", u.path)
        ns, svc, rest = m.group(1), unquote(m.group(2)), m.group(3) or "/"
        parts = svc.split(":")
        if len(parts) == 3:
            scheme, name, port = parts
        elif len(parts) == 2:
            scheme, (name, port) = "", parts
        else:
            scheme, name, port = "", svc, ""
        pmap = read_json(self.args.proxy_map, {})
        target = pmap.get(f"{ns}/{name}:{port}") if port else (
            pmap.get(f"{ns}/{name}") or next((v for k, v in sorted(pmap.items()) if k.startswith(f"{ns}/{name}:")), None))
        if target is None:
            code, st = status(404, "NotFound", f'services "{name}" not found')
            st["details"] = {"name": name, "kind": "services"}
            return code, st
        t = urlparse(target)
        path = (t.path.rstrip("/") + rest) + (f"?{u.query}" if u.query else "")
        fwd = {k: headers[k] for k in ("Content-Type", "Accept") if headers.get(k)}
        conn = http.client.HTTPConnection(t.hostname, t.port or 80, timeout=self.args.proxy_timeout)
        try:
            conn.request(method, path, body=body if method == "POST" else None, headers=fwd)
            r = conn.getresponse()
            data = r.read()
            return r.status, Raw(data, r.getheader("Content-Type") or "text/plain")
        except ConnectionRefusedError:
            return status(503, "ServiceUnavailable",
                          f"error trying to reach service: dial tcp {t.hostname}:{t.port}: connect: connection refused")
        except OSError as e:
            return status(503, "ServiceUnavailable", f"error trying to reach service: {e}")
        finally:
            conn.close()

    def handle(self, method, url, headers, body):
        if re.fullmatch(r"/api/v1/namespaces/[^/]+/services/[^/]+/proxy(/.*)?", urlparse(url).path):
            if method not in ("GET", "POST"):
                return status(405, "MethodNotAllowed", f"the stand-in proxies GET and POST only, not {method}")
            return self.proxy(method, url, headers, body)
        with self.lock:
            return self.route(method, url, headers, body)

    def route(self, method, url, headers, body):
        u = urlparse(url)
        path, query = u.path.rstrip("/") or "/", parse_qs(u.query)
        world = self.world()
        if method == "GET" and path == "/version":
            v = world.get("gitVersion", "v1.34.0")
            m = re.match(r"v(\d+)\.(\d+)", v)
            return 200, {"major": m.group(1) if m else "1", "minor": m.group(2) if m else "34",
                         "gitVersion": v, "gitCommit": "standin", "gitTreeState": "clean",
                         "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
                         "compiler": "gc", "platform": "linux/amd64"}
        if method == "GET" and path == "/standin/objects":
            return 200, {"items": [o for _, o in sorted(self.objects(world).items())]}
        if method == "GET" and path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if method == "GET" and path == "/apis":
            groups = sorted({(g, v) for g, v, *_ in RESOURCES if g})
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                 "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}} for g, v in groups]}
        m = re.fullmatch(r"/api/v1|/apis/([^/]+)/([^/]+)", path)
        if method == "GET" and m:
            gv = gv_of(m.group(1) or "", m.group(2) or "v1")
            verbs = ["get", "list", "patch", "delete"]
            return 200, {"kind": "APIResourceList", "groupVersion": gv, "resources": [
                {"name": p, "singularName": k.lower(), "namespaced": ns, "kind": k, "verbs": verbs}
                for g, v, p, k, ns in RESOURCES if gv_of(g, v) == gv]}
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)/log", path)
        if method == "GET" and m:
            ns, pod = m.group(1), m.group(2)
            text = self.logs.get((ns, pod))
            if text is None:
                if ("v1", "pods", ns, pod) not in self.objects(world):
                    return status(404, "NotFound", f'pods "{pod}" not found')
                return status(400, "BadRequest", f'container in pod "{pod}" is waiting to start')
            names = self.pod_containers.get((ns, pod))
            want = (query.get("container") or [None])[0]
            if want and names is not None and want not in names:
                return status(400, "BadRequest", f"container {want} is not valid for pod {pod}")
            tail = (query.get("tailLines") or [None])[0]
            if tail is not None:
                lines = text.splitlines(keepends=True)
                text = "".join(lines[-int(tail):]) if int(tail) > 0 else ""
            return 200, text
        m = re.fullmatch(r"/(?:api/(v1)|apis/([^/]+/[^/]+))/(.+)", path)
        if not m:
            return status(404, "NotFound", f"the stand-in does not serve {path}")
        gv, segs = m.group(1) or m.group(2), m.group(3).split("/")
        if len(segs) >= 3 and segs[0] == "namespaces":
            ns, plural, name = segs[1], segs[2], (segs[3] if len(segs) > 3 else None)
            if len(segs) > 4:
                return status(404, "NotFound", f"the stand-in does not serve {path}")
        elif len(segs) <= 2:
            ns, plural, name = None, segs[0], (segs[1] if len(segs) > 1 else None)
        else:
            return status(404, "NotFound", f"the stand-in does not serve {path}")
        res = resource(gv, plural)
        if res is None:
            return status(404, "NotFound", f"the server could not find the requested resource ({gv} {plural})")
        kind, namespaced = res
        if namespaced and name is not None and ns is None:
            return status(404, "NotFound", f"{plural} is namespaced")
        ns_key = (ns or "") if namespaced else ""
        objs = self.objects(world)
        if method == "GET" and name is None:
            sel = {}
            for part in (query.get("labelSelector") or [""])[0].split(","):
                if "=" in part:
                    k, v = part.split("=", 1)
                    sel[k.strip()] = v.strip()
            items = [o for (g, p, n, _), o in sorted(objs.items())
                     if g == gv and p == plural and (ns is None or n == ns_key)
                     and all(o["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())]
            return 200, {"kind": kind + "List", "apiVersion": gv, "metadata": {}, "items": items}
        if name is None:
            return status(405, "MethodNotAllowed", f"the stand-in does not model {method} on a collection")
        key = (gv, plural, ns_key, name)
        if method == "GET":
            obj = objs.get(key)
            if obj is None:
                return status(404, "NotFound", f'{plural} "{name}" not found')
            self.flip(key, obj)
            return 200, obj
        if method == "PATCH":
            ctype = headers.get("Content-Type", "")
            if ctype != "application/apply-patch+yaml":
                return status(415, "UnsupportedMediaType", f"the stand-in models server-side apply only, not {ctype}")
            return self.apply(gv, plural, kind, ns_key, name, query, body)
        if method == "DELETE":
            return self.delete(gv, plural, kind, ns_key, name)
        return status(405, "MethodNotAllowed", f"the stand-in does not model {method}")


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", required=True)
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--context", default="standin")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log")
    ap.add_argument("--ready-after", type=int, default=1)
    ap.add_argument("--decoy", action="store_true")
    ap.add_argument("--run-jobs", action="store_true")
    ap.add_argument("--job-path", default="")
    ap.add_argument("--host-map")
    ap.add_argument("--proxy-map")
    ap.add_argument("--proxy-timeout", type=float, default=120)
    ap.add_argument("--on-apply")
    ap.add_argument("--kafka-admin", help="BOOTSTRAP,LIBRDKAFKA_PROPERTIES: act as Strimzi's User "
                    "Operator for KafkaUsers against this real broker, logged in as its admin")
    ap.add_argument("--user-secrets", help="DIR where the User Operator keeps each user's password "
                    "(default: a private one); stand-ins sharing one broker share it, so a user's "
                    "password is one, as one User Operator keeps it")
    ap.add_argument("--cluster-ca", help="PEM file: published as <kafka>-cluster-ca-cert when a Kafka is applied")
    args = ap.parse_args()
    cluster = Cluster(args)
    atexit.register(cluster.kill_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    class Handler(BaseHTTPRequestHandler):
        def handle_one(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            code, out = cluster.handle(self.command, self.path, self.headers, body)
            if isinstance(out, Raw):
                data, ctype = out.data, out.ctype
            elif isinstance(out, str):
                data, ctype = out.encode(), "text/plain"
            else:
                data, ctype = json.dumps(out).encode(), "application/json"
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    cluster.api_url = f"http://127.0.0.1:{port}"
    name = args.context
    contexts = [{"name": name, "context": {"cluster": name, "user": name}}]
    clusters = [{"name": name, "cluster": {"server": f"http://127.0.0.1:{port}"}}]
    current = name
    if args.decoy:
        contexts.append({"name": "decoy", "context": {"cluster": "decoy", "user": name}})
        clusters.append({"name": "decoy", "cluster": {"server": "http://127.0.0.1:9"}})
        current = "decoy"
    with open(args.kubeconfig, "w", encoding="utf-8") as f:
        json.dump({
            "apiVersion": "v1", "kind": "Config", "current-context": current,
            "clusters": clusters,
            "users": [{"name": name, "user": {"token": "standin"}}],
            "contexts": contexts,
        }, f, indent=1)
    print(f"PORT {port}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
