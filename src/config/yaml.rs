//! A YAML document as a tree whose every node knows its file, line and column.
//!
//! The schema validator, the merge and the semantic checks all need to say *where* a value
//! came from, so the typed structs are only built from this tree after validation succeeded.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, Severity};

/// Files larger than this are refused before parsing: no real profile or config comes close.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// Where a node was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<Path>,
    pub line: u32,
    pub column: u32,
}

/// A located YAML node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub origin: Origin,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in document order; keys are unique (duplicates are rejected by the parser).
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its own location (unknown-key errors point at the key, not the value).
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub origin: Origin,
}

impl Kind {
    /// The JSON-schema type name of this node, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool(_) => "boolean",
            Kind::Int(_) => "integer",
            Kind::Float(_) => "number",
            Kind::Str(_) => "string",
            Kind::Seq(_) => "list",
            Kind::Map(_) => "mapping",
        }
    }
}

impl Node {
    /// Value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// Key and value under `key` when this node is a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(items) => items,
            _ => &[],
        }
    }

    /// Plain JSON for the typed conversion (locations dropped).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.kind {
            Kind::Null => J::Null,
            Kind::Bool(b) => J::Bool(*b),
            Kind::Int(i) => J::from(*i),
            Kind::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Kind::Str(s) => J::String(s.clone()),
            Kind::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// An empty mapping located at the start of `file` (what an empty document means).
    pub fn empty_map(file: Arc<Path>) -> Node {
        Node {
            origin: Origin {
                file,
                line: 1,
                column: 1,
            },
            kind: Kind::Map(Vec::new()),
        }
    }
}

/// A key written twice in one mapping, which [`parse_lenient`] resolved as helm does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub key: String,
    /// The line of the earlier (discarded) key.
    pub first_line: u32,
    /// The line of the key whose value is kept.
    pub kept_line: u32,
}

thread_local! {
    /// Set only while [`parse_lenient`] runs on this thread: duplicates found so far. The
    /// visitor cannot take arguments, and strict parsing (every other caller) must stay strict.
    static LENIENT: std::cell::RefCell<Option<Vec<Duplicate>>> = const { std::cell::RefCell::new(None) };
}

/// Parse as helm reads a values file (`sigs.k8s.io/yaml` over go-yaml, whose maps keep the
/// last value of a repeated key): a duplicate key takes its last value and is returned, for
/// `alpaka import` to warn about. alpaka's own files go through the strict [`parse`].
pub fn parse_lenient(
    file: &Arc<Path>,
    text: &str,
) -> Result<(Node, Vec<Duplicate>), Box<Diagnostic>> {
    LENIENT.with(|l| *l.borrow_mut() = Some(Vec::new()));
    let parsed = parse(file, text);
    let dups = LENIENT.with(|l| l.borrow_mut().take()).unwrap_or_default();
    parsed.map(|n| (n, dups))
}

/// Parse `text` into a located tree; `file` is the path shown to users.
///
/// An empty document is an empty mapping. Syntax errors, duplicate keys, non-scalar keys and
/// budget breaches (alias bombs, deep nesting) become one error diagnostic.
pub fn parse(file: &Arc<Path>, text: &str) -> Result<Node, Box<Diagnostic>> {
    let err = |line: u32, column: u32, message: String, hint: Option<String>| {
        Box::new(Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line,
            column,
            path: String::new(),
            message,
            expected: None,
            hint,
        })
    };
    if text.len() > MAX_FILE_BYTES {
        return Err(err(
            1,
            1,
            format!("file is larger than {MAX_FILE_BYTES} bytes"),
            None,
        ));
    }
    if let Some((line, column)) = find_tab_indent(text) {
        return Err(err(
            line,
            column,
            "tab character used for indentation".into(),
            Some("YAML indentation must use spaces".into()),
        ));
    }
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    // YAML 1.2 booleans only: `y`, `on`, `no` are strings (a key `y:` must stay `y`).
    options.strict_booleans = true;
    options.null_as_string = true;
    if LENIENT.with(|l| l.borrow().is_some()) {
        // Hand repeated keys to our visitor, which keeps the last and records both lines.
        options.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::PassThrough;
    }
    let mut budget = serde_saphyr::Budget::default();
    // Our files are small: tight limits make hostile input fail fast instead of slow.
    budget.max_depth = 32;
    budget.max_nodes = 100_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_events = 400_000;
    budget.max_total_scalar_bytes = 4 * MAX_FILE_BYTES;
    options.budget = Some(budget);
    let parsed: Result<Option<Spanned<Raw>>, serde_saphyr::Error> =
        serde_saphyr::from_str_with_options(text, options);
    match parsed {
        Ok(Some(root)) => Ok(locate(root, file)),
        Ok(None) => Ok(Node::empty_map(file.clone())),
        Err(e) => {
            let (line, column) = e
                .location()
                .map(|l| (clamp(l.line()), clamp(l.column())))
                .unwrap_or((1, 1));
            let (line, column) = if line == 0 {
                (1, 1)
            } else {
                (line, column.max(1))
            };
            Err(err(line, column, clean_message(&e), None))
        }
    }
}

fn clamp(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// The parser's message without the location it appends (we print our own), in our words
/// where the parser's are about its API rather than the user's file.
fn clean_message(e: &serde_saphyr::Error) -> String {
    let full = e.to_string();
    let first = full.lines().next().unwrap_or("").trim();
    let trimmed = match first.find(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    let msg = trimmed.trim().trim_end_matches(':').trim();
    if let Some(rest) = msg.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return format!("invalid YAML: duplicate key `{key}`");
    }
    if let Some(detail) = msg.strip_prefix("budget breached: ") {
        return format!(
            "YAML exceeds the loader's limits (alias expansion, node count or nesting depth): {detail}"
        );
    }
    if msg.is_empty() {
        "invalid YAML".into()
    } else {
        format!("invalid YAML: {msg}")
    }
}

/// YAML forbids tabs in indentation; the parser's own message for it is cryptic, so find it first.
fn find_tab_indent(text: &str) -> Option<(u32, u32)> {
    for (i, line) in text.lines().enumerate() {
        let indent: String = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if let Some(col) = indent.chars().position(|c| c == '\t') {
            // A tab before a comment-only or empty line is harmless.
            let rest = line.trim_start_matches([' ', '\t']);
            if rest.is_empty() || rest.starts_with('#') {
                continue;
            }
            return Some((clamp(i as u64 + 1), clamp(col as u64 + 1)));
        }
    }
    None
}

fn locate(spanned: Spanned<Raw>, file: &Arc<Path>) -> Node {
    let origin = origin_of(&spanned, file);
    let kind = match spanned.value {
        Raw::Null => Kind::Null,
        Raw::Bool(b) => Kind::Bool(b),
        Raw::Int(i) => Kind::Int(i),
        Raw::Float(f) => Kind::Float(f),
        Raw::Str(s) => Kind::Str(s),
        Raw::Seq(items) => Kind::Seq(items.into_iter().map(|n| locate(n, file)).collect()),
        Raw::Map(entries) => Kind::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = Key {
                        origin: origin_of(&k, file),
                        name: k.value.0,
                    };
                    (key, locate(v, file))
                })
                .collect(),
        ),
    };
    Node { origin, kind }
}

fn origin_of<T>(s: &Spanned<T>, file: &Arc<Path>) -> Origin {
    Origin {
        file: file.clone(),
        line: clamp(s.referenced.line()).max(1),
        column: clamp(s.referenced.column()).max(1),
    }
}

/// The untyped shape serde-saphyr hands us; children are `Spanned` so each keeps its location.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<RawKey>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        i64::try_from(v)
            .map(Raw::Int)
            .map_err(|_| E::custom("integer is too large"))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Raw, E> {
        i64::try_from(v)
            .map(Raw::Int)
            .map_err(|_| E::custom("integer is too large"))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
        i64::try_from(v)
            .map(Raw::Int)
            .map_err(|_| E::custom("integer is too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Raw, E> {
        String::from_utf8(v.to_vec())
            .map(Raw::Str)
            .map_err(|_| E::custom("binary values are not supported"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries: Vec<(Spanned<RawKey>, Spanned<Raw>)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<RawKey>>()? {
            let value = map.next_value::<Spanned<Raw>>()?;
            if let Some(i) = entries.iter().position(|(k, _)| k.value.0 == key.value.0) {
                let lenient = LENIENT.with(|l| {
                    l.borrow_mut().as_mut().map(|d| {
                        d.push(Duplicate {
                            key: key.value.0.clone(),
                            first_line: clamp(entries[i].0.referenced.line()),
                            kept_line: clamp(key.referenced.line()),
                        });
                    })
                });
                if lenient.is_some() {
                    entries[i] = (key, value);
                    continue;
                }
                let first = &entries[i].0;
                // The parser's own duplicate check does not see keys through our visitor.
                return Err(de::Error::custom(format!(
                    "duplicate key `{}` (first defined at line {})",
                    key.value.0,
                    first.referenced.line(),
                )));
            }
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}

/// A mapping key: any scalar, kept as its text.
struct RawKey(String);

impl<'de> Deserialize<'de> for RawKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // As a string: keys keep their spelling (`1.10:` stays `1.10`, not 1.1).
        d.deserialize_string(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = RawKey;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar mapping key")
    }
    fn visit_unit<E>(self) -> Result<RawKey, E> {
        Ok(RawKey("null".into()))
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawKey, E> {
        Ok(RawKey(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawKey, E> {
        Ok(RawKey(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawKey, E> {
        Ok(RawKey(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawKey, E> {
        Ok(RawKey(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawKey, E> {
        Ok(RawKey(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawKey, E> {
        Ok(RawKey(v))
    }
}
