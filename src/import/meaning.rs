//! What keeps its key but changes meaning on import: names, groups, internal topics, service
//! ids, the ALB group, Kafka's access. One report line each, with the reason and the setting
//! that keeps the original's value where there is one.

use serde_json::json;

use super::Out;
use crate::config::yaml::Node;

pub(super) fn report(merged: &Node, out: &mut Out) {
    connects(merged, out);
    if out.get(&["ksqldb", "enabled"]) != Some(&json!(false)) {
        let line = merged
            .get("ksqldb")
            .and_then(|k| k.get("enabled"))
            .map_or(0, |n| out.line(n));
        out.note(
            line,
            "ksqldb",
            format!(
                "meaning changed: ksqlDB's service id is `{}` (internal topics `_confluent-ksql-{}…`, processing log `{}ksql_processing_log`); the original's streams, tables and persistent queries were registered under its own id and are not carried over: re-run their CREATE statements (alpaka's ksqlDB user may use exactly the topics in ksqldb.topics). No setting keeps the original's id",
                crate::stack::kafka_users::KSQLDB_SERVICE_ID,
                crate::stack::kafka_users::KSQLDB_SERVICE_ID,
                crate::stack::kafka_users::KSQLDB_SERVICE_ID,
            ),
        );
    }
    if let Some((line, key, group)) = out.alb_group.clone() {
        out.note(
            line,
            &key,
            format!(
                "meaning changed: the original's Ingresses joined ALB group `{group}`; alpaka's join group `alpaka` (one ALB for its UIs). To share the original's ALB, set `ingress.annotations: {{alb.ingress.kubernetes.io/group.name: {group}}}` (yours wins; validate warns)"
            ),
        );
    }
    if merged
        .get("kafka")
        .and_then(|k| k.get("allowEveryoneIfNoAclFound"))
        .is_some_and(|n| n.to_json() == json!(true))
    {
        let line = merged
            .get("kafka")
            .and_then(|k| k.get("allowEveryoneIfNoAclFound"))
            .map_or(0, |n| out.line(n));
        out.note(
            line,
            "kafka.allowEveryoneIfNoAclFound",
            "meaning changed: the original's brokers had no authorizer and a plaintext listener on 9092 anyone could use; alpaka's listener is TLS on 9093 with SCRAM-SHA-512 logins and least-privilege ACLs per client (its own clients are wired for it). `kafka.security.plainListener: true` keeps an anonymous plaintext listener on 9092 for clients not yet moved (validate warns)",
        );
    }
}

/// Connect: the shared worker group and internal topics become per-type; connector names lose
/// the `.sh` suffix and become Kubernetes object names.
fn connects(merged: &Node, out: &mut Out) {
    let Some(list) = merged
        .get("kafka_connect")
        .and_then(|k| k.get("connects"))
        .filter(|_| out.get(&["kafka_connect", "enabled"]) != Some(&json!(false)))
    else {
        return;
    };
    let types: Vec<(u32, String)> = list
        .as_seq()
        .iter()
        .filter_map(|c| {
            let t = c.get("type")?;
            Some((out.line(t), t.as_str()?.to_owned()))
        })
        .collect();
    if let Some((line, _)) = types.first() {
        let per_type: Vec<String> = types
            .iter()
            .map(|(_, t)| {
                let topics = crate::stack::strimzi::connect_topics(t);
                format!("{t}: group `connect-{t}`, topics {}", topics.join(", "))
            })
            .collect();
        out.note(
            *line,
            "kafka_connect.connects",
            format!(
                "meaning changed: the original's Connect types all joined one worker group `connect-cluster` with the topics connect-offsets, connect-configs, connect-status; in alpaka each type is its own Connect cluster ({}), so workers with different plugins never share connectors. Source connectors' offsets were committed in connect-offsets under the old group: they start over unless set again (Connect's `PATCH /connectors/<name>/offsets`). No setting keeps the shared group. The original's offset.flush.interval.ms=10000 is Connect's default (60000) in alpaka",
                per_type.join("; ")
            ),
        );
    }
    for c in list.as_seq() {
        let Some(t) = c.get("type").and_then(Node::as_str) else {
            continue;
        };
        for g in c
            .get("connector_groups")
            .map(Node::as_seq)
            .unwrap_or_default()
        {
            let Some(group) = g.get("name").and_then(Node::as_str) else {
                continue;
            };
            for n in g.get("connectors").map(Node::as_seq).unwrap_or_default() {
                let Some(name_node) = n.get("name") else {
                    continue;
                };
                let Some(name) = name_node.as_str() else {
                    continue;
                };
                let Ok(new) = crate::stack::connectors::object_name(t, group, name) else {
                    continue;
                };
                let old = format!("{t}-{group}-{name}.sh");
                let line = out.line(name_node);
                out.note(
                    line,
                    &format!("kafka_connect.connects[{t}].connector_groups[{group}].connectors[{name}]"),
                    format!(
                        "meaning changed: the original registered this connector as `{old}` (its script's name, `.sh` kept by accident); alpaka's is `{new}` (a KafkaConnector, named as Kubernetes requires). Connect sees a new connector: a source connector's offsets start over unless moved. No setting keeps the old name"
                    ),
                );
            }
        }
    }
}
