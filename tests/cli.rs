//! The binary's behaviour, as a user meets it: plan output per shipped profile (snapshots),
//! exit codes, saved plans, locks, refusals. Each test runs in a temp copy of the workspace so
//! no state of the developer's leaks in.

use std::path::Path;

use alpaka::state::{Backend, LocalBackend};
use predicates::prelude::*;

mod common;
use common::{alpaka, repo, workspace};

/// A state recording one resource of a kind this build has no driver for, as if an earlier
/// (newer) alpaka had made it.
fn seed_state(root: &Path) {
    let mut state = alpaka::state::State::new("minikube");
    state.record(
        alpaka::engine::ResourceId::new("acme.widget.alpaka"),
        alpaka::state::ResourceState {
            kind: "acme.widget".into(),
            deps: vec![],
            attrs: alpaka::engine::Value::map([("name", alpaka::engine::Value::str("alpaka"))]),
            outputs: alpaka::engine::Value::Null,
        },
    );
    LocalBackend::new(root, "minikube").persist(&state).unwrap();
}

fn shipped_profiles() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo().join("profiles"))
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".yaml")
                .map(str::to_owned)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn plan_output_per_shipped_profile() {
    let ws = workspace();
    let profiles = shipped_profiles();
    assert!(profiles.len() >= 5, "{profiles:?}");
    for p in profiles {
        let mut cmd = alpaka(ws.path());
        cmd.args(["plan", "--profile", &p]);
        if p.starts_with("eks") {
            // On an empty state an EKS plan looks for what an interrupted apply left, which needs
            // AWS; here the plan comes from the configuration alone.
            cmd.arg("--refresh=false");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = format!(
            "--- stdout\n{}--- stderr\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !text.contains("mypass"),
            "a connector password leaked into {p}'s plan"
        );
        insta::assert_snapshot!(format!("plan_{p}"), text);
    }
}

#[test]
fn default_profile_is_minikube_and_plan_writes_nothing() {
    let ws = workspace();
    alpaka(ws.path())
        .arg("plan")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "minikube.cluster.minikube will be created",
        ));
    assert!(
        !ws.path()
            .join(".alpaka")
            .join("minikube.state.json")
            .exists()
    );
}

#[test]
fn detailed_exitcode() {
    let ws = workspace();
    alpaka(ws.path())
        .args(["plan", "--detailed-exitcode"])
        .assert()
        .code(2);
    // nothing recorded, so a destroy plan has nothing to do
    alpaka(ws.path())
        .args(["plan", "--destroy", "--detailed-exitcode"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No changes."));
    alpaka(ws.path())
        .args(["plan", "--profile", "nope", "--detailed-exitcode"])
        .assert()
        .code(1);
}

#[test]
fn json_plan_is_machine_readable_and_redacted() {
    let ws = workspace();
    let out = alpaka(ws.path()).args(["plan", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["profile"], "minikube");
    let changes = v["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["id"] == "connector.srccon.mydb_log.log1" && c["action"] == "create")
    );
    let raw = String::from_utf8_lossy(&out.stdout);
    assert!(!raw.contains("mypass") && raw.contains("(sensitive)"));
}

#[test]
fn targets_pull_in_dependencies_and_unknown_targets_suggest() {
    let ws = workspace();
    let out = alpaka(ws.path())
        .args(["plan", "--json", "--target", "kafka.cluster"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "minikube.cluster.minikube",
            "k8s.namespace.alpaka",
            "helm.strimzi-kafka-operator",
            "kafka.nodepool.controller",
            "kafka.nodepool.broker",
            "kafka.cluster"
        ]
    );
    alpaka(ws.path())
        .args(["plan", "--target", "kafka.clustr"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("did you mean `kafka.cluster`?"));
}

#[test]
fn apply_refuses_before_changing_anything_when_a_provider_is_missing() {
    // Every shipped kind has a provider now: a state recording a kind this build does not know
    // (say, written by a newer alpaka) is the way to meet the refusal.
    let ws = workspace();
    let mut state = alpaka::state::State::new("minikube");
    state.record(
        alpaka::engine::ResourceId::new("acme.widget.one"),
        alpaka::state::ResourceState {
            kind: "acme.widget".into(),
            deps: vec![],
            attrs: alpaka::engine::Value::map([("size", alpaka::engine::Value::Int(1))]),
            outputs: alpaka::engine::Value::Null,
        },
    );
    let backend = LocalBackend::new(ws.path(), "minikube");
    backend.persist(&state).unwrap();
    let before = std::fs::read(backend.state_path()).unwrap();
    alpaka(ws.path())
        .args(["destroy", "--auto-approve"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "nothing was changed: this build has no provider",
        ))
        .stderr(predicate::str::contains("acme.widget: acme.widget.one"));
    assert_eq!(
        std::fs::read(backend.state_path()).unwrap(),
        before,
        "state untouched"
    );
    // and the lock was released
    assert!(backend.current_lock().unwrap().is_none());
}

#[test]
fn a_second_apply_on_the_same_profile_is_refused_with_the_holder() {
    let ws = workspace();
    let backend = LocalBackend::new(ws.path(), "minikube");
    let held = backend.lock("apply").unwrap();
    let id = held.info().id.clone();
    alpaka(ws.path())
        .args(["apply", "--auto-approve"])
        .assert()
        .code(1)
        .stderr(predicate::str::is_match(format!(r"pid:\s+{}", std::process::id())).unwrap())
        .stderr(predicate::str::contains(format!(
            "alpaka force-unlock {id} --profile minikube"
        )));
    alpaka(ws.path())
        .args(["destroy", "--auto-approve"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("lock"));
    // another profile is not blocked by it
    alpaka(ws.path())
        .args(["plan", "--profile", "k3d"])
        .assert()
        .success();
    alpaka(ws.path())
        .args(["force-unlock", "not-the-id"])
        .assert()
        .code(1);
    drop(held);
}

#[test]
fn saved_plan_is_refused_when_inputs_changed() {
    let ws = workspace();
    let planfile = ws.path().join("tfplan.json");
    alpaka(ws.path())
        .args(["plan", "--out"])
        .arg(&planfile)
        .assert()
        .success();
    let cfg = ws.path().join("configs/default.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{text}\n# edited\n")).unwrap();
    alpaka(ws.path())
        .arg("apply")
        .arg(&planfile)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "is stale: the profile or config files changed",
        ));
    alpaka(ws.path())
        .args(["apply", "--profile", "k3d"])
        .arg(&planfile)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is for profile `minikube`"));
    std::fs::write(ws.path().join("garbage.json"), "{}").unwrap();
    alpaka(ws.path())
        .args(["apply", "garbage.json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "is not a plan saved by `alpaka plan --out`",
        ));
}

#[test]
fn saved_plan_is_refused_when_state_moved() {
    let ws = workspace();
    let planfile = ws.path().join("p.json");
    alpaka(ws.path())
        .args(["plan", "--out"])
        .arg(&planfile)
        .assert()
        .success();
    // someone else applied in between: the state now exists with a serial
    seed_state(ws.path());
    alpaka(ws.path())
        .arg("apply")
        .arg(&planfile)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is stale: the state changed"));
}

#[test]
fn destroy_with_state_of_unknown_kind_says_what_is_missing() {
    let ws = workspace();
    seed_state(ws.path());
    alpaka(ws.path())
        .args(["plan", "--destroy"])
        .assert()
        .success()
        .stdout(predicate::str::contains("- acme.widget.alpaka"))
        .stdout(predicate::str::contains(
            "0 to add, 0 to change, 1 to destroy",
        ));
    // refresh needs the driver the state names
    alpaka(ws.path())
        .arg("plan")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no driver for resource kind acme.widget",
        ));
    alpaka(ws.path())
        .args(["state", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("acme.widget.alpaka\tacme.widget"));
    alpaka(ws.path())
        .args(["state", "show", "acme.widget.alpak"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "did you mean `acme.widget.alpaka`?",
        ));
    alpaka(ws.path())
        .args(["state", "show", "acme.widget.alpaka", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"kind\":\"acme.widget\""));
}

#[test]
fn validate_graph_schema_completions() {
    let ws = workspace();
    alpaka(ws.path())
        .args(["validate", "--profile", "eks-prod"])
        .assert()
        .success();
    alpaka(ws.path())
        .args(["graph", "--profile", "eks-prod"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\"eks.nodegroup.prod.xlarge\" -> \"eks.cluster.prod\";",
        ));
    let out = alpaka(ws.path())
        .args(["schema", "profile"])
        .output()
        .unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(schema["properties"]["distribution"].is_object(), "{schema}");
    alpaka(ws.path())
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("alpaka"));
}

#[test]
fn invalid_config_reports_every_error_with_location() {
    let ws = workspace();
    std::fs::write(
        ws.path().join("configs/default.yaml"),
        "kafka:\n  replicaCnt: 3\n  numPartitions: -1\nksqldb:\n  enabled: maybe\n",
    )
    .unwrap();
    let out = alpaka(ws.path()).args(["validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("configs/default.yaml:2:3"), "{err}");
    assert!(err.contains("did you mean `replicaCount`?"), "{err}");
    assert!(err.contains("configs/default.yaml:3:"), "{err}");
    assert!(err.contains("configs/default.yaml:5:"), "{err}");
    let out = alpaka(ws.path())
        .args(["validate", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["diagnostics"].as_array().unwrap().len() >= 3);
}

#[test]
fn apply_and_destroy_without_a_terminal_need_auto_approve() {
    let ws = workspace();
    alpaka(ws.path())
        .arg("apply")
        .write_stdin("yes\n")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Plan: 52 to add"))
        .stderr(predicate::str::contains("no terminal to ask on"))
        .stderr(predicate::str::contains("--auto-approve"));
    // nothing recorded, so destroy has nothing to do and asks nothing
    alpaka(ws.path())
        .arg("destroy")
        .assert()
        .success()
        .stdout(predicate::str::contains("No changes."));
}

#[test]
fn test_lists_its_checks_without_a_cluster_and_refuses_to_run_without_state() {
    let ws = workspace();
    let out = alpaka(ws.path()).args(["test", "--list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("kafka.roundtrip"), "{text}");
    assert!(text.contains("connect.jdbc-source"), "{text}");
    assert!(
        text.contains("s3.sink") && text.contains("skipped: optional"),
        "{text}"
    );
    alpaka(ws.path())
        .arg("test")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "profile `minikube` has no state: nothing is deployed to test",
        ))
        .stderr(predicate::str::contains("alpaka apply -p minikube"));
}

#[test]
fn an_eks_plan_that_cannot_reach_aws_says_what_it_was_looking_for_and_how_to_plan_without() {
    let ws = workspace();
    let out = alpaka(ws.path())
        .args(["plan", "--profile", "eks-dev"])
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("looking for `aws.vpc.dev` failed (no state records it"),
        "{err}"
    );
    assert!(err.contains("ec2:DescribeVpcs"), "{err}");
    assert!(err.contains("alpaka plan --refresh=false"), "{err}");
    // And a plan from the configuration alone cannot be saved.
    let out = alpaka(ws.path())
        .args(["plan", "--profile", "eks-dev", "--refresh=false", "--out"])
        .arg(ws.path().join("p.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot be saved"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!ws.path().join("p.json").exists());
}

/// Issue 20: each weakening of the EKS control plane the profile chose is one `warning:` line at
/// validate (and plan), pointing at the line that set it; the shipped eks profiles have none.
#[test]
fn eks_control_plane_weakenings_are_one_warning_line_each() {
    let ws = workspace();
    std::fs::write(
        ws.path().join("profiles/weak.yaml"),
        "distribution: eks\neks:\n  clusterName: weak\n  endpoint:\n    privateAccess: false\n    \
         publicAccessCidrs: [203.0.113.0/24, 0.0.0.0/0]\n  logging: [api]\n",
    )
    .unwrap();
    let out = alpaka(ws.path())
        .args(["validate", "--profile", "weak"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("warning:") && l.contains("eks."))
        .collect();
    assert_eq!(warnings.len(), 3, "{err}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("weak.yaml:5:") && w.contains("eks.endpoint.privateAccess")),
        "{err}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("eks.endpoint.publicAccessCidrs[1]") && w.contains("0.0.0.0/0")),
        "{err}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("eks.logging") && w.contains("audit")),
        "{err}"
    );
    for p in ["eks-prod", "eks-dev"] {
        let out = alpaka(ws.path())
            .args(["validate", "--profile", p])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(!err.contains("eks."), "{p}: {err}");
    }
}

/// A created VPC without a NAT gateway gets alpaka's VPC endpoints; refusing them too is one
/// warning at its line naming the endpoints the nodes then need; an existing VPC brings its own.
#[test]
fn a_vpc_without_a_nat_gateway_gets_endpoints_or_a_warning() {
    let ws = workspace();
    let profile = |extra: &str| {
        format!(
            "distribution: eks\neks:\n  clusterName: nonat\n  vpc:\n    cidr: 10.1.0.0/16\n    natGateway: none\n{extra}"
        )
    };
    std::fs::write(ws.path().join("profiles/nonat.yaml"), profile("")).unwrap();
    let out = alpaka(ws.path())
        .args(["plan", "--json", "--refresh=false", "--profile", "nonat"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("eks.vpc"));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .filter(|i| i.starts_with("aws.vpc-endpoint.") || i.starts_with("aws.security-group."))
        .collect();
    for want in [
        "aws.security-group.nonat.endpoints",
        "aws.vpc-endpoint.nonat.ec2",
        "aws.vpc-endpoint.nonat.ecr.api",
        "aws.vpc-endpoint.nonat.ecr.dkr",
        "aws.vpc-endpoint.nonat.sts",
        "aws.vpc-endpoint.nonat.elasticloadbalancing",
        "aws.vpc-endpoint.nonat.s3",
    ] {
        assert!(ids.contains(&want), "{want}: {ids:?}");
    }
    // The LB controller calls no service the VPC has no endpoint for (Shield, WAF).
    let lbc = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "helm.aws-load-balancer-controller")
        .unwrap();
    for k in ["enableShield", "enableWaf", "enableWafv2"] {
        assert_eq!(lbc["after"]["values"][k], false, "{k}: {lbc}");
    }
    std::fs::write(
        ws.path().join("profiles/nonat.yaml"),
        profile("    endpoints: false\n"),
    )
    .unwrap();
    let out = alpaka(ws.path())
        .args(["validate", "--profile", "nonat"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let w: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("warning:") && l.contains("eks.vpc.endpoints"))
        .collect();
    assert_eq!(w.len(), 1, "{err}");
    assert!(w[0].contains("nonat.yaml:7:"), "{err}");
    for e in [
        "ec2",
        "ecr.api",
        "ecr.dkr",
        "s3 (gateway)",
        "sts",
        "elasticloadbalancing",
    ] {
        assert!(w[0].contains(e), "{e}: {err}");
    }
    // An existing VPC brings its own endpoints: asking alpaka for them is refused at the line.
    std::fs::write(
        ws.path().join("profiles/nonat.yaml"),
        "distribution: eks\neks:\n  clusterName: nonat\n  vpc:\n    existing:\n      vpcId: vpc-0123456789abcdef0\n      privateSubnetIds: [subnet-0123456789abcdef0, subnet-0123456789abcdef1]\n    endpoints: true\n",
    )
    .unwrap();
    let out = alpaka(ws.path())
        .args(["validate", "--profile", "nonat"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.lines().any(|l| l.starts_with("error:")
            && l.contains("nonat.yaml:8:")
            && l.contains("eks.vpc.endpoints")),
        "{err}"
    );
}

/// Issue 22 item 7: a Kafka version the pinned Strimzi (1.2.0) does not support is refused at
/// its line, listing the supported ones; Connect images built for another Kafka are refused
/// saying what to build and set.
#[test]
fn kafka_versions_strimzi_does_not_support_and_mismatched_connect_images_are_refused() {
    let ws = workspace();
    let validate = |profile: &str, body: &str| {
        std::fs::write(ws.path().join(format!("profiles/{profile}.yaml")), body).unwrap();
        let out = alpaka(ws.path())
            .args(["validate", "--profile", profile])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = validate(
        "old",
        "distribution: minikube\nconfig: default\noverrides:\n  kafka:\n    version: \"4.1.1\"\n",
    );
    assert!(!ok, "{err}");
    assert!(
        err.contains("old.yaml:5:")
            && err.contains("Kafka 4.1.1 is not a version the pinned Strimzi 1.2.0 supports"),
        "{err}"
    );
    assert!(err.contains("one of 4.2.0, 4.2.1, 4.3.0, 4.3.1"), "{err}");
    let (ok, err) = validate(
        "older",
        "distribution: minikube\nconfig: default\noverrides:\n  kafka:\n    version: \"4.2.1\"\n",
    );
    assert!(!ok, "{err}");
    assert!(
        err.contains("kafka_connect.connects[srccon].container.tag")
            && err.contains("built for Kafka 4.3.1, but kafka.version is 4.2.1"),
        "{err}"
    );
    assert!(
        err.contains("STRIMZI_KAFKA_TAG=1.2.0-kafka-4.2.1 and CONNECT_TAG=0.1.0-kafka-4.2.1"),
        "{err}"
    );
    let (ok, err) = validate(
        "matched",
        "distribution: minikube\nconfig: default\noverrides:\n  kafka:\n    version: \"4.2.1\"\n  \
         kafka_connect:\n    connects:\n    - type: srccon\n      container: {tag: 0.1.0-kafka-4.2.1}\n",
    );
    assert!(ok, "{err}");
}

#[test]
fn delete_crds_is_for_an_existing_cluster_only() {
    let ws = workspace();
    // minikube's destroy deletes the cluster, its CRDs with it.
    alpaka(ws.path())
        .args(["destroy", "--auto-approve", "--delete-crds"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--delete-crds is for an existing cluster (k3s profile)",
        ));
    // Leftovers are judged after a whole destroy only.
    alpaka(ws.path())
        .args([
            "destroy",
            "--delete-crds",
            "--target",
            "k8s.namespace.alpaka",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}
