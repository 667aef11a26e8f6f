//! `alpaka test`: proves a deployed stack works, one line per check.
//!
//! - [`plan`] (pure) decides from the stack config which checks run and why the others are
//!   skipped (a disabled component is never waited for);
//! - [`verdict`] (pure) judges evidence: Job result lines, REST replies;
//! - [`runner`] runs the checks, each under its own timeout, through two small seams —
//!   [`Cluster`] (the Kubernetes API: apply, delete, status, Job logs, the service proxy) and
//!   [`ObjectStore`] (the S3 sink's per-run prefix) — and removes what it created.
//!
//! The test resources themselves (topics, MySQL, connectors, Jobs) are built by
//! `stack::testkit`; the seams are implemented in `providers`.

pub mod plan;
pub mod runner;
pub mod verdict;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;

/// One object in the test namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

impl ObjectRef {
    /// The reference of a manifest (`None` if it lacks apiVersion, kind or name).
    pub fn of(manifest: &Json) -> Option<ObjectRef> {
        Some(ObjectRef {
            api_version: manifest["apiVersion"].as_str()?.to_owned(),
            kind: manifest["kind"].as_str()?.to_owned(),
            name: manifest["metadata"]["name"].as_str()?.to_owned(),
        })
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// What the cluster says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectState {
    Missing,
    /// Not ready yet: what it waits for.
    Pending(String),
    Ready,
    /// Failed for good (a Job's `Failed` condition): why.
    Failed(String),
}

/// A reply through the service proxy: the backend's status and body as they came.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// A failure to talk to the cluster at all (not a check's verdict).
#[derive(Debug, Clone)]
pub struct ProbeError(pub String);

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Kubernetes API as `alpaka test` needs it, in one namespace.
#[async_trait]
pub trait Cluster: Send + Sync {
    /// Server-side apply.
    async fn apply(&self, manifest: &Json) -> Result<(), ProbeError>;
    /// Delete (background propagation); a missing object is fine.
    async fn delete(&self, obj: &ObjectRef) -> Result<(), ProbeError>;
    async fn state(&self, obj: &ObjectRef) -> Result<ObjectState, ProbeError>;
    /// The last `tail` lines of the newest pod of Job `job`, or why there are none (the pod's
    /// waiting reason, such as `ErrImagePull`).
    async fn job_log(&self, job: &str, tail: i64) -> Result<String, ProbeError>;
    /// HTTP to `service:port` through the API server's service proxy.
    async fn http(
        &self,
        service: &str,
        port: u16,
        method: Method,
        path: &str,
        body: Option<&Json>,
    ) -> Result<HttpReply, ProbeError>;
}

/// The S3 sink check's bucket, limited to the run's own prefix.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// `s3://bucket/alpaka-test/<run>/`, for messages.
    fn location(&self) -> String;
    /// `topics.dir` for the connector: the prefix without its trailing slash.
    fn topics_dir(&self) -> String;
    /// Can the bucket be reached at all.
    async fn check(&self) -> Result<(), String>;
    /// (objects, records) under the run's prefix; records are JSON lines.
    async fn records(&self) -> Result<(usize, usize), String>;
    /// Delete everything under the run's prefix, nothing else; how many objects went.
    async fn delete_run(&self) -> Result<usize, String>;
}

/// A check's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass(String),
    Fail {
        summary: String,
        /// Log tail, response body: what a person needs to see why.
        evidence: Vec<String>,
    },
    Skip(String),
}

impl Outcome {
    pub fn fail(summary: impl Into<String>) -> Outcome {
        Outcome::Fail {
            summary: summary.into(),
            evidence: Vec::new(),
        }
    }

    pub fn with_evidence(self, lines: impl IntoIterator<Item = String>) -> Outcome {
        match self {
            Outcome::Fail {
                summary,
                mut evidence,
            } => {
                evidence.extend(lines);
                Outcome::Fail { summary, evidence }
            }
            other => other,
        }
    }

    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Pass(_))
    }

    pub fn failed(&self) -> bool {
        matches!(self, Outcome::Fail { .. })
    }
}

#[derive(Debug, Clone)]
pub struct CheckResult {
    pub name: String,
    pub outcome: Outcome,
    pub duration: Duration,
}

impl CheckResult {
    /// One line, then the evidence indented under it.
    pub fn render(&self, width: usize) -> String {
        let secs = format!("{:.1}s", self.duration.as_secs_f64());
        let (tag, text, evidence) = match &self.outcome {
            Outcome::Pass(s) => ("PASS", s.as_str(), &[][..]),
            Outcome::Fail { summary, evidence } => ("FAIL", summary.as_str(), &evidence[..]),
            Outcome::Skip(s) => ("SKIP", s.as_str(), &[][..]),
        };
        let secs = if matches!(self.outcome, Outcome::Skip(_)) {
            "-".to_owned()
        } else {
            secs
        };
        let mut out = format!("{tag}  {:<width$}  {secs:>7}  {text}", self.name);
        for e in evidence {
            for line in e.lines() {
                out.push_str("\n      | ");
                out.push_str(line);
            }
        }
        out
    }
}
