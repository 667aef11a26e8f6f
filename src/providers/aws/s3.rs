//! `alpaka test`'s S3 sink bucket ([`selftest::ObjectStore`]), confined to the run's own prefix
//! `alpaka-test/<run id>/` by `alpaka_aws::s3::TestPrefix`, the only thing that crate deletes by.

use async_trait::async_trait;

use alpaka_aws::s3::{S3, TestPrefix};

use crate::selftest::ObjectStore;
use crate::stack::testkit::RunId;

pub struct RunPrefixStore {
    s3: S3,
    bucket: String,
    prefix: TestPrefix,
}

impl RunPrefixStore {
    pub async fn new(bucket: &str, region: &str, run: &RunId) -> Result<RunPrefixStore, String> {
        Ok(RunPrefixStore {
            s3: S3::load(region).await,
            bucket: bucket.to_owned(),
            prefix: TestPrefix::for_run(run.as_str()).map_err(|e| e.to_string())?,
        })
    }
}

#[async_trait]
impl ObjectStore for RunPrefixStore {
    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix.as_str())
    }

    fn topics_dir(&self) -> String {
        self.prefix.topics_dir().to_owned()
    }

    async fn check(&self) -> Result<(), String> {
        self.s3
            .check_bucket(&self.bucket)
            .await
            .map_err(|e| e.to_string())
    }

    async fn records(&self) -> Result<(usize, usize), String> {
        let objects = self
            .s3
            .list(&self.bucket, &self.prefix)
            .await
            .map_err(|e| e.to_string())?;
        let mut records = 0;
        for o in &objects {
            let bytes = self
                .s3
                .get(&self.bucket, &self.prefix, &o.key)
                .await
                .map_err(|e| e.to_string())?;
            // The sink's JsonFormat writes one record per line.
            records += String::from_utf8_lossy(&bytes)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count();
        }
        Ok((objects.len(), records))
    }

    async fn delete_run(&self) -> Result<usize, String> {
        self.s3
            .delete_prefix(&self.bucket, &self.prefix)
            .await
            .map(|r| r.deleted)
            .map_err(|e| e.to_string())
    }
}
