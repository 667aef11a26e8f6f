//! `destroy --orphans`: what is tagged as the profile's in AWS but recorded in no state (made by
//! a run killed before it could record it, or a create AWS carried out twice), turned into
//! recorded resources the drivers can delete, ordered so each goes before what it sits in.

use std::collections::{BTreeMap, BTreeSet};

use alpaka_aws::sweep::Tagged;

use super::Shared;
use crate::engine::{ResourceId, Value};
use crate::state::{ResourceState, State};

/// Deletion order by kind: lower goes first (a nodegroup before its cluster and its launch
/// template, a NAT gateway
/// before its subnet and address, subnets and the gateway before the VPC, roles before the
/// policies attached to them).
fn rank(kind: &str) -> Option<u8> {
    Some(match kind {
        "eks.addon" | "eks.access-entry" => 0,
        "eks.nodegroup" => 1,
        "eks.cluster" | "aws.launch-template" => 2,
        "iam.oidc-provider" | "iam.role" | "aws.nat-gateway" | "aws.vpc-endpoint" => 3,
        "iam.policy" | "aws.eip" | "aws.route-table" | "aws.security-group" => 4,
        "aws.subnet" | "aws.internet-gateway" => 5,
        "aws.vpc" => 6,
        _ => return None,
    })
}

fn map(pairs: &[(&str, &str)]) -> Value {
    Value::map(pairs.iter().map(|(k, v)| (*k, Value::str(*v))))
}

/// The driver kind of a tagged resource and the outputs and attributes its `delete` reads.
fn as_recorded(t: &Tagged) -> Option<(&'static str, Value, Value)> {
    let id = t.id.as_str();
    let split = || id.split_once('/');
    Some(match t.label {
        "vpc" => ("aws.vpc", map(&[("id", id)]), Value::Null),
        "subnet" => ("aws.subnet", map(&[("id", id)]), Value::Null),
        "internet-gateway" => ("aws.internet-gateway", map(&[("id", id)]), Value::Null),
        "route-table" => ("aws.route-table", map(&[("id", id)]), Value::Null),
        "eip" => ("aws.eip", map(&[("allocation_id", id)]), Value::Null),
        "launch-template" => ("aws.launch-template", map(&[("id", id)]), Value::Null),
        "security-group" => ("aws.security-group", map(&[("id", id)]), Value::Null),
        "vpc-endpoint" => ("aws.vpc-endpoint", map(&[("id", id)]), Value::Null),
        // Deleting or failed: AWS removes it by itself.
        "nat-gateway" if matches!(t.state.as_deref(), Some("deleting" | "failed")) => return None,
        "nat-gateway" => ("aws.nat-gateway", map(&[("id", id)]), Value::Null),
        "iam-role" => ("iam.role", map(&[("name", id)]), Value::Null),
        "iam-policy" => ("iam.policy", map(&[("arn", id)]), Value::Null),
        "iam-oidc-provider" => ("iam.oidc-provider", map(&[("arn", id)]), Value::Null),
        "eks-cluster" => ("eks.cluster", map(&[("name", id)]), Value::Null),
        "eks-nodegroup" => {
            let (cluster, name) = split()?;
            (
                "eks.nodegroup",
                map(&[("name", name)]),
                map(&[("cluster", cluster)]),
            )
        }
        "eks-addon" => {
            let (cluster, name) = split()?;
            (
                "eks.addon",
                Value::Null,
                map(&[("cluster", cluster), ("name", name)]),
            )
        }
        "eks-access-entry" => {
            let (cluster, principal) = split()?;
            (
                "eks.access-entry",
                Value::Null,
                map(&[("cluster", cluster), ("principal_arn", principal)]),
            )
        }
        _ => return None,
    })
}

/// How AWS names a recorded resource, in the form [`Tagged::id`] has.
fn aws_name(kind: &str, r: &ResourceState) -> Option<String> {
    let out = |k: &str| r.outputs.get(k).and_then(Value::as_str).map(str::to_owned);
    let attr = |k: &str| r.attrs.get(k).and_then(Value::as_str).map(str::to_owned);
    match kind {
        "aws.vpc"
        | "aws.subnet"
        | "aws.internet-gateway"
        | "aws.route-table"
        | "aws.nat-gateway"
        | "aws.launch-template"
        | "aws.security-group"
        | "aws.vpc-endpoint" => out("id"),
        "aws.eip" => out("allocation_id"),
        "iam.role" | "eks.cluster" => out("name"),
        "iam.policy" | "iam.oidc-provider" => out("arn"),
        "eks.nodegroup" => Some(format!("{}/{}", attr("cluster")?, out("name")?)),
        "eks.addon" => Some(format!("{}/{}", attr("cluster")?, attr("name")?)),
        "eks.access-entry" => Some(format!("{}/{}", attr("cluster")?, attr("principal_arn")?)),
        _ => None,
    }
}

/// The orphans among `tagged` given what `state` records: each with an id (its `alpaka.io/id`
/// when state does not hold that id, else that id or its kind, `~`, its AWS name) and, as
/// dependencies, every resource of a later-deleted kind, so the walker deletes in order.
pub fn orphans(tagged: &[Tagged], state: &State) -> Vec<(ResourceId, ResourceState)> {
    let recorded: BTreeSet<(String, String)> = state
        .resources
        .values()
        .filter_map(|r| Some((r.kind.clone(), aws_name(&r.kind, r)?)))
        .collect();
    let mut taken: BTreeSet<ResourceId> = state.resources.keys().cloned().collect();
    let mut out: Vec<(ResourceId, ResourceState)> = Vec::new();
    for t in tagged {
        let Some((kind, outputs, attrs)) = as_recorded(t) else {
            continue;
        };
        if recorded.contains(&(kind.to_owned(), t.id.clone())) {
            continue;
        }
        let preferred = t.alpaka_id().map(ResourceId::new);
        let id = match preferred {
            Some(p) if !taken.contains(&p) => p,
            Some(p) => ResourceId::new(format!("{p}~{}", t.id)),
            None => ResourceId::new(format!("{kind}~{}", t.id)),
        };
        taken.insert(id.clone());
        out.push((
            id,
            ResourceState {
                kind: kind.to_owned(),
                deps: Vec::new(),
                attrs,
                outputs,
            },
        ));
    }
    // Everything ranked, recorded or orphaned, by rank: an orphan waits on nothing and goes
    // before all of a later rank.
    let mut by_rank: BTreeMap<u8, Vec<ResourceId>> = BTreeMap::new();
    for (id, r) in state
        .resources
        .iter()
        .chain(out.iter().map(|(id, r)| (id, r)))
    {
        if let Some(n) = rank(&r.kind) {
            by_rank.entry(n).or_default().push(id.clone());
        }
    }
    for (_, r) in &mut out {
        let Some(n) = rank(&r.kind) else { continue };
        r.deps = by_rank
            .range(n + 1..)
            .flat_map(|(_, ids)| ids.iter().cloned())
            .collect();
    }
    out
}

/// The orphans of `profile` in the account, read through `shared`'s clients.
pub async fn find(
    shared: &Shared,
    profile: &str,
    state: &State,
) -> Result<Vec<(ResourceId, ResourceState)>, String> {
    let tagged = alpaka_aws::sweep::tagged(shared.aws().await, profile)
        .await
        .map_err(|e| e.to_string())?;
    Ok(orphans(&tagged, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged(label: &'static str, id: &str, alpaka_id: Option<&str>) -> Tagged {
        let mut tags = alpaka_aws::Tags::new();
        tags.insert("alpaka.io/profile".into(), "eks-prod".into());
        if let Some(a) = alpaka_id {
            tags.insert("alpaka.io/id".into(), a.into());
        }
        Tagged {
            label,
            id: id.into(),
            tags,
            state: None,
        }
    }

    #[test]
    fn what_state_records_is_no_orphan_and_the_rest_is_ordered_by_what_contains_it() {
        let mut state = State::new("eks-prod".to_owned());
        state.record(
            ResourceId::new("aws.vpc.prod"),
            ResourceState {
                kind: "aws.vpc".into(),
                deps: vec![],
                attrs: Value::Null,
                outputs: map(&[("id", "vpc-1")]),
            },
        );
        let found = orphans(
            &[
                tagged("vpc", "vpc-1", Some("aws.vpc.prod")),
                // A second VPC made for the same id (a create carried out twice).
                tagged("vpc", "vpc-2", Some("aws.vpc.prod")),
                tagged("subnet", "subnet-9", Some("aws.subnet.prod.a")),
                tagged(
                    "eks-nodegroup",
                    "prod/xlarge",
                    Some("eks.nodegroup.prod.xlarge"),
                ),
                tagged("eks-cluster", "prod", None),
            ],
            &state,
        );
        let ids: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "aws.vpc.prod~vpc-2",
                "aws.subnet.prod.a",
                "eks.nodegroup.prod.xlarge",
                "eks.cluster~prod"
            ]
        );
        let deps = |id: &str| -> Vec<String> {
            found
                .iter()
                .find(|(i, _)| i.as_str() == id)
                .unwrap()
                .1
                .deps
                .iter()
                .map(|d| d.to_string())
                .collect()
        };
        // The subnet goes before both VPCs, the recorded one too; the nodegroup before its
        // cluster; a VPC waits on nothing.
        assert_eq!(
            deps("aws.subnet.prod.a"),
            ["aws.vpc.prod", "aws.vpc.prod~vpc-2"]
        );
        assert!(deps("eks.nodegroup.prod.xlarge").contains(&"eks.cluster~prod".to_owned()));
        assert!(deps("aws.vpc.prod~vpc-2").is_empty());
        let ng = &found[2].1;
        assert_eq!(ng.kind, "eks.nodegroup");
        assert_eq!(
            ng.attrs.get("cluster").and_then(Value::as_str),
            Some("prod")
        );
        assert_eq!(
            ng.outputs.get("name").and_then(Value::as_str),
            Some("xlarge")
        );
    }

    #[test]
    fn an_orphaned_launch_template_goes_after_the_nodegroup_that_runs_it() {
        let state = State::new("eks-prod".to_owned());
        let found = orphans(
            &[
                tagged(
                    "launch-template",
                    "lt-0abc",
                    Some("aws.launch-template.prod.xlarge"),
                ),
                tagged(
                    "eks-nodegroup",
                    "prod/xlarge",
                    Some("eks.nodegroup.prod.xlarge"),
                ),
            ],
            &state,
        );
        let lt = found
            .iter()
            .find(|(id, _)| id.as_str() == "aws.launch-template.prod.xlarge")
            .unwrap();
        assert_eq!(lt.1.kind, "aws.launch-template");
        assert_eq!(
            lt.1.outputs.get("id").and_then(Value::as_str),
            Some("lt-0abc")
        );
        let ng = found
            .iter()
            .find(|(id, _)| id.as_str() == "eks.nodegroup.prod.xlarge")
            .unwrap();
        assert!(
            ng.1.deps
                .iter()
                .any(|d| d.as_str() == "aws.launch-template.prod.xlarge")
        );
    }
}
