//! Which cluster: the explicit kubeconfig + context a node carries, and a client per pair.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use thiserror::Error;
use tokio::sync::Mutex;

use crate::engine::{DriverError, Value};
use crate::providers::local::cli::expand_home;

const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Error)]
pub enum K8sError {
    #[error("kubeconfig {path}, context `{context}`: {message}")]
    Kubeconfig {
        path: String,
        context: String,
        message: String,
    },
    #[error("{op} {what} (context `{context}`): {source}")]
    Api {
        op: &'static str,
        what: String,
        context: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("{0}")]
    Shape(String),
    #[error("job {what} failed: {detail}")]
    JobFailed { what: String, detail: String },
    /// The operator that serves it said it is not ready, with a reason: waiting will not help.
    #[error("{what} is not Ready: {detail}")]
    NotReady { what: String, detail: String },
}

impl K8sError {
    /// Maps a kube-rs error of `op` on `what`, through `access`'s context, to [`K8sError::Api`].
    pub fn api(
        access: &Access,
        op: &'static str,
        what: String,
    ) -> impl FnOnce(kube::Error) -> K8sError {
        let context = access.context.clone();
        move |e| K8sError::Api {
            op,
            what,
            context,
            source: Box::new(e),
        }
    }
}

impl From<K8sError> for DriverError {
    fn from(e: K8sError) -> DriverError {
        let code = match &e {
            K8sError::Kubeconfig { .. } => "Kubeconfig".to_owned(),
            K8sError::Api { source, .. } => match source.as_ref() {
                kube::Error::Api(s) if !s.reason.is_empty() => s.reason.clone(),
                kube::Error::Api(s) => format!("HTTP {}", s.code),
                _ => "Unreachable".to_owned(),
            },
            K8sError::Shape(_) => "Invalid".to_owned(),
            K8sError::JobFailed { .. } => "JobFailed".to_owned(),
            K8sError::NotReady { .. } => "NotReady".to_owned(),
        };
        DriverError::new(e.to_string()).with_code(code)
    }
}

/// The cluster a node talks to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Access {
    pub context: String,
    pub kubeconfig: String,
}

impl Access {
    /// From `cluster: {context, kubeconfig}` in desired or recorded attributes.
    pub fn of_attrs(v: &Value) -> Result<Access, K8sError> {
        Self::from_map(v.get("cluster").unwrap_or(&Value::Null))
    }

    /// From `context` and `kubeconfig` at the top of a value (a driver's outputs).
    pub fn from_map(v: &Value) -> Result<Access, K8sError> {
        let s = |k: &str| {
            v.get(k).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
                K8sError::Shape(format!(
                    "no cluster `{k}`: in-cluster resources carry the cluster's explicit context and kubeconfig"
                ))
            })
        };
        Ok(Access {
            context: s("context")?,
            kubeconfig: s("kubeconfig")?,
        })
    }

    pub fn value(&self) -> Value {
        Value::map([
            ("context", Value::str(&self.context)),
            ("kubeconfig", Value::str(&self.kubeconfig)),
        ])
    }
}

/// One client per (kubeconfig, context), made on first use.
#[derive(Default)]
pub struct Clients(Mutex<HashMap<Access, Client>>);

impl Clients {
    pub async fn get(&self, a: &Access) -> Result<Client, K8sError> {
        let mut m = self.0.lock().await;
        if let Some(c) = m.get(a) {
            return Ok(c.clone());
        }
        let c = connect(a, true).await?;
        m.insert(a.clone(), c.clone());
        Ok(c)
    }
}

/// A client for `a`. `retry`: kube's default retries of 429/503/504 with backoff — right for API
/// calls, wrong for probes through the service proxy, where a 503 is the backend's answer and
/// would be retried for minutes.
pub async fn connect(a: &Access, retry: bool) -> Result<Client, K8sError> {
    // kube's rustls needs a process-wide crypto provider; the binary installs it first thing,
    // a library caller (the tests' engine runs) may not have. Installing twice is a no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let path = expand_home(&a.kubeconfig);
    let err = |message: String| K8sError::Kubeconfig {
        path: path.clone(),
        context: a.context.clone(),
        message,
    };
    let kc = Kubeconfig::read_from(Path::new(&path)).map_err(|e| err(e.to_string()))?;
    if !kc.contexts.iter().any(|c| c.name == a.context) {
        return Err(err("no such context in the kubeconfig".into()));
    }
    let opts = KubeConfigOptions {
        context: Some(a.context.clone()),
        ..Default::default()
    };
    let mut config = Config::from_custom_kubeconfig(kc, &opts)
        .await
        .map_err(|e| err(e.to_string()))?;
    config.connect_timeout = Some(TIMEOUT);
    config.read_timeout = Some(TIMEOUT);
    config.default_retry = retry;
    Client::try_from(config).map_err(|e| err(e.to_string()))
}
