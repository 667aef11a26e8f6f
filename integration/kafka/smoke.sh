#!/usr/bin/env bash
# End-to-end check of cluster.sh, with timings: start it, make a table of N rows in MariaDB,
# validate and register a Debezium connector over Connect's REST API (the password given as a
# config-provider reference, never in the config), and count that the N rows arrive in Kafka.
# The broker is SASL_SSL (cluster.sh): the tools log in as alpaka-admin (DIR/secrets/admin.properties),
# and so does the worker, which smoke.sh starts without --kafka-connect.
#
#   integration/kafka/smoke.sh DIR [--rows N] [--connector mysql|mariadb]
#
# mysql (default): io.debezium.connector.mysql.MySqlConnector, the class alpaka's configs use;
# mariadb: io.debezium.connector.mariadb.MariaDbConnector. Same keys for both. Leaves
# DIR/validate.json (the validate response) and DIR/*.log; stops the cluster at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:?usage: smoke.sh DIR [--rows N] [--connector mysql|mariadb]}"
shift
rows=10000
kind=mysql
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --connector) kind="$2"; shift 2 ;;
    *) echo "smoke.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done
case "$kind" in
  mysql) class=io.debezium.connector.mysql.MySqlConnector ;;
  mariadb) class=io.debezium.connector.mariadb.MariaDbConnector ;;
  *) echo "smoke.sh: --connector mysql or mariadb" >&2; exit 64 ;;
esac
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
now() { date +%s.%N; }
since() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$1" "$(now)"; }

t0=$(now)
exec {ready}< <(exec "$here/cluster.sh" "$dir")
cluster=$!
# shellcheck disable=SC2329 # called by the EXIT trap
finish() { kill "$cluster" 2>/dev/null || true; wait "$cluster" 2>/dev/null || true; }
trap finish EXIT
line=""
read -r -t 600 line <&"$ready" || true
case "$line" in READY\ *) ;; *) echo "smoke.sh: cluster.sh did not get ready" >&2; exit 1 ;; esac
echo "smoke: READY after $(since "$t0") s: $line"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
bootstrap=$(field bootstrap)
connect=$(field connect)
mysql_port=$(field mysql)
mysql_port=${mysql_port##*:}
lib="$("$here/fetch.sh")/lib/*"
admin_config=$(field admin_config)
tool() { java -Xshare:auto -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$dir/log4j2-tools.properties" -cp "$lib" "$@"; }

# --- N rows (MariaDB's SEQUENCE engine makes them in one statement).
t=$(now)
mariadb --defaults-file="$dir/secrets/client.cnf" alpaka <<EOF
CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, age INT,
  created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
INSERT INTO person (id, name, age) SELECT seq, CONCAT('person-', seq), seq % 90 FROM seq_1_to_$rows;
EOF
echo "smoke: $rows rows in $(since "$t") s"

# --- The connector's config: the password is a reference the worker resolves.
config="$(python3 - "$class" "$mysql_port" "$bootstrap" "$dir" <<'EOF'
import json, sys
cls, port, bootstrap, d = sys.argv[1:]
print(json.dumps({
    "connector.class": cls,
    "tasks.max": "1",
    "database.hostname": "127.0.0.1",
    "database.port": port,
    "database.user": "alpaka",
    "database.password": "${file:%s/secrets/mysql.properties:password}" % d,
    "database.server.id": "5401",
    "topic.prefix": "smoke",
    "database.include.list": "alpaka",
    "table.include.list": "alpaka.person",
    "schema.history.internal.kafka.bootstrap.servers": bootstrap,
    "schema.history.internal.kafka.topic": "smoke.schema-history",
    # The schema history's own clients inherit nothing from the worker: the broker's SASL_SSL
    # login (here cluster.sh's alpaka-admin, as the worker without --kafka-connect), by reference.
    **{f"schema.history.internal.{side}.{k}": v
       for side in ("producer", "consumer")
       for k, v in {
           "security.protocol": "SASL_SSL",
           "sasl.mechanism": "SCRAM-SHA-512",
           "sasl.jaas.config": "${file:%s/secrets/admin.properties:sasl.jaas.config}" % d,
           "ssl.truststore.type": "PEM",
           "ssl.truststore.location": "%s/tls/ca.crt" % d,
       }.items()},
}))
EOF
)"
t=$(now)
curl -sf -X PUT -H 'Content-Type: application/json' \
  --data "$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); c["name"]="smoke"; print(json.dumps(c))' "$config")" \
  "$connect/connector-plugins/$class/config/validate" >"$dir/validate.json"
python3 - "$dir/validate.json" "$(since "$t")" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
print(f"smoke: validate in {sys.argv[2]} s: name={v['name']} error_count={v['error_count']} "
      f"configs={len(v['configs'])} groups={v['groups']}")
for c in v["configs"]:
    if c["value"]["errors"]:
        print("smoke:   ", c["value"]["name"], c["value"]["errors"])
sys.exit(1 if v["error_count"] else 0)
EOF

t=$(now)
curl -sf -X PUT -H 'Content-Type: application/json' --data "$config" "$connect/connectors/smoke/config" >/dev/null
n=0
for _ in $(seq 1 300); do
  # (Until the connector makes the topic, GetOffsetShell fails and counts nothing.)
  n=$( (tool org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$bootstrap" \
      --command-config "$admin_config" --topic smoke.alpaka.person 2>/dev/null || true) \
      | awk -F: '{ s += $NF } END { print s + 0 }')
  [ "$n" -ge "$rows" ] && break
  if curl -sf "$connect/connectors/smoke/status" | grep -q '"FAILED"'; then
    curl -s "$connect/connectors/smoke/status" >&2
    echo "smoke.sh: the connector failed" >&2
    exit 1
  fi
  sleep 1
done
[ "$n" -ge "$rows" ] || { echo "smoke.sh: only $n of $rows records after 300 s" >&2; exit 1; }
echo "smoke: $n records in smoke.alpaka.person $(since "$t") s after registering $class"

# --- Read them back: every row once, as a snapshot read.
t=$(now)
tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$bootstrap" \
  --consumer.config "$admin_config" --topic smoke.alpaka.person --from-beginning --max-messages "$rows" --timeout-ms 60000 \
  2>"$dir/consumer.log" | python3 -c '
import json, sys
rows = int(sys.argv[1]); ids = set(); ops = {}
for l in sys.stdin:
    if not l.startswith("{"): continue
    p = json.loads(l)["payload"]
    ops[p["op"]] = ops.get(p["op"], 0) + 1
    ids.add(p["after"]["id"])
ok = ids == set(range(1, rows + 1))
verdict = "OK" if ok else "WRONG"
print(f"smoke: consumed ops={ops} distinct ids={len(ids)}: {verdict}")
sys.exit(0 if ok else 1)' "$rows"
echo "smoke: consumed in $(since "$t") s"

t=$(now)
finish
trap - EXIT
echo "smoke: cluster stopped in $(since "$t") s; total $(since "$t0") s"
