//! Kafka Connect connector rendering: the rules of the original Helm chart, as a pure function.
//!
//! Input: one connect type (`srccon`, `sinkcon`, …) with its variables (`values`) and its
//! connector groups; each group has variables, a `common` config and connectors with their own
//! `config`. Output: per connector its final name and its config, every value a string (the form
//! Kafka Connect's REST API wants), sensitive ones as [`Value::Secret`].
//!
//! Rules (seed chart, with the deliberate differences marked *alpaka*):
//! - variables: connect `values` < group `values`, nearest wins. Maps merge deeply (as Helm's and
//!   sprig's `merge` do), so a group can override `db.host` and keep the connect's `db.port`.
//! - config: group `common` < connector `config`, the connector wins (flat: config keys are
//!   dotted strings such as `connection.url`).
//! - every string config value is a Go `text/template` evaluated with `.Values` = the merged
//!   variables. Supported: `{{ .Values.name }}`, `{{ .Values.a.b }}`, trim markers `{{-` / `-}}`
//!   (Go semantics: all adjacent spaces, tabs and newlines), comments `{{/* … */}}` (which must
//!   touch the delimiters, as in Go), and string literals `{{ "{{" }}` / ``{{ `{{` }}`` (Go's way
//!   of writing a literal `{{`). Anything else (functions, pipelines, `if`, `range`, …) is an
//!   error saying what is supported. Text without `{{` is taken as is.
//! - *alpaka*: an undefined variable is an error (Go prints `<no value>`), naming connect type,
//!   group, connector, key and variable, with the defined names and a "did you mean".
//!   A variable holding a map, a list or null, used in a template, is an error too.
//! - numbers and booleans become strings: integers as written (`3306`; *alpaka*: Helm parsed every
//!   number as a float and printed `1e+06` for a million), floats as Go's `%v` prints them
//!   (`1.5`, `1e+06`, `1e-05`), booleans `true` / `false`.
//! - *alpaka*: a `null` config value is an error (write `""` for an empty string, or drop the
//!   key): silently sending an empty string, or the text `<nil>`, would hide a config mistake.
//!   A list or map as a config value is an error (Connect config values are flat strings).
//! - the connector name is `<type>-<group>-<name>` (*alpaka*: the chart also kept a `.sh`
//!   suffix by accident). Two connectors with the same final name, empty name parts, and parts
//!   containing `/`, control characters or surrounding spaces are errors (the name goes into the
//!   REST path `/connectors/<name>/config`). A config key `name` must equal the final name (Connect
//!   refuses anything else).
//! - *alpaka*, sensitivity: see [`is_sensitive_key`] and [`is_sensitive_var`]. A value whose key
//!   looks secret, or whose template uses a variable whose name looks secret, renders to
//!   [`Value::Secret`], so a password interpolated into a URL never leaks into plan or state.
//!   Error messages never quote config values of such keys.
//!
//! All errors are collected, not only the first one: [`render_connect`] returns every problem of
//! every connector of a connect type.

use std::collections::BTreeMap;
use std::fmt;

use crate::engine::Value;

/// Variables, or a config block: a YAML mapping as parsed.
pub type Vars = BTreeMap<String, serde_json::Value>;

/// One entry of `kafka_connect.connects[]`, reduced to what rendering needs.
#[derive(Clone, Debug)]
pub struct ConnectSpec<'a> {
    pub connect_type: &'a str,
    pub values: &'a Vars,
    pub groups: Vec<GroupSpec<'a>>,
}

/// One entry of `connector_groups[]`.
#[derive(Clone, Debug)]
pub struct GroupSpec<'a> {
    pub name: &'a str,
    pub values: &'a Vars,
    pub common: &'a Vars,
    pub connectors: Vec<ConnectorSpec<'a>>,
}

/// One entry of a group's `connectors[]`.
#[derive(Clone, Debug)]
pub struct ConnectorSpec<'a> {
    pub name: &'a str,
    pub config: &'a Vars,
}

/// A connector ready to register: its final name and its config, every value a
/// [`Value::Str`] or a [`Value::Secret`].
#[derive(Clone, Debug, PartialEq)]
pub struct RenderedConnector {
    pub connect_type: String,
    pub group: String,
    /// The short name, as written in the config.
    pub name: String,
    /// `<type>-<group>-<name>`: the name Kafka Connect knows it by.
    pub full_name: String,
    pub config: BTreeMap<String, Value>,
}

/// One problem with one config value (or, with an empty `key`, with a connector's name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderError {
    pub connect_type: String,
    pub group: String,
    pub connector: String,
    pub key: String,
    pub message: String,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connect {}", self.connect_type)?;
        if !self.group.is_empty() {
            write!(f, ", group {}", self.group)?;
        }
        if !self.connector.is_empty() {
            write!(f, ", connector {}", self.connector)?;
        }
        if !self.key.is_empty() {
            write!(f, ", key {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for RenderError {}

/// The result of [`render_template`]: the text, and the variables it used (dotted paths below
/// `.Values`, e.g. `db_host` or `db.host`, each once, in order of first use).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub used_vars: Vec<String>,
}

/// Where in a template text: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    fn of(text: &str, byte: usize) -> Pos {
        let before = &text[..byte];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Pos {
            line,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 1 {
            write!(f, "column {}", self.column)
        } else {
            write!(f, "line {}, column {}", self.line, self.column)
        }
    }
}

const SUPPORTED: &str = "supported are `{{ .Values.name }}`, `{{ .Values.a.b }}`, trim markers \
`{{-` / `-}}`, comments `{{/* … */}}` and string literals like `{{ \"{{\" }}`";

/// Why a template could not be rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateError {
    /// `{{` without a closing `}}`.
    Unterminated { at: Pos },
    /// `{{/*` without `*/`.
    UnclosedComment { at: Pos },
    /// A comment that does not touch the delimiters (`{{ /* x */ }}`, `{{/* x */ y }}`).
    CommentNotAtDelimiters { at: Pos },
    /// Anything but a variable reference, a comment or a string literal. `action` is the text
    /// between the braces (empty when redacted).
    Unsupported {
        at: Pos,
        action: String,
        hint: Option<String>,
    },
    /// `.Values.<path>` names nothing. `defined` lists the names at the level where the lookup
    /// failed.
    Undefined {
        var: String,
        defined: Vec<String>,
        suggestion: Option<String>,
    },
    /// `.Values.a.b` where `.Values.a` is a string, number, …: it has no fields.
    NotAMap {
        var: String,
        kind: &'static str,
        field: String,
    },
    /// A variable holding a map, a list or null cannot be printed into a string.
    NotPrintable { var: String, kind: &'static str },
}

impl TemplateError {
    /// The same error without any text copied from the template (for values of secret keys).
    pub fn redacted(self) -> TemplateError {
        match self {
            TemplateError::Unsupported { at, hint, .. } => TemplateError::Unsupported {
                at,
                action: String::new(),
                hint,
            },
            other => other,
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Unterminated { at } => {
                write!(f, "unterminated `{{{{` at {at}: no matching `}}}}`")
            }
            TemplateError::UnclosedComment { at } => {
                write!(f, "unclosed comment `{{{{/*` at {at}: no matching `*/}}}}`")
            }
            TemplateError::CommentNotAtDelimiters { at } => write!(
                f,
                "comment at {at} must touch the delimiters, as in Go: `{{{{/* … */}}}}` or \
                 `{{{{- /* … */ -}}}}`"
            ),
            TemplateError::Unsupported { at, action, hint } => {
                if action.is_empty() {
                    write!(f, "unsupported template action at {at}")?;
                } else {
                    write!(f, "unsupported template action `{{{{{action}}}}}` at {at}")?;
                }
                if let Some(hint) = hint {
                    write!(f, " ({hint})")?;
                }
                write!(f, "; {SUPPORTED}")
            }
            TemplateError::Undefined {
                var,
                defined,
                suggestion,
            } => {
                write!(f, "undefined variable `{var}` (")?;
                if defined.is_empty() {
                    f.write_str("no variables are defined")?;
                } else {
                    const SHOWN: usize = 12;
                    f.write_str("defined: ")?;
                    f.write_str(
                        &defined
                            .iter()
                            .take(SHOWN)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", "),
                    )?;
                    if defined.len() > SHOWN {
                        f.write_str(", …")?;
                    }
                }
                if let Some(s) = suggestion {
                    write!(f, "; did you mean `{s}`?")?;
                }
                f.write_str(")")
            }
            TemplateError::NotAMap { var, kind, field } => {
                write!(
                    f,
                    "`{var}` is {kind}, not a map, so it has no field `{field}`"
                )
            }
            TemplateError::NotPrintable { var, kind } => write!(
                f,
                "variable `{var}` is {kind}; only strings, numbers and booleans can be used in a \
                 template"
            ),
        }
    }
}

impl std::error::Error for TemplateError {}

/// Go's whitespace for trim markers.
fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Evaluate a Go text/template subset (see the module doc) with `.Values` = `vars`.
pub fn render_template(text: &str, vars: &Vars) -> Result<Rendered, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut used_vars: Vec<String> = Vec::new();
    // Byte index of the first character not yet consumed.
    let mut pos = 0;
    // The previous action ended with `-}}`: trim the start of the next text.
    let mut trim_next = false;
    loop {
        let Some(rel) = text[pos..].find("{{") else {
            let tail = &text[pos..];
            out.push_str(if trim_next {
                tail.trim_start_matches(is_go_space)
            } else {
                tail
            });
            return Ok(Rendered {
                text: out,
                used_vars,
            });
        };
        let open = pos + rel;
        let mut lit = &text[pos..open];
        if trim_next {
            lit = lit.trim_start_matches(is_go_space);
        }
        let mut inner_start = open + 2;
        let after_open = &text[inner_start..];
        if after_open.starts_with('-') && after_open[1..].starts_with(is_go_space) {
            lit = lit.trim_end_matches(is_go_space);
            inner_start += 2;
        }
        out.push_str(lit);

        if text[inner_start..].starts_with("/*") {
            let body = inner_start + 2;
            let Some(end_rel) = text[body..].find("*/") else {
                return Err(TemplateError::UnclosedComment {
                    at: Pos::of(text, open),
                });
            };
            let end = body + end_rel + 2;
            let (next, trim) = match right_delim(&text[end..]) {
                Some((len, trim)) => (end + len, trim),
                None => {
                    return Err(TemplateError::CommentNotAtDelimiters {
                        at: Pos::of(text, open),
                    });
                }
            };
            pos = next;
            trim_next = trim;
            continue;
        }

        let (inner_end, delim_len, trim) =
            scan_action(text, inner_start).ok_or(TemplateError::Unterminated {
                at: Pos::of(text, open),
            })?;
        let inner = &text[inner_start..inner_end];
        let at = Pos::of(text, open);
        let piece = eval_action(inner, vars, at, &mut used_vars)?;
        out.push_str(&piece);
        pos = inner_end + delim_len;
        trim_next = trim;
    }
}

/// At `s`: `}}` (length 2, no trim) or `<space>-}}` (length 4, trim).
fn right_delim(s: &str) -> Option<(usize, bool)> {
    if s.starts_with("}}") {
        return Some((2, false));
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_go_space(c) && chars.as_str().starts_with("-}}") => Some((1 + 3, true)),
        _ => None,
    }
}

/// Find the end of an action starting at byte `start` (after `{{` and any left trim marker),
/// skipping over quoted strings. Returns (end of the action's text, length of the closing
/// delimiter, right trim?).
fn scan_action(text: &str, start: usize) -> Option<(usize, usize, bool)> {
    let bytes = text.as_bytes();
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    i += 1;
                }
                i += 1;
            }
            b'}' if text[i..].starts_with("}}") => return Some((i, 2, false)),
            c if is_go_space(c as char) && text[i + 1..].starts_with("-}}") => {
                return Some((i, 4, true));
            }
            _ => i += 1,
        }
    }
    None
}

/// One action's text (between the delimiters and trim markers) → its output.
fn eval_action(
    inner: &str,
    vars: &Vars,
    at: Pos,
    used: &mut Vec<String>,
) -> Result<String, TemplateError> {
    let action = inner.trim_matches(is_go_space);
    let unsupported = |hint: Option<&str>| TemplateError::Unsupported {
        at,
        action: inner.to_string(),
        hint: hint.map(str::to_string),
    };
    if action.is_empty() {
        return Err(unsupported(Some("empty action")));
    }
    if action.starts_with('"') || action.starts_with('`') {
        return parse_string_literal(action)
            .ok_or_else(|| unsupported(Some("malformed string literal")));
    }
    if action.starts_with("/*") || action.ends_with("*/") {
        return Err(TemplateError::CommentNotAtDelimiters { at });
    }
    let Some(path) = action.strip_prefix(".Values") else {
        let hint = if action.starts_with('.') || action.starts_with('$') {
            Some("variables are read from `.Values`")
        } else {
            None
        };
        return Err(unsupported(hint));
    };
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        let Some(after_dot) = rest.strip_prefix('.') else {
            return Err(unsupported(Some(
                "after `.Values` only `.name` fields may follow: no functions, pipes or arguments",
            )));
        };
        let len = after_dot
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after_dot.len());
        let name = &after_dot[..len];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(unsupported(Some(
                "a field name is letters, digits and `_`, not starting with a digit; other names \
                 are not reachable with `.Values.name`",
            )));
        }
        segments.push(name);
        rest = &after_dot[len..];
    }
    let value = lookup(vars, &segments)?;
    let var = format!(".Values{path}");
    let printed = match value {
        Lookup::Top => {
            return Err(TemplateError::NotPrintable {
                var,
                kind: "the map of all variables",
            });
        }
        Lookup::Found(v) => {
            print_scalar(v).map_err(|kind| TemplateError::NotPrintable { var, kind })?
        }
    };
    let dotted = segments.join(".");
    if !used.contains(&dotted) {
        used.push(dotted);
    }
    Ok(printed)
}

enum Lookup<'v> {
    Top,
    Found(&'v serde_json::Value),
}

fn lookup<'v>(vars: &'v Vars, segments: &[&str]) -> Result<Lookup<'v>, TemplateError> {
    let Some((first, rest)) = segments.split_first() else {
        return Ok(Lookup::Top);
    };
    let mut current = match vars.get(*first) {
        Some(v) => v,
        None => return Err(undefined(&segments[..1], vars.keys())),
    };
    for (i, seg) in rest.iter().enumerate() {
        let map = match current {
            serde_json::Value::Object(m) => m,
            other => {
                return Err(TemplateError::NotAMap {
                    var: format!(".Values.{}", segments[..=i].join(".")),
                    kind: kind_of(other),
                    field: (*seg).to_string(),
                });
            }
        };
        current = match map.get(*seg) {
            Some(v) => v,
            None => return Err(undefined(&segments[..i + 2], map.keys())),
        };
    }
    Ok(Lookup::Found(current))
}

fn undefined<'k>(path: &[&str], keys: impl Iterator<Item = &'k String>) -> TemplateError {
    let mut defined: Vec<String> = keys.cloned().collect();
    defined.sort();
    let missing = path.last().copied().unwrap_or_default();
    TemplateError::Undefined {
        var: format!(".Values.{}", path.join(".")),
        suggestion: did_you_mean(missing, &defined),
        defined,
    }
}

/// The closest defined name, if close enough to be a plausible typo.
fn did_you_mean(missing: &str, defined: &[String]) -> Option<String> {
    let lower = missing.to_lowercase();
    if let Some(same) = defined.iter().find(|d| d.to_lowercase() == lower) {
        return Some(same.clone());
    }
    let len = missing.chars().count();
    let max = (len / 3).max(1);
    defined
        .iter()
        .map(|d| (edit_distance(&lower, &d.to_lowercase()), d))
        .filter(|(dist, _)| *dist <= max && *dist < len)
        .min_by_key(|(dist, _)| *dist)
        .map(|(_, d)| d.clone())
}

/// Optimal string alignment distance: insertions, deletions, substitutions and transpositions
/// of neighbours each cost 1.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// A Go string literal: backquoted raw, or double-quoted with Go's escapes.
fn parse_string_literal(s: &str) -> Option<String> {
    if let Some(raw) = s.strip_prefix('`') {
        let body = raw.strip_suffix('`')?;
        return (!body.contains('`')).then(|| body.replace('\r', ""));
    }
    let body = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\n' => return None,
            '\\' => {
                let e = chars.next()?;
                let code = |n: usize, chars: &mut std::str::Chars| -> Option<char> {
                    let hex: String = chars.by_ref().take(n).collect();
                    if hex.len() != n {
                        return None;
                    }
                    char::from_u32(u32::from_str_radix(&hex, 16).ok()?)
                };
                out.push(match e {
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\u{b}',
                    '\\' => '\\',
                    '"' => '"',
                    // Go's \x is a byte; only ASCII bytes make a character on their own.
                    'x' => code(2, &mut chars).filter(char::is_ascii)?,
                    'u' => code(4, &mut chars)?,
                    'U' => code(8, &mut chars)?,
                    _ => return None,
                });
            }
            c => out.push(c),
        }
    }
    Some(out)
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a map",
    }
}

/// A scalar as Connect gets it; `Err(kind)` for null, lists and maps.
fn print_scalar(v: &serde_json::Value) -> Result<String, &'static str> {
    match v {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        serde_json::Value::Number(n) => Ok(if let Some(i) = n.as_i64() {
            i.to_string()
        } else if let Some(u) = n.as_u64() {
            u.to_string()
        } else {
            go_float(n.as_f64().unwrap_or(f64::NAN))
        }),
        other => Err(kind_of(other)),
    }
}

/// A float as Go's `%v` prints it (`strconv.FormatFloat(x, 'g', -1, 64)`): the shortest digits
/// that round-trip; exponent form when the decimal exponent is < -4 or >= 6 (Go uses precision 6
/// for that decision when printing shortest), with a sign and at least two exponent digits
/// (`1e+06`, `1.5e-05`); `NaN`, `+Inf`, `-Inf`.
pub fn go_float(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the same shortest round-trip digits: "-1.234567e6", "1e-5".
    let sci = format!("{x:e}");
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    if (-4..6).contains(&exp) {
        // Rust's `{}` prints the same shortest digits in positional form.
        return format!("{x}");
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
}

/// Does this config key name a secret? Case-insensitive: contains `password`, `secret`, `token`
/// or `credential`, or ends with `.key`, `apikey`, `api_key` or `jaas.config` (a JAAS config
/// embeds the password; Kafka types `sasl.jaas.config` as a password).
pub fn is_sensitive_key(key: &str) -> bool {
    let k = key.to_lowercase();
    ["password", "secret", "token", "credential"]
        .iter()
        .any(|w| k.contains(w))
        || [".key", "apikey", "api_key", "jaas.config"]
            .iter()
            .any(|s| k.ends_with(s))
}

/// Does this variable (dotted path below `.Values`) hold a secret? True if any segment is a
/// sensitive key name ([`is_sensitive_key`]), contains `pass` (`db_pass`, `passwd`,
/// `passphrase`), or ends with `access_key` or `private_key`.
pub fn is_sensitive_var(path: &str) -> bool {
    path.split('.').any(|seg| {
        let s = seg.to_lowercase();
        is_sensitive_key(&s)
            || s.contains("pass")
            || s.ends_with("access_key")
            || s.ends_with("private_key")
    })
}

/// Deep merge: `over` wins; maps present on both sides merge key by key.
fn merge_vars(base: &Vars, over: &Vars) -> Vars {
    let mut out = base.clone();
    for (k, v) in over {
        match (out.get_mut(k), v) {
            (Some(serde_json::Value::Object(b)), serde_json::Value::Object(o)) => {
                merge_json_maps(b, o)
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

fn merge_json_maps(
    base: &mut serde_json::Map<String, serde_json::Value>,
    over: &serde_json::Map<String, serde_json::Value>,
) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(serde_json::Value::Object(b)), serde_json::Value::Object(o)) => {
                merge_json_maps(b, o)
            }
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Why a connector name part is unusable, if it is.
fn bad_name_part(what: &str, part: &str) -> Option<String> {
    if part.is_empty() {
        Some(format!("{what} is empty"))
    } else if part.trim() != part {
        Some(format!("{what} `{part}` has leading or trailing spaces"))
    } else if part.contains('/') || part.chars().any(char::is_control) {
        Some(format!(
            "{what} `{}` contains `/` or a control character; connector names go into the REST \
             path `/connectors/<name>`",
            part.escape_debug()
        ))
    } else {
        None
    }
}

/// Render every connector of one connect type. Either all connectors, or every error found.
pub fn render_connect(spec: &ConnectSpec) -> Result<Vec<RenderedConnector>, Vec<RenderError>> {
    let mut errors = Vec::new();
    let mut rendered = Vec::new();
    // full name → (group, connector) that first produced it.
    let mut names: BTreeMap<String, (String, String)> = BTreeMap::new();
    let err = |group: &str, connector: &str, key: &str, message: String| RenderError {
        connect_type: spec.connect_type.to_string(),
        group: group.to_string(),
        connector: connector.to_string(),
        key: key.to_string(),
        message,
    };

    if let Some(m) = bad_name_part("the connect type", spec.connect_type) {
        errors.push(err("", "", "", m));
    }
    for group in &spec.groups {
        if let Some(m) = bad_name_part("the group name", group.name) {
            errors.push(err(group.name, "", "", m));
        }
        let vars = merge_vars(spec.values, group.values);
        for connector in &group.connectors {
            let e = |key: &str, message: String| err(group.name, connector.name, key, message);
            let before = errors.len();
            if let Some(m) = bad_name_part("the connector name", connector.name) {
                errors.push(e("", m));
            }
            let full_name = format!("{}-{}-{}", spec.connect_type, group.name, connector.name);
            if let Some((g, c)) = names.get(&full_name) {
                errors.push(e(
                    "",
                    format!(
                        "connector name `{full_name}` is already produced by group {g}, \
                         connector {c}; names must be unique"
                    ),
                ));
            } else {
                names.insert(
                    full_name.clone(),
                    (group.name.to_string(), connector.name.to_string()),
                );
            }

            let mut merged: BTreeMap<&String, &serde_json::Value> = group.common.iter().collect();
            merged.extend(connector.config.iter());
            let mut config = BTreeMap::new();
            for (key, raw) in merged {
                let key_secret = is_sensitive_key(key);
                let (text, secret) = match raw {
                    serde_json::Value::String(s) => match render_template(s, &vars) {
                        Ok(r) => {
                            let secret =
                                key_secret || r.used_vars.iter().any(|v| is_sensitive_var(v));
                            (r.text, secret)
                        }
                        Err(t) => {
                            let t = if key_secret { t.redacted() } else { t };
                            errors.push(e(key, t.to_string()));
                            continue;
                        }
                    },
                    serde_json::Value::Null => {
                        errors.push(e(
                            key,
                            "value is null; Kafka Connect config values are strings: write \"\" \
                             for an empty string, or remove the key"
                                .into(),
                        ));
                        continue;
                    }
                    serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                        errors.push(e(
                            key,
                            format!(
                                "value is {}; Kafka Connect config values are flat strings (write \
                                 nested settings as dotted keys, e.g. `{key}.sub: value`, and \
                                 lists as comma-separated strings)",
                                kind_of(raw)
                            ),
                        ));
                        continue;
                    }
                    scalar => match print_scalar(scalar) {
                        Ok(t) => (t, key_secret),
                        Err(kind) => {
                            errors.push(e(key, format!("value is {kind}")));
                            continue;
                        }
                    },
                };
                if key == "name" && text != full_name {
                    errors.push(e(
                        key,
                        format!(
                            "config `name` must be the connector's name `{full_name}` (Kafka \
                             Connect refuses a different one); remove the key"
                        ),
                    ));
                    continue;
                }
                let value = if secret {
                    Value::secret(text)
                } else {
                    Value::Str(text)
                };
                config.insert(key.clone(), value);
            }
            if errors.len() == before {
                rendered.push(RenderedConnector {
                    connect_type: spec.connect_type.to_string(),
                    group: group.name.to_string(),
                    name: connector.name.to_string(),
                    full_name,
                    config,
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(rendered)
    } else {
        Err(errors)
    }
}
