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
        if is_sensitive_var(&dotted) && literal_secret(&json) {
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
                // The chart's `{name, value}` list: plain values carry over; one named like a
                // secret never reaches the written config (the S3 sink's AWS keys went here).
                let mut kept = Vec::new();
                for e in v.as_seq() {
                    let name = e.get("name").and_then(Node::as_str).unwrap_or("?");
                    let epath = format!("{kpath}[{name}]");
                    match e.get("value") {
                        _ if crate::config::connect_workers::looks_secret(name) => out.dropped(
                            e,
                            &epath,
                            if name.starts_with("AWS_") {
                                "AWS keys are never written: on EKS give the connect `awsIdentity` (an IAM role, no keys); elsewhere a Secret and `secretKeyRef`"
                            } else {
                                "a secret is never written: put it in a Secret and reference it with `secretKeyRef: {name, key}`"
                            },
                        ),
                        Some(val) if name != "?" => kept.push(serde_json::json!({
                            "name": name,
                            "value": val.as_str().map(str::to_owned).unwrap_or_else(|| val.to_json().to_string()),
                        })),
                        _ => out.dropped(e, &epath, "an entry without a name and a value"),
                    }
                }
                if !kept.is_empty() {
                    m.insert(k.to_owned(), Json::Array(kept));
                }
            }
            _ => out.dropped(v, &kpath, "not a key of the original connect entries"),
        }
    }
    Json::Object(m)
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
