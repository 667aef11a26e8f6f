//! Storage changes Strimzi refuses, found at plan time (issue 22, item 6).
//!
//! Strimzi's cluster operator compares a Kafka's (or node pool's) desired storage with the
//! current one and, when the change is not allowed, ignores *every* storage change and sets a
//! `Warning` condition instead of failing (Strimzi documentation, "Configuring Kafka storage":
//! the storage type of a deployed cluster cannot be changed other than by adding/removing JBOD
//! volumes, the storage class of an existing volume is fixed; "Resizing persistent volumes":
//! "You can increase but not decrease the size of persistent volumes"). Applied as is, such a
//! change would report success and do nothing: the plan says so first.

use crate::engine::Value;

/// Where a kind keeps its storage: a node pool's `spec.storage` (`kafka.strimzi.io/v1`),
/// a legacy Kafka's `spec.kafka.storage` and `spec.zookeeper.storage` (`v1beta2`).
fn storage_paths(kind: &str) -> &'static [&'static str] {
    match kind {
        "KafkaNodePool" => &["spec.storage"],
        "Kafka" => &["spec.kafka.storage", "spec.zookeeper.storage"],
        _ => &[],
    }
}

/// What the plan says about storage changes Strimzi will refuse, one line each.
pub fn refused_changes(kind: &str, live: &Value, desired: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for path in storage_paths(kind) {
        if let (Some(old), Some(new)) = (live.get(path), desired.get(path)) {
            compare(path, old, new, &mut out);
        }
    }
    out
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn compare(at: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    let (Some(t_old), Some(t_new)) = (s(old, "type"), s(new, "type")) else {
        return;
    };
    if t_old != t_new {
        out.push(format!(
            "{at}.type: {t_old} → {t_new}: Strimzi does not change the storage type of a \
             deployed cluster; it will ignore every storage change and only warn"
        ));
        return;
    }
    match t_new {
        "persistent-claim" => volume(at, old, new, out),
        "jbod" => {
            let volumes = |v: &Value| match v.get("volumes") {
                Some(Value::List(l)) => l.clone(),
                _ => Vec::new(),
            };
            let (old_v, new_v) = (volumes(old), volumes(new));
            for n in &new_v {
                let id = n.get("id").and_then(Value::as_i64);
                if let Some(o) = old_v
                    .iter()
                    .find(|o| o.get("id").and_then(Value::as_i64) == id)
                {
                    let at = format!("{at}.volumes[id={}]", id.unwrap_or_default());
                    if s(o, "type") != s(n, "type") {
                        out.push(format!(
                            "{at}.type: {} → {}: Strimzi does not change an existing volume's \
                             type; it will ignore every storage change and only warn",
                            s(o, "type").unwrap_or("?"),
                            s(n, "type").unwrap_or("?")
                        ));
                    } else {
                        volume(&at, o, n, out);
                    }
                }
            }
        }
        _ => {}
    }
}

/// One persistent-claim volume: size may only grow, class never changes.
fn volume(at: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    if let (Some(a), Some(b)) = (s(old, "size"), s(new, "size"))
        && let (Some(x), Some(y)) = (bytes(a), bytes(b))
        && y < x
    {
        out.push(format!(
            "{at}.size: {a} → {b}: Strimzi cannot shrink a persistent volume (only grow it); \
             it will ignore every storage change and only warn"
        ));
    }
    if s(old, "class") != s(new, "class") {
        out.push(format!(
            "{at}.class: {} → {}: Strimzi does not change an existing volume's storage class; \
             it will ignore every storage change and only warn",
            s(old, "class").unwrap_or("(default)"),
            s(new, "class").unwrap_or("(default)")
        ));
    }
}

/// A Kubernetes quantity (`10Gi`, `500M`, `1.5Ti`) in bytes, as far as storage sizes go.
pub fn bytes(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    let (num, unit) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let k: f64 = match unit {
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        _ => return None,
    };
    Some(n * k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(storage: serde_json::Value) -> Value {
        serde_json::from_value(
            serde_json::json!({"kind": "KafkaNodePool", "spec": {"storage": storage}}),
        )
        .unwrap()
    }

    #[test]
    fn shrinking_and_retyping_are_named_and_growing_is_not() {
        let pc = |size: &str, class: Option<&str>| {
            let mut v =
                serde_json::json!({"type": "persistent-claim", "size": size, "deleteClaim": false});
            if let Some(c) = class {
                v["class"] = c.into();
            }
            pool(v)
        };
        assert!(refused_changes("KafkaNodePool", &pc("10Gi", None), &pc("20Gi", None)).is_empty());
        let shrink = refused_changes("KafkaNodePool", &pc("10Gi", None), &pc("5Gi", None));
        assert_eq!(shrink.len(), 1, "{shrink:?}");
        assert!(shrink[0].contains("10Gi → 5Gi"), "{shrink:?}");
        // 10G is less than 10Gi.
        assert_eq!(
            refused_changes("KafkaNodePool", &pc("10Gi", None), &pc("10G", None)).len(),
            1
        );
        let class = refused_changes("KafkaNodePool", &pc("10Gi", None), &pc("10Gi", Some("gp3")));
        assert!(class[0].contains("(default) → gp3"), "{class:?}");
        let eph = pool(serde_json::json!({"type": "ephemeral"}));
        let retype = refused_changes("KafkaNodePool", &pc("10Gi", None), &eph);
        assert!(
            retype[0].contains("persistent-claim → ephemeral"),
            "{retype:?}"
        );
        assert!(refused_changes("KafkaConnect", &pc("10Gi", None), &eph).is_empty());
    }

    #[test]
    fn quantities() {
        assert_eq!(bytes("1Ki"), Some(1024.0));
        assert_eq!(bytes("1.5G"), Some(1.5e9));
        assert_eq!(bytes("x"), None);
    }
}
