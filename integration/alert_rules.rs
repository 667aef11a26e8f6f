//! alpaka's alerting rules (`stack::alerting`) load in Prometheus's own rule loader: what
//! `promtool check rules` runs (rulefmt.ParseFile with promtool's parser options), from the real
//! Prometheus module (built from the Go module proxy by `integration/promtool/build.sh`, pinned
//! by its go.mod; `integration/promtool/main.go`). Fails, never skips, without it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `check-rules` program, from the directory `ALPAKA_PROMTOOL` (integration/test.sh sets it), else
/// the cached build.
fn promtool() -> PathBuf {
    let dir = match std::env::var("ALPAKA_PROMTOOL") {
        Ok(d) => PathBuf::from(d),
        Err(_) => {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let out = Command::new(root.join("integration/promtool/build.sh"))
                .stderr(Stdio::inherit())
                .output()
                .expect("running integration/promtool/build.sh");
            assert!(
                out.status.success(),
                "integration/promtool/build.sh failed: the real promtool is needed"
            );
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
    };
    dir.join("check-rules")
}

fn check(name: &str, config: &alpaka::model::stack::StackConfig) -> String {
    let groups = alpaka::stack::alerting::rule_groups(config, "alpaka");
    let file = serde_json::json!({ "groups": groups });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.yaml"));
    std::fs::write(&path, serde_saphyr::to_string(&file).unwrap()).unwrap();
    let out = Command::new(promtool())
        .arg(&path)
        .output()
        .expect("running check-rules");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{name}: promtool refused the rules:\n{text}\n--- rules\n{}",
        std::fs::read_to_string(&path).unwrap()
    );
    text
}

#[test]
fn alpakas_alerting_rules_pass_promtool_check_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = alpaka::config::load(root, "minikube").unwrap();
    let mut all = loaded.config.clone();
    all.prometheus.alertmanager.enabled = true;
    let text = check("all", &all);
    // Every rule of the set was there to be checked.
    let groups = alpaka::stack::alerting::rule_groups(&all, "alpaka");
    let names: Vec<&str> = groups[0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["alert"].as_str())
        .collect();
    for a in [
        "KafkaOfflinePartitions",
        "KafkaUnderReplicatedPartitions",
        "KafkaBrokerDown",
        "KafkaConnectorFailed",
        "KafkaConnectTaskFailed",
        "KafkaConsumerGroupLag",
        "PersistentVolumeFillingUp",
    ] {
        assert!(names.contains(&a), "{a} missing: {names:?}");
    }
    assert!(
        text.contains(&format!("{} rules found", names.len())),
        "{text}"
    );

    // Combined broker/controller nodes, no Connect, no KMinion: still a valid file.
    let mut small = all.clone();
    small.kafka.controllers = 0;
    small.kafka_connect.enabled = false;
    small.kminion.enabled = false;
    check("small", &small);
}

#[test]
fn promtool_refuses_a_broken_rule() {
    // The check is real: a rule promtool cannot parse fails it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "groups:\n- name: x\n  rules:\n  - alert: Broken\n    expr: sum(up{namespace=\"a\"\n",
    )
    .unwrap();
    let out = Command::new(promtool()).arg(&path).output().unwrap();
    assert!(!out.status.success());
}
