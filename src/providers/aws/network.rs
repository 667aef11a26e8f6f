//! aws.vpc, aws.internet-gateway, aws.subnet, aws.route-table, aws.eip, aws.nat-gateway.

use std::sync::Arc;

use alpaka_aws::ec2::{self, DefaultRoute};
use async_trait::async_trait;

use super::{
    Shared, err, find_ec2, in_recorded_order, list_value, map_value, output, outputs, profile_of,
    status, tags, text, texts,
};
use crate::engine::diff::FieldChange;
use crate::engine::{Driver, DriverError, Drivers, Found, ResourceId, StepCx, Value};
use crate::state::ResourceState;

pub fn register(d: &mut Drivers, s: &Arc<Shared>) {
    d.register("aws.vpc", Arc::new(VpcDriver(s.clone())));
    d.register("aws.internet-gateway", Arc::new(IgwDriver(s.clone())));
    d.register("aws.subnet", Arc::new(SubnetDriver(s.clone())));
    d.register("aws.route-table", Arc::new(RouteTableDriver(s.clone())));
    d.register("aws.eip", Arc::new(EipDriver(s.clone())));
    d.register("aws.nat-gateway", Arc::new(NatDriver(s.clone())));
}

/// Bring an EC2 resource's tags to the desired ones, from the tags `describe` found (none when
/// it reported nothing).
async fn retag(
    aws: &alpaka_aws::Aws,
    id: &str,
    live: Option<alpaka_aws::Tags>,
    d: &Value,
) -> Result<(), DriverError> {
    ec2::set_tags(&aws.ec2, id, &live.unwrap_or_default(), &tags(d))
        .await
        .map_err(err)
}

/// An EC2 resource found by its tags, as `Found` with the `id` output its create returns.
pub(super) async fn found_by_tag(
    s: &Shared,
    kind: ec2::Kind,
    id: &ResourceId,
    d: &Value,
) -> Result<Found, DriverError> {
    Ok(match find_ec2(s.aws().await, kind, id, d).await? {
        Some(x) => Found::Ours(outputs([("id", x)])),
        None => Found::Nothing,
    })
}

/// `(k, v)` pairs as the EC2 listing functions take them.
fn pairs(tags: &[(String, String)]) -> Vec<(&str, &str)> {
    tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn changed(changes: &[FieldChange], top: &str) -> bool {
    changes
        .iter()
        .any(|c| c.path.first().map(String::as_str) == Some(top))
}

pub struct VpcDriver(Arc<Shared>);

#[async_trait]
impl Driver for VpcDriver {
    fn force_new(&self) -> &[&'static str] {
        &["cidr"]
    }
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        found_by_tag(&self.0, ec2::Kind::Vpc, id, d).await
    }
    async fn read(
        &self,
        id: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let vpc = output(rec, "id")?;
        let v = self
            .0
            .read_by_identity(
                id,
                rec,
                &vpc,
                |v: &ec2::Vpc| (&v.id, &v.tags),
                |t| async move { ec2::vpcs_tagged(&aws.ec2, &pairs(&t)).await },
                || ec2::describe_vpc(&aws.ec2, &vpc),
            )
            .await?;
        Ok(v.map(|v| Value::map([("cidr", Value::Str(v.cidr)), ("tags", map_value(&v.tags))])))
    }
    async fn duplicates(
        &self,
        id: &ResourceId,
        _: &ResourceState,
    ) -> Result<Option<(String, Vec<String>)>, DriverError> {
        Ok(self.0.duplicates_of(id))
    }

    async fn create(&self, _: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let id = ec2::create_vpc(&aws.ec2, &text(d, "cidr")?, &tags(d))
            .await
            .map_err(err)?;
        Ok(outputs([("id", id)]))
    }
    async fn update(
        &self,
        _: &StepCx,
        rec: &ResourceState,
        d: &Value,
        _: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let id = output(rec, "id")?;
        let live = ec2::describe_vpc(&aws.ec2, &id).await.map_err(err)?;
        // The DNS attributes are not read back (two calls per plan); setting them is
        // idempotent, and an adopted VPC may have missed them.
        ec2::enable_dns(&aws.ec2, &id).await.map_err(err)?;
        retag(aws, &id, live.map(|x| x.tags), d).await?;
        Ok(rec.outputs.clone())
    }
    async fn delete(&self, _: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        ec2::delete_vpc(&aws.ec2, &output(rec, "id")?, self.0.timeout)
            .await
            .map_err(err)
    }
}

pub struct IgwDriver(Arc<Shared>);

#[async_trait]
impl Driver for IgwDriver {
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        found_by_tag(&self.0, ec2::Kind::InternetGateway, id, d).await
    }
    async fn read(
        &self,
        id: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let igw = output(rec, "id")?;
        let g = self
            .0
            .read_by_identity(
                id,
                rec,
                &igw,
                |g: &ec2::InternetGateway| (&g.id, &g.tags),
                |t| async move { ec2::internet_gateways_tagged(&aws.ec2, &pairs(&t)).await },
                || ec2::describe_internet_gateway(&aws.ec2, &igw),
            )
            .await?;
        Ok(g.map(|g| {
            Value::map([
                ("vpc_id", g.vpc_id.map(Value::Str).unwrap_or_default()),
                ("tags", map_value(&g.tags)),
            ])
        }))
    }
    async fn duplicates(
        &self,
        id: &ResourceId,
        _: &ResourceState,
    ) -> Result<Option<(String, Vec<String>)>, DriverError> {
        Ok(self.0.duplicates_of(id))
    }
    async fn create(&self, _: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let id = ec2::create_internet_gateway(&aws.ec2, &text(d, "vpc_id")?, &tags(d))
            .await
            .map_err(err)?;
        Ok(outputs([("id", id)]))
    }
    async fn update(
        &self,
        _: &StepCx,
        rec: &ResourceState,
        d: &Value,
        ch: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let id = output(rec, "id")?;
        let g = ec2::describe_internet_gateway(&aws.ec2, &id)
            .await
            .map_err(err)?;
        if changed(ch, "vpc_id") {
            // Detached out of band: attach again.
            if g.as_ref().is_some_and(|g| g.vpc_id.is_none()) {
                ec2::attach_internet_gateway(&aws.ec2, &id, &text(d, "vpc_id")?)
                    .await
                    .map_err(err)?;
            }
        }
        retag(aws, &id, g.map(|g| g.tags), d).await?;
        Ok(rec.outputs.clone())
    }
    async fn delete(&self, _: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        ec2::delete_internet_gateway(&aws.ec2, &output(rec, "id")?, self.0.timeout)
            .await
            .map_err(err)
    }
}

pub struct SubnetDriver(Arc<Shared>);

#[async_trait]
impl Driver for SubnetDriver {
    fn force_new(&self) -> &[&'static str] {
        &["vpc_id", "cidr", "availability_zone"]
    }
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        found_by_tag(&self.0, ec2::Kind::Subnet, id, d).await
    }
    async fn duplicates(
        &self,
        id: &ResourceId,
        _: &ResourceState,
    ) -> Result<Option<(String, Vec<String>)>, DriverError> {
        Ok(self.0.duplicates_of(id))
    }
    async fn read(
        &self,
        rid: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let id = output(rec, "id")?;
        let s = match self.0.listed_subnet(&profile_of(&rec.attrs), &id).await? {
            Some(s) => Some(s),
            None => ec2::describe_subnet(&self.0.aws().await.ec2, &id)
                .await
                .map_err(err)?,
        };
        self.0.note_subnet_duplicates(rid, &id);
        Ok(s.map(|s| {
            Value::map([
                ("vpc_id", Value::Str(s.vpc_id)),
                ("cidr", Value::Str(s.cidr)),
                ("availability_zone", Value::Str(s.availability_zone)),
                (
                    "map_public_ip_on_launch",
                    Value::Bool(s.map_public_ip_on_launch),
                ),
                ("tags", map_value(&s.tags)),
            ])
        }))
    }
    async fn create(&self, _: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let public = d
            .get("map_public_ip_on_launch")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let id = ec2::create_subnet(
            &aws.ec2,
            &text(d, "vpc_id")?,
            &text(d, "cidr")?,
            &text(d, "availability_zone")?,
            public,
            &tags(d),
        )
        .await
        .map_err(err)?;
        Ok(outputs([("id", id)]))
    }
    async fn update(
        &self,
        _: &StepCx,
        rec: &ResourceState,
        d: &Value,
        ch: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let id = output(rec, "id")?;
        if changed(ch, "map_public_ip_on_launch") {
            let on = d
                .get("map_public_ip_on_launch")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            ec2::set_map_public_ip(&aws.ec2, &id, on)
                .await
                .map_err(err)?;
        }
        let live = ec2::describe_subnet(&aws.ec2, &id).await.map_err(err)?;
        retag(aws, &id, live.map(|x| x.tags), d).await?;
        Ok(rec.outputs.clone())
    }
    async fn delete(&self, _: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        ec2::delete_subnet(&aws.ec2, &output(rec, "id")?, self.0.timeout)
            .await
            .map_err(err)
    }
}

fn default_route(d: &Value) -> Option<DefaultRoute> {
    let r = d.get("default_route")?;
    if let Some(g) = r.get("internet_gateway_id").and_then(Value::as_str) {
        return Some(DefaultRoute::InternetGateway(g.to_owned()));
    }
    r.get("nat_gateway_id")
        .and_then(Value::as_str)
        .map(|n| DefaultRoute::NatGateway(n.to_owned()))
}

fn default_route_value(r: &DefaultRoute) -> Value {
    match r {
        DefaultRoute::InternetGateway(g) => Value::map([("internet_gateway_id", Value::str(g))]),
        DefaultRoute::NatGateway(n) => Value::map([("nat_gateway_id", Value::str(n))]),
    }
}

pub struct RouteTableDriver(Arc<Shared>);

#[async_trait]
impl Driver for RouteTableDriver {
    fn force_new(&self) -> &[&'static str] {
        &["vpc_id"]
    }
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        found_by_tag(&self.0, ec2::Kind::RouteTable, id, d).await
    }
    async fn duplicates(
        &self,
        id: &ResourceId,
        _: &ResourceState,
    ) -> Result<Option<(String, Vec<String>)>, DriverError> {
        Ok(self.0.duplicates_of(id))
    }
    async fn read(
        &self,
        rid: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let id = output(rec, "id")?;
        let r = match self
            .0
            .listed_route_table(&profile_of(&rec.attrs), &id)
            .await?
        {
            Some(r) => Some(r),
            None => ec2::describe_route_table(&self.0.aws().await.ec2, &id)
                .await
                .map_err(err)?,
        };
        self.0.note_route_table_duplicates(rid, &id);
        Ok(r.map(|r| {
            let live: Vec<String> = r.associations.iter().map(|(s, _)| s.clone()).collect();
            let subnets = in_recorded_order(&live, &texts(&rec.attrs, "subnet_ids"));
            let mut m = vec![
                ("vpc_id", Value::Str(r.vpc_id)),
                ("subnet_ids", list_value(&subnets)),
                ("tags", map_value(&r.tags)),
            ];
            if let Some(d) = &r.default_route {
                m.push(("default_route", default_route_value(d)));
            }
            Value::map(m)
        }))
    }
    async fn create(&self, cx: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let id = ec2::create_route_table(
            &aws.ec2,
            &text(d, "vpc_id")?,
            &tags(d),
            &cx.idempotency_token(),
        )
        .await
        .map_err(err)?;
        ec2::set_default_route(&aws.ec2, &id, None, default_route(d).as_ref())
            .await
            .map_err(err)?;
        for s in texts(d, "subnet_ids") {
            ec2::associate(&aws.ec2, &id, &s).await.map_err(err)?;
        }
        Ok(outputs([("id", id)]))
    }
    async fn update(
        &self,
        _: &StepCx,
        rec: &ResourceState,
        d: &Value,
        _: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let id = output(rec, "id")?;
        let Some(live) = ec2::describe_route_table(&aws.ec2, &id)
            .await
            .map_err(err)?
        else {
            return Err(DriverError::new(format!("route table {id} is gone"))
                .with_code("InvalidRouteTableID.NotFound"));
        };
        ec2::set_default_route(
            &aws.ec2,
            &id,
            live.default_route.as_ref(),
            default_route(d).as_ref(),
        )
        .await
        .map_err(err)?;
        let want = texts(d, "subnet_ids");
        for (subnet, assoc) in &live.associations {
            if !want.contains(subnet) {
                ec2::disassociate(&aws.ec2, &id, assoc).await.map_err(err)?;
            }
        }
        for s in want
            .iter()
            .filter(|s| !live.associations.iter().any(|(x, _)| x == *s))
        {
            ec2::associate(&aws.ec2, &id, s).await.map_err(err)?;
        }
        ec2::set_tags(&aws.ec2, &id, &live.tags, &tags(d))
            .await
            .map_err(err)?;
        Ok(rec.outputs.clone())
    }
    async fn delete(&self, _: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        ec2::delete_route_table(&aws.ec2, &output(rec, "id")?, self.0.timeout)
            .await
            .map_err(err)
    }
}

pub struct EipDriver(Arc<Shared>);

#[async_trait]
impl Driver for EipDriver {
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        let aws = self.0.aws().await;
        let Some(alloc) = find_ec2(aws, ec2::Kind::Address, id, d).await? else {
            return Ok(Found::Nothing);
        };
        let ip = ec2::describe_eip(&aws.ec2, &alloc)
            .await
            .map_err(err)?
            .map(|e| e.public_ip)
            .unwrap_or_default();
        Ok(Found::Ours(outputs([
            ("allocation_id", alloc),
            ("public_ip", ip),
        ])))
    }
    async fn read(
        &self,
        id: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let alloc = output(rec, "allocation_id")?;
        let e = self
            .0
            .read_by_identity(
                id,
                rec,
                &alloc,
                |e: &ec2::Eip| (&e.allocation_id, &e.tags),
                |t| async move { ec2::eips_tagged(&aws.ec2, &pairs(&t)).await },
                || ec2::describe_eip(&aws.ec2, &alloc),
            )
            .await?;
        Ok(e.map(|e| Value::map([("tags", map_value(&e.tags))])))
    }
    async fn duplicates(
        &self,
        id: &ResourceId,
        _: &ResourceState,
    ) -> Result<Option<(String, Vec<String>)>, DriverError> {
        Ok(self.0.duplicates_of(id))
    }

    async fn create(&self, _: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let e = ec2::allocate_eip(&aws.ec2, &tags(d)).await.map_err(err)?;
        Ok(outputs([
            ("allocation_id", e.allocation_id),
            ("public_ip", e.public_ip),
        ]))
    }
    async fn update(
        &self,
        _: &StepCx,
        rec: &ResourceState,
        d: &Value,
        _: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let id = output(rec, "allocation_id")?;
        let live = ec2::describe_eip(&aws.ec2, &id).await.map_err(err)?;
        retag(aws, &id, live.map(|x| x.tags), d).await?;
        Ok(rec.outputs.clone())
    }
    async fn delete(&self, _: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        ec2::release_eip(&aws.ec2, &output(rec, "allocation_id")?)
            .await
            .map_err(err)
    }
}

pub struct NatDriver(Arc<Shared>);

#[async_trait]
impl Driver for NatDriver {
    fn force_new(&self) -> &[&'static str] {
        &["subnet_id", "allocation_id"]
    }
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        found_by_tag(&self.0, ec2::Kind::NatGateway, id, d).await
    }
    async fn read(
        &self,
        id: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let nat = output(rec, "id")?;
        let n = self
            .0
            .read_by_identity(
                id,
                rec,
                &nat,
                |n: &ec2::NatGateway| (&n.id, &n.tags),
                |t| async move { ec2::nat_gateways_tagged(&aws.ec2, &pairs(&t)).await },
                || ec2::describe_nat_gateway(&aws.ec2, &nat),
            )
            .await?;
        Ok(n.map(|n| {
            Value::map([
                ("subnet_id", Value::Str(n.subnet_id)),
                ("allocation_id", Value::Str(n.allocation_id)),
                ("tags", map_value(&n.tags)),
            ])
        }))
    }
    async fn duplicates(
        &self,
        id: &ResourceId,
        _: &ResourceState,
    ) -> Result<Option<(String, Vec<String>)>, DriverError> {
        Ok(self.0.duplicates_of(id))
    }
    async fn create(&self, cx: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let id = ec2::create_nat_gateway(
            &aws.ec2,
            &text(d, "subnet_id")?,
            &text(d, "allocation_id")?,
            &tags(d),
            &cx.idempotency_token(),
        )
        .await
        .map_err(err)?;
        let spec = self.0.wait("nat gateway available", &id);
        ec2::wait_nat_available(&aws.ec2, &id, &spec, &status(cx))
            .await
            .map_err(err)?;
        Ok(outputs([("id", id)]))
    }
    async fn update(
        &self,
        cx: &StepCx,
        rec: &ResourceState,
        d: &Value,
        _: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let id = output(rec, "id")?;
        let live = ec2::describe_nat_gateway(&aws.ec2, &id)
            .await
            .map_err(err)?;
        retag(aws, &id, live.map(|x| x.tags), d).await?;
        // One adopted from a killed run may still be pending; routes wait for it.
        let spec = self.0.wait("nat gateway available", &id);
        ec2::wait_nat_available(&aws.ec2, &id, &spec, &status(cx))
            .await
            .map_err(err)?;
        Ok(rec.outputs.clone())
    }
    async fn delete(&self, cx: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        let id = output(rec, "id")?;
        let spec = self.0.wait("nat gateway deleted", &id);
        ec2::delete_nat_gateway(&aws.ec2, &id, &spec, &status(cx))
            .await
            .map_err(err)
    }
}
