//! Installs without the internet (issue 25): the profile's `mirror:` applied to the whole graph.
//!
//! One pass over the nodes the stack built (`apply`), so the plan, `apply` and `alpaka images`
//! all see the same thing:
//! - every chart comes from `mirror.charts` (an https repository: `--repo <charts> <name>`; an
//!   OCI repository: `<charts>/<name>`), same version;
//! - every chart gets the values that point each of its images at `mirror.registry` (per chart,
//!   [`chart_values`]; the images each chart pulls are in [`chart_images`]) and the pull Secret;
//! - every pod spec in alpaka's own manifests (containers and init containers) and a
//!   KafkaConnect's `spec.image` is rewritten with [`rewrite`], and the pod spec names the pull
//!   Secret.
//!
//! The mapping keeps the image's path and tag: `quay.io/strimzi/kafka:X` →
//! `<registry>/strimzi/kafka:X`. A Docker Hub image is normalised first as the container runtime
//! does (distribution/reference `normalize.go`: no registry host → `docker.io`; a one-part
//! name → `library/<name>`), so `mysql:8.4` → `<registry>/library/mysql:8.4` and
//! `grafana/grafana:13.2.0` → `<registry>/grafana/grafana:13.2.0`.

use std::collections::BTreeMap;

use crate::engine::{Node, Value};
use crate::model::profile::Mirror;
use crate::model::stack::{KafkaMode, StackConfig};

use super::catalog::{self, ChartPin};

/// Environment variables helm's `--username`/`--password` are read from for an https chart
/// mirror (an OCI mirror uses `helm registry login`'s stored credentials instead).
pub const CHARTS_USERNAME_ENV: &str = "ALPAKA_MIRROR_CHARTS_USERNAME";
pub const CHARTS_PASSWORD_ENV: &str = "ALPAKA_MIRROR_CHARTS_PASSWORD";

/// An image reference split as the container runtime reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (with port), `docker.io` when the reference names none.
    pub registry: String,
    /// Path inside the registry (`strimzi/kafka`, `library/mysql`).
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// distribution/reference's normalisation: the first `/`-separated part is a registry host
    /// when it contains `.` or `:` or is `localhost`; otherwise the image is Docker Hub's.
    pub fn parse(s: &str) -> ImageRef {
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d.to_owned())),
            None => (s, None),
        };
        // A tag is after the last `:` of the last path part (a `:` before a `/` is a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_owned()),
            ),
            None => (rest, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, p))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), p.to_owned())
            }
            _ => ("docker.io".to_owned(), name.to_owned()),
        };
        let registry = if registry == "index.docker.io" {
            "docker.io".to_owned()
        } else {
            registry
        };
        let path = if registry == "docker.io" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        ImageRef {
            registry,
            path,
            tag,
            digest,
        }
    }

    /// The `<name>` of the OCI distribution API's `/v2/<name>/manifests/<reference>` for
    /// this image on `registry` (a mirror prefix becomes part of the name).
    pub fn name_on(&self, registry: &str) -> String {
        match registry.split_once('/') {
            Some((_, prefix)) => format!("{prefix}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// The manifest reference: the digest when pinned, else the tag (`latest` when none).
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// `image` as pulled from the mirror: path, tag and digest kept. An image already on the mirror
/// is left as it is.
pub fn rewrite(m: &Mirror, image: &str) -> String {
    let reg = m.registry.trim_end_matches('/');
    if image.starts_with(&format!("{reg}/")) {
        return image.to_owned();
    }
    let r = ImageRef::parse(image);
    let mut out = format!("{reg}/{}", r.path);
    if let Some(t) = &r.tag {
        out.push(':');
        out.push_str(t);
    }
    if let Some(d) = &r.digest {
        out.push('@');
        out.push_str(d);
    }
    out
}

/// What is wrong with a `mirror.registry` value, if anything: `host[:port][/prefix]`, no scheme.
pub fn registry_problem(s: &str) -> Option<&'static str> {
    if s.contains("://") {
        return Some("a registry host without a scheme (host[:port][/prefix])");
    }
    let mut parts = s.split('/');
    let host = parts.next().unwrap_or("");
    let (h, port) = match host.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host, None),
    };
    if h.is_empty()
        || !h
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        || h.starts_with(['-', '.'])
        || h.ends_with(['-', '.'])
    {
        return Some("a host name (letters, digits, '.', '-'), then an optional :port and /prefix");
    }
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Some("a numeric port after ':'");
    }
    // Path components as distribution/reference's grammar allows them (lowercase).
    for c in parts {
        let ok = !c.is_empty()
            && c.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
            && c.as_bytes()[0].is_ascii_alphanumeric()
            && c.as_bytes()[c.len() - 1].is_ascii_alphanumeric();
        if !ok {
            return Some(
                "prefix parts of lowercase letters, digits and '.', '_', '-' (no empty part, no trailing '/')",
            );
        }
    }
    None
}

/// What is wrong with a `mirror.charts` value: an `https://` or `oci://` repository (`http://`
/// only on the loopback interface, for a local test repository), no credentials in it.
pub fn charts_problem(s: &str) -> Option<&'static str> {
    if super::charts::url_with_password(s)
        || s.split_once("://")
            .is_some_and(|(_, r)| r.split('/').next().unwrap_or("").contains('@'))
    {
        return Some(
            "a repository URL without credentials (helm reads them from ALPAKA_MIRROR_CHARTS_USERNAME/_PASSWORD or `helm registry login`)",
        );
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return Some("an https:// or oci:// chart repository");
    };
    let host = rest.split(['/', ':']).next().unwrap_or("");
    match scheme {
        "https" | "oci" if !host.is_empty() => None,
        "http" if matches!(host, "127.0.0.1" | "localhost" | "[") => None,
        "http" => {
            Some("https:// (plain http only on 127.0.0.1/localhost, for a local test repository)")
        }
        _ => Some("an https:// or oci:// chart repository"),
    }
}

/// The chart's name in a repository: the last part of an OCI reference, or the name itself.
pub fn chart_name(pin: &ChartPin) -> &'static str {
    pin.chart.rsplit('/').next().unwrap_or(pin.chart)
}

/// Where helm gets `pin` from the mirror: `(chart, repo)`.
pub fn chart_source(m: &Mirror, pin: &ChartPin) -> (String, Option<String>) {
    let charts = m.charts.trim_end_matches('/');
    if charts.starts_with("oci://") {
        (format!("{charts}/{}", chart_name(pin)), None)
    } else {
        (chart_name(pin).to_owned(), Some(charts.to_owned()))
    }
}

/// An image a chart pulls with alpaka's values, as the chart's `values.yaml` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartImage {
    /// `registry/path` as pulled without a mirror.
    pub image: &'static str,
    /// The tag at the pinned chart version; `None` where the chart's values at the pin could not
    /// be read (the tag defaults to the chart's appVersion there): `alpaka images` says so and
    /// `doctor` checks the repository's tag list instead of one manifest.
    pub tag: Option<&'static str>,
    /// When the chart runs it with alpaka's values ("" = always).
    pub when: &'static str,
}

const fn img(image: &'static str, tag: Option<&'static str>, when: &'static str) -> ChartImage {
    ChartImage { image, tag, when }
}

/// Every image each chart can pull with alpaka's values, from the chart's `values.yaml`
/// (where read; the version read is named beside each list). `alpaka images` and `doctor` use
/// this list only for a chart they could not render (`stack::images`).
pub fn chart_images(pin: &ChartPin) -> Vec<ChartImage> {
    match pin.release {
        // strimzi/strimzi-kafka-operator helm3 chart values (1.2.0: shared/reference
        // operator-chart-values.yaml, `defaultImageRegistry: quay.io`, `defaultImageRepository:
        // strimzi`, `defaultImageTag: 1.2.0`): the operator image also runs the Topic/User
        // Operators and the Kafka init container; the Kafka image is in [`strimzi_kafka_image`].
        "strimzi-kafka-operator" => vec![img("quay.io/strimzi/operator", Some(pin.version), "")],
        // kube-prometheus-stack values.yaml at tag kube-prometheus-stack-88.5.3 (appVersion
        // v0.93.1; subcharts kube-state-metrics 8.4.0, prometheus-node-exporter 4.56.1, grafana
        // 12.11.1 from grafana-community). The 93.9.0 pin's values could not be read (its
        // index is too large for the snapshot, docs/chart-versions.md), so the tags are unknown.
        "kube-prometheus-stack" => vec![
            img("quay.io/prometheus-operator/prometheus-operator", None, ""),
            img(
                "quay.io/prometheus-operator/prometheus-config-reloader",
                None,
                "",
            ),
            img(
                "ghcr.io/jkroepke/kube-webhook-certgen",
                None,
                "admission webhook patch Jobs",
            ),
            img("quay.io/prometheus/prometheus", None, "prometheus.enabled"),
            img(
                "registry.k8s.io/kube-state-metrics/kube-state-metrics",
                None,
                "",
            ),
            img(
                "quay.io/prometheus/node-exporter",
                None,
                "prometheus.enabled",
            ),
            img("docker.io/grafana/grafana", None, "grafana.enabled"),
            img(
                "quay.io/kiwigrid/k8s-sidecar",
                None,
                "grafana.enabled (dashboards and datasources sidecar)",
            ),
            img(
                "docker.io/library/busybox",
                None,
                "grafana persistence (initChownData)",
            ),
            img(
                "docker.io/curlimages/curl",
                None,
                "grafana dashboards by gnetId/url (downloadDashboards)",
            ),
        ],
        // redpanda-data/helm-charts charts/kminion at tag kminion-0.15.2: `image.repository:
        // redpandadata/kminion`, tag = appVersion v2.3.0.
        "kminion" => vec![img("docker.io/redpandadata/kminion", Some("v2.3.0"), "")],
        // grafana-community/helm-charts charts/loki at tag loki-18.11.0 (appVersion 3.7.6):
        // `loki.image` docker.io/grafana/loki, the rules `sidecar.image` kiwigrid/k8s-sidecar
        // 2.10.1 on docker.io.
        "loki" => vec![
            img("docker.io/grafana/loki", Some("3.7.6"), ""),
            img(
                "docker.io/kiwigrid/k8s-sidecar",
                Some("2.10.1"),
                "sidecar.rules",
            ),
        ],
        // Alloy chart 1.11.1 ships Alloy v1.18.1 (docs/chart-versions.md, the index entry);
        // `image` docker.io/grafana/alloy. Its config reloader's image at 1.11.1 was not read.
        "alloy" => vec![img("docker.io/grafana/alloy", Some("v1.18.1"), "")],
        // kafbat chart 1.6.5 ships app v1.5.0 (kafbat/helm-charts index.yaml @d547848);
        // `image.registry: ghcr.io`, `image.repository: kafbat/kafka-ui`.
        "kafka-ui" => vec![img("ghcr.io/kafbat/kafka-ui", Some("v1.5.0"), "")],
        // headlamp chart 0.42.0: chart and app versions move together; `image.registry:
        // ghcr.io`, `image.repository: headlamp-k8s/headlamp`, tag "" = appVersion.
        "headlamp" => vec![img("ghcr.io/headlamp-k8s/headlamp", Some("v0.42.0"), "")],
        // eks-charts 3.5.0 values.yaml (shared/reference/aws-load-balancer-controller):
        // `image.repository: public.ecr.aws/eks/aws-load-balancer-controller`, `tag: v3.5.0`.
        "aws-load-balancer-controller" => vec![img(
            "public.ecr.aws/eks/aws-load-balancer-controller",
            Some("v3.5.0"),
            "",
        )],
        _ => Vec::new(),
    }
}

/// The Kafka image Strimzi's operator runs the brokers and controllers with (its
/// `STRIMZI_KAFKA_IMAGES` map: `<defaultImageRegistry>/<defaultImageRepository>/kafka:
/// <operator version>-kafka-<Kafka version>`).
pub fn strimzi_kafka_image(cfg: &StackConfig) -> String {
    let pin = if cfg.kafka.mode == KafkaMode::Zookeeper {
        &catalog::STRIMZI_LEGACY
    } else {
        &catalog::STRIMZI
    };
    format!(
        "quay.io/strimzi/kafka:{}-kafka-{}",
        pin.version, cfg.kafka.version
    )
}

/// The values that point a chart's images at the mirror and name the pull Secret. Each path is
/// in `catalog::verified_values` (held there by tests/chart_values.rs).
pub fn chart_values(m: &Mirror, release: &str) -> Value {
    let reg = m.registry.trim_end_matches('/');
    let secret = m.image_pull_secret.as_deref();
    // `[{name: <secret>}]`, the Kubernetes shape these charts copy into the pod spec.
    let secrets = || {
        Value::List(
            secret
                .map(|s| Value::map([("name", Value::str(s))]))
                .into_iter()
                .collect(),
        )
    };
    let mut v: Vec<(&str, Value)> = Vec::new();
    match release {
        // The operator's own image and every operand's (STRIMZI_KAFKA_IMAGES and the others are
        // built from defaultImageRegistry); `image.imagePullSecrets` as a string also becomes
        // the operator's STRIMZI_IMAGE_PULL_SECRETS, which it puts on every pod it makes
        // (templates/060-Deployment-strimzi-cluster-operator.yaml).
        "strimzi-kafka-operator" => {
            v.push(("defaultImageRegistry", Value::str(reg)));
            if let Some(s) = secret {
                v.push(("image", Value::map([("imagePullSecrets", Value::str(s))])));
            }
        }
        // `global.imageRegistry` is read by every image of the chart and its subcharts
        // (helm shares `global` with subcharts): the operator, config reloader, webhook patch
        // Jobs, Prometheus, kube-state-metrics, node exporter, Grafana and its sidecar, init and
        // download containers. `global.imagePullSecrets` likewise.
        "kube-prometheus-stack" => {
            let mut g = vec![("imageRegistry", Value::str(reg))];
            if secret.is_some() {
                g.push(("imagePullSecrets", secrets()));
            }
            v.push(("global", Value::map(g)));
        }
        // The chart writes `image.repository:tag` with no registry key.
        "kminion" => {
            v.push((
                "image",
                Value::map([(
                    "repository",
                    Value::str(format!("{reg}/redpandadata/kminion")),
                )]),
            ));
            if secret.is_some() {
                v.push(("imagePullSecrets", secrets()));
            }
        }
        // `global.imageRegistry` has the highest precedence over every component's registry.
        "loki" => {
            v.push(("global", Value::map([("imageRegistry", Value::str(reg))])));
            if secret.is_some() {
                v.push(("imagePullSecrets", secrets()));
            }
        }
        // `global.image.registry` overrides `image.registry` and `configReloader.image.registry`;
        // `global.image.pullSecrets` is copied into the pod spec with toYaml
        // (templates/controllers/_pod.yaml), so it takes the Kubernetes `[{name}]` shape.
        "alloy" => {
            let mut i = vec![("registry", Value::str(reg))];
            if let Some(s) = secret {
                i.push((
                    "pullSecrets",
                    Value::List(vec![Value::map([("name", Value::str(s))])]),
                ));
            }
            v.push(("global", Value::map([("image", Value::map(i))])));
        }
        "kafka-ui" | "headlamp" => {
            v.push(("image", Value::map([("registry", Value::str(reg))])));
            if secret.is_some() {
                v.push(("imagePullSecrets", secrets()));
            }
        }
        // `image.repository` holds the whole name.
        "aws-load-balancer-controller" => {
            v.push((
                "image",
                Value::map([(
                    "repository",
                    Value::str(format!("{reg}/eks/aws-load-balancer-controller")),
                )]),
            ));
            if secret.is_some() {
                v.push(("imagePullSecrets", secrets()));
            }
        }
        _ => {}
    }
    Value::map(v)
}

/// The mirror applied to every node the stack built.
pub fn apply(m: &Mirror, nodes: &mut [Node]) {
    for n in nodes {
        match n.kind.as_str() {
            "helm.release" => release(m, &mut n.desired),
            k if k.starts_with("k8s.") || k.starts_with("strimzi.") => {
                manifest(m, &mut n.desired);
            }
            _ => {}
        }
    }
}

fn release(m: &Mirror, desired: &mut Value) {
    let Value::Map(d) = desired else { return };
    let Some(release) = d.get("release").and_then(Value::as_str).map(str::to_owned) else {
        return;
    };
    let Some(pin) = pin_of(&release, d.get("version").and_then(Value::as_str)) else {
        return;
    };
    from_mirror(m, pin, d);
    let values = d
        .entry("values".to_owned())
        .or_insert_with(|| Value::Map(BTreeMap::new()));
    values.merge(chart_values(m, &release), crate::engine::Lists::Replace);
}

/// A release's `chart` and `repo` pointed at where the mirror serves `pin` ([`chart_source`]).
pub fn from_mirror(m: &Mirror, pin: &ChartPin, d: &mut BTreeMap<String, Value>) {
    let (chart, repo) = chart_source(m, pin);
    d.insert("chart".into(), Value::str(chart));
    d.insert("repo".into(), repo.map_or(Value::Null, Value::str));
}

/// The pin a release node was built from (the legacy Strimzi pin shares its release name).
pub fn pin_of(release: &str, version: Option<&str>) -> Option<&'static ChartPin> {
    catalog::CHARTS
        .iter()
        .copied()
        .chain([&catalog::STRIMZI_LEGACY])
        .find(|p| p.release == release && version.is_none_or(|v| v == p.version))
}

/// Rewrites a manifest (engine value) in place: every pod spec's images and pull Secret, and a
/// KafkaConnect's `spec.image`.
pub fn manifest(m: &Mirror, v: &mut Value) {
    if v.get("kind").and_then(Value::as_str) == Some("KafkaConnect") {
        if let Value::Map(d) = v
            && let Some(Value::Map(spec)) = d.get_mut("spec")
        {
            if let Some(Value::Str(image)) = spec.get_mut("image") {
                *image = rewrite(m, image);
            }
            if let Some(s) = &m.image_pull_secret {
                // Strimzi's pod template; the operator's STRIMZI_IMAGE_PULL_SECRETS covers it
                // too, this keeps the manifest self-describing.
                let tpl = spec
                    .entry("template".to_owned())
                    .or_insert_with(|| Value::Map(BTreeMap::new()));
                if let Value::Map(t) = tpl {
                    let pod = t
                        .entry("pod".to_owned())
                        .or_insert_with(|| Value::Map(BTreeMap::new()));
                    if let Value::Map(p) = pod {
                        p.insert("imagePullSecrets".into(), pull_secrets(s));
                    }
                }
            }
        }
        return;
    }
    walk_pod_specs(v, &mut |spec| {
        for key in ["containers", "initContainers"] {
            if let Some(Value::List(cs)) = spec.get_mut(key) {
                for c in cs {
                    if let Value::Map(c) = c
                        && let Some(Value::Str(image)) = c.get_mut("image")
                    {
                        *image = rewrite(m, image);
                    }
                }
            }
        }
        if let Some(s) = &m.image_pull_secret {
            spec.insert("imagePullSecrets".into(), pull_secrets(s));
        }
    });
}

fn pull_secrets(name: &str) -> Value {
    Value::List(vec![Value::map([("name", Value::str(name))])])
}

/// Calls `f` with every map that has a `containers` list (a pod spec).
fn walk_pod_specs(v: &mut Value, f: &mut dyn FnMut(&mut BTreeMap<String, Value>)) {
    match v {
        Value::Map(m) => {
            if matches!(m.get("containers"), Some(Value::List(_))) {
                f(m);
            }
            for x in m.values_mut() {
                walk_pod_specs(x, f);
            }
        }
        Value::List(items) => {
            for x in items {
                walk_pod_specs(x, f);
            }
        }
        _ => {}
    }
}

/// The same rewrite for a manifest as JSON (the `alpaka test` kit's objects).
pub fn manifest_json(m: &Mirror, v: &mut serde_json::Value) {
    let Ok(mut val) = crate::engine::value::to_value(&*v) else {
        return;
    };
    manifest(m, &mut val);
    if let Ok(j) = serde_json::to_value(ValueJson(&val)) {
        *v = j;
    }
}

/// Plain values (no secrets, no unknowns: what a manifest is) as JSON.
struct ValueJson<'a>(&'a Value);

impl serde::Serialize for ValueJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Null | Value::Secret(_) | Value::Unknown(_) => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(x) => s.serialize_str(x),
            Value::List(items) => {
                let mut q = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    q.serialize_element(&ValueJson(i))?;
                }
                q.end()
            }
            Value::Map(m) => {
                let mut q = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    q.serialize_entry(k, &ValueJson(v))?;
                }
                q.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(secret: Option<&str>) -> Mirror {
        Mirror {
            registry: "reg.example.com:5000/mirror".into(),
            charts: "https://charts.example.com/alpaka/".into(),
            image_pull_secret: secret.map(str::to_owned),
        }
    }

    #[test]
    fn references_are_normalised_as_the_runtime_does() {
        let r = ImageRef::parse("mysql:8.4");
        assert_eq!(
            (r.registry.as_str(), r.path.as_str(), r.tag.as_deref()),
            ("docker.io", "library/mysql", Some("8.4"))
        );
        let r = ImageRef::parse("grafana/grafana");
        assert_eq!(
            (r.registry.as_str(), r.path.as_str(), r.tag),
            ("docker.io", "grafana/grafana", None)
        );
        let r = ImageRef::parse("localhost:5000/x/y:1@sha256:ab");
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.path, "x/y");
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert_eq!(r.reference(), "sha256:ab");
        assert_eq!(r.name_on("reg.example.com/mirror"), "mirror/x/y");
        assert_eq!(
            ImageRef::parse("index.docker.io/library/busybox:1").to_string(),
            "docker.io/library/busybox:1"
        );
    }

    #[test]
    fn the_mapping_keeps_path_tag_and_digest() {
        let m = m(None);
        assert_eq!(
            rewrite(&m, "quay.io/strimzi/kafka:1.2.0-kafka-4.3.1"),
            "reg.example.com:5000/mirror/strimzi/kafka:1.2.0-kafka-4.3.1"
        );
        assert_eq!(
            rewrite(&m, "mysql:8.4"),
            "reg.example.com:5000/mirror/library/mysql:8.4"
        );
        assert_eq!(
            rewrite(&m, "ghcr.io/a/b@sha256:00"),
            "reg.example.com:5000/mirror/a/b@sha256:00"
        );
        // Already on the mirror: unchanged.
        let on = "reg.example.com:5000/mirror/a/b:1";
        assert_eq!(rewrite(&m, on), on);
    }

    #[test]
    fn bad_registries_and_chart_repositories_are_named() {
        for ok in [
            "reg.example.com",
            "reg.example.com:5000/a/b-c",
            "localhost:5000",
        ] {
            assert_eq!(registry_problem(ok), None, "{ok}");
        }
        for bad in ["https://reg", "reg/", "reg//a", "reg:x", "reg/Upper", ""] {
            assert!(registry_problem(bad).is_some(), "{bad}");
        }
        for ok in [
            "https://charts.example.com/x",
            "oci://reg.example.com/charts",
            "http://127.0.0.1:8080",
        ] {
            assert_eq!(charts_problem(ok), None, "{ok}");
        }
        for bad in [
            "http://charts.example.com",
            "ftp://x",
            "charts.example.com",
            "https://u:p@charts.example.com",
            "oci://",
        ] {
            assert!(charts_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn charts_come_from_the_mirror_by_name() {
        let (chart, repo) = chart_source(&m(None), &catalog::STRIMZI);
        assert_eq!(chart, "strimzi-kafka-operator");
        assert_eq!(repo.as_deref(), Some("https://charts.example.com/alpaka"));
        let oci = Mirror {
            charts: "oci://reg.example.com/charts/".into(),
            ..m(None)
        };
        assert_eq!(
            chart_source(&oci, &catalog::KMINION),
            ("oci://reg.example.com/charts/kminion".into(), None)
        );
    }

    #[test]
    fn pod_specs_get_the_mirror_and_the_pull_secret() {
        let mut job = serde_json::json!({"kind": "Job", "spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "image": "busybox:1"}],
            "containers": [{"name": "c", "image": "ghcr.io/alpaka/tool:0.1.0"}]}}}});
        manifest_json(&m(Some("pull")), &mut job);
        let spec = &job["spec"]["template"]["spec"];
        assert_eq!(
            spec["containers"][0]["image"],
            "reg.example.com:5000/mirror/alpaka/tool:0.1.0"
        );
        assert_eq!(
            spec["initContainers"][0]["image"],
            "reg.example.com:5000/mirror/library/busybox:1"
        );
        assert_eq!(
            spec["imagePullSecrets"],
            serde_json::json!([{"name": "pull"}])
        );
        let mut connect = crate::engine::value::to_value(&serde_json::json!({"kind": "KafkaConnect", "spec": {"image": "ghcr.io/alpaka/connect-s3:1"}})).unwrap();
        manifest(&m(Some("pull")), &mut connect);
        assert_eq!(
            connect.get("spec.image").and_then(Value::as_str),
            Some("reg.example.com:5000/mirror/alpaka/connect-s3:1")
        );
        assert!(connect.get("spec.template.pod.imagePullSecrets").is_some());
    }

    #[test]
    fn every_chart_has_its_images_and_mirror_values() {
        for pin in catalog::CHARTS {
            assert!(!chart_images(pin).is_empty(), "{}", pin.release);
            let v = chart_values(&m(Some("pull")), pin.release);
            assert!(v.as_map().is_some_and(|m| !m.is_empty()), "{}", pin.release);
            assert!(
                format!("{v:?}").contains("pull"),
                "{}: no pull secret",
                pin.release
            );
        }
    }
}
