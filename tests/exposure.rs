//! Issue 20, "Must show" for the web UIs, on the binary: `alpaka plan --profile eks-prod
//! --refresh=false --json` puts no UI on the internet without HTTPS plus sign-in or narrowed
//! CIDRs, keeps a user's own `scheme` annotation, never makes kafbat UI anonymous-with-write,
//! and gives Prometheus no Ingress; `validate` refuses the weak public set-ups and warns once
//! per weakening.

use tempfile::TempDir;

mod common;
use common::{alpaka, workspace};

const SCHEME: &str = "alb.ingress.kubernetes.io/scheme";
const ARN: &str = "arn:aws:acm:ap-northeast-2:111122223333:certificate/abc";

/// eks-prod with `extra` appended to its `overrides:` block (indented by the caller).
fn eks_prod_with(ws: &TempDir, extra: &str) {
    let p = ws.path().join("profiles/eks-prod.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    let text = text.replace("overrides:\n", &format!("overrides:\n{extra}"));
    std::fs::write(p, text).unwrap();
}

struct Planned {
    ok: bool,
    json: serde_json::Value,
    stderr: String,
}

fn plan(ws: &TempDir) -> Planned {
    let out = alpaka(ws.path())
        .args(["plan", "--profile", "eks-prod", "--refresh=false", "--json"])
        .output()
        .unwrap();
    Planned {
        ok: out.status.success(),
        json: serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn after<'a>(p: &'a Planned, id: &str) -> Option<&'a serde_json::Value> {
    p.json["changes"]
        .as_array()?
        .iter()
        .find(|c| c["id"] == id)
        .map(|c| &c["after"])
}

fn ingresses(p: &Planned) -> Vec<&serde_json::Value> {
    p.json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "k8s.ingress")
        .map(|c| &c["after"])
        .collect()
}

/// The rule of issue 20: an internet-facing Ingress only with HTTPS and sign-in or CIDRs.
fn assert_no_open_ingress(p: &Planned) {
    for ing in ingresses(p) {
        let a = &ing["metadata"]["annotations"];
        if a[SCHEME] != "internet-facing" {
            continue;
        }
        let https = a["alb.ingress.kubernetes.io/certificate-arn"].is_string()
            && a["alb.ingress.kubernetes.io/listen-ports"]
                .as_str()
                .is_some_and(|l| l.contains("HTTPS"));
        let sign_in = matches!(
            a["alb.ingress.kubernetes.io/auth-type"].as_str(),
            Some("oidc" | "cognito")
        );
        let cidrs = a["alb.ingress.kubernetes.io/inbound-cidrs"]
            .as_str()
            .is_some_and(|c| !c.contains("0.0.0.0/0") && !c.contains("::/0"));
        assert!(https && (sign_in || cidrs), "open Ingress: {ing}");
    }
}

#[test]
fn eks_prod_plans_internal_uis_a_signed_in_read_only_kafbat_and_no_prometheus_ingress() {
    let ws = workspace();
    let p = plan(&ws);
    assert!(p.ok, "{}", p.stderr);
    let ings = ingresses(&p);
    assert_eq!(ings.len(), 3, "grafana, ui4kafka, k8dashboard");
    for ing in &ings {
        assert_eq!(ing["metadata"]["annotations"][SCHEME], "internal", "{ing}");
    }
    assert_no_open_ingress(&p);
    assert!(after(&p, "k8s.ingress.prometheus").is_none());
    assert!(after(&p, "k8s.ingress.grafana").is_some());

    // kafbat: LOGIN_FORM, the password from the generated Secret, read-only clusters.
    let v = &after(&p, "helm.kafka-ui").unwrap()["values"];
    let app = &v["yamlApplicationConfig"];
    assert_eq!(app["auth"]["type"], "LOGIN_FORM", "{v}");
    assert_eq!(app["spring"]["security"]["user"]["name"], "admin");
    assert_eq!(app["kafka"]["clusters"][0]["readOnly"], true, "{v}");
    let pw = &v["envs"]["secretMappings"]["SPRING_SECURITY_USER_PASSWORD"];
    assert_eq!(pw["name"], "kafka-ui-login");
    assert_eq!(pw["keyName"], "password");
    let secret = after(&p, "k8s.secret.kafka-ui-login").unwrap();
    assert_eq!(secret["generate"], serde_json::json!(["password"]));
    assert!(secret["data"].get("password").is_none(), "{secret}");
    let deps = p.json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "helm.kafka-ui")
        .map(|c| c["deps"].clone())
        .unwrap();
    assert!(
        deps.as_array()
            .unwrap()
            .contains(&serde_json::json!("k8s.secret.kafka-ui-login")),
        "{deps}"
    );
}

#[test]
fn a_users_own_scheme_annotation_survives_and_is_warned_about() {
    let ws = workspace();
    // Public with HTTPS and OIDC sign-in, but the user pins the ALB internal: theirs wins.
    eks_prod_with(
        &ws,
        &format!(
            "  ingress:\n    public: true\n    certificateArn: {ARN}\n    auth:\n      type: oidc\n      oidc:\n        issuer: https://idp.example.com\n        authorizationEndpoint: https://idp.example.com/authorize\n        tokenEndpoint: https://idp.example.com/token\n        userInfoEndpoint: https://idp.example.com/userinfo\n        secretName: alb-oidc\n    annotations:\n      {SCHEME}: internal\n"
        ),
    );
    let p = plan(&ws);
    assert!(p.ok, "{}", p.stderr);
    for ing in ingresses(&p) {
        let a = &ing["metadata"]["annotations"];
        assert_eq!(a[SCHEME], "internal", "{ing}");
        assert_eq!(a["alb.ingress.kubernetes.io/auth-type"], "oidc");
        assert_eq!(a["alb.ingress.kubernetes.io/ssl-redirect"], "443");
    }
    assert!(
        p.stderr.contains(&format!(
            "replaces `{SCHEME}: internet-facing`, which alpaka sets on the UIs' Ingresses; your value `internal` is used"
        )),
        "{}",
        p.stderr
    );
    // Internal after all: no "public" warning.
    assert!(!p.stderr.contains("internet-facing ALB"), "{}", p.stderr);
}

#[test]
fn a_users_internet_facing_scheme_without_https_or_sign_in_is_refused() {
    let ws = workspace();
    eks_prod_with(
        &ws,
        &format!("  ingress:\n    annotations:\n      {SCHEME}: internet-facing\n"),
    );
    let p = plan(&ws);
    assert!(!p.ok);
    for wanted in [
        "an internet-facing ALB without HTTPS",
        "an internet-facing ALB without sign-in or source CIDRs",
        "profiles/eks-prod.yaml:",
    ] {
        assert!(p.stderr.contains(wanted), "{wanted}: {}", p.stderr);
    }
}

#[test]
fn public_with_https_and_narrowed_cidrs_plans_with_one_warning() {
    let ws = workspace();
    eks_prod_with(
        &ws,
        &format!(
            "  ingress:\n    public: true\n    certificateArn: {ARN}\n    inboundCidrs: [203.0.113.0/24]\n"
        ),
    );
    let p = plan(&ws);
    assert!(p.ok, "{}", p.stderr);
    assert_no_open_ingress(&p);
    let a = &ingresses(&p)[0]["metadata"]["annotations"];
    assert_eq!(a[SCHEME], "internet-facing");
    assert_eq!(
        a["alb.ingress.kubernetes.io/inbound-cidrs"],
        "203.0.113.0/24"
    );
    assert_eq!(
        a["alb.ingress.kubernetes.io/listen-ports"],
        "[{\"HTTP\": 80}, {\"HTTPS\": 443}]"
    );
    let warnings: Vec<&str> = p
        .stderr
        .lines()
        .filter(|l| l.contains("internet-facing ALB"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", p.stderr);
    assert!(
        warnings[0].starts_with("warning: profiles/eks-prod.yaml:")
            && warnings[0].contains("sources: 203.0.113.0/24"),
        "{}",
        p.stderr
    );
}

#[test]
fn each_ui_weakening_is_one_warning_line() {
    let ws = workspace();
    eks_prod_with(
        &ws,
        "  prometheus:\n    expose: true\n  ui4kafka:\n    auth:\n      type: none\n",
    );
    let out = alpaka(ws.path())
        .args(["validate", "--profile", "eks-prod"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    for wanted in [
        "prometheus.expose: Prometheus gets an Ingress",
        "ui4kafka.auth.type: kafbat UI has no sign-in",
    ] {
        let lines: Vec<&str> = err.lines().filter(|l| l.contains(wanted)).collect();
        assert_eq!(lines.len(), 1, "{wanted}: {err}");
        assert!(
            lines[0].starts_with("warning: profiles/eks-prod.yaml:"),
            "{err}"
        );
    }

    let ws = workspace();
    eks_prod_with(&ws, "  ui4kafka:\n    readOnly: false\n");
    let out = alpaka(ws.path())
        .args(["validate", "--profile", "eks-prod"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("warning:")
                && l.contains("ui4kafka.readOnly: kafbat UI's clusters are writable"))
            .count(),
        1,
        "{err}"
    );
}
