//! What a profile deploys, image by image and chart by chart (issue 25), for `alpaka images`
//! and `alpaka doctor`, from the graph the plan is built from.
//!
//! alpaka's own manifests name their images. A chart's images are read from the chart itself
//! where it could be rendered (`helm template` of the pinned chart with alpaka's values: the
//! caller runs it, the stack does no I/O, and hands the manifests in as [`Rendered`]), found in
//! them by [`found_in`]; else they come from the list recorded per chart
//! ([`super::mirror::chart_images`]), where a tag may be unknown.

use std::collections::BTreeMap;

use crate::engine::{Node, Value};
use crate::model::profile::Mirror;
use crate::model::stack::StackConfig;

use super::catalog;
use super::mirror::{chart_images, chart_source, pin_of, rewrite, strimzi_kafka_image};

/// One image the profile deploys.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageUse {
    /// As pulled without a mirror; the tag is `None` where unknown (see [`super::mirror::ChartImage::tag`]).
    pub source: String,
    /// As pulled from the mirror (None without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    /// Which node deploys it (`helm.kube-prometheus-stack`, `k8s.deployment.tool`, `alpaka test`).
    pub by: String,
    /// When it runs ("" = always).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub when: String,
    /// False where the tag at the pin could not be read.
    pub tag_known: bool,
}

/// One chart the profile deploys.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChartUse {
    pub release: String,
    pub chart: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    pub version: String,
    /// Where the mirror serves it: `oci://…/<name>`, or `<repo> <name>` for an https repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    /// Where its images were read: `helm template` of the pinned chart, or alpaka's recorded
    /// list (and why rendering did not work).
    pub images_from: String,
}

/// An image the profile needs that the cluster does not pull, so the mirror does not serve it
/// through alpaka's values: who pulls it, and how to take it from the mirror where one can.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Outside {
    pub image: String,
    /// The node it comes with (`k3d.cluster.k3d`, `eks.addon.prod.vpc-cni`).
    pub by: String,
    pub pulled_by: String,
}

/// What a profile deploys.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Inventory {
    pub images: Vec<ImageUse>,
    pub charts: Vec<ChartUse>,
    pub outside: Vec<Outside>,
}

/// An image found in a manifest, and when it runs ("" = whenever the object exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub image: String,
    pub when: String,
}

/// Per release: the images its rendered chart runs ([`found_in_all`]), or why it could not be
/// rendered. A release not in the map was not tried.
pub type Rendered = BTreeMap<String, Result<Vec<Found>, String>>;

/// The `when` of the image prometheus-operator adds to every pod it runs.
const RELOADER: &str =
    "in every Prometheus and Alertmanager pod (the operator's --prometheus-config-reloader)";

/// Every image and chart in the graph the stack built for the profile *before*
/// [`super::mirror::apply`] (the sources), each with where it is pulled from the mirror
/// ([`rewrite`], what [`super::mirror::apply`] writes into the same nodes), plus the images
/// `alpaka test` runs. A chart in `rendered` has the images its manifests name.
pub fn inventory(
    m: Option<&Mirror>,
    cfg: &StackConfig,
    nodes: &[Node],
    rendered: &Rendered,
) -> Inventory {
    let mut images: Vec<ImageUse> = Vec::new();
    let mut charts = Vec::new();
    let mut outside = Vec::new();
    let mut push = |source: String, by: &str, when: &str, known: bool| {
        let mirror = m.map(|m| rewrite(m, &source));
        if !images
            .iter()
            .any(|i| i.source == source && i.by == by && i.when == when)
        {
            images.push(ImageUse {
                source,
                mirror,
                by: by.to_owned(),
                when: when.to_owned(),
                tag_known: known,
            });
        }
    };
    for n in nodes {
        let id = n.id.to_string();
        match n.kind.as_str() {
            "helm.release" => {
                let d = &n.desired;
                let release = d.get("release").and_then(Value::as_str).unwrap_or("");
                let version = d.get("version").and_then(Value::as_str);
                let Some(pin) = pin_of(release, version) else {
                    continue;
                };
                let images_from = match rendered.get(release) {
                    Some(Ok(found)) => {
                        for f in found {
                            push(f.image.clone(), &id, &f.when, true);
                        }
                        "helm template".to_owned()
                    }
                    other => {
                        for ci in chart_images(pin) {
                            let src = match ci.tag {
                                Some(t) => format!("{}:{t}", ci.image),
                                None => ci.image.to_owned(),
                            };
                            push(src, &id, ci.when, ci.tag.is_some());
                        }
                        match other {
                            Some(Err(why)) => {
                                format!("alpaka's recorded list (helm template: {why})")
                            }
                            _ => "alpaka's recorded list".to_owned(),
                        }
                    }
                };
                charts.push(ChartUse {
                    release: release.to_owned(),
                    chart: d
                        .get("chart")
                        .and_then(Value::as_str)
                        .unwrap_or(pin.chart)
                        .to_owned(),
                    repo: d.get("repo").and_then(Value::as_str).map(str::to_owned),
                    version: pin.version.to_owned(),
                    mirror: m.map(|m| match chart_source(m, pin) {
                        (chart, None) => chart,
                        (chart, Some(repo)) => format!("{repo} {chart}"),
                    }),
                    images_from,
                });
                // The operator runs Kafka from its STRIMZI_KAFKA_IMAGES map, an environment
                // value, not a container: named from the pin whether rendered or not.
                if pin.release == catalog::STRIMZI.release && cfg.kafka.enabled {
                    push(
                        strimzi_kafka_image(cfg),
                        &id,
                        "Kafka brokers and controllers",
                        true,
                    );
                }
            }
            k if k.starts_with("k8s.") || k.starts_with("strimzi.") => {
                let mut found = Vec::new();
                found_in(&n.desired, &mut found);
                for f in found {
                    push(f.image, &id, &f.when, true);
                }
            }
            _ => outside.extend(cluster_layer(n, &id)),
        }
    }
    if cfg.kafka.enabled {
        push(
            cfg.tool.container.reference(),
            "alpaka test",
            "the test Jobs",
            true,
        );
        push(
            cfg.test.mysql.reference(),
            "alpaka test",
            "the throwaway MySQL",
            true,
        );
    }
    Inventory {
        images,
        charts,
        outside,
    }
}

/// The cluster layer's images: pulled by a tool on this machine or by EKS, never through a
/// chart's or manifest's values.
fn cluster_layer(n: &Node, id: &str) -> Vec<Outside> {
    let d = &n.desired;
    let s = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let one = |image: String, pulled_by: &str| Outside {
        image,
        by: id.to_owned(),
        pulled_by: pulled_by.to_owned(),
    };
    match n.kind.as_str() {
        // k3d-io/k3d v5.9 pkg/types/images.go: the load balancer and tools images are
        // `ghcr.io/k3d-io/k3d-proxy` / `k3d-tools` at k3d's own version, unless
        // K3D_IMAGE_LOADBALANCER / K3D_IMAGE_TOOLS (pkg/types/env.go) name others.
        "k3d.cluster" => vec![
            one(
                s("image"),
                "this machine's docker, when k3d creates the cluster: to take it from the mirror, set the profile's `k3d.image` to its copy there",
            ),
            one(
                "ghcr.io/k3d-io/k3d-proxy:<k3d's version>".into(),
                "this machine's docker, for k3d's load balancer: K3D_IMAGE_LOADBALANCER names a mirror copy",
            ),
            one(
                "ghcr.io/k3d-io/k3d-tools:<k3d's version>".into(),
                "this machine's docker, for k3d's tools container: K3D_IMAGE_TOOLS names a mirror copy",
            ),
        ],
        "minikube.cluster" => vec![one(
            format!(
                "gcr.io/k8s-minikube/kicbase:<minikube's version>, Kubernetes {}'s images",
                s("kubernetes_version")
            ),
            "minikube on this machine, from its own registries and cache",
        )],
        // EKS managed add-ons come from Amazon ECR in the cluster's region.
        "eks.addon" => vec![one(
            format!(
                "the {} add-on's images (EKS's version for Kubernetes {})",
                s("name"),
                s("kubernetes_version")
            ),
            "the nodes, from Amazon ECR in the cluster's region: without a NAT gateway through the ecr.api, ecr.dkr and s3 VPC endpoints (`eks.vpc.endpoints`)",
        )],
        _ => Vec::new(),
    }
}

/// The images a chart's rendered manifests run, each once (an image that runs whenever its
/// object exists wins over the same image in a hook).
pub fn found_in_all(docs: &[Value]) -> Vec<Found> {
    let mut all: Vec<Found> = Vec::new();
    for d in docs {
        let mut found = Vec::new();
        found_in(d, &mut found);
        for f in found {
            match all.iter_mut().find(|a| a.image == f.image) {
                Some(a) if !a.when.is_empty() && f.when.is_empty() => a.when.clear(),
                Some(_) => {}
                None => all.push(f),
            }
        }
    }
    all
}

/// The images one manifest runs:
/// - every container, init container and ephemeral container of every pod spec in it
///   (workloads, Jobs, and the pod overrides of prometheus-operator's custom resources);
/// - `spec.image` of a KafkaConnect (Strimzi runs it) and of prometheus-operator's
///   Prometheus, Alertmanager and ThanosRuler (kube-prometheus-stack writes it there:
///   `templates/prometheus/prometheus.yaml` at 88.6.1);
/// - the config reloader prometheus-operator adds to each pod it runs, named by its
///   `--prometheus-config-reloader=<image>` argument (kube-prometheus-stack 88.6.1
///   `templates/prometheus-operator/deployment.yaml`).
///
/// A helm hook's images (`helm.sh/hook`: the webhook certificate Jobs) run when it fires.
pub fn found_in(doc: &Value, out: &mut Vec<Found>) {
    let hook = doc
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_map)
        .and_then(|a| a.get("helm.sh/hook"))
        .and_then(Value::as_str);
    let when = hook.map_or_else(String::new, |h| format!("helm hook ({h})"));
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    let runs_spec_image = kind == "KafkaConnect"
        || (api.starts_with("monitoring.coreos.com/")
            && matches!(kind, "Prometheus" | "Alertmanager" | "ThanosRuler"));
    if runs_spec_image
        && let Some(i) = doc
            .get("spec")
            .and_then(|s| s.get("image"))
            .and_then(Value::as_str)
    {
        out.push(Found {
            image: i.to_owned(),
            when: when.clone(),
        });
    }
    walk(doc, &when, out);
}

fn walk(v: &Value, when: &str, out: &mut Vec<Found>) {
    match v {
        Value::Map(m) => {
            for key in ["containers", "initContainers", "ephemeralContainers"] {
                let Some(Value::List(cs)) = m.get(key) else {
                    continue;
                };
                for c in cs {
                    if let Some(i) = c.get("image").and_then(Value::as_str) {
                        out.push(Found {
                            image: i.to_owned(),
                            when: when.to_owned(),
                        });
                    }
                    let args = match c.get("args") {
                        Some(Value::List(a)) => a.as_slice(),
                        _ => &[],
                    };
                    for a in args.iter().filter_map(Value::as_str) {
                        if let Some(i) = a.strip_prefix("--prometheus-config-reloader=") {
                            out.push(Found {
                                image: i.to_owned(),
                                when: RELOADER.to_owned(),
                            });
                        }
                    }
                }
            }
            for x in m.values() {
                walk(x, when, out);
            }
        }
        Value::List(items) => items.iter().for_each(|x| walk(x, when, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(j: serde_json::Value) -> Value {
        crate::engine::value::to_value(&j).unwrap()
    }

    /// Manifests in the shape kube-prometheus-stack 88.6.1 renders (the files named in
    /// [`found_in`]'s comment), with this test's own tags.
    #[test]
    fn rendered_images_are_what_runs() {
        let docs = [
            v(
                serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "op"},
                "spec": {"template": {"spec": {"containers": [{"name": "op",
                    "image": "quay.io/prometheus-operator/prometheus-operator:v1",
                    "args": ["--prometheus-default-base-image=quay.io/prometheus/prometheus",
                             "--prometheus-config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:v1",
                             "--thanos-default-base-image=quay.io/thanos/thanos:v2"]}]}}}}),
            ),
            v(
                serde_json::json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
                "metadata": {"name": "p"}, "spec": {"image": "quay.io/prometheus/prometheus:v3",
                "initContainers": [{"name": "x", "image": "docker.io/library/busybox:1"}]}}),
            ),
            v(serde_json::json!({"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "patch", "annotations": {"helm.sh/hook": "post-install"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "c", "image": "ghcr.io/jkroepke/kube-webhook-certgen:v4"},
                    {"name": "d", "image": "docker.io/library/busybox:1"}]}}}})),
            // Not an image field: a ConfigMap's data and a Service are never read.
            v(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "data": {"image": "not/an-image:1"}})),
        ];
        let found = found_in_all(&docs);
        let got: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.image.as_str(), f.when.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("quay.io/prometheus-operator/prometheus-operator:v1", ""),
                (
                    "quay.io/prometheus-operator/prometheus-config-reloader:v1",
                    RELOADER
                ),
                ("quay.io/prometheus/prometheus:v3", ""),
                // In a hook too, but it runs whenever the Prometheus does: no `when`.
                ("docker.io/library/busybox:1", ""),
                (
                    "ghcr.io/jkroepke/kube-webhook-certgen:v4",
                    "helm hook (post-install)"
                ),
            ]
        );
    }

    #[test]
    fn a_chart_not_rendered_says_why_and_uses_the_recorded_list() {
        let cfg = StackConfig::default();
        let node = |release: &str, version: &str| {
            Node::new(
                format!("helm.{release}"),
                "helm.release",
                v(serde_json::json!({"release": release, "chart": release, "version": version})),
            )
        };
        let nodes = [
            node(
                "kube-prometheus-stack",
                catalog::KUBE_PROMETHEUS_STACK.version,
            ),
            node("kminion", catalog::KMINION.version),
        ];
        let mut rendered = Rendered::new();
        rendered.insert(
            "kminion".into(),
            Ok(vec![Found {
                image: "docker.io/redpandadata/kminion:v9".into(),
                when: String::new(),
            }]),
        );
        rendered.insert("kube-prometheus-stack".into(), Err("Error: no".into()));
        let Inventory { images, charts, .. } = inventory(None, &cfg, &nodes, &rendered);
        assert_eq!(
            charts[0].images_from,
            "alpaka's recorded list (helm template: Error: no)"
        );
        assert_eq!(charts[1].images_from, "helm template");
        assert!(
            images
                .iter()
                .any(|i| i.source == "docker.io/redpandadata/kminion:v9" && i.tag_known)
        );
        assert!(
            !images
                .iter()
                .any(|i| i.source.starts_with("docker.io/redpandadata/kminion:v2"))
        );
        assert!(
            images
                .iter()
                .any(|i| i.by == "helm.kube-prometheus-stack" && !i.tag_known)
        );
    }
}
