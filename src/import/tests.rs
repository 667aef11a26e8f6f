use super::blocks::{component_of_host, listen_port, registers_connectors};
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
    assert!(registers_connectors("my-alpaka-srccon-all.sh"));
    assert!(registers_connectors("srccon-mydb_log-log1.sh"));
    assert!(!registers_connectors("init_database.sh"));
    assert!(!registers_connectors("mysql -u x -e 'a-b-c'"));
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
    let lines: Vec<String> = i.report.iter().map(ToString::to_string).collect();
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
