#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of moto's S3, for the state backend's failure tests.

Usage: s3_faults.py UPSTREAM_URL [--log FILE]
Prints `PORT n` once it listens on 127.0.0.1:n. Every request is forwarded to UPSTREAM_URL
(moto) unchanged, except as the fault plan of its bucket says (so tests running at once, each
with its own bucket, do not disturb each other). A bucket's plan is set with
`POST /_faults/<bucket>` (JSON, replacing the previous one) and read with `GET`:

  {"rate": 0.2, "seed": 7,           # this share of S3 calls fails, chosen by a seeded RNG
   "modes": ["before", "after"],     # before: refused without reaching moto;
                                     # after: forwarded (it takes effect), then the answer is
                                     #        replaced by the error (a lost response);
                                     # stall: no answer for "stall_seconds" (default 30), then
                                     #        the connection is closed, nothing forwarded (a
                                     #        hung call the client must time out and retry)
   "status": 500, "code": "InternalError",
   "methods": ["PUT"],               # only these methods (default: all)
   "key_suffix": ".lock",            # only keys ending so (default: all)
   "max": 1,                         # at most this many faults (default: no limit)
   "deny": true}                     # every call on the bucket: 403 AccessDenied

Each fault is logged to --log as `FAULT <mode> <method> <path> <status> <code>`; `GET
/_faults/<bucket>/count` says how many were injected into that bucket. Error bodies are S3's documented REST error
response (Amazon S3 API Reference, "Error responses": `<Error><Code/><Message/><RequestId/>
<HostId/></Error>`, Content-Type application/xml; the request id also in `x-amz-request-id`), with the status and code S3 documents for
each: 500 InternalError ("We encountered an internal error. Please try again."), 503 SlowDown
("Please reduce your request rate."), 403 AccessDenied ("Access Denied").
"""
import argparse
import http.client
import http.server
import json
import os
import random
import sys
import threading
import time
import urllib.parse
import uuid

MESSAGES = {
    "InternalError": "We encountered an internal error. Please try again.",
    "SlowDown": "Please reduce your request rate.",
    "AccessDenied": "Access Denied",
}
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade"}


def error_body(code, resource, rid):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{MESSAGES.get(code, code)}</Message>"
        f"<Resource>{resource}</Resource><RequestId>{rid}</RequestId>"
        f"<HostId>{uuid.uuid4().hex}</HostId></Error>"
    ).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("upstream")
    ap.add_argument("--log")
    args = ap.parse_args()
    up = urllib.parse.urlsplit(args.upstream)
    lock = threading.Lock()
    # bucket -> {"plan": {...}, "rng": Random, "count": n}
    plans = {}

    def log(line):
        if args.log:
            with lock, open(args.log, "a") as f:
                f.write(line + "\n")

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _send(self, status, body, ctype="application/xml", headers=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _fail(self, fault, path):
            # S3 names the request in the body and in x-amz-request-id (and x-amz-id-2).
            rid = uuid.uuid4().hex[:16].upper()
            return self._send(fault[1], error_body(fault[2], path, rid),
                              headers=[("x-amz-request-id", rid), ("x-amz-id-2", uuid.uuid4().hex)])

        def _control(self, body):
            parts = self.path.strip("/").split("/")
            bucket = parts[1] if len(parts) > 1 else ""
            if parts[-1] == "count":
                with lock:
                    n = plans.get(bucket, {}).get("count", 0)
                return self._send(200, json.dumps({"count": n}).encode(), "application/json")
            if self.command == "POST":
                plan = json.loads(body or b"{}")
                with lock:
                    plans[bucket] = {"plan": plan, "rng": random.Random(plan.get("seed", 0)),
                                     "count": 0}
            with lock:
                out = json.dumps(plans.get(bucket, {}).get("plan", {})).encode()
            return self._send(200, out, "application/json")

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith("/_faults"):
                return self._control(body)
            path = urllib.parse.urlsplit(self.path).path
            bucket = path.lstrip("/").split("/", 1)[0]
            with lock:
                entry = plans.get(bucket)
                plan = entry["plan"] if entry else {}
                fault = None
                if plan.get("deny"):
                    fault = ("before", 403, "AccessDenied")
                elif (plan.get("rate", 0) > 0
                      and self.command in plan.get("methods", [self.command])
                      and path.endswith(plan.get("key_suffix", ""))
                      and entry["count"] < plan.get("max", float("inf"))
                      and entry["rng"].random() < plan["rate"]):
                    modes = plan.get("modes", ["before"])
                    fault = (entry["rng"].choice(modes), plan.get("status", 500),
                             plan.get("code", "InternalError"))
                if fault:
                    entry["count"] += 1
            if fault and fault[0] == "stall":
                log(f"FAULT stall {self.command} {path}")
                time.sleep(plan.get("stall_seconds", 30))
                self.close_connection = True
                return None
            if fault and fault[0] == "before":
                log(f"FAULT before {self.command} {path} {fault[1]} {fault[2]}")
                return self._fail(fault, path)
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if os.environ.get("S3_FAULTS_TRACE"):
                sys.stderr.write(f"TRACE {self.command} {self.path} {self.headers.get('Host')} -> {resp.status} {data[:200]!r}\n")
            if fault:
                log(f"FAULT after {self.command} {path} {fault[1]} {fault[2]} (moto said {resp.status})")
                conn.close()
                return self._fail(fault, path)
            rheaders = [(k, v) for k, v in resp.getheaders()
                        if k.lower() not in HOP | {"content-length", "content-type", "server", "date"}]
            conn.close()
            self._send(resp.status, data, resp.getheader("Content-Type") or "application/xml",
                       rheaders)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(f"PORT {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
