//! Live objects seen in the shape alpaka applied: only the paths present in the applied manifest
//! are compared, so server defaults, `status` and other managers' fields are not drift.

use crate::engine::Value;

/// `live` restricted to the paths of `shape`. Maps keep the keys `shape` has (absent live keys
/// stay absent, so a removed field shows as a change); lists of the same length project item by
/// item (the server adds defaults inside list items, e.g. a port's `protocol`); anything else is
/// the live value.
pub fn project(shape: &Value, live: &Value) -> Value {
    match (shape, live) {
        (Value::Map(s), Value::Map(l)) => Value::Map(
            s.iter()
                .filter_map(|(k, sv)| l.get(k).map(|lv| (k.clone(), project(sv, lv))))
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
}
