//! The whole k3d profile end to end: the real binary against the real Kubernetes control plane
//! (`integration/controlplane/`: kube-apiserver, controller-manager, scheduler, KWOK nodes whose
//! pods run, the Strimzi stand-in's stages) and recording fakes of k3d and helm
//! (`integration/fakes/`, in the real tools' output shapes) on PATH. apply → no changes → one
//! connector edited → exactly that change, written to exactly that KafkaConnector (the API
//! server's audit log says which writes alpaka made) → a connector removed → its delete →
//! destroy leaves no object alpaka made and no release. No plaintext secret in the state, any
//! plan/apply output, or any object but the Secrets.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;

use tempfile::TempDir;

#[path = "controlplane.rs"]
mod controlplane;
#[path = "support.rs"]
mod support;
use controlplane::{ALPAKA_USER, ControlPlane, Strimzi, Write};

const CONTEXT: &str = "k3d-alpaka-k3d";
/// The connector password of the shipped config (`db_pass`).
const DB_PASS: &str = "mypass";

fn python() -> String {
    let py = std::env::var("ALPAKA_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(py)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is needed by the fakes");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A workspace with the shipped profiles and configs, the fakes on PATH, and the real control
/// plane serving the k3d cluster's context in `$HOME/.kube/config` (where real k3d merges it,
/// and what the k3d driver records). The kubeconfig's *current* context is a decoy: only the
/// explicit context reaches the cluster.
struct World {
    dir: TempDir,
    cp: ControlPlane,
    /// Every object alpaka wrote so far (kubectl type, namespace, name).
    touched: RefCell<BTreeSet<(String, String, String)>>,
}

impl World {
    fn new() -> World {
        let cp = ControlPlane::start(Strimzi::V1);
        let dir = tempfile::tempdir().unwrap();
        support::copy_workspace(dir.path());
        support::fake_tools(dir.path(), &python(), &["k3d", "helm", "docker"]);
        cp.write_kubeconfig(&dir.path().join(".kube/config"), CONTEXT, true);
        World {
            dir,
            cp,
            touched: RefCell::default(),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_with(args, &[])
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut c = support::alpaka(self.root());
        // The Strimzi chart's crds/ for `helm show crds`: the 1.2.0 CRDs the control plane has,
        // so each create compares them with the cluster's (the same: nothing to apply).
        let strimzi_crds = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/reference/strimzi-1.2.0/crds")
            .display()
            .to_string();
        c.args(args)
            .args(["--profile", "k3d"])
            .env(
                "FAKE_HELM_CRDS",
                format!("strimzi-kafka-operator={strimzi_crds}"),
            )
            .envs(env.iter().copied());
        support::output(c)
    }

    /// The fake helm run directly, as a user would.
    fn helm(&self, args: &[&str]) -> (i32, String, String) {
        let mut c = std::process::Command::new(self.root().join("bin/helm"));
        c.args(args)
            .env("ALPAKA_FAKE_LOG", self.root().join("fake.log"))
            .env("ALPAKA_FAKE_STATE", self.root().join("fake-state"));
        support::output(c)
    }

    /// Lines of a fake's log since the last call.
    fn take(&self, log: &str) -> Vec<String> {
        let p = self.root().join(log);
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let _ = std::fs::remove_file(&p);
        text.lines().map(str::to_owned).collect()
    }

    /// alpaka's writes to the API server since the last call, as
    /// `verb api resource ns/name manager=… force=… code=…`.
    fn writes(&self) -> Vec<String> {
        let w: Vec<Write> = self.cp.writes(ALPAKA_USER);
        let mut touched = self.touched.borrow_mut();
        for x in &w {
            touched.insert((x.kubectl_type(), x.namespace.clone(), x.name.clone()));
        }
        w.iter().map(Write::to_string).collect()
    }

    /// An object in the platform's namespace, as the API server holds it.
    fn object(&self, kind: &str, name: &str) -> serde_json::Value {
        self.cp
            .get(&[kind, name, "-n", "alpaka"])
            .unwrap_or_else(|| panic!("no {kind} {name} in the cluster"))
    }

    fn objects(&self, kinds: &str) -> Vec<serde_json::Value> {
        self.cp.get(&[kinds, "-n", "alpaka"]).unwrap()["items"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn helm_releases(&self) -> Vec<serde_json::Value> {
        let d = self.root().join("fake-state/helm");
        let mut out = Vec::new();
        for e in std::fs::read_dir(d).into_iter().flatten() {
            let e = e.unwrap();
            out.push(serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap());
        }
        out
    }

    fn edit_config(&self, from: &str, to: &str) {
        let p = self.root().join("configs/default.yaml");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{from} not in the config");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    }

    fn state_text(&self) -> String {
        std::fs::read_to_string(self.root().join(".alpaka/k3d.state.json")).unwrap()
    }

    /// Every object alpaka ever wrote is gone (polls: the garbage collector and the namespace
    /// controller finish after the API answered the delete).
    fn assert_all_gone(&self) {
        let touched = self.writes_so_far();
        let mut left = Vec::new();
        for _ in 0..150 {
            left = touched
                .iter()
                .filter(|(ty, ns, name)| {
                    let mut args = vec![ty.as_str(), name.as_str()];
                    if !ns.is_empty() {
                        args.extend(["-n", ns.as_str()]);
                    }
                    self.cp.get(&args).is_some()
                })
                .cloned()
                .collect();
            if left.is_empty() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        panic!("left in the cluster: {left:?}");
    }

    fn writes_so_far(&self) -> BTreeSet<(String, String, String)> {
        self.writes();
        self.touched.borrow().clone()
    }
}

/// The `kubectl` types of the objects a platform namespace holds (no Secrets).
const NON_SECRET: &str = "kafkas,kafkanodepools,kafkaconnects,kafkaconnectors,kafkatopics,podmonitors,configmaps,deployments,jobs,services,ingresses,roles,rolebindings";

fn ok(r: (i32, String, String)) -> String {
    assert_eq!(r.0, 0, "--- stdout\n{}\n--- stderr\n{}", r.1, r.2);
    format!("{}\n{}", r.1, r.2)
}

fn b64_decode(s: &str) -> String {
    use base64::Engine;
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(s).unwrap()).unwrap()
}

#[test]
fn k3d_profile_apply_edit_one_connector_remove_one_destroy() {
    let w = World::new();
    // The init job too: a ConfigMap of files and a Job, both named by a hash of their inputs.
    w.edit_config(
        "init:\n  enabled: false",
        "init:\n  enabled: true\n  files:\n    hello.sh: |\n      echo hello\n  commands:\n  - hello.sh",
    );
    let mut printed = String::new();

    // 1. Apply the whole profile: cluster, namespace, operator, Kafka, Connect, connectors, ...
    printed += &ok(w.run(&["apply", "--auto-approve"]));
    assert!(
        printed.contains("Apply complete! Resources: 54 added"),
        "{printed}"
    );
    let helm_calls: Vec<String> = w
        .take("fake.log")
        .into_iter()
        .filter(|l| l.starts_with("helm ") && !l.starts_with("helm version"))
        .collect();
    // Each create reads its chart's CRDs first (`helm show`, which reaches no cluster).
    let (shows, helm_calls): (Vec<String>, Vec<String>) = helm_calls
        .into_iter()
        .partition(|l| l.starts_with("helm show crds "));
    assert_eq!(shows.len(), 5, "{shows:#?}");
    let kubeconfig = w.root().join(".kube/config").display().to_string();
    assert!(!helm_calls.is_empty());
    for l in &helm_calls {
        assert!(
            l.contains(&format!(
                "--kube-context {CONTEXT} --kubeconfig {kubeconfig}"
            )),
            "{l}"
        );
    }
    let releases = w.helm_releases();
    assert_eq!(releases.len(), 5, "{releases:#?}");
    for r in &releases {
        assert_eq!(r["status"], "deployed");
        assert_eq!(r["values_file_mode"], "0o600", "{r}");
    }
    let prom = releases
        .iter()
        .find(|r| r["name"] == "kube-prometheus-stack")
        .unwrap();
    assert_eq!(prom["chart"], "kube-prometheus-stack-93.9.0");
    assert_eq!(
        prom["values"]["grafana"]["admin"]["existingSecret"],
        "grafana-admin"
    );
    // values files are removed after use
    for l in &helm_calls {
        if let Some(f) = l.split(" -f ").nth(1).and_then(|r| r.split(' ').next()) {
            assert!(!Path::new(f).exists(), "{f} left behind");
        }
    }
    // Every write a server-side apply by alpaka's field manager, forced, and accepted.
    let writes = w.writes();
    assert!(
        writes
            .iter()
            .all(|l| l.starts_with("patch ") && l.contains(" manager=alpaka force=true code=20")),
        "{writes:#?}"
    );
    for resource in [
        "v1 namespaces",
        "kafka.strimzi.io/v1 kafkas",
        "kafka.strimzi.io/v1 kafkanodepools",
        "kafka.strimzi.io/v1 kafkaconnects",
        "kafka.strimzi.io/v1 kafkaconnectors",
        "v1 secrets",
        "rbac.authorization.k8s.io/v1 roles",
        "rbac.authorization.k8s.io/v1 rolebindings",
        "apps/v1 deployments",
        "v1 services",
        "networking.k8s.io/v1 ingresses",
        "monitoring.coreos.com/v1 podmonitors",
        "v1 configmaps",
        "batch/v1 jobs",
    ] {
        assert!(
            writes.iter().any(|l| l.contains(&format!(" {resource} "))),
            "{resource} never applied: {writes:#?}"
        );
    }
    // Ingress class per distribution: traefik on k3d.
    assert_eq!(
        w.object("Ingress", "grafana")["spec"]["ingressClassName"],
        "traefik"
    );
    // The connector password reaches the connector only through the Secret + config provider.
    let secret = w.object("Secret", "alpaka-connect-srccon");
    let key = "srccon-mydb-log-log1.connection.password";
    assert_eq!(b64_decode(secret["data"][key].as_str().unwrap()), DB_PASS);
    let connector = w.object("KafkaConnector", "srccon-mydb-log-log1");
    assert_eq!(
        connector["spec"]["config"]["connection.password"],
        format!("${{secrets:alpaka/alpaka-connect-srccon:{key}}}")
    );
    let binding = w.object("RoleBinding", "alpaka-connect-srccon-secrets");
    assert_eq!(binding["subjects"][0]["name"], "srccon-connect");
    let grafana = w.object("Secret", "grafana-admin");
    let grafana_pw = b64_decode(grafana["data"]["admin-password"].as_str().unwrap());
    assert_eq!(grafana_pw.len(), 24);
    let ksqldb = w.object("Deployment", "ksqldb");
    let c = &ksqldb["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["resources"]["limits"]["memory"], "4Gi");
    assert!(
        c["env"]
            .to_string()
            .contains("alpaka-kafka-bootstrap.alpaka.svc:9093")
    );
    let job = w.objects("jobs").into_iter().next().expect("the init Job");
    // The real Job controller ran it to completion on a KWOK node.
    assert_eq!(job["status"]["succeeded"], 1, "{job}");
    let volume = &job["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "files")
        .expect("the init files volume")["configMap"];
    assert_eq!(volume["defaultMode"], 0o755);
    assert_eq!(volume["name"], job["metadata"]["name"]);

    // 2. Nothing changed: no changes, exit 0, no writes.
    let (code, out, err) = w.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}\n{err}");
    printed += &out;
    assert!(out.contains("No changes."), "{out}");

    // 3. One connector's config edited: exactly that change.
    w.edit_config(
        "query: \"SELECT * FROM log2\"",
        "query: \"SELECT * FROM log2 WHERE id > 100\"",
    );
    let (code, out, err) = w.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}\n{err}");
    printed += &out;
    assert!(
        out.contains("~ connector.srccon.mydb_log.log2 (strimzi.kafkaconnector)"),
        "{out}"
    );
    assert!(
        out.contains(
            r#"~ spec.config.query = "SELECT * FROM log2" -> "SELECT * FROM log2 WHERE id > 100""#
        ),
        "{out}"
    );
    assert!(
        out.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{out}"
    );
    let changed: Vec<&str> = out.lines().filter(|l| l.starts_with("  # ")).collect();
    assert_eq!(changed.len(), 1, "{out}");

    // 4. Apply touches only that KafkaConnector; no helm release is upgraded.
    w.take("fake.log");
    printed += &ok(w.run(&["apply", "--auto-approve"]));
    assert_eq!(
        w.writes(),
        [
            "patch kafka.strimzi.io/v1 kafkaconnectors alpaka/srccon-mydb-log-log2 manager=alpaka force=true code=200"
        ]
    );
    let helm = w.take("fake.log");
    assert!(helm.iter().all(|l| !l.contains("upgrade")), "{helm:#?}");
    assert_eq!(
        w.object("KafkaConnector", "srccon-mydb-log-log2")["spec"]["config"]["query"],
        "SELECT * FROM log2 WHERE id > 100"
    );
    let (code, out, _) = w.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");

    // A chart's values edited: plan shows the values diff; apply upgrades only that release.
    w.edit_config("retention: 10d", "retention: 5d");
    let (code, out, _) = w.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(r#"~ values.prometheus.prometheusSpec.retention = "10d" -> "5d""#),
        "{out}"
    );
    assert!(
        out.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{out}"
    );
    w.take("fake.log");
    ok(w.run(&["apply", "--auto-approve"]));
    let upgrades: Vec<String> = w
        .take("fake.log")
        .into_iter()
        .filter(|l| l.starts_with("helm upgrade"))
        .collect();
    assert_eq!(upgrades.len(), 1, "{upgrades:#?}");
    assert!(upgrades[0].starts_with("helm upgrade --install kube-prometheus-stack kube-prometheus-stack --version 93.9.0 --repo https://prometheus-community.github.io/helm-charts"), "{upgrades:#?}");
    assert_eq!(w.writes(), Vec::<String>::new());

    // 5. A connector removed from the config: plan shows its delete (and its password leaving
    //    the Secret); apply deletes the KafkaConnector.
    w.edit_config(
        "      - name: log2\n        config:\n          topic.prefix: log2\n          query: \"SELECT * FROM log2 WHERE id > 100\"\n",
        "",
    );
    let (code, out, err) = w.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}\n{err}");
    printed += &out;
    assert!(
        out.contains("# connector.srccon.mydb_log.log2 will be destroyed (it is no longer in the configuration)"),
        "{out}"
    );
    assert!(
        out.contains(r#"- data["srccon-mydb-log-log2.connection.password"] = (sensitive) -> null"#),
        "{out}"
    );
    // Its Connect type's KafkaUser loses the ACLs for the connector's topics in the same plan
    // (issue 21: least privilege follows the config).
    assert!(
        out.contains("# kafka.user.connect-srccon will be updated in-place"),
        "{out}"
    );
    assert!(
        out.contains("Plan: 0 to add, 2 to change, 1 to destroy."),
        "{out}"
    );
    printed += &ok(w.run(&["apply", "--auto-approve"]));
    let writes = w.writes();
    assert!(
        writes.iter().any(|l| l.starts_with(
            "delete kafka.strimzi.io/v1 kafkaconnectors alpaka/srccon-mydb-log-log2 "
        ) && l.ends_with(" code=200")),
        "{writes:#?}"
    );
    assert!(
        w.cp.get(&["kafkaconnector", "srccon-mydb-log-log2", "-n", "alpaka"])
            .is_none()
    );

    // No plaintext secret in the state, the output, or any stored custom resource.
    let state = w.state_text();
    for (what, text) in [("state", &state), ("output", &printed)] {
        assert!(!text.contains(DB_PASS), "{what} holds the DB password");
        assert!(
            !text.contains(&grafana_pw),
            "{what} holds the Grafana password"
        );
    }
    for o in w.objects(NON_SECRET) {
        let t = o.to_string();
        assert!(!t.contains(DB_PASS) && !t.contains(&grafana_pw), "{t}");
    }

    // 6. Destroy: no object alpaka made, no release, empty state.
    printed += &ok(w.run(&["destroy", "--auto-approve"]));
    w.assert_all_gone();
    assert!(w.cp.get(&["namespace", "alpaka"]).is_none());
    assert!(w.helm_releases().is_empty());
    let st: serde_json::Value = serde_json::from_str(&w.state_text()).unwrap();
    assert_eq!(st["resources"], serde_json::json!({}));
    assert!(!printed.contains(DB_PASS));
}

#[test]
fn a_failing_init_job_shows_its_log_and_only_its_inputs_rerun_it() {
    let w = World::new();
    // KWOK_FAIL: the test stage makes this Job's pod exit 1 (integration/controlplane/test-stages.yaml).
    w.edit_config(
        "init:\n  enabled: false",
        "init:\n  enabled: true\n  commands:\n  - echo KWOK_FAIL",
    );
    let (code, out, err) = w.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("k8s.job.init"), "{out}");
    // The real Job controller's reason and message.
    assert!(
        out.contains("BackoffLimitExceeded: Job has reached the specified backoff limit"),
        "{out}"
    );
    // The pod's log tail, through the API server's pods/log (kwok serves a fixed log for
    // `init` containers: integration/controlplane/test-stages.yaml).
    assert!(
        out.contains("KWOK_FAIL: the init command exited 1"),
        "the pod log tail is shown: {out}"
    );
    // The failed Job is removed (its log was shown) and not recorded: nothing is left behind.
    let writes = w.writes();
    assert!(
        writes
            .iter()
            .any(|l| l.starts_with("delete batch/v1 jobs alpaka/")),
        "{writes:#?}"
    );
    let mut left = Vec::new();
    for _ in 0..100 {
        left = w.objects("jobs");
        // A Job's pods carry the label the Job controller sets.
        left.extend(
            w.cp.get(&["pods", "-n", "alpaka", "-l", "batch.kubernetes.io/job-name"])
                .unwrap()["items"]
                .as_array()
                .unwrap()
                .clone(),
        );
        if left.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        left,
        Vec::<serde_json::Value>::new(),
        "the Job's pods are collected"
    );
    // Fixed inputs: a new ConfigMap and Job, both with a new name.
    w.edit_config("  - echo KWOK_FAIL", "  - echo fine");
    let (code, out, _) = w.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("-/+ k8s.configmap.init (k8s.configmap)"),
        "{out}"
    );
    assert!(out.contains("+ k8s.job.init (k8s.job)"), "{out}");
    assert!(
        out.contains("Plan: 2 to add, 0 to change, 1 to destroy."),
        "{out}"
    );
    ok(w.run(&["apply", "--auto-approve"]));
    // Unchanged inputs: the Job is not run again.
    let (code, out, _) = w.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");
    w.writes();
    ok(w.run(&["apply", "--auto-approve"]));
    assert_eq!(w.writes(), Vec::<String>::new());
    ok(w.run(&["destroy", "--auto-approve"]));
    w.assert_all_gone();
    assert!(w.cp.get(&["namespace", "alpaka"]).is_none());
}

/// helm's release statuses as alpaka plans and applies them (see `src/providers/helm/mod.rs`),
/// against the fake helm scripted to fail or be killed as real helm v3.17.3 does.
#[test]
fn a_failed_or_held_helm_release_is_planned_and_applied_as_helm_allows() {
    const REL: &str = "kube-prometheus-stack";
    let w = World::new();
    let target = |verb: &[&str]| -> Vec<String> {
        verb.iter()
            .chain(&["--target", "helm.kube-prometheus-stack"])
            .map(|s| s.to_string())
            .collect()
    };
    let apply = target(&["apply", "--auto-approve"]);
    let apply: Vec<&str> = apply.iter().map(String::as_str).collect();
    let plan = target(&["plan", "--detailed-exitcode"]);
    let plan: Vec<&str> = plan.iter().map(String::as_str).collect();
    let both = |r: (i32, String, String)| (r.0, format!("{}\n{}", r.1, r.2));

    // A first install whose `--wait` runs out: helm's exit code and error are in apply's.
    let (code, out) = both(w.run_with(&apply, &[("FAKE_HELM_FAIL_RELEASE", REL)]));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("`helm upgrade --install kube-prometheus-stack"),
        "{out}"
    );
    assert!(
        out.contains("failed (exit 1): Error: INSTALLATION FAILED: context deadline exceeded"),
        "{out}"
    );
    // Applied again: helm upgrades a failed release, and it is deployed.
    ok(w.run(&apply));
    let r = w
        .helm_releases()
        .into_iter()
        .find(|r| r["name"] == REL)
        .unwrap();
    assert_eq!(
        (&r["status"], &r["revision"]),
        (&"deployed".into(), &2.into())
    );
    assert_eq!(w.run(&plan).0, 0);

    // An upgrade that fails leaves the release `failed`: plan says so, apply runs it again.
    w.edit_config("retention: 10d", "retention: 5d");
    let (code, out) = both(w.run_with(&apply, &[("FAKE_HELM_FAIL_RELEASE", REL)]));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Error: UPGRADE FAILED: context deadline exceeded"),
        "{out}"
    );
    let (code, out) = both(w.run(&plan));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(r#"~ status = "failed: the last install or upgrade failed; apply runs it again" -> "deployed""#),
        "{out}"
    );
    assert!(
        !out.contains("retention"),
        "the failed revision has the new values: {out}"
    );
    w.take("fake.log");
    ok(w.run(&apply));
    assert!(
        w.take("fake.log")
            .iter()
            .any(|l| l.starts_with("helm upgrade --install kube-prometheus-stack")),
    );
    assert_eq!(w.run(&plan).0, 0);

    // An upgrade killed mid-way with the run that started it (the fake helm SIGKILLs itself
    // after writing the pending revision, labelled with the run) leaves it `pending-upgrade`:
    // the run no longer holds the lock, so plan says apply rolls it back, and apply does,
    // then upgrades to 7d, with no manual command.
    w.edit_config("retention: 5d", "retention: 7d");
    let (code, out) = both(w.run_with(&apply, &[("FAKE_HELM_KILL_RELEASE", REL)]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("killed by a signal"), "{out}");
    let (code, out) = both(w.run(&plan));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("which no longer holds the state lock; apply rolls it back to revision")
            && out.contains("(the last deployed), then upgrades\" -> \"deployed\""),
        "{out}"
    );
    w.take("fake.log");
    ok(w.run(&apply));
    let log = w.take("fake.log");
    let rollback = log
        .iter()
        .position(|l| l.starts_with("helm rollback kube-prometheus-stack"));
    let upgrade = log
        .iter()
        .position(|l| l.starts_with("helm upgrade --install kube-prometheus-stack"));
    assert!(
        rollback.is_some() && upgrade.is_some() && rollback < upgrade,
        "{log:?}"
    );
    let kubeconfig = w.root().join(".kube/config").display().to_string();
    let (code, out, err) = w.helm(&[
        "get",
        "values",
        REL,
        "-o",
        "json",
        "-n",
        "alpaka",
        "--kube-context",
        CONTEXT,
        "--kubeconfig",
        &kubeconfig,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("7d"), "{out}");
    ok(w.run(&apply));
    assert_eq!(w.run(&plan).0, 0);
}

/// The whole profile applied, re-planned and destroyed against the fake helm as helm 4.2.3
/// (the version alpaka targets, `integration/tools.sh`): every flag alpaka passes helm 4 —
/// `--force-conflicts`, `--wait` with no strategy, the status flags of `list` without `--all`
/// — is one helm 4.2.3 defines, or the fake refuses it as helm does (issue 24 item 2).
#[test]
fn k3d_profile_applies_and_destroys_with_helm_4_flags() {
    let w = World::new();
    let v4 = [("FAKE_HELM_VERSION", "v4.2.3")];
    ok(w.run_with(&["apply", "--auto-approve"], &v4));
    let helm_calls: Vec<String> = w
        .take("fake.log")
        .into_iter()
        .filter(|l| l.starts_with("helm "))
        .collect();
    assert!(
        helm_calls
            .iter()
            .any(|l| l.starts_with("helm upgrade --install ") && l.contains(" --force-conflicts")),
        "{helm_calls:#?}"
    );
    assert_eq!(w.run_with(&["plan", "--detailed-exitcode"], &v4).0, 0);
    ok(w.run_with(&["destroy", "--auto-approve"], &v4));
    assert!(
        w.take("fake.log")
            .iter()
            .any(|l| l.starts_with("helm uninstall ") && l.contains(" --wait ")),
        "helm uninstall --wait was not called"
    );
    w.assert_all_gone();
    assert!(w.helm_releases().is_empty());
}
