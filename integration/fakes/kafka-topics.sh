#!/bin/sh
# Fake of Apache Kafka's bin/kafka-topics.sh: see kafka_topics.py beside it (docstring) for what
# it supports and does not model. Runs kafka_topics.py with a python that has confluent_kafka:
# $ALPAKA_TEST_PYTHON when set, else python3. Works from a Job run by
# integration/standins/kube_api.py --run-jobs (put this directory on --job-path).
here=$(cd "$(dirname "$0")" && pwd)
py=${ALPAKA_TEST_PYTHON:-python3}
exec "$py" "$here/kafka_topics.py" "$@"
