//! Warnings for weakenings of Kafka's authentication and authorization defaults: each is the
//! user's explicit choice, and `validate` and `plan` say so once per weakening in effect,
//! pointing at the line that made it.

use super::yaml::Node;
use crate::diag::Diagnostic;
use crate::model::StackConfig;

fn warn(n: &Node, path: &str, message: &str) -> Diagnostic {
    Diagnostic::warning(
        n.origin.file.to_path_buf(),
        n.origin.line,
        n.origin.column,
        path,
        message,
    )
}

/// The deepest node along `keys` (the key that set the value, or its nearest parent).
fn deepest<'a>(tree: &'a Node, keys: &[&str]) -> &'a Node {
    let mut n = tree;
    for k in keys {
        match n.get(k) {
            Some(x) => n = x,
            None => break,
        }
    }
    n
}

pub fn checks(config: &StackConfig, tree: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let k = &config.kafka;
    if !k.enabled {
        return out;
    }
    if k.security.plain_listener {
        out.push(
            warn(
                deepest(tree, &["kafka", "security", "plainListener"]),
                "kafka.security.plainListener",
                "a plain listener on 9092: no TLS, no authentication, and its clients (User:ANONYMOUS) are Kafka super users",
            )
            .with_hint(
                "move its clients to the TLS listener (9093, SCRAM-SHA-512, a KafkaUser each), then remove the setting",
            ),
        );
    }
    if k.config.get("allow.everyone.if.no.acl.found") == Some(&serde_json::Value::Bool(true))
        || k.config.get("allow.everyone.if.no.acl.found")
            == Some(&serde_json::Value::String("true".into()))
    {
        out.push(warn(
            deepest(tree, &["kafka", "config", "allow.everyone.if.no.acl.found"]),
            "kafka.config.allow.everyone.if.no.acl.found",
            "every authenticated client may use any topic or group that has no ACL",
        ));
    }
    out
}
