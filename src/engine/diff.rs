//! Field-level difference between two attribute trees: maps recurse, everything else compares
//! whole (a list is one field, as a user reads it).

use serde::{Deserialize, Serialize};

use super::value::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Path segments from the resource's top level, e.g. `["config", "connection.url"]`.
    pub path: Vec<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
}

impl FieldChange {
    /// `a.b`, or `a["x.y"]` where a segment is not a plain identifier.
    pub fn path_string(&self) -> String {
        display_path(&self.path)
    }
}

pub fn display_path(path: &[String]) -> String {
    let mut s = String::new();
    for (i, seg) in path.iter().enumerate() {
        let plain = !seg.is_empty()
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if plain {
            if i > 0 {
                s.push('.');
            }
            s.push_str(seg);
        } else {
            s.push_str(&format!("[{seg:?}]"));
        }
    }
    s
}

/// Differences from `before` (live or recorded) to `after` (desired). `force_new` holds dotted
/// top-level paths (`cidr`, `spec.version`) whose change forces replacement.
pub fn diff(before: &Value, after: &Value, force_new: &[&str], salt: &str) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(&mut Vec::new(), Some(before), Some(after), salt, &mut out);
    for c in &mut out {
        let p = c.path.join(".");
        c.forces_replacement = force_new
            .iter()
            .any(|f| p == *f || p.starts_with(&format!("{f}.")) || f.starts_with(&format!("{p}.")));
    }
    out
}

fn walk(
    path: &mut Vec<String>,
    a: Option<&Value>,
    b: Option<&Value>,
    salt: &str,
    out: &mut Vec<FieldChange>,
) {
    match (a, b) {
        (Some(Value::Map(ma)), Some(Value::Map(mb))) => {
            let keys: std::collections::BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
            for k in keys {
                path.push(k.clone());
                walk(path, ma.get(k), mb.get(k), salt, out);
                path.pop();
            }
        }
        (Some(x), Some(y)) if x.same_as(y, salt) && y.is_known() => {}
        (None, None) => {}
        (x, y) => out.push(FieldChange {
            path: path.clone(),
            before: x.cloned(),
            after: y.cloned(),
            forces_replacement: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_changes_and_replacement() {
        let before = Value::map([
            ("cidr", Value::str("10.0.0.0/16")),
            (
                "tags",
                Value::map([("a", Value::str("1")), ("gone", Value::str("x"))]),
            ),
            ("size", Value::Int(1)),
        ]);
        let after = Value::map([
            ("cidr", Value::str("10.1.0.0/16")),
            (
                "tags",
                Value::map([("a", Value::str("1")), ("new", Value::str("y"))]),
            ),
            ("size", Value::Int(1)),
        ]);
        let d = diff(&before, &after, &["cidr"], "s");
        let paths: Vec<(String, bool)> = d
            .iter()
            .map(|c| (c.path_string(), c.forces_replacement))
            .collect();
        assert_eq!(
            paths,
            [
                ("cidr".into(), true),
                ("tags.gone".into(), false),
                ("tags.new".into(), false)
            ]
        );
    }

    #[test]
    fn secrets_compare_through_salt_and_unknowns_always_differ() {
        let sealed = Value::map([("pw", Value::secret("a"))]).seal("L");
        assert!(diff(&sealed, &Value::map([("pw", Value::secret("a"))]), &[], "L").is_empty());
        assert_eq!(
            diff(&sealed, &Value::map([("pw", Value::secret("b"))]), &[], "L").len(),
            1
        );
        let live = Value::map([("vpc", Value::str("vpc-1"))]);
        assert_eq!(
            diff(
                &live,
                &Value::map([("vpc", Value::unknown("n", "id"))]),
                &[],
                "L"
            )
            .len(),
            1
        );
    }

    #[test]
    fn odd_keys_are_quoted_in_paths() {
        assert_eq!(
            display_path(&["config".into(), "connection.url".into()]),
            "config[\"connection.url\"]"
        );
    }
}
