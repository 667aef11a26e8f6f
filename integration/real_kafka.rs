//! alpaka's Kafka and Connect artefacts against the real things: a Kafka 4.3.1 broker (the version the images ship) (KRaft) with
//! a SASL_SSL + SCRAM-SHA-512 listener and the StandardAuthorizer, a distributed Connect worker
//! from Maven Central jars, MariaDB from Debian with the binlog on, and the Debezium MySQL plugin
//! checked against its published checksums (`integration/kafka/cluster.sh`, one for the whole
//! file). The users and ACLs are the KafkaUsers alpaka renders for the shipped config, made in the
//! broker by the User Operator stand-in (`integration/standins/user_operator.py`); the Connect
//! worker logs in as its own user, configured from the KafkaConnect alpaka renders. What runs here:
//! - `alpaka test`'s own Kafka scripts (round trip, topic listing, counting), as its Jobs run them,
//!   logged in as `alpaka-test` through `testkit::KCAT_LOGIN`;
//! - a client without an ACL for a topic is refused (`TopicAuthorizationException`, and
//!   librdkafka's "Topic authorization failed");
//! - every connector alpaka renders from the shipped config whose class this worker has, through
//!   the worker's `PUT /connector-plugins/{class}/config/validate`, exactly as rendered (secret
//!   values as `${secrets:ns/secret:key}` references the worker resolves);
//! - the shipped Debezium group, pointed at MariaDB by a profile override with its password from
//!   the environment (`fromEnv`), delivering 10,000 rows as the Connect user; then, with one ACL
//!   alpaka derived taken away (WRITE on the `cdc.` topics), the next rows are refused, and with
//!   it given back they arrive: the derived set is needed as it is.
//!
//! The stand-ins: Strimzi's Kubernetes Secret config provider is not on Maven Central's Connect
//! class path, so the worker's `secrets` and `strimzisecrets` providers are DirectoryConfigProviders
//! reading `DIR/k8s-secrets/<namespace>/<secret>/<key>`, which this test fills from the Secret
//! alpaka would apply and the User Operator stand-in from the KafkaUsers (see cluster.sh).
//!
//! kcat: the tool image's, kcat 1.7.1 on librdkafka 2.8.0 (`integration/kcat.sh`; older
//! librdkafka cannot log in with SCRAM to Kafka 4: `support::assert_tool_kcat`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use alpaka::engine::Value;
use alpaka::selftest::verdict;
use alpaka::stack::testkit;
use serde_json::{Value as Json, json};

#[path = "support.rs"]
mod support;

use support::repo;

fn python() -> PathBuf {
    std::env::var_os("ALPAKA_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv-test/bin/python"))
}

/// The Connect type of the shipped config's Debezium group.
const CONNECT_TYPE: &str = "srccon";
/// Debezium's topic for the table: <topic.prefix>.<database>.<table>.
const CDC_TOPIC: &str = "cdc.alpaka.person";

struct Kafka {
    dir: tempfile::TempDir,
    _child: std::sync::Mutex<Child>,
    bootstrap: String,
    connect: String,
    mysql_port: u16,
    password: String,
    ca: PathBuf,
    admin_librdkafka: PathBuf,
    k8s_secrets: PathBuf,
    /// The KafkaUsers alpaka rendered, as applied.
    users: Vec<Json>,
}

/// What alpaka renders for the workspace (the shipped config, the test profile pointing the
/// Debezium group at `mysql_port`, its password `db_pass`).
fn render(mysql_port: u16, db_pass: &str) -> Vec<alpaka::engine::Node> {
    let ws = workspace(mysql_port);
    let mut loaded = alpaka::config::load(ws.path(), "it").unwrap();
    loaded
        .config
        .env
        .0
        .insert("ALPAKA_IT_DB_PASS".into(), db_pass.to_owned());
    alpaka::stack::build(&loaded.profile_name, &loaded.profile, &loaded.config).unwrap()
}

/// A rendered resource as the Kubernetes API would get it (without alpaka's `cluster` key).
fn resource(n: &alpaka::engine::Node) -> Json {
    let mut v = serde_json::to_value(&n.desired).unwrap();
    v.as_object_mut().unwrap().remove("cluster");
    v
}

fn kafka_users(nodes: &[alpaka::engine::Node]) -> Vec<Json> {
    nodes
        .iter()
        .filter(|n| n.kind == "strimzi.kafkauser")
        .map(resource)
        .collect()
}

/// The cluster for this file, started once (fetching the jars on first use) with the KafkaUsers
/// and the Connect type's KafkaConnect alpaka renders. A test that cannot have it fails with
/// cluster.sh's own words.
fn kafka() -> &'static Kafka {
    static K: OnceLock<Kafka> = OnceLock::new();
    K.get_or_init(|| {
        support::assert_tool_kcat();
        let dir = tempfile::tempdir().unwrap();
        // MariaDB's port and password come from cluster.sh, but the users and the KafkaConnect do
        // not depend on them (checked again with the real ones in `rendered_connectors`).
        let nodes = render(3306, "placeholder");
        let users = kafka_users(&nodes);
        let connect = nodes
            .iter()
            .find(|n| {
                n.kind == "strimzi.kafkaconnect"
                    && n.desired
                        .get("metadata")
                        .and_then(|m| m.get("name"))
                        .and_then(Value::as_str)
                        == Some(CONNECT_TYPE)
            })
            .map(resource)
            .expect("the shipped config's Connect type srccon");
        let users_file = dir.path().join("kafka-users.json");
        std::fs::write(&users_file, serde_json::to_string(&users).unwrap()).unwrap();
        let connect_file = dir.path().join("kafka-connect.json");
        std::fs::write(&connect_file, connect.to_string()).unwrap();
        let started = Instant::now();
        let mut child = Command::new(repo().join("integration/kafka/cluster.sh"))
            .arg(dir.path().join("cluster"))
            .arg("--kafka-users")
            .arg(&users_file)
            .arg("--kafka-connect")
            .arg(&connect_file)
            .env("ALPAKA_TEST_PYTHON", python())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("integration/kafka/cluster.sh");
        let stdout = child.stdout.take().unwrap();
        let line = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with("READY "));
        let Some(line) = line else {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("cluster.sh did not get ready:\n{err}");
        };
        eprintln!(
            "real Kafka (SASL_SSL)/Connect/MariaDB ready in {:.1} s: {line}",
            started.elapsed().as_secs_f64()
        );
        let field = |k: &str| {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(&format!("{k}=")))
                .unwrap_or_else(|| panic!("no {k}= in {line}"))
                .to_owned()
        };
        let mysql_port = field("mysql").rsplit(':').next().unwrap().parse().unwrap();
        let password = std::fs::read_to_string(field("dbpassfile")).unwrap();
        Kafka {
            bootstrap: field("bootstrap"),
            connect: field("connect"),
            mysql_port,
            password,
            ca: PathBuf::from(field("ca")),
            admin_librdkafka: PathBuf::from(field("admin_librdkafka")),
            k8s_secrets: PathBuf::from(field("k8s_secrets")),
            users,
            _child: std::sync::Mutex::new(child),
            dir,
        }
    })
}

impl Kafka {
    fn namespace(&self) -> String {
        self.users[0]["metadata"]["namespace"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The password the User Operator (stand-in) wrote into `user`'s Secret.
    fn user_password(&self, user: &str) -> String {
        std::fs::read_to_string(
            self.k8s_secrets
                .join(self.namespace())
                .join(user)
                .join("password"),
        )
        .unwrap()
    }

    fn user(&self, name: &str) -> Json {
        self.users
            .iter()
            .find(|u| u["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("alpaka renders no KafkaUser {name}"))
            .clone()
    }

    /// Runs the User Operator stand-in on `users` (a JSON list), as alpaka-admin.
    fn apply_users(&self, users: &Json) {
        let file = self
            .dir
            .path()
            .join(format!("apply-{:?}.json", std::thread::current().id()));
        std::fs::write(&file, users.to_string()).unwrap();
        let out = Command::new(python())
            .arg(repo().join("integration/standins/user_operator.py"))
            .arg("--bootstrap")
            .arg(&self.bootstrap)
            .arg("--admin-config")
            .arg(&self.admin_librdkafka)
            .arg("apply")
            .arg("--secrets-dir")
            .arg(&self.k8s_secrets)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "user_operator.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Run one of `alpaka test`'s Job scripts the way its Job does (`/bin/sh -c`, after
/// `KCAT_LOGIN`), logged in as `user` with the variables the Job gets (`kafka_clients::tool_env`:
/// the password file of the user's Secret, the CA file).
fn job_script(user: &str, script: &str, env: &[(&str, String)]) -> (bool, String) {
    let k = kafka();
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("{}{script}", testkit::KCAT_LOGIN))
        .env("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
        .env("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
        .env("KAFKA_SASL_USERNAME", user)
        // The user's Secret as its Job mounts it (the User Operator stand-in's files).
        .env(
            "KAFKA_SASL_PASSWORD_FILE",
            k.k8s_secrets
                .join(k.namespace())
                .join(user)
                .join("password"),
        )
        .env("KAFKA_CA_FILE", &k.ca)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), log)
}

fn curl(method: &str, url: &str, body: Option<&Json>) -> (u16, String) {
    let mut c = Command::new("curl");
    c.args(["-s", "-X", method, "-w", "\n%{http_code}", url]);
    if let Some(b) = body {
        c.args(["-H", "Content-Type: application/json", "--data-binary"])
            .arg(b.to_string());
    }
    let out = c.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// The workspace: the shipped configs, and a k3s profile that points the `srccon` example
/// database at this MariaDB, with its password read from the environment.
fn workspace(mysql_port: u16) -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("profiles")).unwrap();
    std::fs::create_dir_all(ws.path().join("configs")).unwrap();
    std::fs::copy(
        repo().join("configs/default.yaml"),
        ws.path().join("configs/default.yaml"),
    )
    .unwrap();
    std::fs::write(
        ws.path().join("profiles/it.yaml"),
        format!(
            "distribution: k3s\nconfig: default\noverrides:\n  kafka_connect:\n    connects:\n    - type: {CONNECT_TYPE}\n      values:\n        db_host: 127.0.0.1\n        db_port: {mysql_port}\n        db_name: alpaka\n        db_user: alpaka\n        db_pass: {{fromEnv: ALPAKA_IT_DB_PASS}}\n"
        ),
    )
    .unwrap();
    ws
}

/// The connectors alpaka renders for the workspace: (name, class, config as the KafkaConnector
/// carries it), with the Secret data their references read written where the worker's
/// `secrets` provider finds it.
fn rendered_connectors() -> Vec<(String, String, serde_json::Map<String, Json>)> {
    let k = kafka();
    let nodes = render(k.mysql_port, &k.password);
    // The users the broker has are what alpaka renders for this very config.
    assert_eq!(kafka_users(&nodes), k.users);
    let mut out = Vec::new();
    for n in &nodes {
        let d = &n.desired;
        match n.kind.as_str() {
            "k8s.secret" => {
                let ns = d.get("namespace").and_then(Value::as_str).unwrap();
                let name = d.get("name").and_then(Value::as_str).unwrap();
                let dir = k.k8s_secrets.join(ns).join(name);
                std::fs::create_dir_all(&dir).unwrap();
                for (key, v) in d.get("data").and_then(Value::as_map).unwrap() {
                    let text = match v {
                        Value::Secret(s) => s.plaintext().unwrap().to_owned(),
                        Value::Str(s) => s.clone(),
                        other => panic!("{name}.{key}: {other:?}"),
                    };
                    // Whole or not at all: another test may be validating against it.
                    let tmp = dir.join(format!(".{key}.tmp-{:?}", std::thread::current().id()));
                    std::fs::write(&tmp, text).unwrap();
                    std::fs::rename(&tmp, dir.join(key)).unwrap();
                }
            }
            "strimzi.kafkaconnector" => {
                let name = d
                    .get("metadata")
                    .and_then(|m| m.get("name"))
                    .and_then(Value::as_str);
                let spec = d.get("spec").unwrap();
                let class = spec
                    .get("class")
                    .and_then(Value::as_str)
                    .unwrap()
                    .to_owned();
                let mut config = serde_json::Map::new();
                for (key, v) in spec.get("config").and_then(Value::as_map).unwrap() {
                    config.insert(key.clone(), json!(v.as_str().unwrap()));
                }
                if let Some(t) = spec.get("tasksMax").and_then(Value::as_i64) {
                    config.insert("tasks.max".into(), json!(t.to_string()));
                }
                config.insert("connector.class".into(), json!(class));
                out.push((name.unwrap().to_owned(), class, config));
            }
            _ => {}
        }
    }
    out
}

/// The in-cluster bootstrap address alpaka renders, mapped to this broker's loopback one: the
/// only difference between the cluster and this machine.
fn on_loopback(mut config: serde_json::Map<String, Json>) -> serde_json::Map<String, Json> {
    let k = kafka();
    for v in config.values_mut() {
        if let Some(s) = v.as_str().filter(|s| s.contains("-kafka-bootstrap.")) {
            *v = json!(
                s.split(',')
                    .map(|a| if a.contains("-kafka-bootstrap.") {
                        k.bootstrap.as_str()
                    } else {
                        a
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
    }
    config
}

fn connect_topics() -> Vec<String> {
    ["configs", "offsets", "status"]
        .iter()
        .map(|t| format!("connect-{CONNECT_TYPE}-{t}"))
        .collect()
}

#[test]
fn alpakas_kafka_scripts_run_as_alpaka_test_over_sasl_ssl() {
    let k = kafka();
    let started = Instant::now();
    // `alpaka test` names its topics alpaka-test-<run id>-…: the test user's ACLs cover those.
    let topic = format!(
        "{}it000001-roundtrip",
        alpaka::stack::kafka_users::TEST_PREFIX
    );
    let (ok, log) = job_script(
        alpaka::stack::kafka_users::TEST_USER,
        testkit::ROUNDTRIP_SCRIPT,
        &[
            ("BOOTSTRAP", k.bootstrap.clone()),
            ("TOPIC", topic.clone()),
            ("MESSAGES", testkit::ROUNDTRIP_MESSAGES.to_string()),
            ("RUN", "it000001".into()),
        ],
    );
    let r = verdict::job_result(&log).unwrap_or_else(|| panic!("no result line:\n{log}"));
    assert!(ok, "{log}");
    assert_eq!(r["match"], "yes", "{log}");
    assert_eq!(
        verdict::result_count(&r, "received"),
        Some(u64::from(testkit::ROUNDTRIP_MESSAGES))
    );
    // The topic listing the Connect topic check judges: this topic and the worker's own (the
    // test user may describe every topic, not read it).
    let topics = verdict::listed_topics(&log).unwrap();
    for t in std::iter::once(topic.clone()).chain(connect_topics()) {
        assert!(topics.contains(&t), "{t} not listed: {topics:?}");
    }
    let (ok, log) = job_script(
        alpaka::stack::kafka_users::TEST_USER,
        testkit::COUNT_SCRIPT,
        &[
            ("BOOTSTRAP", k.bootstrap.clone()),
            ("TOPIC", topic),
            ("EXPECT", testkit::ROUNDTRIP_MESSAGES.to_string()),
            ("WAIT_SECONDS", "30".into()),
            ("SETTLE_SECONDS", "1".into()),
        ],
    );
    assert!(ok, "{log}");
    let r = verdict::job_result(&log).unwrap();
    assert_eq!(r["received"], testkit::ROUNDTRIP_MESSAGES.to_string());
    eprintln!(
        "round trip + count as alpaka-test: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn a_client_without_an_acl_for_a_topic_is_refused() {
    let k = kafka();
    let user = alpaka::stack::kafka_users::TEST_USER;
    // Connect's config topic exists once the worker runs and holds every connector's config:
    // the test user may see its name, not read it.
    let topic = &connect_topics()[0];
    let (ok, log) = job_script(
        user,
        testkit::COUNT_SCRIPT,
        &[
            ("BOOTSTRAP", k.bootstrap.clone()),
            ("TOPIC", topic.clone()),
            ("EXPECT", "1".into()),
            ("WAIT_SECONDS", "0".into()),
            ("SETTLE_SECONDS", "0".into()),
        ],
    );
    assert!(!ok, "{log}");
    // librdkafka's text for TOPIC_AUTHORIZATION_FAILED (rd_kafka_err2str).
    assert!(log.contains("Topic authorization failed"), "{log}");

    // The Java client, as the same user, consuming in a group its ACLs allow.
    let out = java_tool(
        user,
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        &[
            "--bootstrap-server",
            &k.bootstrap,
            "--topic",
            topic,
            "--group",
            "alpaka-test-it000001-refused",
            "--from-beginning",
            "--timeout-ms",
            "20000",
        ],
        "--consumer.config",
    );
    // (The console consumer ends with status 0 after an error: the exception is the evidence.)
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("org.apache.kafka.common.errors.TopicAuthorizationException"),
        "{err}"
    );
    assert!(err.contains(topic.as_str()), "{err}");
}

#[test]
fn every_rendered_connector_with_a_class_here_passes_the_real_workers_validation() {
    let k = kafka();
    let (code, body) = curl("GET", &format!("{}/connector-plugins", k.connect), None);
    assert_eq!(code, 200, "{body}");
    let here: Vec<String> = serde_json::from_str::<Json>(&body)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["class"].as_str().map(str::to_owned))
        .collect();
    let connectors = rendered_connectors();
    let mut validated = Vec::new();
    for (name, class, config) in connectors {
        if !here.contains(&class) {
            // The Confluent JDBC and S3 classes are not on Maven Central: tests/
            // jdbc_connector_docs.rs holds their configs to the connector's documentation.
            continue;
        }
        let mut config = on_loopback(config);
        config.insert("name".into(), json!(name));
        let (code, body) = curl(
            "PUT",
            &format!("{}/connector-plugins/{class}/config/validate", k.connect),
            Some(&Json::Object(config)),
        );
        assert_eq!(code, 200, "{name}: {body}");
        let v: Json = serde_json::from_str(&body).unwrap();
        let errors: Vec<String> = v["configs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| !c["value"]["errors"].as_array().unwrap().is_empty())
            .map(|c| format!("{}: {}", c["value"]["name"], c["value"]["errors"]))
            .collect();
        assert_eq!(v["error_count"], 0, "{name} ({class}): {errors:#?}");
        validated.push(name);
    }
    assert!(
        validated.iter().any(|n| n.contains("cdc")),
        "the shipped Debezium connector was not validated: {validated:?}"
    );
}

fn mariadb(sql: &str) {
    let cnf = kafka()
        .k8s_secrets
        .parent()
        .unwrap()
        .join("secrets/client.cnf");
    let mut mysql = Command::new("mariadb")
        .arg(format!("--defaults-file={}", cnf.display()))
        .arg("alpaka")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(mysql.stdin.as_mut().unwrap(), sql.as_bytes()).unwrap();
    drop(mysql.stdin.take());
    assert!(mysql.wait().unwrap().success());
}

/// Counts `topic`'s records with `alpaka test`'s count script, as alpaka-admin (the operator's
/// identity: no other user reads the CDC topics but Connect).
fn count_as_admin(topic: &str, expect: u32, wait_seconds: u32) -> (bool, String) {
    job_script(
        alpaka::stack::kafka_users::ADMIN_USER,
        testkit::COUNT_SCRIPT,
        &[
            ("BOOTSTRAP", kafka().bootstrap.clone()),
            ("TOPIC", topic.into()),
            ("EXPECT", expect.to_string()),
            ("WAIT_SECONDS", wait_seconds.to_string()),
            ("SETTLE_SECONDS", "2".into()),
        ],
    )
}

/// Waits for the connector's task to reach `state`; returns the status document.
fn task_state(connect: &str, name: &str, state: &str, within: Duration) -> Json {
    let until = Instant::now() + within;
    loop {
        let (_, body) = curl("GET", &format!("{connect}/connectors/{name}/status"), None);
        let status: Json = serde_json::from_str(&body).unwrap_or(Json::Null);
        if status["tasks"][0]["state"] == state || Instant::now() > until {
            return status;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_shipped_debezium_group_delivers_10000_rows_as_its_own_user_and_needs_its_write_acl() {
    let k = kafka();
    const ROWS: u32 = 10_000;
    // The rows first: the connector's snapshot reads them all.
    mariadb(&format!(
        "CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, age INT);\n\
         INSERT INTO person (id, name, age) SELECT seq, CONCAT('person-', seq), seq % 90 FROM seq_1_to_{ROWS};\n"
    ));

    let (name, _, config) = rendered_connectors()
        .into_iter()
        .find(|(n, _, _)| n.contains("cdc"))
        .expect("configs/default.yaml ships a Debezium group");
    let config = on_loopback(config);
    // No password in what alpaka hands Connect: references to Secrets.
    assert!(
        config["database.password"]
            .as_str()
            .unwrap()
            .starts_with("${secrets:"),
        "{config:?}"
    );
    let connect_user = format!("connect-{CONNECT_TYPE}");
    assert!(
        config["schema.history.internal.producer.sasl.jaas.config"]
            .as_str()
            .unwrap()
            .contains(&format!("/{connect_user}:")),
        "{config:?}"
    );
    let text = Json::Object(config.clone()).to_string();
    assert!(!text.contains(&k.password));
    assert!(!text.contains(&k.user_password(&connect_user)));
    let started = Instant::now();
    let (code, body) = curl(
        "PUT",
        &format!("{}/connectors/{name}/config", k.connect),
        Some(&Json::Object(config)),
    );
    assert!(code == 200 || code == 201, "{body}");
    let (ok, log) = count_as_admin(CDC_TOPIC, ROWS, 240);
    let (_, status) = curl(
        "GET",
        &format!("{}/connectors/{name}/status", k.connect),
        None,
    );
    assert!(ok, "{log}\nconnector status: {status}");
    let r = verdict::job_result(&log).unwrap();
    assert_eq!(r["received"], ROWS.to_string(), "{log}");
    eprintln!(
        "{ROWS} rows from MariaDB in {CDC_TOPIC} as {connect_user}: {:.1} s after registering {name}",
        started.elapsed().as_secs_f64()
    );
    // The connector's name and state, as `alpaka test` would judge a connector.
    assert!(status.contains("\"RUNNING\""), "{status}");

    // One ACL alpaka derived taken away, as the User Operator would on a KafkaUser without it:
    // WRITE on the Debezium topics (prefix `cdc.`). The next rows (binlog streaming: no second
    // snapshot) are refused and the task fails.
    let full = k.user(&connect_user);
    let mut without = full.clone();
    let mut removed = 0;
    for rule in without["spec"]["authorization"]["acls"]
        .as_array_mut()
        .unwrap()
    {
        if rule["resource"] == json!({"type": "topic", "name": "cdc.", "patternType": "prefix"}) {
            let ops = rule["operations"].as_array_mut().unwrap();
            let before = ops.len();
            ops.retain(|o| o != "Write");
            removed += before - ops.len();
        }
    }
    assert_eq!(removed, 1, "alpaka derives WRITE on prefix cdc.: {full}");
    k.apply_users(&json!([without]));
    let t = Instant::now();
    mariadb(
        "INSERT INTO person (id, name, age) SELECT seq, CONCAT('person-', seq), 1 FROM seq_10001_to_10005;\n",
    );
    let status = task_state(&k.connect, &name, "FAILED", Duration::from_secs(90));
    assert_eq!(status["tasks"][0]["state"], "FAILED", "{status}");
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("TopicAuthorizationException"),
        "the task failed, but not for the ACL: {trace}"
    );
    eprintln!(
        "without WRITE on cdc.: task FAILED with TopicAuthorizationException in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Given back, the same rows arrive after a restart of the failed task.
    k.apply_users(&json!([full]));
    let (code, body) = curl(
        "POST",
        &format!(
            "{}/connectors/{name}/restart?includeTasks=true&onlyFailed=true",
            k.connect
        ),
        None,
    );
    assert!(code == 202 || code == 204 || code == 200, "{code} {body}");
    let (ok, log) = count_as_admin(CDC_TOPIC, ROWS + 5, 120);
    assert!(ok, "{log}");
    let status = task_state(&k.connect, &name, "RUNNING", Duration::from_secs(10));
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    assert_bindings_match(k, &full);
}

/// The broker holds one binding per (rule, operation) of `user`, as Strimzi's
/// SimpleAclRule.fromCrd makes them, for its principal, all ALLOW; a super user none.
fn assert_bindings_match(k: &Kafka, user: &Json) {
    let name = user["metadata"]["name"].as_str().unwrap();
    let out = user_operator(k, &["acls", name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bindings: Vec<Json> = serde_json::from_slice(&out.stdout).unwrap();
    let expected: usize = user["spec"]["authorization"]["acls"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .map(|r| r["operations"].as_array().unwrap().len())
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(bindings.len(), expected, "{name}: {bindings:#?}");
    assert!(
        bindings
            .iter()
            .all(|b| b["principal"] == format!("User:{name}") && b["permission"] == "ALLOW"),
        "{bindings:#?}"
    );
}

fn user_operator(k: &Kafka, args: &[&str]) -> std::process::Output {
    Command::new(python())
        .arg(repo().join("integration/standins/user_operator.py"))
        .arg("--bootstrap")
        .arg(&k.bootstrap)
        .arg("--admin-config")
        .arg(&k.admin_librdkafka)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_user_operator_stand_in_makes_one_binding_per_operation_and_refuses_the_unknown() {
    let k = kafka();
    // Every rendered user's bindings in the broker: one per (rule, operation), as Strimzi's
    // SimpleAclRule.fromCrd makes them; super users none.
    // (The Connect user's are checked by the delivery test: it changes them meanwhile.)
    for u in &k.users {
        if u["metadata"]["name"] != format!("connect-{CONNECT_TYPE}") {
            assert_bindings_match(k, u);
        }
    }
    // What it does not understand is refused, before anything is changed.
    let test_user = k.user(alpaka::stack::kafka_users::TEST_USER);
    let rules = test_user["spec"]["authorization"]["acls"]
        .as_array()
        .unwrap();
    for (field, bad) in [
        ("/operations/0", json!("Frobnicate")),
        ("/resource/type", json!("delegationToken")),
        ("/resource/patternType", json!("match")),
    ] {
        let mut rule = rules[0].clone();
        *rule.pointer_mut(field).unwrap() = bad;
        let mut user = test_user.clone();
        user["spec"]["authorization"]["acls"] = json!([rule]);
        let file = k.dir.path().join("refused.json");
        std::fs::write(&file, user.to_string()).unwrap();
        let out = user_operator(k, &["apply", file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{field}: {err}");
        assert!(err.contains("refused"), "{err}");
    }
}

#[test]
fn user_operator_stand_ins_reconciling_one_new_user_at_once_agree_on_its_password() {
    // Parallel tests share the broker and the Secrets' directory: each stand-in that meets a new
    // user must hand out the password the broker ends up with (a CI run once saw a second
    // stand-in replace the first's password, locking the first test's clients out).
    let k = kafka();
    let name = "alpaka-race-user";
    let mut user = k.user(alpaka::stack::kafka_users::TEST_USER);
    user["metadata"]["name"] = json!(name);
    let file = k.dir.path().join("race-user.json");
    std::fs::write(&file, json!([user]).to_string()).unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(python())
                .arg(repo().join("integration/standins/user_operator.py"))
                .arg("--bootstrap")
                .arg(&k.bootstrap)
                .arg("--admin-config")
                .arg(&k.admin_librdkafka)
                .args(["apply", "--secrets-dir"])
                .arg(&k.k8s_secrets)
                .arg(&file)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (ok, log) = job_script(
        name,
        "timeout 30 kcat -L -b \"$BOOTSTRAP\" -m 10",
        &[("BOOTSTRAP", k.bootstrap.clone())],
    );
    let out = user_operator(k, &["delete", name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ok, "{name} logs in with its Secret's password: {log}");
}

/// One of Kafka's own command-line tools (Maven Central's jars, `integration/kafka/fetch.sh`)
/// logged in as `user` over SASL_SSL: its client properties (mode 0600) are passed with
/// `config_flag` (`--consumer.config`, `--command-config`).
fn java_tool(user: &str, main: &str, args: &[&str], config_flag: &str) -> std::process::Output {
    let k = kafka();
    let props = k.dir.path().join(format!("{user}.properties"));
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&props)
            .unwrap();
        std::io::Write::write_all(
            &mut f,
            format!(
                "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{user}\" password=\"{}\";\nssl.truststore.type=PEM\nssl.truststore.location={}\n",
                k.user_password(user),
                k.ca.display()
            )
            .as_bytes(),
        )
        .unwrap();
    }
    let lib = format!(
        "{}/lib/*",
        String::from_utf8(
            Command::new(repo().join("integration/kafka/fetch.sh"))
                .output()
                .unwrap()
                .stdout
        )
        .unwrap()
        .trim()
    );
    let cluster = k.k8s_secrets.parent().unwrap();
    Command::new("java")
        .args(["-Xshare:auto", "-Xmx128m", "-XX:TieredStopAtLevel=1"])
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            cluster.join("log4j2-tools.properties").display()
        ))
        .arg("-cp")
        .arg(lib)
        .arg(main)
        .args(args)
        .arg(config_flag)
        .arg(&props)
        .output()
        .unwrap()
}

/// KMinion's end-to-end probe, as its user: the topic made as alpaka's KafkaTopic says (by the
/// admin, as the Topic Operator would), then what the probe does (redpanda-data/kminion v2.3.0
/// `e2e/producer.go`, `consumer.go`): produce to it, consume it in a group named by its prefix
/// and commit. The user may do exactly that: another topic, or a group outside the prefix, is
/// refused by the real broker.
#[test]
fn kminions_end_to_end_probe_runs_on_its_own_acls() {
    let k = kafka();
    let nodes = render(k.mysql_port, &k.password);
    let topic = nodes
        .iter()
        .find(|n| n.kind == "strimzi.kafkatopic")
        .map(resource)
        .expect("alpaka renders the probe's KafkaTopic");
    let name = topic["metadata"]["name"].as_str().unwrap().to_owned();
    let spec = &topic["spec"];
    let mut args: Vec<String> = [
        "--bootstrap-server",
        &k.bootstrap,
        "--create",
        "--if-not-exists",
        "--topic",
        &name,
        "--partitions",
        &spec["partitions"].to_string(),
        "--replication-factor",
        &spec["replicas"].to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (key, v) in spec["config"].as_object().unwrap() {
        let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        args.extend(["--config".to_owned(), format!("{key}={v}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = java_tool(
        alpaka::stack::kafka_users::ADMIN_USER,
        "org.apache.kafka.tools.TopicCommand",
        &args,
        "--command-config",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let user = alpaka::stack::kafka_users::KMINION_USER;
    let probe = |topic: &str, group: &str, wait: u32| {
        job_script(
            user,
            r#"set -u
printf 'probe-1\nprobe-2\nprobe-3\n' | timeout 60 kcat -P -b "$BOOTSTRAP" -t "$TOPIC" -X message.timeout.ms=20000 || exit 10
got=$(timeout "$WAIT" kcat -b "$BOOTSTRAP" -G "$GROUP" -X auto.offset.reset=earliest -X enable.auto.commit=true -e -q "$TOPIC" | wc -l | tr -d ' ')
echo "received $got"
[ "$got" -ge 3 ] || exit 11
"#,
            &[
                ("BOOTSTRAP", k.bootstrap.clone()),
                ("TOPIC", topic.to_owned()),
                ("GROUP", group.to_owned()),
                ("WAIT", wait.to_string()),
            ],
        )
    };
    let (ok, log) = probe(&name, "kminion-end-to-end-it01", 60);
    assert!(ok, "{log}");
    // The group's committed offsets are there (the probe commits them).
    let out = java_tool(
        alpaka::stack::kafka_users::ADMIN_USER,
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &[
            "--bootstrap-server",
            &k.bootstrap,
            "--describe",
            "--group",
            "kminion-end-to-end-it01",
        ],
        "--command-config",
    );
    let described = String::from_utf8_lossy(&out.stdout);
    assert!(
        described.contains(&name),
        "{described}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing else.
    let (ok, log) = probe(
        "alpaka-test-kminion-elsewhere",
        "kminion-end-to-end-it02",
        20,
    );
    assert!(!ok && log.contains("Topic authorization failed"), "{log}");
    let (ok, log) = probe(&name, "someone-elses-group", 20);
    assert!(!ok && log.contains("Group authorization failed"), "{log}");
}
