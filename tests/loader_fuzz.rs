//! Property tests: whatever the files contain, `load` returns (Ok or located errors), never panics.

use std::path::Path;

use alpaka::config;
use proptest::prelude::*;

fn workspace(profile: &str, config_text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("profiles")).expect("mkdir");
    std::fs::create_dir_all(root.join("configs")).expect("mkdir");
    std::fs::write(root.join("profiles/p.yaml"), profile).expect("write");
    std::fs::write(root.join("configs/default.yaml"), config_text).expect("write");
    dir
}

fn check(root: &Path) {
    match config::load(root, "p") {
        Ok(_) => {}
        Err(diags) => {
            assert!(diags.has_errors());
            for d in diags.iter() {
                assert!(d.line >= 1 && d.column >= 1, "unlocated: {d}");
                let _ = d.to_string();
            }
        }
    }
}

const KEYS: &[&str] = &[
    "kafka",
    "kafka_connect",
    "connects",
    "type",
    "name",
    "connector_groups",
    "connectors",
    "config",
    "replicaCount",
    "defaultReplicationFactor",
    "minInsyncReplicas",
    "nodeSelector",
    "tolerations",
    "grafana",
    "dashboards",
    "remove",
    "storage",
    "size",
    "enabled",
    "test",
    "s3sink",
    "bucket",
    "values",
    "common",
    "k8s_dist",
    "distribution",
    "minikube",
    "k3d",
    "eks",
    "nodegroups",
    "min",
    "max",
    "desired",
    "agentLabels",
    "agents",
    "overrides",
    "vpc",
    "cidr",
    "existing",
];

const SCALARS: &[&str] = &[
    "0",
    "1",
    "-1",
    "3",
    "99999999999999999999",
    "true",
    "false",
    "null",
    "~",
    "srccon",
    "10g",
    "10Gi",
    "30m",
    "10.0.0.0/16",
    "minikube",
    "eks",
    "k3d",
    "\"\"",
    "x",
    "1.5",
    "[]",
    "{}",
    "alpaka/node-type: infra",
    "*a",
    "&a 1",
    "!!str 3",
];

fn yaml_tree(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop::sample::select(SCALARS)
        .prop_map(str::to_owned)
        .boxed();
    if depth == 0 {
        return leaf;
    }
    let inner = yaml_tree(depth - 1);
    prop_oneof![
        2 => leaf,
        2 => prop::collection::vec((prop::sample::select(KEYS), inner.clone()), 0..5).prop_map(|entries| {
            let body: Vec<String> = entries.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!("{{{}}}", body.join(", "))
        }),
        1 => prop::collection::vec(inner, 0..4).prop_map(|items| format!("[{}]", items.join(", "))),
    ]
    .boxed()
}

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(KEYS), yaml_tree(3)), 0..6).prop_map(|entries| {
        entries
            .iter()
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect::<String>()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(profile in "\\PC{0,200}", cfg in "\\PC{0,300}") {
        let dir = workspace(&profile, &cfg);
        check(dir.path());
    }

    #[test]
    fn arbitrary_yaml_like_text_never_panics(cfg in "[a-z_:\\- \\[\\]{},&*!|>\"'\n\t0-9#]{0,300}") {
        let dir = workspace("distribution: minikube\n", &cfg);
        check(dir.path());
    }

    #[test]
    fn structured_configs_never_panic(cfg in document(), dist in prop::sample::select(&["minikube", "k3d", "k3s", "eks"][..])) {
        let dir = workspace(&format!("distribution: {dist}\n"), &cfg);
        check(dir.path());
    }

    #[test]
    fn structured_profiles_never_panic(profile in document(), overrides in yaml_tree(3)) {
        let text = format!("{profile}overrides: {overrides}\n");
        let dir = workspace(&text, "kafka: {replicaCount: 3}\n");
        check(dir.path());
    }
}
