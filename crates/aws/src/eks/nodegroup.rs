//! EKS managed nodegroups: create, describe, wait, update in place (scaling, labels, taints,
//! version), delete.

use std::collections::HashMap;

use aws_sdk_eks::Client;
use aws_sdk_eks::types::{
    AmiTypes, LaunchTemplateSpecification, NodegroupScalingConfig, Taint, TaintEffect,
    UpdateLabelsPayload, UpdateTaintsPayload,
};

use super::{OnStatus, deletion_probe, from_map, nodegroup_probe, to_map, update_id, wait_update};
use crate::Tags;
use crate::error::{AwsError, found, gone_ok, missing, sdk};
use crate::retry::{Backoff, iam_propagation, retry};
use crate::wait::{Probe, WaitSpec, wait_for};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scaling {
    pub desired: i32,
    pub min: i32,
    pub max: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeTaint {
    pub key: String,
    pub value: Option<String>,
    /// Kubernetes spelling: `NoSchedule`, `PreferNoSchedule`, `NoExecute`.
    pub effect: String,
}

/// The launch template a nodegroup runs (EKS: `launchTemplate`, by id, with a version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRef {
    pub id: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodegroupSpec {
    pub cluster: String,
    pub name: String,
    pub node_role_arn: String,
    pub subnet_ids: Vec<String>,
    pub instance_types: Vec<String>,
    /// Only without a launch template (EKS refuses `diskSize` with one: the template's block
    /// device mapping sets the disk); 0 = not sent. Read back as EKS reports it.
    pub disk_size_gb: i32,
    /// `AL2023_x86_64_STANDARD`, …; empty = EKS's default at create.
    pub ami_type: String,
    pub launch_template: Option<TemplateRef>,
    /// Kubernetes `MAJOR.MINOR` of the nodes (empty: the cluster's, EKS's default at create).
    pub version: String,
    pub scaling: Scaling,
    pub labels: Tags,
    pub taints: Vec<NodeTaint>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Nodegroup {
    pub spec: NodegroupSpec,
    pub arn: String,
    pub status: String,
    pub health: String,
}

fn effect_to_aws(e: &str) -> TaintEffect {
    match e {
        "NoExecute" => TaintEffect::NoExecute,
        "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
        _ => TaintEffect::NoSchedule,
    }
}

fn effect_from_aws(e: Option<&TaintEffect>) -> String {
    match e {
        Some(TaintEffect::NoExecute) => "NoExecute",
        Some(TaintEffect::PreferNoSchedule) => "PreferNoSchedule",
        _ => "NoSchedule",
    }
    .to_owned()
}

fn taint(t: &NodeTaint) -> Taint {
    Taint::builder()
        .key(&t.key)
        .set_value(t.value.clone())
        .effect(effect_to_aws(&t.effect))
        .build()
}

fn scaling(s: &Scaling) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder()
        .desired_size(s.desired)
        .min_size(s.min)
        .max_size(s.max)
        .build()
}

fn template_spec(t: &TemplateRef) -> LaunchTemplateSpecification {
    LaunchTemplateSpecification::builder()
        .id(&t.id)
        .version(&t.version)
        .build()
}

/// Retried while EKS cannot yet see the node role or its policies (`retry::iam_propagation`).
/// `token`: as for [`super::create_cluster`].
pub async fn create_nodegroup(c: &Client, s: &NodegroupSpec, token: &str) -> Result<(), AwsError> {
    retry(Backoff::IAM_PROPAGATION, iam_propagation, &|_| {}, || {
        create_nodegroup_once(c, s, token)
    })
    .await
}

async fn create_nodegroup_once(c: &Client, s: &NodegroupSpec, token: &str) -> Result<(), AwsError> {
    let id = format!("{}/{}", s.cluster, s.name);
    c.create_nodegroup()
        .client_request_token(token)
        .cluster_name(&s.cluster)
        .nodegroup_name(&s.name)
        .node_role(&s.node_role_arn)
        .set_subnets(Some(s.subnet_ids.clone()))
        .set_instance_types(Some(s.instance_types.clone()))
        .set_disk_size(
            (s.disk_size_gb > 0 && s.launch_template.is_none()).then_some(s.disk_size_gb),
        )
        .set_ami_type((!s.ami_type.is_empty()).then(|| AmiTypes::from(s.ami_type.as_str())))
        .set_launch_template(s.launch_template.as_ref().map(template_spec))
        .set_version((!s.version.is_empty()).then(|| s.version.clone()))
        .scaling_config(scaling(&s.scaling))
        .set_labels((!s.labels.is_empty()).then(|| to_map(&s.labels)))
        .set_taints((!s.taints.is_empty()).then(|| s.taints.iter().map(taint).collect()))
        .set_tags(Some(to_map(&s.tags)))
        .send()
        .await
        .map(|_| ())
        .map_err(sdk("eks:CreateNodegroup", &id))
}

pub async fn describe_nodegroup(
    c: &Client,
    cluster: &str,
    name: &str,
) -> Result<Option<Nodegroup>, AwsError> {
    let id = format!("{cluster}/{name}");
    let Some(out) = found(
        c.describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .map_err(sdk("eks:DescribeNodegroup", &id)),
    )?
    else {
        return Ok(None);
    };
    let n = out
        .nodegroup()
        .ok_or_else(|| missing("eks:DescribeNodegroup", &id, "nodegroup"))?;
    let sc = n.scaling_config();
    Ok(Some(Nodegroup {
        spec: NodegroupSpec {
            cluster: cluster.to_owned(),
            name: name.to_owned(),
            node_role_arn: n.node_role().unwrap_or_default().to_owned(),
            subnet_ids: n.subnets().to_vec(),
            instance_types: n.instance_types().to_vec(),
            disk_size_gb: n.disk_size().unwrap_or_default(),
            ami_type: n
                .ami_type()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
            launch_template: n.launch_template().and_then(|t| {
                Some(TemplateRef {
                    id: t.id()?.to_owned(),
                    version: t.version().unwrap_or_default().to_owned(),
                })
            }),
            version: n.version().unwrap_or_default().to_owned(),
            scaling: Scaling {
                desired: sc.and_then(|s| s.desired_size()).unwrap_or_default(),
                min: sc.and_then(|s| s.min_size()).unwrap_or_default(),
                max: sc.and_then(|s| s.max_size()).unwrap_or_default(),
            },
            labels: from_map(n.labels()),
            taints: n
                .taints()
                .iter()
                .map(|t| NodeTaint {
                    key: t.key().unwrap_or_default().to_owned(),
                    value: t.value().map(str::to_owned),
                    effect: effect_from_aws(t.effect()),
                })
                .collect(),
            tags: from_map(n.tags()),
        },
        arn: n.nodegroup_arn().unwrap_or_default().to_owned(),
        status: n
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        health: n
            .health()
            .map(|h| {
                h.issues()
                    .iter()
                    .map(|i| {
                        format!(
                            "{}: {}",
                            i.code().map(|c| c.as_str()).unwrap_or("?"),
                            i.message().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default(),
    }))
}

pub async fn wait_nodegroup_active(
    c: &Client,
    cluster: &str,
    name: &str,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<Nodegroup, AwsError> {
    let id = format!("{cluster}/{name}");
    wait_for(
        spec,
        || async {
            Ok(match describe_nodegroup(c, cluster, name).await? {
                Some(n) => nodegroup_probe(&n.status, &n.health),
                None => Probe::Failed {
                    status: "NOT_FOUND".into(),
                    reason: "the nodegroup disappeared".into(),
                },
            })
        },
        on_status,
    )
    .await?;
    describe_nodegroup(c, cluster, name).await?.ok_or_else(|| {
        AwsError::new("eks:DescribeNodegroup", id, "gone").with_code("ResourceNotFoundException")
    })
}

/// In place: scaling, labels and taints (one `UpdateNodegroupConfig`), then wait for ACTIVE.
pub async fn update_nodegroup_config(
    c: &Client,
    have: &NodegroupSpec,
    want: &NodegroupSpec,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<(), AwsError> {
    let id = format!("{}/{}", want.cluster, want.name);
    let mut req = c
        .update_nodegroup_config()
        .cluster_name(&want.cluster)
        .nodegroup_name(&want.name);
    let mut any = false;
    if have.scaling != want.scaling {
        req = req.scaling_config(scaling(&want.scaling));
        any = true;
    }
    if have.labels != want.labels {
        let add: HashMap<String, String> = want
            .labels
            .iter()
            .filter(|(k, v)| have.labels.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let remove: Vec<String> = have
            .labels
            .keys()
            .filter(|k| !want.labels.contains_key(*k))
            .cloned()
            .collect();
        req = req.labels(
            UpdateLabelsPayload::builder()
                .set_add_or_update_labels((!add.is_empty()).then_some(add))
                .set_remove_labels((!remove.is_empty()).then_some(remove))
                .build(),
        );
        any = true;
    }
    if have.taints != want.taints {
        let add: Vec<Taint> = want
            .taints
            .iter()
            .filter(|t| !have.taints.contains(t))
            .map(taint)
            .collect();
        let remove: Vec<Taint> = have
            .taints
            .iter()
            .filter(|t| {
                !want
                    .taints
                    .iter()
                    .any(|w| w.key == t.key && w.effect == t.effect)
            })
            .map(taint)
            .collect();
        req = req.taints(
            UpdateTaintsPayload::builder()
                .set_add_or_update_taints((!add.is_empty()).then_some(add))
                .set_remove_taints((!remove.is_empty()).then_some(remove))
                .build(),
        );
        any = true;
    }
    if any {
        req.send()
            .await
            .map_err(sdk("eks:UpdateNodegroupConfig", &id))?;
        wait_nodegroup_active(c, &want.cluster, &want.name, spec, on_status).await?;
    }
    Ok(())
}

/// Roll a nodegroup to `version` (Kubernetes `MAJOR.MINOR`, `None`: unchanged) and/or to launch
/// template version `template` in one UpdateNodegroupVersion, waiting on the update. EKS takes
/// a launch template here only for a nodegroup created with one, and only the same template
/// (EKS API Reference, UpdateNodegroupVersion `launchTemplate`).
pub async fn roll_nodegroup(
    c: &Client,
    cluster: &str,
    nodegroup: &str,
    version: Option<&str>,
    template: Option<&TemplateRef>,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<(), AwsError> {
    let res = format!("{cluster}/{nodegroup}");
    let out = c
        .update_nodegroup_version()
        .cluster_name(cluster)
        .nodegroup_name(nodegroup)
        .set_version(version.map(str::to_owned))
        .set_launch_template(template.map(template_spec))
        .send()
        .await
        .map_err(sdk("eks:UpdateNodegroupVersion", &res))?;
    let id = update_id(out.update(), "eks:UpdateNodegroupVersion", &res)?;
    wait_update(c, cluster, Some(nodegroup), id, spec, on_status).await
}

pub async fn delete_nodegroup(
    c: &Client,
    cluster: &str,
    name: &str,
    spec: &WaitSpec,
    on_status: OnStatus<'_>,
) -> Result<(), AwsError> {
    let id = format!("{cluster}/{name}");
    gone_ok(
        c.delete_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk("eks:DeleteNodegroup", &id)),
    )?;
    wait_for(
        spec,
        || async {
            let n = describe_nodegroup(c, cluster, name).await?;
            Ok(deletion_probe(
                n.as_ref().map(|n| n.status.as_str()),
                n.as_ref().map(|n| n.health.as_str()).unwrap_or_default(),
            ))
        },
        on_status,
    )
    .await
}
