#!/usr/bin/env python3
"""moto and boto3 for alpaka-aws's S3 tests: the stand-in server, seeding, and an independent
listing — deliberately not alpaka's own code.

Usage:
  s3_helper.py serve PORT                  moto server on 127.0.0.1:PORT; exits when stdin closes
                                           (the test process ended, however it ended). Extra:
                                           GET /_alpaka/calls?bucket=B  the S3 requests for B
                                           POST /_alpaka/seed?bucket=B&prefix=P&count=N
                                             N objects P00000 … in-process, object i holding
                                             i % 10 + 1 bytes; answers their total size
  s3_helper.py ENDPOINT REGION bucket NAME create a bucket
  s3_helper.py ENDPOINT REGION put NAME KEY=BODY...
  s3_helper.py ENDPOINT REGION list NAME   every key in the bucket, sorted (JSON)
"""
import io
import json
import os
import re
import sys
import threading
import urllib.parse

LOCK = threading.Lock()
CALLS = []  # S3 requests received: {"bucket", "method", "query", "objects" (DeleteObjects only)}


class Stand:
    """moto, plus what the tests need that S3 has no call for: a log of the S3 requests (to see
    the DeleteObjects batch sizes and listing pages on the wire) and fast seeding in-process
    (2,500 PutObjects through moto's HTTP layer take ~14 s here)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if path == "/_alpaka/calls":
            bucket = query["bucket"][0]
            with LOCK:
                body = json.dumps([c for c in CALLS if c["bucket"] == bucket])
            return reply(start_response, body)
        if path == "/_alpaka/seed":
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.s3.models import s3_backends

            backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
            bucket, prefix, count = query["bucket"][0], query["prefix"][0], int(query["count"][0])
            for i in range(count):
                backend.put_object(bucket, f"{prefix}{i:05}", b"x" * (i % 10 + 1))
            return reply(start_response, json.dumps(sum(i % 10 + 1 for i in range(count))))
        if not path.startswith("/moto-api"):
            objects = None
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if "delete" in query and length:
                body = environ["wsgi.input"].read(length)
                environ["wsgi.input"] = io.BytesIO(body)
                objects = len(re.findall(rb"<Object>", body))
            with LOCK:
                CALLS.append({"bucket": path.strip("/").split("/")[0],
                              "method": environ.get("REQUEST_METHOD"),
                              "query": sorted(query), "objects": objects})
        return self.app(environ, start_response)


def reply(start_response, body):
    body = body.encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


if sys.argv[1] == "serve":
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    def watchdog():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", int(sys.argv[2]), Stand(app), threaded=True,
               request_handler=MotoRequestHandler)
    sys.exit(0)

import boto3

endpoint, region, cmd, name, *args = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region, aws_access_key_id="testing",
                  aws_secret_access_key="testing")

if cmd == "bucket":
    conf = {} if region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **conf)
    print(json.dumps(name))
elif cmd == "put":
    for kv in args:
        key, body = kv.split("=", 1)
        s3.put_object(Bucket=name, Key=key, Body=body.encode())
    print(json.dumps(len(args)))
elif cmd == "list":
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        keys += [o["Key"] for o in page.get("Contents", [])]
    print(json.dumps(sorted(keys)))
else:
    sys.exit(f"unknown command {cmd}")
