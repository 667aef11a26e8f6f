//! A chart's CustomResourceDefinitions, applied by alpaka when helm will not: helm installs a
//! chart's `crds/` on the first install only and never upgrades them (helm's "Custom Resource
//! Definitions" best-practices page; the eks-charts LB controller README says the same), so a
//! chart upgrade would run the new controller against the old schemas. A fresh install over CRDs
//! an older operator left is no better: applied client-side (helm 3; helm 4 `--server-side=false`)
//! helm skips every CRD that exists (helm v4.2.3 `pkg/action/install.go` `installCRDs`:
//! `apierrors.IsAlreadyExists` → "CRD is already present. Skipping"), keeping the old schema;
//! server-side (helm 4's default, `pkg/kube/client.go` `makeCreateApplyFunc`) it applies them,
//! failing on another manager's fields, or, with the `--force-conflicts` alpaka passes,
//! replacing whatever is there, a newer CRD included (both seen with the real helm 4.2.3 in
//! `integration/real_helm.rs`). So alpaka compares and applies them itself first. Server-side apply
//! (field manager `alpaka`, forced) replaces what the old chart's CRDs said, and has no size
//! limit on the object as client-side apply's last-applied annotation has.
//!
//! Before applying, each CRD on the cluster is compared with the chart's ([`compare`]): one that
//! is *newer* (another version of its operator owns it) is never downgraded silently.
//!
//! On a cluster alpaka did not create, destroy lists the CRDs helm leaves and deletes one only
//! when asked and nothing uses it ([`custom_resources`]; `providers/helm/leftovers.rs`).

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;

use super::access::{Access, K8sError, connect};
use super::manifest::FIELD_MANAGER;

/// How long a CRD may take to be served (`Established`) after it is applied.
const ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(60);

/// The CRDs in a multi-document YAML stream (`helm show crds` prints a chart's `crds/` files,
/// each after a `---`). Empty documents are skipped; any other kind is refused.
pub fn parse(yaml: &str) -> Result<Vec<CustomResourceDefinition>, K8sError> {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(yaml)
        .map_err(|e| K8sError::Shape(format!("the chart's CRDs are not YAML: {e}")))?;
    docs.into_iter()
        .filter(|d| !d.is_null())
        .map(|d| {
            let kind = d.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
            if kind != "CustomResourceDefinition" {
                return Err(K8sError::Shape(format!(
                    "a chart's crds/ holds a {kind:?}, not a CustomResourceDefinition"
                )));
            }
            serde_json::from_value(d)
                .map_err(|e| K8sError::Shape(format!("a CustomResourceDefinition: {e}")))
        })
        .collect()
}

/// Apply each CRD server-side and wait until the API server serves it; returns their names.
pub async fn apply(
    access: &Access,
    crds: &[CustomResourceDefinition],
) -> Result<Vec<String>, K8sError> {
    let client = connect(access, true).await?;
    let api: Api<CustomResourceDefinition> = Api::all(client);
    let api_err = |op: &'static str, name: &str| {
        let what = format!("CustomResourceDefinition {name}");
        let context = access.context.clone();
        move |e: kube::Error| K8sError::Api {
            op,
            what,
            context,
            source: Box::new(e),
        }
    };
    let mut names = Vec::new();
    for crd in crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let mut body = crd.clone();
        // What the API server keeps for itself is not ours to apply.
        body.status = None;
        body.metadata.resource_version = None;
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(api_err("applying", &name))?;
        names.push(name);
    }
    let start = Instant::now();
    for name in &names {
        loop {
            let live = api.get(name).await.map_err(api_err("reading", name))?;
            if established(&live) {
                break;
            }
            if start.elapsed() > ESTABLISHED_TIMEOUT {
                return Err(K8sError::Shape(format!(
                    "CustomResourceDefinition {name} is not Established after {}s",
                    ESTABLISHED_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(names)
}

/// How a CRD on the cluster compares with a chart's CRD of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compared {
    /// Nothing to apply: the chart's CRD says nothing the cluster's does not.
    Same,
    /// The chart's is newer, or differs without removing anything: apply it. The text says how.
    Older(String),
    /// The cluster's is newer (has what the chart's lacks): applying would downgrade it.
    Newer(String),
}

/// Annotations and labels that name the operator version a CRD was made for: prometheus-operator
/// writes `operator.prometheus.io/version` on its CRDs (v0.93.0
/// `example/prometheus-operator-crd/*.yaml`), and `app.kubernetes.io/version` is Kubernetes'
/// recommended label for it. Strimzi's CRDs (labels `app`, `strimzi.io/crd-install`,
/// `component`) and the LB controller's eks-charts CRDs (only controller-gen's own version)
/// carry none: their served versions and schemas decide.
const VERSION_MARKS: &[&str] = &[
    "operator.prometheus.io/version",
    "app.kubernetes.io/version",
];

fn marked_version(crd: &CustomResourceDefinition) -> Option<String> {
    let m = &crd.metadata;
    VERSION_MARKS.iter().find_map(|k| {
        m.annotations
            .as_ref()
            .and_then(|a| a.get(*k))
            .or_else(|| m.labels.as_ref().and_then(|l| l.get(*k)))
            .cloned()
    })
}

/// `0.93.0` vs `v0.86.1`: numeric parts in order; `None` unless both are dotted numbers (a
/// pre-release or build suffix after `-`/`+` is ignored).
fn cmp_dotted(a: &str, b: &str) -> Option<Ordering> {
    let parts = |s: &str| -> Option<Vec<u64>> {
        let core = s.trim().trim_start_matches('v');
        let core = core.split(['-', '+']).next().unwrap_or(core);
        core.split('.').map(|p| p.parse().ok()).collect()
    };
    Some(parts(a)?.cmp(&parts(b)?))
}

/// An API version's rank as Kubernetes orders them (k8s.io/apimachinery v0.36.3
/// `pkg/version/helpers.go` `CompareKubeAwareVersionStrings`): GA above beta above alpha, then
/// the higher major, then the higher minor; names that are not `vN[alpha|betaM]` rank below all.
fn kube_version_rank(v: &str) -> (u8, u64, u64) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Ok(major) = digits.parse::<u64>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        return (3, major, 0);
    }
    let (class, minor) = if let Some(m) = tail.strip_prefix("beta") {
        (2, m)
    } else if let Some(m) = tail.strip_prefix("alpha") {
        (1, m)
    } else {
        return (0, 0, 0);
    };
    match minor.parse::<u64>() {
        Ok(n) => (class, major, n),
        Err(_) => (0, 0, 0),
    }
}

/// The highest API version the CRD serves.
fn highest_served(crd: &CustomResourceDefinition) -> Option<&str> {
    crd.spec
        .versions
        .iter()
        .filter(|v| v.served)
        .map(|v| v.name.as_str())
        .max_by_key(|v| kube_version_rank(v))
}

/// What a CRD offers, one string per thing a client can rely on: each served version, each
/// schema property path in it (`v1:.spec.size`, `[]` for list items, `{}` for map values) and
/// each enum value (`v1:.spec.kind="a"`). A newer operator's CRD adds these and removes none:
/// checked for every aws-load-balancer-controller chart in eks-charts from v2.2.0 to v3.5.0
/// (`stable/aws-load-balancer-controller/crds/crds.yaml`, commits 553606b..5239609), where no
/// version removed a path or an enum value.
fn features(crd: &CustomResourceDefinition) -> BTreeSet<String> {
    fn walk(schema: &serde_json::Value, path: &str, version: &str, out: &mut BTreeSet<String>) {
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for (k, v) in props {
                let p = format!("{path}.{k}");
                out.insert(format!("{version}:{p}"));
                walk(v, &p, version, out);
            }
        }
        if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
            walk(items, &format!("{path}[]"), version, out);
        }
        if let Some(extra) = schema.get("additionalProperties").filter(|i| i.is_object()) {
            walk(extra, &format!("{path}{{}}"), version, out);
        }
        for e in schema
            .get("enum")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
        {
            out.insert(format!("{version}:{path}={e}"));
        }
    }
    let mut out = BTreeSet::new();
    for v in crd.spec.versions.iter().filter(|v| v.served) {
        out.insert(v.name.clone());
        let schema = v
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .and_then(|s| serde_json::to_value(s).ok())
            .unwrap_or_default();
        walk(&schema, "", &v.name, &mut out);
    }
    out
}

/// A few of a list, for a message.
fn some(items: &[&String]) -> String {
    let shown: Vec<&str> = items.iter().take(4).map(|s| s.as_str()).collect();
    let more = items.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// The cluster's CRD (`live`) against the chart's of the same name. In order: the operator
/// version both name ([`VERSION_MARKS`]); else the highest served API version (Strimzi 0.45.1
/// serves `v1beta2`, 1.2.0 `v1` only); else what each offers ([`features`]): the cluster's
/// having anything the chart's lacks makes it newer. The same offer with another schema
/// (descriptions, validation, printer columns) applies the chart's, which the pinned operator
/// expects, since nothing a client relies on goes away.
pub fn compare(live: &CustomResourceDefinition, chart: &CustomResourceDefinition) -> Compared {
    if let (Some(l), Some(c)) = (marked_version(live), marked_version(chart)) {
        match cmp_dotted(&l, &c) {
            Some(Ordering::Less) => {
                return Compared::Older(format!("made for operator {l}, the chart's for {c}"));
            }
            Some(Ordering::Greater) => {
                return Compared::Newer(format!("made for operator {l}, the chart's for {c}"));
            }
            _ => {}
        }
    }
    if let (Some(l), Some(c)) = (highest_served(live), highest_served(chart))
        && l != c
    {
        let msg = format!("the cluster's serves up to {l}, the chart's {c}");
        return if kube_version_rank(l) < kube_version_rank(c) {
            Compared::Older(msg)
        } else {
            Compared::Newer(msg)
        };
    }
    let (lf, cf) = (features(live), features(chart));
    let extra: Vec<&String> = lf.difference(&cf).collect();
    if !extra.is_empty() {
        return Compared::Newer(format!(
            "the cluster's has what the chart's lacks: {}",
            some(&extra)
        ));
    }
    let added: Vec<&String> = cf.difference(&lf).collect();
    if !added.is_empty() {
        return Compared::Older(format!("the chart's adds {}", some(&added)));
    }
    let value = |c: &CustomResourceDefinition| -> crate::engine::Value {
        serde_json::to_value(&c.spec)
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or(crate::engine::Value::Null)
    };
    let (l, c) = (value(live), value(chart));
    if super::project::project(&c, &l) == c {
        Compared::Same
    } else {
        Compared::Older(
            "same fields, other schema details (descriptions, validation, printer columns)".into(),
        )
    }
}

/// Versions the API server still stores objects in (`status.storedVersions`) that the chart's
/// CRD no longer lists: the API server refuses such an update (apiextensions-apiserver v0.36.3
/// `pkg/apis/apiextensions/validation/validation.go`: "must appear in spec.versions") until the
/// objects are migrated and the version is removed from `status.storedVersions`.
pub fn stored_not_in(
    live: &CustomResourceDefinition,
    chart: &CustomResourceDefinition,
) -> Vec<String> {
    let listed: BTreeSet<&str> = chart
        .spec
        .versions
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    live.status
        .as_ref()
        .and_then(|s| s.stored_versions.as_ref())
        .into_iter()
        .flatten()
        .filter(|v| !listed.contains(v.as_str()))
        .cloned()
        .collect()
}

/// One chart CRD against the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub name: String,
    /// `None`: not on the cluster (helm's install creates it).
    pub compared: Option<Compared>,
    /// See [`stored_not_in`].
    pub stored_not_in_chart: Vec<String>,
}

/// Each of `crds` as the cluster has it.
pub async fn check(
    access: &Access,
    crds: &[CustomResourceDefinition],
) -> Result<Vec<Checked>, K8sError> {
    let client = connect(access, true).await?;
    let api: Api<CustomResourceDefinition> = Api::all(client);
    let mut out = Vec::new();
    for crd in crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let live = api.get_opt(&name).await.map_err(K8sError::api(
            access,
            "reading",
            format!("CustomResourceDefinition {name}"),
        ))?;
        out.push(match live {
            None => Checked {
                name,
                compared: None,
                stored_not_in_chart: Vec::new(),
            },
            Some(live) => Checked {
                name,
                compared: Some(compare(&live, crd)),
                stored_not_in_chart: stored_not_in(&live, crd),
            },
        });
    }
    Ok(out)
}

/// What identifies a CRD's custom resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrdKind {
    pub name: String,
    pub group: String,
    pub kind: String,
    pub plural: String,
    /// The version to list them in (the storage version).
    pub version: String,
}

impl CrdKind {
    pub fn of(crd: &CustomResourceDefinition) -> CrdKind {
        let version = crd
            .spec
            .versions
            .iter()
            .find(|v| v.storage)
            .or_else(|| crd.spec.versions.first())
            .map(|v| v.name.clone())
            .unwrap_or_default();
        CrdKind {
            name: crd.metadata.name.clone().unwrap_or_default(),
            group: crd.spec.group.clone(),
            kind: crd.spec.names.kind.clone(),
            plural: crd.spec.names.plural.clone(),
            version,
        }
    }
}

/// Up to `limit` custom resources of `kind` in any namespace, as `namespace/name` (or `name`),
/// and whether there are more.
pub async fn custom_resources(
    access: &Access,
    kind: &CrdKind,
    limit: u32,
) -> Result<(Vec<String>, bool), K8sError> {
    let client = connect(access, true).await?;
    let gvk = GroupVersionKind::gvk(&kind.group, &kind.version, &kind.kind);
    let ar = ApiResource::from_gvk_with_plural(&gvk, &kind.plural);
    let api: Api<DynamicObject> = Api::all_with(client, &ar);
    let list = api
        .list(&ListParams::default().limit(limit))
        .await
        .map_err(K8sError::api(
            access,
            "listing",
            format!("{} ({})", kind.plural, kind.name),
        ))?;
    let more = list
        .metadata
        .continue_
        .as_deref()
        .is_some_and(|c| !c.is_empty());
    let names = list
        .items
        .iter()
        .map(|o| {
            let name = o.metadata.name.clone().unwrap_or_default();
            match &o.metadata.namespace {
                Some(ns) => format!("{ns}/{name}"),
                None => name,
            }
        })
        .collect();
    Ok((names, more))
}

fn established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crds_stream_parses_skipping_empty_documents() {
        let yaml = "---\n# a comment only\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema: {openAPIV3Schema: {type: object}}\n---\n";
        let crds = parse(yaml).unwrap();
        assert_eq!(crds.len(), 1);
        assert_eq!(
            crds[0].metadata.name.as_deref(),
            Some("widgets.example.com")
        );
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn anything_but_a_crd_is_refused() {
        let err = parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n").unwrap_err();
        assert!(err.to_string().contains("\"ConfigMap\""), "{err}");
    }

    /// A CRD `gadgets.test.alpaka.io` serving `versions` (the last one stored), each with these
    /// spec properties, `marks` as annotations.
    fn crd(versions: &[&str], props: &[&str], marks: &[(&str, &str)]) -> CustomResourceDefinition {
        let props: serde_json::Map<String, serde_json::Value> = props
            .iter()
            .map(|p| ((*p).to_owned(), serde_json::json!({"type": "string"})))
            .collect();
        let versions: Vec<serde_json::Value> = versions
            .iter()
            .enumerate()
            .map(|(i, v)| {
                serde_json::json!({"name": v, "served": true, "storage": i + 1 == versions.len(),
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": props}}}}})
            })
            .collect();
        let annotations: serde_json::Map<String, serde_json::Value> = marks
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::json!(v)))
            .collect();
        serde_json::from_value(serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets.test.alpaka.io", "annotations": annotations},
            "spec": {"group": "test.alpaka.io", "scope": "Namespaced",
                "names": {"kind": "Gadget", "plural": "gadgets"}, "versions": versions}
        }))
        .unwrap()
    }

    fn older(c: Compared) -> String {
        match c {
            Compared::Older(why) => why,
            c => panic!("not older: {c:?}"),
        }
    }

    fn newer(c: Compared) -> String {
        match c {
            Compared::Newer(why) => why,
            c => panic!("not newer: {c:?}"),
        }
    }

    #[test]
    fn a_chart_crd_adding_a_field_or_a_served_version_is_newer_than_the_clusters() {
        let v1 = crd(&["v1"], &["size"], &[]);
        assert_eq!(compare(&v1, &v1), Compared::Same);
        let wider = crd(&["v1"], &["color", "size"], &[]);
        assert!(older(compare(&v1, &wider)).contains("v1:.spec.color"));
        assert!(
            newer(compare(&wider, &v1))
                .contains("the cluster's has what the chart's lacks: v1:.spec.color")
        );
        // A served v2 beside v1: the highest served version decides.
        let v2 = crd(&["v1", "v2"], &["color", "size"], &[]);
        assert!(older(compare(&v1, &v2)).contains("serves up to v1, the chart's v2"));
        assert!(newer(compare(&v2, &v1)).contains("serves up to v2, the chart's v1"));
        // Diverged (each has a field the other lacks): the cluster's is not older.
        let other = crd(&["v1"], &["weight"], &[]);
        newer(compare(&other, &v1));
    }

    #[test]
    fn strimzi_0_45_serving_v1beta2_is_older_than_1_2_serving_v1() {
        let old = crd(&["v1alpha1", "v1beta1", "v1beta2"], &["partitions"], &[]);
        let new = crd(&["v1"], &["partitions"], &[]);
        assert!(older(compare(&old, &new)).contains("up to v1beta2, the chart's v1"));
        newer(compare(&new, &old));
        assert!(kube_version_rank("v1") > kube_version_rank("v1beta2"));
        assert!(kube_version_rank("v1beta2") > kube_version_rank("v1beta1"));
        assert!(kube_version_rank("v1beta1") > kube_version_rank("v1alpha1"));
        assert!(kube_version_rank("v2alpha1") > kube_version_rank("v1alpha1"));
        assert!(kube_version_rank("v1alpha1") > kube_version_rank("foo"));
        // Objects still stored as v1beta2 keep the API server from dropping it.
        let mut live = old.clone();
        live.status = serde_json::from_value(serde_json::json!({
            "storedVersions": ["v1beta2"], "acceptedNames": {"kind": "Gadget", "plural": "gadgets"}
        }))
        .unwrap();
        assert_eq!(stored_not_in(&live, &new), ["v1beta2"]);
        assert!(stored_not_in(&live, &old).is_empty());
    }

    #[test]
    fn an_operator_version_both_name_decides_first() {
        let mark = |v: &'static str| [("operator.prometheus.io/version", v)];
        // prometheus-operator removed a field in the newer one: its version still says newer.
        let live = crd(&["v1"], &["size", "legacy"], &mark("0.86.0"));
        let chart = crd(&["v1"], &["size"], &mark("0.93.0"));
        assert!(
            older(compare(&live, &chart))
                .contains("made for operator 0.86.0, the chart's for 0.93.0")
        );
        newer(compare(&chart, &live));
        assert_eq!(cmp_dotted("v0.93.0", "0.93.0"), Some(Ordering::Equal));
        assert_eq!(cmp_dotted("0.10.0", "0.9.1"), Some(Ordering::Greater));
        assert_eq!(cmp_dotted("x", "0.9.1"), None);
    }

    #[test]
    fn the_same_fields_with_another_description_apply_the_charts() {
        let mut chart = crd(&["v1"], &["size"], &[]);
        let describe = |c: &mut CustomResourceDefinition, words: &str| {
            c.spec.versions[0]
                .schema
                .as_mut()
                .unwrap()
                .open_api_v3_schema
                .as_mut()
                .unwrap()
                .description = Some(words.into());
        };
        describe(&mut chart, "new words");
        let mut live = chart.clone();
        // Server defaults in the live object are not a difference.
        live.spec.conversion =
            serde_json::from_value(serde_json::json!({"strategy": "None"})).unwrap();
        assert_eq!(compare(&live, &chart), Compared::Same);
        describe(&mut live, "old words");
        assert!(older(compare(&live, &chart)).contains("other schema details"));
    }
}
