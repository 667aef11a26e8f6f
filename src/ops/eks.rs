//! EKS access without the aws CLI: `alpaka eks-token` (a kubectl exec credential plugin) and
//! `alpaka kubeconfig` (write or merge a context for the profile's cluster).

use std::path::Path;

use serde_json::Value as Json;

use super::{Ctx, EXIT_OK, OpsError, open};
use crate::engine::ResourceId;
use crate::model::profile::Cluster;

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

use crate::providers::aws::kubeconfig::{entries as kubeconfig_entries, merge};

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
    let exe = crate::providers::aws::kubeconfig::exe();
    // The same context name the EKS driver's own kubeconfig and `alpaka notes` use.
    let context = crate::stack::notes::kube_context(&ws.loaded.profile_name, &ws.loaded.profile);
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
