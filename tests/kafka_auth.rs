//! Authenticated Kafka in the plans of shipped profiles (issue 21's "must show"), through the
//! binary (`plan --refresh=false --json`): every listener authenticates, authorization is on,
//! every client has its KafkaUser with ACLs, Connect authenticates, and no password or JAAS
//! string is in the plan. Also: a connector's topic change changes its Connect user's ACLs in
//! the same plan, and the plain listener is the user's visible choice.

use std::path::Path;

use serde_json::Value as Json;

mod common;
use common::{alpaka, repo, workspace};

/// The plan as JSON, and its raw text.
fn plan(root: &Path, profile: &str) -> (Json, String, String) {
    let out = alpaka(root)
        .args(["plan", "--profile", profile, "--refresh=false", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{profile}: {stderr}");
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    (serde_json::from_str(&raw).unwrap(), raw, stderr)
}

fn after<'a>(plan: &'a Json, id: &str) -> &'a Json {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .map(|c| &c["after"])
        .unwrap_or_else(|| panic!("no {id} in the plan"))
}

fn users(plan: &Json) -> Vec<(String, &Json)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "strimzi.kafkauser")
        .map(|c| {
            (
                c["after"]["metadata"]["name"].as_str().unwrap().to_owned(),
                &c["after"],
            )
        })
        .collect()
}

#[test]
fn k3d_and_eks_prod_plans_authenticate_every_client() {
    let ws = workspace();
    for profile in ["k3d", "eks-prod"] {
        let (p, raw, _) = plan(ws.path(), profile);
        let kafka = &after(&p, "kafka.cluster")["spec"]["kafka"];
        let listeners = kafka["listeners"].as_array().unwrap();
        assert!(!listeners.is_empty());
        for l in listeners {
            assert_eq!(l["tls"], true, "{profile}: {l}");
            assert_eq!(
                l["authentication"]["type"], "scram-sha-512",
                "{profile}: {l}"
            );
        }
        assert_eq!(kafka["authorization"]["type"], "simple", "{profile}");
        assert_eq!(
            kafka["authorization"]["superUsers"],
            serde_json::json!(["alpaka-admin"]),
            "{profile}"
        );
        let entity = &after(&p, "kafka.cluster")["spec"]["entityOperator"];
        assert!(entity["userOperator"].is_object(), "{profile}");

        let users = users(&p);
        let names: Vec<&str> = users.iter().map(|(n, _)| n.as_str()).collect();
        for client in [
            "alpaka-admin",
            "alpaka-test",
            "connect-srccon",
            "alpaka-ksqldb",
            "alpaka-kafka-ui",
            "alpaka-kminion",
        ] {
            assert!(
                names.contains(&client),
                "{profile}: no user {client}: {names:?}"
            );
        }
        for (name, u) in &users {
            assert_eq!(
                u["spec"]["authentication"]["type"], "scram-sha-512",
                "{name}"
            );
            if name != "alpaka-admin" {
                let acls = u["spec"]["authorization"]["acls"].as_array().unwrap();
                assert!(!acls.is_empty(), "{profile}: {name} has no ACLs");
                assert!(
                    acls.iter()
                        .all(|a| !a["operations"].as_array().unwrap().is_empty()),
                    "{name}"
                );
            }
        }

        let connect = &after(&p, "kafka.connect.srccon")["spec"];
        assert_eq!(
            connect["bootstrapServers"],
            "alpaka-kafka-bootstrap.alpaka.svc:9093"
        );
        assert_eq!(connect["authentication"]["type"], "scram-sha-512");
        assert_eq!(connect["authentication"]["username"], "connect-srccon");
        assert_eq!(
            connect["authentication"]["passwordSecret"],
            serde_json::json!({"secretName": "connect-srccon", "password": "password"})
        );
        assert_eq!(
            connect["tls"]["trustedCertificates"][0]["secretName"],
            "alpaka-cluster-ca-cert"
        );

        // Debezium's schema history clients log in through the config provider.
        let cdc = &after(&p, "connector.srccon.mydb_cdc.changes")["spec"]["config"];
        assert_eq!(
            cdc["schema.history.internal.producer.sasl.jaas.config"],
            "${secrets:alpaka/connect-srccon:sasl.jaas.config}"
        );
        assert_eq!(
            cdc["schema.history.internal.consumer.security.protocol"],
            "SASL_SSL"
        );

        // The tool reads its login from its user's Secret mounted as files, no value in env.
        let tool = &after(&p, "k8s.deployment.tool")["spec"]["template"]["spec"];
        let env = tool["containers"][0]["env"].as_array().unwrap();
        assert!(
            env.iter().any(|e| e["name"] == "KAFKA_SASL_PASSWORD_FILE"
                && e["value"] == "/etc/alpaka/kafka-user/password"),
            "{env:?}"
        );
        assert!(env.iter().all(|e| e.get("valueFrom").is_none()), "{env:?}");
        assert!(
            tool["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["secret"]["secretName"] == "alpaka-admin"),
            "{tool}"
        );
        // ksqlDB's image reads settings only from the environment: a secretKeyRef.
        let env =
            after(&p, "k8s.deployment.ksqldb")["spec"]["template"]["spec"]["containers"][0]["env"]
                .as_array()
                .unwrap()
                .clone();
        let e = env
            .iter()
            .find(|e| e["name"] == "KSQL_SASL_JAAS_CONFIG")
            .expect("ksqlDB's JAAS variable");
        assert_eq!(e["valueFrom"]["secretKeyRef"]["name"], "alpaka-ksqldb");
        assert!(e.get("value").is_none());

        // kafbat UI and KMinion (helm charts) take theirs through the charts' Secret keys.
        let ui = &after(&p, "helm.kafka-ui")["values"];
        assert_eq!(
            ui["envs"]["secretMappings"]["KAFKA_SASL_JAAS_CONFIG"],
            serde_json::json!({"name": "alpaka-kafka-ui", "keyName": "sasl.jaas.config"})
        );
        let props = &ui["yamlApplicationConfig"]["kafka"]["clusters"][0]["properties"];
        assert_eq!(props["security.protocol"], "SASL_SSL");
        assert_eq!(props["sasl.jaas.config"], "${KAFKA_SASL_JAAS_CONFIG}");
        assert_eq!(
            ui["volumes"][0]["secret"]["secretName"],
            "alpaka-cluster-ca-cert"
        );
        let km = &after(&p, "helm.kminion")["values"];
        assert_eq!(
            km["deployment"]["env"]["secretKeyRefs"][0],
            serde_json::json!({"name": "KAFKA_SASL_PASSWORD", "secretName": "alpaka-kminion", "secretKey": "password"})
        );
        assert_eq!(
            km["kminion"]["config"]["kafka"]["sasl"]["username"],
            "alpaka-kminion"
        );
        assert_eq!(km["kminion"]["config"]["kafka"]["tls"]["enabled"], true);

        for secretish in ["ScramLoginModule", "password=", "mypass"] {
            assert!(
                !raw.contains(secretish),
                "{profile}: `{secretish}` in the plan"
            );
        }
    }
}

#[test]
fn a_connectors_topic_change_changes_its_connect_users_acls_in_the_same_plan() {
    let ws = workspace();
    let (before, _, _) = plan(ws.path(), "k3d");
    let config = ws.path().join("configs/default.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("topic.prefix: log1"));
    std::fs::write(
        &config,
        text.replace("topic.prefix: log1", "topic.prefix: audit1"),
    )
    .unwrap();
    let (changed, _, _) = plan(ws.path(), "k3d");
    let acl_names = |p: &Json| -> Vec<String> {
        after(p, "kafka.user.connect-srccon")["spec"]["authorization"]["acls"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["resource"]["name"].as_str().map(str::to_owned))
            .collect()
    };
    let (a, b) = (acl_names(&before), acl_names(&changed));
    assert!(
        a.contains(&"log1".to_owned()) && !a.contains(&"audit1".to_owned()),
        "{a:?}"
    );
    assert!(
        b.contains(&"audit1".to_owned()) && !b.contains(&"log1".to_owned()),
        "{b:?}"
    );
    assert_eq!(
        after(&changed, "connector.srccon.mydb_log.log1")["spec"]["config"]["topic.prefix"],
        "audit1"
    );
}

#[test]
fn a_plain_listener_is_the_users_choice_and_warned_about() {
    let ws = workspace();
    std::fs::write(
        ws.path().join("profiles/plain.yaml"),
        "distribution: k3d\nconfig: default\noverrides:\n  kafka:\n    security:\n      plainListener: true\n",
    )
    .unwrap();
    let (p, _, stderr) = plan(ws.path(), "plain");
    let kafka = &after(&p, "kafka.cluster")["spec"]["kafka"];
    let plain: Vec<&Json> = kafka["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["authentication"].is_null())
        .collect();
    assert_eq!(plain.len(), 1);
    assert_eq!(plain[0]["port"], 9092);
    assert!(
        kafka["authorization"]["superUsers"]
            .as_array()
            .unwrap()
            .contains(&"ANONYMOUS".into())
    );
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("kafka.security.plainListener"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("profiles/plain.yaml:6"), "{stderr}");
    // Without it: no warning.
    let (_, _, stderr) = plan(ws.path(), "k3d");
    assert!(!stderr.contains("plainListener"), "{stderr}");
}

fn change<'a>(plan: &'a Json, id: &str) -> &'a Json {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in the plan"))
}

/// Issue 21 item 5: eks-prod's S3 sink Connect type gets an IRSA role whose trust names exactly
/// its ServiceAccount, the KafkaConnect carries the role's ARN and waits for the role.
#[test]
fn eks_prod_s3_sink_connect_gets_an_irsa_role_for_exactly_its_service_account() {
    let ws = workspace();
    let (p, raw, _) = plan(ws.path(), "eks-prod");
    let role = change(&p, "iam.role.prod.connect-sinkcon");
    assert_eq!(role["kind"], "iam.role");
    assert_eq!(role["after"]["name"], "alpaka-prod-connect-sinkcon");
    let trust = &role["after"]["trust"];
    // Strimzi names the KafkaConnect `sinkcon`'s ServiceAccount `sinkcon-connect`.
    assert_eq!(trust["sub"], "system:serviceaccount:alpaka:sinkcon-connect");
    assert_eq!(trust["aud"], "sts.amazonaws.com");
    assert_eq!(trust["federated"]["$unknown"], "iam.oidc.prod#arn");
    assert_eq!(
        role["after"]["policies"],
        serde_json::json!([{"$unknown": "iam.policy.prod.connect-sinkcon#arn"}])
    );
    let policy = change(&p, "iam.policy.prod.connect-sinkcon");
    assert_eq!(
        policy["after"]["document_file"],
        "policies/connect-s3-sink.json"
    );
    let doc: Json = serde_json::from_str(policy["after"]["document"].as_str().unwrap()).unwrap();
    let shipped: Json = serde_json::from_str(
        &std::fs::read_to_string(repo().join("policies/connect-s3-sink.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(doc, shipped);
    let connect = change(&p, "kafka.connect.sinkcon");
    assert!(
        connect["deps"]
            .as_array()
            .unwrap()
            .contains(&"iam.role.prod.connect-sinkcon".into()),
        "{}",
        connect["deps"]
    );
    assert_eq!(
        connect["after"]["spec"]["template"]["serviceAccount"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            ["$unknown"],
        "iam.role.prod.connect-sinkcon#arn"
    );
    // No static AWS keys: not in the workers' environment, not anywhere in the plan.
    assert!(connect["after"]["spec"]["template"]["connectContainer"].is_null());
    assert!(!raw.contains("AWS_SECRET_ACCESS_KEY") && !raw.contains("aws.secret.access.key"));
    // Only the Connect type that asks gets a role.
    assert!(
        p["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != "iam.role.prod.connect-srccon")
    );
}

/// Off EKS an AWS identity is refused by `validate`, at the line that asks for it, saying why
/// and what to do.
#[test]
fn k3d_refuses_an_aws_identity_at_its_line() {
    let ws = workspace();
    std::fs::write(
        ws.path().join("profiles/k3d-aws.yaml"),
        "distribution: k3d\nconfig: default\noverrides:\n  kafka_connect:\n    connects:\n    - type: srccon\n      awsIdentity:\n        policyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n",
    )
    .unwrap();
    let out = alpaka(ws.path())
        .args(["validate", "--profile", "k3d-aws"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}{stderr}");
    let text = format!("{stdout}{stderr}");
    assert!(text.contains("profiles/k3d-aws.yaml:8"), "{text}");
    assert!(text.contains("only on EKS"), "{text}");
    assert!(
        text.contains("kafka_connect.connects[srccon].awsIdentity"),
        "{text}"
    );
    assert!(text.contains("remove `awsIdentity`"), "{text}");
}

/// A policy file that is missing or not a policy is refused at the `policyFile` line.
#[test]
fn a_policy_file_is_read_and_checked() {
    let ws = workspace();
    std::fs::write(ws.path().join("policies/bad.json"), "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"s3:*\", \"Resource\": \"*\"}]}").unwrap();
    for (file, expect) in [
        ("missing.json", "cannot read policies/missing.json"),
        ("bad.json", "has a `Principal`"),
        ("../secrets.json", "not a file name in policies/"),
    ] {
        let profile = format!(
            "distribution: eks\nconfig: default\neks: {{clusterName: prod}}\noverrides:\n  kafka_connect:\n    connects:\n    - type: srccon\n      awsIdentity:\n        policyFile: \"{file}\"\n"
        );
        std::fs::write(ws.path().join("profiles/pf.yaml"), profile).unwrap();
        let out = alpaka(ws.path())
            .args(["validate", "--profile", "pf"])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{file}: {text}");
        assert!(text.contains("profiles/pf.yaml:9"), "{file}: {text}");
        assert!(text.contains(expect), "{file}: {text}");
    }
}

/// `envs`: a plain value whose name says it is a secret is warned about (its value never
/// printed), pointing at the Secret form; the Secret form renders as a reference only.
#[test]
fn envs_warn_about_plain_secrets_and_render_secret_references() {
    let ws = workspace();
    std::fs::write(
        ws.path().join("profiles/envs.yaml"),
        "distribution: k3d\nconfig: default\noverrides:\n  kafka_connect:\n    connects:\n    - type: srccon\n      envs:\n      - {name: AWS_SECRET_ACCESS_KEY, value: sup3r-s3cret-v4lue}\n      - name: API_TOKEN\n        secretKeyRef: {name: srccon-env, key: token}\n      - {name: AWS_REGION, value: ap-northeast-2}\n",
    )
    .unwrap();
    let (p, _, stderr) = plan(ws.path(), "envs");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("looks like a secret"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("AWS_SECRET_ACCESS_KEY"), "{stderr}");
    assert!(warnings[0].contains("profiles/envs.yaml:8"), "{stderr}");
    assert!(stderr.contains("secretKeyRef"), "{stderr}");
    assert!(!stderr.contains("sup3r-s3cret-v4lue"), "{stderr}");
    let env = &after(&p, "kafka.connect.srccon")["spec"]["template"]["connectContainer"]["env"];
    assert_eq!(
        env[2],
        serde_json::json!({"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "srccon-env", "key": "token"}}})
    );
    assert_eq!(
        env[3],
        serde_json::json!({"name": "AWS_REGION", "value": "ap-northeast-2"})
    );
    // Both a value and a reference: refused.
    std::fs::write(
        ws.path().join("profiles/envs2.yaml"),
        "distribution: k3d\nconfig: default\noverrides:\n  kafka_connect:\n    connects:\n    - type: srccon\n      envs:\n      - name: X\n        value: a\n        configMapKeyRef: {name: c, key: k}\n",
    )
    .unwrap();
    let out = alpaka(ws.path())
        .args(["validate", "--profile", "envs2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        text.contains("exactly one of value, secretKeyRef, configMapKeyRef"),
        "{text}"
    );
}

/// `envs` that would be silently ignored or would silently take over are refused, at their
/// line: a `KAFKA_` variable (Strimzi's own on the Connect container), and, next to
/// `awsIdentity`, static AWS keys (the SDK reads them before IRSA's web identity token).
#[test]
fn envs_that_strimzi_ignores_or_that_would_replace_irsa_are_refused() {
    let ws = workspace();
    std::fs::write(
        ws.path().join("profiles/kenv.yaml"),
        "distribution: k3d\nconfig: default\noverrides:\n  kafka_connect:\n    connects:\n    - type: srccon\n      envs:\n      - {name: KAFKA_HEAP_OPTS, value: -Xmx2g}\n",
    )
    .unwrap();
    let out = alpaka(ws.path())
        .args(["validate", "--profile", "kenv"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("profiles/kenv.yaml:8"), "{text}");
    assert!(text.contains("`KAFKA_HEAP_OPTS`"), "{text}");
    assert!(text.contains("belong to Strimzi"), "{text}");

    // eks-prod's sinkcon has an awsIdentity: static keys beside it are refused.
    let prod = std::fs::read_to_string(ws.path().join("profiles/eks-prod.yaml")).unwrap();
    let marker = "        policyFile: connect-s3-sink.json\n";
    assert!(prod.contains(marker), "eks-prod's sinkcon moved");
    let with_keys = prod.replacen(
        marker,
        &format!(
            "{marker}      envs:\n      - name: AWS_ACCESS_KEY_ID\n        secretKeyRef: {{name: s3-keys, key: id}}\n"
        ),
        1,
    );
    std::fs::write(ws.path().join("profiles/irsa.yaml"), &with_keys).unwrap();
    let out = alpaka(ws.path())
        .args(["validate", "--profile", "irsa"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("`AWS_ACCESS_KEY_ID` would replace the workers' `awsIdentity`"),
        "{text}"
    );
    // The shipped eks-prod itself validates.
    let out = alpaka(ws.path())
        .args(["validate", "--profile", "eks-prod"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
