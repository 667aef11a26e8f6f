//! Judging evidence: the result line of a test Job's log and the replies of the Connect,
//! ksqlDB and Prometheus REST APIs. Pure; each function says what was wrong in words a person
//! can act on.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::plan::TargetGroup;
use crate::stack::testkit::{RESULT_MARK, TOPICS_MARK};

/// `key=value` pairs of the last `ALPAKA-RESULT` line of a Job's log.
pub fn job_result(log: &str) -> Option<BTreeMap<String, String>> {
    let line = log
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(RESULT_MARK))?;
    Some(
        line.split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

/// The topics the round-trip Job listed (`ALPAKA-TOPICS a b …`), if it listed them.
pub fn listed_topics(log: &str) -> Option<Vec<String>> {
    let line = log
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(TOPICS_MARK))?;
    Some(line.split_whitespace().map(str::to_owned).collect())
}

/// A number from a result line.
pub fn result_count(r: &BTreeMap<String, String>, key: &str) -> Option<u64> {
    r.get(key).and_then(|v| v.parse().ok())
}

fn parse(body: &str, what: &str) -> Result<Json, String> {
    serde_json::from_str(body).map_err(|e| format!("{what} is not JSON ({e}): {}", snippet(body)))
}

/// At most 300 characters of a body, on one line.
pub fn snippet(body: &str) -> String {
    let one: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 300 {
        format!("{}…", one.chars().take(300).collect::<String>())
    } else {
        one
    }
}

/// `GET /connector-plugins` (`[{"class", "type", "version"}]`): which expected classes are
/// missing, or the installed list.
pub fn plugins(body: &str, expected: &BTreeSet<String>) -> Result<Vec<String>, String> {
    let v = parse(body, "the plugin list")?;
    let installed: Vec<String> = v
        .as_array()
        .ok_or_else(|| format!("the plugin list is not a JSON array: {}", snippet(body)))?
        .iter()
        .filter_map(|p| p["class"].as_str().map(str::to_owned))
        .collect();
    let missing: Vec<&String> = expected.iter().filter(|c| !installed.contains(c)).collect();
    if missing.is_empty() {
        Ok(installed)
    } else {
        Err(format!(
            "missing plugin{} {} (the workers have: {})",
            if missing.len() == 1 { "" } else { "s" },
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if installed.is_empty() {
                "none".to_owned()
            } else {
                installed.join(", ")
            }
        ))
    }
}

/// `GET /connectors/NAME/status`: the connector's and tasks' states, with the first line of
/// any trace.
pub fn connector_status(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Json>(body) else {
        return snippet(body);
    };
    let mut parts = vec![format!(
        "connector {}",
        v["connector"]["state"].as_str().unwrap_or("?")
    )];
    for t in v["tasks"].as_array().into_iter().flatten() {
        let mut s = format!(
            "task {} {}",
            t["id"].as_i64().unwrap_or(-1),
            t["state"].as_str().unwrap_or("?")
        );
        if let Some(trace) = t["trace"].as_str().and_then(|tr| tr.lines().next()) {
            s.push_str(": ");
            s.push_str(trace);
        }
        parts.push(s);
    }
    if let Some(msg) = v["message"].as_str() {
        parts.push(msg.to_owned());
    }
    parts.join("; ")
}

/// ksqlDB's error reply (`{"@type": "statement_error", "message": …}`) or the body.
pub fn ksql_error(status: u16, body: &str) -> String {
    let msg = serde_json::from_str::<Json>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| snippet(body));
    format!("HTTP {status}: {msg}")
}

/// `SHOW TOPICS;` → how many topics, or why not; `must_list` must be among them.
pub fn ksql_topics(body: &str, must_list: &str) -> Result<usize, String> {
    let v = parse(body, "the SHOW TOPICS reply")?;
    let entity = v
        .as_array()
        .and_then(|a| a.iter().find(|e| e["@type"] == "kafka_topics"))
        .ok_or_else(|| format!("no kafka_topics entity in {}", snippet(body)))?;
    let names: Vec<&str> = entity["topics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    if names.contains(&must_list) {
        Ok(names.len())
    } else {
        Err(format!(
            "SHOW TOPICS lists {} topics but not {must_list}",
            names.len()
        ))
    }
}

/// `CREATE STREAM …;` → `currentStatus` with `commandStatus.status` SUCCESS.
pub fn ksql_created(body: &str) -> Result<(), String> {
    let v = parse(body, "the CREATE STREAM reply")?;
    let status = v
        .as_array()
        .and_then(|a| a.first())
        .map(|e| &e["commandStatus"]);
    match status {
        Some(s) if s["status"] == "SUCCESS" => Ok(()),
        Some(s) if !s.is_null() => Err(format!(
            "CREATE STREAM: {} {}",
            s["status"].as_str().unwrap_or("?"),
            s["message"].as_str().unwrap_or("")
        )),
        _ => Err(format!("unexpected CREATE STREAM reply: {}", snippet(body))),
    }
}

/// `POST /query` → the rows' columns. The reply is a JSON array: a header, `row` objects, and
/// possibly a final message or an error entity.
pub fn ksql_rows(body: &str) -> Result<Vec<Vec<Json>>, String> {
    let v = parse(body, "the query reply")?;
    let items = v
        .as_array()
        .ok_or_else(|| format!("the query reply is not an array: {}", snippet(body)))?;
    if let Some(err) = items.iter().find_map(|i| i["errorMessage"].as_object()) {
        return Err(format!(
            "query error: {}",
            err.get("message").and_then(Json::as_str).unwrap_or("?")
        ));
    }
    Ok(items
        .iter()
        .filter_map(|i| i["row"]["columns"].as_array().cloned())
        .collect())
}

/// Prometheus `GET /api/v1/targets?state=active`: per group, how many targets are up.
pub struct TargetReport {
    pub ok: bool,
    pub summary: String,
    /// Targets not up, with their last error.
    pub problems: Vec<String>,
}

pub fn targets(body: &str, groups: &[TargetGroup]) -> Result<TargetReport, String> {
    let v = parse(body, "the targets reply")?;
    if v["status"] != "success" {
        return Err(format!("Prometheus answered {}", snippet(body)));
    }
    let active = v["data"]["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut ok = true;
    let mut parts = Vec::new();
    let mut problems = Vec::new();
    for g in groups {
        let mine: Vec<&Json> = active
            .iter()
            .filter(|t| {
                let pool = t["scrapePool"].as_str().unwrap_or("");
                let pod = t["labels"]["pod"].as_str().unwrap_or("");
                pool.starts_with(&g.pool_prefix)
                    && (g.pod_prefixes.is_empty()
                        || g.pod_prefixes.iter().any(|p| pod.starts_with(p.as_str())))
                    && !g
                        .not_pod_prefixes
                        .iter()
                        .any(|p| pod.starts_with(p.as_str()))
            })
            .collect();
        let up = mine.iter().filter(|t| t["health"] == "up").count();
        if mine.is_empty() || up < mine.len() {
            ok = false;
        }
        parts.push(format!("{} {up}/{} up", g.label, mine.len()));
        if mine.is_empty() {
            problems.push(format!(
                "{}: no target in a scrape pool {}*",
                g.label, g.pool_prefix
            ));
        }
        for t in mine.iter().filter(|t| t["health"] != "up") {
            problems.push(format!(
                "{}: {} {} {}",
                g.label,
                t["scrapeUrl"].as_str().unwrap_or("?"),
                t["health"].as_str().unwrap_or("?"),
                t["lastError"].as_str().unwrap_or("")
            ));
        }
    }
    Ok(TargetReport {
        ok,
        summary: parts.join(", "),
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_result_line_wins_and_noise_is_ignored() {
        let log = "producing\nALPAKA-RESULT sent=1 received=0\nkcat: warning\nALPAKA-RESULT sent=10 received=10 match=yes\n";
        let r = job_result(log).unwrap();
        assert_eq!(result_count(&r, "received"), Some(10));
        assert_eq!(r["match"], "yes");
        assert!(job_result("no result here").is_none());
    }

    #[test]
    fn plugins_name_what_is_missing_and_what_is_there() {
        let body = r#"[{"class":"org.apache.kafka.connect.mirror.MirrorSourceConnector","type":"source","version":"4.3.1"}]"#;
        let exp: BTreeSet<String> =
            ["io.confluent.connect.jdbc.JdbcSourceConnector".to_owned()].into();
        let e = plugins(body, &exp).unwrap_err();
        assert!(
            e.contains("missing plugin io.confluent.connect.jdbc.JdbcSourceConnector"),
            "{e}"
        );
        assert!(e.contains("MirrorSourceConnector"), "{e}");
        assert!(plugins(body, &BTreeSet::new()).is_ok());
        assert!(plugins("<html>", &exp).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn ksql_replies_are_judged_by_their_documented_shapes() {
        let show = r#"[{"@type":"kafka_topics","statementText":"SHOW TOPICS;","topics":[{"name":"a","replicaInfo":[1]},{"name":"t","replicaInfo":[1]}],"warnings":[]}]"#;
        assert_eq!(ksql_topics(show, "t"), Ok(2));
        assert!(ksql_topics(show, "zz").is_err());
        let created = r#"[{"@type":"currentStatus","statementText":"CREATE STREAM …","commandId":"stream/X/create","commandStatus":{"status":"SUCCESS","message":"Stream created"},"commandSequenceNumber":2,"warnings":[]}]"#;
        assert!(ksql_created(created).is_ok());
        assert!(
            ksql_created(r#"[{"commandStatus":{"status":"ERROR","message":"boom"}}]"#).is_err()
        );
        let rows = r#"[{"header":{"queryId":"q1","schema":"`ID` INTEGER, `NAME` STRING"}},{"row":{"columns":[1,"a"]}},{"row":{"columns":[2,"b"]}},{"row":{"columns":[3,"c"]}},{"finalMessage":"Limit Reached"}]"#;
        assert_eq!(ksql_rows(rows).unwrap().len(), 3);
        assert!(
            ksql_error(400, r#"{"@type":"statement_error","error_code":40001,"message":"Kafka topic does not exist: x"}"#)
                .contains("Kafka topic does not exist")
        );
    }

    #[test]
    fn targets_count_per_group_and_name_the_down_ones() {
        let groups = vec![
            TargetGroup {
                label: "Kafka".into(),
                pool_prefix: "podMonitor/alpaka/strimzi-kafka/".into(),
                pod_prefixes: vec!["alpaka-".into()],
                not_pod_prefixes: vec!["srccon-connect-".into()],
            },
            TargetGroup {
                label: "Connect".into(),
                pool_prefix: "podMonitor/alpaka/strimzi-kafka/".into(),
                pod_prefixes: vec!["srccon-connect-".into()],
                not_pod_prefixes: vec![],
            },
            TargetGroup {
                label: "KMinion".into(),
                pool_prefix: "serviceMonitor/alpaka/kminion/".into(),
                pod_prefixes: vec![],
                not_pod_prefixes: vec![],
            },
        ];
        let t = |pool: &str, pod: &str, health: &str| {
            serde_json::json!({"scrapePool": pool, "labels": {"pod": pod}, "health": health,
                               "scrapeUrl": format!("http://{pod}:9404/metrics"), "lastError": if health == "up" {""} else {"connection refused"}})
        };
        let body = serde_json::json!({"status": "success", "data": {"activeTargets": [
            t("podMonitor/alpaka/strimzi-kafka/0", "alpaka-broker-0", "up"),
            t("podMonitor/alpaka/strimzi-kafka/0", "alpaka-controller-1", "up"),
            t("podMonitor/alpaka/strimzi-kafka/0", "srccon-connect-0", "down"),
            t("serviceMonitor/alpaka/kminion/0", "kminion-7d9", "up"),
        ], "droppedTargets": []}})
        .to_string();
        let r = targets(&body, &groups).unwrap();
        assert!(!r.ok);
        assert_eq!(r.summary, "Kafka 2/2 up, Connect 0/1 up, KMinion 1/1 up");
        assert!(
            r.problems[0].contains("connection refused"),
            "{:?}",
            r.problems
        );
        let none =
            serde_json::json!({"status": "success", "data": {"activeTargets": []}}).to_string();
        let r = targets(&none, &groups).unwrap();
        assert!(!r.ok);
        assert!(r.problems[0].contains("no target"));
    }
}
