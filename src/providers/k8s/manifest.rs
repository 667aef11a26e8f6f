//! The generic server-side-apply driver: every kind whose desired attributes are a full manifest.
//!
//! Desired: `{cluster: {context, kubeconfig}, apiVersion, kind, metadata, …}`; `cluster` is
//! alpaka's (which cluster) and never sent. Create and update are the same server-side apply
//! (`PatchParams::apply("alpaka").force()`); read projects the live object onto the applied
//! manifest's paths; readiness comes from status conditions.

use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, LogParams, Patch, PatchParams};
use std::sync::Arc;

use super::access::{Access, Clients, K8sError};
use super::admission;
use super::finalizers::{self, Held};
use super::project::project;
use super::resources;
use super::strimzi_storage;
use crate::engine::diff::FieldChange;
use crate::engine::{Driver, DriverError, Readiness, ResourceId, StepCx, Value};
use crate::state::ResourceState;

pub const FIELD_MANAGER: &str = "alpaka";

/// Fields that name an object: changing them makes another object.
pub const IDENTITY: &[&str] = &["apiVersion", "kind", "metadata.name", "metadata.namespace"];
/// Fields the API server refuses to change in place (a 422 "field is immutable"), per kind:
/// a change to one plans as a replacement (delete, then create) with the field named, so the
/// user never meets the raw 422. Found against the real kube-apiserver (integration/real_api.rs).
pub const DEPLOYMENT_IDENTITY: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "spec.selector",
];
pub const ROLEBINDING_IDENTITY: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "roleRef",
];
pub const STORAGECLASS_IDENTITY: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "provisioner",
    "parameters",
    "reclaimPolicy",
    "volumeBindingMode",
];
pub const SERVICE_IDENTITY: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "spec.clusterIP",
    "spec.clusterIPs",
];
/// A Job's spec is immutable once created.
pub const JOB_IDENTITY: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "spec",
];

/// Lines of a failed Job's pod log shown in its error.
const LOG_TAIL: i64 = 20;

pub struct ManifestDriver {
    clients: Arc<Clients>,
    force_new: &'static [&'static str],
    interim: Option<Interim>,
    opts: DeleteOptions,
}

/// How deletes treat what holds them, set per command (`destroy` flags).
#[derive(Debug, Clone, Copy)]
pub struct DeleteOptions {
    /// Remove finalizers still there after `finalizer_timeout` (`destroy --remove-finalizers`).
    pub remove_finalizers: bool,
    /// How long an object held only by finalizers is waited for.
    pub finalizer_timeout: Duration,
    /// Before a Kafka is deleted, its PVs get reclaim policy `Retain` (`destroy
    /// --keep-volumes`, the default on an existing cluster).
    pub keep_volumes: bool,
}

impl Default for DeleteOptions {
    fn default() -> Self {
        DeleteOptions {
            remove_finalizers: false,
            finalizer_timeout: finalizers::GRACE,
            keep_volumes: false,
        }
    }
}

/// Strimzi's label naming the Kafka (or KafkaConnect) a custom resource belongs to; the
/// operator serving that cluster reconciles (and finalizes) only resources carrying it
/// (strimzi-kafka-operator 1.2.0, documentation "Configuring the Topic Operator":
/// `strimzi.io/cluster`).
pub const STRIMZI_CLUSTER_LABEL: &str = "strimzi.io/cluster";

/// Per kind, the custom resources an operator that lives as long as this object finalizes,
/// deleted (and waited for) before it: a Kafka's entity operator (topic and user operators)
/// goes with the Kafka, and the topic operator's finalizer `strimzi.io/topic-operator`
/// (strimzi-kafka-operator topic-operator BatchingTopicController.FINALIZER) is then never
/// removed; a KafkaConnect's connectors are its operator's to stop.
fn finalized_by(kind: &str) -> &'static [&'static str] {
    match kind {
        "Kafka" => &["KafkaTopic", "KafkaUser"],
        "KafkaConnect" => &["KafkaConnector"],
        _ => &[],
    }
}

/// How a kind bridges an update its dependents must follow (see [`Driver::interim`]).
pub type Interim = fn(&Value, &Value) -> Option<(Value, String)>;

/// Where an object is: resource, namespace, name (and how to say it in messages).
pub struct Target {
    pub access: Access,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

impl Target {
    /// From a manifest (desired or recorded attributes: `cluster` + the object).
    pub fn of_manifest(v: &Value) -> Result<Target, K8sError> {
        let s = |p: &str| v.get(p).and_then(Value::as_str).map(str::to_owned);
        let missing = |p: &str| K8sError::Shape(format!("manifest without `{p}`"));
        Ok(Target {
            access: Access::of_attrs(v)?,
            api_version: s("apiVersion").ok_or_else(|| missing("apiVersion"))?,
            kind: s("kind").ok_or_else(|| missing("kind"))?,
            name: s("metadata.name").ok_or_else(|| missing("metadata.name"))?,
            namespace: s("metadata.namespace"),
        })
    }

    /// From a driver's outputs (`apiVersion, kind, name, namespace, context, kubeconfig`).
    pub fn of_outputs(v: &Value) -> Result<Target, K8sError> {
        let s = |p: &str| v.get(p).and_then(Value::as_str).map(str::to_owned);
        let missing = |p: &str| K8sError::Shape(format!("outputs without `{p}`"));
        Ok(Target {
            access: Access::from_map(v)?,
            api_version: s("apiVersion").ok_or_else(|| missing("apiVersion"))?,
            kind: s("kind").ok_or_else(|| missing("kind"))?,
            name: s("name").ok_or_else(|| missing("name"))?,
            namespace: s("namespace"),
        })
    }

    pub fn outputs(&self) -> Value {
        Value::map([
            ("apiVersion", Value::str(&self.api_version)),
            ("kind", Value::str(&self.kind)),
            ("name", Value::str(&self.name)),
            (
                "namespace",
                self.namespace
                    .as_deref()
                    .map(Value::str)
                    .unwrap_or_default(),
            ),
            ("context", Value::str(&self.access.context)),
            ("kubeconfig", Value::str(&self.access.kubeconfig)),
        ])
    }

    /// `Kind ns/name`, for messages.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    fn api_err(&self, op: &'static str, source: kube::Error) -> K8sError {
        K8sError::Api {
            op,
            what: self.describe(),
            context: self.access.context.clone(),
            source: Box::new(source),
        }
    }
}

/// The manifest to send: desired without alpaka's own `cluster` key, as JSON.
pub fn body(desired: &Value) -> Result<serde_json::Value, K8sError> {
    let mut m = desired
        .as_map()
        .cloned()
        .ok_or_else(|| K8sError::Shape("a manifest must be a map".into()))?;
    m.remove("cluster");
    serde_json::to_value(Value::Map(m))
        .map_err(|e| K8sError::Shape(format!("encoding the manifest: {e}")))
}

impl ManifestDriver {
    pub fn new(clients: Arc<Clients>, force_new: &'static [&'static str]) -> Self {
        ManifestDriver {
            clients,
            force_new,
            interim: None,
            opts: DeleteOptions::default(),
        }
    }

    /// How this driver's deletes treat finalizers.
    pub fn with_delete_options(mut self, opts: DeleteOptions) -> Self {
        self.opts = opts;
        self
    }

    /// This kind's updates go in two steps when `interim` says so.
    pub fn with_interim(mut self, interim: Interim) -> Self {
        self.interim = Some(interim);
        self
    }

    async fn api(&self, t: &Target) -> Result<Api<DynamicObject>, K8sError> {
        let client = self.clients.get(&t.access).await?;
        let (ar, namespaced) = resources::lookup(&t.api_version, &t.kind).ok_or_else(|| {
            K8sError::Shape(format!(
                "alpaka has no API resource for {} {}",
                t.api_version, t.kind
            ))
        })?;
        Ok(match (namespaced, &t.namespace) {
            (true, Some(ns)) => Api::namespaced_with(client, ns, &ar),
            (true, None) => {
                return Err(K8sError::Shape(format!(
                    "{} is namespaced but has no metadata.namespace",
                    t.describe()
                )));
            }
            (false, _) => Api::all_with(client, &ar),
        })
    }

    /// The live object as JSON, or `None` if it does not exist.
    pub async fn get(&self, t: &Target) -> Result<Option<serde_json::Value>, K8sError> {
        let api = self.api(t).await?;
        let obj = api
            .get_opt(&t.name)
            .await
            .map_err(|e| t.api_err("reading", e))?;
        obj.map(|o| serde_json::to_value(o).map_err(|e| K8sError::Shape(e.to_string())))
            .transpose()
    }

    /// Server-side apply of `desired` (with `cluster`).
    pub async fn apply(&self, cx: &StepCx, desired: &Value) -> Result<Value, K8sError> {
        let t = Target::of_manifest(desired)?;
        let body = body(desired)?;
        cx.status(&format!("server-side apply {}", t.describe()));
        let api = self.api(&t).await?;
        // A webhook whose backend is not up yet is waited for (admission.rs); anything else
        // fails at once.
        let deadline = std::time::Instant::now() + admission::BOUND;
        let mut delay = admission::FIRST_DELAY;
        loop {
            match api
                .patch(
                    &t.name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&body),
                )
                .await
            {
                Ok(_) => return Ok(t.outputs()),
                Err(e)
                    if admission::is_webhook_not_ready(&e)
                        && std::time::Instant::now() + delay < deadline =>
                {
                    cx.status(&format!(
                        "an admission webhook is not ready yet, trying again in {}s: {}",
                        delay.as_secs(),
                        first_line(&e)
                    ));
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(admission::MAX_DELAY);
                }
                Err(e) => return Err(t.api_err("applying", e)),
            }
        }
    }

    /// Delete and wait until it is gone (finalizers, namespace termination). Never forever: an
    /// object (or, for a Namespace, its content) held only by finalizers for the finalizer
    /// timeout fails the delete naming each object and finalizer, unless the options say to
    /// remove them.
    pub async fn remove(&self, cx: &StepCx, t: &Target) -> Result<(), K8sError> {
        let api = self.api(t).await?;
        match api.delete(&t.name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_not_found() => return Ok(()),
            Err(e) => return Err(t.api_err("deleting", e)),
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10 * 60);
        let mut delay = Duration::from_millis(200);
        let mut held_since: Option<std::time::Instant> = None;
        loop {
            let obj = match api.get_opt(&t.name).await {
                Ok(None) => return Ok(()),
                Ok(Some(o)) => serde_json::to_value(o)
                    .map_err(|e| K8sError::Shape(format!("reading {}: {e}", t.describe())))?,
                Err(e) => return Err(t.api_err("reading", e)),
            };
            let held = self.held(t, &obj).await?;
            let mut waiting = format!("waiting for {} to be gone", t.describe());
            if held.is_empty() {
                held_since = None;
            } else {
                let since = *held_since.get_or_insert_with(std::time::Instant::now);
                let names: Vec<String> = held.iter().map(Held::describe).collect();
                waiting = format!("{waiting} (held by {})", names.join("; "));
                if since.elapsed() >= self.opts.finalizer_timeout {
                    if !self.opts.remove_finalizers {
                        return Err(finalizers::held_error(&t.describe(), &t.access, &held));
                    }
                    cx.status(&format!(
                        "removing finalizers (--remove-finalizers): {}",
                        names.join("; ")
                    ));
                    finalizers::release(&self.clients, &t.access, &held).await?;
                    held_since = None;
                }
            }
            if std::time::Instant::now() >= deadline {
                return Err(K8sError::Shape(format!(
                    "{} is still there 10 minutes after its deletion",
                    t.describe()
                )));
            }
            cx.status(&waiting);
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// What holds a deleted object: its own finalizers, or for a Namespace the objects its
    /// conditions say still carry finalizers.
    async fn held(&self, t: &Target, obj: &serde_json::Value) -> Result<Vec<Held>, K8sError> {
        if t.kind == "Namespace" {
            let left = finalizers::namespace_remaining(obj);
            if left.finalizers.is_empty() {
                return Ok(Vec::new());
            }
            return finalizers::held_in_namespace(
                &self.clients,
                &t.access,
                &t.name,
                &left.resources,
            )
            .await;
        }
        let fins = finalizers::pending_finalizers(obj);
        if fins.is_empty() {
            return Ok(Vec::new());
        }
        let resource = resources::lookup(&t.api_version, &t.kind)
            .map(|(ar, _)| match ar.group.as_str() {
                "" => ar.plural,
                g => format!("{}.{g}", ar.plural),
            })
            .unwrap_or_else(|| t.kind.to_lowercase());
        Ok(vec![Held {
            resource,
            kind: t.kind.clone(),
            namespace: t.namespace.clone(),
            name: t.name.clone(),
            finalizers: fins,
        }])
    }

    /// Deletes (and waits for) the custom resources the operator living with `t` finalizes
    /// ([`finalized_by`]), including ones alpaka did not make: a user's KafkaTopic, or one
    /// `alpaka test --keep` left.
    async fn remove_finalized_by(&self, cx: &StepCx, t: &Target) -> Result<(), K8sError> {
        let Some(ns) = &t.namespace else {
            return Ok(());
        };
        let client = self.clients.get(&t.access).await?;
        let mut targets = Vec::new();
        for kind in finalized_by(&t.kind) {
            let Some((ar, _)) = resources::lookup(&t.api_version, kind) else {
                continue;
            };
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
            let lp = ListParams::default().labels(&format!("{STRIMZI_CLUSTER_LABEL}={}", t.name));
            let list = match api.list(&lp).await {
                Ok(l) => l,
                // No such CRD on this cluster: nothing of that kind to delete.
                Err(kube::Error::Api(s)) if s.is_not_found() => continue,
                Err(e) => return Err(t.api_err("listing what belongs to", e)),
            };
            for o in list.items {
                let Some(name) = o.metadata.name else {
                    continue;
                };
                cx.status(&format!(
                    "deleting {kind} {ns}/{name} while {} still runs its operator",
                    t.describe()
                ));
                // All deletes first, so the operator finalizes them together; then the waits.
                match api.delete(&name, &DeleteParams::background()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.is_not_found() => continue,
                    Err(e) => return Err(t.api_err("deleting what belongs to", e)),
                }
                targets.push(Target {
                    access: t.access.clone(),
                    api_version: t.api_version.clone(),
                    kind: (*kind).to_owned(),
                    name,
                    namespace: Some(ns.clone()),
                });
            }
        }
        for target in &targets {
            self.remove(cx, target).await?;
        }
        Ok(())
    }

    /// Does the Kafka this node pool belongs to (its `strimzi.io/cluster` label) exist?
    async fn pool_has_kafka(&self, pool: &Target) -> Result<bool, K8sError> {
        let Some(obj) = self.get(pool).await? else {
            return Ok(false);
        };
        let Some(cluster) = obj["metadata"]["labels"]["strimzi.io/cluster"].as_str() else {
            return Ok(false);
        };
        let kafka = Target {
            access: pool.access.clone(),
            api_version: pool.api_version.clone(),
            kind: "Kafka".into(),
            name: cluster.to_owned(),
            namespace: pool.namespace.clone(),
        };
        Ok(self.get(&kafka).await?.is_some())
    }

    async fn job_failure_log(&self, t: &Target) -> String {
        let Ok(client) = self.clients.get(&t.access).await else {
            return "(no pod log: cannot connect)".into();
        };
        let ns = t.namespace.clone().unwrap_or_default();
        let pods: Api<Pod> = Api::namespaced(client, &ns);
        let lp = ListParams::default().labels(&format!("job-name={}", t.name));
        let Ok(list) = pods.list(&lp).await else {
            return "(no pod log: cannot list the job's pods)".into();
        };
        let Some(name) = list.items.last().and_then(|p| p.metadata.name.clone()) else {
            return "(no pod log: the job has no pods)".into();
        };
        let params = LogParams {
            tail_lines: Some(LOG_TAIL),
            ..LogParams::default()
        };
        match pods.logs(&name, &params).await {
            Ok(text) => format!("log of pod {name} (last {LOG_TAIL} lines):\n{text}"),
            // No kubelet serves it (e.g. a node that is gone): the API's own words, briefly.
            Err(kube::Error::Api(s)) => format!("(no log of pod {name}: {})", s.message),
            Err(e) => format!("(no log of pod {name}: {e})"),
        }
    }
}

/// The API server's message of an error, for a progress line.
fn first_line(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        e => e.to_string(),
    }
}

/// Readiness of a live object by kind: `None` = ready, `Some(what)` = still waiting.
pub fn pending(kind: &str, obj: &serde_json::Value) -> Option<String> {
    let status = &obj["status"];
    let generation = obj["metadata"]["generation"].as_i64();
    let observed = status["observedGeneration"].as_i64();
    if let (Some(g), Some(o)) = (generation, observed)
        && o < g
    {
        return Some(format!(
            "{kind}: waiting for the controller to see generation {g}"
        ));
    }
    match kind {
        "Kafka" | "KafkaConnect" | "KafkaConnector" | "KafkaTopic" | "KafkaUser" => {
            let cond = status["conditions"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"));
            match cond {
                Some(c) if c["status"] == "True" => {
                    // A stale Ready from before this change does not count.
                    if generation.is_some() && observed.is_none() {
                        Some(format!("{kind}: waiting for status"))
                    } else if kind == "Kafka" {
                        kafka_versions_pending(obj)
                    } else {
                        None
                    }
                }
                Some(c) => Some(format!(
                    "{kind} not Ready: {}",
                    c["message"]
                        .as_str()
                        .or(c["reason"].as_str())
                        .unwrap_or("no reason given")
                )),
                None => Some(format!("{kind}: waiting for a Ready condition")),
            }
        }
        // As `kubectl rollout status` judges it (kubectl's polymorphichelpers/rollout_status.go):
        // the controller has seen this generation, every replica runs the new template, no old
        // one is left, and all are available. Not mid-rollout.
        "Deployment" => {
            let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            let updated = status["updatedReplicas"].as_i64().unwrap_or(0);
            let total = status["replicas"].as_i64().unwrap_or(0);
            let available = status["availableReplicas"].as_i64().unwrap_or(0);
            if observed.is_none() && generation.is_some() {
                Some("Deployment: waiting for the controller".to_owned())
            } else if updated < want {
                Some(format!("Deployment: {updated}/{want} replicas updated"))
            } else if total > updated {
                Some(format!(
                    "Deployment: {} old replicas pending termination",
                    total - updated
                ))
            } else if available < updated {
                Some(format!("Deployment: {available}/{want} replicas available"))
            } else {
                None
            }
        }
        "Job" => (status["succeeded"].as_i64().unwrap_or(0) < 1)
            .then(|| "Job: waiting for completion".to_owned()),
        _ => None,
    }
}

/// A Kafka is upgraded once its brokers run the configured version and use the configured
/// metadata version: Strimzi reports both in `status.kafkaVersion` and
/// `status.kafkaMetadataVersion` (1.2.0 CRD `040-Crd-kafka.yaml`, `KafkaStatus.java`: "the
/// version of Kafka currently deployed", "the KRaft metadata.version currently used"). A field
/// the spec does not set is not waited for.
fn kafka_versions_pending(obj: &serde_json::Value) -> Option<String> {
    let (spec, status) = (&obj["spec"]["kafka"], &obj["status"]);
    for (want, have, what) in [
        ("version", "kafkaVersion", "brokers rolling to Kafka"),
        (
            "metadataVersion",
            "kafkaMetadataVersion",
            "waiting for metadata version",
        ),
    ] {
        if let Some(w) = spec[want].as_str()
            && status[have].as_str() != Some(w)
        {
            return Some(format!(
                "Kafka: {what} {w} (status.{have}: {})",
                status[have].as_str().unwrap_or("not reported")
            ));
        }
    }
    None
}

/// Strimzi kinds whose status carries Strimzi's conditions (`Ready`, `Warning`, …).
fn is_strimzi(kind: &str) -> bool {
    matches!(
        kind,
        "Kafka" | "KafkaNodePool" | "KafkaConnect" | "KafkaConnector" | "KafkaTopic" | "KafkaUser"
    )
}

/// The status conditions of the generation the operator has seen (none while it has not seen
/// this one: an old generation's verdict says nothing about this change).
fn current_conditions(obj: &serde_json::Value) -> &[serde_json::Value] {
    let generation = obj["metadata"]["generation"].as_i64();
    let observed = obj["status"]["observedGeneration"].as_i64();
    if let (Some(g), Some(o)) = (generation, observed)
        && o < g
    {
        return &[];
    }
    obj["status"]["conditions"]
        .as_array()
        .map_or(&[], Vec::as_slice)
}

fn reason_and_message(c: &serde_json::Value) -> String {
    match (c["reason"].as_str(), c["message"].as_str()) {
        (Some(r), Some(m)) => format!("{r}: {m}"),
        (Some(t), None) | (None, Some(t)) => t.to_owned(),
        (None, None) => "no reason given".to_owned(),
    }
}

/// Has the operator refused this Strimzi resource for good? Waiting would not change it: the
/// step fails at once, naming it. Two forms (Strimzi 1.2.0's Condition: `reason` is "the
/// reason for the condition's last transition (a single word in CamelCase)", CRD schema):
/// - `Ready` with status `False` and a reason: how the Topic Operator reports a refusal. A
///   `Ready=False` without a reason is still on its way (pending).
/// - `NotReady` with status `True` and reason `ConnectRestException` on a KafkaConnector: the
///   Cluster Operator's form (StatusUtils.setStatusConditionAndObservedGeneration: type
///   `NotReady`, reason the exception's class) when Kafka Connect itself answered the
///   connector's config with an error (a class it has no plugin for, an invalid config).
///   Other `NotReady` reasons (timeouts, Connect not reachable yet, Kafka's `Creating`) pass
///   with time and stay pending.
pub fn strimzi_failed(kind: &str, obj: &serde_json::Value) -> Option<String> {
    if !is_strimzi(kind) {
        return None;
    }
    current_conditions(obj)
        .iter()
        .find(|c| {
            let reason = c["reason"].as_str().unwrap_or_default();
            (c["type"] == "Ready" && c["status"] == "False" && !reason.is_empty())
                || (kind == "KafkaConnector"
                    && c["type"] == "NotReady"
                    && c["status"] == "True"
                    && reason == "ConnectRestException")
        })
        .map(reason_and_message)
}

/// Strimzi's warnings on a resource (`type: Warning`, status `True`: e.g. a storage change it
/// ignores; Strimzi docs, "Custom resource status information"), as `reason: message`.
pub fn strimzi_warnings(kind: &str, obj: &serde_json::Value) -> Vec<String> {
    if !is_strimzi(kind) {
        return Vec::new();
    }
    current_conditions(obj)
        .iter()
        .filter(|c| c["type"] == "Warning" && c["status"] == "True")
        .map(reason_and_message)
        .collect()
}

/// Has this Job failed for good (a `Failed` condition)?
pub fn job_failed(obj: &serde_json::Value) -> Option<String> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Failed" && c["status"] == "True")
        // Both, as `kubectl describe job` shows them: the reason is the stable word
        // (BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy), the message the detail.
        .map(|c| match (c["reason"].as_str(), c["message"].as_str()) {
            (Some(r), Some(m)) => format!("{r}: {m}"),
            (Some(t), None) | (None, Some(t)) => t.to_owned(),
            (None, None) => "failed".to_owned(),
        })
}

/// Live attributes in the shape of the recorded ones (with the recorded `cluster`).
pub fn live_in_shape(recorded: &Value, live: &serde_json::Value) -> Result<Value, K8sError> {
    let live: Value = serde_json::from_value(live.clone())
        .map_err(|e| K8sError::Shape(format!("reading the live object: {e}")))?;
    let mut shape = recorded.as_map().cloned().unwrap_or_default();
    let cluster = shape.remove("cluster");
    let mut out = match project(&Value::Map(shape), &live) {
        Value::Map(m) => m,
        _ => Default::default(),
    };
    if let Some(c) = cluster {
        out.insert("cluster".into(), c);
    }
    Ok(Value::Map(out))
}

#[async_trait]
impl Driver for ManifestDriver {
    fn force_new(&self) -> &[&'static str] {
        self.force_new
    }

    fn interim(&self, live: &Value, desired: &Value) -> Option<(Value, String)> {
        self.interim.and_then(|f| f(live, desired))
    }

    /// Storage changes Strimzi would ignore (with only a Warning condition) are said in the
    /// plan, before anyone applies them (strimzi_storage.rs); a Kafka's version change shows
    /// its steps or is refused (kafka_upgrade.rs).
    fn check_update(
        &self,
        live: &Value,
        desired: &Value,
        _changes: &[FieldChange],
    ) -> Result<Option<String>, String> {
        let kind = desired
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let refused = strimzi_storage::refused_changes(kind, live, desired);
        let mut notes = Vec::new();
        if kind == "Kafka"
            && let Some(steps) = super::kafka_upgrade::check(live, desired)?
        {
            notes.push(steps);
        }
        if !refused.is_empty() {
            notes.push(format!("Warning: {}", refused.join("; ")));
        }
        Ok((!notes.is_empty()).then(|| notes.join("; ")))
    }

    /// A Kafka is never replaced to move it between ZooKeeper and KRaft (kafka_upgrade.rs).
    fn check_replace(&self, live: &Value, desired: &Value) -> Result<(), String> {
        match desired.get("kind").and_then(Value::as_str) {
            Some("Kafka") => super::kafka_upgrade::check_replace(live, desired),
            _ => Ok(()),
        }
    }

    async fn read(
        &self,
        _id: &ResourceId,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let t = Target::of_manifest(&recorded.attrs)?;
        match self.get(&t).await? {
            None => Ok(None),
            Some(live) => Ok(Some(live_in_shape(&recorded.attrs, &live)?)),
        }
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
        let t = Target::of_manifest(&recorded.attrs)?;
        // Before anything can delete the claims: Strimzi when the Kafka goes (`deleteClaim:
        // true`), the namespace controller after it.
        if self.opts.keep_volumes
            && t.kind == "Kafka"
            && let Some(ns) = &t.namespace
        {
            cx.status(&format!(
                "keeping {}'s volumes (reclaim policy Retain)",
                t.describe()
            ));
            super::volumes::retain_kafka_volumes(&self.clients, &t.access, ns, &t.name).await?;
        }
        self.remove_finalized_by(cx, &t).await?;
        cx.status(&format!("deleting {}", t.describe()));
        Ok(self.remove(cx, &t).await?)
    }

    async fn ready(&self, cx: &StepCx, outputs: &Value) -> Result<Readiness, DriverError> {
        let t = Target::of_outputs(outputs)?;
        // A KafkaUser is waited for: its clients read the Secret the User Operator writes
        // before it reports Ready (Strimzi 1.2.0 KafkaUserOperator: the Secret, then status).
        if !matches!(
            t.kind.as_str(),
            "Kafka"
                | "KafkaNodePool"
                | "KafkaConnect"
                | "KafkaConnector"
                | "KafkaUser"
                | "Deployment"
                | "Job"
        ) {
            return Ok(Readiness::Ready);
        }
        // A node pool is reconciled with its Kafka, which is made after its pools: a pool
        // with no Kafka yet is done. Once the Kafka exists, a pool change is waited for, as
        // Strimzi's refusal of a storage change is a Warning in the pool's status only
        // (Strimzi 1.2.0 KafkaPool.fromCrd: `warningConditions`, KafkaNodePoolStatus).
        if t.kind == "KafkaNodePool" && !self.pool_has_kafka(&t).await? {
            return Ok(Readiness::Ready);
        }
        let Some(obj) = self.get(&t).await? else {
            return Ok(Readiness::Pending(format!(
                "{} not found yet",
                t.describe()
            )));
        };
        if t.kind == "Job"
            && let Some(why) = job_failed(&obj)
        {
            let log = self.job_failure_log(&t).await;
            // The failed Job is not recorded in state: remove it (and its pods), so nothing is
            // left behind and the next apply runs it again.
            let cleanup = match self.remove(cx, &t).await {
                Ok(()) => String::new(),
                Err(e) => format!("\n(removing the failed job failed too: {e})"),
            };
            return Err(K8sError::JobFailed {
                what: t.describe(),
                detail: format!("{why}\n{log}{cleanup}"),
            }
            .into());
        }
        if let Some(why) = strimzi_failed(&t.kind, &obj) {
            return Err(K8sError::NotReady {
                what: t.describe(),
                detail: why,
            }
            .into());
        }
        Ok(match pending(&t.kind, &obj) {
            None => {
                for w in strimzi_warnings(&t.kind, &obj) {
                    cx.warn(&format!("{}: {w}", t.describe()));
                }
                Readiness::Ready
            }
            Some(what) => Readiness::Pending(what),
        })
    }

    fn ready_timeout(&self) -> Duration {
        Duration::from_secs(20 * 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn readiness_from_status() {
        let k = json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 2,
            "conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(pending("KafkaConnector", &k), None);
        let stale = json!({"metadata": {"generation": 3}, "status": {"observedGeneration": 2,
            "conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(pending("KafkaConnector", &stale).is_some());
        let not = json!({"status": {"conditions": [{"type": "Ready", "status": "False", "message": "boom"}]}});
        assert_eq!(
            pending("Kafka", &not).as_deref(),
            Some("Kafka not Ready: boom")
        );
        let d = json!({"spec": {"replicas": 2}, "status": {"availableReplicas": 1}});
        assert!(pending("Deployment", &d).is_some());
        // Mid-rollout: enough available, but old replicas remain / not all updated.
        let mid = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": {
            "observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 3}});
        assert_eq!(
            pending("Deployment", &mid).as_deref(),
            Some("Deployment: 1 old replicas pending termination")
        );
        let unseen = json!({"metadata": {"generation": 2}, "spec": {"replicas": 1}, "status": {}});
        assert!(pending("Deployment", &unseen).is_some());
        let done = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": {
            "observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}});
        assert_eq!(pending("Deployment", &done), None);
        assert_eq!(pending("Job", &json!({"status": {"succeeded": 1}})), None);
        let failed = json!({"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}});
        assert_eq!(job_failed(&failed).as_deref(), Some("BackoffLimitExceeded"));
        // The real Job controller's condition (seen on kube-controller-manager 1.36).
        let real = json!({"status": {"conditions": [{"type": "Failed", "status": "True",
            "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}});
        assert_eq!(
            job_failed(&real).as_deref(),
            Some("BackoffLimitExceeded: Job has reached the specified backoff limit")
        );
        assert_eq!(pending("Namespace", &json!({})), None);
    }

    #[test]
    fn a_kafka_is_ready_only_once_it_runs_the_configured_versions() {
        let kafka = |version: &str, metadata: Option<&str>| {
            let mut status = json!({"observedGeneration": 2,
                "conditions": [{"type": "Ready", "status": "True"}], "kafkaVersion": version});
            if let Some(m) = metadata {
                status["kafkaMetadataVersion"] = m.into();
            }
            json!({"metadata": {"generation": 2},
                "spec": {"kafka": {"version": "4.3.1", "metadataVersion": "4.2-IV1"}},
                "status": status})
        };
        let rolling = pending("Kafka", &kafka("4.2.1", Some("4.2-IV1")));
        assert_eq!(
            rolling.as_deref(),
            Some("Kafka: brokers rolling to Kafka 4.3.1 (status.kafkaVersion: 4.2.1)")
        );
        assert!(
            pending("Kafka", &kafka("4.3.1", None))
                .unwrap()
                .contains("metadata version 4.2-IV1")
        );
        assert_eq!(pending("Kafka", &kafka("4.3.1", Some("4.2-IV1"))), None);
    }

    #[test]
    fn ready_false_with_a_reason_fails_and_warnings_are_read() {
        let refused = json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 2,
            "conditions": [{"type": "Ready", "status": "False", "reason": "InvalidResource",
                "message": "spec.class is not a connector"}]}});
        assert_eq!(
            strimzi_failed("KafkaConnector", &refused).as_deref(),
            Some("InvalidResource: spec.class is not a connector")
        );
        // An old generation's verdict says nothing about this change.
        let stale = json!({"metadata": {"generation": 3}, "status": {"observedGeneration": 2,
            "conditions": [{"type": "Ready", "status": "False", "reason": "InvalidResource"}]}});
        assert_eq!(strimzi_failed("KafkaConnector", &stale), None);
        // Without a reason it is on its way.
        let no_reason = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        assert_eq!(strimzi_failed("Kafka", &no_reason), None);
        assert_eq!(strimzi_failed("Deployment", &refused), None);
        let connect_said_no = json!({"status": {"conditions": [{"type": "NotReady", "status": "True",
            "reason": "ConnectRestException", "message": "PUT /connectors/x/config returned 500"}]}});
        assert!(strimzi_failed("KafkaConnector", &connect_said_no).is_some());
        let creating = json!({"status": {"conditions": [{"type": "NotReady", "status": "True",
            "reason": "Creating", "message": "Kafka cluster is being deployed"}]}});
        assert_eq!(strimzi_failed("Kafka", &creating), None);
        let warned = json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "True"},
                {"type": "Warning", "status": "True", "reason": "KafkaStorage",
                 "message": "storage changes ignored"}]}});
        assert_eq!(
            strimzi_warnings("Kafka", &warned),
            vec!["KafkaStorage: storage changes ignored".to_owned()]
        );
        assert_eq!(pending("Kafka", &warned), None);
    }

    #[test]
    fn cluster_is_never_sent() {
        let v = Value::map([
            ("cluster", Value::map([("context", Value::str("c"))])),
            ("kind", Value::str("Namespace")),
        ]);
        assert_eq!(body(&v).unwrap(), json!({"kind": "Namespace"}));
    }
}
