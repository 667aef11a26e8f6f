//! VPC endpoints, and the security group their interfaces share: how nodes in private subnets
//! without a NAT gateway reach AWS's APIs and ECR (EKS user guide, "Deploy private clusters with
//! limited internet access"). Interface endpoints put an ENI in each subnet given, answering
//! HTTPS for the service's regional name (private DNS); the S3 gateway endpoint is a route in
//! the route tables given.

use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    IpPermission, IpRange, ResourceType, State as EndpointState, VpcEndpointType,
};

use super::{Kind, Tags, from_tags, made_before, spec};
use crate::error::{AwsError, found, gone_ok, missing, sdk};
use crate::once::{LOOK, create_once, ec2_one_try};
use crate::retry::{Backoff, dependency_violation, retry};
use crate::wait::{Probe, WaitSpec, wait_for};

#[derive(Debug, Clone, PartialEq)]
pub struct SecurityGroup {
    pub id: String,
    pub vpc_id: String,
    pub name: String,
    pub description: String,
    /// CIDRs allowed in on TCP 443.
    pub https_from: Vec<String>,
    pub tags: Tags,
}

/// Made at most once (`CreateSecurityGroup` takes no idempotency token: see `once.rs`); a
/// repeat refused with `InvalidGroup.Duplicate` is the first one, found by its tags.
pub async fn create_security_group(
    c: &Client,
    vpc_id: &str,
    name: &str,
    description: &str,
    tags: &Tags,
) -> Result<String, AwsError> {
    let op = "ec2:CreateSecurityGroup";
    create_once(
        LOOK,
        || async {
            let out = c
                .create_security_group()
                .vpc_id(vpc_id)
                .group_name(name)
                .description(description)
                .tag_specifications(spec(ResourceType::SecurityGroup, tags))
                .customize()
                .config_override(ec2_one_try())
                .send()
                .await
                .map_err(sdk(op, name))?;
            Ok(out
                .group_id()
                .ok_or_else(|| missing(op, name, "group id"))?
                .to_owned())
        },
        || made_before(c, Kind::SecurityGroup, tags, op),
    )
    .await
}

/// TCP 443 from `cidr`.
fn https(cidr: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
        .build()
}

/// Lets `cidr` in on TCP 443; already allowed is done.
pub async fn allow_https_from(c: &Client, id: &str, cidr: &str) -> Result<(), AwsError> {
    let r = c
        .authorize_security_group_ingress()
        .group_id(id)
        .ip_permissions(https(cidr))
        .send()
        .await
        .map(|_| ())
        .map_err(sdk("ec2:AuthorizeSecurityGroupIngress", id));
    match r {
        Err(e) if e.code_is("InvalidPermission.Duplicate") => Ok(()),
        other => other,
    }
}

/// Takes back TCP 443 from `cidr`.
pub async fn revoke_https_from(c: &Client, id: &str, cidr: &str) -> Result<(), AwsError> {
    gone_ok(
        c.revoke_security_group_ingress()
            .group_id(id)
            .ip_permissions(https(cidr))
            .send()
            .await
            .map(|_| ())
            .map_err(sdk("ec2:RevokeSecurityGroupIngress", id)),
    )
}

pub async fn describe_security_group(
    c: &Client,
    id: &str,
) -> Result<Option<SecurityGroup>, AwsError> {
    let out = found(
        c.describe_security_groups()
            .group_ids(id)
            .send()
            .await
            .map_err(sdk("ec2:DescribeSecurityGroups", id)),
    )?;
    Ok(out.and_then(|o| {
        o.security_groups().first().map(|g| SecurityGroup {
            id: g.group_id().unwrap_or_default().to_owned(),
            vpc_id: g.vpc_id().unwrap_or_default().to_owned(),
            name: g.group_name().unwrap_or_default().to_owned(),
            description: g.description().unwrap_or_default().to_owned(),
            https_from: g
                .ip_permissions()
                .iter()
                .filter(|p| {
                    p.ip_protocol() == Some("tcp")
                        && p.from_port() == Some(443)
                        && p.to_port() == Some(443)
                })
                .flat_map(|p| p.ip_ranges().iter().filter_map(|r| r.cidr_ip()))
                .map(str::to_owned)
                .collect(),
            tags: from_tags(g.tags()),
        })
    }))
}

/// Retried while the interfaces of deleted endpoints still use it, up to `within`.
pub async fn delete_security_group(c: &Client, id: &str, within: Duration) -> Result<(), AwsError> {
    retry(
        Backoff::draining(within),
        dependency_violation,
        &|_| {},
        || async {
            gone_ok(
                c.delete_security_group()
                    .group_id(id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk("ec2:DeleteSecurityGroup", id)),
            )
        },
    )
    .await
}

/// What an endpoint is made of.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EndpointSpec {
    pub vpc_id: String,
    /// `com.amazonaws.<region>.<service>`.
    pub service_name: String,
    /// `Interface` or `Gateway`.
    pub kind: String,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub route_table_ids: Vec<String>,
    pub private_dns: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VpcEndpoint {
    pub id: String,
    pub spec: EndpointSpec,
    /// EC2's state, lowercase (`pending`, `available`, `deleting`, `failed`, …).
    pub state: String,
    pub tags: Tags,
}

/// `ClientToken` makes a repeat of the call answer with the first one's endpoint.
pub async fn create_vpc_endpoint(
    c: &Client,
    s: &EndpointSpec,
    tags: &Tags,
    token: &str,
) -> Result<String, AwsError> {
    let op = "ec2:CreateVpcEndpoint";
    let mut r = c
        .create_vpc_endpoint()
        .client_token(token)
        .vpc_id(&s.vpc_id)
        .service_name(&s.service_name)
        .vpc_endpoint_type(VpcEndpointType::from(s.kind.as_str()))
        .tag_specifications(spec(ResourceType::VpcEndpoint, tags));
    if s.kind == "Interface" {
        r = r
            .set_subnet_ids(Some(s.subnet_ids.clone()))
            .set_security_group_ids(Some(s.security_group_ids.clone()))
            .private_dns_enabled(s.private_dns);
    } else {
        r = r.set_route_table_ids(Some(s.route_table_ids.clone()));
    }
    let out = r.send().await.map_err(sdk(op, &s.service_name))?;
    Ok(out
        .vpc_endpoint()
        .and_then(|e| e.vpc_endpoint_id())
        .ok_or_else(|| missing(op, &s.service_name, "vpc endpoint id"))?
        .to_owned())
}

fn state_of(s: Option<&EndpointState>) -> String {
    s.map(|s| s.as_str().to_ascii_lowercase())
        .unwrap_or_default()
}

/// `None` when gone or deleted (EC2 lists deleted endpoints for a while).
pub async fn describe_vpc_endpoint(c: &Client, id: &str) -> Result<Option<VpcEndpoint>, AwsError> {
    let out = found(
        c.describe_vpc_endpoints()
            .vpc_endpoint_ids(id)
            .send()
            .await
            .map_err(sdk("ec2:DescribeVpcEndpoints", id)),
    )?;
    Ok(out.and_then(|o| {
        o.vpc_endpoints()
            .first()
            .map(|e| {
                let mut subnet_ids: Vec<String> =
                    e.subnet_ids().iter().map(|x| x.to_owned()).collect();
                subnet_ids.sort();
                let mut route_table_ids: Vec<String> =
                    e.route_table_ids().iter().map(|x| x.to_owned()).collect();
                route_table_ids.sort();
                let mut security_group_ids: Vec<String> = e
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_owned))
                    .collect();
                security_group_ids.sort();
                VpcEndpoint {
                    id: e.vpc_endpoint_id().unwrap_or_default().to_owned(),
                    spec: EndpointSpec {
                        vpc_id: e.vpc_id().unwrap_or_default().to_owned(),
                        service_name: e.service_name().unwrap_or_default().to_owned(),
                        kind: e
                            .vpc_endpoint_type()
                            .map(|t| t.as_str().to_owned())
                            .unwrap_or_default(),
                        subnet_ids,
                        security_group_ids,
                        route_table_ids,
                        private_dns: e.private_dns_enabled().unwrap_or(false),
                    },
                    state: state_of(e.state()),
                    tags: from_tags(e.tags()),
                }
            })
            .filter(|e| e.state != "deleted")
    }))
}

/// Until the endpoint is `available`; `failed`/`rejected` end the wait with EC2's status.
pub async fn wait_vpc_endpoint_available(
    c: &Client,
    id: &str,
    spec: &WaitSpec,
    on_status: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), AwsError> {
    wait_for(
        spec,
        || async {
            Ok(match describe_vpc_endpoint(c, id).await? {
                Some(e) if e.state == "available" => Probe::Done,
                Some(e) if matches!(e.state.as_str(), "failed" | "rejected" | "expired") => {
                    Probe::Failed {
                        status: e.state,
                        reason: "the endpoint will not become available".into(),
                    }
                }
                Some(e) => Probe::Pending(e.state),
                None => Probe::Pending("not listed yet".into()),
            })
        },
        on_status,
    )
    .await
}

/// Brings the endpoint's subnets, security groups and route tables from `have` to `want`.
pub async fn modify_vpc_endpoint(
    c: &Client,
    id: &str,
    have: &EndpointSpec,
    want: &EndpointSpec,
) -> Result<(), AwsError> {
    let diff = |w: &[String], h: &[String]| -> Option<Vec<String>> {
        let d: Vec<String> = w.iter().filter(|x| !h.contains(x)).cloned().collect();
        (!d.is_empty()).then_some(d)
    };
    let add_s = diff(&want.subnet_ids, &have.subnet_ids);
    let rm_s = diff(&have.subnet_ids, &want.subnet_ids);
    let add_g = diff(&want.security_group_ids, &have.security_group_ids);
    let rm_g = diff(&have.security_group_ids, &want.security_group_ids);
    let add_r = diff(&want.route_table_ids, &have.route_table_ids);
    let rm_r = diff(&have.route_table_ids, &want.route_table_ids);
    if [&add_s, &rm_s, &add_g, &rm_g, &add_r, &rm_r]
        .iter()
        .all(|x| x.is_none())
    {
        return Ok(());
    }
    c.modify_vpc_endpoint()
        .vpc_endpoint_id(id)
        .set_add_subnet_ids(add_s)
        .set_remove_subnet_ids(rm_s)
        .set_add_security_group_ids(add_g)
        .set_remove_security_group_ids(rm_g)
        .set_add_route_table_ids(add_r)
        .set_remove_route_table_ids(rm_r)
        .send()
        .await
        .map(|_| ())
        .map_err(sdk("ec2:ModifyVpcEndpoint", id))
}

/// Deletes it and waits until EC2 no longer lists it (its interfaces go with it, so the
/// subnets and the security group can go after).
pub async fn delete_vpc_endpoint(
    c: &Client,
    id: &str,
    spec: &WaitSpec,
    on_status: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), AwsError> {
    let out = c
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(id)
        .send()
        .await
        .map_err(sdk("ec2:DeleteVpcEndpoints", id));
    match out {
        // DeleteVpcEndpoints answers per endpoint in `Unsuccessful`; not found is done.
        Ok(o) => {
            if let Some(u) = o.unsuccessful().first()
                && let Some(e) = u.error()
                && !e.code().is_some_and(|c| c.ends_with("NotFound"))
            {
                return Err(AwsError::new(
                    "ec2:DeleteVpcEndpoints",
                    id,
                    format!(
                        "{} ({})",
                        e.message().unwrap_or("refused"),
                        e.code().unwrap_or("?")
                    ),
                ));
            }
        }
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e),
    }
    wait_for(
        spec,
        || async {
            Ok(match describe_vpc_endpoint(c, id).await? {
                None => Probe::Done,
                Some(e) => Probe::Pending(e.state),
            })
        },
        on_status,
    )
    .await
}
