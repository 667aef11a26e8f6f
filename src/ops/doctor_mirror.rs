//! `alpaka doctor` with a `mirror:` (issue 25): does the mirror serve every image and chart the
//! profile deploys? Shapes from the OCI Distribution Specification v1.1.0 (`spec.md`):
//! "Pulling manifests" — `HEAD /v2/<name>/manifests/<reference>` answers 200 when the manifest
//! exists and 404 when it does not; "Listing tags" — `GET /v2/<name>/tags/list` answers
//! `{"name": …, "tags": […]}`; a registry that wants credentials answers 401 with a
//! `WWW-Authenticate` challenge (the token flow of the Docker registry auth spec for `Bearer`).
//! A helm repository serves `index.yaml` (helm `pkg/repo` IndexFile: `entries.<chart>[].version`);
//! an OCI chart is a manifest tagged with its version.
//!
//! Registry credentials: `ALPAKA_MIRROR_REGISTRY_USERNAME`/`_PASSWORD` (basic, or for a bearer
//! token); chart repository credentials as helm gets them (`ALPAKA_MIRROR_CHARTS_USERNAME`/
//! `_PASSWORD`). A mirror on 127.0.0.1/localhost is spoken to over plain HTTP, as container
//! runtimes treat a localhost registry; everything else over HTTPS.

use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::doctor::{Check, Status};
use crate::model::profile::Mirror;
use crate::stack::images::{ChartUse, ImageUse};
use crate::stack::mirror::ImageRef;

pub const REGISTRY_USERNAME_ENV: &str = "ALPAKA_MIRROR_REGISTRY_USERNAME";
pub const REGISTRY_PASSWORD_ENV: &str = "ALPAKA_MIRROR_REGISTRY_PASSWORD";

/// What a manifest HEAD accepts: the OCI and Docker manifest and index types.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

type HttpsClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Empty<Bytes>,
>;

struct Http {
    client: HttpsClient,
}

struct Reply {
    status: u16,
    challenge: Option<String>,
    body: Vec<u8>,
}

impl Http {
    fn new() -> Result<Http, String> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("the system's CA certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Http {
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<Reply, String> {
        let mut b = hyper::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(*k, v);
        }
        let req = b.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(Duration::from_secs(15), self.client.request(req))
            .await
            .map_err(|_| "no answer within 15s".to_owned())?
            .map_err(|e| format!("{e}"))?;
        let status = resp.status().as_u16();
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = if method == "HEAD" {
            Vec::new()
        } else {
            resp.into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes()
                .to_vec()
        };
        Ok(Reply {
            status,
            challenge,
            body,
        })
    }
}

fn creds(user_env: &str, pass_env: &str) -> Option<(String, String)> {
    match (std::env::var(user_env), std::env::var(pass_env)) {
        (Ok(u), Ok(p)) if !u.is_empty() => Some((u, p)),
        _ => None,
    }
}

fn basic(u: &str, p: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
    )
}

/// `scheme://host` of a registry `host[:port][/prefix]`.
fn base(host: &str) -> String {
    let h = host.split('/').next().unwrap_or(host);
    let name = h.rsplit_once(':').map_or(h, |(n, _)| n);
    if matches!(name, "127.0.0.1" | "localhost") {
        format!("http://{h}")
    } else {
        format!("https://{h}")
    }
}

/// A key=value out of a `Bearer realm="…",service="…"` challenge.
fn param(challenge: &str, key: &str) -> Option<String> {
    let at = challenge.find(&format!("{key}=\""))? + key.len() + 2;
    let rest = &challenge[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// A request to the registry, answering a 401 once: basic credentials, or a bearer token from
/// the challenge's realm (with the credentials when given, anonymous otherwise).
async fn registry_request(
    http: &Http,
    method: &str,
    url: &str,
    accept: Option<&str>,
    scope: &str,
) -> Result<Reply, String> {
    let mut headers: Vec<(&str, String)> = accept
        .map(|a| ("accept", a.to_owned()))
        .into_iter()
        .collect();
    let first = http.send(method, url, &headers).await?;
    if first.status != 401 {
        return Ok(first);
    }
    let login = creds(REGISTRY_USERNAME_ENV, REGISTRY_PASSWORD_ENV);
    let challenge = first.challenge.clone().unwrap_or_default();
    let auth = if challenge.to_ascii_lowercase().starts_with("bearer") {
        let Some(realm) = param(&challenge, "realm") else {
            return Ok(first);
        };
        let service = param(&challenge, "service").unwrap_or_default();
        let token_url = format!("{realm}?service={service}&scope={scope}");
        let h: Vec<(&str, String)> = login
            .iter()
            .map(|(u, p)| ("authorization", basic(u, p)))
            .collect();
        let t = http.send("GET", &token_url, &h).await?;
        if t.status != 200 {
            return Ok(first);
        }
        let v: serde_json::Value =
            serde_json::from_slice(&t.body).map_err(|e| format!("token reply: {e}"))?;
        let Some(token) = v
            .get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|x| x.as_str())
        else {
            return Ok(first);
        };
        format!("Bearer {token}")
    } else {
        match &login {
            Some((u, p)) => basic(u, p),
            None => return Ok(first),
        }
    };
    headers.push(("authorization", auth));
    http.send(method, url, &headers).await
}

fn verdict(what: &str, status: u16, ok_text: String) -> Check {
    let (s, found, fix) = match status {
        200 => (Status::Ok, ok_text, None),
        401 | 403 => (
            Status::Fail,
            format!("the mirror refused ({status}): credentials needed"),
            Some(format!(
                "set {REGISTRY_USERNAME_ENV}/{REGISTRY_PASSWORD_ENV} for doctor; the cluster pulls with `mirror.imagePullSecret`"
            )),
        ),
        404 => (
            Status::Fail,
            "not on the mirror (404)".to_owned(),
            Some(
                "copy it there: `alpaka images --copy-to <registry>` prints the commands"
                    .to_owned(),
            ),
        ),
        other => (Status::Fail, format!("the mirror answered {other}"), None),
    };
    Check {
        status: s,
        name: what.to_owned(),
        found,
        fix,
    }
}

async fn image_check(http: &Http, m: &Mirror, i: &ImageUse) -> Check {
    let Some(target) = &i.mirror else {
        return Check {
            status: Status::Ok,
            name: i.source.clone(),
            found: "no mirror".into(),
            fix: None,
        };
    };
    let r = ImageRef::parse(target);
    let name = r.path.clone();
    // The path below the host: `<prefix>/<path>` already, as `rewrite` wrote it.
    let host = m.registry.split('/').next().unwrap_or(&m.registry);
    let name = target
        .strip_prefix(&format!("{host}/"))
        .map(|rest| rest.split(['@']).next().unwrap_or(rest))
        .map(|rest| match rest.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => n.to_owned(),
            _ => rest.to_owned(),
        })
        .unwrap_or(name);
    let scope = format!("repository:{name}:pull");
    let b = base(&m.registry);
    if i.tag_known {
        let url = format!("{b}/v2/{name}/manifests/{}", r.reference());
        match registry_request(http, "HEAD", &url, Some(MANIFEST_ACCEPT), &scope).await {
            Ok(rep) => verdict(target, rep.status, "served".into()),
            Err(e) => Check {
                status: Status::Fail,
                name: target.clone(),
                found: format!("cannot reach the mirror: {e}"),
                fix: None,
            },
        }
    } else {
        // The chart's default tag is not recorded: the repository must at least have tags.
        let url = format!("{b}/v2/{name}/tags/list");
        match registry_request(http, "GET", &url, None, &scope).await {
            Ok(rep) if rep.status == 200 => {
                let tags = serde_json::from_slice::<serde_json::Value>(&rep.body)
                    .ok()
                    .and_then(|v| v.get("tags").and_then(|t| t.as_array()).map(Vec::len))
                    .unwrap_or(0);
                Check {
                    status: if tags > 0 { Status::Warn } else { Status::Fail },
                    name: target.clone(),
                    found: format!(
                        "{tags} tag(s); the chart's default tag at its pin is not recorded, so not checked"
                    ),
                    fix: (tags == 0)
                        .then(|| "copy the image the chart runs (see `helm template`)".to_owned()),
                }
            }
            Ok(rep) => verdict(target, rep.status, String::new()),
            Err(e) => Check {
                status: Status::Fail,
                name: target.clone(),
                found: format!("cannot reach the mirror: {e}"),
                fix: None,
            },
        }
    }
}

async fn chart_check(
    http: &Http,
    m: &Mirror,
    c: &ChartUse,
    index: &Option<Result<Reply, String>>,
) -> Check {
    let name = c.chart.rsplit('/').next().unwrap_or(&c.chart).to_owned();
    let what = format!("chart {name} {}", c.version);
    if let Some(oci) = m.charts.strip_prefix("oci://") {
        let oci = oci.trim_end_matches('/');
        let (host, path) = oci.split_once('/').unwrap_or((oci, ""));
        let repo = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}/{name}")
        };
        // helm tags an OCI chart with its version, `+` written as `_` (OCI tags allow no `+`).
        let url = format!(
            "{}/v2/{repo}/manifests/{}",
            base(host),
            c.version.replace('+', "_")
        );
        return match registry_request(
            http,
            "HEAD",
            &url,
            Some("application/vnd.oci.image.manifest.v1+json"),
            &format!("repository:{repo}:pull"),
        )
        .await
        {
            Ok(rep) => verdict(&what, rep.status, format!("served by {}", m.charts)),
            Err(e) => Check {
                status: Status::Fail,
                name: what,
                found: format!("cannot reach the chart mirror: {e}"),
                fix: None,
            },
        };
    }
    match index {
        Some(Ok(rep)) if rep.status == 200 => {
            let listed = serde_saphyr::from_slice::<serde_json::Value>(&rep.body)
                .ok()
                .and_then(|v| {
                    v.get("entries")?.get(&name)?.as_array().map(|vs| {
                        vs.iter().any(|e| {
                            e.get("version").and_then(|x| x.as_str()) == Some(c.version.as_str())
                        })
                    })
                })
                .unwrap_or(false);
            if listed {
                Check {
                    status: Status::Ok,
                    name: what,
                    found: "in the mirror's index.yaml".into(),
                    fix: None,
                }
            } else {
                Check {
                    status: Status::Fail,
                    name: what,
                    found: "not in the mirror's index.yaml".into(),
                    fix: Some("upload the chart and re-run `helm repo index` there".into()),
                }
            }
        }
        Some(Ok(rep)) => verdict(&what, rep.status, String::new()),
        Some(Err(e)) => Check {
            status: Status::Fail,
            name: what,
            found: format!("cannot reach the chart mirror: {e}"),
            fix: None,
        },
        None => Check {
            status: Status::Fail,
            name: what,
            found: "no index".into(),
            fix: None,
        },
    }
}

/// One check per image and chart the profile deploys.
pub async fn checks(m: &Mirror, images: &[ImageUse], charts: &[ChartUse]) -> Vec<Check> {
    let http = match Http::new() {
        Ok(h) => h,
        Err(e) => {
            return vec![Check {
                status: Status::Fail,
                name: "mirror".into(),
                found: e,
                fix: None,
            }];
        }
    };
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for i in images {
        if seen.insert(i.mirror.clone()) {
            out.push(image_check(&http, m, i).await);
        }
    }
    let index = if m.charts.starts_with("oci://") {
        None
    } else {
        let url = format!("{}/index.yaml", m.charts.trim_end_matches('/'));
        let h: Vec<(&str, String)> = creds(
            crate::stack::mirror::CHARTS_USERNAME_ENV,
            crate::stack::mirror::CHARTS_PASSWORD_ENV,
        )
        .map(|(u, p)| ("authorization", basic(&u, &p)))
        .into_iter()
        .collect();
        Some(http.send("GET", &url, &h).await)
    };
    for c in charts {
        out.push(chart_check(&http, m, c, &index).await);
    }
    out
}
