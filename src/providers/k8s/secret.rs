//! `k8s.secret`: a Secret whose values alpaka knows only in memory.
//!
//! Desired: `{cluster, name, namespace, data: {key: Secret|Str}, generate: [key]}`. Keys in
//! `generate` get a random value at first apply, kept only in the Secret (an existing value is
//! never replaced). Read returns the live data as [`Value::Secret`] (string keys as strings), so
//! the engine compares salted hashes; no value is ever printed, logged or recorded in plaintext.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret as KSecret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::access::{Access, Clients, K8sError};
use super::manifest::{ManifestDriver, Target};
use crate::engine::diff::FieldChange;
use crate::engine::value::Secret;
use crate::engine::{Driver, DriverError, ResourceId, StepCx, Value};
use crate::state::ResourceState;

const GENERATED_LEN: usize = 24;

pub struct SecretDriver {
    objects: ManifestDriver,
}

impl SecretDriver {
    pub fn new(clients: Arc<Clients>) -> Self {
        SecretDriver {
            objects: ManifestDriver::new(clients, super::manifest::IDENTITY),
        }
    }
}

fn parts(v: &Value) -> Result<(Access, String, String), K8sError> {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| K8sError::Shape(format!("secret without `{k}`")))
    };
    Ok((Access::of_attrs(v)?, s("name")?, s("namespace")?))
}

fn target(v: &Value) -> Result<Target, K8sError> {
    let (access, name, namespace) = parts(v)?;
    Ok(Target {
        access,
        api_version: "v1".into(),
        kind: "Secret".into(),
        name,
        namespace: Some(namespace),
    })
}

fn generate_keys(v: &Value) -> Vec<String> {
    match v.get("generate") {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// A random alphanumeric password from the OS.
fn random_password() -> Result<String, K8sError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    crate::random::string(ALPHABET, GENERATED_LEN)
        .map_err(|e| K8sError::Shape(format!("reading /dev/urandom: {e}")))
}

fn decode(live: &KSecret) -> BTreeMap<String, String> {
    live.data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
        .collect()
}

impl SecretDriver {
    async fn live(&self, t: &Target) -> Result<Option<KSecret>, K8sError> {
        match self.objects.get(t).await? {
            None => Ok(None),
            Some(j) => serde_json::from_value(j)
                .map(Some)
                .map_err(|e| K8sError::Shape(format!("reading {}: {e}", t.describe()))),
        }
    }

    async fn apply(&self, cx: &StepCx, desired: &Value) -> Result<Value, K8sError> {
        let t = target(desired)?;
        let existing = self.live(&t).await?.map(|s| decode(&s)).unwrap_or_default();
        let mut data: BTreeMap<String, ByteString> = BTreeMap::new();
        if let Some(m) = desired.get("data").and_then(Value::as_map) {
            for (k, v) in m {
                let text = match v {
                    Value::Str(s) => s.clone(),
                    Value::Secret(s) => s.plaintext().map(str::to_owned).ok_or_else(|| {
                        K8sError::Shape(format!(
                            "{}: the value of `{k}` is not known to this run (only its hash is)",
                            t.describe()
                        ))
                    })?,
                    other => other.to_string(),
                };
                data.insert(k.clone(), ByteString(text.into_bytes()));
            }
        }
        for k in generate_keys(desired) {
            let v = match existing.get(&k) {
                Some(v) if !v.is_empty() => v.clone(),
                _ => random_password()?,
            };
            data.insert(k, ByteString(v.into_bytes()));
        }
        let secret = KSecret {
            metadata: ObjectMeta {
                name: Some(t.name.clone()),
                namespace: t.namespace.clone(),
                labels: Some(BTreeMap::from([(
                    "app.kubernetes.io/managed-by".to_owned(),
                    "alpaka".to_owned(),
                )])),
                ..Default::default()
            },
            type_: Some("Opaque".into()),
            data: Some(data),
            ..Default::default()
        };
        let mut manifest: Value = serde_json::to_value(&secret)
            .and_then(serde_json::from_value)
            .map_err(|e| K8sError::Shape(format!("encoding {}: {e}", t.describe())))?;
        if let Value::Map(m) = &mut manifest {
            m.insert("apiVersion".into(), Value::str("v1"));
            m.insert("kind".into(), Value::str("Secret"));
            m.insert("cluster".into(), t.access.value());
        }
        self.objects.apply(cx, &manifest).await
    }
}

#[async_trait]
impl Driver for SecretDriver {
    fn force_new(&self) -> &[&'static str] {
        &["name", "namespace"]
    }

    async fn read(
        &self,
        _id: &ResourceId,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let t = target(&recorded.attrs)?;
        let Some(live) = self.live(&t).await? else {
            return Ok(None);
        };
        let live = decode(&live);
        let mut data = BTreeMap::new();
        if let Some(m) = recorded.attrs.get("data").and_then(Value::as_map) {
            for (k, was) in m {
                if let Some(v) = live.get(k) {
                    let v = match was {
                        Value::Str(_) => Value::str(v),
                        _ => Value::Secret(Secret::Plain(v.clone())),
                    };
                    data.insert(k.clone(), v);
                }
            }
        }
        let generate: Vec<Value> = generate_keys(&recorded.attrs)
            .into_iter()
            .filter(|k| live.get(k).is_some_and(|v| !v.is_empty()))
            .map(Value::Str)
            .collect();
        let mut out = recorded.attrs.as_map().cloned().unwrap_or_default();
        out.insert("data".into(), Value::Map(data));
        if recorded.attrs.get("generate").is_some() {
            out.insert("generate".into(), Value::List(generate));
        }
        Ok(Some(Value::Map(out)))
    }

    async fn create(&self, cx: &StepCx, desired: &Value) -> Result<Value, DriverError> {
        Ok(self.apply(cx, desired).await?)
    }

    async fn update(
        &self,
        cx: &StepCx,
        _recorded: &ResourceState,
        desired: &Value,
        _changes: &[FieldChange],
    ) -> Result<Value, DriverError> {
        Ok(self.apply(cx, desired).await?)
    }

    async fn delete(&self, cx: &StepCx, recorded: &ResourceState) -> Result<(), DriverError> {
        let t = target(&recorded.attrs)?;
        cx.status(&format!("deleting {}", t.describe()));
        Ok(self.objects.remove(cx, &t).await?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_passwords_differ_and_are_alphanumeric() {
        let a = super::random_password().unwrap();
        let b = super::random_password().unwrap();
        assert_eq!(a.len(), super::GENERATED_LEN);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
