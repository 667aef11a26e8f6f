#!/usr/bin/env python3
"""Stands in for Kafka Connect running the Confluent S3 sink connector: the --on-apply hook
command of kube_api.py for a KafkaConnector such as `alpaka-test-<run>-s3`.

Start (as a hook): s3_sink.py --bootstrap HOST:PORT --endpoint http://127.0.0.1:PORT
  (a python with confluent-kafka and boto3; AWS credentials from the environment or dummies)
Reads $STANDIN_OBJECT (the stored KafkaConnector), takes `topics`, `s3.bucket.name`,
`s3.region`, `topics.dir` and `flush.size` from spec.config, consumes the topic from the
beginning until flush.size records arrived (or 30 s passed), and writes them as JSON lines to
`<topics.dir>/<topic>/partition=<p>/<topic>+<p>+<start offset, 10 digits>.json`, the sink's
default layout (DefaultPartitioner, JsonFormat). Prints `wrote N records to s3://B/KEY`.

NOT modelled: time-based partitioners, rotation by time, compression, Avro/Parquet, retries,
the connector's offsets (each apply writes again), credentials checks (moto accepts any).
"""
import argparse
import json
import os
import sys
import time

import boto3
from confluent_kafka import Consumer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connect_source import login  # noqa: E402  (the worker's login, one piece of code)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--endpoint", required=True)
    args = ap.parse_args()
    obj = json.loads(os.environ["STANDIN_OBJECT"])
    cfg = obj["spec"]["config"]
    topic, bucket = cfg["topics"], cfg["s3.bucket.name"]
    want = int(cfg.get("flush.size", "1"))
    # A sink's consumer group is `connect-<connector name>` (Apache Kafka Connect
    # SinkUtils.consumerGroupId); the worker logs in as its KafkaConnect says (connect_source.py).
    group = "connect-" + obj["metadata"]["name"]
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         **login(obj)})
    consumer.subscribe([topic])
    records, start, partition = [], None, 0
    deadline = time.time() + 30
    while len(records) < want and time.time() < deadline:
        m = consumer.poll(0.5)
        if m is None or m.error():
            continue
        if start is None:
            start, partition = m.offset(), m.partition()
        records.append(m.value().decode())
    consumer.close()
    if not records:
        raise SystemExit(f"s3_sink: no records in {topic}")
    key = f"{cfg['topics.dir']}/{topic}/partition={partition}/{topic}+{partition}+{start:010d}.json"
    s3 = boto3.client("s3", endpoint_url=args.endpoint, region_name=cfg.get("s3.region", "us-east-1"),
                      aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                      aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
    s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(records) + "\n").encode())
    print(f"wrote {len(records)} records to s3://{bucket}/{key}", flush=True)


if __name__ == "__main__":
    main()
