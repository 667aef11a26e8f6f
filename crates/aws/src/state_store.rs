//! S3 as a state store: whole-object reads and conditional writes, so several machines can share
//! one state and one lock with nothing but a bucket (S3 conditional writes, 2024: `If-None-Match:
//! *` creates only if absent, `If-Match: <etag>` replaces or deletes only what was read; a lost
//! race is HTTP 412 `PreconditionFailed`, and a concurrent conditional write 409
//! `ConditionalRequestConflict`). Every object is written whole: a reader sees the previous or
//! the next body, never part of one.

use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};

use crate::error::{AwsError, sdk};
use crate::s3::endpoint_overridden;

/// S3's answer when a condition (`If-Match`, `If-None-Match`) does not hold.
pub const PRECONDITION_FAILED: &str = "PreconditionFailed";
/// S3's answer when another conditional write on the same key is in flight.
pub const CONDITIONAL_CONFLICT: &str = "ConditionalRequestConflict";

/// How long one try of a state call may take before it is abandoned and retried.
pub const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// The largest state or lock object read into memory.
pub const MAX_OBJECT_BYTES: i64 = 256 * 1024 * 1024;

/// How objects are encrypted at rest: always, with S3's keys or a KMS key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encryption {
    S3,
    Kms(String),
}

/// What a conditional write requires of the object it replaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `If-None-Match: *`: there must be no object yet.
    Absent,
    /// `If-Match: <etag>`: the object must still be the one read.
    Matches(String),
    /// No condition (backups: last writer wins by design).
    None,
}

/// One object as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    pub body: Vec<u8>,
    pub etag: String,
}

/// A write or delete that S3 refused, or failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteError {
    /// The condition did not hold: someone else wrote (or deleted) the object first.
    #[error("{0}")]
    Precondition(Box<AwsError>),
    #[error("{0}")]
    Aws(Box<AwsError>),
}

/// How a bucket was found or set up by [`StateStore::ensure_bucket`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BucketSetup {
    pub created: bool,
    pub versioning_enabled_now: bool,
    pub encryption_set_now: bool,
    pub public_access_blocked_now: bool,
}

#[derive(Clone, Debug)]
pub struct StateStore {
    client: aws_sdk_s3::Client,
    region: String,
}

fn s3_url(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

impl StateStore {
    /// From the shared SDK configuration ([`crate::load_config`]): credentials, retries (the
    /// SDK's standard mode retries 5xx, throttling and timeouts) and `AWS_ENDPOINT_URL[_S3]` as
    /// for every other client. Path-style addressing only where the endpoint is overridden.
    pub fn new(config: &SdkConfig, region: &str) -> StateStore {
        let mut s3 = aws_sdk_s3::config::Builder::from(config);
        // A call that hangs (a stalled connection, a load balancer holding it) is abandoned
        // after ATTEMPT_TIMEOUT and retried like a 5xx; state objects are small.
        let timeouts = config
            .timeout_config()
            .map(|t| t.to_builder())
            .unwrap_or_default()
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .build();
        s3 = s3.timeout_config(timeouts);
        // The SDK's standard 3 tries per call, not the 10 the other clients get: the state
        // backend adds its own rounds around every write (`alpaka::state`'s `patiently`), and a
        // read that keeps failing should say so in seconds, not minutes.
        s3 = s3.retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3));
        if endpoint_overridden(config) {
            s3 = s3.force_path_style(true);
        }
        StateStore {
            client: aws_sdk_s3::Client::from_conf(s3.build()),
            region: region.to_owned(),
        }
    }

    pub async fn load(region: &str) -> StateStore {
        StateStore::new(&crate::load_config(region).await, region)
    }

    /// The object, or `None` when there is none.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Option<Object>, AwsError> {
        const OP: &str = "s3:GetObject";
        let url = s3_url(bucket, key);
        let out = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let err = sdk(OP, &url)(e);
                return if err.code_is("NoSuchKey") {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        if out.content_length().unwrap_or_default() > MAX_OBJECT_BYTES {
            return Err(AwsError::new(
                OP,
                &url,
                format!("larger than {MAX_OBJECT_BYTES} bytes: not a state alpaka wrote"),
            )
            .with_code("ObjectTooLarge"));
        }
        let etag = out.e_tag().unwrap_or_default().to_owned();
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| AwsError::new(OP, &url, format!("reading the body: {e}")))?
            .into_bytes()
            .to_vec();
        Ok(Some(Object { body, etag }))
    }

    /// Write `body` whole under `condition`, encrypted; returns the new ETag.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        condition: &Condition,
        encryption: &Encryption,
    ) -> Result<String, WriteError> {
        const OP: &str = "s3:PutObject";
        let mut req = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        req = match condition {
            Condition::Absent => req.if_none_match("*"),
            Condition::Matches(etag) => req.if_match(etag),
            Condition::None => req,
        };
        req = match encryption {
            Encryption::S3 => req.server_side_encryption(ServerSideEncryption::Aes256),
            Encryption::Kms(id) => req
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(id),
        };
        match req.send().await {
            Ok(out) => Ok(out.e_tag().unwrap_or_default().to_owned()),
            Err(e) => Err(classify(sdk(OP, &s3_url(bucket, key))(e))),
        }
    }

    /// Delete the object only if it is still `etag` (`If-Match`). Already gone is success.
    pub async fn delete_if(&self, bucket: &str, key: &str, etag: &str) -> Result<(), WriteError> {
        const OP: &str = "s3:DeleteObject";
        match self
            .client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .if_match(etag)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = sdk(OP, &s3_url(bucket, key))(e);
                if err.code_is("NoSuchKey") {
                    Ok(())
                } else {
                    Err(classify(err))
                }
            }
        }
    }

    /// Whether the bucket keeps old versions (then it is the backup of every state written).
    pub async fn versioning_enabled(&self, bucket: &str) -> Result<bool, AwsError> {
        let out = self
            .client
            .get_bucket_versioning()
            .bucket(bucket)
            .send()
            .await
            .map_err(sdk("s3:GetBucketVersioning", bucket))?;
        Ok(out.status() == Some(&BucketVersioningStatus::Enabled))
    }

    /// Make `bucket` fit for state, idempotently: created if missing (in this store's region),
    /// versioning on, default encryption, every public access blocked. Says what it changed.
    pub async fn ensure_bucket(
        &self,
        bucket: &str,
        encryption: &Encryption,
    ) -> Result<BucketSetup, AwsError> {
        let mut setup = BucketSetup::default();
        let exists = match self.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => true,
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                match status {
                    Some(404) => false,
                    Some(403) => {
                        return Err(AwsError::new(
                            "s3:HeadBucket",
                            bucket,
                            "the bucket exists but these credentials may not use it (or it is another account's)",
                        )
                        .with_code("AccessDenied"));
                    }
                    _ => return Err(sdk("s3:HeadBucket", bucket)(e)),
                }
            }
        };
        if !exists {
            let mut req = self.client.create_bucket().bucket(bucket);
            // us-east-1 is the one region that takes no location constraint.
            if self.region != "us-east-1" {
                req = req.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                        .build(),
                );
            }
            match req.send().await {
                Ok(_) => setup.created = true,
                Err(e) => {
                    let err = sdk("s3:CreateBucket", bucket)(e);
                    // Created meanwhile by us (a retried call) is fine; by someone else is not.
                    if !err.code_is("BucketAlreadyOwnedByYou") {
                        return Err(err);
                    }
                }
            }
        }
        if !self.versioning_enabled(bucket).await? {
            self.client
                .put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .map_err(sdk("s3:PutBucketVersioning", bucket))?;
            setup.versioning_enabled_now = true;
        }
        let want = match encryption {
            Encryption::S3 => ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build(),
            Encryption::Kms(id) => ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::AwsKms)
                .kms_master_key_id(id)
                .build(),
        }
        .map_err(|e| AwsError::new("s3:PutBucketEncryption", bucket, e.to_string()))?;
        let current = self
            .client
            .get_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .and_then(|o| o.server_side_encryption_configuration().cloned())
            .and_then(|c| {
                c.rules()
                    .first()
                    .and_then(|r| r.apply_server_side_encryption_by_default().cloned())
            });
        if current.as_ref() != Some(&want) {
            let rule = ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(want)
                .build();
            let config = ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(|e| AwsError::new("s3:PutBucketEncryption", bucket, e.to_string()))?;
            self.client
                .put_bucket_encryption()
                .bucket(bucket)
                .server_side_encryption_configuration(config)
                .send()
                .await
                .map_err(sdk("s3:PutBucketEncryption", bucket))?;
            setup.encryption_set_now = true;
        }
        let blocked = self
            .client
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .and_then(|o| o.public_access_block_configuration().cloned())
            .is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            });
        if !blocked {
            self.client
                .put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(true)
                        .ignore_public_acls(true)
                        .block_public_policy(true)
                        .restrict_public_buckets(true)
                        .build(),
                )
                .send()
                .await
                .map_err(sdk("s3:PutPublicAccessBlock", bucket))?;
            setup.public_access_blocked_now = true;
        }
        Ok(setup)
    }
}

fn classify(err: AwsError) -> WriteError {
    if err.code_is(PRECONDITION_FAILED) || err.code_is(CONDITIONAL_CONFLICT) {
        WriteError::Precondition(Box::new(err))
    } else {
        WriteError::Aws(Box::new(err))
    }
}
