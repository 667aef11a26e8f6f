//! The EKS control plane's settings: what `validate` refuses (an endpoint nobody can reach, an
//! admin EKS cannot name) and the one-line warning for each weakening of a default the user
//! chose (docs/security.md, "EKS control plane").

use super::schema::DocPath;
use super::yaml::Node;
use crate::diag::Diagnostic;
use crate::model::profile::{Eks, EksLogType, NatGateway};

fn at<'a>(node: &'a Node, keys: &[&str]) -> Option<&'a Node> {
    keys.iter().try_fold(node, |n, k| n.get(k))
}

fn located(n: &Node, path: &str, message: String, warning: bool) -> Diagnostic {
    let (file, line, col) = (n.origin.file.to_path_buf(), n.origin.line, n.origin.column);
    if warning {
        Diagnostic::warning(file, line, col, path, message)
    } else {
        Diagnostic::error(file, line, col, path, message)
    }
}

/// `0.0.0.0/0` or `::/0` (any spelling of a zero-length prefix): the whole internet.
pub fn is_open_to_all(cidr: &str) -> bool {
    cidr.split_once('/').is_some_and(|(_, p)| p == "0")
}

/// The VPC endpoints nodes in private subnets without a route to the internet need (EKS user
/// guide, "Deploy private clusters with limited internet access"): images (ECR and its S3
/// layers), the VPC CNI's and EBS CSI driver's EC2 calls, IRSA's STS, the LB controller's ELB.
pub const PRIVATE_CLUSTER_ENDPOINTS: &str =
    "ec2, ecr.api, ecr.dkr, s3 (gateway), sts, elasticloadbalancing";

/// `eks` checks on the profile's own tree (`eks_tree` is its `eks:` block).
pub fn checks(e: &Eks, eks_tree: &Node, out: &mut Vec<Diagnostic>) {
    let node = |keys: &[&str]| at(eks_tree, keys).unwrap_or(eks_tree);
    // A created VPC without its NAT gateway and without the endpoints alpaka would make:
    // nothing in the private subnets reaches AWS's APIs or a registry. Without them the nodes
    // never join (the nodegroup fails after EKS's ~20 min wait).
    if e.vpc.existing.is_none()
        && e.vpc.nat_gateway == NatGateway::None
        && e.vpc.endpoints == Some(false)
    {
        out.push(
            located(
                node(&["vpc", "endpoints"]),
                "eks.vpc.endpoints",
                format!(
                    "no NAT gateway and no VPC endpoints: the nodes in the private subnets reach                      AWS and any registry only through endpoints ({PRIVATE_CLUSTER_ENDPOINTS})                      made outside alpaka; without them the nodes cannot join the cluster or pull                      images"
                ),
                true,
            )
            .with_hint(
                "remove `endpoints: false` (alpaka then makes them), or keep natGateway: single",
            ),
        );
    }
    if e.vpc.existing.is_some() && e.vpc.endpoints == Some(true) {
        out.push(
            located(
                node(&["vpc", "endpoints"]),
                "eks.vpc.endpoints",
                "alpaka makes VPC endpoints only in a VPC it creates; an `existing` VPC brings its own"
                    .into(),
                false,
            )
            .with_hint("remove `endpoints`, and give the existing VPC the endpoints its private subnets need"),
        );
    }
    let cidrs = &e.endpoint.public_access_cidrs;
    if !e.endpoint.private_access && cidrs.is_empty() {
        out.push(
            located(
                node(&["endpoint", "privateAccess"]),
                "eks.endpoint.privateAccess",
                "private access off and no publicAccessCidrs: the API server would be reachable \
                 from nowhere (EKS refuses it)"
                    .into(),
                false,
            )
            .with_expected("privateAccess: true, or at least one CIDR in publicAccessCidrs")
            .with_hint(
                "set eks.endpoint.privateAccess: true (the default), or list the CIDRs that may \
                 reach the API server in eks.endpoint.publicAccessCidrs",
            ),
        );
    } else if !e.endpoint.private_access {
        out.push(located(
            node(&["endpoint", "privateAccess"]),
            "eks.endpoint.privateAccess",
            "private endpoint access is off: nodes and pods reach the API server over its public \
             endpoint"
                .into(),
            true,
        ));
    }
    let cidrs_tree = at(eks_tree, &["endpoint", "publicAccessCidrs"]);
    let items = cidrs_tree.map(Node::as_seq).unwrap_or_default();
    let path = DocPath::root()
        .key("eks")
        .key("endpoint")
        .key("publicAccessCidrs");
    if let Some((i, _)) = cidrs
        .iter()
        .enumerate()
        .find(|(_, c)| is_open_to_all(c.as_str()))
    {
        let n = items.get(i).or(cidrs_tree).unwrap_or(eks_tree);
        out.push(located(
            n,
            &format!("{path}[{i}]"),
            format!(
                "the public API endpoint is open to the whole internet ({}): anyone can try \
                 credentials against it",
                cidrs[i]
            ),
            true,
        ));
    } else if !cidrs.is_empty() {
        out.push(located(
            cidrs_tree.unwrap_or(eks_tree),
            &path.to_string(),
            format!(
                "the public API endpoint is on, reachable from {}",
                cidrs
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            true,
        ));
    }
    if e.logging.is_empty() {
        out.push(located(
            node(&["logging"]),
            "eks.logging",
            "control-plane logging is off: no audit trail of who did what in the cluster".into(),
            true,
        ));
    } else if !e.logging.contains(&EksLogType::Audit) {
        out.push(located(
            node(&["logging"]),
            "eks.logging",
            "control-plane logging without `audit`: no record of who did what in the cluster"
                .into(),
            true,
        ));
    }
    let admins = at(eks_tree, &["admins"]);
    let admin_items = admins.map(Node::as_seq).unwrap_or_default();
    for (i, a) in e.admins.iter().enumerate() {
        if let Some(why) = principal_problem(a) {
            let n = admin_items.get(i).or(admins).unwrap_or(eks_tree);
            out.push(
                located(
                    n,
                    &format!("eks.admins[{i}]"),
                    format!("`{a}` {why}"),
                    false,
                )
                .with_expected("an IAM role or user ARN: arn:aws:iam::<account>:role/<name>")
                .with_hint(
                    "for an assumed role's session (arn:aws:sts::…:assumed-role/R/S) give \
                         the role's ARN (`aws iam get-role --role-name R`)",
                ),
            );
        }
    }
    if let Some(k) = &e.kms_key_arn {
        let parts: Vec<&str> = k.splitn(6, ':').collect();
        if parts.len() != 6
            || parts[0] != "arn"
            || parts[2] != "kms"
            || !parts[5].starts_with("key/")
        {
            out.push(
                located(
                    node(&["kmsKeyArn"]),
                    "eks.kmsKeyArn",
                    format!("`{k}` is not a KMS key ARN"),
                    false,
                )
                .with_expected("arn:aws:kms:<region>:<account>:key/<key id>"),
            );
        }
    }
}

/// Why an access entry cannot name `arn`, if it cannot: EKS takes IAM principals, not STS
/// sessions (botocore EKS model, `CreateAccessEntryRequest.principalArn`).
fn principal_problem(arn: &str) -> Option<&'static str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Some("is not an ARN");
    }
    if parts[2] == "sts" {
        return Some("is an STS session, which EKS access entries cannot name");
    }
    if parts[2] != "iam" || !(parts[5].starts_with("role/") || parts[5].starts_with("user/")) {
        return Some("is not an IAM role or user ARN");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{is_open_to_all, principal_problem};

    #[test]
    fn the_whole_internet_in_any_spelling() {
        assert!(is_open_to_all("0.0.0.0/0"));
        assert!(is_open_to_all("::/0"));
        assert!(!is_open_to_all("203.0.113.0/24"));
    }

    #[test]
    fn admins_are_iam_principals() {
        assert_eq!(
            principal_problem("arn:aws:iam::123456789012:role/ops/Admin"),
            None
        );
        assert_eq!(
            principal_problem("arn:aws:iam::123456789012:user/alice"),
            None
        );
        assert!(
            principal_problem("arn:aws:sts::123456789012:assumed-role/Admin/s")
                .unwrap()
                .contains("STS")
        );
        assert!(principal_problem("Admin").is_some());
    }
}
