//! The values alpaka hands each third-party chart, and the per-component escape hatch
//! (`<component>.chartValues`) merged over them.
//!
//! Every path generated here is held by `tests/chart_values.rs` to the keys the pinned chart
//! documents (`catalog::verified_values`). What alpaka leaves to a chart's defaults matters as
//! much: each default that costs memory, places a pod badly or points at nothing is turned off or
//! set here, with the reason beside it.

use crate::engine::Value;
use crate::model::stack::{FreeMap, Labels, StackConfig};
use crate::model::types::Toleration;

use super::catalog::{self, ChartPin};
use super::kafka_users;
use super::platform::Addresses;
use super::{labels_value, strs};

/// `nodeSelector` and `tolerations` as every chart here spells them.
pub(crate) fn placement(
    node_selector: &Labels,
    tolerations: &[Toleration],
) -> [(&'static str, Value); 2] {
    [
        ("nodeSelector", labels_value(node_selector)),
        (
            "tolerations",
            Value::List(
                tolerations
                    .iter()
                    .filter_map(|t| crate::engine::value::to_value(t).ok())
                    .collect(),
            ),
        ),
    ]
}

/// The strimzi operator's values (either pin: both charts take the same keys).
/// Strimzi's pods (brokers, controllers, Connect, entity operator) run under its `restricted`
/// pod security provider, which gives every container the Kubernetes `restricted` profile
/// (Strimzi documentation, "Applying security context to Strimzi pods and containers": the
/// operator's `STRIMZI_POD_SECURITY_PROVIDER_CLASS=restricted`; the default is `baseline`). The
/// chart passes `extraEnvs` to the operator container (1.2.0 `values.yaml` line 36; the legacy
/// 0.45.1 pin shares these values, its chart was not re-read for this key).
pub fn strimzi(cfg: &StackConfig, ns: &str) -> Value {
    let k = &cfg.kafka;
    let [sel, tol] = placement(&k.node_selector, &k.tolerations);
    Value::map([
        ("watchNamespaces", strs(&[ns])),
        (
            "extraEnvs",
            Value::List(vec![Value::map([
                ("name", Value::str("STRIMZI_POD_SECURITY_PROVIDER_CLASS")),
                ("value", Value::str("restricted")),
            ])]),
        ),
        sel,
        tol,
    ])
}

/// kube-prometheus-stack: Prometheus (+ its operator and kube-state-metrics) and Grafana.
pub fn kube_prometheus_stack(cfg: &StackConfig, addr: &Addresses) -> Value {
    let p = &cfg.prometheus;
    let g = &cfg.grafana;
    // grafana.dashboards.<provider>.<name>: fetched from grafana.com by id, or from a URL.
    let dashboards = Value::Map(
        g.dashboards
            .iter()
            .map(|d| {
                let mut m = vec![("datasource", Value::str("Prometheus"))];
                if let Some(id) = d.gnet_id {
                    m.push(("gnetId", Value::Int(i64::from(id))));
                    m.push(("revision", Value::Int(i64::from(d.revision.unwrap_or(1)))));
                }
                if let Some(url) = &d.url {
                    m.push(("url", Value::str(url)));
                }
                (d.name.clone(), Value::map(m))
            })
            .collect(),
    );
    let [psel, ptol] = placement(&p.node_selector, &p.tolerations);
    let [gsel, gtol] = placement(&g.node_selector, &g.tolerations);
    let alertmanager_on = p.enabled && p.alertmanager.enabled;
    let mut grafana = vec![
        ("enabled", Value::Bool(g.enabled)),
        (
            "admin",
            Value::map([
                ("existingSecret", Value::str("grafana-admin")),
                ("userKey", Value::str("admin-user")),
                ("passwordKey", Value::str("admin-password")),
            ]),
        ),
        (
            "dashboardProviders",
            Value::map([(
                "dashboardproviders.yaml",
                Value::map([
                    ("apiVersion", Value::Int(1)),
                    (
                        "providers",
                        Value::List(vec![Value::map([
                            ("name", Value::str("alpaka")),
                            ("folder", Value::str("Kafka")),
                            ("type", Value::str("file")),
                            (
                                "options",
                                Value::map([(
                                    "path",
                                    Value::str("/var/lib/grafana/dashboards/alpaka"),
                                )]),
                            ),
                        ])]),
                    ),
                ]),
            )]),
        ),
        ("dashboards", Value::map([("alpaka", dashboards)])),
        // The chart provisions an "Alertmanager" datasource by default: only when alpaka runs
        // one, else it would point at a Service that does not exist.
        (
            "sidecar",
            Value::map([(
                "datasources",
                Value::map([(
                    "alertmanager",
                    Value::map([("enabled", Value::Bool(alertmanager_on))]),
                )]),
            )]),
        ),
        gsel,
        gtol,
    ];
    if g.persistence.enabled {
        // grafana chart 12.11.1 (kube-prometheus-stack 88.5.3's) `persistence`.
        let mut pv = vec![
            ("enabled", Value::Bool(true)),
            ("size", Value::str(g.persistence.size.as_str())),
        ];
        if let Some(class) = &g.persistence.storage_class {
            pv.push(("storageClassName", Value::str(class)));
        }
        grafana.push(("persistence", Value::map(pv)));
    }
    if cfg.loki.enabled {
        grafana.push((
            "additionalDataSources",
            Value::List(vec![Value::map([
                ("name", Value::str("Loki")),
                ("type", Value::str("loki")),
                ("access", Value::str("proxy")),
                ("url", Value::str(addr.loki())),
            ])]),
        ));
    }
    // The operator, its admission-webhook patch Jobs and kube-state-metrics go where Prometheus
    // goes: left to the chart, they land on whatever node has room (on k3d, Kafka's).
    let prometheus_placement = || Value::map(placement(&p.node_selector, &p.tolerations));
    Value::map(
        [
            (
                "prometheus",
                Value::map([
                    ("enabled", Value::Bool(p.enabled)),
                    (
                        "prometheusSpec",
                        Value::map([
                            ("retention", Value::str(p.retention.as_str())),
                            // Select PodMonitors/ServiceMonitors without the release label too
                            // (Strimzi's, KMinion's).
                            ("podMonitorSelectorNilUsesHelmValues", Value::Bool(false)),
                            (
                                "serviceMonitorSelectorNilUsesHelmValues",
                                Value::Bool(false),
                            ),
                            psel,
                            ptol,
                        ]),
                    ),
                ]),
            ),
            ("prometheusOperator", {
                let mut operator = prometheus_placement();
                if let Value::Map(m) = &mut operator {
                    m.insert(
                        "admissionWebhooks".into(),
                        Value::map([("patch", prometheus_placement())]),
                    );
                }
                operator
            }),
            ("kube-state-metrics", prometheus_placement()),
            // The node exporter needs the host (hostNetwork, hostPID, the root filesystem), which
            // the `baseline` Pod Security level of alpaka's namespace refuses: it runs in a
            // namespace of its own (chart 88.5.3 `values.yaml`: `prometheus-node-exporter.
            // namespaceOverride`, read by the subchart's `prometheus-node-exporter.namespace`
            // helper), and only when Prometheus is there to scrape it.
            (
                "nodeExporter",
                Value::map([("enabled", Value::Bool(p.enabled))]),
            ),
            (
                "prometheus-node-exporter",
                Value::map([(
                    "namespaceOverride",
                    Value::str(addr.node_exporter_namespace()),
                )]),
            ),
            ("grafana", Value::map(grafana)),
            (
                "alertmanager",
                super::alerting::alertmanager_values(
                    cfg,
                    placement(&p.node_selector, &p.tolerations),
                ),
            ),
        ]
        .into_iter()
        .chain(
            super::alerting::rules_values(cfg, &addr.ns)
                .map(|r| ("additionalPrometheusRulesMap", r)),
        ),
    )
}

pub fn kminion(cfg: &StackConfig, addr: &Addresses) -> Value {
    let m = &cfg.kminion;
    let [sel, tol] = placement(&m.node_selector, &m.tolerations);
    let mut config = vec![(
        "kafka",
        Value::map([("brokers", strs(&[addr.bootstrap()]))]),
    )];
    // The end-to-end probe (KMinion v2.3.0 `e2e/config.go`: `minion.endToEnd`, off by
    // default there) on alpaka's KafkaTopic: `topicManagement.enabled: false` makes KMinion
    // use the topic as it is (`e2e/topic.go` validateManagementTopic) rather than create it and
    // move its partitions, which would need Alter on the cluster.
    if kafka_users::kminion_end_to_end(cfg).is_some() {
        config.push((
            "minion",
            Value::map([(
                "endToEnd",
                Value::map([
                    ("enabled", Value::Bool(true)),
                    (
                        "topicManagement",
                        Value::map([
                            ("enabled", Value::Bool(false)),
                            ("name", Value::str(kafka_users::KMINION_E2E)),
                            (
                                "replicationFactor",
                                Value::Int(i64::from(cfg.kafka.default_replication_factor)),
                            ),
                            ("partitionsPerBroker", Value::Int(1)),
                        ]),
                    ),
                    (
                        "consumer",
                        Value::map([("groupIdPrefix", Value::str(kafka_users::KMINION_E2E))]),
                    ),
                ]),
            )]),
        ));
    }
    Value::map([
        ("kminion", Value::map([("config", Value::map(config))])),
        (
            "serviceMonitor",
            Value::map([
                ("create", Value::Bool(cfg.prometheus.enabled)),
                ("interval", Value::str(m.scrape_interval.as_str())),
                ("scrapeTimeout", Value::str(m.scrape_timeout.as_str())),
            ]),
        ),
        sel,
        tol,
    ])
}

/// Loki as one process on the filesystem, and nothing else the chart would add by default.
pub fn loki(cfg: &StackConfig) -> Value {
    let l = &cfg.loki;
    let [sel, tol] = placement(&l.node_selector, &l.tolerations);
    let off = || Value::map([("replicas", Value::Int(0))]);
    let disabled = || Value::map([("enabled", Value::Bool(false))]);
    Value::map([
        ("deploymentMode", Value::str(catalog::LOKI_MONOLITHIC_MODE)),
        (
            "loki",
            Value::map([
                ("auth_enabled", Value::Bool(false)),
                (
                    "commonConfig",
                    Value::map([("replication_factor", Value::Int(1))]),
                ),
                ("storage", Value::map([("type", Value::str("filesystem"))])),
                (
                    "schemaConfig",
                    Value::map([(
                        "configs",
                        Value::List(vec![Value::map([
                            ("from", Value::str("2024-04-01")),
                            ("store", Value::str("tsdb")),
                            ("object_store", Value::str("filesystem")),
                            ("schema", Value::str("v13")),
                            (
                                "index",
                                Value::map([
                                    ("prefix", Value::str("index_")),
                                    ("period", Value::str("24h")),
                                ]),
                            ),
                        ])]),
                    )]),
                ),
                (
                    "limits_config",
                    Value::map([("retention_period", Value::str(l.retention_period.as_str()))]),
                ),
                (
                    "compactor",
                    Value::map([
                        ("retention_enabled", Value::Bool(true)),
                        ("delete_request_store", Value::str("filesystem")),
                    ]),
                ),
            ]),
        ),
        (
            "singleBinary",
            Value::map([("replicas", Value::Int(1)), sel, tol]),
        ),
        ("write", off()),
        ("read", off()),
        ("backend", off()),
        // The chart's defaults: memcached chunk and results caches (~9.6 GiB and ~1.2 GiB
        // requested), an nginx gateway (alpaka's clients talk to loki:3100 directly), and the
        // canary DaemonSet with the helm test that needs it. None fit beside Kafka on a laptop.
        ("chunksCache", disabled()),
        ("resultsCache", disabled()),
        ("gateway", disabled()),
        ("lokiCanary", disabled()),
        ("test", disabled()),
    ])
}

/// The Alloy pipeline: every pod's logs read once through the API server (one collector, a
/// single-replica Deployment), labelled with where they came from, pushed to Loki.
pub fn alloy_config(addr: &Addresses) -> String {
    let rule = |source: &str, target: &str| {
        format!(
            "  rule {{\n    source_labels = [\"{source}\"]\n    regex         = \"(.+)\"\n    target_label  = \"{target}\"\n  }}\n"
        )
    };
    // `app`: the plain `app` label, overridden by app.kubernetes.io/name where a pod has it
    // (a rule whose regex does not match leaves the label as it was).
    let rules = [
        rule("__meta_kubernetes_namespace", "namespace"),
        rule("__meta_kubernetes_pod_name", "pod"),
        rule("__meta_kubernetes_pod_container_name", "container"),
        rule("__meta_kubernetes_pod_label_app", "app"),
        rule("__meta_kubernetes_pod_label_app_kubernetes_io_name", "app"),
    ]
    .concat();
    format!(
        "discovery.kubernetes \"pods\" {{\n  role = \"pod\"\n}}\n\n\
         // loki.source.kubernetes drops every label starting with `__`: copy the ones worth\n\
         // keeping first.\n\
         discovery.relabel \"pods\" {{\n  targets = discovery.kubernetes.pods.targets\n{rules}}}\n\n\
         loki.source.kubernetes \"pods\" {{\n  targets    = discovery.relabel.pods.output\n  forward_to = [loki.write.default.receiver]\n}}\n\n\
         loki.write \"default\" {{\n  endpoint {{\n    url = \"{}/loki/api/v1/push\"\n  }}\n}}\n",
        addr.loki()
    )
}

pub fn alloy(cfg: &StackConfig, addr: &Addresses) -> Value {
    let l = &cfg.loki;
    let [sel, tol] = placement(&l.node_selector, &l.tolerations);
    Value::map([
        (
            "alloy",
            Value::map([(
                "configMap",
                Value::map([("content", Value::str(alloy_config(addr)))]),
            )]),
        ),
        // The chart's default DaemonSet with clustering off runs one collector per node, each
        // tailing every pod through the API: every line would reach Loki once per node.
        (
            "controller",
            Value::map([
                ("type", Value::str("deployment")),
                ("replicas", Value::Int(1)),
                sel,
                tol,
            ]),
        ),
    ])
}

// kafbat UI's values (sign-in, read-only clusters) live in `kafka_ui.rs`.
pub use super::kafka_ui::{
    KAFKA_UI_LOGIN_SECRET, KAFKA_UI_PASSWORD_KEY, kafka_ui, kafka_ui_access,
};

pub fn headlamp(cfg: &StackConfig) -> Value {
    let d = &cfg.k8dashboard;
    let [sel, tol] = placement(&d.node_selector, &d.tolerations);
    Value::map([
        // cluster-admin for the dashboard is an explicit opt-in, never the default.
        (
            "clusterRoleBinding",
            Value::map([("create", Value::Bool(d.admin_access))]),
        ),
        ("config", Value::map([("inCluster", Value::Bool(true))])),
        sel,
        tol,
    ])
}

/// Where a component's `chartValues` map lands: its config path, the release it changes, and
/// the key in that release's values it sits under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hatch {
    /// Path of the map in the stack config, e.g. `["grafana", "chartValues"]`.
    pub key: &'static [&'static str],
    pub release: &'static str,
    pub under: &'static [&'static str],
}

pub const HATCHES: &[Hatch] = &[
    Hatch {
        key: &["kafka", "chartValues"],
        release: catalog::STRIMZI.release,
        under: &[],
    },
    Hatch {
        key: &["prometheus", "chartValues"],
        release: catalog::KUBE_PROMETHEUS_STACK.release,
        under: &[],
    },
    Hatch {
        key: &["grafana", "chartValues"],
        release: catalog::KUBE_PROMETHEUS_STACK.release,
        under: &["grafana"],
    },
    Hatch {
        key: &["kminion", "chartValues"],
        release: catalog::KMINION.release,
        under: &[],
    },
    Hatch {
        key: &["loki", "chartValues"],
        release: catalog::LOKI.release,
        under: &[],
    },
    Hatch {
        key: &["loki", "alloyChartValues"],
        release: catalog::ALLOY.release,
        under: &[],
    },
    Hatch {
        key: &["ui4kafka", "chartValues"],
        release: catalog::KAFKA_UI.release,
        under: &[],
    },
    Hatch {
        key: &["k8dashboard", "chartValues"],
        release: catalog::HEADLAMP.release,
        under: &[],
    },
];

impl Hatch {
    /// The user's map for this hatch.
    pub fn values<'a>(&self, cfg: &'a StackConfig) -> &'a FreeMap {
        match self.key {
            ["kafka", _] => &cfg.kafka.chart_values,
            ["prometheus", _] => &cfg.prometheus.chart_values,
            ["grafana", _] => &cfg.grafana.chart_values,
            ["kminion", _] => &cfg.kminion.chart_values,
            ["loki", "alloyChartValues"] => &cfg.loki.alloy_chart_values,
            ["loki", _] => &cfg.loki.chart_values,
            ["ui4kafka", _] => &cfg.ui4kafka.chart_values,
            _ => &cfg.k8dashboard.chart_values,
        }
    }

    /// The chart pin this hatch's values go to, for messages and docs.
    pub fn pin(&self, cfg: &StackConfig) -> &'static ChartPin {
        if self.release == catalog::STRIMZI.release
            && cfg.kafka.mode == crate::model::stack::KafkaMode::Zookeeper
        {
            return &catalog::STRIMZI_LEGACY;
        }
        catalog::CHARTS
            .iter()
            .copied()
            .find(|p| p.release == self.release)
            .unwrap_or(&catalog::STRIMZI)
    }
}

/// A key the user set that alpaka also generates: the user's value is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub hatch: Hatch,
    /// Path below the hatch's map, e.g. `["adminUser"]`.
    pub path: Vec<String>,
}

impl Overlap {
    /// `grafana.chartValues.sidecar.datasources`
    pub fn config_path(&self) -> String {
        self.hatch
            .key
            .iter()
            .copied()
            .chain(self.path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The generated values path it replaces, e.g. `grafana.sidecar.datasources`.
    pub fn values_path(&self) -> String {
        self.hatch
            .under
            .iter()
            .copied()
            .chain(self.path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// `generated` with every hatch of `release` merged over it, and where the user's keys replaced
/// generated ones. Maps merge deeply; anything else the user sets replaces what is there.
pub fn finish(cfg: &StackConfig, release: &str, generated: Value) -> (Value, Vec<Overlap>) {
    let mut values = generated;
    let mut overlaps = Vec::new();
    for hatch in HATCHES.iter().filter(|h| h.release == release) {
        let user = hatch.values(cfg);
        if user.is_empty() {
            continue;
        }
        let Ok(Value::Map(user)) = crate::engine::value::to_value(user) else {
            continue;
        };
        let target = hatch.under.iter().try_fold(&mut values, |v, k| match v {
            Value::Map(m) => Some(
                m.entry((*k).to_owned())
                    .or_insert_with(|| Value::Map(Default::default())),
            ),
            _ => None,
        });
        let Some(target) = target else { continue };
        let mut path = Vec::new();
        let mut found = Vec::new();
        merge_into(target, user, &mut path, &mut found);
        overlaps.extend(found.into_iter().map(|path| Overlap {
            hatch: *hatch,
            path,
        }));
    }
    (values, overlaps)
}

fn merge_into(
    base: &mut Value,
    upper: std::collections::BTreeMap<String, Value>,
    path: &mut Vec<String>,
    overlaps: &mut Vec<Vec<String>>,
) {
    let Value::Map(base) = base else {
        return;
    };
    for (k, v) in upper {
        path.push(k.clone());
        match (base.get_mut(&k), v) {
            (Some(old @ Value::Map(_)), Value::Map(m)) => merge_into(old, m, path, overlaps),
            (Some(old), v) => {
                overlaps.push(path.clone());
                *old = v;
            }
            (None, v) => {
                base.insert(k, v);
            }
        }
        path.pop();
    }
}

/// What each chart alpaka would install gets from alpaka and from the user, by release name,
/// and every generated key the user replaced. Used by `validate`/`plan` to warn.
pub fn overlaps(profile_ns: &str, cfg: &StackConfig) -> Vec<Overlap> {
    let addr = Addresses {
        ns: profile_ns.to_owned(),
    };
    let mut generated: Vec<(&str, Value)> = Vec::new();
    if cfg.kafka.enabled {
        generated.push((catalog::STRIMZI.release, strimzi(cfg, profile_ns)));
    }
    if cfg.prometheus.enabled || cfg.grafana.enabled {
        generated.push((
            catalog::KUBE_PROMETHEUS_STACK.release,
            kube_prometheus_stack(cfg, &addr),
        ));
    }
    if cfg.kminion.enabled && cfg.kafka.enabled {
        generated.push((catalog::KMINION.release, kminion(cfg, &addr)));
    }
    if cfg.loki.enabled {
        generated.push((catalog::LOKI.release, loki(cfg)));
        generated.push((catalog::ALLOY.release, alloy(cfg, &addr)));
    }
    if cfg.ui4kafka.enabled && cfg.kafka.enabled {
        generated.push((catalog::KAFKA_UI.release, kafka_ui(cfg, &addr)));
    }
    if cfg.k8dashboard.enabled {
        generated.push((catalog::HEADLAMP.release, headlamp(cfg)));
    }
    generated
        .into_iter()
        .flat_map(|(release, v)| finish(cfg, release, v).1)
        .collect()
}

/// A value in a `chartValues` map that looks like a plaintext secret: its dotted path below the
/// map. Keys that *name* a secret (`existingSecret`, `passwordKey`, `secretName`, …) are fine;
/// a key that names a secret *value* (`adminPassword`, `token`, `secretAccessKey`) with a
/// non-empty scalar is not, and neither is a URL with a password in it.
pub fn secret_like(values: &FreeMap) -> Vec<String> {
    fn walk(v: &serde_json::Value, path: &mut Vec<String>, inherited: bool, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    path.push(k.clone());
                    let sensitive = (inherited || names_secret_value(k)) && !names_reference(k);
                    walk(x, path, sensitive, out);
                    path.pop();
                }
            }
            serde_json::Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(x, path, inherited, out);
                    path.pop();
                }
            }
            serde_json::Value::String(s)
                if (inherited && !s.is_empty()) || url_with_password(s) =>
            {
                out.push(path.join("."));
            }
            serde_json::Value::Number(_) if inherited => out.push(path.join(".")),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (k, v) in values {
        let mut path = vec![k.clone()];
        walk(
            v,
            &mut path,
            names_secret_value(k) && !names_reference(k),
            &mut out,
        );
    }
    out
}

fn names_secret_value(key: &str) -> bool {
    let k = key.to_lowercase();
    super::connectors::is_sensitive_key(key)
        || k.contains("passwd")
        || k.ends_with("accesskey")
        || k.ends_with("privatekey")
        || k.ends_with("secretkey")
}

/// Keys that hold the *name* of a Secret or of a key in one, a switch or a setting about
/// secrets (`tokenUrl`, `token_ttl`, `passwordMinLength`), not a secret itself.
fn names_reference(key: &str) -> bool {
    let k = key.to_lowercase().replace(['_', '-'], "");
    [
        "existingsecret",
        "secretname",
        "secretref",
        "keyref",
        "userkey",
        "passwordkey",
        "tokenkey",
        "secretkeyname",
        "file",
        "path",
        "enabled",
        "create",
        "mountpath",
        "url",
        "uri",
        "endpoint",
        "ttl",
        "timeout",
        "duration",
        "interval",
        "lifetime",
        "seconds",
        "minutes",
        "hours",
        "days",
        "length",
        "size",
        "count",
        "type",
        "mode",
        "header",
        "policy",
    ]
    .iter()
    .any(|s| k.ends_with(s))
        || matches!(k.as_str(), "name" | "key" | "optional")
}

/// `scheme://user:password@host`, or a `password=` parameter (JDBC's `?password=`,
/// SQL Server's `;password=`, `&trustStorePassword=`): a credential embedded in a URL. A
/// parameter whose value is a template (`{{ .Values.db_pass }}`) or a config-provider
/// reference (`${secrets:…}`) holds no credential itself.
pub(crate) fn url_with_password(s: &str) -> bool {
    if password_param(s) {
        return true;
    }
    let Some((_, rest)) = s.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    match authority.rsplit_once('@') {
        Some((userinfo, _)) => userinfo.split_once(':').is_some_and(|(_, p)| !p.is_empty()),
        None => false,
    }
}

/// A literal `…password=VALUE` (or `pwd=`) parameter after `?`, `;` or `&`.
fn password_param(s: &str) -> bool {
    if !s.contains("://") && !s.starts_with("jdbc:") {
        return false;
    }
    s.split(['?', ';', '&']).skip(1).any(|param| {
        let Some((name, value)) = param.split_once('=') else {
            return false;
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        (name.ends_with("password") || name == "pwd")
            && !value.is_empty()
            && !value.starts_with("{{")
            && !value.starts_with("${")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_url_parameters_are_credentials() {
        for s in [
            "jdbc:sqlserver://db:1433;databaseName=x;password=fake-pw",
            "jdbc:mysql://db:3306/x?user=u&password=fake-pw",
            "jdbc:mysql://db:3306/x?password=fake-pw",
            "jdbc:sqlserver://db;trustStorePassword=fake-pw",
            "jdbc:postgresql://u:fake-pw@db/x",
        ] {
            assert!(url_with_password(s), "{s}");
        }
        for s in [
            "jdbc:sqlserver://db;databaseName=x;password={{ .Values.db_pass }}",
            "jdbc:mysql://db/x?password=${secrets:ns/s:k}",
            "jdbc:mysql://db/x?password=",
            "jdbc:mysql://db/x?user=u",
            "password=plain but not a url",
        ] {
            assert!(!url_with_password(s), "{s}");
        }
    }

    fn addr() -> Addresses {
        Addresses {
            ns: "alpaka".into(),
        }
    }

    fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
        path.split('.').try_fold(v, |v, k| v.get(k))
    }

    fn cfg_with(hatch: &str, json: serde_json::Value) -> StackConfig {
        let mut cfg = StackConfig::default();
        cfg.loki.enabled = true;
        let serde_json::Value::Object(m) = json else {
            panic!("object")
        };
        let map: FreeMap = m.into_iter().collect();
        match hatch {
            "grafana" => cfg.grafana.chart_values = map,
            "prometheus" => cfg.prometheus.chart_values = map,
            "loki" => cfg.loki.chart_values = map,
            "alloy" => cfg.loki.alloy_chart_values = map,
            "ui4kafka" => cfg.ui4kafka.chart_values = map,
            other => panic!("{other}"),
        }
        cfg
    }

    #[test]
    fn user_values_merge_deeply_and_win() {
        let cfg = cfg_with(
            "grafana",
            serde_json::json!({"plugins": ["grafana-piechart-panel"], "sidecar": {"datasources": {"alertmanager": {"enabled": true}}}}),
        );
        let generated = kube_prometheus_stack(&cfg, &addr());
        let (v, overlaps) = finish(&cfg, "kube-prometheus-stack", generated);
        assert_eq!(
            get(&v, "grafana.plugins"),
            Some(&Value::List(vec![Value::str("grafana-piechart-panel")]))
        );
        // The user's switch wins; the generated siblings stay.
        assert_eq!(
            get(&v, "grafana.sidecar.datasources.alertmanager.enabled"),
            Some(&Value::Bool(true))
        );
        assert_eq!(
            get(&v, "grafana.admin.existingSecret"),
            Some(&Value::str("grafana-admin"))
        );
        assert_eq!(overlaps.len(), 1, "{overlaps:?}");
        assert_eq!(
            overlaps[0].config_path(),
            "grafana.chartValues.sidecar.datasources.alertmanager.enabled"
        );
        assert_eq!(
            overlaps[0].values_path(),
            "grafana.sidecar.datasources.alertmanager.enabled"
        );
    }

    #[test]
    fn prometheus_hatch_sits_at_the_chart_root() {
        let cfg = cfg_with(
            "prometheus",
            serde_json::json!({"prometheus": {"prometheusSpec": {"additionalScrapeConfigs": [{"job_name": "x"}], "retention": "30d"}}}),
        );
        let (v, overlaps) = finish(
            &cfg,
            "kube-prometheus-stack",
            kube_prometheus_stack(&cfg, &addr()),
        );
        assert!(get(&v, "prometheus.prometheusSpec.additionalScrapeConfigs").is_some());
        assert_eq!(
            get(&v, "prometheus.prometheusSpec.retention"),
            Some(&Value::str("30d"))
        );
        let paths: Vec<String> = overlaps.iter().map(Overlap::values_path).collect();
        assert_eq!(paths, ["prometheus.prometheusSpec.retention"]);
    }

    #[test]
    fn a_hatch_changes_only_its_own_release() {
        let cfg = cfg_with("alloy", serde_json::json!({"controller": {"replicas": 2}}));
        let (loki_values, o) = finish(&cfg, "loki", loki(&cfg));
        assert_eq!(loki_values, loki(&cfg));
        assert!(o.is_empty());
        let (v, o) = finish(&cfg, "alloy", alloy(&cfg, &addr()));
        assert_eq!(get(&v, "controller.replicas"), Some(&Value::Int(2)));
        assert_eq!(o.len(), 1);
        assert_eq!(overlaps("alpaka", &cfg).len(), 1);
    }

    #[test]
    fn every_hatch_reads_its_own_map() {
        for h in HATCHES {
            let mut cfg = StackConfig::default();
            let m: FreeMap = [("marker".to_owned(), serde_json::json!(h.key.join(".")))].into();
            match h.key {
                ["kafka", _] => cfg.kafka.chart_values = m,
                ["prometheus", _] => cfg.prometheus.chart_values = m,
                ["grafana", _] => cfg.grafana.chart_values = m,
                ["kminion", _] => cfg.kminion.chart_values = m,
                ["loki", "alloyChartValues"] => cfg.loki.alloy_chart_values = m,
                ["loki", _] => cfg.loki.chart_values = m,
                ["ui4kafka", _] => cfg.ui4kafka.chart_values = m,
                ["k8dashboard", _] => cfg.k8dashboard.chart_values = m,
                other => panic!("{other:?}"),
            }
            assert_eq!(h.values(&cfg)["marker"], serde_json::json!(h.key.join(".")));
            assert_eq!(h.pin(&cfg).release, h.release);
        }
    }

    #[test]
    fn loki_runs_alone_without_caches_gateway_or_canary() {
        let v = loki(&StackConfig::default());
        for off in [
            "chunksCache",
            "resultsCache",
            "gateway",
            "lokiCanary",
            "test",
        ] {
            assert_eq!(
                get(&v, &format!("{off}.enabled")),
                Some(&Value::Bool(false)),
                "{off}"
            );
        }
        for zero in ["write", "read", "backend"] {
            assert_eq!(get(&v, &format!("{zero}.replicas")), Some(&Value::Int(0)));
        }
        assert_eq!(get(&v, "singleBinary.replicas"), Some(&Value::Int(1)));
    }

    #[test]
    fn placement_reaches_the_operator_its_webhook_jobs_and_kube_state_metrics() {
        let mut cfg = StackConfig::default();
        cfg.prometheus.node_selector = [("alpaka/node-type".to_owned(), "infra".to_owned())].into();
        let v = kube_prometheus_stack(&cfg, &addr());
        for path in [
            "prometheus.prometheusSpec.nodeSelector",
            "prometheusOperator.nodeSelector",
            "prometheusOperator.admissionWebhooks.patch.nodeSelector",
            "kube-state-metrics.nodeSelector",
        ] {
            assert_eq!(
                get(&v, &format!("{path}.alpaka/node-type")),
                Some(&Value::str("infra")),
                "{path}"
            );
        }
        assert_eq!(
            get(&v, "grafana.sidecar.datasources.alertmanager.enabled"),
            Some(&Value::Bool(false))
        );
        assert_eq!(get(&v, "alertmanager.enabled"), Some(&Value::Bool(false)));
    }

    #[test]
    fn loki_placement_reaches_alloy() {
        let mut cfg = StackConfig::default();
        cfg.loki.node_selector = [("alpaka/node-type".to_owned(), "infra".to_owned())].into();
        let v = alloy(&cfg, &addr());
        assert_eq!(
            get(&v, "controller.nodeSelector.alpaka/node-type"),
            Some(&Value::str("infra"))
        );
        assert_eq!(get(&v, "controller.type"), Some(&Value::str("deployment")));
        assert_eq!(get(&v, "controller.replicas"), Some(&Value::Int(1)));
    }

    #[test]
    fn secrets_are_found_and_references_are_not() {
        let m: FreeMap = serde_json::from_value(serde_json::json!({
            "adminPassword": "hunter2",
            "admin": {"existingSecret": "grafana-admin", "passwordKey": "admin-password"},
            "envRenderSecret": {"GF_DB_PASSWORD": "x"},
            "datasources": [{"url": "postgres://u:pw@db:5432/x"}, {"url": "http://prom:9090"}],
            "auth": {"token": "", "secretName": "kafbat-auth"},
            "storage": {"s3": {"secretAccessKey": "abc", "accessKeyId": "AKIA"}},
            "ldap": {"bindPassword": 1234},
            "plugins": ["grafana-piechart-panel"],
            "secret": {"enabled": true, "name": "x"},
            "oauth": {"generic_oauth": {"token_url": "https://idp/token", "token_ttl": 3600}},
            "security": {"passwordMinLength": 12, "secretKeyRotation": {"interval": "24h"}}
        }))
        .unwrap();
        let mut found = secret_like(&m);
        found.sort();
        assert_eq!(
            found,
            [
                "adminPassword",
                "datasources.0.url",
                "envRenderSecret.GF_DB_PASSWORD",
                "ldap.bindPassword",
                "storage.s3.secretAccessKey",
            ]
        );
    }

    #[test]
    fn the_alloy_pipeline_labels_every_stream() {
        let text = alloy_config(&addr());
        // Targets reach the source only through the relabel step, which keeps the labels the
        // source would drop (it drops everything starting with `__`).
        assert!(text.contains("targets    = discovery.relabel.pods.output"));
        assert!(!text.contains("discovery.kubernetes.pods.targets\n  forward_to"));
        for (source, target) in [
            ("__meta_kubernetes_namespace", "namespace"),
            ("__meta_kubernetes_pod_name", "pod"),
            ("__meta_kubernetes_pod_container_name", "container"),
            ("__meta_kubernetes_pod_label_app_kubernetes_io_name", "app"),
        ] {
            let rule = format!(
                "source_labels = [\"{source}\"]\n    regex         = \"(.+)\"\n    target_label  = \"{target}\""
            );
            assert!(text.contains(&rule), "{target}: {text}");
        }
        // app.kubernetes.io/name comes after the plain `app` label, so it wins where set.
        let plain = text.find("__meta_kubernetes_pod_label_app\"").unwrap();
        let k8s = text
            .find("__meta_kubernetes_pod_label_app_kubernetes_io_name")
            .unwrap();
        assert!(plain < k8s);
        assert!(text.contains("http://loki.alpaka.svc:3100/loki/api/v1/push"));
    }
}
