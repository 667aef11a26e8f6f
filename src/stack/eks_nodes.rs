//! The EKS nodes: each nodegroup with the launch template alpaka makes for it, and the VPC CNI
//! add-on that enforces NetworkPolicies. Pure, like the rest of the stack.

use crate::engine::{Node, Value};
use crate::model::profile::{Eks, Nodegroup};

use super::{labels_value, strs};

/// Amazon Linux 2023's root device: the EKS-optimized AL2023 AMIs map their root volume there
/// (awslabs/amazon-eks-ami, `templates/al2023/template.json`: `launch_block_device_mappings`
/// `/dev/xvda`). Every `amiType` the profile accepts is AL2023.
const AL2023_ROOT_DEVICE: &str = "/dev/xvda";

/// The launch template of nodegroup `g`: IMDSv2 only with a hop limit of 1 (pods use IRSA, not
/// the node's role: AWS EKS Best Practices Guide, `security/iam`, "Restrict access to the
/// instance profile assigned to the worker node"), an encrypted gp3 root volume of
/// `diskSizeGb` (with the profile's `ebsKmsKeyArn` if set), and the cluster's tags on each
/// instance and its volumes.
fn launch_template(c: &str, e: &Eks, g: &Nodegroup, tags: &Value) -> Node {
    // Instances and their volumes carry who made them, but not `alpaka.io/profile`: the destroy
    // sweep deletes volumes tagged with the profile, and it runs while the nodes still do.
    let mut resource_tags = tags.as_map().cloned().unwrap_or_default();
    resource_tags.remove(alpaka_aws::sweep::TAG_PROFILE);
    Node::new(
        format!("aws.launch-template.{c}.{}", g.name.as_str()),
        "aws.launch-template",
        Value::map([
            (
                "name",
                Value::str(format!("alpaka-{c}-{}", g.name.as_str())),
            ),
            ("root_device", Value::str(AL2023_ROOT_DEVICE)),
            ("volume_size_gb", Value::Int(i64::from(g.disk_size_gb))),
            ("volume_type", Value::str("gp3")),
            ("encrypted", Value::Bool(true)),
            (
                "kms_key_id",
                e.ebs_kms_key_arn
                    .as_deref()
                    .map(Value::str)
                    .unwrap_or_default(),
            ),
            ("http_tokens", Value::str("required")),
            ("http_put_response_hop_limit", Value::Int(1)),
            ("http_endpoint", Value::str("enabled")),
            ("resource_tags", Value::Map(resource_tags)),
            ("tags", tags.clone()),
        ]),
    )
}

/// Nodegroup `g` of cluster node `cluster` with its launch template: the two nodes, the
/// nodegroup's id last.
pub fn nodegroup(
    c: &str,
    e: &Eks,
    g: &Nodegroup,
    cluster: &str,
    node_role: &str,
    private: &[Value],
    tags: &Value,
) -> Vec<Node> {
    let id = format!("eks.nodegroup.{c}.{}", g.name.as_str());
    let lt = launch_template(c, e, g, tags);
    let lt_id = lt.id.to_string();
    let taints = Value::List(
        g.taints
            .iter()
            .map(|t| {
                Value::map([
                    ("key", Value::str(&t.key)),
                    (
                        "value",
                        t.value.as_deref().map(Value::str).unwrap_or(Value::Null),
                    ),
                    ("effect", Value::str(format!("{:?}", t.effect))),
                ])
            })
            .collect(),
    );
    let ng = Node::new(
        &id,
        "eks.nodegroup",
        Value::map([
            ("cluster", Value::str(c)),
            ("name", Value::str(g.name.as_str())),
            ("node_role_arn", Value::unknown(node_role, "arn")),
            ("subnet_ids", Value::List(private.to_vec())),
            ("instance_types", strs(&g.instance_types)),
            // Pinned: EKS's default AMI type changes with Kubernetes versions.
            ("ami_type", Value::str(g.ami_type.as_str())),
            // The disk size is the template's (EKS refuses `diskSize` with a launch template);
            // a new template version (known after apply) rolls the nodegroup in place.
            (
                "launch_template",
                Value::map([
                    ("id", Value::unknown(&lt_id, "id")),
                    ("version", Value::unknown(&lt_id, "version")),
                ]),
            ),
            // The cluster's minor: after a cluster upgrade the nodes follow it.
            ("version", Value::str(e.kubernetes_version.as_str())),
            (
                "scaling",
                Value::map([
                    ("desired", Value::Int(i64::from(g.desired))),
                    ("min", Value::Int(i64::from(g.min))),
                    ("max", Value::Int(i64::from(g.max))),
                ]),
            ),
            ("labels", labels_value(&g.labels)),
            ("taints", taints),
            ("tags", tags.clone()),
        ]),
    )
    .after(cluster)
    .after(node_role)
    .after(&lt_id);
    vec![lt, ng]
}

/// The VPC CNI's configuration: NetworkPolicy enforcement on (the add-on's configuration schema,
/// `DescribeAddonConfiguration --addon-name vpc-cni`: `enableNetworkPolicy`, a string, default
/// "false"; Amazon EKS User Guide, "Restrict Pod network traffic with Kubernetes network
/// policies").
pub const VPC_CNI_CONFIGURATION: &str = r#"{"enableNetworkPolicy":"true"}"#;

/// The `vpc-cni` add-on, managed by alpaka so NetworkPolicies are enforced. EKS installs the
/// CNI self-managed on every cluster; the add-on takes it over at create (`resolveConflicts
/// OVERWRITE`, in the driver). It runs on the nodes' role permissions, as the self-managed one
/// did (the node role has AmazonEKS_CNI_Policy). Its version follows the cluster's minor, like
/// the EBS CSI add-on's.
pub fn vpc_cni(c: &str, e: &Eks, cluster: &str, tags: &Value) -> Node {
    Node::new(
        format!("eks.addon.{c}.vpc-cni"),
        "eks.addon",
        Value::map([
            ("cluster", Value::str(c)),
            ("name", Value::str("vpc-cni")),
            ("kubernetes_version", Value::str(&e.kubernetes_version)),
            ("service_account_role_arn", Value::Null),
            ("configuration_values", Value::str(VPC_CNI_CONFIGURATION)),
            ("tags", tags.clone()),
        ]),
    )
    .after(cluster)
}
