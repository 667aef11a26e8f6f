//! A chart's CustomResourceDefinitions, applied by alpaka when helm will not: helm installs a
//! chart's `crds/` on the first install only and never upgrades them (helm's "Custom Resource
//! Definitions" best-practices page; the eks-charts LB controller README says the same), so a
//! chart upgrade would run the new controller against the old schemas. Server-side apply (field
//! manager `alpaka`, forced) replaces what the old chart's CRDs said, and has no size limit on
//! the object as client-side apply's last-applied annotation has.

use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{Patch, PatchParams};

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
}
