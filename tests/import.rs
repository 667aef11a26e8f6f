//! `alpaka import`: every block of the original chart's values and its four sample configs
//! (tests/seed-values/, written from the seed's docs) become a config and profile that validate
//! and plan; no plaintext secret is written; nothing is overwritten.

use std::path::{Path, PathBuf};

mod common;
use common::alpaka;

fn seed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/seed-values")
        .join(name)
}

struct Run {
    stdout: String,
    config: String,
    profile: String,
    /// `alpaka plan --json`, as printed.
    plan: String,
}

impl Run {
    fn plan_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.plan).unwrap()
    }

    /// The desired attributes of the planned resource `id`.
    fn planned(&self, id: &str) -> serde_json::Value {
        self.plan_json()["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["after"].clone())
            .unwrap_or_else(|| panic!("{id} is not planned:\n{}", self.ids().join("\n")))
    }

    fn ids(&self) -> Vec<String> {
        self.plan_json()["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Import `file` as `name` into a fresh workspace, then validate and plan it (with the
/// environment the import asked for).
fn import_and_plan(file: &str, name: &str) -> (tempfile::TempDir, Run) {
    let ws = tempfile::tempdir().unwrap();
    let out = alpaka(ws.path())
        .args(["import"])
        .arg(seed(file))
        .args(["--name", name])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{file}: import failed\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |p: &str| std::fs::read_to_string(ws.path().join(p)).unwrap();
    let mut run = Run {
        config: read(&format!("configs/{name}.yaml")),
        profile: read(&format!("profiles/{name}.yaml")),
        stdout,
        plan: String::new(),
    };
    // The variables the import printed, set to something.
    let env: Vec<String> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Plaintext secrets became"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    let validate = alpaka(ws.path())
        .args(["validate", "-p", name])
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "{file}: validate failed\n{}\n{}\n--- config\n{}\n--- profile\n{}",
        String::from_utf8_lossy(&validate.stdout),
        String::from_utf8_lossy(&validate.stderr),
        run.config,
        run.profile
    );
    let mut plan = alpaka(ws.path());
    // From the configuration alone: an imported EKS profile would otherwise look in AWS for
    // what an interrupted apply left.
    plan.args(["plan", "-p", name, "--refresh=false", "--json"]);
    for e in &env {
        plan.env(e, "from-the-environment");
    }
    let p = plan.output().unwrap();
    assert!(
        p.status.success(),
        "{file}: plan failed\n{}\n{}",
        String::from_utf8_lossy(&p.stdout),
        String::from_utf8_lossy(&p.stderr)
    );
    let plan_out = String::from_utf8_lossy(&p.stdout).into_owned();
    assert!(
        !plan_out.contains("from-the-environment"),
        "{file}: an environment secret reached the plan"
    );
    run.plan = plan_out;
    (ws, run)
}

fn assert_no_plaintext_secret(run: &Run) {
    for s in [
        "fake-db-pass",
        "fake-inline-pass",
        "fake-grafana-pass",
        "fake-aws-secret",
        "FAKEACCESSKEYID",
    ] {
        assert!(
            !run.config.contains(s),
            "{s} in the config:\n{}",
            run.config
        );
        assert!(!run.profile.contains(s), "{s} in the profile");
        assert!(!run.stdout.contains(s), "{s} printed");
    }
}

fn has_line(run: &Run, key: &str, what: &str) {
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains(&format!(": {key}")) && l.contains(what)),
        "no report line for {key} ({what}):\n{}",
        run.stdout
    );
}

#[test]
fn every_block_of_the_original_imports_and_plans() {
    let (_ws, run) = import_and_plan("all-blocks.yaml", "seed-all");
    assert_no_plaintext_secret(&run);
    let cfg: serde_json::Value = serde_saphyr::from_str(&run.config).unwrap();
    // Kept with the same meaning.
    assert_eq!(cfg["kafka"]["numPartitions"], 8);
    assert_eq!(cfg["kafka"]["config"]["log.retention.hours"], 168);
    assert_eq!(cfg["kafka"]["storage"]["size"], "20Gi");
    let srccon = &cfg["kafka_connect"]["connects"][0];
    assert_eq!(srccon["type"], "srccon");
    assert_eq!(srccon["timezone"], "Asia/Seoul");
    assert_eq!(srccon["values"]["db_host"], "mysql-db-addr");
    assert_eq!(srccon["values"]["db_pass"]["fromEnv"], "SRCCON_DB_PASS");
    assert_eq!(
        srccon["connector_groups"][1]["connectors"][0]["config"]["connection.password"]["fromEnv"],
        "SRCCON_MYDB_CODE_CODE_CONNECTION_PASSWORD"
    );
    assert_eq!(
        srccon["connector_groups"][0]["common"]["connection.password"],
        "{{ .Values.db_pass }}"
    );
    assert_eq!(srccon["container"]["image"], "ghcr.io/alpaka/connect-jdbc");
    assert_eq!(cfg["prometheus"]["retention"], "15d");
    assert_eq!(
        cfg["prometheus"]["chartValues"]["prometheus"]["prometheusSpec"]["additionalScrapeConfigs"]
            [0]["job_name"],
        "my-app"
    );
    assert_eq!(cfg["grafana"]["adminUser"], "admin");
    assert_eq!(cfg["loki"]["retention_period"], "72h");
    assert_eq!(cfg["k8dashboard"]["port"], 8443);
    assert_eq!(
        cfg["ui4kafka"]["chartValues"]["yamlApplicationConfig"]["auth"]["type"],
        "DISABLED"
    );
    assert_eq!(
        cfg["kminion"]["chartValues"]["kminion"]["config"]["minion"]["consumerGroups"]["scrapeMode"],
        "adminApi"
    );
    assert_eq!(cfg["grafana"]["host"], "grafana.alpaka.wai");
    assert_eq!(
        cfg["init"]["commands"],
        serde_json::json!(["init_database.sh"])
    );
    assert!(
        cfg["init"]["files"]["init_database.sh"]
            .as_str()
            .unwrap()
            .contains("CREATE DATABASE test")
    );
    assert_eq!(cfg["test"]["s3sink"]["bucket"], "my-test-bucket");
    assert_eq!(cfg["test"]["s3sink"]["region"], "ap-northeast-2");
    assert_eq!(cfg["test"]["jdbcConnect"], "srccon");
    // Wiring alpaka derives, and what has no equivalent, is dropped with a reason.
    for (key, why) in [
        ("kafka.zookeeper", "KRaft"),
        ("ksqldb.ksqldb", "derives"),
        ("ui4kafka.yamlApplicationConfig.kafka", "derives"),
        ("grafana.admin.password", "generates"),
        ("grafana.datasources", "provisions"),
        ("grafana.dashboardsConfigMaps", "grafana.com id"),
        ("kminion.kminion.config.kafka.brokers", "derives"),
        (
            "prometheus.prometheus.additionalScrapeConfigs.internal.jobList[kminion-metrics]",
            "ServiceMonitor",
        ),
        (
            "prometheus.prometheus.additionalScrapeConfigs.internal.jobList[zookeeper]",
            "ZooKeeper",
        ),
        ("k8dashboard.extraArgs", "Headlamp"),
        (
            "init.commands[my-alpaka-srccon-all.sh]",
            "registers connectors itself",
        ),
        ("test.s3sink.topics_dir", "alpaka-test/<run id>/"),
        ("test.envs[AWS_SECRET_ACCESS_KEY]", "never written"),
        ("ingress.annotations.kubernetes.io/ingress.class", "nginx"),
    ] {
        has_line(&run, key, why);
    }
    has_line(
        &run,
        "kafka_connect.connects[srccon].values.db_pass",
        "SRCCON_DB_PASS",
    );
    has_line(
        &run,
        "kafka.logRetentionHours",
        "kafka.config.log.retention.hours",
    );
    // Report lines carry the original file's line numbers.
    assert!(
        run.stdout.contains("line 12: kafka.zookeeper: dropped"),
        "{}",
        run.stdout
    );
    assert!(
        run.profile.contains("distribution: minikube"),
        "{}",
        run.profile
    );
}

#[test]
fn the_k3d_sample_places_every_component_on_labelled_agents() {
    let (_ws, run) = import_and_plan("k3d.yaml", "seed-k3d");
    assert_no_plaintext_secret(&run);
    let cfg: serde_json::Value = serde_saphyr::from_str(&run.config).unwrap();
    let profile: serde_json::Value = serde_saphyr::from_str(&run.profile).unwrap();
    assert_eq!(profile["distribution"], "k3d");
    assert_eq!(profile["k3d"]["agents"], 2);
    let labels = profile["k3d"]["agentLabels"].as_array().unwrap();
    assert!(labels.contains(&serde_json::json!({"alpaka/node-type": "worker"})));
    assert!(labels.contains(&serde_json::json!({"alpaka/node-type": "infra"})));
    for (block, node) in [
        ("kafka", "worker"),
        ("ui4kafka", "infra"),
        ("prometheus", "infra"),
        ("grafana", "infra"),
        ("kminion", "infra"),
        ("k8dashboard", "infra"),
        ("ksqldb", "infra"),
        ("tool", "infra"),
        ("init", "worker"),
        ("test", "worker"),
    ] {
        assert_eq!(
            cfg[block]["nodeSelector"]["alpaka/node-type"], node,
            "{block}"
        );
    }
    assert_eq!(
        cfg["kafka_connect"]["connects"][0]["nodeSelector"]["alpaka/node-type"],
        "worker"
    );
    assert_eq!(
        cfg["ingress"]["annotations"]["ingress.kubernetes.io/ssl-redirect"],
        "false"
    );
    has_line(
        &run,
        "prometheus.operator.nodeSelector",
        "places the operator too",
    );
    has_line(
        &run,
        "prometheus.alertmanager.nodeSelector",
        "places Alertmanager with Prometheus",
    );
    assert_eq!(cfg["prometheus"]["alertmanager"]["enabled"], true);
    has_line(&run, "kafka.metrics", "PodMonitor");
}

#[test]
fn the_minikube_k3s_and_eks_samples_import() {
    let (_ws, mkb) = import_and_plan("mkb.yaml", "seed-mkb");
    assert_no_plaintext_secret(&mkb);
    assert!(mkb.profile.contains("memory: 10g"), "{}", mkb.profile);

    let (_ws, k3s) = import_and_plan("k3s.yaml", "seed-k3s");
    let cfg: serde_json::Value = serde_saphyr::from_str(&k3s.config).unwrap();
    assert_eq!(cfg["loki"]["enabled"], true);
    has_line(
        &k3s,
        "ingress.annotations.kubernetes.io/ingress.class",
        "traefik",
    );

    let (_ws, eks) = import_and_plan("eks.yaml", "seed-eks");
    let cfg: serde_json::Value = serde_saphyr::from_str(&eks.config).unwrap();
    let profile: serde_json::Value = serde_saphyr::from_str(&eks.profile).unwrap();
    assert_eq!(
        profile["eks"]["nodegroups"][0]["instanceTypes"][0],
        "m5.xlarge"
    );
    for (c, port) in [
        ("grafana", 3000),
        ("prometheus", 9090),
        ("ui4kafka", 8080),
        ("k8dashboard", 8443),
    ] {
        assert_eq!(cfg[c]["port"], port, "{c}");
    }
    has_line(
        &eks,
        "grafana.ingress.annotations.alb.ingress.kubernetes.io/group.name",
        "alpaka annotates",
    );
    // The original's internet-facing ALB over HTTP becomes alpaka's internal one, said so.
    has_line(
        &eks,
        "grafana.ingress.annotations.alb.ingress.kubernetes.io/scheme",
        "alpaka's is internal",
    );
    // The charts' own ingress blocks were on: all four UIs keep an Ingress, the shared switch
    // notwithstanding, internal and said so.
    has_line(&eks, "prometheus.prometheus.ingress", "prometheus.expose");
    has_line(&eks, "ingress.enabled", "false → true");
    has_line(&eks, "grafana.ingress", "internet-facing ALB over HTTP");
    assert_eq!(cfg["ingress"]["enabled"], true, "{}", eks.config);
    assert!(cfg["ingress"].get("public").is_none(), "{}", eks.config);
    assert_eq!(cfg["prometheus"]["expose"], true, "{}", eks.config);
}

#[test]
fn import_never_overwrites_and_reports_bad_input_with_its_location() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("profiles")).unwrap();
    std::fs::write(ws.path().join("profiles/mine.yaml"), "distribution: k3d\n").unwrap();
    let out = alpaka(ws.path())
        .arg("import")
        .arg(seed("k3d.yaml"))
        .args(["--name", "mine"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("never overwrites"), "{err}");
    assert!(!ws.path().join("configs/mine.yaml").exists());
    assert_eq!(
        std::fs::read_to_string(ws.path().join("profiles/mine.yaml")).unwrap(),
        "distribution: k3d\n"
    );

    let bad = ws.path().join("bad.yaml");
    std::fs::write(&bad, "kafka:\n  replicaCount: 1\nk8s_dist: openshift\n").unwrap();
    let out = alpaka(ws.path())
        .arg("import")
        .arg(&bad)
        .args(["--name", "other"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":3:"), "{err}");
    assert!(err.contains("one of minikube, k3s, k3d, eks"), "{err}");
    assert!(!ws.path().join("configs/other.yaml").exists());
}

/// What the original deployed with each sample (seed-chart.md, "Effective defaults" and
/// "Ingress in the EKS sample"), as alpaka plans it.
fn assert_deploys_what_the_original_did(name: &str, run: &Run) {
    let ids = run.ids();
    // ksqlDB: off in the chart, on in no sample.
    assert!(
        !ids.iter().any(|i| i.contains("ksqldb")),
        "{name}: ksqlDB planned: {ids:?}"
    );
    // Kafka keeps 1 GiB per partition, on an 8Gi volume, scraped every 10s.
    let kafka = run.planned("kafka.cluster");
    assert_eq!(
        kafka["spec"]["kafka"]["config"]["log.retention.bytes"], 1_073_741_824,
        "{name}"
    );
    let broker = run.planned("kafka.nodepool.broker");
    assert_eq!(broker["spec"]["storage"]["size"], "8Gi", "{name}: {broker}");
    let monitor = run.planned("k8s.podmonitor.strimzi");
    assert_eq!(
        monitor["spec"]["podMetricsEndpoints"][0]["interval"], "10s",
        "{name}"
    );
    // The tool's DNS options.
    let tool = run.planned("k8s.deployment.tool");
    assert_eq!(
        tool["spec"]["template"]["spec"]["dnsConfig"]["options"][0],
        serde_json::json!({"name": "ndots", "value": "2"}),
        "{name}"
    );
    // The UIs tolerate `type=ctrl`.
    let ui = run.planned("helm.kafka-ui");
    assert_eq!(
        ui["values"]["tolerations"][0]["value"], "ctrl",
        "{name}: {}",
        ui["values"]
    );
    // Alertmanager ran, with alpaka's rules.
    let prom = run.planned("helm.kube-prometheus-stack");
    assert_eq!(prom["values"]["alertmanager"]["enabled"], true, "{name}");
    assert!(
        prom["values"]["additionalPrometheusRulesMap"]["alpaka"]["groups"][0]["rules"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "{name}"
    );
}

#[test]
fn each_sample_and_the_charts_values_plan_what_the_original_deployed() {
    for (file, name) in [
        ("mkb.yaml", "o-mkb"),
        ("k3s.yaml", "o-k3s"),
        ("k3d.yaml", "o-k3d"),
        ("eks.yaml", "o-eks"),
        ("chart-values.yaml", "o-chart"),
    ] {
        let (_ws, run) = import_and_plan(file, name);
        assert_deploys_what_the_original_did(name, &run);
        // Reported where alpaka's default differs.
        has_line(
            &run,
            "kafka.logRetentionBytes",
            "kafka.config.log.retention.bytes",
        );
        has_line(
            &run,
            "kafka.allowEveryoneIfNoAclFound",
            "kafka.security.plainListener",
        );
    }
}

#[test]
fn the_eks_samples_four_ingresses_and_a_connects_envs_are_planned() {
    let (_ws, run) = import_and_plan("eks.yaml", "o-eks2");
    assert!(!run.config.contains("fake-aws-secret"), "{}", run.config);
    assert!(!run.stdout.contains("fake-aws-secret"));
    assert!(!run.plan.contains("fake-aws-secret"));
    for (ui, port) in [
        ("grafana", 3000),
        ("prometheus", 9090),
        ("ui4kafka", 8080),
        ("k8dashboard", 8443),
    ] {
        let ing = run.planned(&format!("k8s.ingress.{ui}"));
        let a = &ing["metadata"]["annotations"];
        assert_eq!(a["alb.ingress.kubernetes.io/scheme"], "internal", "{ui}");
        assert_eq!(
            a["alb.ingress.kubernetes.io/listen-ports"],
            format!("[{{\"HTTP\": {port}}}]"),
            "{ui}"
        );
    }
    // The connect's envs: the plain one as is, the secret one from a Secret.
    let connect = run.planned("kafka.connect.sinkcon");
    let env = connect["spec"]["template"]["connectContainer"]["env"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        env.contains(&serde_json::json!({"name": "AWS_DEFAULT_REGION", "value": "ap-northeast-2"})),
        "{env:?}"
    );
    assert!(
        env.iter().any(|e| e["name"] == "AWS_SECRET_ACCESS_KEY"
            && e["valueFrom"]["secretKeyRef"]
                == serde_json::json!({"name": "sinkcon-envs", "key": "AWS_SECRET_ACCESS_KEY"})),
        "{env:?}"
    );
    has_line(
        &run,
        "kafka_connect.connects[sinkcon].envs[AWS_SECRET_ACCESS_KEY]",
        "create secret generic sinkcon-envs",
    );
    // Changes of meaning, with the key that keeps the original's value.
    has_line(
        &run,
        "grafana.ingress.annotations.alb.ingress.kubernetes.io/group.name",
        "alb.ingress.kubernetes.io/group.name: public",
    );
    has_line(&run, "kafka_connect.connects", "connect-cluster");
    has_line(
        &run,
        "kafka_connect.connects[sinkcon].connector_groups[s3].connectors[log1]",
        "sinkcon-s3-log1.sh",
    );
}

#[test]
fn the_users_init_command_is_kept_and_a_jdbc_url_password_never_written() {
    let (_ws, run) = import_and_plan("mkb.yaml", "o-mkb2");
    let cfg: serde_json::Value = serde_saphyr::from_str(&run.config).unwrap();
    assert_eq!(
        cfg["init"]["commands"],
        serde_json::json!(["create-test-db.sh"])
    );
    has_line(
        &run,
        "init.commands[srccon-mydb_log-log1.sh]",
        "registers connectors itself",
    );
    let job = run.planned("k8s.job.init");
    let text = job.to_string();
    assert!(text.contains("create-test-db.sh"), "{text}");
    assert!(!text.contains("srccon-mydb_log-log1.sh"), "{text}");
    // `;password=` in a SQL Server URL: an environment reference, in no file, line or plan.
    assert_eq!(
        cfg["kafka_connect"]["connects"][0]["connector_groups"][1]["common"]["connection.url"]["fromEnv"],
        "SRCCON_MSSQL_CONNECTION_URL"
    );
    for (what, text) in [
        ("config", &run.config),
        ("profile", &run.profile),
        ("report", &run.stdout),
        ("plan --json", &run.plan),
    ] {
        assert!(
            !text.contains("fake-url-pass"),
            "the password reached the {what}"
        );
    }
    let connector = run.planned("connector.srccon.mssql.orders");
    assert!(
        connector.to_string().contains("${secrets:"),
        "the URL reaches the connector through the config provider: {connector}"
    );
}

#[test]
fn the_charts_own_values_import_with_a_warning_for_its_duplicate_loki() {
    let (_ws, run) = import_and_plan("chart-values.yaml", "o-chart2");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains(": loki: warning: duplicate key, also at line")),
        "{}",
        run.stdout
    );
    let cfg: serde_json::Value = serde_saphyr::from_str(&run.config).unwrap();
    // helm kept the last `loki:` block.
    assert_eq!(cfg["loki"]["enabled"], false);
    assert_eq!(cfg["loki"]["retention_period"], "72h");
}
