//! How alpaka's own Kafka clients reach the TLS + SCRAM-SHA-512 listener without a password
//! anywhere but in a Secret: the User Operator's Secret named after the user (keys `password`
//! and `sasl.jaas.config`) mounted read-only as files where the client can read a file (the tool
//! pod, the kcat Jobs: CIS 5.4.1 / checkov CKV_K8S_35 prefer files), as `secretKeyRef`
//! variables where the image takes its settings only from the environment (ksqlDB), the cluster CA
//! certificate mounted from `<cluster>-cluster-ca-cert` (key `ca.crt`) and read as a PEM trust
//! store (Kafka clients since 2.7, KIP-651). Connector configs reach the same Secrets through
//! Strimzi's Kubernetes Secret config provider. Pure.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, KeyToPath, SecretKeySelector, SecretVolumeSource, Volume, VolumeMount,
};

use super::strimzi;

/// Where the cluster CA certificate is mounted in alpaka's client pods.
pub const CA_DIR: &str = "/etc/alpaka/kafka-ca";
pub const CA_FILE: &str = "/etc/alpaka/kafka-ca/ca.crt";
const CA_VOLUME: &str = "kafka-cluster-ca";
/// Where the user's own Secret (`password`, `sasl.jaas.config`) is mounted.
pub const USER_DIR: &str = "/etc/alpaka/kafka-user";
const USER_VOLUME: &str = "kafka-user";
pub const SECURITY_PROTOCOL: &str = "SASL_SSL";
pub const SASL_MECHANISM: &str = "SCRAM-SHA-512";

/// An environment variable read from key `key` of Secret `secret`.
pub fn from_secret(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn plain(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        ..Default::default()
    }
}

/// The cluster CA Secret as a read-only volume holding `ca.crt` only.
pub fn ca_volume(cluster: &str) -> (Volume, VolumeMount) {
    (
        Volume {
            name: CA_VOLUME.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(strimzi::cluster_ca_secret(cluster)),
                items: Some(vec![KeyToPath {
                    key: "ca.crt".into(),
                    path: "ca.crt".into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        },
        VolumeMount {
            name: CA_VOLUME.into(),
            mount_path: CA_DIR.into(),
            read_only: Some(true),
            ..Default::default()
        },
    )
}

/// Secret `user` (the User Operator's) as a read-only volume holding its two keys, 0400.
pub fn user_volume(user: &str) -> (Volume, VolumeMount) {
    let key = |k: &str| KeyToPath {
        key: k.into(),
        path: k.into(),
        ..Default::default()
    };
    (
        Volume {
            name: USER_VOLUME.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(user.to_owned()),
                items: Some(vec![key("password"), key("sasl.jaas.config")]),
                default_mode: Some(0o400),
                ..Default::default()
            }),
            ..Default::default()
        },
        VolumeMount {
            name: USER_VOLUME.into(),
            mount_path: USER_DIR.into(),
            read_only: Some(true),
            ..Default::default()
        },
    )
}

/// Adds `env`, the CA volume and, for a client that reads its login from files, the Secret of
/// `user_files` to the first container of a Deployment alpaka built.
pub fn add_credentials(
    d: &mut Deployment,
    cluster: &str,
    env: Vec<EnvVar>,
    user_files: Option<&str>,
) {
    let mut mounts = vec![ca_volume(cluster)];
    mounts.extend(user_files.map(user_volume));
    let Some(pod) = d.spec.as_mut().and_then(|s| s.template.spec.as_mut()) else {
        return;
    };
    let (volumes, mounts): (Vec<_>, Vec<_>) = mounts.into_iter().unzip();
    pod.volumes.get_or_insert_with(Vec::new).extend(volumes);
    if let Some(c) = pod.containers.first_mut() {
        c.env.get_or_insert_with(Vec::new).extend(env);
        c.volume_mounts.get_or_insert_with(Vec::new).extend(mounts);
    }
}

/// ksqlDB: the cp-ksqldb-server image turns `KSQL_<NAME>` into server property `<name>`
/// (confluentinc/ksql-images v8.3.0 (the pinned image tag), `configure`), and ksqlDB passes the top-level
/// `security.protocol`, `sasl.*` and `ssl.*` properties to all its Kafka clients (Confluent
/// docs, "Configure Security for ksqlDB": "Configure ksqlDB for SASL").
pub fn ksqldb_env(user: &str) -> Vec<EnvVar> {
    vec![
        plain("KSQL_SECURITY_PROTOCOL", SECURITY_PROTOCOL),
        plain("KSQL_SASL_MECHANISM", SASL_MECHANISM),
        from_secret("KSQL_SASL_JAAS_CONFIG", user, "sasl.jaas.config"),
        plain("KSQL_SSL_TRUSTSTORE_TYPE", "PEM"),
        plain("KSQL_SSL_TRUSTSTORE_LOCATION", CA_FILE),
    ]
}

/// The tool pod and the kcat Jobs: what `kafka-*.sh --command-config` and kcat need, the
/// password and JAAS line as files of the mounted user Secret ([`user_volume`]), never as values
/// (`kcat -X sasl.password="$(cat "$KAFKA_SASL_PASSWORD_FILE")"`).
pub fn tool_env(user: &str) -> Vec<EnvVar> {
    vec![
        plain("KAFKA_SECURITY_PROTOCOL", SECURITY_PROTOCOL),
        plain("KAFKA_SASL_MECHANISM", SASL_MECHANISM),
        plain("KAFKA_SASL_USERNAME", user),
        plain("KAFKA_SASL_PASSWORD_FILE", &format!("{USER_DIR}/password")),
        plain(
            "KAFKA_SASL_JAAS_CONFIG_FILE",
            &format!("{USER_DIR}/sasl.jaas.config"),
        ),
        plain("KAFKA_CA_FILE", CA_FILE),
    ]
}

/// Debezium's schema history talks to Kafka with clients of its own, which inherit nothing
/// from the worker (Debezium docs, "Pass-through database schema history properties":
/// `schema.history.internal.producer.*` / `.consumer.*`). When a connector points them at
/// alpaka's Kafka, they get the Connect user's SCRAM login and the cluster CA through the
/// config provider (settings the user wrote themselves are kept). Returns whether the
/// connector now reads those Secrets.
pub fn secure_schema_history(
    config: &mut BTreeMap<String, String>,
    bootstrap: &str,
    ns: &str,
    user: &str,
    cluster: &str,
) -> bool {
    if config
        .get("schema.history.internal.kafka.bootstrap.servers")
        .map(String::as_str)
        != Some(bootstrap)
    {
        return false;
    }
    let jaas = format!("${{secrets:{ns}/{user}:sasl.jaas.config}}");
    let ca = format!(
        "${{secrets:{ns}/{}:ca.crt}}",
        strimzi::cluster_ca_secret(cluster)
    );
    for side in ["producer", "consumer"] {
        for (k, v) in [
            ("security.protocol", SECURITY_PROTOCOL),
            ("sasl.mechanism", SASL_MECHANISM),
            ("sasl.jaas.config", jaas.as_str()),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.certificates", ca.as_str()),
        ] {
            config
                .entry(format!("schema.history.internal.{side}.{k}"))
                .or_insert_with(|| v.to_owned());
        }
    }
    true
}

// ---- the charts' clients (kafbat UI, KMinion) ----

use crate::engine::Value;

/// Merges `upper` into `base`: lists extended, so values another part of alpaka generated for
/// the same chart stay.
fn merge(base: &mut Value, upper: Value) {
    base.merge(upper, crate::engine::Lists::Extend);
}

fn ca_volume_value(cluster: &str) -> (Value, Value) {
    let (v, m) = ca_volume(cluster);
    // Invariant: k8s-openapi structs with string keys always encode.
    let enc = |x: serde_json::Value| crate::engine::value::to_value(&x).unwrap_or(Value::Null);
    (
        enc(serde_json::to_value(v).unwrap_or_default()),
        enc(serde_json::to_value(m).unwrap_or_default()),
    )
}

/// kafbat UI as `user`: the cluster's client `properties` (SASL_SSL, SCRAM-SHA-512, the CA as a
/// PEM trust store) in `yamlApplicationConfig`, the JAAS line as a Spring placeholder resolved
/// from an environment variable the chart fills from the user's Secret
/// (`envs.secretMappings`: `{ENV: {name, keyName}}` → `valueFrom.secretKeyRef`), the CA through
/// `volumes`/`volumeMounts` (kafbat/helm-charts `charts/kafka-ui/templates/deployment.yaml`
/// @125f930, `values.yaml` @0061c17).
pub fn kafka_ui_values(values: &mut Value, cluster: &str, user: &str) {
    let properties = Value::map([
        ("security.protocol", Value::str(SECURITY_PROTOCOL)),
        ("sasl.mechanism", Value::str(SASL_MECHANISM)),
        ("sasl.jaas.config", Value::str("${KAFKA_SASL_JAAS_CONFIG}")),
        ("ssl.truststore.type", Value::str("PEM")),
        ("ssl.truststore.location", Value::str(CA_FILE)),
    ]);
    if let Value::Map(top) = values
        && let Some(Value::Map(app)) = top.get_mut("yamlApplicationConfig")
        && let Some(Value::Map(kafka)) = app.get_mut("kafka")
        && let Some(Value::List(clusters)) = kafka.get_mut("clusters")
        && let Some(first) = clusters.first_mut()
    {
        merge(first, Value::map([("properties", properties)]));
    }
    let (volume, mount) = ca_volume_value(cluster);
    merge(
        values,
        Value::map([
            (
                "envs",
                Value::map([(
                    "secretMappings",
                    Value::map([(
                        "KAFKA_SASL_JAAS_CONFIG",
                        Value::map([
                            ("name", Value::str(user)),
                            ("keyName", Value::str("sasl.jaas.config")),
                        ]),
                    )]),
                )]),
            ),
            ("volumes", Value::List(vec![volume])),
            ("volumeMounts", Value::List(vec![mount])),
        ]),
    );
}

/// KMinion as `user`: `kafka.sasl` and `kafka.tls` in its config; the password from the user's
/// Secret as `KAFKA_SASL_PASSWORD` (KMinion maps every environment variable onto its config,
/// `_` → `.`: redpanda-data/kminion `config.go`), through the chart's
/// `deployment.env.secretKeyRefs` (`{name, secretName, secretKey}`), and the CA Secret mounted
/// by `deployment.volumes.secrets` (`{secretName, mountPath}`) (redpanda-data/helm-charts
/// `charts/kminion/templates/deployment.yaml` @31b0055).
pub fn kminion_values(values: &mut Value, cluster: &str, user: &str) {
    merge(
        values,
        Value::map([
            (
                "kminion",
                Value::map([(
                    "config",
                    Value::map([(
                        "kafka",
                        Value::map([
                            (
                                "sasl",
                                Value::map([
                                    ("enabled", Value::Bool(true)),
                                    ("mechanism", Value::str(SASL_MECHANISM)),
                                    ("username", Value::str(user)),
                                ]),
                            ),
                            (
                                "tls",
                                Value::map([
                                    ("enabled", Value::Bool(true)),
                                    ("caFilepath", Value::str(CA_FILE)),
                                ]),
                            ),
                        ]),
                    )]),
                )]),
            ),
            (
                "deployment",
                Value::map([
                    (
                        "env",
                        Value::map([(
                            "secretKeyRefs",
                            Value::List(vec![Value::map([
                                ("name", Value::str("KAFKA_SASL_PASSWORD")),
                                ("secretName", Value::str(user)),
                                ("secretKey", Value::str("password")),
                            ])]),
                        )]),
                    ),
                    (
                        "volumes",
                        Value::map([(
                            "secrets",
                            Value::List(vec![Value::map([
                                (
                                    "secretName",
                                    Value::str(strimzi::cluster_ca_secret(cluster)),
                                ),
                                ("mountPath", Value::str(CA_DIR)),
                            ])]),
                        )]),
                    ),
                ]),
            ),
        ]),
    );
}
