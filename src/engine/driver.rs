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
    /// The state's lineage and the id's generation (destroys so far): with the id, what makes a
    /// create's idempotency token.
    lineage: String,
    generation: u64,
}

impl StepCx {
    pub fn new(
        id: ResourceId,
        kind: String,
        reporter: Arc<dyn Reporter>,
        lineage: &str,
        generation: u64,
    ) -> Self {
        StepCx {
            id,
            kind,
            reporter,
            lineage: lineage.to_owned(),
            generation,
        }
    }

    /// The idempotency token of this resource's create calls (EKS `clientRequestToken`, EC2
    /// `ClientToken`): the same for this deployment's resource in every run until it is
    /// destroyed, so a create repeated after a crash (the call made, its answer never recorded)
    /// is the same request to AWS, not a second resource; a new one after each destroy (AWS would
    /// answer a replayed token with the deleted resource), and different for every resource and
    /// deployment. 32 hex characters (both APIs take up to 64).
    pub fn idempotency_token(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(
            format!("alpaka/{}/{}/{}", self.lineage, self.id, self.generation).as_bytes(),
        );
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    /// This step's context for the resource that replaces the current one: the generation
    /// after it (the walker counts a replacement as a destroy once it is done).
    pub fn next_generation(&self) -> StepCx {
        StepCx {
            id: self.id.clone(),
            kind: self.kind.clone(),
            reporter: self.reporter.clone(),
            lineage: self.lineage.clone(),
            generation: self.generation + 1,
        }
    }

    /// Live status text shown on this node's progress line (e.g. the AWS status `CREATING`).
    pub fn status(&self, text: &str) {
        self.reporter.status(&self.id, text);
    }

    /// A warning the user must see after the step (e.g. a change the operator ignored): a line
    /// of its own, kept in the output, not a passing status.
    pub fn warn(&self, text: &str) {
        self.reporter.note(&format!("Warning: {}: {text}", self.id));
    }
}

/// What [`Driver::find`] found for a resource the state does not record.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    Nothing,
    /// One this deployment made (its tags say so), e.g. by a run killed between the create call
    /// and the state write: the outputs that identify it, as `create` returns them.
    Ours(Value),
    /// Something by that name this deployment did not make; the text says what and why.
    Foreign(String),
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

    /// Outputs an in-place update changes (e.g. a launch template's version): a plan shows what
    /// references them as "(known after apply)" when this resource is updated, instead of the
    /// recorded value, so dependents plan their own update.
    fn outputs_changed_by_update(&self) -> &[&'static str] {
        &[]
    }

    /// What a user must know before a replacement goes ahead (e.g. that it wipes a cluster and
    /// everything in it); shown under the replace in plans.
    fn replace_warning(&self) -> Option<&'static str> {
        None
    }

    /// Plan-time check of an in-place update from `live` to `desired`: `Err` refuses the plan
    /// (an update the service cannot make, e.g. a Kubernetes downgrade), `Ok(Some(note))` is shown
    /// under the change (e.g. the steps an upgrade goes through).
    fn check_update(
        &self,
        _live: &Value,
        _desired: &Value,
        _changes: &[FieldChange],
    ) -> Result<Option<String>, String> {
        Ok(None)
    }

    /// Plan-time check of a replacement of `live` by `desired`: `Err` refuses the plan (a
    /// replacement that would throw away what cannot be made again, and that the service has
    /// its own migration for, e.g. a Kafka moving from ZooKeeper to KRaft).
    fn check_replace(&self, _live: &Value, _desired: &Value) -> Result<(), String> {
        Ok(())
    }

    /// An in-place update from `live` to `desired` that would cut off what depends on this
    /// resource until those change too (a Kafka listener its clients are moving off): the
    /// value to apply in this resource's place, and what the plan says about it. The walker
    /// applies `desired` once every step that waits for this one is done.
    fn interim(&self, _live: &Value, _desired: &Value) -> Option<(Value, String)> {
        None
    }

    /// Before planning a create: look for this resource by what identifies it without state (a
    /// tag carrying its id, a name the configuration fixes). `desired` may hold unknowns. Kinds
    /// whose create is idempotent by itself (server-side apply, `helm upgrade --install`) find
    /// nothing.
    async fn find(&self, _id: &ResourceId, _desired: &Value) -> Result<Found, DriverError> {
        Ok(Found::Nothing)
    }

    /// Plan-time check of a create (nothing found live, refresh on): `Err` refuses the plan
    /// (e.g. a chart whose CRDs are older than the cluster's), `Ok(Some(note))` is shown under
    /// the create (e.g. the cluster's older CRDs it applies first). `desired` may hold unknowns.
    async fn check_create(
        &self,
        _id: &ResourceId,
        _desired: &Value,
    ) -> Result<Option<String>, DriverError> {
        Ok(None)
    }

    /// Live state in the shape of the desired attributes, or `None` if it no longer exists.
    async fn read(
        &self,
        id: &ResourceId,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError>;

    /// Others carrying this resource's identity (its `alpaka.io/id` tag) besides the one state
    /// records — a create the provider carried out twice —, as the provider names them: the
    /// recorded one and the others. Asked after a `read` that found the resource, and answered
    /// from what that read listed.
    async fn duplicates(
        &self,
        _id: &ResourceId,
        _recorded: &ResourceState,
    ) -> Result<Option<(String, Vec<String>)>, DriverError> {
        Ok(None)
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    struct Quiet;
    impl Reporter for Quiet {
        fn started(&self, _: &ResourceId, _: crate::engine::plan::Action) {}
        fn status(&self, _: &ResourceId, _: &str) {}
        fn finished(
            &self,
            _: &ResourceId,
            _: crate::engine::plan::Action,
            _: &super::super::progress::StepEnd,
            _: Duration,
        ) {
        }
        fn note(&self, _: &str) {}
    }

    #[test]
    fn idempotency_tokens_are_stable_per_resource_and_deployment() {
        let cx = |id: &str, lineage: &str, generation: u64| {
            StepCx::new(
                ResourceId::new(id),
                "k".into(),
                Arc::new(Quiet),
                lineage,
                generation,
            )
            .idempotency_token()
        };
        let t = cx("eks.cluster.prod", "abc", 0);
        assert_eq!(t, cx("eks.cluster.prod", "abc", 0));
        assert_ne!(t, cx("eks.cluster.dev", "abc", 0));
        assert_ne!(t, cx("eks.cluster.prod", "abd", 0));
        // After a destroy, a new request.
        assert_ne!(t, cx("eks.cluster.prod", "abc", 1));
        assert_eq!(t.len(), 32);
        assert!(t.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
