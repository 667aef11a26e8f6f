//! alpaka's own workloads against the `restricted` Pod Security Standard and a scanner.
//!
//! - On the real control plane (`integration/controlplane/`): a namespace labelled
//!   `pod-security.kubernetes.io/enforce: restricted` (and `warn`), then every object alpaka
//!   applies to its namespace from its own manifests (every shipped profile's stack, and
//!   `alpaka test`'s Jobs and MySQL) applied server-side with the real kubectl: the API server
//!   prints no PodSecurity warning, creates the pods, and keeps every NetworkPolicy. The same
//!   Deployment without its securityContext is shown to draw the warning first.
//! - checkov (PyPI 3.3.x, in `ALPAKA_TEST_PYTHON`'s venv; `integration/test.sh` installs it) on
//!   the same manifests: every finding is in the allow-list `docs/security.md` names, with why.
//!
//! Needs `ALPAKA_TEST_PYTHON` and the real kubectl (`ALPAKA_REAL_TOOLS`); fails, never skips,
//! without them.

use std::path::{Path, PathBuf};
use std::process::Command;

use alpaka::stack::testkit::{RunId, TestKit};
use serde_json::{Value as Json, json};

#[path = "controlplane.rs"]
mod controlplane;

use controlplane::{ControlPlane, Strimzi};

const SHIPPED: &[&str] = &["minikube", "k3d", "k3s", "eks-dev", "eks-prod"];
const NS: &str = "alpaka";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Outputs of other nodes (an IAM role's ARN) are strings once known.
fn known_after_apply(v: &mut Json) {
    match v {
        Json::Object(m) if m.contains_key("$unknown") => *v = json!("known-after-apply"),
        Json::Object(m) => m.values_mut().for_each(known_after_apply),
        Json::Array(a) => a.iter_mut().for_each(known_after_apply),
        _ => {}
    }
}

/// Every manifest alpaka applies to its namespace from its own code (no chart's objects, no
/// Strimzi custom resource: the operator and the charts make those pods): each shipped
/// profile's stack, everything on, and `alpaka test`'s MySQL and kcat Jobs. Deduplicated by
/// kind and name (the last profile's wins).
fn own_manifests() -> Vec<Json> {
    let root = repo();
    let mut out: Vec<Json> = Vec::new();
    let mut push = |m: Json| {
        let key = |m: &Json| (m["kind"].clone(), m["metadata"]["name"].clone());
        out.retain(|o| key(o) != key(&m));
        out.push(m);
    };
    for profile in SHIPPED {
        let loaded = alpaka::config::load(&root, profile).unwrap();
        let mut cfg = loaded.config.clone();
        cfg.loki.enabled = true;
        cfg.tool.enabled = true;
        cfg.init.enabled = true;
        cfg.ksqldb.enabled = true;
        for n in alpaka::stack::build(&loaded.profile_name, &loaded.profile, &cfg).unwrap() {
            if !n.kind.as_str().starts_with("k8s.")
                || ["k8s.secret", "k8s.existing-cluster"].contains(&n.kind.as_str())
            {
                continue;
            }
            let mut m = alpaka::providers::k8s::manifest::body(&n.desired).unwrap();
            known_after_apply(&mut m);
            if m["metadata"]["namespace"] == NS {
                push(m);
            }
        }
        let run = RunId::new("ab12cd34").unwrap();
        let kit = TestKit {
            run: &run,
            ns: NS,
            cfg: &cfg,
            mirror: None,
        };
        for m in kit.mysql("root-pw", "pw") {
            push(m);
        }
        push(kit.roundtrip_job(240));
        push(kit.count_job("count", &kit.person_topic(), 10, 60, 5, 300));
    }
    out
}

fn name(m: &Json) -> String {
    format!(
        "{}/{}",
        m["kind"].as_str().unwrap_or("?"),
        m["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// The pod template of a workload (Deployment, Job), if it is one.
fn pod_spec(m: &mut Json) -> Option<&mut Json> {
    match m["kind"].as_str() {
        Some("Deployment") | Some("Job") => Some(&mut m["spec"]["template"]["spec"]),
        _ => None,
    }
}

#[test]
fn own_workloads_are_admitted_under_enforce_restricted_with_no_warning() {
    let manifests = own_manifests();
    let workloads: Vec<&Json> = manifests
        .iter()
        .filter(|m| ["Deployment", "Job"].contains(&m["kind"].as_str().unwrap_or("")))
        .collect();
    // The tool, ksqlDB, init Job, the test MySQL and two kcat Jobs, at least.
    assert!(
        workloads.len() >= 6,
        "{:?}",
        workloads.iter().map(|m| name(m)).collect::<Vec<_>>()
    );
    let policies: Vec<String> = manifests
        .iter()
        .filter(|m| m["kind"] == "NetworkPolicy")
        .map(|m| m["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        policies.contains(&"alpaka-default-deny-ingress".to_owned()),
        "{policies:?}"
    );

    let cp = ControlPlane::start(Strimzi::V1);
    // The namespace alpaka makes carries `enforce: baseline`; this one is stricter.
    let (code, _, err) = cp.kubectl_stdin(
        &["apply", "-f", "-"],
        &json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NS, "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/warn-version": "latest",
            }}
        })
        .to_string(),
    );
    assert_eq!(code, 0, "{err}");

    let apply = |m: &Json, dry_run: bool| {
        let mut args = vec![
            "apply",
            "--server-side",
            "--field-manager=alpaka-test",
            "-f",
            "-",
        ];
        if dry_run {
            args.push("--dry-run=server");
        }
        cp.kubectl_stdin(&args, &m.to_string())
    };

    // The check can fail: the tool Deployment without its securityContexts draws the API
    // server's PodSecurity warning (a dry run: nothing is created).
    let mut bare = manifests
        .iter()
        .find(|m| m["kind"] == "Deployment" && m["metadata"]["name"] == "alpaka-tool")
        .expect("the tool Deployment")
        .clone();
    let spec = pod_spec(&mut bare).unwrap();
    spec.as_object_mut().unwrap().remove("securityContext");
    spec["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("securityContext");
    let (code, _, err) = apply(&bare, true);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("would violate PodSecurity \"restricted:latest\""),
        "no PodSecurity warning for a pod without securityContext: {err}"
    );

    // Every object of alpaka's own, for real: no warning at all.
    for m in &manifests {
        let (code, out, err) = apply(m, false);
        assert_eq!(code, 0, "{}: {err}", name(m));
        assert!(
            !err.contains("Warning") && !err.contains("PodSecurity"),
            "{}: the API server warned:\n{err}\n{out}",
            name(m)
        );
    }

    // The pods were admitted (enforce refuses a pod at creation: the controllers would report
    // FailedCreate and no pod would exist).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    for w in &workloads {
        let labels = w["spec"]["template"]["metadata"]["labels"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect::<Vec<_>>()
            .join(",");
        loop {
            let pods = cp.get(&["pods", "-n", NS, "-l", &labels]).unwrap();
            if !pods["items"].as_array().unwrap().is_empty() {
                break;
            }
            if std::time::Instant::now() > deadline {
                let events = cp.kubectl(&["get", "events", "-n", NS]);
                panic!("{}: no pod was admitted; events:\n{}", name(w), events.1);
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }

    // Every NetworkPolicy is there as applied.
    let live = cp.get(&["networkpolicies", "-n", NS]).unwrap();
    let mut live_names: Vec<String> = live["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    live_names.sort();
    let mut want = policies.clone();
    want.sort();
    assert_eq!(live_names, want);
}

/// The check ids `docs/security.md` allows, from its "Scanner findings" table.
/// docs/security.md's allowed checkov findings: `CKV_…` for every resource, `CKV_… on
/// <resource>` (checkov's resource id, `Kind.namespace.name`) for that one only.
fn documented_allow_list() -> Vec<(String, Option<String>)> {
    let doc = std::fs::read_to_string(repo().join("docs/security.md")).unwrap();
    doc.lines()
        .filter_map(|l| l.strip_prefix("| CKV"))
        .map(|rest| {
            let cell = format!("CKV{}", rest.split('|').next().unwrap().trim());
            match cell.split_once(" on ") {
                Some((id, resource)) => (id.to_owned(), Some(resource.trim().to_owned())),
                None => (cell, None),
            }
        })
        .collect()
}

fn allowed(list: &[(String, Option<String>)], (id, resource): &(String, String)) -> bool {
    list.iter()
        .any(|(a, r)| a == id && r.as_ref().is_none_or(|r| r == resource))
}

/// checkov's failed checks on the manifests in `dir`: (check id, resource).
fn checkov(dir: &Path) -> (Vec<(String, String)>, usize) {
    let py = std::env::var("ALPAKA_TEST_PYTHON").expect(
        "ALPAKA_TEST_PYTHON must name the test venv's python, with checkov (integration/test.sh)",
    );
    let bin = Path::new(&py).with_file_name("checkov");
    let out = Command::new(&bin)
        .args(["-d"])
        .arg(dir)
        .args([
            "--framework",
            "kubernetes",
            "-o",
            "json",
            "--compact",
            "--skip-download",
        ])
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov's report is not JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let results = &report["results"];
    let failed = results["failed_checks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                c["check_id"].as_str().unwrap().to_owned(),
                c["resource"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let passed = results["passed_checks"].as_array().map_or(0, Vec::len);
    (failed, passed)
}

/// A directory checkov scans: not hidden (tempfile's default `.tmpXXXX` is, and checkov skips
/// hidden directories, silently finding nothing).
fn scan_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("alpaka-checkov-")
        .tempdir()
        .unwrap()
}

fn write_manifests(dir: &Path, manifests: &[Json]) {
    for (i, m) in manifests.iter().enumerate() {
        // JSON is YAML: checkov's Kubernetes runner reads `.yaml` files.
        std::fs::write(
            dir.join(format!("{i:03}.yaml")),
            serde_json::to_string_pretty(m).unwrap(),
        )
        .unwrap();
    }
}

#[test]
fn checkov_finds_only_what_docs_security_md_allows() {
    let allow = documented_allow_list();
    assert!(
        !allow.is_empty() && allow.len() <= 5,
        "docs/security.md should name a handful of allowed findings: {allow:?}"
    );
    let manifests: Vec<Json> = own_manifests()
        .into_iter()
        .filter(|m| ["Deployment", "Job", "NetworkPolicy"].contains(&m["kind"].as_str().unwrap()))
        .collect();

    // The scan can fail: the tool Deployment without securityContexts, resources and probes
    // draws findings the allow-list does not hold.
    let bare_dir = scan_dir();
    let mut bare = manifests
        .iter()
        .find(|m| m["metadata"]["name"] == "alpaka-tool")
        .unwrap()
        .clone();
    let spec = pod_spec(&mut bare).unwrap();
    spec.as_object_mut().unwrap().remove("securityContext");
    for key in [
        "securityContext",
        "resources",
        "readinessProbe",
        "livenessProbe",
    ] {
        spec["containers"][0].as_object_mut().unwrap().remove(key);
    }
    write_manifests(bare_dir.path(), &[bare]);
    let (failed, _) = checkov(bare_dir.path());
    let extra: Vec<_> = failed.iter().filter(|f| !allowed(&allow, f)).collect();
    assert!(
        extra.len() >= 5,
        "checkov should flag a bare Deployment: {failed:?}"
    );

    let dir = scan_dir();
    write_manifests(dir.path(), &manifests);
    let (failed, passed) = checkov(dir.path());
    assert!(passed > 100, "checkov ran only {passed} passing checks");
    let unexpected: Vec<_> = failed.iter().filter(|f| !allowed(&allow, f)).collect();
    assert!(
        unexpected.is_empty(),
        "checkov findings docs/security.md does not allow (fix them, or name them there with \
         the reason they stay): {unexpected:#?}"
    );
    let mut ids: Vec<_> = failed.iter().map(|(id, _)| id.clone()).collect();
    ids.sort();
    ids.dedup();
    eprintln!(
        "checkov: {passed} passed, {} failed ({ids:?}) on {} manifests",
        failed.len(),
        manifests.len()
    );
}
