//! Issue 25: every metric a built-in dashboard queries is one the platform really exports —
//! the Strimzi Metrics Reporter under the allow list alpaka's Kafka and Connect get, KMinion's
//! documented metrics, or the JVM collector's. The lists are in tests/fixtures/metrics/ with
//! their sources.

use std::collections::BTreeSet;
use std::path::Path;

use alpaka::engine::Value;
use alpaka::stack::dashboards::DASHBOARDS;

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/metrics")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .map(str::to_owned)
        .collect()
}

/// Metric names in a PromQL expression: identifiers that are not functions, aggregation
/// keywords, label names (inside `{}` or `by (...)`) or durations.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let strip = |s: &str, re: &str| {
        regex::Regex::new(re)
            .unwrap()
            .replace_all(s, " ")
            .into_owned()
    };
    let mut e = strip(expr, r#""[^"]*""#);
    e = strip(&e, r"\{[^}]*\}");
    e = strip(&e, r"\[[^\]]*\]");
    e = strip(
        &e,
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)",
    );
    let ident = regex::Regex::new(r"[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?").unwrap();
    let keywords = ["by", "without", "bool", "and", "or", "unless", "offset"];
    ident
        .captures_iter(&e)
        .filter(|c| c.get(1).is_none())
        .map(|c| c[0].trim().to_owned())
        .filter(|n| !keywords.contains(&n.as_str()))
        .collect()
}

fn exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                    ("query", serde_json::Value::Object(q)) => {
                        if let Some(s) = q.get("query").and_then(|s| s.as_str()) {
                            // label_values(<metric>, <label>)
                            if let Some(inner) = s.strip_prefix("label_values(") {
                                out.push(inner.split(',').next().unwrap_or("").to_owned());
                            }
                        }
                    }
                    _ => exprs(x, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|x| exprs(x, out)),
        _ => {}
    }
}

#[test]
fn the_parser_finds_metric_names_only() {
    let n = metric_names(
        r#"histogram_quantile(0.99, sum by (le, pod) (rate(a_bucket{ns="x", le!="1"}[5m]))) / on (pod) b_total"#,
    );
    assert_eq!(
        n,
        BTreeSet::from(["a_bucket".to_owned(), "b_total".to_owned()])
    );
}

#[test]
fn every_dashboard_query_names_an_exported_metric() {
    let allow: Vec<regex::Regex> = lines(&fixture("strimzi-reporter-allowlist.txt"))
        .iter()
        .map(|p| regex::Regex::new(&format!("^(?:{p})$")).unwrap())
        .collect();
    let reporter: BTreeSet<String> = lines(&fixture("strimzi-reporter-names.txt"))
        .into_iter()
        .collect();
    let kminion: BTreeSet<String> = lines(&fixture("kminion-metrics.txt")).into_iter().collect();
    let jvm: BTreeSet<String> = lines(&fixture("jvm-metrics.txt")).into_iter().collect();
    // Every reporter name listed passes the allow list alpaka's resources get.
    for name in &reporter {
        assert!(
            allow.iter().any(|r| r.is_match(name)),
            "{name}: not in Strimzi's default allow list"
        );
    }
    let mut checked = 0;
    for (dash, json) in DASHBOARDS {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let mut all = Vec::new();
        exprs(&v, &mut all);
        assert!(!all.is_empty(), "{dash}: no queries");
        for expr in all {
            let names = metric_names(&expr);
            assert!(!names.is_empty(), "{dash}: no metric in `{expr}`");
            for n in names {
                assert!(
                    reporter.contains(&n) || kminion.contains(&n) || jvm.contains(&n),
                    "{dash}: `{n}` (in `{expr}`) is not a metric the platform exports"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 30, "{checked}");
}

/// The allow list above applies only when alpaka sets none of its own: every `metricsConfig`
/// alpaka renders is the bare reporter.
#[test]
fn alpaka_sets_no_allow_list_of_its_own() {
    fn walk(v: &Value, found: &mut usize) {
        match v {
            Value::Map(m) => {
                if let Some(mc) = m.get("metricsConfig") {
                    *found += 1;
                    let keys: Vec<&String> = mc.as_map().unwrap().keys().collect();
                    assert_eq!(keys, ["type"], "{mc:?}");
                    assert_eq!(
                        mc.get("type").and_then(Value::as_str),
                        Some("strimziMetricsReporter")
                    );
                }
                m.values().for_each(|x| walk(x, found));
            }
            Value::List(items) => items.iter().for_each(|x| walk(x, found)),
            _ => {}
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = alpaka::config::load(root, "k3d").unwrap();
    let nodes =
        alpaka::stack::build(&loaded.profile_name, &loaded.profile, &loaded.config).unwrap();
    let mut found = 0;
    for n in &nodes {
        walk(&n.desired, &mut found);
    }
    assert!(found >= 2, "Kafka and Connect carry metricsConfig: {found}");
}

#[test]
fn the_dashboards_ship_as_sidecar_configmaps_when_grafana_is_on() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = alpaka::config::load(root, "k3d").unwrap();
    let nodes =
        alpaka::stack::build(&loaded.profile_name, &loaded.profile, &loaded.config).unwrap();
    let cms: Vec<_> = nodes
        .iter()
        .filter(|n| {
            n.id.to_string()
                .starts_with("k8s.configmap.alpaka-dashboard-")
        })
        .collect();
    assert_eq!(cms.len(), DASHBOARDS.len());
    for n in cms {
        assert_eq!(
            n.desired
                .get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(|l| l.get("grafana_dashboard"))
                .and_then(Value::as_str),
            Some("1")
        );
    }
}
