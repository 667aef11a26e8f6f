//! EKS: cluster, managed nodegroups (`nodegroup.rs`), add-ons (`addon.rs`), and the waiters for
//! each.

use std::collections::HashMap;

use aws_sdk_eks::Client;
use aws_sdk_eks::types::{AuthenticationMode, CreateAccessConfigRequest, VpcConfigRequest};

use crate::Tags;
use crate::error::{AwsError, found, gone_ok, missing, sdk};
use crate::retry::{Backoff, iam_propagation, retry};
use crate::wait::{Probe, WaitSpec, wait_for};

mod addon;
mod nodegroup;

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
    pub tags: Tags,
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
        .resources_vpc_config(
            VpcConfigRequest::builder()
                .set_subnet_ids(Some(s.subnet_ids.clone()))
                .endpoint_public_access(true)
                .endpoint_private_access(true)
                .build(),
        )
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
    wait_update(c, name, None, id, spec, on_status).await?;
    wait_cluster_active(c, name, spec, on_status)
        .await
        .map(|_| ())
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
