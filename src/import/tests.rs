use super::blocks::{self, component_of_host, listen_port, registers_connectors};
use super::connect::env_name;
use super::*;

fn tree(text: &str) -> Node {
    crate::config::yaml::parse(&std::sync::Arc::from(std::path::Path::new("v.yaml")), text).unwrap()
}

#[test]
fn small_rules() {
    assert_eq!(
        env_name(&["srccon", "mydb_log", "db.pass"]),
        "SRCCON_MYDB_LOG_DB_PASS"
    );
    assert_eq!(listen_port(r#"[{"HTTP": 3000}]"#), Some(3000));
    assert_eq!(listen_port(r#"[{"HTTPS": 443}, {"HTTP": 80}]"#), Some(443));
    assert_eq!(listen_port("nonsense"), None);
    let scripts = blocks::registration_scripts(&tree(
        "kafka_connect:\n  connects:\n  - type: srccon\n    connector_groups:\n    - name: mydb_log\n      connectors:\n      - name: log1\n",
    ));
    assert!(registers_connectors("my-alpaka-srccon-all.sh", &scripts));
    assert!(registers_connectors("srccon-mydb_log-log1.sh", &scripts));
    assert!(registers_connectors("./srccon-mydb_log-log1.sh", &scripts));
    // Not a connector of the file: the user's own, however many hyphens it has.
    assert!(!registers_connectors("srccon-mydb_log-log2.sh", &scripts));
    assert!(!registers_connectors("create-test-db.sh", &scripts));
    assert!(!registers_connectors("my-alpaka-sinkcon-all.sh", &scripts));
    assert!(!registers_connectors("init_database.sh", &scripts));
    assert!(!registers_connectors("mysql -u x -e 'a-b-c'", &scripts));
    assert_eq!(component_of_host("grafana.alpaka.wai"), Some("grafana"));
    assert_eq!(component_of_host("kafka-ui.example.com"), Some("ui4kafka"));
    assert_eq!(
        component_of_host("k8dashboard.alpaka.wai"),
        Some("k8dashboard")
    );
    assert_eq!(component_of_host("shop.example.com"), None);
}

#[test]
fn a_file_that_is_not_the_original_shape_is_a_located_error() {
    let d = convert(&tree("- a\n- b\n"), "x").unwrap_err();
    assert!(d.message.contains("found list"), "{d}");
    let d = convert(&tree("kafka: {}\n"), "x").unwrap_err();
    assert_eq!(d.path, "k8s_dist");
}

#[test]
fn minikube_cannot_carry_selectors_that_disagree() {
    let i = convert(
        &tree("k8s_dist: minikube\nkafka:\n  nodeSelector: {role: a}\ntool:\n  nodeSelector: {role: b}\n"),
        "x",
    )
    .unwrap();
    let text = serde_json::to_string(&i.config.0).unwrap();
    assert!(!text.contains("nodeSelector"), "{text}");
    assert!(i.report.iter().any(|l| l.to_string().contains("one node")));
}

#[test]
fn unknown_blocks_and_keys_are_reported_not_lost() {
    let i = convert(
        &tree("k8s_dist: k3s\nglobal:\n  imageRegistry: x\nkafka:\n  heapOpts: -Xmx1g\n"),
        "x",
    )
    .unwrap();
    // The user's lines (the chart's defaults report on line 0).
    let lines: Vec<String> = i
        .report
        .iter()
        .filter(|l| l.line != 0)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "line 2: global: dropped: not a block of the original alpaka chart",
            "line 5: kafka.heapOpts: dropped: bitnami/kafka chart key; alpaka runs Kafka with Strimzi",
        ]
    );
}

#[test]
fn replica_counts_go_where_the_new_stack_has_them() {
    let i = convert(
        &tree("k8s_dist: k3d\nksqldb:\n  replicaCount: 2\nui4kafka:\n  replicaCount: 2\nk8dashboard:\n  replicaCount: 2\n"),
        "x",
    )
    .unwrap();
    let cfg: std::collections::BTreeMap<_, _> = i.config.0.into_iter().collect();
    assert_eq!(cfg["ksqldb"]["replicaCount"], 2);
    assert_eq!(cfg["ui4kafka"]["chartValues"]["replicaCount"], 2);
    assert!(
        cfg.get("k8dashboard")
            .is_none_or(|d| d.get("replicaCount").is_none())
    );
    let lines: Vec<String> = i.report.iter().map(ToString::to_string).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("k8dashboard.replicaCount: dropped")),
        "{lines:?}"
    );
}

#[test]
fn the_recorded_chart_defaults_parse() {
    let d = effective::defaults();
    assert_eq!(
        d.get("ksqldb")
            .and_then(|k| k.get("enabled"))
            .map(Node::to_json),
        Some(serde_json::json!(false))
    );
    assert_eq!(
        d.get("kafka")
            .and_then(|k| k.get("logRetentionBytes"))
            .map(Node::to_json),
        Some(serde_json::json!(1_073_741_824))
    );
}

#[test]
fn values_merge_as_helm_merges_them() {
    let base = tree("a: {b: 1, c: [1, 2], d: {e: 1}}\nf: 1\n");
    let over = tree("a: {c: [3], d: {g: 2}}\nf: null\nh: 4\n");
    let m = effective::helm_merge(&base, &over).to_json();
    assert_eq!(
        m,
        serde_json::json!({"a": {"b": 1, "c": [3], "d": {"e": 1, "g": 2}}, "h": 4})
    );
}

fn cfg_of(i: &Imported) -> serde_json::Value {
    serde_json::Value::Object(i.config.0.iter().cloned().collect())
}

#[test]
fn a_silent_file_gets_what_the_original_deployed_and_a_report_of_it() {
    let i = convert(&tree("k8s_dist: minikube\n"), "x").unwrap();
    let cfg = cfg_of(&i);
    assert_eq!(cfg["ksqldb"]["enabled"], false);
    assert_eq!(cfg["kafka"]["config"]["log.retention.bytes"], 1_073_741_824);
    assert_eq!(cfg["kafka"]["storage"]["size"], "8Gi");
    assert_eq!(cfg["kafka"]["scrapeInterval"], "10s");
    assert_eq!(
        cfg["tool"]["dnsConfig"]["options"][0],
        serde_json::json!({"name": "ndots", "value": "2"})
    );
    assert_eq!(cfg["ui4kafka"]["tolerations"][0]["value"], "ctrl");
    // What equals alpaka's (and Kafka's) own defaults is not written.
    assert!(cfg["kafka"].get("numPartitions").is_none(), "{cfg}");
    assert!(cfg["kafka"]["config"].get("log.retention.hours").is_none());
    assert!(
        cfg.get("prometheus")
            .is_none_or(|p| p.get("retention").is_none())
    );
    let lines: Vec<String> = i.report.iter().map(ToString::to_string).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("chart default: kafka.logRetentionBytes")
                && l.contains("1073741824")
                && l.contains("-1")),
        "{lines:#?}"
    );
    // The user's own value wins over the chart's default, and is written even when it equals
    // alpaka's.
    let i = convert(
        &tree("k8s_dist: minikube\nksqldb: {enabled: true}\nkafka: {numPartitions: 8, persistence: {size: null}}\n"),
        "x",
    )
    .unwrap();
    let cfg = cfg_of(&i);
    assert_eq!(cfg["ksqldb"]["enabled"], true);
    assert_eq!(cfg["kafka"]["numPartitions"], 8);
    assert!(cfg["kafka"].get("storage").is_none(), "{cfg}");
}

#[test]
fn passwords_in_jdbc_urls_become_environment_references() {
    let i = convert(
        &tree(concat!(
            "k8s_dist: k3s\n",
            "kafka_connect:\n  connects:\n  - type: srccon\n",
            "    container: {image: myrepo/bitnami-kafka-connect, tag: '1'}\n",
            "    values:\n      mssql_url: 'jdbc:sqlserver://db:1433;databaseName=x;password=fake-url-pass-1'\n",
            "    connector_groups:\n    - name: g\n      common:\n",
            "        connection.url: 'jdbc:sqlserver://db:1433;databaseName=x;user=sa;password=fake-url-pass-2'\n",
            "      connectors:\n      - name: c\n        config:\n",
            "          connection.url: 'jdbc:mysql://db/x?user=u&password=fake-url-pass-3'\n",
        )),
        "x",
    )
    .unwrap();
    let text = serde_json::to_string(&i.config.0).unwrap();
    let report: Vec<String> = i.report.iter().map(ToString::to_string).collect();
    assert!(!text.contains("fake-url-pass"), "{text}");
    assert!(
        !format!("{report:?}").contains("fake-url-pass"),
        "{report:#?}"
    );
    let cfg = cfg_of(&i);
    let c = &cfg["kafka_connect"]["connects"][0];
    assert_eq!(c["values"]["mssql_url"]["fromEnv"], "SRCCON_MSSQL_URL");
    assert_eq!(
        c["connector_groups"][0]["common"]["connection.url"]["fromEnv"],
        "SRCCON_G_CONNECTION_URL"
    );
    assert_eq!(
        c["connector_groups"][0]["connectors"][0]["config"]["connection.url"]["fromEnv"],
        "SRCCON_G_C_CONNECTION_URL"
    );
    assert!(
        report
            .iter()
            .any(|l| l.contains("bitnami") && l.contains("images/")),
        "{report:#?}"
    );
}

#[test]
fn a_duplicate_key_takes_its_last_value_with_a_warning_naming_both_lines() {
    let file: std::sync::Arc<std::path::Path> =
        std::sync::Arc::from(std::path::Path::new("v.yaml"));
    let text = "k8s_dist: k3s\nloki:\n  enabled: true\n  retention_period: 24h\ngrafana: {}\nloki:\n  enabled: false\n";
    // alpaka's own files stay strict.
    assert!(crate::config::yaml::parse(&file, text).is_err());
    let (t, dups) = crate::config::yaml::parse_lenient(&file, text).unwrap();
    assert_eq!(dups.len(), 1);
    let i = convert_read(&t, &dups, "x").unwrap();
    let cfg = cfg_of(&i);
    assert_eq!(cfg["loki"]["enabled"], false);
    assert!(cfg["loki"].get("retention_period").is_none(), "{cfg}");
    let lines: Vec<String> = i.report.iter().map(ToString::to_string).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("line 6: loki: warning: duplicate key, also at line 2")),
        "{lines:#?}"
    );
    // The strict parser is left strict after a lenient parse on the same thread.
    assert!(crate::config::yaml::parse(&file, text).is_err());
}
