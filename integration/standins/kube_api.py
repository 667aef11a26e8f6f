#!/usr/bin/env python3
"""A small stand-in for the Kubernetes API server, for alpaka's end-to-end tests.

Start: kube_api.py --world WORLD.json --kubeconfig OUT [--context NAME] [--port 0]
                   [--log FILE] [--ready-after N] [--decoy]
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
- GET /api/v1/namespaces/NS/pods/NAME/log.
"Something that flips custom resources to Ready": every GET of an object counts; after
--ready-after reads (default 1) since its last change, Kafka/KafkaConnect/KafkaConnector get
`status.conditions=[{type: Ready, status: "True"}]` and `observedGeneration`, Deployments
`availableReplicas = spec.replicas`, Jobs `succeeded: 1` and a Complete condition — except a Job
whose pod command mentions STANDIN_FAIL, which gets a Failed condition and a pod `<job>-standin`
(label job-name) whose log says why.
Every write is appended to --log as one line: `APPLY <apiVersion> <Kind> <ns>/<name> created|changed|unchanged manager=<m> force=<f>`
or `DELETE <apiVersion> <Kind> <ns>/<name>`.

NOT modelled: authentication and authorization (any credentials pass; no RBAC), TLS, POST/PUT
and other patch types (405/415), field ownership between several managers and conflicts,
YAML bodies, resourceVersion checks, watches, field selectors, set-based label selectors,
pagination (`limit` is ignored), admission, defaulting, validation against schemas, finalizers,
garbage collection and namespace cascade, controllers (nothing runs: no pods except a failed
Job's), subresources other than pod logs.
"""
import argparse
import copy
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

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
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", False),
    ("monitoring.coreos.com", "v1", "podmonitors", "PodMonitor", True),
    ("kafka.strimzi.io", "v1", "kafkas", "Kafka", True),
    ("kafka.strimzi.io", "v1", "kafkanodepools", "KafkaNodePool", True),
    ("kafka.strimzi.io", "v1", "kafkaconnects", "KafkaConnect", True),
    ("kafka.strimzi.io", "v1", "kafkaconnectors", "KafkaConnector", True),
]
STRIMZI_READY = {"Kafka", "KafkaConnect", "KafkaConnector"}


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

    def world(self):
        with open(self.args.world, encoding="utf-8") as f:
            return json.load(f)

    def objects(self, world):
        objs = {k: v for k, v in world_objects(world).items() if k not in self.deleted}
        objs.update(self.written)
        return objs

    def log(self, line):
        if self.args.log:
            with open(self.args.log, "a", encoding="utf-8") as f:
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
        if kind in STRIMZI_READY:
            st.update({"observedGeneration": gen,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "StandIn"}]})
        elif kind == "Deployment":
            n = obj.get("spec", {}).get("replicas", 1)
            st.update({"observedGeneration": gen, "replicas": n, "readyReplicas": n, "availableReplicas": n})
        elif kind == "Job" and not st.get("conditions"):
            if "STANDIN_FAIL" in json.dumps(obj.get("spec", {})):
                st.update({"failed": 1, "conditions": [
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                     "message": "Job has reached the specified backoff limit"}]})
                ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
                pod = f"{name}-standin"
                self.written[("v1", "pods", ns, pod)] = {
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": pod, "namespace": ns, "labels": {"job-name": name}},
                    "status": {"phase": "Failed"}}
                self.logs[(ns, pod)] = "running init\nSTANDIN_FAIL: the init command exited 1\n"
            else:
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
        return 200, new

    def delete(self, gv, plural, kind, ns, name):
        key = (gv, plural, ns, name)
        obj = self.objects(self.world()).get(key)
        if obj is None:
            return status(404, "NotFound", f'{plural} "{name}" not found')
        self.written.pop(key, None)
        self.deleted.add(key)
        self.log(f"DELETE {gv} {kind} {ns}/{name}")
        if kind == "Job":
            # The one piece of garbage collection modelled: a Job's pods go with it.
            for k, o in list(self.written.items()):
                if k[1] == "pods" and k[2] == ns and o["metadata"].get("labels", {}).get("job-name") == name:
                    del self.written[k]
        return 200, obj

    def handle(self, method, url, headers, body):
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
            text = self.logs.get((m.group(1), m.group(2)))
            return (200, text) if text is not None else status(404, "NotFound", "no log")
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", required=True)
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--context", default="standin")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log")
    ap.add_argument("--ready-after", type=int, default=1)
    ap.add_argument("--decoy", action="store_true")
    args = ap.parse_args()
    cluster = Cluster(args)

    class Handler(BaseHTTPRequestHandler):
        def handle_one(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            code, out = cluster.handle(self.command, self.path, self.headers, body)
            if isinstance(out, str):
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
    port = srv.server_address[1]
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
