//! A Connect type's workers: their environment (`envs`) and their AWS identity
//! (`awsIdentity`). The loader reads each `policyFile` from `policies/` here (the stack is pure),
//! and every finding points at the line that set the value.

use std::path::Path;

use super::semantic::{at, diag_at};
use super::yaml::Node;
use crate::diag::Diagnostic;
use crate::model::{Distribution, Profile, StackConfig};

/// Where `awsIdentity.policyFile` names are looked up, under the workspace root.
pub const POLICIES_DIR: &str = "policies";

/// IAM's limit on a managed policy document: 6,144 characters, white space not counted
/// (IAM User Guide, "IAM and AWS STS quotas": "Managed policy size").
const MANAGED_POLICY_MAX_CHARS: usize = 6144;

/// IAM role names are at most 64 characters (IAM API Reference, CreateRole `RoleName`).
const IAM_ROLE_NAME_MAX: usize = 64;

/// Names that say a value is a secret: such a value belongs in a Secret, not in the resource.
const SECRET_WORDS: &[&str] = &["PASSWORD", "SECRET", "TOKEN", "KEY"];

/// Strimzi's own variables on the Connect container: "Environment variables prefixed with
/// `KAFKA_` are internal to Strimzi and should be avoided"; one it already sets is ignored with
/// only a line in the operator's log (strimzi-kafka-operator, documentation/api/
/// io.strimzi.api.kafka.model.common.template.ContainerTemplate.adoc, commit 8541da1e).
const STRIMZI_PREFIX: &str = "KAFKA_";

/// Variables that would take the workers' AWS identity away from `awsIdentity` (IRSA): the AWS
/// SDKs' default credential chain reads static keys from the environment before the web
/// identity token (AWS SDKs and Tools Reference Guide, "Standardized credential providers":
/// environment variables come before the web identity provider), and the EKS pod identity
/// webhook's `AWS_ROLE_ARN`/`AWS_WEB_IDENTITY_TOKEN_FILE` are what IRSA sets.
const IRSA_OVERRIDES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
];

fn warn(n: &Node, path: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic::warning(
        n.origin.file.to_path_buf(),
        n.origin.line,
        n.origin.column,
        path,
        message,
    )
}

/// The merged tree's entry of Connect type `t`.
fn connect_node<'a>(tree: &'a Node, t: &str) -> Option<&'a Node> {
    at(tree, &["kafka_connect", "connects"])?
        .as_seq()
        .iter()
        .find(|c| c.get("type").and_then(Node::as_str) == Some(t))
}

/// Whether an environment variable's name says its value is a secret.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| upper.contains(w))
}

/// Checks of every Connect type's `envs` and `awsIdentity`; reads each `policyFile` under
/// `root/policies/` into the typed config.
pub fn checks(
    root: &Path,
    profile: &Profile,
    config: &mut StackConfig,
    tree: &Node,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for c in &mut config.kafka_connect.connects {
        let t = c.kind.as_str().to_owned();
        let cnode = connect_node(tree, &t).unwrap_or(tree);
        let cpath = format!("kafka_connect.connects[{t}]");
        let env_nodes = cnode.get("envs").map(Node::as_seq).unwrap_or_default();
        for e in &c.envs {
            let n = env_nodes
                .iter()
                .find(|n| n.get("name").and_then(Node::as_str) == Some(e.name.as_str()))
                .unwrap_or(cnode);
            let path = format!("{cpath}.envs[{}]", e.name);
            let set = [
                e.value.is_some(),
                e.secret_key_ref.is_some(),
                e.config_map_key_ref.is_some(),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if set != 1 {
                out.push(
                    diag_at(
                        n,
                        &path,
                        format!(
                            "environment variable `{}` needs exactly one of value, secretKeyRef, configMapKeyRef ({set} given)",
                            e.name
                        ),
                    )
                    .with_expected("{name, value} or {name, secretKeyRef: {name, key}} or {name, configMapKeyRef: {name, key}}"),
                );
            }
            if e.name.is_empty() || e.name.contains('=') {
                out.push(
                    diag_at(
                        n,
                        &path,
                        format!("`{}` is not an environment variable name", e.name),
                    )
                    .with_expected("a name without `=`, such as AWS_REGION"),
                );
            }
            if e.name.starts_with(STRIMZI_PREFIX) {
                out.push(
                    diag_at(
                        n,
                        &path,
                        format!(
                            "`{}`: variables starting with `{STRIMZI_PREFIX}` belong to Strimzi on the Connect container; one it sets is ignored, with only a line in the operator's log",
                            e.name
                        ),
                    )
                    .with_hint("pick another name: Strimzi sets the workers' Kafka settings itself"),
                );
            }
            if c.aws_identity.is_some() && IRSA_OVERRIDES.contains(&e.name.as_str()) {
                out.push(
                    diag_at(
                        n,
                        &path,
                        format!(
                            "`{}` would replace the workers' `awsIdentity` (the IAM role given through the service account): the AWS SDK reads it before the web identity token",
                            e.name
                        ),
                    )
                    .with_hint("remove it: with `awsIdentity` the workers need no keys; or remove `awsIdentity` to use keys from a Secret"),
                );
            }
            if e.name == "TZ" && c.timezone.is_some() {
                out.push(
                    diag_at(n, &path, "`TZ` is set from the connect's `timezone`")
                        .with_hint("remove one of the two"),
                );
            }
            if e.value.is_some() && looks_secret(&e.name) {
                // The value itself is never printed: it may be the secret.
                out.push(
                    warn(
                        n.get("value").unwrap_or(n),
                        &format!("{path}.value"),
                        format!(
                            "`{}` looks like a secret but is a plain value: it is written into the KafkaConnect resource and shown in the plan",
                            e.name
                        ),
                    )
                    .with_hint(format!(
                        "put it in a Secret and use `secretKeyRef: {{name: <secret>, key: <key>}}` instead of `value`{}",
                        if e.name.starts_with("AWS_") {
                            "; on EKS, `awsIdentity` gives the workers an IAM role and no keys at all"
                        } else {
                            ""
                        }
                    )),
                );
            }
        }

        let Some(id) = c.aws_identity.as_mut() else {
            continue;
        };
        let inode = cnode.get("awsIdentity").unwrap_or(cnode);
        let ipath = format!("{cpath}.awsIdentity");
        if profile.distribution != Distribution::Eks {
            out.push(
                diag_at(
                    inode,
                    &ipath,
                    format!(
                        "Connect `{t}` asks for an AWS identity, which alpaka makes only on EKS (an IAM role for its ServiceAccount); this profile's distribution is {}",
                        profile.distribution
                    ),
                )
                .with_hint(
                    "remove `awsIdentity` here (set it in an EKS profile's `overrides`), and give the workers credentials another way, e.g. `envs` with `secretKeyRef`",
                ),
            );
            continue;
        }
        let cluster = profile
            .eks
            .as_ref()
            .map(|e| e.cluster_name.as_str())
            .unwrap_or("alpaka");
        let role = crate::stack::connect_iam::role_name(cluster, &t);
        if role.len() > IAM_ROLE_NAME_MAX {
            out.push(
                diag_at(
                    inode,
                    &ipath,
                    format!(
                        "the IAM role for Connect `{t}` would be named `{role}`: {} characters, IAM allows {IAM_ROLE_NAME_MAX}",
                        role.len()
                    ),
                )
                .with_hint("shorten the Connect type or eks.clusterName"),
            );
        }
        if id.policy_arns.is_empty() && id.policy_file.is_none() {
            out.push(
                diag_at(
                    inode,
                    &ipath,
                    format!("Connect `{t}`'s AWS identity grants nothing"),
                )
                .with_expected("policyArns, policyFile, or both"),
            );
        }
        let arn_nodes = inode
            .get("policyArns")
            .map(Node::as_seq)
            .unwrap_or_default();
        for (i, arn) in id.policy_arns.iter().enumerate() {
            if !is_policy_arn(arn) {
                out.push(
                    diag_at(
                        arn_nodes.get(i).unwrap_or(inode),
                        &format!("{ipath}.policyArns[{i}]"),
                        format!("`{arn}` is not an IAM policy ARN"),
                    )
                    .with_expected(
                        "arn:aws:iam::aws:policy/<name> or arn:aws:iam::<account>:policy/<name>",
                    ),
                );
            }
        }
        if let Some(file) = id.policy_file.clone() {
            let fnode = inode.get("policyFile").unwrap_or(inode);
            match read_policy(root, &file) {
                Ok(doc) => id.policy_document = Some(doc),
                Err(why) => out.push(
                    diag_at(fnode, &format!("{ipath}.policyFile"), why).with_hint(format!(
                        "put an IAM policy document (JSON) in {POLICIES_DIR}/ and give its file name"
                    )),
                ),
            }
        }
    }
    out
}

/// `arn:<partition>:iam::<aws | 12-digit account>:policy/<path/name>`.
fn is_policy_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && parts[2] == "iam"
        && parts[3].is_empty()
        && (parts[4] == "aws"
            || (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit())))
        && parts[5]
            .strip_prefix("policy/")
            .is_some_and(|n| !n.is_empty())
}

/// The policy document in `root/policies/<file>`, checked and made compact JSON.
fn read_policy(root: &Path, file: &str) -> Result<String, String> {
    let name = file.strip_prefix("policies/").unwrap_or(file);
    if name.is_empty() || name.contains('/') || name.contains('\\') || name.starts_with('.') {
        return Err(format!("`{file}` is not a file name in {POLICIES_DIR}/"));
    }
    let path = root.join(POLICIES_DIR).join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {POLICIES_DIR}/{name}: {e}"))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{POLICIES_DIR}/{name} is not JSON: {e}"))?;
    check_policy(&doc).map_err(|why| format!("{POLICIES_DIR}/{name}: {why}"))?;
    let compact = doc.to_string();
    let counted = compact.chars().filter(|c| !c.is_whitespace()).count();
    if counted > MANAGED_POLICY_MAX_CHARS {
        return Err(format!(
            "{POLICIES_DIR}/{name} has {counted} characters; IAM takes at most {MANAGED_POLICY_MAX_CHARS} in a managed policy"
        ));
    }
    Ok(compact)
}

/// The shape IAM's policy grammar asks of an identity policy (IAM User Guide, "IAM JSON policy
/// elements"): an object with `Version` 2012-10-17 and `Statement`s that each have `Effect`,
/// `Action` (or `NotAction`) and `Resource` (or `NotResource`), and no `Principal` (that is for
/// resource and trust policies).
fn check_policy(doc: &serde_json::Value) -> Result<(), String> {
    let obj = doc.as_object().ok_or("not a JSON object")?;
    if obj.get("Version").and_then(|v| v.as_str()) != Some("2012-10-17") {
        return Err("`Version` must be \"2012-10-17\"".into());
    }
    let statements: Vec<&serde_json::Value> = match obj.get("Statement") {
        Some(serde_json::Value::Array(a)) if !a.is_empty() => a.iter().collect(),
        Some(s @ serde_json::Value::Object(_)) => vec![s],
        _ => return Err("no `Statement`".into()),
    };
    for (i, s) in statements.iter().enumerate() {
        let s = s
            .as_object()
            .ok_or_else(|| format!("Statement[{i}] is not an object"))?;
        match s.get("Effect").and_then(|e| e.as_str()) {
            Some("Allow" | "Deny") => {}
            _ => return Err(format!("Statement[{i}] needs `Effect`: Allow or Deny")),
        }
        if !s.contains_key("Action") && !s.contains_key("NotAction") {
            return Err(format!("Statement[{i}] has no `Action`"));
        }
        if !s.contains_key("Resource") && !s.contains_key("NotResource") {
            return Err(format!("Statement[{i}] has no `Resource`"));
        }
        if s.contains_key("Principal") || s.contains_key("NotPrincipal") {
            return Err(format!(
                "Statement[{i}] has a `Principal`: a role's own policy names none (the role is the principal)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_names() {
        for n in [
            "AWS_SECRET_ACCESS_KEY",
            "db_password",
            "API_TOKEN",
            "AWS_ACCESS_KEY_ID",
        ] {
            assert!(looks_secret(n), "{n}");
        }
        for n in ["AWS_REGION", "TZ", "JAVA_OPTS"] {
            assert!(!looks_secret(n), "{n}");
        }
    }

    #[test]
    fn policy_arns() {
        assert!(is_policy_arn(
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
        ));
        assert!(is_policy_arn(
            "arn:aws:iam::123456789012:policy/team/s3-writer"
        ));
        assert!(is_policy_arn("arn:aws-cn:iam::aws:policy/X"));
        assert!(!is_policy_arn("arn:aws:iam::123456789012:role/x"));
        assert!(!is_policy_arn("arn:aws:iam::12345:policy/x"));
        assert!(!is_policy_arn("AmazonS3ReadOnlyAccess"));
    }

    #[test]
    fn policy_documents() {
        let ok = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}]});
        assert!(check_policy(&ok).is_ok());
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]});
        assert!(check_policy(&trust).unwrap_err().contains("Principal"));
        let old = serde_json::json!({"Version": "2008-10-17", "Statement": []});
        assert!(check_policy(&old).unwrap_err().contains("Version"));
        assert!(check_policy(&serde_json::json!([1])).is_err());
    }
}
