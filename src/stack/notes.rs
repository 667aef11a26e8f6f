//! `alpaka notes`: what the original chart printed after install, but true for this profile —
//! addresses are derived the same way the stack derives them, commands name the exact context.

use std::fmt::Write as _;

use crate::model::profile::{Cluster, Distribution, Profile};
use crate::model::stack::StackConfig;

use super::platform::Addresses;

/// The kube context alpaka uses for a profile: explicit, never "whatever is current".
pub fn kube_context(profile_name: &str, profile: &Profile) -> String {
    match profile.cluster() {
        Cluster::Minikube(_) => format!("alpaka-{profile_name}"),
        Cluster::K3d(_) => format!("k3d-alpaka-{profile_name}"),
        Cluster::K3s(k) => k.context.unwrap_or_else(|| "default".into()),
        Cluster::Eks(e) => format!("alpaka-{}", e.cluster_name),
    }
}

pub fn render(profile_name: &str, profile: &Profile, cfg: &StackConfig) -> String {
    let ns = profile.namespace.as_str();
    let addr = Addresses { ns: ns.to_owned() };
    let ctx = kube_context(profile_name, profile);
    let kubectl = format!("kubectl --context {ctx} -n {ns}");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# alpaka: profile `{profile_name}` ({}, namespace {ns})\n",
        profile.distribution
    );
    let _ = writeln!(s, "Pods:\n  {kubectl} get pods\n");
    let _ = writeln!(
        s,
        "Check that it all works (Kafka, Connect, ksqlDB, UIs, metrics):\n  alpaka test -p {profile_name}\n"
    );

    if cfg.kafka.enabled {
        let _ = writeln!(
            s,
            "Kafka bootstrap (inside the cluster):\n  {}\n",
            addr.bootstrap()
        );
        if cfg.kafka_connect.enabled && !cfg.kafka_connect.connects.is_empty() {
            let _ = writeln!(s, "Kafka Connect REST:");
            for c in &cfg.kafka_connect.connects {
                let _ = writeln!(
                    s,
                    "  {:<10} {}",
                    c.kind.as_str(),
                    addr.connect(c.kind.as_str())
                );
            }
            let _ = writeln!(s, "  connector status: {kubectl} get kafkaconnectors\n");
        }
        if cfg.ksqldb.enabled {
            let _ = writeln!(
                s,
                "ksqlDB:\n  {}\n  CLI: {kubectl} exec -it deploy/ksqldb -- ksql http://localhost:8088\n",
                addr.ksqldb()
            );
        }
    }
    if cfg.tool.enabled {
        let _ = writeln!(
            s,
            "Tool pod (kcat, jq, python, dns utils):\n  {kubectl} exec -it deploy/alpaka-tool -- bash\n"
        );
    }

    let webs = if cfg.ingress.enabled {
        super::ingress::webs(cfg)
    } else {
        Vec::new()
    };
    let eks = profile.distribution == Distribution::Eks;
    if !webs.is_empty() {
        let _ = writeln!(s, "Web UIs:");
        if eks && cfg.ingress.certificate_arn.is_some() {
            for w in &webs {
                let _ = writeln!(s, "  {:<13} https://{}", w.title, w.host);
            }
            let _ = writeln!(
                s,
                "  point each hostname (DNS CNAME) at the ALB: {kubectl} get ingress"
            );
        } else if eks {
            for w in &webs {
                let _ = writeln!(s, "  {:<13} http://<ALB address>:{}", w.title, w.port);
            }
            let _ = writeln!(
                s,
                "  ALB address: {kubectl} get ingress -o jsonpath='{{.items[0].status.loadBalancer.ingress[0].hostname}}'"
            );
        } else {
            for w in &webs {
                let _ = writeln!(s, "  {:<13} http://{}", w.title, w.host);
            }
            let hosts: Vec<&str> = webs.iter().map(|w| w.host.as_str()).collect();
            let ip = match profile.distribution {
                Distribution::Minikube => format!("$(minikube -p alpaka-{profile_name} ip)"),
                Distribution::K3d => "127.0.0.1".to_owned(),
                _ => "<ingress address>".to_owned(),
            };
            let _ = writeln!(s, "  add to /etc/hosts:  {ip}  {}", hosts.join(" "));
            if profile.distribution == Distribution::Minikube {
                let _ = writeln!(
                    s,
                    "  (on WSL, run `minikube -p alpaka-{profile_name} tunnel` and use 127.0.0.1)"
                );
            }
        }
        let internet_facing =
            super::ingress::exposure(profile, cfg).is_some_and(|e| e.internet_facing);
        if eks && !internet_facing {
            let _ = writeln!(
                s,
                "  the ALB is internal: reachable from inside the VPC only (a VPN, VPC peering, Direct Connect or a bastion), or use the port-forwards below"
            );
        }
        s.push('\n');
    }
    // Every UI, with or without an Ingress, through the API server from this machine.
    let all = super::ingress::running(cfg);
    if !all.is_empty() {
        let _ = writeln!(
            s,
            "Web UIs from this machine (port-forward, then http://localhost:<port>):"
        );
        for w in &all {
            let _ = writeln!(
                s,
                "  {:<13} {kubectl} port-forward svc/{} {}:{}",
                w.title, w.service, w.port, w.service_port
            );
        }
        s.push('\n');
    }

    let ui_login = cfg.ui4kafka.enabled
        && cfg.kafka.enabled
        && cfg.ui4kafka.auth.kind == crate::model::stack::UiAuthType::Login;
    if cfg.grafana.enabled || ui_login {
        let _ = writeln!(s, "Passwords (generated, kept only in Secrets):");
    }
    if ui_login {
        let _ = writeln!(
            s,
            "  UI for Kafka ({}): {kubectl} get secret {} -o jsonpath='{{.data.{}}}' | base64 -d",
            cfg.ui4kafka.auth.username,
            super::charts::KAFKA_UI_LOGIN_SECRET,
            super::charts::KAFKA_UI_PASSWORD_KEY
        );
    }
    if cfg.grafana.enabled {
        let _ = writeln!(
            s,
            "  Grafana admin ({}): {kubectl} get secret grafana-admin -o jsonpath='{{.data.admin-password}}' | base64 -d",
            cfg.grafana.admin_user
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn notes(profile: &str) -> String {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let l = crate::config::load(root, profile).unwrap();
        render(&l.profile_name, &l.profile, &l.config)
    }

    #[test]
    fn local_notes_name_the_context_hosts_and_commands() {
        let n = notes("k3d");
        assert!(
            n.contains(
                "kubectl --context k3d-alpaka-k3d -n alpaka exec -it deploy/alpaka-tool -- bash"
            ),
            "{n}"
        );
        assert!(n.contains("alpaka-kafka-bootstrap.alpaka.svc:9093"), "{n}");
        assert!(
            n.contains("srccon     http://srccon-connect-api.alpaka.svc:8083"),
            "{n}"
        );
        // Prometheus has no Ingress unless `prometheus.expose`; a port-forward reaches it.
        assert!(
            n.contains("127.0.0.1  grafana.alpaka.wai ui4kafka.alpaka.wai k8dashboard.alpaka.wai"),
            "{n}"
        );
        assert!(
            n.contains("kubectl --context k3d-alpaka-k3d -n alpaka port-forward svc/kube-prometheus-stack-prometheus 9090:9090"),
            "{n}"
        );
        assert!(
            n.contains("UI for Kafka  kubectl --context k3d-alpaka-k3d -n alpaka port-forward svc/kafka-ui 8080:80"),
            "{n}"
        );
        assert!(n.contains("get secret grafana-admin"), "{n}");
        // The kafbat login: the command that reads the generated password, never a value.
        assert!(
            n.contains("UI for Kafka (admin): kubectl --context k3d-alpaka-k3d -n alpaka get secret kafka-ui-login -o jsonpath='{.data.password}' | base64 -d"),
            "{n}"
        );
        assert!(!n.contains("internal"), "{n}");
        assert!(notes("minikube").contains("$(minikube -p alpaka-minikube ip)"));
    }

    #[test]
    fn eks_with_a_certificate_uses_https_hostnames() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let l = crate::config::load(root, "eks-prod").unwrap();
        let mut cfg = l.config.clone();
        cfg.ingress.certificate_arn =
            Some("arn:aws:acm:ap-northeast-2:111122223333:certificate/abc".into());
        let n = render(&l.profile_name, &l.profile, &cfg);
        assert!(
            n.contains("Grafana       https://grafana.alpaka.wai"),
            "{n}"
        );

        let nodes = crate::stack::build(&l.profile_name, &l.profile, &cfg).unwrap();
        let ing = nodes
            .iter()
            .find(|n| n.id.as_str() == "k8s.ingress.grafana")
            .unwrap();
        let a = ing
            .desired
            .get("metadata")
            .and_then(|m| m.as_map())
            .and_then(|m| m.get("annotations"))
            .unwrap();
        let get = |k: &str| {
            a.as_map()
                .and_then(|m| m.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        assert_eq!(
            get("alb.ingress.kubernetes.io/listen-ports").as_deref(),
            Some("[{\"HTTP\": 80}, {\"HTTPS\": 443}]")
        );
        assert_eq!(
            get("alb.ingress.kubernetes.io/ssl-redirect").as_deref(),
            Some("443")
        );
        assert_eq!(
            get("alb.ingress.kubernetes.io/scheme").as_deref(),
            Some("internal")
        );
        assert_eq!(
            get("alb.ingress.kubernetes.io/certificate-arn").as_deref(),
            Some("arn:aws:acm:ap-northeast-2:111122223333:certificate/abc")
        );
        assert!(
            serde_json::to_string(&ing.desired)
                .unwrap()
                .contains("\"host\":\"grafana.alpaka.wai\"")
        );

        // without the certificate: per-service ports, no host
        let nodes = crate::stack::build(&l.profile_name, &l.profile, &l.config).unwrap();
        let ing = nodes
            .iter()
            .find(|n| n.id.as_str() == "k8s.ingress.grafana")
            .unwrap();
        let json = serde_json::to_string(&ing.desired).unwrap();
        assert!(
            json.contains("[{\\\"HTTP\\\": 3000}]") && !json.contains("grafana.alpaka.wai"),
            "{json}"
        );
    }

    #[test]
    fn eks_notes_use_listen_ports() {
        let n = notes("eks-prod");
        assert!(n.contains("Grafana       http://<ALB address>:3000"), "{n}");
        assert!(n.contains("Headlamp      http://<ALB address>:8443"), "{n}");
        assert!(n.contains("--context alpaka-prod"), "{n}");
        assert!(
            n.contains("the ALB is internal: reachable from inside the VPC only"),
            "{n}"
        );
        assert!(!n.contains("Prometheus    http://<ALB address>"), "{n}");
    }
}
