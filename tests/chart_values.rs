//! Every values path alpaka sets on a helm release, for every shipped profile, is a key that
//! chart version documents (`stack::catalog::verified_values`): helm ignores misspelt keys.

use std::path::Path;

use alpaka::engine::Value;
use alpaka::stack::catalog::verified_values;

/// Leaf paths of a values tree; lists and empty maps are leaves.
fn leaves(prefix: &str, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Map(m) if !m.is_empty() => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&p, x, out);
            }
        }
        _ => out.push(prefix.to_owned()),
    }
}

fn covered(path: &str, allowed: &[&str]) -> bool {
    allowed.iter().any(|a| match a.strip_suffix(".*") {
        Some(tree) => path == tree || path.starts_with(&format!("{tree}.")),
        None => path == *a,
    })
}

#[test]
fn every_values_path_is_a_documented_chart_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut releases = std::collections::BTreeSet::new();
    for profile in ["minikube", "k3d", "k3s", "eks-prod", "eks-dev"] {
        let loaded = alpaka::config::load(root, profile).unwrap();
        // Everything on, so every code path that writes values is exercised.
        let mut config = loaded.config.clone();
        config.loki.enabled = true;
        config.k8dashboard.admin_access = true;
        for cfg in [&loaded.config, &config] {
            let nodes = alpaka::stack::build(&loaded.profile_name, &loaded.profile, cfg).unwrap();
            for n in nodes.iter().filter(|n| n.kind == "helm.release") {
                let release = n.desired.get("release").and_then(Value::as_str).unwrap();
                let allowed = verified_values(release);
                assert!(
                    !allowed.is_empty(),
                    "{release}: no verified keys recorded in the catalog"
                );
                let mut paths = Vec::new();
                leaves("", n.desired.get("values").unwrap(), &mut paths);
                for p in paths {
                    assert!(
                        covered(&p, allowed),
                        "{profile}: {release} sets `{p}`, which the chart does not document"
                    );
                }
                releases.insert(release.to_owned());
            }
        }
    }
    assert_eq!(releases.len(), 8, "{releases:?}");
}

#[test]
fn the_check_catches_a_misspelt_key() {
    assert!(!covered(
        "prometheus.prometheusSpec.retension",
        verified_values("kube-prometheus-stack")
    ));
    assert!(covered(
        "grafana.dashboards.alpaka.kminion-cluster.gnetId",
        verified_values("kube-prometheus-stack")
    ));
    assert!(!covered(
        "grafana.dashboardsX",
        verified_values("kube-prometheus-stack")
    ));
}

/// The LB controller's keys are in the pinned chart's own `values.yaml` (eks-charts 3.5.0, a
/// byte-for-byte copy in `../shared/reference/aws-load-balancer-controller/values-3.5.0.yaml`).
#[test]
fn the_lb_controller_keys_are_in_chart_3_5_0s_values_file() {
    use alpaka::stack::catalog::AWS_LOAD_BALANCER_CONTROLLER as LBC;
    assert_eq!(LBC.version, "3.5.0");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = root.join("../shared/reference/aws-load-balancer-controller/values-3.5.0.yaml");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e} (../shared beside the repo)", file.display()));
    let values: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    for path in verified_values(LBC.release) {
        let mut at = &values;
        for k in path.trim_end_matches(".*").split('.') {
            at = at
                .get(k)
                .unwrap_or_else(|| panic!("{path}: no `{k}` in {}", file.display()));
        }
    }
}
