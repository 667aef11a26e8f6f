//! alpaka's own objects against a real kube-apiserver (`integration/controlplane/`): the real
//! API validates and prunes every custom resource against the Strimzi and prometheus-operator
//! CRDs, owns fields by manager, refuses immutable-field changes, honours finalizers; the real
//! controller-manager, scheduler and KWOK make Deployments Available and Jobs complete. The
//! Strimzi operator cannot run here: KWOK stages stand in for it
//! (`integration/controlplane/strimzi-standin.yaml`). helm is the recording fake here (releases
//! are `integration/real_helm.rs`'s subject), so no chart object appears.
//!
//! Each shipped profile's config runs on an existing-cluster (`k3s`) profile whose kubeconfig
//! is the control plane's: same config, namespace and overrides, the KWOK nodes' labels.

use std::path::Path;

#[path = "controlplane.rs"]
mod controlplane;
#[path = "support.rs"]
mod support;

use controlplane::{CONTEXT, ControlPlane, Strimzi};

/// Who this file's kubeconfig (the control plane's admin) is in the audit log.
const ADMIN_USER: &str = "alpaka-test-admin";

const SHIPPED: &[&str] = &["minikube", "k3d", "k3s", "eks-dev", "eks-prod"];

/// An absolute python for the fakes (alpaka runs with only the fakes on PATH).
fn python() -> String {
    let py = std::env::var("ALPAKA_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(py)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is needed by the fakes");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A workspace whose `profiles/real-<name>.yaml` run each shipped profile's config on `cp`.
fn workspace(cp: &ControlPlane) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    support::copy_workspace(dir.path());
    support::fake_tools(dir.path(), &python(), &["helm"]);
    for name in SHIPPED {
        let text =
            std::fs::read_to_string(support::repo().join(format!("profiles/{name}.yaml"))).unwrap();
        let shipped: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let mut p = serde_json::json!({
            "description": format!("{name}'s config on the real control plane"),
            "distribution": "k3s",
            "config": shipped["config"],
            "namespace": shipped["namespace"],
            "k3s": {
                "kubeconfig": cp.kubeconfig.display().to_string(),
                "context": CONTEXT,
                "nodeLabels": ControlPlane::node_labels(),
            },
        });
        if let Some(o) = shipped.get("overrides") {
            let mut o = o.clone();
            // IRSA identities need EKS (its OIDC provider); on k3s they are refused, so the
            // EKS profiles' Connect types run here without one.
            if let Some(connects) = o
                .pointer_mut("/kafka_connect/connects")
                .and_then(|c| c.as_array_mut())
            {
                for c in connects {
                    if let Some(c) = c.as_object_mut() {
                        c.remove("awsIdentity");
                    }
                }
            }
            p["overrides"] = o;
        }
        std::fs::write(
            dir.path().join(format!("profiles/real-{name}.yaml")),
            serde_json::to_string_pretty(&p).unwrap(),
        )
        .unwrap();
    }
    dir
}

fn run(root: &Path, profile: &str, args: &[&str]) -> (i32, String, String) {
    let mut c = support::alpaka(root);
    c.args(args).args(["--profile", profile]);
    support::output(c)
}

fn ok(r: (i32, String, String)) -> String {
    assert_eq!(r.0, 0, "--- stdout\n{}\n--- stderr\n{}", r.1, r.2);
    format!("{}\n{}", r.1, r.2)
}

/// `plan --detailed-exitcode` says nothing changes.
fn assert_clean(root: &Path, profile: &str) {
    let (code, out, err) = run(root, profile, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        code, 0,
        "{profile}: a second plan is not clean:\n{out}\n{err}"
    );
    assert!(out.contains("No changes"), "{out}");
}

/// The existing-cluster profile the single-scenario tests use.
const PROFILE: &str = "real-k3s";

/// A control plane with `profile` applied to it.
fn applied(profile: &str) -> (ControlPlane, tempfile::TempDir) {
    let cp = ControlPlane::start(Strimzi::V1);
    let ws = workspace(&cp);
    ok(run(ws.path(), profile, &["apply", "--auto-approve"]));
    (cp, ws)
}

/// The one Kafka alpaka made, and its name.
fn the_kafka(cp: &ControlPlane) -> (serde_json::Value, String) {
    let kafka = cp.get(&["kafka", "-n", "alpaka"]).unwrap()["items"][0].clone();
    let name = kafka["metadata"]["name"].as_str().unwrap().to_owned();
    (kafka, name)
}

#[test]
fn every_shipped_profiles_objects_apply_replan_clean_and_destroy_on_a_real_api_server() {
    let cp = ControlPlane::start(Strimzi::V1);
    let ws = workspace(&cp);
    for name in SHIPPED {
        let profile = format!("real-{name}");
        let printed = ok(run(ws.path(), &profile, &["apply", "--auto-approve"]));
        assert!(printed.contains("Apply complete!"), "{printed}");
        assert_clean(ws.path(), &profile);
        // What the real API holds is what alpaka applied: the Kafka (validated and pruned
        // against the 1.2.0 CRD) is there with the stand-in's Ready.
        let kafkas = cp.get(&["kafka", "-n", "alpaka"]).unwrap();
        let items = kafkas["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{name}: {kafkas}");
        assert_eq!(items[0]["status"]["conditions"][0]["type"], "Ready");

        let printed = ok(run(ws.path(), &profile, &["destroy", "--auto-approve"]));
        assert!(printed.contains("Destroy complete!"), "{printed}");
        // The namespace went last and is really gone (the namespace controller emptied it).
        assert!(
            cp.get(&["namespace", "alpaka"]).is_none(),
            "{name}: namespace left"
        );
    }
}

#[test]
fn another_managers_edit_is_drift_on_alpakas_fields_only_and_apply_keeps_theirs() {
    let (cp, ws) = applied(PROFILE);
    let profile = PROFILE;
    let (kafka, name) = the_kafka(&cp);
    let partitions = kafka["spec"]["kafka"]["config"]["num.partitions"].clone();
    assert!(partitions.is_i64(), "alpaka sets num.partitions: {kafka}");
    // Another field manager takes over one of alpaka's fields and adds one of its own.
    let patch = serde_json::json!({
        "apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka",
        "metadata": {"name": name, "namespace": "alpaka", "labels": {"team": "someone-else"}},
        "spec": {"kafka": {"config": {"num.partitions": partitions.as_i64().unwrap() + 7}}},
    });
    let (code, _, err) = cp.kubectl_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "intruder",
            "--force-conflicts",
            "-f",
            "-",
        ],
        &patch.to_string(),
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(ws.path(), profile, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(out.contains("changed outside alpaka"), "{out}");
    assert!(out.contains("num.partitions"), "{out}");
    assert!(
        !out.contains("someone-else"),
        "another manager's field is drift:\n{out}"
    );
    assert!(out.contains("1 to change"), "{out}");

    ok(run(ws.path(), profile, &["apply", "--auto-approve"]));
    assert_clean(ws.path(), profile);
    let live = cp
        .get(&["kafka", &name, "-n", "alpaka", "--show-managed-fields"])
        .unwrap();
    assert_eq!(live["metadata"]["labels"]["team"], "someone-else");
    assert_eq!(
        live["spec"]["kafka"]["config"]["num.partitions"],
        partitions
    );
    // And the API records alpaka as the owner of it again.
    let managers: Vec<&str> = live["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(
        managers.contains(&"alpaka") && managers.contains(&"intruder"),
        "{managers:?}"
    );
}

#[test]
fn an_immutable_field_changed_underneath_plans_a_replacement_and_apply_succeeds() {
    let (cp, ws) = applied(PROFILE);
    let profile = PROFILE;
    let rbs = cp.get(&["rolebinding", "-n", "alpaka"]).unwrap();
    let rb = rbs["items"]
        .as_array()
        .unwrap()
        .first()
        .cloned()
        .expect("the k3s profile makes a RoleBinding");
    let rb_name = rb["metadata"]["name"].as_str().unwrap().to_owned();
    // Someone re-creates the RoleBinding with another roleRef (immutable: the API refuses to
    // update it, so only delete + create can put alpaka's back).
    let mut other = serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": rb_name, "namespace": "alpaka"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": rb["subjects"],
    });
    let (code, _, err) = cp.kubectl(&["delete", "rolebinding", &rb_name, "-n", "alpaka"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cp.kubectl_stdin(&["create", "-f", "-"], &other.to_string());
    assert_eq!(code, 0, "{err}");
    // The API really refuses the in-place change alpaka would otherwise make.
    other["roleRef"] = rb["roleRef"].clone();
    let (code, _, err) = cp.kubectl_stdin(
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        &other.to_string(),
    );
    assert_ne!(code, 0, "the API accepted a roleRef change");
    assert!(
        err.contains("immutable") || err.contains("cannot change roleRef"),
        "{err}"
    );

    let (code, out, err) = run(ws.path(), profile, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(out.contains("must be replaced"), "{out}");
    assert!(out.contains("roleRef"), "{out}");
    let printed = ok(run(ws.path(), profile, &["apply", "--auto-approve"]));
    assert!(!printed.contains("422"), "{printed}");
    assert_clean(ws.path(), profile);
    let live = cp.get(&["rolebinding", &rb_name, "-n", "alpaka"]).unwrap();
    assert_eq!(live["roleRef"], rb["roleRef"]);
}

/// Sets the Kafka's finalizers as another controller would (a JSON list, or `null`).
fn set_finalizers(cp: &ControlPlane, name: &str, finalizers: &str) {
    let patch = format!(r#"{{"metadata":{{"finalizers":{finalizers}}}}}"#);
    let (code, _, err) = cp.kubectl(&[
        "patch",
        "kafka",
        name,
        "-n",
        "alpaka",
        "--type=merge",
        "-p",
        &patch,
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn destroy_waits_for_a_finalizer_with_progress_and_the_namespace_goes_last() {
    let (cp, ws) = applied(PROFILE);
    let profile = PROFILE;
    let (_, name) = the_kafka(&cp);
    // A finalizer another controller holds (as Strimzi's do on KafkaTopics).
    set_finalizers(&cp, &name, r#"["example.com/hold"]"#);
    let root = ws.path().to_owned();
    let destroy = std::thread::spawn(move || run(&root, profile, &["destroy", "--auto-approve"]));
    // Held: the Kafka stays, marked for deletion, and so does the namespace.
    let mut held = false;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        if let Some(k) = cp.get(&["kafka", &name, "-n", "alpaka"])
            && k["metadata"]["deletionTimestamp"].is_string()
        {
            held = true;
            break;
        }
    }
    assert!(held, "the Kafka was never marked for deletion");
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(
        !destroy.is_finished(),
        "destroy did not wait for the finalizer"
    );
    let ns = cp.get(&["namespace", "alpaka"]).unwrap();
    assert!(
        ns["metadata"]["deletionTimestamp"].is_null(),
        "the namespace was deleted before what is in it"
    );
    set_finalizers(&cp, &name, "null");
    let (code, out, err) = destroy.join().unwrap();
    assert_eq!(code, 0, "{out}\n{err}");
    let printed = format!("{out}\n{err}");
    assert!(
        printed.contains("to be gone"),
        "no progress while waiting:\n{printed}"
    );
    assert!(cp.get(&["namespace", "alpaka"]).is_none());
}

#[test]
fn legacy_mode_resources_validate_against_the_0_45_crds() {
    let cp = ControlPlane::start(Strimzi::V1beta2);
    let ws = workspace(&cp);
    // ZooKeeper mode: the 0.45 operator's v1beta2 resources.
    let p = ws.path().join("profiles/real-k3s.yaml");
    let mut profile: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    profile["overrides"]["kafka"]["mode"] = "zookeeper".into();
    profile["overrides"]["kafka"]["version"] = "3.9.0".into();
    std::fs::write(&p, profile.to_string()).unwrap();
    let printed = ok(run(ws.path(), "real-k3s", &["apply", "--auto-approve"]));
    assert!(printed.contains("Apply complete!"), "{printed}");
    assert_clean(ws.path(), "real-k3s");
    let k = cp
        .get(&["kafkas.v1beta2.kafka.strimzi.io", "-n", "alpaka"])
        .unwrap();
    assert_eq!(k["items"].as_array().unwrap().len(), 1);
    ok(run(ws.path(), "real-k3s", &["destroy", "--auto-approve"]));
}

/// `alpaka test`'s own objects (MySQL, its Secret and Service, the JDBC source and S3 sink
/// connectors, the KafkaTopic, the kcat Jobs) pass the real API server's validation — the
/// Kubernetes schemas and Strimzi 1.2.0's CRD schemas — as a server-side dry run, as the shipped
/// stack's objects do when they are applied.
#[test]
fn alpaka_tests_own_manifests_pass_a_server_side_dry_run() {
    use alpaka::stack::testkit::{RunId, TestKit};
    let cp = ControlPlane::start(Strimzi::V1);
    let ws = workspace(&cp);
    let loaded = alpaka::config::load(ws.path(), PROFILE).unwrap();
    let run = RunId::new("ab12cd34").unwrap();
    let kit = TestKit {
        run: &run,
        ns: "alpaka",
        cfg: &loaded.config,
        mirror: None,
    };
    let mut objects = kit.mysql("root-pw", "pw");
    objects.extend(kit.jdbc_connector("srccon"));
    objects.push(kit.s3_connector("sinkcon", "alpaka-test-bucket", "eu-west-1", "alpaka-test"));
    objects.push(kit.topic(&kit.roundtrip_topic()));
    objects.push(kit.roundtrip_job(240));
    objects.push(kit.count_job("count", &kit.person_topic(), 10_000, 500, 10, 600));
    let kinds: std::collections::BTreeSet<String> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or("").to_owned())
        .collect();
    for k in [
        "Deployment",
        "Service",
        "Secret",
        "KafkaConnector",
        "KafkaTopic",
        "Job",
    ] {
        assert!(kinds.contains(k), "no {k} among {kinds:?}");
    }
    let (code, _, err) = cp.kubectl(&["create", "namespace", "alpaka"]);
    assert_eq!(code, 0, "{err}");
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
    let (code, out, err) = cp.kubectl_stdin(
        &["apply", "--server-side", "--dry-run=server", "-f", "-"],
        &list.to_string(),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("(server dry run)"))
            .count(),
        objects.len(),
        "{out}"
    );
    // The dry run can say no: a field Strimzi's KafkaConnector schema does not have.
    let mut bad = kit
        .jdbc_connector("srccon")
        .into_iter()
        .find(|o| o["kind"] == "KafkaConnector")
        .unwrap();
    bad["spec"]["taskMax"] = serde_json::json!(1);
    let (code, out, err) = cp.kubectl_stdin(
        &["apply", "--server-side", "--dry-run=server", "-f", "-"],
        &bad.to_string(),
    );
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("taskMax"), "{err}");
}

#[test]
fn a_failed_job_reports_the_reason_the_job_controller_gives() {
    let cp = ControlPlane::start(Strimzi::V1);
    let ws = workspace(&cp);
    let cfg = ws.path().join("configs/default.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("init:\n  enabled: false"));
    // KWOK_FAIL: the test stage makes this Job's pod exit 1 (integration/controlplane/test-stages.yaml).
    std::fs::write(
        &cfg,
        text.replacen(
            "init:\n  enabled: false",
            "init:\n  enabled: true\n  commands:\n  - echo KWOK_FAIL",
            1,
        ),
    )
    .unwrap();
    let (code, out, err) = run(ws.path(), PROFILE, &["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("k8s.job.init"), "{out}");
    // The real Job controller's reason, not a stand-in's.
    assert!(out.contains("BackoffLimitExceeded"), "{out}");
    // The failed Job is removed and not recorded: the next apply runs it again.
    let jobs = cp.get(&["jobs", "-n", "alpaka"]).unwrap();
    assert_eq!(jobs["items"].as_array().unwrap().len(), 0, "{jobs}");
}

/// Deletes `kind/name` in the platform namespace and creates `replacement` in its place, as
/// someone working around alpaka might.
fn recreate(cp: &ControlPlane, kind: &str, name: &str, replacement: &serde_json::Value) {
    let (code, _, err) = cp.kubectl(&["delete", kind, name, "-n", "alpaka", "--wait=true"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cp.kubectl_stdin(&["create", "-f", "-"], &replacement.to_string());
    assert_eq!(code, 0, "{err}");
}

/// What the API answers to alpaka's version of an object applied in place over `live`'s.
fn in_place(cp: &ControlPlane, object: &serde_json::Value) -> (i32, String) {
    let (code, _, err) = cp.kubectl_stdin(
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager",
            "alpaka",
            "--dry-run=server",
            "-f",
            "-",
        ],
        &object.to_string(),
    );
    (code, err)
}

#[test]
fn immutable_fields_of_a_deployment_and_a_job_plan_replacements_and_a_service_keeps_its_cluster_ip()
{
    let cp = ControlPlane::start(Strimzi::V1);
    let ws = workspace(&cp);
    let cfg = ws.path().join("configs/default.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replacen(
            "init:\n  enabled: false",
            "init:\n  enabled: true\n  commands:\n  - echo ours",
            1,
        ),
    )
    .unwrap();
    ok(run(ws.path(), PROFILE, &["apply", "--auto-approve"]));

    // A Deployment re-created with another selector (immutable once created).
    let tool = cp
        .get(&["deployment", "alpaka-tool", "-n", "alpaka"])
        .unwrap();
    let theirs = serde_json::json!({"app": "someone-elses-tool"});
    let mut other = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "alpaka-tool", "namespace": "alpaka",
                     "labels": tool["metadata"]["labels"]},
        "spec": {"replicas": 1, "selector": {"matchLabels": theirs},
                 "template": {"metadata": {"labels": theirs},
                              "spec": tool["spec"]["template"]["spec"]}},
    });
    recreate(&cp, "deployment", "alpaka-tool", &other);
    other["spec"]["selector"] = tool["spec"]["selector"].clone();
    other["spec"]["template"]["metadata"] = tool["spec"]["template"]["metadata"].clone();
    let (code, err) = in_place(&cp, &other);
    assert_ne!(code, 0, "the API accepted a selector change");
    assert!(err.contains("field is immutable"), "{err}");

    // The init Job re-created under its name with another command (a Job's template is
    // immutable).
    let jobs = cp.get(&["jobs", "-n", "alpaka"]).unwrap();
    let job = jobs["items"][0].clone();
    let job_name = job["metadata"]["name"].as_str().unwrap().to_owned();
    let mut pod = job["spec"]["template"]["spec"].clone();
    pod["containers"][0]["command"] = serde_json::json!(["/bin/sh", "-c", "echo theirs"]);
    let ours = |labels: &serde_json::Value| -> serde_json::Value {
        labels
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with("app.kubernetes.io/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let other_job = serde_json::json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": job_name, "namespace": "alpaka",
                     "labels": ours(&job["metadata"]["labels"])},
        "spec": {"backoffLimit": 0, "template": {
            "metadata": {"labels": ours(&job["spec"]["template"]["metadata"]["labels"])},
            "spec": pod}},
    });
    let (code, _, err) = cp.kubectl(&[
        "delete",
        "job",
        &job_name,
        "-n",
        "alpaka",
        "--cascade=foreground",
        "--wait=true",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cp.kubectl_stdin(&["create", "-f", "-"], &other_job.to_string());
    assert_eq!(code, 0, "{err}");

    // The ksqlDB Service re-created headless: clusterIP is immutable, but it is not a field
    // alpaka sets, so it is neither drift nor something apply could be refused over.
    let svc = cp.get(&["service", "ksqldb", "-n", "alpaka"]).unwrap();
    let headless = serde_json::json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "ksqldb", "namespace": "alpaka", "labels": svc["metadata"]["labels"]},
        "spec": {"clusterIP": "None", "selector": svc["spec"]["selector"],
                 "ports": svc["spec"]["ports"]},
    });
    recreate(&cp, "service", "ksqldb", &headless);

    let (code, out, err) = run(ws.path(), PROFILE, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}\n{err}");
    let section = |id: &str| -> String {
        let start = out
            .find(&format!("# {id} "))
            .unwrap_or_else(|| panic!("{id} not in the plan:\n{out}"));
        out[start..]
            .split("\n\n")
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let deployment = section("k8s.deployment.tool");
    assert!(deployment.contains("must be replaced"), "{deployment}");
    assert!(deployment.contains("spec.selector"), "{deployment}");
    let job_plan = section("k8s.job.init");
    assert!(job_plan.contains("must be replaced"), "{job_plan}");
    assert!(job_plan.contains("echo ours"), "{job_plan}");
    assert!(!out.contains("k8s.service.ksqldb"), "{out}");
    assert!(out.contains("2 to add, 0 to change, 2 to destroy"), "{out}");

    let printed = ok(run(ws.path(), PROFILE, &["apply", "--auto-approve"]));
    assert!(!printed.contains("422"), "{printed}");
    assert_clean(ws.path(), PROFILE);
    let live = cp
        .get(&["deployment", "alpaka-tool", "-n", "alpaka"])
        .unwrap();
    assert_eq!(live["spec"]["selector"], tool["spec"]["selector"]);
    assert_eq!(live["status"]["availableReplicas"], 1, "{live}");
    let live = cp.get(&["job", &job_name, "-n", "alpaka"]).unwrap();
    assert!(
        live["spec"]["template"]["spec"]["containers"][0]["command"]
            .to_string()
            .contains("echo ours"),
        "{live}"
    );
    assert_eq!(live["status"]["succeeded"], 1, "{live}");
    let live = cp.get(&["service", "ksqldb", "-n", "alpaka"]).unwrap();
    assert_eq!(live["spec"]["clusterIP"], "None");
}

/// `obj` as a server-side apply body: what the API adds (status, uid, managed fields…) removed.
fn as_applied(mut obj: serde_json::Value) -> serde_json::Value {
    let o = obj.as_object_mut().unwrap();
    o.remove("status");
    let meta = o["metadata"].as_object_mut().unwrap();
    meta.retain(|k, _| matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations"));
    obj
}

/// A deployment from before authenticated Kafka (issue 21): one plain listener, no
/// authorization, Connect anonymous on 9092. Moving it is one apply in which no client loses
/// its listener: the Kafka gains the TLS listener and keeps the plain one (its anonymous
/// clients super users meanwhile: the real API validates that against the 1.2.0 CRD), the
/// clients move, and only then the plain listener goes.
#[test]
fn a_plain_listener_deployment_moves_to_tls_in_one_apply_with_no_gap_for_its_clients() {
    let (cp, ws) = applied(PROFILE);
    let (kafka, kafka_name) = the_kafka(&cp);
    let connect = cp.get(&["kafkaconnect", "-n", "alpaka"]).unwrap()["items"][0].clone();
    let connect_name = connect["metadata"]["name"].as_str().unwrap().to_owned();
    let bootstrap = connect["spec"]["bootstrapServers"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(bootstrap.ends_with(":9093"), "{bootstrap}");

    // What the previous alpaka applied, written as alpaka (its field manager).
    let mut old_kafka = as_applied(kafka);
    old_kafka["spec"]["kafka"]["listeners"] = serde_json::json!([
        {"name": "plain", "port": 9092, "type": "internal", "tls": false}
    ]);
    old_kafka["spec"]["kafka"]
        .as_object_mut()
        .unwrap()
        .remove("authorization");
    let mut old_connect = as_applied(connect);
    old_connect["spec"]["bootstrapServers"] = bootstrap.replace(":9093", ":9092").into();
    for k in ["authentication", "tls"] {
        old_connect["spec"].as_object_mut().unwrap().remove(k);
    }
    for old in [&old_kafka, &old_connect] {
        let (code, _, err) = cp.kubectl_stdin(
            &[
                "apply",
                "--server-side",
                "--field-manager",
                "alpaka",
                "--force-conflicts",
                "-f",
                "-",
            ],
            &old.to_string(),
        );
        assert_eq!(code, 0, "{err}");
    }
    let live = cp.get(&["kafka", &kafka_name, "-n", "alpaka"]).unwrap();
    assert_eq!(
        live["spec"]["kafka"]["listeners"].as_array().unwrap().len(),
        1
    );

    let (code, out, err) = run(ws.path(), PROFILE, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("in two steps, so no client is cut off: listener `plain` (9092) stays"),
        "{out}"
    );
    assert!(
        out.contains("unauthenticated clients keep the access they had"),
        "{out}"
    );

    cp.writes(ADMIN_USER); // only this apply's writes from here
    ok(run(ws.path(), PROFILE, &["apply", "--auto-approve"]));
    let order: Vec<String> = cp
        .writes(ADMIN_USER)
        .into_iter()
        .filter(|w| w.verb == "patch" && w.manager == "alpaka")
        .filter(|w| matches!(w.resource.as_str(), "kafkas" | "kafkaconnects"))
        .map(|w| format!("{} {}", w.resource, w.name))
        .collect();
    assert_eq!(
        order,
        [
            format!("kafkas {kafka_name}"),
            format!("kafkaconnects {connect_name}"),
            format!("kafkas {kafka_name}"),
        ],
        "the Kafka's bridge, the client's move, then the Kafka as configured"
    );
    let live = cp.get(&["kafka", &kafka_name, "-n", "alpaka"]).unwrap();
    let names: Vec<&str> = live["spec"]["kafka"]["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(names, ["tls"]);
    let supers = live["spec"]["kafka"]["authorization"]["superUsers"].to_string();
    assert!(!supers.contains("ANONYMOUS"), "{supers}");
    assert_clean(ws.path(), PROFILE);
}

/// A KafkaTopic as a user makes one (or `alpaka test --keep` leaves one): not in alpaka's state.
fn users_topic(cp: &ControlPlane, name: &str, cluster: Option<&str>, finalizers: &[&str]) {
    let mut topic = serde_json::json!({
        "apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaTopic",
        "metadata": {"name": name, "namespace": "alpaka", "finalizers": finalizers},
        "spec": {"partitions": 1, "replicas": 1},
    });
    if let Some(c) = cluster {
        topic["metadata"]["labels"] = serde_json::json!({"strimzi.io/cluster": c});
    }
    let (code, _, err) = cp.kubectl_stdin(&["create", "-f", "-"], &topic.to_string());
    assert_eq!(code, 0, "{err}");
}

/// Issue 22 item 3: the topic operator's finalizer is removed because alpaka deletes the topics
/// of a Kafka while that Kafka (and so its topic operator) still exists.
#[test]
fn destroy_deletes_a_users_kafkatopic_before_its_kafka_and_finishes_in_under_a_minute() {
    let (cp, ws) = applied(PROFILE);
    let (_, kafka) = the_kafka(&cp);
    users_topic(&cp, "users-topic", Some(&kafka), &[]);
    // The stand-in topic operator reconciles it and puts its finalizer on it.
    let mut finalized = false;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let t = cp
            .get(&["kafkatopic", "users-topic", "-n", "alpaka"])
            .unwrap();
        if t["metadata"]["finalizers"]
            .to_string()
            .contains("strimzi.io/topic-operator")
        {
            finalized = true;
            break;
        }
    }
    assert!(
        finalized,
        "the stand-in topic operator never finalized the topic"
    );
    cp.writes(ADMIN_USER);
    let started = std::time::Instant::now();
    let printed = ok(run(ws.path(), PROFILE, &["destroy", "--auto-approve"]));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "destroy took {:?}",
        started.elapsed()
    );
    assert!(printed.contains("Destroy complete!"), "{printed}");
    assert!(cp.get(&["namespace", "alpaka"]).is_none());
    let deletes: Vec<String> = cp
        .writes(ADMIN_USER)
        .into_iter()
        .filter(|w| w.verb == "delete")
        .map(|w| format!("{} {}", w.resource, w.name))
        .collect();
    let at = |what: &str| {
        deletes
            .iter()
            .position(|d| d == what)
            .unwrap_or_else(|| panic!("no delete of {what}: {deletes:?}"))
    };
    assert!(
        at("kafkatopics users-topic") < at(&format!("kafkas {kafka}")),
        "the topic must go while its Kafka runs its topic operator: {deletes:?}"
    );
    assert!(
        at(&format!("kafkas {kafka}")) < at("namespaces alpaka"),
        "{deletes:?}"
    );
}

/// Issue 22 item 3: a finalizer no running controller removes (a topic no topic operator
/// manages) stops destroy within its bound, naming the object, the finalizer and the command;
/// `--remove-finalizers` then finishes.
#[test]
fn destroy_names_a_finalizer_nobody_removes_and_remove_finalizers_finishes() {
    let (cp, ws) = applied(PROFILE);
    users_topic(&cp, "stray-topic", None, &["strimzi.io/topic-operator"]);
    let started = std::time::Instant::now();
    let (code, out, err) = run(
        ws.path(),
        PROFILE,
        &["destroy", "--auto-approve", "--finalizer-timeout", "5s"],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "destroy took {:?} to fail",
        started.elapsed()
    );
    let printed = format!("{out}\n{err}");
    assert!(
        printed.contains("KafkaTopic alpaka/stray-topic: strimzi.io/topic-operator"),
        "{printed}"
    );
    assert!(
        printed.contains(
            "patch kafkatopics.kafka.strimzi.io stray-topic --type=merge -p '{\"metadata\":{\"finalizers\":null}}'"
        ),
        "{printed}"
    );
    assert!(printed.contains("--remove-finalizers"), "{printed}");
    let printed = ok(run(
        ws.path(),
        PROFILE,
        &[
            "destroy",
            "--auto-approve",
            "--remove-finalizers",
            "--finalizer-timeout",
            "5s",
        ],
    ));
    assert!(printed.contains("Destroy complete!"), "{printed}");
    assert!(cp.get(&["namespace", "alpaka"]).is_none());
}

/// Issue 22 item 4: on the existing-cluster profile a plain destroy keeps Kafka's volume: its
/// PV gets reclaim policy `Retain` before the claim goes, and the destroy plan lists it with how
/// to delete it later. The claim is labelled as Strimzi labels a node pool's claims; the PV is
/// bound to it statically (the real controller-manager's PV controller binds them).
#[test]
fn a_plain_destroy_on_an_existing_cluster_keeps_kafkas_volume_with_reclaim_policy_retain() {
    let (cp, ws) = applied(PROFILE);
    let (_, kafka) = the_kafka(&cp);
    let claim = format!("data-0-{kafka}-broker-0");
    let pv = serde_json::json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "kafka-data-0"},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                 "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "local-path",
                 "hostPath": {"path": "/var/lib/kafka-data-0"},
                 "claimRef": {"namespace": "alpaka", "name": claim}},
    });
    let pvc = serde_json::json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": claim, "namespace": "alpaka",
                     "labels": {"strimzi.io/cluster": kafka, "strimzi.io/kind": "Kafka",
                                "strimzi.io/pool-name": "broker"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "local-path",
                 "volumeName": "kafka-data-0", "resources": {"requests": {"storage": "1Gi"}}},
    });
    for o in [&pv, &pvc] {
        let (code, _, err) = cp.kubectl_stdin(&["create", "-f", "-"], &o.to_string());
        assert_eq!(code, 0, "{err}");
    }
    let printed = ok(run(ws.path(), PROFILE, &["destroy", "--auto-approve"]));
    assert!(
        printed.contains("Kafka's volumes will be KEPT"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "kafka-data-0 (1Gi, class local-path, claim alpaka/{claim}, reclaim policy now Delete, data in host path /var/lib/kafka-data-0)"
        )),
        "{printed}"
    );
    assert!(printed.contains("delete pv NAME"), "{printed}");
    assert!(cp.get(&["namespace", "alpaka"]).is_none());
    let live = cp.get(&["pv", "kafka-data-0"]).expect("the PV is kept");
    assert_eq!(
        live["spec"]["persistentVolumeReclaimPolicy"], "Retain",
        "{live}"
    );
}

/// On EKS the AWS Load Balancer Controller's Service webhook (`failurePolicy: Fail`) may not
/// be up when the first Services are created. Here a Service-mutating webhook's backend starts
/// listening 10 s into the apply: the API server refuses alpaka's Service until then
/// (connection refused), alpaka waits for it, and the one apply succeeds with the Service
/// mutated by the webhook.
#[test]
fn a_service_webhook_that_comes_up_10_s_into_apply_is_waited_for() {
    let cp = ControlPlane::start(Strimzi::V1);
    let ws = workspace(&cp);
    let webhook = controlplane::ServiceWebhook::start(&cp, "alpaka", 10);
    let started = std::time::Instant::now();
    cp.writes(ADMIN_USER);
    let out = ok(run(ws.path(), PROFILE, &["apply", "--auto-approve"]));
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(10),
        "the apply cannot have finished before the webhook was up"
    );
    assert!(
        out.contains("an admission webhook is not ready yet"),
        "alpaka said it waited:\n{out}"
    );
    for l in out.lines().filter(|l| l.contains("webhook")).take(1) {
        eprintln!("alpaka said: {l}");
    }
    // The API server refused the Service first (500, the webhook unreachable), then took it.
    let services: Vec<_> = cp
        .writes(ADMIN_USER)
        .into_iter()
        .filter(|w| w.resource == "services" && w.name == "ksqldb")
        .collect();
    assert!(
        services.first().is_some_and(|w| w.code == 500),
        "{services:?}"
    );
    assert!(
        services.last().is_some_and(|w| w.code < 300),
        "{services:?}"
    );
    let svc = cp.get(&["service", "ksqldb", "-n", "alpaka"]).unwrap();
    assert_eq!(
        svc["metadata"]["labels"]["alpaka.test/mutated"], "true",
        "{svc}"
    );
    assert!(webhook.requests().contains("ksqldb"));
}

/// The name of the KafkaConnector whose `topic.prefix` is `prefix`.
fn connector_with_prefix(cp: &ControlPlane, prefix: &str) -> String {
    let list = cp.get(&["kafkaconnectors", "-n", "alpaka"]).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["spec"]["config"]["topic.prefix"] == prefix)
        .and_then(|c| c["metadata"]["name"].as_str())
        .unwrap_or_else(|| panic!("no connector with topic.prefix {prefix}: {list}"))
        .to_owned()
}

/// Strimzi's verdicts reach the user at once: a connector Kafka Connect refuses fails the apply
/// in seconds naming it, the reason and the message (not after the 20-minute readiness
/// timeout); a storage change Strimzi ignores is warned about in the plan and its Warning
/// condition is shown after the apply.
#[test]
fn a_refused_connector_fails_in_seconds_and_strimzi_warnings_are_shown() {
    let (cp, ws) = applied(PROFILE);
    let cfg = ws.path().join("configs/default.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();

    // The stand-in refuses the marked connector once its spec changes (strimzi-standin.yaml).
    let name = connector_with_prefix(&cp, "log1");
    let (code, _, err) = cp.kubectl(&[
        "annotate",
        "kafkaconnector",
        &name,
        "-n",
        "alpaka",
        "alpaka.test/connect-refuses=true",
    ]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        &cfg,
        text.replacen("SELECT * FROM log1", "SELECT * FROM log1 WHERE id > 0", 1),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (code, out, err) = run(ws.path(), PROFILE, &["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "failed only after {:?}",
        started.elapsed()
    );
    let all = format!("{out}\n{err}");
    assert!(
        all.contains(&format!("KafkaConnector alpaka/{name} is not Ready")),
        "{all}"
    );
    assert!(all.contains("ConnectRestException"), "{all}");
    assert!(
        all.contains("Failed to find any class that implements Connector"),
        "{all}"
    );
    // Back to the config Connect takes: converges.
    let (code, _, err) = cp.kubectl(&[
        "annotate",
        "kafkaconnector",
        &name,
        "-n",
        "alpaka",
        "alpaka.test/connect-refuses-",
    ]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(&cfg, &text).unwrap();
    ok(run(ws.path(), PROFILE, &["apply", "--auto-approve"]));

    // A shrink Strimzi refuses: the plan says so, and the pools' Warning is shown after apply.
    assert!(
        text.contains("size: 10Gi"),
        "the default config's storage size moved"
    );
    let pools = cp.get(&["kafkanodepools", "-n", "alpaka"]).unwrap();
    for p in pools["items"].as_array().unwrap() {
        let pool = p["metadata"]["name"].as_str().unwrap();
        let (code, _, err) = cp.kubectl(&[
            "annotate",
            "kafkanodepool",
            pool,
            "-n",
            "alpaka",
            "alpaka.test/storage-change-refused=true",
        ]);
        assert_eq!(code, 0, "{err}");
    }
    std::fs::write(&cfg, text.replacen("size: 10Gi", "size: 5Gi", 1)).unwrap();
    let (code, plan, err) = run(ws.path(), PROFILE, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{plan}\n{err}");
    assert!(
        plan.contains("Strimzi cannot shrink a persistent volume"),
        "{plan}"
    );
    assert!(plan.contains("10Gi → 5Gi"), "{plan}");
    let out = ok(run(ws.path(), PROFILE, &["apply", "--auto-approve"]));
    assert!(out.contains("Warning: kafka.nodepool."), "{out}");
    assert!(
        out.contains("KafkaStorage: The desired Kafka storage configuration"),
        "{out}"
    );
}

/// The k3s profile with Kafka `version` and Connect images built for it (`0.1.0-kafka-<v>`, as
/// images/versions.env's CONNECT_TAG names them).
fn set_kafka_version(ws: &Path, version: &str, connect_built_for: &str) {
    let p = ws.join(format!("profiles/{PROFILE}.yaml"));
    let mut profile: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    profile["overrides"]["kafka"]["version"] = version.into();
    profile["overrides"]["kafka_connect"]["connects"] = serde_json::json!([
        {"type": "srccon", "container": {"tag": format!("0.1.0-kafka-{connect_built_for}")}}
    ]);
    std::fs::write(&p, profile.to_string()).unwrap();
}

/// A Kafka upgrade (issue 22 item 7) in Strimzi's order: the brokers roll to the new version
/// with the old metadata version (the stand-in reports `status.kafkaVersion` only after a
/// simulated 4-second roll), Connect moves to its image for the new Kafka, and only then
/// does alpaka raise `metadataVersion`. A downgrade below the metadata version, and a Connect
/// image built for another Kafka, are refused before anything is written.
#[test]
fn a_kafka_upgrade_raises_the_metadata_version_only_after_the_brokers_run_the_new_version() {
    let cp = ControlPlane::start(Strimzi::V1);
    let ws = workspace(&cp);
    set_kafka_version(ws.path(), "4.2.1", "4.2.1");
    ok(run(ws.path(), PROFILE, &["apply", "--auto-approve"]));
    let (kafka, kafka_name) = the_kafka(&cp);
    assert_eq!(kafka["spec"]["kafka"]["metadataVersion"], "4.2-IV1");
    assert_eq!(kafka["status"]["kafkaVersion"], "4.2.1");
    let connect_name =
        cp.get(&["kafkaconnect", "-n", "alpaka"]).unwrap()["items"][0]["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_owned();

    // Connect images still built for 4.2.1: refused, saying what to build and set.
    set_kafka_version(ws.path(), "4.3.1", "4.2.1");
    let (code, out, err) = run(ws.path(), PROFILE, &["validate"]);
    assert_ne!(code, 0, "{out}\n{err}");
    let said = format!("{out}\n{err}");
    assert!(said.contains("built for Kafka 4.2.1"), "{said}");
    assert!(said.contains("CONNECT_TAG=0.1.0-kafka-4.3.1"), "{said}");

    set_kafka_version(ws.path(), "4.3.1", "4.3.1");
    let (code, out, err) = run(ws.path(), PROFILE, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}\n{err}");
    for step in [
        "upgrades in Strimzi's order: Strimzi operator",
        "Kafka 4.2.1 → 4.3.1 (brokers roll",
        "metadata version 4.2-IV1 → 4.3-IV0",
        "in two steps",
    ] {
        assert!(out.contains(step), "{step}:\n{out}");
    }

    cp.writes(ADMIN_USER); // only this apply's writes from here
    let root = ws.path().to_owned();
    let apply = std::thread::spawn(move || run(&root, PROFILE, &["apply", "--auto-approve"]));
    // What the API server holds while the apply runs: (spec version, spec metadata version,
    // status kafkaVersion).
    let mut seen: Vec<(String, String, String)> = Vec::new();
    while !apply.is_finished() {
        if let Some(k) = cp.get(&["kafka", &kafka_name, "-n", "alpaka"]) {
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
            seen.push((
                s(&k["spec"]["kafka"]["version"]),
                s(&k["spec"]["kafka"]["metadataVersion"]),
                s(&k["status"]["kafkaVersion"]),
            ));
        }
    }
    ok(apply.join().unwrap());
    assert!(
        seen.iter()
            .any(|(v, m, st)| v == "4.3.1" && m == "4.2-IV1" && st == "4.2.1"),
        "the roll (new version, old metadata version, old status) was never seen: {seen:?}"
    );
    for (v, m, st) in &seen {
        assert!(
            m != "4.3-IV0" || st == "4.3.1",
            "metadataVersion raised while status.kafkaVersion was {st} (spec {v}): {seen:?}"
        );
    }
    let order: Vec<String> = cp
        .writes(ADMIN_USER)
        .into_iter()
        .filter(|w| w.verb == "patch" && w.manager == "alpaka")
        .filter(|w| matches!(w.resource.as_str(), "kafkas" | "kafkaconnects"))
        .map(|w| format!("{} {}", w.resource, w.name))
        .collect();
    assert_eq!(
        order,
        [
            format!("kafkas {kafka_name}"),
            format!("kafkaconnects {connect_name}"),
            format!("kafkas {kafka_name}"),
        ],
        "the brokers' roll, Connect for the new Kafka, then the metadata version"
    );
    let (kafka, _) = the_kafka(&cp);
    assert_eq!(kafka["status"]["kafkaVersion"], "4.3.1");
    assert_eq!(kafka["status"]["kafkaMetadataVersion"], "4.3-IV0");
    assert_clean(ws.path(), PROFILE);

    // Back to 4.2.1 would lower the metadata version: refused, nothing written.
    set_kafka_version(ws.path(), "4.2.1", "4.2.1");
    let (code, out, err) = run(ws.path(), PROFILE, &["plan"]);
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(
        err.contains("does not support metadata version downgrades"),
        "{out}\n{err}"
    );
}
