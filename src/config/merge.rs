//! Layered merge of located trees: defaults ← config file ← profile `overrides`.
//!
//! Maps merge deeply. Lists users extend are merged by name (connects by `type`, connector
//! groups, connectors, a connect's `envs` and Grafana dashboards by `name`); an item with `remove: true` deletes the
//! item of that name from the layers below. All other lists, and scalars, are replaced. Every
//! node keeps the origin of the layer that set it.

use super::yaml::{Kind, Node};

/// The key that names items of the list at `path` (map keys only, list indices skipped).
pub fn list_key(path: &[&str]) -> Option<&'static str> {
    match path {
        ["kafka_connect", "connects"] => Some("type"),
        ["kafka_connect", "connects", "connector_groups"] => Some("name"),
        ["kafka_connect", "connects", "envs"] => Some("name"),
        [
            "kafka_connect",
            "connects",
            "connector_groups",
            "connectors",
        ] => Some("name"),
        ["grafana", "dashboards"] => Some("name"),
        _ => None,
    }
}

/// Merge `upper` on top of `base`.
pub fn merge(base: Node, upper: Node) -> Node {
    let mut path = Vec::new();
    merge_at(base, upper, &mut path)
}

fn merge_at(base: Node, upper: Node, path: &mut Vec<String>) -> Node {
    match (base.kind, upper.kind) {
        (Kind::Map(mut entries), Kind::Map(upper_entries)) => {
            for (key, value) in upper_entries {
                match entries.iter().position(|(k, _)| k.name == key.name) {
                    Some(i) => {
                        let (_, old) = entries.remove(i);
                        path.push(key.name.clone());
                        let merged = merge_at(old, value, path);
                        path.pop();
                        entries.insert(i, (key, merged));
                    }
                    None => entries.push((key, value)),
                }
            }
            Node {
                origin: upper.origin,
                kind: Kind::Map(entries),
            }
        }
        (Kind::Seq(items), Kind::Seq(upper_items)) => {
            let keys: Vec<&str> = path.iter().map(String::as_str).collect();
            match list_key(&keys) {
                Some(name_key) => Node {
                    origin: upper.origin,
                    kind: Kind::Seq(merge_by_name(items, upper_items, name_key, path)),
                },
                None => Node {
                    origin: upper.origin,
                    kind: Kind::Seq(upper_items),
                },
            }
        }
        (_, kind) => Node {
            origin: upper.origin,
            kind,
        },
    }
}

fn merge_by_name(
    mut items: Vec<Node>,
    upper: Vec<Node>,
    name_key: &str,
    path: &mut Vec<String>,
) -> Vec<Node> {
    for item in upper {
        let name = item.get(name_key).and_then(Node::as_str).map(str::to_owned);
        let remove = matches!(item.get("remove").map(|n| &n.kind), Some(Kind::Bool(true)));
        let existing = name.as_deref().and_then(|n| {
            items
                .iter()
                .position(|i| i.get(name_key).and_then(Node::as_str) == Some(n))
        });
        match (existing, remove) {
            (Some(i), true) => {
                items.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => {
                let old = items.remove(i);
                items.insert(i, merge_at(old, item, path));
            }
            (None, false) => items.push(item),
        }
    }
    items
}

/// Remove `null` map values (an empty value means "the default") so serde falls back to defaults.
pub fn drop_nulls(node: &mut Node) {
    match &mut node.kind {
        Kind::Map(entries) => {
            entries.retain(|(_, v)| v.kind != Kind::Null);
            for (_, v) in entries.iter_mut() {
                drop_nulls(v);
            }
        }
        Kind::Seq(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// A located tree from a plain JSON value (the defaults layer), every node at `origin`.
pub fn from_json(v: &serde_json::Value, origin: &super::yaml::Origin) -> Node {
    use serde_json::Value as J;
    let kind = match v {
        J::Null => Kind::Null,
        J::Bool(b) => Kind::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Kind::Int(i),
            None => Kind::Float(n.as_f64().unwrap_or(0.0)),
        },
        J::String(s) => Kind::Str(s.clone()),
        J::Array(a) => Kind::Seq(a.iter().map(|x| from_json(x, origin)).collect()),
        J::Object(o) => Kind::Map(
            o.iter()
                .map(|(k, x)| {
                    (
                        super::yaml::Key {
                            name: k.clone(),
                            origin: origin.clone(),
                        },
                        from_json(x, origin),
                    )
                })
                .collect(),
        ),
    };
    Node {
        origin: origin.clone(),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::config::yaml;

    fn parse(name: &str, text: &str) -> Node {
        let file: Arc<Path> = Arc::from(Path::new(name));
        yaml::parse(&file, text).expect("parses")
    }

    #[test]
    fn maps_merge_deeply_and_scalars_replace() {
        let m = merge(
            parse("a", "kafka:\n  replicaCount: 1\n  numPartitions: 8\n"),
            parse("b", "kafka:\n  replicaCount: 3\n"),
        );
        assert_eq!(
            m.to_json(),
            serde_json::json!({"kafka": {"replicaCount": 3, "numPartitions": 8}})
        );
        let rc = m
            .get("kafka")
            .and_then(|k| k.get("replicaCount"))
            .expect("present");
        assert_eq!((&*rc.origin.file, rc.origin.line), (Path::new("b"), 2));
        let np = m
            .get("kafka")
            .and_then(|k| k.get("numPartitions"))
            .expect("present");
        assert_eq!(&*np.origin.file, Path::new("a"));
    }

    #[test]
    fn connects_groups_connectors_merge_by_name() {
        let base = parse(
            "a",
            "kafka_connect:\n  connects:\n  - type: srccon\n    replicaCount: 1\n    connector_groups:\n    - name: g1\n      connectors:\n      - name: c1\n        config: {x: 1, y: 2}\n      - name: c2\n  - type: sinkcon\n",
        );
        let upper = parse(
            "b",
            "kafka_connect:\n  connects:\n  - type: srccon\n    connector_groups:\n    - name: g1\n      connectors:\n      - name: c1\n        config: {y: 3}\n      - name: c2\n        remove: true\n      - name: c3\n  - type: newcon\n",
        );
        let m = merge(base, upper).to_json();
        assert_eq!(
            m,
            serde_json::json!({"kafka_connect": {"connects": [
                {"type": "srccon", "replicaCount": 1, "connector_groups": [
                    {"name": "g1", "connectors": [
                        {"name": "c1", "config": {"x": 1, "y": 3}},
                        {"name": "c3"}
                    ]}
                ]},
                {"type": "sinkcon"},
                {"type": "newcon"}
            ]}})
        );
    }

    #[test]
    fn dashboards_by_name_other_lists_replaced() {
        let base = parse(
            "a",
            "grafana:\n  dashboards:\n  - {name: a, gnetId: 1}\n  - {name: b, gnetId: 2}\nkafka:\n  tolerations: [{key: x}]\n",
        );
        let upper = parse(
            "b",
            "grafana:\n  dashboards:\n  - {name: b, revision: 3}\n  - {name: a, remove: true}\nkafka:\n  tolerations: [{key: y}]\n",
        );
        assert_eq!(
            merge(base, upper).to_json(),
            serde_json::json!({
                "grafana": {"dashboards": [{"name": "b", "gnetId": 2, "revision": 3}]},
                "kafka": {"tolerations": [{"key": "y"}]}
            })
        );
    }
}
