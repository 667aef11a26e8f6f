//! Kafka's volumes on destroy: listed for the destroy plan, and kept (reclaim policy `Retain`)
//! before anything deletes their claims.
//!
//! `kafka.storage.deleteClaim: false` keeps a PVC only as long as its namespace: destroy deletes
//! the namespace, the PVC goes, and a PV with reclaim policy `Delete` goes with it (its
//! provisioner, e.g. the EBS CSI driver, deletes the disk). Only the PV's own policy keeps the
//! data past that.

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::api::{Api, ListParams, Patch, PatchParams};

use super::access::{Access, Clients, K8sError};
use super::manifest::STRIMZI_CLUSTER_LABEL;

/// One PersistentVolume behind a Kafka's claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaVolume {
    pub pv: String,
    /// `namespace/claim`
    pub claim: String,
    pub capacity: String,
    pub storage_class: String,
    pub reclaim_policy: String,
    /// What holds the data outside Kubernetes (a CSI volume handle such as an EBS volume id, or
    /// a host path), when the PV says.
    pub backing: Option<String>,
}

impl KafkaVolume {
    /// One line for the destroy plan.
    pub fn describe(&self) -> String {
        let backing = self
            .backing
            .as_deref()
            .map(|b| format!(", data in {b}"))
            .unwrap_or_default();
        format!(
            "{} ({}, class {}, claim {}, reclaim policy now {}{backing})",
            self.pv, self.capacity, self.storage_class, self.claim, self.reclaim_policy
        )
    }
}

/// The PVs bound to the claims Strimzi made for Kafka `kafka` in `namespace` (labelled
/// `strimzi.io/cluster=<kafka>`, `strimzi.io/kind=Kafka`: Strimzi 1.2.0's PVCs of a node pool
/// carry its cluster's labels, `data-<volume id>-<pool pod>` by name).
pub async fn kafka_volumes(
    clients: &Clients,
    access: &Access,
    namespace: &str,
    kafka: &str,
) -> Result<Vec<KafkaVolume>, K8sError> {
    let client = clients.get(access).await?;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let lp = ListParams::default().labels(&format!(
        "{STRIMZI_CLUSTER_LABEL}={kafka},strimzi.io/kind=Kafka"
    ));
    let list = match claims.list(&lp).await {
        Ok(l) => l,
        Err(kube::Error::Api(s)) if s.is_not_found() => return Ok(Vec::new()),
        Err(e) => {
            return Err(K8sError::api(
                access,
                "listing",
                format!("Kafka {kafka}'s claims in {namespace}"),
            )(e));
        }
    };
    let pvs: Api<PersistentVolume> = Api::all(client);
    let mut out = Vec::new();
    for pvc in list.items {
        let claim = format!(
            "{namespace}/{}",
            pvc.metadata.name.clone().unwrap_or_default()
        );
        let Some(pv_name) = pvc.spec.as_ref().and_then(|s| s.volume_name.clone()) else {
            continue;
        };
        let Some(pv) = pvs.get_opt(&pv_name).await.map_err(K8sError::api(
            access,
            "reading",
            format!("PersistentVolume {pv_name}"),
        ))?
        else {
            continue;
        };
        let spec = pv.spec.unwrap_or_default();
        let backing = spec
            .csi
            .as_ref()
            .map(|c| format!("{} volume {}", c.driver, c.volume_handle))
            .or_else(|| {
                spec.host_path
                    .as_ref()
                    .map(|h| format!("host path {}", h.path))
            })
            .or_else(|| {
                spec.local
                    .as_ref()
                    .map(|l| format!("local path {}", l.path))
            });
        out.push(KafkaVolume {
            pv: pv_name,
            claim,
            capacity: spec
                .capacity
                .as_ref()
                .and_then(|c| c.get("storage"))
                .map(|q| q.0.clone())
                .unwrap_or_else(|| "?".into()),
            storage_class: spec.storage_class_name.unwrap_or_else(|| "-".into()),
            reclaim_policy: spec
                .persistent_volume_reclaim_policy
                .unwrap_or_else(|| "Delete".into()),
            backing,
        });
    }
    Ok(out)
}

/// Sets reclaim policy `Retain` on each of Kafka `kafka`'s PVs, so deleting the claims (by
/// Strimzi with `deleteClaim: true`, or with the namespace) leaves the PV and its data.
pub async fn retain_kafka_volumes(
    clients: &Clients,
    access: &Access,
    namespace: &str,
    kafka: &str,
) -> Result<Vec<KafkaVolume>, K8sError> {
    let vols = kafka_volumes(clients, access, namespace, kafka).await?;
    let client = clients.get(access).await?;
    let pvs: Api<PersistentVolume> = Api::all(client);
    let patch = serde_json::json!({"spec": {"persistentVolumeReclaimPolicy": "Retain"}});
    for v in vols.iter().filter(|v| v.reclaim_policy != "Retain") {
        pvs.patch(&v.pv, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(K8sError::api(
                access,
                "setting reclaim policy Retain on",
                format!("PersistentVolume {}", v.pv),
            ))?;
    }
    Ok(vols)
}
