#!/usr/bin/env bash
# A real Kafka, Kafka Connect and MariaDB on loopback, for the tests and for poking at by hand:
#   - MariaDB (Debian's mariadb-server, installed with apt-get if mariadbd is missing): a private
#     instance with its own datadir, binlog on (ROW, FULL image, server_id 1), a database
#     `alpaka` and a user `alpaka` with the grants Debezium's binlog connectors need (SELECT,
#     RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES on *.*) and
#     everything on `alpaka`.* (so a test can make its tables with the same account);
#   - a single-node KRaft Kafka (broker and controller in one process), replication factors 1;
#   - a distributed Connect worker whose plugin.path holds the Debezium MySQL and MariaDB
#     connectors, with the `file` and `directory` config providers (FileConfigProvider,
#     DirectoryConfigProvider, allowed only under DIR/secrets), so a connector's config names the
#     password file instead of holding the password;
# all fetched by fetch.sh.
#
#   integration/kafka/cluster.sh DIR
#
# Writes DIR/*.log, DIR/secrets/ (mode 700): mysql-password (mode 600, no newline; for
# ${directory:DIR/secrets:mysql-password}), mysql.properties (`password=…`, for
# ${file:DIR/secrets/mysql.properties:password}) and client.cnf (for
# `mariadb --defaults-file=DIR/secrets/client.cnf`). The password is generated per run and
# never printed. When MariaDB answers, the broker answers an ApiVersions request and Connect's
# GET /connector-plugins lists the Debezium connectors, it prints one line
#   READY bootstrap=127.0.0.1:P connect=http://127.0.0.1:Q mysql=127.0.0.1:R dbuser=alpaka dbpassfile=DIR/secrets/mysql-password
# and stays in the foreground. It stops everything it started on SIGTERM/SIGINT, or when the
# process that started it goes away; each server is started under `setpriv --pdeathsig KILL`, so
# even a SIGKILLed cluster.sh leaves nothing running. A DIR used before starts afresh (its data
# directories and secrets are made anew). Tools: `java -cp "$(fetch.sh)/lib/*"
# -Dlog4j2.configurationFile=DIR/log4j2-tools.properties org.apache.kafka.tools.…`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

dir="${1:?usage: cluster.sh DIR}"
shift
[ $# -eq 0 ] || { echo "cluster.sh: unknown argument $1" >&2; exit 64; }
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
parent=$PPID

kafka_home="$("$here/fetch.sh")"
lib="$kafka_home/lib/*"
plugins="$kafka_home/plugins"

# --- MariaDB from Debian, if it is not there (root only; apt-get update when the lists are stale).
if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
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
controller_port=$(free_port)
connect_port=$(free_port)
sock="$dir/mariadb.sock"

# --- The database password: generated, written only under DIR/secrets, never printed.
secrets="$dir/secrets"
rm -rf "$secrets"
(umask 077 && mkdir -p "$secrets")
password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
(
  umask 077
  printf '%s' "$password" >"$secrets/mysql-password"
  printf 'password=%s\n' "$password" >"$secrets/mysql.properties"
  printf '[client]\nuser=alpaka\npassword=%s\nhost=127.0.0.1\nport=%s\n' "$password" "$mysql_port" >"$secrets/client.cnf"
)

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

# --- Kafka: format the KRaft log directory while MariaDB makes its datadir.
rm -rf "$dir/mariadb" "$dir/kafka"
(
  flags=(--no-defaults --datadir="$dir/mariadb" --auth-root-authentication-method=socket --skip-test-db)
  [ "$(id -u)" = 0 ] && flags+=(--user=root)
  mariadb-install-db "${flags[@]}" >"$dir/mariadb-install-db.log" 2>&1
) &
install_db=$!

cluster_id="$(python3 -c 'import base64,uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"): print(s); break')"
cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$kafka_port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$kafka_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
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
"${jvm[@]}" -Xmx256m kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
  >"$dir/kafka-format.log" 2>&1 || die "formatting the Kafka log directory failed"
start kafka "${jvm[@]}" -Xms384m -Xmx384m kafka.Kafka "$dir/server.properties"

# --- Connect (distributed, one worker); it waits for the broker by itself.
cat >"$dir/connect.properties" <<EOF
bootstrap.servers=127.0.0.1:$kafka_port
group.id=alpaka-connect
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
config.storage.topic=connect-configs
config.storage.replication.factor=1
offset.storage.topic=connect-offsets
offset.storage.replication.factor=1
offset.storage.partitions=1
status.storage.topic=connect-status
status.storage.replication.factor=1
status.storage.partitions=1
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:$connect_port
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$connect_port
plugin.path=$plugins
# Every Debezium plugin carries ServiceLoader manifests: no class scanning at start-up.
plugin.discovery=service_load
config.providers=file,directory,secrets
config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
config.providers.file.param.allowed.paths=$secrets
config.providers.directory.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
config.providers.directory.param.allowed.paths=$secrets
config.providers.secrets.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
EOF
# A stand-in for Strimzi's KubernetesSecretConfigProvider (not on this class path), laid out
# like its references: alpaka renders `${secrets:<namespace>/<secret>:<key>}`, and
# DirectoryConfigProvider reads the relative path `<namespace>/<secret>` against the worker's
# working directory, DIR/k8s-secrets, so the file DIR/k8s-secrets/<namespace>/<secret>/<key>
# plays the Secret's key. Connector configs then reach this worker exactly as alpaka renders them.
mkdir -p "$dir/k8s-secrets"
chmod 700 "$dir/k8s-secrets"
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

# --- The broker answers (an ApiVersions round trip, as kafka-broker-api-versions.sh does).
ok=""
for _ in $(seq 1 60); do
  if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$kafka_port" 2>/dev/null \
     && java -Xshare:auto -Xmx128m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$dir/log4j2-tools.properties" \
          -cp "$lib" org.apache.kafka.tools.BrokerApiVersionsCommand \
          --bootstrap-server "127.0.0.1:$kafka_port" >"$dir/kafka-api-versions.log" 2>&1; then
    ok=1
    break
  fi
  check_alive
  sleep 1
done
[ -n "$ok" ] || die "Kafka not answering after 60 s"

# --- Connect's REST API lists the Debezium connectors.
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

echo "READY bootstrap=127.0.0.1:$kafka_port connect=http://127.0.0.1:$connect_port mysql=127.0.0.1:$mysql_port dbuser=alpaka dbpassfile=$secrets/mysql-password k8s_secrets=$dir/k8s-secrets"
serve
