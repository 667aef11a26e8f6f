//! The cluster layer: the nodes that make (or find) the Kubernetes cluster a profile names.
//! Returns the nodes plus the id everything in-cluster waits for.

use crate::engine::{Node, Value};
use crate::model::profile::{Cluster, Eks, NatGateway};

use super::{StackError, catalog, eks_nodes, k8s, labels_value, platform, strs};

pub struct ClusterLayer {
    pub nodes: Vec<Node>,
    /// What in-cluster resources depend on: the cluster is there and can run pods.
    pub ready: Vec<String>,
    /// What Ingresses depend on as well: the controller that serves them (EKS: the AWS Load
    /// Balancer Controller, so on destroy every Ingress goes while it still runs).
    pub ingress_ready: Vec<String>,
}

pub fn build(
    profile_name: &str,
    cluster: &Cluster,
    appliers: &[String],
) -> Result<ClusterLayer, StackError> {
    Ok(match cluster {
        Cluster::Minikube(m) => {
            let id = format!("minikube.cluster.{profile_name}");
            let desired = Value::map([
                ("name", Value::str(format!("alpaka-{profile_name}"))),
                ("cpus", Value::Int(i64::from(m.cpus))),
                ("memory", Value::str(m.memory.as_str())),
                ("disk_size", Value::str(m.disk_size.as_str())),
                ("kubernetes_version", Value::str(&m.kubernetes_version)),
                ("driver", Value::str(&m.driver)),
                ("addons", strs(&m.addons)),
                ("node_labels", labels_value(&m.node_labels)),
                // A stopped cluster plans as drift `state: "Stopped" -> "Running"`.
                ("state", Value::str("Running")),
            ]);
            ClusterLayer {
                nodes: vec![Node::new(&id, "minikube.cluster", desired)],
                ready: vec![id],
                ingress_ready: Vec::new(),
            }
        }
        Cluster::K3d(k) => {
            let id = format!("k3d.cluster.{profile_name}");
            let desired = Value::map([
                ("name", Value::str(format!("alpaka-{profile_name}"))),
                ("servers", Value::Int(i64::from(k.servers))),
                ("agents", Value::Int(i64::from(k.agents))),
                ("agent_memory", Value::str(k.agent_memory.as_str())),
                ("image", Value::str(&k.image)),
                (
                    "ports",
                    Value::List(vec![Value::str(format!("{}:80@loadbalancer", k.http_port))]),
                ),
                ("fix_dns", Value::Bool(k.fix_dns)),
                (
                    "agent_labels",
                    Value::List(k.agent_labels.iter().map(labels_value).collect()),
                ),
                ("state", Value::str("Running")),
            ]);
            ClusterLayer {
                nodes: vec![Node::new(&id, "k3d.cluster", desired)],
                ready: vec![id],
                ingress_ready: Vec::new(),
            }
        }
        Cluster::K3s(k) => {
            // Never created or deleted by alpaka: the driver only checks it is reachable.
            let id = format!("k8s.cluster.{profile_name}");
            let desired = Value::map([
                ("kubeconfig", Value::str(&k.kubeconfig)),
                (
                    "context",
                    k.context.as_deref().map(Value::str).unwrap_or(Value::Null),
                ),
            ]);
            ClusterLayer {
                nodes: vec![Node::new(&id, "k8s.existing-cluster", desired)],
                ready: vec![id],
                ingress_ready: Vec::new(),
            }
        }
        Cluster::Eks(e) => return eks(profile_name, e, appliers),
    })
}

pub(super) fn tags(profile: &str, e: &Eks) -> Value {
    let mut t: Vec<(String, Value)> = e
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), Value::str(v)))
        .collect();
    t.push(("alpaka.io/managed-by".into(), Value::str("alpaka")));
    t.push(("alpaka.io/profile".into(), Value::str(profile)));
    t.push(("alpaka.io/cluster".into(), Value::str(&e.cluster_name)));
    Value::map(t)
}

/// The tag naming the alpaka resource an AWS resource is: set in its create call with the others,
/// so whatever alpaka made can be found by it, even when a crash kept it out of the state.
pub const TAG_ID: &str = alpaka_aws::sweep::TAG_ID;

/// Every AWS resource's own tags get [`TAG_ID`] = its resource id (the sweep, which makes
/// nothing, keeps its tags as the filter they are).
pub(super) fn tag_ids(nodes: &mut [Node]) {
    for n in nodes.iter_mut().filter(|n| {
        n.kind != "aws.cluster-sweep"
            && ["aws.", "iam.", "eks."]
                .iter()
                .any(|p| n.kind.starts_with(p))
    }) {
        let id = n.id.to_string();
        if let Value::Map(m) = &mut n.desired
            && let Some(Value::Map(tags)) = m.get_mut("tags")
        {
            tags.insert(TAG_ID.to_owned(), Value::str(id));
        }
    }
}

fn with_tags(tags: &Value, extra: &[(&str, &str)]) -> Value {
    let mut m = tags.as_map().cloned().unwrap_or_default();
    for (k, v) in extra {
        m.insert((*k).to_owned(), Value::str(*v));
    }
    Value::Map(m)
}

/// An IRSA role: trusted by the cluster's OIDC provider for exactly the ServiceAccount `ns/sa`
/// (`sts:AssumeRoleWithWebIdentity`, `sub` and `aud` matched with `StringEquals`).
pub(super) fn irsa_role(
    c: &str,
    name: &str,
    ns: &str,
    sa: &str,
    policies: Value,
    tags: &Value,
) -> Node {
    let oidc = format!("iam.oidc.{c}");
    Node::new(
        format!("iam.role.{c}.{name}"),
        "iam.role",
        Value::map([
            ("name", Value::str(format!("alpaka-{c}-{name}"))),
            (
                "trust",
                Value::map([
                    ("federated", Value::unknown(&oidc, "arn")),
                    ("issuer", Value::unknown(&oidc, "issuer")),
                    (
                        "sub",
                        Value::str(format!("system:serviceaccount:{ns}:{sa}")),
                    ),
                    ("aud", Value::str("sts.amazonaws.com")),
                ]),
            ),
            ("policies", policies),
            ("tags", tags.clone()),
        ]),
    )
    .after(oidc)
}

/// The EBS CSI add-on's configuration (`CreateAddon` `configurationValues`, the chart's
/// `controller.extraVolumeTags`): every volume it makes for a PVC carries the cluster's
/// `kubernetes.io/cluster/<c>=owned` tag and alpaka's tags, so the destroy sweep (and the
/// post-destroy listing) finds it. Only alpaka's own tags: the driver joins them into one
/// `--extra-tags=k=v,…` argument, which user tag values with `,` or `=` would break.
fn ebs_csi_configuration(profile: &str, c: &str) -> String {
    serde_json::json!({"controller": {"extraVolumeTags": {
        format!("kubernetes.io/cluster/{c}"): "owned",
        "alpaka.io/managed-by": "alpaka",
        "alpaka.io/profile": profile,
        "alpaka.io/cluster": c,
    }}})
    .to_string()
}

/// Split an IPv4 CIDR into `/(prefix + 4)` blocks; returns block `i`.
fn subnet_cidr(vpc: &str, i: u32) -> Option<String> {
    let (addr, prefix) = vpc.split_once('/')?;
    let prefix: u32 = prefix.parse().ok()?;
    let octets: Vec<u32> = addr
        .split('.')
        .map(|o| o.parse().ok())
        .collect::<Option<_>>()?;
    let base = octets.iter().fold(0u32, |a, o| (a << 8) | o);
    let new_prefix = prefix + 4;
    if new_prefix > 28 || i >= 16 {
        return None;
    }
    let start = base + (i << (32 - new_prefix));
    Some(format!(
        "{}.{}.{}.{}/{new_prefix}",
        start >> 24,
        (start >> 16) & 255,
        (start >> 8) & 255,
        start & 255
    ))
}

/// Where an access entry's principal came from: `eks.admins`, or the principal that applied
/// (kept for every applier not listed, so one team member's apply never removes another's).
pub const ACCESS_FROM_ADMINS: &str = "admins";
pub const ACCESS_FROM_APPLIER: &str = "applier";

/// The id of the access entry for `principal` on cluster `c`: keyed by the principal's ARN
/// resource (`role/ops/Deployer`, `user/alice`), so entries never change hands.
pub fn access_entry_id(c: &str, principal: &str) -> String {
    let resource = principal.splitn(6, ':').nth(5).unwrap_or(principal);
    format!("eks.access-entry.{c}.{resource}")
}

/// The cluster's endpoint, logging and encryption attributes, in the shape the driver reads
/// back.
fn control_plane_attrs(e: &Eks) -> Vec<(&'static str, Value)> {
    let mut logging: Vec<_> = e.logging.clone();
    logging.sort();
    logging.dedup();
    vec![
        (
            "endpoint_private_access",
            Value::Bool(e.endpoint.private_access),
        ),
        (
            "public_access_cidrs",
            Value::List(
                e.endpoint
                    .public_access_cidrs
                    .iter()
                    .map(|c| Value::str(c.as_str()))
                    .collect(),
            ),
        ),
        (
            "logging",
            Value::List(logging.iter().map(|l| Value::str(l.as_str())).collect()),
        ),
        (
            "kms_key_arn",
            e.kms_key_arn
                .as_deref()
                .map(Value::str)
                .unwrap_or(Value::Null),
        ),
    ]
}

fn eks(profile: &str, e: &Eks, appliers: &[String]) -> Result<ClusterLayer, StackError> {
    let c = e.cluster_name.as_str();
    let tags = tags(profile, e);
    let cluster_tag = format!("kubernetes.io/cluster/{c}");
    let mut nodes = Vec::new();
    let azs: Vec<String> = (0..e.vpc.az_count)
        .map(|i| format!("{}{}", e.region, (b'a' + i as u8) as char))
        .collect();

    // Network: a new VPC, or the user's (never deleted: no node owns it).
    let (vpc_id, public, private): (Value, Vec<Value>, Vec<Value>) =
        if let Some(x) = &e.vpc.existing {
            (
                Value::str(&x.vpc_id),
                x.public_subnet_ids.iter().map(Value::str).collect(),
                x.private_subnet_ids.iter().map(Value::str).collect(),
            )
        } else {
            let cidr = e
                .vpc
                .cidr
                .as_ref()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_else(|| "10.0.0.0/16".into());
            let vpc = format!("aws.vpc.{c}");
            nodes.push(Node::new(
                &vpc,
                "aws.vpc",
                Value::map([
                    ("cidr", Value::str(&cidr)),
                    (
                        "tags",
                        with_tags(&tags, &[("Name", &format!("alpaka-{c}"))]),
                    ),
                ]),
            ));
            let igw = format!("aws.igw.{c}");
            nodes.push(
                Node::new(
                    &igw,
                    "aws.internet-gateway",
                    Value::map([
                        ("vpc_id", Value::unknown(&vpc, "id")),
                        ("tags", tags.clone()),
                    ]),
                )
                .after(&vpc),
            );
            let mut public = Vec::new();
            let mut private = Vec::new();
            for (i, az) in azs.iter().enumerate() {
                for (kind, offset, role) in [
                    ("public", 0u32, "kubernetes.io/role/elb"),
                    ("private", 8, "kubernetes.io/role/internal-elb"),
                ] {
                    let id = format!("aws.subnet.{c}.{kind}-{az}");
                    let block = subnet_cidr(&cidr, offset + i as u32).unwrap_or_default();
                    nodes.push(
                        Node::new(
                            &id,
                            "aws.subnet",
                            Value::map([
                                ("vpc_id", Value::unknown(&vpc, "id")),
                                ("cidr", Value::str(block)),
                                ("availability_zone", Value::str(az)),
                                ("map_public_ip_on_launch", Value::Bool(kind == "public")),
                                (
                                    "tags",
                                    with_tags(&tags, &[(role, "1"), (&cluster_tag, "shared")]),
                                ),
                            ]),
                        )
                        .after(&vpc),
                    );
                    let r = Value::unknown(&id, "id");
                    if kind == "public" {
                        public.push(r)
                    } else {
                        private.push(r)
                    }
                }
            }
            let public_ids: Vec<String> = azs
                .iter()
                .map(|az| format!("aws.subnet.{c}.public-{az}"))
                .collect();
            let private_ids: Vec<String> = azs
                .iter()
                .map(|az| format!("aws.subnet.{c}.private-{az}"))
                .collect();
            let rt_public = format!("aws.route-table.{c}.public");
            nodes.push(
                public_ids.iter().fold(
                    Node::new(
                        &rt_public,
                        "aws.route-table",
                        Value::map([
                            ("vpc_id", Value::unknown(&vpc, "id")),
                            (
                                "default_route",
                                Value::map([("internet_gateway_id", Value::unknown(&igw, "id"))]),
                            ),
                            ("subnet_ids", Value::List(public.clone())),
                            ("tags", tags.clone()),
                        ]),
                    )
                    .after(&vpc)
                    .after(&igw),
                    |n, s| n.after(s),
                ),
            );
            let mut private_route = Value::map([
                ("vpc_id", Value::unknown(&vpc, "id")),
                ("subnet_ids", Value::List(private.clone())),
            ]);
            let mut private_deps: Vec<String> = private_ids.clone();
            if e.vpc.nat_gateway == NatGateway::Single {
                let eip = format!("aws.eip.{c}.nat");
                let nat = format!("aws.nat-gateway.{c}");
                nodes.push(Node::new(
                    &eip,
                    "aws.eip",
                    Value::map([("tags", tags.clone())]),
                ));
                nodes.push(
                    Node::new(
                        &nat,
                        "aws.nat-gateway",
                        Value::map([
                            ("subnet_id", Value::unknown(&public_ids[0], "id")),
                            ("allocation_id", Value::unknown(&eip, "allocation_id")),
                            ("tags", tags.clone()),
                        ]),
                    )
                    .after(&public_ids[0])
                    .after(&eip)
                    .after(&igw),
                );
                if let Value::Map(m) = &mut private_route {
                    m.insert(
                        "default_route".into(),
                        Value::map([("nat_gateway_id", Value::unknown(&nat, "id"))]),
                    );
                }
                private_deps.push(nat);
            }
            if let Value::Map(m) = &mut private_route {
                m.insert("tags".into(), tags.clone());
            }
            let rt_private = format!("aws.route-table.{c}.private");
            nodes.push(
                private_deps
                    .iter()
                    .fold(
                        Node::new(&rt_private, "aws.route-table", private_route),
                        |n, d| n.after(d),
                    )
                    .after(&vpc),
            );
            if e.vpc.endpoints_on() {
                nodes.extend(vpc_endpoints(
                    c,
                    e,
                    &vpc,
                    &cidr,
                    (&private_ids, &private),
                    &rt_private,
                    &tags,
                ));
            }
            (Value::unknown(&vpc, "id"), public, private)
        };
    let network_deps: Vec<String> = nodes
        .iter()
        .map(|n| n.id.to_string())
        .filter(|id| {
            id.starts_with("aws.subnet.")
                || id.starts_with("aws.route-table.")
                || id.starts_with("aws.vpc-endpoint.")
        })
        .collect();

    // IAM for the control plane and the nodes.
    let cluster_role = format!("iam.role.{c}.cluster");
    let node_role = format!("iam.role.{c}.node");
    nodes.push(Node::new(
        &cluster_role,
        "iam.role",
        Value::map([
            ("name", Value::str(format!("alpaka-{c}-cluster"))),
            (
                "trust",
                Value::map([("service", Value::str("eks.amazonaws.com"))]),
            ),
            ("policies", strs(catalog::EKS_CLUSTER_POLICIES)),
            ("tags", tags.clone()),
        ]),
    ));
    nodes.push(Node::new(
        &node_role,
        "iam.role",
        Value::map([
            ("name", Value::str(format!("alpaka-{c}-node"))),
            (
                "trust",
                Value::map([("service", Value::str("ec2.amazonaws.com"))]),
            ),
            ("policies", strs(catalog::EKS_NODE_POLICIES)),
            ("tags", tags.clone()),
        ]),
    ));

    let cluster = format!("eks.cluster.{c}");
    let all_subnets: Vec<Value> = public.iter().chain(private.iter()).cloned().collect();
    let mut cluster_attrs = vec![
        ("name", Value::str(c)),
        ("region", Value::str(&e.region)),
        ("version", Value::str(&e.kubernetes_version)),
        ("role_arn", Value::unknown(&cluster_role, "arn")),
        ("subnet_ids", Value::List(all_subnets)),
        ("authentication_mode", Value::str("API")),
        // Admin access comes from explicit access entries (below), not from having created
        // the cluster (AWS EKS Best Practices Guide, iam.adoc; terraform-aws-eks v21).
        (
            "bootstrap_cluster_creator_admin_permissions",
            Value::Bool(false),
        ),
        ("wait_timeout", Value::str(e.wait_timeout.as_str())),
        ("tags", tags.clone()),
    ];
    cluster_attrs.extend(control_plane_attrs(e));
    nodes.push(network_deps.iter().fold(
        Node::new(&cluster, "eks.cluster", Value::map(cluster_attrs)).after(&cluster_role),
        |n, d| n.after(d),
    ));

    let mut ready_deps = Vec::new();
    // Cluster-admin access entries: every listed admin, and each principal that applies unless
    // listed. In-cluster work waits for them (it authenticates as the applier).
    let mut principals: Vec<(&str, &str)> = Vec::new();
    for a in &e.admins {
        if !principals.iter().any(|(p, _)| p == a) {
            principals.push((a, ACCESS_FROM_ADMINS));
        }
    }
    for a in appliers {
        if !principals.iter().any(|(p, _)| p == a) {
            principals.push((a, ACCESS_FROM_APPLIER));
        }
    }
    for (principal, from) in principals {
        let id = access_entry_id(c, principal);
        nodes.push(
            Node::new(
                &id,
                "eks.access-entry",
                Value::map([
                    ("cluster", Value::str(c)),
                    ("principal_arn", Value::str(principal)),
                    (
                        "policy_arn",
                        Value::str(catalog::EKS_CLUSTER_ADMIN_ACCESS_POLICY),
                    ),
                    ("from", Value::str(from)),
                    ("tags", tags.clone()),
                ]),
            )
            .after(&cluster),
        );
        ready_deps.push(id);
    }
    for g in &e.nodegroups {
        let made = eks_nodes::nodegroup(c, e, g, &cluster, &node_role, &private, &tags);
        ready_deps.extend(made.last().map(|n| n.id.to_string()));
        nodes.extend(made);
    }
    // NetworkPolicies enforced (the VPC CNI add-on); everything in-cluster waits for it.
    let vpc_cni = eks_nodes::vpc_cni(c, e, &cluster, &tags);
    let vpc_cni_id = vpc_cni.id.to_string();
    nodes.push(vpc_cni);

    // IRSA: the OIDC provider, then one role per service account.
    let oidc = format!("iam.oidc.{c}");
    nodes.push(
        Node::new(
            &oidc,
            "iam.oidc-provider",
            Value::map([
                ("issuer", Value::unknown(&cluster, "oidc_issuer")),
                ("client_ids", strs(&["sts.amazonaws.com"])),
                ("tags", tags.clone()),
            ]),
        )
        .after(&cluster),
    );
    let ebs_role = irsa_role(
        c,
        "ebs-csi",
        "kube-system",
        "ebs-csi-controller-sa",
        strs(&[catalog::EBS_CSI_POLICY]),
        &tags,
    );
    let ebs_role_id = ebs_role.id.to_string();
    nodes.push(ebs_role);
    let addon = format!("eks.addon.{c}.aws-ebs-csi-driver");
    nodes.push(
        ready_deps.iter().fold(
            Node::new(
                &addon,
                "eks.addon",
                Value::map([
                    ("cluster", Value::str(c)),
                    ("name", Value::str("aws-ebs-csi-driver")),
                    // After an upgrade the add-on moves to EKS's default version for it.
                    ("kubernetes_version", Value::str(&e.kubernetes_version)),
                    (
                        "service_account_role_arn",
                        Value::unknown(&ebs_role_id, "arn"),
                    ),
                    (
                        "configuration_values",
                        Value::str(ebs_csi_configuration(profile, c)),
                    ),
                    ("tags", tags.clone()),
                ]),
            )
            .after(&cluster)
            .after(&ebs_role_id),
            |n, d| n.after(d),
        ),
    );
    // Destroy: after everything in the cluster is gone (it is part of what in-cluster work waits
    // for) and before the add-on, nodegroups, cluster and network (it depends on them), delete
    // what controllers made outside the graph: load balancers, target groups, security groups,
    // and PVC volumes.
    let sweep = format!("aws.cluster-sweep.{c}");
    let sweep_attrs = vec![
        ("cluster", Value::str(c)),
        ("profile", Value::str(profile)),
        ("vpc_id", vpc_id.clone()),
    ];
    nodes.push(
        ready_deps.iter().fold(
            Node::new(&sweep, "aws.cluster-sweep", Value::map(sweep_attrs))
                .after(&cluster)
                .after(&addon)
                .after(&vpc_cni_id),
            |n, d| n.after(d),
        ),
    );
    // In-cluster nodes reach the cluster through the kubeconfig `eks.cluster` writes.
    let cl = platform::cluster_access(&cluster);
    let gp3 = "k8s.storageclass.gp3".to_owned();
    nodes.push(
        Node::new(
            &gp3,
            "k8s.storageclass",
            platform::manifest(&k8s::gp3_storage_class(e.ebs_kms_key_arn.as_deref()), &cl)?,
        )
        .after(&cluster)
        .after(&addon)
        // Every in-cluster object is gone before the sweep runs.
        .after(&sweep),
    );

    // AWS Load Balancer Controller: policy, IRSA role, service account, chart.
    let lbc = catalog::AWS_LOAD_BALANCER_CONTROLLER;
    let policy = format!("iam.policy.{c}.lb-controller");
    nodes.push(Node::new(
        &policy,
        "iam.policy",
        Value::map([
            (
                "name",
                Value::str(format!("alpaka-{c}-AWSLoadBalancerControllerIAMPolicy")),
            ),
            (
                "document_file",
                Value::str(catalog::LB_CONTROLLER_POLICY_FILE),
            ),
            ("tags", tags.clone()),
        ]),
    ));
    let lbc_role = irsa_role(
        c,
        "lb-controller",
        "kube-system",
        "aws-load-balancer-controller",
        Value::List(vec![Value::unknown(&policy, "arn")]),
        &tags,
    )
    .after(&policy);
    let lbc_role_id = lbc_role.id.to_string();
    nodes.push(lbc_role);
    let sa = "k8s.serviceaccount.kube-system.aws-load-balancer-controller".to_owned();
    let mut sa_manifest = platform::manifest(
        &k8s::service_account("aws-load-balancer-controller", "kube-system"),
        &cl,
    )?;
    if let Value::Map(m) = &mut sa_manifest
        && let Some(Value::Map(meta)) = m.get_mut("metadata")
    {
        meta.insert(
            "annotations".into(),
            Value::map([(
                k8s::IRSA_ROLE_ANNOTATION,
                Value::unknown(&lbc_role_id, "arn"),
            )]),
        );
    }
    nodes.push(
        ready_deps.iter().fold(
            Node::new(&sa, "k8s.serviceaccount", sa_manifest)
                .after(&cluster)
                .after(&lbc_role_id)
                .after(&sweep),
            |n, d| n.after(d),
        ),
    );
    let release = format!("helm.{}", lbc.release);
    nodes.push(
        Node::new(
            &release,
            "helm.release",
            platform::with_cluster(
                super::release_desired(&lbc, "kube-system", lbc_values(c, e, vpc_id)),
                &cl,
            ),
        )
        .after(&sa)
        // Deleted before the sweep: the controller's leftovers are swept once it is gone.
        .after(&sweep),
    );

    // In-cluster work waits for nodes, storage and the sweep (so on destroy it is all gone before
    // the sweep runs); Ingresses also wait for the controller that serves them.
    ready_deps.push(sweep);
    ready_deps.push(gp3);
    tag_ids(&mut nodes);
    Ok(ClusterLayer {
        nodes,
        ready: ready_deps,
        ingress_ready: vec![release],
    })
}

/// The LB controller's values. Without a NAT gateway it reaches AWS only through the VPC
/// endpoints, and Shield, WAF Classic and WAFv2 have none alpaka makes: their calls on every
/// Ingress reconcile time out and fail it (kubernetes-sigs/aws-load-balancer-controller #1734,
/// #2797; the maintainers' answer in #1855 and #1779: turn them off with `enable-shield`,
/// `enable-waf`, `enable-wafv2`, values-3.5.0.yaml `enableShield`/`enableWaf`/`enableWafv2`).
fn lbc_values(c: &str, e: &Eks, vpc_id: Value) -> Value {
    let mut v = vec![
        ("clusterName", Value::str(c)),
        ("region", Value::str(&e.region)),
        ("vpcId", vpc_id),
        (
            "serviceAccount",
            Value::map([
                ("create", Value::Bool(false)),
                ("name", Value::str("aws-load-balancer-controller")),
            ]),
        ),
    ];
    if e.vpc.existing.is_none() && e.vpc.nat_gateway == NatGateway::None {
        v.extend([
            ("enableShield", Value::Bool(false)),
            ("enableWaf", Value::Bool(false)),
            ("enableWafv2", Value::Bool(false)),
        ]);
    }
    Value::map(v)
}

/// The interface endpoints a private cluster's nodes need (EKS user guide, "Deploy private
/// clusters with limited internet access"): EC2 (the VPC CNI, the EBS CSI driver, the LB
/// controller), ECR's API and registry (images), STS (IRSA), Elastic Load Balancing (the LB
/// controller). S3, where ECR keeps image layers, is a gateway endpoint on the private route
/// table.
pub const INTERFACE_ENDPOINTS: &[&str] =
    &["ec2", "ecr.api", "ecr.dkr", "sts", "elasticloadbalancing"];

/// The VPC endpoints (`eks.vpc.endpoints`) and the security group their interfaces share
/// (HTTPS from the VPC's CIDR only), in the private subnets.
fn vpc_endpoints(
    c: &str,
    e: &Eks,
    vpc: &str,
    cidr: &str,
    (private_ids, private): (&[String], &[Value]),
    rt_private: &str,
    tags: &Value,
) -> Vec<Node> {
    let sg = format!("aws.security-group.{c}.endpoints");
    let mut nodes = vec![
        Node::new(
            &sg,
            "aws.security-group",
            Value::map([
                ("vpc_id", Value::unknown(vpc, "id")),
                ("name", Value::str(format!("alpaka-{c}-endpoints"))),
                (
                    "description",
                    Value::str("alpaka: HTTPS to the VPC endpoints from inside the VPC"),
                ),
                ("https_from", strs(&[cidr.to_owned()])),
                ("tags", tags.clone()),
            ]),
        )
        .after(vpc),
    ];
    for svc in INTERFACE_ENDPOINTS {
        let id = format!("aws.vpc-endpoint.{c}.{svc}");
        nodes.push(
            private_ids.iter().fold(
                Node::new(
                    &id,
                    "aws.vpc-endpoint",
                    Value::map([
                        ("vpc_id", Value::unknown(vpc, "id")),
                        (
                            "service_name",
                            Value::str(format!("com.amazonaws.{}.{svc}", e.region)),
                        ),
                        ("type", Value::str("Interface")),
                        ("subnet_ids", Value::List(private.to_vec())),
                        (
                            "security_group_ids",
                            Value::List(vec![Value::unknown(&sg, "id")]),
                        ),
                        ("private_dns", Value::Bool(true)),
                        ("tags", tags.clone()),
                    ]),
                )
                .after(vpc)
                .after(&sg),
                |n, s| n.after(s),
            ),
        );
    }
    nodes.push(
        Node::new(
            format!("aws.vpc-endpoint.{c}.s3"),
            "aws.vpc-endpoint",
            Value::map([
                ("vpc_id", Value::unknown(vpc, "id")),
                (
                    "service_name",
                    Value::str(format!("com.amazonaws.{}.s3", e.region)),
                ),
                ("type", Value::str("Gateway")),
                (
                    "route_table_ids",
                    Value::List(vec![Value::unknown(rt_private, "id")]),
                ),
                ("tags", tags.clone()),
            ]),
        )
        .after(vpc)
        .after(rt_private),
    );
    nodes
}

#[cfg(test)]
mod tests {
    use super::subnet_cidr;

    #[test]
    fn subnets_split_the_vpc() {
        assert_eq!(
            subnet_cidr("10.0.0.0/16", 0).as_deref(),
            Some("10.0.0.0/20")
        );
        assert_eq!(
            subnet_cidr("10.0.0.0/16", 1).as_deref(),
            Some("10.0.16.0/20")
        );
        assert_eq!(
            subnet_cidr("10.0.0.0/16", 8).as_deref(),
            Some("10.0.128.0/20")
        );
        assert_eq!(subnet_cidr("10.0.0.0/28", 0), None);
    }
}
