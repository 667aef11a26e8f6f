//! A Kafka version change on a running Strimzi `Kafka`, in Strimzi's documented order (issue 22
//! item 7; the versions and the order are in `stack/kafka_versions.rs`, with their sources).
//!
//! The operator's release comes first by the graph (the Kafka waits for it). The Kafka then goes
//! in two steps when its KRaft metadata version rises: first the new `version` with the old
//! `metadataVersion` (the brokers roll; `ready` waits until `status.kafkaVersion` is the new
//! one), then, once everything that waits for the Kafka (Connect, with images built for the new
//! Kafka) has been applied, the new `metadataVersion` (waited for until
//! `status.kafkaMetadataVersion` is it). A change the metadata version does not allow is
//! refused at plan time, and so is any version change of a ZooKeeper-mode cluster.

use crate::engine::Value;
use crate::stack::kafka_versions::{self, Upgrade};

use super::kafka_listeners;

fn text<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    v.get(path).and_then(Value::as_str)
}

/// Strimzi 0.45's ZooKeeper-mode Kafka carries `spec.zookeeper`.
fn zookeeper(v: &Value) -> bool {
    v.get("spec.zookeeper").is_some()
}

/// The version change from `live` to `desired`, judged; `Ok(None)` when there is none.
fn judged(live: &Value, desired: &Value) -> Result<Option<Upgrade>, String> {
    let (Some(from), Some(to)) = (
        text(live, "spec.kafka.version"),
        text(desired, "spec.kafka.version"),
    ) else {
        return Ok(None);
    };
    if zookeeper(desired) || zookeeper(live) {
        if from == to {
            return Ok(None);
        }
        return Err(format!(
            "kafka.version {from} → {to}: alpaka does not change the Kafka version of a \
             ZooKeeper-mode cluster (Strimzi 0.45.1): Strimzi's ZooKeeper-based upgrade also \
             steps `inter.broker.protocol.version` through separate rolls, which alpaka does not \
             manage. Keep kafka.version {from}; Kafka 4 runs only in KRaft mode \
             (`kafka.mode: kraft`, a new cluster, or Strimzi's ZooKeeper-to-KRaft migration \
             done by hand)"
        ));
    }
    kafka_versions::upgrade(
        from,
        text(live, "spec.kafka.metadataVersion"),
        to,
        text(desired, "spec.kafka.metadataVersion"),
    )
}

/// Plan-time: the steps a version change takes, or why it cannot be made.
pub fn check(live: &Value, desired: &Value) -> Result<Option<String>, String> {
    Ok(judged(live, desired)?.map(|u| u.steps()))
}

/// Plan-time: a Kafka moving between ZooKeeper and KRaft mode would be replaced (another API
/// version: deleted and made anew, its data with it). Strimzi's way is its ZooKeeper-to-KRaft
/// migration, in Strimzi 0.45 only ("Strimzi 0.45 is the last minor Strimzi version with support
/// for ZooKeeper-based Apache Kafka clusters … migrate to KRaft … before upgrading to Strimzi
/// 0.46", 0.45.1 release notes; 0.46 removed the migration), which alpaka does not perform.
pub fn check_replace(live: &Value, desired: &Value) -> Result<(), String> {
    let name = text(live, "metadata.name").unwrap_or("the Kafka");
    match (zookeeper(live), zookeeper(desired)) {
        (true, false) => Err(format!(
            "kafka.mode zookeeper → kraft would delete Kafka {name} with its data and make a new \
             KRaft one: moving a cluster is Strimzi's ZooKeeper-to-KRaft migration (Strimzi \
             0.45's `strimzi.io/kraft: migration`, then `enabled`; removed in 0.46), which \
             alpaka does not perform. Keep `kafka.mode: zookeeper`, migrate by hand with \
             Strimzi 0.45.1 (its \"Migrating to KRaft mode\"), or start over with an empty \
             Kafka: `alpaka destroy`, then apply"
        )),
        (false, true) => Err(format!(
            "kafka.mode kraft → zookeeper would delete Kafka {name} with its data: a KRaft \
             cluster cannot go back to ZooKeeper (Strimzi has no such migration). Keep \
             `kafka.mode: kraft`"
        )),
        _ => Ok(()),
    }
}

/// `desired` with the metadata version the cluster uses now, when the change raises it (the
/// first of the two steps); `None` when one step does it all.
fn version_interim(live: &Value, desired: &Value) -> Option<(Value, String)> {
    let u = judged(live, desired).ok()??;
    if !u.raises_metadata() || u.from == u.to {
        // A metadata version raised alone (the second step left undone by a stopped run, or a
        // patch release): Strimzi's last step, nothing to wait for first.
        return None;
    }
    let mut bridge = desired.clone();
    let Value::Map(top) = &mut bridge else {
        return None;
    };
    let Some(Value::Map(spec)) = top.get_mut("spec") else {
        return None;
    };
    let Some(Value::Map(kafka)) = spec.get_mut("kafka") else {
        return None;
    };
    kafka.insert(
        "metadataVersion".into(),
        Value::str(u.from_metadata.clone()),
    );
    let note = format!(
        "in two steps: Kafka {} with metadata version {} first, then {}",
        u.to, u.from_metadata, u.to_metadata
    );
    Some((bridge, note))
}

/// The Kafka's two-step updates: listeners its clients move off (kafka_listeners.rs) and a
/// version upgrade that raises the metadata version, together when both happen at once.
pub fn interim(live: &Value, desired: &Value) -> Option<(Value, String)> {
    let listeners = kafka_listeners::interim(live, desired);
    let base = listeners.as_ref().map_or(desired, |(v, _)| v);
    match (listeners.as_ref(), version_interim(live, base)) {
        (None, None) => None,
        (Some(l), None) => Some(l.clone()),
        (None, Some(v)) => Some(v),
        (Some((_, ln)), Some((v, vn))) => Some((v, format!("{ln}; {vn}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kafka(version: &str, metadata: Option<&str>) -> Value {
        let mut k = vec![
            ("version", Value::str(version)),
            (
                "listeners",
                Value::List(vec![Value::map([
                    ("name", Value::str("tls")),
                    ("port", Value::Int(9093)),
                ])]),
            ),
        ];
        if let Some(m) = metadata {
            k.push(("metadataVersion", Value::str(m)));
        }
        Value::map([("spec", Value::map([("kafka", Value::map(k))]))])
    }

    #[test]
    fn a_minor_upgrade_keeps_the_old_metadata_version_in_its_first_step() {
        // Recorded by an alpaka that did not set metadataVersion: the old version's default.
        let live = kafka("4.2.1", None);
        let desired = kafka("4.3.1", Some("4.3-IV0"));
        let note = check(&live, &desired).unwrap().unwrap();
        assert!(note.contains("Kafka 4.2.1 → 4.3.1"), "{note}");
        let (bridge, why) = interim(&live, &desired).unwrap();
        assert_eq!(text(&bridge, "spec.kafka.version"), Some("4.3.1"));
        assert_eq!(text(&bridge, "spec.kafka.metadataVersion"), Some("4.2-IV1"));
        assert!(
            why.contains("metadata version 4.2-IV1 first, then 4.3-IV0"),
            "{why}"
        );
    }

    #[test]
    fn the_second_step_alone_and_a_patch_upgrade_are_one_step() {
        // A run stopped between the halves: the brokers already run 4.3.1.
        let live = kafka("4.3.1", Some("4.2-IV1"));
        let desired = kafka("4.3.1", Some("4.3-IV0"));
        assert!(interim(&live, &desired).is_none());
        assert!(
            check(&live, &desired)
                .unwrap()
                .unwrap()
                .contains("metadata version")
        );
        assert!(interim(&kafka("4.3.0", None), &kafka("4.3.1", Some("4.3-IV0"))).is_none());
        assert_eq!(check(&desired, &desired), Ok(None));
    }

    #[test]
    fn a_downgrade_below_the_metadata_version_is_refused() {
        let e = check(
            &kafka("4.3.1", Some("4.3-IV0")),
            &kafka("4.2.1", Some("4.2-IV1")),
        );
        assert!(e.unwrap_err().contains("metadata version downgrades"));
        assert!(check(&kafka("4.3.1", None), &kafka("4.3.0", Some("4.3-IV0"))).is_ok());
    }

    #[test]
    fn a_zookeeper_clusters_version_change_is_refused_clearly() {
        let zk = |v: &str| {
            let Value::Map(mut m) = kafka(v, None) else {
                unreachable!()
            };
            if let Some(Value::Map(spec)) = m.get_mut("spec") {
                spec.insert(
                    "zookeeper".into(),
                    Value::map([("replicas", Value::Int(1))]),
                );
            }
            Value::Map(m)
        };
        let e = check(&zk("3.9.0"), &zk("3.9.1")).unwrap_err();
        assert!(e.contains("ZooKeeper-mode"), "{e}");
        assert!(e.contains("inter.broker.protocol.version"), "{e}");
        assert_eq!(check(&zk("3.9.0"), &zk("3.9.0")), Ok(None));
        assert!(interim(&zk("3.9.0"), &zk("3.9.1")).is_none());
    }

    #[test]
    fn moving_between_zookeeper_and_kraft_is_refused_not_replaced() {
        let kraft = kafka("4.3.1", Some("4.3-IV0"));
        let Value::Map(mut m) = kafka("3.9.0", None) else {
            unreachable!()
        };
        if let Some(Value::Map(spec)) = m.get_mut("spec") {
            spec.insert(
                "zookeeper".into(),
                Value::map([("replicas", Value::Int(1))]),
            );
        }
        let zk = Value::Map(m);
        assert!(
            check_replace(&zk, &kraft)
                .unwrap_err()
                .contains("ZooKeeper-to-KRaft migration")
        );
        assert!(
            check_replace(&kraft, &zk)
                .unwrap_err()
                .contains("cannot go back")
        );
        assert_eq!(check_replace(&kraft, &kraft), Ok(()));
    }

    #[test]
    fn a_listener_move_and_an_upgrade_bridge_together() {
        let live = kafka("4.2.1", None);
        let Value::Map(mut live_m) = live else {
            unreachable!()
        };
        if let Some(Value::Map(spec)) = live_m.get_mut("spec")
            && let Some(Value::Map(k)) = spec.get_mut("kafka")
            && let Some(Value::List(l)) = k.get_mut("listeners")
        {
            l.push(Value::map([
                ("name", Value::str("plain")),
                ("port", Value::Int(9092)),
            ]));
        }
        let live = Value::Map(live_m);
        let (bridge, why) = interim(&live, &kafka("4.3.1", Some("4.3-IV0"))).unwrap();
        assert_eq!(text(&bridge, "spec.kafka.metadataVersion"), Some("4.2-IV1"));
        let Some(Value::List(l)) = bridge.get("spec.kafka.listeners") else {
            panic!()
        };
        assert_eq!(l.len(), 2);
        assert!(
            why.contains("listener `plain`") && why.contains("metadata version"),
            "{why}"
        );
    }
}
