#!/usr/bin/env bash
# A real Kafka, Kafka Connect and MariaDB on loopback, for the tests and for poking at by hand:
#   - a single-node KRaft Kafka (broker and controller in one process), replication factors 1,
#     secured like alpaka's Strimzi Kafka: clients reach it only over SASL_SSL with SCRAM-SHA-512
#     (listener CLIENT), the StandardAuthorizer decides, `super.users` are alpaka's admin identity
#     (`alpaka-admin`, SCRAM credential made at format time) and the broker's own certificate.
#     The broker and the controller talk to each other over two more loopback listeners,
#     REPLICATION (inter-broker) and CONTROLLER, both SSL with client certificates required: the
#     counterpart of Strimzi's replication listener 9091 and control plane listener 9090, which
#     are mTLS with the brokers' certificates too. A throwaway CA and broker certificate are made
#     per run with openssl;
#   - MariaDB (Debian's mariadb-server, installed with apt-get if mariadbd is missing): a private
#     instance with its own datadir, binlog on (ROW, FULL image, server_id 1), a database
#     `alpaka` and a user `alpaka` with the grants Debezium's binlog connectors need (SELECT,
#     RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES on *.*) and
#     everything on `alpaka`.* (so a test can make its tables with the same account);
#   - a distributed Connect worker whose plugin.path holds the Debezium MySQL and MariaDB
#     connectors, with the `file` and `directory` config providers (FileConfigProvider,
#     DirectoryConfigProvider, allowed only under DIR/secrets), so a connector's config names the
#     password file instead of holding the password;
# all fetched by fetch.sh.
#
#   integration/kafka/cluster.sh DIR [--broker-only] [--kafka-users FILE] [--kafka-connect FILE]
#
# --broker-only: the broker alone (no MariaDB, no Connect).
# --kafka-users FILE: a JSON list of KafkaUser resources (kafka.strimzi.io/v1, as alpaka renders
#   them), made in the broker by the User Operator stand-in (integration/standins/user_operator.py,
#   run with $ALPAKA_TEST_PYTHON or the repository's .venv-test) logged in as alpaka-admin: each
#   user's SCRAM credential and exactly its ACLs; its Secret (keys `password`, `sasl.jaas.config`)
#   goes to DIR/k8s-secrets/<namespace>/<user>/.
# --kafka-connect FILE: a KafkaConnect resource (JSON, as alpaka renders it): the worker takes its
#   group id, internal topics and its login from it (`spec.authentication`: the user and its
#   password Secret, `spec.tls.trustedCertificates`), written into the worker's configuration the
#   way Strimzi's Cluster Operator does (strimzi/strimzi-kafka-operator 1.2.0,
#   cluster-operator/.../KafkaConnectConfigurationBuilder.java: `security.protocol`,
#   `sasl.mechanism`, `sasl.jaas.config` with the password as `${strimzisecrets:ns/secret:key}`,
#   and the same under `producer.`, `consumer.` and `admin.`). So Connect logs in as its own user,
#   with only the ACLs that user's KafkaUser gives it. Without this option the worker logs in as
#   alpaka-admin (group alpaka-connect, topics connect-{configs,offsets,status}): only for
#   smoke.sh and use by hand.
#
# Writes DIR/*.log, DIR/tls/ca.crt (the throwaway CA's certificate, what clients trust) and
# DIR/secrets/ (mode 700, every file mode 600; all passwords generated per run, never printed,
# never on a command line): mysql-password (no newline; for ${directory:DIR/secrets:mysql-password}),
# mysql.properties (`password=…`, for ${file:DIR/secrets/mysql.properties:password}), client.cnf
# (for `mariadb --defaults-file=DIR/secrets/client.cnf`), admin.properties (alpaka-admin's Java
# client settings: `--command-config` of the Kafka tools), admin-librdkafka.properties (the same
# for librdkafka: `kcat -F`, confluent_kafka), the CA's and broker's keys and the broker's
# configuration (it holds its key's password). DIR/k8s-secrets/<ns>/<secret>/<key> plays the
# Kubernetes Secrets (below); with --kafka-connect the cluster CA Secret named there is filled with
# DIR/tls/ca.crt (the Cluster Operator's `<cluster>-cluster-ca-cert`, key `ca.crt`).
#
# When everything answers (MariaDB, the broker to an ApiVersions request as alpaka-admin, Connect's
# GET /connector-plugins listing the Debezium connectors) it prints one line
#   READY bootstrap=127.0.0.1:P ca=DIR/tls/ca.crt admin_config=DIR/secrets/admin.properties
#     admin_librdkafka=DIR/secrets/admin-librdkafka.properties
#     connect=http://127.0.0.1:Q mysql=127.0.0.1:R dbuser=alpaka dbpassfile=DIR/secrets/mysql-password
#     k8s_secrets=DIR/k8s-secrets
# (one line; without connect=, mysql=, dbuser=, dbpassfile= under --broker-only) and stays in the
# foreground. It stops everything it started on SIGTERM/SIGINT, or when the process that started
# it goes away; each server is started under `setpriv --pdeathsig KILL`, so even a SIGKILLed
# cluster.sh leaves nothing running. A DIR used before starts afresh (its data directories and
# secrets are made anew). Tools: `java -cp "$(fetch.sh)/lib/*"
# -Dlog4j2.configurationFile=DIR/log4j2-tools.properties org.apache.kafka.tools.…
# --command-config DIR/secrets/admin.properties`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

usage="usage: cluster.sh DIR [--broker-only] [--kafka-users FILE] [--kafka-connect FILE]"
dir="${1:?$usage}"
shift
broker_only=""
users_file=""
connect_file=""
while [ $# -gt 0 ]; do
  case "$1" in
    --broker-only) broker_only=1; shift ;;
    --kafka-users) users_file="$(realpath "${2:?$usage}")"; shift 2 ;;
    --kafka-connect) connect_file="$(realpath "${2:?$usage}")"; shift 2 ;;
    *) echo "cluster.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done
if [ -n "$broker_only" ] && [ -n "$connect_file" ]; then
  echo "cluster.sh: --kafka-connect makes no sense with --broker-only" >&2
  exit 64
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
parent=$PPID
python="${ALPAKA_TEST_PYTHON:-$here/../../.venv-test/bin/python}"

kafka_home="$("$here/fetch.sh")"
lib="$kafka_home/lib/*"
plugins="$kafka_home/plugins"

# --- MariaDB from Debian, if it is not there (root only; apt-get update when the lists are stale).
if [ -z "$broker_only" ] && ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
  [ "$(id -u)" = 0 ] || { echo "cluster.sh: mariadbd is missing: apt-get install mariadb-server (as root)" >&2; exit 1; }
  echo "cluster.sh: installing mariadb-server with apt-get" >&2
  apt() { DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends install mariadb-server >>"$dir/apt.log" 2>&1; }
  apt || { apt-get -q update >>"$dir/apt.log" 2>&1 && apt; } \
    || { tail -n 20 "$dir/apt.log" >&2; echo "cluster.sh: apt-get install mariadb-server failed" >&2; exit 1; }
fi
export PATH="$PATH:/usr/sbin"

pids=()
# shellcheck disable=SC2329 # called by the EXIT trap
stop() {
  trap - EXIT INT TERM
  # Last started first (MariaDB, Connect, then the broker: Connect's shutdown needs the
  # broker), each given a few seconds to exit cleanly, then killed.
  local i p
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    p=${pids[i]}
    kill "$p" 2>/dev/null || continue
    for _ in $(seq 1 50); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.2
    done
    kill -9 "$p" 2>/dev/null || true
  done
}
trap stop EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# die, free_port, start (each server under setpriv --pdeathsig), check_alive, serve.
# shellcheck source=integration/servers.sh
. "$here/../servers.sh"

mysql_port=$(free_port)
kafka_port=$(free_port)
replication_port=$(free_port)
controller_port=$(free_port)
connect_port=$(free_port)
sock="$dir/mariadb.sock"

# --- Passwords: generated, written only under DIR/secrets (mode 600), never printed.
secrets="$dir/secrets"
tls="$dir/tls"
rm -rf "$secrets" "$tls" "$dir/k8s-secrets"
(umask 077 && mkdir -p "$secrets")
mkdir -p "$tls"
gen() { python3 -c 'import secrets; print(secrets.token_hex(16))'; }
password="$(gen)"
admin_password="$(gen)"
key_password="$(gen)"
(
  umask 077
  printf '%s' "$password" >"$secrets/mysql-password"
  printf 'password=%s\n' "$password" >"$secrets/mysql.properties"
  printf '[client]\nuser=alpaka\npassword=%s\nhost=127.0.0.1\nport=%s\n' "$password" "$mysql_port" >"$secrets/client.cnf"
  printf '%s' "$key_password" >"$secrets/broker-key-password"
  cat >"$secrets/admin.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alpaka-admin" password="$admin_password";
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.crt
EOF
  cat >"$secrets/admin-librdkafka.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanisms=SCRAM-SHA-512
sasl.username=alpaka-admin
sasl.password=$admin_password
ssl.ca.location=$tls/ca.crt
EOF
)

# --- TLS: a throwaway CA and the broker's certificate (for 127.0.0.1, also its client
# certificate on the REPLICATION and CONTROLLER listeners: principal User:CN=alpaka-kafka-broker).
# Kafka's PEM key store file wants an encrypted PKCS#8 key and its password (ssl.key.password).
# Kafka decrypts it with SecretKeyFactory.getInstance(<the key's algorithm>): JDK 17 has no
# "PBES2" factory (OpenSSL 3's default), so the key uses PKCS#12's PBE-SHA1-3DES, which it has;
# a throwaway key on loopback.
(
  umask 077
  cd "$secrets"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out "$tls/ca.crt" -days 2 \
    -subj /CN=alpaka-it-cluster-ca >"$dir/tls.log" 2>&1
  openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr \
    -subj /CN=alpaka-kafka-broker >>"$dir/tls.log" 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >broker.ext
  openssl x509 -req -in broker.csr -CA "$tls/ca.crt" -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
    -days 2 -extfile broker.ext -out broker.crt >>"$dir/tls.log" 2>&1
  openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES -in broker.key -passout file:broker-key-password -out broker-keystore.pem >>"$dir/tls.log" 2>&1
  cat broker.crt "$tls/ca.crt" >>broker-keystore.pem
  rm -f broker.key broker.csr broker.ext
) || die "making the CA and the broker certificate failed"
chmod 644 "$tls/ca.crt"

# --- One log4j2 configuration for the JVMs: everything to stdout (DIR/NAME.log), INFO.
cat >"$dir/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
EOF
# The command-line tools' (the checks below; tests may use it too): warnings only, to stderr,
# so that their stdout is only their answer.
cat >"$dir/log4j2-tools.properties" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = err
EOF
# Small heaps and the serial collector: three servers share 2 cores.
jvm=(java -Xshare:auto -XX:+UseSerialGC -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$lib")
tool=(java -Xshare:auto -Xmx128m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$dir/log4j2-tools.properties" -cp "$lib")

# --- Kafka: format the KRaft log directory while MariaDB makes its datadir.
rm -rf "$dir/mariadb" "$dir/kafka"
install_db=""
if [ -z "$broker_only" ]; then
  (
    flags=(--no-defaults --datadir="$dir/mariadb" --auth-root-authentication-method=socket --skip-test-db)
    [ "$(id -u)" = 0 ] && flags+=(--user=root)
    mariadb-install-db "${flags[@]}" >"$dir/mariadb-install-db.log" 2>&1
  ) &
  install_db=$!
fi

cluster_id="$(python3 -c 'import base64,uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"): print(s); break')"
# In DIR/secrets: it holds the broker key's password.
(umask 077 && cat >"$secrets/server.properties") <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=CLIENT://127.0.0.1:$kafka_port,REPLICATION://127.0.0.1:$replication_port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=CLIENT://127.0.0.1:$kafka_port,REPLICATION://127.0.0.1:$replication_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=REPLICATION
listener.security.protocol.map=CLIENT:SASL_SSL,REPLICATION:SSL,CONTROLLER:SSL
ssl.keystore.type=PEM
ssl.keystore.location=$secrets/broker-keystore.pem
ssl.key.password=$key_password
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.crt
listener.name.replication.ssl.client.auth=required
listener.name.controller.ssl.client.auth=required
listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:alpaka-admin;User:CN=alpaka-kafka-broker
allow.everyone.if.no.acl.found=false
log.dirs=$dir/kafka
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.flush.interval.messages=9223372036854775807
EOF
# alpaka-admin's SCRAM credential goes into the metadata log at format time. The password
# reaches the tool through a Java launcher argument file (mode 600, removed right after), so
# `ps` shows `@file`, not the password.
(
  umask 077
  printf '%s\n' kafka.tools.StorageTool format -t "$cluster_id" -c "$secrets/server.properties" \
    --add-scram "SCRAM-SHA-512=[name=alpaka-admin,password=$admin_password]" >"$secrets/format.args"
)
"${jvm[@]}" -Xmx256m "@$secrets/format.args" >"$dir/kafka-format.log" 2>&1 \
  || { rm -f "$secrets/format.args"; die "formatting the Kafka log directory failed"; }
rm -f "$secrets/format.args"
start kafka "${jvm[@]}" -Xms384m -Xmx384m kafka.Kafka "$secrets/server.properties"

# --- The broker answers alpaka-admin (an ApiVersions round trip over SASL_SSL, as
# kafka-broker-api-versions.sh does).
ok=""
for _ in $(seq 1 60); do
  if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$kafka_port" 2>/dev/null \
     && "${tool[@]}" org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "127.0.0.1:$kafka_port" \
          --command-config "$secrets/admin.properties" >"$dir/kafka-api-versions.log" 2>&1; then
    ok=1
    break
  fi
  check_alive
  sleep 1
done
[ -n "$ok" ] || die "Kafka not answering alpaka-admin over SASL_SSL after 60 s"

# --- The KafkaUsers, by the User Operator stand-in; their Secrets under DIR/k8s-secrets.
mkdir -p "$dir/k8s-secrets"
chmod 700 "$dir/k8s-secrets"
if [ -n "$users_file" ]; then
  # alpaka-admin's Secret exists before the stand-in runs (as the User Operator finds a Secret it
  # made before): it keeps the password the broker was formatted with instead of making another.
  python3 -c '
import json, os, sys
users, k8s = sys.argv[1:]
password = sys.stdin.read().strip()
doc = json.load(open(users))
for u in doc if isinstance(doc, list) else [doc]:
    m = u.get("metadata") or {}
    if m.get("name") != "alpaka-admin":
        continue
    d = os.path.join(k8s, m.get("namespace") or "default", "alpaka-admin")
    os.makedirs(d, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(d, "password"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, password.encode())
    os.close(fd)
' "$users_file" "$dir/k8s-secrets" <<<"$admin_password" || die "reading $users_file failed"
  "$python" "$here/../standins/user_operator.py" --bootstrap "127.0.0.1:$kafka_port" \
    --admin-config "$secrets/admin-librdkafka.properties" apply --secrets-dir "$dir/k8s-secrets" \
    "$users_file" >"$dir/user-operator.log" 2>&1 || die "the User Operator stand-in failed (DIR/user-operator.log)"
fi

if [ -n "$broker_only" ]; then
  echo "READY bootstrap=127.0.0.1:$kafka_port ca=$tls/ca.crt admin_config=$secrets/admin.properties admin_librdkafka=$secrets/admin-librdkafka.properties k8s_secrets=$dir/k8s-secrets"
  serve
fi

# --- Connect (distributed, one worker), as its own user when the KafkaConnect is given.
if [ -n "$connect_file" ]; then
  # The worker's login and names, from the rendered resource (Strimzi's own mapping, see top).
  # It also plays the Cluster Operator publishing the CA in the Secret the resource trusts.
  connect_settings="$(python3 - "$connect_file" "$dir/k8s-secrets" "$tls/ca.crt" <<'EOF'
import json, os, shutil, sys
path, k8s, ca = sys.argv[1:]
kc = json.load(open(path))
ns, spec = kc["metadata"]["namespace"], kc["spec"]
auth, trusted = spec["authentication"], spec["tls"]["trustedCertificates"]
if auth["type"] != "scram-sha-512" or len(trusted) != 1:
    sys.exit(f"cluster.sh: only one trusted certificate and scram-sha-512 are understood: {auth['type']}, {len(trusted)}")
t = trusted[0]
os.makedirs(os.path.join(k8s, ns, t["secretName"]), exist_ok=True)
shutil.copyfile(ca, os.path.join(k8s, ns, t["secretName"], t["certificate"]))
pw = auth["passwordSecret"]
jaas = ('org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" '
        'password="${strimzisecrets:%s/%s:%s}";' % (auth["username"], ns, pw["secretName"], pw["password"]))
cert = "${strimzisecrets:%s/%s:%s}" % (ns, t["secretName"], t["certificate"])
print(f"group.id={spec['groupId']}")
print(f"config.storage.topic={spec['configStorageTopic']}")
print(f"offset.storage.topic={spec['offsetStorageTopic']}")
print(f"status.storage.topic={spec['statusStorageTopic']}")
for prefix in ["", "producer.", "consumer.", "admin."]:
    print(f"{prefix}security.protocol=SASL_SSL")
    print(f"{prefix}ssl.truststore.type=PEM")
    print(f"{prefix}ssl.truststore.certificates={cert}")
    print(f"{prefix}sasl.mechanism=SCRAM-SHA-512")
    print(f"{prefix}sasl.jaas.config={jaas}")
EOF
)" || die "reading the KafkaConnect $connect_file failed"
else
  connect_settings="group.id=alpaka-connect
config.storage.topic=connect-configs
offset.storage.topic=connect-offsets
status.storage.topic=connect-status"
  for prefix in "" producer. consumer. admin.; do
    connect_settings+="
${prefix}security.protocol=SASL_SSL
${prefix}ssl.truststore.type=PEM
${prefix}ssl.truststore.location=$tls/ca.crt
${prefix}sasl.mechanism=SCRAM-SHA-512
${prefix}sasl.jaas.config=\${file:$secrets/admin.properties:sasl.jaas.config}"
  done
fi
cat >"$dir/connect.properties" <<EOF
bootstrap.servers=127.0.0.1:$kafka_port
$connect_settings
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
config.storage.replication.factor=1
offset.storage.replication.factor=1
offset.storage.partitions=1
status.storage.replication.factor=1
status.storage.partitions=1
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:$connect_port
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$connect_port
plugin.path=$plugins
# Every Debezium plugin carries ServiceLoader manifests: no class scanning at start-up.
plugin.discovery=service_load
config.providers=file,directory,secrets,strimzisecrets
config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
config.providers.file.param.allowed.paths=$secrets
config.providers.directory.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
config.providers.directory.param.allowed.paths=$secrets
config.providers.secrets.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
config.providers.strimzisecrets.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
EOF
# Stand-ins for Strimzi's KubernetesSecretConfigProvider (not on this class path), laid out like
# its references: alpaka renders `${secrets:<namespace>/<secret>:<key>}` in connector configs and
# Strimzi writes `${strimzisecrets:<namespace>/<secret>:<key>}` into the worker's configuration;
# DirectoryConfigProvider reads the relative path `<namespace>/<secret>` against the worker's
# working directory, DIR/k8s-secrets, so the file DIR/k8s-secrets/<namespace>/<secret>/<key>
# plays the Secret's key. Connector configs then reach this worker exactly as alpaka renders them.
cd "$dir/k8s-secrets"
start connect "${jvm[@]}" -Xms256m -Xmx512m org.apache.kafka.connect.cli.ConnectDistributed "$dir/connect.properties"
cd "$dir"

# --- MariaDB: a private server, loopback only, binlog on.
wait "$install_db" || die "mariadb-install-db failed (DIR/mariadb-install-db.log)"
mflags=(--no-defaults --datadir="$dir/mariadb" --socket="$sock" --pid-file="$dir/mariadb.pid"
  --bind-address=127.0.0.1 --port="$mysql_port" --skip-name-resolve
  --log-bin=binlog --binlog-format=ROW --binlog-row-image=FULL --server-id=1
  --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2 --sync-binlog=0
  --log-error="$dir/mariadb.log")
[ "$(id -u)" = 0 ] && mflags+=(--user=root)
start mariadb mariadbd "${mflags[@]}"

admin=(mariadb --no-defaults --protocol=socket -S "$sock" -u "$(id -un)")
ok=""
for _ in $(seq 1 300); do
  if mariadb-admin --no-defaults --protocol=socket -S "$sock" -u "$(id -un)" ping >/dev/null 2>&1; then ok=1; break; fi
  check_alive
  sleep 0.2
done
[ -n "$ok" ] || die "MariaDB not answering after 60 s"
# The password reaches the server on stdin, never on a command line, and stays out of the
# binlog (MariaDB would log CREATE USER with it, in clear, for Debezium to read).
"${admin[@]}" >/dev/null 2>"$dir/mariadb-setup.log" <<EOF || die "creating the database and user failed"
CREATE DATABASE alpaka;
SET SESSION sql_log_bin = 0;
CREATE USER 'alpaka'@'%' IDENTIFIED BY '$password';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES ON *.* TO 'alpaka'@'%';
GRANT ALL PRIVILEGES ON alpaka.* TO 'alpaka'@'%';
EOF
mariadb --defaults-file="$secrets/client.cnf" --protocol=tcp -e 'SELECT 1' alpaka >/dev/null 2>>"$dir/mariadb-setup.log" \
  || die "the alpaka user cannot log in over TCP"

# --- Connect's REST API lists the Debezium connectors (a worker whose login or ACLs fail exits,
# which check_alive reports).
ok=""
for _ in $(seq 1 600); do
  if curl -sf "http://127.0.0.1:$connect_port/connector-plugins" 2>/dev/null \
      | grep -q '"io.debezium.connector.mysql.MySqlConnector"'; then
    ok=1
    break
  fi
  check_alive
  sleep 0.2
done
[ -n "$ok" ] || die "Connect not listing the Debezium connectors after 120 s"

echo "READY bootstrap=127.0.0.1:$kafka_port ca=$tls/ca.crt admin_config=$secrets/admin.properties admin_librdkafka=$secrets/admin-librdkafka.properties connect=http://127.0.0.1:$connect_port mysql=127.0.0.1:$mysql_port dbuser=alpaka dbpassfile=$secrets/mysql-password k8s_secrets=$dir/k8s-secrets"
serve
