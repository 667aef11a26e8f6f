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
    /// Files of the chart repository besides index.yaml (packaged charts).
    files: std::collections::BTreeMap<String, Vec<u8>>,
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
                } else if let Some(f) = path.strip_prefix("/charts/").and_then(|f| reg.files.get(f))
                {
                    let mut out = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        f.len()
                    )
                    .into_bytes();
                    out.extend_from_slice(f);
                    let _ = s.write_all(&out);
                    continue;
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
        files: Default::default(),
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
        files: Default::default(),
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

/// With helm on PATH, doctor renders each chart the mirror serves (`helm template`) and asks
/// for the exact tags it runs: here a stand-in kube-prometheus-stack 93.9.0
/// (`integration/charts/kube-prometheus-stack-standin`, packaged by the real helm) whose Grafana
/// image the mirror lacks. Needs the real helm (`ALPAKA_REAL_TOOLS`, set by
/// `integration/test.sh`): fails, never skips, without it.
#[test]
fn doctor_asks_for_the_exact_tags_the_rendered_chart_runs() {
    let tools = std::env::var("ALPAKA_REAL_TOOLS")
        .expect("ALPAKA_REAL_TOOLS: the directory with the real helm (integration/tools.sh)");
    let helm = Path::new(&tools).join("helm");
    let ws = workspace();
    let bin = ws.path().join("no-tools");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(&helm, bin.join("helm")).unwrap();
    // The chart, packaged and indexed by helm itself (relative URLs: helm resolves them
    // against the repository's).
    let charts = tempfile::tempdir().unwrap();
    let d = charts.path().display().to_string();
    let standin = common::repo()
        .join("integration/charts/kube-prometheus-stack-standin")
        .display()
        .to_string();
    for args in [
        vec!["package", standin.as_str(), "-d", &d],
        vec!["repo", "index", &d],
    ] {
        let out = std::process::Command::new(&helm)
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "helm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let index = std::fs::read_to_string(charts.path().join("index.yaml")).unwrap();
    let tgz = "kube-prometheus-stack-93.9.0.tgz";
    let files = [(
        tgz.to_owned(),
        std::fs::read(charts.path().join(tgz)).unwrap(),
    )]
    .into();
    // What the stand-in runs with alpaka's k3d values, on the mirror, but Grafana.
    let served = [
        "mirror/prometheus-operator/prometheus-operator:v0.0.1-standin",
        "mirror/prometheus-operator/prometheus-config-reloader:v0.0.1-standin",
        "mirror/jkroepke/kube-webhook-certgen:v0.0.4-standin",
        "mirror/kube-state-metrics/kube-state-metrics:v0.0.5-standin",
        "mirror/prometheus/prometheus:v0.0.2-standin",
        "mirror/prometheus/node-exporter:v0.0.6-standin",
        "mirror/kiwigrid/k8s-sidecar:0.0.8-standin",
    ];
    let port = serve(Registry {
        manifests: served.iter().map(|s| s.to_string()).collect(),
        repos: BTreeSet::new(),
        index,
        auth: None,
        files,
    });
    set_mirror(ws.path(), port);
    let out = doctor(ws.path(), &[]);
    for s in served {
        let image = s.strip_prefix("mirror/").unwrap();
        assert!(line(&out, image).contains("served"), "{image}:\n{out}");
    }
    assert!(
        line(&out, "grafana/grafana:0.0.9-standin").contains("not on the mirror (404)"),
        "{out}"
    );
    // Nothing of kube-prometheus-stack is checked by repository only: every tag is known.
    assert!(
        !out.lines()
            .any(|l| l.contains("prometheus") && l.contains("tag(s)")),
        "{out}"
    );
}
