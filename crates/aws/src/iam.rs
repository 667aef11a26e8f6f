//! IAM: roles (trust policy, attached policies), customer managed policies, OIDC providers.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
use serde_json::{Value as Json, json};

use crate::error::{AwsError, found, gone_ok, missing, sdk};
use crate::once::{LOOK, create_once, iam_one_try};
use crate::{TAG_ID, TAG_PROFILE, Tags};

fn to_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

pub(crate) fn from_tags(tags: &[Tag]) -> Tags {
    tags.iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

/// After a lost answer: the thing `found` (by the name the create fixed) if its tags say this
/// create made it; one someone else made is a refusal, never adopted.
fn made_by_us<T>(
    op: &str,
    name: &str,
    want: &Tags,
    found: Option<(T, &Tags)>,
) -> Result<Option<T>, AwsError> {
    let Some((x, have)) = found else {
        return Ok(None);
    };
    let ours = [TAG_ID, TAG_PROFILE]
        .iter()
        .all(|k| want.get(*k).is_some_and(|v| have.get(*k) == Some(v)));
    if ours {
        Ok(Some(x))
    } else {
        Err(AwsError::new(
            op,
            name,
            format!(
                "the answer was lost, and `{name}` exists with tags that do not mark it as this \
                 create's ({TAG_ID}, {TAG_PROFILE}); it is not taken over"
            ),
        )
        .with_code("EntityAlreadyExists"))
    }
}

/// Who may assume a role.
#[derive(Debug, Clone, PartialEq)]
pub enum Trust {
    /// An AWS service principal (`eks.amazonaws.com`, `ec2.amazonaws.com`).
    Service(String),
    /// IRSA: one Kubernetes service account through the cluster's OIDC provider.
    ServiceAccount {
        provider_arn: String,
        /// Issuer without scheme: `oidc.eks.<region>.amazonaws.com/id/<ID>`.
        issuer: String,
        /// `system:serviceaccount:<ns>:<sa>`.
        sub: String,
        aud: String,
    },
}

impl Trust {
    /// The assume-role policy document.
    pub fn document(&self) -> Json {
        match self {
            Trust::Service(s) => json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": s},
                    "Action": "sts:AssumeRole"
                }]
            }),
            Trust::ServiceAccount {
                provider_arn,
                issuer,
                sub,
                aud,
            } => {
                let issuer = issuer.trim_start_matches("https://");
                json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": {"Federated": provider_arn},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {"StringEquals": {
                            format!("{issuer}:sub"): sub,
                            format!("{issuer}:aud"): aud
                        }}
                    }]
                })
            }
        }
    }

    /// Read a document back; `None` when it is not one alpaka writes (a single statement).
    pub fn parse(doc: &Json) -> Option<Trust> {
        let st = match doc.get("Statement")? {
            Json::Array(a) if a.len() == 1 => &a[0],
            Json::Object(_) => doc.get("Statement")?,
            _ => return None,
        };
        let p = st.get("Principal")?;
        if let Some(s) = p.get("Service") {
            let s = match s {
                Json::String(s) => s.clone(),
                Json::Array(a) if a.len() == 1 => a[0].as_str()?.to_owned(),
                _ => return None,
            };
            return Some(Trust::Service(s));
        }
        let provider_arn = p.get("Federated")?.as_str()?.to_owned();
        let cond = st.get("Condition")?.get("StringEquals")?.as_object()?;
        let mut issuer = None;
        let mut sub = None;
        let mut aud = None;
        for (k, v) in cond {
            if let Some(i) = k.strip_suffix(":sub") {
                issuer = Some(i.to_owned());
                sub = v.as_str().map(str::to_owned);
            } else if let Some(i) = k.strip_suffix(":aud") {
                issuer.get_or_insert_with(|| i.to_owned());
                aud = v.as_str().map(str::to_owned);
            }
        }
        if cond.len() != 2 {
            // Anything beyond exactly sub + aud is not ours: show it as different.
            return Some(Trust::ServiceAccount {
                provider_arn,
                issuer: issuer.unwrap_or_default(),
                sub: format!("(unexpected conditions: {})", cond.len()),
                aud: aud.unwrap_or_default(),
            });
        }
        Some(Trust::ServiceAccount {
            provider_arn,
            issuer: issuer?,
            sub: sub?,
            aud: aud?,
        })
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986); some stand-ins return them plain.
pub fn decode_document(raw: &str) -> Result<Json, String> {
    let text = if raw.trim_start().starts_with('{') {
        raw.to_owned()
    } else {
        percent_decode(raw)?
    };
    serde_json::from_str(&text).map_err(|e| format!("policy document is not JSON: {e}"))
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).map_err(|e| e.to_string())?;
                out.push(u8::from_str_radix(h, 16).map_err(|e| e.to_string())?);
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|e| e.to_string())
}

// ---- Roles ----

#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub name: String,
    pub arn: String,
    pub trust: Option<Trust>,
    pub policies: Vec<String>,
    pub tags: Tags,
}

pub async fn create_role(
    c: &Client,
    name: &str,
    trust: &Trust,
    policies: &[String],
    tags: &Tags,
) -> Result<String, AwsError> {
    let op = "iam:CreateRole";
    // At most once (no idempotency token): after a lost answer the role is looked up by its
    // name; a repeat whose first try took effect is refused `EntityAlreadyExists` and adopted.
    let arn = create_once(
        LOOK,
        || async {
            let out = c
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust.document().to_string())
                .set_tags(Some(to_tags(tags)))
                .customize()
                .config_override(iam_one_try())
                .send()
                .await
                .map_err(sdk(op, name))?;
            out.role()
                .map(|r| r.arn().to_owned())
                .ok_or_else(|| missing(op, name, "role"))
        },
        || async {
            let role = get_role(c, name).await?;
            made_by_us(
                op,
                name,
                tags,
                role.as_ref().map(|r| (r.arn.clone(), &r.tags)),
            )
        },
    )
    .await?;
    for p in policies {
        attach_role_policy(c, name, p).await?;
    }
    Ok(arn)
}

pub async fn attach_role_policy(c: &Client, role: &str, policy_arn: &str) -> Result<(), AwsError> {
    c.attach_role_policy()
        .role_name(role)
        .policy_arn(policy_arn)
        .send()
        .await
        .map(|_| ())
        .map_err(sdk(
            "iam:AttachRolePolicy",
            &format!("{role} ({policy_arn})"),
        ))
}

pub async fn detach_role_policy(c: &Client, role: &str, policy_arn: &str) -> Result<(), AwsError> {
    gone_ok(
        c.detach_role_policy()
            .role_name(role)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk(
                "iam:DetachRolePolicy",
                &format!("{role} ({policy_arn})"),
            )),
    )
}

pub async fn attached_policies(c: &Client, role: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let r = c
            .list_attached_role_policies()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .map_err(sdk("iam:ListAttachedRolePolicies", role))?;
        out.extend(
            r.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned)),
        );
        match r.marker() {
            Some(m) if r.is_truncated() => marker = Some(m.to_owned()),
            _ => return Ok(out),
        }
    }
}

pub async fn get_role(c: &Client, name: &str) -> Result<Option<Role>, AwsError> {
    let Some(out) = found(
        c.get_role()
            .role_name(name)
            .send()
            .await
            .map_err(sdk("iam:GetRole", name)),
    )?
    else {
        return Ok(None);
    };
    let role = out
        .role()
        .ok_or_else(|| missing("iam:GetRole", name, "role"))?;
    let trust = role
        .assume_role_policy_document()
        .and_then(|d| decode_document(d).ok())
        .and_then(|d| Trust::parse(&d));
    // GetRole returns the role's tags (IAM API Reference, GetRole: `Role.Tags`): no
    // ListRoleTags call.
    Ok(Some(Role {
        name: name.to_owned(),
        arn: role.arn().to_owned(),
        trust,
        policies: attached_policies(c, name).await?,
        tags: from_tags(role.tags()),
    }))
}

pub async fn update_trust(c: &Client, name: &str, trust: &Trust) -> Result<(), AwsError> {
    c.update_assume_role_policy()
        .role_name(name)
        .policy_document(trust.document().to_string())
        .send()
        .await
        .map(|_| ())
        .map_err(sdk("iam:UpdateAssumeRolePolicy", name))
}

pub async fn set_role_tags(
    c: &Client,
    name: &str,
    have: &Tags,
    want: &Tags,
) -> Result<(), AwsError> {
    let add: Tags = want
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !add.is_empty() {
        c.tag_role()
            .role_name(name)
            .set_tags(Some(to_tags(&add)))
            .send()
            .await
            .map_err(sdk("iam:TagRole", name))?;
    }
    let remove: Vec<String> = have
        .keys()
        .filter(|k| !want.contains_key(*k))
        .cloned()
        .collect();
    if !remove.is_empty() {
        c.untag_role()
            .role_name(name)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(sdk("iam:UntagRole", name))?;
    }
    Ok(())
}

/// Detach every managed policy and delete inline ones, then delete the role.
pub async fn delete_role(c: &Client, name: &str) -> Result<(), AwsError> {
    let policies = match attached_policies(c, name).await {
        Err(e) if e.is_not_found() => return Ok(()),
        r => r?,
    };
    for p in &policies {
        detach_role_policy(c, name, p).await?;
    }
    let inline = all_items!(
        c.list_role_policies().role_name(name),
        "iam:ListRolePolicies",
        name
    );
    for p in &inline {
        gone_ok(
            c.delete_role_policy()
                .role_name(name)
                .policy_name(p)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk("iam:DeleteRolePolicy", name)),
        )?;
    }
    gone_ok(
        c.delete_role()
            .role_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk("iam:DeleteRole", name)),
    )
}

// ---- Customer managed policies ----

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub arn: String,
    pub name: String,
    /// The default version's id (`v1`, `v2`, …): a new one with every document change.
    pub version: String,
    /// The default version's document; `None` when it is the version the caller already knew.
    pub document: Option<Json>,
    pub tags: Tags,
}

/// Made at most once (no idempotency token): after a lost answer the policy is looked up at
/// `arn`, the ARN it gets ([`policy_arn`]), and adopted when its tags say this create made it.
pub async fn create_policy(
    c: &Client,
    name: &str,
    arn: &str,
    document: &str,
    tags: &Tags,
) -> Result<String, AwsError> {
    let op = "iam:CreatePolicy";
    create_once(
        LOOK,
        || async {
            let out = c
                .create_policy()
                .policy_name(name)
                .policy_document(document)
                .set_tags(Some(to_tags(tags)))
                .customize()
                .config_override(iam_one_try())
                .send()
                .await
                .map_err(sdk(op, name))?;
            out.policy()
                .and_then(|p| p.arn())
                .map(str::to_owned)
                .ok_or_else(|| missing(op, name, "policy arn"))
        },
        || async {
            // The document is the one just sent: no need to read it back.
            let p = get_policy(c, arn, Some("v1")).await?;
            made_by_us(op, name, tags, p.as_ref().map(|p| (p.arn.clone(), &p.tags)))
        },
    )
    .await
}

/// The ARN a customer managed policy named `name` has in `account` (path `/`, as
/// [`create_policy`] makes it; IAM User Guide, "IAM identifiers": `arn:PARTITION:iam::ACCOUNT:policy/NAME`).
pub fn policy_arn(partition: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:policy/{name}")
}

/// The OIDC provider registered for `issuer` (with or without `https://`), if any: its ARN ends
/// in `oidc-provider/<issuer host and path>` (IAM User Guide, "Create an OpenID Connect (OIDC)
/// identity provider in IAM").
pub async fn find_oidc_provider(c: &Client, issuer: &str) -> Result<Option<String>, AwsError> {
    let host_path = issuer.trim_start_matches("https://");
    // ListOpenIDConnectProviders has no pages.
    let out = c
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(sdk("iam:ListOpenIDConnectProviders", host_path))?;
    Ok(out
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .find(|arn| arn.ends_with(&format!(":oidc-provider/{host_path}")))
        .map(str::to_owned))
}

/// The policy, with its default version's document unless that version is `known_version`
/// (IAM versions are immutable, so a known version needs no second request).
pub async fn get_policy(
    c: &Client,
    arn: &str,
    known_version: Option<&str>,
) -> Result<Option<Policy>, AwsError> {
    let Some(out) = found(
        c.get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(sdk("iam:GetPolicy", arn)),
    )?
    else {
        return Ok(None);
    };
    let p = out
        .policy()
        .ok_or_else(|| missing("iam:GetPolicy", arn, "policy"))?;
    let version = p.default_version_id().unwrap_or("v1");
    let document = if known_version == Some(version) {
        None
    } else {
        let v = c
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(sdk("iam:GetPolicyVersion", arn))?;
        let raw = v
            .policy_version()
            .and_then(|v| v.document())
            .unwrap_or("{}");
        Some(decode_document(raw).map_err(|m| AwsError::new("iam:GetPolicyVersion", arn, m))?)
    };
    // GetPolicy returns the policy's tags (IAM API Reference, GetPolicy: `Policy.Tags`).
    Ok(Some(Policy {
        arn: arn.to_owned(),
        name: p.policy_name().unwrap_or_default().to_owned(),
        version: version.to_owned(),
        document,
        tags: from_tags(p.tags()),
    }))
}

/// New default version with `document`; the oldest non-default version goes when at the limit.
pub async fn update_policy_document(c: &Client, arn: &str, document: &str) -> Result<(), AwsError> {
    // IAM keeps at most five versions of a policy, but may answer them in pages all the same
    // (IAM API Reference, ListPolicyVersions: "check IsTruncated after every call").
    let versions = all_items!(
        c.list_policy_versions().policy_arn(arn),
        "iam:ListPolicyVersions",
        arn
    );
    let old: Vec<String> = versions
        .iter()
        .filter(|v| !v.is_default_version())
        .filter_map(|v| v.version_id().map(str::to_owned))
        .collect();
    if versions.len() >= 5
        && let Some(oldest) = old.last()
    {
        c.delete_policy_version()
            .policy_arn(arn)
            .version_id(oldest)
            .send()
            .await
            .map_err(sdk("iam:DeletePolicyVersion", arn))?;
    }
    c.create_policy_version()
        .policy_arn(arn)
        .policy_document(document)
        .set_as_default(true)
        .send()
        .await
        .map(|_| ())
        .map_err(sdk("iam:CreatePolicyVersion", arn))
}

pub async fn set_policy_tags(
    c: &Client,
    arn: &str,
    have: &Tags,
    want: &Tags,
) -> Result<(), AwsError> {
    let add: Tags = want
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !add.is_empty() {
        c.tag_policy()
            .policy_arn(arn)
            .set_tags(Some(to_tags(&add)))
            .send()
            .await
            .map_err(sdk("iam:TagPolicy", arn))?;
    }
    let remove: Vec<String> = have
        .keys()
        .filter(|k| !want.contains_key(*k))
        .cloned()
        .collect();
    if !remove.is_empty() {
        c.untag_policy()
            .policy_arn(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(sdk("iam:UntagPolicy", arn))?;
    }
    Ok(())
}

/// The roles a policy is attached to, every page.
async fn list_policy_roles(
    c: &Client,
    arn: &str,
) -> Result<Vec<aws_sdk_iam::types::PolicyRole>, AwsError> {
    let mut pages = c
        .list_entities_for_policy()
        .policy_arn(arn)
        .into_paginator()
        .send();
    let mut roles = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk("iam:ListEntitiesForPolicy", arn))?;
        roles.extend(page.policy_roles().iter().cloned());
    }
    Ok(roles)
}

/// Detach from every role that still has it (IAM, and some stand-ins, would otherwise strand
/// them), delete non-default versions, then delete the policy.
pub async fn delete_policy(c: &Client, arn: &str) -> Result<(), AwsError> {
    let entities = match list_policy_roles(c, arn).await {
        Err(e) if e.is_not_found() => return Ok(()),
        r => r?,
    };
    for r in &entities {
        if let Some(role) = r.role_name() {
            detach_role_policy(c, role, arn).await?;
        }
    }
    let versions = all_items!(
        c.list_policy_versions().policy_arn(arn),
        "iam:ListPolicyVersions",
        arn
    );
    for v in versions.iter().filter(|v| !v.is_default_version()) {
        if let Some(id) = v.version_id() {
            gone_ok(
                c.delete_policy_version()
                    .policy_arn(arn)
                    .version_id(id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk("iam:DeletePolicyVersion", arn)),
            )?;
        }
    }
    gone_ok(
        c.delete_policy()
            .policy_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk("iam:DeletePolicy", arn)),
    )
}

// ---- OIDC provider ----

#[derive(Debug, Clone, PartialEq)]
pub struct OidcProvider {
    pub arn: String,
    /// With `https://`, as EKS reports the issuer.
    pub url: String,
    pub client_ids: Vec<String>,
    pub tags: Tags,
}

pub async fn create_oidc_provider(
    c: &Client,
    url: &str,
    client_ids: &[String],
    tags: &Tags,
) -> Result<String, AwsError> {
    let op = "iam:CreateOpenIDConnectProvider";
    // At most once (no idempotency token): after a lost answer the provider is looked up by
    // its URL (one per URL in an account).
    create_once(
        LOOK,
        || async {
            let out = c
                .create_open_id_connect_provider()
                .url(url)
                .set_client_id_list(Some(client_ids.to_vec()))
                .set_tags(Some(to_tags(tags)))
                .customize()
                .config_override(iam_one_try())
                .send()
                .await
                .map_err(sdk(op, url))?;
            out.open_id_connect_provider_arn()
                .map(str::to_owned)
                .ok_or_else(|| missing(op, url, "provider arn"))
        },
        || async {
            let Some(arn) = find_oidc_provider(c, url).await? else {
                return Ok(None);
            };
            let p = get_oidc_provider(c, &arn).await?;
            made_by_us(op, url, tags, p.as_ref().map(|p| (p.arn.clone(), &p.tags)))
        },
    )
    .await
}

pub async fn get_oidc_provider(c: &Client, arn: &str) -> Result<Option<OidcProvider>, AwsError> {
    let Some(out) = found(
        c.get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .map_err(sdk("iam:GetOpenIDConnectProvider", arn)),
    )?
    else {
        return Ok(None);
    };
    let url = out.url().unwrap_or_default();
    Ok(Some(OidcProvider {
        arn: arn.to_owned(),
        url: if url.starts_with("https://") {
            url.to_owned()
        } else {
            format!("https://{url}")
        },
        client_ids: out.client_id_list().to_vec(),
        tags: from_tags(out.tags()),
    }))
}

pub async fn set_oidc_tags(
    c: &Client,
    arn: &str,
    have: &Tags,
    want: &Tags,
) -> Result<(), AwsError> {
    let add: Tags = want
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !add.is_empty() {
        c.tag_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .set_tags(Some(to_tags(&add)))
            .send()
            .await
            .map_err(sdk("iam:TagOpenIDConnectProvider", arn))?;
    }
    let remove: Vec<String> = have
        .keys()
        .filter(|k| !want.contains_key(*k))
        .cloned()
        .collect();
    if !remove.is_empty() {
        c.untag_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(sdk("iam:UntagOpenIDConnectProvider", arn))?;
    }
    Ok(())
}

pub async fn delete_oidc_provider(c: &Client, arn: &str) -> Result<(), AwsError> {
    gone_ok(
        c.delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk("iam:DeleteOpenIDConnectProvider", arn)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irsa_trust_is_scoped_to_one_service_account() {
        let t = Trust::ServiceAccount {
            provider_arn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.ap-northeast-2.amazonaws.com/id/ABC".into(),
            issuer: "https://oidc.eks.ap-northeast-2.amazonaws.com/id/ABC".into(),
            sub: "system:serviceaccount:kube-system:ebs-csi-controller-sa".into(),
            aud: "sts.amazonaws.com".into(),
        };
        let doc = t.document();
        assert_eq!(
            doc,
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.ap-northeast-2.amazonaws.com/id/ABC"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {
                        "oidc.eks.ap-northeast-2.amazonaws.com/id/ABC:sub": "system:serviceaccount:kube-system:ebs-csi-controller-sa",
                        "oidc.eks.ap-northeast-2.amazonaws.com/id/ABC:aud": "sts.amazonaws.com"
                    }}
                }]
            })
        );
        // Round trip, issuer without the scheme (as IAM condition keys are written).
        let back = Trust::parse(&doc).unwrap();
        let Trust::ServiceAccount { issuer, sub, .. } = &back else {
            panic!("{back:?}")
        };
        assert_eq!(issuer, "oidc.eks.ap-northeast-2.amazonaws.com/id/ABC");
        assert_eq!(
            sub,
            "system:serviceaccount:kube-system:ebs-csi-controller-sa"
        );
    }

    #[test]
    fn service_trust_and_encoded_documents() {
        let t = Trust::Service("eks.amazonaws.com".into());
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22eks.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        let doc = decode_document(encoded).unwrap();
        assert_eq!(doc, t.document());
        assert_eq!(Trust::parse(&doc), Some(t));
    }

    #[test]
    fn a_widened_trust_does_not_read_back_as_ours() {
        let mut doc = Trust::ServiceAccount {
            provider_arn: "p".into(),
            issuer: "i".into(),
            sub: "system:serviceaccount:a:b".into(),
            aud: "sts.amazonaws.com".into(),
        }
        .document();
        doc["Statement"][0]["Condition"]["StringEquals"]["i:extra"] = json!("x");
        let Some(Trust::ServiceAccount { sub, .. }) = Trust::parse(&doc) else {
            panic!()
        };
        assert!(sub.contains("unexpected"));
    }
}
