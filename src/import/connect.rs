//! Kafka Connect: connects, groups and connectors carry over with their semantics; the seed's
//! images are replaced by alpaka's, and plaintext secrets by `{fromEnv: NAME}`.

use serde_json::{Map, Value as Json, json};

use super::blocks::is_seed_image;
use super::{EnvNeed, Out, entries};
use crate::config::yaml::Node;
use crate::stack::connectors::{FROM_ENV, is_sensitive_key, is_sensitive_var};

/// `images/versions.env`, the one source of alpaka's image names and tags.
const VERSIONS_ENV: &str = include_str!("../../images/versions.env");

fn version(key: &str) -> String {
    VERSIONS_ENV
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_default()
        .to_owned()
}

/// alpaka's Connect image for what a seed connect image carried.
fn connect_image(seed_image: &str, connect_type: &str) -> Json {
    let sink = seed_image.contains("sink") || connect_type.contains("sink");
    let name = if sink {
        version("CONNECT_S3_IMAGE")
    } else {
        version("CONNECT_JDBC_IMAGE")
    };
    json!({
        "image": format!("{}/{name}", version("IMAGE_REGISTRY")),
        "tag": version("CONNECT_TAG"),
        "pullPolicy": "IfNotPresent",
    })
}

/// The variable name for a value moved to the environment: `SRCCON_MYDB_LOG_DB_PASS`.
pub(super) fn env_name(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// The plaintext secret at `key` (node `n`) becomes `{fromEnv: NAME}`, NAME made of `parts`:
/// reported, and listed for the user to export.
fn to_env(out: &mut Out, n: &Node, key: String, parts: &[&str]) -> Json {
    let name = env_name(parts);
    out.moved(
        n,
        &key,
        &format!("{{fromEnv: {name}}}"),
        format!("a plaintext secret; export {name} before plan/apply"),
    );
    out.env.push(EnvNeed {
        name: name.clone(),
        key,
    });
    json!({ FROM_ENV: name })
}

/// A literal (no template) that would put a secret in the file.
fn literal_secret(v: &Json) -> bool {
    match v {
        Json::String(s) => !s.is_empty() && !s.contains("{{"),
        Json::Number(_) => true,
        _ => false,
    }
}

/// Variables (`values`) with every plaintext secret replaced by `{fromEnv: NAME}`.
fn values_without_secrets(v: &Node, path: &str, env_prefix: &[&str], out: &mut Out) -> Json {
    fn walk(
        n: &Node,
        var: &mut Vec<String>,
        path: &str,
        env_prefix: &[&str],
        out: &mut Out,
    ) -> Json {
        if !entries(n).is_empty() {
            let mut m = Map::new();
            for (k, x) in entries(n) {
                var.push(k.name.clone());
                m.insert(k.name.clone(), walk(x, var, path, env_prefix, out));
                var.pop();
            }
            return Json::Object(m);
        }
        let json = n.to_json();
        let dotted = var.join(".");
        let url_secret = json
            .as_str()
            .is_some_and(crate::stack::charts::url_with_password);
        if (is_sensitive_var(&dotted) && literal_secret(&json)) || url_secret {
            let parts: Vec<&str> = env_prefix
                .iter()
                .copied()
                .chain(var.iter().map(String::as_str))
                .collect();
            return to_env(out, n, format!("{path}.{dotted}"), &parts);
        }
        json
    }
    walk(v, &mut Vec::new(), path, env_prefix, out)
}

/// A connector config block with plaintext secrets replaced by `{fromEnv: NAME}`.
fn config_without_secrets(v: &Node, path: &str, env_prefix: &[&str], out: &mut Out) -> Json {
    let mut m = Map::new();
    for (k, x) in entries(v) {
        let json = x.to_json();
        let secret = (is_sensitive_key(&k.name) && literal_secret(&json))
            || json
                .as_str()
                .is_some_and(crate::stack::charts::url_with_password);
        if secret {
            let parts: Vec<&str> = env_prefix
                .iter()
                .copied()
                .chain([k.name.as_str()])
                .collect();
            let reference = to_env(out, x, format!("{path}.{}", k.name), &parts);
            m.insert(k.name.clone(), reference);
        } else {
            m.insert(k.name.clone(), json);
        }
    }
    Json::Object(m)
}

pub(super) fn kafka_connect(n: &Node, out: &mut Out) {
    for (key, v) in entries(n) {
        let k = key.name.as_str();
        match k {
            "enabled" => out.set(&["kafka_connect", "enabled"], v.to_json()),
            "connects" => {
                let mut connects = Vec::new();
                for (i, c) in v.as_seq().iter().enumerate() {
                    connects.push(connect(c, i, out));
                }
                out.set(&["kafka_connect", "connects"], Json::Array(connects));
            }
            _ => out.dropped(
                v,
                &format!("kafka_connect.{k}"),
                "not a key of the original kafka_connect block",
            ),
        }
    }
}

fn connect(c: &Node, i: usize, out: &mut Out) -> Json {
    let t = c
        .get("type")
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_owned();
    let path = format!(
        "kafka_connect.connects[{}]",
        if t.is_empty() {
            i.to_string()
        } else {
            t.clone()
        }
    );
    let mut m = Map::new();
    for (key, v) in entries(c) {
        let k = key.name.as_str();
        let kpath = format!("{path}.{k}");
        match k {
            "type" | "replicaCount" | "timezone" | "tolerations" => {
                m.insert(k.to_owned(), v.to_json());
            }
            "nodeSelector" => {
                if let Some(sel) = out.selector(v) {
                    m.insert(k.to_owned(), sel);
                }
            }
            "container" if is_seed_image(v) => {
                let image = v.get("image").and_then(Node::as_str).unwrap_or("");
                let new = connect_image(image, &t);
                out.moved(
                    v,
                    &kpath,
                    &format!("{}:{}", new["image"].as_str().unwrap_or(""), new["tag"].as_str().unwrap_or("")),
                    format!("{image} was built FROM bitnami/kafka:latest, which no longer resolves; alpaka's image is built on Strimzi's (images/)"),
                );
                m.insert(k.to_owned(), new);
            }
            "container" => {
                let image = v.get("image").and_then(Node::as_str).unwrap_or("");
                if !image.is_empty()
                    && !image.contains("strimzi")
                    && !image.starts_with("ghcr.io/alpaka/")
                {
                    let line = out.line(v);
                    out.note(
                        line,
                        &kpath,
                        if image.contains("bitnami") {
                            format!("warning: {image} is bitnami's Kafka image, which Strimzi cannot run as a Connect worker; build the plugins onto Strimzi's Kafka image instead (images/Dockerfile.connect-jdbc, built by images/build.sh, shows how)")
                        } else {
                            format!("warning: kept {image}; if it was built FROM bitnami/kafka (as the original README taught), Strimzi cannot run it: rebuild its plugins onto Strimzi's Kafka image (images/Dockerfile.connect-jdbc, built by images/build.sh, shows how)")
                        },
                    );
                }
                m.insert(k.to_owned(), v.to_json());
            }
            "values" => {
                m.insert(k.to_owned(), values_without_secrets(v, &kpath, &[&t], out));
            }
            "connector_groups" => {
                let groups: Vec<Json> = v
                    .as_seq()
                    .iter()
                    .map(|g| group(g, &path, &t, out))
                    .collect();
                m.insert(k.to_owned(), Json::Array(groups));
            }
            "envs" => {
                let kept = envs(v, &kpath, &t, out);
                if !kept.is_empty() {
                    m.insert(k.to_owned(), Json::Array(kept));
                }
            }
            _ => out.dropped(v, &kpath, "not a key of the original connect entries"),
        }
    }
    Json::Object(m)
}

/// The Secret a Connect type's secret-looking `envs` are read from: the user creates it (the
/// report says how); its values never pass through alpaka.
pub(super) fn env_secret(connect_type: &str) -> String {
    format!("{connect_type}-envs")
}

/// The chart's `envs` (`{name, value}`, the Connect container's environment): plain values
/// carry over; a secret-looking one becomes a `secretKeyRef` to [`env_secret`], never a value.
fn envs(v: &Node, kpath: &str, t: &str, out: &mut Out) -> Vec<Json> {
    let mut kept = Vec::new();
    let secret = env_secret(t);
    for e in v.as_seq() {
        let name = e.get("name").and_then(Node::as_str).unwrap_or("?");
        let epath = format!("{kpath}[{name}]");
        match e.get("value") {
            _ if name == "?" => out.dropped(e, &epath, "an entry without a name"),
            Some(val) if crate::config::connect_workers::looks_secret(name) => {
                let empty = val.to_json().as_str().is_some_and(str::is_empty);
                kept.push(json!({"name": name, "secretKeyRef": {"name": secret, "key": name}}));
                let aws = if name.starts_with("AWS_") && out.distribution == crate::model::Distribution::Eks {
                    "; on EKS, `awsIdentity` (an IAM role for the workers) needs no keys at all"
                } else {
                    ""
                };
                out.moved(
                    e,
                    &epath,
                    &format!("secretKeyRef {{name: {secret}, key: {name}}}"),
                    format!(
                        "{}: create it before apply with `kubectl -n <namespace> create secret generic {secret} --from-literal={name}=...` (the value is never written){aws}",
                        if empty { "an empty secret-looking value" } else { "a plaintext secret" }
                    ),
                );
            }
            Some(val) => kept.push(json!({
                "name": name,
                "value": val.as_str().map(str::to_owned).unwrap_or_else(|| val.to_json().to_string()),
            })),
            // `valueFrom` in the chart's list: the same Kubernetes reference alpaka takes.
            None => match e.get("valueFrom").map(|f| (f.get("secretKeyRef"), f.get("configMapKeyRef"))) {
                Some((Some(r), None)) => kept.push(json!({"name": name, "secretKeyRef": r.to_json()})),
                Some((None, Some(r))) => kept.push(json!({"name": name, "configMapKeyRef": r.to_json()})),
                _ => out.dropped(e, &epath, "neither a value nor a Secret/ConfigMap key reference"),
            },
        }
    }
    kept
}

fn group(g: &Node, connect_path: &str, t: &str, out: &mut Out) -> Json {
    let name = g
        .get("name")
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_owned();
    let path = format!("{connect_path}.connector_groups[{name}]");
    let mut m = Map::new();
    for (key, v) in entries(g) {
        let k = key.name.as_str();
        let kpath = format!("{path}.{k}");
        match k {
            "name" => {
                m.insert(k.to_owned(), v.to_json());
            }
            "values" => {
                m.insert(
                    k.to_owned(),
                    values_without_secrets(v, &kpath, &[t, &name], out),
                );
            }
            "common" => {
                m.insert(
                    k.to_owned(),
                    config_without_secrets(v, &kpath, &[t, &name], out),
                );
            }
            "connectors" => {
                let list: Vec<Json> = v
                    .as_seq()
                    .iter()
                    .map(|c| {
                        let cname = c
                            .get("name")
                            .and_then(Node::as_str)
                            .unwrap_or("")
                            .to_owned();
                        let cpath = format!("{path}.connectors[{cname}]");
                        let mut cm = Map::new();
                        for (ck, cv) in entries(c) {
                            match ck.name.as_str() {
                                "name" => {
                                    cm.insert("name".into(), cv.to_json());
                                }
                                "config" => {
                                    cm.insert(
                                        "config".into(),
                                        config_without_secrets(
                                            cv,
                                            &format!("{cpath}.config"),
                                            &[t, &name, &cname],
                                            out,
                                        ),
                                    );
                                }
                                other => out.dropped(
                                    cv,
                                    &format!("{cpath}.{other}"),
                                    "not a key of the original connectors",
                                ),
                            }
                        }
                        Json::Object(cm)
                    })
                    .collect();
                m.insert(k.to_owned(), Json::Array(list));
            }
            _ => out.dropped(v, &kpath, "not a key of the original connector groups"),
        }
    }
    Json::Object(m)
}
