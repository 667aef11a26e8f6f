//! kafbat UI's chart values: the Kafka cluster it shows (with Connect and ksqlDB), read-only
//! unless `ui4kafka.readOnly: false`, and its sign-in (`ui4kafka.auth`): never kafbat's default
//! of no authentication with writable clusters.

use crate::engine::Value;
use crate::model::stack::{StackConfig, UiAuthType};

use super::charts::placement;
use super::platform::{Addresses, KAFKA_NAME};

pub fn kafka_ui(cfg: &StackConfig, addr: &Addresses) -> Value {
    let u = &cfg.ui4kafka;
    let [sel, tol] = placement(&u.node_selector, &u.tolerations);
    let connects = Value::List(
        cfg.kafka_connect
            .connects
            .iter()
            .filter(|_| cfg.kafka_connect.enabled)
            .map(|c| {
                let t = c.kind.as_str();
                Value::map([
                    ("name", Value::str(t)),
                    ("address", Value::str(addr.connect(t))),
                ])
            })
            .collect(),
    );
    let mut cluster = vec![
        ("name", Value::str(KAFKA_NAME)),
        ("bootstrapServers", Value::str(addr.bootstrap())),
        ("kafkaConnect", connects),
    ];
    if cfg.ksqldb.enabled {
        cluster.push(("ksqldbServer", Value::str(addr.ksqldb())));
    }
    // kafbat's default is `auth.type: DISABLED` with writable clusters (kafka-ui v1.5.0,
    // api/src/main/resources/application.yml; ClustersProperties.Cluster.readOnly = false):
    // anyone reaching the UI could produce, delete and purge topics and create connectors.
    cluster.push(("readOnly", Value::Bool(u.read_only)));
    let mut app = vec![(
        "kafka",
        Value::map([("clusters", Value::List(vec![Value::map(cluster)]))]),
    )];
    // The chart passes secrets to the container as env from a Secret key (`envs.secretMappings`,
    // kafbat/helm-charts charts/kafka-ui since 1.4.2, c61305f; same in 1.5.2, dea1b08).
    let mut secret_env = Vec::new();
    match u.auth.kind {
        UiAuthType::Login => {
            // LOGIN_FORM: Spring Security's single user (kafka-ui v1.5.0
            // BasicAuthSecurityConfig; documentation/compose/auth-context.yaml sets AUTH_TYPE
            // LOGIN_FORM and SPRING_SECURITY_USER_NAME/_PASSWORD).
            app.push(("auth", Value::map([("type", Value::str("LOGIN_FORM"))])));
            app.push((
                "spring",
                Value::map([(
                    "security",
                    Value::map([("user", Value::map([("name", Value::str(&u.auth.username))]))]),
                )]),
            ));
            secret_env.push((
                "SPRING_SECURITY_USER_PASSWORD",
                KAFKA_UI_LOGIN_SECRET,
                KAFKA_UI_PASSWORD_KEY.to_owned(),
            ));
        }
        UiAuthType::Oauth2 => {
            // kafka-ui v1.5.0 OAuthProperties (`auth.oauth2.client.<id>`): provider and
            // clientId must not be empty; the secret comes in through Spring's relaxed binding
            // of AUTH_OAUTH2_CLIENT_<ID>_CLIENTSECRET.
            let mut client = vec![("provider", Value::str(KAFKA_UI_OAUTH2_ID))];
            if let Some(o) = &u.auth.oauth2 {
                client.push(("clientId", Value::str(&o.client_id)));
                client.push(("issuerUri", Value::str(&o.issuer_uri)));
                client.push(("scope", super::strs(&o.scope)));
                if let Some(a) = &o.user_name_attribute {
                    client.push(("userNameAttribute", Value::str(a)));
                }
                secret_env.push((
                    "AUTH_OAUTH2_CLIENT_ALPAKA_CLIENTSECRET",
                    o.secret_name.as_str(),
                    o.secret_key.clone(),
                ));
            }
            app.push((
                "auth",
                Value::map([
                    ("type", Value::str("OAUTH2")),
                    (
                        "oauth2",
                        Value::map([(
                            "client",
                            Value::map([(KAFKA_UI_OAUTH2_ID, Value::map(client))]),
                        )]),
                    ),
                ]),
            ));
        }
        UiAuthType::Disabled => {
            app.push(("auth", Value::map([("type", Value::str("DISABLED"))])));
        }
    }
    let mut values = vec![("yamlApplicationConfig", Value::map(app)), sel, tol];
    if !secret_env.is_empty() {
        values.push((
            "envs",
            Value::map([(
                "secretMappings",
                Value::Map(
                    secret_env
                        .into_iter()
                        .map(|(env, secret, key)| {
                            (
                                env.to_owned(),
                                Value::map([
                                    ("name", Value::str(secret)),
                                    ("keyName", Value::str(key)),
                                ]),
                            )
                        })
                        .collect(),
                ),
            )]),
        ));
    }
    Value::map(values)
}

/// The Secret holding kafbat UI's login password (generated at first apply, never shown).
pub const KAFKA_UI_LOGIN_SECRET: &str = "kafka-ui-login";
pub const KAFKA_UI_PASSWORD_KEY: &str = "password";
/// The OAuth2 client registration id alpaka gives kafbat UI.
const KAFKA_UI_OAUTH2_ID: &str = "alpaka";

/// Whether kafbat UI, with these values as helm gets them, lets an anonymous visitor write:
/// `(anonymous, writable)`. kafbat's defaults are `DISABLED` and `readOnly: false`.
pub fn kafka_ui_access(values: &Value) -> (bool, bool) {
    let auth = values
        .get("yamlApplicationConfig.auth.type")
        .and_then(Value::as_str)
        .unwrap_or("DISABLED");
    let writable = match values.get("yamlApplicationConfig.kafka.clusters") {
        Some(Value::List(clusters)) => clusters
            .iter()
            .any(|c| c.get("readOnly").and_then(Value::as_bool) != Some(true)),
        _ => false,
    };
    (auth.eq_ignore_ascii_case("DISABLED"), writable)
}
