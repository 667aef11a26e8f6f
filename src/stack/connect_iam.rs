//! IRSA for Connect types (`awsIdentity`, EKS only): one IAM role per Connect type, trusted by
//! the cluster's OIDC provider for exactly the workers' ServiceAccount, with the listed managed
//! policies and, from `policyFile`, one customer managed policy of its own. The KafkaConnect
//! carries the role's ARN on that ServiceAccount (`template.serviceAccount`).

use crate::engine::{Node, Value};
use crate::model::profile::Eks;
use crate::model::stack::{Connect, StackConfig};

use super::{cluster, strimzi};

/// The id of Connect type `t`'s role on cluster `c`.
pub fn role_id(c: &str, t: &str) -> String {
    format!("iam.role.{c}.{}", role_suffix(t))
}

/// The id of the policy made from Connect type `t`'s `policyFile`.
pub fn policy_id(c: &str, t: &str) -> String {
    format!("iam.policy.{c}.{}", role_suffix(t))
}

/// The IAM name of Connect type `t`'s role (and of its own policy): `alpaka-<c>-connect-<t>`.
pub fn role_name(c: &str, t: &str) -> String {
    format!("alpaka-{c}-{}", role_suffix(t))
}

fn role_suffix(t: &str) -> String {
    format!("connect-{t}")
}

/// The Connect types with an AWS identity, when Kafka and Connect are deployed at all.
pub fn with_identity(cfg: &StackConfig) -> impl Iterator<Item = &Connect> {
    let on = cfg.kafka.enabled && cfg.kafka_connect.enabled;
    cfg.kafka_connect
        .connects
        .iter()
        .filter(move |c| on && c.aws_identity.is_some())
}

/// The roles (and policies) of every Connect type with an AWS identity, on EKS cluster `e` in
/// namespace `ns`.
pub fn nodes(profile: &str, e: &Eks, ns: &str, cfg: &StackConfig) -> Vec<Node> {
    let c = e.cluster_name.as_str();
    let tags = cluster::tags(profile, e);
    let mut nodes = Vec::new();
    for connect in with_identity(cfg) {
        let Some(id) = &connect.aws_identity else {
            continue;
        };
        let t = connect.kind.as_str();
        let mut policies: Vec<Value> = id.policy_arns.iter().map(Value::str).collect();
        let mut own_policy = None;
        if let (Some(file), Some(doc)) = (&id.policy_file, &id.policy_document) {
            let pid = policy_id(c, t);
            let file = file.strip_prefix("policies/").unwrap_or(file);
            nodes.push(Node::new(
                &pid,
                "iam.policy",
                Value::map([
                    ("name", Value::str(role_name(c, t))),
                    ("document_file", Value::str(format!("policies/{file}"))),
                    // The document itself, so an edit of the file plans as a change.
                    ("document", Value::str(doc)),
                    ("tags", tags.clone()),
                ]),
            ));
            policies.push(Value::unknown(&pid, "arn"));
            own_policy = Some(pid);
        }
        let role = cluster::irsa_role(
            c,
            &role_suffix(t),
            ns,
            &strimzi::connect_service_account(t),
            Value::List(policies),
            &tags,
        );
        nodes.push(match own_policy {
            Some(p) => role.after(p),
            None => role,
        });
    }
    cluster::tag_ids(&mut nodes);
    nodes
}
