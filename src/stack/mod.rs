//! The platform stack: what alpaka deploys on top of the cluster (Kafka, Connect, connectors,
//! ksqlDB, UIs, monitoring), turned from config into engine data.
//!
//! Architecture invariant: modules here are pure. They compute desired resources and values
//! from plain inputs; they never talk to a cluster, read files or print.

pub mod alerting;
pub mod catalog;
pub mod charts;
pub mod cluster;
pub mod connect_iam;
pub mod connectors;
pub mod dashboards;
pub mod eks_nodes;
pub mod hardening;
pub mod images;
pub mod ingress;
pub mod k8s;
pub mod kafka_clients;
pub mod kafka_ui;
pub mod kafka_users;
pub mod kafka_versions;
pub mod mirror;
pub mod netpol;
pub mod notes;
pub mod platform;
pub mod strimzi;
pub mod template;
pub mod testkit;

use thiserror::Error;

use crate::engine::{Node, Value};
use crate::model::profile::Profile;
use crate::model::stack::{Labels, StackConfig};

#[derive(Debug, Error)]
pub enum StackError {
    #[error("connector configuration:\n{}", .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Connectors(Vec<connectors::RenderError>),
    #[error("{0}")]
    Unsupported(String),
}

/// Profile + config → every desired resource, cluster first, platform on top.
pub fn build(
    profile_name: &str,
    profile: &Profile,
    config: &StackConfig,
) -> Result<Vec<Node>, StackError> {
    build_with(profile_name, profile, config, &[])
}

/// [`build`], given the IAM principals that apply this profile (EKS: each gets a cluster-admin
/// access entry unless `eks.admins` lists it; `ops` resolves them, the stack stays pure).
pub fn build_with(
    profile_name: &str,
    profile: &Profile,
    config: &StackConfig,
    appliers: &[String],
) -> Result<Vec<Node>, StackError> {
    let cluster = cluster::build(profile_name, &profile.cluster(), appliers)?;
    // The node whose `context`/`kubeconfig` outputs every in-cluster node uses.
    let access = cluster
        .nodes
        .iter()
        .find(|n| {
            matches!(
                n.kind.as_str(),
                "minikube.cluster" | "k3d.cluster" | "k8s.existing-cluster" | "eks.cluster"
            )
        })
        .map(|n| n.id.to_string())
        .ok_or_else(|| StackError::Unsupported("the profile makes no cluster".into()))?;
    let mut nodes = cluster.nodes;
    // EKS: the IRSA roles of Connect types with an AWS identity (elsewhere `validate` refuses
    // `awsIdentity`).
    if let crate::model::profile::Cluster::Eks(e) = profile.cluster() {
        nodes.extend(connect_iam::nodes(
            profile_name,
            &e,
            profile.namespace.as_str(),
            config,
        ));
    }
    nodes.extend(platform::build(
        profile,
        config,
        &cluster.ready,
        &cluster.ingress_ready,
        &access,
    )?);
    // Issue 25: one pass over everything built, so the plan, apply and `alpaka images` agree.
    if let Some(m) = &profile.mirror {
        mirror::apply(m, &mut nodes);
    }
    Ok(nodes)
}

pub(crate) fn strs<S: AsRef<str>>(items: &[S]) -> Value {
    Value::List(items.iter().map(|s| Value::str(s.as_ref())).collect())
}

pub(crate) fn labels_value(l: &Labels) -> Value {
    Value::Map(l.iter().map(|(k, v)| (k.clone(), Value::str(v))).collect())
}

pub(crate) fn release_desired(pin: &catalog::ChartPin, namespace: &str, values: Value) -> Value {
    Value::map([
        ("release", Value::str(pin.release)),
        ("chart", Value::str(pin.chart)),
        (
            "repo",
            if pin.repo.is_empty() {
                Value::Null
            } else {
                Value::str(pin.repo)
            },
        ),
        ("version", Value::str(pin.version)),
        ("namespace", Value::str(namespace)),
        ("values", values),
    ])
}
