//! eks.access-entry: an IAM principal's EKS access entry with a cluster-scoped access policy
//! (alpaka's admins and the principals that apply; `stack/cluster.rs` says which).

use std::sync::Arc;

use alpaka_aws::eks;
use async_trait::async_trait;

use super::{Shared, carry, err, map_value, opt_text, ours_by_name, outputs, tags, text};
use crate::engine::diff::FieldChange;
use crate::engine::{Driver, DriverError, Drivers, Found, ResourceId, StepCx, Value};
use crate::state::ResourceState;

pub fn register(d: &mut Drivers, s: &Arc<Shared>) {
    d.register("eks.access-entry", Arc::new(AccessEntryDriver(s.clone())));
}

pub struct AccessEntryDriver(Arc<Shared>);

/// The wanted policy when it is associated cluster-wide, else what is associated (or nothing):
/// a namespace-scoped association of the same policy is not the access alpaka grants.
fn policy_value(e: &eks::AccessEntry, want: Option<&str>) -> Value {
    let cluster_wide = |p: &&eks::AssociatedPolicy| p.scope == "cluster";
    e.policies
        .iter()
        .filter(cluster_wide)
        .find(|p| Some(p.policy_arn.as_str()) == want)
        .or_else(|| e.policies.iter().find(cluster_wide))
        .map(|p| Value::str(&p.policy_arn))
        .unwrap_or_default()
}

#[async_trait]
impl Driver for AccessEntryDriver {
    fn force_new(&self) -> &[&'static str] {
        &["cluster", "principal_arn"]
    }
    /// An entry for this principal on this cluster is adopted even without alpaka's tags: a
    /// principal has at most one entry per cluster (EKS refuses a second), so it is the entry
    /// this node describes. That is the case of the creator's bootstrap entry on a cluster made
    /// before alpaka turned `bootstrapClusterCreatorAdminPermissions` off. Another profile's
    /// tags are refused as usual.
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        let aws = self.0.aws().await;
        let (Some(cluster), Some(principal)) =
            (opt_text(d, "cluster"), opt_text(d, "principal_arn"))
        else {
            return Ok(Found::Nothing);
        };
        let Some(e) = eks::describe_access_entry(&aws.eks, &cluster, &principal)
            .await
            .map_err(err)?
        else {
            return Ok(Found::Nothing);
        };
        let out = outputs([("arn", e.arn.clone())]);
        if !e.tags.contains_key(alpaka_aws::sweep::TAG_PROFILE) {
            return Ok(Found::Ours(out));
        }
        Ok(ours_by_name(
            "EKS access entry",
            &format!("{cluster}/{principal}"),
            &e.tags,
            id,
            d,
            out,
        ))
    }
    async fn read(
        &self,
        _: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let want = opt_text(&rec.attrs, "policy_arn");
        let e = eks::describe_access_entry(
            &aws.eks,
            &text(&rec.attrs, "cluster")?,
            &text(&rec.attrs, "principal_arn")?,
        )
        .await
        .map_err(err)?;
        Ok(e.map(|e| {
            Value::map([
                ("cluster", Value::str(&e.cluster)),
                ("principal_arn", Value::str(&e.principal_arn)),
                ("policy_arn", policy_value(&e, want.as_deref())),
                // alpaka's bookkeeping (admins or applier), not AWS's.
                ("from", carry(rec, "from")),
                ("tags", map_value(&e.tags)),
            ])
        }))
    }
    async fn create(&self, cx: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let (cluster, principal) = (text(d, "cluster")?, text(d, "principal_arn")?);
        let arn = eks::create_access_entry(
            &aws.eks,
            &cluster,
            &principal,
            &tags(d),
            &cx.idempotency_token(),
        )
        .await
        .map_err(err)?;
        eks::associate_cluster_policy(&aws.eks, &cluster, &principal, &text(d, "policy_arn")?)
            .await
            .map_err(err)?;
        Ok(outputs([("arn", arn)]))
    }
    /// The policy (associate the wanted one, then drop the one recorded before) and tags.
    async fn update(
        &self,
        _: &StepCx,
        rec: &ResourceState,
        d: &Value,
        _: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let (cluster, principal) = (text(d, "cluster")?, text(d, "principal_arn")?);
        let Some(live) = eks::describe_access_entry(&aws.eks, &cluster, &principal)
            .await
            .map_err(err)?
        else {
            return Err(DriverError::new(format!(
                "eks access entry {cluster}/{principal} is gone"
            ))
            .with_code("ResourceNotFoundException"));
        };
        let want = text(d, "policy_arn")?;
        if !live
            .policies
            .iter()
            .any(|p| p.policy_arn == want && p.scope == "cluster")
        {
            eks::associate_cluster_policy(&aws.eks, &cluster, &principal, &want)
                .await
                .map_err(err)?;
        }
        if let Some(old) = opt_text(&rec.attrs, "policy_arn").filter(|o| *o != want)
            && live.policies.iter().any(|p| p.policy_arn == old)
        {
            eks::disassociate_policy(&aws.eks, &cluster, &principal, &old)
                .await
                .map_err(err)?;
        }
        eks::set_tags(&aws.eks, &live.arn, &live.tags, &tags(d))
            .await
            .map_err(err)?;
        Ok(outputs([("arn", live.arn)]))
    }
    async fn delete(&self, _: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        eks::delete_access_entry(
            &aws.eks,
            &text(&rec.attrs, "cluster")?,
            &text(&rec.attrs, "principal_arn")?,
        )
        .await
        .map_err(err)
    }
}
