//! The one trait through which the engine touches the world. A driver knows one resource kind's
//! API (EKS clusters, helm releases, Strimzi resources, …); the engine knows only this trait.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use thiserror::Error;

use super::diff::{self, FieldChange};
use super::node::ResourceId;
use super::progress::Reporter;
use super::value::Value;
use crate::state::ResourceState;

/// A provider's failure, carrying the provider's own error code (e.g. an AWS error code) so the
/// summary can name it.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("{message}{}", .code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct DriverError {
    pub message: String,
    pub code: Option<String>,
}

impl DriverError {
    pub fn new(message: impl Into<String>) -> Self {
        DriverError {
            message: message.into(),
            code: None,
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

/// What a running step may tell the user, and what it is.
pub struct StepCx {
    pub id: ResourceId,
    pub kind: String,
    reporter: Arc<dyn Reporter>,
}

impl StepCx {
    pub fn new(id: ResourceId, kind: String, reporter: Arc<dyn Reporter>) -> Self {
        StepCx { id, kind, reporter }
    }

    /// Live status text shown on this node's progress line (e.g. the AWS status `CREATING`).
    pub fn status(&self, text: &str) {
        self.reporter.status(&self.id, text);
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Readiness {
    Ready,
    /// Not yet; the text says what it is waiting for (shown in progress).
    Pending(String),
}

#[async_trait]
pub trait Driver: Send + Sync {
    /// Top-level attribute paths whose change cannot be made in place.
    fn force_new(&self) -> &[&'static str] {
        &[]
    }

    /// What a user must know before a replacement goes ahead (e.g. that it wipes a cluster and
    /// everything in it); shown under the replace in plans.
    fn replace_warning(&self) -> Option<&'static str> {
        None
    }

    /// Live state in the shape of the desired attributes, or `None` if it no longer exists.
    async fn read(
        &self,
        id: &ResourceId,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError>;

    /// Field differences between live and desired; `salt` compares sealed secrets.
    fn diff(&self, live: &Value, desired: &Value, salt: &str) -> Vec<FieldChange> {
        diff::diff(live, desired, self.force_new(), salt)
    }

    /// Make it; returns outputs other nodes may reference.
    async fn create(&self, cx: &StepCx, desired: &Value) -> Result<Value, DriverError>;

    /// Change it in place; returns the outputs after the change.
    async fn update(
        &self,
        cx: &StepCx,
        recorded: &ResourceState,
        desired: &Value,
        changes: &[FieldChange],
    ) -> Result<Value, DriverError>;

    /// Remove it. Already gone is success.
    async fn delete(&self, cx: &StepCx, recorded: &ResourceState) -> Result<(), DriverError>;

    /// Polled after create/update until ready or [`Driver::ready_timeout`].
    async fn ready(&self, _cx: &StepCx, _outputs: &Value) -> Result<Readiness, DriverError> {
        Ok(Readiness::Ready)
    }

    fn ready_timeout(&self) -> Duration {
        Duration::from_secs(15 * 60)
    }
}

/// Drivers by resource kind.
#[derive(Clone, Default)]
pub struct Drivers(HashMap<String, Arc<dyn Driver>>);

impl Drivers {
    pub fn new() -> Self {
        Drivers::default()
    }

    pub fn register(&mut self, kind: impl Into<String>, driver: Arc<dyn Driver>) {
        self.0.insert(kind.into(), driver);
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn Driver>> {
        self.0.get(kind)
    }
}
