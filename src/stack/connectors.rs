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
    crate::suggest::closest(missing, defined.iter().map(String::as_str)).map(str::to_owned)
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

/// The connector's name: `<type>-<group>-<name>` as the original chart named it, made a
/// Kubernetes object name. Strimzi names the Connect connector after the KafkaConnector's
/// `metadata.name`, which the API server requires to be a lowercase RFC 1123 subdomain (found
/// against the real kube-apiserver: `srccon-mydb_log-log1` is refused with a 422). So `_`
/// becomes `-` and letters are lowercased; two connectors that then collide are refused by the
/// caller's uniqueness check.
pub fn object_name(connect_type: &str, group: &str, name: &str) -> Result<String, String> {
    let raw = format!("{connect_type}-{group}-{name}");
    let n: String = raw
        .chars()
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let valid_chars = n
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = n.starts_with(|c: char| c.is_ascii_alphanumeric())
        && n.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid_chars || !ends_ok || n.len() > 253 {
        return Err(format!(
            "connector name `{raw}` cannot be a Kubernetes object name (Strimzi's KafkaConnector): \
             use letters, digits, `-`, `_` or `.` in the connect type, group and connector names, \
             starting and ending with a letter or digit, 253 characters at most"
        ));
    }
    Ok(n)
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
            let full_name = match object_name(spec.connect_type, group.name, connector.name) {
                Ok(n) => n,
                Err(m) => {
                    // One error per bad name: a part already refused says it better.
                    if errors.len() == before {
                        errors.push(e("", m));
                    }
                    continue;
                }
            };
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // ---- helpers: the config model's shape, owned, built from parsed YAML ----

    struct OwnedConnect {
        connect_type: String,
        values: Vars,
        groups: Vec<OwnedGroup>,
    }

    struct OwnedGroup {
        name: String,
        values: Vars,
        common: Vars,
        connectors: Vec<(String, Vars)>,
    }

    fn vars_of(v: Option<&serde_json::Value>) -> Vars {
        v.and_then(|v| v.as_object())
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    fn str_of(v: &serde_json::Value, key: &str) -> String {
        v.get(key)
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_string()
    }

    impl OwnedConnect {
        /// One entry of `connects`; `default_type` where the entry has no `type`.
        fn from_json(c: &serde_json::Value, default_type: &str) -> OwnedConnect {
            let groups = c["connector_groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| OwnedGroup {
                    name: str_of(g, "name"),
                    values: vars_of(g.get("values")),
                    common: vars_of(g.get("common")),
                    connectors: g["connectors"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|k| (str_of(k, "name"), vars_of(k.get("config"))))
                        .collect(),
                })
                .collect();
            let t = c
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or(default_type);
            OwnedConnect {
                connect_type: t.to_string(),
                values: vars_of(c.get("values")),
                groups,
            }
        }

        fn spec(&self) -> ConnectSpec<'_> {
            ConnectSpec {
                connect_type: &self.connect_type,
                values: &self.values,
                groups: self
                    .groups
                    .iter()
                    .map(|g| GroupSpec {
                        name: &g.name,
                        values: &g.values,
                        common: &g.common,
                        connectors: g
                            .connectors
                            .iter()
                            .map(|(name, config)| ConnectorSpec { name, config })
                            .collect(),
                    })
                    .collect(),
            }
        }
    }

    fn yaml(text: &str) -> serde_json::Value {
        serde_saphyr::from_str(text).unwrap()
    }

    fn vars(v: serde_json::Value) -> Vars {
        vars_of(Some(&v))
    }

    /// One connect `t`, one group per `(group, values, common, connectors)`.
    fn connect(t: &str, values: serde_json::Value, groups: serde_json::Value) -> OwnedConnect {
        let mut c = json!({ "type": t, "values": values, "connector_groups": groups });
        for g in c["connector_groups"].as_array_mut().unwrap() {
            g.as_object_mut()
                .unwrap()
                .entry("connectors")
                .or_insert(json!([]));
        }
        OwnedConnect::from_json(&c, t)
    }

    /// Render a single connector's config with the given variables.
    fn one(
        values: serde_json::Value,
        config: serde_json::Value,
    ) -> Result<RenderedConnector, Vec<RenderError>> {
        let c = connect(
            "srccon",
            values,
            json!([{ "name": "g", "connectors": [{ "name": "c", "config": config }] }]),
        );
        render_connect(&c.spec()).map(|mut v| v.remove(0))
    }

    fn messages(r: Result<RenderedConnector, Vec<RenderError>>) -> Vec<String> {
        r.unwrap_err().iter().map(ToString::to_string).collect()
    }

    fn tpl(text: &str, v: serde_json::Value) -> Result<String, TemplateError> {
        render_template(text, &vars(v)).map(|r| r.text)
    }

    // ---- the seed README examples ----

    /// The README's srccon example ("카프카 커넥트 설정"), verbatim: it is valid YAML as written.
    const SEED_SRCCON: &str = r#"
kafka_connect:
  enabled: true       # 커넥트를 사용하면 true.
  # 커넥트 정보
  connects:           # 이 블록아래 커넥트를 종류별로 기술 
  - type: srccon        # 커넥트 타입 정보. 여기서는 JDBC 소스 커넥터 타입 
    replicaCount: 1      # 커넥트 파드 수
    # 컨테이너 정보 
    container:                     
      image: "haje01/kafka-srccon"   # 컨테이너 이미지 
      tag: 0.0.5                     # 이미지 태그 
      pullPolicy: IfNotPresent       # 이지미 풀 정책 
    timezone: Asia/Seoul # 커넥트 파드의 타임존 
    # 커넥트 레벨에서 공유될 변수 값 리스트 
    values:                    
      db_host: mysql-db-addr      # DBMS 호스트 주소
      db_port: 3306               # DBMS 접속 포트
      db_name: mydb               # DB 이름 
      db_user: myuser             # DB 유저
      db_pass: mypass             # DB 유저 암호 
    # 커넥터 그룹 리스트 
    connector_groups:          
    # DB 내 로그성 테이블을 가져오기 위한 커넥터 그룹 
    - name: mydb_log  # 커넥터 그룹 이름 
      # 그룹내 커넥터 공통 설정
      common:
        connector.class: io.confluent.connect.jdbc.JdbcSourceConnector    # 커넥터 클래스 
        tasks.max: "1"   # 커넥터 동시성 수 
        connection.url: "jdbc:mysql://{{ .Values.db_host }}:{{ .Values.db_port }};databaseName={{ .Values.db_name }}" # 커넥터 접속 URL
        connection.password: "{{ .Values.db_pass }}"  # DB 유저 암호
        mode: incrementing  # 소스 커넥터의 동작 모드 
        incrementing.column.name: id  # incrementing 동작 기준 컬럼 
      # 커넥터별 설정 
      connectors:
      - name: "log1"   # 커넥터 이름. 여기서는 대상 DB 테이블 이름과 같게 하였음 
        config:
          topic.prefix: log1  # 카프카 토픽 접두사 
          query: "SELECT * FROM log1"  # 데이터를 가져올 쿼리문
      - name: "log2"
        config:
          topic.prefix: log2
          query: "SELECT * FROM log2"
    # DB 내 코드 테이블을 가져오기 위한 커넥터 그룹 
    - name: mydb_code  # 커넥터 그룹 이름 
      # 커넥터별 설정 
      connectors:
      # C_Code
      - name: "code"
        config:
          connector.class: io.confluent.connect.jdbc.JdbcSourceConnector    # 커넥터 클래스 
          tasks.max: "1"   # 커넥터 동시성 수 
          connection.url: "jdbc:mysql://{{ .Values.db_host }}:{{ .Values.db_port }};databaseName={{ .Values.db_name }}" # 커넥터 접속 URL
          connection.password: "{{ .Values.db_pass }}"  # DB 유저 암호
          mode: "bulk"        # 소스 커넥터의 동작 모드 
          topic.prefix: code  # 카프카 토픽 접두사 
          query: |            # 데이터를 가져올 쿼리문
            SELECT 
              CURRENT_TIMESTAMP() AS regtime,
              code, desc
            FROM code
"#;

    /// The README's srccon example renders as its templates say.
    ///
    /// Discrepancies between this and the README's documented output (the generated `.sh`
    /// scripts), each a README/chart error, not ours:
    /// 1. `"name": "srccon-mydb_log-log1.sh"`: the chart kept the script's `.sh` suffix in the
    ///    connector name; the name is `srccon-mydb_log-log1`, made an object name `srccon-mydb-log-log1`.
    /// 2. `connection.url` is documented as `jdbc:mysql://mysql-db-addr;databaseName=mydb`, without
    ///    the `:3306` that the template `…{{ .Values.db_host }}:{{ .Values.db_port }}…` produces.
    /// 3. `query` is documented as `"SELECT * FROM log1\n"` (and log2): the YAML value is a
    ///    double-quoted scalar without a newline; the chart's shell generation added the `\n`.
    /// 4. The `code` query is documented ending in `"FROM code\n\n"`: the literal block scalar
    ///    (`|`, clip chomping) ends in exactly one `\n`; the second one is the chart's too.
    /// 5. `connection.password` is printed in plaintext in the script (and the ConfigMap); here it
    ///    is a `Value::Secret` (as is nothing else: the URL uses no secret variable).
    ///
    /// Not discrepancies of rendering, but of the example itself: `;databaseName=` is SQL
    /// Server's JDBC URL syntax (MySQL's is `jdbc:mysql://host:port/db`), and `desc` is a MySQL
    /// reserved word, so the `code` query would not run as written. The README's structure sketch
    /// before the example also indents `connector_groups` as a sibling of the connect list item
    /// instead of a key inside it.
    #[test]
    fn seed_readme_srccon_example() {
        let doc = yaml(SEED_SRCCON);
        let c = OwnedConnect::from_json(&doc["kafka_connect"]["connects"][0], "?");
        let out = render_connect(&c.spec()).unwrap();
        let names: Vec<&str> = out.iter().map(|r| r.full_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "srccon-mydb-log-log1",
                "srccon-mydb-log-log2",
                "srccon-mydb-code-code"
            ]
        );
        assert_eq!(
            (
                out[0].connect_type.as_str(),
                out[0].group.as_str(),
                out[0].name.as_str()
            ),
            ("srccon", "mydb_log", "log1")
        );

        let url = "jdbc:mysql://mysql-db-addr:3306;databaseName=mydb";
        let class = "io.confluent.connect.jdbc.JdbcSourceConnector";
        for (r, table) in out[..2].iter().zip(["log1", "log2"]) {
            let expected = BTreeMap::from([
                ("connection.password".to_string(), Value::secret("mypass")),
                ("connection.url".to_string(), Value::str(url)),
                ("connector.class".to_string(), Value::str(class)),
                ("incrementing.column.name".to_string(), Value::str("id")),
                ("mode".to_string(), Value::str("incrementing")),
                (
                    "query".to_string(),
                    Value::str(format!("SELECT * FROM {table}")),
                ),
                ("tasks.max".to_string(), Value::str("1")),
                ("topic.prefix".to_string(), Value::str(table)),
            ]);
            assert_eq!(r.config, expected, "{}", r.full_name);
        }
        let expected = BTreeMap::from([
            ("connection.password".to_string(), Value::secret("mypass")),
            ("connection.url".to_string(), Value::str(url)),
            ("connector.class".to_string(), Value::str(class)),
            ("mode".to_string(), Value::str("bulk")),
            (
                "query".to_string(),
                Value::str("SELECT \n  CURRENT_TIMESTAMP() AS regtime,\n  code, desc\nFROM code\n"),
            ),
            ("tasks.max".to_string(), Value::str("1")),
            ("topic.prefix".to_string(), Value::str("code")),
        ]);
        assert_eq!(out[2].config, expected);
        assert!(
            !format!("{out:?}").contains("mypass"),
            "a secret leaked into Debug output"
        );
    }

    /// The README's variables example. As printed it is not valid YAML: `A_is: {{ .Values.A }}`
    /// is an unquoted flow mapping (here quoted, as the srccon example does), and `connects` is a
    /// map there while everywhere else it is a list of connects without a `type` here (we give it
    /// `example`).
    #[test]
    fn seed_readme_nearest_variable_wins() {
        let doc = yaml(
            r#"
connects:
  values:
    A: 1
  connector_groups:
  - name: group1
    values:
      A: 2
      B: 1
    connectors:
    - name: connector1
      config:
        A_is: "{{ .Values.A }}"
        B_is: "{{ .Values.B }}"
"#,
        );
        let c = OwnedConnect::from_json(&doc["connects"], "example");
        let out = render_connect(&c.spec()).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].full_name, "example-group1-connector1");
        assert_eq!(
            out[0].config,
            BTreeMap::from([
                ("A_is".to_string(), Value::str("2")),
                ("B_is".to_string(), Value::str("1"))
            ])
        );
    }

    // ---- merging ----

    #[test]
    fn connector_config_overrides_common_and_maps_merge_deeply() {
        let c = connect(
            "sinkcon",
            json!({ "db": { "host": "h0", "port": 1 }, "x": "connect" }),
            json!([{
                "name": "g",
                "values": { "db": { "host": "h1" } },
                "common": { "a": "common", "b": "common {{ .Values.x }}" },
                "connectors": [{ "name": "c", "config": { "b": "{{ .Values.db.host }}:{{ .Values.db.port }}" } }],
            }]),
        );
        let out = render_connect(&c.spec()).unwrap();
        assert_eq!(out[0].config["a"], Value::str("common"));
        assert_eq!(out[0].config["b"], Value::str("h1:1"));
    }

    // ---- templates ----

    #[test]
    fn plain_text_and_spacing_inside_braces() {
        let v = json!({ "x": "X", "y": "Y" });
        assert_eq!(
            tpl("no braces } }} here", v.clone()).unwrap(),
            "no braces } }} here"
        );
        assert_eq!(tpl("", v.clone()).unwrap(), "");
        assert_eq!(
            tpl("{{.Values.x}}{{   .Values.y\t}}", v.clone()).unwrap(),
            "XY"
        );
        assert_eq!(tpl("a{{\n  .Values.x\n}}b", v).unwrap(), "aXb");
    }

    #[test]
    fn trim_markers_trim_all_adjacent_whitespace() {
        let v = json!({ "x": "X" });
        assert_eq!(
            tpl("a \t\n {{- .Values.x -}} \n\t b", v.clone()).unwrap(),
            "aXb"
        );
        assert_eq!(tpl("a  {{- .Values.x }}  b", v.clone()).unwrap(), "aX  b");
        assert_eq!(tpl("a  {{ .Values.x -}}  b", v.clone()).unwrap(), "a  Xb");
        assert_eq!(tpl("a {{-   .Values.x   -}} b", v.clone()).unwrap(), "aXb");
        assert_eq!(
            tpl("{{ .Values.x -}}\n\n{{- .Values.x }}", v.clone()).unwrap(),
            "XX"
        );
        // The marker needs a space, as in Go: `{{-x` is not a trim marker, `x-}}` not either.
        assert!(matches!(
            tpl("a {{-.Values.x}}", v.clone()),
            Err(TemplateError::Unsupported { .. })
        ));
        assert!(matches!(
            tpl("{{ .Values.x-}}", v),
            Err(TemplateError::Unsupported { .. })
        ));
    }

    #[test]
    fn comments_are_dropped_and_must_touch_the_delimiters() {
        let v = json!({ "x": "X" });
        assert_eq!(tpl("a{{/* note */}}b", v.clone()).unwrap(), "ab");
        assert_eq!(
            tpl(
                "a \n{{- /* multi\nline {{ }} */ -}}\n b{{ .Values.x }}",
                v.clone()
            )
            .unwrap(),
            "abX"
        );
        assert_eq!(
            tpl("a {{ /* x */ }}", v.clone()),
            Err(TemplateError::CommentNotAtDelimiters {
                at: Pos { line: 1, column: 3 }
            })
        );
        assert!(matches!(
            tpl("{{/* x */ .Values.x }}", v.clone()),
            Err(TemplateError::CommentNotAtDelimiters { .. })
        ));
        assert_eq!(
            tpl("line\n  {{/* x", v),
            Err(TemplateError::UnclosedComment {
                at: Pos { line: 2, column: 3 }
            })
        );
    }

    #[test]
    fn string_literals_write_literal_braces() {
        let v = json!({});
        assert_eq!(
            tpl(r#"{{ "{{" }} x {{ "}}" }}"#, v.clone()).unwrap(),
            "{{ x }}"
        );
        assert_eq!(
            tpl("{{ `{{ .Values.x }}` }}", v.clone()).unwrap(),
            "{{ .Values.x }}"
        );
        assert_eq!(
            tpl(r#"{{ "a\tb\u00e9\"" }}"#, v.clone()).unwrap(),
            "a\tbé\""
        );
        assert!(matches!(
            tpl(r#"{{ "a" "b" }}"#, v.clone()),
            Err(TemplateError::Unsupported { .. })
        ));
        assert!(matches!(
            tpl(r#"{{ "\q" }}"#, v),
            Err(TemplateError::Unsupported { .. })
        ));
    }

    #[test]
    fn nested_variables_and_used_vars() {
        let v = vars(json!({ "a": { "b": { "c": 7 } }, "s": "str", "l": [1], "n": null }));
        let r = render_template(
            "{{ .Values.a.b.c }}-{{ .Values.s }}-{{ .Values.a.b.c }}",
            &v,
        )
        .unwrap();
        assert_eq!(r.text, "7-str-7");
        assert_eq!(r.used_vars, ["a.b.c", "s"]);
        assert_eq!(
            render_template("{{ .Values.a.x }}", &v),
            Err(TemplateError::Undefined {
                var: ".Values.a.x".into(),
                defined: vec!["b".into()],
                suggestion: None
            })
        );
        assert_eq!(
            render_template("{{ .Values.s.x }}", &v)
                .unwrap_err()
                .to_string(),
            "`.Values.s` is a string, not a map, so it has no field `x`"
        );
        assert_eq!(
            render_template("{{ .Values.a.b }}", &v)
                .unwrap_err()
                .to_string(),
            "variable `.Values.a.b` is a map; only strings, numbers and booleans can be used in a template"
        );
        assert!(matches!(
            render_template("{{ .Values.l }}", &v),
            Err(TemplateError::NotPrintable { kind: "a list", .. })
        ));
        assert!(matches!(
            render_template("{{ .Values.n }}", &v),
            Err(TemplateError::NotPrintable { kind: "null", .. })
        ));
        assert!(matches!(
            render_template("{{ .Values }}", &v),
            Err(TemplateError::NotPrintable { .. })
        ));
    }

    #[test]
    fn undefined_variable_names_everything_and_suggests() {
        let doc = yaml(&SEED_SRCCON.replace("{{ .Values.db_host }}:", "{{ .Values.db_hots }}:"));
        let c = OwnedConnect::from_json(&doc["kafka_connect"]["connects"][0], "?");
        let errs: Vec<String> = render_connect(&c.spec())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert_eq!(
            errs[0],
            "connect srccon, group mydb_log, connector log1, key connection.url: undefined variable \
             `.Values.db_hots` (defined: db_host, db_name, db_pass, db_port, db_user; did you mean \
             `db_host`?)"
        );
        assert!(
            errs[2].starts_with(
                "connect srccon, group mydb_code, connector code, key connection.url:"
            )
        );

        let none = render_template("{{ .Values.zzz }}", &Vars::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            none,
            "undefined variable `.Values.zzz` (no variables are defined)"
        );
        let far =
            render_template("{{ .Values.other }}", &vars(json!({ "db_host": 1 }))).unwrap_err();
        assert_eq!(
            far.to_string(),
            "undefined variable `.Values.other` (defined: db_host)"
        );
        let case =
            render_template("{{ .Values.DB_HOST }}", &vars(json!({ "db_host": 1 }))).unwrap_err();
        assert!(
            case.to_string().ends_with("did you mean `db_host`?)"),
            "{case}"
        );
    }

    #[test]
    fn unsupported_actions_say_what_is_supported() {
        let v = json!({ "x": "X" });
        let e = tpl("a {{ .Values.x | quote }}", v.clone()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported template action `{{ .Values.x | quote }}` at column 3 (after `.Values` only \
             `.name` fields may follow: no functions, pipes or arguments); supported are \
             `{{ .Values.name }}`, `{{ .Values.a.b }}`, trim markers `{{-` / `-}}`, comments \
             `{{/* … */}}` and string literals like `{{ \"{{\" }}`"
        );
        for text in [
            "{{ if .Values.x }}y{{ end }}",
            "{{ upper .Values.x }}",
            "{{ $x := 1 }}",
            "{{ .Release.Name }}",
            "{{ }}",
            "{{ .Values.db-host }}",
            "{{ .Values.1x }}",
            "{{ include \"t\" . }}",
        ] {
            match tpl(text, v.clone()) {
                Err(e @ TemplateError::Unsupported { .. }) => {
                    assert!(e.to_string().contains("supported are"), "{e}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn unterminated_braces() {
        let v = json!({ "x": "X" });
        assert_eq!(
            tpl("abc {{ .Values.x", v.clone()),
            Err(TemplateError::Unterminated {
                at: Pos { line: 1, column: 5 }
            })
        );
        assert_eq!(
            tpl("{{ .Values.x }} {{", v.clone()),
            Err(TemplateError::Unterminated {
                at: Pos {
                    line: 1,
                    column: 17
                }
            })
        );
        assert_eq!(
            tpl(r#"{{ "}}"#, v.clone()),
            Err(TemplateError::Unterminated {
                at: Pos { line: 1, column: 1 }
            })
        );
        assert_eq!(
            tpl("{{ .Values.x", v).unwrap_err().to_string(),
            "unterminated `{{` at column 1: no matching `}}`"
        );
    }

    // ---- scalars ----

    #[test]
    fn numbers_and_booleans_become_strings() {
        let r = one(
            json!({ "port": 3306, "ratio": 0.25, "on": false }),
            json!({
                "int": 3306, "neg": -7, "big": u64::MAX, "float": 1.5, "whole_float": 3.0, "million": 1e6,
                "small": 0.0001, "tiny": 1e-5, "bool": true,
                "tpl": "{{ .Values.port }}/{{ .Values.ratio }}/{{ .Values.on }}",
            }),
        )
        .unwrap();
        let got: BTreeMap<&str, &str> = r
            .config
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            BTreeMap::from([
                ("big", "18446744073709551615"),
                ("bool", "true"),
                ("float", "1.5"),
                ("int", "3306"),
                ("million", "1e+06"),
                ("neg", "-7"),
                ("small", "0.0001"),
                ("tiny", "1e-05"),
                ("tpl", "3306/0.25/false"),
                ("whole_float", "3"),
            ])
        );
    }

    #[test]
    fn floats_print_as_go_does() {
        for (x, go) in [
            (1.5, "1.5"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (123456789.5, "1.234567895e+08"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.00001234, "1.234e-05"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (-1e-300, "-1e-300"),
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(go_float(x), go, "{x:e}");
        }
    }

    #[test]
    fn null_list_and_map_config_values_are_errors() {
        let errs = messages(one(
            json!({}),
            json!({ "a": null, "b": { "c": 1 }, "d": [1, 2] }),
        ));
        assert_eq!(
            errs,
            [
                "connect srccon, group g, connector c, key a: value is null; Kafka Connect config \
                 values are strings: write \"\" for an empty string, or remove the key",
                "connect srccon, group g, connector c, key b: value is a map; Kafka Connect config \
                 values are flat strings (write nested settings as dotted keys, e.g. `b.sub: value`, \
                 and lists as comma-separated strings)",
                "connect srccon, group g, connector c, key d: value is a list; Kafka Connect config \
                 values are flat strings (write nested settings as dotted keys, e.g. `d.sub: value`, \
                 and lists as comma-separated strings)",
            ]
        );
    }

    // ---- sensitivity ----

    #[test]
    fn sensitive_keys() {
        for k in [
            "connection.password",
            "ssl.truststore.PASSWORD",
            "aws.secret.access.key",
            "ssl.key",
            "api.key",
            "datadog.apikey",
            "my_api_key",
            "oauth.token.endpoint",
            "gcs.credentials.json",
            "consumer.override.sasl.jaas.config",
        ] {
            assert!(is_sensitive_key(k), "{k}");
        }
        for k in [
            "connection.url",
            "key.converter",
            "topic.prefix",
            "ssl.keystore.type",
            "mode",
            "keys",
        ] {
            assert!(!is_sensitive_key(k), "{k}");
        }
        for v in [
            "db_pass",
            "DB_PASSWORD",
            "passwd",
            "api_token",
            "client_secret",
            "db.password",
            "aws_access_key",
            "sa.private_key",
        ] {
            assert!(is_sensitive_var(v), "{v}");
        }
        for v in ["db_host", "db_user", "port", "primary_key", "db.name"] {
            assert!(!is_sensitive_var(v), "{v}");
        }
    }

    #[test]
    fn secrets_by_key_and_by_variable() {
        let r = one(
            json!({ "db_pass": "pw", "db_host": "h", "db": { "password": "pw2" }, "pin": 1234 }),
            json!({
                "connection.url": "jdbc:mysql://{{ .Values.db_host }}/?password={{ .Values.db_pass }}",
                "other.url": "x://{{ .Values.db.password }}@{{ .Values.db_host }}",
                "plain.url": "x://{{ .Values.db_host }}",
                "ssl.key.password": 1234,
                "some.secret": "literal",
            }),
        )
        .unwrap();
        assert_eq!(
            r.config["connection.url"],
            Value::secret("jdbc:mysql://h/?password=pw")
        );
        assert_eq!(r.config["other.url"], Value::secret("x://pw2@h"));
        assert_eq!(r.config["plain.url"], Value::str("x://h"));
        assert_eq!(r.config["ssl.key.password"], Value::secret("1234"));
        assert_eq!(r.config["some.secret"], Value::secret("literal"));
        let shown = format!("{r:?} {}", Value::Map(r.config.clone()));
        assert!(
            !shown.contains("pw") && !shown.contains("literal"),
            "{shown}"
        );
    }

    #[test]
    fn errors_do_not_quote_values_of_secret_keys() {
        let errs = messages(one(
            json!({}),
            json!({ "connection.password": "ab{{cd}}ef", "url": "{{cd}}" }),
        ));
        assert_eq!(errs.len(), 2);
        assert!(
            !errs[0].contains("cd") && errs[0].contains("unsupported template action at column 3"),
            "{}",
            errs[0]
        );
        assert!(errs[1].contains("`{{cd}}`"), "{}", errs[1]);
    }

    // ---- names and error collection ----

    #[test]
    fn every_error_is_reported() {
        let c = connect(
            "srccon",
            json!({ "host": "h" }),
            json!([
                { "name": "a", "connectors": [
                    { "name": "ok", "config": { "u": "{{ .Values.host }}" } },
                    { "name": "bad", "config": { "u": "{{ .Values.hots }}", "v": null, "w": "{{ x" } },
                ]},
                { "name": "b", "common": { "c": "{{ .Values.nope }}" }, "connectors": [
                    { "name": "one", "config": {} },
                    { "name": "two", "config": { "c": "fixed" } },
                ]},
            ]),
        );
        let errs: Vec<String> = render_connect(&c.spec())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                "connect srccon, group a, connector bad, key u: undefined variable `.Values.hots` \
                 (defined: host; did you mean `host`?)",
                "connect srccon, group a, connector bad, key v: value is null; Kafka Connect config \
                 values are strings: write \"\" for an empty string, or remove the key",
                "connect srccon, group a, connector bad, key w: unterminated `{{` at column 1: no \
                 matching `}}`",
                "connect srccon, group b, connector one, key c: undefined variable `.Values.nope` \
                 (defined: host)",
            ]
        );
    }

    #[test]
    fn names_must_be_unique_and_usable() {
        let c = connect(
            "srccon",
            json!({}),
            json!([
                { "name": "a-b", "connectors": [{ "name": "c", "config": {} }] },
                { "name": "a", "connectors": [{ "name": "b-c", "config": {} }, { "name": "x/y", "config": {} }] },
                { "name": "", "connectors": [] },
            ]),
        );
        let errs: Vec<String> = render_connect(&c.spec())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                "connect srccon, group a, connector b-c: connector name `srccon-a-b-c` is already \
                 produced by group a-b, connector c; names must be unique",
                "connect srccon, group a, connector x/y: the connector name `x/y` contains `/` or a \
                 control character; connector names go into the REST path `/connectors/<name>`",
                "connect srccon: the group name is empty",
            ]
        );
    }

    #[test]
    fn config_name_must_match() {
        assert!(one(json!({}), json!({ "name": "srccon-g-c" })).is_ok());
        let errs = messages(one(json!({}), json!({ "name": "other" })));
        assert_eq!(
            errs,
            [
                "connect srccon, group g, connector c, key name: config `name` must be the connector's \
              name `srccon-g-c` (Kafka Connect refuses a different one); remove the key"
            ]
        );
    }

    proptest::proptest! {
        /// No input panics (byte slicing near multi-byte characters, quotes, trim markers), and
        /// text without `{{` comes out unchanged.
        #[test]
        fn templates_never_panic(text in "[{}\\\\/*\"`. \n\tax.Valuesé🦙-]{0,40}") {
            let v = vars(json!({ "x": "X", "a": { "b": 1 } }));
            let r = render_template(&text, &v);
            if !text.contains("{{") {
                proptest::prop_assert_eq!(r.map(|r| r.text), Ok(text.clone()));
            }
        }
    }
}

#[cfg(test)]
mod object_name_tests {
    use super::object_name;

    #[test]
    fn names_become_kubernetes_object_names() {
        assert_eq!(
            object_name("srccon", "mydb_log", "Log1").unwrap(),
            "srccon-mydb-log-log1"
        );
        assert_eq!(object_name("a", "b.c", "d").unwrap(), "a-b.c-d");
        let e = object_name("srccon", "db", "log 1").unwrap_err();
        assert!(e.contains("cannot be a Kubernetes object name"), "{e}");
        assert!(object_name("srccon", "db", "x_").is_err());
        assert!(object_name("s", "g", &"n".repeat(260)).is_err());
    }
}
