//! aws.security-group (the endpoints' own: HTTPS from the VPC), aws.vpc-endpoint.

use std::sync::Arc;

use alpaka_aws::ec2::{self, EndpointSpec};
use async_trait::async_trait;

use super::network::found_by_tag;
use super::{
    Shared, err, in_recorded_order, list_value, map_value, output, outputs, status, tags, text,
    texts,
};
use crate::engine::diff::FieldChange;
use crate::engine::{Driver, DriverError, Drivers, Found, ResourceId, StepCx, Value};
use crate::state::ResourceState;

pub fn register(d: &mut Drivers, s: &Arc<Shared>) {
    d.register(
        "aws.security-group",
        Arc::new(SecurityGroupDriver(s.clone())),
    );
    d.register("aws.vpc-endpoint", Arc::new(VpcEndpointDriver(s.clone())));
}

pub struct SecurityGroupDriver(Arc<Shared>);

#[async_trait]
impl Driver for SecurityGroupDriver {
    fn force_new(&self) -> &[&'static str] {
        &["vpc_id", "name", "description"]
    }
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        found_by_tag(&self.0, ec2::Kind::SecurityGroup, id, d).await
    }
    async fn read(
        &self,
        _: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let id = output(rec, "id")?;
        let g = ec2::describe_security_group(&aws.ec2, &id)
            .await
            .map_err(err)?;
        Ok(g.map(|g| {
            let recorded = texts(&rec.attrs, "https_from");
            Value::map([
                ("vpc_id", Value::Str(g.vpc_id)),
                ("name", Value::Str(g.name)),
                ("description", Value::Str(g.description)),
                (
                    "https_from",
                    list_value(&in_recorded_order(&g.https_from, &recorded)),
                ),
                ("tags", map_value(&g.tags)),
            ])
        }))
    }
    async fn create(&self, _: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let id = ec2::create_security_group(
            &aws.ec2,
            &text(d, "vpc_id")?,
            &text(d, "name")?,
            &text(d, "description")?,
            &tags(d),
        )
        .await
        .map_err(err)?;
        for cidr in texts(d, "https_from") {
            ec2::allow_https_from(&aws.ec2, &id, &cidr)
                .await
                .map_err(err)?;
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
        let live = ec2::describe_security_group(&aws.ec2, &id)
            .await
            .map_err(err)?;
        let want = texts(d, "https_from");
        let have = live
            .as_ref()
            .map(|g| g.https_from.clone())
            .unwrap_or_default();
        for cidr in want.iter().filter(|c| !have.contains(c)) {
            ec2::allow_https_from(&aws.ec2, &id, cidr)
                .await
                .map_err(err)?;
        }
        for cidr in have.iter().filter(|c| !want.contains(c)) {
            ec2::revoke_https_from(&aws.ec2, &id, cidr)
                .await
                .map_err(err)?;
        }
        ec2::set_tags(
            &aws.ec2,
            &id,
            &live.map(|g| g.tags).unwrap_or_default(),
            &tags(d),
        )
        .await
        .map_err(err)?;
        Ok(rec.outputs.clone())
    }
    async fn delete(&self, _: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        ec2::delete_security_group(&aws.ec2, &output(rec, "id")?, self.0.timeout)
            .await
            .map_err(err)
    }
}

pub struct VpcEndpointDriver(Arc<Shared>);

fn endpoint_spec(d: &Value) -> Result<EndpointSpec, DriverError> {
    let sorted = |k: &str| {
        let mut v = texts(d, k);
        v.sort();
        v
    };
    Ok(EndpointSpec {
        vpc_id: text(d, "vpc_id")?,
        service_name: text(d, "service_name")?,
        kind: text(d, "type")?,
        subnet_ids: sorted("subnet_ids"),
        security_group_ids: sorted("security_group_ids"),
        route_table_ids: sorted("route_table_ids"),
        private_dns: d
            .get("private_dns")
            .and_then(|v| match v {
                Value::Bool(b) => Some(*b),
                _ => None,
            })
            .unwrap_or(false),
    })
}

#[async_trait]
impl Driver for VpcEndpointDriver {
    fn force_new(&self) -> &[&'static str] {
        &["vpc_id", "service_name", "type", "private_dns"]
    }
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        found_by_tag(&self.0, ec2::Kind::VpcEndpoint, id, d).await
    }
    async fn read(
        &self,
        _: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let id = output(rec, "id")?;
        let e = ec2::describe_vpc_endpoint(&aws.ec2, &id)
            .await
            .map_err(err)?;
        Ok(e.map(|e| {
            let order = |k: &str, live: &[String]| {
                list_value(&in_recorded_order(live, &texts(&rec.attrs, k)))
            };
            let mut m = vec![
                ("vpc_id", Value::Str(e.spec.vpc_id.clone())),
                ("service_name", Value::Str(e.spec.service_name.clone())),
                ("type", Value::Str(e.spec.kind.clone())),
                ("tags", map_value(&e.tags)),
            ];
            if e.spec.kind == "Interface" {
                m.push(("subnet_ids", order("subnet_ids", &e.spec.subnet_ids)));
                m.push((
                    "security_group_ids",
                    order("security_group_ids", &e.spec.security_group_ids),
                ));
                m.push(("private_dns", Value::Bool(e.spec.private_dns)));
            } else {
                m.push((
                    "route_table_ids",
                    order("route_table_ids", &e.spec.route_table_ids),
                ));
            }
            Value::map(m)
        }))
    }
    async fn create(&self, cx: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let spec = endpoint_spec(d)?;
        let id = ec2::create_vpc_endpoint(&aws.ec2, &spec, &tags(d), &cx.idempotency_token())
            .await
            .map_err(err)?;
        let wait = self.0.wait("vpc endpoint available", &id);
        ec2::wait_vpc_endpoint_available(&aws.ec2, &id, &wait, &status(cx))
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
        let want = endpoint_spec(d)?;
        let live = ec2::describe_vpc_endpoint(&aws.ec2, &id)
            .await
            .map_err(err)?;
        if let Some(l) = &live {
            ec2::modify_vpc_endpoint(&aws.ec2, &id, &l.spec, &want)
                .await
                .map_err(err)?;
        }
        ec2::set_tags(
            &aws.ec2,
            &id,
            &live.map(|e| e.tags).unwrap_or_default(),
            &tags(d),
        )
        .await
        .map_err(err)?;
        // One adopted from a killed run may still be pending.
        let wait = self.0.wait("vpc endpoint available", &id);
        ec2::wait_vpc_endpoint_available(&aws.ec2, &id, &wait, &status(cx))
            .await
            .map_err(err)?;
        Ok(rec.outputs.clone())
    }
    async fn delete(&self, cx: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        let id = output(rec, "id")?;
        let wait = self.0.wait("vpc endpoint deleted", &id);
        ec2::delete_vpc_endpoint(&aws.ec2, &id, &wait, &status(cx))
            .await
            .map_err(err)
    }
}
