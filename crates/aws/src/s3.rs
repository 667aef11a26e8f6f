//! S3 for `alpaka test`'s sink check: what a test run wrote into a user's bucket, read back and
//! deleted again.
//!
//! Everything that reads or deletes objects takes a [`TestPrefix`], and a `TestPrefix` can only
//! be made from a run id alpaka generated (`alpaka-test/<run id>/`). There is deliberately no way
//! to name a user-chosen prefix: the tool alpaka replaces deleted everything under a user-given
//! path, and one typo there loses data.

use std::fmt;

use aws_config::SdkConfig;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use crate::error::{AwsError, sdk};

/// The first path segment of every test prefix.
pub const TEST_ROOT: &str = "alpaka-test";

/// S3 returns at most 1,000 keys per listing page and accepts at most 1,000 per DeleteObjects.
const DELETE_BATCH: usize = 1000;

/// Delete-then-list rounds before [`S3::delete_prefix`] gives up: a sink that is still writing
/// (or a listing lagging behind) gets a few chances, a writer that never stops does not keep us
/// looping forever.
const DELETE_ROUNDS: usize = 5;

/// The largest object [`S3::get`] reads into memory: test records are small, so anything bigger
/// is not ours to slurp.
pub const MAX_GET_BYTES: u64 = 64 * 1024 * 1024;

/// Error code of the refusals this module makes without calling S3.
pub const OUTSIDE_PREFIX: &str = "OutsideTestPrefix";

/// `alpaka-test/<run id>/`: the only thing [`S3`] reads from or deletes under.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TestPrefix(String);

impl TestPrefix {
    /// The prefix for one test run. Run ids are `[a-z0-9]{6,32}`: no separators, dots, spaces or
    /// uppercase can widen or alias the prefix.
    pub fn for_run(run_id: &str) -> Result<TestPrefix, AwsError> {
        let ok = (6..=32).contains(&run_id.len())
            && run_id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !ok {
            return Err(AwsError::new(
                "s3:test-prefix",
                format!("{run_id:?}"),
                "a test run id must be 6 to 32 characters of a-z and 0-9",
            )
            .with_code("InvalidRunId"));
        }
        Ok(TestPrefix(format!("{TEST_ROOT}/{run_id}/")))
    }

    /// `alpaka-test/<run id>/`, with the trailing slash so run `abc123` never matches
    /// `abc1234/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `alpaka-test/<run id>`: the Confluent S3 sink's `topics.dir` (it adds the slash itself).
    pub fn topics_dir(&self) -> &str {
        &self.0[..self.0.len() - 1]
    }

    /// The run id this prefix was made from.
    pub fn run_id(&self) -> &str {
        &self.0[TEST_ROOT.len() + 1..self.0.len() - 1]
    }

    /// Whether `key` lies under this prefix.
    pub fn contains(&self, key: &str) -> bool {
        key.starts_with(&self.0)
    }
}

impl fmt::Display for TestPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One listed object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
}

/// What [`S3::delete_prefix`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DeleteReport {
    pub deleted: usize,
}

/// An S3 client limited to what the sink check needs.
#[derive(Clone, Debug)]
pub struct S3 {
    client: aws_sdk_s3::Client,
}

impl S3 {
    /// From the shared SDK configuration ([`crate::load_config`]), so credentials, region,
    /// retries and `AWS_ENDPOINT_URL[_S3]` behave as for every other client.
    pub fn new(config: &SdkConfig) -> S3 {
        let mut s3 = aws_sdk_s3::config::Builder::from(config);
        // S3's default is virtual-hosted addressing (`<bucket>.<host>`), which needs DNS for
        // every bucket name. An overridden endpoint (moto, MinIO, LocalStack, a proxy) has none,
        // and the SDK's rules only fall back to path style for IP-literal hosts, not for
        // `localhost` or a container name. Against AWS itself keep the default: it is what AWS
        // recommends and what every bucket supports.
        if endpoint_overridden(config) {
            s3 = s3.force_path_style(true);
        }
        S3 {
            client: aws_sdk_s3::Client::from_conf(s3.build()),
        }
    }

    /// [`crate::load_config`] for `region`, then [`S3::new`].
    pub async fn load(region: &str) -> S3 {
        S3::new(&crate::load_config(region).await)
    }

    /// The bucket exists and these credentials may use it (`s3:HeadBucket`).
    pub async fn check_bucket(&self, bucket: &str) -> Result<(), AwsError> {
        const OP: &str = "s3:HeadBucket";
        self.client
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| {
                // HEAD responses carry no body, so no error code: say what the status means.
                let raw = e.raw_response();
                let status = raw.map(|r| r.status().as_u16());
                let region = raw
                    .and_then(|r| r.headers().get("x-amz-bucket-region"))
                    .map(str::to_owned);
                let err = sdk(OP, bucket)(e);
                match status.and_then(|s| head_bucket_status(bucket, s, region.as_deref())) {
                    Some((code, message)) => AwsError::new(OP, bucket, message).with_code(code),
                    None => err,
                }
            })?;
        Ok(())
    }

    /// Every object under `prefix`, following continuation tokens past S3's 1,000 keys a page.
    pub async fn list(
        &self,
        bucket: &str,
        prefix: &TestPrefix,
    ) -> Result<Vec<ObjectInfo>, AwsError> {
        const OP: &str = "s3:ListObjectsV2";
        let resource = format!("s3://{bucket}/{prefix}");
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix.as_str())
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(sdk(OP, &resource))?;
            for o in out.contents() {
                let key = o.key().unwrap_or_default();
                // S3 only returns keys under the prefix; a store that does not is not one we
                // let delete_prefix act on.
                if !prefix.contains(key) {
                    return Err(outside(OP, bucket, prefix, key));
                }
                objects.push(ObjectInfo {
                    key: key.to_owned(),
                    size: o.size().unwrap_or_default().max(0) as u64,
                });
            }
            match (out.is_truncated(), out.next_continuation_token()) {
                (Some(true), Some(t)) => token = Some(t.to_owned()),
                (Some(true), None) => {
                    return Err(AwsError::new(
                        OP,
                        resource,
                        "the listing is truncated but has no continuation token",
                    ));
                }
                _ => break,
            }
        }
        Ok(objects)
    }

    /// The content of `key`, which must lie under `prefix`; anything else is refused before
    /// any request is made. At most [`MAX_GET_BYTES`].
    pub async fn get(
        &self,
        bucket: &str,
        prefix: &TestPrefix,
        key: &str,
    ) -> Result<Vec<u8>, AwsError> {
        const OP: &str = "s3:GetObject";
        // `.`/`..` segments are literal in S3 but may be normalised by a proxy or stand-in on
        // the way; refuse them rather than reason about every hop.
        let dotted = key.split('/').any(|s| s == "." || s == "..");
        if !prefix.contains(key) || dotted {
            return Err(outside(OP, bucket, prefix, key));
        }
        let resource = format!("s3://{bucket}/{key}");
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(sdk(OP, &resource))?;
        if let Some(len) = out.content_length()
            && len as u64 > MAX_GET_BYTES
        {
            return Err(AwsError::new(
                OP,
                resource,
                format!("object is {len} bytes, more than the {MAX_GET_BYTES} read for a check"),
            )
            .with_code("TooLarge"));
        }
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| AwsError::new(OP, &resource, format!("reading the body: {e}")))?;
        Ok(body.into_bytes().to_vec())
    }

    /// Deletes every object under `prefix` and nothing else: lists under the prefix, re-checks
    /// each listed key against it, deletes those exact keys in `DeleteObjects` batches of at most
    /// 1,000 (quiet: only failures come back), and repeats until a listing comes back empty (a
    /// few rounds at most, for a sink still flushing). Any per-key failure is an error naming
    /// the first keys.
    ///
    /// Not handled: in a **versioned** bucket a delete only adds delete markers; the
    /// noncurrent versions (and the markers) stay and keep costing storage until a lifecycle
    /// rule or someone removes them. Object Lock retention makes the deletes fail (reported).
    pub async fn delete_prefix(
        &self,
        bucket: &str,
        prefix: &TestPrefix,
    ) -> Result<DeleteReport, AwsError> {
        const OP: &str = "s3:DeleteObjects";
        let mut report = DeleteReport::default();
        for _ in 0..DELETE_ROUNDS {
            let listed = self.list(bucket, prefix).await?;
            if listed.is_empty() {
                return Ok(report);
            }
            let keys: Vec<String> = listed.into_iter().map(|o| o.key).collect();
            for batch in delete_batches(bucket, prefix, keys)? {
                let n = batch.len();
                let first = batch.first().cloned().unwrap_or_default();
                let objects = batch
                    .into_iter()
                    .map(|k| ObjectIdentifier::builder().key(k).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| AwsError::new(OP, bucket, e.to_string()))?;
                let delete = Delete::builder()
                    .set_objects(Some(objects))
                    .quiet(true)
                    .build()
                    .map_err(|e| AwsError::new(OP, bucket, e.to_string()))?;
                let out = self
                    .client
                    .delete_objects()
                    .bucket(bucket)
                    .delete(delete)
                    .send()
                    .await
                    .map_err(sdk(OP, &format!("s3://{bucket}/{first}…")))?;
                let errors = out.errors();
                if !errors.is_empty() {
                    let named: Vec<String> = errors
                        .iter()
                        .take(3)
                        .map(|e| {
                            format!(
                                "{} ({}: {})",
                                e.key().unwrap_or("?"),
                                e.code().unwrap_or("?"),
                                e.message().unwrap_or("")
                            )
                        })
                        .collect();
                    let mut err = AwsError::new(
                        OP,
                        format!("s3://{bucket}/{prefix}"),
                        format!(
                            "{} of {n} keys in a batch not deleted ({} deleted so far): {}{}",
                            errors.len(),
                            report.deleted + n - errors.len(),
                            named.join(", "),
                            if errors.len() > named.len() {
                                ", …"
                            } else {
                                ""
                            }
                        ),
                    );
                    if let Some(code) = errors[0].code() {
                        err = err.with_code(code);
                    }
                    return Err(err);
                }
                report.deleted += n;
            }
        }
        let left = self.list(bucket, prefix).await?;
        if left.is_empty() {
            return Ok(report);
        }
        Err(AwsError::new(
            OP,
            format!("s3://{bucket}/{prefix}"),
            format!(
                "{} objects still there after {DELETE_ROUNDS} rounds (something keeps writing: \
                 is the sink connector still running?)",
                left.len()
            ),
        )
        .with_code("NotEmpty"))
    }
}

/// What a failed HeadBucket's status means for `bucket` (code, message); `None` for statuses
/// the SDK's own error describes well enough.
fn head_bucket_status(
    bucket: &str,
    status: u16,
    region: Option<&str>,
) -> Option<(&'static str, String)> {
    Some(match status {
        404 => ("NoSuchBucket", format!("bucket {bucket} does not exist")),
        403 => (
            "AccessDenied",
            format!(
                "access to bucket {bucket} is forbidden: it belongs to another account, or these \
                 credentials lack s3:ListBucket on it"
            ),
        ),
        301 => (
            "PermanentRedirect",
            format!(
                "bucket {bucket} is in region {}, not the configured one",
                region.unwrap_or("(unknown)")
            ),
        ),
        _ => return None,
    })
}

/// Whether the S3 client will talk to something other than AWS's own endpoints.
pub(crate) fn endpoint_overridden(config: &SdkConfig) -> bool {
    // `SdkConfig` carries the global override (env, profile or code); the S3-only one
    // (`AWS_ENDPOINT_URL_S3`) is resolved inside the S3 config builder, which has no getter.
    config.endpoint_url().is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some_and(|v| !v.is_empty())
}

/// `keys` in `DeleteObjects`-sized batches, after checking (again) that each lies under
/// `prefix`: the listing that produced them already did, but this is the last step before an
/// irreversible call.
fn delete_batches(
    bucket: &str,
    prefix: &TestPrefix,
    keys: Vec<String>,
) -> Result<Vec<Vec<String>>, AwsError> {
    if let Some(bad) = keys.iter().find(|k| !prefix.contains(k)) {
        return Err(outside("s3:DeleteObjects", bucket, prefix, bad));
    }
    let mut batches = Vec::new();
    let mut keys = keys.into_iter().peekable();
    while keys.peek().is_some() {
        batches.push(keys.by_ref().take(DELETE_BATCH).collect());
    }
    Ok(batches)
}

fn outside(op: &str, bucket: &str, prefix: &TestPrefix, key: &str) -> AwsError {
    AwsError::new(
        op,
        format!("s3://{bucket}/{key}"),
        format!("refused: the key is not under this run's test prefix {prefix}"),
    )
    .with_code(OUTSIDE_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_outside_the_alphabet_or_length_are_rejected() {
        let long = "a".repeat(33);
        for bad in [
            "",
            "../x",
            "a/b",
            "ABCDEF",
            "abc",
            long.as_str(),
            " run001",
            "run001 ",
            "run-001",
            "run.001",
            "run001/",
            "runé001",
            "run\n001",
            "..",
            "abcdeF",
        ] {
            let e = TestPrefix::for_run(bad).expect_err(bad);
            assert!(e.code_is("InvalidRunId"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn accepted_ids_give_one_segment_under_the_test_root() {
        let p = TestPrefix::for_run("run001").unwrap();
        assert_eq!(p.as_str(), "alpaka-test/run001/");
        assert_eq!(p.topics_dir(), "alpaka-test/run001");
        assert_eq!(p.run_id(), "run001");
        assert_eq!(p.to_string(), "alpaka-test/run001/");
        assert!(TestPrefix::for_run(&"z9".repeat(16)).is_ok());
        assert!(TestPrefix::for_run("000000").is_ok());
    }

    /// Every accepted id, over many generated strings (including ones from the valid alphabet
    /// at every length), yields `^alpaka-test/[a-z0-9]{6,32}/$`, and exactly the ids of that
    /// shape are accepted.
    #[test]
    fn acceptance_matches_the_pattern_over_generated_ids() {
        let alphabet: Vec<char> = ('a'..='z')
            .chain('0'..='9')
            .chain(['A', 'Z', '/', '.', '-', '_', ' ', '\\', '%', '\0', 'é', '*'])
            .collect();
        // A fixed LCG: reproducible without a dependency.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as usize) % n
        };
        let mut accepted = 0;
        for i in 0..20_000 {
            let len = next(40);
            // Half the cases draw only from the valid alphabet, so acceptance is exercised.
            let pool = if i % 2 == 0 { 36 } else { alphabet.len() };
            let id: String = (0..len).map(|_| alphabet[next(pool)]).collect();
            let valid = (6..=32).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            match TestPrefix::for_run(&id) {
                Ok(p) => {
                    assert!(valid, "accepted {id:?}");
                    accepted += 1;
                    let s = p.as_str();
                    let inner = s
                        .strip_prefix("alpaka-test/")
                        .and_then(|r| r.strip_suffix('/'))
                        .unwrap_or_else(|| panic!("{s:?}"));
                    assert!((6..=32).contains(&inner.len()), "{s:?}");
                    assert!(
                        inner
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                        "{s:?}"
                    );
                    assert_eq!(inner, id);
                }
                Err(_) => assert!(!valid, "rejected {id:?}"),
            }
        }
        assert!(accepted > 1000, "only {accepted} generated ids were valid");
    }

    #[test]
    fn the_trailing_slash_keeps_sibling_runs_apart() {
        let p = TestPrefix::for_run("run001").unwrap();
        assert!(p.contains("alpaka-test/run001/topic/partition=0/x.json"));
        assert!(!p.contains("alpaka-test/run0011/y"));
        assert!(!p.contains("alpaka-test/run001"));
        assert!(!p.contains("data/alpaka-test/run001/x"));
    }

    #[test]
    fn head_bucket_failures_name_the_bucket_and_the_reason() {
        let (code, m) = head_bucket_status("logs", 403, None).unwrap();
        assert_eq!(code, "AccessDenied");
        assert!(m.contains("bucket logs") && m.contains("forbidden"), "{m}");
        let (code, m) = head_bucket_status("logs", 301, Some("us-west-2")).unwrap();
        assert_eq!(code, "PermanentRedirect");
        assert!(m.contains("bucket logs") && m.contains("us-west-2"), "{m}");
        assert_eq!(
            head_bucket_status("logs", 404, None).unwrap().0,
            "NoSuchBucket"
        );
        assert_eq!(head_bucket_status("logs", 500, None), None);
    }

    #[test]
    fn delete_batches_hold_at_most_1000_keys_and_only_keys_under_the_prefix() {
        let p = TestPrefix::for_run("run001").unwrap();
        let keys: Vec<String> = (0..2500).map(|i| format!("{p}k{i:05}")).collect();
        let batches = delete_batches("b", &p, keys.clone()).unwrap();
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
        assert_eq!(batches.concat(), keys);
        assert!(delete_batches("b", &p, Vec::new()).unwrap().is_empty());

        let mut with_stranger = keys;
        with_stranger.insert(1700, "alpaka-test/run0011/y".to_owned());
        let e = delete_batches("b", &p, with_stranger).unwrap_err();
        assert!(e.code_is(OUTSIDE_PREFIX), "{e}");
        assert!(e.resource.contains("alpaka-test/run0011/y"), "{e}");
    }
}
