//! Strimzi custom resources (`kafka.strimzi.io/v1`) as typed manifests: Kafka, KafkaNodePool,
//! KafkaConnect, KafkaConnector, KafkaTopic. Field names follow the Strimzi 1.2.0 CRDs; the tests validate
//! every generated manifest against those schemas, since the API server would otherwise prune
//! a misspelt field silently.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::stack::Labels;
use crate::model::types::Toleration;

pub const API_VERSION: &str = "kafka.strimzi.io/v1";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest<S> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: S,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Metadata {
    pub name: String,
    pub namespace: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Metadata {
    fn new(name: &str, namespace: &str) -> Self {
        Metadata {
            name: name.into(),
            namespace: namespace.into(),
            ..Default::default()
        }
    }

    fn label(mut self, k: &str, v: &str) -> Self {
        self.labels.insert(k.into(), v.into());
        self
    }

    fn annotate(mut self, k: &str, v: &str) -> Self {
        self.annotations.insert(k.into(), v.into());
        self
    }
}

// ---- Kafka ----

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaSpec {
    pub kafka: KafkaCluster,
    pub entity_operator: EntityOperator,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaCluster {
    pub version: String,
    /// The KRaft metadata version, set explicitly so that a version upgrade can keep the old
    /// one until the brokers have rolled (Strimzi's order; `kafka_versions.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_version: Option<String>,
    pub listeners: Vec<Listener>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    pub config: BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_config: Option<MetricsConfig>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Listener {
    pub name: String,
    pub port: u16,
    #[serde(rename = "type")]
    pub kind: String,
    pub tls: bool,
    /// Absent: the listener "will accept all connections" (Strimzi docs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<ListenerAuthentication>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListenerAuthentication {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `spec.kafka.authorization`: Kafka's own authorizer (StandardAuthorizer in KRaft, AclAuthorizer
/// with ZooKeeper) over the KafkaUsers' ACLs. Super users are SCRAM user names as they are
/// (`CN=` only for mTLS users; Strimzi adds the `User:` prefix). Strimzi adds its own operators
/// and brokers to the list itself.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub super_users: Vec<String>,
}

/// The listener alpaka's clients use: TLS (the cluster CA signs the brokers' certificates) with
/// SCRAM-SHA-512, Strimzi's recommended pair.
pub const TLS_LISTENER_PORT: u16 = 9093;
/// The plain listener, only when `kafka.security.plainListener` asks for it.
pub const PLAIN_LISTENER_PORT: u16 = 9092;
/// The principal of a client of a listener without authentication.
pub const ANONYMOUS: &str = "ANONYMOUS";

/// The Strimzi Metrics Reporter: Prometheus format straight from Kafka, no ConfigMap needed.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsConfig {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl MetricsConfig {
    pub fn reporter() -> Self {
        MetricsConfig {
            kind: "strimziMetricsReporter",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityOperator {
    /// Empty objects turn the operators on with defaults.
    pub topic_operator: BTreeMap<String, serde_json::Value>,
    pub user_operator: BTreeMap<String, serde_json::Value>,
}

/// What the stack decides about the cluster.
pub struct KafkaInput<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub version: &'a str,
    /// KRaft only: `spec.kafka.metadataVersion`.
    pub metadata_version: Option<&'a str>,
    pub replication_factor: u32,
    pub partitions: u32,
    pub min_insync_replicas: u32,
    pub metrics: bool,
    /// The user's broker settings (`kafka.config`); alpaka's derived keys are never among them
    /// (the loader refuses those).
    pub extra_config: &'a BTreeMap<String, serde_json::Value>,
    /// Super users besides Strimzi's own (alpaka's admin identity).
    pub super_users: Vec<String>,
    /// A plain listener on 9092 as well, its anonymous clients super users (the user's explicit
    /// choice, warned about by the loader).
    pub plain_listener: bool,
}

/// Broker settings alpaka derives from typed keys; `kafka.config` may not set them.
pub const DERIVED_BROKER_SETTINGS: &[(&str, &str)] = &[
    (
        "default.replication.factor",
        "kafka.defaultReplicationFactor",
    ),
    ("num.partitions", "kafka.numPartitions"),
    ("min.insync.replicas", "kafka.minInsyncReplicas"),
    (
        "offsets.topic.replication.factor",
        "kafka.defaultReplicationFactor",
    ),
    (
        "transaction.state.log.replication.factor",
        "kafka.defaultReplicationFactor",
    ),
    ("transaction.state.log.min.isr", "kafka.minInsyncReplicas"),
];

pub fn kafka(i: &KafkaInput<'_>) -> Manifest<KafkaSpec> {
    let rf = serde_json::Value::from(i.replication_factor);
    let config: BTreeMap<String, serde_json::Value> = [
        ("default.replication.factor", rf.clone()),
        ("num.partitions", i.partitions.into()),
        ("min.insync.replicas", i.min_insync_replicas.into()),
        ("offsets.topic.replication.factor", rf.clone()),
        ("transaction.state.log.replication.factor", rf),
        (
            "transaction.state.log.min.isr",
            i.min_insync_replicas.into(),
        ),
        ("delete.topic.enable", true.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .chain(i.extra_config.iter().map(|(k, v)| (k.clone(), v.clone())))
    .collect();
    Manifest {
        api_version: API_VERSION,
        kind: "Kafka",
        metadata: Metadata::new(i.name, i.namespace),
        spec: KafkaSpec {
            kafka: KafkaCluster {
                version: i.version.into(),
                metadata_version: i.metadata_version.map(str::to_owned),
                listeners: listeners(i.plain_listener),
                authorization: Some(Authorization {
                    kind: "simple",
                    super_users: super_users(i),
                }),
                config,
                metrics_config: i.metrics.then(MetricsConfig::reporter),
            },
            entity_operator: EntityOperator {
                topic_operator: BTreeMap::new(),
                user_operator: BTreeMap::new(),
            },
        },
    }
}

/// The TLS + SCRAM-SHA-512 listener always; the plain one only when asked for.
fn listeners(plain: bool) -> Vec<Listener> {
    let tls = Listener {
        name: "tls".into(),
        port: TLS_LISTENER_PORT,
        kind: "internal".into(),
        tls: true,
        authentication: Some(ListenerAuthentication {
            kind: "scram-sha-512",
        }),
    };
    let plain = plain.then(|| Listener {
        name: "plain".into(),
        port: PLAIN_LISTENER_PORT,
        kind: "internal".into(),
        tls: false,
        authentication: None,
    });
    plain.into_iter().chain([tls]).collect()
}

/// With simple authorization a plain listener's clients (`User:ANONYMOUS`) could do nothing;
/// the plain listener exists for clients that are not yet moved, so they keep what they had.
fn super_users(i: &KafkaInput<'_>) -> Vec<String> {
    let mut users = i.super_users.clone();
    if i.plain_listener {
        users.push(ANONYMOUS.to_owned());
    }
    users
}

// ---- placement (nodeSelector → required node affinity, since Strimzi pod templates have none) ----

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodTemplate>,
    /// KafkaConnect only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_container: Option<ContainerTemplate>,
    /// KafkaConnect: the workers' ServiceAccount (`template.serviceAccount`), e.g. its IRSA
    /// annotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ResourceTemplate>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ContainerTemplate {
    pub env: Vec<EnvVar>,
}

/// `template.connectContainer.env[]`: `{name, value}` or `{name, valueFrom: {secretKeyRef |
/// configMapKeyRef}}` (Strimzi 1.2.0 CRD `ContainerEnvVar`, one of the two).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeySelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeySelector>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeySelector {
    pub name: String,
    pub key: String,
}

/// A Strimzi `ResourceTemplate`: metadata added to a resource the operator makes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResourceTemplate {
    pub metadata: TemplateMetadata,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TemplateMetadata {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PodTemplate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
}

/// `None` when nothing constrains placement (the field stays out of the manifest).
pub fn template(node_selector: &Labels, tolerations: &[Toleration]) -> Option<Template> {
    if node_selector.is_empty() && tolerations.is_empty() {
        return None;
    }
    let affinity = (!node_selector.is_empty()).then(|| {
        let exprs: Vec<serde_json::Value> = node_selector
            .iter()
            .map(|(k, v)| serde_json::json!({"key": k, "operator": "In", "values": [v]}))
            .collect();
        serde_json::json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": exprs}]}}})
    });
    Some(Template {
        pod: Some(PodTemplate {
            affinity,
            tolerations: tolerations.to_vec(),
        }),
        connect_container: None,
        service_account: None,
    })
}

// ---- KafkaNodePool ----

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolSpec {
    pub replicas: u32,
    pub roles: Vec<String>,
    pub storage: Storage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Storage {
    Ephemeral {},
    #[serde(rename_all = "camelCase")]
    PersistentClaim {
        size: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        class: Option<String>,
        delete_claim: bool,
    },
}

pub fn node_pool(
    name: &str,
    cluster: &str,
    namespace: &str,
    replicas: u32,
    roles: &[&str],
    storage: Storage,
    template: Option<Template>,
) -> Manifest<NodePoolSpec> {
    Manifest {
        api_version: API_VERSION,
        kind: "KafkaNodePool",
        metadata: Metadata::new(name, namespace).label("strimzi.io/cluster", cluster),
        spec: NodePoolSpec {
            replicas,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            storage,
            template,
        },
    }
}

// ---- KafkaConnect ----

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectSpec {
    pub replicas: u32,
    pub image: String,
    pub bootstrap_servers: String,
    pub group_id: String,
    pub config_storage_topic: String,
    pub offset_storage_topic: String,
    pub status_storage_topic: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTls>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<ClientAuthentication>,
    pub config: BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_config: Option<MetricsConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
}

/// `spec.tls` of a Kafka client resource: the CA its brokers' certificates are checked against.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientTls {
    pub trusted_certificates: Vec<TrustedCertificate>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedCertificate {
    pub secret_name: String,
    pub certificate: String,
}

/// `spec.authentication` of a Kafka client resource: SCRAM-SHA-512 with the password the User
/// Operator wrote into the user's Secret (never the password itself).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientAuthentication {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub username: String,
    pub password_secret: PasswordSecret,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordSecret {
    pub secret_name: String,
    pub password: String,
}

/// How a Kafka client resource reaches the TLS + SCRAM listener as `user`: the CA certificate
/// from `<cluster>-cluster-ca-cert` (key `ca.crt`) and the password from the Secret the User
/// Operator names after the user (key `password`).
pub fn client_security(cluster: &str, user: &str) -> (ClientTls, ClientAuthentication) {
    (
        ClientTls {
            trusted_certificates: vec![TrustedCertificate {
                secret_name: cluster_ca_secret(cluster),
                certificate: "ca.crt".into(),
            }],
        },
        ClientAuthentication {
            kind: "scram-sha-512",
            username: user.to_owned(),
            password_secret: PasswordSecret {
                secret_name: user.to_owned(),
                password: "password".into(),
            },
        },
    )
}

/// The Secret in which the Cluster Operator publishes the cluster CA certificate (`ca.crt`).
pub fn cluster_ca_secret(cluster: &str) -> String {
    format!("{cluster}-cluster-ca-cert")
}

pub struct ConnectInput<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub cluster: &'a str,
    pub replicas: u32,
    pub image: String,
    pub bootstrap: String,
    pub replication_factor: u32,
    pub metrics: bool,
    pub template: Option<Template>,
    /// Sets `TZ` in the Connect container (connectors that format times use it).
    pub timezone: Option<String>,
    /// The workers' other environment variables (the connect's `envs`), after `TZ`.
    pub env: Vec<EnvVar>,
    /// Annotations of the workers' ServiceAccount (EKS: the IRSA role's ARN).
    pub service_account_annotations: BTreeMap<String, String>,
    /// The KafkaUser the workers authenticate as.
    pub user: String,
}

/// The ServiceAccount Strimzi makes for the workers of KafkaConnect `name` (and its pods run
/// as): `<name>-connect` (strimzi-kafka-operator, `api/src/main/java/io/strimzi/api/kafka/model/
/// connect/KafkaConnectResources.java`: `serviceAccountName` = `deploymentName` = `name +
/// "-connect"`; the same name at 0.45 and 1.2.0).
pub fn connect_service_account(name: &str) -> String {
    format!("{name}-connect")
}

/// Connectors are managed as KafkaConnector resources; secrets reach them through the
/// Kubernetes Secret config provider (`${secrets:<ns>/<secret>:<key>}`), never in the CR.
pub fn connect(i: ConnectInput<'_>) -> Manifest<ConnectSpec> {
    let rf = serde_json::Value::from(i.replication_factor);
    let config: BTreeMap<String, serde_json::Value> = [
        ("config.storage.replication.factor", rf.clone()),
        ("offset.storage.replication.factor", rf.clone()),
        ("status.storage.replication.factor", rf),
        (
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter".into(),
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter".into(),
        ),
        ("config.providers", "secrets".into()),
        (
            "config.providers.secrets.class",
            "io.strimzi.kafka.KubernetesSecretConfigProvider".into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let (tls, authentication) = client_security(i.cluster, &i.user);
    Manifest {
        api_version: API_VERSION,
        kind: "KafkaConnect",
        metadata: Metadata::new(i.name, i.namespace)
            .annotate("strimzi.io/use-connector-resources", "true")
            .label("app.kubernetes.io/part-of", "alpaka")
            .label("strimzi.io/cluster-ref", i.cluster),
        spec: ConnectSpec {
            replicas: i.replicas,
            image: i.image,
            bootstrap_servers: i.bootstrap,
            group_id: format!("connect-{}", i.name),
            config_storage_topic: connect_topics(i.name)[0].clone(),
            offset_storage_topic: connect_topics(i.name)[1].clone(),
            status_storage_topic: connect_topics(i.name)[2].clone(),
            tls: Some(tls),
            authentication: Some(authentication),
            config,
            metrics_config: i.metrics.then(MetricsConfig::reporter),
            template: connect_template(
                i.template,
                i.timezone,
                i.env,
                i.service_account_annotations,
            ),
        },
    }
}

/// Placement plus the Connect container's environment (`TZ` first, then the connect's `envs`)
/// and the ServiceAccount's annotations; `None` when there is none of it.
fn connect_template(
    placement: Option<Template>,
    timezone: Option<String>,
    env: Vec<EnvVar>,
    sa_annotations: BTreeMap<String, String>,
) -> Option<Template> {
    let mut all: Vec<EnvVar> = timezone
        .map(|tz| EnvVar {
            name: "TZ".into(),
            value: Some(tz),
            value_from: None,
        })
        .into_iter()
        .collect();
    all.extend(env);
    if placement.is_none() && all.is_empty() && sa_annotations.is_empty() {
        return None;
    }
    Some(Template {
        connect_container: (!all.is_empty()).then_some(ContainerTemplate { env: all }),
        service_account: (!sa_annotations.is_empty()).then(|| ResourceTemplate {
            metadata: TemplateMetadata {
                labels: BTreeMap::new(),
                annotations: sa_annotations,
            },
        }),
        ..placement.unwrap_or_default()
    })
}

/// The internal topics of Connect cluster `name`: configs, offsets, status.
pub fn connect_topics(name: &str) -> [String; 3] {
    ["configs", "offsets", "status"].map(|t| format!("connect-{name}-{t}"))
}

// ---- KafkaConnector ----

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorSpec {
    pub class: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks_max: Option<u32>,
    pub config: BTreeMap<String, String>,
    pub state: &'static str,
}

pub fn connector(
    name: &str,
    namespace: &str,
    connect: &str,
    class: String,
    tasks_max: Option<u32>,
    config: BTreeMap<String, String>,
) -> Manifest<ConnectorSpec> {
    Manifest {
        api_version: API_VERSION,
        kind: "KafkaConnector",
        metadata: Metadata::new(name, namespace).label("strimzi.io/cluster", connect),
        spec: ConnectorSpec {
            class,
            tasks_max,
            config,
            state: "running",
        },
    }
}

// ---- KafkaTopic (the Topic Operator creates and deletes the topic) ----

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicSpec {
    pub partitions: u32,
    pub replicas: u32,
    /// Topic configs (`retention.ms`, …); the brokers' defaults where empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, serde_json::Value>,
}

/// A topic of Kafka cluster `kafka`; its name is the resource's name.
pub fn topic(
    api_version: &'static str,
    name: &str,
    namespace: &str,
    kafka: &str,
    partitions: u32,
    replicas: u32,
) -> Manifest<TopicSpec> {
    Manifest {
        api_version,
        kind: "KafkaTopic",
        metadata: Metadata::new(name, namespace).label("strimzi.io/cluster", kafka),
        spec: TopicSpec {
            partitions,
            replicas,
            config: BTreeMap::new(),
        },
    }
}

// ---- legacy ZooKeeper mode (Strimzi 0.45, Kafka 3.9, API v1beta2) ----

/// The last API version the ZooKeeper-capable operator (0.45) serves.
pub const API_VERSION_LEGACY: &str = "kafka.strimzi.io/v1beta2";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyKafkaSpec {
    pub kafka: LegacyKafkaCluster,
    pub zookeeper: Zookeeper,
    pub entity_operator: EntityOperator,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyKafkaCluster {
    pub version: String,
    pub replicas: u32,
    pub listeners: Vec<Listener>,
    /// 0.45's v1beta2 has the same `simple` type (AclAuthorizer on ZooKeeper).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    pub config: BTreeMap<String, serde_json::Value>,
    pub storage: Storage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Zookeeper {
    pub replicas: u32,
    pub storage: Storage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
}

/// Brokers and ZooKeeper in one `Kafka` resource, node pools and KRaft switched off. Metrics are
/// not configured: 0.45 only offers the JMX exporter, which needs its own ConfigMap of rules.
pub fn kafka_zookeeper(
    i: &KafkaInput<'_>,
    brokers: u32,
    storage: Storage,
    template: Option<Template>,
) -> Manifest<LegacyKafkaSpec> {
    let v1 = kafka(i);
    // An odd ensemble: 3 when there are brokers enough to spread it, else 1.
    let zk_replicas = if brokers >= 3 { 3 } else { 1 };
    Manifest {
        api_version: API_VERSION_LEGACY,
        kind: "Kafka",
        metadata: Metadata::new(i.name, i.namespace)
            .annotate("strimzi.io/kraft", "disabled")
            .annotate("strimzi.io/node-pools", "disabled"),
        spec: LegacyKafkaSpec {
            kafka: LegacyKafkaCluster {
                version: v1.spec.kafka.version,
                replicas: brokers,
                listeners: v1.spec.kafka.listeners,
                authorization: v1.spec.kafka.authorization,
                config: v1.spec.kafka.config,
                storage: storage.clone(),
                template: template.clone(),
            },
            zookeeper: Zookeeper {
                replicas: zk_replicas,
                storage,
                template,
            },
            entity_operator: v1.spec.entity_operator,
        },
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyConnectSpec {
    pub version: String,
    pub replicas: u32,
    pub image: String,
    pub bootstrap_servers: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTls>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<ClientAuthentication>,
    /// v1beta2 keeps the group id and internal topics in `config`.
    pub config: BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
}

pub fn connect_legacy(i: ConnectInput<'_>, kafka_version: &str) -> Manifest<LegacyConnectSpec> {
    let v1 = connect(i);
    let mut config = v1.spec.config;
    for (k, v) in [
        ("group.id", v1.spec.group_id),
        ("config.storage.topic", v1.spec.config_storage_topic),
        ("offset.storage.topic", v1.spec.offset_storage_topic),
        ("status.storage.topic", v1.spec.status_storage_topic),
    ] {
        config.insert(k.to_owned(), v.into());
    }
    Manifest {
        api_version: API_VERSION_LEGACY,
        kind: "KafkaConnect",
        metadata: v1.metadata,
        spec: LegacyConnectSpec {
            version: kafka_version.to_owned(),
            replicas: v1.spec.replicas,
            image: v1.spec.image,
            bootstrap_servers: v1.spec.bootstrap_servers,
            tls: v1.spec.tls,
            authentication: v1.spec.authentication,
            config,
            template: v1.spec.template,
        },
    }
}
