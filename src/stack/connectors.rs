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
//! - *alpaka*: `{fromEnv: NAME}`, as a variable or as a config value, reads NAME from alpaka's
//!   environment (snapshotted by the loader), so a password need not be written in any file.
//!   What it reads is a secret whatever the key or variable is called; an unset or malformed
//!   NAME is an error naming the connector and key.
//!
//! All errors are collected, not only the first one: [`render_connect`] returns every problem of
//! every connector of a connect type.

use std::collections::BTreeMap;
use std::fmt;

use crate::engine::Value;
use crate::model::stack::EnvSnapshot;

pub use super::template::{Pos, Rendered, TemplateError, go_float, render_template};
use super::template::{kind_of, print_scalar};

/// Variables, or a config block: a YAML mapping as parsed.
pub type Vars = BTreeMap<String, serde_json::Value>;

/// One entry of `kafka_connect.connects[]`, reduced to what rendering needs.
#[derive(Clone, Debug)]
pub struct ConnectSpec<'a> {
    pub connect_type: &'a str,
    pub values: &'a Vars,
    pub groups: Vec<GroupSpec<'a>>,
    /// What `{fromEnv: NAME}` values read (the loader's snapshot of the environment).
    pub env: &'a EnvSnapshot,
    /// Variables alpaka provides (`.Values.alpaka.bootstrap`, …), below the connect's own.
    pub builtins: &'a Vars,
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
/// The key of an environment reference: `{fromEnv: NAME}` as a variable or a config value
/// reads NAME from alpaka's environment, so a password need not be written in a file.
pub const FROM_ENV: &str = "fromEnv";

/// `Some(NAME)` when `v` is exactly `{fromEnv: NAME}`.
pub fn env_ref(v: &serde_json::Value) -> Option<&str> {
    match v {
        serde_json::Value::Object(m) if m.len() == 1 => m.get(FROM_ENV)?.as_str(),
        _ => None,
    }
}

/// Every environment variable a connect's values and connector configs read, in order.
pub fn env_refs<'v>(blocks: impl IntoIterator<Item = &'v Vars>) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        if let Some(name) = env_ref(v) {
            if !out.iter().any(|n| n == name) {
                out.push(name.to_owned());
            }
            return;
        }
        match v {
            serde_json::Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            serde_json::Value::Array(items) => items.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for block in blocks {
        block.values().for_each(|v| walk(v, &mut out));
    }
    out
}

/// A usable environment variable name (POSIX: letters, digits, `_`, not starting with a digit).
fn env_name_ok(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Why `{fromEnv: name}` cannot be read, or its value.
fn read_env<'e>(env: &'e EnvSnapshot, name: &str) -> Result<&'e str, String> {
    if !env_name_ok(name) {
        return Err(format!(
            "`fromEnv: {name}` is not an environment variable name (letters, digits and `_`)"
        ));
    }
    env.get(name).ok_or_else(|| {
        format!("environment variable {name} is not set (`fromEnv: {name}`); export it before running alpaka")
    })
}

/// Variables with every `{fromEnv: NAME}` replaced by its value; the dotted paths replaced
/// (their values are secrets whatever their names), and one message per reference that could
/// not be read.
fn resolve_env(vars: Vars, env: &EnvSnapshot) -> (Vars, Vec<String>, Vec<(String, String)>) {
    fn walk(
        v: &mut serde_json::Value,
        path: &mut Vec<String>,
        env: &EnvSnapshot,
        resolved: &mut Vec<String>,
        errors: &mut Vec<(String, String)>,
    ) {
        if let Some(name) = env_ref(v).map(str::to_owned) {
            match read_env(env, &name) {
                Ok(text) => {
                    *v = serde_json::Value::String(text.to_owned());
                    resolved.push(path.join("."));
                }
                Err(m) => errors.push((path.join("."), m)),
            }
            return;
        }
        if let serde_json::Value::Object(m) = v {
            for (k, x) in m.iter_mut() {
                path.push(k.clone());
                walk(x, path, env, resolved, errors);
                path.pop();
            }
        }
    }
    let mut vars = vars;
    let (mut resolved, mut errors) = (Vec::new(), Vec::new());
    for (k, v) in vars.iter_mut() {
        let mut path = vec![k.clone()];
        walk(v, &mut path, env, &mut resolved, &mut errors);
    }
    (vars, resolved, errors)
}

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
        let (vars, from_env, env_errors) = resolve_env(
            merge_vars(&merge_vars(spec.builtins, spec.values), group.values),
            spec.env,
        );
        for (path, m) in env_errors {
            // A connect-level variable is reported once, not once per group.
            let key = format!("values.{path}");
            if !errors
                .iter()
                .any(|x: &RenderError| x.key == key && x.message == m)
            {
                errors.push(err(group.name, "", &key, m));
            }
        }
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
                            let secret = key_secret
                                || r.used_vars
                                    .iter()
                                    .any(|v| is_sensitive_var(v) || from_env.contains(v));
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
                    v if env_ref(v).is_some() => {
                        match read_env(spec.env, env_ref(v).unwrap_or_default()) {
                            Ok(text) => (text.to_owned(), true),
                            Err(m) => {
                                errors.push(e(key, m));
                                continue;
                            }
                        }
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
        env: EnvSnapshot,
        builtins: Vars,
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
                env: EnvSnapshot::default(),
                builtins: Vars::new(),
                connect_type: t.to_string(),
                values: vars_of(c.get("values")),
                groups,
            }
        }

        fn spec(&self) -> ConnectSpec<'_> {
            ConnectSpec {
                env: &self.env,
                builtins: &self.builtins,
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
    fn env_references_render_as_secrets_and_missing_ones_are_named() {
        let mut c = connect(
            "srccon",
            json!({"db_pass": {"fromEnv": "SRCCON_DB_PASS"}, "db_host": "h", "unused": {"fromEnv": "NOT_SET"}, "region": {"fromEnv": "REGION"}}),
            json!([
                {"name": "g1", "connectors": [{"name": "a", "config": {
                    "connection.url": "jdbc:mysql://{{ .Values.db_host }}/?x={{ .Values.db_pass }}",
                    "api.handle": {"fromEnv": "API_HANDLE"},
                    "plain.region": "{{ .Values.region }}"
                }}]},
                {"name": "g2", "connectors": [{"name": "b", "config": {"x": "y"}}]}
            ]),
        );
        c.env = EnvSnapshot(
            [
                ("SRCCON_DB_PASS".to_owned(), "s3cret".to_owned()),
                ("API_HANDLE".to_owned(), "h-123".to_owned()),
                ("REGION".to_owned(), "eu-1".to_owned()),
            ]
            .into(),
        );
        let errs = render_connect(&c.spec()).unwrap_err();
        // NOT_SET is read by the connect's values: one error, not one per group.
        let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 1, "{msgs:#?}");
        assert!(msgs[0].contains("NOT_SET is not set"), "{}", msgs[0]);
        assert!(msgs[0].contains("key values.unused"), "{}", msgs[0]);

        c.env.0.insert("NOT_SET".to_owned(), "now-it-is".to_owned());
        let r = render_connect(&c.spec()).unwrap();
        // A variable read from the environment is a secret whatever its name, and so is a
        // config value read directly; neither is printed.
        assert_eq!(
            r[0].config["connection.url"],
            Value::secret("jdbc:mysql://h/?x=s3cret")
        );
        assert_eq!(r[0].config["api.handle"], Value::secret("h-123"));
        assert_eq!(r[0].config["plain.region"], Value::secret("eu-1"));
        assert!(!format!("{:?}", c.env).contains("s3cret"));
        assert_eq!(
            env_refs([&c.values, &c.groups[0].connectors[0].1]),
            ["SRCCON_DB_PASS", "REGION", "NOT_SET", "API_HANDLE"]
        );
    }

    #[test]
    fn env_reference_names_are_checked() {
        let r = one(json!({}), json!({"k": {"fromEnv": "1-bad name"}}));
        let m = messages(r);
        assert!(
            m[0].contains("is not an environment variable name"),
            "{m:?}"
        );
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
