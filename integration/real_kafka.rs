//! alpaka's Kafka and Connect artefacts against the real things: a Kafka 4.4 broker (KRaft) and
//! a distributed Connect worker from Maven Central jars, MariaDB from Debian with the binlog on,
//! and the Debezium MySQL plugin checked against its published checksums
//! (`integration/kafka/cluster.sh`, one for the whole file). What runs here:
//! - `alpaka test`'s own Kafka scripts (round trip, topic listing, counting), as its Jobs run them;
//! - every connector alpaka renders from the shipped config whose class this worker has, through
//!   the worker's `PUT /connector-plugins/{class}/config/validate`, exactly as rendered (secret
//!   values as `${secrets:ns/secret:key}` references the worker resolves);
//! - the shipped Debezium group, pointed at MariaDB by a profile override with its password from
//!   the environment (`fromEnv`), delivering 10,000 rows counted by `alpaka test`'s count script.
//!
//! The one stand-in: Strimzi's Kubernetes Secret config provider is not on Maven Central's
//! Connect class path, so the worker's `secrets` provider is a DirectoryConfigProvider reading
//! `DIR/k8s-secrets/<namespace>/<secret>/<key>`, which this test fills from the Secret alpaka
//! would apply (see cluster.sh).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use alpaka::engine::Value;
use alpaka::selftest::verdict;
use alpaka::stack::testkit;
use serde_json::{Value as Json, json};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Kafka {
    _dir: tempfile::TempDir,
    _child: std::sync::Mutex<Child>,
    bootstrap: String,
    connect: String,
    mysql_port: u16,
    password: String,
    k8s_secrets: PathBuf,
}

/// The cluster for this file, started once (fetching the jars on first use). A test that cannot
/// have it fails with cluster.sh's own words.
fn kafka() -> &'static Kafka {
    static K: OnceLock<Kafka> = OnceLock::new();
    K.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let mut child = Command::new(repo().join("integration/kafka/cluster.sh"))
            .arg(dir.path())
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
            "real Kafka/Connect/MariaDB ready in {:.1} s: {line}",
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
            k8s_secrets: PathBuf::from(field("k8s_secrets")),
            _child: std::sync::Mutex::new(child),
            _dir: dir,
        }
    })
}

/// Run one of `alpaka test`'s Job scripts the way its Job does (`/bin/sh -c`), here.
fn job_script(script: &str, env: &[(&str, String)]) -> (bool, String) {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
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
fn workspace() -> tempfile::TempDir {
    let k = kafka();
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
            "distribution: k3s\nconfig: default\noverrides:\n  kafka_connect:\n    connects:\n    - type: srccon\n      values:\n        db_host: 127.0.0.1\n        db_port: {}\n        db_name: alpaka\n        db_user: alpaka\n        db_pass: {{fromEnv: ALPAKA_IT_DB_PASS}}\n",
            k.mysql_port
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
    let ws = workspace();
    let mut loaded = alpaka::config::load(ws.path(), "it").unwrap();
    loaded
        .config
        .env
        .0
        .insert("ALPAKA_IT_DB_PASS".into(), k.password.clone());
    let nodes =
        alpaka::stack::build(&loaded.profile_name, &loaded.profile, &loaded.config).unwrap();
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

#[test]
fn alpakas_kafka_scripts_run_against_a_real_broker() {
    let k = kafka();
    let started = Instant::now();
    let (ok, log) = job_script(
        testkit::ROUNDTRIP_SCRIPT,
        &[
            ("BOOTSTRAP", k.bootstrap.clone()),
            ("TOPIC", "alpaka-it-roundtrip".into()),
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
    // The topic listing the Connect topic check judges: this topic and the worker's own.
    let topics = verdict::listed_topics(&log).unwrap();
    for t in [
        "alpaka-it-roundtrip",
        "connect-configs",
        "connect-offsets",
        "connect-status",
    ] {
        assert!(topics.iter().any(|x| x == t), "{t} not listed: {topics:?}");
    }
    let (ok, log) = job_script(
        testkit::COUNT_SCRIPT,
        &[
            ("BOOTSTRAP", k.bootstrap.clone()),
            ("TOPIC", "alpaka-it-roundtrip".into()),
            ("EXPECT", testkit::ROUNDTRIP_MESSAGES.to_string()),
            ("WAIT_SECONDS", "30".into()),
            ("SETTLE_SECONDS", "1".into()),
        ],
    );
    assert!(ok, "{log}");
    let r = verdict::job_result(&log).unwrap();
    assert_eq!(r["received"], testkit::ROUNDTRIP_MESSAGES.to_string());
    eprintln!(
        "round trip + count: {:.1} s",
        started.elapsed().as_secs_f64()
    );
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

#[test]
fn the_shipped_debezium_group_delivers_10000_rows_from_mariadb() {
    let k = kafka();
    const ROWS: u32 = 10_000;
    // The rows first: the connector's snapshot reads them all.
    let sql = format!(
        "CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, age INT);\n\
         INSERT INTO person (id, name, age) SELECT seq, CONCAT('person-', seq), seq % 90 FROM seq_1_to_{ROWS};\n"
    );
    let cnf = k.k8s_secrets.parent().unwrap().join("secrets/client.cnf");
    let mut mysql = Command::new("mariadb")
        .arg(format!("--defaults-file={}", cnf.display()))
        .arg("alpaka")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(mysql.stdin.as_mut().unwrap(), sql.as_bytes()).unwrap();
    drop(mysql.stdin.take());
    assert!(mysql.wait().unwrap().success());

    let (name, _, config) = rendered_connectors()
        .into_iter()
        .find(|(n, _, _)| n.contains("cdc"))
        .expect("configs/default.yaml ships a Debezium group");
    let config = on_loopback(config);
    // No password in what alpaka hands Connect: a reference to the Secret.
    assert!(
        config["database.password"]
            .as_str()
            .unwrap()
            .starts_with("${secrets:"),
        "{config:?}"
    );
    assert!(
        !Json::Object(config.clone())
            .to_string()
            .contains(&k.password)
    );
    let started = Instant::now();
    let (code, body) = curl(
        "PUT",
        &format!("{}/connectors/{name}/config", k.connect),
        Some(&Json::Object(config)),
    );
    assert!(code == 200 || code == 201, "{body}");
    // Debezium's topic for the table: <topic.prefix>.<database>.<table>.
    let topic = "cdc.alpaka.person";
    let (ok, log) = job_script(
        testkit::COUNT_SCRIPT,
        &[
            ("BOOTSTRAP", k.bootstrap.clone()),
            ("TOPIC", topic.into()),
            ("EXPECT", ROWS.to_string()),
            ("WAIT_SECONDS", "240".into()),
            ("SETTLE_SECONDS", "2".into()),
        ],
    );
    let (_, status) = curl(
        "GET",
        &format!("{}/connectors/{name}/status", k.connect),
        None,
    );
    assert!(ok, "{log}\nconnector status: {status}");
    let r = verdict::job_result(&log).unwrap();
    assert_eq!(r["received"], ROWS.to_string(), "{log}");
    eprintln!(
        "{ROWS} rows from MariaDB in {topic}: {:.1} s after registering {name}",
        started.elapsed().as_secs_f64()
    );
    // The connector's name and state, as `alpaka test` would judge a connector.
    assert!(status.contains("\"RUNNING\""), "{status}");
}
