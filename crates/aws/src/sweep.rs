//! What Kubernetes controllers create outside alpaka's graph, found by tag: load balancers and
//! target groups of the AWS Load Balancer Controller, its security groups, EBS volumes of PVCs.
//! Also the post-destroy listing of anything still tagged with a profile.

use std::time::Duration;

use aws_sdk_ec2::types::Filter;

use crate::error::{AwsError, gone_ok, sdk};
use crate::retry::{Backoff, retry};
use crate::wait::{Probe, WaitSpec, wait_for};
use crate::{Aws, Tags, ec2};

/// Tag the LB controller puts on its load balancers, target groups and security groups.
pub const LBC_CLUSTER_TAG: &str = "elbv2.k8s.aws/cluster";
/// alpaka's own tags on everything it creates.
pub const TAG_MANAGED_BY: &str = "alpaka.io/managed-by";
pub use crate::{TAG_ID, TAG_PROFILE};
pub const TAG_CLUSTER: &str = "alpaka.io/cluster";

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

/// One resource alpaka makes, found by the profile's tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Tagged {
    /// What it is: `vpc`, `subnet`, `internet-gateway`, `route-table`, `eip`, `launch-template`,
    /// `security-group`, `vpc-endpoint`, `nat-gateway`, `iam-role`, `iam-policy`,
    /// `iam-oidc-provider`, `eks-cluster`,
    /// `eks-nodegroup`, `eks-addon`, `eks-access-entry`.
    pub label: &'static str,
    /// How AWS names it: the EC2 id (an Elastic IP's allocation id), the role's name, the
    /// policy's or OIDC provider's ARN, the cluster's name, `cluster/name` for a nodegroup or
    /// add-on, `cluster/principal ARN` for an access entry.
    pub id: String,
    pub tags: Tags,
    /// A NAT gateway's state (a deleted one is not listed).
    pub state: Option<String>,
}

impl Tagged {
    /// The alpaka resource id it was made as (`alpaka.io/id`; absent on what older versions made).
    pub fn alpaka_id(&self) -> Option<&str> {
        self.tags.get(TAG_ID).map(String::as_str)
    }
}

/// Every resource of the kinds alpaka creates that is tagged `alpaka.io/profile = profile`,
/// every page of every listing. What `destroy --orphans` compares with the state, and the core
/// of the post-destroy listing.
pub async fn tagged(aws: &Aws, profile: &str) -> Result<Vec<Tagged>, AwsError> {
    let mut out = Vec::new();
    let mine = [(TAG_PROFILE, profile)];
    let c = &aws.ec2;
    let item = |label, id, tags, state| Tagged {
        label,
        id,
        tags,
        state,
    };
    for (kind, label) in [
        (ec2::Kind::Vpc, "vpc"),
        (ec2::Kind::Subnet, "subnet"),
        (ec2::Kind::InternetGateway, "internet-gateway"),
        (ec2::Kind::RouteTable, "route-table"),
        (ec2::Kind::Address, "eip"),
        (ec2::Kind::LaunchTemplate, "launch-template"),
        (ec2::Kind::SecurityGroup, "security-group"),
        (ec2::Kind::VpcEndpoint, "vpc-endpoint"),
    ] {
        for (id, tags) in ec2::find_tagged(c, kind, &mine).await? {
            out.push(item(label, id, tags, None));
        }
    }
    // NAT gateways in every state but deleted: a failed or deleting one still says why.
    for n in all_items!(
        c.describe_nat_gateways()
            .filter(ec2::tag_filter(TAG_PROFILE, profile)),
        "ec2:DescribeNatGateways",
        profile
    ) {
        let state = n.state().map(|s| s.as_str().to_owned()).unwrap_or_default();
        if state != "deleted" {
            out.push(item(
                "nat-gateway",
                n.nat_gateway_id().unwrap_or_default().to_owned(),
                ec2::from_tags(n.tags()),
                Some(state),
            ));
        }
    }
    // IAM: alpaka names everything `alpaka-<cluster>-…`; check the tags of those.
    for r in all_items!(aws.iam.list_roles(), "iam:ListRoles", profile) {
        if !r.role_name().starts_with("alpaka-") {
            continue;
        }
        let tags = crate::iam::from_tags(&all_items!(
            aws.iam.list_role_tags().role_name(r.role_name()),
            "iam:ListRoleTags",
            profile
        ));
        if tags.get(TAG_PROFILE).map(String::as_str) == Some(profile) {
            out.push(item("iam-role", r.role_name().to_owned(), tags, None));
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
        let tags = crate::iam::from_tags(&all_items!(
            aws.iam.list_policy_tags().policy_arn(arn),
            "iam:ListPolicyTags",
            profile
        ));
        if tags.get(TAG_PROFILE).map(String::as_str) == Some(profile) {
            out.push(item("iam-policy", arn.to_owned(), tags, None));
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
            out.push(item("iam-oidc-provider", arn.to_owned(), op.tags, None));
        }
    }
    for name in all_items!(aws.eks.list_clusters(), "eks:ListClusters", profile) {
        let Some(k) = crate::eks::describe_cluster(&aws.eks, &name).await? else {
            continue;
        };
        if k.tags.get(TAG_PROFILE).map(String::as_str) != Some(profile) {
            continue;
        }
        for ng in all_items!(
            aws.eks.list_nodegroups().cluster_name(&name),
            "eks:ListNodegroups",
            &name
        ) {
            if let Some(n) = crate::eks::describe_nodegroup(&aws.eks, &name, &ng).await? {
                out.push(item(
                    "eks-nodegroup",
                    format!("{name}/{ng}"),
                    n.spec.tags,
                    None,
                ));
            }
        }
        for a in all_items!(
            aws.eks.list_addons().cluster_name(&name),
            "eks:ListAddons",
            &name
        ) {
            if let Some(x) = crate::eks::describe_addon(&aws.eks, &name, &a).await? {
                out.push(item("eks-addon", format!("{name}/{a}"), x.tags, None));
            }
        }
        // Only alpaka's: the creator's bootstrap entry and entries made by hand carry no
        // profile tag.
        for p in crate::eks::list_access_entries(&aws.eks, &name).await? {
            if let Some(e) = crate::eks::describe_access_entry(&aws.eks, &name, &p).await?
                && e.tags.get(TAG_PROFILE).map(String::as_str) == Some(profile)
            {
                out.push(item(
                    "eks-access-entry",
                    format!("{name}/{p}"),
                    e.tags,
                    None,
                ));
            }
        }
        out.push(item("eks-cluster", name, k.tags, None));
    }
    Ok(out)
}

/// Everything still tagged `alpaka.io/profile = profile` (plus the LB controller's objects for
/// `cluster`, its security groups and the PVC volumes), as `kind id` lines. Used after destroy:
/// non-empty means something was left.
pub async fn leftovers(aws: &Aws, profile: &str, cluster: &str) -> Result<Vec<String>, AwsError> {
    let mut out: Vec<String> = tagged(aws, profile)
        .await?
        .into_iter()
        .map(|t| match &t.state {
            Some(state) => format!("{} {} ({state})", t.label, t.id),
            None => format!("{} {}", t.label, t.id),
        })
        .collect();
    for g in all_items!(
        aws.ec2
            .describe_security_groups()
            .filters(ec2::tag_filter(TAG_PROFILE, profile)),
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
    Ok(out)
}
