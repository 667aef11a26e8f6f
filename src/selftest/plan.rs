//! Which checks a stack gets, with what expectations, and why the others are skipped. Pure.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::model::profile::{Cluster as ProfileCluster, Profile};
use crate::model::stack::{KafkaMode, StackConfig};
use crate::stack::connectors;
use crate::stack::platform::{
    self, CONNECT_PORT, GRAFANA_SERVICE, HEADLAMP_SERVICE, KAFKA_NAME, KAFKA_UI_SERVICE,
    PROMETHEUS_SERVICE,
};
use crate::stack::strimzi;
use crate::stack::testkit::{JDBC_SOURCE_CLASS, S3_SINK_CLASS};

/// One planned check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub name: String,
    pub check: Check,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Produce and consume on a fresh topic.
    Roundtrip,
    /// A Connect type's REST API answers and lists these plugin classes.
    Plugins {
        connect: String,
        expected: BTreeSet<String>,
    },
    /// A Connect type's internal topics exist in Kafka (its workers started and created them).
    ConnectTopics {
        connect: String,
        topics: Vec<String>,
    },
    /// MySQL `person` → JDBC source on `connect` → exactly the table's rows in a topic.
    Jdbc {
        connect: String,
    },
    /// SHOW TOPICS, CREATE STREAM, SELECT … LIMIT 3.
    Ksql,
    /// The round-trip topic through the S3 sink on `connect` into the run's prefix.
    S3 {
        connect: String,
        bucket: String,
        region: Option<String>,
    },
    Http(HttpCheck),
    /// Prometheus has up targets in each group.
    Targets(Vec<TargetGroup>),
    Skip(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    pub service: String,
    pub port: u16,
    pub path: String,
    /// What the body must contain, if anything beyond HTTP 200.
    pub expect: Option<String>,
}

/// Prometheus targets of one component: their scrape pool (the PodMonitor or ServiceMonitor
/// alpaka deploys) and pod-name prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    pub label: String,
    /// `podMonitor/<ns>/<name>/` or `serviceMonitor/<ns>/<name>/` (prometheus-operator names
    /// scrape pools `<kind>/<namespace>/<name>/<endpoint index>`).
    pub pool_prefix: String,
    /// Empty: every target of the pool.
    pub pod_prefixes: Vec<String>,
    /// Pod-name prefixes that are not this group (Connect pods share Kafka's PodMonitor).
    pub not_pod_prefixes: Vec<String>,
}

impl Check {
    /// How long the check may take unless `--timeout` says otherwise.
    pub fn default_timeout(&self) -> Duration {
        Duration::from_secs(match self {
            // Image pulls on a fresh node dominate.
            Check::Roundtrip => 240,
            Check::Plugins { .. } => 60,
            // Judged from the round trip's topic listing: nothing to wait for.
            Check::ConnectTopics { .. } => 5,
            // MySQL start and 10,000 rows through Connect.
            Check::Jdbc { .. } => 600,
            Check::Ksql => 120,
            Check::S3 { .. } => 300,
            Check::Http(_) => 60,
            // A fresh target is `unknown` until its first scrape.
            Check::Targets(_) => 120,
            Check::Skip(_) => 0,
        })
    }
}

/// The Connect type the JDBC check uses: `test.jdbcConnect`, else the first whose connectors
/// use the JDBC source.
pub fn jdbc_connect(ns: &str, cfg: &StackConfig) -> Option<String> {
    if let Some(t) = &cfg.test.jdbc_connect {
        return Some(t.as_str().to_owned());
    }
    cfg.kafka_connect
        .connects
        .iter()
        .find(|c| connector_classes(ns, c, &cfg.env).contains(JDBC_SOURCE_CLASS))
        .map(|c| c.kind.as_str().to_owned())
}

/// The connector classes a Connect type's configured connectors use (as rendered, so group
/// `common` blocks count).
fn connector_classes(
    ns: &str,
    c: &crate::model::stack::Connect,
    env: &crate::model::stack::EnvSnapshot,
) -> BTreeSet<String> {
    let builtins = platform::builtin_vars(ns);
    connectors::render_connect(&platform::connect_spec(c, env, &builtins))
        .map(|rs| {
            rs.into_iter()
                .filter_map(|r| {
                    r.config
                        .get("connector.class")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn plan(profile: &Profile, cfg: &StackConfig) -> Vec<Planned> {
    let ns = profile.namespace.as_str();
    let mut out = Vec::new();
    let mut add = |name: &str, check: Check| {
        out.push(Planned {
            name: name.to_owned(),
            check,
        })
    };
    let kafka_off = (!cfg.kafka.enabled).then(|| "kafka.enabled is false".to_owned());

    add(
        "kafka.roundtrip",
        kafka_off.clone().map_or(Check::Roundtrip, Check::Skip),
    );

    let connects = &cfg.kafka_connect.connects;
    let connect_off = kafka_off.clone().or_else(|| {
        if !cfg.kafka_connect.enabled {
            Some("kafka_connect.enabled is false".to_owned())
        } else if connects.is_empty() {
            Some("no Connect types in kafka_connect.connects".to_owned())
        } else {
            None
        }
    });
    let jdbc = jdbc_connect(profile.namespace.as_str(), cfg);
    let s3 = &cfg.test.s3sink;
    match &connect_off {
        Some(reason) => add("connect.plugins", Check::Skip(reason.clone())),
        None => {
            for c in connects {
                let t = c.kind.as_str();
                let mut expected = connector_classes(profile.namespace.as_str(), c, &cfg.env);
                if jdbc.as_deref() == Some(t) {
                    expected.insert(JDBC_SOURCE_CLASS.to_owned());
                }
                if s3.enabled && s3.connect.as_ref().map(|x| x.as_str()) == Some(t) {
                    expected.insert(S3_SINK_CLASS.to_owned());
                }
                add(
                    &format!("connect.{t}.plugins"),
                    Check::Plugins {
                        connect: t.to_owned(),
                        expected,
                    },
                );
                add(
                    &format!("connect.{t}.topics"),
                    Check::ConnectTopics {
                        connect: t.to_owned(),
                        topics: strimzi::connect_topics(t).to_vec(),
                    },
                );
            }
        }
    }

    add(
        "connect.jdbc-source",
        match (&connect_off, &jdbc) {
            (Some(r), _) => Check::Skip(r.clone()),
            (None, None) => Check::Skip(format!(
                "no Connect type uses {JDBC_SOURCE_CLASS}: name one in test.jdbcConnect"
            )),
            (None, Some(t)) => Check::Jdbc { connect: t.clone() },
        },
    );

    add(
        "ksqldb.statements",
        match &kafka_off {
            Some(r) => Check::Skip(r.clone()),
            None if !cfg.ksqldb.enabled => Check::Skip("ksqldb.enabled is false".into()),
            None => Check::Ksql,
        },
    );

    add(
        "s3.sink",
        if !s3.enabled {
            Check::Skip("optional: enable it with test.s3sink (bucket, connect)".into())
        } else if let Some(r) = &connect_off {
            Check::Skip(r.clone())
        } else {
            match (&s3.bucket, &s3.connect) {
                (Some(bucket), Some(connect)) => Check::S3 {
                    connect: connect.as_str().to_owned(),
                    bucket: bucket.clone(),
                    region: s3.region.clone().or_else(|| match profile.cluster() {
                        ProfileCluster::Eks(e) => Some(e.region),
                        _ => None,
                    }),
                },
                _ => Check::Skip("test.s3sink needs both bucket and connect".into()),
            }
        },
    );

    let web = |enabled: bool, reason: &str, svc: (&str, u16), path: &str, expect: Option<&str>| {
        if enabled {
            Check::Http(HttpCheck {
                service: svc.0.to_owned(),
                port: svc.1,
                path: path.to_owned(),
                expect: expect.map(str::to_owned),
            })
        } else {
            Check::Skip(reason.to_owned())
        }
    };
    add(
        "http.grafana",
        web(
            cfg.grafana.enabled,
            "grafana.enabled is false",
            GRAFANA_SERVICE,
            "/api/health",
            Some("\"database\""),
        ),
    );
    add(
        "http.prometheus",
        web(
            cfg.prometheus.enabled,
            "prometheus.enabled is false",
            PROMETHEUS_SERVICE,
            "/-/ready",
            None,
        ),
    );
    add(
        "http.ui4kafka",
        match &kafka_off {
            Some(_) if cfg.ui4kafka.enabled => Check::Skip(
                "UI for Kafka is deployed only with Kafka (kafka.enabled is false)".into(),
            ),
            _ => web(
                cfg.ui4kafka.enabled,
                "ui4kafka.enabled is false",
                KAFKA_UI_SERVICE,
                "/actuator/health",
                Some("UP"),
            ),
        },
    );
    add(
        "http.headlamp",
        web(
            cfg.k8dashboard.enabled,
            "k8dashboard.enabled is false",
            HEADLAMP_SERVICE,
            "/",
            None,
        ),
    );

    add("prometheus.targets", targets(ns, cfg));
    out
}

fn targets(ns: &str, cfg: &StackConfig) -> Check {
    if !cfg.prometheus.enabled {
        return Check::Skip("prometheus.enabled is false".into());
    }
    let mut groups = Vec::new();
    let connect_pods: Vec<String> = if cfg.kafka_connect.enabled {
        cfg.kafka_connect
            .connects
            .iter()
            .map(|c| format!("{}-connect-", c.kind.as_str()))
            .collect()
    } else {
        Vec::new()
    };
    // Strimzi metrics are configured only in KRaft mode (0.45 offers only the JMX exporter).
    if cfg.kafka.enabled && cfg.kafka.metrics && cfg.kafka.mode == KafkaMode::Kraft {
        let pool = format!("podMonitor/{ns}/strimzi-kafka/");
        groups.push(TargetGroup {
            label: "Kafka".into(),
            pool_prefix: pool.clone(),
            pod_prefixes: vec![format!("{KAFKA_NAME}-")],
            not_pod_prefixes: connect_pods.clone(),
        });
        if !connect_pods.is_empty() {
            groups.push(TargetGroup {
                label: "Connect".into(),
                pool_prefix: pool,
                pod_prefixes: connect_pods,
                not_pod_prefixes: Vec::new(),
            });
        }
    }
    if cfg.kminion.enabled && cfg.kafka.enabled {
        groups.push(TargetGroup {
            label: "KMinion".into(),
            pool_prefix: format!("serviceMonitor/{ns}/kminion/"),
            pod_prefixes: Vec::new(),
            not_pod_prefixes: Vec::new(),
        });
    }
    if groups.is_empty() {
        Check::Skip("no Kafka, Connect or KMinion metrics are configured".into())
    } else {
        Check::Targets(groups)
    }
}

/// The Connect REST Service of a type.
pub fn connect_rest(connect: &str) -> (String, u16) {
    (platform::connect_service(connect), CONNECT_PORT)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn shipped(profile: &str) -> (Profile, StackConfig) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let l = crate::config::load(root, profile).unwrap();
        (l.profile, l.config)
    }

    fn find<'a>(p: &'a [Planned], name: &str) -> &'a Check {
        &p.iter().find(|x| x.name == name).unwrap().check
    }

    #[test]
    fn the_default_stack_runs_every_check_but_the_optional_s3_one() {
        let (profile, cfg) = shipped("k3d");
        let p = plan(&profile, &cfg);
        let names: Vec<&str> = p.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "kafka.roundtrip",
                "connect.srccon.plugins",
                "connect.srccon.topics",
                "connect.jdbc-source",
                "ksqldb.statements",
                "s3.sink",
                "http.grafana",
                "http.prometheus",
                "http.ui4kafka",
                "http.headlamp",
                "prometheus.targets"
            ]
        );
        for x in &p {
            assert_eq!(
                matches!(x.check, Check::Skip(_)),
                x.name == "s3.sink",
                "{x:?}"
            );
        }
        assert_eq!(
            find(&p, "connect.jdbc-source"),
            &Check::Jdbc {
                connect: "srccon".into()
            }
        );
        let Check::Plugins { expected, .. } = find(&p, "connect.srccon.plugins") else {
            panic!()
        };
        assert!(expected.contains(JDBC_SOURCE_CLASS));
        let Check::Targets(groups) = find(&p, "prometheus.targets") else {
            panic!()
        };
        let labels: Vec<&str> = groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["Kafka", "Connect", "KMinion"]);
    }

    #[test]
    fn disabled_components_are_skipped_with_the_reason_never_waited_for() {
        let (profile, mut cfg) = shipped("minikube");
        cfg.ksqldb.enabled = false;
        cfg.grafana.enabled = false;
        cfg.k8dashboard.enabled = false;
        cfg.kafka_connect.enabled = false;
        let p = plan(&profile, &cfg);
        assert_eq!(
            find(&p, "ksqldb.statements"),
            &Check::Skip("ksqldb.enabled is false".into())
        );
        assert_eq!(
            find(&p, "http.grafana"),
            &Check::Skip("grafana.enabled is false".into())
        );
        assert_eq!(
            find(&p, "connect.plugins"),
            &Check::Skip("kafka_connect.enabled is false".into())
        );
        assert_eq!(
            find(&p, "connect.jdbc-source"),
            &Check::Skip("kafka_connect.enabled is false".into())
        );
        assert!(matches!(find(&p, "http.prometheus"), Check::Http(_)));

        cfg.kafka.enabled = false;
        let p = plan(&profile, &cfg);
        for name in ["kafka.roundtrip", "ksqldb.statements", "http.ui4kafka"] {
            assert!(matches!(find(&p, name), Check::Skip(_)), "{name}");
        }
        let Check::Targets(groups) = find(&p, "prometheus.targets") else {
            // KMinion needs Kafka too: nothing left to expect.
            assert_eq!(
                find(&p, "prometheus.targets"),
                &Check::Skip("no Kafka, Connect or KMinion metrics are configured".into())
            );
            return;
        };
        panic!("unexpected groups {groups:?}");
    }

    #[test]
    fn s3_takes_the_eks_region_and_adds_the_sink_plugin_to_its_connect() {
        let (profile, mut cfg) = shipped("eks-prod");
        let mut sink = cfg.kafka_connect.connects[0].clone();
        sink.kind = crate::model::types::DnsLabel::try_from("sinkcon").unwrap();
        sink.connector_groups.clear();
        cfg.kafka_connect.connects.push(sink);
        cfg.test.s3sink.enabled = true;
        cfg.test.s3sink.bucket = Some("b".into());
        cfg.test.s3sink.connect = Some(crate::model::types::DnsLabel::try_from("sinkcon").unwrap());
        let p = plan(&profile, &cfg);
        assert_eq!(
            find(&p, "s3.sink"),
            &Check::S3 {
                connect: "sinkcon".into(),
                bucket: "b".into(),
                region: Some("ap-northeast-2".into())
            }
        );
        let Check::Plugins { expected, .. } = find(&p, "connect.sinkcon.plugins") else {
            panic!()
        };
        assert_eq!(expected.iter().collect::<Vec<_>>(), [S3_SINK_CLASS]);
    }
}
