//! The values the original chart really deployed with a user's file: its defaults
//! (`chart_defaults.yaml`, written from `shared/reference/seed-chart.md`, "Effective defaults
//! under a user's file") under the file, merged as helm merges values.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::config::yaml::{Kind, Node};

/// The recorded defaults, in the shape of a user's file.
const CHART_DEFAULTS: &str = include_str!("chart_defaults.yaml");

/// The name the defaults' nodes carry as their file: report lines from it say "chart default".
pub const DEFAULTS_FILE: &str = "<original chart 0.0.5 defaults>";

/// The defaults as a located tree (their origin is [`DEFAULTS_FILE`]).
pub fn defaults() -> Node {
    let file: Arc<Path> = Arc::from(Path::new(DEFAULTS_FILE));
    // The fixture is part of the binary and parsed by a test: an error here is a build defect,
    // and an empty tree (no defaults) is the safe fallback.
    crate::config::yaml::parse_lenient(&file, CHART_DEFAULTS)
        .map(|(n, _)| n)
        .unwrap_or_else(|_| Node::empty_map(file))
}

/// `over` merged onto `base` as helm coalesces values (`helm/pkg/chartutil/coalesce.go`,
/// `coalesceTablesFullKey`): mappings merge key by key, deeply; a list or a scalar replaces;
/// a `null` deletes the key. Every node keeps its own origin.
pub fn helm_merge(base: &Node, over: &Node) -> Node {
    match (&base.kind, &over.kind) {
        (Kind::Map(b), Kind::Map(o)) => {
            // The user's keys in the user's order (report lines follow the file), then what
            // only the defaults set.
            let mut entries: Vec<_> = Vec::new();
            for (ok, ov) in o {
                if matches!(ov.kind, Kind::Null) {
                    continue;
                }
                match b.iter().find(|(k, _)| k.name == ok.name) {
                    Some((_, bv)) => entries.push((ok.clone(), helm_merge(bv, ov))),
                    None => entries.push((ok.clone(), ov.clone())),
                }
            }
            for (k, bv) in b {
                if !o.iter().any(|(ok, _)| ok.name == k.name) {
                    entries.push((k.clone(), bv.clone()));
                }
            }
            Node {
                origin: over.origin.clone(),
                kind: Kind::Map(entries),
            }
        }
        _ => over.clone(),
    }
}

/// Apache Kafka's own broker defaults (Kafka 4.x documentation, "Broker Configs") for the
/// settings the original chart set: where the original's default equals Kafka's, the import
/// writes nothing.
pub const KAFKA_BROKER_DEFAULTS: &[(&str, i64)] = &[
    ("log.retention.hours", 168),
    ("log.retention.bytes", -1),
    ("log.segment.bytes", 1_073_741_824),
    ("log.retention.check.interval.ms", 300_000),
    ("message.max.bytes", 1_048_588),
];

/// What alpaka deploys for the config path `path` when the config is silent, if known.
pub fn alpaka_default(path: &[String]) -> Option<Json> {
    if let [kafka, config, setting] = path
        && kafka == "kafka"
        && config == "config"
    {
        if let Some((_, v)) = KAFKA_BROKER_DEFAULTS.iter().find(|(k, _)| k == setting) {
            return Some(Json::from(*v));
        }
        // Booleans Kafka (and alpaka, for delete.topic.enable) default to true.
        if matches!(
            setting.as_str(),
            "auto.create.topics.enable" | "delete.topic.enable"
        ) {
            return Some(Json::Bool(true));
        }
        return None;
    }
    let all = serde_json::to_value(crate::model::stack::StackConfig::default()).ok()?;
    path.iter().try_fold(&all, |v, k| v.get(k)).cloned()
}

/// bitnami's charts write large numbers as `"_1073741824"` (so helm does not turn them into
/// floats) and strip the `_` in their templates: the number it stands for.
pub fn bitnami_number(v: &Json) -> Json {
    match v {
        Json::String(s) => s
            .strip_prefix('_')
            .and_then(|d| d.parse::<i64>().ok())
            .map_or_else(|| v.clone(), Json::from),
        _ => v.clone(),
    }
}
