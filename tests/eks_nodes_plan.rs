//! The EKS nodes and storage defaults as `plan --profile eks-prod --refresh=false --json` shows
//! them (no AWS reached): encrypted gp3 class, a launch template per nodegroup with IMDSv2 and an
//! encrypted root volume, the VPC CNI add-on enforcing NetworkPolicies; `ebsKmsKeyArn` reaches
//! both volumes; a malformed key ARN is refused with its line.

use std::path::Path;

use serde_json::Value as Json;

mod common;
use common::{alpaka, workspace};

fn plan(root: &Path) -> Json {
    let out = alpaka(root)
        .args(["plan", "--profile", "eks-prod", "--refresh=false", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn created<'a>(plan: &'a Json, id: &str) -> &'a Json {
    let c = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not in the plan"));
    assert_eq!(c["action"], "create", "{c}");
    &c["after"]
}

#[test]
fn eks_prod_plans_encrypted_storage_hardened_nodes_and_network_policy_enforcement() {
    let ws = workspace();
    let plan = plan(ws.path());

    let gp3 = created(&plan, "k8s.storageclass.gp3");
    assert_eq!(gp3["parameters"]["encrypted"], "true", "{gp3}");
    assert_eq!(gp3["parameters"]["type"], "gp3", "{gp3}");
    assert!(gp3["parameters"].get("kmsKeyId").is_none(), "{gp3}");

    let lt = created(&plan, "aws.launch-template.prod.xlarge");
    assert_eq!(lt["name"], "alpaka-prod-xlarge");
    assert_eq!(lt["http_tokens"], "required");
    assert_eq!(lt["http_put_response_hop_limit"], 1);
    assert_eq!(lt["http_endpoint"], "enabled");
    assert_eq!(lt["root_device"], "/dev/xvda");
    assert_eq!(lt["volume_size_gb"], 100);
    assert_eq!(lt["volume_type"], "gp3");
    assert_eq!(lt["encrypted"], true);
    assert_eq!(
        lt["tags"]["alpaka.io/id"],
        "aws.launch-template.prod.xlarge"
    );
    // The destroy sweep deletes volumes tagged with the profile while nodes still run.
    assert!(
        lt["resource_tags"].get("alpaka.io/profile").is_none(),
        "{lt}"
    );

    let ng = created(&plan, "eks.nodegroup.prod.xlarge");
    assert_eq!(ng["ami_type"], "AL2023_x86_64_STANDARD");
    assert!(
        ng.get("disk_size_gb").is_none(),
        "EKS refuses diskSize with a template: {ng}"
    );
    assert_eq!(
        ng["launch_template"]["version"]["$unknown"], "aws.launch-template.prod.xlarge#version",
        "{ng}"
    );

    let cni = created(&plan, "eks.addon.prod.vpc-cni");
    let config: Json = serde_json::from_str(cni["configuration_values"].as_str().unwrap()).unwrap();
    assert_eq!(config, serde_json::json!({"enableNetworkPolicy": "true"}));
}

#[test]
fn a_customer_managed_key_reaches_node_and_pvc_volumes_and_a_malformed_one_is_refused() {
    let ws = workspace();
    let profile = ws.path().join("profiles/eks-prod.yaml");
    let text = std::fs::read_to_string(&profile).unwrap();
    let key = "arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    std::fs::write(
        &profile,
        text.replace(
            "  waitTimeout: 30m",
            &format!("  waitTimeout: 30m\n  ebsKmsKeyArn: {key}"),
        ),
    )
    .unwrap();
    let plan = plan(ws.path());
    let gp3 = created(&plan, "k8s.storageclass.gp3");
    assert_eq!(gp3["parameters"]["kmsKeyId"], key, "{gp3}");
    let lt = created(&plan, "aws.launch-template.prod.xlarge");
    assert_eq!(lt["kms_key_id"], key, "{lt}");

    std::fs::write(
        &profile,
        text.replace(
            "  waitTimeout: 30m",
            "  waitTimeout: 30m\n  ebsKmsKeyArn: my-key",
        ),
    )
    .unwrap();
    let line = text
        .lines()
        .position(|l| l == "  waitTimeout: 30m")
        .unwrap()
        + 2;
    let out = alpaka(ws.path())
        .args(["validate", "--profile", "eks-prod"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("ebsKmsKeyArn"), "{err}");
    assert!(err.contains(&format!("eks-prod.yaml:{line}")), "{err}");
}
