//! Live objects seen in the shape alpaka applied: only the paths present in the applied manifest
//! are compared, so server defaults, `status` and other managers' fields are not drift.

use crate::engine::Value;

/// `live` restricted to the paths of `shape`. Maps keep the keys `shape` has (absent live keys
/// stay absent, so a removed field shows as a change, except that an absent key equals an empty
/// map or list: built-in types serialize with Go's `omitempty`, so the real API server never
/// returns the `data: {}` it was sent); lists of the same length project item by item (the
/// server adds defaults inside list items, e.g. a port's `protocol`); anything else is the live
/// value.
pub fn project(shape: &Value, live: &Value) -> Value {
    match (shape, live) {
        (Value::Map(s), Value::Map(l)) => Value::Map(
            s.iter()
                .filter_map(|(k, sv)| match (l.get(k), sv) {
                    (Some(lv), _) => Some((k.clone(), project(sv, lv))),
                    (None, Value::Map(m)) if m.is_empty() => Some((k.clone(), sv.clone())),
                    (None, Value::List(v)) if v.is_empty() => Some((k.clone(), sv.clone())),
                    (None, _) => None,
                })
                .collect(),
        ),
        (Value::List(s), Value::List(l)) if s.len() == l.len() => {
            Value::List(s.iter().zip(l).map(|(a, b)| project(a, b)).collect())
        }
        (_, l) => l.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_status_are_not_drift_but_changes_are() {
        let shape = Value::map([
            (
                "spec",
                Value::map([
                    ("replicas", Value::Int(1)),
                    (
                        "ports",
                        Value::List(vec![Value::map([("port", Value::Int(8088))])]),
                    ),
                ]),
            ),
            ("metadata", Value::map([("name", Value::str("x"))])),
        ]);
        let live = Value::map([
            (
                "spec",
                Value::map([
                    ("replicas", Value::Int(2)),
                    ("revisionHistoryLimit", Value::Int(10)),
                    (
                        "ports",
                        Value::List(vec![Value::map([
                            ("port", Value::Int(8088)),
                            ("protocol", Value::str("TCP")),
                        ])]),
                    ),
                ]),
            ),
            (
                "metadata",
                Value::map([("name", Value::str("x")), ("uid", Value::str("u"))]),
            ),
            ("status", Value::map([("ready", Value::Bool(true))])),
        ]);
        let p = project(&shape, &live);
        let d = crate::engine::diff::diff(&p, &shape, &[], "s");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].path_string(), "spec.replicas");
    }

    /// Found on the real API server: a ConfigMap applied with `data: {}` comes back without
    /// `data`, which planned an update on every run.
    #[test]
    fn an_empty_map_or_list_the_server_omits_is_not_drift_but_a_removed_entry_is() {
        let shape = Value::map([
            ("data", Value::map::<&str>([])),
            ("args", Value::List(vec![])),
            ("labels", Value::map([("a", Value::str("b"))])),
        ]);
        let live = Value::map([("kind", Value::str("ConfigMap"))]);
        let p = project(&shape, &live);
        let d = crate::engine::diff::diff(&p, &shape, &[], "s");
        let paths: Vec<String> = d.iter().map(|c| c.path_string()).collect();
        assert_eq!(paths, ["labels"], "{d:?}");
    }
}
