//! EC2 launch templates for EKS managed nodegroups: create (tagged in the call, with a client
//! token), read the default version back, a new version made the default, delete.
//!
//! Shapes: EC2 API Reference, CreateLaunchTemplate / CreateLaunchTemplateVersion /
//! ModifyLaunchTemplate / DescribeLaunchTemplateVersions (`RequestLaunchTemplateData`,
//! `LaunchTemplateInstanceMetadataOptionsRequest`, `LaunchTemplateEbsBlockDeviceRequest`).

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
    LaunchTemplateHttpTokensState, LaunchTemplateInstanceMetadataEndpointState,
    LaunchTemplateInstanceMetadataOptionsRequest, LaunchTemplateTagSpecificationRequest,
    RequestLaunchTemplateData, ResourceType, ResponseLaunchTemplateData, VolumeType,
};

use super::{from_tags, spec, to_tags};
use crate::Tags;
use crate::error::{AwsError, found, gone_ok, missing, sdk};

/// What alpaka puts in a nodegroup's launch template (and reads back from its default version).
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchTemplateData {
    /// The AMI's root device (`/dev/xvda` on Amazon Linux 2023).
    pub root_device: String,
    pub volume_size_gb: i32,
    /// `gp3`.
    pub volume_type: String,
    pub encrypted: bool,
    /// A customer-managed key; `None`: the account's default EBS key.
    pub kms_key_id: Option<String>,
    /// `required` (IMDSv2 only) or `optional`.
    pub http_tokens: String,
    pub hop_limit: i32,
    /// `enabled` or `disabled`.
    pub http_endpoint: String,
    /// Tags the instances and their volumes get at launch.
    pub resource_tags: Tags,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LaunchTemplate {
    pub id: String,
    pub name: String,
    /// The default version's number and data.
    pub version: i64,
    pub data: LaunchTemplateData,
}

fn request_data(d: &LaunchTemplateData) -> RequestLaunchTemplateData {
    let ebs = LaunchTemplateEbsBlockDeviceRequest::builder()
        .volume_size(d.volume_size_gb)
        .volume_type(VolumeType::from(d.volume_type.as_str()))
        .encrypted(d.encrypted)
        .set_kms_key_id(d.kms_key_id.clone())
        // The node's disk goes with the node (EKS replaces nodes on every roll).
        .delete_on_termination(true)
        .build();
    let tags = |rt| {
        LaunchTemplateTagSpecificationRequest::builder()
            .resource_type(rt)
            .set_tags(Some(to_tags(&d.resource_tags)))
            .build()
    };
    RequestLaunchTemplateData::builder()
        .metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(LaunchTemplateHttpTokensState::from(d.http_tokens.as_str()))
                .http_put_response_hop_limit(d.hop_limit)
                .http_endpoint(LaunchTemplateInstanceMetadataEndpointState::from(
                    d.http_endpoint.as_str(),
                ))
                .build(),
        )
        .block_device_mappings(
            LaunchTemplateBlockDeviceMappingRequest::builder()
                .device_name(&d.root_device)
                .ebs(ebs)
                .build(),
        )
        .set_tag_specifications(
            (!d.resource_tags.is_empty())
                .then(|| vec![tags(ResourceType::Instance), tags(ResourceType::Volume)]),
        )
        .build()
}

/// The data of a version as alpaka describes it: the mapping of `root_device` (none: size 0,
/// unencrypted, so a template edited out of band without it shows as drift), the instance tags.
fn from_response(d: Option<&ResponseLaunchTemplateData>, root_device: &str) -> LaunchTemplateData {
    let root = d.and_then(|d| {
        d.block_device_mappings()
            .iter()
            .find(|m| m.device_name() == Some(root_device))
            .and_then(|m| m.ebs())
    });
    let md = d.and_then(|d| d.metadata_options());
    let resource_tags = d
        .and_then(|d| {
            d.tag_specifications()
                .iter()
                .find(|t| t.resource_type() == Some(&ResourceType::Instance))
        })
        .map(|t| from_tags(t.tags()))
        .unwrap_or_default();
    LaunchTemplateData {
        root_device: root_device.to_owned(),
        volume_size_gb: root.and_then(|e| e.volume_size()).unwrap_or_default(),
        volume_type: root
            .and_then(|e| e.volume_type())
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        encrypted: root.and_then(|e| e.encrypted()).unwrap_or(false),
        kms_key_id: root.and_then(|e| e.kms_key_id()).map(str::to_owned),
        // EC2's defaults when a template does not say (EC2 User Guide, "Configure instance
        // metadata options for new instances": tokens optional, hop limit 1, endpoint enabled).
        http_tokens: md
            .and_then(|m| m.http_tokens())
            .map(|t| t.as_str().to_owned())
            .unwrap_or_else(|| "optional".into()),
        hop_limit: md
            .and_then(|m| m.http_put_response_hop_limit())
            .unwrap_or(1),
        http_endpoint: md
            .and_then(|m| m.http_endpoint())
            .map(|t| t.as_str().to_owned())
            .unwrap_or_else(|| "enabled".into()),
        resource_tags,
    }
}

/// Create it (tagged in the call; `token` makes a retried create the same request); returns its
/// id and version (1).
pub async fn create_launch_template(
    c: &Client,
    name: &str,
    data: &LaunchTemplateData,
    tags: &Tags,
    token: &str,
) -> Result<(String, i64), AwsError> {
    let out = c
        .create_launch_template()
        .client_token(token)
        .launch_template_name(name)
        .launch_template_data(request_data(data))
        .tag_specifications(spec(ResourceType::LaunchTemplate, tags))
        .send()
        .await
        .map_err(sdk("ec2:CreateLaunchTemplate", name))?;
    let lt = out
        .launch_template()
        .ok_or_else(|| missing("ec2:CreateLaunchTemplate", name, "launch template"))?;
    let id = lt
        .launch_template_id()
        .ok_or_else(|| missing("ec2:CreateLaunchTemplate", name, "launch template id"))?;
    Ok((id.to_owned(), lt.latest_version_number().unwrap_or(1)))
}

/// Its default version, or `None` when it is gone.
pub async fn describe_launch_template(
    c: &Client,
    id: &str,
    root_device: &str,
) -> Result<Option<LaunchTemplate>, AwsError> {
    let Some(out) = found(
        c.describe_launch_template_versions()
            .launch_template_id(id)
            .versions("$Default")
            .send()
            .await
            .map_err(sdk("ec2:DescribeLaunchTemplateVersions", id)),
    )?
    else {
        return Ok(None);
    };
    let Some(v) = out.launch_template_versions().first() else {
        return Ok(None);
    };
    Ok(Some(LaunchTemplate {
        id: id.to_owned(),
        name: v.launch_template_name().unwrap_or_default().to_owned(),
        version: v.version_number().unwrap_or_default(),
        data: from_response(v.launch_template_data(), root_device),
    }))
}

/// The template's own tags (DescribeLaunchTemplates), `None` when it is gone.
pub async fn launch_template_tags(c: &Client, id: &str) -> Result<Option<Tags>, AwsError> {
    let Some(out) = found(
        c.describe_launch_templates()
            .launch_template_ids(id)
            .send()
            .await
            .map_err(sdk("ec2:DescribeLaunchTemplates", id)),
    )?
    else {
        return Ok(None);
    };
    Ok(out
        .launch_templates()
        .iter()
        .find(|t| t.launch_template_id() == Some(id))
        .map(|t| from_tags(t.tags())))
}

/// A new version with `data`, made the default (what a nodegroup is then rolled to); returns its
/// number. `token`: as for [`create_launch_template`], per version.
pub async fn update_launch_template(
    c: &Client,
    id: &str,
    data: &LaunchTemplateData,
    token: &str,
) -> Result<i64, AwsError> {
    let out = c
        .create_launch_template_version()
        .client_token(token)
        .launch_template_id(id)
        .launch_template_data(request_data(data))
        .send()
        .await
        .map_err(sdk("ec2:CreateLaunchTemplateVersion", id))?;
    let version = out
        .launch_template_version()
        .and_then(|v| v.version_number())
        .ok_or_else(|| missing("ec2:CreateLaunchTemplateVersion", id, "version number"))?;
    c.modify_launch_template()
        .launch_template_id(id)
        .default_version(version.to_string())
        .send()
        .await
        .map_err(sdk("ec2:ModifyLaunchTemplate", id))?;
    Ok(version)
}

/// Delete it with every version; gone already is fine.
pub async fn delete_launch_template(c: &Client, id: &str) -> Result<(), AwsError> {
    gone_ok(
        c.delete_launch_template()
            .launch_template_id(id)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk("ec2:DeleteLaunchTemplate", id)),
    )
}
