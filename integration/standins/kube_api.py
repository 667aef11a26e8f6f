#!/usr/bin/env python3
"""A small stand-in for the Kubernetes API server, for alpaka's end-to-end tests.

Start: kube_api.py --world WORLD.json --kubeconfig OUT [--context NAME] [--port 0]
It listens on 127.0.0.1 (plain HTTP), writes a kubeconfig whose context NAME points at it, and
prints `PORT <n>` on stdout once it is serving.

The world file is read again on every request, so a test changes the cluster by rewriting it:
  {"gitVersion": "v1.34.1+k3s1", "kubeSystemUid": "...",
   "nodes": [{"name": "n1", "labels": {"k": "v"}}], "objects": [<full objects>]}
Objects are kept in a store keyed by (group/version, plural, namespace, name); routes map an API
path onto it, so later endpoints (create, server-side apply, delete, status) are added as more
handlers on the same store.

Served: GET /version; GET /api, /api/v1 (discovery, core only); GET a namespace, a node or a
list of either (`/api/v1/namespaces[/NAME]`, `/api/v1/nodes[/NAME]`); other core
namespaced GET/LIST from `objects`. Everything else answers 404 (a Status object).

NOT modelled: authentication and authorization (any credentials pass; no RBAC), TLS,
writes of any kind (POST/PUT/PATCH/DELETE answer 405), resourceVersion, watches, field and label
selectors, pagination (`limit` is ignored), API groups other than core, admission, defaulting,
validation, finalizers, garbage collection.
"""
import argparse
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CORE = "v1"
NAMESPACED = {"configmaps", "secrets", "services", "pods", "serviceaccounts"}
KINDS = {"namespaces": "Namespace", "nodes": "Node", "configmaps": "ConfigMap",
         "secrets": "Secret", "services": "Service", "pods": "Pod",
         "serviceaccounts": "ServiceAccount"}


class Store:
    """Objects by (group/version, plural, namespace, name); namespace '' for cluster-scoped."""

    def __init__(self, world):
        self.world = world
        self.objects = {}
        self.put(CORE, "namespaces", "", self.namespace("kube-system", world.get("kubeSystemUid", "uid-kube-system")))
        self.put(CORE, "namespaces", "", self.namespace("default", "uid-default"))
        for n in world.get("nodes", []):
            self.put(CORE, "nodes", "", {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": n["name"], "uid": "uid-node-" + n["name"], "labels": n.get("labels", {})},
                "status": {"nodeInfo": {"kubeletVersion": world.get("gitVersion", "v1.34.0")}},
            })
        for o in world.get("objects", []):
            plural = o["kind"].lower() + "s"
            self.put(o.get("apiVersion", CORE), plural, o["metadata"].get("namespace", ""), o)

    @staticmethod
    def namespace(name, uid):
        return {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "uid": uid}, "status": {"phase": "Active"}}

    def put(self, gv, plural, ns, obj):
        self.objects[(gv, plural, ns, obj["metadata"]["name"])] = obj

    def get(self, gv, plural, ns, name):
        return self.objects.get((gv, plural, ns, name))

    def list(self, gv, plural, ns):
        return [o for (g, p, n, _), o in sorted(self.objects.items()) if g == gv and p == plural and (ns is None or n == ns)]


def status(code, reason, message):
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason, "code": code}


def route(world, method, path):
    """(status code, JSON body) for one request."""
    if method != "GET":
        return status(405, "MethodNotAllowed", f"the stand-in does not model {method}")
    store = Store(world)
    if path == "/version":
        v = world.get("gitVersion", "v1.34.0")
        m = re.match(r"v(\d+)\.(\d+)", v)
        return 200, {"major": m.group(1) if m else "1", "minor": m.group(2) if m else "34",
                     "gitVersion": v, "gitCommit": "standin", "gitTreeState": "clean",
                     "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
                     "compiler": "gc", "platform": "linux/amd64"}
    if path == "/api":
        return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/api/v1":
        return 200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
            {"name": p, "singularName": p[:-1], "namespaced": p in NAMESPACED, "kind": k,
             "verbs": ["get", "list"]} for p, k in KINDS.items()]}
    m = re.fullmatch(r"/api/v1/(namespaces|nodes)(?:/([^/]+))?", path)
    if m:
        plural, name = m.group(1), m.group(2)
        if name is None:
            return 200, {"kind": KINDS[plural] + "List", "apiVersion": "v1", "metadata": {},
                         "items": store.list(CORE, plural, "")}
        obj = store.get(CORE, plural, "", name)
        return (200, obj) if obj else status(404, "NotFound", f'{plural} "{name}" not found')
    m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/([^/]+)(?:/([^/]+))?", path)
    if m and m.group(2) in NAMESPACED:
        ns, plural, name = m.groups()
        if name is None:
            return 200, {"kind": KINDS[plural] + "List", "apiVersion": "v1", "metadata": {},
                         "items": store.list(CORE, plural, ns)}
        obj = store.get(CORE, plural, ns, name)
        return (200, obj) if obj else status(404, "NotFound", f'{plural} "{name}" not found')
    return status(404, "NotFound", f"the stand-in does not serve {path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", required=True)
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--context", default="standin")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()

    class Handler(BaseHTTPRequestHandler):
        def handle_one(self):
            with open(args.world, encoding="utf-8") as f:
                world = json.load(f)
            code, body = route(world, self.command, self.path.split("?")[0])
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    port = srv.server_address[1]
    name = args.context
    with open(args.kubeconfig, "w", encoding="utf-8") as f:
        json.dump({
            "apiVersion": "v1", "kind": "Config", "current-context": name,
            "clusters": [{"name": name, "cluster": {"server": f"http://127.0.0.1:{port}"}}],
            "users": [{"name": name, "user": {"token": "standin"}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        }, f, indent=1)
    print(f"PORT {port}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
