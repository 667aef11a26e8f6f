//! What Kubernetes controllers create outside alpaka's graph, found by tag: load balancers and
//! target groups of the AWS Load Balancer Controller, its security groups, EBS volumes of PVCs.
//! Also the post-destroy listing of anything still tagged with a profile.

use std::time::Duration;

use aws_sdk_ec2::types::Filter;

use crate::error::{AwsError, gone_ok, sdk};
use crate::retry::{Backoff, retry};
use crate::wait::{Probe, WaitSpec, wait_for};
use crate::{Aws, ec2};

/// Tag the LB controller puts on its load balancers, target groups and security groups.
pub const LBC_CLUSTER_TAG: &str = "elbv2.k8s.aws/cluster";
/// alpaka's own tags on everything it creates.
pub const TAG_MANAGED_BY: &str = "alpaka.io/managed-by";
pub const TAG_PROFILE: &str = "alpaka.io/profile";
pub const TAG_CLUSTER: &str = "alpaka.io/cluster";
/// The alpaka resource id an AWS resource is (set in its create call).
pub const TAG_ID: &str = "alpaka.io/id";

pub fn cluster_tag(cluster: &str) -> String {
    format!("kubernetes.io/cluster/{cluster}")
}

/// Load balancers (ARN) whose tags name `cluster` through the LB controller's tag.
pub async fn controller_load_balancers(aws: &Aws, cluster: &str) -> Result<Vec<String>, AwsError> {
    let mut arns = Vec::new();
    let mut marker = None;
    loop {
        let out = aws
            .elbv2
            .describe_load_balancers()
            .set_marker(marker)
            .send()
            .await
            .map_err(sdk("elbv2:DescribeLoadBalancers", cluster))?;
        arns.extend(
            out.load_balancers()
                .iter()
                .filter_map(|l| l.load_balancer_arn().map(str::to_owned)),
        );
        match out.next_marker() {
            Some(m) => marker = Some(m.to_owned()),
            None => break,
        }
    }
    filter_elbv2_tagged(aws, arns, cluster).await
}

async fn filter_elbv2_tagged(
    aws: &Aws,
    arns: Vec<String>,
    cluster: &str,
) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    for chunk in arns.chunks(20) {
        let tags = aws
            .elbv2
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(sdk("elbv2:DescribeTags", cluster))?;
        for d in tags.tag_descriptions() {
            let ours = d.tags().iter().any(|t| {
                (t.key() == Some(LBC_CLUSTER_TAG) && t.value() == Some(cluster))
                    || t.key() == Some(cluster_tag(cluster).as_str())
            });
            if ours && let Some(a) = d.resource_arn() {
                out.push(a.to_owned());
            }
        }
    }
    Ok(out)
}

async fn controller_target_groups(aws: &Aws, cluster: &str) -> Result<Vec<String>, AwsError> {
    // Every page: a target group missed here keeps its load balancer's listener rules alive.
    let mut pages = aws.elbv2.describe_target_groups().into_paginator().send();
    let mut arns = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk("elbv2:DescribeTargetGroups", cluster))?;
        arns.extend(
            page.target_groups()
                .iter()
                .filter_map(|t| t.target_group_arn().map(str::to_owned)),
        );
    }
    filter_elbv2_tagged(aws, arns, cluster).await
}

/// Security groups the controller (or the in-tree cloud provider) made for `cluster`.
async fn controller_security_groups(
    aws: &Aws,
    cluster: &str,
    vpc_id: Option<&str>,
) -> Result<Vec<String>, AwsError> {
    let mut ids = Vec::new();
    for (filter, name_prefix) in [
        (ec2::tag_filter(LBC_CLUSTER_TAG, cluster), None),
        (
            Filter::builder()
                .name("tag-key")
                .values(cluster_tag(cluster))
                .build(),
            Some("k8s-"),
        ),
    ] {
        let mut req = aws.ec2.describe_security_groups().filters(filter);
        if let Some(v) = vpc_id {
            req = req.filters(Filter::builder().name("vpc-id").values(v).build());
        }
        let mut pages = req.into_paginator().send();
        let mut groups = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(sdk("ec2:DescribeSecurityGroups", cluster))?;
            groups.extend(page.security_groups().iter().cloned());
        }
        for g in &groups {
            let name = g.group_name().unwrap_or_default();
            if name == "default" || name_prefix.is_some_and(|p| !name.starts_with(p)) {
                continue;
            }
            if let Some(id) = g.group_id()
                && !ids.iter().any(|x| x == id)
            {
                ids.push(id.to_owned());
            }
        }
    }
    Ok(ids)
}

/// EBS volumes left by PVCs of this cluster (the EBS CSI driver tags them).
pub async fn cluster_volumes(
    aws: &Aws,
    cluster: &str,
    profile: &str,
) -> Result<Vec<String>, AwsError> {
    let mut ids = Vec::new();
    for filter in [
        Filter::builder()
            .name("tag-key")
            .values(cluster_tag(cluster))
            .build(),
        ec2::tag_filter(TAG_PROFILE, profile),
    ] {
        // Every page: a volume missed here keeps billing after destroy.
        let mut pages = aws
            .ec2
            .describe_volumes()
            .filters(filter)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(sdk("ec2:DescribeVolumes", cluster))?;
            for v in page.volumes() {
                if let Some(id) = v.volume_id()
                    && !ids.iter().any(|x| x == id)
                {
                    ids.push(id.to_owned());
                }
            }
        }
    }
    Ok(ids)
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepReport {
    pub load_balancers: Vec<String>,
    pub target_groups: Vec<String>,
    pub security_groups: Vec<String>,
    pub volumes_deleted: Vec<String>,
    pub volumes_kept: Vec<String>,
}

/// Delete what controllers left for `cluster`: load balancers (and wait until gone), target
/// groups, security groups (retrying while ENIs drain), and volumes unless `keep_volumes`.
pub async fn sweep(
    aws: &Aws,
    cluster: &str,
    profile: &str,
    vpc_id: Option<&str>,
    keep_volumes: bool,
    timeout: Duration,
    on_status: &(dyn Fn(&str) + Send + Sync),
) -> Result<SweepReport, AwsError> {
    let mut report = SweepReport::default();
    on_status("listing load balancers");
    report.load_balancers = controller_load_balancers(aws, cluster).await?;
    for arn in &report.load_balancers {
        on_status(&format!("deleting load balancer {arn}"));
        gone_ok(
            aws.elbv2
                .delete_load_balancer()
                .load_balancer_arn(arn)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk("elbv2:DeleteLoadBalancer", arn)),
        )?;
    }
    if !report.load_balancers.is_empty() {
        let spec = WaitSpec::new("load balancers deleted", cluster, timeout);
        wait_for(
            &spec,
            || async {
                let left = controller_load_balancers(aws, cluster).await?;
                Ok(if left.is_empty() {
                    Probe::Done
                } else {
                    Probe::Pending(format!("{} load balancer(s) deleting", left.len()))
                })
            },
            on_status,
        )
        .await?;
    }
    report.target_groups = controller_target_groups(aws, cluster).await?;
    for arn in &report.target_groups {
        gone_ok(
            aws.elbv2
                .delete_target_group()
                .target_group_arn(arn)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk("elbv2:DeleteTargetGroup", arn)),
        )?;
    }
    report.security_groups = controller_security_groups(aws, cluster, vpc_id).await?;
    for id in &report.security_groups {
        // ENIs of just-deleted load balancers hold the group for a while: retry on
        // DependencyViolation until the timeout.
        let spec = WaitSpec::new("security group deleted", id.as_str(), timeout);
        wait_for(
            &spec,
            || async {
                match aws
                    .ec2
                    .delete_security_group()
                    .group_id(id)
                    .send()
                    .await
                    .map_err(sdk("ec2:DeleteSecurityGroup", id))
                {
                    Ok(_) => Ok(Probe::Done),
                    Err(e) if e.is_not_found() => Ok(Probe::Done),
                    Err(e) if e.code_is("DependencyViolation") => {
                        Ok(Probe::Pending("DependencyViolation".into()))
                    }
                    Err(e) => Err(e),
                }
            },
            on_status,
        )
        .await?;
    }
    let volumes = cluster_volumes(aws, cluster, profile).await?;
    if keep_volumes {
        report.volumes_kept = volumes;
    } else {
        for id in &volumes {
            on_status(&format!("deleting volume {id}"));
            // A volume is still attached for a while after its node or pod went
            // (`VolumeInUse`): wait for the detachment, up to the timeout.
            retry(
                Backoff::draining(timeout),
                |e| e.code_is("VolumeInUse"),
                &|_| {
                    on_status(&format!(
                        "volume {id} still attached (VolumeInUse), waiting"
                    ))
                },
                || async {
                    gone_ok(
                        aws.ec2
                            .delete_volume()
                            .volume_id(id)
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(sdk("ec2:DeleteVolume", id)),
                    )
                },
            )
            .await?;
        }
        report.volumes_deleted = volumes;
    }
    Ok(report)
}

/// Everything still tagged `alpaka.io/profile = profile` (plus the LB controller's objects for
/// `cluster`), as `kind id` lines. Used after destroy: non-empty means something was left.
pub async fn leftovers(aws: &Aws, profile: &str, cluster: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let f = || ec2::tag_filter(TAG_PROFILE, profile);
    let c = &aws.ec2;
    // Every page of every listing: what a second page holds would otherwise go unreported and
    // keep billing.
    for (kind, label) in [
        (ec2::Kind::Vpc, "vpc"),
        (ec2::Kind::Subnet, "subnet"),
        (ec2::Kind::InternetGateway, "internet-gateway"),
        (ec2::Kind::RouteTable, "route-table"),
    ] {
        for (id, _) in ec2::find_tagged(c, kind, &[(TAG_PROFILE, profile)]).await? {
            out.push(format!("{label} {id}"));
        }
    }
    for n in all_items!(
        c.describe_nat_gateways().filter(f()),
        "ec2:DescribeNatGateways",
        profile
    ) {
        let state = n.state().map(|s| s.as_str()).unwrap_or_default();
        if state != "deleted" {
            out.push(format!(
                "nat-gateway {} ({state})",
                n.nat_gateway_id().unwrap_or_default()
            ));
        }
    }
    for (id, _) in ec2::find_tagged(c, ec2::Kind::Address, &[(TAG_PROFILE, profile)]).await? {
        out.push(format!("eip {id}"));
    }
    for g in all_items!(
        c.describe_security_groups().filters(f()),
        "ec2:DescribeSecurityGroups",
        profile
    ) {
        out.push(format!(
            "security-group {}",
            g.group_id().unwrap_or_default()
        ));
    }
    for v in cluster_volumes(aws, cluster, profile).await? {
        out.push(format!("volume {v}"));
    }
    for lb in controller_load_balancers(aws, cluster).await? {
        out.push(format!("load-balancer {lb}"));
    }
    // IAM: alpaka names everything `alpaka-<cluster>-…`; check the tags of those.
    for r in all_items!(aws.iam.list_roles(), "iam:ListRoles", profile) {
        if !r.role_name().starts_with("alpaka-") {
            continue;
        }
        let tags = all_items!(
            aws.iam.list_role_tags().role_name(r.role_name()),
            "iam:ListRoleTags",
            profile
        );
        if tags
            .iter()
            .any(|t| t.key() == TAG_PROFILE && t.value() == profile)
        {
            out.push(format!("iam-role {}", r.role_name()));
        }
    }
    for p in all_items!(
        aws.iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local),
        "iam:ListPolicies",
        profile
    ) {
        let (Some(name), Some(arn)) = (p.policy_name(), p.arn()) else {
            continue;
        };
        if !name.starts_with("alpaka-") {
            continue;
        }
        let tags = all_items!(
            aws.iam.list_policy_tags().policy_arn(arn),
            "iam:ListPolicyTags",
            profile
        );
        if tags
            .iter()
            .any(|t| t.key() == TAG_PROFILE && t.value() == profile)
        {
            out.push(format!("iam-policy {arn}"));
        }
    }
    // ListOpenIDConnectProviders has no pages.
    let oidc = aws
        .iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(sdk("iam:ListOpenIDConnectProviders", profile))?;
    for p in oidc.open_id_connect_provider_list() {
        let Some(arn) = p.arn() else { continue };
        if let Some(op) = crate::iam::get_oidc_provider(&aws.iam, arn).await?
            && op.tags.get(TAG_PROFILE).map(String::as_str) == Some(profile)
        {
            out.push(format!("iam-oidc-provider {arn}"));
        }
    }
    for name in all_items!(aws.eks.list_clusters(), "eks:ListClusters", profile) {
        if let Some(k) = crate::eks::describe_cluster(&aws.eks, &name).await?
            && k.tags.get(TAG_PROFILE).map(String::as_str) == Some(profile)
        {
            out.push(format!("eks-cluster {name}"));
        }
    }
    Ok(out)
}
