//! alpaka's AWS operations, typed per resource: EC2 network (VPC, subnets, internet gateway,
//! route tables, elastic IP, NAT gateway), IAM (roles, policies, OIDC provider), EKS (cluster,
//! nodegroups, add-ons), the sweep of controller-made objects, waiters, the EKS token, and the S3
//! reads and deletes of `alpaka test`'s sink check (only under a per-run test prefix).
//!
//! Every failure is an [`AwsError`] naming the operation, the resource and AWS's error code.
//! Throttling and 5xx are retried by the SDK's standard retry policy, with more tries than its
//! default ([`MAX_ATTEMPTS`]); refusals AWS takes back after a while are in [`retry`]. This crate knows nothing
//! of alpaka's engine; `alpaka::providers::aws` adapts it to the engine's `Driver` trait.

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;

/// Every item of every page of a paginated call (`$req` a request builder with a paginator):
/// AWS answers at most one page per call, and what a later page holds is otherwise never seen.
macro_rules! all_items {
    ($req:expr, $op:expr, $resource:expr) => {{
        let mut items = Vec::new();
        let mut stream = $req.into_paginator().items().send();
        while let Some(item) = stream.next().await {
            items.push(item.map_err($crate::error::sdk($op, $resource))?);
        }
        items
    }};
}

pub mod ec2;
pub mod eks;
pub mod error;
pub mod iam;
pub mod once;
pub mod retry;
pub mod s3;
pub mod state_store;
pub mod sweep;
pub mod token;
pub mod wait;

pub use error::AwsError;

/// The profile an AWS resource belongs to (alpaka's own tag on everything it creates).
pub const TAG_PROFILE: &str = "alpaka.io/profile";
/// The alpaka resource id an AWS resource is (set in its create call): with [`TAG_PROFILE`],
/// how alpaka finds what it made when no state records it.
pub const TAG_ID: &str = "alpaka.io/id";

/// Tags (and labels) as alpaka keeps them: sorted, unique keys.
pub type Tags = BTreeMap<String, String>;

/// Tries per call (the SDK's standard mode has 3). An apply makes a few hundred calls, and a
/// throttled account refuses many of them: with 3 tries, one call in a few hundred still fails
/// when a fifth are refused, so a whole apply rarely gets through; with 10 (backoff up to 20 s)
/// it does. `AWS_MAX_ATTEMPTS`/`AWS_RETRY_MODE`, or a `max_attempts`/`retry_mode` in the AWS
/// profile other than the SDK's default, still win.
pub const MAX_ATTEMPTS: u32 = 10;

/// The shared SDK configuration every client here is built from: the standard chain (env,
/// profile, SSO, credential_process, IMDS), the given region, the standard retry policy with
/// [`MAX_ATTEMPTS`] tries; `AWS_ENDPOINT_URL[_<SERVICE>]` are honoured (the test stand-in is
/// reached that way, by the same code path as production).
pub async fn load_config(region: &str) -> SdkConfig {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .load()
        .await;
    // What the loader resolved from `AWS_MAX_ATTEMPTS`/`AWS_RETRY_MODE` or the profile's
    // `max_attempts`/`retry_mode`; only the SDK's own default is replaced.
    let default = aws_config::retry::RetryConfig::standard();
    let user_set = ["AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if user_set || config.retry_config().is_some_and(|r| *r != default) {
        return config;
    }
    config
        .into_builder()
        .retry_config(
            default
                .with_max_attempts(MAX_ATTEMPTS)
                .with_max_backoff(std::time::Duration::from_secs(20)),
        )
        .build()
}

/// One shared SDK configuration and a client per service.
#[derive(Clone, Debug)]
pub struct Aws {
    pub config: SdkConfig,
    pub region: String,
    pub ec2: aws_sdk_ec2::Client,
    pub iam: aws_sdk_iam::Client,
    pub eks: aws_sdk_eks::Client,
    pub sts: aws_sdk_sts::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
}

impl Aws {
    /// Every client from [`load_config`].
    pub async fn load(region: &str) -> Aws {
        Aws::from_config(load_config(region).await, region)
    }

    pub fn from_config(config: SdkConfig, region: &str) -> Aws {
        Aws {
            ec2: aws_sdk_ec2::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            eks: aws_sdk_eks::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            region: region.to_owned(),
            config,
        }
    }

    /// An S3 client on the same configuration (see [`s3::S3::new`]).
    pub fn s3(&self) -> s3::S3 {
        s3::S3::new(&self.config)
    }

    /// Who we are (`sts:GetCallerIdentity`): the ARN of the caller.
    pub async fn caller_arn(&self) -> Result<String, AwsError> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(error::sdk("sts:GetCallerIdentity", &self.region))?;
        Ok(out.arn().unwrap_or_default().to_owned())
    }

    /// The IAM principal behind the credentials, as an EKS access entry names it: an assumed
    /// role's session (`arn:P:sts::A:assumed-role/R/S`) is the role `R`, whose ARN (with its
    /// path, which the session ARN leaves out) IAM GetRole gives; EKS refuses STS session ARNs
    /// in access entries (botocore EKS model, `CreateAccessEntryRequest.principalArn`).
    pub async fn principal_arn(&self) -> Result<String, AwsError> {
        let arn = self.caller_arn().await?;
        let Some(role) = assumed_role_name(&arn) else {
            return Ok(arn);
        };
        // GetRole alone (not `iam::get_role`, which also lists the role's policies): the
        // applier may read its own role and nothing more.
        let out = self
            .iam
            .get_role()
            .role_name(role)
            .send()
            .await
            .map_err(error::sdk("iam:GetRole", role))?;
        out.role().map(|r| r.arn().to_owned()).ok_or_else(|| {
            AwsError::new(
                "iam:GetRole",
                role,
                format!("the role behind the session {arn} is not there"),
            )
            .with_code("NoSuchEntity")
        })
    }

    /// The partition and account of the caller (`sts:GetCallerIdentity`), what the ARNs of
    /// resources alpaka names itself are built from.
    pub async fn partition_and_account(&self) -> Result<(String, String), AwsError> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(error::sdk("sts:GetCallerIdentity", &self.region))?;
        let account = out.account().unwrap_or_default().to_owned();
        // arn:PARTITION:…
        let partition = out
            .arn()
            .and_then(|a| a.split(':').nth(1))
            .unwrap_or("aws")
            .to_owned();
        Ok((partition, account))
    }

    /// A bearer token for `cluster`'s API server, from the configured credentials.
    pub async fn eks_token(&self, cluster: &str) -> Result<String, AwsError> {
        let provider = self.config.credentials_provider().ok_or_else(|| {
            AwsError::new("credentials", cluster, "no AWS credentials are configured")
        })?;
        let creds = provider.provide_credentials().await.map_err(|e| {
            AwsError::new("credentials", cluster, e.to_string()).with_code("CredentialsError")
        })?;
        token::token(&creds, &self.region, cluster, std::time::SystemTime::now())
    }
}

/// The role name of an assumed-role session ARN (`arn:P:sts::A:assumed-role/ROLE/SESSION`).
pub fn assumed_role_name(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    if arn.split(':').nth(2) != Some("sts") {
        return None;
    }
    let rest = resource.strip_prefix("assumed-role/")?;
    rest.split_once('/').map(|(role, _)| role)
}

#[cfg(test)]
mod principal_tests {
    use super::assumed_role_name;

    #[test]
    fn an_assumed_role_session_names_its_role() {
        assert_eq!(
            assumed_role_name("arn:aws:sts::123456789012:assumed-role/Deployer/alice"),
            Some("Deployer")
        );
        assert_eq!(
            assumed_role_name("arn:aws:iam::123456789012:user/alice"),
            None
        );
        assert_eq!(
            assumed_role_name("arn:aws:iam::123456789012:role/x/Deployer"),
            None
        );
        assert_eq!(assumed_role_name("nonsense"), None);
    }
}
