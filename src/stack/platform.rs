//! The platform layer: every component of the stack as graph nodes, wired by derived service
//! addresses (no release-name placeholders for users to get wrong).

use crate::engine::{Node, Value};
use crate::model::profile::{Cluster, Profile};
use crate::model::stack::{KafkaMode, StackConfig, StorageType, UiAuthType};

use super::catalog::{self, ChartPin};
use super::connectors::{self, ConnectSpec, ConnectorSpec, GroupSpec};
use super::kafka_users::{self, ConnectClients, RenderedConnector};
use super::{
    StackError, charts, connect_iam, hardening, k8s, kafka_clients, netpol, release_desired,
    strimzi, strs,
};

/// A typed manifest as the engine's attribute tree, with the cluster it goes to (`cluster`:
/// the cluster node's `context` and `kubeconfig` outputs; the driver never sends it).
pub(crate) fn manifest<T: serde::Serialize>(m: &T, cluster: &Value) -> Result<Value, StackError> {
    let v = crate::engine::value::to_value(m)
        .map_err(|e| StackError::Unsupported(format!("encoding a manifest: {e}")))?;
    Ok(with_cluster(v, cluster))
}

pub(crate) fn with_cluster(v: Value, cluster: &Value) -> Value {
    match v {
        Value::Map(mut m) => {
            m.insert("cluster".into(), cluster.clone());
            Value::Map(m)
        }
        other => other,
    }
}

/// How in-cluster nodes reach the cluster: outputs of the node that made (or found) it.
pub fn cluster_access(cluster_node: &str) -> Value {
    Value::map([
        ("context", Value::unknown(cluster_node, "context")),
        ("kubeconfig", Value::unknown(cluster_node, "kubeconfig")),
    ])
}

/// Name of the Strimzi `Kafka` resource; Strimzi derives service names from it.
pub const KAFKA_NAME: &str = "alpaka";

/// The web UIs' in-cluster Services (name, port), as their charts name them with alpaka's
/// release names: ingresses route to them and `alpaka test` reaches them through the API proxy.
pub const GRAFANA_SERVICE: (&str, u16) = ("kube-prometheus-stack-grafana", 80);
pub const PROMETHEUS_SERVICE: (&str, u16) = ("kube-prometheus-stack-prometheus", 9090);
pub const KAFKA_UI_SERVICE: (&str, u16) = ("kafka-ui", 80);
pub const HEADLAMP_SERVICE: (&str, u16) = ("headlamp", 80);
pub const KSQLDB_SERVICE: (&str, u16) = ("ksqldb", 8088);
pub const CONNECT_PORT: u16 = 8083;

/// The REST Service Strimzi makes for a KafkaConnect named `connect_type`.
pub fn connect_service(connect_type: &str) -> String {
    format!("{connect_type}-connect-api")
}

/// In-cluster addresses, derived from names alpaka chooses.
pub struct Addresses {
    pub ns: String,
}

impl Addresses {
    /// The TLS + SCRAM listener: every client alpaka configures uses it (the plain listener,
    /// when a user keeps one, is for clients alpaka does not manage).
    pub fn bootstrap(&self) -> String {
        format!(
            "{KAFKA_NAME}-kafka-bootstrap.{}.svc:{}",
            self.ns,
            strimzi::TLS_LISTENER_PORT
        )
    }
    pub fn connect(&self, connect_type: &str) -> String {
        format!(
            "http://{}.{}.svc:{CONNECT_PORT}",
            connect_service(connect_type),
            self.ns
        )
    }
    pub fn ksqldb(&self) -> String {
        format!(
            "http://{}.{}.svc:{}",
            KSQLDB_SERVICE.0, self.ns, KSQLDB_SERVICE.1
        )
    }
    pub fn prometheus(&self) -> String {
        format!(
            "http://{}.{}.svc:{}",
            PROMETHEUS_SERVICE.0, self.ns, PROMETHEUS_SERVICE.1
        )
    }
    pub fn loki(&self) -> String {
        format!("http://loki.{}.svc:3100", self.ns)
    }
    /// The node exporter's namespace: `<ns>-node-exporter`, the namespace part shortened so the
    /// name stays a DNS label (63 characters).
    pub fn node_exporter_namespace(&self) -> String {
        const SUFFIX: &str = "-node-exporter";
        let keep = self.ns.len().min(63 - SUFFIX.len());
        format!("{}{SUFFIX}", self.ns[..keep].trim_end_matches('-'))
    }
}

/// A chart release node: alpaka's values for it with the user's `chartValues` merged over them.
fn release(
    cfg: &StackConfig,
    pin: &ChartPin,
    ns: &str,
    generated: Value,
    deps: &[&str],
    cluster: &Value,
) -> Node {
    let (values, _) = charts::finish(cfg, pin.release, generated);
    deps.iter().fold(
        Node::new(
            format!("helm.{}", pin.release),
            "helm.release",
            with_cluster(release_desired(pin, ns, values), cluster),
        ),
        |n, d| n.after(*d),
    )
}

/// `ready`: what every in-cluster node waits for; `ingress_ready`: what Ingresses also wait for
/// (on EKS the AWS Load Balancer Controller, which must outlive them on destroy: it removes their
/// load balancers before their finalizer lets them go).
pub fn build(
    profile: &Profile,
    cfg: &StackConfig,
    ready: &[String],
    ingress_ready: &[String],
    cluster_node: &str,
) -> Result<Vec<Node>, StackError> {
    let ns = profile.namespace.as_str().to_owned();
    let addr = Addresses { ns: ns.clone() };
    let cl = &cluster_access(cluster_node);
    let mut nodes: Vec<Node> = Vec::new();

    let namespace = format!("k8s.namespace.{ns}");
    nodes.push(ready.iter().fold(
        Node::new(
            &namespace,
            "k8s.namespace",
            manifest(&k8s::namespace(&ns), cl)?,
        ),
        |n, d| n.after(d),
    ));

    // Every pod's ingress denied, then the platform's flows (`netpol.rs`).
    for p in netpol::policies(profile, cfg, &ns) {
        let name = p.metadata.name.clone().unwrap_or_default();
        nodes.push(
            Node::new(
                format!("k8s.networkpolicy.{name}"),
                "k8s.networkpolicy",
                manifest(&p, cl)?,
            )
            .after(&namespace),
        );
    }

    let monitoring = cfg.prometheus.enabled || cfg.grafana.enabled;
    let prom_release = format!("helm.{}", catalog::KUBE_PROMETHEUS_STACK.release);
    // Kafka: the Strimzi operator, node pools, the cluster.
    let kafka_id = "kafka.cluster".to_owned();
    if cfg.kafka.enabled {
        let k = &cfg.kafka;
        let legacy = k.mode == KafkaMode::Zookeeper;
        let operator_pin = if legacy {
            &catalog::STRIMZI_LEGACY
        } else {
            &catalog::STRIMZI
        };
        let operator = format!("helm.{}", operator_pin.release);
        nodes.push(release(
            cfg,
            operator_pin,
            &ns,
            charts::strimzi(cfg, &ns),
            &[&namespace],
            cl,
        ));
        let storage = match k.storage.kind {
            StorageType::Ephemeral => strimzi::Storage::Ephemeral {},
            StorageType::Persistent => strimzi::Storage::PersistentClaim {
                size: k.storage.size.as_str().to_owned(),
                class: k.storage.storage_class.clone(),
                delete_claim: k.storage.delete_claim,
            },
        };
        let pools: Vec<(&str, u32, Vec<&str>)> = if k.controllers == 0 {
            vec![("dual", k.replica_count, vec!["controller", "broker"])]
        } else {
            vec![
                ("controller", k.controllers, vec!["controller"]),
                ("broker", k.replica_count, vec!["broker"]),
            ]
        };
        let input = strimzi::KafkaInput {
            name: KAFKA_NAME,
            namespace: &ns,
            version: &k.version,
            // The configured version's own metadata version (validate refuses a version the
            // pinned Strimzi does not support); ZooKeeper mode has none.
            metadata_version: (!legacy)
                .then(|| super::kafka_versions::metadata_version(&k.version))
                .flatten(),
            replication_factor: k.default_replication_factor,
            partitions: k.num_partitions,
            min_insync_replicas: k.min_insync_replicas,
            metrics: k.metrics,
            extra_config: &k.config,
            super_users: vec![kafka_users::ADMIN_USER.to_owned()],
            plain_listener: k.security.plain_listener,
        };
        let kafka_desired = if legacy {
            let template = strimzi::template(&k.node_selector, &k.tolerations);
            manifest(
                &strimzi::kafka_zookeeper(&input, k.replica_count, storage.clone(), template),
                cl,
            )?
        } else {
            manifest(&strimzi::kafka(&input), cl)?
        };
        let mut kafka = Node::new(&kafka_id, "strimzi.kafka", kafka_desired).after(&operator);
        // ZooKeeper mode has no node pools: brokers and the ensemble live in the Kafka resource.
        let pools = if legacy { Vec::new() } else { pools };
        for (name, replicas, roles) in pools {
            let id = format!("kafka.nodepool.{name}");
            let pool = strimzi::node_pool(
                name,
                KAFKA_NAME,
                &ns,
                replicas,
                &roles,
                storage.clone(),
                strimzi::template(&k.node_selector, &k.tolerations),
            );
            nodes.push(
                Node::new(&id, "strimzi.kafkanodepool", manifest(&pool, cl)?).after(&operator),
            );
            kafka = kafka.after(id);
        }
        nodes.push(kafka);
        if k.metrics && cfg.prometheus.enabled && !legacy {
            nodes.push(
                Node::new(
                    "k8s.podmonitor.strimzi",
                    "k8s.podmonitor",
                    manifest(&k8s::strimzi_pod_monitor(&ns, &cfg.kafka), cl)?,
                )
                .after(&prom_release)
                .after(&kafka_id),
            );
        }
    }

    // Kafka Connect: one KafkaConnect per type, one KafkaConnector per connector; secret config
    // values live in one Secret per type and reach connectors through the config provider.
    let mut connect_ids = Vec::new();
    // Per Connect type, its rendered connectors (name, class, config): what its user's ACLs
    // are derived from.
    let mut rendered_connects: Vec<(String, Vec<Rendered>)> = Vec::new();
    if cfg.kafka_connect.enabled && cfg.kafka.enabled {
        let mut errors = Vec::new();
        let builtins = builtin_vars(&ns);
        for c in &cfg.kafka_connect.connects {
            let t = c.kind.as_str();
            let id = format!("kafka.connect.{t}");
            // EKS: the IRSA role `connect_iam` plans for this type's workers.
            let irsa_role = match (&profile.cluster(), &c.aws_identity) {
                (Cluster::Eks(e), Some(_)) => Some(connect_iam::role_id(&e.cluster_name, t)),
                _ => None,
            };
            let legacy = cfg.kafka.mode == KafkaMode::Zookeeper;
            // The default Connect image matches the KRaft operator; legacy mode needs the 0.45
            // image of its Kafka version. An image the user chose is kept.
            let image = if legacy && c.container == crate::model::types::Container::default() {
                format!(
                    "quay.io/strimzi/kafka:{}-kafka-{}",
                    catalog::STRIMZI_LEGACY.version,
                    cfg.kafka.version
                )
            } else {
                c.container.reference()
            };
            let connect_input = strimzi::ConnectInput {
                name: t,
                namespace: &ns,
                cluster: KAFKA_NAME,
                replicas: c.replica_count,
                image,
                bootstrap: addr.bootstrap(),
                replication_factor: cfg.kafka.default_replication_factor,
                metrics: cfg.kafka.metrics,
                template: strimzi::template(&c.node_selector, &c.tolerations),
                timezone: c.timezone.clone(),
                env: connect_env(c),
                // The role's ARN is known after apply: set below, in the attribute tree.
                service_account_annotations: irsa_role
                    .iter()
                    .map(|_| (k8s::IRSA_ROLE_ANNOTATION.to_owned(), String::new()))
                    .collect(),
                user: kafka_users::connect_user(t),
            };
            let mut connect_desired = if legacy {
                manifest(
                    &strimzi::connect_legacy(connect_input, &cfg.kafka.version),
                    cl,
                )?
            } else {
                manifest(&strimzi::connect(connect_input), cl)?
            };
            let mut connect_node = Node::new(&id, "strimzi.kafkaconnect", connect_desired.clone())
                .after(&kafka_id)
                .after(user_id(&kafka_users::connect_user(t)));
            if let Some(role) = &irsa_role {
                set_path(
                    &mut connect_desired,
                    &[
                        "spec",
                        "template",
                        "serviceAccount",
                        "metadata",
                        "annotations",
                        k8s::IRSA_ROLE_ANNOTATION,
                    ],
                    Value::unknown(role, "arn"),
                );
                connect_node.desired = connect_desired;
                // Made before the workers that assume it; deleted after them.
                connect_node = connect_node.after(role);
            }
            nodes.push(connect_node);
            connect_ids.push(id.clone());
            let spec = connect_spec(c, &cfg.env, &builtins);
            let rendered = match connectors::render_connect(&spec) {
                Ok(r) => r,
                Err(e) => {
                    errors.extend(e);
                    continue;
                }
            };
            let secret_name = format!("alpaka-connect-{t}");
            let secret_id = format!("k8s.secret.{secret_name}");
            let mut secret_data = std::collections::BTreeMap::new();
            let mut connector_nodes = Vec::new();
            let mut derived = Vec::new();
            // Secrets the workers read through the config provider besides the connectors'
            // own: the Connect user's and the cluster CA, for Debezium's schema history clients.
            let mut client_secrets = false;
            for r in rendered {
                let mut config = std::collections::BTreeMap::new();
                let mut class = String::new();
                let mut tasks_max = None;
                for (key, v) in r.config {
                    let text = match v {
                        Value::Secret(s) => {
                            let secret_key = format!("{}.{key}", r.full_name);
                            let reference = format!("${{secrets:{ns}/{secret_name}:{secret_key}}}");
                            secret_data.insert(secret_key, Value::Secret(s));
                            reference
                        }
                        Value::Str(s) => s,
                        other => other.to_string(),
                    };
                    match key.as_str() {
                        "connector.class" => class = text,
                        "tasks.max" => match text.parse::<u32>() {
                            Ok(n) => tasks_max = Some(n),
                            Err(_) => {
                                config.insert(key, text);
                            }
                        },
                        _ => {
                            config.insert(key, text);
                        }
                    }
                }
                if class.is_empty() {
                    return Err(StackError::Unsupported(format!(
                        "connector {} (connect {t}, group {}): `connector.class` is missing from its config and its group's common",
                        r.full_name, r.group
                    )));
                }
                client_secrets |= kafka_clients::secure_schema_history(
                    &mut config,
                    &addr.bootstrap(),
                    &ns,
                    &kafka_users::connect_user(t),
                    KAFKA_NAME,
                );
                derived.push((r.full_name.clone(), class.clone(), config.clone()));
                let mut connector =
                    strimzi::connector(&r.full_name, &ns, t, class, tasks_max, config);
                if legacy {
                    connector.api_version = strimzi::API_VERSION_LEGACY;
                }
                connector_nodes.push(
                    Node::new(
                        format!("connector.{}.{}.{}", r.connect_type, r.group, r.name),
                        "strimzi.kafkaconnector",
                        manifest(&connector, cl)?,
                    )
                    .after(&id),
                );
            }
            rendered_connects.push((t.to_owned(), derived));
            let mut readable = Vec::new();
            if !secret_data.is_empty() {
                readable.push(secret_name.clone());
                nodes.push(
                    Node::new(
                        &secret_id,
                        "k8s.secret",
                        Value::map([
                            ("cluster", cl.clone()),
                            ("name", Value::str(&secret_name)),
                            ("namespace", Value::str(&ns)),
                            ("data", Value::Map(secret_data)),
                        ]),
                    )
                    .after(&namespace),
                );
                connector_nodes = connector_nodes
                    .into_iter()
                    .map(|n| n.after(&secret_id))
                    .collect();
            }
            if client_secrets {
                readable.push(kafka_users::connect_user(t));
                readable.push(strimzi::cluster_ca_secret(KAFKA_NAME));
            }
            if !readable.is_empty() {
                // The Connect pods read the Secrets through the API (the config provider).
                let access = format!("alpaka-connect-{t}-secrets");
                let (mut role, binding) = k8s::connect_secret_access(
                    &access,
                    &ns,
                    &readable[0],
                    &strimzi::connect_service_account(t),
                );
                for rule in role.rules.iter_mut().flatten() {
                    rule.resource_names = Some(readable.clone());
                }
                let role_id = format!("k8s.role.connect-{t}");
                let binding_id = format!("k8s.rolebinding.connect-{t}");
                nodes.push(Node::new(&role_id, "k8s.role", manifest(&role, cl)?).after(&namespace));
                nodes.push(
                    Node::new(&binding_id, "k8s.rolebinding", manifest(&binding, cl)?)
                        .after(&role_id),
                );
                connector_nodes = connector_nodes
                    .into_iter()
                    .map(|n| n.after(&binding_id))
                    .collect();
            }
            nodes.extend(connector_nodes);
        }
        if !errors.is_empty() {
            return Err(StackError::Connectors(errors));
        }
    }

    // One KafkaUser per client, its ACLs derived from what the config deploys; the User
    // Operator (in the Kafka resource's entity operator) makes each user's Secret.
    if cfg.kafka.enabled {
        nodes.extend(user_nodes(cfg, &ns, &kafka_id, &rendered_connects, cl)?);
    }

    if cfg.ksqldb.enabled && cfg.kafka.enabled {
        let q = &cfg.ksqldb;
        let mut deployment = k8s::deployment(&k8s::Workload {
            name: "ksqldb",
            namespace: &ns,
            container: &q.container,
            replicas: i32::try_from(q.replica_count).unwrap_or(i32::MAX),
            env: ksqldb_env(cfg, &addr),
            port: Some(8088),
            command: None,
            node_selector: &q.node_selector,
            tolerations: &q.tolerations,
            run_as: hardening::KSQLDB_USER,
            writable: KSQLDB_WRITABLE,
            resources: hardening::resources("500m", q.memory.as_str(), "2", q.memory.as_str()),
            probes: ksqldb_probes(),
        });
        kafka_clients::add_credentials(
            &mut deployment,
            KAFKA_NAME,
            kafka_clients::ksqldb_env(kafka_users::KSQLDB_USER),
            None,
        );
        nodes.push(
            Node::new(
                "k8s.deployment.ksqldb",
                "k8s.deployment",
                manifest(&deployment, cl)?,
            )
            .after(&kafka_id)
            .after(user_id(kafka_users::KSQLDB_USER)),
        );
        nodes.push(
            Node::new(
                "k8s.service.ksqldb",
                "k8s.service",
                manifest(&k8s::service("ksqldb", &ns, 8088), cl)?,
            )
            .after(&namespace),
        );
    }

    if monitoring {
        let g = &cfg.grafana;
        let secret = "k8s.secret.grafana-admin".to_owned();
        if g.enabled {
            // The password is generated by the driver at apply and lives only in the Secret.
            nodes.push(
                Node::new(
                    &secret,
                    "k8s.secret",
                    Value::map([
                        ("cluster", cl.clone()),
                        ("name", Value::str("grafana-admin")),
                        ("namespace", Value::str(&ns)),
                        (
                            "data",
                            Value::map([("admin-user", Value::str(&g.admin_user))]),
                        ),
                        ("generate", strs(&["admin-password"])),
                    ]),
                )
                .after(&namespace),
            );
        }
        let mut deps: Vec<&str> = if g.enabled {
            vec![&namespace, &secret]
        } else {
            vec![&namespace]
        };
        // The node exporter's own namespace (see `k8s::node_exporter_namespace`).
        let exporter_ns = format!("k8s.namespace.{}", addr.node_exporter_namespace());
        if cfg.prometheus.enabled {
            nodes.push(ready.iter().fold(
                Node::new(
                    &exporter_ns,
                    "k8s.namespace",
                    manifest(
                        &k8s::node_exporter_namespace(&addr.node_exporter_namespace()),
                        cl,
                    )?,
                ),
                |n, d| n.after(d),
            ));
            deps.push(&exporter_ns);
        }
        nodes.push(release(
            cfg,
            &catalog::KUBE_PROMETHEUS_STACK,
            &ns,
            charts::kube_prometheus_stack(cfg, &addr),
            &deps,
            cl,
        ));
    }

    if cfg.kminion.enabled && cfg.kafka.enabled {
        let mut deps: Vec<&str> = vec![&kafka_id];
        if cfg.prometheus.enabled {
            deps.push(&prom_release);
        }
        let mut values = charts::kminion(cfg, &addr);
        kafka_clients::kminion_values(&mut values, KAFKA_NAME, kafka_users::KMINION_USER);
        let kminion_user = user_id(kafka_users::KMINION_USER);
        deps.push(&kminion_user);
        // The end-to-end probe's topic, one partition per broker as KMinion's
        // `partitionsPerBroker: 1` expects; its retention and segment settings are the ones
        // KMinion gives the topic when it makes it itself (v2.3.0 `e2e/topic.go`
        // createTopicConfig: 24 h, 12 h segments), min.insync.replicas the brokers'.
        let probe_topic = kafka_users::kminion_end_to_end(cfg)
            .filter(|e| !e.kminion_manages_topic)
            .map(|e| -> Result<String, StackError> {
                let legacy = cfg.kafka.mode == KafkaMode::Zookeeper;
                let api = if legacy {
                    strimzi::API_VERSION_LEGACY
                } else {
                    strimzi::API_VERSION
                };
                let mut t = strimzi::topic(
                    api,
                    &e.topic,
                    &ns,
                    KAFKA_NAME,
                    cfg.kafka.replica_count,
                    cfg.kafka.default_replication_factor,
                );
                t.spec.config = [
                    ("cleanup.policy", serde_json::json!("delete")),
                    ("retention.ms", serde_json::json!(86_400_000)),
                    ("segment.ms", serde_json::json!(43_200_000)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
                let id = format!("kafka.topic.{}", e.topic);
                nodes
                    .push(Node::new(&id, "strimzi.kafkatopic", manifest(&t, cl)?).after(&kafka_id));
                Ok(id)
            })
            .transpose()?;
        if let Some(t) = &probe_topic {
            deps.push(t);
        }
        nodes.push(release(cfg, &catalog::KMINION, &ns, values, &deps, cl));
    }

    if cfg.loki.enabled {
        nodes.push(release(
            cfg,
            &catalog::LOKI,
            &ns,
            charts::loki(cfg),
            &[&namespace],
            cl,
        ));
        let loki_release = format!("helm.{}", catalog::LOKI.release);
        nodes.push(release(
            cfg,
            &catalog::ALLOY,
            &ns,
            charts::alloy(cfg, &addr),
            &[&loki_release],
            cl,
        ));
    }

    if cfg.ui4kafka.enabled && cfg.kafka.enabled {
        let mut deps = vec![kafka_id.clone()];
        if cfg.ui4kafka.auth.kind == UiAuthType::Login {
            // The login password is generated by the driver at apply, kept only in the Secret.
            let login = format!("k8s.secret.{}", charts::KAFKA_UI_LOGIN_SECRET);
            nodes.push(
                Node::new(
                    &login,
                    "k8s.secret",
                    Value::map([
                        ("cluster", cl.clone()),
                        ("name", Value::str(charts::KAFKA_UI_LOGIN_SECRET)),
                        ("namespace", Value::str(&ns)),
                        (
                            "data",
                            Value::map([("username", Value::str(&cfg.ui4kafka.auth.username))]),
                        ),
                        ("generate", strs(&[charts::KAFKA_UI_PASSWORD_KEY])),
                    ]),
                )
                .after(&namespace),
            );
            deps.push(login);
        }
        deps.push(user_id(kafka_users::KAFKA_UI_USER));
        let mut values = charts::kafka_ui(cfg, &addr);
        kafka_clients::kafka_ui_values(&mut values, KAFKA_NAME, kafka_users::KAFKA_UI_USER);
        let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
        nodes.push(release(cfg, &catalog::KAFKA_UI, &ns, values, &deps, cl));
    }

    if cfg.k8dashboard.enabled {
        nodes.push(release(
            cfg,
            &catalog::HEADLAMP,
            &ns,
            charts::headlamp(cfg),
            &[&namespace],
            cl,
        ));
    }

    if cfg.ingress.enabled {
        nodes.extend(
            super::ingress::build(profile, cfg, &ns, cl)?
                .into_iter()
                .map(|n| ingress_ready.iter().fold(n, |n, d| n.after(d))),
        );
    }

    if cfg.tool.enabled {
        let t = &cfg.tool;
        let mut deployment = k8s::deployment(&k8s::Workload {
            name: "alpaka-tool",
            namespace: &ns,
            container: &t.container,
            replicas: 1,
            env: vec![("KAFKA_BOOTSTRAP", addr.bootstrap())],
            port: None,
            // A shell to exec into: the image's own entrypoint is not what the pod is for.
            command: Some(vec!["sleep".into(), "infinity".into()]),
            node_selector: &t.node_selector,
            tolerations: &t.tolerations,
            run_as: hardening::TOOL_USER,
            writable: k8s::TOOL_WRITABLE,
            // Room for one Kafka CLI JVM (-Xmx256M by default) beside a shell.
            resources: hardening::resources("50m", "256Mi", "1", "1Gi"),
            // The pod is for `kubectl exec`: the probe does what a user does, run a command in
            // the container. A Kafka check would only restate what the broker's own readiness says.
            probes: k8s::Probes {
                readiness: Some(k8s::exec_probe(&["/bin/sh", "-c", "true"], 30)),
                liveness: Some(k8s::exec_probe(&["/bin/sh", "-c", "true"], 60)),
                ..Default::default()
            },
        });
        k8s::tool_pod_settings(&mut deployment, t).map_err(StackError::Unsupported)?;
        // The operator's shell: alpaka's admin identity.
        let admin = cfg.kafka.enabled.then(|| {
            kafka_clients::add_credentials(
                &mut deployment,
                KAFKA_NAME,
                kafka_clients::tool_env(kafka_users::ADMIN_USER),
                Some(kafka_users::ADMIN_USER),
            );
            user_id(kafka_users::ADMIN_USER)
        });
        let tool = Node::new(
            "k8s.deployment.tool",
            "k8s.deployment",
            manifest(&deployment, cl)?,
        )
        .after(&namespace);
        let tool = admin.into_iter().fold(tool, |n, d| n.after(d));
        nodes.push(tool);
    }

    // alpaka's own dashboards, loaded by Grafana's sidecar (issue 25: nothing downloaded).
    if cfg.grafana.enabled {
        for cm in super::dashboards::config_maps(&ns) {
            let name = cm.metadata.name.clone().unwrap_or_default();
            nodes.push(
                Node::new(
                    format!("k8s.configmap.{name}"),
                    "k8s.configmap",
                    manifest(&cm, cl)?,
                )
                .after(&namespace),
            );
        }
    }

    if cfg.init.enabled {
        let i = &cfg.init;
        let (files, job) = k8s::init_job(&k8s::InitInput {
            namespace: &ns,
            container: &i.container,
            files: &i.files,
            commands: &i.commands,
            node_selector: &i.node_selector,
            tolerations: &i.tolerations,
        });
        nodes.push(
            Node::new("k8s.configmap.init", "k8s.configmap", manifest(&files, cl)?)
                .after(&namespace),
        );
        let job = Node::new("k8s.job.init", "k8s.job", manifest(&job, cl)?)
            .after(&namespace)
            .after("k8s.configmap.init");
        let job = if cfg.kafka.enabled {
            job.after(&kafka_id)
        } else {
            job
        };
        nodes.push(connect_ids.iter().fold(job, |n, c| n.after(c)));
    }
    // On EKS the AWS Load Balancer Controller's mutating webhook (`mservice.elbv2.k8s.aws`,
    // `failurePolicy: Fail`) sees every Service created: whatever creates one (a Service, a
    // chart's Services) waits for the controller's release, whose `--wait` means the webhook has
    // endpoints. The driver retries "not ready yet" webhook failures on top (issue 22, item 6).
    Ok(nodes
        .into_iter()
        .map(|n| {
            if matches!(n.kind.as_str(), "k8s.service" | "helm.release") {
                ingress_ready.iter().fold(n, |n, d| n.after(d))
            } else {
                n
            }
        })
        .collect())
}

/// What ksqlDB writes under a read-only root: `/etc/ksqldb-server`, where the image's start-up
/// renders its properties and log4j2 config (confluentinc/ksql-images v8.3.x
/// `cp-ksqldb-server/include/etc/confluent/docker/server/configure`: `ub path /etc/${COMPONENT}/
/// writable`, COMPONENT=ksqldb-server, a directory the Dockerfile creates empty), and `/tmp`: the
/// JVM's temp dir and Kafka Streams' default `state.dir` (`${java.io.tmpdir}/kafka-streams`).
pub const KSQLDB_WRITABLE: &[&str] = &["/tmp", "/etc/ksqldb-server"];

/// ksqlDB's REST endpoints (Confluent docs, ksqlDB REST API: "Get the health of your ksqlDB
/// server", `GET /healthcheck`, and "Get server info", `GET /info`). Ready when `/healthcheck`
/// says the server, its metastore and Kafka are healthy; alive while `/info` answers, so a
/// Kafka outage makes ksqlDB unready, not restarted. Start-up (reading its command topic)
/// gets five minutes before liveness counts.
fn ksqldb_probes() -> k8s::Probes {
    let port = i32::from(KSQLDB_SERVICE.1);
    k8s::Probes {
        startup: Some(k8s::http_probe("/info", port, 10, 30)),
        readiness: Some(k8s::http_probe("/healthcheck", port, 10, 3)),
        liveness: Some(k8s::http_probe("/info", port, 20, 3)),
    }
}

/// A Connect type's `envs` as Strimzi's `template.connectContainer.env` (the loader has checked
/// each has exactly one source; Secret values are referenced, never read).
fn connect_env(c: &crate::model::stack::Connect) -> Vec<strimzi::EnvVar> {
    let selector = |r: &crate::model::stack::KeyRef| strimzi::KeySelector {
        name: r.name.clone(),
        key: r.key.clone(),
    };
    c.envs
        .iter()
        .filter(|e| !e.remove)
        .map(|e| strimzi::EnvVar {
            name: e.name.clone(),
            value: e.value.clone(),
            value_from: (e.value.is_none()).then(|| strimzi::EnvVarSource {
                secret_key_ref: e.secret_key_ref.as_ref().map(selector),
                config_map_key_ref: e.config_map_key_ref.as_ref().map(selector),
            }),
        })
        .collect()
}

/// Set `v` at `path` in a map tree, making the maps on the way.
fn set_path(tree: &mut Value, path: &[&str], v: Value) {
    let Some((last, init)) = path.split_last() else {
        return;
    };
    let mut cur = tree;
    for k in init {
        let Value::Map(m) = cur else { return };
        cur = m
            .entry((*k).to_owned())
            .or_insert_with(|| Value::Map(Default::default()));
    }
    if let Value::Map(m) = cur {
        m.insert((*last).to_owned(), v);
    }
}

/// The rendered config of a connector, as its KafkaConnector carries it.
type ConnectorConfig = std::collections::BTreeMap<String, String>;
/// A rendered connector: name, class, config.
type Rendered = (String, String, ConnectorConfig);

/// The node id of KafkaUser `user`.
pub fn user_id(user: &str) -> String {
    format!("kafka.user.{user}")
}

fn user_nodes(
    cfg: &StackConfig,
    ns: &str,
    kafka_id: &str,
    rendered: &[(String, Vec<Rendered>)],
    cl: &Value,
) -> Result<Vec<Node>, StackError> {
    let jdbc_test = crate::selftest::plan::jdbc_connect(ns, cfg);
    let s3_test = cfg
        .test
        .s3sink
        .connect
        .as_ref()
        .filter(|_| cfg.test.s3sink.enabled)
        .map(|t| t.as_str().to_owned());
    let connects: Vec<ConnectClients<'_>> = rendered
        .iter()
        .map(|(t, connectors)| ConnectClients {
            connect_type: t,
            connectors: connectors
                .iter()
                .map(|(name, class, config)| RenderedConnector {
                    name,
                    class,
                    config,
                })
                .collect(),
            runs_tests: jdbc_test.as_deref() == Some(t.as_str())
                || s3_test.as_deref() == Some(t.as_str()),
        })
        .collect();
    kafka_users::clients(cfg, &connects)?
        .iter()
        .map(|c| {
            let user = kafka_users::kafka_user(c, KAFKA_NAME, ns, cfg.kafka.mode);
            Ok(
                Node::new(user_id(&c.user), "strimzi.kafkauser", manifest(&user, cl)?)
                    .after(kafka_id),
            )
        })
        .collect()
}

/// The cp-ksqldb-server image turns every `KSQL_*` variable into a server property
/// (`KSQL_KSQL_SERVICE_ID` → `ksql.service.id`; confluentinc/ksql-images v8.3.0 (the pinned image tag),
/// `cp-ksqldb-server/include/etc/confluent/docker/server/configure`). Internal, sink and
/// processing-log topics take Kafka's replication factor: their defaults (1) lose data on a
/// multi-broker cluster, and a factor above the broker count fails every CREATE.
fn ksqldb_env(cfg: &StackConfig, addr: &Addresses) -> Vec<(&'static str, String)> {
    let rf = cfg.kafka.default_replication_factor.to_string();
    vec![
        ("KSQL_BOOTSTRAP_SERVERS", addr.bootstrap()),
        ("KSQL_LISTENERS", "http://0.0.0.0:8088".to_owned()),
        // One id per deployment: it prefixes the internal topics and names the cluster of
        // servers that share work.
        (
            "KSQL_KSQL_SERVICE_ID",
            kafka_users::KSQLDB_SERVICE_ID.to_owned(),
        ),
        ("KSQL_KSQL_INTERNAL_TOPIC_REPLICAS", rf.clone()),
        ("KSQL_KSQL_STREAMS_REPLICATION_FACTOR", rf.clone()),
        ("KSQL_KSQL_SINK_REPLICAS", rf.clone()),
        // The processing log (deserialization errors and the like) as a topic and a stream
        // users can query.
        ("KSQL_KSQL_LOGGING_PROCESSING_TOPIC_REPLICATION_FACTOR", rf),
        (
            "KSQL_KSQL_LOGGING_PROCESSING_TOPIC_AUTO_CREATE",
            "true".to_owned(),
        ),
        (
            "KSQL_KSQL_LOGGING_PROCESSING_STREAM_AUTO_CREATE",
            "true".to_owned(),
        ),
    ]
}

/// What every connector template can use under `.Values.alpaka`: the addresses alpaka derives,
/// so a config never spells a service name (`{{ .Values.alpaka.bootstrap }}` for Debezium's
/// schema history, for instance). A connect's own `values` may shadow them.
pub fn builtin_vars(ns: &str) -> connectors::Vars {
    let addr = Addresses { ns: ns.to_owned() };
    [(
        "alpaka".to_owned(),
        serde_json::json!({"bootstrap": addr.bootstrap(), "namespace": ns}),
    )]
    .into()
}

/// A Connect type's connector groups as the renderer takes them.
pub fn connect_spec<'a>(
    c: &'a crate::model::stack::Connect,
    env: &'a crate::model::stack::EnvSnapshot,
    builtins: &'a connectors::Vars,
) -> ConnectSpec<'a> {
    ConnectSpec {
        env,
        builtins,
        connect_type: c.kind.as_str(),
        values: &c.values,
        groups: c
            .connector_groups
            .iter()
            .map(|g| GroupSpec {
                name: &g.name,
                values: &g.values,
                common: &g.common,
                connectors: g
                    .connectors
                    .iter()
                    .map(|x| ConnectorSpec {
                        name: &x.name,
                        config: &x.config,
                    })
                    .collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ksqldb_topics_follow_kafkas_replication_factor() {
        let mut cfg = StackConfig::default();
        cfg.kafka.replica_count = 3;
        cfg.kafka.default_replication_factor = 3;
        let env: std::collections::BTreeMap<_, _> = ksqldb_env(
            &cfg,
            &Addresses {
                ns: "alpaka".into(),
            },
        )
        .into_iter()
        .collect();
        for key in [
            "KSQL_KSQL_INTERNAL_TOPIC_REPLICAS",
            "KSQL_KSQL_STREAMS_REPLICATION_FACTOR",
            "KSQL_KSQL_SINK_REPLICAS",
            "KSQL_KSQL_LOGGING_PROCESSING_TOPIC_REPLICATION_FACTOR",
        ] {
            assert_eq!(env[key], "3", "{key}");
        }
        assert_eq!(env["KSQL_KSQL_SERVICE_ID"], "alpaka_");
        assert_eq!(
            env["KSQL_BOOTSTRAP_SERVERS"],
            "alpaka-kafka-bootstrap.alpaka.svc:9093"
        );
        assert_eq!(
            StackConfig::default().ksqldb.container.reference(),
            "confluentinc/cp-ksqldb-server:8.3.0"
        );
    }

    /// On EKS whatever creates Services (a Service, a chart) waits for the LB controller's
    /// release: its Service webhook (`failurePolicy: Fail`) must be up first. Elsewhere there
    /// is no such release.
    #[test]
    fn services_and_charts_wait_for_the_lb_controller_on_eks() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let lbc = "helm.aws-load-balancer-controller";
        let l = crate::config::load(root, "eks-prod").unwrap();
        let nodes = crate::stack::build(&l.profile_name, &l.profile, &l.config).unwrap();
        let mut checked = 0;
        for n in nodes.iter().filter(|n| {
            matches!(n.kind.as_str(), "k8s.service" | "helm.release") && n.id.to_string() != lbc
        }) {
            assert!(
                n.deps.iter().any(|d| d.to_string() == lbc),
                "{} does not wait for {lbc}",
                n.id
            );
            checked += 1;
        }
        assert!(checked >= 3, "{checked}");
        let l = crate::config::load(root, "k3s").unwrap();
        let nodes = crate::stack::build(&l.profile_name, &l.profile, &l.config).unwrap();
        assert!(
            nodes
                .iter()
                .all(|n| n.deps.iter().all(|d| d.to_string() != lbc))
        );
    }
}
