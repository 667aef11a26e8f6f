//! Every third-party chart and AWS-managed policy alpaka deploys, pinned in one place.
//! Bumping a version is a one-line change here (and, for the LB controller, its policy file).

/// A helm chart pinned by version. `repo` is a chart repository URL, or empty when `chart` is an
/// OCI reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartPin {
    /// Release name (and the resource id suffix: `helm.<release>`).
    pub release: &'static str,
    pub chart: &'static str,
    pub repo: &'static str,
    pub version: &'static str,
}

pub const STRIMZI: ChartPin = ChartPin {
    release: "strimzi-kafka-operator",
    chart: "oci://quay.io/strimzi-helm/strimzi-kafka-operator",
    repo: "",
    version: "1.2.0",
};

/// The last operator with ZooKeeper support (Kafka 3.8–3.9, API v1beta2), for `kafka.mode:
/// zookeeper` only. Same release name: switching modes changes this one release.
pub const STRIMZI_LEGACY: ChartPin = ChartPin {
    release: "strimzi-kafka-operator",
    chart: "oci://quay.io/strimzi-helm/strimzi-kafka-operator",
    repo: "",
    version: "0.45.1",
};

pub const KUBE_PROMETHEUS_STACK: ChartPin = ChartPin {
    release: "kube-prometheus-stack",
    chart: "kube-prometheus-stack",
    repo: "https://prometheus-community.github.io/helm-charts",
    version: "93.9.0",
};

pub const KMINION: ChartPin = ChartPin {
    release: "kminion",
    chart: "kminion",
    repo: "https://charts.redpanda.com",
    version: "0.15.2",
};

/// The open-source Loki chart moved to grafana-community in March 2026; grafana's own repo now
/// carries only enterprise maintenance releases. 18.11.0 (Loki 3.7.6) is the newest entry of
/// that repository's index (generated 2026-08-20; digest d4d99424…, docs/chart-versions.md).
/// (An earlier pin, 12.0.1, was never released: it exists only in a pull request's merge.)
pub const LOKI: ChartPin = ChartPin {
    release: "loki",
    chart: "loki",
    repo: "https://grafana-community.github.io/helm-charts",
    version: "18.11.0",
};

/// The Loki chart's `deploymentMode` for one process doing everything: `Monolithic` since chart
/// 12.0.0, where `SingleBinary` became a deprecated alias.
pub const LOKI_MONOLITHIC_MODE: &str = "Monolithic";

/// Log shipper (Promtail is deprecated in favour of Alloy). 1.11.1 (Alloy v1.18.1) is the newest
/// alloy entry of grafana's chart index that could be read (generated 2026-08-20; created
/// 2026-08-06, digest cc4cd48a…, docs/chart-versions.md); alpaka's values were rendered with it.
pub const ALLOY: ChartPin = ChartPin {
    release: "alloy",
    chart: "alloy",
    repo: "https://grafana.github.io/helm-charts",
    version: "1.11.1",
};

/// kafbat, the maintained successor of provectus/kafka-ui.
pub const KAFKA_UI: ChartPin = ChartPin {
    release: "kafka-ui",
    chart: "kafka-ui",
    repo: "https://kafbat.github.io/helm-charts",
    version: "1.6.5",
};

/// Headlamp replaces the archived Kubernetes Dashboard.
pub const HEADLAMP: ChartPin = ChartPin {
    release: "headlamp",
    chart: "headlamp",
    repo: "https://kubernetes-sigs.github.io/headlamp/",
    version: "0.42.0",
};

/// Chart 3.5.0 ships controller v3.5.0 (since v3 the chart version is the controller's without
/// the `v`): eks-charts' index lists `aws-load-balancer-controller-3.5.0.tgz`, created
/// 2026-08-03, digest 45051f63…; docs/chart-versions.md has the provenance.
pub const AWS_LOAD_BALANCER_CONTROLLER: ChartPin = ChartPin {
    release: "aws-load-balancer-controller",
    chart: "aws-load-balancer-controller",
    repo: "https://aws.github.io/eks-charts",
    version: "3.5.0",
};

/// Every chart alpaka installs at its current pin (the legacy Strimzi pin aside).
pub const CHARTS: &[&ChartPin] = &[
    &STRIMZI,
    &KUBE_PROMETHEUS_STACK,
    &KMINION,
    &LOKI,
    &ALLOY,
    &KAFKA_UI,
    &HEADLAMP,
    &AWS_LOAD_BALANCER_CONTROLLER,
];

/// The controller's published IAM policy for the pinned version (`docs/install/iam_policy.json`
/// at tag v3.5.0, byte for byte), kept in `policies/` and compiled into the binary.
pub const LB_CONTROLLER_POLICY_FILE: &str =
    "policies/aws-load-balancer-controller-v3.5.0-iam-policy.json";

/// Its sha256, as recorded where it was copied from (a test holds the file to it).
pub const LB_CONTROLLER_POLICY_SHA256: &str =
    "16f232c9d9f79366fe949c4550ad517a202380058a9e48d45a4e215044a20a6a";

pub const EKS_CLUSTER_POLICIES: &[&str] = &["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"];
pub const EKS_NODE_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
];
/// The EKS access policy alpaka associates with its admins' access entries, cluster-wide
/// (Amazon EKS User Guide, "Review access policy permissions").
pub const EKS_CLUSTER_ADMIN_ACCESS_POLICY: &str =
    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
pub const EBS_CSI_POLICY: &str = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy";

/// Values paths alpaka may set on each release: every one confirmed against the chart's
/// documented values (`docs/chart-versions.md` lists where). A path ending in `.*` is a subtree
/// the chart passes through as free-form config. A misspelt key does nothing in helm, silently:
/// the tests hold every generated values path to this list.
pub fn verified_values(release: &str) -> &'static [&'static str] {
    match release {
        "strimzi-kafka-operator" => &[
            "watchNamespaces",
            "extraEnvs",
            "nodeSelector.*",
            "tolerations",
            // Issue 25 (the mirror): 1.2.0 values.yaml lines 10 and 19; the Deployment template
            // turns a string `image.imagePullSecrets` into STRIMZI_IMAGE_PULL_SECRETS.
            "defaultImageRegistry",
            "image.imagePullSecrets",
        ],
        "kube-prometheus-stack" => &[
            "prometheus.enabled",
            "prometheus.prometheusSpec.retention",
            "prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues",
            "prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues",
            "prometheus.prometheusSpec.nodeSelector.*",
            "prometheus.prometheusSpec.tolerations",
            "grafana.enabled",
            "grafana.admin.existingSecret",
            "grafana.admin.userKey",
            "grafana.admin.passwordKey",
            "grafana.dashboardProviders.*",
            "grafana.dashboards.*",
            "grafana.additionalDataSources",
            "grafana.nodeSelector.*",
            "grafana.tolerations",
            "grafana.sidecar.datasources.alertmanager.enabled",
            "grafana.persistence.enabled",
            "grafana.persistence.size",
            "grafana.persistence.storageClassName",
            "alertmanager.enabled",
            "alertmanager.alertmanagerSpec.retention",
            "alertmanager.alertmanagerSpec.nodeSelector.*",
            "alertmanager.alertmanagerSpec.tolerations",
            "alertmanager.alertmanagerSpec.useExistingSecret",
            "alertmanager.alertmanagerSpec.configSecret",
            "additionalPrometheusRulesMap.*",
            "prometheusOperator.nodeSelector.*",
            "prometheusOperator.tolerations",
            "prometheusOperator.admissionWebhooks.patch.nodeSelector.*",
            "prometheusOperator.admissionWebhooks.patch.tolerations",
            "kube-state-metrics.nodeSelector.*",
            "kube-state-metrics.tolerations",
            "nodeExporter.enabled",
            "prometheus-node-exporter.namespaceOverride",
            // Issue 25: kps values.yaml `global.imageRegistry`/`global.imagePullSecrets` (tag
            // kube-prometheus-stack-88.5.3; read by kps's own templates and, as helm globals,
            // by the grafana 12.11.1, kube-state-metrics 8.4.0, node-exporter 4.56.1 subcharts).
            "global.imageRegistry",
            "global.imagePullSecrets",
        ],
        "kminion" => &[
            "kminion.config.*",
            "serviceMonitor.create",
            "serviceMonitor.interval",
            "serviceMonitor.scrapeTimeout",
            "deployment.env.secretKeyRefs",
            "deployment.volumes.secrets",
            // Issue 25: charts/kminion/values.yaml at tag kminion-0.15.2 (`image.repository`,
            // `imagePullSecrets`, copied into the pod spec by templates/deployment.yaml).
            "image.repository",
            "imagePullSecrets",
            "nodeSelector.*",
            "tolerations",
        ],
        "loki" => &[
            "deploymentMode",
            "loki.auth_enabled",
            "loki.commonConfig.replication_factor",
            "loki.storage.type",
            "loki.schemaConfig.*",
            "loki.limits_config.*",
            "loki.compactor.*",
            "singleBinary.replicas",
            "singleBinary.nodeSelector.*",
            "singleBinary.tolerations",
            "write.replicas",
            "read.replicas",
            "backend.replicas",
            "chunksCache.enabled",
            "resultsCache.enabled",
            "gateway.enabled",
            "lokiCanary.enabled",
            "test.enabled",
            // Issue 25: charts/loki/values.yaml at tag loki-18.11.0 (lines 13 and 59).
            "global.imageRegistry",
            "imagePullSecrets",
        ],
        "alloy" => &[
            "alloy.configMap.content",
            "controller.type",
            "controller.replicas",
            "controller.nodeSelector.*",
            "controller.tolerations",
            // Issue 25: the alloy chart's `global.image.registry`/`global.image.pullSecrets`
            // (operations/helm/charts/alloy/values.yaml; read at chart 0.12.5, not at 1.11.1).
            "global.image.registry",
            "global.image.pullSecrets",
        ],
        // envs.secretMappings: kafbat/helm-charts charts/kafka-ui/values.yaml since 1.4.2
        // (c61305f), rendered as env `valueFrom.secretKeyRef` by templates/deployment.yaml.
        "kafka-ui" => &[
            "yamlApplicationConfig.*",
            "envs.secretMappings.*",
            // volumes, volumeMounts: the same chart's templates/deployment.yaml writes them as given.
            "volumes",
            "volumeMounts",
            // Issue 25: `image.registry`, `imagePullSecrets` (kafbat/helm-charts
            // charts/kafka-ui/values.yaml, read at chart 1.5.2, the newest in the snapshot).
            "image.registry",
            "imagePullSecrets",
            "nodeSelector.*",
            "tolerations",
        ],
        "headlamp" => &[
            "clusterRoleBinding.create",
            "config.inCluster",
            // Issue 25: headlamp charts/headlamp/values.yaml `image.registry`, `imagePullSecrets`.
            "image.registry",
            "imagePullSecrets",
            "nodeSelector.*",
            "tolerations",
        ],
        "aws-load-balancer-controller" => &[
            "clusterName",
            "region",
            "vpcId",
            "serviceAccount.create",
            "serviceAccount.name",
            // Issue 25: 3.5.0 values.yaml `image.repository`, `imagePullSecrets`.
            "image.repository",
            "imagePullSecrets",
            // values-3.5.0.yaml `enableShield`, `enableWaf`, `enableWafv2` (each "default true").
            "enableShield",
            "enableWaf",
            "enableWafv2",
        ],
        _ => &[],
    }
}
