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
        config.prometheus.alertmanager.enabled = true;
        config.prometheus.alertmanager.config_secret = Some("alertmanager-receivers".into());
        config.grafana.persistence.enabled = true;
        config.grafana.persistence.storage_class = Some("gp3".into());
        // And with a mirror (issue 25), whose image values go to every chart.
        let mut mirrored = loaded.profile.clone();
        mirrored.mirror = Some(alpaka::model::Mirror {
            registry: "registry.example.com/mirror".into(),
            charts: "oci://registry.example.com/charts".into(),
            image_pull_secret: Some("mirror-pull".into()),
        });
        for (p, cfg) in [
            (&loaded.profile, &loaded.config),
            (&loaded.profile, &config),
            (&mirrored, &config),
        ] {
            let nodes = alpaka::stack::build(&loaded.profile_name, p, cfg).unwrap();
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

fn hatch_workspace(config: &str, overrides: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("profiles")).unwrap();
    std::fs::create_dir_all(root.join("configs")).unwrap();
    std::fs::write(
        root.join("profiles/p.yaml"),
        format!("distribution: k3d\nconfig: c\noverrides:\n{overrides}"),
    )
    .unwrap();
    std::fs::write(root.join("configs/c.yaml"), config).unwrap();
    dir
}

fn release_values(loaded: &alpaka::config::Loaded, release: &str) -> Value {
    let nodes =
        alpaka::stack::build(&loaded.profile_name, &loaded.profile, &loaded.config).unwrap();
    nodes
        .iter()
        .find(|n| n.desired.get("release").and_then(Value::as_str) == Some(release))
        .and_then(|n| n.desired.get("values"))
        .cloned()
        .unwrap_or_else(|| panic!("no release {release}"))
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// `chartValues` reaches the release, merged over alpaka's values from both layers, and a key
/// alpaka also sets is a located warning naming both paths.
#[test]
fn chart_values_merge_over_generated_values_with_a_warning_per_replaced_key() {
    let ws = hatch_workspace(
        "grafana:\n  chartValues:\n    plugins: [grafana-piechart-panel]\n    sidecar:\n      datasources:\n        alertmanager:\n          enabled: true\n\
         loki:\n  enabled: true\n  alloyChartValues:\n    controller:\n      replicas: 1\n",
        "  prometheus:\n    chartValues:\n      prometheus:\n        prometheusSpec:\n          scrapeInterval: 15s\n",
    );
    let loaded = alpaka::config::load(ws.path(), "p").unwrap();
    let kps = release_values(&loaded, "kube-prometheus-stack");
    assert_eq!(
        at(&kps, &["grafana", "plugins"]),
        Some(&Value::List(vec![Value::str("grafana-piechart-panel")]))
    );
    assert_eq!(
        at(
            &kps,
            &[
                "grafana",
                "sidecar",
                "datasources",
                "alertmanager",
                "enabled"
            ]
        ),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        at(&kps, &["prometheus", "prometheusSpec", "scrapeInterval"]),
        Some(&Value::str("15s"))
    );
    // alpaka's own keys stay where the user set nothing.
    assert_eq!(
        at(&kps, &["prometheus", "prometheusSpec", "retention"]),
        Some(&Value::str("10d"))
    );
    let warnings: Vec<String> = loaded.warnings.iter().map(|d| d.to_string()).collect();
    assert_eq!(loaded.warnings.len(), 2, "{warnings:#?}");
    let grafana = loaded
        .warnings
        .iter()
        .find(|d| d.path.starts_with("grafana."))
        .unwrap();
    assert_eq!(
        grafana.path,
        "grafana.chartValues.sidecar.datasources.alertmanager.enabled"
    );
    assert!(grafana.file.ends_with("configs/c.yaml"));
    assert_eq!(grafana.line, 7);
    assert!(
        grafana
            .message
            .contains("grafana.sidecar.datasources.alertmanager.enabled"),
        "{}",
        grafana.message
    );
    let alloy = loaded
        .warnings
        .iter()
        .find(|d| d.path.starts_with("loki."))
        .unwrap();
    assert_eq!(alloy.path, "loki.alloyChartValues.controller.replicas");
    assert_eq!(alloy.line, 12);
}

/// A plaintext secret in `chartValues` stops the load, located, and its value is not repeated.
#[test]
fn chart_values_refuse_plaintext_secrets() {
    let ws = hatch_workspace(
        "grafana:\n  chartValues:\n    adminPassword: hunter2-not-shown\n    admin:\n      existingSecret: mine\n\
         ui4kafka:\n  chartValues:\n    yamlApplicationConfig:\n      kafka:\n        clusters:\n          - name: x\n            schemaRegistry: https://u:pw-not-shown@sr:8081\n",
        "  {}\n",
    );
    let err = alpaka::config::load(ws.path(), "p").unwrap_err();
    let found: Vec<_> = err
        .iter()
        .filter(|d| d.severity == alpaka::diag::Severity::Error)
        .collect();
    assert_eq!(found.len(), 2, "{err}");
    assert_eq!(found[0].path, "grafana.chartValues.adminPassword");
    assert_eq!(found[0].line, 3);
    assert_eq!(
        found[1].path,
        "ui4kafka.chartValues.yamlApplicationConfig.kafka.clusters.0.schemaRegistry"
    );
    assert_eq!(found[1].line, 12);
    let text = err.to_string();
    assert!(!text.contains("not-shown"), "{text}");
    assert!(text.contains("existingSecret"), "{text}");
}

/// The schema takes any map under `chartValues`, and names each chart and version beside it.
#[test]
fn chart_values_are_open_maps_documented_with_their_chart() {
    use alpaka::stack::catalog;
    let schema = alpaka::config::json_schema(alpaka::config::SchemaKind::Config);
    let text = schema.to_string();
    // Every chart a component's chartValues reaches (the LB controller is a profile's).
    for pin in catalog::CHARTS
        .iter()
        .filter(|p| p.release != catalog::AWS_LOAD_BALANCER_CONTROLLER.release)
    {
        let named = format!("`{}` {}", pin.release, pin.version);
        let sub = format!("of `{}` {}", pin.release, pin.version);
        assert!(
            text.contains(&named) || text.contains(&sub),
            "the schema does not name {} {}",
            pin.release,
            pin.version
        );
    }
    for hatch in alpaka::stack::charts::HATCHES {
        let def = hatch.key[0];
        let props = &schema["$defs"];
        let found = props.as_object().unwrap().values().any(|d| {
            d["properties"][hatch.key[1]]["additionalProperties"] == serde_json::json!(true)
        });
        assert!(found, "{def}: {} is not an open map", hatch.key[1]);
    }
}

/// Every pinned chart version is recorded in docs/chart-versions.md (with its index entry where
/// one could be read), and the Loki pin is one its repository's index lists.
#[test]
fn every_pin_is_recorded_in_the_chart_versions_doc() {
    use alpaka::stack::catalog;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/chart-versions.md")).unwrap();
    for pin in catalog::CHARTS {
        assert!(
            doc.contains(&format!("**{}**", pin.version))
                || doc.contains(&format!("{} stays", pin.version)),
            "{} {} is not recorded in docs/chart-versions.md",
            pin.release,
            pin.version
        );
    }
    assert!(doc.contains(&format!(
        "entry `loki-{}` created 2026-08-20T20:00:52Z, digest `d4d99424",
        catalog::LOKI.version
    )));
}

/// `kafka.config` reaches the Kafka resource's broker config; keys alpaka derives are refused.
#[test]
fn kafka_config_reaches_strimzi_and_refuses_derived_keys() {
    let ws = hatch_workspace(
        "kafka:\n  config:\n    log.retention.hours: 168\n    delete.topic.enable: false\n",
        "  {}\n",
    );
    let loaded = alpaka::config::load(ws.path(), "p").unwrap();
    let nodes =
        alpaka::stack::build(&loaded.profile_name, &loaded.profile, &loaded.config).unwrap();
    let kafka = nodes
        .iter()
        .find(|n| n.id.to_string() == "kafka.cluster")
        .unwrap();
    let Some(Value::Map(config)) = at(&kafka.desired, &["spec", "kafka", "config"]) else {
        panic!("no broker config")
    };
    assert_eq!(config.get("log.retention.hours"), Some(&Value::Int(168)));
    assert_eq!(config.get("delete.topic.enable"), Some(&Value::Bool(false)));
    assert_eq!(config.get("num.partitions"), Some(&Value::Int(8)));

    let ws = hatch_workspace("kafka:\n  config:\n    num.partitions: 3\n", "  {}\n");
    let err = alpaka::config::load(ws.path(), "p").unwrap_err();
    let d = err.iter().next().unwrap();
    assert_eq!(d.path, "kafka.config.num.partitions");
    assert_eq!(d.line, 3);
    assert!(d.message.contains("kafka.numPartitions"), "{d}");
}
