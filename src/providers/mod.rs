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
use std::sync::{Arc, RwLock};

use crate::engine::Drivers;
use crate::model::profile::{Cluster, Profile};

/// This run, for drivers that mark what they change with it: each helm operation carries the
/// run id (`--description`, and the release labels `alpaka.io/run` and `alpaka.io/profile`), so
/// a release left `pending-*` by a run that is gone can be told from one a live run holds.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub profile: String,
    /// This run's state lock id, once `apply`/`destroy` holds the lock.
    pub id: Option<String>,
    /// The id of the run holding the state lock when the plan was made (this run's during
    /// apply; another run's, or none, for `plan`).
    pub lock_holder: Option<String>,
}

/// Shared by the drivers and `ops`, which fills in the ids once it knows them.
pub type Run = Arc<RwLock<RunInfo>>;

/// Options that change what drivers do, set per command.
#[derive(Debug, Clone, Default)]
pub struct DriverOptions {
    /// Who this run is (see [`RunInfo`]).
    pub run: Run,
    /// Destroy: leave the EBS volumes behind PVCs.
    pub keep_volumes: bool,
    /// Destroy: how deletes treat objects held by finalizers.
    pub delete: k8s::manifest::DeleteOptions,
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
            run: Arc::new(RwLock::new(RunInfo {
                profile: profile_name.to_owned(),
                ..RunInfo::default()
            })),
            keep_volumes: false,
            delete: Default::default(),
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
    k8s::register(&mut d, opts.delete);
    helm::register(
        &mut d,
        opts.run.clone(),
        profile.mirror.as_ref().map(|m| m.charts.clone()),
    );
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

/// The IAM policy documents compiled into this binary, by the file name the stack uses. Each is
/// a publisher's document byte for byte (never written by hand): a test holds each to the
/// checksum recorded with its source.
fn policy_documents() -> HashMap<&'static str, &'static str> {
    HashMap::from([(
        crate::stack::catalog::LB_CONTROLLER_POLICY_FILE,
        include_str!("../../policies/aws-load-balancer-controller-v3.5.0-iam-policy.json"),
    )])
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

/// The PersistentVolumes behind the claims of each Kafka the state records, per cluster access
/// (for the destroy plan). A Kafka whose cluster cannot be read is reported as an error line.
pub async fn kafka_volumes(
    state: &crate::state::State,
) -> Vec<Result<(k8s::Access, Vec<k8s::volumes::KafkaVolume>), String>> {
    let clients = k8s::Clients::default();
    let mut out = Vec::new();
    for (id, rs) in state
        .resources
        .iter()
        .filter(|(_, r)| r.kind == "strimzi.kafka")
    {
        let s = |p: &str| rs.attrs.get(p).and_then(crate::engine::Value::as_str);
        let (Some(ns), Some(name)) = (s("metadata.namespace"), s("metadata.name")) else {
            continue;
        };
        let access = match k8s::Access::of_attrs(&rs.attrs) {
            Ok(a) => a,
            Err(e) => {
                out.push(Err(format!("{id}: {e}")));
                continue;
            }
        };
        out.push(
            k8s::volumes::kafka_volumes(&clients, &access, ns, name)
                .await
                .map(|v| (access, v))
                .map_err(|e| format!("{id}: {e}")),
        );
    }
    out
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

/// `destroy --orphans`: what is tagged as the profile's but recorded in no state, as recorded
/// resources the drivers can delete (ids and dependencies set for the walker's order). Empty
/// for profiles whose provider keeps no such tags.
pub async fn orphans(
    profile: &Profile,
    profile_name: &str,
    state: &crate::state::State,
) -> Result<Vec<(crate::engine::ResourceId, crate::state::ResourceState)>, String> {
    if !matches!(profile.cluster(), Cluster::Eks(_)) {
        return Ok(Vec::new());
    }
    let Some(shared) = aws_shared(profile, &DriverOptions::default()) else {
        return Ok(Vec::new());
    };
    aws::orphans::find(&shared, profile_name, state).await
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use crate::stack::catalog;

    fn sha256(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The compiled policy is the publisher's, byte for byte: the checksum recorded with its
    /// source (`shared/reference/aws-load-balancer-controller/README.md`), and the reference
    /// copy itself where it is beside the repository.
    #[test]
    fn the_lb_controller_policy_is_the_published_v3_5_0_document() {
        let docs = super::policy_documents();
        let doc = docs
            .get(catalog::LB_CONTROLLER_POLICY_FILE)
            .expect("the pinned policy file is compiled in");
        assert_eq!(sha256(doc.as_bytes()), catalog::LB_CONTROLLER_POLICY_SHA256);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let on_disk = std::fs::read(root.join(catalog::LB_CONTROLLER_POLICY_FILE)).unwrap();
        assert_eq!(on_disk, doc.as_bytes());
        let reference =
            root.join("../shared/reference/aws-load-balancer-controller/iam-policy-v3.5.0.json");
        let r = std::fs::read(&reference)
            .unwrap_or_else(|e| panic!("{}: {e} (../shared beside the repo)", reference.display()));
        assert_eq!(r, on_disk, "{} differs", reference.display());
        // The version in the file name is the pinned chart's (chart 3.x = controller v3.x).
        assert!(
            catalog::LB_CONTROLLER_POLICY_FILE.contains(&format!(
                "-v{}-",
                catalog::AWS_LOAD_BALANCER_CONTROLLER.version
            )),
            "{}",
            catalog::LB_CONTROLLER_POLICY_FILE
        );
        let policy: serde_json::Value = serde_json::from_str(doc).unwrap();
        assert_eq!(policy["Version"], "2012-10-17");
        assert_eq!(policy["Statement"].as_array().map(Vec::len), Some(16));
    }
}
