//! The ksqlDB environment alpaka sets, read the way the pinned `confluentinc/cp-ksqldb-server`
//! image reads it at start-up. ksqlDB takes its settings only from that environment, and the
//! image turns a misspelt variable into a property nobody reads, silently: this is the check.
//!
//! What the image does (confluentinc/ksql-images, tag v8.3.0 — the image tag alpaka pins —
//! `cp-ksqldb-server/include/etc/confluent/docker/server/`):
//! - `configure`: `ub ensure KSQL_BOOTSTRAP_SERVERS || ub ensure KSQL_KSQL_STREAMS_BOOTSTRAP_SERVERS`
//!   (one of them must be set); `KSQL_CONNECT_GROUP_ID` set turns on an embedded Connect worker;
//!   then renders `ksqldb-server.properties.template`.
//! - `ksqldb-server.properties.template`: `envToProps "KSQL_" "" nil nil nil`: every `KSQL_*`
//!   variable, prefix removed, through `ConvertKey`, becomes one `name=value` line.
//! - `ensure`: with `KSQL_SECURITY_PROTOCOL` set and not `PLAINTEXT`, `ub kafka-ready` checks the
//!   brokers with `--config` the rendered properties file: the login must be in it.
//!
//! `ConvertKey` (confluentinc/common-docker, tag v8.3.0, `base-lite/ub/ub.go`, and its cases in
//! `ub_test.go`): a single underscore between two non-underscores becomes `.` (Go regexp
//! `[^_]_[^_]`, leftmost non-overlapping matches), then `___` becomes `-`, `__` becomes `_`, and
//! the whole is lower-cased. `envToProps` (same repository, commits 71173f73 and 20bba5f7,
//! `base-java/ub/ub.go`; the tool later moved to confluentinc/cp-docker-utils) applies it to the
//! name after the prefix.
//!
//! The property names ksqlDB and its clients read: ksqlDB's "Server configuration" reference
//! (docs.ksqldb.io, reference/server-configuration: `listeners`, `ksql.service.id`,
//! `ksql.internal.topic.replicas`, `ksql.sink.replicas`, `ksql.logging.processing.*`,
//! `ksql.streams.*` passed to Kafka Streams) and Apache Kafka's client configs
//! (`bootstrap.servers`, `security.protocol`, `sasl.mechanism`, `sasl.jaas.config`,
//! `ssl.truststore.type`, `ssl.truststore.location`), which ksqlDB passes to all its clients.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

/// `ConvertKey` of the image's `ub`, rewritten from its documented rules (module doc).
fn convert_key(key: &str) -> String {
    let b = key.as_bytes();
    let mut out: Vec<u8> = b.to_vec();
    let mut i = 0;
    // Leftmost, non-overlapping matches of `[^_]_[^_]`: after a match the search resumes past
    // its third character, so in `A_B_C` only the first underscore becomes a dot.
    while i + 2 < b.len() {
        if b[i] != b'_' && b[i + 1] == b'_' && b[i + 2] != b'_' {
            out[i + 1] = b'.';
            i += 3;
        } else {
            i += 1;
        }
    }
    String::from_utf8_lossy(&out)
        .replace("___", "-")
        .replace("__", "_")
        .to_lowercase()
}

/// What the image's template renders: property → the variable's value (or where it comes from).
fn env_to_props(env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    env.iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("KSQL_")
                .map(|rest| (convert_key(rest), v.clone()))
        })
        .collect()
}

/// The properties ksqlDB (or a Kafka client it configures) reads, per the references above.
fn known_property(name: &str) -> bool {
    const KSQL: &[&str] = &[
        "listeners",
        "bootstrap.servers",
        "ksql.service.id",
        "ksql.internal.topic.replicas",
        "ksql.sink.replicas",
        "ksql.logging.processing.topic.replication.factor",
        "ksql.logging.processing.topic.auto.create",
        "ksql.logging.processing.stream.auto.create",
        "ksql.logging.processing.topic.name",
        "ksql.logging.processing.stream.name",
        "ksql.streams.replication.factor",
        "ksql.streams.state.dir",
        "ksql.streams.num.stream.threads",
        "ksql.streams.auto.offset.reset",
    ];
    const CLIENT: &[&str] = &[
        "security.protocol",
        "sasl.mechanism",
        "sasl.jaas.config",
        "ssl.truststore.type",
        "ssl.truststore.location",
        "ssl.endpoint.identification.algorithm",
    ];
    KSQL.contains(&name) || CLIENT.contains(&name)
}

/// The ksqlDB container of a profile's plan: its environment (a `valueFrom` shown as
/// `<from secret NAME/KEY>`) and its volume mounts' paths; `None` where ksqlDB is off.
fn ksqldb_container(profile: &str) -> Option<(BTreeMap<String, String>, Vec<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let l = alpaka::config::load(root, profile).expect("the profile loads");
    let nodes = alpaka::stack::build(&l.profile_name, &l.profile, &l.config).expect("stack");
    let deployment = nodes
        .iter()
        .filter(|n| n.kind == "k8s.deployment")
        .map(|n| alpaka::providers::k8s::manifest::body(&n.desired).expect("a manifest"))
        .find(|m| m["metadata"]["name"] == "ksqldb");
    let Some(deployment) = deployment else {
        assert!(
            !l.config.ksqldb.enabled,
            "{profile}: ksqlDB on, but no Deployment"
        );
        return None;
    };
    let c = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert!(
        c["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("confluentinc/cp-ksqldb-server:8.3.0")),
        "this check reads the 8.3.0 image's scripts: {}",
        c["image"]
    );
    let env = c["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| {
            let name = e["name"].as_str().expect("name").to_owned();
            let value = match (&e["value"], &e["valueFrom"]["secretKeyRef"]) {
                (Json::String(v), _) => v.clone(),
                (_, Json::Object(r)) => format!("<from secret {}/{}>", r["name"], r["key"]),
                other => panic!("{name}: {other:?}"),
            };
            (name, value)
        })
        .collect();
    let mounts = c["volumeMounts"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m["mountPath"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Some((env, mounts))
}

#[test]
fn convert_key_matches_ubs_own_cases() {
    // ub_test.go at common-docker v8.3.0, TestConvertKey.
    for (env, prop) in [
        ("KEY_FOO", "key.foo"),
        ("KEY__UNDERSCORE", "key_underscore"),
        (
            "KEY_WITH__UNDERSCORE_AND__MORE",
            "key.with_underscore.and_more",
        ),
        ("KEY___DASH", "key-dash"),
        (
            "KEY_WITH___DASH_AND___MORE__UNDERSCORE",
            "key.with-dash.and-more_underscore",
        ),
    ] {
        assert_eq!(convert_key(env), prop, "{env}");
    }
}

#[test]
fn the_images_start_up_reads_every_variable_alpaka_sets_as_meant() {
    let mut checked = Vec::new();
    for profile in ["minikube", "k3d", "k3s", "eks-dev", "eks-prod"] {
        let Some((env, mounts)) = ksqldb_container(profile) else {
            continue;
        };
        checked.push(profile);
        // configure: the bootstrap variable it insists on; no embedded Connect.
        assert!(
            env.contains_key("KSQL_BOOTSTRAP_SERVERS")
                || env.contains_key("KSQL_KSQL_STREAMS_BOOTSTRAP_SERVERS"),
            "{profile}: configure's `ub ensure` would stop the container: {env:?}"
        );
        assert!(
            !env.contains_key("KSQL_CONNECT_GROUP_ID"),
            "{profile}: would start an embedded Connect"
        );
        // Every variable is the image's (KSQL_ prefix) and names a property ksqlDB reads.
        for name in env.keys() {
            assert!(
                name.starts_with("KSQL_"),
                "{profile}: {name} is not read by the image's start-up"
            );
        }
        let props = env_to_props(&env);
        let unknown: Vec<_> = props.keys().filter(|p| !known_property(p)).collect();
        assert!(
            unknown.is_empty(),
            "{profile}: properties ksqlDB does not read (a misspelt variable?): {unknown:?}"
        );
        // ensure: the protocol is not PLAINTEXT, so `kafka-ready --config` the rendered file must
        // log in: the whole SASL_SSL login is in it, the password by reference only.
        assert_eq!(props["security.protocol"], "SASL_SSL", "{profile}");
        assert_eq!(props["sasl.mechanism"], "SCRAM-SHA-512", "{profile}");
        assert!(
            props["sasl.jaas.config"].starts_with("<from secret "),
            "{profile}: {}",
            props["sasl.jaas.config"]
        );
        assert_eq!(props["ssl.truststore.type"], "PEM", "{profile}");
        let ca = &props["ssl.truststore.location"];
        assert!(
            mounts.iter().any(|m| ca.starts_with(m.as_str())),
            "{profile}: the truststore {ca} is in no volume mount {mounts:?}"
        );
        assert!(
            props["bootstrap.servers"].ends_with(":9093"),
            "{profile}: the TLS listener: {}",
            props["bootstrap.servers"]
        );
        assert_eq!(props["ksql.service.id"], "alpaka_", "{profile}");
    }
    assert!(
        checked.contains(&"k3d") && checked.contains(&"eks-prod"),
        "{checked:?}"
    );
}

#[test]
fn a_misspelt_variable_is_caught() {
    let env: BTreeMap<String, String> = [
        ("KSQL_BOOTSTRAP_SERVERS", "b:9093"),
        ("KSQL_KSQL_LOGGING_PROCESSING_TOPIC_AUTOCREATE", "true"),
        ("KSQL_SASL_JAAS__CONFIG", "x"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let props = env_to_props(&env);
    let unknown: Vec<_> = props.keys().filter(|p| !known_property(p)).collect();
    assert_eq!(
        unknown,
        [
            "ksql.logging.processing.topic.autocreate",
            "sasl.jaas_config"
        ]
    );
}
