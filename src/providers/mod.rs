//! Providers: the drivers that act on real APIs, registered by resource kind.
//!
//! Architecture invariant: a provider knows its own API (AWS, a local cluster CLI, the Kubernetes
//! API, helm) and nothing of the stack; the engine reaches it only through `engine::Driver`.
//!
//! Registered: the local and existing clusters (`local`), objects in the cluster through
//! server-side apply (`k8s`), third-party charts through the helm CLI (`helm`), and for `eks`
//! profiles the AWS provider (`aws.*`, `iam.*`, `eks.*`). A kind without a driver makes `apply`
//! refuse before changing anything, naming it.

pub mod aws;
pub mod helm;
pub mod k8s;
pub mod local;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::Drivers;
use crate::model::profile::{Cluster, Profile};

/// Options that change what drivers do, set per command.
#[derive(Debug, Clone, Default)]
pub struct DriverOptions {
    /// Destroy: leave the EBS volumes behind PVCs.
    pub keep_volumes: bool,
    /// The alpaka-owned kubeconfig `eks.cluster` writes for the cluster it makes
    /// (`<root>/.alpaka/<profile>.kubeconfig`); its path and context are the cluster's outputs
    /// every in-cluster node connects through.
    pub kubeconfig: Option<PathBuf>,
}

impl DriverOptions {
    /// The options of a workspace: its own kubeconfig under `<root>/.alpaka/`.
    pub fn for_workspace(root: &Path, profile_name: &str) -> DriverOptions {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        DriverOptions {
            keep_volumes: false,
            kubeconfig: Some(
                root.join(crate::state::STATE_DIR)
                    .join(format!("{profile_name}.kubeconfig")),
            ),
        }
    }
}

/// The drivers a profile's apply can use (no file written by any driver).
pub fn drivers(profile: &Profile) -> Drivers {
    drivers_with(profile, DriverOptions::default())
}

pub fn drivers_with(profile: &Profile, opts: DriverOptions) -> Drivers {
    let mut d = Drivers::new();
    local::register(&mut d);
    k8s::register(&mut d);
    helm::register(&mut d);
    if let Some(shared) = aws_shared(profile, &opts) {
        aws::register(&mut d, &shared, policy_documents());
    }
    d
}

fn aws_shared(profile: &Profile, opts: &DriverOptions) -> Option<Arc<aws::Shared>> {
    let Cluster::Eks(e) = profile.cluster() else {
        return None;
    };
    let timeout = alpaka_aws::wait::parse_duration(e.wait_timeout.as_str())
        .unwrap_or(std::time::Duration::from_secs(30 * 60));
    Some(aws::Shared::new(
        &e.region,
        timeout,
        opts.keep_volumes,
        opts.kubeconfig.clone(),
    ))
}

/// The IAM policy documents compiled into this binary, by the file name the stack uses.
///
/// Empty in this build: the AWS Load Balancer Controller's policy for the pinned chart
/// (`catalog::LB_CONTROLLER_POLICY_FILE`) could not yet be verified verbatim from its source, and
/// alpaka never ships an invented policy. The `iam.policy` driver refuses, naming the file, until
/// the verified document is added here (`include_str!`) — see docs/chart-versions.md.
fn policy_documents() -> HashMap<&'static str, &'static str> {
    HashMap::new()
}

/// EKS: the EBS volumes behind the platform's PVCs (tagged by the EBS CSI add-on with the
/// cluster's and alpaka's tags), which a destroy's sweep deletes unless `--keep-volumes`. Empty
/// for other profiles.
pub async fn pvc_volumes(profile: &Profile, profile_name: &str) -> Result<Vec<String>, String> {
    let Cluster::Eks(e) = profile.cluster() else {
        return Ok(Vec::new());
    };
    let Some(shared) = aws_shared(profile, &DriverOptions::default()) else {
        return Ok(Vec::new());
    };
    aws::pvc_volumes(&shared, profile_name, &e.cluster_name).await
}

/// After a full destroy: what is still tagged with the profile in the provider's account, one
/// line each. Empty for profiles whose provider keeps no such tags.
pub async fn leftovers(profile: &Profile, profile_name: &str) -> Result<Vec<String>, String> {
    let Cluster::Eks(e) = profile.cluster() else {
        return Ok(Vec::new());
    };
    let Some(shared) = aws_shared(profile, &DriverOptions::default()) else {
        return Ok(Vec::new());
    };
    aws::leftovers(&shared, profile_name, &e.cluster_name).await
}
