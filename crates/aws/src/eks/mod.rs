//! EKS: cluster, managed nodegroups (`nodegroup.rs`), add-ons (`addon.rs`), and the waiters for
//! each.

use std::collections::HashMap;

use aws_sdk_eks::Client;
use aws_sdk_eks::types::{
    AuthenticationMode, CreateAccessConfigRequest, EncryptionConfig, LogSetup, LogType, Logging,
    Provider, VpcConfigRequest,
};

use crate::Tags;
use crate::error::{AwsError, found, gone_ok, missing, sdk};
use crate::retry::{Backoff, iam_propagation, retry};
use crate::wait::{Probe, WaitSpec, wait_for};

mod access;
mod addon;
mod nodegroup;

pub use access::*;
pub use addon::*;
pub use nodegroup::*;

type OnStatus<'a> = &'a (dyn Fn(&str) + Send + Sync);

fn to_map(tags: &Tags) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn from_map(tags: Option<&HashMap<String, String>>) -> Tags {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Cluster status → waiter verdict.
pub fn cluster_probe(status: &str, reason: &str) -> Probe {
    match status {
        "ACTIVE" => Probe::Done,
        "FAILED" | "DELETING" => Probe::Failed {
            status: status.to_owned(),
            reason: reason.to_owned(),
        },
        other => Probe::Pending(other.to_owned()),
    }
}

/// Nodegroup status → waiter verdict (also used for add-ons, which share the vocabulary).
pub fn nodegroup_probe(status: &str, reason: &str) -> Probe {
    match status {
        "ACTIVE" => Probe::Done,
        "CREATE_FAILED" | "DELETE_FAILED" | "DEGRADED" | "DELETING" | "UPDATE_FAILED" => {
            Probe::Failed {
                status: status.to_owned(),
                reason: reason.to_owned(),
            }
        }
        other => Probe::Pending(other.to_owned()),
    }
}

/// While deleting: gone is done, `DELETE_FAILED` is a failure, anything else pending.
pub fn deletion_probe(status: Option<&str>, reason: &str) -> Probe {
    match status {
        None => Probe::Done,
        Some("DELETE_FAILED") => Probe::Failed {
            status: "DELETE_FAILED".into(),
            reason: reason.to_owned(),
        },
        Some(s) => Probe::Pending(s.to_owned()),
    }
}

// ---- Cluster ----

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSpec {
    pub name: String,
    pub version: String,
    pub role_arn: String,
    pub subnet_ids: Vec<String>,
    pub authentication_mode: String,
    pub bootstrap_creator_admin: bool,
    pub endpoint: EndpointAccess,
    /// Control-plane log types exported to CloudWatch Logs (botocore `LogType`).
    pub logging: Vec<String>,
    /// A customer-managed KMS key for envelope encryption of Kubernetes secrets.
    pub kms_key_arn: Option<String>,
    pub tags: Tags,
}

/// Who can reach the API server: the private endpoint inside the VPC, and the public one only
/// from `public_cidrs` (none: public access off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointAccess {
    pub private: bool,
    pub public_cidrs: Vec<String>,
}

impl EndpointAccess {
    fn request(&self) -> VpcConfigRequest {
        let public = !self.public_cidrs.is_empty();
        VpcConfigRequest::builder()
            .endpoint_public_access(public)
            .endpoint_private_access(self.private)
            // Only with public access on: EKS keeps (and reports) its default otherwise.
            .set_public_access_cidrs(public.then(|| self.public_cidrs.clone()))
            .build()
    }
}

/// The five control-plane log types (botocore EKS model 2017-11-01, shape `LogType`).
pub const LOG_TYPES: [&str; 5] = [
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];

/// `logging` for CreateCluster/UpdateClusterConfig: the wanted types enabled, the rest
/// disabled, so the call states the whole setting rather than a change to it.
fn logging_request(enabled: &[String]) -> Logging {
    let (on, off): (Vec<&str>, Vec<&str>) = LOG_TYPES
        .iter()
        .partition(|t| enabled.iter().any(|e| e == *t));
    let setup = |types: Vec<&str>, enabled: bool| {
        LogSetup::builder()
            .set_types(Some(types.into_iter().map(LogType::from).collect()))
            .enabled(enabled)
            .build()
    };
    let mut b = Logging::builder();
    if !on.is_empty() {
        b = b.cluster_logging(setup(on, true));
    }
    if !off.is_empty() {
        b = b.cluster_logging(setup(off, false));
    }
    b.build()
}

/// The key only: `resources` (once `[secrets]`) is deprecated in the EKS model, since EKS
/// envelope-encrypts all Kubernetes API data (aws-sdk-eks 1.160 `EncryptionConfig::resources`).
fn encryption(key: &str) -> EncryptionConfig {
    EncryptionConfig::builder()
        .provider(Provider::builder().key_arn(key).build())
        .build()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub version: String,
    pub role_arn: String,
    pub subnet_ids: Vec<String>,
    pub authentication_mode: Option<String>,
    /// `accessConfig.bootstrapClusterCreatorAdminPermissions`, when EKS reports it.
    pub bootstrap_creator_admin: Option<bool>,
    /// Public access as reported: its CIDRs are empty when public access is off (EKS keeps
    /// reporting its default `0.0.0.0/0` then, which is no access).
    pub endpoint_access: EndpointAccess,
    /// Enabled log types, in [`LOG_TYPES`] order.
    pub logging: Vec<String>,
    pub kms_key_arn: Option<String>,
    pub endpoint: String,
    pub certificate_authority: String,
    /// `https://oidc.eks.<region>.amazonaws.com/id/<ID>`.
    pub oidc_issuer: String,
    pub tags: Tags,
}

/// Retried while EKS cannot yet see the role just created (`retry::iam_propagation`).
/// `token`: the create's idempotency token (`clientRequestToken`), the same for this resource in
/// every run, so a create repeated after a crash is the same request.
pub async fn create_cluster(c: &Client, s: &ClusterSpec, token: &str) -> Result<(), AwsError> {
    retry(Backoff::IAM_PROPAGATION, iam_propagation, &|_| {}, || {
        create_cluster_once(c, s, token)
    })
    .await
}

async fn create_cluster_once(c: &Client, s: &ClusterSpec, token: &str) -> Result<(), AwsError> {
    c.create_cluster()
        .client_request_token(token)
        .name(&s.name)
        .version(&s.version)
        .role_arn(&s.role_arn)
        .resources_vpc_config({
            let mut v = s.endpoint.request();
            v.subnet_ids = Some(s.subnet_ids.clone());
            v
        })
        .logging(logging_request(&s.logging))
        .set_encryption_config(s.kms_key_arn.as_deref().map(|k| vec![encryption(k)]))
        .access_config(
            CreateAccessConfigRequest::builder()
                .authentication_mode(AuthenticationMode::from(s.authentication_mode.as_str()))
                .bootstrap_cluster_creator_admin_permissions(s.bootstrap_creator_admin)
                .build(),
        )
        .set_tags(Some(to_map(&s.tags)))
        .send()
        .await
        .map(|_| ())
        .map_err(sdk("eks:CreateCluster", &s.name))
}

pub async fn describe_cluster(c: &Client, name: &str) -> Result<Option<Cluster>, AwsError> {
    let Some(out) = found(
        c.describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(sdk("eks:DescribeCluster", name)),
    )?
    else {
        return Ok(None);
    };
    let k = out
        .cluster()
        .ok_or_else(|| missing("eks:DescribeCluster", name, "cluster"))?;
    let vpc = k.resources_vpc_config();
    let public = vpc.is_some_and(|v| v.endpoint_public_access());
    let enabled: Vec<&str> = k
        .logging()
        .map(|l| l.cluster_logging())
        .unwrap_or_default()
        .iter()
        .filter(|s| s.enabled() == Some(true))
        .flat_map(|s| s.types().iter().map(|t| t.as_str()))
        .collect();
    Ok(Some(Cluster {
        name: name.to_owned(),
        arn: k.arn().unwrap_or_default().to_owned(),
        status: k
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        version: k.version().unwrap_or_default().to_owned(),
        role_arn: k.role_arn().unwrap_or_default().to_owned(),
        subnet_ids: k
            .resources_vpc_config()
            .map(|v| v.subnet_ids().to_vec())
            .unwrap_or_default(),
        authentication_mode: k
            .access_config()
            .and_then(|a| a.authentication_mode())
            .map(|m| m.as_str().to_owned()),
        bootstrap_creator_admin: k
            .access_config()
            .and_then(|a| a.bootstrap_cluster_creator_admin_permissions()),
        endpoint_access: EndpointAccess {
            private: vpc.is_some_and(|v| v.endpoint_private_access()),
            public_cidrs: if public {
                vpc.map(|v| v.public_access_cidrs().to_vec())
                    .unwrap_or_default()
            } else {
                Vec::new()
            },
        },
        logging: LOG_TYPES
            .iter()
            .filter(|t| enabled.contains(t))
            .map(|t| (*t).to_owned())
            .collect(),
        kms_key_arn: k
            .encryption_config()
            .iter()
            .find_map(|e| e.provider())
            .and_then(|p| p.key_arn())
            .map(str::to_owned),
        endpoint: k.endpoint().unwrap_or_default().to_owned(),
        certificate_authority: k
            .certificate_authority()
            .and_then(|c| c.data())
            .unwrap_or_default()
            .to_owned(),
        oidc_issuer: k
            .identity()
            .and_then(|i| i.oidc())
            .and_then(|o| o.issuer())
            .unwrap_or_default()
            .to_owned(),
        tags: from_map(k.tags()),
    }))
}

pub async fn wait_cluster_active(
    c: &Client,
    name: &str,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<Cluster, AwsError> {
    wait_for(
        spec,
        || async {
            Ok(match describe_cluster(c, name).await? {
                Some(k) => cluster_probe(&k.status, ""),
                None => Probe::Failed {
                    status: "NOT_FOUND".into(),
                    reason: "the cluster disappeared".into(),
                },
            })
        },
        on_status,
    )
    .await?;
    describe_cluster(c, name).await?.ok_or_else(|| {
        AwsError::new("eks:DescribeCluster", name, "gone").with_code("ResourceNotFoundException")
    })
}

/// The Kubernetes versions an EKS cluster goes through from `from` to `to`: EKS upgrades one
/// minor version at a time (UpdateClusterVersion refuses a larger step) and never downgrades.
/// `Ok(vec![])` when they are equal.
pub fn upgrade_steps(from: &str, to: &str) -> Result<Vec<String>, String> {
    let parse = |v: &str| -> Result<(u32, u32), String> {
        let mut it = v.trim_start_matches('v').split('.');
        match (
            it.next().and_then(|x| x.parse().ok()),
            it.next().and_then(|x| x.parse().ok()),
        ) {
            (Some(major), Some(minor)) => Ok((major, minor)),
            _ => Err(format!("`{v}` is not a Kubernetes version (MAJOR.MINOR)")),
        }
    };
    let (fmaj, fmin) = parse(from)?;
    let (tmaj, tmin) = parse(to)?;
    if fmaj != tmaj {
        return Err(format!(
            "EKS cannot change the major version ({from} → {to})"
        ));
    }
    if tmin < fmin {
        return Err(format!(
            "EKS cannot downgrade a cluster ({from} → {to}); keep kubernetesVersion at {from} or later, \
             or make a new cluster"
        ));
    }
    Ok((fmin + 1..=tmin).map(|m| format!("{tmaj}.{m}")).collect())
}

/// One step of an upgrade (`version` one minor above the cluster's): UpdateClusterVersion, then
/// DescribeUpdate on that update's id until it succeeds, then the cluster ACTIVE again.
pub async fn update_cluster_version(
    c: &Client,
    name: &str,
    version: &str,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<(), AwsError> {
    let out = c
        .update_cluster_version()
        .name(name)
        .version(version)
        .send()
        .await
        .map_err(sdk("eks:UpdateClusterVersion", name))?;
    let id = update_id(out.update(), "eks:UpdateClusterVersion", name)?;
    settle_cluster_update(c, name, id, spec, on_status).await
}

/// Change who can reach the API server: one UpdateClusterConfig (resourcesVpcConfig), its
/// update waited out, then the cluster ACTIVE again. EKS takes one kind of change per call
/// ("Only one type of update can be allowed": kubernetes-sigs/cluster-api-provider-aws#3553,
/// boto/boto3#2592), so logging is a call of its own ([`update_logging`]).
pub async fn update_endpoint_access(
    c: &Client,
    name: &str,
    access: &EndpointAccess,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<(), AwsError> {
    let out = c
        .update_cluster_config()
        .name(name)
        .resources_vpc_config(access.request())
        .send()
        .await
        .map_err(sdk("eks:UpdateClusterConfig", name))?;
    let id = update_id(out.update(), "eks:UpdateClusterConfig", name)?;
    settle_cluster_update(c, name, id, spec, on_status).await
}

/// Set the exported control-plane log types: one UpdateClusterConfig (logging), waited out.
pub async fn update_logging(
    c: &Client,
    name: &str,
    enabled: &[String],
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<(), AwsError> {
    let out = c
        .update_cluster_config()
        .name(name)
        .logging(logging_request(enabled))
        .send()
        .await
        .map_err(sdk("eks:UpdateClusterConfig", name))?;
    let id = update_id(out.update(), "eks:UpdateClusterConfig", name)?;
    settle_cluster_update(c, name, id, spec, on_status).await
}

/// Add envelope encryption of secrets with `key` to a cluster that has none
/// (AssociateEncryptionConfig; EKS can neither remove nor change it afterwards).
pub async fn associate_encryption(
    c: &Client,
    name: &str,
    key: &str,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<(), AwsError> {
    let out = c
        .associate_encryption_config()
        .cluster_name(name)
        .encryption_config(encryption(key))
        .send()
        .await
        .map_err(sdk("eks:AssociateEncryptionConfig", name))?;
    let id = update_id(out.update(), "eks:AssociateEncryptionConfig", name)?;
    settle_cluster_update(c, name, id, spec, on_status).await
}

/// Move a nodegroup to the cluster's Kubernetes version (UpdateNodegroupVersion with the
/// version, so EKS picks that version's AMI), waiting on the update.
pub async fn update_nodegroup_version(
    c: &Client,
    cluster: &str,
    nodegroup: &str,
    version: &str,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<(), AwsError> {
    let res = format!("{cluster}/{nodegroup}");
    let out = c
        .update_nodegroup_version()
        .cluster_name(cluster)
        .nodegroup_name(nodegroup)
        .version(version)
        .send()
        .await
        .map_err(sdk("eks:UpdateNodegroupVersion", &res))?;
    let id = update_id(out.update(), "eks:UpdateNodegroupVersion", &res)?;
    wait_update(c, cluster, Some(nodegroup), id, spec, on_status).await
}

/// The id an update call answered with, to wait on.
fn update_id<'a>(
    update: Option<&'a aws_sdk_eks::types::Update>,
    op: &str,
    resource: &str,
) -> Result<&'a str, AwsError> {
    update
        .and_then(|u| u.id())
        .ok_or_else(|| AwsError::new(op, resource, "the answer carries no update id"))
}

/// DescribeUpdate until `Successful`; `Failed`/`Cancelled` end it with EKS's own errors.
/// A cluster-level update (version, endpoint, logging, encryption) done: the update Successful,
/// then the cluster ACTIVE again.
async fn settle_cluster_update(
    c: &Client,
    name: &str,
    id: &str,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<(), AwsError> {
    wait_update(c, name, None, id, spec, on_status).await?;
    wait_cluster_active(c, name, spec, on_status)
        .await
        .map(|_| ())
}

async fn wait_update(
    c: &Client,
    cluster: &str,
    nodegroup: Option<&str>,
    id: &str,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<(), AwsError> {
    let res = match nodegroup {
        Some(n) => format!("{cluster}/{n} update {id}"),
        None => format!("{cluster} update {id}"),
    };
    wait_for(
        spec,
        || async {
            let out = c
                .describe_update()
                .name(cluster)
                .set_nodegroup_name(nodegroup.map(str::to_owned))
                .update_id(id)
                .send()
                .await
                .map_err(sdk("eks:DescribeUpdate", &res))?;
            let Some(u) = out.update() else {
                return Ok(Probe::Pending("update not visible yet".into()));
            };
            let status = u.status().map(|s| s.as_str()).unwrap_or("");
            Ok(match status {
                "Successful" => Probe::Done,
                "Failed" | "Cancelled" => Probe::Failed {
                    status: status.to_owned(),
                    reason: u
                        .errors()
                        .iter()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                e.error_code().map(|c| c.as_str()).unwrap_or("?"),
                                e.error_message().unwrap_or("")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                },
                other => Probe::Pending(format!("update {other}")),
            })
        },
        on_status,
    )
    .await
}

pub async fn set_tags(c: &Client, arn: &str, have: &Tags, want: &Tags) -> Result<(), AwsError> {
    let add: Tags = want
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !add.is_empty() {
        c.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(to_map(&add)))
            .send()
            .await
            .map_err(sdk("eks:TagResource", arn))?;
    }
    let remove: Vec<String> = have
        .keys()
        .filter(|k| !want.contains_key(*k))
        .cloned()
        .collect();
    if !remove.is_empty() {
        c.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(sdk("eks:UntagResource", arn))?;
    }
    Ok(())
}

pub async fn delete_cluster(
    c: &Client,
    name: &str,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<(), AwsError> {
    gone_ok(
        c.delete_cluster()
            .name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk("eks:DeleteCluster", name)),
    )?;
    wait_for(
        spec,
        || async {
            let k = describe_cluster(c, name).await?;
            Ok(deletion_probe(k.as_ref().map(|k| k.status.as_str()), ""))
        },
        on_status,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::upgrade_steps;

    #[test]
    fn upgrades_go_one_minor_at_a_time_and_never_down() {
        assert_eq!(upgrade_steps("1.32", "1.34").unwrap(), ["1.33", "1.34"]);
        assert_eq!(upgrade_steps("1.34", "1.34").unwrap(), Vec::<String>::new());
        assert_eq!(upgrade_steps("1.33", "1.34").unwrap(), ["1.34"]);
        assert!(
            upgrade_steps("1.34", "1.33")
                .unwrap_err()
                .contains("cannot downgrade")
        );
        assert!(upgrade_steps("1.34", "2.0").unwrap_err().contains("major"));
        assert!(
            upgrade_steps("latest", "1.34")
                .unwrap_err()
                .contains("not a Kubernetes version")
        );
    }
}
