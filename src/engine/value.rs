//! The engine's attribute tree: what a resource wants, what is live, what state records.
//!
//! Resources are typed structs inside their providers; the engine compares them generically, so
//! they reach it as this small tree. Two variants exist only for the engine's promises:
//! [`Value::Secret`] (never printed, never persisted in plaintext) and [`Value::Unknown`]
//! (an output of another node that exists only after apply).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Marker key of a sealed secret in serialized form: `{"$sensitive": "sha256:…"}`.
pub const SENSITIVE_KEY: &str = "$sensitive";
/// Marker key of an unknown output in serialized form: `{"$unknown": "node.id#output"}`.
pub const UNKNOWN_KEY: &str = "$unknown";
/// What a redacted secret carries instead of a hash.
pub const REDACTED: &str = "(sensitive)";

#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Secret(Secret),
    Unknown(OutputRef),
}

/// A sensitive value. In memory it may hold the plaintext (from config, for the provider that
/// needs it); whatever is written or printed is only a salted hash, enough to detect change.
#[derive(Clone)]
pub enum Secret {
    Plain(String),
    Sealed(String),
}

/// "Output `output` of node `node`", resolved when that node has been applied.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutputRef {
    pub node: String,
    pub output: String,
}

impl fmt::Display for OutputRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.node, self.output)
    }
}

impl Secret {
    /// Hash of a plaintext under a salt (the state's lineage), as `sha256:<hex>`.
    pub fn hash(salt: &str, plain: &str) -> String {
        let mut h = Sha256::new();
        h.update(b"alpaka-secret\0");
        h.update(salt.as_bytes());
        h.update(b"\0");
        h.update(plain.as_bytes());
        let digest = h.finalize();
        let mut hex = String::with_capacity(7 + 64);
        hex.push_str("sha256:");
        for b in digest {
            hex.push_str(&format!("{b:02x}"));
        }
        hex
    }

    pub fn plaintext(&self) -> Option<&str> {
        match self {
            Secret::Plain(p) => Some(p),
            Secret::Sealed(_) => None,
        }
    }

    /// Does this secret equal `other` once both are seen through `salt`?
    pub fn same_as(&self, other: &Secret, salt: &str) -> bool {
        self.sealed_with(salt) == other.sealed_with(salt)
    }

    fn sealed_with(&self, salt: &str) -> String {
        match self {
            Secret::Plain(p) => Secret::hash(salt, p),
            Secret::Sealed(h) => h.clone(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

/// Plaintext and sealed forms are only comparable through a salt ([`Secret::same_as`]); plain
/// equality treats two secrets as equal only when they have the same form and content.
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Secret::Plain(a), Secret::Plain(b)) | (Secret::Sealed(a), Secret::Sealed(b)) => a == b,
            _ => false,
        }
    }
}

/// What [`Value::merge`] does where both sides hold a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lists {
    /// The upper list replaces the base one (helm's values merge).
    Replace,
    /// The upper list's items follow the base one's (two parts of alpaka adding to one list).
    Extend,
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// Deep-merges `upper` into `self`: maps key by key, lists as `lists` says, anything
    /// else replaced by `upper`.
    pub fn merge(&mut self, upper: Value, lists: Lists) {
        match (self, upper) {
            (Value::Map(b), Value::Map(u)) => {
                for (k, v) in u {
                    match b.get_mut(&k) {
                        Some(old) => old.merge(v, lists),
                        None => {
                            b.insert(k, v);
                        }
                    }
                }
            }
            (Value::List(b), Value::List(u)) if lists == Lists::Extend => b.extend(u),
            (b, u) => *b = u,
        }
    }

    pub fn secret(s: impl Into<String>) -> Value {
        Value::Secret(Secret::Plain(s.into()))
    }

    pub fn unknown(node: impl Into<String>, output: impl Into<String>) -> Value {
        Value::Unknown(OutputRef {
            node: node.into(),
            output: output.into(),
        })
    }

    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Field of a map by dotted path (`a.b.c`); `None` if absent or not a map.
    pub fn get(&self, path: &str) -> Option<&Value> {
        path.split('.').try_fold(self, |v, k| v.as_map()?.get(k))
    }

    /// Replace every plaintext secret by its salted hash: the form state and plan files keep.
    pub fn seal(&self, salt: &str) -> Value {
        self.map_secrets(&|s| Secret::Sealed(s.sealed_with(salt)))
    }

    /// Replace every secret by a marker with no hash at all: the form printed and saved in plans.
    pub fn redact(&self) -> Value {
        self.map_secrets(&|_| Secret::Sealed(REDACTED.to_owned()))
    }

    fn map_secrets(&self, f: &dyn Fn(&Secret) -> Secret) -> Value {
        match self {
            Value::Secret(s) => Value::Secret(f(s)),
            Value::List(l) => Value::List(l.iter().map(|v| v.map_secrets(f)).collect()),
            Value::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.map_secrets(f)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Every unknown output this value mentions.
    pub fn unknowns(&self, out: &mut Vec<OutputRef>) {
        match self {
            Value::Unknown(r) => out.push(r.clone()),
            Value::List(l) => l.iter().for_each(|v| v.unknowns(out)),
            Value::Map(m) => m.values().for_each(|v| v.unknowns(out)),
            _ => {}
        }
    }

    /// Replace unknowns that `lookup` can answer; the rest stay unknown.
    pub fn resolve(&self, lookup: &dyn Fn(&OutputRef) -> Option<Value>) -> Value {
        match self {
            Value::Unknown(r) => lookup(r).unwrap_or_else(|| self.clone()),
            Value::List(l) => Value::List(l.iter().map(|v| v.resolve(lookup)).collect()),
            Value::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.resolve(lookup)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    pub fn is_known(&self) -> bool {
        let mut u = Vec::new();
        self.unknowns(&mut u);
        u.is_empty()
    }

    /// Equality as the planner needs it: secrets compared through the salt.
    pub fn same_as(&self, other: &Value, salt: &str) -> bool {
        match (self, other) {
            (Value::Secret(a), Value::Secret(b)) => a.same_as(b, salt),
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y, salt))
            }
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va.same_as(vb, salt))
            }
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => {
                (*a as f64) == *b
            }
            (a, b) => a == b,
        }
    }

    pub fn is_sensitive(&self) -> bool {
        matches!(self, Value::Secret(_))
    }
}

/// Human rendering, as plan output shows values. Secrets never show.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Secret(_) => f.write_str("(sensitive)"),
            Value::Unknown(_) => f.write_str("(known after apply)"),
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(x) => s.serialize_f64(*x),
            Value::Str(v) => s.serialize_str(v),
            Value::List(l) => l.serialize(s),
            Value::Map(m) => m.serialize(s),
            Value::Secret(secret) => {
                let mut m = s.serialize_map(Some(1))?;
                // A plaintext secret never serializes: callers seal first; if one forgets, the
                // output loses the value rather than leaking it.
                let shown = match secret {
                    Secret::Sealed(h) => h.as_str(),
                    Secret::Plain(_) => "(unsealed)",
                };
                m.serialize_entry(SENSITIVE_KEY, shown)?;
                m.end()
            }
            Value::Unknown(r) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(UNKNOWN_KEY, &r.to_string())?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        i64::try_from(u)
            .map(Value::Int)
            .or(Ok(Value::Float(u as f64)))
    }
    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = a.next_element()? {
            v.push(x);
        }
        Ok(Value::List(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut m = BTreeMap::new();
        while let Some((k, v)) = a.next_entry::<String, Value>()? {
            m.insert(k, v);
        }
        if m.len() == 1 {
            if let Some(Value::Str(h)) = m.get(SENSITIVE_KEY) {
                return Ok(Value::Secret(Secret::Sealed(h.clone())));
            }
            if let Some(Value::Str(r)) = m.get(UNKNOWN_KEY)
                && let Some((node, output)) = r.split_once('#')
            {
                return Ok(Value::unknown(node, output));
            }
        }
        Ok(Value::Map(m))
    }
}

/// Typed struct → attribute tree. Fields that are secrets must be marked by the caller
/// afterwards (`Value::secret`), since serde cannot know.
pub fn to_value<T: Serialize>(t: &T) -> Result<Value, serde_json::Error> {
    let json = serde_json::to_value(t)?;
    serde_json::from_value(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_goes_deep_and_treats_lists_as_told() {
        let base = || {
            Value::map([(
                "a",
                Value::map([
                    ("l", Value::List(vec![Value::Int(1)])),
                    ("keep", Value::Bool(true)),
                ]),
            )])
        };
        let upper = || {
            Value::map([(
                "a",
                Value::map([
                    ("l", Value::List(vec![Value::Int(2)])),
                    ("new", Value::Int(3)),
                ]),
            )])
        };
        let mut r = base();
        r.merge(upper(), Lists::Replace);
        assert_eq!(r.get("a.l"), Some(&Value::List(vec![Value::Int(2)])));
        assert_eq!(r.get("a.keep"), Some(&Value::Bool(true)));
        assert_eq!(r.get("a.new"), Some(&Value::Int(3)));
        let mut e = base();
        e.merge(upper(), Lists::Extend);
        assert_eq!(
            e.get("a.l"),
            Some(&Value::List(vec![Value::Int(1), Value::Int(2)]))
        );
    }

    #[test]
    fn secrets_never_serialize_in_plaintext() {
        let v = Value::map([
            ("password", Value::secret("hunter2")),
            ("user", Value::str("me")),
        ]);
        let raw = serde_json::to_string(&v).unwrap();
        assert!(!raw.contains("hunter2"), "{raw}");
        let sealed = serde_json::to_string(&v.seal("salt")).unwrap();
        assert!(
            !sealed.contains("hunter2") && sealed.contains("sha256:"),
            "{sealed}"
        );
        assert_eq!(format!("{v}"), r#"{password = (sensitive), user = "me"}"#);
        assert_eq!(
            format!("{:?}", Secret::Plain("hunter2".into())),
            "(sensitive)"
        );
    }

    #[test]
    fn sealed_round_trip_and_comparison() {
        let plain = Value::secret("pw");
        let sealed = plain.seal("L1");
        let back: Value = serde_json::from_str(&serde_json::to_string(&sealed).unwrap()).unwrap();
        assert_eq!(back, sealed);
        assert!(plain.same_as(&back, "L1"));
        assert!(!Value::secret("other").same_as(&back, "L1"));
        assert!(!plain.same_as(&back, "L2"), "the salt is part of the hash");
    }

    #[test]
    fn unknowns_resolve() {
        let v = Value::map([("vpc", Value::unknown("aws.vpc.prod", "id"))]);
        assert!(!v.is_known());
        let r = v.resolve(&|r| (r.output == "id").then(|| Value::str("vpc-1")));
        assert_eq!(r.get("vpc"), Some(&Value::str("vpc-1")));
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), v);
    }
}
