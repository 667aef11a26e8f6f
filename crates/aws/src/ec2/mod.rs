//! EC2 network: VPC, subnets, internet gateway, tags, finding by tag; the ways out of the VPC
//! (route tables, Elastic IP, NAT gateway) are in `routes.rs`, VPC endpoints and their
//! security group in `endpoints.rs`.

use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, NatGatewayState, ResourceType, Tag, TagSpecification,
};

use crate::error::{AwsError, found, gone_ok, missing, sdk};
use crate::once::{LOOK, create_once, ec2_one_try};
use crate::retry::{Backoff, dependency_violation, retry};
use crate::{TAG_ID, TAG_PROFILE, Tags};

mod endpoints;
mod launch_template;
mod routes;

pub use endpoints::*;
pub use launch_template::*;
pub use routes::*;

fn spec(rt: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(to_tags(tags)))
        .build()
}

pub(crate) fn to_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub(crate) fn from_tags(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .filter(|(k, _)| !k.starts_with("aws:"))
        .collect()
}

/// Make the live tags of `id` equal `want` (add/overwrite, then remove extra keys).
pub async fn set_tags(c: &Client, id: &str, have: &Tags, want: &Tags) -> Result<(), AwsError> {
    let add: Tags = want
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !add.is_empty() {
        c.create_tags()
            .resources(id)
            .set_tags(Some(to_tags(&add)))
            .send()
            .await
            .map_err(sdk("ec2:CreateTags", id))?;
    }
    let remove: Vec<Tag> = have
        .keys()
        .filter(|k| !want.contains_key(*k))
        .map(|k| Tag::builder().key(k).build())
        .collect();
    if !remove.is_empty() {
        c.delete_tags()
            .resources(id)
            .set_tags(Some(remove))
            .send()
            .await
            .map_err(sdk("ec2:DeleteTags", id))?;
    }
    Ok(())
}

// ---- VPC ----

#[derive(Debug, Clone, PartialEq)]
pub struct Vpc {
    pub id: String,
    pub cidr: String,
    pub tags: Tags,
}

/// Made at most once (`CreateVpc` takes no idempotency token: see `once.rs`).
pub async fn create_vpc(c: &Client, cidr: &str, tags: &Tags) -> Result<String, AwsError> {
    let id = create_once(
        LOOK,
        || async {
            let out = c
                .create_vpc()
                .cidr_block(cidr)
                .tag_specifications(spec(ResourceType::Vpc, tags))
                .customize()
                .config_override(ec2_one_try())
                .send()
                .await
                .map_err(sdk("ec2:CreateVpc", cidr))?;
            Ok(out
                .vpc()
                .and_then(|v| v.vpc_id())
                .ok_or_else(|| missing("ec2:CreateVpc", cidr, "vpc id"))?
                .to_owned())
        },
        || made_before(c, Kind::Vpc, tags, "ec2:CreateVpc"),
    )
    .await?;
    enable_dns(c, &id).await?;
    Ok(id)
}

/// What a create tagged `tags` made, if anything: the resource of `kind` carrying the same
/// `alpaka.io/id` and `alpaka.io/profile` (the first by id if a blind repeat made two). Without
/// those tags nothing could be told apart, and the create is not repeated.
pub(crate) async fn made_before(
    c: &Client,
    kind: Kind,
    tags: &Tags,
    op: &str,
) -> Result<Option<String>, AwsError> {
    let (Some(id), Some(profile)) = (tags.get(TAG_ID), tags.get(TAG_PROFILE)) else {
        return Err(AwsError::new(
            op,
            "?",
            format!(
                "the answer was lost, and without the {TAG_ID} and {TAG_PROFILE} tags what it \
                 made cannot be found; not sending it again"
            ),
        ));
    };
    let mut found = find_tagged(c, kind, &[(TAG_ID, id), (TAG_PROFILE, profile)]).await?;
    found.sort();
    Ok(found.into_iter().next().map(|(id, _)| id))
}

/// EKS needs DNS hostnames and support for its private endpoint (one attribute per call).
/// Idempotent: also run on a VPC adopted from a run killed right after CreateVpc.
pub async fn enable_dns(c: &Client, id: &str) -> Result<(), AwsError> {
    for hostnames in [false, true] {
        let b = AttributeBooleanValue::builder().value(true).build();
        let req = c.modify_vpc_attribute().vpc_id(id);
        let req = if hostnames {
            req.enable_dns_hostnames(b)
        } else {
            req.enable_dns_support(b)
        };
        req.send()
            .await
            .map_err(sdk("ec2:ModifyVpcAttribute", id))?;
    }
    Ok(())
}

pub async fn describe_vpc(c: &Client, id: &str) -> Result<Option<Vpc>, AwsError> {
    let out = found(
        c.describe_vpcs()
            .vpc_ids(id)
            .send()
            .await
            .map_err(sdk("ec2:DescribeVpcs", id)),
    )?;
    Ok(out.and_then(|o| o.vpcs().first().map(vpc_of)))
}

fn vpc_of(v: &aws_sdk_ec2::types::Vpc) -> Vpc {
    Vpc {
        id: v.vpc_id().unwrap_or_default().to_owned(),
        cidr: v.cidr_block().unwrap_or_default().to_owned(),
        tags: from_tags(v.tags()),
    }
}

/// Every VPC carrying all of `tags`, every page: a read by identity tags also sees a second
/// one a create carried out twice made.
pub async fn vpcs_tagged(c: &Client, tags: &[(&str, &str)]) -> Result<Vec<Vpc>, AwsError> {
    let (filters, what) = tag_filters(tags);
    Ok(all_items!(
        c.describe_vpcs().set_filters(Some(filters)),
        "ec2:DescribeVpcs",
        &what
    )
    .iter()
    .map(vpc_of)
    .collect())
}

/// EC2 filters for resources carrying all of `tags`, and how to name them in an error.
pub(crate) fn tag_filters(tags: &[(&str, &str)]) -> (Vec<Filter>, String) {
    (
        tags.iter().map(|(k, v)| tag_filter(k, v)).collect(),
        tags.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// Retried while it has dependencies (ENIs draining), up to `within`.
pub async fn delete_vpc(c: &Client, id: &str, within: Duration) -> Result<(), AwsError> {
    until_drained(c, within, ("vpc-id", id), || async {
        gone_ok(
            c.delete_vpc()
                .vpc_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk("ec2:DeleteVpc", id)),
        )
    })
    .await
}

/// The network interfaces in a VPC or subnet (`filter` `vpc-id` or `subnet-id`), each with what
/// owns it: what keeps a delete answering `DependencyViolation`.
pub async fn interfaces_in(c: &Client, filter: &str, value: &str) -> Result<Vec<String>, AwsError> {
    let mut pages = c
        .describe_network_interfaces()
        .filters(Filter::builder().name(filter).values(value).build())
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk("ec2:DescribeNetworkInterfaces", value))?;
        for n in page.network_interfaces() {
            let mut owner = Vec::new();
            if let Some(d) = n.description().filter(|d| !d.is_empty()) {
                owner.push(format!("{d:?}"));
            }
            if let Some(t) = n.interface_type() {
                owner.push(format!("type {}", t.as_str()));
            }
            if let Some(r) = n.requester_id() {
                owner.push(format!("requester {r}"));
            }
            if let Some(i) = n.attachment().and_then(|a| a.instance_id()) {
                owner.push(format!("attached to {i}"));
            }
            if let Some(s) = n.status() {
                owner.push(s.as_str().to_owned());
            }
            out.push(format!(
                "{} ({})",
                n.network_interface_id().unwrap_or("?"),
                owner.join(", ")
            ));
        }
    }
    Ok(out)
}

/// Run a delete until it stops answering `DependencyViolation` (interfaces still draining), up
/// to `within`; then fail naming the network interfaces left in `scope`.
async fn until_drained<F, Fut>(
    c: &Client,
    within: Duration,
    scope: (&str, &str),
    call: F,
) -> Result<(), AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), AwsError>>,
{
    match retry(
        Backoff::draining(within),
        dependency_violation,
        &|_| {},
        call,
    )
    .await
    {
        Err(mut e) if dependency_violation(&e) => {
            let (filter, value) = scope;
            let blocking = match interfaces_in(c, filter, value).await {
                Ok(enis) if enis.is_empty() => {
                    format!("no network interface is left in {value}")
                }
                Ok(enis) => format!("network interfaces in {value}: {}", enis.join("; ")),
                Err(listing) => format!("listing the network interfaces failed: {listing}"),
            };
            e.message = format!(
                "{} — still refused after {}s; {blocking}. Delete what owns them (or wait for \
                 them to drain), then run destroy again",
                e.message,
                within.as_secs()
            );
            Err(e)
        }
        other => other,
    }
}

// ---- Internet gateway ----

#[derive(Debug, Clone, PartialEq)]
pub struct InternetGateway {
    pub id: String,
    pub vpc_id: Option<String>,
    pub tags: Tags,
}

/// Made at most once (no idempotency token), then attached to `vpc_id`.
pub async fn create_internet_gateway(
    c: &Client,
    vpc_id: &str,
    tags: &Tags,
) -> Result<String, AwsError> {
    let op = "ec2:CreateInternetGateway";
    let id = create_once(
        LOOK,
        || async {
            let out = c
                .create_internet_gateway()
                .tag_specifications(spec(ResourceType::InternetGateway, tags))
                .customize()
                .config_override(ec2_one_try())
                .send()
                .await
                .map_err(sdk(op, vpc_id))?;
            Ok(out
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .ok_or_else(|| missing(op, vpc_id, "gateway id"))?
                .to_owned())
        },
        || made_before(c, Kind::InternetGateway, tags, op),
    )
    .await?;
    attach_internet_gateway(c, &id, vpc_id).await?;
    Ok(id)
}

/// Attach `id` to `vpc_id`; already attached there (an attach repeated after a lost answer)
/// is success.
pub async fn attach_internet_gateway(c: &Client, id: &str, vpc_id: &str) -> Result<(), AwsError> {
    let r = c
        .attach_internet_gateway()
        .internet_gateway_id(id)
        .vpc_id(vpc_id)
        .send()
        .await
        .map(|_| ())
        .map_err(sdk("ec2:AttachInternetGateway", id));
    match r {
        Err(e) if e.code_is("Resource.AlreadyAssociated") => {
            match describe_internet_gateway(c, id).await? {
                Some(g) if g.vpc_id.as_deref() == Some(vpc_id) => Ok(()),
                _ => Err(e),
            }
        }
        other => other,
    }
}

pub async fn describe_internet_gateway(
    c: &Client,
    id: &str,
) -> Result<Option<InternetGateway>, AwsError> {
    let out = found(
        c.describe_internet_gateways()
            .internet_gateway_ids(id)
            .send()
            .await
            .map_err(sdk("ec2:DescribeInternetGateways", id)),
    )?;
    Ok(out.and_then(|o| o.internet_gateways().first().map(internet_gateway_of)))
}

fn internet_gateway_of(g: &aws_sdk_ec2::types::InternetGateway) -> InternetGateway {
    InternetGateway {
        id: g.internet_gateway_id().unwrap_or_default().to_owned(),
        vpc_id: g
            .attachments()
            .first()
            .and_then(|a| a.vpc_id())
            .map(str::to_owned),
        tags: from_tags(g.tags()),
    }
}

/// Every internet gateway carrying all of `tags`, every page (see [`vpcs_tagged`]).
pub async fn internet_gateways_tagged(
    c: &Client,
    tags: &[(&str, &str)],
) -> Result<Vec<InternetGateway>, AwsError> {
    let (filters, what) = tag_filters(tags);
    Ok(all_items!(
        c.describe_internet_gateways().set_filters(Some(filters)),
        "ec2:DescribeInternetGateways",
        &what
    )
    .iter()
    .map(internet_gateway_of)
    .collect())
}

/// Detach from every VPC, then delete; each retried while the VPC's public addresses drain.
pub async fn delete_internet_gateway(
    c: &Client,
    id: &str,
    within: Duration,
) -> Result<(), AwsError> {
    let Some(g) = describe_internet_gateway(c, id).await? else {
        return Ok(());
    };
    if let Some(vpc) = &g.vpc_id {
        until_drained(c, within, ("vpc-id", vpc), || async {
            gone_ok(
                c.detach_internet_gateway()
                    .internet_gateway_id(id)
                    .vpc_id(vpc)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk("ec2:DetachInternetGateway", id)),
            )
        })
        .await?;
    }
    let scope = g.vpc_id.as_deref().unwrap_or(id);
    until_drained(c, within, ("vpc-id", scope), || async {
        gone_ok(
            c.delete_internet_gateway()
                .internet_gateway_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk("ec2:DeleteInternetGateway", id)),
        )
    })
    .await
}

// ---- Subnet ----

#[derive(Debug, Clone, PartialEq)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub cidr: String,
    pub availability_zone: String,
    pub map_public_ip_on_launch: bool,
    pub tags: Tags,
}

pub async fn create_subnet(
    c: &Client,
    vpc_id: &str,
    cidr: &str,
    az: &str,
    public_ip: bool,
    tags: &Tags,
) -> Result<String, AwsError> {
    let op = "ec2:CreateSubnet";
    // At most once (no idempotency token); a repeat whose first try took effect is refused
    // `InvalidSubnet.Conflict` (the CIDR is taken) and adopted.
    let id = create_once(
        LOOK,
        || async {
            let out = c
                .create_subnet()
                .vpc_id(vpc_id)
                .cidr_block(cidr)
                .availability_zone(az)
                .tag_specifications(spec(ResourceType::Subnet, tags))
                .customize()
                .config_override(ec2_one_try())
                .send()
                .await
                .map_err(sdk(op, cidr))?;
            Ok(out
                .subnet()
                .and_then(|s| s.subnet_id())
                .ok_or_else(|| missing(op, cidr, "subnet id"))?
                .to_owned())
        },
        || made_before(c, Kind::Subnet, tags, op),
    )
    .await?;
    if public_ip {
        set_map_public_ip(c, &id, true).await?;
    }
    Ok(id)
}

pub async fn set_map_public_ip(c: &Client, id: &str, on: bool) -> Result<(), AwsError> {
    c.modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
        .send()
        .await
        .map(|_| ())
        .map_err(sdk("ec2:ModifySubnetAttribute", id))
}

pub async fn describe_subnet(c: &Client, id: &str) -> Result<Option<Subnet>, AwsError> {
    let out = found(
        c.describe_subnets()
            .subnet_ids(id)
            .send()
            .await
            .map_err(sdk("ec2:DescribeSubnets", id)),
    )?;
    Ok(out.and_then(|o| o.subnets().first().map(subnet_of)))
}

fn subnet_of(s: &aws_sdk_ec2::types::Subnet) -> Subnet {
    Subnet {
        id: s.subnet_id().unwrap_or_default().to_owned(),
        vpc_id: s.vpc_id().unwrap_or_default().to_owned(),
        cidr: s.cidr_block().unwrap_or_default().to_owned(),
        availability_zone: s.availability_zone().unwrap_or_default().to_owned(),
        map_public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
        tags: from_tags(s.tags()),
    }
}

/// Every subnet tagged `key = value`, every page, in one listing: a plan reads all of a
/// profile's subnets with one call instead of one each.
pub async fn subnets_tagged(c: &Client, key: &str, value: &str) -> Result<Vec<Subnet>, AwsError> {
    Ok(all_items!(
        c.describe_subnets().filters(tag_filter(key, value)),
        "ec2:DescribeSubnets",
        value
    )
    .iter()
    .map(subnet_of)
    .collect())
}

/// Retried while interfaces in it drain, up to `within`.
pub async fn delete_subnet(c: &Client, id: &str, within: Duration) -> Result<(), AwsError> {
    until_drained(c, within, ("subnet-id", id), || async {
        gone_ok(
            c.delete_subnet()
                .subnet_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk("ec2:DeleteSubnet", id)),
        )
    })
    .await
}

pub(crate) fn tag_filter(key: &str, value: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{key}"))
        .values(value)
        .build()
}

// ---- Finding by tag ----

/// The EC2 resource types alpaka creates, for [`find_tagged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Vpc,
    Subnet,
    InternetGateway,
    RouteTable,
    /// An Elastic IP, by allocation id.
    Address,
    NatGateway,
    LaunchTemplate,
    SecurityGroup,
    VpcEndpoint,
}

/// Every `kind` resource carrying all of `tags`, with its id and its own tags. How alpaka finds
/// what it made when no state records it (a run killed between the create call and the state
/// write; creates tag in the call itself). Every page is read; NAT gateways deleted, being
/// deleted or failed do not count.
pub async fn find_tagged(
    c: &Client,
    kind: Kind,
    tags: &[(&str, &str)],
) -> Result<Vec<(String, Tags)>, AwsError> {
    let filters: Vec<Filter> = tags.iter().map(|(k, v)| tag_filter(k, v)).collect();
    let what = tags
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let fs = Some(filters);
    let pair = |id: Option<&str>, t: &[Tag]| id.map(|i| (i.to_owned(), from_tags(t)));
    Ok(match kind {
        Kind::Vpc => all_items!(c.describe_vpcs().set_filters(fs), "ec2:DescribeVpcs", &what)
            .iter()
            .filter_map(|v| pair(v.vpc_id(), v.tags()))
            .collect(),
        Kind::Subnet => all_items!(
            c.describe_subnets().set_filters(fs),
            "ec2:DescribeSubnets",
            &what
        )
        .iter()
        .filter_map(|s| pair(s.subnet_id(), s.tags()))
        .collect(),
        Kind::InternetGateway => all_items!(
            c.describe_internet_gateways().set_filters(fs),
            "ec2:DescribeInternetGateways",
            &what
        )
        .iter()
        .filter_map(|g| pair(g.internet_gateway_id(), g.tags()))
        .collect(),
        Kind::RouteTable => all_items!(
            c.describe_route_tables().set_filters(fs),
            "ec2:DescribeRouteTables",
            &what
        )
        .iter()
        .filter_map(|r| pair(r.route_table_id(), r.tags()))
        .collect(),
        // DescribeAddresses has no pages: it answers every address at once.
        Kind::Address => c
            .describe_addresses()
            .set_filters(fs)
            .send()
            .await
            .map_err(sdk("ec2:DescribeAddresses", &what))?
            .addresses()
            .iter()
            .filter_map(|a| pair(a.allocation_id(), a.tags()))
            .collect(),
        Kind::NatGateway => all_items!(
            c.describe_nat_gateways().set_filter(fs),
            "ec2:DescribeNatGateways",
            &what
        )
        .iter()
        .filter(|n| {
            !matches!(
                n.state(),
                Some(
                    NatGatewayState::Deleted | NatGatewayState::Deleting | NatGatewayState::Failed
                )
            )
        })
        .filter_map(|n| pair(n.nat_gateway_id(), n.tags()))
        .collect(),
        Kind::LaunchTemplate => all_items!(
            c.describe_launch_templates().set_filters(fs),
            "ec2:DescribeLaunchTemplates",
            &what
        )
        .iter()
        .filter_map(|t| pair(t.launch_template_id(), t.tags()))
        .collect(),
        Kind::SecurityGroup => all_items!(
            c.describe_security_groups().set_filters(fs),
            "ec2:DescribeSecurityGroups",
            &what
        )
        .iter()
        .filter_map(|g| pair(g.group_id(), g.tags()))
        .collect(),
        // Deleted endpoints stay listed for a while: they do not count. EC2 spells the state
        // in lowercase (`deleted`), which the SDK's enum (`Deleted`) does not match.
        Kind::VpcEndpoint => all_items!(
            c.describe_vpc_endpoints().set_filters(fs),
            "ec2:DescribeVpcEndpoints",
            &what
        )
        .iter()
        .filter(|e| {
            !e.state().is_some_and(|s| {
                matches!(
                    s.as_str().to_ascii_lowercase().as_str(),
                    "deleted" | "deleting"
                )
            })
        })
        .filter_map(|e| pair(e.vpc_endpoint_id(), e.tags()))
        .collect(),
    })
}
