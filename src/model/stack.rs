//! The stack config (`configs/<name>.yaml`): *what* runs — Kafka, Connect, ksqlDB, UIs, monitoring.
//!
//! Key names follow the original Helm chart where they existed (`replicaCount`, `nodeSelector`,
//! `connector_groups`, `retention_period`); new keys are camelCase. `StackConfig::default()` is a
//! complete working stack, so an empty file is valid.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{Cidr, Container, DnsLabel, Duration, Size, Toleration};

/// Free-form values (connector configs, template variables, ingress annotations).
pub type FreeMap = BTreeMap<String, serde_json::Value>;
/// Kubernetes labels / node selectors.
pub type Labels = BTreeMap<String, String>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StackConfig {
    pub kafka: Kafka,
    pub kafka_connect: KafkaConnect,
    pub ksqldb: Ksqldb,
    pub ui4kafka: WebUi,
    pub k8dashboard: K8Dashboard,
    pub prometheus: Prometheus,
    pub grafana: Grafana,
    pub loki: Loki,
    pub kminion: Kminion,
    pub ingress: Ingress,
    pub tool: Tool,
    pub init: Init,
    pub test: Test,
    /// The environment variables the connector configs read with `{fromEnv: NAME}`, as they
    /// were when the config was loaded. Never part of a file, a plan or the state.
    #[serde(skip)]
    #[schemars(skip)]
    pub env: EnvSnapshot,
}

/// Values of environment variables (secrets, typically): `Debug` shows only their names.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct EnvSnapshot(pub BTreeMap<String, String>);

impl EnvSnapshot {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl std::fmt::Debug for EnvSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum StorageType {
    #[default]
    Persistent,
    Ephemeral,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum KafkaMode {
    #[default]
    Kraft,
    Zookeeper,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Storage {
    #[serde(rename = "type")]
    pub kind: StorageType,
    pub size: Size,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    pub delete_claim: bool,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            kind: StorageType::Persistent,
            size: Size::known("10Gi"),
            storage_class: None,
            delete_claim: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Kafka {
    pub enabled: bool,
    pub version: String,
    /// Number of brokers.
    #[schemars(range(min = 1))]
    pub replica_count: u32,
    /// KRaft controller replicas in their own pool; 0 = combined broker+controller nodes.
    pub controllers: u32,
    #[schemars(range(min = 1))]
    pub default_replication_factor: u32,
    #[schemars(range(min = 1))]
    pub num_partitions: u32,
    #[schemars(range(min = 1))]
    pub min_insync_replicas: u32,
    pub storage: Storage,
    pub metrics: bool,
    /// How often Prometheus scrapes the brokers' and Connect workers' metrics (the PodMonitor's
    /// `interval`); unset: Prometheus's global interval (kube-prometheus-stack: 30s). The
    /// original chart scraped Kafka every 10s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_interval: Option<Duration>,
    /// The scrape's timeout (`scrapeTimeout`); unset: Prometheus's global (10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_timeout: Option<Duration>,
    pub mode: KafkaMode,
    /// Who may connect, and how. Secure by default: one TLS listener (9093) with SCRAM-SHA-512,
    /// Kafka's authorizer, and one KafkaUser per client with the least ACLs it needs.
    pub security: KafkaSecurity,
    /// Broker settings passed to Strimzi's `spec.kafka.config`, e.g. `log.retention.hours: 168`.
    /// The settings alpaka derives from the keys above (replication, partitions, min ISR) are
    /// set there instead.
    #[serde(default, skip_serializing_if = "FreeMap::is_empty")]
    pub config: FreeMap,
    pub node_selector: Labels,
    pub tolerations: Vec<Toleration>,
    /// Free-form values for the `strimzi-kafka-operator` 1.2.0 (0.45.1 in ZooKeeper mode) chart, deep-merged over what alpaka generates (yours
    /// win; `alpaka plan` warns where you replace a value alpaka sets). No secrets: point the
    /// chart at an existing Secret instead.
    #[serde(default, skip_serializing_if = "FreeMap::is_empty")]
    pub chart_values: FreeMap,
}

impl Default for Kafka {
    fn default() -> Self {
        Kafka {
            enabled: true,
            version: "4.3.1".into(),
            replica_count: 1,
            controllers: 1,
            default_replication_factor: 1,
            num_partitions: 8,
            min_insync_replicas: 1,
            storage: Storage::default(),
            metrics: true,
            scrape_interval: None,
            scrape_timeout: None,
            mode: KafkaMode::Kraft,
            security: KafkaSecurity::default(),
            config: FreeMap::new(),
            node_selector: Labels::new(),
            tolerations: Vec::new(),
            chart_values: FreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct KafkaSecurity {
    /// Also open a plain listener on 9092: no TLS, no authentication, and its clients
    /// (`User:ANONYMOUS`) are super users, as every client was before alpaka secured Kafka.
    /// For clients not yet moved to the TLS listener; `validate` and `plan` warn while it is on.
    pub plain_listener: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConnect {
    pub enabled: bool,
    /// One Connect cluster per entry, merged across files by `type`.
    pub connects: Vec<Connect>,
}

impl Default for KafkaConnect {
    fn default() -> Self {
        KafkaConnect {
            enabled: true,
            connects: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Connect {
    /// Connect type, e.g. `srccon`; part of resource names.
    #[serde(rename = "type")]
    pub kind: DnsLabel,
    #[serde(default = "one")]
    #[schemars(range(min = 0))]
    pub replica_count: u32,
    #[serde(default)]
    pub container: Container,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Template variables shared by all connector groups of this connect.
    #[serde(default)]
    pub values: FreeMap,
    #[serde(default)]
    pub node_selector: Labels,
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
    #[serde(default, rename = "connector_groups")]
    pub connector_groups: Vec<ConnectorGroup>,
    /// Environment variables of the Connect workers (the original chart's key), merged across
    /// files by `name`: each a plain `value` or a key of a Secret (`secretKeyRef`) or ConfigMap
    /// (`configMapKeyRef`) in the namespace. Secrets belong in a Secret: a plain value whose name
    /// says PASSWORD, SECRET, TOKEN or KEY is warned about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub envs: Vec<EnvVar>,
    /// EKS only: an IAM role for the workers' ServiceAccount (IRSA), trusted for exactly that
    /// ServiceAccount, so connectors that talk to AWS (the S3 sink) need no static keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_identity: Option<AwsIdentity>,
    /// In an upper layer: drop the entry of this `type` from the layers below.
    #[serde(default, skip_serializing_if = "is_false")]
    pub remove: bool,
}

/// One environment variable of a Connect worker: exactly one of `value`, `secretKeyRef`,
/// `configMapKeyRef` (Strimzi's `template.connectContainer.env`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    /// A plain value: it is in the KafkaConnect resource and the plan. Never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A key of a Secret in the platform's namespace (the value is never read by alpaka).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeyRef>,
    /// A key of a ConfigMap in the platform's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeyRef>,
    /// In an upper layer: drop the variable of this `name` from the layers below.
    #[serde(default, skip_serializing_if = "is_false")]
    pub remove: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    /// The Secret's (ConfigMap's) name.
    pub name: String,
    pub key: String,
}

/// The AWS identity of a Connect type's workers (EKS: an IRSA role).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct AwsIdentity {
    /// Managed policies attached to the role: AWS's (`arn:aws:iam::aws:policy/…`) or your
    /// account's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policy_arns: Vec<String>,
    /// A policy document in `policies/` (its file name, e.g. `connect-s3-sink.json`), made a
    /// customer managed policy attached to the role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_file: Option<String>,
    /// `policy_file`'s document, read and checked by the loader (compact JSON). Never part of a
    /// file; the stack puts it on the policy it plans.
    #[serde(skip)]
    #[schemars(skip)]
    pub policy_document: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorGroup {
    pub name: String,
    /// Template variables; override the connect's `values`.
    #[serde(default)]
    pub values: FreeMap,
    /// Config shared by the group's connectors; a connector's `config` overrides it.
    #[serde(default)]
    pub common: FreeMap,
    #[serde(default)]
    pub connectors: Vec<Connector>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub remove: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connector {
    pub name: String,
    #[serde(default)]
    pub config: FreeMap,
    #[serde(default, skip_serializing_if = "is_false")]
    pub remove: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Ksqldb {
    pub enabled: bool,
    #[schemars(range(min = 0))]
    pub replica_count: u32,
    pub container: Container,
    /// 2Gi OOMed in the original chart.
    pub memory: Size,
    /// The topics your own streams and tables read and write; ksqlDB's Kafka user gets exactly
    /// these (besides its own internal topics). A name, or a prefix ending in `*`.
    pub topics: KsqlTopics,
    pub node_selector: Labels,
    pub tolerations: Vec<Toleration>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct KsqlTopics {
    /// Read (and describe): the topics of `CREATE STREAM/TABLE … WITH (KAFKA_TOPIC=…)`.
    pub read: Vec<String>,
    /// Write, describe and create: the sinks of `CREATE STREAM/TABLE … AS SELECT` (named after
    /// the stream, upper case, unless `KAFKA_TOPIC` says otherwise).
    pub write: Vec<String>,
}

impl Default for Ksqldb {
    fn default() -> Self {
        Ksqldb {
            enabled: true,
            replica_count: 1,
            // The standalone ksqldb-server image stopped at 0.29.0 (2023); Confluent Platform's
            // image is the maintained line. 8.3.0 is the newest tag confirmed in use
            // (confluentinc/cp-all-in-one v8.3.0, docker-compose.yml).
            container: Container::new("confluentinc/cp-ksqldb-server", "8.3.0"),
            memory: Size::known("4Gi"),
            topics: KsqlTopics::default(),
            node_selector: Labels::new(),
            tolerations: Vec::new(),
        }
    }
}

/// UI for Apache Kafka.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct WebUi {
    pub enabled: bool,
    pub host: String,
    #[schemars(range(min = 1))]
    pub port: u16,
    /// Every Kafka cluster in the UI is read-only (kafbat `kafka.clusters[].readOnly`): topics,
    /// messages and groups can be browsed; nothing can be produced, deleted, purged or reset.
    pub read_only: bool,
    /// Who may use the UI. Never anonymous with write access: `type: none` needs `readOnly`.
    pub auth: UiAuth,
    pub node_selector: Labels,
    pub tolerations: Vec<Toleration>,
    /// Free-form values for the kafbat `kafka-ui` 1.6.5 chart, deep-merged over what alpaka generates (yours
    /// win; `alpaka plan` warns where you replace a value alpaka sets). No secrets: point the
    /// chart at an existing Secret instead.
    #[serde(default, skip_serializing_if = "FreeMap::is_empty")]
    pub chart_values: FreeMap,
}

impl Default for WebUi {
    fn default() -> Self {
        WebUi {
            enabled: true,
            host: "ui4kafka.alpaka.wai".into(),
            port: 8080,
            read_only: true,
            auth: UiAuth::default(),
            node_selector: Labels::new(),
            tolerations: Vec::new(),
            chart_values: FreeMap::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum UiAuthType {
    /// kafbat's login form; the password is generated into the Secret `kafka-ui-login`.
    #[default]
    Login,
    /// Sign-in through an OpenID Connect provider (`oauth2`).
    Oauth2,
    /// No sign-in: anyone who reaches the UI uses it (only with `readOnly: true`).
    #[serde(rename = "none")]
    Disabled,
}

/// kafbat UI's authentication (`auth.type` LOGIN_FORM / OAUTH2 / DISABLED).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct UiAuth {
    #[serde(rename = "type")]
    pub kind: UiAuthType,
    /// `login`: the user name (the password is generated, kept only in the Secret).
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<UiOauth2>,
}

impl Default for UiAuth {
    fn default() -> Self {
        UiAuth {
            kind: UiAuthType::Login,
            username: "admin".into(),
            oauth2: None,
        }
    }
}

/// An OpenID Connect provider for kafbat UI. The client secret is read from an existing
/// Kubernetes Secret in alpaka's namespace, never from this file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UiOauth2 {
    /// The issuer; its `/.well-known/openid-configuration` gives the endpoints.
    pub issuer_uri: String,
    pub client_id: String,
    /// The Secret holding the client secret.
    pub secret_name: String,
    /// Its key in that Secret.
    #[serde(default = "client_secret_key")]
    pub secret_key: String,
    #[serde(default = "oidc_scope")]
    pub scope: Vec<String>,
    /// The claim shown as the user's name (the provider's default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name_attribute: Option<String>,
}

fn client_secret_key() -> String {
    "clientSecret".into()
}

fn oidc_scope() -> Vec<String> {
    ["openid", "email", "profile"].map(String::from).to_vec()
}

/// Kubernetes dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct K8Dashboard {
    pub enabled: bool,
    pub host: String,
    #[schemars(range(min = 1))]
    pub port: u16,
    /// Grant the dashboard's service account cluster-admin (dev clusters only).
    pub admin_access: bool,
    pub node_selector: Labels,
    pub tolerations: Vec<Toleration>,
    /// Free-form values for the `headlamp` 0.42.0 chart, deep-merged over what alpaka generates (yours
    /// win; `alpaka plan` warns where you replace a value alpaka sets). No secrets: point the
    /// chart at an existing Secret instead.
    #[serde(default, skip_serializing_if = "FreeMap::is_empty")]
    pub chart_values: FreeMap,
}

impl Default for K8Dashboard {
    fn default() -> Self {
        K8Dashboard {
            enabled: true,
            host: "k8dashboard.alpaka.wai".into(),
            port: 8443,
            admin_access: false,
            node_selector: Labels::new(),
            tolerations: Vec::new(),
            chart_values: FreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Prometheus {
    pub enabled: bool,
    pub host: String,
    #[schemars(range(min = 1))]
    pub port: u16,
    pub retention: Duration,
    /// Give Prometheus an Ingress (at `host`/`port`). Off by default: Prometheus has no sign-in
    /// and the operator enables its lifecycle API, so anyone reaching it can `POST /-/quit`.
    pub expose: bool,
    /// Alertmanager with alpaka's alerting rules for this platform (offline and
    /// under-replicated partitions, a broker down, consumer lag, failed connectors and tasks,
    /// volumes filling up). Placed with Prometheus.
    pub alertmanager: Alertmanager,
    pub node_selector: Labels,
    pub tolerations: Vec<Toleration>,
    /// Free-form values for the `kube-prometheus-stack` 93.9.0 chart, deep-merged over what alpaka generates (yours
    /// win; `alpaka plan` warns where you replace a value alpaka sets). No secrets: point the
    /// chart at an existing Secret instead. Keys are the
    /// chart's top level (`prometheus.prometheusSpec.additionalScrapeConfigs`, `kube-state-metrics`).
    #[serde(default, skip_serializing_if = "FreeMap::is_empty")]
    pub chart_values: FreeMap,
}

impl Default for Prometheus {
    fn default() -> Self {
        Prometheus {
            enabled: true,
            host: "prometheus.alpaka.wai".into(),
            port: 9090,
            retention: Duration::known("10d"),
            expose: false,
            alertmanager: Alertmanager::default(),
            node_selector: Labels::new(),
            tolerations: Vec::new(),
            chart_values: FreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Alertmanager {
    pub enabled: bool,
    /// How long Alertmanager keeps alerts and silences.
    pub retention: Duration,
    /// A Secret in the platform's namespace whose key `alertmanager.yaml` is Alertmanager's
    /// configuration: the receivers (Slack, e-mail, PagerDuty …) and their credentials, which
    /// never pass through alpaka. Unset: alerts are kept and shown in Alertmanager's UI and
    /// Grafana, sent nowhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_secret: Option<String>,
}

impl Default for Alertmanager {
    fn default() -> Self {
        Alertmanager {
            enabled: false,
            retention: Duration::known("120h"),
            config_secret: None,
        }
    }
}

/// Grafana's own volume (dashboards and users made in the UI, its SQLite database).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct GrafanaPersistence {
    /// Off: what is made in Grafana's UI is lost when its pod is replaced (alpaka's provisioned
    /// dashboards and datasources come back).
    pub enabled: bool,
    pub size: Size,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

impl Default for GrafanaPersistence {
    fn default() -> Self {
        GrafanaPersistence {
            enabled: false,
            size: Size::known("10Gi"),
            storage_class: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Dashboard {
    pub name: String,
    /// grafana.com dashboard id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gnet_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub remove: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Grafana {
    pub enabled: bool,
    pub host: String,
    #[schemars(range(min = 1))]
    pub port: u16,
    pub admin_user: String,
    /// Merged across files by `name`.
    pub dashboards: Vec<Dashboard>,
    pub persistence: GrafanaPersistence,
    pub node_selector: Labels,
    pub tolerations: Vec<Toleration>,
    /// Free-form values for the Grafana subchart of `kube-prometheus-stack` 93.9.0 chart, deep-merged over what alpaka generates (yours
    /// win; `alpaka plan` warns where you replace a value alpaka sets). No secrets: point the
    /// chart at an existing Secret instead. Keys are
    /// the subchart's (`plugins`, `grafana.ini`); alpaka places them under `grafana.`.
    #[serde(default, skip_serializing_if = "FreeMap::is_empty")]
    pub chart_values: FreeMap,
}

impl Default for Grafana {
    fn default() -> Self {
        Grafana {
            enabled: true,
            host: "grafana.alpaka.wai".into(),
            port: 3000,
            admin_user: "admin".into(),
            persistence: GrafanaPersistence::default(),
            // alpaka's own dashboards are built in (stack/dashboards.rs); this list is only
            // what the user adds (downloaded by Grafana from grafana.com or a URL).
            dashboards: Vec::new(),
            node_selector: Labels::new(),
            tolerations: Vec::new(),
            chart_values: FreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Loki {
    pub enabled: bool,
    #[serde(rename = "retention_period")]
    pub retention_period: Duration,
    pub node_selector: Labels,
    pub tolerations: Vec<Toleration>,
    /// Free-form values for the grafana-community `loki` 18.11.0 chart, deep-merged over what alpaka generates (yours
    /// win; `alpaka plan` warns where you replace a value alpaka sets). No secrets: point the
    /// chart at an existing Secret instead.
    #[serde(default, skip_serializing_if = "FreeMap::is_empty")]
    pub chart_values: FreeMap,
    /// Free-form values for the `alloy` 1.11.1 chart that ships pods' logs to Loki; merged like
    /// `chartValues`.
    #[serde(default, skip_serializing_if = "FreeMap::is_empty")]
    pub alloy_chart_values: FreeMap,
}

impl Default for Loki {
    fn default() -> Self {
        Loki {
            enabled: false,
            retention_period: Duration::known("72h"),
            node_selector: Labels::new(),
            tolerations: Vec::new(),
            chart_values: FreeMap::new(),
            alloy_chart_values: FreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Kminion {
    pub enabled: bool,
    /// KMinion's end-to-end probe: it produces to and consumes from its own topic
    /// (`kminion-end-to-end`, made by alpaka as a KafkaTopic: one partition per broker) and
    /// exports the produce/roundtrip latencies and lost messages the built-in dashboard shows.
    /// `false` leaves the topic out and those panels empty.
    pub end_to_end: bool,
    pub scrape_interval: Duration,
    pub scrape_timeout: Duration,
    pub node_selector: Labels,
    pub tolerations: Vec<Toleration>,
    /// Free-form values for the `kminion` 0.15.2 chart, deep-merged over what alpaka generates (yours
    /// win; `alpaka plan` warns where you replace a value alpaka sets). No secrets: point the
    /// chart at an existing Secret instead.
    #[serde(default, skip_serializing_if = "FreeMap::is_empty")]
    pub chart_values: FreeMap,
}

impl Default for Kminion {
    fn default() -> Self {
        Kminion {
            enabled: true,
            end_to_end: true,
            scrape_interval: Duration::known("10s"),
            scrape_timeout: Duration::known("5s"),
            node_selector: Labels::new(),
            tolerations: Vec::new(),
            chart_values: FreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Ingress {
    pub enabled: bool,
    /// Ingress class; when unset it is derived from the distribution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// Added to every UI's Ingress. Yours are never overwritten: where one replaces an
    /// annotation alpaka sets, `validate`/`plan` warn naming both.
    pub annotations: BTreeMap<String, String>,
    /// EKS only: an ACM certificate for the services' hostnames. With it, the ALB serves every
    /// UI over HTTPS on 443 by hostname (HTTP 80 redirects to it); without it, each UI gets its
    /// own HTTP listen port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<String>,
    /// EKS only: an internet-facing ALB instead of an internal one (reachable only inside the
    /// VPC). Needs `certificateArn` and `auth` or `inboundCidrs` narrower than the internet.
    pub public: bool,
    /// EKS only: the source CIDRs the ALB accepts (ALB `inbound-cidrs`); empty: the
    /// controller's default, everyone who can reach it.
    pub inbound_cidrs: Vec<Cidr>,
    /// EKS only: the ALB signs users in (OIDC or Cognito) before any request reaches a UI.
    /// Works on HTTPS listeners only (`certificateArn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<IngressAuth>,
}

impl Default for Ingress {
    fn default() -> Self {
        Ingress {
            enabled: true,
            class_name: None,
            annotations: BTreeMap::new(),
            certificate_arn: None,
            public: false,
            inbound_cidrs: Vec::new(),
            auth: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IngressAuthType {
    Oidc,
    Cognito,
}

/// ALB authentication (AWS Load Balancer Controller `auth-type`, `auth-idp-oidc`,
/// `auth-idp-cognito`, `auth-scope`); `type` picks which of `oidc` / `cognito` is used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressAuth {
    #[serde(rename = "type")]
    pub kind: IngressAuthType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcIdp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cognito: Option<CognitoIdp>,
    /// Claims asked of the IdP, space-separated (the controller's default: `openid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// An OpenID Connect provider. The client id and secret are read by the controller from the
/// Kubernetes Secret `secretName` (keys `clientID`, `clientSecret`) in alpaka's namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OidcIdp {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub user_info_endpoint: String,
    pub secret_name: String,
}

/// An Amazon Cognito user pool (`userPoolDomain`: the domain prefix, not the full URL).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CognitoIdp {
    #[serde(rename = "userPoolARN")]
    pub user_pool_arn: String,
    #[serde(rename = "userPoolClientID")]
    pub user_pool_client_id: String,
    #[serde(rename = "userPoolDomain")]
    pub user_pool_domain: String,
}

/// The tool pod (kcat, kafka CLI, curl, …) users exec into. The original chart's tool block
/// reached its Deployment with all of these keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Tool {
    pub enabled: bool,
    pub container: Container,
    pub node_selector: Labels,
    pub tolerations: Vec<Toleration>,
    /// The pod's DNS settings (Kubernetes `dnsConfig`), e.g. `options: [{name: ndots, value:
    /// "2"}]` (the original chart's default: fewer search-domain lookups for external names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_config: Option<DnsConfig>,
    /// The container's requests and limits; unset: alpaka's (50m/256Mi, limits 1 CPU/1Gi).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Kubernetes `affinity` for the pod (nodeAffinity, podAffinity, podAntiAffinity), as
    /// Kubernetes spells it; checked against the Kubernetes type when the stack is built.
    #[serde(skip_serializing_if = "FreeMap::is_empty")]
    pub affinity: FreeMap,
    /// Labels added to the pod (alpaka's own `app.kubernetes.io/*` labels win).
    #[serde(skip_serializing_if = "Labels::is_empty")]
    pub pod_labels: Labels,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_annotations: BTreeMap<String, String>,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            enabled: true,
            container: Container::new("ghcr.io/alpaka/tool", "0.1.0"),
            node_selector: Labels::new(),
            tolerations: Vec::new(),
            dns_config: None,
            resources: None,
            affinity: FreeMap::new(),
            pod_labels: Labels::new(),
            pod_annotations: BTreeMap::new(),
        }
    }
}

/// A pod's DNS settings (Kubernetes `PodDNSConfig`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub searches: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<DnsOption>,
}

/// One resolver option (`ndots`, `timeout`, …); `value` as a string, as Kubernetes takes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsOption {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A container's resource requests and limits: resource name (`cpu`, `memory`) → quantity
/// (`"500m"`, `"1Gi"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Resources {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, String>,
}

/// A job run after each apply: `files` are mounted executable, `commands` run in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Init {
    pub enabled: bool,
    pub container: Container,
    pub files: BTreeMap<String, String>,
    pub commands: Vec<String>,
    pub node_selector: Labels,
    pub tolerations: Vec<Toleration>,
}

impl Default for Init {
    fn default() -> Self {
        Init {
            enabled: false,
            container: Tool::default().container,
            files: BTreeMap::new(),
            commands: Vec::new(),
            node_selector: Labels::new(),
            tolerations: Vec::new(),
        }
    }
}

/// `alpaka test`'s optional S3 sink check. The connector writes under `alpaka-test/<run id>/`
/// in `bucket` and the test deletes exactly that prefix afterwards: there is deliberately no
/// setting for the path (the original deleted everything under a user-given prefix).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct S3Sink {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// The bucket's region (default: the EKS profile's region, else the AWS default chain's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Connect type whose workers carry the S3 sink plugin and can write to the bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<DnsLabel>,
}

/// `alpaka test`: where its throwaway resources run. Nothing here is deployed by `apply`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Test {
    pub node_selector: Labels,
    pub tolerations: Vec<Toleration>,
    /// The throwaway MySQL the JDBC check reads (the official image).
    pub mysql: Container,
    /// Connect type whose workers carry the JDBC source plugin (default: the first whose
    /// connectors use `io.confluent.connect.jdbc.JdbcSourceConnector`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jdbc_connect: Option<DnsLabel>,
    pub s3sink: S3Sink,
}

impl Default for Test {
    fn default() -> Self {
        Test {
            node_selector: Labels::new(),
            tolerations: Vec::new(),
            mysql: Container::new("mysql", "8.4"),
            jdbc_connect: None,
            s3sink: S3Sink::default(),
        }
    }
}

fn one() -> u32 {
    1
}

fn is_false(b: &bool) -> bool {
    !*b
}
