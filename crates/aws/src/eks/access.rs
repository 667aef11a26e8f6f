//! EKS access entries (authentication mode `API`): an IAM principal's entry on a cluster and
//! the access policies associated with it. Shapes: botocore's EKS model 2017-11-01
//! (CreateAccessEntry, DescribeAccessEntry, AssociateAccessPolicy, ListAssociatedAccessPolicies,
//! DisassociateAccessPolicy, DeleteAccessEntry, ListAccessEntries).

use aws_sdk_eks::Client;
use aws_sdk_eks::types::{AccessScope, AccessScopeType};

use super::{from_map, to_map};
use crate::Tags;
use crate::error::{AwsError, found, gone_ok, sdk};

/// One access policy associated with an entry: its ARN and scope type (`cluster` or
/// `namespace`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociatedPolicy {
    pub policy_arn: String,
    pub scope: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessEntry {
    pub cluster: String,
    pub principal_arn: String,
    pub arn: String,
    /// `STANDARD` for the entries alpaka makes (and for the creator's bootstrap entry).
    pub kind: String,
    pub policies: Vec<AssociatedPolicy>,
    pub tags: Tags,
}

fn res(cluster: &str, principal: &str) -> String {
    format!("{cluster}/{principal}")
}

/// CreateAccessEntry (type STANDARD). `token`: the create's idempotency token.
pub async fn create_access_entry(
    c: &Client,
    cluster: &str,
    principal: &str,
    tags: &Tags,
    token: &str,
) -> Result<String, AwsError> {
    let out = c
        .create_access_entry()
        .cluster_name(cluster)
        .principal_arn(principal)
        .r#type("STANDARD")
        .set_tags(Some(to_map(tags)))
        .client_request_token(token)
        .send()
        .await
        .map_err(sdk("eks:CreateAccessEntry", &res(cluster, principal)))?;
    Ok(out
        .access_entry()
        .and_then(|e| e.access_entry_arn())
        .unwrap_or_default()
        .to_owned())
}

/// AssociateAccessPolicy with cluster scope (associating one already associated replaces its
/// scope, as EKS documents, so it is safe to repeat).
pub async fn associate_cluster_policy(
    c: &Client,
    cluster: &str,
    principal: &str,
    policy_arn: &str,
) -> Result<(), AwsError> {
    c.associate_access_policy()
        .cluster_name(cluster)
        .principal_arn(principal)
        .policy_arn(policy_arn)
        .access_scope(
            AccessScope::builder()
                .r#type(AccessScopeType::Cluster)
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(sdk("eks:AssociateAccessPolicy", &res(cluster, principal)))
}

pub async fn disassociate_policy(
    c: &Client,
    cluster: &str,
    principal: &str,
    policy_arn: &str,
) -> Result<(), AwsError> {
    gone_ok(
        c.disassociate_access_policy()
            .cluster_name(cluster)
            .principal_arn(principal)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk(
                "eks:DisassociateAccessPolicy",
                &res(cluster, principal),
            )),
    )
}

/// DescribeAccessEntry plus every page of ListAssociatedAccessPolicies; `None` when the entry
/// (or its cluster) is not there.
pub async fn describe_access_entry(
    c: &Client,
    cluster: &str,
    principal: &str,
) -> Result<Option<AccessEntry>, AwsError> {
    let r = res(cluster, principal);
    let Some(out) = found(
        c.describe_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal)
            .send()
            .await
            .map_err(sdk("eks:DescribeAccessEntry", &r)),
    )?
    else {
        return Ok(None);
    };
    let Some(e) = out.access_entry() else {
        return Ok(None);
    };
    let mut policies = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let Some(page) = found(
            c.list_associated_access_policies()
                .cluster_name(cluster)
                .principal_arn(principal)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(sdk("eks:ListAssociatedAccessPolicies", &r)),
        )?
        else {
            return Ok(None);
        };
        policies.extend(page.associated_access_policies().iter().map(|p| {
            AssociatedPolicy {
                policy_arn: p.policy_arn().unwrap_or_default().to_owned(),
                scope: p
                    .access_scope()
                    .and_then(|s| s.r#type())
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
            }
        }));
        match page.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(Some(AccessEntry {
        cluster: cluster.to_owned(),
        principal_arn: e.principal_arn().unwrap_or(principal).to_owned(),
        arn: e.access_entry_arn().unwrap_or_default().to_owned(),
        kind: e.r#type().unwrap_or_default().to_owned(),
        policies,
        tags: from_map(e.tags()),
    }))
}

/// The principal ARNs with an entry on `cluster` (every page of ListAccessEntries); empty when
/// the cluster is gone.
pub async fn list_access_entries(c: &Client, cluster: &str) -> Result<Vec<String>, AwsError> {
    let mut all = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let Some(page) = found(
            c.list_access_entries()
                .cluster_name(cluster)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(sdk("eks:ListAccessEntries", cluster)),
        )?
        else {
            return Ok(all);
        };
        all.extend(page.access_entries().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_owned()),
            _ => return Ok(all),
        }
    }
}

/// DeleteAccessEntry; one already gone (or its cluster) is fine.
pub async fn delete_access_entry(
    c: &Client,
    cluster: &str,
    principal: &str,
) -> Result<(), AwsError> {
    gone_ok(
        c.delete_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk("eks:DeleteAccessEntry", &res(cluster, principal))),
    )
}
