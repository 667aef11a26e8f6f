//! Issue 25: `alpaka doctor` asks the mirror for every image and chart, against a local
//! stand-in registry that can say no. The stand-in answers as the OCI Distribution
//! Specification v1.1.0 (opencontainers/distribution-spec `spec.md`) says a registry does:
//! `HEAD /v2/<name>/manifests/<reference>` → 200 with `Docker-Content-Digest` and the manifest's
//! `Content-Type` when it exists, 404 when not ("Pulling manifests"); `GET /v2/<name>/tags/list`
//! → `{"name": <name>, "tags": [...]}` ("Listing tags"), 404 with error code `NAME_UNKNOWN` for an
//! unknown repository; without credentials a protected registry answers 401 with a
//! `WWW-Authenticate` challenge and error code `UNAUTHORIZED` (error codes table). The chart
//! repository serves `index.yaml` as helm's `pkg/repo` IndexFile writes it
//! (`apiVersion: v1`, `entries.<chart>[].version`).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

use serde_json::Value;

mod common;
use common::{alpaka, workspace};

struct Registry {
    /// `<name>:<reference>` the registry has.
    manifests: BTreeSet<String>,
    /// Repository names with at least one tag.
    repos: BTreeSet<String>,
    /// The chart repository's index.yaml.
    index: String,
    /// `Basic …` the registry requires, if any.
    auth: Option<String>,
}

fn serve(reg: Registry) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let mut authz = None;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':')
                    && k.eq_ignore_ascii_case("authorization")
                {
                    authz = Some(v.trim().to_owned());
                }
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_owned();
            let path = parts.next().unwrap_or("").to_owned();
            let (status, headers, body): (u16, Vec<(&str, String)>, String) = if path
                .starts_with("/charts/")
            {
                if path == "/charts/index.yaml" {
                    (
                        200,
                        vec![("Content-Type", "application/x-yaml".into())],
                        reg.index.clone(),
                    )
                } else {
                    (404, vec![], String::new())
                }
            } else if reg.auth.is_some() && authz != reg.auth {
                (
                    401,
                    vec![
                        ("WWW-Authenticate", "Basic realm=\"alpaka-standin\"".into()),
                        ("Content-Type", "application/json".into()),
                    ],
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
                        .into(),
                )
            } else if let Some(rest) = path.strip_prefix("/v2/") {
                if let Some((name, reference)) = rest.split_once("/manifests/") {
                    if reg.manifests.contains(&format!("{name}:{reference}")) {
                        (
                            200,
                            vec![
                                (
                                    "Content-Type",
                                    "application/vnd.oci.image.manifest.v1+json".into(),
                                ),
                                (
                                    "Docker-Content-Digest",
                                    format!("sha256:{}", "0".repeat(64)),
                                ),
                            ],
                            "{}".into(),
                        )
                    } else {
                        (
                            404,
                            vec![("Content-Type", "application/json".into())],
                            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#.into(),
                        )
                    }
                } else if let Some(name) = rest.strip_suffix("/tags/list") {
                    if reg.repos.contains(name) {
                        (
                            200,
                            vec![("Content-Type", "application/json".into())],
                            format!(r#"{{"name":"{name}","tags":["v1"]}}"#),
                        )
                    } else {
                        (
                            404,
                            vec![("Content-Type", "application/json".into())],
                            r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#.into(),
                        )
                    }
                } else {
                    (404, vec![], String::new())
                }
            } else {
                (404, vec![], String::new())
            };
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            if method != "HEAD" {
                out.push_str(&body);
            }
            let _ = s.write_all(out.as_bytes());
        }
    });
    port
}

fn set_mirror(root: &Path, port: u16) {
    let p = root.join("profiles/k3d.yaml");
    let mut text = std::fs::read_to_string(&p).unwrap();
    text.push_str(&format!(
        "mirror:\n  registry: 127.0.0.1:{port}/mirror\n  charts: http://127.0.0.1:{port}/charts\n"
    ));
    std::fs::write(&p, text).unwrap();
}

/// What `alpaka images` says the mirror must hold (names below the host, references, charts).
/// An image as `(name below the host, reference, tag known)`; a chart as `(name, version)`.
type Wanted = (Vec<(String, String, bool)>, Vec<(String, String)>);

fn wanted(root: &Path) -> Wanted {
    let out = alpaka(root)
        .args(["images", "--json", "--profile", "k3d"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let images = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let target = i["mirror"].as_str().unwrap();
            let below = target.split_once('/').unwrap().1;
            let (name, reference) = match below.rsplit_once(':') {
                Some((n, t)) if !t.contains('/') => (n.to_owned(), t.to_owned()),
                _ => (below.to_owned(), String::new()),
            };
            (name, reference, i["tag_known"].as_bool().unwrap())
        })
        .collect();
    let charts = v["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let chart = c["chart"].as_str().unwrap();
            (
                chart.rsplit('/').next().unwrap().to_owned(),
                c["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (images, charts)
}

fn index(charts: &[(String, String)]) -> String {
    let mut s = String::from("apiVersion: v1\nentries:\n");
    for (name, version) in charts {
        s.push_str(&format!(
            "  {name}:\n  - apiVersion: v2\n    name: {name}\n    version: {version}\n    urls:\n    - {name}-{version}.tgz\n"
        ));
    }
    s
}

fn doctor(root: &Path, env: &[(&str, &str)]) -> String {
    let mut c = alpaka(root);
    c.args(["doctor", "--profile", "k3d"]);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn line<'a>(out: &'a str, needle: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle}:\n{out}"))
}

#[test]
fn doctor_finds_what_the_mirror_lacks() {
    let ws = workspace();
    set_mirror(ws.path(), 9); // the port is replaced below; `images` needs no server
    let (images, charts) = wanted(ws.path());
    let mut manifests = BTreeSet::new();
    let mut repos = BTreeSet::new();
    for (name, reference, known) in &images {
        // Everything but MySQL, and the repositories whose tag is not recorded have tags.
        if name.ends_with("library/mysql") {
            continue;
        }
        if *known {
            manifests.insert(format!("{name}:{reference}"));
        } else {
            repos.insert(name.clone());
        }
    }
    // One chart missing from the index.
    let listed: Vec<(String, String)> = charts
        .iter()
        .filter(|(n, _)| n != "headlamp")
        .cloned()
        .collect();
    let port = serve(Registry {
        manifests,
        repos,
        index: index(&listed),
        auth: None,
    });
    let ws = workspace();
    set_mirror(ws.path(), port);
    let out = doctor(ws.path(), &[]);
    assert!(
        line(&out, "strimzi/operator:1.2.0").contains("served"),
        "{out}"
    );
    assert!(
        line(&out, "library/mysql:8.4").contains("not on the mirror (404)"),
        "{out}"
    );
    assert!(
        line(&out, "prometheus/prometheus").contains("tag(s)"),
        "{out}"
    );
    assert!(
        line(&out, "chart kminion 0.15.2").contains("in the mirror's index.yaml"),
        "{out}"
    );
    assert!(
        line(&out, "chart headlamp").contains("not in the mirror's index.yaml"),
        "{out}"
    );
}

#[test]
fn doctor_says_when_the_mirror_wants_credentials() {
    let ws = workspace();
    set_mirror(ws.path(), 9);
    let (images, charts) = wanted(ws.path());
    let manifests = images
        .iter()
        .filter(|(_, _, k)| *k)
        .map(|(n, r, _)| format!("{n}:{r}"))
        .collect();
    let repos = images
        .iter()
        .filter(|(_, _, k)| !*k)
        .map(|(n, _, _)| n.clone())
        .collect();
    // base64("puller:s3cret")
    let port = serve(Registry {
        manifests,
        repos,
        index: index(&charts),
        auth: Some("Basic cHVsbGVyOnMzY3JldA==".into()),
    });
    let ws = workspace();
    set_mirror(ws.path(), port);
    let out = doctor(ws.path(), &[]);
    assert!(
        line(&out, "strimzi/operator:1.2.0").contains("refused (401)"),
        "{out}"
    );
    assert!(!out.contains("s3cret"));
    let out = doctor(
        ws.path(),
        &[
            ("ALPAKA_MIRROR_REGISTRY_USERNAME", "puller"),
            ("ALPAKA_MIRROR_REGISTRY_PASSWORD", "s3cret"),
        ],
    );
    assert!(
        line(&out, "strimzi/operator:1.2.0").contains("served"),
        "{out}"
    );
    assert!(line(&out, "library/mysql:8.4").contains("served"), "{out}");
    assert!(!out.contains("s3cret"));
}
