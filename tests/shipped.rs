//! Every shipped profile (and the config it references) loads without errors.

use std::path::Path;

use alpaka::config::{self, DEFAULT_PROFILE};
use alpaka::model::{Cluster, Distribution};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_shipped_profile_loads_cleanly() {
    let names = config::available_profiles(root());
    for expected in ["minikube", "k3d", "k3s", "eks-prod", "eks-dev"] {
        assert!(
            names.iter().any(|n| n == expected),
            "missing profile {expected}: {names:?}"
        );
    }
    assert!(names.iter().any(|n| n == DEFAULT_PROFILE));
    for name in &names {
        match config::load(root(), name) {
            Ok(l) => assert!(
                l.warnings.is_empty(),
                "{name}: warnings:\n{}",
                alpaka::diag::Diagnostics(l.warnings)
            ),
            Err(e) => panic!("profile {name} failed:\n{e}"),
        }
    }
}

#[test]
fn shipped_profiles_have_expected_shape() {
    let mk = config::load(root(), "minikube").expect("minikube loads");
    assert_eq!(mk.profile.distribution, Distribution::Minikube);
    assert_eq!(mk.config.kafka.num_partitions, 8);
    let srccon = &mk.config.kafka_connect.connects[0];
    assert_eq!(srccon.kind.as_str(), "srccon");
    let groups: Vec<&str> = srccon
        .connector_groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(groups, ["mydb_log", "mydb_code", "mydb_cdc"]);
    // Issue 25: alpaka's dashboards are built in (stack/dashboards.rs); none is downloaded.
    assert!(mk.config.grafana.dashboards.is_empty());
    assert!(mk.config_path.ends_with("configs/default.yaml"));

    let k3d = config::load(root(), "k3d").expect("k3d loads");
    let srccon = &k3d.config.kafka_connect.connects[0];
    assert_eq!(
        srccon
            .node_selector
            .get("alpaka/node-type")
            .map(String::as_str),
        Some("worker")
    );
    assert_eq!(
        srccon.connector_groups.len(),
        3,
        "overrides merge into the connect by type"
    );
    assert_eq!(
        k3d.config
            .grafana
            .node_selector
            .get("alpaka/node-type")
            .map(String::as_str),
        Some("infra")
    );

    let prod = config::load(root(), "eks-prod").expect("eks-prod loads");
    let Cluster::Eks(eks) = prod.profile.cluster() else {
        panic!("not eks")
    };
    assert_eq!(eks.cluster_name, "prod");
    let ng = &eks.nodegroups[0];
    assert_eq!(
        (
            ng.name.as_str(),
            ng.disk_size_gb,
            ng.desired,
            ng.min,
            ng.max
        ),
        ("xlarge", 100, 1, 1, 4)
    );
    assert_eq!(prod.config.kafka.storage.size.as_str(), "50Gi");
}

#[test]
fn empty_config_is_a_full_stack() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("profiles")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("configs")).expect("mkdir");
    std::fs::write(
        dir.path().join("profiles/p.yaml"),
        "distribution: minikube\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("configs/default.yaml"), "").expect("write");
    let l = config::load(dir.path(), "p").expect("loads");
    assert_eq!(l.config, alpaka::model::StackConfig::default());
}

#[test]
fn schemas_are_objects() {
    for kind in [config::SchemaKind::Profile, config::SchemaKind::Config] {
        let s = config::json_schema(kind);
        assert!(s.get("properties").is_some());
    }
}
