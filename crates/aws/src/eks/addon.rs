//! EKS add-ons: create, describe, wait, the default version for a Kubernetes minor, update,
//! delete.

use aws_sdk_eks::Client;

use super::{OnStatus, deletion_probe, from_map, nodegroup_probe, to_map};
use crate::Tags;
use crate::error::{AwsError, found, gone_ok, missing, sdk};
use crate::retry::{Backoff, iam_propagation, retry};
use crate::wait::{Probe, WaitSpec, wait_for};

#[derive(Debug, Clone, PartialEq)]
pub struct Addon {
    pub cluster: String,
    pub name: String,
    pub arn: String,
    pub status: String,
    pub service_account_role_arn: Option<String>,
    pub configuration_values: Option<String>,
    /// `addonVersion`, e.g. `v1.37.0-eksbuild.1`.
    pub version: String,
    pub tags: Tags,
}

pub async fn create_addon(
    c: &Client,
    cluster: &str,
    name: &str,
    role_arn: Option<&str>,
    configuration_values: Option<&str>,
    tags: &Tags,
    token: &str,
) -> Result<(), AwsError> {
    // Retried while EKS cannot yet see the add-on's IRSA role (`retry::iam_propagation`).
    // `OVERWRITE`: EKS installs some add-ons itself, self-managed (vpc-cni, on every cluster);
    // taking one over with alpaka's configuration must replace the fields the self-managed one
    // set, which `NONE` (the default) refuses as a conflict (EKS API Reference, CreateAddon
    // `resolveConflicts`). Without a self-managed one it changes nothing.
    retry(
        Backoff::IAM_PROPAGATION,
        iam_propagation,
        &|_| {},
        || async {
            c.create_addon()
                .client_request_token(token)
                .cluster_name(cluster)
                .addon_name(name)
                .set_service_account_role_arn(role_arn.map(str::to_owned))
                .set_configuration_values(configuration_values.map(str::to_owned))
                .resolve_conflicts(aws_sdk_eks::types::ResolveConflicts::Overwrite)
                .set_tags(Some(to_map(tags)))
                .send()
                .await
                .map(|_| ())
                .map_err(sdk("eks:CreateAddon", &format!("{cluster}/{name}")))
        },
    )
    .await
}

pub async fn describe_addon(
    c: &Client,
    cluster: &str,
    name: &str,
) -> Result<Option<Addon>, AwsError> {
    let id = format!("{cluster}/{name}");
    let Some(out) = found(
        c.describe_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .send()
            .await
            .map_err(sdk("eks:DescribeAddon", &id)),
    )?
    else {
        return Ok(None);
    };
    let a = out
        .addon()
        .ok_or_else(|| missing("eks:DescribeAddon", &id, "addon"))?;
    Ok(Some(Addon {
        cluster: cluster.to_owned(),
        name: name.to_owned(),
        arn: a.addon_arn().unwrap_or_default().to_owned(),
        status: a
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        service_account_role_arn: a.service_account_role_arn().map(str::to_owned),
        configuration_values: a.configuration_values().map(str::to_owned),
        version: a.addon_version().unwrap_or_default().to_owned(),
        tags: from_map(a.tags()),
    }))
}

pub async fn wait_addon_active(
    c: &Client,
    cluster: &str,
    name: &str,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<Addon, AwsError> {
    let id = format!("{cluster}/{name}");
    wait_for(
        spec,
        || async {
            Ok(match describe_addon(c, cluster, name).await? {
                Some(a) => nodegroup_probe(&a.status, ""),
                None => Probe::Failed {
                    status: "NOT_FOUND".into(),
                    reason: "the add-on disappeared".into(),
                },
            })
        },
        on_status,
    )
    .await?;
    describe_addon(c, cluster, name).await?.ok_or_else(|| {
        AwsError::new("eks:DescribeAddon", id, "gone").with_code("ResourceNotFoundException")
    })
}

/// The version of add-on `name` EKS marks as the default for Kubernetes `k8s` (DescribeAddonVersions,
/// every page), if it has one: what CreateAddon takes when given none, and what an add-on
/// moves to after its cluster's upgrade.
pub async fn default_addon_version(
    c: &Client,
    name: &str,
    k8s: &str,
) -> Result<Option<String>, AwsError> {
    let id = format!("{name} for Kubernetes {k8s}");
    let addons = all_items!(
        c.describe_addon_versions()
            .addon_name(name)
            .kubernetes_version(k8s),
        "eks:DescribeAddonVersions",
        &id
    );
    Ok(addons
        .iter()
        .filter(|a| a.addon_name() == Some(name))
        .flat_map(|a| a.addon_versions())
        .find(|v| {
            v.compatibilities()
                .iter()
                .any(|c| c.cluster_version() == Some(k8s) && c.default_version())
        })
        .and_then(|v| v.addon_version().map(str::to_owned)))
}

/// `version`: move to that add-on version (what it configured is kept: `resolveConflicts
/// PRESERVE`).
pub async fn update_addon(
    c: &Client,
    cluster: &str,
    name: &str,
    role_arn: Option<&str>,
    configuration_values: Option<&str>,
    version: Option<&str>,
) -> Result<(), AwsError> {
    c.update_addon()
        .cluster_name(cluster)
        .addon_name(name)
        .set_service_account_role_arn(role_arn.map(str::to_owned))
        .set_configuration_values(configuration_values.map(str::to_owned))
        .set_addon_version(version.map(str::to_owned))
        .set_resolve_conflicts(version.map(|_| aws_sdk_eks::types::ResolveConflicts::Preserve))
        .send()
        .await
        .map(|_| ())
        .map_err(sdk("eks:UpdateAddon", &format!("{cluster}/{name}")))
}

pub async fn delete_addon(
    c: &Client,
    cluster: &str,
    name: &str,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<(), AwsError> {
    gone_ok(
        c.delete_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk("eks:DeleteAddon", &format!("{cluster}/{name}"))),
    )?;
    wait_for(
        spec,
        || async {
            let a = describe_addon(c, cluster, name).await?;
            Ok(deletion_probe(a.as_ref().map(|a| a.status.as_str()), ""))
        },
        on_status,
    )
    .await
}
