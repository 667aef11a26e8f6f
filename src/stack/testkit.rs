//! What `alpaka test` puts into the cluster for one run: fresh topics, a throwaway MySQL with a
//! `person` table, a JDBC source connector, an optional S3 sink connector, and Jobs that talk
//! Kafka with kcat and print one `ALPAKA-RESULT key=value …` line. Pure: names, manifests and
//! scripts only.
//!
//! Every object is named `alpaka-test-<run id>-…` and labelled `alpaka.io/test-run=<run id>`,
//! so a run never touches the user's topics, connectors or data, and two runs never collide.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container as KContainer, ContainerPort, EnvVar, PodSpec,
    PodTemplateSpec, Probe, Secret, SecretVolumeSource, Service, ServicePort, ServiceSpec,
    TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value as Json;

use super::platform::{Addresses, KAFKA_NAME};
use super::strimzi;
use super::{hardening, k8s, kafka_clients, kafka_users};
use crate::model::stack::{KafkaMode, StackConfig};

/// The label every test object carries.
pub const RUN_LABEL: &str = "alpaka.io/test-run";
/// How a test Job reports: the last line of its log that starts with this.
pub const RESULT_MARK: &str = "ALPAKA-RESULT";
/// The round-trip Job's line listing the cluster's topics.
pub const TOPICS_MARK: &str = "ALPAKA-TOPICS";
/// Rows in the test MySQL's `person` table: the JDBC source must deliver exactly this many.
pub const PERSON_ROWS: u32 = 10_000;
/// Messages the round trip produces and must read back.
pub const ROUNDTRIP_MESSAGES: u32 = 10;
pub const JDBC_SOURCE_CLASS: &str = "io.confluent.connect.jdbc.JdbcSourceConnector";
pub const S3_SINK_CLASS: &str = "io.confluent.connect.s3.S3SinkConnector";
const MYSQL_DB: &str = "alpaka_test";
const MYSQL_USER: &str = "alpaka";
/// Where the MySQL pod reads its passwords (the run's Secret, mounted read-only).
const MYSQL_SECRET_DIR: &str = "/run/secrets/alpaka-mysql";
/// The label (and value) the test MySQL's pods carry, for the NetworkPolicy that lets the
/// Connect workers reach it.
pub const MYSQL_ROLE_LABEL: (&str, &str) = ("alpaka.io/test-role", "mysql");

/// A run's id: 8 characters `[a-z0-9]`, part of every name the run creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunId(String);

impl RunId {
    pub const ALPHABET: &'static [u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    pub const LEN: usize = 8;

    pub fn new(s: &str) -> Result<RunId, String> {
        if s.len() == Self::LEN && s.bytes().all(|b| Self::ALPHABET.contains(&b)) {
            Ok(RunId(s.to_owned()))
        } else {
            Err(format!(
                "run id `{s}`: expected {} characters of a-z and 0-9",
                Self::LEN
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The test resources of one run against one stack.
pub struct TestKit<'a> {
    pub run: &'a RunId,
    pub ns: &'a str,
    pub cfg: &'a StackConfig,
    /// The profile's `mirror:` (issue 25): the test pods pull from it too.
    pub mirror: Option<&'a crate::model::profile::Mirror>,
}

impl TestKit<'_> {
    /// `alpaka-test-<run>-<what>`.
    pub fn name(&self, what: &str) -> String {
        format!("alpaka-test-{}-{what}", self.run.as_str())
    }

    pub fn roundtrip_topic(&self) -> String {
        self.name("roundtrip")
    }

    /// The JDBC source names its topic `<topic.prefix><table>`.
    pub fn person_topic(&self) -> String {
        format!("{}person", self.jdbc_topic_prefix())
    }

    fn jdbc_topic_prefix(&self) -> String {
        format!("alpaka-test-{}-", self.run.as_str())
    }

    /// ksqlDB identifiers are case-insensitive and may not contain `-`.
    pub fn ksql_stream(&self) -> String {
        format!("ALPAKA_TEST_{}", self.run.as_str().to_uppercase())
    }

    fn legacy(&self) -> bool {
        self.cfg.kafka.mode == KafkaMode::Zookeeper
    }

    fn strimzi_api(&self) -> &'static str {
        if self.legacy() {
            strimzi::API_VERSION_LEGACY
        } else {
            strimzi::API_VERSION
        }
    }

    fn labels(&self, app: &str) -> BTreeMap<String, String> {
        let mut l = k8s::labels(app);
        l.insert(RUN_LABEL.to_owned(), self.run.as_str().to_owned());
        l.insert("app.kubernetes.io/component".into(), "test".into());
        l
    }

    /// Where test pods run: `test.nodeSelector` and `test.tolerations`.
    fn placement(&self) -> PodSpec {
        PodSpec {
            node_selector: k8s::node_selector(&self.cfg.test.node_selector),
            tolerations: k8s::tolerations(&self.cfg.test.tolerations),
            ..Default::default()
        }
    }

    fn meta(&self, name: &str) -> ObjectMeta {
        k8s::meta(name, self.ns, self.labels(name))
    }

    /// A fresh single-partition topic, created (and later deleted) by the Topic Operator.
    pub fn topic(&self, name: &str) -> Json {
        let mut t = strimzi::topic(
            self.strimzi_api(),
            name,
            self.ns,
            KAFKA_NAME,
            1,
            self.cfg.kafka.default_replication_factor,
        );
        t.metadata
            .labels
            .insert(RUN_LABEL.into(), self.run.as_str().into());
        to_json(&t)
    }

    /// Produces [`ROUNDTRIP_MESSAGES`] JSON records to the round-trip topic and reads them back.
    pub fn roundtrip_job(&self, deadline_seconds: i64) -> Json {
        self.kcat_job(
            "roundtrip",
            ROUNDTRIP_SCRIPT,
            &[
                ("TOPIC", self.roundtrip_topic()),
                ("MESSAGES", ROUNDTRIP_MESSAGES.to_string()),
                ("RUN", self.run.as_str().to_owned()),
            ],
            deadline_seconds,
        )
    }

    /// Counts the records of `topic`, waiting up to `wait_seconds` for `expect` of them, then
    /// checks again after `settle_seconds` (a connector re-delivering shows as too many).
    pub fn count_job(
        &self,
        what: &str,
        topic: &str,
        expect: u32,
        wait_seconds: u64,
        settle_seconds: u64,
        deadline_seconds: i64,
    ) -> Json {
        self.kcat_job(
            what,
            COUNT_SCRIPT,
            &[
                ("TOPIC", topic.to_owned()),
                ("EXPECT", expect.to_string()),
                ("WAIT_SECONDS", wait_seconds.to_string()),
                ("SETTLE_SECONDS", settle_seconds.to_string()),
            ],
            deadline_seconds,
        )
    }

    fn kcat_job(
        &self,
        what: &str,
        script: &str,
        env: &[(&str, String)],
        deadline_seconds: i64,
    ) -> Json {
        let name = self.name(what);
        let addr = Addresses {
            ns: self.ns.to_owned(),
        };
        let mut vars = vec![("BOOTSTRAP", addr.bootstrap())];
        vars.extend(env.iter().map(|(k, v)| (*k, v.clone())));
        let tool = &self.cfg.tool.container;
        let (mut volumes, mut mounts) = hardening::scratch(&["/tmp"]);
        for (v, m) in [
            kafka_clients::ca_volume(KAFKA_NAME),
            kafka_clients::user_volume(kafka_users::TEST_USER),
        ] {
            volumes.push(v);
            mounts.push(m);
        }
        let job = Job {
            metadata: self.meta(&name),
            spec: Some(JobSpec {
                // One attempt: a retry would hide a flaky platform, and the log of the one pod
                // is the evidence.
                backoff_limit: Some(0),
                active_deadline_seconds: Some(deadline_seconds),
                // A kept run (`--keep`) or an interrupted one still goes away by itself.
                ttl_seconds_after_finished: Some(3600),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(self.labels(&name)),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        restart_policy: Some("Never".into()),
                        containers: vec![KContainer {
                            name: "check".into(),
                            image: Some(tool.reference()),
                            image_pull_policy: k8s::pull_policy(tool),
                            command: Some(vec![
                                "/bin/sh".into(),
                                "-c".into(),
                                format!("{KCAT_LOGIN}{script}"),
                            ]),
                            env: Some(kcat_env(&vars)),
                            // The scripts' scratch files (and the 0600 login file) are under /tmp.
                            volume_mounts: Some(mounts),
                            resources: Some(hardening::resources("50m", "64Mi", "500m", "256Mi")),
                            security_context: Some(hardening::container_security_context()),
                            ..Default::default()
                        }],
                        volumes: Some(volumes),
                        security_context: Some(hardening::pod_security_context(
                            hardening::TOOL_USER,
                        )),
                        automount_service_account_token: Some(false),
                        ..self.placement()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        self.pulled(to_json(&job))
    }

    /// A pod-bearing object with its images (and pull Secret) taken from the mirror, if any.
    fn pulled(&self, mut v: Json) -> Json {
        if let Some(m) = self.mirror {
            super::mirror::manifest_json(m, &mut v);
        }
        v
    }

    fn mysql_name(&self) -> String {
        self.name("mysql")
    }

    /// The throwaway MySQL (official image): a Secret with generated passwords, the init SQL,
    /// a Deployment without a volume (the data dies with the pod) and its Service.
    pub fn mysql(&self, root_password: &str, password: &str) -> Vec<Json> {
        let name = self.mysql_name();
        let init = self.name("mysql-init");
        let secret = Secret {
            metadata: self.meta(&name),
            data: Some(BTreeMap::from([
                (
                    "root-password".to_owned(),
                    ByteString(root_password.as_bytes().to_vec()),
                ),
                (
                    "password".to_owned(),
                    ByteString(password.as_bytes().to_vec()),
                ),
            ])),
            ..Default::default()
        };
        let config = ConfigMap {
            metadata: self.meta(&init),
            data: Some(BTreeMap::from([("person.sql".to_owned(), person_sql())])),
            ..Default::default()
        };
        // The passwords reach the server as files: the image's entrypoint reads `<VAR>_FILE`
        // for each of its variables (docker-library/mysql `docker-entrypoint.sh`, `file_env`),
        // so they are in no process environment.
        let from_secret = |var: &str, key: &str| EnvVar {
            name: format!("{var}_FILE"),
            value: Some(format!("{MYSQL_SECRET_DIR}/{key}")),
            ..Default::default()
        };
        let plain = |var: &str, v: &str| EnvVar {
            name: var.into(),
            value: Some(v.into()),
            ..Default::default()
        };
        let tcp_probe = Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::Int(3306),
                host: None,
            }),
            ..Default::default()
        };
        // Under a read-only root: the data directory (no volume: the data dies with the pod),
        // the server's socket directory and /tmp (docker-library/mysql `8.4/Dockerfile.oracle`
        // creates the first two owned by mysql, mode 1777).
        let (mut volumes, mut mounts) =
            hardening::scratch(&["/var/lib/mysql", "/var/run/mysqld", "/tmp"]);
        volumes.push(Volume {
            name: "init".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: init.clone(),
                ..Default::default()
            }),
            ..Default::default()
        });
        mounts.push(VolumeMount {
            name: "init".into(),
            mount_path: "/docker-entrypoint-initdb.d".into(),
            read_only: Some(true),
            ..Default::default()
        });
        volumes.push(Volume {
            name: "secret".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(name.clone()),
                default_mode: Some(0o400),
                ..Default::default()
            }),
            ..Default::default()
        });
        mounts.push(VolumeMount {
            name: "secret".into(),
            mount_path: MYSQL_SECRET_DIR.into(),
            read_only: Some(true),
            ..Default::default()
        });
        let selector = BTreeMap::from([
            ("app.kubernetes.io/name".to_owned(), name.clone()),
            (RUN_LABEL.to_owned(), self.run.as_str().to_owned()),
        ]);
        let mysql = &self.cfg.test.mysql;
        let deployment = Deployment {
            metadata: self.meta(&name),
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                selector: LabelSelector {
                    match_labels: Some(selector),
                    ..Default::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some({
                            let mut l = self.labels(&name);
                            l.insert(MYSQL_ROLE_LABEL.0.into(), MYSQL_ROLE_LABEL.1.into());
                            l
                        }),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        containers: vec![KContainer {
                            name: "mysql".into(),
                            image: Some(mysql.reference()),
                            image_pull_policy: k8s::pull_policy(mysql),
                            env: Some(vec![
                                from_secret("MYSQL_ROOT_PASSWORD", "root-password"),
                                plain("MYSQL_DATABASE", MYSQL_DB),
                                plain("MYSQL_USER", MYSQL_USER),
                                from_secret("MYSQL_PASSWORD", "password"),
                            ]),
                            ports: Some(vec![ContainerPort {
                                container_port: 3306,
                                name: Some("mysql".into()),
                                ..Default::default()
                            }]),
                            // The image runs its init scripts with networking off, so the port
                            // answering means the table is loaded.
                            readiness_probe: Some(Probe {
                                period_seconds: Some(5),
                                ..tcp_probe.clone()
                            }),
                            // The init scripts run with networking off, so the port
                            // stays closed until they finish: the start-up probe waits for
                            // them, liveness counts only after.
                            startup_probe: Some(Probe {
                                period_seconds: Some(5),
                                failure_threshold: Some(60),
                                ..tcp_probe.clone()
                            }),
                            liveness_probe: Some(Probe {
                                period_seconds: Some(20),
                                ..tcp_probe
                            }),
                            resources: Some(hardening::resources("100m", "1Gi", "1", "1Gi")),
                            security_context: Some(hardening::container_security_context()),
                            volume_mounts: Some(mounts),
                            ..Default::default()
                        }],
                        volumes: Some(volumes),
                        security_context: Some(hardening::pod_security_context(
                            hardening::MYSQL_USER,
                        )),
                        automount_service_account_token: Some(false),
                        ..self.placement()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        let service = Service {
            metadata: self.meta(&name),
            spec: Some(ServiceSpec {
                selector: deployment
                    .spec
                    .as_ref()
                    .and_then(|s| s.selector.match_labels.clone()),
                ports: Some(vec![ServicePort {
                    name: Some("mysql".into()),
                    port: 3306,
                    target_port: Some(IntOrString::Int(3306)),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        vec![
            to_json(&secret),
            to_json(&config),
            self.pulled(to_json(&deployment)),
            to_json(&service),
        ]
    }

    /// Read access to the MySQL Secret for connect type `connect`'s workers (the Kubernetes
    /// Secret config provider resolves the password through the API), and the JDBC source
    /// connector: incrementing on `id`, so each row is delivered exactly once.
    pub fn jdbc_connector(&self, connect: &str) -> Vec<Json> {
        let name = self.name("jdbc");
        let secret = self.mysql_name();
        let (mut role, mut binding) =
            k8s::connect_secret_access(&name, self.ns, &secret, &format!("{connect}-connect"));
        role.metadata.labels = Some(self.labels(&name));
        binding.metadata.labels = Some(self.labels(&name));
        let config = [
            (
                "connection.url",
                format!("jdbc:mysql://{secret}:3306/{MYSQL_DB}"),
            ),
            ("connection.user", MYSQL_USER.to_owned()),
            (
                "connection.password",
                format!("${{secrets:{}/{secret}:password}}", self.ns),
            ),
            ("table.whitelist", "person".to_owned()),
            ("mode", "incrementing".to_owned()),
            ("incrementing.column.name", "id".to_owned()),
            ("topic.prefix", self.jdbc_topic_prefix()),
            ("poll.interval.ms", "1000".to_owned()),
        ];
        vec![
            to_json(&role),
            to_json(&binding),
            self.connector(&name, connect, JDBC_SOURCE_CLASS, &config),
        ]
    }

    /// The S3 sink: the round-trip topic as JSON files under `topics_dir` (alpaka's per-run
    /// prefix, never a user path), one file per [`ROUNDTRIP_MESSAGES`] records.
    pub fn s3_connector(
        &self,
        connect: &str,
        bucket: &str,
        region: &str,
        topics_dir: &str,
    ) -> Json {
        let config = [
            ("topics", self.roundtrip_topic()),
            ("s3.bucket.name", bucket.to_owned()),
            ("s3.region", region.to_owned()),
            ("topics.dir", topics_dir.to_owned()),
            ("flush.size", ROUNDTRIP_MESSAGES.to_string()),
            (
                "storage.class",
                "io.confluent.connect.s3.storage.S3Storage".to_owned(),
            ),
            (
                "format.class",
                "io.confluent.connect.s3.format.json.JsonFormat".to_owned(),
            ),
        ];
        self.connector(&self.name("s3"), connect, S3_SINK_CLASS, &config)
    }

    /// A test connector; its records are plain JSON (no schema envelope), so ksqlDB, the S3
    /// objects and people can read them.
    fn connector(&self, name: &str, connect: &str, class: &str, config: &[(&str, String)]) -> Json {
        let mut config: BTreeMap<String, String> = config
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        config.insert(
            "value.converter".into(),
            "org.apache.kafka.connect.json.JsonConverter".into(),
        );
        config.insert("value.converter.schemas.enable".into(), "false".into());
        let mut c = strimzi::connector(name, self.ns, connect, class.to_owned(), Some(1), config);
        c.api_version = self.strimzi_api();
        c.metadata
            .labels
            .insert(RUN_LABEL.into(), self.run.as_str().into());
        to_json(&c)
    }

    /// ksqlDB statements over the round-trip topic (its records are `{"id": n, "name": …}`).
    pub fn ksql(&self) -> Ksql {
        let s = self.ksql_stream();
        Ksql {
            show_topics: "SHOW TOPICS;".into(),
            create_stream: format!(
                "CREATE STREAM {s} (ID INT, NAME VARCHAR) WITH (KAFKA_TOPIC='{}', VALUE_FORMAT='JSON');",
                self.roundtrip_topic()
            ),
            select: format!("SELECT ID, NAME FROM {s} EMIT CHANGES LIMIT 3;"),
            drop_stream: format!("DROP STREAM IF EXISTS {s};"),
        }
    }
}

pub struct Ksql {
    pub show_topics: String,
    pub create_stream: String,
    pub select: String,
    pub drop_stream: String,
}

/// The `person` table and its rows, generated in the server (a recursive CTE).
pub fn person_sql() -> String {
    format!(
        "CREATE TABLE person (\n  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n  name VARCHAR(64) NOT NULL,\n  age INT NOT NULL,\n  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n\
         SET SESSION cte_max_recursion_depth = {depth};\n\
         INSERT INTO person (name, age)\n  WITH RECURSIVE seq (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {rows})\n  SELECT CONCAT('person-', n), 20 + n % 50 FROM seq;\n",
        rows = PERSON_ROWS,
        depth = PERSON_ROWS + 1,
    )
}

fn to_json<T: serde::Serialize>(v: &T) -> Json {
    // Invariant: these are plain data structs (k8s-openapi, Strimzi manifests) with string keys;
    // serializing them to a JSON value cannot fail.
    serde_json::to_value(v).unwrap_or(Json::Null)
}

/// The Jobs' login to the TLS + SCRAM listener as `alpaka-test` (its ACLs: the `alpaka-test-`
/// topics and groups): the password is read from the User Operator's Secret mounted as a file
/// and goes into a 0600 kcat config file (`$KCAT_CONFIG`, kcat 1.7) that the run's scripts
/// use without naming it; never into an argument, where `ps` would show it, nor a variable.
pub const KCAT_LOGIN: &str = r#"umask 077
KCAT_CONFIG=$(mktemp)
printf 'security.protocol=%s\nsasl.mechanisms=%s\nsasl.username=%s\nsasl.password=%s\nssl.ca.location=%s\n' \
  "$KAFKA_SECURITY_PROTOCOL" "$KAFKA_SASL_MECHANISM" "$KAFKA_SASL_USERNAME" "$(cat "$KAFKA_SASL_PASSWORD_FILE")" "$KAFKA_CA_FILE" > "$KCAT_CONFIG"
export KCAT_CONFIG
"#;

/// The Jobs' variables plus the test user's login (password from its Secret only).
fn kcat_env(vars: &[(&str, String)]) -> Vec<EnvVar> {
    let mut env = k8s::env(vars).unwrap_or_default();
    env.extend(
        kafka_clients::tool_env(kafka_users::TEST_USER)
            .into_iter()
            .filter(|e| e.name != "KAFKA_SASL_JAAS_CONFIG_FILE"),
    );
    env
}

/// Round trip with kcat: produce `$MESSAGES` JSON lines, consume from the beginning, compare;
/// also lists the cluster's topics (`ALPAKA-TOPICS a b …`) for the Connect topic check.
/// Every kcat call is bounded (`timeout`), so an unreachable broker ends the check with its
/// error instead of librdkafka retrying until the Job's deadline.
/// Scratch files live in `mktemp` paths: nothing assumes a private /tmp.
pub const ROUNDTRIP_SCRIPT: &str = r#"set -u
work=$(mktemp -d); sent="$work/sent"; got="$work/got"; : > "$sent"
i=1
while [ "$i" -le "$MESSAGES" ]; do
  printf '{"id":%d,"name":"alpaka-%s-%d"}\n' "$i" "$RUN" "$i" >> "$sent"
  i=$((i + 1))
done
echo "producing $MESSAGES messages to $TOPIC at $BOOTSTRAP"
if ! timeout 60 kcat -P -b "$BOOTSTRAP" -t "$TOPIC" -X message.timeout.ms=30000 -l "$sent"; then
  echo "ALPAKA-RESULT sent=0 received=0 match=no error=produce-failed"
  exit 1
fi
received=0
for attempt in 1 2 3 4 5 6; do
  timeout 60 kcat -C -b "$BOOTSTRAP" -t "$TOPIC" -o beginning -e -q > "$got" 2>"$work/consume.err" || true
  received=$(wc -l < "$got" | tr -d ' ')
  [ "$received" -ge "$MESSAGES" ] && break
  sleep 2
done
cat "$work/consume.err" >&2
topics=$(timeout 30 kcat -L -b "$BOOTSTRAP" 2>/dev/null | sed -n 's/^ *topic "\([^"]*\)".*/\1/p' | tr '\n' ' ')
echo "ALPAKA-TOPICS $topics"
if [ "$(sort "$sent")" = "$(sort "$got")" ]; then match=yes; else match=no; fi
echo "ALPAKA-RESULT sent=$MESSAGES received=$received match=$match"
[ "$match" = yes ]
"#;

/// Counts a topic's records with kcat until `$EXPECT` arrive or `$WAIT_SECONDS` pass, then
/// once more after `$SETTLE_SECONDS`.
pub const COUNT_SCRIPT: &str = r#"set -u
err=$(mktemp)
count() {
  timeout 120 kcat -C -b "$BOOTSTRAP" -t "$TOPIC" -o beginning -e -q -f '%o\n' 2>"$err" | wc -l | tr -d ' '
}
start=$(date +%s)
n=0
while :; do
  n=$(count)
  echo "$(date -u +%H:%M:%S) $n of $EXPECT records in $TOPIC"
  [ "$n" -ge "$EXPECT" ] && break
  [ $(( $(date +%s) - start )) -ge "$WAIT_SECONDS" ] && break
  sleep 3
done
sleep "$SETTLE_SECONDS"
n=$(count)
tail -n 3 "$err" >&2
echo "ALPAKA-RESULT expected=$EXPECT received=$n"
[ "$n" -eq "$EXPECT" ]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn kit_cfg() -> StackConfig {
        StackConfig::default()
    }

    #[test]
    fn run_ids_are_eight_lowercase_alphanumerics() {
        assert!(RunId::new("ab12cd34").is_ok());
        for bad in [
            "",
            "ab12cd3",
            "ab12cd345",
            "AB12CD34",
            "ab-2cd34",
            "../x/../",
        ] {
            assert!(RunId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_object_is_named_and_labelled_for_its_run() {
        let run = RunId::new("ab12cd34").unwrap();
        let cfg = kit_cfg();
        let kit = TestKit {
            run: &run,
            ns: "alpaka",
            cfg: &cfg,
            mirror: None,
        };
        let mut all = kit.mysql("r", "p");
        all.extend(kit.jdbc_connector("srccon"));
        all.push(kit.topic(&kit.roundtrip_topic()));
        all.push(kit.roundtrip_job(300));
        all.push(kit.count_job("count", &kit.person_topic(), 10, 5, 1, 60));
        all.push(kit.s3_connector("sinkcon", "b", "r", "alpaka-test/ab12cd34"));
        for o in &all {
            let name = o["metadata"]["name"].as_str().unwrap();
            assert!(name.starts_with("alpaka-test-ab12cd34-"), "{name}");
            assert_eq!(o["metadata"]["labels"][RUN_LABEL], "ab12cd34", "{name}");
            assert_eq!(o["metadata"]["namespace"], "alpaka", "{name}");
        }
    }

    #[test]
    fn kcat_jobs_log_in_as_the_test_user_with_the_password_from_its_secret() {
        let cfg = kit_cfg();
        let run = RunId::new("ab12cd34").unwrap();
        let kit = TestKit {
            run: &run,
            ns: "alpaka",
            cfg: &cfg,
            mirror: None,
        };
        let job = kit.roundtrip_job(60);
        let c = &job["spec"]["template"]["spec"]["containers"][0];
        let env = c["env"].as_array().unwrap();
        let var = |n: &str| env.iter().find(|e| e["name"] == n).unwrap().clone();
        assert_eq!(
            var("BOOTSTRAP")["value"],
            "alpaka-kafka-bootstrap.alpaka.svc:9093"
        );
        assert_eq!(var("KAFKA_SASL_USERNAME")["value"], "alpaka-test");
        assert_eq!(
            var("KAFKA_SASL_PASSWORD_FILE")["value"],
            "/etc/alpaka/kafka-user/password"
        );
        assert!(env.iter().all(|e| e.get("valueFrom").is_none()), "{env:?}");
        assert_eq!(var("KAFKA_SECURITY_PROTOCOL")["value"], "SASL_SSL");
        let script = c["command"][2].as_str().unwrap();
        assert!(script.starts_with(KCAT_LOGIN), "{script}");
        assert!(script.contains("export KCAT_CONFIG"));
        let volumes = job["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .unwrap();
        let ca = volumes
            .iter()
            .find(|v| v["secret"]["secretName"] == "alpaka-cluster-ca-cert")
            .unwrap();
        let mount = c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == ca["name"])
            .unwrap();
        assert_eq!(mount["mountPath"], "/etc/alpaka/kafka-ca");
        let user = volumes
            .iter()
            .find(|v| v["secret"]["secretName"] == "alpaka-test")
            .unwrap();
        assert_eq!(user["secret"]["defaultMode"], 0o400);
        assert!(
            c["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["name"] == user["name"]
                    && m["mountPath"] == "/etc/alpaka/kafka-user"
                    && m["readOnly"] == true)
        );
    }

    #[test]
    fn the_person_sql_makes_exactly_the_rows_the_check_expects() {
        let sql = person_sql();
        assert!(sql.contains("WHERE n < 10000"));
        assert!(sql.contains("cte_max_recursion_depth = 10001"));
    }
}
