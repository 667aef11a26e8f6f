//! aws.launch-template: the EC2 launch template each EKS nodegroup runs (IMDSv2, an encrypted
//! gp3 root volume). A change of its data is a new version made the default; the nodegroup
//! rolls to it (its `launch_template.version` references this resource's `version` output,
//! which an update changes: `outputs_changed_by_update`).

use std::sync::Arc;

use alpaka_aws::ec2::{self, LaunchTemplateData};
use async_trait::async_trait;

use super::{
    Shared, carry, err, find_ec2, int, map_value, opt_text, output, outputs, string_map, tags, text,
};
use crate::engine::diff::FieldChange;
use crate::engine::{Driver, DriverError, Drivers, Found, ResourceId, StepCx, Value};
use crate::state::ResourceState;

pub fn register(d: &mut Drivers, s: &Arc<Shared>) {
    d.register(
        "aws.launch-template",
        Arc::new(LaunchTemplateDriver(s.clone())),
    );
}

fn data(d: &Value) -> Result<LaunchTemplateData, DriverError> {
    let i32_of = |k: &str| -> Result<i32, DriverError> {
        i32::try_from(int(d, k)?).map_err(|_| DriverError::new(format!("`{k}` is out of range")))
    };
    Ok(LaunchTemplateData {
        root_device: text(d, "root_device")?,
        volume_size_gb: i32_of("volume_size_gb")?,
        volume_type: text(d, "volume_type")?,
        encrypted: d.get("encrypted").and_then(Value::as_bool).unwrap_or(true),
        kms_key_id: opt_text(d, "kms_key_id"),
        http_tokens: text(d, "http_tokens")?,
        hop_limit: i32_of("http_put_response_hop_limit")?,
        http_endpoint: text(d, "http_endpoint")?,
        resource_tags: string_map(d, "resource_tags"),
    })
}

/// Live state in the desired shape.
fn attrs(name: &str, x: &LaunchTemplateData, tags: &alpaka_aws::Tags) -> Value {
    Value::map([
        ("name", Value::str(name)),
        ("root_device", Value::str(&x.root_device)),
        ("volume_size_gb", Value::Int(i64::from(x.volume_size_gb))),
        ("volume_type", Value::str(&x.volume_type)),
        ("encrypted", Value::Bool(x.encrypted)),
        (
            "kms_key_id",
            x.kms_key_id.clone().map(Value::Str).unwrap_or_default(),
        ),
        ("http_tokens", Value::str(&x.http_tokens)),
        (
            "http_put_response_hop_limit",
            Value::Int(i64::from(x.hop_limit)),
        ),
        ("http_endpoint", Value::str(&x.http_endpoint)),
        ("resource_tags", map_value(&x.resource_tags)),
        ("tags", map_value(tags)),
    ])
}

pub struct LaunchTemplateDriver(Arc<Shared>);

#[async_trait]
impl Driver for LaunchTemplateDriver {
    fn force_new(&self) -> &[&'static str] {
        &["name"]
    }
    fn outputs_changed_by_update(&self) -> &[&'static str] {
        &["version"]
    }
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        let aws = self.0.aws().await;
        let Some(lt) = find_ec2(aws, ec2::Kind::LaunchTemplate, id, d).await? else {
            return Ok(Found::Nothing);
        };
        let root = text(d, "root_device")?;
        Ok(
            match ec2::describe_launch_template(&aws.ec2, &lt, &root)
                .await
                .map_err(err)?
            {
                Some(t) => Found::Ours(outputs([
                    ("id", t.id),
                    ("name", t.name),
                    ("version", t.version.to_string()),
                ])),
                None => Found::Nothing,
            },
        )
    }
    async fn read(
        &self,
        _: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let id = output(rec, "id")?;
        let root = text(&rec.attrs, "root_device")?;
        let Some(t) = ec2::describe_launch_template(&aws.ec2, &id, &root)
            .await
            .map_err(err)?
        else {
            return Ok(None);
        };
        // One read per resource in a plan: the version's data (DescribeLaunchTemplateVersions)
        // carries no tags of the template itself, and a second call per template would double
        // its reads. Its tags are set in the create call and by every update: as last applied.
        let mut live = attrs(&t.name, &t.data, &alpaka_aws::Tags::new());
        if let Value::Map(m) = &mut live {
            m.insert("tags".into(), carry(rec, "tags"));
        }
        Ok(Some(live))
    }
    async fn create(&self, cx: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let name = text(d, "name")?;
        let (id, version) = ec2::create_launch_template(
            &aws.ec2,
            &name,
            &data(d)?,
            &tags(d),
            &cx.idempotency_token(),
        )
        .await
        .map_err(err)?;
        Ok(outputs([
            ("id", id),
            ("name", name),
            ("version", version.to_string()),
        ]))
    }
    /// Data: a new version, made the default. Tags: in place.
    async fn update(
        &self,
        cx: &StepCx,
        rec: &ResourceState,
        d: &Value,
        ch: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let id = output(rec, "id")?;
        let mut version = output(rec, "version")?;
        if ch
            .iter()
            .any(|c| c.path.first().map(String::as_str) != Some("tags"))
        {
            // Per version: a retry of this update (state still records the version before it)
            // is the same request, and EC2 answers with the version it made then.
            let next = version.parse::<i64>().unwrap_or_default() + 1;
            let token = format!("{}-{next}", cx.idempotency_token());
            cx.status("new version");
            version = ec2::update_launch_template(&aws.ec2, &id, &data(d)?, &token)
                .await
                .map_err(err)?
                .to_string();
        }
        let live = ec2::launch_template_tags(&aws.ec2, &id)
            .await
            .map_err(err)?
            .unwrap_or_default();
        ec2::set_tags(&aws.ec2, &id, &live, &tags(d))
            .await
            .map_err(err)?;
        Ok(outputs([
            ("id", id),
            ("name", text(d, "name")?),
            ("version", version),
        ]))
    }
    async fn delete(&self, _: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        ec2::delete_launch_template(&aws.ec2, &output(rec, "id")?)
            .await
            .map_err(err)
    }
}
