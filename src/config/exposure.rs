//! Who can reach the web UIs: the refusals and the warnings of `docs/security.md` ("Web UIs").
//!
//! On EKS an internet-facing ALB needs HTTPS and either ALB sign-in or source CIDRs narrower
//! than the internet, judged on the annotations as applied (`stack::ingress::exposure`), so a
//! user annotation cannot slip past the rule. Every weakening in effect is one warning line,
//! pointing at the setting that made it.

use super::semantic::{at, deepest, diag_at, is_default};
use super::yaml::Node;
use crate::diag::{Diagnostic, Severity};
use crate::model::{IngressAuthType, Profile, StackConfig, UiAuthType};
use crate::stack::ingress::{self, SCHEME};

fn warning(d: Diagnostic) -> Diagnostic {
    Diagnostic {
        severity: Severity::Warning,
        ..d
    }
}

/// The node of `path` when the user set it (not a default), else none.
fn set_by_user<'a>(tree: &'a Node, path: &[&str]) -> Option<&'a Node> {
    at(tree, path).filter(|n| !is_default(n))
}

pub fn checks(profile: &Profile, config: &StackConfig, tree: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    ingress_checks(profile, config, tree, &mut out);
    prometheus_checks(config, tree, &mut out);
    kafka_ui_checks(profile, config, tree, &mut out);
    out
}

fn ingress_checks(profile: &Profile, config: &StackConfig, tree: &Node, out: &mut Vec<Diagnostic>) {
    let i = &config.ingress;
    if let Some(auth) = &i.auth {
        let (want, other, shape) = match auth.kind {
            IngressAuthType::Oidc => (
                auth.oidc.is_some(),
                auth.cognito.is_some().then_some("cognito"),
                "oidc: {issuer, authorizationEndpoint, tokenEndpoint, userInfoEndpoint, secretName}",
            ),
            IngressAuthType::Cognito => (
                auth.cognito.is_some(),
                auth.oidc.is_some().then_some("oidc"),
                "cognito: {userPoolARN, userPoolClientID, userPoolDomain}",
            ),
        };
        let kind = match auth.kind {
            IngressAuthType::Oidc => "oidc",
            IngressAuthType::Cognito => "cognito",
        };
        if !want {
            out.push(
                diag_at(
                    deepest(tree, &["ingress", "auth", "type"]),
                    "ingress.auth.type",
                    format!("`type: {kind}` needs an `{kind}` block"),
                )
                .with_expected(shape),
            );
        }
        if let Some(o) = other {
            out.push(
                diag_at(
                    deepest(tree, &["ingress", "auth", o]),
                    &format!("ingress.auth.{o}"),
                    format!("`{o}` is for `type: {o}`; this auth is `type: {kind}`"),
                )
                .with_hint(format!("remove `{o}`, or set `type: {o}`")),
            );
        }
        if let Some(o) = &auth.oidc {
            for (k, v) in [
                ("issuer", &o.issuer),
                ("authorizationEndpoint", &o.authorization_endpoint),
                ("tokenEndpoint", &o.token_endpoint),
                ("userInfoEndpoint", &o.user_info_endpoint),
            ] {
                if !v.starts_with("https://") {
                    out.push(
                        diag_at(
                            deepest(tree, &["ingress", "auth", "oidc", k]),
                            &format!("ingress.auth.oidc.{k}"),
                            format!("{v:?} is not an https:// URL"),
                        )
                        .with_expected("the IdP's https:// endpoint (its /.well-known/openid-configuration lists them)"),
                    );
                }
            }
        }
    }

    for o in ingress::overlaps(profile, config) {
        let n = deepest(tree, &["ingress", "annotations", &o.key]);
        out.push(warning(diag_at(
            n,
            &format!("ingress.annotations.{}", o.key),
            format!(
                "replaces `{}: {}`, which alpaka sets on the UIs' Ingresses; your value `{}` is used",
                o.key, o.alpaka, o.user
            ),
        )));
    }

    let Some(e) = ingress::exposure(profile, config) else {
        return;
    };
    // Where the scheme came from: the user's annotation wins over `ingress.public`.
    let scheme_path = ["ingress", "annotations", SCHEME];
    let (here, path) = match set_by_user(tree, &scheme_path) {
        Some(n) => (n, format!("ingress.annotations.{SCHEME}")),
        None => (
            deepest(tree, &["ingress", "public"]),
            "ingress.public".to_owned(),
        ),
    };
    if e.auth_without_https {
        let n = set_by_user(tree, &["ingress", "auth"])
            .or_else(|| set_by_user(tree, &["ingress", "annotations", ingress::AUTH_TYPE]))
            .unwrap_or(tree);
        out.push(
            diag_at(
                n,
                "ingress.auth",
                "the ALB signs users in on HTTPS listeners only: without a certificate nobody would be asked to sign in",
            )
            .with_expected("ingress.certificateArn (an ACM certificate for the UIs' hostnames)")
            .with_hint("set ingress.certificateArn; alpaka then serves HTTPS on 443 and redirects HTTP 80 to it"),
        );
    }
    if !e.internet_facing {
        return;
    }
    let mut refused = false;
    if !e.https {
        refused = true;
        out.push(
            diag_at(
                here,
                &path,
                "an internet-facing ALB without HTTPS: sign-ins and the UIs' data would cross the internet in cleartext",
            )
            .with_expected("ingress.certificateArn with an HTTPS listener, every HTTP listener redirecting to it")
            .with_hint("set ingress.certificateArn (an ACM certificate for the UIs' hostnames), or keep the ALB internal (`ingress.public: false`) and reach it from the VPC"),
        );
    }
    if e.sign_in.is_none() && e.narrowed_cidrs.is_none() {
        refused = true;
        out.push(
            diag_at(
                here,
                &path,
                "an internet-facing ALB without sign-in or source CIDRs: anyone on the internet would reach Kafka's UI, Grafana and Headlamp",
            )
            .with_expected("ingress.auth (type oidc or cognito), or ingress.inboundCidrs without 0.0.0.0/0 and ::/0")
            .with_hint("add `ingress.auth` (its client secret from an existing Secret) or list your office/VPN ranges in `ingress.inboundCidrs`; or keep the ALB internal"),
        );
    }
    if !refused {
        let how = match (&e.sign_in, &e.narrowed_cidrs) {
            (Some(a), Some(c)) => format!("sign-in: {a}; sources: {c}"),
            (Some(a), None) => format!("sign-in: {a}"),
            (None, Some(c)) => format!("sources: {c}"),
            (None, None) => String::new(),
        };
        out.push(warning(diag_at(
            here,
            &path,
            format!("the web UIs are on an internet-facing ALB (HTTPS; {how})"),
        )));
    }
}

fn prometheus_checks(config: &StackConfig, tree: &Node, out: &mut Vec<Diagnostic>) {
    let p = &config.prometheus;
    if p.enabled && p.expose && config.ingress.enabled {
        out.push(warning(diag_at(
            deepest(tree, &["prometheus", "expose"]),
            "prometheus.expose",
            "Prometheus gets an Ingress: it has no sign-in, and anyone reaching it can stop it (POST /-/quit)",
        )));
    }
}

/// kafbat UI is never anonymous with write access, judged on the values helm gets (so
/// `chartValues` cannot turn it back into kafbat's default of no sign-in and writable clusters).
fn kafka_ui_checks(
    profile: &Profile,
    config: &StackConfig,
    tree: &Node,
    out: &mut Vec<Diagnostic>,
) {
    use crate::stack::charts;
    let u = &config.ui4kafka;
    if !(u.enabled && config.kafka.enabled) {
        return;
    }
    match (u.auth.kind, &u.auth.oauth2) {
        (UiAuthType::Oauth2, None) => out.push(
            diag_at(
                deepest(tree, &["ui4kafka", "auth", "type"]),
                "ui4kafka.auth.type",
                "`type: oauth2` needs an `oauth2` block",
            )
            .with_expected("oauth2: {issuerUri, clientId, secretName} (the client secret stays in that Secret)"),
        ),
        (UiAuthType::Login | UiAuthType::Disabled, Some(_)) => out.push(
            diag_at(
                deepest(tree, &["ui4kafka", "auth", "oauth2"]),
                "ui4kafka.auth.oauth2",
                "`oauth2` is for `type: oauth2`",
            )
            .with_hint("remove `oauth2`, or set `type: oauth2`"),
        ),
        _ => {}
    }
    if let Some(o) = &u.auth.oauth2
        && !o.issuer_uri.starts_with("https://")
    {
        out.push(
            diag_at(
                deepest(tree, &["ui4kafka", "auth", "oauth2", "issuerUri"]),
                "ui4kafka.auth.oauth2.issuerUri",
                format!("{:?} is not an https:// URL", o.issuer_uri),
            )
            .with_expected("the OpenID Connect issuer, e.g. https://login.example.com/realms/data"),
        );
    }

    let addr = crate::stack::platform::Addresses {
        ns: profile.namespace.as_str().to_owned(),
    };
    let (values, _) = charts::finish(
        config,
        crate::stack::catalog::KAFKA_UI.release,
        charts::kafka_ui(config, &addr),
    );
    let (anonymous, writable) = charts::kafka_ui_access(&values);
    let hatch = ["ui4kafka", "chartValues", "yamlApplicationConfig"];
    let auth_at = set_by_user(tree, &["ui4kafka", "auth", "type"])
        .map(|n| (n, "ui4kafka.auth.type".to_owned()))
        .or_else(|| {
            set_by_user(tree, &[&hatch[..], &["auth", "type"]].concat())
                .map(|n| (n, format!("{}.auth.type", hatch.join("."))))
        });
    let read_only_at = set_by_user(tree, &["ui4kafka", "readOnly"])
        .map(|n| (n, "ui4kafka.readOnly".to_owned()))
        .or_else(|| {
            set_by_user(tree, &[&hatch[..], &["kafka"]].concat())
                .map(|n| (n, format!("{}.kafka", hatch.join("."))))
        });
    let fallback = || (deepest(tree, &["ui4kafka"]), "ui4kafka".to_owned());
    match (anonymous, writable) {
        (true, true) => {
            let (n, p) = auth_at.or(read_only_at).unwrap_or_else(fallback);
            out.push(
                diag_at(
                    n,
                    &p,
                    "kafbat UI would let anyone who reaches it write: produce, delete and purge topics, reset offsets, create connectors",
                )
                .with_expected("a sign-in (ui4kafka.auth.type: login or oauth2), or ui4kafka.readOnly: true")
                .with_hint("remove `ui4kafka.auth.type: none` (the default is a login with a generated password), or set `ui4kafka.readOnly: true`"),
            );
        }
        (true, false) => {
            let (n, p) = auth_at.unwrap_or_else(fallback);
            out.push(warning(diag_at(
                n,
                &p,
                "kafbat UI has no sign-in: anyone who reaches it reads every topic's messages (read-only)",
            )));
        }
        (false, true) => {
            let (n, p) = read_only_at.unwrap_or_else(fallback);
            out.push(warning(diag_at(
                n,
                &p,
                "kafbat UI's clusters are writable: whoever signs in can produce, delete and purge topics, reset offsets and create connectors",
            )));
        }
        (false, false) => {}
    }
}
