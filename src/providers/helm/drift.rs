//! Drift inside a release: each object of `helm get manifest` against the live object, compared
//! only on the fields the manifest sets (`k8s::project`, as for alpaka's own objects), so server
//! defaults, status and other managers' extra fields are not drift, while an edited field or a
//! deleted object is. The anchors: helm-diff compares the release manifest with the live objects
//! (`helm diff upgrade`), and Flux's helm-controller drift detection compares a server-side
//! dry-run of the release's objects with the cluster, reporting each object and its changed paths.

use kube::api::{Api, DynamicObject};
use kube::core::GroupVersionKind;
use kube::discovery::{Scope, pinned_kind};

use crate::engine::{DriverError, Value, diff};
use crate::providers::k8s::{Access, access::connect, project::project};

/// helm's field manager (v4.2.3 `pkg/kube/client.go` `getManagedFieldsManager`: the binary's
/// name); fields it owns are helm's, any other owner of a drifted field is named.
const HELM_MANAGER: &str = "helm";

/// One object that is not as the release says.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectDrift {
    /// `Kind namespace/name` (`Kind name` for cluster-scoped objects).
    pub object: String,
    /// `deleted`, or each differing field as `path: live -> manifest`, with the manager holding it.
    pub what: String,
}

/// The objects of a rendered manifest (`---`-separated YAML; empty documents skipped).
pub(super) fn objects(manifest: &str) -> Result<Vec<serde_json::Value>, DriverError> {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(manifest)
        .map_err(|e| DriverError::new(format!("the release's manifest is not YAML: {e}")))?;
    Ok(docs
        .into_iter()
        .filter(|d| d.get("kind").is_some() && d.get("apiVersion").is_some())
        .collect())
}

pub(super) fn gvk(o: &serde_json::Value) -> GroupVersionKind {
    let api_version = o["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    GroupVersionKind::gvk(group, version, o["kind"].as_str().unwrap_or_default())
}

/// Who (other than helm) owns `path` in the live object's managedFields (`fieldsV1` keys are
/// `f:<name>`; the walk stops at list items, whose keys name elements, not positions).
fn holders(live: &serde_json::Value, path: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for m in live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let manager = m["manager"].as_str().unwrap_or_default();
        if manager == HELM_MANAGER {
            continue;
        }
        let mut at = &m["fieldsV1"];
        let mut owns = true;
        for seg in path {
            if seg.parse::<usize>().is_ok() {
                break;
            }
            at = &at[format!("f:{seg}")];
            if at.is_null() {
                owns = false;
                break;
            }
        }
        if owns && !out.iter().any(|o| o == manager) {
            out.push(manager.to_owned());
        }
    }
    out
}

/// Each object of `manifest` that is deleted or differs from it live, in manifest order.
pub async fn drift(
    access: &Access,
    namespace: &str,
    manifest: &str,
) -> Result<Vec<ObjectDrift>, DriverError> {
    let objs = objects(manifest)?;
    if objs.is_empty() {
        return Ok(Vec::new());
    }
    let client = connect(access, true)
        .await
        .map_err(|e| DriverError::new(e.to_string()))?;
    let mut out = Vec::new();
    for o in objs {
        let gvk = gvk(&o);
        let name = o["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (ar, caps) = pinned_kind(&client, &gvk).await.map_err(|e| {
            DriverError::new(format!(
                "looking up {} {}: {e}",
                gvk.kind,
                gvk.api_version()
            ))
        })?;
        let (api, object): (Api<DynamicObject>, String) = match caps.scope {
            Scope::Namespaced => {
                let ns = o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or(namespace)
                    .to_owned();
                (
                    Api::namespaced_with(client.clone(), &ns, &ar),
                    format!("{} {ns}/{name}", gvk.kind),
                )
            }
            Scope::Cluster => (
                Api::all_with(client.clone(), &ar),
                format!("{} {name}", gvk.kind),
            ),
        };
        let live = api
            .get_opt(&name)
            .await
            .map_err(|e| DriverError::new(format!("reading {object}: {e}")))?;
        let Some(live) = live else {
            out.push(ObjectDrift {
                object,
                what: "deleted".into(),
            });
            continue;
        };
        let live = serde_json::to_value(&live).map_err(|e| DriverError::new(e.to_string()))?;
        let shape: Value =
            serde_json::from_value(o.clone()).map_err(|e| DriverError::new(e.to_string()))?;
        let live_v: Value =
            serde_json::from_value(live.clone()).map_err(|e| DriverError::new(e.to_string()))?;
        let changes = diff::diff(&project(&shape, &live_v), &shape, &[], "");
        if changes.is_empty() {
            continue;
        }
        let what: Vec<String> = changes
            .iter()
            .map(|c| {
                let show = |v: &Option<Value>| {
                    v.as_ref()
                        .map(|v| serde_json::to_string(v).unwrap_or_default())
                        .unwrap_or_else(|| "(none)".into())
                };
                let held = holders(&live, &c.path);
                let by = if held.is_empty() {
                    String::new()
                } else {
                    format!(" (held by {})", held.join(", "))
                };
                format!(
                    "{}: {} -> {}{by}",
                    c.path_string(),
                    show(&c.before),
                    show(&c.after)
                )
            })
            .collect();
        out.push(ObjectDrift {
            object,
            what: what.join("; "),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_objects_and_field_holders() {
        let m = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n";
        let o = objects(m).unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(gvk(&o[1]).group, "apps");
        assert_eq!(gvk(&o[0]).group, "");
        let live = serde_json::json!({"metadata": {"managedFields": [
            {"manager": "helm", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kubectl", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "other", "fieldsV1": {"f:data": {}}}
        ]}});
        assert_eq!(
            holders(&live, &["spec".into(), "replicas".into()]),
            ["kubectl"]
        );
    }
}
