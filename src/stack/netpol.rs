//! NetworkPolicies of alpaka's namespace: every pod's ingress denied, then exactly the flows the
//! platform needs (AWS EKS Best Practices `network.adoc`, CIS EKS 4.3.2/5.4.4). NetworkPolicies
//! are additive: Strimzi's own per-listener and per-Connect policies stay and still apply.
//! Egress is left open (DNS, the Kubernetes API, S3, the users' databases).
//!
//! Pod labels of third-party pods are the ones their charts and operators set at the pinned
//! versions (`catalog.rs`); ports are container ports. Pure: typed `k8s-openapi` structs.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::model::profile::{Distribution, Profile};
use crate::model::stack::StackConfig;

use super::k8s::{self, PART_OF};
use super::platform::{CONNECT_PORT, KAFKA_NAME, KSQLDB_SERVICE};
use super::strimzi;
use super::testkit::MYSQL_ROLE_LABEL;

/// Where traffic that is not from a pod comes from: the API server's service proxy (`alpaka
/// test`'s HTTP checks, the admission webhook calls) and, on EKS, the ALB's targets by IP. A
/// NetworkPolicy names such sources only by address range, and the range that holds them also
/// holds pods (the VPC CNI gives pods VPC addresses; flannel reaches other nodes' pods from the
/// node's overlay address, inside the pod CIDR): the ports these sources reach are open to that
/// range, and to nothing else outside the namespace.
pub fn infrastructure_cidrs(profile: &Profile) -> Vec<String> {
    match profile.distribution {
        Distribution::Eks => match &profile.eks {
            Some(e) if e.vpc.existing.is_none() => vec![e.vpc.effective_cidr().to_string()],
            // An existing VPC's range is not in the profile: the private ranges a VPC takes.
            _ => ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
                .map(str::to_owned)
                .to_vec(),
        },
        // k3s' default `--cluster-cidr` (k3s docs, "Networking options"): the flannel address
        // the API server's proxy uses to reach a pod on another node is in it.
        Distribution::K3d | Distribution::K3s => vec!["10.42.0.0/16".into()],
        // minikube's default pod CIDR (kubeadm `--pod-network-cidr`, also calico's pool).
        Distribution::Minikube => vec!["10.244.0.0/16".into()],
    }
}

fn selector(labels: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        ..Default::default()
    }
}

/// Pods of this namespace with these labels.
fn pods(labels: &[(&str, &str)]) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(selector(labels)),
        ..Default::default()
    }
}

fn cidrs(c: &[String]) -> Vec<NetworkPolicyPeer> {
    c.iter()
        .map(|c| NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: c.clone(),
                except: None,
            }),
            ..Default::default()
        })
        .collect()
}

fn tcp(ports: &[i32]) -> Vec<NetworkPolicyPort> {
    ports
        .iter()
        .map(|p| NetworkPolicyPort {
            port: Some(IntOrString::Int(*p)),
            protocol: Some("TCP".into()),
            ..Default::default()
        })
        .collect()
}

fn policy(
    name: &str,
    ns: &str,
    target: LabelSelector,
    rules: Vec<NetworkPolicyIngressRule>,
) -> NetworkPolicy {
    NetworkPolicy {
        metadata: k8s::meta(
            name,
            ns,
            BTreeMap::from([(PART_OF.0.into(), PART_OF.1.into())]),
        ),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(target),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: (!rules.is_empty()).then_some(rules),
            ..Default::default()
        }),
    }
}

fn rule(from: Vec<NetworkPolicyPeer>, ports: &[i32]) -> NetworkPolicyIngressRule {
    NetworkPolicyIngressRule {
        from: Some(from),
        ports: Some(tcp(ports)),
    }
}

// Pod labels, as each chart or operator sets them.
/// Prometheus' pods (prometheus-operator sets `app.kubernetes.io/name: prometheus`).
const PROMETHEUS: &[(&str, &str)] = &[("app.kubernetes.io/name", "prometheus")];
const GRAFANA: &[(&str, &str)] = &[("app.kubernetes.io/name", "grafana")];
const KAFKA_UI: &[(&str, &str)] = &[("app.kubernetes.io/name", "kafka-ui")];
const ALLOY: &[(&str, &str)] = &[("app.kubernetes.io/name", "alloy")];
/// Strimzi's cluster operator (its chart's Deployment template labels `strimzi.io/kind`).
const STRIMZI_OPERATOR: &[(&str, &str)] = &[("strimzi.io/kind", "cluster-operator")];
const CONNECT: &[(&str, &str)] = &[("strimzi.io/kind", "KafkaConnect")];
const TOOL: &[(&str, &str)] = &[("app.kubernetes.io/name", "alpaka-tool")];
const INIT: &[(&str, &str)] = &[("app.kubernetes.io/name", "alpaka-init")];

/// The ingress controller's pods, per distribution and ingress class: traefik in `kube-system`
/// (k3s' packaged chart), ingress-nginx in `ingress-nginx` (minikube's addon); on EKS the ALB
/// reaches pods by IP from the VPC. Another class: any pod of any namespace (alpaka does not
/// know where that controller runs).
fn ingress_controller(profile: &Profile, class: &str) -> Vec<NetworkPolicyPeer> {
    let in_namespace = |ns: &str, name: &str| NetworkPolicyPeer {
        namespace_selector: Some(selector(&[("kubernetes.io/metadata.name", ns)])),
        pod_selector: Some(selector(&[("app.kubernetes.io/name", name)])),
        ..Default::default()
    };
    match class {
        "traefik" => vec![in_namespace("kube-system", "traefik")],
        "nginx" => vec![in_namespace("ingress-nginx", "ingress-nginx")],
        "alb" if profile.distribution == Distribution::Eks => cidrs(&infrastructure_cidrs(profile)),
        _ => vec![NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector::default()),
            ..Default::default()
        }],
    }
}

/// Whether alpaka knows where `class`'s controller runs on this distribution.
pub fn known_ingress_class(profile: &Profile, class: &str) -> bool {
    matches!(class, "traefik" | "nginx")
        || (class == "alb" && profile.distribution == Distribution::Eks)
}

/// The ingress class the UIs' Ingresses get (as `platform::ingresses` chooses it).
fn ingress_class(profile: &Profile, cfg: &StackConfig) -> String {
    cfg.ingress.class_name.clone().unwrap_or_else(|| {
        match profile.distribution {
            Distribution::Minikube => "nginx",
            Distribution::K3d | Distribution::K3s => "traefik",
            Distribution::Eks => "alb",
        }
        .to_owned()
    })
}

/// Every NetworkPolicy of the namespace for this profile and config, by name.
pub fn policies(profile: &Profile, cfg: &StackConfig, ns: &str) -> Vec<NetworkPolicy> {
    let infra = cidrs(&infrastructure_cidrs(profile));
    let ingress = cfg
        .ingress
        .enabled
        .then(|| ingress_controller(profile, &ingress_class(profile, cfg)));
    let prometheus = cfg.prometheus.enabled;
    let kafka = cfg.kafka.enabled;
    let mut out = vec![policy(
        "alpaka-default-deny-ingress",
        ns,
        LabelSelector::default(),
        Vec::new(),
    )];

    // A web UI: from the ingress controller (when there are Ingresses) and the API server.
    let ui = |extra: Vec<NetworkPolicyPeer>| {
        let mut from = infra.clone();
        from.extend(ingress.clone().unwrap_or_default());
        from.extend(extra);
        from
    };

    if kafka {
        let cluster = [
            ("strimzi.io/cluster", KAFKA_NAME),
            ("strimzi.io/kind", "Kafka"),
        ];
        // Clients in the namespace → the TLS listener (`strimzi.rs`), and the plain one only
        // when the user kept it. Strimzi's own policy allows them too; this one keeps them
        // open if its generation is turned off.
        let mut client_ports = vec![i32::from(strimzi::TLS_LISTENER_PORT)];
        if cfg.kafka.security.plain_listener {
            client_ports.push(i32::from(strimzi::PLAIN_LISTENER_PORT));
        }
        let mut rules = vec![rule(vec![pods(&[])], &client_ports)];
        // The brokers and controllers among themselves and the operators (KRaft controller
        // 9090, replication 9091), as Strimzi's generated policy allows.
        rules.push(rule(
            vec![
                pods(&[("strimzi.io/cluster", KAFKA_NAME)]),
                pods(STRIMZI_OPERATOR),
            ],
            &[9090, 9091],
        ));
        if prometheus && cfg.kafka.metrics {
            rules.push(rule(vec![pods(PROMETHEUS)], &[9404]));
        }
        out.push(policy("alpaka-kafka", ns, selector(&cluster), rules));
    }

    if kafka && cfg.kafka_connect.enabled {
        // Connect's REST API: Strimzi's generated policy lets only the operator and the
        // workers in. kafbat UI, alpaka's tool and init, and the API server (`alpaka test`)
        // need it too.
        let mut from = infra.clone();
        from.extend([pods(TOOL), pods(INIT)]);
        if cfg.ui4kafka.enabled {
            from.push(pods(KAFKA_UI));
        }
        let mut rules = vec![rule(from, &[i32::from(CONNECT_PORT)])];
        if prometheus && cfg.kafka.metrics {
            rules.push(rule(vec![pods(PROMETHEUS)], &[9404]));
        }
        out.push(policy("alpaka-connect", ns, selector(CONNECT), rules));
        // `alpaka test`'s throwaway MySQL: the JDBC source connector's workers read it.
        out.push(policy(
            // Not `alpaka-test-…`: that prefix names what one `alpaka test` run made and
            // removes; this policy belongs to the platform and outlives every run.
            "alpaka-selftest-mysql",
            ns,
            selector(&[MYSQL_ROLE_LABEL]),
            vec![rule(vec![pods(CONNECT)], &[3306])],
        ));
    }

    if kafka && cfg.ksqldb.enabled {
        let mut from = infra.clone();
        from.extend([pods(TOOL), pods(INIT)]);
        if cfg.ui4kafka.enabled {
            from.push(pods(KAFKA_UI));
        }
        out.push(policy(
            "alpaka-ksqldb",
            ns,
            selector(&[("app.kubernetes.io/name", "ksqldb")]),
            vec![rule(from, &[i32::from(KSQLDB_SERVICE.1)])],
        ));
    }

    if kafka && cfg.ui4kafka.enabled {
        // kafbat's container port (chart 1.6.5: `containerPort: 8080`).
        out.push(policy(
            "alpaka-kafka-ui",
            ns,
            selector(KAFKA_UI),
            vec![rule(ui(Vec::new()), &[8080])],
        ));
    }

    if cfg.k8dashboard.enabled {
        // Headlamp's container port (chart 0.42.0: `4466`).
        out.push(policy(
            "alpaka-headlamp",
            ns,
            selector(&[("app.kubernetes.io/name", "headlamp")]),
            vec![rule(ui(Vec::new()), &[4466])],
        ));
    }

    if cfg.grafana.enabled {
        // Grafana's container port 3000; Prometheus scrapes it (the kube-prometheus-stack
        // chart's Grafana ServiceMonitor).
        let extra = if prometheus {
            vec![pods(PROMETHEUS)]
        } else {
            Vec::new()
        };
        out.push(policy(
            "alpaka-grafana",
            ns,
            selector(GRAFANA),
            vec![rule(ui(extra), &[3000])],
        ));
    }

    if prometheus {
        let mut extra = Vec::new();
        if cfg.grafana.enabled {
            extra.push(pods(GRAFANA));
        }
        out.push(policy(
            "alpaka-prometheus",
            ns,
            selector(PROMETHEUS),
            vec![rule(ui(extra), &[9090])],
        ));
        // What Prometheus scrapes in the namespace (besides Kafka, Connect and Grafana above):
        // kube-state-metrics (`http` 8080), the prometheus-operator (`https` 10250, also its
        // admission webhook, called by the API server), KMinion (8080).
        out.push(policy(
            "alpaka-kube-state-metrics",
            ns,
            selector(&[("app.kubernetes.io/name", "kube-state-metrics")]),
            vec![rule(vec![pods(PROMETHEUS)], &[8080])],
        ));
        let mut operator_from = vec![pods(PROMETHEUS)];
        operator_from.extend(infra.clone());
        out.push(policy(
            "alpaka-prometheus-operator",
            ns,
            selector(&[(
                "app.kubernetes.io/name",
                "kube-prometheus-stack-prometheus-operator",
            )]),
            vec![rule(operator_from, &[10250])],
        ));
        if cfg.prometheus.alertmanager.enabled {
            // Alertmanager's web port 9093: Prometheus sends alerts (and scrapes it), Grafana's
            // Alertmanager datasource queries it. Its pods carry `alertmanager: <CR name>`
            // (prometheus-operator's StatefulSet pod labels); kube-prometheus-stack 88.5.3 names
            // the CR `<fullname>-alertmanager` (`_helpers.tpl`, alertmanager.crname).
            let mut from = vec![pods(PROMETHEUS)];
            if cfg.grafana.enabled {
                from.push(pods(GRAFANA));
            }
            out.push(policy(
                "alpaka-alertmanager",
                ns,
                selector(&[("alertmanager", "kube-prometheus-stack-alertmanager")]),
                vec![rule(from, &[9093])],
            ));
        }
        if kafka && cfg.kminion.enabled {
            out.push(policy(
                "alpaka-kminion",
                ns,
                selector(&[("app.kubernetes.io/name", "kminion")]),
                vec![rule(vec![pods(PROMETHEUS)], &[8080])],
            ));
        }
    }

    if cfg.loki.enabled {
        // Loki's HTTP port 3100: Alloy pushes, Grafana queries.
        let mut from = vec![pods(ALLOY)];
        if cfg.grafana.enabled {
            from.push(pods(GRAFANA));
        }
        out.push(policy(
            "alpaka-loki",
            ns,
            selector(&[("app.kubernetes.io/name", "loki")]),
            vec![rule(from, &[3100])],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(d: Distribution) -> Profile {
        let name = match d {
            Distribution::Minikube => "minikube",
            Distribution::K3d => "k3d",
            Distribution::K3s => "k3s",
            Distribution::Eks => "eks-prod",
        };
        crate::config::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), name)
            .unwrap()
            .profile
    }

    #[test]
    fn the_first_policy_denies_every_ingress() {
        let p = policies(
            &profile(Distribution::K3d),
            &StackConfig::default(),
            "alpaka",
        );
        let deny = &p[0];
        let spec = deny.spec.as_ref().unwrap();
        assert_eq!(spec.pod_selector, Some(LabelSelector::default()));
        assert_eq!(spec.policy_types, Some(vec!["Ingress".to_owned()]));
        assert!(spec.ingress.is_none());
        let names: Vec<_> = p.iter().filter_map(|n| n.metadata.name.clone()).collect();
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(names.len(), unique.len(), "{names:?}");
    }

    #[test]
    fn alertmanager_is_reached_by_prometheus_and_grafana_only_when_it_runs() {
        let mut cfg = StackConfig::default();
        let named = |cfg: &StackConfig| {
            policies(&profile(Distribution::K3d), cfg, "alpaka")
                .into_iter()
                .find(|p| p.metadata.name.as_deref() == Some("alpaka-alertmanager"))
        };
        assert!(named(&cfg).is_none());
        cfg.prometheus.alertmanager.enabled = true;
        let p = named(&cfg).unwrap();
        let spec = p.spec.unwrap();
        let rule = &spec.ingress.unwrap()[0];
        assert_eq!(
            rule.from.as_ref().unwrap(),
            &vec![pods(PROMETHEUS), pods(GRAFANA)]
        );
        assert_eq!(rule.ports.as_ref().unwrap(), &tcp(&[9093]));
    }

    #[test]
    fn the_ingress_controller_is_named_per_distribution() {
        let cfg = StackConfig::default();
        let peers = |d| ingress_controller(&profile(d), &ingress_class(&profile(d), &cfg));
        let k3d = peers(Distribution::K3d);
        assert_eq!(
            k3d[0].namespace_selector,
            Some(selector(&[("kubernetes.io/metadata.name", "kube-system")]))
        );
        let minikube = peers(Distribution::Minikube);
        assert_eq!(
            minikube[0].namespace_selector,
            Some(selector(&[(
                "kubernetes.io/metadata.name",
                "ingress-nginx"
            )]))
        );
    }
}
