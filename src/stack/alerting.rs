//! Alertmanager (`prometheus.alertmanager`) and alpaka's own alerting rules for this platform,
//! as kube-prometheus-stack values: the chart renders the rules as a PrometheusRule labelled for
//! its Prometheus (`additionalPrometheusRulesMap`, chart 88.5.3 `values.yaml` and
//! `templates/prometheus/additionalPrometheusRules.yaml`) and runs Alertmanager with
//! `alertmanager.alertmanagerSpec` (same chart, `templates/alertmanager/alertmanager.yaml`).
//!
//! Every metric a rule reads is one the platform exports, at the pinned versions:
//! - Strimzi Metrics Reporter with Strimzi 1.2.0's default allow lists (alpaka sets none:
//!   `KafkaCluster.DEFAULT_METRICS_ALLOW_LIST` has `kafka_controller_kafkacontroller.*` and
//!   `kafka_server_replicamanager.*`; `KafkaConnectCluster.DEFAULT_METRICS_ALLOW_LIST` has
//!   `kafka_connect_connector_metrics.*` and `kafka_connect_connect_worker_metrics_.*`), names as
//!   Strimzi 1.2.0's `strimzi-metrics-reporter/grafana-dashboards` query them;
//! - KMinion (`docs/metrics.md`): `kminion_kafka_consumer_group_topic_lag`;
//! - Prometheus itself (`up` per scraped pod) and the kubelet's volume stats
//!   (`kubelet_volume_stats_available_bytes` / `_capacity_bytes`), which kube-prometheus-stack
//!   scrapes by default.
//!
//! The rules are plain data (`rule_groups`), so tests load them with Prometheus's own rule
//! checker (`promtool check rules`).

use serde_json::{Value as Json, json};

use crate::engine::Value;
use crate::model::stack::{KafkaMode, StackConfig};

use super::platform::KAFKA_NAME;

/// A consumer group this many messages behind on a topic for 15 minutes is alerted on.
pub const CONSUMER_LAG_THRESHOLD: u64 = 10_000;

/// The rule groups for namespace `ns` (the `groups` of a Prometheus rule file).
pub fn rule_groups(cfg: &StackConfig, ns: &str) -> Json {
    let sel = format!("namespace=\"{ns}\"");
    let mut rules = Vec::new();
    let alert = |name: &str, expr: String, for_: &str, severity: &str, summary: &str| {
        json!({
            "alert": name,
            "expr": expr,
            "for": for_,
            "labels": {"severity": severity, "alpaka": "true"},
            "annotations": {"summary": summary},
        })
    };
    let kafka_metrics =
        cfg.kafka.enabled && cfg.kafka.metrics && cfg.kafka.mode == KafkaMode::Kraft;
    if kafka_metrics {
        rules.push(alert(
            "KafkaOfflinePartitions",
            format!("sum(kafka_controller_kafkacontroller_offlinepartitionscount{{{sel}}}) > 0"),
            "1m",
            "critical",
            "Partitions without a leader: producers and consumers of them fail",
        ));
        rules.push(alert(
            "KafkaUnderReplicatedPartitions",
            format!("sum(kafka_server_replicamanager_underreplicatedpartitions{{{sel}}}) > 0"),
            "5m",
            "warning",
            "Partitions with fewer in-sync replicas than replicas",
        ));
        let pool = if cfg.kafka.controllers == 0 {
            "dual"
        } else {
            "broker"
        };
        rules.push(alert(
            "KafkaBrokerDown",
            format!(
                "(count(up{{{sel},pod=~\"{KAFKA_NAME}-{pool}-[0-9]+\"}} == 1) or vector(0)) < {}",
                cfg.kafka.replica_count
            ),
            "2m",
            "critical",
            "Fewer Kafka brokers answer than the config runs",
        ));
    }
    if cfg.kafka.enabled && cfg.kafka.metrics && cfg.kafka_connect.enabled {
        rules.push(alert(
            "KafkaConnectorFailed",
            format!(
                "sum by (pod, connector) (kafka_connect_connector_metrics_status_info{{{sel},status=\"failed\"}}) > 0"
            ),
            "2m",
            "critical",
            "A connector is in state FAILED",
        ));
        rules.push(alert(
            "KafkaConnectTaskFailed",
            format!(
                "sum by (pod, connector) (kafka_connect_connect_worker_metrics_connector_failed_task_count{{{sel}}}) > 0"
            ),
            "2m",
            "warning",
            "A connector has failed tasks",
        ));
    }
    if cfg.kminion.enabled && cfg.kafka.enabled {
        rules.push(alert(
            "KafkaConsumerGroupLag",
            format!(
                "sum by (group_id, topic_name) (kminion_kafka_consumer_group_topic_lag{{{sel}}}) > {CONSUMER_LAG_THRESHOLD}"
            ),
            "15m",
            "warning",
            "A consumer group lags behind a topic",
        ));
    }
    let ratio = format!(
        "kubelet_volume_stats_available_bytes{{{sel}}} / kubelet_volume_stats_capacity_bytes{{{sel}}}"
    );
    rules.push(alert(
        "PersistentVolumeFillingUp",
        format!("{ratio} < 0.15"),
        "10m",
        "warning",
        "A volume of the platform has less than 15% free space",
    ));
    rules.push(alert(
        "PersistentVolumeAlmostFull",
        format!("{ratio} < 0.05"),
        "5m",
        "critical",
        "A volume of the platform has less than 5% free space: Kafka stops when its log volume is full",
    ));
    json!([{"name": "alpaka", "rules": rules}])
}

/// kube-prometheus-stack's `alertmanager` values: off unless `prometheus.alertmanager.enabled`;
/// placed with Prometheus; the configuration (receivers) from the user's Secret when given,
/// else the chart's own (alerts kept and shown in Alertmanager's UI, sent nowhere).
pub fn alertmanager_values(cfg: &StackConfig, placement: [(&'static str, Value); 2]) -> Value {
    let a = &cfg.prometheus.alertmanager;
    if !(a.enabled && cfg.prometheus.enabled) {
        return Value::map([("enabled", Value::Bool(false))]);
    }
    let [sel, tol] = placement;
    let mut spec = vec![("retention", Value::str(a.retention.as_str())), sel, tol];
    if let Some(secret) = &a.config_secret {
        spec.push(("useExistingSecret", Value::Bool(true)));
        spec.push(("configSecret", Value::str(secret)));
    }
    Value::map([
        ("enabled", Value::Bool(true)),
        ("alertmanagerSpec", Value::map(spec)),
    ])
}

/// `additionalPrometheusRulesMap` with alpaka's rules, when Alertmanager is on.
pub fn rules_values(cfg: &StackConfig, ns: &str) -> Option<Value> {
    let a = &cfg.prometheus.alertmanager;
    (a.enabled && cfg.prometheus.enabled).then(|| {
        // Plain JSON always converts; an empty list would only mean no rules.
        let groups = crate::engine::value::to_value(&rule_groups(cfg, ns))
            .unwrap_or_else(|_| Value::List(Vec::new()));
        Value::map([("alpaka", Value::map([("groups", groups)]))])
    })
}
