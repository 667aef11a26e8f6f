//! The profile (`profiles/<name>.yaml`): *where* the stack runs — distribution, cluster shape,
//! namespace — and which stack config to use, with optional overrides on top of it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::stack::{Labels, StackConfig};
use super::types::{Cidr, DnsLabel, Duration, Size, TaintEffect};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    Minikube,
    K3d,
    // An existing cluster reached through a kubeconfig (a doc comment would change the schema shape).
    K3s,
    Eks,
}

impl Distribution {
    pub const ALL: [Distribution; 4] = [
        Distribution::Minikube,
        Distribution::K3d,
        Distribution::K3s,
        Distribution::Eks,
    ];

    /// The profile key of this distribution's block.
    pub fn key(self) -> &'static str {
        match self {
            Distribution::Minikube => "minikube",
            Distribution::K3d => "k3d",
            Distribution::K3s => "k3s",
            Distribution::Eks => "eks",
        }
    }
}

impl std::fmt::Display for Distribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub distribution: Distribution,
    /// Stack config: a name under `configs/` or a path relative to the workspace root.
    #[serde(default = "default_config")]
    pub config: String,
    #[serde(default = "default_namespace")]
    pub namespace: DnsLabel,
    /// Same shape as a stack config, merged on top of it (kept raw; already applied to
    /// [`crate::config::Loaded::config`]).
    #[serde(default)]
    #[schemars(with = "StackConfig")]
    pub overrides: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minikube: Option<Minikube>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k3d: Option<K3d>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k3s: Option<K3s>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eks: Option<Eks>,
    /// Where alpaka keeps what it made: `.alpaka/` (default), or an S3 bucket a team shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateSettings>,
    /// Installs without the internet: every image and chart from the team's own mirror.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<Mirror>,
}

/// The profile's `mirror:` block (issue 25). Every image alpaka deploys is pulled from
/// `registry` with its path and tag kept (`quay.io/strimzi/kafka:X` → `<registry>/strimzi/kafka:X`;
/// a Docker Hub library image `mysql:8.4` → `<registry>/library/mysql:8.4`), every chart from
/// `charts`. Helm's credentials for `charts` come from `ALPAKA_MIRROR_CHARTS_USERNAME` and
/// `ALPAKA_MIRROR_CHARTS_PASSWORD` (an https repository) or a prior `helm registry login` (OCI).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Mirror {
    /// The image registry, `host[:port][/prefix]` (no scheme): `registry.example.com/mirror`.
    pub registry: String,
    /// The chart repository: `https://charts.example.com/alpaka` (a helm repository with an
    /// `index.yaml`) or `oci://registry.example.com/charts`.
    pub charts: String,
    /// An existing Secret (type `kubernetes.io/dockerconfigjson`) in the profile's namespace
    /// that every pod alpaka deploys names in `imagePullSecrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secret: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StateBackendKind {
    #[default]
    Local,
    S3,
}

/// The profile's `state:` block. With `backend: s3`, `bucket` and `region` are required; `key`
/// defaults to `alpaka/<profile>.state.json`; objects are encrypted with SSE-S3, or SSE-KMS
/// with `kmsKeyId`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StateSettings {
    #[serde(default)]
    pub backend: StateBackendKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

impl StateSettings {
    /// The state object's key for `profile`.
    pub fn key_for(&self, profile: &str) -> String {
        self.key
            .clone()
            .unwrap_or_else(|| format!("alpaka/{profile}.state.json"))
    }
}

impl Profile {
    /// The block for the profile's distribution, defaults filled in when it was omitted.
    pub fn cluster(&self) -> Cluster {
        match self.distribution {
            Distribution::Minikube => Cluster::Minikube(self.minikube.clone().unwrap_or_default()),
            Distribution::K3d => Cluster::K3d(self.k3d.clone().unwrap_or_default()),
            Distribution::K3s => Cluster::K3s(self.k3s.clone().unwrap_or_default()),
            Distribution::Eks => Cluster::Eks(self.eks.clone().unwrap_or_default()),
        }
    }

    /// Label sets of the nodes this profile's cluster will have; `None` when unknown
    /// (an existing k3s cluster that did not declare its node labels).
    pub fn node_labels(&self) -> Option<Vec<Labels>> {
        match self.cluster() {
            Cluster::Minikube(m) => Some(vec![m.node_labels]),
            Cluster::K3d(k) => {
                // Servers carry no custom labels; agent i carries agentLabels[i].
                let mut nodes: Vec<Labels> = (0..k.servers).map(|_| Labels::new()).collect();
                for i in 0..k.agents as usize {
                    nodes.push(k.agent_labels.get(i).cloned().unwrap_or_default());
                }
                Some(nodes)
            }
            Cluster::K3s(k) if k.node_labels.is_empty() => None,
            Cluster::K3s(k) => Some(k.node_labels),
            Cluster::Eks(e) => Some(e.nodegroups.into_iter().map(|g| g.labels).collect()),
        }
    }
}

/// The resolved distribution block.
// One value per command, made once from the profile: the EKS block's size costs nothing, and a
// Box would only add indirection at every match.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Cluster {
    Minikube(Minikube),
    K3d(K3d),
    K3s(K3s),
    Eks(Eks),
}

fn default_config() -> String {
    "default".into()
}

fn default_namespace() -> DnsLabel {
    DnsLabel::known("alpaka")
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Minikube {
    #[schemars(range(min = 1))]
    pub cpus: u32,
    pub memory: Size,
    pub disk_size: Size,
    pub kubernetes_version: String,
    pub driver: String,
    pub addons: Vec<String>,
    pub node_labels: Labels,
}

impl Default for Minikube {
    fn default() -> Self {
        Minikube {
            cpus: 4,
            memory: Size::known("10g"),
            disk_size: Size::known("40g"),
            kubernetes_version: "v1.34.0".into(),
            driver: "docker".into(),
            addons: vec!["ingress".into(), "metrics-server".into()],
            node_labels: Labels::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct K3d {
    #[schemars(range(min = 1))]
    pub servers: u32,
    pub agents: u32,
    pub agent_memory: Size,
    pub image: String,
    #[schemars(range(min = 1))]
    pub http_port: u16,
    /// `K3D_FIX_DNS=1`.
    pub fix_dns: bool,
    /// One label map per agent, in agent order.
    pub agent_labels: Vec<Labels>,
}

impl Default for K3d {
    fn default() -> Self {
        K3d {
            servers: 1,
            agents: 2,
            agent_memory: Size::known("8g"),
            image: "rancher/k3s:v1.34.1-k3s1".into(),
            http_port: 80,
            fix_dns: true,
            agent_labels: Vec::new(),
        }
    }
}

/// An existing cluster (k3s or any other) reached through a kubeconfig.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct K3s {
    pub kubeconfig: String,
    /// Kubeconfig context; unset = the current context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Label sets the cluster's nodes carry; empty = unknown (node selectors not checked).
    pub node_labels: Vec<Labels>,
}

impl Default for K3s {
    fn default() -> Self {
        K3s {
            kubeconfig: "~/.kube/config".into(),
            context: None,
            node_labels: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Eks {
    pub cluster_name: String,
    pub region: String,
    pub kubernetes_version: String,
    pub vpc: Vpc,
    pub nodegroups: Vec<Nodegroup>,
    pub wait_timeout: Duration,
    pub tags: BTreeMap<String, String>,
    /// Who can reach the API server. Default: the private endpoint only.
    pub endpoint: EksEndpoint,
    /// Control-plane log types exported to CloudWatch Logs; `[]` turns them off.
    pub logging: Vec<EksLogType>,
    /// IAM principal ARNs (roles or users) given cluster admin through EKS access entries.
    pub admins: Vec<String>,
    /// A customer-managed KMS key ARN to envelope-encrypt Kubernetes secrets with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    /// A customer-managed KMS key (ARN) for EBS volumes: the gp3 StorageClass's `kmsKeyId` and
    /// the nodes' root volumes (`arn:aws:kms:<region>:<account>:key/<id>`). Unset: encrypted with
    /// the account's default EBS key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ebs_kms_key_arn: Option<String>,
}

/// The API server endpoint: private access inside the VPC, public access only from the listed
/// CIDRs (an empty list: public access off).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct EksEndpoint {
    pub private_access: bool,
    pub public_access_cidrs: Vec<Cidr>,
}

impl Default for EksEndpoint {
    fn default() -> Self {
        EksEndpoint {
            private_access: true,
            public_access_cidrs: Vec::new(),
        }
    }
}

/// EKS control-plane log types (botocore EKS model 2017-11-01, `LogType`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum EksLogType {
    Api,
    Audit,
    Authenticator,
    ControllerManager,
    Scheduler,
}

impl EksLogType {
    /// The name EKS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            EksLogType::Api => "api",
            EksLogType::Audit => "audit",
            EksLogType::Authenticator => "authenticator",
            EksLogType::ControllerManager => "controllerManager",
            EksLogType::Scheduler => "scheduler",
        }
    }
}

impl Default for Eks {
    fn default() -> Self {
        Eks {
            cluster_name: "alpaka".into(),
            region: "ap-northeast-2".into(),
            kubernetes_version: "1.34".into(),
            vpc: Vpc::default(),
            nodegroups: vec![Nodegroup::default()],
            wait_timeout: Duration::known("30m"),
            tags: BTreeMap::new(),
            endpoint: EksEndpoint::default(),
            // terraform-aws-eks v21's default set (docs/security.md, "EKS control plane").
            logging: vec![
                EksLogType::Api,
                EksLogType::Audit,
                EksLogType::Authenticator,
            ],
            admins: Vec::new(),
            kms_key_arn: None,
            ebs_kms_key_arn: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum NatGateway {
    #[default]
    Single,
    None,
}

/// A VPC to create (`cidr`, `azCount`, `natGateway`) or an `existing` one (not both).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Vpc {
    /// Unset: 10.0.0.0/16 for a created VPC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr: Option<Cidr>,
    #[schemars(range(min = 1, max = 6))]
    pub az_count: u32,
    pub nat_gateway: NatGateway,
    /// VPC endpoints for the private subnets (ec2, ecr.api, ecr.dkr, sts, elasticloadbalancing,
    /// and s3 as a gateway), so nodes reach AWS and ECR without the internet. Unset: on exactly
    /// when `natGateway: none` (the nodes cannot work without them then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing: Option<ExistingVpc>,
}

impl Vpc {
    /// Whether alpaka makes the VPC endpoints (a created VPC only).
    pub fn endpoints_on(&self) -> bool {
        self.existing.is_none()
            && self
                .endpoints
                .unwrap_or(self.nat_gateway == NatGateway::None)
    }

    pub fn effective_cidr(&self) -> Cidr {
        self.cidr
            .clone()
            .unwrap_or_else(|| Cidr::known("10.0.0.0/16"))
    }
}

impl Default for Vpc {
    fn default() -> Self {
        Vpc {
            cidr: None,
            az_count: 2,
            nat_gateway: NatGateway::Single,
            endpoints: None,
            existing: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExistingVpc {
    pub vpc_id: String,
    #[serde(default)]
    pub public_subnet_ids: Vec<String>,
    #[schemars(length(min = 1))]
    pub private_subnet_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Nodegroup {
    pub name: DnsLabel,
    #[schemars(length(min = 1))]
    pub instance_types: Vec<String>,
    #[schemars(range(min = 1))]
    pub disk_size_gb: u32,
    pub desired: u32,
    pub min: u32,
    #[schemars(range(min = 1))]
    pub max: u32,
    pub labels: Labels,
    pub taints: Vec<Taint>,
    pub ami_type: AmiType,
}

/// The EKS-optimized AMI family of a nodegroup (`CreateNodegroup` `amiType`), pinned so a change
/// of EKS's default never changes the nodes. Only Amazon Linux 2023 variants: their root device
/// is `/dev/xvda`, which the launch template's encrypted root volume is mapped to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AmiType {
    #[default]
    #[serde(rename = "AL2023_x86_64_STANDARD")]
    Al2023X86_64Standard,
    #[serde(rename = "AL2023_ARM_64_STANDARD")]
    Al2023Arm64Standard,
    #[serde(rename = "AL2023_x86_64_NVIDIA")]
    Al2023X86_64Nvidia,
    #[serde(rename = "AL2023_ARM_64_NVIDIA")]
    Al2023Arm64Nvidia,
    #[serde(rename = "AL2023_x86_64_NEURON")]
    Al2023X86_64Neuron,
}

impl AmiType {
    /// EKS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AmiType::Al2023X86_64Standard => "AL2023_x86_64_STANDARD",
            AmiType::Al2023Arm64Standard => "AL2023_ARM_64_STANDARD",
            AmiType::Al2023X86_64Nvidia => "AL2023_x86_64_NVIDIA",
            AmiType::Al2023Arm64Nvidia => "AL2023_ARM_64_NVIDIA",
            AmiType::Al2023X86_64Neuron => "AL2023_x86_64_NEURON",
        }
    }
}

impl Default for Nodegroup {
    fn default() -> Self {
        Nodegroup {
            name: DnsLabel::known("default"),
            instance_types: vec!["m5.xlarge".into()],
            disk_size_gb: 100,
            desired: 1,
            min: 1,
            max: 4,
            labels: Labels::new(),
            taints: Vec::new(),
            ami_type: AmiType::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Taint {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub effect: TaintEffect,
}
