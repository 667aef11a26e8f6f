//! One Strimzi `KafkaUser` per Kafka client, with the least ACLs its work needs, derived from
//! the config (nobody types an ACL): each Connect type from its internal topics and the
//! topics its connectors read or write, ksqlDB from its service id and `ksqldb.topics`, kafbat
//! UI read-only, KMinion describe-only but for its end-to-end probe's topic, `alpaka test` its `alpaka-test-` prefix; the tool pod is
//! alpaka's admin identity (a super user). Pure.
//!
//! Every user authenticates with SCRAM-SHA-512: the User Operator generates the password into a
//! Secret named after the user (keys `password` and `sasl.jaas.config`; Strimzi docs,
//! "Configuring user authentication"), and clients read it from there only.
//!
//! The ACL shapes are Strimzi's `ACLRule` (`kafka.strimzi.io/v1` KafkaUser CRD, 1.2.0:
//! resource types topic/group/cluster/transactionalId, pattern literal/prefix, `operations`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::StackError;
use super::strimzi::{API_VERSION, API_VERSION_LEGACY, Manifest, Metadata};
use crate::model::stack::{KafkaMode, StackConfig};

/// alpaka's admin identity: a super user (the tool pod, the operator's own work).
pub const ADMIN_USER: &str = "alpaka-admin";
/// `alpaka test`'s kcat Jobs: only the `alpaka-test-` topics and groups.
pub const TEST_USER: &str = "alpaka-test";
pub const KSQLDB_USER: &str = "alpaka-ksqldb";
pub const KAFKA_UI_USER: &str = "alpaka-kafka-ui";
pub const KMINION_USER: &str = "alpaka-kminion";
/// What every `alpaka test` object is named with (`alpaka-test-<run id>-…`).
pub const TEST_PREFIX: &str = "alpaka-test-";
/// ksqlDB's `ksql.service.id`; its internal topics and groups are `_confluent-ksql-<id>…`.
pub const KSQLDB_SERVICE_ID: &str = "alpaka_";

/// The KafkaUser (and its Secret) of Connect type `connect_type`; it matches the Connect
/// group id, and stays clear of the connectors' own Secret `alpaka-connect-<type>`.
pub fn connect_user(connect_type: &str) -> String {
    format!("connect-{connect_type}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ResourceType {
    Topic,
    Group,
    Cluster,
    TransactionalId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pattern {
    Literal,
    Prefix,
}

/// Kafka ACL operations, spelled as the CRD's enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Op {
    Read,
    Write,
    Create,
    Delete,
    Describe,
    DescribeConfigs,
}

const READ: &[Op] = &[Op::Read, Op::Describe];
const WRITE: &[Op] = &[Op::Write, Op::Describe, Op::Create];
/// A topic a client owns (creates, reads, writes, checks the settings of).
const OWN: &[Op] = &[
    Op::Read,
    Op::Write,
    Op::Describe,
    Op::Create,
    Op::DescribeConfigs,
];

/// One resource of an ACL: the cluster has no name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Resource {
    pub kind: ResourceType,
    pub name: Option<String>,
    pub pattern: Pattern,
}

impl Resource {
    pub fn topic(name: &str) -> Self {
        Resource::named(ResourceType::Topic, name, Pattern::Literal)
    }
    pub fn topics(prefix: &str) -> Self {
        Resource::named(ResourceType::Topic, prefix, Pattern::Prefix)
    }
    pub fn group(name: &str) -> Self {
        Resource::named(ResourceType::Group, name, Pattern::Literal)
    }
    pub fn groups(prefix: &str) -> Self {
        Resource::named(ResourceType::Group, prefix, Pattern::Prefix)
    }
    pub fn cluster() -> Self {
        Resource {
            kind: ResourceType::Cluster,
            name: None,
            pattern: Pattern::Literal,
        }
    }
    fn named(kind: ResourceType, name: &str, pattern: Pattern) -> Self {
        Resource {
            kind,
            name: Some(name.to_owned()),
            pattern,
        }
    }
    /// `name`, or the prefix before a trailing `*` (a user's way to say "prefix").
    fn user_topic(entry: &str) -> Self {
        match entry.strip_suffix('*') {
            Some(p) if !p.is_empty() => Resource::topics(p),
            _ => Resource::topic(entry),
        }
    }
}

/// A client's ACLs, merged per resource so the same resource is listed once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acls(pub BTreeMap<Resource, BTreeSet<Op>>);

impl Acls {
    pub fn allow(&mut self, r: Resource, ops: &[Op]) {
        self.0.entry(r).or_default().extend(ops.iter().copied());
    }
    /// The operations allowed on exactly this resource.
    pub fn on(&self, r: &Resource) -> Option<&BTreeSet<Op>> {
        self.0.get(r)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A Kafka client and its ACLs; `None`: a super user, no ACLs needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub user: String,
    pub acls: Option<Acls>,
}

/// A connector as rendered (after templates): its name, class and config.
pub struct RenderedConnector<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub config: &'a BTreeMap<String, String>,
}

/// The connectors of one Connect type.
pub struct ConnectClients<'a> {
    pub connect_type: &'a str,
    pub connectors: Vec<RenderedConnector<'a>>,
    /// `alpaka test` runs its connectors (JDBC source, S3 sink) on this type.
    pub runs_tests: bool,
}

/// The ACLs of a Connect type's workers and connectors.
///
/// Workers (Strimzi's KafkaConnect user example, "Configuring Kafka Connect"): read their
/// group, own their three internal topics (Connect creates them and checks that they are
/// compacted). Sink connectors consume as group `connect-<connector>` (Kafka Connect's
/// default `consumer.group.id`) from `topics` or the literal prefix of `topics.regex`, and may
/// write a dead-letter topic. Source connectors write what their config names: `topic.prefix`
/// (JDBC: the prefix of `<prefix><table>`, or the topic itself in query mode; Debezium: its
/// logical name `<prefix>` and `<prefix>.<db>.<table>`), or `topic`. Debezium's schema history
/// (`schema.history.internal.kafka.topic`) is read back by a consumer of group
/// `<topic.prefix>-schemahistory` and created with the broker's default replication factor,
/// which it reads from the cluster's configs (debezium/debezium 3.x,
/// `HistorizedRelationalDatabaseConnectorConfig` sets `schema.history.internal.name` to
/// `<logical name>-schemahistory`; `KafkaSchemaHistory` uses it as the consumer's group id).
///
/// Checked against a real Kafka 4.4 broker with the StandardAuthorizer
/// (`integration/real_kafka.rs`): a worker logged in as this user joins its group, creates and
/// uses its internal topics, and Debezium snapshots, streams and keeps its schema history with
/// no denial in the broker's authorizer log; without WRITE on its topic prefix the task fails.
/// No IDEMPOTENT_WRITE on the cluster: since Kafka 2.8 an idempotent producer may also
/// initialise with WRITE on any topic (KIP-679).
pub fn connect_acls(c: &ConnectClients<'_>) -> Result<Acls, StackError> {
    let mut acls = Acls::default();
    let group = connect_user(c.connect_type);
    acls.allow(Resource::group(&group), &[Op::Read, Op::Describe]);
    for t in super::strimzi::connect_topics(c.connect_type) {
        acls.allow(Resource::topic(&t), OWN);
    }
    for x in &c.connectors {
        connector_acls(c.connect_type, x, &mut acls)?;
    }
    if c.runs_tests {
        // `alpaka test`'s JDBC source writes `alpaka-test-<run>-person`, its S3 sink reads
        // `alpaka-test-<run>-roundtrip` as group `connect-alpaka-test-<run>-s3`.
        acls.allow(
            Resource::topics(TEST_PREFIX),
            &[Op::Read, Op::Write, Op::Describe, Op::Create],
        );
        acls.allow(
            Resource::groups(&format!("connect-{TEST_PREFIX}")),
            &[Op::Read, Op::Describe],
        );
    }
    Ok(acls)
}

fn connector_acls(
    connect_type: &str,
    x: &RenderedConnector<'_>,
    acls: &mut Acls,
) -> Result<(), StackError> {
    let get = |k: &str| {
        x.config
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let sink_topics = get("topics");
    let sink_regex = get("topics.regex");
    if sink_topics.is_some() || sink_regex.is_some() {
        for t in sink_topics.into_iter().flat_map(|t| t.split(',')) {
            let t = t.trim();
            if !t.is_empty() {
                acls.allow(Resource::topic(t), READ);
            }
        }
        if let Some(re) = sink_regex {
            let prefix = regex_literal_prefix(re);
            if prefix.is_empty() {
                return Err(unsupported(
                    connect_type,
                    x,
                    format!(
                        "`topics.regex: {re}` has no literal prefix, so no least-privilege ACL can cover it; start it with the topics' common prefix (e.g. `cdc\\..*`)"
                    ),
                ));
            }
            acls.allow(Resource::topics(&prefix), READ);
        }
        let group = get("consumer.override.group.id")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("connect-{}", x.name));
        acls.allow(Resource::group(&group), &[Op::Read, Op::Describe]);
        if let Some(dlq) = get("errors.deadletterqueue.topic.name") {
            acls.allow(Resource::topic(dlq), WRITE);
        }
        return Ok(());
    }
    let debezium = x.class.starts_with("io.debezium.");
    match (get("topic.prefix"), get("topic")) {
        (Some(p), _) if debezium => {
            acls.allow(Resource::topic(p), WRITE);
            acls.allow(Resource::topics(&format!("{p}.")), WRITE);
        }
        (Some(p), _) => acls.allow(Resource::topics(p), WRITE),
        (None, Some(t)) => acls.allow(Resource::topic(t), WRITE),
        (None, None) => {
            return Err(unsupported(
                connect_type,
                x,
                "neither `topics`/`topics.regex` (a sink) nor `topic.prefix`/`topic` (a source): alpaka cannot derive which topics it may use".into(),
            ));
        }
    }
    if let Some(history) = get("schema.history.internal.kafka.topic") {
        acls.allow(Resource::topic(history), OWN);
        let logical = get("topic.prefix").unwrap_or(x.name);
        let group = get("schema.history.internal.consumer.group.id")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{logical}-schemahistory"));
        acls.allow(Resource::group(&group), &[Op::Read, Op::Describe]);
        acls.allow(Resource::cluster(), &[Op::DescribeConfigs]);
    }
    if debezium && get("heartbeat.interval.ms").is_some_and(|v| v != "0") {
        let prefix = get("topic.heartbeat.prefix").unwrap_or("__debezium-heartbeat");
        acls.allow(Resource::topics(prefix), WRITE);
    }
    Ok(())
}

fn unsupported(connect_type: &str, x: &RenderedConnector<'_>, why: String) -> StackError {
    StackError::Unsupported(format!(
        "connector {} (connect {connect_type}): {why}",
        x.name
    ))
}

/// The part of a regex every match starts with (up to the first metacharacter; a literal
/// followed by `*`, `?` or `{` may be absent, so it is not part of it).
fn regex_literal_prefix(re: &str) -> String {
    let mut out = String::new();
    let mut chars = re.strip_prefix('^').unwrap_or(re).chars();
    while let Some(c) = chars.next() {
        let literal = match c {
            '\\' => match chars.next() {
                Some(n) if !n.is_alphanumeric() => n,
                _ => break,
            },
            '*' | '?' | '{' => {
                out.pop();
                break;
            }
            '.' | '+' | '(' | ')' | '[' | ']' | '|' | '$' | '^' => break,
            c => c,
        };
        out.push(literal);
    }
    out
}

/// ksqlDB with service id `alpaka_` (Confluent docs, "ksqlDB ACLs"): everything under
/// `_confluent-ksql-alpaka_` (its command topic `_confluent-ksql-alpaka__command_topic`, the
/// internal topics and consumer groups of its queries), the transactional id of its command
/// topic producer (the service id), its processing log `alpaka_ksql_processing_log`, describe
/// of the cluster's configs; and the topics its users' streams read and write
/// (`ksqldb.topics`). `alpaka test` reads its round-trip topic through ksqlDB.
pub fn ksqldb_acls(cfg: &StackConfig) -> Acls {
    let mut acls = Acls::default();
    let internal = format!("_confluent-ksql-{KSQLDB_SERVICE_ID}");
    acls.allow(
        Resource::topics(&internal),
        &[
            Op::Read,
            Op::Write,
            Op::Describe,
            Op::Create,
            Op::Delete,
            Op::DescribeConfigs,
        ],
    );
    acls.allow(
        Resource::groups(&internal),
        &[Op::Read, Op::Describe, Op::Delete],
    );
    acls.allow(
        Resource::named(
            ResourceType::TransactionalId,
            KSQLDB_SERVICE_ID,
            Pattern::Literal,
        ),
        &[Op::Write, Op::Describe],
    );
    acls.allow(
        Resource::topic(&format!("{KSQLDB_SERVICE_ID}ksql_processing_log")),
        OWN,
    );
    acls.allow(Resource::cluster(), &[Op::DescribeConfigs]);
    acls.allow(Resource::topics(TEST_PREFIX), READ);
    for t in &cfg.ksqldb.topics.read {
        acls.allow(Resource::user_topic(t), READ);
    }
    for t in &cfg.ksqldb.topics.write {
        acls.allow(Resource::user_topic(t), WRITE);
    }
    acls
}

/// kafbat UI, read-only whatever its own settings: list and describe everything, read
/// messages, see consumer groups; never write, create, delete or alter. Its message browser
/// consumes without committing (assign + seek), under group ids starting with `kafbat-ui`.
pub fn kafka_ui_acls() -> Acls {
    let mut acls = Acls::default();
    acls.allow(Resource::cluster(), &[Op::Describe, Op::DescribeConfigs]);
    acls.allow(
        Resource::topic("*"),
        &[Op::Read, Op::Describe, Op::DescribeConfigs],
    );
    acls.allow(Resource::group("*"), &[Op::Describe]);
    acls.allow(Resource::groups("kafbat-ui"), &[Op::Read]);
    acls
}

/// KMinion's end-to-end probe as configured: its topic and consumer group prefix, and whether
/// KMinion manages the topic itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KminionEndToEnd {
    pub topic: String,
    pub group_prefix: String,
    /// `topicManagement.enabled`: KMinion creates the topic and adds partitions itself;
    /// alpaka's default is off, with the topic a KafkaTopic alpaka makes.
    pub kminion_manages_topic: bool,
}

/// KMinion's default name for its end-to-end topic and group prefix (v2.3.0
/// `e2e/config_topic.go`, `config_consumer.go`).
pub const KMINION_E2E: &str = "kminion-end-to-end";

/// The probe (`kminion.endToEnd`, default on) with what the chart values change of it
/// (`kminion.config.minion.endToEnd`: KMinion v2.3.0 `e2e/config.go`). None when off.
pub fn kminion_end_to_end(cfg: &StackConfig) -> Option<KminionEndToEnd> {
    let e2e = cfg
        .kminion
        .chart_values
        .get("kminion")
        .and_then(|v| v.pointer("/config/minion/endToEnd"));
    let at = |p: &str| e2e.and_then(|e| e.pointer(p));
    let enabled = at("/enabled")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(cfg.kminion.end_to_end);
    if !enabled || !cfg.kminion.enabled || !cfg.kafka.enabled {
        return None;
    }
    let text = |p: &str| {
        at(p)
            .and_then(serde_json::Value::as_str)
            .unwrap_or(KMINION_E2E)
            .to_owned()
    };
    Some(KminionEndToEnd {
        topic: text("/topicManagement/name"),
        group_prefix: text("/consumer/groupIdPrefix"),
        kminion_manages_topic: at("/topicManagement/enabled")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
    })
}

/// KMinion: describe the cluster, its configs and log dirs, every topic and consumer group
/// (lag is computed from group offsets). Its end-to-end probe ([`kminion_end_to_end`])
/// produces to and consumes from its topic in groups named by its prefix (redpanda-data/kminion
/// v2.3.0 `e2e/producer.go`, `consumer.go`); only where the values hand the topic to KMinion does
/// it also create it (Create). Moving partitions would need Alter on the cluster, which alpaka
/// never grants.
pub fn kminion_acls(cfg: &StackConfig) -> Acls {
    let mut acls = Acls::default();
    acls.allow(Resource::cluster(), &[Op::Describe, Op::DescribeConfigs]);
    acls.allow(Resource::topic("*"), &[Op::Describe, Op::DescribeConfigs]);
    acls.allow(Resource::group("*"), &[Op::Describe]);
    if let Some(e) = kminion_end_to_end(cfg) {
        let ops: &[Op] = if e.kminion_manages_topic {
            OWN
        } else {
            &[Op::Read, Op::Write, Op::Describe]
        };
        acls.allow(Resource::topic(&e.topic), ops);
        // Delete only if the values turn on `consumer.deleteStaleConsumerGroups` (off by
        // default, v2.3.0 `e2e/config_consumer.go`).
        let stale = cfg
            .kminion
            .chart_values
            .get("kminion")
            .and_then(|v| v.pointer("/config/minion/endToEnd/consumer/deleteStaleConsumerGroups"))
            .and_then(serde_json::Value::as_bool)
            == Some(true);
        let group_ops: &[Op] = if stale {
            &[Op::Read, Op::Describe, Op::Delete]
        } else {
            &[Op::Read, Op::Describe]
        };
        acls.allow(Resource::groups(&e.group_prefix), group_ops);
    }
    acls
}

/// `alpaka test`'s kcat Jobs: their own `alpaka-test-<run>-…` topics and groups, and topic
/// names (metadata) so the Connect check can see the internal topics exist.
pub fn test_acls() -> Acls {
    let mut acls = Acls::default();
    acls.allow(
        Resource::topics(TEST_PREFIX),
        &[Op::Read, Op::Write, Op::Describe, Op::Create, Op::Delete],
    );
    acls.allow(
        Resource::groups(TEST_PREFIX),
        &[Op::Read, Op::Describe, Op::Delete],
    );
    acls.allow(Resource::topic("*"), &[Op::Describe]);
    acls
}

/// Every client of the configured stack, in a stable order.
pub fn clients(
    cfg: &StackConfig,
    connects: &[ConnectClients<'_>],
) -> Result<Vec<Client>, StackError> {
    let mut out = vec![Client {
        user: ADMIN_USER.into(),
        acls: None,
    }];
    out.push(Client {
        user: TEST_USER.into(),
        acls: Some(test_acls()),
    });
    for c in connects {
        out.push(Client {
            user: connect_user(c.connect_type),
            acls: Some(connect_acls(c)?),
        });
    }
    if cfg.ksqldb.enabled {
        out.push(Client {
            user: KSQLDB_USER.into(),
            acls: Some(ksqldb_acls(cfg)),
        });
    }
    if cfg.ui4kafka.enabled {
        out.push(Client {
            user: KAFKA_UI_USER.into(),
            acls: Some(kafka_ui_acls()),
        });
    }
    if cfg.kminion.enabled {
        out.push(Client {
            user: KMINION_USER.into(),
            acls: Some(kminion_acls(cfg)),
        });
    }
    Ok(out)
}

// ---- the KafkaUser resource ----

#[derive(Debug, Clone, Serialize)]
pub struct UserSpec {
    pub authentication: UserAuthentication,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<UserAuthorization>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UserAuthentication {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct UserAuthorization {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub acls: Vec<AclRule>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AclRule {
    pub resource: AclResource,
    pub operations: Vec<Op>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AclResource {
    #[serde(rename = "type")]
    pub kind: ResourceType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern_type: Option<Pattern>,
}

/// The KafkaUser of `client` in Kafka cluster `cluster`. A super user's has no `authorization`
/// (its rights come from the Kafka resource's `superUsers`).
pub fn kafka_user(
    client: &Client,
    cluster: &str,
    namespace: &str,
    mode: KafkaMode,
) -> Manifest<UserSpec> {
    let mut metadata = Metadata {
        name: client.user.clone(),
        namespace: namespace.to_owned(),
        ..Default::default()
    };
    metadata
        .labels
        .insert("strimzi.io/cluster".into(), cluster.to_owned());
    let authorization = client.acls.as_ref().map(|acls| UserAuthorization {
        kind: "simple",
        acls: acls
            .0
            .iter()
            .map(|(r, ops)| AclRule {
                resource: AclResource {
                    kind: r.kind,
                    name: r.name.clone(),
                    pattern_type: r.name.as_ref().map(|_| r.pattern),
                },
                operations: ops.iter().copied().collect(),
            })
            .collect(),
    });
    Manifest {
        api_version: match mode {
            KafkaMode::Kraft => API_VERSION,
            KafkaMode::Zookeeper => API_VERSION_LEGACY,
        },
        kind: "KafkaUser",
        metadata,
        spec: UserSpec {
            authentication: UserAuthentication {
                kind: "scram-sha-512",
            },
            authorization,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_sinks_topics_are_read_and_its_group_is_its_own() {
        let config = conf(&[("topics", "a, b"), ("topics.regex", "cdc\\.mydb\\..*")]);
        let c = ConnectClients {
            connect_type: "sinkcon",
            connectors: vec![RenderedConnector {
                name: "sinkcon-g-s3",
                class: "io.confluent.connect.s3.S3SinkConnector",
                config: &config,
            }],
            runs_tests: false,
        };
        let acls = connect_acls(&c).unwrap();
        for r in [
            Resource::topic("a"),
            Resource::topic("b"),
            Resource::topics("cdc.mydb."),
        ] {
            assert_eq!(
                acls.on(&r).unwrap().iter().copied().collect::<Vec<_>>(),
                vec![Op::Read, Op::Describe],
                "{r:?}"
            );
        }
        assert!(acls.on(&Resource::group("connect-sinkcon-g-s3")).is_some());
        assert!(acls.on(&Resource::group("connect-sinkcon")).is_some());
        assert!(
            acls.on(&Resource::topic("connect-sinkcon-offsets"))
                .is_some()
        );
        // Nothing to write but its internal topics.
        assert!(acls.0.iter().all(|(r, ops)| {
            !ops.contains(&Op::Write)
                || r.name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("connect-sinkcon-"))
        }));
    }

    #[test]
    fn a_connectors_topic_change_changes_its_connect_users_acls() {
        let before = conf(&[("topic.prefix", "log1")]);
        let after = conf(&[("topic.prefix", "audit")]);
        let acls = |config: &BTreeMap<String, String>| {
            connect_acls(&ConnectClients {
                connect_type: "srccon",
                connectors: vec![RenderedConnector {
                    name: "srccon-g-log1",
                    class: "io.confluent.connect.jdbc.JdbcSourceConnector",
                    config,
                }],
                runs_tests: false,
            })
            .unwrap()
        };
        let (a, b) = (acls(&before), acls(&after));
        assert!(
            a.on(&Resource::topics("log1"))
                .unwrap()
                .contains(&Op::Write)
        );
        assert!(a.on(&Resource::topics("audit")).is_none());
        assert!(
            b.on(&Resource::topics("audit"))
                .unwrap()
                .contains(&Op::Write)
        );
        assert!(b.on(&Resource::topics("log1")).is_none());
    }

    #[test]
    fn debezium_writes_its_logical_names_topics_and_owns_its_schema_history() {
        let config = conf(&[
            ("topic.prefix", "cdc"),
            (
                "schema.history.internal.kafka.topic",
                "cdc.schema-history.mydb",
            ),
        ]);
        let acls = connect_acls(&ConnectClients {
            connect_type: "srccon",
            connectors: vec![RenderedConnector {
                name: "srccon-mydb-cdc-changes",
                class: "io.debezium.connector.mysql.MySqlConnector",
                config: &config,
            }],
            runs_tests: false,
        })
        .unwrap();
        assert!(
            acls.on(&Resource::topic("cdc"))
                .unwrap()
                .contains(&Op::Write)
        );
        assert!(
            acls.on(&Resource::topics("cdc."))
                .unwrap()
                .contains(&Op::Write)
        );
        // Not `cdcother`: the prefix carries the dot.
        assert!(acls.on(&Resource::topics("cdc")).is_none());
        let history = acls
            .on(&Resource::topic("cdc.schema-history.mydb"))
            .unwrap();
        assert!(history.contains(&Op::Read) && history.contains(&Op::Create));
        assert!(acls.on(&Resource::group("cdc-schemahistory")).is_some());
    }

    #[test]
    fn a_connector_whose_topics_cannot_be_derived_is_refused_by_name() {
        let config = conf(&[("topics.regex", ".*")]);
        let err = connect_acls(&ConnectClients {
            connect_type: "sinkcon",
            connectors: vec![RenderedConnector {
                name: "sinkcon-g-all",
                class: "x.Sink",
                config: &config,
            }],
            runs_tests: false,
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("sinkcon-g-all") && err.contains("no literal prefix"),
            "{err}"
        );
        let config = conf(&[("query", "SELECT 1")]);
        let err = connect_acls(&ConnectClients {
            connect_type: "srccon",
            connectors: vec![RenderedConnector {
                name: "srccon-g-q",
                class: "x.Source",
                config: &config,
            }],
            runs_tests: false,
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("srccon-g-q"), "{err}");
    }

    #[test]
    fn regex_prefixes_stop_at_the_first_metacharacter() {
        assert_eq!(regex_literal_prefix("cdc\\.mydb\\..*"), "cdc.mydb.");
        assert_eq!(regex_literal_prefix("^orders-.*"), "orders-");
        assert_eq!(regex_literal_prefix("logs?"), "log");
        assert_eq!(regex_literal_prefix("(a|b)"), "");
        assert_eq!(regex_literal_prefix("\\d+"), "");
    }

    #[test]
    fn ksqldb_gets_its_service_ids_topics_and_the_configured_streams() {
        let mut cfg = StackConfig::default();
        cfg.ksqldb.topics.read = vec!["cdc.*".into(), "orders".into()];
        cfg.ksqldb.topics.write = vec!["ORDERS_ENRICHED".into()];
        let acls = ksqldb_acls(&cfg);
        assert!(
            acls.on(&Resource::topics("_confluent-ksql-alpaka_"))
                .is_some()
        );
        assert!(
            acls.on(&Resource::topic("alpaka_ksql_processing_log"))
                .is_some()
        );
        assert_eq!(
            acls.on(&Resource::topics("cdc."))
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            vec![Op::Read, Op::Describe]
        );
        assert!(acls.on(&Resource::topic("orders")).is_some());
        assert!(
            acls.on(&Resource::topic("ORDERS_ENRICHED"))
                .unwrap()
                .contains(&Op::Write)
        );
    }

    #[test]
    fn the_ui_never_writes_and_kminion_writes_only_its_probe_topic() {
        let mut cfg = StackConfig::default();
        let read_only = |acls: &Acls| {
            acls.0
                .values()
                .flatten()
                .all(|op| matches!(op, Op::Read | Op::Describe | Op::DescribeConfigs))
        };
        assert!(read_only(&kafka_ui_acls()));
        // The probe: produce and consume its own topic (made by alpaka: no Create), commit in
        // its own groups; nothing else written.
        let acls = kminion_acls(&cfg);
        let probe = Resource::topic(KMINION_E2E);
        assert_eq!(
            acls.on(&probe).unwrap(),
            &BTreeSet::from([Op::Read, Op::Write, Op::Describe])
        );
        assert!(
            acls.on(&Resource::groups(KMINION_E2E))
                .unwrap()
                .contains(&Op::Read)
        );
        let mut others = acls.clone();
        others.0.remove(&probe);
        others.0.remove(&Resource::groups(KMINION_E2E));
        assert!(read_only(&others));
        // Off: describe-only.
        cfg.kminion.end_to_end = false;
        assert!(read_only(&kminion_acls(&cfg)));
        assert!(kminion_acls(&cfg).on(&probe).is_none());
    }
}
