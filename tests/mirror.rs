//! Issue 25: with `mirror:` in the profile, the plan (`plan --json`: helm values and alpaka's
//! manifests alike) names no image outside the mirror and no chart repository but the mirror,
//! and Grafana's values download nothing; `alpaka images` lists what the plan deploys.

use std::path::Path;

use serde_json::Value;

mod common;
use common::{alpaka, workspace};

const REGISTRY: &str = "registry.example.com/mirror";
const CHARTS: &str = "oci://registry.example.com/charts";

fn with_mirror(root: &Path, profile: &str) {
    let p = root.join("profiles").join(format!("{profile}.yaml"));
    let mut text = std::fs::read_to_string(&p).unwrap();
    text.push_str(&format!(
        "mirror:\n  registry: {REGISTRY}\n  charts: {CHARTS}\n  imagePullSecret: mirror-pull\n"
    ));
    std::fs::write(&p, text).unwrap();
}

fn plan_json(root: &Path, profile: &str) -> Value {
    let out = alpaka(root)
        .args(["plan", "--json", "--refresh=false", "--profile", profile])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{profile}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

/// Every `image` string of every pod spec and KafkaConnect, with where it was found.
fn images(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let here = format!("{at}.{k}");
                match (k.as_str(), x) {
                    ("image", Value::String(s)) => out.push((here, s.clone())),
                    _ => images(x, &here, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                images(x, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn check(profile: &str) {
    let ws = workspace();
    with_mirror(ws.path(), profile);
    let plan = plan_json(ws.path(), profile);
    let changes = plan["changes"].as_array().unwrap();
    let mut releases = 0;
    let mut pod_images = 0;
    for c in changes {
        let id = c["id"].as_str().unwrap();
        let kind = c["kind"].as_str().unwrap();
        let after = &c["after"];
        // The cluster layer's own images (a k3d node image) are pulled by this machine's
        // docker, not by the cluster: outside the mirror (README).
        if matches!(kind, "k3d.cluster" | "minikube.cluster") {
            continue;
        }
        if kind == "helm.release" {
            releases += 1;
            let chart = after["chart"].as_str().unwrap();
            assert!(
                chart.starts_with(&format!("{CHARTS}/")),
                "{id}: chart {chart}"
            );
            assert!(after["repo"].is_null(), "{id}: repo {}", after["repo"]);
            let values = &after["values"];
            let release = after["release"].as_str().unwrap();
            // Each chart's images point at the mirror through its own keys.
            let (path, want) = match release {
                "strimzi-kafka-operator" => ("defaultImageRegistry", REGISTRY.to_owned()),
                "kube-prometheus-stack" | "loki" => ("global.imageRegistry", REGISTRY.to_owned()),
                "alloy" => ("global.image.registry", REGISTRY.to_owned()),
                "kafka-ui" | "headlamp" => ("image.registry", REGISTRY.to_owned()),
                "kminion" => (
                    "image.repository",
                    format!("{REGISTRY}/redpandadata/kminion"),
                ),
                "aws-load-balancer-controller" => (
                    "image.repository",
                    format!("{REGISTRY}/eks/aws-load-balancer-controller"),
                ),
                other => panic!("{other}: a chart the mirror does not know"),
            };
            assert_eq!(
                get(values, path).and_then(Value::as_str),
                Some(want.as_str()),
                "{id}"
            );
            if release == "kube-prometheus-stack" {
                let dashboards = get(values, "grafana.dashboards").unwrap().to_string();
                assert!(
                    !dashboards.contains("gnetId") && !dashboards.contains("url"),
                    "Grafana downloads: {dashboards}"
                );
                assert_eq!(
                    get(values, "global.imagePullSecrets"),
                    Some(&serde_json::json!([{"name": "mirror-pull"}]))
                );
            }
        }
        let mut found = Vec::new();
        images(after, id, &mut found);
        for (at, image) in found {
            pod_images += 1;
            assert!(image.starts_with(&format!("{REGISTRY}/")), "{at}: {image}");
        }
        // Every pod spec names the pull Secret.
        let text = after.to_string();
        if text.contains("\"containers\"") {
            assert!(text.contains("mirror-pull"), "{id}: no imagePullSecrets");
        }
    }
    assert!(releases >= 4, "{profile}: {releases} releases");
    assert!(pod_images >= 2, "{profile}: {pod_images} images");
    // No public registry host or chart repository anywhere but the cluster layer.
    for c in changes {
        if matches!(c["kind"].as_str(), Some("k3d.cluster" | "minikube.cluster")) {
            continue;
        }
        let text = c["after"].to_string();
        for host in [
            "quay.io",
            "docker.io",
            "ghcr.io",
            "registry.k8s.io",
            "public.ecr.aws",
            "github.io",
            "charts.redpanda.com",
            "grafana.com",
        ] {
            assert!(!text.contains(host), "{}: names {host}", c["id"]);
        }
    }
}

#[test]
fn a_k3d_plan_with_a_mirror_pulls_only_from_it() {
    check("k3d");
}

#[test]
fn an_eks_prod_plan_with_a_mirror_pulls_only_from_it() {
    check("eks-prod");
}

#[test]
fn images_lists_what_the_plan_deploys_mapped_onto_the_mirror() {
    let ws = workspace();
    with_mirror(ws.path(), "k3d");
    let out = alpaka(ws.path())
        .args(["images", "--json", "--profile", "k3d"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed_images = v["images"].as_array().unwrap();
    // Every image alpaka's manifests carry in the mirrored plan is one `images` lists.
    let plan = plan_json(ws.path(), "k3d");
    let listed: Vec<&str> = listed_images
        .iter()
        .filter_map(|i| i["mirror"].as_str())
        .collect();
    for c in plan["changes"].as_array().unwrap() {
        if c["kind"] == "k3d.cluster" {
            continue;
        }
        let mut found = Vec::new();
        images(&c["after"], c["id"].as_str().unwrap(), &mut found);
        for (at, image) in found {
            assert!(listed.contains(&image.as_str()), "{at}: {image} not listed");
        }
    }
    // Docker Hub library images keep `library/`; Strimzi's Kafka image follows the operator pin.
    assert!(listed.contains(&"registry.example.com/mirror/library/mysql:8.4"));
    assert!(
        listed
            .iter()
            .any(|i| i.starts_with("registry.example.com/mirror/strimzi/kafka:1.2.0-kafka-"))
    );
    // The cluster layer's images are listed apart, with who pulls them.
    let outside = v["outside_the_mirror"].as_array().unwrap();
    assert!(
        outside
            .iter()
            .any(|o| o["image"] == "rancher/k3s:v1.34.1-k3s1"
                && o["by"] == "k3d.cluster.k3d"
                && o["pulled_by"].as_str().unwrap().contains("`k3d.image`")),
        "{outside:?}"
    );
    assert!(!listed.iter().any(|i| i.contains("rancher/k3s")));
    let charts = v["charts"].as_array().unwrap();
    assert!(charts.len() >= 4);
    for c in charts {
        let want = format!(
            "{CHARTS}/{}",
            c["chart"].as_str().unwrap().rsplit('/').next().unwrap()
        );
        assert_eq!(c["mirror"].as_str(), Some(want.as_str()), "{c}");
    }
}

#[test]
fn a_bad_mirror_is_refused_at_its_line() {
    let ws = workspace();
    let p = ws.path().join("profiles/k3d.yaml");
    let mut text = std::fs::read_to_string(&p).unwrap();
    let line = text.lines().count() + 2;
    text.push_str("mirror:\n  registry: https://registry.example.com/\n  charts: ftp://x\n");
    std::fs::write(&p, text).unwrap();
    let out = alpaka(ws.path())
        .args(["validate", "--profile", "k3d"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(err.contains("mirror.registry"), "{err}");
    assert!(err.contains("mirror.charts"), "{err}");
    assert!(err.contains(&format!("k3d.yaml:{line}")), "{err}");
}
