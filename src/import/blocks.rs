//! One function per block of the original chart's values: what each key becomes.

use serde_json::{Value as Json, json};

use super::effective::bitnami_number;
use super::{Out, entries};
use crate::config::yaml::Node;
use crate::model::Distribution;

const DERIVED: &str = "wiring alpaka derives (service addresses, release names)";

/// The seed's own images were all built `FROM bitnami/kafka:latest`, which no longer resolves.
pub(super) fn is_seed_image(n: &Node) -> bool {
    n.get("image")
        .and_then(Node::as_str)
        .is_some_and(|i| i.starts_with("haje01/"))
}

/// `enabled`, `nodeSelector`, `tolerations`, replica counts: the keys every block shares.
/// Returns false for any other key.
fn common(block: &str, k: &str, n: &Node, out: &mut Out) -> bool {
    match k {
        // Only Kafka and ksqlDB have an alpaka replica count; the charts' own go by chartValues.
        "enabled" | "tolerations" | "replicaCount"
            if k != "replicaCount" || matches!(block, "kafka" | "ksqldb") =>
        {
            keep(out, n, &format!("{block}.{k}"), &[block, k], n.to_json());
            true
        }
        "nodeSelector" => {
            out.node_selector(n, &[block, "nodeSelector"]);
            true
        }
        _ => false,
    }
}

/// Set `to` to `v`, the value of `n` at `key` kept as it was. A value the chart's defaults gave
/// is reported (and written only where alpaka's own default differs).
fn keep(out: &mut Out, n: &Node, key: &str, to: &[&str], v: Json) {
    out.set(to, v);
    if Out::is_default(n) {
        out.moved(n, key, &to.join("."), "");
    }
}

/// A per-service Ingress of the original (the EKS samples): when on, the UI gets alpaka's
/// Ingress whatever the shared switch says; its host and ALB listen port become the
/// component's `host` and `port`; alpaka makes the Ingress itself (see [`finish_ingress`]).
fn service_ingress(component: &'static str, key: &str, n: &Node, out: &mut Out) {
    let on = n.get("enabled").map(Node::to_json) == Some(json!(true));
    let mut seen = super::UiIngress {
        component,
        key: key.to_owned(),
        line: out.line(n),
        on,
        port: None,
        internet_facing: false,
    };
    for (k, v) in entries(n) {
        let path = format!("{key}.{}", k.name);
        match k.name.as_str() {
            "enabled" => {}
            "hostname" | "host" if v.as_str() == Some("*") => out.dropped(
                v,
                &path,
                "any host: alpaka's Ingress without a certificate answers every host on its listen port",
            ),
            "hostname" | "host" if v.as_str().is_some() => {
                out.set(&[component, "host"], v.to_json());
                out.moved(v, &path, &format!("{component}.host"), "");
            }
            "annotations" => {
                for (ak, av) in entries(v) {
                    let apath = format!("{path}.{}", ak.name);
                    let port = (ak.name == crate::stack::ingress::LISTEN_PORTS)
                        .then(|| av.as_str().and_then(listen_port))
                        .flatten();
                    match port {
                        Some(p) => {
                            seen.port = Some(p);
                            out.set(&[component, "port"], json!(p));
                            out.moved(av, &apath, &format!("{component}.port"), "the ALB listen port");
                        }
                        None => alb_annotation(&ak.name, av, &apath, out, &mut seen.internet_facing),
                    }
                }
            }
            _ => out.dropped(v, &path, "alpaka makes one Ingress per UI itself"),
        }
    }
    out.ui_ingresses.push(seen);
}

/// An ALB annotation of the original (shared or per-chart block): what public exposure needs
/// (certificate, source CIDRs) is kept for [`finish_ingress`]; the group is a change of meaning.
fn alb_annotation(name: &str, v: &Node, path: &str, out: &mut Out, internet_facing: &mut bool) {
    let text = v.as_str().unwrap_or_default();
    match name {
        crate::stack::ingress::SCHEME if text == "internet-facing" => {
            *internet_facing = true;
            out.dropped(v, path, alb_reason(name, v));
        }
        crate::stack::ingress::CERTIFICATE_ARN if !text.is_empty() => {
            out.set(&["ingress", "certificateArn"], json!(text));
            out.moved(v, path, "ingress.certificateArn", "");
        }
        crate::stack::ingress::INBOUND_CIDRS if !text.is_empty() => {
            let cidrs: Vec<Json> = text.split(',').map(|c| json!(c.trim())).collect();
            out.set(&["ingress", "inboundCidrs"], Json::Array(cidrs));
            out.moved(v, path, "ingress.inboundCidrs", "");
        }
        "alb.ingress.kubernetes.io/group.name" => {
            if out.alb_group.is_none() {
                out.alb_group = Some((out.line(v), path.to_owned(), text.to_owned()));
            }
            out.dropped(v, path, alb_reason(name, v));
        }
        _ => out.dropped(v, path, alb_reason(name, v)),
    }
}

/// Settled once every block is read: per-chart ingresses that were on give their UIs alpaka's
/// Ingresses even where the shared switch was off (Prometheus's through `prometheus.expose`);
/// exposure stays internal unless the file gave what `ingress.public` needs; each UI gets a
/// line saying what the original exposed and how to expose it.
pub(super) fn finish_ingress(out: &mut Out) {
    let on: Vec<super::UiIngress> = out.ui_ingresses.iter().filter(|u| u.on).cloned().collect();
    if on.is_empty() {
        return;
    }
    if out.get(&["ingress", "enabled"]) == Some(&json!(false)) {
        let mut nums: Vec<u32> = on.iter().map(|u| u.line).collect();
        nums.sort_unstable();
        let lines: Vec<String> = nums.iter().map(u32::to_string).collect();
        let line = out.shared_ingress_line.unwrap_or(on[0].line);
        out.note(
            line,
            "ingress.enabled",
            format!(
                "false → true: the charts' own ingress blocks (lines {}) were on, so the original served those UIs; alpaka's switch for its Ingresses is `ingress.enabled`",
                lines.join(", ")
            ),
        );
    }
    out.set(&["ingress", "enabled"], json!(true));
    let public_ready = out.get(&["ingress", "certificateArn"]).is_some()
        && out
            .get(&["ingress", "inboundCidrs"])
            .and_then(Json::as_array)
            .is_some_and(|c| {
                !c.is_empty()
                    && c.iter()
                        .all(|x| !matches!(x.as_str(), Some("0.0.0.0/0" | "::/0")))
            });
    let internet = on.iter().any(|u| u.internet_facing);
    if internet && public_ready {
        out.set(&["ingress", "public"], json!(true));
    }
    for u in &on {
        if u.component == "prometheus" {
            out.set(&["prometheus", "expose"], json!(true));
        }
        let port = u.port.map_or_else(String::new, |p| format!(" on port {p}"));
        // One ALB group shares one scheme: any of them internet-facing made all of them so.
        let was = if u.internet_facing || (internet && out.alb_group.is_some()) {
            "an internet-facing ALB over HTTP, without sign-in"
        } else {
            "its own Ingress"
        };
        let now = if out.distribution != Distribution::Eks {
            "alpaka's Ingress on the distribution's ingress controller".to_owned()
        } else if internet && public_ready {
            "alpaka's internet-facing ALB over HTTPS, limited to ingress.inboundCidrs".to_owned()
        } else {
            "alpaka's internal ALB (reachable from the VPC)".to_owned()
        };
        let how = if out.distribution == Distribution::Eks && !(internet && public_ready) {
            "; to expose it publicly set `ingress.public: true` with `ingress.certificateArn` and `ingress.auth` or narrowed `ingress.inboundCidrs`"
        } else {
            ""
        };
        let extra = if u.component == "prometheus" {
            " (`prometheus.expose: true`: Prometheus has no sign-in)"
        } else {
            ""
        };
        let line = u.line;
        let key = u.key.clone();
        out.note(
            line,
            &key,
            format!(
                "the original served {} on {was}{port}; imported as {now}{extra}{how}",
                u.component
            ),
        );
    }
}

/// Why an ALB annotation of the original is dropped. Its EKS sample put every UI on an
/// internet-facing ALB over HTTP; an import is internal, which `validate` accepts as is.
fn alb_reason(name: &str, v: &Node) -> &'static str {
    if name == crate::stack::ingress::SCHEME && v.as_str() == Some("internet-facing") {
        "the original's ALB was internet-facing over HTTP; alpaka's is internal (`ingress.public: true` needs `certificateArn` plus `auth` or `inboundCidrs`)"
    } else {
        "alpaka annotates the Ingresses it makes (one ALB group, a listen port per UI)"
    }
}

/// `[{"HTTP": 3000}]` → 3000.
pub(super) fn listen_port(s: &str) -> Option<u16> {
    let v: Json = serde_json::from_str(s).ok()?;
    let first = v.as_array()?.first()?.as_object()?;
    first
        .values()
        .next()?
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
}

pub(super) fn kafka(n: &Node, out: &mut Out) {
    // bitnami/kafka's broker settings that Strimzi takes as `spec.kafka.config`.
    const BROKER: &[(&str, &str)] = &[
        ("logRetentionHours", "log.retention.hours"),
        ("logRetentionBytes", "log.retention.bytes"),
        (
            "logRetentionCheckIntervalMs",
            "log.retention.check.interval.ms",
        ),
        ("logSegmentBytes", "log.segment.bytes"),
        ("deleteTopicEnable", "delete.topic.enable"),
        ("autoCreateTopicsEnable", "auto.create.topics.enable"),
        ("maxMessageBytes", "message.max.bytes"),
    ];
    for (key, v) in entries(n) {
        let k = key.name.as_str();
        let path = format!("kafka.{k}");
        if matches!(k, "defaultReplicationFactor" | "numPartitions") {
            keep(out, v, &path, &["kafka", k], bitnami_number(&v.to_json()));
            continue;
        }
        if common("kafka", k, v, out) {
            continue;
        }
        if let Some((_, setting)) = BROKER.iter().find(|(b, _)| *b == k) {
            out.set(&["kafka", "config", setting], bitnami_number(&v.to_json()));
            out.moved(v, &path, &format!("kafka.config.{setting}"), "");
            continue;
        }
        match k {
            "offsetsTopicReplicationFactor" | "transactionStateLogReplicationFactor" => out
                .dropped(
                    v,
                    &path,
                    "alpaka derives it from kafka.defaultReplicationFactor",
                ),
            "persistence" => {
                for (pk, pv) in entries(v) {
                    let ppath = format!("{path}.{}", pk.name);
                    match pk.name.as_str() {
                        "size" => {
                            out.set(&["kafka", "storage", "size"], pv.to_json());
                            out.moved(pv, &ppath, "kafka.storage.size", "");
                        }
                        "storageClass" => {
                            out.set(&["kafka", "storage", "storageClass"], pv.to_json());
                            out.moved(pv, &ppath, "kafka.storage.storageClass", "");
                        }
                        "enabled" if pv.to_json() == json!(false) => {
                            out.set(&["kafka", "storage", "type"], json!("ephemeral"));
                            out.moved(pv, &ppath, "kafka.storage.type: ephemeral", "");
                        }
                        "enabled" => {}
                        _ => out.dropped(
                            pv,
                            &ppath,
                            "bitnami/kafka persistence key; alpaka's is kafka.storage",
                        ),
                    }
                }
            }
            "zookeeper" => out.dropped(
                v,
                &path,
                "ZooKeeper sub-block: alpaka runs Kafka in KRaft mode",
            ),
            "metrics" => kafka_metrics(v, &path, out),
            _ => out.dropped(
                v,
                &path,
                "bitnami/kafka chart key; alpaka runs Kafka with Strimzi",
            ),
        }
    }
}

/// bitnami/kafka's `metrics`: the ServiceMonitor's interval and timeout carry over to the
/// PodMonitor alpaka scrapes Strimzi's metrics with; the exporters themselves are Strimzi's.
fn kafka_metrics(n: &Node, path: &str, out: &mut Out) {
    const PODMONITOR: &str =
        "alpaka exports Strimzi's Kafka metrics (kafka.metrics) and scrapes them with a PodMonitor";
    for (k, v) in entries(n) {
        let mpath = format!("{path}.{}", k.name);
        if k.name != "serviceMonitor" {
            out.dropped(v, &mpath, PODMONITOR);
            continue;
        }
        for (sk, sv) in entries(v) {
            let spath = format!("{mpath}.{}", sk.name);
            match sk.name.as_str() {
                "interval" => {
                    out.set(&["kafka", "scrapeInterval"], sv.to_json());
                    out.moved(sv, &spath, "kafka.scrapeInterval", "");
                }
                "scrapeTimeout" => {
                    out.set(&["kafka", "scrapeTimeout"], sv.to_json());
                    out.moved(sv, &spath, "kafka.scrapeTimeout", "");
                }
                "enabled" => {}
                _ => out.dropped(sv, &spath, PODMONITOR),
            }
        }
    }
}

pub(super) fn ksqldb(n: &Node, out: &mut Out) {
    for (key, v) in entries(n) {
        let k = key.name.as_str();
        if common("ksqldb", k, v, out) {
            continue;
        }
        let path = format!("ksqldb.{k}");
        match k {
            "ksqldb" => out.dropped(
                v,
                &path,
                format!("the forked ksqlDB chart's {DERIVED}: alpaka runs cp-ksqldb-server wired to its Kafka"),
            ),
            _ => out.dropped(v, &path, "key of the forked ksqlDB chart; alpaka runs ksqlDB as its own Deployment"),
        }
    }
}

pub(super) fn ui4kafka(n: &Node, out: &mut Out) {
    for (key, v) in entries(n) {
        let k = key.name.as_str();
        if common("ui4kafka", k, v, out) {
            continue;
        }
        let path = format!("ui4kafka.{k}");
        match k {
            "yamlApplicationConfig" => {
                for (yk, yv) in entries(v) {
                    let ypath = format!("{path}.{}", yk.name);
                    if yk.name == "kafka" {
                        out.dropped(yv, &ypath, format!("the clusters' {DERIVED}: alpaka lists its Kafka, Connects and ksqlDB"));
                    } else {
                        chart_value(
                            yv,
                            &ypath,
                            &["ui4kafka", "chartValues", "yamlApplicationConfig", &yk.name],
                            out,
                        );
                    }
                }
            }
            "ingress" => service_ingress("ui4kafka", &path, v, out),
            // kafbat's chart is the maintained fork of the one the original used: same keys.
            _ => chart_value(v, &path, &["ui4kafka", "chartValues", k], out),
        }
    }
}

/// Move a value under a `chartValues` map, unless it holds a plaintext secret.
fn chart_value(v: &Node, path: &str, to: &[&str], out: &mut Out) {
    let json = v.to_json();
    let probe: crate::model::stack::FreeMap = [("v".to_owned(), json.clone())].into();
    let last = to.last().copied().unwrap_or_default();
    let probe_named: crate::model::stack::FreeMap = [(last.to_owned(), json.clone())].into();
    if !crate::stack::charts::secret_like(&probe).is_empty()
        || !crate::stack::charts::secret_like(&probe_named).is_empty()
    {
        out.dropped(
            v,
            path,
            "holds a plaintext secret: put it in a Kubernetes Secret and point the chart at it (chartValues keeps no secrets)",
        );
        return;
    }
    out.set(to, json);
    out.moved(v, path, &to.join("."), "the new chart takes the same key");
}

pub(super) fn k8dashboard(n: &Node, out: &mut Out) {
    const GONE: &str = "Kubernetes Dashboard option; Headlamp, its successor, has no equivalent";
    for (key, v) in entries(n) {
        let k = key.name.as_str();
        if common("k8dashboard", k, v, out) {
            continue;
        }
        let path = format!("k8dashboard.{k}");
        match k {
            "service" => {
                for (sk, sv) in entries(v) {
                    let spath = format!("{path}.{}", sk.name);
                    if sk.name == "externalPort" {
                        out.set(&["k8dashboard", "port"], sv.to_json());
                        out.moved(sv, &spath, "k8dashboard.port", "");
                    } else {
                        out.dropped(sv, &spath, GONE);
                    }
                }
            }
            "ingress" => service_ingress("k8dashboard", &path, v, out),
            _ => out.dropped(v, &path, GONE),
        }
    }
}

pub(super) fn prometheus(n: &Node, out: &mut Out) {
    const OTHER: &str = "bitnami kube-prometheus key; kube-prometheus-stack takes other keys (prometheus.chartValues)";
    let mut operator_selector: Option<(&Node, String)> = None;
    for (key, v) in entries(n) {
        let k = key.name.as_str();
        if common("prometheus", k, v, out) {
            continue;
        }
        let path = format!("prometheus.{k}");
        match k {
            "prometheus" => {
                for (pk, pv) in entries(v) {
                    let ppath = format!("{path}.{}", pk.name);
                    match pk.name.as_str() {
                        "enabled" => {}
                        "nodeSelector" => {
                            out.node_selector(pv, &["prometheus", "nodeSelector"]);
                            out.moved(
                                pv,
                                &ppath,
                                "prometheus.nodeSelector",
                                "also places the operator and kube-state-metrics",
                            );
                        }
                        "tolerations" => {
                            out.set(&["prometheus", "tolerations"], pv.to_json());
                            out.moved(pv, &ppath, "prometheus.tolerations", "");
                        }
                        "retention" => {
                            out.set(&["prometheus", "retention"], pv.to_json());
                            out.moved(pv, &ppath, "prometheus.retention", "");
                        }
                        "additionalScrapeConfigs" => scrape_jobs(pv, &ppath, out),
                        "ingress" => service_ingress("prometheus", &ppath, pv, out),
                        _ => out.dropped(pv, &ppath, OTHER),
                    }
                }
            }
            "operator" => {
                for (ok, ov) in entries(v) {
                    let opath = format!("{path}.{}", ok.name);
                    if ok.name == "nodeSelector" {
                        operator_selector = Some((ov, opath));
                    } else {
                        out.dropped(ov, &opath, OTHER);
                    }
                }
            }
            "alertmanager" => alertmanager(v, &path, out),
            "blackboxExporter" => out.dropped(v, &path, "alpaka runs no blackbox exporter"),
            "ingress" => service_ingress("prometheus", &path, v, out),
            _ => out.dropped(v, &path, OTHER),
        }
    }
    if let Some((sel, path)) = operator_selector {
        let same = out.get(&["prometheus", "nodeSelector"]) == Some(&sel.to_json());
        if same {
            out.dropped(
                sel,
                &path,
                "prometheus.nodeSelector places the operator too",
            );
        } else {
            out.node_selector(
                sel,
                &[
                    "prometheus",
                    "chartValues",
                    "prometheusOperator",
                    "nodeSelector",
                ],
            );
            out.moved(
                sel,
                &path,
                "prometheus.chartValues.prometheusOperator.nodeSelector",
                "",
            );
        }
    }
}

/// The original ran an Alertmanager (with the chart's default rules, receivers in its values):
/// alpaka's runs with its own rules for this platform; receivers come from a Secret.
fn alertmanager(n: &Node, path: &str, out: &mut Out) {
    for (k, v) in entries(n) {
        let apath = format!("{path}.{}", k.name);
        match k.name.as_str() {
            "enabled" => {
                let on = v.to_json() == json!(true);
                out.set(&["prometheus", "alertmanager", "enabled"], json!(on));
                if on {
                    out.moved(
                        v,
                        &apath,
                        "prometheus.alertmanager.enabled",
                        "the original ran an Alertmanager; alpaka's alerts are its own rules for this platform (offline/under-replicated partitions, broker down, consumer lag, failed connectors/tasks, volumes filling); receivers come from a Secret (`prometheus.alertmanager.configSecret`, key alertmanager.yaml), until then alerts show in Alertmanager's UI and Grafana only",
                    );
                }
            }
            "retention" => keep(out, v, &apath, &["prometheus", "alertmanager", "retention"], v.to_json()),
            "nodeSelector" | "tolerations" => out.dropped(
                v,
                &apath,
                "alpaka places Alertmanager with Prometheus (prometheus.nodeSelector/tolerations)",
            ),
            "config" => out.dropped(
                v,
                &apath,
                "Alertmanager's configuration (receivers and their credentials) belongs in a Secret: create one with key alertmanager.yaml and name it in prometheus.alertmanager.configSecret",
            ),
            _ => out.dropped(v, &apath, "bitnami kube-prometheus Alertmanager key; alpaka's is prometheus.alertmanager"),
        }
    }
}

/// `additionalScrapeConfigs.internal.jobList`: jobs for exporters alpaka wires itself are
/// dropped; the user's own go to kube-prometheus-stack's `additionalScrapeConfigs`.
fn scrape_jobs(n: &Node, path: &str, out: &mut Out) {
    let jobs = n.get("internal").and_then(|i| i.get("jobList"));
    for (k, v) in entries(n) {
        if !matches!(k.name.as_str(), "internal" | "enabled" | "type") {
            out.dropped(
                v,
                &format!("{path}.{}", k.name),
                "bitnami kube-prometheus scrape option",
            );
        }
    }
    for job in jobs.map(Node::as_seq).unwrap_or_default() {
        let name = job.get("job_name").and_then(Node::as_str).unwrap_or("?");
        let jpath = format!("{path}.internal.jobList[{name}]");
        let text = job.to_json().to_string();
        if text.contains("kminion") {
            out.dropped(
                job,
                &jpath,
                "alpaka scrapes KMinion through its ServiceMonitor",
            );
        } else if text.contains("zookeeper") {
            out.dropped(
                job,
                &jpath,
                "no ZooKeeper in KRaft mode; Strimzi's metrics come through a PodMonitor",
            );
        } else {
            out.push(
                &[
                    "prometheus",
                    "chartValues",
                    "prometheus",
                    "prometheusSpec",
                    "additionalScrapeConfigs",
                ],
                job.to_json(),
            );
            out.moved(
                job,
                &jpath,
                "prometheus.chartValues.prometheus.prometheusSpec.additionalScrapeConfigs",
                "the same Prometheus scrape_config",
            );
        }
    }
}

pub(super) fn grafana(n: &Node, out: &mut Out) {
    const OTHER: &str =
        "bitnami grafana key; the Grafana subchart takes other keys (grafana.chartValues)";
    for (key, v) in entries(n) {
        let k = key.name.as_str();
        if common("grafana", k, v, out) {
            continue;
        }
        let path = format!("grafana.{k}");
        match k {
            "grafana" => {
                for (gk, gv) in entries(v) {
                    let gpath = format!("{path}.{}", gk.name);
                    match gk.name.as_str() {
                        "nodeSelector" => {
                            out.node_selector(gv, &["grafana", "nodeSelector"]);
                            out.moved(gv, &gpath, "grafana.nodeSelector", "");
                        }
                        _ => out.dropped(gv, &gpath, OTHER),
                    }
                }
            }
            "admin" => {
                for (ak, av) in entries(v) {
                    let apath = format!("{path}.{}", ak.name);
                    match ak.name.as_str() {
                        "user" => {
                            out.set(&["grafana", "adminUser"], av.to_json());
                            out.moved(av, &apath, "grafana.adminUser", "");
                        }
                        "password" => out.dropped(
                            av,
                            &apath,
                            "plaintext password: alpaka generates the admin password into Secret grafana-admin (`alpaka notes` shows how to read it)",
                        ),
                        _ => out.dropped(av, &apath, OTHER),
                    }
                }
            }
            "adminSecretName" => out.dropped(v, &path, format!("{DERIVED}: alpaka's Secret is grafana-admin")),
            "persistence" => {
                for (pk, pv) in entries(v) {
                    let ppath = format!("{path}.{}", pk.name);
                    let to = match pk.name.as_str() {
                        "enabled" => "enabled",
                        "size" => "size",
                        "storageClass" | "storageClassName" => "storageClass",
                        _ => {
                            out.dropped(pv, &ppath, "not a key of alpaka's grafana.persistence");
                            continue;
                        }
                    };
                    out.set(&["grafana", "persistence", to], pv.to_json());
                    out.moved(pv, &ppath, &format!("grafana.persistence.{to}"), "");
                }
            }
            "datasources" => out.dropped(v, &path, "alpaka provisions the Prometheus (and Loki) datasources"),
            "dashboardsProvider" | "dashboardsConfigMaps" => out.dropped(
                v,
                &path,
                "alpaka provisions KMinion's dashboards by grafana.com id and Strimzi's (grafana.dashboards); the ZooKeeper and JMX dashboards do not fit Strimzi's KRaft metrics",
            ),
            "ingress" => service_ingress("grafana", &path, v, out),
            _ => out.dropped(v, &path, OTHER),
        }
    }
}

pub(super) fn loki(n: &Node, out: &mut Out) {
    for (key, v) in entries(n) {
        let k = key.name.as_str();
        if common("loki", k, v, out) {
            continue;
        }
        let path = format!("loki.{k}");
        match k {
            "retention_period" => out.set(&["loki", "retention_period"], v.to_json()),
            _ => out.dropped(
                v,
                &path,
                "bitnami grafana-loki key; alpaka runs grafana-community's loki chart (loki.chartValues)",
            ),
        }
    }
}

pub(super) fn kminion(n: &Node, out: &mut Out) {
    for (key, v) in entries(n) {
        let k = key.name.as_str();
        if common("kminion", k, v, out) {
            continue;
        }
        let path = format!("kminion.{k}");
        if k != "kminion" {
            chart_value(v, &path, &["kminion", "chartValues", k], out);
            continue;
        }
        for (mk, mv) in entries(v) {
            let mpath = format!("{path}.{}", mk.name);
            match mk.name.as_str() {
                "exporter" => out.dropped(
                    mv,
                    &mpath,
                    format!("{DERIVED}: Prometheus finds KMinion through its ServiceMonitor"),
                ),
                "config" => {
                    for (ck, cv) in entries(mv) {
                        let cpath = format!("{mpath}.{}", ck.name);
                        if ck.name == "kafka" {
                            for (kk, kv) in entries(cv) {
                                let kpath = format!("{cpath}.{}", kk.name);
                                if kk.name == "brokers" {
                                    out.dropped(
                                        kv,
                                        &kpath,
                                        format!("{DERIVED}: alpaka points KMinion at its Kafka"),
                                    );
                                } else {
                                    chart_value(
                                        kv,
                                        &kpath,
                                        &[
                                            "kminion",
                                            "chartValues",
                                            "kminion",
                                            "config",
                                            "kafka",
                                            &kk.name,
                                        ],
                                        out,
                                    );
                                }
                            }
                        } else {
                            chart_value(
                                cv,
                                &cpath,
                                &["kminion", "chartValues", "kminion", "config", &ck.name],
                                out,
                            );
                        }
                    }
                }
                other => chart_value(
                    mv,
                    &mpath,
                    &["kminion", "chartValues", "kminion", other],
                    out,
                ),
            }
        }
    }
}

pub(super) fn ingress(n: &Node, out: &mut Out) {
    let default_class = match out.distribution {
        Distribution::Minikube => "nginx",
        Distribution::K3d | Distribution::K3s => "traefik",
        Distribution::Eks => "alb",
    };
    for (key, v) in entries(n) {
        let k = key.name.as_str();
        let path = format!("ingress.{k}");
        match k {
            "enabled" => {
                out.shared_ingress_line = Some(out.line(v));
                out.set(&["ingress", "enabled"], v.to_json());
            }
            "annotations" => {
                for (ak, av) in entries(v) {
                    let apath = format!("{path}.{}", ak.name);
                    let name = ak.name.as_str();
                    if name == "kubernetes.io/ingress.class" {
                        match av.as_str() {
                            Some(c) if c == default_class => out.dropped(
                                av,
                                &apath,
                                format!("alpaka uses class {c} on this distribution (ingressClassName, not the deprecated annotation)"),
                            ),
                            Some(c) => {
                                out.set(&["ingress", "className"], json!(c));
                                out.moved(av, &apath, "ingress.className", "the annotation is deprecated");
                            }
                            None => out.dropped(av, &apath, "not a class name"),
                        }
                    } else if name.starts_with("alb.ingress.kubernetes.io/") {
                        let mut internet = false;
                        alb_annotation(name, av, &apath, out, &mut internet);
                    } else {
                        out.set(&["ingress", "annotations", name], av.to_json());
                    }
                }
            }
            "hosts" => {
                let hosts: Vec<&Node> = if entries(v).is_empty() {
                    v.as_seq().iter().collect()
                } else {
                    entries(v).iter().map(|(_, x)| x).collect()
                };
                for h in hosts {
                    let host = h
                        .as_str()
                        .or_else(|| h.get("host").and_then(Node::as_str))
                        .unwrap_or("");
                    match component_of_host(host) {
                        Some(c) => {
                            out.set(&[c, "host"], json!(host));
                            out.moved(h, &format!("{path}[{host}]"), &format!("{c}.host"), "");
                        }
                        None => out.dropped(h, &format!("{path}[{host}]"), "names no UI alpaka serves (grafana, prometheus, ui4kafka, k8dashboard)"),
                    }
                }
            }
            _ => out.dropped(
                v,
                &path,
                "alpaka makes the Ingresses from each UI's host and port",
            ),
        }
    }
}

pub(super) fn component_of_host(host: &str) -> Option<&'static str> {
    let first = host.split('.').next()?.to_lowercase();
    match first.as_str() {
        s if s.contains("grafana") => Some("grafana"),
        s if s.contains("prometheus") => Some("prometheus"),
        s if s.contains("ui4kafka") || s.contains("kafka-ui") || s.contains("kafbat") => {
            Some("ui4kafka")
        }
        s if s.contains("dashboard") || s.contains("headlamp") => Some("k8dashboard"),
        _ => None,
    }
}

pub(super) fn tool(n: &Node, out: &mut Out) {
    for (key, v) in entries(n) {
        let k = key.name.as_str();
        if common("tool", k, v, out) {
            continue;
        }
        let path = format!("tool.{k}");
        match k {
            "container" if is_seed_image(v) => out.dropped(
                v,
                &path,
                "the original tool image was built FROM bitnami/kafka:latest, which no longer resolves; alpaka's tool image is the default",
            ),
            "container" => out.set(&["tool", "container"], v.to_json()),
            // The original's tool Deployment took these as they are; so does alpaka's.
            "dnsConfig" | "affinity" | "podLabels" | "podAnnotations" => {
                let j = v.to_json();
                if j.as_object().is_some_and(|m| !m.is_empty()) {
                    out.set(&["tool", k], j);
                    out.moved(v, &path, &path, "");
                }
            }
            "resources" => {
                // Quantities as Kubernetes writes them: `cpu: 1` is the string "1".
                let j = match v.to_json() {
                    Json::Object(m) => Json::Object(
                        m.into_iter()
                            .map(|(k, q)| {
                                let q = match q {
                                    Json::Object(r) => Json::Object(
                                        r.into_iter()
                                            .map(|(n, x)| {
                                                let x = match x {
                                                    Json::String(s) => Json::String(s),
                                                    other => Json::String(other.to_string()),
                                                };
                                                (n, x)
                                            })
                                            .collect(),
                                    ),
                                    other => other,
                                };
                                (k, q)
                            })
                            .collect(),
                    ),
                    other => other,
                };
                if j.as_object().is_some_and(|m| !m.is_empty()) {
                    out.set(&["tool", "resources"], j);
                    out.moved(v, &path, "tool.resources", "");
                }
            }
            _ => out.dropped(v, &path, "not a key of the original tool block"),
        }
    }
}

pub(super) fn init(n: &Node, out: &mut Out) {
    for (key, v) in entries(n) {
        let k = key.name.as_str();
        if common("init", k, v, out) {
            continue;
        }
        let path = format!("init.{k}");
        match k {
            "container" if is_seed_image(v) => out.dropped(
                v,
                &path,
                "the original tool image was built FROM bitnami/kafka:latest, which no longer resolves; alpaka's tool image is the default",
            ),
            "container" => out.set(&["init", "container"], v.to_json()),
            // The README writes files as a list of one-key maps; alpaka takes a map.
            "files" => {
                let items: Vec<&(crate::config::yaml::Key, Node)> = if entries(v).is_empty() {
                    v.as_seq().iter().flat_map(|i| entries(i).iter()).collect()
                } else {
                    entries(v).iter().collect()
                };
                for (fk, fv) in items {
                    out.set(&["init", "files", &fk.name], fv.to_json());
                }
            }
            "commands" => {
                let mut kept = Vec::new();
                for c in v.as_seq() {
                    let text = c.as_str().unwrap_or("");
                    if registers_connectors(text, &out.registration_scripts) {
                        out.dropped(
                            c,
                            &format!("{path}[{text}]"),
                            "alpaka registers connectors itself (one KafkaConnector each) and keeps them in step with the config",
                        );
                    } else {
                        kept.push(c.to_json());
                    }
                }
                out.set(&["init", "commands"], Json::Array(kept));
            }
            _ => out.dropped(v, &path, "not a key of the original init block"),
        }
    }
}

/// Whether `command` runs one of the registration scripts the chart generated for the file's
/// connectors: exactly one of `scripts` (see [`registration_scripts`]). Anything else, however
/// it is named (`create-test-db.sh`), is the user's own and is kept.
pub(super) fn registers_connectors(command: &str, scripts: &[String]) -> bool {
    let c = command.trim();
    let c = c.strip_prefix("./").unwrap_or(c);
    scripts.iter().any(|s| s == c)
        || scripts
            .iter()
            .filter_map(|s| s.strip_prefix("all:"))
            .any(|suffix| c.ends_with(suffix) && c.len() > suffix.len())
}

/// The chart's generated registration scripts for the connectors in `tree`: one per connector,
/// `<type>-<group>-<name>.sh`, and per Connect type the "all" script `<release>-alpaka-<type>-all.sh`
/// (kept as `all:-alpaka-<type>-all.sh`: the release name is not in the file).
pub(super) fn registration_scripts(tree: &Node) -> Vec<String> {
    let mut out = Vec::new();
    let connects = tree
        .get("kafka_connect")
        .and_then(|k| k.get("connects"))
        .map(Node::as_seq)
        .unwrap_or_default();
    for c in connects {
        let Some(t) = c.get("type").and_then(Node::as_str) else {
            continue;
        };
        out.push(format!("all:-alpaka-{t}-all.sh"));
        for g in c
            .get("connector_groups")
            .map(Node::as_seq)
            .unwrap_or_default()
        {
            let Some(group) = g.get("name").and_then(Node::as_str) else {
                continue;
            };
            for n in g.get("connectors").map(Node::as_seq).unwrap_or_default() {
                if let Some(name) = n.get("name").and_then(Node::as_str) {
                    out.push(format!("{t}-{group}-{name}.sh"));
                }
            }
        }
    }
    out
}

pub(super) fn test(n: &Node, out: &mut Out) {
    for (key, v) in entries(n) {
        let k = key.name.as_str();
        let path = format!("test.{k}");
        match k {
            "nodeSelector" => out.node_selector(v, &["test", "nodeSelector"]),
            "tolerations" => out.set(&["test", "tolerations"], v.to_json()),
            "enabled" => out.dropped(
                v,
                &path,
                "`alpaka test` runs when you ask, never as part of apply",
            ),
            "container" => out.dropped(
                v,
                &path,
                "alpaka test runs its own kcat Jobs and a throwaway MySQL",
            ),
            "connects" => {
                for (ck, cv) in entries(v) {
                    let cpath = format!("{path}.{}", ck.name);
                    let to: &'static [&'static str] = if ck.name.contains("sink") {
                        &["test", "s3sink", "connect"]
                    } else {
                        &["test", "jdbcConnect"]
                    };
                    out.set(to, json!(ck.name));
                    out.connect_refs.push((cv.origin.line, cpath.clone(), to));
                    out.moved(
                        cv,
                        &cpath,
                        &format!("{}: {}", to.join("."), ck.name),
                        "the test uses the deployed Connect of that type (its container and nodeSelector are the Connect's)",
                    );
                }
            }
            "s3sink" => {
                for (sk, sv) in entries(v) {
                    let spath = format!("{path}.{}", sk.name);
                    match sk.name.as_str() {
                        "enabled" | "bucket" | "region" => out.set(&["test", "s3sink", &sk.name], sv.to_json()),
                        "topics_dir" => out.dropped(
                            sv,
                            &spath,
                            "alpaka test writes only under alpaka-test/<run id>/ in the bucket and deletes only that (the original deleted everything under topics_dir)",
                        ),
                        _ => out.dropped(sv, &spath, "not a key of the original s3sink block"),
                    }
                }
            }
            "envs" => {
                for e in v.as_seq() {
                    let name = e.get("name").and_then(Node::as_str).unwrap_or("?");
                    let epath = format!("{path}[{name}]");
                    match name {
                        "AWS_DEFAULT_REGION" | "AWS_REGION" => {
                            if out.get(&["test", "s3sink", "region"]).is_none()
                                && let Some(r) = e.get("value")
                            {
                                out.set(&["test", "s3sink", "region"], r.to_json());
                            }
                            out.moved(e, &epath, "test.s3sink.region", "");
                        }
                        n if n.starts_with("AWS_") => out.dropped(
                            e,
                            &epath,
                            "AWS credentials are never written: alpaka uses the default chain (environment, profile, IRSA)",
                        ),
                        _ => out.dropped(e, &epath, "the test takes no environment"),
                    }
                }
            }
            _ => out.dropped(v, &path, "not a key of the original test block"),
        }
    }
}
