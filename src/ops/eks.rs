//! EKS access without the aws CLI: `alpaka eks-token` (a kubectl exec credential plugin) and
//! `alpaka kubeconfig` (write or merge a context for the profile's cluster).

use std::path::Path;

use serde_json::{Value as Json, json};

use super::{Ctx, EXIT_OK, OpsError, open};
use crate::engine::ResourceId;
use crate::model::profile::Cluster;
use crate::state::Backend;

/// Print an `ExecCredential` with a fresh EKS token (kubectl's exec plugin protocol).
pub async fn eks_token(cluster: &str, region: &str) -> Result<u8, OpsError> {
    let aws = alpaka_aws::Aws::load(region).await;
    let token = aws
        .eks_token(cluster)
        .await
        .map_err(|e| OpsError::Refused(format!("making the EKS token: {e}")))?;
    println!(
        "{}",
        alpaka_aws::token::exec_credential(&token, std::time::SystemTime::now())
    );
    Ok(EXIT_OK)
}

/// The kubeconfig entries for the profile's applied EKS cluster, from state: endpoint and CA as
/// EKS reported them, the user an exec plugin calling `alpaka eks-token`.
pub fn kubeconfig_entries(
    context: &str,
    cluster: &str,
    region: &str,
    endpoint: &str,
    ca: &str,
    exe: &str,
) -> Json {
    json!({
        "cluster": {"name": context, "cluster": {"server": endpoint, "certificate-authority-data": ca}},
        "user": {"name": context, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": exe,
            "args": ["eks-token", "--cluster", cluster, "--region", region],
            "interactiveMode": "Never"
        }}},
        "context": {"name": context, "context": {"cluster": context, "user": context}}
    })
}

/// Add or replace the named entries in a kubeconfig document and make the context current.
pub fn merge(existing: Option<Json>, entries: &Json) -> Json {
    let mut doc = existing.unwrap_or_else(|| {
        json!({"apiVersion": "v1", "kind": "Config", "preferences": {},
               "clusters": [], "contexts": [], "users": []})
    });
    for (list, key) in [
        ("clusters", "cluster"),
        ("users", "user"),
        ("contexts", "context"),
    ] {
        let entry = entries[key].clone();
        let name = entry["name"].clone();
        if !doc[list].is_array() {
            doc[list] = json!([]);
        }
        if let Some(items) = doc[list].as_array_mut() {
            items.retain(|i| i["name"] != name);
            items.push(entry);
        }
    }
    doc["current-context"] = entries["context"]["name"].clone();
    doc
}

pub fn kubeconfig(ctx: &Ctx, write: Option<&Path>) -> Result<u8, OpsError> {
    let ws = open(ctx)?;
    let Cluster::Eks(e) = ws.loaded.profile.cluster() else {
        return Err(OpsError::Refused(format!(
            "profile `{}` is not an EKS profile",
            ws.loaded.profile_name
        )));
    };
    let state = ws
        .backend
        .load()?
        .ok_or_else(|| OpsError::Refused("no state yet: apply the profile first".to_owned()))?;
    let id = ResourceId::new(format!("eks.cluster.{}", e.cluster_name));
    let rs = state.resources.get(&id).ok_or_else(|| {
        OpsError::Refused(format!("state records no `{id}`: apply the profile first"))
    })?;
    let out = |k: &str| {
        rs.outputs
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "alpaka".to_owned());
    let context = format!("alpaka-{}", ws.loaded.profile_name);
    let entries = kubeconfig_entries(
        &context,
        &e.cluster_name,
        &e.region,
        &out("endpoint"),
        &out("certificate_authority"),
        &exe,
    );
    let existing = match write {
        Some(p) if p.exists() => {
            let text = std::fs::read_to_string(p).map_err(|source| OpsError::Io {
                path: p.to_path_buf(),
                op: "reading",
                source,
            })?;
            Some(serde_saphyr::from_str::<Json>(&text).map_err(|err| {
                OpsError::Refused(format!("{} is not a kubeconfig: {err}", p.display()))
            })?)
        }
        _ => None,
    };
    let doc = merge(existing, &entries);
    let yaml = serde_saphyr::to_string(&doc)
        .map_err(|err| OpsError::Refused(format!("encoding the kubeconfig: {err}")))?;
    match write {
        None => print!("{yaml}"),
        Some(p) => {
            std::fs::write(p, yaml).map_err(|source| OpsError::Io {
                path: p.to_path_buf(),
                op: "writing",
                source,
            })?;
            println!(
                "Context `{context}` written to {} and made current.",
                p.display()
            );
        }
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_replaces_by_name_and_keeps_others() {
        let e = kubeconfig_entries(
            "alpaka-eks-prod",
            "prod",
            "ap-northeast-2",
            "https://x",
            "Q0E=",
            "alpaka",
        );
        let existing = json!({"apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "other", "cluster": {"server": "https://o"}},
                         {"name": "alpaka-eks-prod", "cluster": {"server": "https://old"}}],
            "contexts": [{"name": "other", "context": {"cluster": "other", "user": "other"}}],
            "users": [{"name": "other", "user": {"token": "t"}}],
            "current-context": "other"});
        let m = merge(Some(existing), &e);
        assert_eq!(m["clusters"].as_array().unwrap().len(), 2);
        assert_eq!(m["clusters"][1]["cluster"]["server"], "https://x");
        assert_eq!(m["contexts"].as_array().unwrap().len(), 2);
        assert_eq!(m["current-context"], "alpaka-eks-prod");
        assert_eq!(
            m["users"][1]["user"]["exec"]["args"],
            json!([
                "eks-token",
                "--cluster",
                "prod",
                "--region",
                "ap-northeast-2"
            ])
        );
        let fresh = merge(None, &e);
        assert_eq!(fresh["kind"], "Config");
    }
}
