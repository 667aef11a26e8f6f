//! The ways out of a VPC: route tables (the default route, subnet associations), the Elastic
//! IP and the NAT gateway.

use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{DomainType, NatGatewayState, ResourceType};

use super::{Kind, from_tags, made_before, spec, tag_filter, until_drained};
use crate::Tags;
use crate::error::{AwsError, found, gone_ok, missing, sdk};
use crate::once::{LOOK, create_once, ec2_one_try};
use crate::wait::{Probe, WaitSpec, wait_for};

// ---- Route table ----

/// Where `0.0.0.0/0` goes.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultRoute {
    InternetGateway(String),
    NatGateway(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: String,
    pub default_route: Option<DefaultRoute>,
    /// (subnet id, association id)
    pub associations: Vec<(String, String)>,
    pub tags: Tags,
}

/// `token`: the create's idempotency token (`ClientToken`): a create repeated after a lost
/// answer returns the route table the first made.
pub async fn create_route_table(
    c: &Client,
    vpc_id: &str,
    tags: &Tags,
    token: &str,
) -> Result<String, AwsError> {
    let out = c
        .create_route_table()
        .client_token(token)
        .vpc_id(vpc_id)
        .tag_specifications(spec(ResourceType::RouteTable, tags))
        .send()
        .await
        .map_err(sdk("ec2:CreateRouteTable", vpc_id))?;
    Ok(out
        .route_table()
        .and_then(|r| r.route_table_id())
        .ok_or_else(|| missing("ec2:CreateRouteTable", vpc_id, "route table id"))?
        .to_owned())
}

/// Create or replace the `0.0.0.0/0` route; `None` removes it.
pub async fn set_default_route(
    c: &Client,
    id: &str,
    have: Option<&DefaultRoute>,
    want: Option<&DefaultRoute>,
) -> Result<(), AwsError> {
    if have == want {
        return Ok(());
    }
    match (have, want) {
        (Some(_), None) => gone_ok(
            c.delete_route()
                .route_table_id(id)
                .destination_cidr_block("0.0.0.0/0")
                .send()
                .await
                .map(|_| ())
                .map_err(sdk("ec2:DeleteRoute", id)),
        ),
        (None, Some(r)) => {
            let req = c
                .create_route()
                .route_table_id(id)
                .destination_cidr_block("0.0.0.0/0");
            let req = match r {
                DefaultRoute::InternetGateway(g) => req.gateway_id(g),
                DefaultRoute::NatGateway(n) => req.nat_gateway_id(n),
            };
            req.send()
                .await
                .map(|_| ())
                .map_err(sdk("ec2:CreateRoute", id))
        }
        (Some(_), Some(r)) => {
            let req = c
                .replace_route()
                .route_table_id(id)
                .destination_cidr_block("0.0.0.0/0");
            let req = match r {
                DefaultRoute::InternetGateway(g) => req.gateway_id(g),
                DefaultRoute::NatGateway(n) => req.nat_gateway_id(n),
            };
            req.send()
                .await
                .map(|_| ())
                .map_err(sdk("ec2:ReplaceRoute", id))
        }
        (None, None) => Ok(()),
    }
}

pub async fn associate(c: &Client, id: &str, subnet_id: &str) -> Result<(), AwsError> {
    c.associate_route_table()
        .route_table_id(id)
        .subnet_id(subnet_id)
        .send()
        .await
        .map(|_| ())
        .map_err(sdk("ec2:AssociateRouteTable", id))
}

pub async fn disassociate(c: &Client, id: &str, association_id: &str) -> Result<(), AwsError> {
    gone_ok(
        c.disassociate_route_table()
            .association_id(association_id)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk("ec2:DisassociateRouteTable", id)),
    )
}

pub async fn describe_route_table(c: &Client, id: &str) -> Result<Option<RouteTable>, AwsError> {
    let out = found(
        c.describe_route_tables()
            .route_table_ids(id)
            .send()
            .await
            .map_err(sdk("ec2:DescribeRouteTables", id)),
    )?;
    Ok(out.and_then(|o| o.route_tables().first().map(route_table_of)))
}

fn route_table_of(r: &aws_sdk_ec2::types::RouteTable) -> RouteTable {
    RouteTable {
        id: r.route_table_id().unwrap_or_default().to_owned(),
        vpc_id: r.vpc_id().unwrap_or_default().to_owned(),
        default_route: r
            .routes()
            .iter()
            .find(|x| x.destination_cidr_block() == Some("0.0.0.0/0"))
            .and_then(|x| {
                if let Some(n) = x.nat_gateway_id() {
                    Some(DefaultRoute::NatGateway(n.to_owned()))
                } else {
                    x.gateway_id()
                        .filter(|g| g.starts_with("igw-"))
                        .map(|g| DefaultRoute::InternetGateway(g.to_owned()))
                }
            }),
        associations: r
            .associations()
            .iter()
            .filter(|a| !a.main().unwrap_or(false))
            .filter_map(|a| {
                Some((
                    a.subnet_id()?.to_owned(),
                    a.route_table_association_id()?.to_owned(),
                ))
            })
            .collect(),
        tags: from_tags(r.tags()),
    }
}

/// Every route table tagged `key = value`, every page, in one listing (see [`super::subnets_tagged`]).
pub async fn route_tables_tagged(
    c: &Client,
    key: &str,
    value: &str,
) -> Result<Vec<RouteTable>, AwsError> {
    Ok(all_items!(
        c.describe_route_tables().filters(tag_filter(key, value)),
        "ec2:DescribeRouteTables",
        value
    )
    .iter()
    .map(route_table_of)
    .collect())
}

/// Disassociate every subnet, then delete (retried while it has dependencies, up to `within`).
pub async fn delete_route_table(c: &Client, id: &str, within: Duration) -> Result<(), AwsError> {
    let Some(r) = describe_route_table(c, id).await? else {
        return Ok(());
    };
    for (_, assoc) in &r.associations {
        disassociate(c, id, assoc).await?;
    }
    until_drained(c, within, ("vpc-id", &r.vpc_id), || async {
        gone_ok(
            c.delete_route_table()
                .route_table_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk("ec2:DeleteRouteTable", id)),
        )
    })
    .await
}

// ---- Elastic IP ----

#[derive(Debug, Clone, PartialEq)]
pub struct Eip {
    pub allocation_id: String,
    pub public_ip: String,
    pub tags: Tags,
}

/// Allocated at most once (`AllocateAddress` takes no idempotency token: see `once.rs`).
pub async fn allocate_eip(c: &Client, tags: &Tags) -> Result<Eip, AwsError> {
    let op = "ec2:AllocateAddress";
    create_once(
        LOOK,
        || async {
            let out = c
                .allocate_address()
                .domain(DomainType::Vpc)
                .tag_specifications(spec(ResourceType::ElasticIp, tags))
                .customize()
                .config_override(ec2_one_try())
                .send()
                .await
                .map_err(sdk(op, "eip"))?;
            Ok(Eip {
                allocation_id: out
                    .allocation_id()
                    .ok_or_else(|| missing(op, "eip", "allocation id"))?
                    .to_owned(),
                public_ip: out.public_ip().unwrap_or_default().to_owned(),
                tags: tags.clone(),
            })
        },
        || async {
            match made_before(c, Kind::Address, tags, op).await? {
                Some(id) => describe_eip(c, &id).await,
                None => Ok(None),
            }
        },
    )
    .await
}

pub async fn describe_eip(c: &Client, allocation_id: &str) -> Result<Option<Eip>, AwsError> {
    let out = found(
        c.describe_addresses()
            .allocation_ids(allocation_id)
            .send()
            .await
            .map_err(sdk("ec2:DescribeAddresses", allocation_id)),
    )?;
    Ok(out.and_then(|o| o.addresses().first().map(eip_of)))
}

fn eip_of(a: &aws_sdk_ec2::types::Address) -> Eip {
    Eip {
        allocation_id: a.allocation_id().unwrap_or_default().to_owned(),
        public_ip: a.public_ip().unwrap_or_default().to_owned(),
        tags: from_tags(a.tags()),
    }
}

/// Every Elastic IP carrying all of `tags` (DescribeAddresses has no pages; see
/// [`super::vpcs_tagged`]).
pub async fn eips_tagged(c: &Client, tags: &[(&str, &str)]) -> Result<Vec<Eip>, AwsError> {
    let (filters, what) = super::tag_filters(tags);
    Ok(c.describe_addresses()
        .set_filters(Some(filters))
        .send()
        .await
        .map_err(sdk("ec2:DescribeAddresses", &what))?
        .addresses()
        .iter()
        .map(eip_of)
        .collect())
}

pub async fn release_eip(c: &Client, allocation_id: &str) -> Result<(), AwsError> {
    gone_ok(
        c.release_address()
            .allocation_id(allocation_id)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk("ec2:ReleaseAddress", allocation_id)),
    )
}

// ---- NAT gateway ----

#[derive(Debug, Clone, PartialEq)]
pub struct NatGateway {
    pub id: String,
    pub subnet_id: String,
    pub allocation_id: String,
    pub state: String,
    pub failure: String,
    pub tags: Tags,
}

/// `token`: the create's idempotency token (`ClientToken`), the same for this resource in every
/// run, so a create repeated after a crash answers with the gateway the first one made.
pub async fn create_nat_gateway(
    c: &Client,
    subnet_id: &str,
    allocation_id: &str,
    tags: &Tags,
    token: &str,
) -> Result<String, AwsError> {
    let out = c
        .create_nat_gateway()
        .client_token(token)
        .subnet_id(subnet_id)
        .allocation_id(allocation_id)
        .tag_specifications(spec(ResourceType::Natgateway, tags))
        .send()
        .await
        .map_err(sdk("ec2:CreateNatGateway", subnet_id))?;
    Ok(out
        .nat_gateway()
        .and_then(|n| n.nat_gateway_id())
        .ok_or_else(|| missing("ec2:CreateNatGateway", subnet_id, "nat gateway id"))?
        .to_owned())
}

/// `None` when gone or deleted (AWS lists deleted NAT gateways for a while).
pub async fn describe_nat_gateway(c: &Client, id: &str) -> Result<Option<NatGateway>, AwsError> {
    let out = found(
        c.describe_nat_gateways()
            .nat_gateway_ids(id)
            .send()
            .await
            .map_err(sdk("ec2:DescribeNatGateways", id)),
    )?;
    Ok(out.and_then(|o| {
        o.nat_gateways()
            .first()
            .filter(|n| n.state() != Some(&NatGatewayState::Deleted))
            .map(nat_gateway_of)
    }))
}

fn nat_gateway_of(n: &aws_sdk_ec2::types::NatGateway) -> NatGateway {
    NatGateway {
        id: n.nat_gateway_id().unwrap_or_default().to_owned(),
        subnet_id: n.subnet_id().unwrap_or_default().to_owned(),
        allocation_id: n
            .nat_gateway_addresses()
            .first()
            .and_then(|a| a.allocation_id())
            .unwrap_or_default()
            .to_owned(),
        state: n.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        failure: n.failure_message().unwrap_or_default().to_owned(),
        tags: from_tags(n.tags()),
    }
}

/// Every NAT gateway carrying all of `tags` and not deleted or being deleted, every page (see
/// [`super::vpcs_tagged`]).
pub async fn nat_gateways_tagged(
    c: &Client,
    tags: &[(&str, &str)],
) -> Result<Vec<NatGateway>, AwsError> {
    let (filters, what) = super::tag_filters(tags);
    Ok(all_items!(
        c.describe_nat_gateways().set_filter(Some(filters)),
        "ec2:DescribeNatGateways",
        &what
    )
    .iter()
    .filter(|n| {
        !matches!(
            n.state(),
            Some(NatGatewayState::Deleted | NatGatewayState::Deleting)
        )
    })
    .map(nat_gateway_of)
    .collect())
}

pub fn nat_probe(state: &str, failure: &str) -> Probe {
    match state {
        "available" => Probe::Done,
        "failed" | "deleted" | "deleting" => Probe::Failed {
            status: state.to_owned(),
            reason: failure.to_owned(),
        },
        other => Probe::Pending(other.to_owned()),
    }
}

pub async fn wait_nat_available(
    c: &Client,
    id: &str,
    spec: &WaitSpec,
    on_status: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), AwsError> {
    wait_for(
        spec,
        || async {
            Ok(match describe_nat_gateway(c, id).await? {
                Some(n) => nat_probe(&n.state, &n.failure),
                None => Probe::Failed {
                    status: "deleted".into(),
                    reason: "the NAT gateway disappeared".into(),
                },
            })
        },
        on_status,
    )
    .await
}

/// Delete and wait until it is gone (its EIP and subnet cannot go before).
pub async fn delete_nat_gateway(
    c: &Client,
    id: &str,
    spec: &WaitSpec,
    on_status: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), AwsError> {
    gone_ok(
        c.delete_nat_gateway()
            .nat_gateway_id(id)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk("ec2:DeleteNatGateway", id)),
    )?;
    wait_for(
        spec,
        || async {
            Ok(match describe_nat_gateway(c, id).await? {
                None => Probe::Done,
                Some(n) if n.state == "failed" => Probe::Done,
                Some(n) => Probe::Pending(n.state),
            })
        },
        on_status,
    )
    .await
}
