//! Every Strimzi resource alpaka generates, for every shipped profile, validates against the
//! Strimzi 1.2.0 CRD schemas (`../shared/reference/strimzi-1.2.0/crds`). Unknown fields are
//! errors here: a structural schema would make the API server prune them silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

fn crd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/strimzi-1.2.0/crds")
}

/// kind → openAPIV3Schema of the served `v1` version.
fn schemas() -> BTreeMap<String, Json> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(crd_dir()).expect("the Strimzi CRDs are in ../shared") {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let crd: Json = serde_saphyr::from_str(&text).unwrap();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_owned();
        let v1 = crd["spec"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "v1")
            .unwrap();
        out.insert(kind, v1["schema"]["openAPIV3Schema"].clone());
    }
    out
}

/// The subset of OpenAPI v3 structural schemas the Strimzi CRDs use.
fn validate(schema: &Json, v: &Json, path: &str, errors: &mut Vec<String>) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Json::Bool(true))
        && schema.get("properties").is_none()
    {
        return;
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&Json::Bool(true)) {
        if !(v.is_string() || v.is_i64() || v.is_u64()) {
            errors.push(format!("{path}: expected int or string, got {v}"));
        }
        return;
    }
    if let Some(t) = schema.get("type").and_then(Json::as_str) {
        let ok = match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{path}: expected {t}, got {v}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Json::as_array)
        && !allowed.contains(v)
    {
        errors.push(format!("{path}: {v} is not one of {allowed:?}"));
    }
    if let (Some(p), Some(s)) = (schema.get("pattern").and_then(Json::as_str), v.as_str())
        && !regex::Regex::new(p).unwrap().is_match(s)
    {
        errors.push(format!("{path}: {s:?} does not match {p}"));
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Json::as_f64), v.as_f64())
        && n < min
    {
        errors.push(format!("{path}: {n} < minimum {min}"));
    }
    if let (Some(min), Some(a)) = (schema.get("minItems").and_then(Json::as_u64), v.as_array())
        && (a.len() as u64) < min
    {
        errors.push(format!("{path}: fewer than {min} items"));
    }
    // Strimzi's `oneOf` branches only name required keys (e.g. an env var's `value` or
    // `valueFrom`): exactly one branch's keys must all be present.
    if let (Some(branches), Some(obj)) =
        (schema.get("oneOf").and_then(Json::as_array), v.as_object())
    {
        let matching = branches
            .iter()
            .filter(|b| {
                b.get("required")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_str)
                    .all(|r| obj.contains_key(r))
            })
            .count();
        if matching != 1 {
            errors.push(format!(
                "{path}: matches {matching} of the oneOf branches {branches:?}, not exactly one"
            ));
        }
    }
    if let (Some(items), Some(a)) = (schema.get("items"), v.as_array()) {
        for (i, x) in a.iter().enumerate() {
            validate(items, x, &format!("{path}[{i}]"), errors);
        }
    }
    if let Some(obj) = v.as_object() {
        let props = schema.get("properties").and_then(Json::as_object);
        for req in schema
            .get("required")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = req.as_str()
                && !obj.contains_key(r)
            {
                errors.push(format!("{path}: missing required `{r}`"));
            }
        }
        for (k, x) in obj {
            let sub = format!("{path}.{k}");
            match (
                props.and_then(|p| p.get(k)),
                schema.get("additionalProperties"),
            ) {
                (Some(s), _) => validate(s, x, &sub, errors),
                (None, Some(Json::Object(s))) => {
                    validate(&Json::Object(s.clone()), x, &sub, errors)
                }
                (None, Some(Json::Bool(true))) => {}
                _ if schema.get("x-kubernetes-preserve-unknown-fields")
                    == Some(&Json::Bool(true)) => {}
                // metadata is `type: object` with no properties: the API server's own schema.
                _ if props.is_none() && path == "$.metadata" => {}
                _ => errors.push(format!(
                    "{sub}: unknown field (the API server would prune it)"
                )),
            }
        }
    }
}

/// An output of another node (`{"$unknown": "<id>#<output>"}` in the plan, e.g. an IRSA role's
/// ARN) is a string by the time the driver sends the manifest: stand one in.
fn resolve_unknowns(v: &mut Json) {
    match v {
        Json::Object(m) if m.len() == 1 && m.contains_key("$unknown") => {
            let what = m["$unknown"].as_str().unwrap_or_default().to_owned();
            *v = Json::String(format!("(output {what})"));
        }
        Json::Object(m) => m.values_mut().for_each(resolve_unknowns),
        Json::Array(a) => a.iter_mut().for_each(resolve_unknowns),
        _ => {}
    }
}

fn generated(profile: &str) -> Vec<(String, Json)> {
    generated_with(profile, None)
}

fn generated_with(profile: &str, mirror: Option<alpaka::model::Mirror>) -> Vec<(String, Json)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut loaded = alpaka::config::load(root, profile).unwrap();
    if mirror.is_some() {
        loaded.profile.mirror = mirror;
    }
    let nodes =
        alpaka::stack::build(&loaded.profile_name, &loaded.profile, &loaded.config).unwrap();
    nodes
        .into_iter()
        .filter(|n| n.kind.starts_with("strimzi."))
        .map(|n| {
            // `cluster` is alpaka's (which cluster to talk to); the driver never sends it.
            let mut m = serde_json::to_value(&n.desired).unwrap();
            m.as_object_mut().unwrap().remove("cluster");
            resolve_unknowns(&mut m);
            (n.id.to_string(), m)
        })
        .collect()
}

#[test]
fn generated_strimzi_resources_validate_against_the_crds() {
    let schemas = schemas();
    let mut checked = BTreeMap::<String, usize>::new();
    for profile in ["minikube", "k3d", "k3s", "eks-prod", "eks-dev"] {
        for (id, manifest) in generated(profile) {
            let kind = manifest["kind"].as_str().unwrap().to_owned();
            assert_eq!(manifest["apiVersion"], "kafka.strimzi.io/v1", "{id}");
            let schema = schemas
                .get(&kind)
                .unwrap_or_else(|| panic!("no CRD for {kind}"));
            let mut errors = Vec::new();
            validate(schema, &manifest, "$", &mut errors);
            assert!(
                errors.is_empty(),
                "{profile} {id} ({kind}):\n{}",
                errors.join("\n")
            );
            assert!(
                !manifest.to_string().contains("mypass"),
                "{id} carries a plaintext secret"
            );
            *checked.entry(kind).or_default() += 1;
        }
    }
    for kind in [
        "Kafka",
        "KafkaNodePool",
        "KafkaConnect",
        "KafkaConnector",
        "KafkaUser",
        "KafkaTopic",
    ] {
        assert!(
            checked.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} generated: {checked:?}"
        );
    }
}

/// Issue 25: what the mirror writes into Strimzi resources (a KafkaConnect's image and its pod
/// template's `imagePullSecrets`) is what the 1.2.0 CRDs accept.
#[test]
fn mirrored_strimzi_resources_validate_too() {
    let schemas = schemas();
    let mirror = alpaka::model::Mirror {
        registry: "registry.example.com/mirror".into(),
        charts: "oci://registry.example.com/charts".into(),
        image_pull_secret: Some("mirror-pull".into()),
    };
    let mut connects = 0;
    for profile in ["k3d", "eks-prod"] {
        for (id, manifest) in generated_with(profile, Some(mirror.clone())) {
            let kind = manifest["kind"].as_str().unwrap().to_owned();
            let mut errors = Vec::new();
            validate(&schemas[&kind], &manifest, "$", &mut errors);
            assert!(errors.is_empty(), "{profile} {id}:\n{}", errors.join("\n"));
            if kind == "KafkaConnect" {
                connects += 1;
                assert!(
                    manifest["spec"]["image"]
                        .as_str()
                        .unwrap()
                        .starts_with("registry.example.com/mirror/")
                );
                assert_eq!(
                    manifest["spec"]["template"]["pod"]["imagePullSecrets"][0]["name"],
                    "mirror-pull"
                );
            }
        }
    }
    assert!(connects > 0);
}

#[test]
fn the_validator_catches_what_the_api_server_would_reject_or_prune() {
    let schemas = schemas();
    let mut bad = generated("minikube")
        .into_iter()
        .find(|(id, _)| id == "kafka.cluster")
        .unwrap()
        .1;
    bad["spec"]["kafka"]["listeners"][0]["name"] = "Not_Valid!".into();
    bad["spec"]["kafka"]["replicaz"] = 3.into();
    bad["spec"]["entityOperator"] = "yes".into();
    let mut errors = Vec::new();
    validate(&schemas["Kafka"], &bad, "$", &mut errors);
    let text = errors.join("\n");
    assert!(text.contains("$.spec.kafka.listeners[0].name"), "{text}");
    assert!(
        text.contains("$.spec.kafka.replicaz: unknown field"),
        "{text}"
    );
    assert!(
        text.contains("$.spec.entityOperator: expected object"),
        "{text}"
    );
}

#[test]
fn connector_secrets_are_config_provider_references() {
    let all = generated("minikube");
    let log1 = &all
        .iter()
        .find(|(id, _)| id == "connector.srccon.mydb_log.log1")
        .unwrap()
        .1;
    assert_eq!(log1["metadata"]["name"], "srccon-mydb-log-log1");
    assert_eq!(log1["metadata"]["labels"]["strimzi.io/cluster"], "srccon");
    assert_eq!(
        log1["spec"]["class"],
        "io.confluent.connect.jdbc.JdbcSourceConnector"
    );
    assert_eq!(log1["spec"]["tasksMax"], 1);
    assert_eq!(
        log1["spec"]["config"]["connection.password"],
        "${secrets:alpaka/alpaka-connect-srccon:srccon-mydb-log-log1.connection.password}"
    );
    assert_eq!(
        log1["spec"]["config"]["connection.url"],
        "jdbc:mysql://mysql-db-addr:3306/mydb"
    );
}

#[test]
fn legacy_zookeeper_mode_uses_the_045_operator_and_v1beta2() {
    // Through the loader, as a user would write it: an explicit legacy choice.
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["profiles", "configs", "policies"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(repo.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
        }
    }
    std::fs::write(
        dir.path().join("profiles/zk.yaml"),
        "distribution: minikube\nconfig: default\noverrides:\n  kafka:\n    mode: zookeeper\n    version: \"3.9.0\"\n",
    )
    .unwrap();
    let loaded = alpaka::config::load(dir.path(), "zk").unwrap_or_else(|d| panic!("{d}"));
    // The shipped config's JDBC Connect image is built for Kafka 4.3.1: named as a mismatch.
    assert!(
        loaded.warnings.iter().any(|w| w
            .message
            .contains("built for Kafka 4.3.1; the cluster runs Kafka 3.9.0")),
        "{:?}",
        loaded.warnings
    );
    let nodes =
        alpaka::stack::build(&loaded.profile_name, &loaded.profile, &loaded.config).unwrap();
    let get = |id: &str| -> Json {
        let n = nodes
            .iter()
            .find(|n| n.id.as_str() == id)
            .unwrap_or_else(|| panic!("no {id}"));
        serde_json::to_value(&n.desired).unwrap()
    };
    assert_eq!(get("helm.strimzi-kafka-operator")["version"], "0.45.1");
    let kafka = get("kafka.cluster");
    assert_eq!(kafka["apiVersion"], "kafka.strimzi.io/v1beta2");
    assert_eq!(
        kafka["metadata"]["annotations"]["strimzi.io/kraft"],
        "disabled"
    );
    assert_eq!(
        kafka["metadata"]["annotations"]["strimzi.io/node-pools"],
        "disabled"
    );
    assert_eq!(kafka["spec"]["kafka"]["version"], "3.9.0");
    assert_eq!(kafka["spec"]["kafka"]["replicas"], 1);
    assert_eq!(kafka["spec"]["zookeeper"]["replicas"], 1);
    assert_eq!(
        kafka["spec"]["zookeeper"]["storage"]["type"],
        "persistent-claim"
    );
    assert!(
        nodes
            .iter()
            .all(|n| !n.id.as_str().starts_with("kafka.nodepool."))
    );
    assert!(
        nodes
            .iter()
            .all(|n| n.id.as_str() != "k8s.podmonitor.strimzi")
    );
    let connect = get("kafka.connect.srccon");
    assert_eq!(connect["apiVersion"], "kafka.strimzi.io/v1beta2");
    assert_eq!(connect["spec"]["version"], "3.9.0");
    // A chosen image is kept (the default Strimzi one would become the 0.45 image of 3.9.0).
    assert_eq!(
        connect["spec"]["image"],
        "ghcr.io/alpaka/connect-jdbc:0.1.0-kafka-4.3.1"
    );
    assert_eq!(connect["spec"]["config"]["group.id"], "connect-srccon");
    assert_eq!(
        connect["spec"]["config"]["offset.storage.topic"],
        "connect-srccon-offsets"
    );
    assert!(connect["spec"].get("groupId").is_none());
    assert_eq!(
        get("connector.srccon.mydb_log.log1")["apiVersion"],
        "kafka.strimzi.io/v1beta2"
    );

    // Kafka 4 has no ZooKeeper: the loader refuses the combination, pointing at the version.
    std::fs::write(
        dir.path().join("profiles/zk4.yaml"),
        "distribution: minikube\nconfig: default\noverrides:\n  kafka:\n    mode: zookeeper\n",
    )
    .unwrap();
    let err = alpaka::config::load(dir.path(), "zk4")
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no ZooKeeper mode"), "{err}");
}

#[test]
fn alpaka_test_resources_validate_too() {
    use alpaka::stack::testkit::{RunId, TestKit};
    let schemas = schemas();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = alpaka::config::load(root, "k3d").unwrap();
    let run = RunId::new("ab12cd34").unwrap();
    let kit = TestKit {
        run: &run,
        ns: "alpaka",
        cfg: &loaded.config,
        mirror: None,
    };
    let mut all = kit.jdbc_connector("srccon");
    all.push(kit.topic(&kit.roundtrip_topic()));
    all.push(kit.topic(&kit.person_topic()));
    all.push(kit.s3_connector(
        "sinkcon",
        "bucket",
        "ap-northeast-2",
        "alpaka-test/ab12cd34",
    ));
    let mut checked = 0;
    for m in all
        .iter()
        .filter(|m| m["apiVersion"] == "kafka.strimzi.io/v1")
    {
        let kind = m["kind"].as_str().unwrap();
        let mut errors = Vec::new();
        validate(&schemas[kind], m, "$", &mut errors);
        assert!(errors.is_empty(), "{kind}:\n{}", errors.join("\n"));
        checked += 1;
    }
    assert_eq!(checked, 4);
}

/// A workspace with the shipped profiles, configs and policies, plus `extra` profiles.
fn workspace(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["profiles", "configs", "policies"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(repo.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
        }
    }
    for (name, text) in extra {
        std::fs::write(dir.path().join("profiles").join(name), text).unwrap();
    }
    dir
}

#[test]
fn connect_envs_render_values_and_references_that_validate() {
    let dir = workspace(&[(
        "envs.yaml",
        "distribution: k3d\nconfig: default\noverrides:\n  kafka_connect:\n    connects:\n    - type: srccon\n      envs:\n      - {name: AWS_REGION, value: ap-northeast-2}\n      - name: API_TOKEN\n        secretKeyRef: {name: srccon-env, key: token}\n      - name: LOG_LEVEL\n        configMapKeyRef: {name: srccon-settings, key: level}\n",
    )]);
    let loaded = alpaka::config::load(dir.path(), "envs").unwrap_or_else(|d| panic!("{d}"));
    let nodes =
        alpaka::stack::build(&loaded.profile_name, &loaded.profile, &loaded.config).unwrap();
    let connect = nodes
        .iter()
        .find(|n| n.id.as_str() == "kafka.connect.srccon")
        .unwrap();
    let mut m = serde_json::to_value(&connect.desired).unwrap();
    m.as_object_mut().unwrap().remove("cluster");
    let env = &m["spec"]["template"]["connectContainer"]["env"];
    assert_eq!(
        env,
        &serde_json::json!([
            {"name": "TZ", "value": "Asia/Seoul"},
            {"name": "AWS_REGION", "value": "ap-northeast-2"},
            {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "srccon-env", "key": "token"}}},
            {"name": "LOG_LEVEL", "valueFrom": {"configMapKeyRef": {"name": "srccon-settings", "key": "level"}}},
        ])
    );
    let schemas = schemas();
    let mut errors = Vec::new();
    validate(&schemas["KafkaConnect"], &m, "$", &mut errors);
    assert!(errors.is_empty(), "{}", errors.join("\n"));

    // The validator does check the env items' oneOf: both forms at once is refused.
    let mut both = m.clone();
    both["spec"]["template"]["connectContainer"]["env"][1]["valueFrom"] =
        serde_json::json!({"secretKeyRef": {"name": "s", "key": "k"}});
    let mut errors = Vec::new();
    validate(&schemas["KafkaConnect"], &both, "$", &mut errors);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("env[1]") && e.contains("oneOf")),
        "{errors:?}"
    );
}

#[test]
fn the_irsa_annotation_is_on_the_connect_service_account_template() {
    let all = generated("eks-prod");
    let sinkcon = &all
        .iter()
        .find(|(id, _)| id == "kafka.connect.sinkcon")
        .unwrap()
        .1;
    assert_eq!(
        sinkcon["spec"]["template"]["serviceAccount"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "(output iam.role.prod.connect-sinkcon#arn)"
    );
    // No static keys anywhere in the workers' environment.
    assert!(!sinkcon.to_string().contains("AWS_SECRET_ACCESS_KEY"));
    assert!(!sinkcon.to_string().contains("AWS_ACCESS_KEY_ID"));
}
