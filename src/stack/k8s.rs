//! alpaka's own Kubernetes objects as typed `k8s-openapi` manifests (Namespace, Deployments,
//! Services, Ingresses, RBAC, the init Job and its ConfigMap) plus the PodMonitor (a
//! prometheus-operator CRD, no typed struct). Pure: names, labels and specs only.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container as KContainer, ContainerPort, EnvVar, ExecAction,
    HTTPGetAction, Namespace, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, Service,
    ServicePort, ServiceSpec, Toleration as KToleration, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, IngressBackend, IngressRule, IngressServiceBackend,
    IngressSpec, ServiceBackendPort,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sha2::{Digest, Sha256};

use super::hardening;
use crate::model::stack::Labels;
use crate::model::types::{Container, Toleration};

pub const PART_OF: (&str, &str) = ("app.kubernetes.io/part-of", "alpaka");

pub(crate) fn labels(app: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), app.to_owned()),
        (PART_OF.0.to_owned(), PART_OF.1.to_owned()),
    ])
}

pub(crate) fn meta(name: &str, ns: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(ns.to_owned()),
        labels: Some(labels),
        ..Default::default()
    }
}

pub(crate) fn tolerations(t: &[Toleration]) -> Option<Vec<KToleration>> {
    let v: Vec<KToleration> = t
        .iter()
        .filter_map(|t| serde_json::to_value(t).ok())
        .filter_map(|j| serde_json::from_value(j).ok())
        .collect();
    (!v.is_empty()).then_some(v)
}

pub(crate) fn node_selector(l: &Labels) -> Option<BTreeMap<String, String>> {
    (!l.is_empty()).then(|| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

pub(crate) fn env(vars: &[(&str, String)]) -> Option<Vec<EnvVar>> {
    Some(
        vars.iter()
            .map(|(k, v)| EnvVar {
                name: (*k).to_owned(),
                value: Some(v.clone()),
                ..Default::default()
            })
            .collect(),
    )
}

pub(crate) fn pull_policy(c: &Container) -> Option<String> {
    serde_json::to_value(c.pull_policy)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// alpaka's namespace, with the Pod Security Admission labels of
/// [`hardening::POD_SECURITY_LABELS`].
pub fn namespace(name: &str) -> Namespace {
    let mut labels = BTreeMap::from([(PART_OF.0.to_owned(), PART_OF.1.to_owned())]);
    labels.extend(
        hardening::POD_SECURITY_LABELS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(labels),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The namespace of the node exporter alone: its DaemonSet needs the host's network, PID
/// namespace and root filesystem (prometheus-node-exporter chart 4.56.1 `values.yaml`:
/// `hostNetwork: true`, `hostPID: true`, `hostRootFsMount`), which `baseline` forbids. It is
/// labelled `enforce: privileged` explicitly, so a cluster-wide default level does not reject
/// it either, and holds nothing else.
pub fn node_exporter_namespace(name: &str) -> Namespace {
    let mut labels = BTreeMap::from([(PART_OF.0.to_owned(), PART_OF.1.to_owned())]);
    for (k, v) in [
        ("pod-security.kubernetes.io/enforce", "privileged"),
        ("pod-security.kubernetes.io/enforce-version", "latest"),
    ] {
        labels.insert(k.to_owned(), v.to_owned());
    }
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(labels),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Where and with what a single-container workload runs.
pub struct Workload<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub container: &'a Container,
    pub replicas: i32,
    pub env: Vec<(&'a str, String)>,
    pub port: Option<i32>,
    pub command: Option<Vec<String>>,
    pub node_selector: &'a Labels,
    pub tolerations: &'a [Toleration],
    /// Who the container runs as (`restricted`: non-root, a numeric uid).
    pub run_as: hardening::RunAs,
    /// What the program writes: an emptyDir each, the root filesystem being read-only.
    pub writable: &'a [&'a str],
    pub resources: ResourceRequirements,
    pub probes: Probes,
}

/// A container's probes.
#[derive(Default)]
pub struct Probes {
    pub startup: Option<Probe>,
    pub readiness: Option<Probe>,
    pub liveness: Option<Probe>,
}

/// An HTTP GET probe of `path` on `port`.
pub fn http_probe(path: &str, port: i32, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::Int(port),
            ..Default::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

/// An exec probe running `command` in the container.
pub fn exec_probe(command: &[&str], period: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(command.iter().map(|c| (*c).to_owned()).collect()),
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        ..Default::default()
    }
}

pub fn deployment(w: &Workload<'_>) -> Deployment {
    let l = labels(w.name);
    let (volumes, mounts) = hardening::scratch(w.writable);
    Deployment {
        metadata: meta(w.name, w.namespace, l.clone()),
        spec: Some(DeploymentSpec {
            replicas: Some(w.replicas),
            selector: LabelSelector {
                match_labels: Some(l.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(l),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![KContainer {
                        name: w.name.to_owned(),
                        image: Some(w.container.reference()),
                        image_pull_policy: pull_policy(w.container),
                        command: w.command.clone(),
                        env: env(&w.env),
                        ports: w.port.map(|p| {
                            vec![ContainerPort {
                                container_port: p,
                                name: Some("http".into()),
                                ..Default::default()
                            }]
                        }),
                        resources: Some(w.resources.clone()),
                        security_context: Some(hardening::container_security_context()),
                        startup_probe: w.probes.startup.clone(),
                        readiness_probe: w.probes.readiness.clone(),
                        liveness_probe: w.probes.liveness.clone(),
                        volume_mounts: (!mounts.is_empty()).then_some(mounts),
                        ..Default::default()
                    }],
                    volumes: (!volumes.is_empty()).then_some(volumes),
                    security_context: Some(hardening::pod_security_context(w.run_as)),
                    // None of alpaka's workloads calls the Kubernetes API.
                    automount_service_account_token: Some(false),
                    node_selector: node_selector(w.node_selector),
                    tolerations: tolerations(w.tolerations),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The tool block's pod settings (the original chart passed each to the tool Deployment):
/// DNS options, resources (replacing alpaka's), affinity, extra pod labels and annotations.
/// alpaka's own labels win: the Deployment's selector depends on them.
pub fn tool_pod_settings(d: &mut Deployment, t: &crate::model::stack::Tool) -> Result<(), String> {
    use k8s_openapi::api::core::v1::{Affinity, PodDNSConfig, PodDNSConfigOption};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    let affinity: Option<Affinity> = if t.affinity.is_empty() {
        None
    } else {
        let json = serde_json::Value::Object(t.affinity.clone().into_iter().collect());
        Some(
            serde_json::from_value(json)
                .map_err(|e| format!("tool.affinity is not a Kubernetes affinity: {e}"))?,
        )
    };
    let Some(template) = d.spec.as_mut().map(|s| &mut s.template) else {
        return Ok(());
    };
    let meta = template.metadata.get_or_insert_with(Default::default);
    let labels = meta.labels.get_or_insert_with(Default::default);
    for (k, v) in &t.pod_labels {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if !t.pod_annotations.is_empty() {
        meta.annotations = Some(t.pod_annotations.clone());
    }
    let Some(pod) = template.spec.as_mut() else {
        return Ok(());
    };
    pod.affinity = affinity;
    if let Some(dns) = &t.dns_config {
        let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        pod.dns_config = Some(PodDNSConfig {
            nameservers: list(&dns.nameservers),
            searches: list(&dns.searches),
            options: (!dns.options.is_empty()).then(|| {
                dns.options
                    .iter()
                    .map(|o| PodDNSConfigOption {
                        name: Some(o.name.clone()),
                        value: o.value.clone(),
                    })
                    .collect()
            }),
        });
    }
    if let (Some(r), Some(c)) = (&t.resources, pod.containers.first_mut()) {
        let q = |m: &BTreeMap<String, String>| {
            (!m.is_empty()).then(|| {
                m.iter()
                    .map(|(k, v)| (k.clone(), Quantity(v.clone())))
                    .collect()
            })
        };
        c.resources = Some(ResourceRequirements {
            requests: q(&r.requests),
            limits: q(&r.limits),
            ..Default::default()
        });
    }
    Ok(())
}

/// A ClusterIP Service in front of a [`deployment`] of the same name.
pub fn service(name: &str, ns: &str, port: i32) -> Service {
    Service {
        metadata: meta(name, ns, labels(name)),
        spec: Some(ServiceSpec {
            selector: Some(labels(name)),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port,
                target_port: Some(IntOrString::Int(port)),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Lets the Connect worker's service account read its connectors' Secret (the Kubernetes
/// Secret config provider reads it through the API).
pub fn connect_secret_access(
    name: &str,
    ns: &str,
    secret: &str,
    service_account: &str,
) -> (Role, RoleBinding) {
    let role = Role {
        metadata: meta(name, ns, labels(name)),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["secrets".into()]),
            resource_names: Some(vec![secret.to_owned()]),
            verbs: vec!["get".into()],
            ..Default::default()
        }]),
    };
    let binding = RoleBinding {
        metadata: meta(name, ns, labels(name)),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: name.to_owned(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: service_account.to_owned(),
            namespace: Some(ns.to_owned()),
            ..Default::default()
        }]),
    };
    (role, binding)
}

pub struct IngressInput<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub class: &'a str,
    pub host: Option<&'a str>,
    pub service: &'a str,
    pub service_port: i32,
    pub annotations: BTreeMap<String, String>,
}

pub fn ingress(i: &IngressInput<'_>) -> k8s_openapi::api::networking::v1::Ingress {
    let mut metadata = meta(i.name, i.namespace, labels(i.name));
    if !i.annotations.is_empty() {
        metadata.annotations = Some(i.annotations.clone());
    }
    k8s_openapi::api::networking::v1::Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: Some(i.class.to_owned()),
            rules: Some(vec![IngressRule {
                host: i.host.map(str::to_owned),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: i.service.to_owned(),
                                port: Some(ServiceBackendPort {
                                    number: Some(i.service_port),
                                    ..Default::default()
                                }),
                            }),
                            ..Default::default()
                        },
                    }],
                }),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Prometheus scrapes Strimzi's Kafka and Connect pods.
/// `kafka.scrapeInterval`/`scrapeTimeout` set the endpoint's `interval`/`scrapeTimeout`
/// (prometheus-operator `PodMetricsEndpoint`).
pub fn strimzi_pod_monitor(ns: &str, kafka: &crate::model::stack::Kafka) -> serde_json::Value {
    let mut endpoint = serde_json::json!({"path": "/metrics", "port": "tcp-prometheus"});
    if let Some(i) = &kafka.scrape_interval {
        endpoint["interval"] = serde_json::json!(i.as_str());
    }
    if let Some(t) = &kafka.scrape_timeout {
        endpoint["scrapeTimeout"] = serde_json::json!(t.as_str());
    }
    serde_json::json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "strimzi-kafka", "namespace": ns,
                     "labels": {PART_OF.0: PART_OF.1}},
        "spec": {
            "selector": {"matchExpressions": [
                {"key": "strimzi.io/kind", "operator": "In", "values": ["Kafka", "KafkaConnect"]}
            ]},
            "podMetricsEndpoints": [endpoint]
        }
    })
}

/// What a shell in the tool image writes: /tmp and the tool user's home (`images/Dockerfile.tool`:
/// `WORKDIR /home/tool`; shell history, kcat/kafka CLI scratch files).
pub const TOOL_WRITABLE: &[&str] = &["/tmp", "/home/tool"];

/// Where the init files are mounted (also on `PATH`).
pub const INIT_DIR: &str = "/alpaka/init";

pub struct InitInput<'a> {
    pub namespace: &'a str,
    pub container: &'a Container,
    pub files: &'a BTreeMap<String, String>,
    pub commands: &'a [String],
    pub node_selector: &'a Labels,
    pub tolerations: &'a [Toleration],
}

/// The init Job and the ConfigMap of its files. Both names carry a hash of every input, so an
/// unchanged init is the same Job (not re-run) and a changed one is a new Job.
pub fn init_job(i: &InitInput<'_>) -> (ConfigMap, Job) {
    let mut h = Sha256::new();
    h.update(i.container.reference().as_bytes());
    for (k, v) in i.files {
        h.update(b"\0f\0");
        h.update(k.as_bytes());
        h.update(b"\0");
        h.update(v.as_bytes());
    }
    for c in i.commands {
        h.update(b"\0c\0");
        h.update(c.as_bytes());
    }
    for (k, v) in i.node_selector {
        h.update(b"\0n\0");
        h.update(k.as_bytes());
        h.update(v.as_bytes());
    }
    let hash: String = h.finalize()[..5]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let name = format!("alpaka-init-{hash}");
    let l = labels("alpaka-init");
    let cm = ConfigMap {
        metadata: meta(&name, i.namespace, l.clone()),
        data: Some(i.files.clone()),
        ..Default::default()
    };
    let mut script = format!("set -e\ncd {INIT_DIR}\nexport PATH=\"{INIT_DIR}:$PATH\"\n");
    for c in i.commands {
        script.push_str(c);
        script.push('\n');
    }
    // The files read-only; what the commands write goes to /tmp and the tool user's home.
    let (mut volumes, mut mounts) = hardening::scratch(TOOL_WRITABLE);
    volumes.push(Volume {
        name: "files".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: name.clone(),
            default_mode: Some(0o755),
            ..Default::default()
        }),
        ..Default::default()
    });
    mounts.push(VolumeMount {
        name: "files".into(),
        mount_path: INIT_DIR.into(),
        read_only: Some(true),
        ..Default::default()
    });
    let job = Job {
        metadata: meta(&name, i.namespace, l.clone()),
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(l),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    containers: vec![KContainer {
                        name: "init".into(),
                        image: Some(i.container.reference()),
                        image_pull_policy: pull_policy(i.container),
                        command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
                        volume_mounts: Some(mounts),
                        // The Kafka CLI tools are JVMs (kafka-run-class: -Xmx256M by default).
                        resources: Some(hardening::resources("100m", "384Mi", "1", "768Mi")),
                        security_context: Some(hardening::container_security_context()),
                        ..Default::default()
                    }],
                    volumes: Some(volumes),
                    security_context: Some(hardening::pod_security_context(hardening::TOOL_USER)),
                    automount_service_account_token: Some(false),
                    node_selector: node_selector(i.node_selector),
                    tolerations: tolerations(i.tolerations),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    (cm, job)
}

/// The EKS default StorageClass: gp3 volumes through the EBS CSI driver, bound where the pod
/// lands (a volume is zonal), encrypted at rest (the driver's `encrypted` defaults to false;
/// kubernetes-sigs/aws-ebs-csi-driver `docs/parameters.md`), with `kms_key` (`kmsKeyId`, a key
/// ARN) when given, else the account's default EBS key.
pub fn gp3_storage_class(kms_key: Option<&str>) -> k8s_openapi::api::storage::v1::StorageClass {
    let mut parameters = BTreeMap::from([
        ("type".to_owned(), "gp3".to_owned()),
        ("encrypted".to_owned(), "true".to_owned()),
    ]);
    if let Some(k) = kms_key {
        parameters.insert("kmsKeyId".to_owned(), k.to_owned());
    }
    k8s_openapi::api::storage::v1::StorageClass {
        metadata: ObjectMeta {
            name: Some("gp3".into()),
            labels: Some(BTreeMap::from([(
                PART_OF.0.to_owned(),
                PART_OF.1.to_owned(),
            )])),
            annotations: Some(BTreeMap::from([(
                "storageclass.kubernetes.io/is-default-class".to_owned(),
                "true".to_owned(),
            )])),
            ..Default::default()
        },
        provisioner: "ebs.csi.aws.com".into(),
        parameters: Some(parameters),
        volume_binding_mode: Some("WaitForFirstConsumer".into()),
        reclaim_policy: Some("Delete".into()),
        allow_volume_expansion: Some(true),
        ..Default::default()
    }
}

/// The IRSA annotation naming the IAM role a service account's pods assume.
pub const IRSA_ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// A service account (its IRSA annotation is set by the caller: the role ARN is another node's
/// output).
pub fn service_account(name: &str, ns: &str) -> k8s_openapi::api::core::v1::ServiceAccount {
    k8s_openapi::api::core::v1::ServiceAccount {
        metadata: meta(name, ns, labels(name)),
        ..Default::default()
    }
}
