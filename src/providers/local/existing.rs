//! `k8s.existing-cluster`: a cluster alpaka did not make (k3s or any other), reached through an
//! explicit kubeconfig and context.
//!
//! alpaka never creates or deletes such a cluster. Create verifies it is reachable and records
//! its identity (API server version, distribution, the `kube-system` namespace UID) and the
//! context it used, so later runs use exactly that context, never "whatever is current". A later
//! read that reaches a cluster with a different `kube-system` UID fails: the context now points
//! at another cluster, and planning against it is refused. Delete only forgets it.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::api::ListParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

use super::cli::expand_home;
use crate::engine::diff::FieldChange;
use crate::engine::{Driver, DriverError, ResourceId, StepCx, Value};
use crate::state::ResourceState;

/// How long connecting and each request may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Who a context reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub context: String,
    pub kubeconfig: String,
    pub server_version: String,
    pub distribution: String,
    pub kube_system_uid: String,
}

impl Identity {
    fn outputs(&self) -> Value {
        Value::map([
            ("context", Value::str(&self.context)),
            ("kubeconfig", Value::str(&self.kubeconfig)),
            ("server_version", Value::str(&self.server_version)),
            ("distribution", Value::str(&self.distribution)),
            ("kube_system_uid", Value::str(&self.kube_system_uid)),
        ])
    }
}

/// The distribution from the version string (`v1.34.1+k3s1`) or node labels.
pub fn guess_distribution(git_version: &str, node_labels: &[Vec<(String, String)>]) -> String {
    let v = git_version.to_ascii_lowercase();
    let label = |pred: &dyn Fn(&str, &str) -> bool| {
        node_labels
            .iter()
            .flatten()
            .any(|(k, val)| pred(k.as_str(), val.as_str()))
    };
    if v.contains("+k3s") {
        "k3s"
    } else if v.contains("+rke2") {
        "rke2"
    } else if v.contains("-eks-") {
        "eks"
    } else if v.contains("-gke.") {
        "gke"
    } else if label(&|k, _| k.starts_with("minikube.k8s.io/")) {
        "minikube"
    } else if label(&|k, v| k == "node.kubernetes.io/instance-type" && v == "k3s") {
        "k3s"
    } else if label(&|k, _| k.starts_with("eks.amazonaws.com/")) {
        "eks"
    } else {
        "kubernetes"
    }
    .to_owned()
}

/// Connect through `kubeconfig` + `context` (unset: the kubeconfig's current context, resolved
/// here once and recorded) and say who answers.
pub async fn identify(kubeconfig: &str, context: Option<&str>) -> Result<Identity, DriverError> {
    let path = expand_home(kubeconfig);
    let kc = Kubeconfig::read_from(Path::new(&path)).map_err(|e| {
        DriverError::new(format!("cannot read kubeconfig {path}: {e}")).with_code("Kubeconfig")
    })?;
    let context = match context {
        Some(c) => c.to_owned(),
        None => kc.current_context.clone().ok_or_else(|| {
            DriverError::new(format!(
                "kubeconfig {path} has no current context: set `k3s.context` in the profile"
            ))
            .with_code("Kubeconfig")
        })?,
    };
    if !kc.contexts.iter().any(|c| c.name == context) {
        let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(DriverError::new(format!(
            "kubeconfig {path} has no context `{context}` (it has: {})",
            known.join(", ")
        ))
        .with_code("Kubeconfig"));
    }
    let opts = KubeConfigOptions {
        context: Some(context.clone()),
        ..Default::default()
    };
    let mut config = Config::from_custom_kubeconfig(kc, &opts)
        .await
        .map_err(|e| {
            DriverError::new(format!("context `{context}` in {path}: {e}")).with_code("Kubeconfig")
        })?;
    config.connect_timeout = Some(TIMEOUT);
    config.read_timeout = Some(TIMEOUT);
    let unreachable = |e: &dyn std::fmt::Display| {
        DriverError::new(format!(
            "cannot reach the cluster of context `{context}` ({path}): {e}"
        ))
        .with_code("Unreachable")
    };
    let client = Client::try_from(config).map_err(|e| unreachable(&e))?;
    let info = tokio::time::timeout(TIMEOUT, client.apiserver_version())
        .await
        .map_err(|_| unreachable(&"timed out"))?
        .map_err(|e| unreachable(&e))?;
    let ns: Api<Namespace> = Api::all(client.clone());
    let kube_system = ns
        .get("kube-system")
        .await
        .map_err(|e| unreachable(&format!("reading namespace kube-system: {e}")))?;
    let uid = kube_system.metadata.uid.unwrap_or_default();
    // Node labels only refine the guess; lacking permission to list nodes is fine.
    let labels: Vec<Vec<(String, String)>> = match Api::<Node>::all(client)
        .list(&ListParams::default().limit(50))
        .await
    {
        Ok(l) => l
            .items
            .into_iter()
            .map(|n| n.metadata.labels.unwrap_or_default().into_iter().collect())
            .collect(),
        Err(_) => Vec::new(),
    };
    Ok(Identity {
        distribution: guess_distribution(&info.git_version, &labels),
        server_version: info.git_version,
        kube_system_uid: uid,
        context,
        kubeconfig: path,
    })
}

#[derive(Default)]
pub struct ExistingClusterDriver;

fn desired_parts(v: &Value) -> (String, Option<String>) {
    (
        v.get("kubeconfig")
            .and_then(Value::as_str)
            .unwrap_or("~/.kube/config")
            .to_owned(),
        v.get("context").and_then(Value::as_str).map(str::to_owned),
    )
}

#[async_trait]
impl Driver for ExistingClusterDriver {
    /// Reachable through the recorded context, and still the same cluster.
    async fn read(
        &self,
        _id: &ResourceId,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let (kubeconfig, wanted) = desired_parts(&recorded.attrs);
        // The context resolved at create time, not whatever is current now.
        let context = recorded
            .outputs
            .get("context")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or(wanted);
        let now = identify(&kubeconfig, context.as_deref()).await?;
        let before = recorded
            .outputs
            .get("kube_system_uid")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !before.is_empty() && before != now.kube_system_uid {
            return Err(DriverError::new(format!(
                "context `{}` ({}) now reaches a different cluster: kube-system UID {} where alpaka recorded {before}. \
                 Refusing to plan against the wrong cluster: fix the kubeconfig, or `alpaka state` to inspect what alpaka recorded",
                now.context, now.kubeconfig, now.kube_system_uid
            ))
            .with_code("ContextMismatch"));
        }
        Ok(Some(recorded.attrs.clone()))
    }

    /// Never creates a cluster: verifies it is reachable and records who it is.
    async fn create(&self, cx: &StepCx, desired: &Value) -> Result<Value, DriverError> {
        let (kubeconfig, context) = desired_parts(desired);
        cx.status("connecting");
        Ok(identify(&kubeconfig, context.as_deref()).await?.outputs())
    }

    /// A new kubeconfig or context: verify and record again.
    async fn update(
        &self,
        cx: &StepCx,
        _recorded: &ResourceState,
        desired: &Value,
        _changes: &[FieldChange],
    ) -> Result<Value, DriverError> {
        self.create(cx, desired).await
    }

    /// Never deletes the cluster: alpaka only forgets it.
    async fn delete(&self, _cx: &StepCx, _recorded: &ResourceState) -> Result<(), DriverError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::guess_distribution;

    #[test]
    fn distribution_from_version_or_labels() {
        assert_eq!(guess_distribution("v1.34.1+k3s1", &[]), "k3s");
        assert_eq!(guess_distribution("v1.34.2-eks-113cf36", &[]), "eks");
        let mk = vec![vec![("minikube.k8s.io/name".to_owned(), "x".to_owned())]];
        assert_eq!(guess_distribution("v1.34.0", &mk), "minikube");
        assert_eq!(guess_distribution("v1.34.0", &[]), "kubernetes");
    }
}
