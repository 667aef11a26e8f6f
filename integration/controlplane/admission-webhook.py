"""A mutating admission webhook backend for integration/real_api.rs: it stands for the AWS Load
Balancer Controller's Service mutator, which on EKS comes up after the nodes that create
Services have started. It waits DELAY seconds before it listens (until then the API server's
calls are refused, as a webhook whose pod is not up yet), then allows every request and adds
the label `alpaka.test/mutated: "true"`, so the test can see the webhook really ran.

    admission-webhook.py PORT CERT KEY DELAY REQUEST_LOG

AdmissionReview shape: admission.k8s.io/v1 (Kubernetes docs, "Dynamic Admission Control":
the response carries the request's uid, `allowed`, and a base64 JSONPatch with
`patchType: JSONPatch`).
"""

import base64
import json
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

port, cert, key, delay, log = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        req = review["request"]
        obj = req.get("object") or {}
        with open(log, "a") as f:
            f.write(json.dumps({"kind": req["kind"]["kind"], "name": obj.get("metadata", {}).get("name")}) + "\n")
        if obj.get("metadata", {}).get("labels"):
            patch = [{"op": "add", "path": "/metadata/labels/alpaka.test~1mutated", "value": "true"}]
        else:
            patch = [{"op": "add", "path": "/metadata/labels", "value": {"alpaka.test/mutated": "true"}}]
        body = json.dumps({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {
                "uid": req["uid"],
                "allowed": True,
                "patchType": "JSONPatch",
                "patch": base64.b64encode(json.dumps(patch).encode()).decode(),
            },
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


time.sleep(delay)
server = HTTPServer(("127.0.0.1", int(port)), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print("listening", flush=True)
server.serve_forever()
