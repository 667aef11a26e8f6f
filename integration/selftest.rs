//! `alpaka test` end to end: the real binary and the real kube client against the Kubernetes API
//! stand-in (`integration/standins/kube_api.py --run-jobs`), which runs the test Jobs' scripts on
//! this machine with the real kcat against a real Kafka 4.3.1 broker secured as alpaka's Strimzi
//! Kafka is (`integration/kafka/cluster.sh --broker-only`: SASL_SSL + SCRAM-SHA-512, the
//! StandardAuthorizer; one broker for the whole file, every run's topics its own), proxies
//! Service calls to recorded web fakes (`web_fakes.py`: Grafana, Prometheus targets, kafbat,
//! Headlamp, Connect REST, and a ksqlDB backed by the broker), and stands in for Kafka Connect +
//! MySQL with a hook (`connect_source.py`) that produces the `person` rows when the JDBC
//! KafkaConnector is applied, logged in as its KafkaConnect's `authentication` says. The
//! stand-in plays Strimzi's User Operator against the broker (`user_operator.py`: each KafkaUser
//! alpaka applies gets its SCRAM credential, exactly its ACLs and its Secret), so the Jobs run as
//! `alpaka-test` with the ACLs alpaka derived for it, and the Connect hook as `connect-srccon`.
//!
//! Not modelled here (see each stand-in's docstring): MySQL itself (the hook produces the rows),
//! the Cluster Operator (objects turn Ready on read; the cluster CA Secret is the broker's CA),
//! images (Job scripts run locally), S3 (the S3 prefix logic is tested against moto in
//! crates/aws), ksqlDB's own login (the fake ksqlDB reads topics as alpaka-admin).
//!
//! Needs `ALPAKA_TEST_PYTHON` (a python with confluent-kafka; `integration/test.sh` makes it) and
//! `kcat` on PATH; fails, never skips, without them.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command as Proc, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::json;
use tempfile::TempDir;

#[path = "support.rs"]
mod support;
use support::repo;

const CONTEXT: &str = "k3d-alpaka-k3d";
const BOOTSTRAP_IN_CLUSTER: &str = "alpaka-kafka-bootstrap.alpaka.svc:9093";

fn test_python() -> String {
    let py = std::env::var("ALPAKA_TEST_PYTHON").expect(
        "ALPAKA_TEST_PYTHON must name a python with confluent-kafka (integration/test.sh sets it up)",
    );
    let ok = Proc::new(&py)
        .args(["-c", "import confluent_kafka"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{py} lacks confluent-kafka (integration/test.sh installs it)"
    );
    support::assert_tool_kcat();
    py
}

/// The secured broker every test of this file shares (started once, stopped with the process).
///
/// cluster.sh's super user is `alpaka-admin`, the name of alpaka's own admin KafkaUser, whose
/// credential the User Operator stand-in replaces when a World applies it. So nothing here logs
/// in as alpaka-admin after start-up: the User Operator stand-in has an identity of its own, as
/// Strimzi's has (`strimzi-user-operator`: cluster Alter and Describe, what creating SCRAM
/// credentials and ACLs takes), and so has this file's own kcat test (`alpaka-selftest-kcat`:
/// topics `rt-`). Both are made once, by the User Operator stand-in itself, as alpaka-admin.
struct Broker {
    _dir: TempDir,
    _child: Mutex<Child>,
    bootstrap: String,
    /// The broker's CA certificate (what the cluster CA Secret holds).
    ca: String,
    /// librdkafka properties (`kcat -F`, confluent_kafka) of the User Operator's identity.
    operator: String,
    /// … and of the kcat script test's.
    kcat: String,
    /// Where the User Operator stand-ins keep users' passwords: one for all Worlds, as the
    /// broker is one (each World applies the same KafkaUsers; a second password per user
    /// would lock the first World's clients out).
    user_secrets: String,
}

/// librdkafka properties logging in as `user` with `password` (written 0600).
fn login_file(path: &Path, bootstrap_ca: &str, user: &str, password: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    use std::io::Write;
    write!(
        f,
        "security.protocol=SASL_SSL\nsasl.mechanisms=SCRAM-SHA-512\nsasl.username={user}\n\
         sasl.password={password}\nssl.ca.location={bootstrap_ca}\n"
    )
    .unwrap();
}

/// A KafkaUser as alpaka renders one (`kafka.strimzi.io/v1`), for the harness's own identities.
fn harness_user(name: &str, acls: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaUser",
           "metadata": {"name": name, "namespace": "selftest"},
           "spec": {"authentication": {"type": "scram-sha-512"},
                    "authorization": {"type": "simple", "acls": acls}}})
}

fn broker() -> &'static Broker {
    static B: OnceLock<Broker> = OnceLock::new();
    B.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Proc::new(repo().join("integration/kafka/cluster.sh"))
            .arg(dir.path())
            .arg("--broker-only")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("integration/kafka/cluster.sh");
        let line = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with("READY "));
        let Some(line) = line else {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("cluster.sh --broker-only did not get ready:\n{err}");
        };
        let field = |k: &str| {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(&format!("{k}=")))
                .unwrap_or_else(|| panic!("no {k}= in {line}"))
                .to_owned()
        };
        let (bootstrap, ca) = (field("bootstrap"), field("ca"));
        let users = dir.path().join("harness-users.json");
        let all = |resource: serde_json::Value, ops: &[&str]| json!({"resource": resource, "operations": ops});
        std::fs::write(
            &users,
            json!([
                harness_user("strimzi-user-operator", json!([all(json!({"type": "cluster"}), &["Alter", "Describe"])])),
                harness_user("alpaka-selftest-kcat", json!([all(
                    json!({"type": "topic", "name": "rt-", "patternType": "prefix"}),
                    &["Create", "Describe", "Read", "Write"])])),
            ])
            .to_string(),
        )
        .unwrap();
        let secrets = dir.path().join("harness-secrets");
        let made = Proc::new(test_python())
            .arg(repo().join("integration/standins/user_operator.py"))
            .args(["--bootstrap", &bootstrap, "--admin-config", &field("admin_librdkafka")])
            .arg("apply")
            .arg("--secrets-dir")
            .arg(&secrets)
            .arg(&users)
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        let login = |user: &str| {
            let password =
                std::fs::read_to_string(secrets.join("selftest").join(user).join("password")).unwrap();
            let path = dir.path().join(format!("{user}.properties"));
            login_file(&path, &ca, user, &password);
            path.display().to_string()
        };
        Broker {
            operator: login("strimzi-user-operator"),
            kcat: login("alpaka-selftest-kcat"),
            user_secrets: dir.path().join("user-operator").display().to_string(),
            bootstrap,
            ca,
            _dir: dir,
            _child: Mutex::new(child),
        }
    })
}

fn read_line(out: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line.trim().to_owned()
}

struct World {
    dir: TempDir,
    procs: Vec<Child>,
    api_port: u16,
    py: String,
}

impl Drop for World {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

impl World {
    /// A k3d workspace applied through fakes, with the stand-ins serving everything
    /// `alpaka test` reaches.
    fn new() -> World {
        let py = test_python();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        support::copy_workspace(&root);
        std::fs::create_dir_all(root.join(".kube")).unwrap();
        support::fake_tools(&root, &py, &["k3d", "helm", "docker"]);
        let standins = repo().join("integration/standins");
        let mut procs = Vec::new();
        let mut spawn = |args: Vec<String>| -> BufReader<ChildStdout> {
            let mut c = Proc::new(&args[0])
                .args(&args[1..])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let out = BufReader::new(c.stdout.take().unwrap());
            procs.push(c);
            out
        };
        let s = |p: &Path| p.display().to_string();

        let kafka = broker();
        let bootstrap = kafka.bootstrap.clone();

        let target = |pod: &str, pool: &str| json!({"scrapePool": pool, "job": "alpaka/strimzi-kafka", "pod": pod, "health": "up"});
        let web_cfg = root.join("web.json");
        std::fs::write(
            &web_cfg,
            json!({"apps": [
                {"name": "grafana", "kind": "grafana"},
                {"name": "prometheus", "kind": "prometheus", "targets": [
                    target("alpaka-broker-0", "podMonitor/alpaka/strimzi-kafka/0"),
                    target("alpaka-controller-1", "podMonitor/alpaka/strimzi-kafka/0"),
                    target("srccon-connect-0", "podMonitor/alpaka/strimzi-kafka/0"),
                    {"scrapePool": "serviceMonitor/alpaka/kminion/0", "job": "kminion", "pod": "kminion-5d7", "health": "up"}]},
                {"name": "ui", "kind": "kafbat"},
                {"name": "headlamp", "kind": "headlamp"},
                {"name": "srccon", "kind": "connect", "plugins": [
                    {"class": "io.confluent.connect.jdbc.JdbcSourceConnector", "type": "source", "version": "10.9.2"},
                    // What the connect-jdbc image also carries (images/versions.env).
                    {"class": "io.debezium.connector.mysql.MySqlConnector", "type": "source", "version": "3.5.0.Final"},
                    {"class": "io.debezium.connector.sqlserver.SqlServerConnector", "type": "source", "version": "3.5.0.Final"},
                    {"class": "org.apache.kafka.connect.mirror.MirrorSourceConnector", "type": "source", "version": "4.3.1"}]},
                // Logs in as alpaka-ksqldb once apply made it (below).
                {"name": "ksqldb", "kind": "ksqldb", "bootstrap": bootstrap, "query_timeout": 10}],
             "overrides": {}})
            .to_string(),
        )
        .unwrap();
        let mut web = spawn(vec![
            py.clone(),
            s(&standins.join("web_fakes.py")),
            "--config".into(),
            s(&web_cfg),
        ]);
        let mut ports = std::collections::BTreeMap::new();
        loop {
            let line = read_line(&mut web);
            if line == "READY" || line.is_empty() {
                break;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            ports.insert(parts[1].to_owned(), parts[2].to_owned());
        }
        let url = |app: &str| format!("http://127.0.0.1:{}", ports[app]);
        std::fs::write(
            root.join("proxy.json"),
            json!({
                "alpaka/kube-prometheus-stack-grafana:80": url("grafana"),
                "alpaka/kube-prometheus-stack-prometheus:9090": url("prometheus"),
                "alpaka/kafka-ui:80": url("ui"),
                "alpaka/headlamp:80": url("headlamp"),
                "alpaka/srccon-connect-api:8083": url("srccon"),
                "alpaka/ksqldb:8088": url("ksqldb"),
            })
            .to_string(),
        )
        .unwrap();
        std::fs::write(
            root.join("hosts.json"),
            json!({ BOOTSTRAP_IN_CLUSTER: bootstrap }).to_string(),
        )
        .unwrap();
        write_hooks(&root, &py, 10_000);
        std::fs::write(
            root.join("kube-world.json"),
            r#"{"gitVersion": "v1.34.1+k3s1"}"#,
        )
        .unwrap();
        let mut api = spawn(vec![
            py.clone(),
            s(&standins.join("kube_api.py")),
            "--world".into(),
            s(&root.join("kube-world.json")),
            "--kubeconfig".into(),
            s(&root.join(".kube/config")),
            "--context".into(),
            CONTEXT.into(),
            "--decoy".into(),
            "--log".into(),
            s(&root.join("api.log")),
            "--run-jobs".into(),
            "--host-map".into(),
            s(&root.join("hosts.json")),
            "--proxy-map".into(),
            s(&root.join("proxy.json")),
            "--on-apply".into(),
            s(&root.join("hooks.json")),
            "--kafka-admin".into(),
            format!("{bootstrap},{}", kafka.operator),
            "--cluster-ca".into(),
            kafka.ca.clone(),
            "--user-secrets".into(),
            kafka.user_secrets.clone(),
        ]);
        let line = read_line(&mut api);
        let api_port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("stand-in said {line:?}"));
        let world = World {
            dir,
            procs,
            api_port,
            py,
        };
        let applied = world.alpaka(&["apply", "--auto-approve"]);
        assert_eq!(applied.0, 0, "apply: {}\n{}", applied.1, applied.2);

        // Each client logs in with what the User Operator stand-in made for it.
        let connect = world.login_as("connect-srccon", &kafka.ca);
        // Connect's workers create their internal topics at start: as if srccon had started.
        for t in ["configs", "offsets", "status"] {
            let mut kcat = Proc::new("kcat")
                .args(["-F", &connect, "-P", "-b", &bootstrap])
                .args(["-t", &format!("connect-srccon-{t}")])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            kcat.stdin.take().unwrap().write_all(b"{}\n").unwrap();
            assert!(
                kcat.wait().unwrap().success(),
                "connect-srccon creates its topics"
            );
        }
        let ksqldb = world.login_as("alpaka-ksqldb", &kafka.ca);
        let p = world.root().join("web.json");
        let mut cfg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        for app in cfg["apps"].as_array_mut().unwrap() {
            if app["name"] == "ksqldb" {
                app["kafka_config"] = json!(ksqldb);
            }
        }
        std::fs::write(&p, cfg.to_string()).unwrap();
        world
    }

    /// librdkafka properties logging in as KafkaUser `user`, from the Secret the User Operator
    /// stand-in wrote into the cluster.
    fn login_as(&self, user: &str, ca: &str) -> String {
        let out = Proc::new(&self.py)
            .args([
                "-c",
                "import base64, json, sys, urllib.request; \
                 d = json.load(urllib.request.urlopen(sys.argv[1]))['data']; \
                 sys.stdout.write(base64.b64decode(d['password']).decode())",
                &format!(
                    "http://127.0.0.1:{}/api/v1/namespaces/alpaka/secrets/{user}",
                    self.api_port
                ),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "Secret {user}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = self.root().join(format!("{user}.properties"));
        login_file(&path, ca, user, &String::from_utf8(out.stdout).unwrap());
        path.display().to_string()
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The Connect + MySQL stand-in: produces `n` person rows when the JDBC connector appears.
    fn set_records(&self, n: u32) {
        write_hooks(self.root(), &self.py, n);
    }

    fn web_override(&self, app: &str, status: u16, body: &str) {
        let p = self.root().join("web.json");
        let mut cfg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        cfg["overrides"][app] = json!({"status": status, "body": body});
        std::fs::write(&p, cfg.to_string()).unwrap();
    }

    fn alpaka(&self, args: &[&str]) -> (i32, String, String) {
        self.alpaka_env(args, &[])
    }

    fn alpaka_env(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut c = support::alpaka(self.root());
        c.envs(env.iter().copied())
            .args(args)
            .args(["--profile", "k3d"]);
        support::output(c)
    }

    /// Every object the stand-in holds whose name starts with `alpaka-test-`.
    fn test_objects(&self) -> Vec<String> {
        let out = Proc::new(&self.py)
            .args([
                "-c",
                "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
                &format!("http://127.0.0.1:{}/standin/objects", self.api_port),
            ])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| {
                let name = o["metadata"]["name"].as_str()?;
                name.starts_with("alpaka-test-")
                    .then(|| format!("{} {name}", o["kind"].as_str().unwrap_or("?")))
            })
            .collect()
    }

    fn api_log(&self) -> String {
        std::fs::read_to_string(self.root().join("api.log")).unwrap_or_default()
    }
}

/// The broker's local address, as the host map gives it.
fn broker_address(root: &Path) -> String {
    let hosts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("hosts.json")).unwrap()).unwrap();
    hosts[BOOTSTRAP_IN_CLUSTER].as_str().unwrap().to_owned()
}

/// The stand-in's apply hook: Connect + MySQL produce `n` person rows to the broker when
/// the run's JDBC KafkaConnector appears (the hook file is re-read on every apply); `more`
/// hooks after it.
fn write_hooks(root: &Path, py: &str, n: u32) {
    write_hooks_with(root, py, n, Vec::new());
}

fn write_hooks_with(root: &Path, py: &str, n: u32, more: Vec<serde_json::Value>) {
    let script = repo().join("integration/standins/connect_source.py");
    let mut hooks = vec![
        json!({"kind": "KafkaConnector", "name_regex": "^alpaka-test-.*-jdbc$",
        "command": ["env", format!("STANDIN_RECORDS={n}"), py, script.display().to_string(),
                    "--bootstrap", broker_address(root)]}),
    ];
    hooks.extend(more);
    std::fs::write(root.join("hooks.json"), json!(hooks).to_string()).unwrap();
}

fn line<'a>(out: &'a str, check: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(check))
        .unwrap_or_else(|| panic!("no line for {check} in:\n{out}"))
}

#[test]
fn every_check_passes_against_a_working_stack_and_leaves_nothing_behind() {
    let w = World::new();
    let (code, out, err) = w.alpaka(&["test", "--timeout", "40"]);
    assert_eq!(code, 0, "--- stdout\n{out}\n--- stderr\n{err}");
    for check in [
        "kafka.roundtrip",
        "connect.srccon.plugins",
        "connect.srccon.topics",
        "connect.jdbc-source",
        "ksqldb.statements",
        "http.grafana",
        "http.prometheus",
        "http.ui4kafka",
        "http.headlamp",
        "prometheus.targets",
    ] {
        assert!(line(&out, check).starts_with("PASS"), "{check}:\n{out}");
    }
    assert!(line(&out, "s3.sink").starts_with("SKIP"), "{out}");
    assert!(
        line(&out, "kafka.roundtrip")
            .contains("10 messages produced and read back from alpaka-test-"),
        "{out}"
    );
    assert!(
        line(&out, "connect.jdbc-source").contains("10000 rows of MySQL `person` delivered"),
        "{out}"
    );
    assert!(
        line(&out, "ksqldb.statements").contains("SELECT … LIMIT 3 returned 3 rows"),
        "{out}"
    );
    assert!(
        line(&out, "prometheus.targets").contains("Kafka 2/2 up, Connect 1/1 up, KMinion 1/1 up"),
        "{out}"
    );
    assert!(out.contains("10 passed, 0 failed, 1 skipped."), "{out}");

    // The run created its objects, then removed every one of them.
    let log = w.api_log();
    for kind in [
        "KafkaTopic",
        "Job",
        "Deployment",
        "Secret",
        "ConfigMap",
        "Service",
        "Role",
        "RoleBinding",
        "KafkaConnector",
    ] {
        assert!(
            log.lines()
                .any(|l| l.starts_with("APPLY")
                    && l.contains(&format!(" {kind} alpaka/alpaka-test-"))),
            "no {kind} applied:\n{log}"
        );
        assert!(
            log.lines()
                .any(|l| l.starts_with("DELETE")
                    && l.contains(&format!(" {kind} alpaka/alpaka-test-"))),
            "no {kind} deleted:\n{log}"
        );
    }
    assert_eq!(w.test_objects(), Vec::<String>::new());
    assert!(out.contains("Removed the run's"), "{out}");
    // The user's connectors ran alongside and were not touched: every delete was the run's.
    let deletes: Vec<&str> = log.lines().filter(|l| l.starts_with("DELETE")).collect();
    assert!(
        deletes.iter().all(|l| l.contains(" alpaka/alpaka-test-")),
        "{deletes:#?}"
    );
    assert!(
        log.contains("KafkaConnector alpaka/srccon-mydb-log-log1"),
        "the platform's connectors exist: {log}"
    );
    let (code, plan, _) = w.alpaka(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        code, 0,
        "the deployed stack is unchanged after a test run:\n{plan}"
    );
    // The MySQL passwords are generated and never printed.
    assert!(!out.contains("password"), "{out}");
}

#[test]
fn failures_show_their_evidence_and_exit_non_zero() {
    let w = World::new();
    w.web_override(
        "grafana",
        503,
        "upstream connect error or disconnect/reset before headers",
    );
    // One row too many: a connector that re-delivered.
    w.set_records(10_001);
    let (code, out, err) = w.alpaka(&[
        "test",
        "--check",
        "http.grafana",
        "--check",
        "connect.jdbc-source",
        "--timeout",
        "20",
    ]);
    assert_eq!(code, 1, "--- stdout\n{out}\n--- stderr\n{err}");
    let g = line(&out, "http.grafana");
    assert!(
        g.starts_with("FAIL")
            && g.contains("HTTP 503 from kube-prometheus-stack-grafana:80 GET /api/health"),
        "{out}"
    );
    assert!(out.contains("| body: upstream connect error"), "{out}");
    let j = line(&out, "connect.jdbc-source");
    assert!(
        j.contains("10001 records in alpaka-test-") && j.contains("expected exactly 10000"),
        "{out}"
    );
    // The counting Job's log tail is the evidence.
    assert!(
        out.contains("| ALPAKA-RESULT expected=10000 received=10001"),
        "{out}"
    );
    assert!(out.contains("0 passed, 2 failed, 0 skipped."), "{out}");
    assert_eq!(w.test_objects(), Vec::<String>::new());
}

#[test]
fn keep_leaves_the_run_for_a_look_and_says_how_to_remove_it() {
    let w = World::new();
    let (code, out, err) = w.alpaka(&["test", "--check", "kafka", "--keep", "--timeout", "30"]);
    assert_eq!(code, 0, "--- stdout\n{out}\n--- stderr\n{err}");
    // The topic and the Job (with its pod).
    let kept: Vec<String> = w
        .test_objects()
        .into_iter()
        .filter(|o| !o.starts_with("Pod "))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept.iter().any(|o| o.starts_with("KafkaTopic ")),
        "{kept:?}"
    );
    assert!(kept.iter().any(|o| o.starts_with("Job ")), "{kept:?}");
    assert!(
        out.contains("kubectl --context k3d-alpaka-k3d -n alpaka delete")
            && out.contains("-l alpaka.io/test-run="),
        "{out}"
    );
}

#[test]
fn a_disabled_component_is_skipped_at_once_and_unknown_checks_are_named() {
    let w = World::new();
    let cfg = w.root().join("configs/default.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replacen("ksqldb:\n  enabled: true", "ksqldb:\n  enabled: false", 1),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (code, out, _) = w.alpaka(&["test", "--check", "ksqldb"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        line(&out, "ksqldb.statements").starts_with("SKIP")
            && out.contains("ksqldb.enabled is false"),
        "{out}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let (code, out, _) = w.alpaka(&["test", "--check", "ksqldb", "--json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["checks"][0]["name"], "ksqldb.statements");
    assert_eq!(v["checks"][0]["result"], "skip");
    assert_eq!(v["checks"][0]["summary"], "ksqldb.enabled is false");
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64()),
        (Some(0), Some(0))
    );

    let (code, _, err) = w.alpaka(&["test", "--check", "http.grafna"]);
    assert_eq!(code, 1);
    assert!(err.contains("Did you mean `http.grafana`?"), "{err}");
}

/// The Job scripts themselves, run here with kcat against the real Kafka-protocol peer: the
/// negative cases the stand-in-run Jobs above do not reach.
#[test]
fn the_kcat_scripts_judge_a_real_kafka_peer() {
    test_python();
    let kafka = broker();
    let bootstrap = kafka.bootstrap.clone();
    // This file's runs share the broker: a topic of this test's own.
    let topic = format!("rt-{}", std::process::id());
    // kcat 1.7 reads $KCAT_CONFIG, as the Jobs' login makes it (here: this test's own user).
    let sh = |script: &str, env: &[(&str, &str)]| {
        let o = Proc::new("/bin/sh")
            .args(["-c", script])
            .env("KCAT_CONFIG", &kafka.kcat)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    use alpaka::stack::testkit::{COUNT_SCRIPT, ROUNDTRIP_SCRIPT};
    let (code, log) = sh(
        ROUNDTRIP_SCRIPT,
        &[
            ("BOOTSTRAP", &bootstrap),
            ("TOPIC", &topic),
            ("MESSAGES", "10"),
            ("RUN", "ab12cd34"),
        ],
    );
    assert_eq!(code, 0, "{log}");
    assert!(
        log.ends_with("ALPAKA-RESULT sent=10 received=10 match=yes\n"),
        "{log}"
    );
    assert!(
        log.contains("ALPAKA-TOPICS ") && log.contains(&format!(" {topic} ")),
        "{log}"
    );

    let count = |expect: &str| {
        sh(
            COUNT_SCRIPT,
            &[
                ("BOOTSTRAP", &bootstrap),
                ("TOPIC", &topic),
                ("EXPECT", expect),
                ("WAIT_SECONDS", "2"),
                ("SETTLE_SECONDS", "0"),
            ],
        )
    };
    let (code, log) = count("10");
    assert_eq!(code, 0, "{log}");
    let (code, log) = count("11");
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("ALPAKA-RESULT expected=11 received=10"),
        "{log}"
    );
    let (code, log) = count("9");
    assert_eq!(code, 1, "too many is a failure too: {log}");

    // An unreachable broker ends the round trip at once with its error, not at the deadline.
    let started = std::time::Instant::now();
    let (code, log) = sh(
        ROUNDTRIP_SCRIPT,
        &[
            ("BOOTSTRAP", "127.0.0.1:9"),
            ("TOPIC", &topic),
            ("MESSAGES", "3"),
            ("RUN", "ab12cd34"),
        ],
    );
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("error=produce-failed"), "{log}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

fn known_after_apply(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) if m.contains_key("$unknown") => {
            *v = json!("known-after-apply");
        }
        serde_json::Value::Object(m) => m.values_mut().for_each(known_after_apply),
        serde_json::Value::Array(a) => a.iter_mut().for_each(known_after_apply),
        _ => {}
    }
}

/// The Job, Pod-template, Deployment, Service, Secret, ConfigMap and RBAC manifests — of
/// `alpaka test` and of every shipped profile's stack — against the models of the official
/// Kubernetes Python client (generated from the Kubernetes OpenAPI spec): no unknown field, the
/// right types, required fields present. The validator is shown to reject bad input first.
#[test]
fn manifests_validate_against_the_kubernetes_openapi_models() {
    use alpaka::stack::testkit::{RunId, TestKit};
    let py = test_python();
    let validate = |manifests: &serde_json::Value| {
        let mut c = Proc::new(&py)
            .arg(repo().join("integration/standins/k8s_validate.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        c.stdin
            .take()
            .unwrap()
            .write_all(manifests.to_string().as_bytes())
            .unwrap();
        let o = c.wait_with_output().unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };

    let root = repo();
    let loaded = alpaka::config::load(&root, "k3d").unwrap();
    let run = RunId::new("ab12cd34").unwrap();
    let kit = TestKit {
        run: &run,
        ns: "alpaka",
        cfg: &loaded.config,
        mirror: None,
    };
    let mut core: Vec<serde_json::Value> = kit.mysql("root-pw", "pw");
    core.extend(kit.jdbc_connector("srccon"));
    core.push(kit.roundtrip_job(240));
    core.push(kit.count_job("count", &kit.person_topic(), 10_000, 500, 10, 600));
    for profile in ["minikube", "k3d", "k3s", "eks-dev", "eks-prod"] {
        let l = alpaka::config::load(&root, profile).unwrap();
        for n in alpaka::stack::build(&l.profile_name, &l.profile, &l.config).unwrap() {
            if n.kind.as_str().starts_with("k8s.")
                && !["k8s.secret", "k8s.existing-cluster"].contains(&n.kind.as_str())
            {
                let mut m = alpaka::providers::k8s::manifest::body(&n.desired).unwrap();
                // Outputs of other nodes (an IAM role's ARN) are strings once known.
                known_after_apply(&mut m);
                let group = m["apiVersion"].as_str().unwrap_or("");
                if !group.contains("monitoring.coreos.com") {
                    core.push(m);
                }
            }
        }
    }
    let core: Vec<_> = core
        .into_iter()
        .filter(|m| m["apiVersion"] != "kafka.strimzi.io/v1")
        .collect();
    assert!(core.len() > 40, "{}", core.len());
    let (ok, out) = validate(&serde_json::Value::Array(core.clone()));
    assert!(ok, "{out}");

    // The validator fails where it should: an unknown field and a missing required field.
    let mut job = kit.roundtrip_job(240);
    job["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = json!("Always");
    let mut deployment = core
        .iter()
        .find(|m| m["kind"] == "Deployment")
        .unwrap()
        .clone();
    deployment["spec"]
        .as_object_mut()
        .unwrap()
        .remove("selector");
    let (ok, out) = validate(&json!([job, deployment]));
    assert!(!ok);
    assert!(
        out.contains("imagePullPolicyy: unknown field of V1Container"),
        "{out}"
    );
    assert!(out.contains("`selector`, must not be `None`"), "{out}");
}

/// moto's S3 on a free loopback port; it exits when its stdin (held by the returned child)
/// closes.
fn moto_s3(py: &str) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Proc::new(py)
        .arg(repo().join("crates/aws/tests/s3_helper.py"))
        .args(["serve", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed().as_secs() < 30, "moto did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    (child, format!("http://127.0.0.1:{port}"))
}

fn s3_helper(py: &str, endpoint: &str, args: &[&str]) -> String {
    let o = Proc::new(py)
        .arg(repo().join("crates/aws/tests/s3_helper.py"))
        .args([endpoint, "us-east-1"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The optional S3 sink check against moto: the sink (stand-in hook) writes the round-trip
/// records under the run's prefix, the check counts them, and cleanup deletes that prefix and
/// nothing else — not the user's data, not another run's prefix, not a key that merely starts
/// with the same characters.
#[test]
fn the_s3_sink_check_writes_and_removes_only_its_run_prefix() {
    let w = World::new();
    let (mut moto, endpoint) = moto_s3(&w.py);
    s3_helper(&w.py, &endpoint, &["bucket", "alpaka-e2e"]);
    let user_keys = [
        "data/user.json",
        "alpaka-test/zzzzzzzz/other-run.json",
        "alpaka-test",
        "alpaka-testing/x.json",
    ];
    let puts: Vec<String> = user_keys.iter().map(|k| format!("{k}=keep me")).collect();
    let mut args = vec!["put", "alpaka-e2e"];
    args.extend(puts.iter().map(String::as_str));
    s3_helper(&w.py, &endpoint, &args);

    let cfg = w.root().join("configs/default.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text.replacen(
        "  s3sink:\n    enabled: false\n",
        "  s3sink:\n    enabled: true\n    bucket: alpaka-e2e\n    region: us-east-1\n    connect: srccon\n",
        1,
    );
    assert!(text.contains("bucket: alpaka-e2e"));
    std::fs::write(&cfg, text).unwrap();
    let web = w.root().join("web.json");
    let mut web_cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&web).unwrap()).unwrap();
    for app in web_cfg["apps"].as_array_mut().unwrap() {
        if app["name"] == "srccon" {
            app["plugins"].as_array_mut().unwrap().push(json!(
                {"class": "io.confluent.connect.s3.S3SinkConnector", "type": "sink", "version": "10.6.7"}));
        }
    }
    std::fs::write(&web, web_cfg.to_string()).unwrap();
    write_hooks_with(
        w.root(),
        &w.py,
        10_000,
        vec![
            json!({"kind": "KafkaConnector", "name_regex": "^alpaka-test-.*-s3$",
            "command": [&w.py, repo().join("integration/standins/s3_sink.py").display().to_string(),
                        "--bootstrap", broker_address(w.root()), "--endpoint", &endpoint]}),
        ],
    );

    let (code, out, err) = w.alpaka_env(
        &[
            "test",
            "--check",
            "kafka",
            "--check",
            "connect.srccon",
            "--check",
            "s3",
            "--timeout",
            "40",
        ],
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
    );
    assert_eq!(code, 0, "--- stdout\n{out}\n--- stderr\n{err}");
    let s3 = line(&out, "s3.sink");
    assert!(
        s3.starts_with("PASS")
            && s3.contains("10 records in 1 object(s) under s3://alpaka-e2e/alpaka-test/"),
        "{out}"
    );
    assert!(
        line(&out, "connect.srccon.plugins").contains("S3SinkConnector"),
        "{out}"
    );
    // Only the user's keys are left.
    let left: Vec<String> =
        serde_json::from_str(&s3_helper(&w.py, &endpoint, &["list", "alpaka-e2e"])).unwrap();
    let mut want: Vec<String> = user_keys.iter().map(|k| (*k).to_owned()).collect();
    want.sort();
    assert_eq!(left, want);
    let _ = moto.kill();
    let _ = moto.wait();
}

/// Ctrl-C in the middle of a check still removes what the run created.
#[test]
fn an_interrupted_run_still_cleans_up() {
    let w = World::new();
    // Connect never delivers: the JDBC check would wait for its whole timeout.
    w.set_records(0);
    let child = support::alpaka(w.root())
        .args([
            "test",
            "--check",
            "connect.jdbc-source",
            "--timeout",
            "120",
            "--profile",
            "k3d",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the counting Job runs, i.e. the run has created its objects.
    let started = std::time::Instant::now();
    while !w.api_log().contains("-count created") {
        assert!(started.elapsed().as_secs() < 60, "{}", w.api_log());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(!w.test_objects().is_empty());
    let pid = child.id().to_string();
    assert!(
        Proc::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("interrupted: removing the test resources"),
        "{stderr}"
    );
    assert!(started.elapsed().as_secs() < 60);
    assert_eq!(w.test_objects(), Vec::<String>::new(), "{stdout}");
}
