//! alpaka's own Grafana dashboards (issue 25), compiled into the binary and shipped as
//! ConfigMaps that Grafana's dashboard sidecar loads: nothing is downloaded at runtime.
//!
//! kube-prometheus-stack's values (tag kube-prometheus-stack-88.5.3, `grafana.sidecar.dashboards`)
//! turn the sidecar on with `label: grafana_dashboard`, `labelValue: "1"` and
//! `searchNamespace: ALL`, so a ConfigMap carrying that label in any namespace is loaded.
//! Every query names only metrics the platform exports (tests/dashboards.rs checks each one
//! against the Strimzi Metrics Reporter's allow list alpaka's Kafka and Connect get, KMinion's
//! documented metrics and the JVM collector's names). The datasource is the chart's
//! provisioned Prometheus (`grafana.sidecar.datasources.uid: prometheus`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::k8s;

/// The sidecar's label and value (kube-prometheus-stack defaults, see above).
pub const SIDECAR_LABEL: (&str, &str) = ("grafana_dashboard", "1");

/// `(name, JSON)` of every built-in dashboard.
pub const DASHBOARDS: &[(&str, &str)] = &[
    (
        "kafka-brokers",
        include_str!("dashboards/kafka-brokers.json"),
    ),
    (
        "kafka-controllers",
        include_str!("dashboards/kafka-controllers.json"),
    ),
    (
        "kafka-connect",
        include_str!("dashboards/kafka-connect.json"),
    ),
    ("kminion", include_str!("dashboards/kminion.json")),
    ("jvm", include_str!("dashboards/jvm.json")),
];

/// One ConfigMap per dashboard, `alpaka-dashboard-<name>`, in the platform's namespace.
pub fn config_maps(ns: &str) -> Vec<ConfigMap> {
    DASHBOARDS
        .iter()
        .map(|(name, json)| {
            let cm_name = format!("alpaka-dashboard-{name}");
            let mut labels = k8s::labels("grafana-dashboards");
            labels.insert(SIDECAR_LABEL.0.to_owned(), SIDECAR_LABEL.1.to_owned());
            ConfigMap {
                metadata: k8s::meta(&cm_name, ns, labels),
                // Compact: the plan shows the text; Grafana does not mind the layout.
                data: Some(BTreeMap::from([(format!("{name}.json"), compact(json))])),
                ..Default::default()
            }
        })
        .collect()
}

fn compact(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| json.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dashboard_is_json_with_a_unique_uid() {
        let mut uids = std::collections::BTreeSet::new();
        for (name, json) in DASHBOARDS {
            let v: serde_json::Value =
                serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(uids.insert(v["uid"].as_str().unwrap().to_owned()), "{name}");
            // No gnetId or URL: nothing for Grafana to download.
            assert!(!json.contains("gnetId") && !json.contains("http"), "{name}");
        }
        let cms = config_maps("alpaka");
        assert_eq!(cms.len(), DASHBOARDS.len());
        assert_eq!(
            cms[0]
                .metadata
                .labels
                .as_ref()
                .unwrap()
                .get("grafana_dashboard")
                .map(String::as_str),
            Some("1")
        );
    }
}
