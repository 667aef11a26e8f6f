//! The `helm.release` driver with the real helm (v4.2.3, `integration/tools.sh`) against the
//! real control plane (`integration/controlplane/`), installing a local chart
//! (`integration/charts/alpaka-test-chart`: a ConfigMap from values, a Deployment KWOK runs).
//!
//! Why through the library and not the binary: every release the binary plans comes from
//! `stack::catalog`'s pins (a chart repository or OCI URL and a version), and nothing in a
//! profile, config or the environment routes one to a local path, so the binary cannot install a
//! chart without the network. The test builds the graph the stack would (one `helm.release`
//! node, `stack::release_desired`'s shape) and runs the engine's own plan and apply on it: the
//! same refresh, diff and walker `alpaka plan`/`apply`/`destroy` run, with the driver pinned to
//! the real helm binary (`HelmDriver::with_bin`, so nothing depends on `PATH`).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alpaka::engine::apply::{self, ApplyContext, ApplyReport, Outcome};
use alpaka::engine::progress::{Reporter, StepEnd};
use alpaka::engine::{Action, Drivers, Graph, Node, Plan, PlanOptions, ResourceId, Value, plan};
use alpaka::providers::helm::HelmDriver;
use alpaka::providers::{Run, RunInfo};
use alpaka::state::State;

#[path = "controlplane.rs"]
mod controlplane;
#[path = "support.rs"]
mod support;

use controlplane::{CONTEXT, ControlPlane, Strimzi};

const NS: &str = "helm-test";
const RELEASE: &str = "demo";
const ID: &str = "helm.demo";
/// The profile this test's runs stand for (the `alpaka.io/profile` label of their releases).
const PROFILE: &str = "real-helm";

/// Drivers marking helm operations as run `run`, which holds the state lock (as in apply).
fn drivers(helm: &std::path::Path, run: &str) -> Drivers {
    let info: Run = Arc::new(std::sync::RwLock::new(RunInfo {
        profile: PROFILE.into(),
        id: Some(run.into()),
        lock_holder: Some(run.into()),
    }));
    let mut drivers = Drivers::new();
    drivers.register(
        "helm.release",
        Arc::new(HelmDriver::with_bin(helm.display().to_string()).with_run(info)),
    );
    drivers
}

fn chart() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("integration/charts/alpaka-test-chart")
        .display()
        .to_string()
}

/// Progress goes nowhere: the assertions read the plan and the report.
struct Quiet;

impl Reporter for Quiet {
    fn started(&self, _: &ResourceId, _: Action) {}
    fn status(&self, _: &ResourceId, _: &str) {}
    fn finished(&self, _: &ResourceId, _: Action, _: &StepEnd, _: Duration) {}
    fn note(&self, _: &str) {}
}

/// A control plane, the real helm, and alpaka's state for one release of the test chart.
struct Rig {
    cp: ControlPlane,
    helm: PathBuf,
    drivers: Drivers,
    state: State,
    rt: tokio::runtime::Runtime,
}

impl Rig {
    fn start() -> Rig {
        let cp = ControlPlane::start(Strimzi::V1);
        let helm = controlplane::tools().join("helm");
        let drivers = drivers(&helm, "0000000000000000000000000000aaaa");
        Rig {
            cp,
            helm,
            drivers,
            state: State::new("real-helm"),
            rt: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    /// The node the stack would make for a release of the local chart with these values.
    fn graph(&self, values: serde_json::Value) -> Graph {
        self.graph_of(&chart(), "0.1.0", values)
    }

    /// The same for a chart at `path` whose Chart.yaml says `version`.
    fn graph_of(&self, path: &str, version: &str, values: serde_json::Value) -> Graph {
        graph(&self.cp.kubeconfig, path, version, values)
    }

    fn plan_of(&self, graph: &Graph, destroy: bool) -> Plan {
        let opts = PlanOptions {
            profile: "real-helm".into(),
            targets: Vec::new(),
            destroy,
            parallelism: 4,
            inputs_hash: String::new(),
            refresh: true,
        };
        self.rt
            .block_on(plan::plan(graph, &self.state, &self.drivers, &opts))
            .unwrap()
    }

    fn plan(&self, values: serde_json::Value) -> Plan {
        self.plan_of(&self.graph(values), false)
    }

    fn run(&mut self, graph: &Graph, p: &Plan) -> ApplyReport {
        let (_tx, interrupt) = tokio::sync::watch::channel(false);
        let cx = ApplyContext {
            graph,
            drivers: &self.drivers,
            reporter: Arc::new(Quiet),
            parallelism: 4,
            interrupt,
        };
        let mut sink = |_: &State| Ok::<(), String>(());
        self.rt
            .block_on(apply::apply(p, cx, &mut self.state, &mut sink))
    }

    /// Plan then apply, as `alpaka apply --auto-approve` does.
    fn apply(&mut self, values: serde_json::Value) -> ApplyReport {
        let g = self.graph(values);
        let p = self.plan_of(&g, false);
        self.run(&g, &p)
    }

    fn destroy(&mut self) -> ApplyReport {
        let g = self.graph(serde_json::json!({}));
        let p = self.plan_of(&g, true);
        self.run(&g, &p)
    }

    /// The real helm against the control plane, in the release's namespace.
    fn helm_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.helm);
        c.args(args)
            .args(["-n", NS, "--kube-context", CONTEXT, "--kubeconfig"])
            .arg(&self.cp.kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn helm(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.helm_cmd(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The real helm in namespace `ns`.
    fn helm_in(&self, ns: &str, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(&self.helm)
            .args(args)
            .args(["-n", ns, "--kube-context", CONTEXT, "--kubeconfig"])
            .arg(&self.cp.kubeconfig)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `helm list` of the release as helm itself reports it (every status).
    fn listed(&self) -> Option<serde_json::Value> {
        let (code, out, err) = self.helm(&["list", "-o", "json", "--filter", "^demo$"]);
        assert_eq!(code, 0, "{err}");
        let list: Vec<serde_json::Value> = serde_json::from_str(out.trim()).unwrap();
        list.into_iter().next()
    }

    fn status(&self) -> String {
        let l = self.listed().expect("the release exists");
        l["status"].as_str().unwrap().to_owned()
    }

    fn revision(&self) -> String {
        let l = self.listed().expect("the release exists");
        l["revision"].as_str().unwrap().to_owned()
    }

    fn values(&self) -> serde_json::Value {
        let (code, out, err) = self.helm(&["get", "values", RELEASE, "-o", "json"]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(out.trim()).unwrap()
    }

    fn greeting(&self) -> serde_json::Value {
        let cm = self
            .cp
            .get(&["configmap", "demo-config", "-n", NS])
            .expect("the chart's ConfigMap");
        cm["data"]["greeting"].clone()
    }

    /// What `plan --detailed-exitcode` exits 0 on (ops::run: no change, no diff).
    fn assert_clean(&self, values: serde_json::Value) {
        let p = self.plan(values);
        assert!(
            !p.has_changes(),
            "a second plan is not clean:\n{}",
            text(&p)
        );
    }
}

fn graph(
    kubeconfig: &std::path::Path,
    path: &str,
    version: &str,
    values: serde_json::Value,
) -> Graph {
    let desired: Value = serde_json::from_value(serde_json::json!({
        "cluster": {"context": CONTEXT, "kubeconfig": kubeconfig.display().to_string()},
        "release": RELEASE,
        "chart": path,
        "repo": null,
        "version": version,
        "namespace": NS,
        "values": values,
    }))
    .unwrap();
    Graph::new(vec![Node::new(ID, "helm.release", desired)]).unwrap()
}

fn text(p: &Plan) -> String {
    console::strip_ansi_codes(&alpaka::engine::render::plan_text(p)).into_owned()
}

fn assert_done(r: &ApplyReport) {
    assert!(r.succeeded(), "{r:#?}");
}

/// The one step's error.
fn failure(r: &ApplyReport) -> String {
    match &r.steps[..] {
        [s] => match &s.outcome {
            Outcome::Failed { error } => error.clone(),
            o => panic!("{ID} did not fail: {o:?}"),
        },
        s => panic!("not one step: {s:?}"),
    }
}

/// The release's change in a plan.
fn change(p: &Plan) -> &alpaka::engine::Change {
    p.changes
        .iter()
        .find(|c| c.id.as_str() == ID)
        .expect("the release is in the plan")
}

fn hello() -> serde_json::Value {
    serde_json::json!({"data": {"greeting": "hello"}})
}

#[test]
fn install_then_replan_is_a_no_op() {
    let mut rig = Rig::start();
    let p = rig.plan(hello());
    assert_eq!(change(&p).action, Action::Create, "{}", text(&p));
    assert_done(&rig.apply(hello()));

    let l = rig.listed().expect("helm has the release");
    assert_eq!(l["status"], "deployed");
    assert_eq!(l["chart"], "alpaka-test-chart-0.1.0");
    assert_eq!(rig.values(), hello());
    assert_eq!(rig.greeting(), "hello");
    // `--wait` returned once the Deployment was ready (KWOK runs its pod).
    let d = rig.cp.get(&["deployment", RELEASE, "-n", NS]).unwrap();
    assert_eq!(d["status"]["readyReplicas"], 1, "{d}");
    // The read (real `helm list`/`get values`) gives back what was asked.
    rig.assert_clean(hello());
}

#[test]
fn a_values_change_plans_a_values_diff_and_apply_upgrades() {
    let mut rig = Rig::start();
    assert_done(&rig.apply(hello()));
    let bonjour = serde_json::json!({"data": {"greeting": "bonjour"}});
    let p = rig.plan(bonjour.clone());
    let c = change(&p);
    assert_eq!(c.action, Action::Update, "{}", text(&p));
    assert_eq!(c.fields.len(), 1, "{}", text(&p));
    assert_eq!(c.fields[0].path, ["values", "data", "greeting"]);
    assert!(
        text(&p).contains(r#"~ values.data.greeting = "hello" -> "bonjour""#),
        "{}",
        text(&p)
    );
    assert_done(&rig.apply(bonjour.clone()));
    assert_eq!(rig.revision(), "2");
    assert_eq!(rig.values(), bonjour);
    assert_eq!(rig.greeting(), "bonjour");
    rig.assert_clean(bonjour);

    // Emptied values converge: the chart's defaults come back and the re-plan is clean (real
    // helm reuses the last values when none are supplied, unless `--reset-values`).
    let p = rig.plan(serde_json::json!({}));
    assert_eq!(change(&p).action, Action::Update, "{}", text(&p));
    assert_done(&rig.apply(serde_json::json!({})));
    let (code, out, err) = rig.helm(&["get", "values", RELEASE, "-o", "json"]);
    assert_eq!((code, out.trim()), (0, "null"), "{err}");
    assert_eq!(rig.greeting(), "hello", "the chart's default");
    rig.assert_clean(serde_json::json!({}));
}

#[test]
fn a_failed_upgrade_plans_its_status_and_apply_runs_it_again() {
    let mut rig = Rig::start();
    assert_done(&rig.apply(hello()));
    // The API refuses one of the chart's objects: helm records the revision `failed`.
    let broken = serde_json::json!({"data": {"greeting": "hello"}, "broken": true});
    let e = failure(&rig.apply(broken));
    assert!(e.contains("UPGRADE FAILED"), "{e}");
    assert_eq!(rig.status(), "failed");
    assert_eq!(rig.revision(), "2");

    let p = rig.plan(hello());
    let c = change(&p);
    assert_eq!(c.action, Action::Update, "{}", text(&p));
    let status = c
        .fields
        .iter()
        .find(|f| f.path == ["status"])
        .unwrap_or_else(|| panic!("no status change:\n{}", text(&p)));
    assert_eq!(
        status.before,
        Some(Value::str(
            "failed: the last install or upgrade failed; apply runs it again"
        ))
    );
    assert_eq!(status.after, Some(Value::str("deployed")));
    // `get values` is the failed revision's: the diff takes it back.
    assert!(
        c.fields.iter().any(|f| f.path == ["values", "broken"]),
        "{}",
        text(&p)
    );
    assert_done(&rig.apply(hello()));
    assert_eq!(rig.status(), "deployed");
    assert_eq!(rig.revision(), "3");
    assert_eq!(rig.values(), hello());
    rig.assert_clean(hello());
}

#[test]
fn a_pending_upgrade_is_not_taken_over_and_the_rollback_it_names_clears_it() {
    let mut rig = Rig::start();
    assert_done(&rig.apply(hello()));
    // Another helm's upgrade, waiting on a pod no node can take, killed outright (SIGKILL, as a
    // lost machine or OOM kill would) while it waits: the revision stays pending-upgrade.
    let values = rig.cp.dir().join("stuck.json");
    std::fs::write(&values, r#"{"nodeSelector": {"alpaka-test/nowhere": "x"}}"#).unwrap();
    let mut other = rig
        .helm_cmd(&[
            "upgrade",
            RELEASE,
            &chart(),
            "-f",
            &values.display().to_string(),
            "--wait",
            "--timeout",
            "600s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    loop {
        let pending_pod = rig
            .cp
            .get(&["pods", "-n", NS, "--field-selector", "status.phase=Pending"])
            .is_some_and(|p| !p["items"].as_array().unwrap().is_empty());
        if pending_pod && rig.status() == "pending-upgrade" {
            break;
        }
        assert!(
            other.try_wait().unwrap().is_none(),
            "the other upgrade ended"
        );
        assert!(t.elapsed() < Duration::from_secs(60), "never pending");
        std::thread::sleep(Duration::from_millis(300));
    }
    other.kill().unwrap();
    other.wait().unwrap();
    assert_eq!(rig.status(), "pending-upgrade");
    assert_eq!(rig.revision(), "2");

    let p = rig.plan(hello());
    let c = change(&p);
    assert_eq!(c.action, Action::Update, "{}", text(&p));
    assert!(
        text(&p).contains(r#"~ status"#)
            && text(&p).contains(
                r#""pending-upgrade: another helm operation holds the release, running or interrupted; apply stops and says how to clear it" -> "deployed""#
            ),
        "{}",
        text(&p)
    );
    // Apply stops with helm's refusal and the way out; the release is left as it was.
    let e = failure(&rig.apply(hello()));
    assert!(
        e.contains(
            "failed (exit 1): Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress"
        ),
        "{e}"
    );
    assert!(e.contains("(HelmReleasePending)"), "{e}");
    assert!(e.contains("helm release `demo` is pending-upgrade"), "{e}");
    assert_eq!(rig.status(), "pending-upgrade");
    assert_eq!(rig.revision(), "2");

    // Doing what it says (the real `helm rollback`, as named) clears it: back to revision 1's
    // values, which are alpaka's, so nothing is left to do.
    let hint = e
        .split("`helm rollback ")
        .nth(1)
        .and_then(|r| r.split('`').next())
        .unwrap_or_else(|| panic!("no rollback command in {e}"));
    let args: Vec<&str> = hint.split_whitespace().collect();
    let out = Command::new(&rig.helm)
        .arg("rollback")
        .args(&args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(rig.status(), "deployed");
    assert_eq!(rig.values(), hello());
    rig.assert_clean(hello());
}

#[test]
fn a_failing_install_reports_helms_exit_code_and_stderr_and_apply_again_installs() {
    let mut rig = Rig::start();
    let broken = serde_json::json!({"broken": true});
    let r = rig.apply(broken);
    let e = failure(&r);
    assert!(
        e.starts_with(&format!(
            "`{} upgrade --install demo {}",
            rig.helm.display(),
            chart()
        )),
        "{e}"
    );
    assert!(e.contains("failed (exit 1): "), "{e}");
    // helm's own stderr: the API server's refusal of the object.
    assert!(
        e.contains(r#"ConfigMap "Not_A_Valid_Name" is invalid"#),
        "{e}"
    );
    assert!(e.contains("(CommandFailed)"), "{e}");
    let report = alpaka::engine::render::report_text(&r, false);
    assert!(report.contains("Not_A_Valid_Name"), "{report}");
    assert!(rig.state.get(&ResourceId::new(ID)).is_none());
    // helm keeps the failed first install, labelled with the run and profile; alpaka recorded
    // nothing, so the plan finds it (`Driver::find`) and adopts it, and `upgrade --install` over
    // a release whose only revision failed upgrades it.
    assert_eq!(rig.status(), "failed");
    let (code, out, err) = rig.helm(&["get", "metadata", RELEASE, "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let meta: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(meta["labels"]["alpaka.io/profile"], PROFILE, "{meta}");
    assert_eq!(
        meta["labels"]["alpaka.io/run"], "0000000000000000000000000000aaaa",
        "{meta}"
    );
    let p = rig.plan(hello());
    assert_eq!(change(&p).action, Action::Adopt, "{}", text(&p));
    assert_done(&rig.apply(hello()));
    assert_eq!(rig.status(), "deployed");
    assert_eq!(rig.values(), hello());
    rig.assert_clean(hello());
}

#[test]
fn destroy_uninstalls_the_release() {
    let mut rig = Rig::start();
    assert_done(&rig.apply(hello()));
    let secrets = |rig: &Rig| {
        rig.cp
            .get(&["secrets", "-n", NS, "-l", "owner=helm,name=demo"])
            .unwrap()["items"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(secrets(&rig), 1, "helm stores the release as a Secret");

    let p = rig.plan_of(&rig.graph(hello()), true);
    assert_eq!(change(&p).action, Action::Delete, "{}", text(&p));
    assert_done(&rig.destroy());
    assert_eq!(secrets(&rig), 0, "the release Secret is left");
    assert!(
        rig.cp
            .get(&["secret", "sh.helm.release.v1.demo.v1", "-n", NS])
            .is_none()
    );
    assert!(rig.listed().is_none());
    assert!(
        rig.cp
            .get(&["configmap", "demo-config", "-n", NS])
            .is_none()
    );
    assert!(rig.cp.get(&["deployment", RELEASE, "-n", NS]).is_none());
    assert!(rig.state.resources.is_empty());
    let p = rig.plan_of(&rig.graph(hello()), true);
    assert!(!p.has_changes(), "{}", text(&p));
}

/// A chart at `dir/<version>/alpaka-crd-chart` (helm names it by its directory) whose `crds/` defines `widgets.example.com` with these properties
/// in its schema (and a ConfigMap, so the release has an object).
fn crd_chart(dir: &std::path::Path, version: &str, properties: &[&str]) -> String {
    let root = dir.join(version).join("alpaka-crd-chart");
    std::fs::create_dir_all(root.join("crds")).unwrap();
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::write(
        root.join("Chart.yaml"),
        format!("apiVersion: v2\nname: alpaka-crd-chart\nversion: {version}\n"),
    )
    .unwrap();
    let props: String = properties
        .iter()
        .map(|p| format!("                {p}: {{type: string}}\n"))
        .collect();
    std::fs::write(
        root.join("crds/widgets.yaml"),
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
             name: widgets.example.com\nspec:\n  group: example.com\n  names: {{kind: Widget, \
             plural: widgets}}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: \
             true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: \
             object\n        properties:\n          spec:\n            type: object\n            \
             properties:\n{props}"
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-widgets\ndata: {}\n",
    )
    .unwrap();
    root.display().to_string()
}

fn widget_properties(cp: &ControlPlane) -> Vec<String> {
    let crd = cp
        .get(&["customresourcedefinition", "widgets.example.com"])
        .expect("the CRD exists");
    let props = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    props.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn a_chart_version_change_applies_the_new_charts_crds_before_upgrading() {
    let mut rig = Rig::start();
    let dir = tempfile::tempdir().unwrap();
    let v1 = crd_chart(dir.path(), "0.1.0", &["size"]);
    let v2 = crd_chart(dir.path(), "0.2.0", &["color", "size"]);
    // helm installs crds/ on the first install.
    let g1 = rig.graph_of(&v1, "0.1.0", serde_json::json!({}));
    let p = rig.plan_of(&g1, false);
    assert_done(&rig.run(&g1, &p));
    assert_eq!(widget_properties(&rig.cp), ["size"]);
    // helm itself leaves them as they are on an upgrade (helm 4.2.3; it does apply them when
    // it installs a new release): the real helm upgrades the release to the new chart, then
    // rolls it back, and the CRD never changed.
    let (code, _, err) = rig.helm(&["upgrade", RELEASE, &v2]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(widget_properties(&rig.cp), ["size"], "helm upgraded a CRD");
    let (code, _, err) = rig.helm(&["rollback", RELEASE, "1", "--wait"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rig.listed().unwrap()["chart"], "alpaka-crd-chart-0.1.0");

    // alpaka: the version change plans an update, and apply brings the new chart's CRDs first.
    let g2 = rig.graph_of(&v2, "0.2.0", serde_json::json!({}));
    let p = rig.plan_of(&g2, false);
    let c = change(&p);
    assert_eq!(c.action, Action::Update, "{}", text(&p));
    assert!(
        c.fields.iter().any(|f| f.path == ["version"]),
        "{}",
        text(&p)
    );
    assert_done(&rig.run(&g2, &p));
    assert_eq!(widget_properties(&rig.cp), ["color", "size"]);
    assert_applied_by_alpaka(&rig.cp, "widgets.example.com");
    assert_eq!(rig.listed().unwrap()["chart"], "alpaka-crd-chart-0.2.0");
    let p = rig.plan_of(&g2, false);
    assert!(!p.has_changes(), "{}", text(&p));
}

// ---- Interrupted runs (issue 22 item 1) -------------------------------------------------------
//
// alpaka itself must be a process to be sent signals: the test binary runs itself again as
// `child_alpaka` (env `ALPAKA_HELM_CHILD_*`), which plans and applies the release as the binary
// does, with the binary's Ctrl-C handling (`alpaka::ops::watch_interrupts`).

const CHILD_KUBECONFIG: &str = "ALPAKA_HELM_CHILD_KUBECONFIG";
const CHILD_VALUES: &str = "ALPAKA_HELM_CHILD_VALUES";
const CHILD_RUN: &str = "ALPAKA_HELM_CHILD_RUN";
const CHILD_RUN_ID: &str = "0000000000000000000000000000c41d";

/// Not a test of its own: the alpaka run the interrupt tests start and signal.
#[test]
fn child_alpaka() {
    let Ok(kubeconfig) = std::env::var(CHILD_KUBECONFIG) else {
        return;
    };
    let values: serde_json::Value =
        serde_json::from_str(&std::env::var(CHILD_VALUES).unwrap()).unwrap();
    let run = std::env::var(CHILD_RUN).unwrap();
    let helm = controlplane::tools().join("helm");
    let drivers = drivers(&helm, &run);
    let g = graph(std::path::Path::new(&kubeconfig), &chart(), "0.1.0", values);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut state = State::new("real-helm");
    let report = rt.block_on(async {
        let opts = PlanOptions {
            profile: PROFILE.into(),
            targets: Vec::new(),
            destroy: false,
            parallelism: 4,
            inputs_hash: String::new(),
            refresh: true,
        };
        let p = plan::plan(&g, &state, &drivers, &opts).await.unwrap();
        let (interrupt, _signals) = alpaka::ops::watch_interrupts();
        let cx = ApplyContext {
            graph: &g,
            drivers: &drivers,
            reporter: Arc::new(Quiet),
            parallelism: 4,
            interrupt,
        };
        let mut sink = |_: &State| Ok::<(), String>(());
        apply::apply(&p, cx, &mut state, &mut sink).await
    });
    println!("CHILD-REPORT {report:?}");
}

/// A child alpaka applying `values`, in its own process group as a shell runs a job (so a
/// SIGINT to that group is what the terminal's Ctrl-C sends).
fn spawn_child(rig: &Rig, values: serde_json::Value) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_alpaka", "--nocapture", "--test-threads=1"])
        .env(CHILD_KUBECONFIG, &rig.cp.kubeconfig)
        .env(CHILD_VALUES, values.to_string())
        .env(CHILD_RUN, CHILD_RUN_ID)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Values whose pod no KWOK node takes: a `--wait` that cannot finish.
fn stuck() -> serde_json::Value {
    serde_json::json!({"data": {"greeting": "hello"}, "nodeSelector": {"alpaka-test/nowhere": "x"}})
}

/// The helm the child runs (a child process of one of its threads).
fn helm_of(child: u32) -> Option<i32> {
    let tasks = std::fs::read_dir(format!("/proc/{child}/task")).ok()?;
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| {
            c.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
                .collect::<Vec<_>>()
        })
        .find(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains("upgrade"))
                .unwrap_or(false)
        })
}

fn alive(pid: i32) -> bool {
    // A zombie (exited, not yet reaped) is not running.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a pid this test started.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill({pid}, {sig})");
}

/// Wait until the child's helm holds the release in `status` with its pod Pending; its pid.
fn wait_pending(rig: &Rig, child: &mut std::process::Child, status: &str) -> i32 {
    let t = Instant::now();
    loop {
        let pending_pod = rig
            .cp
            .get(&["pods", "-n", NS, "--field-selector", "status.phase=Pending"])
            .is_some_and(|p| !p["items"].as_array().unwrap().is_empty());
        let now = rig
            .listed()
            .map(|l| l["status"].as_str().unwrap().to_owned());
        if pending_pod
            && now.as_deref() == Some(status)
            && let Some(helm) = helm_of(child.id())
        {
            return helm;
        }
        assert!(child.try_wait().unwrap().is_none(), "the child ended");
        assert!(t.elapsed() < Duration::from_secs(90), "never {status}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn ctrl_c_lets_helm_run_and_a_killed_alpaka_leaves_the_release_failed_not_pending() {
    let mut rig = Rig::start();
    assert_done(&rig.apply(hello()));
    let mut child = spawn_child(&rig, stuck());
    let helm = wait_pending(&rig, &mut child, "pending-upgrade");
    let pgid = i32::try_from(child.id()).unwrap();
    // Ctrl-C as the terminal sends it, to the job's process group: helm is in its own group,
    // so it does not get it and goes on waiting; alpaka waits for the running step.
    signal(-pgid, libc::SIGINT);
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        child.try_wait().unwrap().is_none(),
        "alpaka exited at Ctrl-C"
    );
    assert!(alive(helm), "helm got the Ctrl-C");
    assert_eq!(rig.status(), "pending-upgrade");
    // alpaka killed outright: the kernel sends its helm SIGTERM (PR_SET_PDEATHSIG), on which
    // helm cancels the upgrade and records it `failed`.
    child.kill().unwrap();
    child.wait().unwrap();
    let t = Instant::now();
    while rig.status() != "failed" {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "still {}",
            rig.status()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let t = Instant::now();
    while alive(helm) {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "helm outlived alpaka"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(rig.revision(), "2");
    // The next apply takes it from there, no manual command.
    let p = rig.plan(hello());
    assert!(
        text(&p).contains("failed: the last install or upgrade failed; apply runs it again"),
        "{}",
        text(&p)
    );
    assert_done(&rig.apply(hello()));
    assert_eq!(rig.status(), "deployed");
    assert_eq!(rig.values(), hello());
    rig.assert_clean(hello());
}

#[test]
fn a_pending_upgrade_left_by_a_lost_run_is_rolled_back_then_upgraded() {
    let mut rig = Rig::start();
    assert_done(&rig.apply(hello()));
    let mut child = spawn_child(&rig, stuck());
    let helm = wait_pending(&rig, &mut child, "pending-upgrade");
    // The machine lost: helm and alpaka killed at once, nobody records anything.
    signal(helm, libc::SIGKILL);
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(rig.status(), "pending-upgrade");
    assert_eq!(rig.revision(), "2");

    let p = rig.plan(hello());
    let c = change(&p);
    assert_eq!(c.action, Action::Update, "{}", text(&p));
    let want = format!(
        r#""pending-upgrade: left by alpaka run {CHILD_RUN_ID}, which no longer holds the state lock; apply rolls it back to revision 1 (the last deployed), then upgrades" -> "deployed""#
    );
    assert!(text(&p).contains(&want), "{}", text(&p));
    assert_done(&rig.apply(hello()));
    assert_eq!(rig.status(), "deployed");
    // 3 is the rollback, 4 the upgrade.
    assert_eq!(rig.revision(), "4");
    assert_eq!(rig.values(), hello());
    rig.assert_clean(hello());
}

#[test]
fn a_pending_install_left_by_a_lost_run_is_found_uninstalled_and_installed() {
    let mut rig = Rig::start();
    let mut child = spawn_child(&rig, stuck());
    let helm = wait_pending(&rig, &mut child, "pending-install");
    signal(helm, libc::SIGKILL);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(rig.status(), "pending-install");

    // Recorded nowhere (the child's state died with it): found by its profile label.
    let p = rig.plan(hello());
    let c = change(&p);
    assert_eq!(c.action, Action::Adopt, "{}", text(&p));
    let want = format!(
        r#""pending-install: left by alpaka run {CHILD_RUN_ID}, which no longer holds the state lock, and never deployed; apply uninstalls it, then installs" -> "deployed""#
    );
    assert!(text(&p).contains(&want), "{}", text(&p));
    assert_done(&rig.apply(hello()));
    assert_eq!(rig.status(), "deployed");
    assert_eq!(rig.revision(), "1");
    assert_eq!(rig.values(), hello());
    rig.assert_clean(hello());
}

#[test]
fn a_release_of_another_profile_is_refused_not_upgraded_blind() {
    let rig = Rig::start();
    let (code, _, err) = rig.helm(&[
        "install",
        RELEASE,
        &chart(),
        "--create-namespace",
        "--labels",
        "alpaka.io/profile=someone-else",
    ]);
    assert_eq!(code, 0, "{err}");
    let g = rig.graph(hello());
    let opts = PlanOptions {
        profile: PROFILE.into(),
        targets: Vec::new(),
        destroy: false,
        parallelism: 4,
        inputs_hash: String::new(),
        refresh: true,
    };
    let e = rig
        .rt
        .block_on(plan::plan(&g, &rig.state, &rig.drivers, &opts))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("its alpaka.io/profile label says `someone-else`"),
        "{e}"
    );
    assert_eq!(rig.revision(), "1");
}

// ---- Drift inside the release (issue 22 item 2) ----------------------------------------------

#[test]
fn edited_and_deleted_chart_objects_plan_as_drift_and_apply_repairs_them() {
    let mut rig = Rig::start();
    assert_done(&rig.apply(hello()));
    rig.assert_clean(hello());
    let (code, _, err) =
        rig.cp
            .kubectl(&["scale", "deployment", RELEASE, "-n", NS, "--replicas=3"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = rig
        .cp
        .kubectl(&["delete", "configmap", "demo-config", "-n", NS]);
    assert_eq!(code, 0, "{err}");

    // What `plan --detailed-exitcode` exits 2 on, naming both.
    let p = rig.plan(hello());
    assert!(p.has_changes(), "{}", text(&p));
    let t = text(&p);
    assert!(
        t.contains(r#"objects.ConfigMap helm-test/demo-config = "deleted""#)
            || t.contains(r#""ConfigMap helm-test/demo-config""#)
            || (t.contains("ConfigMap helm-test/demo-config") && t.contains("deleted")),
        "{t}"
    );
    assert!(
        t.contains("Deployment helm-test/demo") && t.contains("spec.replicas: 3 -> 1"),
        "{t}"
    );
    assert_done(&rig.apply(hello()));
    assert_eq!(rig.greeting(), "hello");
    let d = rig.cp.get(&["deployment", RELEASE, "-n", NS]).unwrap();
    assert_eq!(d["spec"]["replicas"], 1, "{d}");
    rig.assert_clean(hello());

    // Another field manager takes a field the chart sets (server-side apply, forced): the plan
    // names it, and helm 4's upgrade takes it back (`--force-conflicts`) instead of failing.
    let (code, _, err) = rig.cp.kubectl_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager=intruder",
            "--force-conflicts",
            "-f",
            "-",
        ],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo-config\n  namespace: helm-test\ndata:\n  greeting: intruded\n",
    );
    assert_eq!(code, 0, "{err}");
    let p = rig.plan(hello());
    let t = text(&p);
    assert!(
        t.contains(r#"data.greeting: \"intruded\" -> \"hello\" (held by intruder)"#)
            || t.contains(r#"data.greeting: "intruded" -> "hello" (held by intruder)"#),
        "{t}"
    );
    assert_done(&rig.apply(hello()));
    assert_eq!(rig.greeting(), "hello");
    assert_eq!(rig.status(), "deployed");
    rig.assert_clean(hello());
}

/// A chart's Service refused by a Service webhook (`failurePolicy: Fail`) whose backend comes
/// up 10 s later, as the LB controller's on EKS: the one apply installs the release.
#[test]
fn a_charts_service_waits_for_a_webhook_that_comes_up_10_s_later() {
    let mut rig = Rig::start();
    let (code, _, err) = rig.cp.kubectl(&["create", "namespace", NS]);
    assert_eq!(code, 0, "{err}");
    let webhook = controlplane::ServiceWebhook::start(&rig.cp, NS, 10);
    let started = std::time::Instant::now();
    let r = rig.apply(serde_json::json!({"data": {"greeting": "hello"}, "service": true}));
    assert_done(&r);
    assert!(started.elapsed() >= Duration::from_secs(10));
    assert_eq!(rig.status(), "deployed");
    let svc = rig.cp.get(&["service", "demo-svc", "-n", NS]).unwrap();
    assert_eq!(
        svc["metadata"]["labels"]["alpaka.test/mutated"], "true",
        "{svc}"
    );
    assert!(webhook.requests().contains("demo-svc"));
}

// ---- CRDs on a create, and what destroy leaves (issue 22 item 5) -------------------------------
//
// The test chart's `crds/gadgets.yaml` (0.1.0: `size`, v1) and the next version's
// (`integration/charts/v0.2.0/alpaka-test-chart`: `color` added, v2 served).

const GADGETS: &str = "gadgets.test.alpaka.io";

fn chart_v2() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("integration/charts/v0.2.0/alpaka-test-chart")
        .display()
        .to_string()
}

/// The gadgets CRD of chart `chart` (a path), as `kubectl apply` sends it.
fn gadgets_of(chart: &str) -> String {
    std::fs::read_to_string(PathBuf::from(chart).join("crds/gadgets.yaml")).unwrap()
}

/// The served versions of the gadgets CRD on the cluster and its v1 spec's properties.
fn gadgets_live(cp: &ControlPlane) -> (Vec<String>, Vec<String>) {
    let crd = cp
        .get(&["customresourcedefinition", GADGETS])
        .expect("the gadgets CRD exists");
    let versions = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["served"] == true)
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    let props =
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
    (versions, props)
}

#[test]
fn a_create_over_older_crds_applies_the_charts_before_helm_installs() {
    let mut rig = Rig::start();
    // An older operator's CRD is on the cluster (chart 0.1.0's), as a helm 3 install of an
    // older release would have left it.
    let (code, _, err) = rig
        .cp
        .kubectl_stdin(&["apply", "-f", "-"], &gadgets_of(&chart()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        gadgets_live(&rig.cp),
        (vec!["v1".into()], vec!["size".into()])
    );

    // helm alone: applied client-side (helm 3's way, helm 4 `--server-side=false`) its install
    // skips a CRD that exists (v4.2.3 install.go installCRDs: IsAlreadyExists → "Skipping");
    // server-side (helm 4's default) it applies it, and another manager's fields conflict.
    let (code, _, err) = rig.helm(&[
        "install",
        "plain",
        &chart_v2(),
        "--server-side=false",
        "--create-namespace",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        gadgets_live(&rig.cp),
        (vec!["v1".into()], vec!["size".into()]),
        "helm upgraded an existing CRD on a client-side install"
    );
    let (code, _, err) = rig.helm(&["uninstall", "plain", "--wait"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = rig.helm(&["install", "plain", &chart_v2()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("failed to install CRD crds/gadgets.yaml: conflict occurred"),
        "{err}"
    );

    // alpaka: the plan names it under the create, apply brings the chart's first.
    let g = rig.graph_of(&chart_v2(), "0.2.0", serde_json::json!({}));
    let p = rig.plan_of(&g, false);
    let c = change(&p);
    assert_eq!(c.action, Action::Create, "{}", text(&p));
    let out = text(&p);
    assert!(
        out.contains(&format!("note: CRDs older on the cluster: {GADGETS} (the cluster's serves up to v1, the chart's v2) → applied from chart alpaka-test-chart 0.2.0")),
        "{out}"
    );
    assert_done(&rig.run(&g, &p));
    assert_eq!(
        gadgets_live(&rig.cp),
        (
            vec!["v1".into(), "v2".into()],
            vec!["color".into(), "size".into()]
        )
    );
    assert_applied_by_alpaka(&rig.cp, GADGETS);
    assert_eq!(rig.listed().unwrap()["chart"], "alpaka-test-chart-0.2.0");
    let p = rig.plan_of(&g, false);
    assert!(!p.has_changes(), "{}", text(&p));
}

#[test]
fn a_create_under_a_newer_crd_is_refused_naming_it() {
    let rig = Rig::start();
    // Another operator's newer CRD (chart 0.2.0's) is on the cluster; alpaka pins 0.1.0.
    let (code, _, err) = rig
        .cp
        .kubectl_stdin(&["apply", "-f", "-"], &gadgets_of(&chart_v2()));
    assert_eq!(code, 0, "{err}");
    let opts = PlanOptions {
        profile: PROFILE.into(),
        targets: Vec::new(),
        destroy: false,
        parallelism: 4,
        inputs_hash: String::new(),
        refresh: true,
    };
    let err = rig
        .rt
        .block_on(plan::plan(
            &rig.graph(hello()),
            &rig.state,
            &rig.drivers,
            &opts,
        ))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "`{ID}` cannot be created: CustomResourceDefinition {GADGETS} on the cluster is newer than chart alpaka-test-chart 0.1.0's (the cluster's serves up to v2, the chart's v1)"
        )),
        "{err}"
    );
    assert!(err.contains("alpaka never downgrades"), "{err}");
    assert!(
        err.contains(&format!(
            "`kubectl --kubeconfig {} --context {CONTEXT} delete crd {GADGETS}`",
            rig.cp.kubeconfig.display()
        )),
        "{err}"
    );
    // Nothing changed.
    assert!(rig.listed().is_none());
    assert_eq!(gadgets_live(&rig.cp).0, ["v1", "v2"]);
    // What the check prevents: helm 4's install with `--force-conflicts` (which alpaka passes so
    // that a chart's fields are taken back) applies the chart's CRD over the newer one.
    let (code, _, err) = rig.helm(&[
        "upgrade",
        "--install",
        RELEASE,
        &chart(),
        "--force-conflicts",
        "--create-namespace",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(gadgets_live(&rig.cp).0, ["v1"], "helm did not downgrade it");
}

/// A chart at `dir/alpaka-gadget-user` whose only object is a Gadget: a release that uses the
/// test chart's CRD without shipping it.
fn gadget_user_chart(dir: &std::path::Path) -> String {
    let root = dir.join("alpaka-gadget-user");
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: alpaka-gadget-user\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        root.join("templates/gadget.yaml"),
        "apiVersion: test.alpaka.io/v1\nkind: Gadget\nmetadata:\n  name: g2\nspec:\n  size: big\n",
    )
    .unwrap();
    root.display().to_string()
}

#[test]
fn destroy_lists_what_helm_leaves_and_delete_crds_deletes_only_what_nothing_uses() {
    use alpaka::providers::helm::leftovers::{self, Outcome};
    let mut rig = Rig::start();
    let values = serde_json::json!({"data": {"greeting": "hello"}, "keptClusterRole": true});
    assert_done(&rig.apply(values.clone()));
    let helm = rig.helm.display().to_string();

    // Before destroy (the destroy plan): the chart's CRD and its kept ClusterRole.
    let found = rig.rt.block_on(leftovers::find(&helm, &rig.state));
    let [Ok(found)] = &found[..] else {
        panic!("{found:?}")
    };
    let lines: Vec<String> = found.items.iter().map(|l| l.describe()).collect();
    assert_eq!(
        lines,
        [
            format!("CustomResourceDefinition {GADGETS} (crds/ of chart alpaka-test-chart 0.1.0)"),
            format!("ClusterRole demo-kept (helm.sh/resource-policy: keep in release {NS}/demo)"),
        ]
    );
    // A user's custom resource of the chart's kind.
    let (code, _, err) = rig.cp.kubectl_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: users}\n---\napiVersion: test.alpaka.io/v1\nkind: Gadget\nmetadata: {name: g1, namespace: users}\nspec: {size: small}\n",
    );
    assert_eq!(code, 0, "{err}");

    assert_done(&rig.destroy());
    assert!(rig.listed().is_none());
    // helm left both.
    assert!(rig.cp.get(&["crd", GADGETS]).is_some());
    assert!(rig.cp.get(&["clusterrole", "demo-kept"]).is_some());

    let settle = |rig: &Rig, delete: bool| -> Vec<(String, Result<Outcome, String>)> {
        rig.rt
            .block_on(leftovers::settle(&helm, found, delete))
            .into_iter()
            .map(|s| (s.leftover.name.clone(), s.outcome))
            .collect()
    };
    // The custom resource keeps the CRD; nothing keeps the ClusterRole, which goes.
    assert_eq!(
        settle(&rig, true),
        [
            (
                GADGETS.to_owned(),
                Ok(Outcome::Kept(vec![
                    "Gadget resource remains: users/g1".into()
                ]))
            ),
            ("demo-kept".to_owned(), Ok(Outcome::Deleted)),
        ]
    );
    assert!(rig.cp.get(&["crd", GADGETS]).is_some());
    assert!(rig.cp.get(&["clusterrole", "demo-kept"]).is_none());
    let (code, _, err) = rig
        .cp
        .kubectl(&["delete", "gadget", "g1", "-n", "users", "--wait"]);
    assert_eq!(code, 0, "{err}");

    // Another release of the same chart, in another namespace, ships it.
    let (code, _, err) = rig.helm_in(
        "twin-ns",
        &["install", "twin", &chart(), "--create-namespace"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        settle(&rig, true)[0].1,
        Ok(Outcome::Kept(vec![
            "release twin-ns/twin installs chart alpaka-test-chart too".into()
        ]))
    );
    let (code, _, err) = rig.helm_in("twin-ns", &["uninstall", "twin", "--wait"]);
    assert_eq!(code, 0, "{err}");

    // A release of another chart uses its kind.
    let dir = tempfile::tempdir().unwrap();
    let user = gadget_user_chart(dir.path());
    let (code, _, err) = rig.helm_in("users", &["install", "user", &user]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        settle(&rig, true)[0].1,
        Ok(Outcome::Kept(vec![
            "release users/user uses it (Gadget g2)".into(),
            "Gadget resource remains: users/g2".into(),
        ]))
    );
    let (code, _, err) = rig.helm_in("users", &["uninstall", "user", "--wait"]);
    assert_eq!(code, 0, "{err}");

    // Nothing uses it: listed without the flag, deleted with it.
    let settled = settle(&rig, false);
    assert_eq!(settled[0].1, Ok(Outcome::Left));
    assert_eq!(settled[1].1, Ok(Outcome::Gone));
    let s = rig.rt.block_on(leftovers::settle(&helm, found, false));
    assert!(
        s[0].line(&found.access)
            .contains(&format!("delete customresourcedefinition {GADGETS}`")),
        "{}",
        s[0].line(&found.access)
    );
    assert_eq!(settle(&rig, true)[0].1, Ok(Outcome::Deleted));
    assert!(rig.cp.get(&["crd", GADGETS]).is_none());
    assert_eq!(settle(&rig, true)[0].1, Ok(Outcome::Gone));
}

/// The CRD `name` holds a server-side apply by alpaka's field manager.
fn assert_applied_by_alpaka(cp: &ControlPlane, name: &str) {
    let crd = cp
        .get(&["customresourcedefinition", name, "--show-managed-fields"])
        .unwrap();
    assert!(
        crd["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["manager"] == "alpaka" && m["operation"] == "Apply"),
        "{crd}"
    );
}

/// Issue 25: the chart comes from the profile's mirror, a local chart repository (`helm
/// package` + `helm repo index`, served on loopback) that wants credentials: alpaka's mirror
/// mapping names the chart in it, and the driver hands helm the credentials from
/// `ALPAKA_MIRROR_CHARTS_USERNAME`/`_PASSWORD` for that repository only.
#[test]
fn installs_a_chart_from_a_local_repository_given_as_the_mirror() {
    let mut rig = Rig::start();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/charts");
    let dir = chart_repository(&rig.helm, &[chart()], &url);
    let seen = serve_charts(l, dir.path().to_path_buf());
    let mirror = alpaka::model::Mirror {
        registry: "registry.example.com/mirror".into(),
        charts: url.clone(),
        image_pull_secret: None,
    };
    const PIN: alpaka::stack::catalog::ChartPin = alpaka::stack::catalog::ChartPin {
        release: RELEASE,
        chart: "alpaka-test-chart",
        repo: "https://charts.example.com",
        version: "0.1.0",
    };
    let (name, repo) = alpaka::stack::mirror::chart_source(&mirror, &PIN);
    assert_eq!(repo.as_deref(), Some(url.as_str()));
    let desired: Value = serde_json::from_value(serde_json::json!({
        "cluster": {"context": CONTEXT, "kubeconfig": rig.cp.kubeconfig.display().to_string()},
        "release": RELEASE,
        "chart": name,
        "repo": repo,
        "version": "0.1.0",
        "namespace": NS,
        "values": {"data": {"greeting": "from the mirror"}},
    }))
    .unwrap();
    let g = Graph::new(vec![Node::new(ID, "helm.release", desired)]).unwrap();
    // Credentials for this repository only: the driver knows it as the mirror.
    // SAFETY: set before any helm runs; no other test of this binary reads these variables.
    unsafe {
        std::env::set_var("ALPAKA_MIRROR_CHARTS_USERNAME", "mirror");
        std::env::set_var("ALPAKA_MIRROR_CHARTS_PASSWORD", "chart-pw");
    }
    let info: Run = Arc::new(std::sync::RwLock::new(RunInfo {
        profile: PROFILE.into(),
        id: Some("0000000000000000000000000000bbbb".into()),
        lock_holder: Some("0000000000000000000000000000bbbb".into()),
    }));
    let mut drivers = Drivers::new();
    drivers.register(
        "helm.release",
        Arc::new(
            HelmDriver::with_bin(rig.helm.display().to_string())
                .with_run(info)
                .with_mirror_charts(Some(url.clone())),
        ),
    );
    rig.drivers = drivers;
    let p = rig.plan_of(&g, false);
    let r = rig.run(&g, &p);
    assert_done(&r);
    assert_eq!(rig.status(), "deployed");
    assert_eq!(rig.greeting(), "from the mirror");
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.contains(&("/charts/index.yaml".to_owned(), 200)),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("/charts/alpaka-test-chart-0.1.0.tgz".to_owned(), 200)),
        "{seen:?}"
    );
    // The next plan reads the release back as unchanged.
    let p = rig.plan_of(&g, false);
    assert!(!p.has_changes(), "{}", text(&p));
}

/// `helm package` each chart in `charts` into a fresh directory indexed for `url` (helm's own
/// `repo index`), with the real helm.
fn chart_repository(helm: &std::path::Path, charts: &[String], url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let run = |args: &[&str]| {
        let out = Command::new(helm).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "helm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    for c in charts {
        run(&["package", c, "-d", &d]);
    }
    run(&["repo", "index", &d, "--url", url]);
    dir
}

/// The basic credentials [`serve_charts`] wants: `mirror:chart-pw`.
const CHARTS_AUTH: &str = "Basic bWlycm9yOmNoYXJ0LXB3";

/// Serves `root` under `/charts/` on `l` as a chart repository does: files over HTTP (helm
/// `pkg/repo`: index.yaml, then the .tgz it names), 401 with a Basic challenge without
/// [`CHARTS_AUTH`], 404 for what it does not have. Returns the log of (path, status).
fn serve_charts(
    l: std::net::TcpListener,
    root: PathBuf,
) -> Arc<std::sync::Mutex<Vec<(String, u16)>>> {
    use std::io::{BufRead, BufReader, Write};
    let seen = Arc::new(std::sync::Mutex::new(Vec::<(String, u16)>::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let mut authz = String::new();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h
                    .strip_prefix("Authorization:")
                    .or_else(|| h.strip_prefix("authorization:"))
                {
                    authz = v.trim().to_owned();
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let file = path.strip_prefix("/charts/").map(|f| root.join(f));
            let (status, body) = match file {
                _ if authz != CHARTS_AUTH => (401, Vec::new()),
                Some(f) if f.is_file() => (200, std::fs::read(f).unwrap()),
                _ => (404, Vec::new()),
            };
            log.lock().unwrap().push((path, status));
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n",
                body.len(),
                if status == 401 {
                    "WWW-Authenticate: Basic realm=\"charts\"\r\n"
                } else {
                    ""
                }
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    seen
}

/// Issue 25: `alpaka images` reads a chart's images from what the pinned chart renders with
/// alpaka's values (`helm template`, the real helm), so a tag the recorded list does not know is
/// exact: the profile's mirror serves a stand-in kube-prometheus-stack 93.9.0
/// (`integration/charts/kube-prometheus-stack-standin`, in the real chart's shape) and nothing
/// else. Every image it runs is listed with its tag; what it names but does not run (the
/// operator's default base images, Thanos, a disabled Alertmanager) is not; a hook's image says
/// so. The charts the mirror does not have, and whose repositories cannot be reached (a closed
/// proxy), fall back to the recorded list, and the output says why, chart by chart.
#[test]
fn images_reads_each_charts_images_from_what_the_pinned_chart_renders() {
    let helm = controlplane::tools().join("helm");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/charts");
    let standin = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("integration/charts/kube-prometheus-stack-standin")
        .display()
        .to_string();
    let dir = chart_repository(&helm, &[standin], &url);
    let seen = serve_charts(l, dir.path().to_path_buf());
    let ws = tempfile::tempdir().unwrap();
    let root = ws.path();
    support::copy_workspace(root);
    let profile = root.join("profiles/k3d.yaml");
    let mut text = std::fs::read_to_string(&profile).unwrap();
    text.push_str(&format!(
        "mirror:\n  registry: registry.example.com/mirror\n  charts: {url}\n"
    ));
    std::fs::write(&profile, text).unwrap();
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::os::unix::fs::symlink(&helm, root.join("bin/helm")).unwrap();
    let alpaka = |args: &[&str]| {
        let mut c = support::alpaka(root);
        c.args(args)
            .env("ALPAKA_MIRROR_CHARTS_USERNAME", "mirror")
            .env("ALPAKA_MIRROR_CHARTS_PASSWORD", "chart-pw")
            // The charts' own repositories are out of reach, at once (helm honours these).
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("HTTP_PROXY", "http://127.0.0.1:9")
            .env("NO_PROXY", "127.0.0.1");
        support::output(c)
    };
    let (code, out, err) = alpaka(&["images", "--json", "--profile", "k3d"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // What alpaka gives the chart decides what it runs: read from the plan, not assumed.
    let (code, plan, err) = alpaka(&["plan", "--json", "--refresh=false", "--profile", "k3d"]);
    assert_eq!(code, 0, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    let values = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "helm.kube-prometheus-stack")
        .map(|c| c["after"]["values"].clone())
        .unwrap();
    let on = |p: &str| values.pointer(p) == Some(&serde_json::Value::Bool(true));

    let kps: Vec<(String, String, String)> = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["by"] == "helm.kube-prometheus-stack")
        .map(|i| {
            assert_eq!(i["tag_known"], true, "{i}");
            (
                i["source"].as_str().unwrap().to_owned(),
                i["mirror"].as_str().unwrap().to_owned(),
                i["when"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let mut want = vec![
        (
            "quay.io/prometheus-operator/prometheus-operator:v0.0.1-standin",
            "",
        ),
        (
            "quay.io/prometheus-operator/prometheus-config-reloader:v0.0.1-standin",
            "in every Prometheus and Alertmanager pod (the operator's --prometheus-config-reloader)",
        ),
        (
            "ghcr.io/jkroepke/kube-webhook-certgen:v0.0.4-standin",
            "helm hook (pre-install,pre-upgrade)",
        ),
        (
            "registry.k8s.io/kube-state-metrics/kube-state-metrics:v0.0.5-standin",
            "",
        ),
    ];
    if on("/prometheus/enabled") {
        want.push(("quay.io/prometheus/prometheus:v0.0.2-standin", ""));
    }
    if on("/alertmanager/enabled") {
        want.push(("quay.io/prometheus/alertmanager:v0.0.3-standin", ""));
    }
    if on("/nodeExporter/enabled") {
        want.push(("quay.io/prometheus/node-exporter:v0.0.6-standin", ""));
    }
    if on("/grafana/enabled") {
        want.push(("quay.io/kiwigrid/k8s-sidecar:0.0.8-standin", ""));
        want.push(("docker.io/grafana/grafana:0.0.9-standin", ""));
        if on("/grafana/persistence/enabled") {
            want.push(("docker.io/library/busybox:0.0.7-standin", ""));
        }
    }
    let mut got: Vec<(&str, &str)> = kps
        .iter()
        .map(|(s, _, w)| (s.as_str(), w.as_str()))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    // Mapped onto the mirror as the plan maps them.
    for (source, mirror, _) in &kps {
        let path = source.split_once('/').unwrap().1;
        assert_eq!(mirror, &format!("registry.example.com/mirror/{path}"));
    }
    // Named but not run with these values: never listed.
    assert!(!out.contains("thanos"), "{out}");
    assert!(!out.contains("quay.io/prometheus/prometheus\""), "{out}");

    let charts = v["charts"].as_array().unwrap();
    for c in charts {
        if c["release"] == "kube-prometheus-stack" {
            assert_eq!(c["images_from"], "helm template", "{c}");
        } else {
            let from = c["images_from"].as_str().unwrap();
            assert!(
                from.starts_with("alpaka's recorded list (helm template: from the mirror: Error:")
                    && from.contains("; from its repository: Error:"),
                "{c}"
            );
        }
    }
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.contains(&("/charts/kube-prometheus-stack-93.9.0.tgz".to_owned(), 200)),
        "{seen:?}"
    );

    // The text output says where each chart's images came from; --no-render reads none.
    let (code, out, err) = alpaka(&["images", "--profile", "k3d"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("kube-prometheus-stack 93.9.0 (")
            && out.contains("); images from helm template"),
        "{out}"
    );
    let (code, out, err) = alpaka(&["images", "--json", "--no-render", "--profile", "k3d"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["charts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["images_from"] == "alpaka's recorded list")
    );
}
