//! The web UIs' Ingresses and, on EKS, the AWS Load Balancer Controller annotations that decide
//! who can reach them: an internal ALB unless `ingress.public`, HTTPS with a redirect when a
//! certificate is given, the source CIDRs and the sign-in the ALB enforces.
//!
//! Annotation names and value shapes follow the controller's
//! `docs/guide/ingress/annotations.md` (kubernetes-sigs/aws-load-balancer-controller, stored
//! version 00175c1e; the v3.5.0 controller alpaka pins reads the same keys): `scheme` (default
//! `internal`), `inbound-cidrs` (stringList, default 0.0.0.0/0), `listen-ports` (json),
//! `ssl-redirect` (the HTTPS port), `auth-type` (`none|oidc|cognito`, HTTPS listeners only),
//! `auth-idp-oidc` / `auth-idp-cognito` (json), `auth-on-unauthenticated-request`, `auth-scope`.
//! A user's own annotation is never overwritten: it replaces what alpaka would set, and
//! `validate`/`plan` say so (`overlaps`).

use std::collections::BTreeMap;

use crate::engine::{Node, Value};
use crate::model::profile::{Distribution, Profile};
use crate::model::stack::{IngressAuth, IngressAuthType, StackConfig};

use super::catalog;
use super::platform::{
    GRAFANA_SERVICE, HEADLAMP_SERVICE, KAFKA_UI_SERVICE, PROMETHEUS_SERVICE, manifest,
};
use super::{StackError, k8s};

/// Prefix of every AWS Load Balancer Controller Ingress annotation.
pub const ALB: &str = "alb.ingress.kubernetes.io/";

pub const SCHEME: &str = "alb.ingress.kubernetes.io/scheme";
pub const LISTEN_PORTS: &str = "alb.ingress.kubernetes.io/listen-ports";
pub const CERTIFICATE_ARN: &str = "alb.ingress.kubernetes.io/certificate-arn";
pub const SSL_REDIRECT: &str = "alb.ingress.kubernetes.io/ssl-redirect";
pub const INBOUND_CIDRS: &str = "alb.ingress.kubernetes.io/inbound-cidrs";
pub const SECURITY_GROUPS: &str = "alb.ingress.kubernetes.io/security-groups";
pub const AUTH_TYPE: &str = "alb.ingress.kubernetes.io/auth-type";
pub const AUTH_ON_UNAUTHENTICATED: &str =
    "alb.ingress.kubernetes.io/auth-on-unauthenticated-request";

/// One web UI behind an Ingress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Web {
    /// Ingress name and resource id suffix (`k8s.ingress.<name>`).
    pub name: &'static str,
    /// As people call it.
    pub title: &'static str,
    pub host: String,
    /// The ALB listen port without a certificate; the local port of the port-forward line.
    pub port: u16,
    /// The release that makes the Service.
    pub release: String,
    pub service: &'static str,
    pub service_port: u16,
}

/// The UIs this config serves, in a fixed order. Prometheus only when `prometheus.expose`:
/// it has no sign-in and the operator enables its lifecycle API (`POST /-/quit`).
pub fn webs(cfg: &StackConfig) -> Vec<Web> {
    uis(cfg, false)
}

/// Every UI that runs, Prometheus included whether it has an Ingress or not: what a
/// port-forward reaches.
pub fn running(cfg: &StackConfig) -> Vec<Web> {
    uis(cfg, true)
}

fn uis(cfg: &StackConfig, unexposed: bool) -> Vec<Web> {
    let prom = format!("helm.{}", catalog::KUBE_PROMETHEUS_STACK.release);
    let all = [
        (
            cfg.grafana.enabled,
            Web {
                name: "grafana",
                title: "Grafana",
                host: cfg.grafana.host.clone(),
                port: cfg.grafana.port,
                release: prom.clone(),
                service: GRAFANA_SERVICE.0,
                service_port: GRAFANA_SERVICE.1,
            },
        ),
        (
            cfg.prometheus.enabled && (cfg.prometheus.expose || unexposed),
            Web {
                name: "prometheus",
                title: "Prometheus",
                host: cfg.prometheus.host.clone(),
                port: cfg.prometheus.port,
                release: prom,
                service: PROMETHEUS_SERVICE.0,
                service_port: PROMETHEUS_SERVICE.1,
            },
        ),
        (
            cfg.ui4kafka.enabled && cfg.kafka.enabled,
            Web {
                name: "ui4kafka",
                title: "UI for Kafka",
                host: cfg.ui4kafka.host.clone(),
                port: cfg.ui4kafka.port,
                release: format!("helm.{}", catalog::KAFKA_UI.release),
                service: KAFKA_UI_SERVICE.0,
                service_port: KAFKA_UI_SERVICE.1,
            },
        ),
        (
            cfg.k8dashboard.enabled,
            Web {
                name: "k8dashboard",
                title: "Headlamp",
                host: cfg.k8dashboard.host.clone(),
                port: cfg.k8dashboard.port,
                release: format!("helm.{}", catalog::HEADLAMP.release),
                service: HEADLAMP_SERVICE.0,
                service_port: HEADLAMP_SERVICE.1,
            },
        ),
    ];
    all.into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, w)| w)
        .collect()
}

/// What alpaka sets on one UI's Ingress on EKS, before the user's annotations. One ALB (group
/// `alpaka`); without a certificate each UI has its own HTTP listen port (as the original did);
/// with one, HTTPS on 443 by hostname and HTTP 80 answering with a redirect to it.
pub fn alb_annotations(cfg: &StackConfig, port: u16) -> BTreeMap<String, String> {
    let i = &cfg.ingress;
    let mut a: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        a.insert(format!("{ALB}{k}"), v);
    };
    set("group.name", "alpaka".into());
    set(
        "scheme",
        if i.public {
            "internet-facing"
        } else {
            "internal"
        }
        .into(),
    );
    set("target-type", "ip".into());
    match &i.certificate_arn {
        Some(arn) => {
            set("listen-ports", "[{\"HTTP\": 80}, {\"HTTPS\": 443}]".into());
            set("certificate-arn", arn.clone());
            set("ssl-redirect", "443".into());
        }
        None => set("listen-ports", format!("[{{\"HTTP\": {port}}}]")),
    }
    if !i.inbound_cidrs.is_empty() {
        let cidrs: Vec<&str> = i.inbound_cidrs.iter().map(|c| c.as_str()).collect();
        set("inbound-cidrs", cidrs.join(", "));
    }
    if let Some(auth) = &i.auth {
        for (k, v) in auth_annotations(auth) {
            set(k, v);
        }
    }
    a
}

fn auth_annotations(auth: &IngressAuth) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    match auth.kind {
        IngressAuthType::Oidc => {
            out.push(("auth-type", "oidc".to_owned()));
            if let Some(o) = &auth.oidc {
                let idp = serde_json::json!({
                    "issuer": o.issuer,
                    "authorizationEndpoint": o.authorization_endpoint,
                    "tokenEndpoint": o.token_endpoint,
                    "userInfoEndpoint": o.user_info_endpoint,
                    "secretName": o.secret_name,
                });
                out.push(("auth-idp-oidc", idp.to_string()));
            }
        }
        IngressAuthType::Cognito => {
            out.push(("auth-type", "cognito".to_owned()));
            if let Some(c) = &auth.cognito {
                let idp = serde_json::json!({
                    "userPoolARN": c.user_pool_arn,
                    "userPoolClientID": c.user_pool_client_id,
                    "userPoolDomain": c.user_pool_domain,
                });
                out.push(("auth-idp-cognito", idp.to_string()));
            }
        }
    }
    // Explicit, so a visitor without a session is always sent to the IdP.
    out.push(("auth-on-unauthenticated-request", "authenticate".to_owned()));
    if let Some(scope) = &auth.scope {
        out.push(("auth-scope", scope.clone()));
    }
    out
}

/// A UI's annotations as applied: alpaka's (on EKS), then the user's over them.
pub fn annotations(profile: &Profile, cfg: &StackConfig, port: u16) -> BTreeMap<String, String> {
    let mut a = if profile.distribution == Distribution::Eks {
        alb_annotations(cfg, port)
    } else {
        BTreeMap::new()
    };
    a.extend(
        cfg.ingress
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    a
}

/// A user annotation that replaces one alpaka sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationOverlap {
    pub key: String,
    /// alpaka's value on the first UI (listen ports differ per UI without a certificate).
    pub alpaka: String,
    pub user: String,
}

pub fn overlaps(profile: &Profile, cfg: &StackConfig) -> Vec<AnnotationOverlap> {
    if profile.distribution != Distribution::Eks || !cfg.ingress.enabled {
        return Vec::new();
    }
    let Some(first) = webs(cfg).into_iter().next() else {
        return Vec::new();
    };
    let ours = alb_annotations(cfg, first.port);
    cfg.ingress
        .annotations
        .iter()
        .filter_map(|(k, user)| {
            // The same value changes nothing: no warning.
            ours.get(k)
                .filter(|a| *a != user)
                .map(|alpaka| AnnotationOverlap {
                    key: k.clone(),
                    alpaka: alpaka.clone(),
                    user: user.clone(),
                })
        })
        .collect()
}

/// Who can reach the UIs on EKS, judged from the annotations as applied (so a user annotation
/// counts as much as a key).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exposure {
    pub internet_facing: bool,
    /// A certificate and an HTTPS listener, and every HTTP listener redirecting to it.
    pub https: bool,
    /// `auth-type` oidc or cognito, with unauthenticated requests not let through.
    pub sign_in: Option<String>,
    /// `inbound-cidrs` given, without 0.0.0.0/0 or ::/0, and not overridden by `security-groups`.
    pub narrowed_cidrs: Option<String>,
    /// `auth-type` is set, but no HTTPS listener carries it (the ALB authenticates only there).
    pub auth_without_https: bool,
}

pub fn exposure(profile: &Profile, cfg: &StackConfig) -> Option<Exposure> {
    if profile.distribution != Distribution::Eks || !cfg.ingress.enabled {
        return None;
    }
    let first = webs(cfg).into_iter().next()?;
    let a = annotations(profile, cfg, first.port);
    let get = |k: &str| a.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let listeners = get(LISTEN_PORTS)
        .and_then(|v| serde_json::from_str::<Vec<BTreeMap<String, u16>>>(v).ok())
        .unwrap_or_default();
    let protocols: Vec<&str> = listeners
        .iter()
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    let has_https = get(CERTIFICATE_ARN).is_some() && protocols.contains(&"HTTPS");
    let http_redirected = !protocols.contains(&"HTTP") || get(SSL_REDIRECT).is_some();
    let auth = get(AUTH_TYPE).filter(|t| matches!(*t, "oidc" | "cognito"));
    let sign_in = auth
        .filter(|_| get(AUTH_ON_UNAUTHENTICATED).is_none_or(|v| v == "authenticate"))
        .map(str::to_owned);
    let narrowed_cidrs = get(INBOUND_CIDRS)
        .filter(|_| get(SECURITY_GROUPS).is_none())
        .filter(|v| {
            v.split(',')
                .map(str::trim)
                .all(|c| !c.is_empty() && c != "0.0.0.0/0" && c != "::/0")
        })
        .map(str::to_owned);
    Some(Exposure {
        internet_facing: get(SCHEME) == Some("internet-facing"),
        https: has_https && http_redirected,
        sign_in,
        narrowed_cidrs,
        auth_without_https: auth.is_some() && !has_https,
    })
}

/// Web UIs behind ingress: a shared host-based ingress on local clusters, one ALB group on EKS.
pub fn build(
    profile: &Profile,
    cfg: &StackConfig,
    ns: &str,
    cl: &Value,
) -> Result<Vec<Node>, StackError> {
    let eks = profile.distribution == Distribution::Eks;
    let class = cfg.ingress.class_name.clone().unwrap_or_else(|| {
        match profile.distribution {
            Distribution::Minikube => "nginx",
            Distribution::K3d | Distribution::K3s => "traefik",
            Distribution::Eks => "alb",
        }
        .to_owned()
    });
    let hostnames = !eks || cfg.ingress.certificate_arn.is_some();
    webs(cfg)
        .into_iter()
        .map(|w| {
            let ingress = k8s::ingress(&k8s::IngressInput {
                name: w.name,
                namespace: ns,
                class: &class,
                host: hostnames.then_some(w.host.as_str()),
                service: w.service,
                service_port: i32::from(w.service_port),
                annotations: annotations(profile, cfg, w.port),
            });
            Ok(Node::new(
                format!("k8s.ingress.{}", w.name),
                "k8s.ingress",
                manifest(&ingress, cl)?,
            )
            .after(&w.release))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stack::{CognitoIdp, OidcIdp};

    fn eks() -> Profile {
        serde_json::from_value(serde_json::json!({"distribution": "eks", "eks": {}})).unwrap()
    }

    fn k3d() -> Profile {
        serde_json::from_value(serde_json::json!({"distribution": "k3d"})).unwrap()
    }

    const ARN: &str = "arn:aws:acm:ap-northeast-2:111122223333:certificate/abc";

    #[test]
    fn eks_is_internal_by_default_and_local_clusters_get_no_alb_annotations() {
        let cfg = StackConfig::default();
        let a = annotations(&eks(), &cfg, 3000);
        assert_eq!(a[SCHEME], "internal");
        assert_eq!(a[LISTEN_PORTS], "[{\"HTTP\": 3000}]");
        assert!(!a.contains_key(INBOUND_CIDRS) && !a.contains_key(AUTH_TYPE));
        assert!(annotations(&k3d(), &cfg, 3000).is_empty());
        let e = exposure(&eks(), &cfg).unwrap();
        assert!(!e.internet_facing && !e.https);
    }

    #[test]
    fn the_users_annotations_win_and_are_reported() {
        let mut cfg = StackConfig::default();
        cfg.ingress.annotations = [
            (SCHEME.to_owned(), "internet-facing".to_owned()),
            ("example.com/team".to_owned(), "data".to_owned()),
        ]
        .into();
        let a = annotations(&eks(), &cfg, 3000);
        assert_eq!(a[SCHEME], "internet-facing");
        assert_eq!(a["example.com/team"], "data");
        assert_eq!(
            overlaps(&eks(), &cfg),
            [AnnotationOverlap {
                key: SCHEME.into(),
                alpaka: "internal".into(),
                user: "internet-facing".into()
            }]
        );
        assert!(exposure(&eks(), &cfg).unwrap().internet_facing);
        assert!(overlaps(&k3d(), &cfg).is_empty());
    }

    #[test]
    fn public_with_a_certificate_and_oidc_is_https_with_sign_in() {
        let mut cfg = StackConfig::default();
        cfg.ingress.public = true;
        cfg.ingress.certificate_arn = Some(ARN.into());
        cfg.ingress.auth = Some(IngressAuth {
            kind: IngressAuthType::Oidc,
            oidc: Some(OidcIdp {
                issuer: "https://idp.example.com".into(),
                authorization_endpoint: "https://idp.example.com/authorize".into(),
                token_endpoint: "https://idp.example.com/token".into(),
                user_info_endpoint: "https://idp.example.com/userinfo".into(),
                secret_name: "alb-oidc".into(),
            }),
            cognito: None,
            scope: Some("openid email".into()),
        });
        let a = annotations(&eks(), &cfg, 3000);
        assert_eq!(a[SCHEME], "internet-facing");
        assert_eq!(a[LISTEN_PORTS], "[{\"HTTP\": 80}, {\"HTTPS\": 443}]");
        assert_eq!(a[SSL_REDIRECT], "443");
        assert_eq!(a[CERTIFICATE_ARN], ARN);
        assert_eq!(a[AUTH_TYPE], "oidc");
        assert_eq!(a[AUTH_ON_UNAUTHENTICATED], "authenticate");
        assert_eq!(a["alb.ingress.kubernetes.io/auth-scope"], "openid email");
        let idp: serde_json::Value =
            serde_json::from_str(&a["alb.ingress.kubernetes.io/auth-idp-oidc"]).unwrap();
        assert_eq!(idp["secretName"], "alb-oidc");
        assert_eq!(idp["userInfoEndpoint"], "https://idp.example.com/userinfo");
        let e = exposure(&eks(), &cfg).unwrap();
        assert!(e.internet_facing && e.https);
        assert_eq!(e.sign_in.as_deref(), Some("oidc"));

        // A user's `auth-on-unauthenticated-request: allow` lets everyone through: no sign-in.
        cfg.ingress
            .annotations
            .insert(AUTH_ON_UNAUTHENTICATED.into(), "allow".into());
        assert_eq!(exposure(&eks(), &cfg).unwrap().sign_in, None);
    }

    #[test]
    fn cognito_and_cidrs_are_judged_as_applied() {
        let mut cfg = StackConfig::default();
        cfg.ingress.auth = Some(IngressAuth {
            kind: IngressAuthType::Cognito,
            oidc: None,
            cognito: Some(CognitoIdp {
                user_pool_arn: "arn:aws:cognito-idp:ap-northeast-2:111122223333:userpool/x".into(),
                user_pool_client_id: "client".into(),
                user_pool_domain: "alpaka".into(),
            }),
            scope: None,
        });
        let a = annotations(&eks(), &cfg, 3000);
        let idp: serde_json::Value =
            serde_json::from_str(&a["alb.ingress.kubernetes.io/auth-idp-cognito"]).unwrap();
        assert_eq!(idp["userPoolDomain"], "alpaka");
        // Auth without a certificate: the ALB would authenticate nothing.
        assert!(exposure(&eks(), &cfg).unwrap().auth_without_https);

        let cidr = |s: &str| crate::model::types::Cidr::try_from(s).unwrap();
        cfg.ingress.inbound_cidrs = vec![cidr("203.0.113.0/24"), cidr("198.51.100.7/32")];
        let e = exposure(&eks(), &cfg).unwrap();
        assert_eq!(
            e.narrowed_cidrs.as_deref(),
            Some("203.0.113.0/24, 198.51.100.7/32")
        );
        cfg.ingress.inbound_cidrs.push(cidr("::/0"));
        assert_eq!(exposure(&eks(), &cfg).unwrap().narrowed_cidrs, None);
        cfg.ingress.inbound_cidrs = vec![cidr("203.0.113.0/24")];
        cfg.ingress
            .annotations
            .insert(SECURITY_GROUPS.into(), "sg-1".into());
        assert_eq!(exposure(&eks(), &cfg).unwrap().narrowed_cidrs, None);
    }

    #[test]
    fn an_http_listener_the_user_adds_without_redirect_is_not_https() {
        let mut cfg = StackConfig::default();
        cfg.ingress.certificate_arn = Some(ARN.into());
        assert!(exposure(&eks(), &cfg).unwrap().https);
        cfg.ingress
            .annotations
            .insert(LISTEN_PORTS.into(), "[{\"HTTP\": 8080}]".into());
        assert!(!exposure(&eks(), &cfg).unwrap().https);
    }

    #[test]
    fn prometheus_gets_an_ingress_only_when_exposed() {
        let mut cfg = StackConfig::default();
        let names = |c: &StackConfig| webs(c).iter().map(|w| w.name).collect::<Vec<_>>();
        assert_eq!(names(&cfg), ["grafana", "ui4kafka", "k8dashboard"]);
        cfg.prometheus.expose = true;
        assert_eq!(
            names(&cfg),
            ["grafana", "prometheus", "ui4kafka", "k8dashboard"]
        );
    }
}
