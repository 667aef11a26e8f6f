//! The Go `text/template` subset connector configs are written in (the original chart's), as a
//! pure function: `{{ .Values.name }}`, `{{ .Values.a.b }}`, trim markers, comments and string
//! literals; anything else is an error saying what is supported. Values print as Go prints them.
//! The rules and the deliberate differences from Go are listed in [`super::connectors`].

use std::fmt;

use super::connectors::Vars;

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

pub(crate) fn kind_of(v: &serde_json::Value) -> &'static str {
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
pub(crate) fn print_scalar(v: &serde_json::Value) -> Result<String, &'static str> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: serde_json::Value) -> Vars {
        v.as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    fn tpl(text: &str, v: serde_json::Value) -> Result<String, TemplateError> {
        render_template(text, &vars(v)).map(|r| r.text)
    }

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
}
