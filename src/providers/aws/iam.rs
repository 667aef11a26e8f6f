//! iam.role, iam.policy, iam.oidc-provider.

use std::collections::HashMap;
use std::sync::Arc;

use alpaka_aws::iam::{self, Trust};
use async_trait::async_trait;

use super::{
    Shared, err, in_recorded_order, list_value, map_value, opt_text, ours_by_name, output, outputs,
    tags, text, texts,
};
use crate::engine::diff::FieldChange;
use crate::engine::{Driver, DriverError, Drivers, Found, ResourceId, StepCx, Value};
use crate::state::ResourceState;

pub fn register(d: &mut Drivers, s: &Arc<Shared>, documents: HashMap<&'static str, &'static str>) {
    d.register("iam.role", Arc::new(RoleDriver(s.clone())));
    d.register("iam.policy", Arc::new(PolicyDriver(s.clone(), documents)));
    d.register("iam.oidc-provider", Arc::new(OidcDriver(s.clone())));
}

/// `trust` attribute → typed trust. `{service}` or `{federated, issuer, sub, aud}`.
fn trust(d: &Value) -> Result<Trust, DriverError> {
    let t = d
        .get("trust")
        .ok_or_else(|| DriverError::new("attribute `trust` is missing"))?;
    if let Some(s) = t.get("service").and_then(Value::as_str) {
        return Ok(Trust::Service(s.to_owned()));
    }
    Ok(Trust::ServiceAccount {
        provider_arn: text(t, "federated")?,
        issuer: text(t, "issuer")?,
        sub: text(t, "sub")?,
        aud: text(t, "aud")?,
    })
}

fn trust_value(t: &Option<Trust>) -> Value {
    match t {
        Some(Trust::Service(s)) => Value::map([("service", Value::str(s))]),
        Some(Trust::ServiceAccount {
            provider_arn,
            issuer,
            sub,
            aud,
        }) => Value::map([
            ("federated", Value::str(provider_arn)),
            ("issuer", Value::str(issuer.trim_start_matches("https://"))),
            ("sub", Value::str(sub)),
            ("aud", Value::str(aud)),
        ]),
        None => Value::str("(a trust policy alpaka did not write)"),
    }
}

pub struct RoleDriver(Arc<Shared>);

#[async_trait]
impl Driver for RoleDriver {
    fn force_new(&self) -> &[&'static str] {
        &["name"]
    }
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        let aws = self.0.aws().await;
        let Some(name) = opt_text(d, "name") else {
            return Ok(Found::Nothing);
        };
        let Some(r) = iam::get_role(&aws.iam, &name).await.map_err(err)? else {
            return Ok(Found::Nothing);
        };
        let out = outputs([("arn", r.arn), ("name", name.clone())]);
        Ok(ours_by_name("IAM role", &name, &r.tags, id, d, out))
    }
    async fn read(
        &self,
        _: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let name = output(rec, "name")?;
        let r = iam::get_role(&aws.iam, &name).await.map_err(err)?;
        Ok(r.map(|r| {
            let policies = in_recorded_order(&r.policies, &texts(&rec.attrs, "policies"));
            Value::map([
                ("name", Value::Str(r.name)),
                ("trust", trust_value(&r.trust)),
                ("policies", list_value(&policies)),
                ("tags", map_value(&r.tags)),
            ])
        }))
    }
    async fn create(&self, _: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let name = text(d, "name")?;
        let arn = iam::create_role(&aws.iam, &name, &trust(d)?, &texts(d, "policies"), &tags(d))
            .await
            .map_err(err)?;
        Ok(outputs([("arn", arn), ("name", name)]))
    }
    async fn update(
        &self,
        _: &StepCx,
        rec: &ResourceState,
        d: &Value,
        _: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let name = output(rec, "name")?;
        let Some(live) = iam::get_role(&aws.iam, &name).await.map_err(err)? else {
            return Err(
                DriverError::new(format!("iam role {name} is gone")).with_code("NoSuchEntity")
            );
        };
        let want = trust(d)?;
        if live.trust.as_ref() != Some(&want) {
            iam::update_trust(&aws.iam, &name, &want)
                .await
                .map_err(err)?;
        }
        let want_policies = texts(d, "policies");
        for p in want_policies.iter().filter(|p| !live.policies.contains(p)) {
            iam::attach_role_policy(&aws.iam, &name, p)
                .await
                .map_err(err)?;
        }
        for p in live.policies.iter().filter(|p| !want_policies.contains(p)) {
            iam::detach_role_policy(&aws.iam, &name, p)
                .await
                .map_err(err)?;
        }
        iam::set_role_tags(&aws.iam, &name, &live.tags, &tags(d))
            .await
            .map_err(err)?;
        Ok(outputs([("arn", live.arn), ("name", name)]))
    }
    async fn delete(&self, _: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        iam::delete_role(&aws.iam, &output(rec, "name")?)
            .await
            .map_err(err)
    }
}

/// Customer managed policy. Its document is either compiled into the binary, keyed by the file
/// name the stack names (`policies/…json`: alpaka's own, such as the LB controller's), or the
/// user's, carried in the `document` attribute (read from the workspace's `policies/` by the
/// loader). A live document that differs reads back as a changed `document_file` (compiled) or
/// `document` (the user's), so drift shows and apply writes a new default version.
pub struct PolicyDriver(Arc<Shared>, HashMap<&'static str, &'static str>);

impl PolicyDriver {
    fn document(&self, d: &Value) -> Result<(String, String), DriverError> {
        let file = text(d, "document_file")?;
        if let Some(doc) = opt_text(d, "document") {
            return Ok((file, doc));
        }
        let doc = self.1.get(file.as_str()).copied().ok_or_else(|| {
            DriverError::new(format!(
                "no policy document `{file}` is compiled into this build"
            ))
        })?;
        Ok((file, doc.to_owned()))
    }
}

#[async_trait]
impl Driver for PolicyDriver {
    fn force_new(&self) -> &[&'static str] {
        &["name"]
    }
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        let aws = self.0.aws().await;
        let Some(name) = opt_text(d, "name") else {
            return Ok(Found::Nothing);
        };
        let (partition, account) = self.0.partition_and_account().await?;
        let arn = iam::policy_arn(partition, account, &name);
        let Some(p) = iam::get_policy(&aws.iam, &arn, None).await.map_err(err)? else {
            return Ok(Found::Nothing);
        };
        let out = outputs([("arn", arn), ("name", name.clone())]);
        Ok(ours_by_name("IAM policy", &name, &p.tags, id, d, out))
    }
    async fn read(
        &self,
        _: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let arn = output(rec, "arn")?;
        // The version last written or checked: its document is known to be the file's.
        let known = opt_text(&rec.outputs, "version");
        let Some(p) = iam::get_policy(&aws.iam, &arn, known.as_deref())
            .await
            .map_err(err)?
        else {
            return Ok(None);
        };
        let (file, doc) = self.document(&rec.attrs)?;
        let want: serde_json::Value = serde_json::from_str(&doc)
            .map_err(|e| DriverError::new(format!("{file} is not JSON: {e}")))?;
        let mut live = vec![("name", Value::Str(p.name))];
        if rec.attrs.get("document").is_some() {
            // The user's document: the live one as it is (compact JSON, as the loader makes it).
            let doc_value = match &p.document {
                Some(d) if *d != want => Value::Str(d.to_string()),
                _ => Value::Str(doc),
            };
            live.push(("document_file", Value::Str(file)));
            live.push(("document", doc_value));
        } else {
            let file_value = match &p.document {
                None => Value::Str(file),
                Some(d) if *d == want => Value::Str(file),
                Some(_) => Value::str("(document changed out of band)"),
            };
            live.push(("document_file", file_value));
        }
        live.push(("tags", map_value(&p.tags)));
        Ok(Some(Value::map(live)))
    }
    async fn create(&self, _: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let name = text(d, "name")?;
        let (_, doc) = self.document(d)?;
        let (partition, account) = self.0.partition_and_account().await?;
        let arn = iam::policy_arn(partition, account, &name);
        let arn = iam::create_policy(&aws.iam, &name, &arn, &doc, &tags(d))
            .await
            .map_err(err)?;
        // A new policy's document is its version v1 (IAM API Reference, CreatePolicy).
        Ok(outputs([
            ("arn", arn),
            ("name", name),
            ("version", "v1".to_owned()),
        ]))
    }
    async fn update(
        &self,
        _: &StepCx,
        rec: &ResourceState,
        d: &Value,
        ch: &[FieldChange],
    ) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let arn = output(rec, "arn")?;
        if ch.iter().any(|c| {
            matches!(
                c.path.first().map(String::as_str),
                Some("document_file" | "document")
            )
        }) {
            let (_, doc) = self.document(d)?;
            iam::update_policy_document(&aws.iam, &arn, &doc)
                .await
                .map_err(err)?;
        }
        let Some(live) = iam::get_policy(&aws.iam, &arn, None).await.map_err(err)? else {
            return Err(
                DriverError::new(format!("iam policy {arn} is gone")).with_code("NoSuchEntity")
            );
        };
        iam::set_policy_tags(&aws.iam, &arn, &live.tags, &tags(d))
            .await
            .map_err(err)?;
        let mut out = outputs([("arn", arn), ("name", text(d, "name")?)]);
        // Remember the version only when its document is the file's: reads then skip it.
        let (_, doc) = self.document(d)?;
        let want: Option<serde_json::Value> = serde_json::from_str(&doc).ok();
        if let Value::Map(m) = &mut out
            && live.document.is_some()
            && live.document == want
        {
            m.insert("version".into(), Value::Str(live.version));
        }
        Ok(out)
    }
    async fn delete(&self, _: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        iam::delete_policy(&aws.iam, &output(rec, "arn")?)
            .await
            .map_err(err)
    }
}

pub struct OidcDriver(Arc<Shared>);

#[async_trait]
impl Driver for OidcDriver {
    fn force_new(&self) -> &[&'static str] {
        &["issuer", "client_ids"]
    }
    async fn find(&self, id: &ResourceId, d: &Value) -> Result<Found, DriverError> {
        let aws = self.0.aws().await;
        // Its issuer is the cluster's: unknown until the cluster exists.
        let Some(issuer) = opt_text(d, "issuer") else {
            return Ok(Found::Nothing);
        };
        let Some(arn) = iam::find_oidc_provider(&aws.iam, &issuer)
            .await
            .map_err(err)?
        else {
            return Ok(Found::Nothing);
        };
        let Some(p) = iam::get_oidc_provider(&aws.iam, &arn).await.map_err(err)? else {
            return Ok(Found::Nothing);
        };
        let out = outputs([
            ("arn", arn),
            ("issuer", issuer.trim_start_matches("https://").to_owned()),
        ]);
        Ok(ours_by_name(
            "IAM OIDC provider",
            &issuer,
            &p.tags,
            id,
            d,
            out,
        ))
    }
    async fn read(
        &self,
        _: &ResourceId,
        rec: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let aws = self.0.aws().await;
        let p = iam::get_oidc_provider(&aws.iam, &output(rec, "arn")?)
            .await
            .map_err(err)?;
        Ok(p.map(|p| {
            Value::map([
                ("issuer", Value::Str(p.url)),
                (
                    "client_ids",
                    list_value(&in_recorded_order(
                        &p.client_ids,
                        &texts(&rec.attrs, "client_ids"),
                    )),
                ),
                ("tags", map_value(&p.tags)),
            ])
        }))
    }
    async fn create(&self, _: &StepCx, d: &Value) -> Result<Value, DriverError> {
        let aws = self.0.aws().await;
        let issuer = text(d, "issuer")?;
        let arn = iam::create_oidc_provider(&aws.iam, &issuer, &texts(d, "client_ids"), &tags(d))
            .await
            .map_err(err)?;
        Ok(outputs([
            ("arn", arn),
            ("issuer", issuer.trim_start_matches("https://").to_owned()),
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
        let arn = output(rec, "arn")?;
        let have = iam::get_oidc_provider(&aws.iam, &arn)
            .await
            .map_err(err)?
            .map(|p| p.tags)
            .unwrap_or_default();
        iam::set_oidc_tags(&aws.iam, &arn, &have, &tags(d))
            .await
            .map_err(err)?;
        Ok(rec.outputs.clone())
    }
    async fn delete(&self, _: &StepCx, rec: &ResourceState) -> Result<(), DriverError> {
        let aws = self.0.aws().await;
        iam::delete_oidc_provider(&aws.iam, &output(rec, "arn")?)
            .await
            .map_err(err)
    }
}
