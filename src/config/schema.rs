//! A small JSON-schema validator over located YAML trees.
//!
//! It understands the subset schemars emits (type, enum, const, oneOf, anyOf, properties,
//! additionalProperties, required, items, minimum, maximum, minItems, minLength, format, $ref,
//! $defs) and reports *every* violation with its location, instead of stopping at the first as
//! serde would.

use serde_json::Value as J;

use super::yaml::{Kind, Node};
use crate::diag::Diagnostic;
use crate::model::types::check_format;
use crate::suggest;

/// Keys that moved out of the stack config; an unknown-key error for them carries this hint.
const MOVED_KEYS: &[(&str, &str)] = &[(
    "k8s_dist",
    "`k8s_dist` moved to the profile: set `distribution:` in profiles/<name>.yaml",
)];

/// A path inside a document, printed as `a.b[name].c`.
#[derive(Clone, Debug, Default)]
pub struct DocPath(Vec<Seg>);

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Item(String),
}

impl DocPath {
    pub fn root() -> Self {
        DocPath(Vec::new())
    }

    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_owned()));
        p
    }

    /// A list item, named by its `type`/`name` when it has one, else by index.
    pub fn item(&self, index: usize, node: &Node) -> Self {
        let mut p = self.clone();
        let name = ["type", "name"]
            .iter()
            .find_map(|k| node.get(k).and_then(Node::as_str))
            .map_or_else(|| index.to_string(), str::to_owned);
        p.0.push(Seg::Item(name));
        p
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for DocPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Item(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

pub struct Validator<'s> {
    root: &'s J,
}

impl<'s> Validator<'s> {
    pub fn new(root: &'s J) -> Self {
        Validator { root }
    }

    /// Validate a whole document against the root schema.
    pub fn validate_document(&self, node: &Node) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        self.validate(self.root, node, &DocPath::root(), &mut out);
        out
    }

    fn resolve(&self, schema: &'s J) -> &'s J {
        let mut s = schema;
        // Bounded: schemars refs point at definitions, never at other bare refs in a loop.
        for _ in 0..16 {
            match s.get("$ref").and_then(J::as_str) {
                Some(r) => match r.strip_prefix('#').and_then(|p| self.root.pointer(p)) {
                    Some(target) if s.as_object().is_some_and(|o| o.len() == 1) => s = target,
                    _ => return s,
                },
                None => return s,
            }
        }
        s
    }

    pub fn validate(&self, schema: &'s J, node: &Node, path: &DocPath, out: &mut Vec<Diagnostic>) {
        let schema = self.resolve(schema);
        let obj = match schema {
            J::Bool(true) => return,
            J::Bool(false) => {
                out.push(err(node, path, "no value is allowed here"));
                return;
            }
            J::Object(o) => o,
            _ => return,
        };
        if let Some(r) = obj.get("$ref").and_then(J::as_str)
            && let Some(target) = r.strip_prefix('#').and_then(|p| self.root.pointer(p))
        {
            self.validate(target, node, path, out);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(J::Array(branches)) = obj.get(key) {
                self.validate_alternatives(branches, node, path, out);
            }
        }
        if let Some(J::Array(all)) = obj.get("allOf") {
            for s in all {
                self.validate(s, node, path, out);
            }
        }
        if let Some(ty) = obj.get("type")
            && !type_matches(ty, &node.kind)
        {
            out.push(type_error(&type_names(ty), node, path));
            return;
        }
        if let Some(allowed) = enum_values(schema) {
            let v = node.to_json();
            if !allowed.contains(&v) {
                out.push(enum_error(&allowed, node, path));
                return;
            }
        }
        match &node.kind {
            Kind::Map(entries) => self.validate_map(obj, entries, node, path, out),
            Kind::Seq(items) => {
                if let Some(items_schema) = obj.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.validate(items_schema, item, &path.item(i, item), out);
                    }
                }
                if let Some(min) = obj.get("minItems").and_then(J::as_u64)
                    && (items.len() as u64) < min
                {
                    out.push(
                        err(node, path, format!("list has {} items", items.len()))
                            .with_expected(format!("at least {min} item(s)")),
                    );
                }
            }
            Kind::Int(i) => check_number(obj, *i as f64, node, path, out),
            Kind::Float(f) => check_number(obj, *f, node, path, out),
            Kind::Str(s) => {
                if let Some(format) = obj.get("format").and_then(J::as_str)
                    && let Err(expected) = check_format(format, s)
                {
                    out.push(
                        err(node, path, format!("invalid value `{s}`")).with_expected(expected),
                    );
                }
                if let Some(min) = obj.get("minLength").and_then(J::as_u64)
                    && (s.chars().count() as u64) < min
                {
                    out.push(
                        err(node, path, "value is too short")
                            .with_expected(format!("at least {min} character(s)")),
                    );
                }
            }
            _ => {}
        }
    }

    fn validate_map(
        &self,
        obj: &'s serde_json::Map<String, J>,
        entries: &[(super::yaml::Key, Node)],
        node: &Node,
        path: &DocPath,
        out: &mut Vec<Diagnostic>,
    ) {
        let props = obj.get("properties").and_then(J::as_object);
        let additional = obj.get("additionalProperties");
        for (key, value) in entries {
            let child = path.key(&key.name);
            if let Some(s) = props.and_then(|p| p.get(&key.name)) {
                // An empty value (`nodeSelector:`) means "the default".
                if value.kind != Kind::Null || allows_null(self.resolve(s)) {
                    self.validate(s, value, &child, out);
                }
                continue;
            }
            match additional {
                Some(J::Bool(false)) => {
                    let known: Vec<&str> = props
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let mut d = Diagnostic::error(
                        key.origin.file.to_path_buf(),
                        key.origin.line,
                        key.origin.column,
                        child.to_string(),
                        "unknown key",
                    )
                    .with_expected(format!("one of {}", known.join(", ")));
                    if let Some((_, hint)) = MOVED_KEYS
                        .iter()
                        .find(|(k, _)| path.is_root() && *k == key.name)
                    {
                        d = d.with_hint(*hint);
                    } else if let Some(best) = suggest::closest(&key.name, known.iter().copied()) {
                        d = d.with_hint(format!("did you mean `{best}`?"));
                    }
                    out.push(d);
                }
                Some(s @ J::Object(_)) => self.validate(s, value, &child, out),
                _ => {}
            }
        }
        if let Some(J::Array(required)) = obj.get("required") {
            for r in required.iter().filter_map(J::as_str) {
                let present = entries
                    .iter()
                    .any(|(k, v)| k.name == r && v.kind != Kind::Null);
                if !present {
                    out.push(err(
                        node,
                        &path.key(r),
                        format!("missing required key `{r}`"),
                    ));
                }
            }
        }
    }

    /// anyOf / oneOf: fine if any branch accepts the node; otherwise report the errors of the
    /// branch whose type fits, or a combined "expected A or B" when none does.
    fn validate_alternatives(
        &self,
        branches: &'s [J],
        node: &Node,
        path: &DocPath,
        out: &mut Vec<Diagnostic>,
    ) {
        let consts: Option<Vec<J>> = branches
            .iter()
            .map(|b| enum_values(self.resolve(b)))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.into_iter().flatten().collect());
        if let Some(allowed) = consts {
            if !allowed.contains(&node.to_json()) {
                out.push(enum_error(&allowed, node, path));
            }
            return;
        }
        let mut fitting: Vec<Vec<Diagnostic>> = Vec::new();
        for b in branches {
            let b = self.resolve(b);
            if b.get("type").is_some_and(|t| !type_matches(t, &node.kind)) {
                continue;
            }
            let mut errs = Vec::new();
            self.validate(b, node, path, &mut errs);
            if errs.is_empty() {
                return;
            }
            fitting.push(errs);
        }
        match fitting.into_iter().min_by_key(Vec::len) {
            Some(errs) => out.extend(errs),
            None => {
                let mut names: Vec<String> = Vec::new();
                for b in branches {
                    if let Some(t) = self.resolve(b).get("type") {
                        names.extend(type_names(t));
                    }
                }
                names.dedup();
                out.push(type_error(&names, node, path));
            }
        }
    }
}

fn err(node: &Node, path: &DocPath, message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(
        node.origin.file.to_path_buf(),
        node.origin.line,
        node.origin.column,
        path.to_string(),
        message,
    )
}

fn allows_null(schema: &J) -> bool {
    match schema.get("type") {
        Some(t) => type_matches(t, &Kind::Null),
        None => schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(J::as_array)
            .is_some_and(|bs| {
                bs.iter()
                    .any(|b| b.get("type").is_some_and(|t| type_matches(t, &Kind::Null)))
            }),
    }
}

fn type_names(ty: &J) -> Vec<String> {
    match ty {
        J::String(s) => vec![friendly_type(s).to_owned()],
        J::Array(a) => a
            .iter()
            .filter_map(J::as_str)
            .map(|s| friendly_type(s).to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

fn friendly_type(t: &str) -> &str {
    match t {
        "object" => "mapping",
        "array" => "list",
        other => other,
    }
}

fn type_matches(ty: &J, kind: &Kind) -> bool {
    let one = |t: &str| match t {
        "null" => matches!(kind, Kind::Null),
        "boolean" => matches!(kind, Kind::Bool(_)),
        "integer" => matches!(kind, Kind::Int(_)),
        "number" => matches!(kind, Kind::Int(_) | Kind::Float(_)),
        "string" => matches!(kind, Kind::Str(_)),
        "array" => matches!(kind, Kind::Seq(_)),
        "object" => matches!(kind, Kind::Map(_)),
        _ => true,
    };
    match ty {
        J::String(s) => one(s),
        J::Array(a) => a.iter().filter_map(J::as_str).any(one),
        _ => true,
    }
}

fn scalar_text(kind: &Kind) -> Option<String> {
    match kind {
        Kind::Bool(b) => Some(b.to_string()),
        Kind::Int(i) => Some(i.to_string()),
        Kind::Float(f) => Some(f.to_string()),
        Kind::Str(s) => Some(s.clone()),
        _ => None,
    }
}

fn type_error(expected: &[String], node: &Node, path: &DocPath) -> Diagnostic {
    let found = match scalar_text(&node.kind) {
        Some(t) => format!("wrong type: found {} `{t}`", node.kind.type_name()),
        None => format!("wrong type: found {}", node.kind.type_name()),
    };
    let mut d = err(node, path, found).with_expected(expected.join(" or "));
    if expected.iter().any(|e| e == "string")
        && let Some(t) = scalar_text(&node.kind)
    {
        d = d.with_hint(format!("quote the value to make it a string: \"{t}\""));
    }
    d
}

fn enum_values(schema: &J) -> Option<Vec<J>> {
    if let Some(J::Array(vs)) = schema.get("enum") {
        return Some(vs.clone());
    }
    schema.get("const").map(|c| vec![c.clone()])
}

fn enum_error(allowed: &[J], node: &Node, path: &DocPath) -> Diagnostic {
    let names: Vec<String> = allowed
        .iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect();
    let shown = scalar_text(&node.kind).unwrap_or_else(|| node.kind.type_name().to_owned());
    let mut d = err(node, path, format!("invalid value `{shown}`"))
        .with_expected(format!("one of {}", names.join(", ")));
    if let Some(best) = suggest::closest(&shown, names.iter().map(String::as_str)) {
        d = d.with_hint(format!("did you mean `{best}`?"));
    }
    d
}

fn check_number(
    obj: &serde_json::Map<String, J>,
    v: f64,
    node: &Node,
    path: &DocPath,
    out: &mut Vec<Diagnostic>,
) {
    let (fmt_min, fmt_max) = match obj.get("format").and_then(J::as_str) {
        Some("uint8") => (Some(0.0), Some(f64::from(u8::MAX))),
        Some("uint16") => (Some(0.0), Some(f64::from(u16::MAX))),
        Some("uint32" | "uint") => (Some(0.0), Some(f64::from(u32::MAX))),
        Some("int32") => (Some(f64::from(i32::MIN)), Some(f64::from(i32::MAX))),
        Some("uint64") => (Some(0.0), None),
        _ => (None, None),
    };
    let min = obj.get("minimum").and_then(J::as_f64).or(fmt_min);
    let max = obj.get("maximum").and_then(J::as_f64).or(fmt_max);
    let shown = scalar_text(&node.kind).unwrap_or_default();
    if let Some(min) = min
        && v < min
    {
        out.push(
            err(node, path, format!("value {shown} is too small"))
                .with_expected(format!("at least {min}")),
        );
    }
    if let Some(max) = max
        && v > max
    {
        out.push(
            err(node, path, format!("value {shown} is too large"))
                .with_expected(format!("at most {max}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::config::yaml;

    fn check<T: schemars::JsonSchema>(text: &str) -> Vec<Diagnostic> {
        let schema = schemars::schema_for!(T).to_value();
        let file: Arc<Path> = Arc::from(Path::new("t.yaml"));
        let node = yaml::parse(&file, text).expect("parses");
        Validator::new(&schema).validate_document(&node)
    }

    #[test]
    fn valid_config_has_no_errors() {
        let ds = check::<crate::model::StackConfig>(
            "kafka:\n  replicaCount: 3\n  storage:\n    size: 20Gi\n",
        );
        assert!(ds.is_empty(), "{ds:?}");
    }

    #[test]
    fn reports_every_error_with_location() {
        let ds = check::<crate::model::StackConfig>(
            "kafka:\n  replicaCnt: 3\n  numPartitions: -1\n  mode: kraftt\nloki:\n  retention_period: forever\n",
        );
        let got: Vec<String> = ds
            .iter()
            .map(|d| format!("{}:{} {} {}", d.line, d.column, d.path, d.message))
            .collect();
        assert_eq!(
            got,
            [
                "2:3 kafka.replicaCnt unknown key",
                "3:18 kafka.numPartitions value -1 is too small",
                "4:9 kafka.mode invalid value `kraftt`",
                "6:21 loki.retention_period invalid value `forever`",
            ]
        );
        assert_eq!(ds[0].hint.as_deref(), Some("did you mean `replicaCount`?"));
        assert_eq!(ds[2].hint.as_deref(), Some("did you mean `kraft`?"));
    }

    #[test]
    fn list_items_are_named_and_required_checked() {
        let ds = check::<crate::model::StackConfig>(
            "kafka_connect:\n  connects:\n  - type: srccon\n    replicaCount: x\n  - replicaCount: 1\n",
        );
        let got: Vec<String> = ds
            .iter()
            .map(|d| format!("{}:{} {} {}", d.line, d.column, d.path, d.message))
            .collect();
        assert_eq!(
            got,
            [
                "4:19 kafka_connect.connects[srccon].replicaCount wrong type: found string `x`",
                "5:5 kafka_connect.connects[1].type missing required key `type`",
            ]
        );
    }

    #[test]
    fn optional_and_enum_alternatives() {
        let ds = check::<crate::model::Profile>(
            "distribution: minikub\neks:\n  vpc:\n    cidr: 10.0.0.0/99\n",
        );
        let got: Vec<String> = ds
            .iter()
            .map(|d| format!("{}:{} {} {}", d.line, d.column, d.path, d.message))
            .collect();
        assert_eq!(
            got,
            [
                "1:15 distribution invalid value `minikub`",
                "4:11 eks.vpc.cidr invalid value `10.0.0.0/99`"
            ]
        );
    }
}
