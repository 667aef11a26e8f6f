//! Runs the planned checks in order, each under its own deadline, through the [`Cluster`] and
//! [`ObjectStore`] seams; records every object it creates before creating it, and removes them
//! all afterwards (in reverse) unless asked to keep them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use super::plan::{Check, HttpCheck, Planned, TargetGroup, connect_rest};
use super::verdict::{self, snippet};
use super::{
    CheckResult, Cluster, HttpReply, Method, ObjectRef, ObjectState, ObjectStore, Outcome,
};
use crate::stack::platform::KSQLDB_SERVICE;
use crate::stack::testkit::{PERSON_ROWS, ROUNDTRIP_MESSAGES, TestKit};

const LOG_TAIL: i64 = 20;

pub struct Options {
    /// Caps every check's own timeout.
    pub timeout: Option<Duration>,
    /// How often to look again while waiting.
    pub poll: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: None,
            poll: Duration::from_secs(2),
        }
    }
}

/// Something to undo after the run.
#[derive(Debug, Clone, PartialEq)]
pub enum Undo {
    Object(ObjectRef),
    /// A ksqlDB statement (DROP STREAM).
    Ksql(String),
    /// The S3 sink's per-run prefix.
    S3Prefix,
}

pub struct Runner<'a> {
    cluster: &'a dyn Cluster,
    store: Option<&'a dyn ObjectStore>,
    kit: TestKit<'a>,
    opts: Options,
    undo: Mutex<Vec<Undo>>,
    roundtrip_ok: AtomicBool,
    /// The topics the round-trip Job saw.
    topics: Mutex<Option<Vec<String>>>,
}

/// Evidence lines from a log: its last lines, as they are.
fn log_lines(log: &str) -> Vec<String> {
    let lines: Vec<&str> = log.lines().collect();
    let from = lines.len().saturating_sub(LOG_TAIL as usize);
    lines[from..].iter().map(|l| (*l).to_owned()).collect()
}

fn secs(d: Duration) -> u64 {
    d.as_secs().max(1)
}

/// A Job that finished (either way), with its log.
struct JobRun {
    ok: bool,
    /// Why it failed (the Job's condition), when it did.
    reason: Option<String>,
    log: String,
}

impl<'a> Runner<'a> {
    pub fn new(
        cluster: &'a dyn Cluster,
        store: Option<&'a dyn ObjectStore>,
        kit: TestKit<'a>,
        opts: Options,
    ) -> Runner<'a> {
        Runner {
            cluster,
            store,
            kit,
            opts,
            undo: Mutex::new(Vec::new()),
            roundtrip_ok: AtomicBool::new(false),
            topics: Mutex::new(None),
        }
    }

    /// What would be undone now (for `--keep` messages and tests).
    pub fn pending_undo(&self) -> Vec<Undo> {
        self.undo.lock().map(|u| u.clone()).unwrap_or_default()
    }

    fn remember(&self, u: Undo) {
        if let Ok(mut v) = self.undo.lock()
            && !v.contains(&u)
        {
            v.push(u);
        }
    }

    /// Starts what slow checks need before any check runs (the MySQL takes a while), so it warms
    /// up while the quick checks run.
    pub async fn prepare(&self, planned: &[Planned], mysql_passwords: (&str, &str)) {
        if planned
            .iter()
            .any(|p| matches!(p.check, Check::Jdbc { .. }))
        {
            for m in self.kit.mysql(mysql_passwords.0, mysql_passwords.1) {
                // A failure shows again, with its evidence, when the JDBC check waits for it.
                let _ = self.apply(&m).await;
            }
        }
    }

    /// One check, bounded by its timeout.
    pub async fn run_one(&self, p: &Planned) -> CheckResult {
        let started = Instant::now();
        let limit = match self.opts.timeout {
            Some(t) => t.min(p.check.default_timeout()),
            None => p.check.default_timeout(),
        };
        let deadline = started + limit;
        // The checks watch their deadline themselves (to report what they last saw); this
        // outer bound only catches a call that hangs.
        let outcome = match tokio::time::timeout(
            limit + Duration::from_secs(10),
            self.check(&p.check, deadline),
        )
        .await
        {
            Ok(o) => o,
            Err(_) => Outcome::fail(format!("timed out after {}s", secs(limit))),
        };
        CheckResult {
            name: p.name.clone(),
            outcome,
            duration: started.elapsed(),
        }
    }

    async fn check(&self, c: &Check, deadline: Instant) -> Outcome {
        let r = match c {
            Check::Skip(reason) => Ok(Outcome::Skip(reason.clone())),
            Check::Roundtrip => self.roundtrip(deadline).await,
            Check::Plugins { connect, expected } => self.plugins(connect, expected, deadline).await,
            Check::ConnectTopics { connect, topics } => Ok(self.connect_topics(connect, topics)),
            Check::Jdbc { connect } => self.jdbc(connect, deadline).await,
            Check::Ksql => self.ksql(deadline).await,
            Check::S3 {
                connect,
                bucket,
                region,
            } => self.s3(connect, bucket, region.as_deref(), deadline).await,
            Check::Http(h) => self.http(h, deadline).await,
            Check::Targets(groups) => self.targets(groups, deadline).await,
        };
        r.unwrap_or_else(|o| o)
    }

    // ---- building blocks (Err carries the failing outcome) ----

    async fn apply(&self, manifest: &Json) -> Result<ObjectRef, Outcome> {
        let obj = ObjectRef::of(manifest)
            .ok_or_else(|| Outcome::fail("internal: a test manifest without a name"))?;
        // Remembered first: a half-applied object is still cleaned up.
        self.remember(Undo::Object(obj.clone()));
        self.cluster
            .apply(manifest)
            .await
            .map_err(|e| Outcome::fail(format!("creating {obj}: {e}")))?;
        Ok(obj)
    }

    async fn wait_ready(&self, obj: &ObjectRef, deadline: Instant) -> Result<(), Outcome> {
        loop {
            let last = match self.cluster.state(obj).await {
                Ok(ObjectState::Ready) => return Ok(()),
                Ok(ObjectState::Failed(why)) => {
                    return Err(Outcome::fail(format!("{obj} failed: {why}")));
                }
                Ok(ObjectState::Pending(why)) => why,
                Ok(ObjectState::Missing) => "it does not exist".to_owned(),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(Outcome::fail(format!("{obj} not ready in time: {last}")));
            }
            tokio::time::sleep(self.opts.poll).await;
        }
    }

    async fn run_job(&self, manifest: &Json, deadline: Instant) -> Result<JobRun, Outcome> {
        let job = self.apply(manifest).await?;
        loop {
            let state = self.cluster.state(&job).await;
            let finished = match &state {
                Ok(ObjectState::Ready) => Some((true, None)),
                Ok(ObjectState::Failed(why)) => Some((false, Some(why.clone()))),
                _ => None,
            };
            if let Some((ok, reason)) = finished {
                let log = self
                    .cluster
                    .job_log(&job.name, LOG_TAIL * 5)
                    .await
                    .unwrap_or_else(|e| format!("(no log: {e})"));
                return Ok(JobRun { ok, reason, log });
            }
            if Instant::now() >= deadline {
                let log = self
                    .cluster
                    .job_log(&job.name, LOG_TAIL)
                    .await
                    .unwrap_or_else(|e| format!("(no log: {e})"));
                let why = match state {
                    Ok(ObjectState::Pending(w)) => w,
                    Ok(other) => format!("{other:?}"),
                    Err(e) => e.to_string(),
                };
                return Err(
                    Outcome::fail(format!("{job} did not finish in time ({why})"))
                        .with_evidence(log_lines(&log)),
                );
            }
            tokio::time::sleep(self.opts.poll).await;
        }
    }

    /// Calls until `accept` takes the reply or the deadline passes; then the last verdict.
    async fn http_until<T>(
        &self,
        (service, port): (&str, u16),
        method: Method,
        path: &str,
        body: Option<&Json>,
        deadline: Instant,
        accept: impl Fn(&HttpReply) -> Result<T, Outcome>,
    ) -> Result<T, Outcome> {
        loop {
            // A backend that hangs must not hold the check past its deadline.
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_secs(1));
            let call = self.cluster.http(service, port, method, path, body);
            let verdict = match tokio::time::timeout(left, call).await {
                Ok(Ok(reply)) => accept(&reply),
                Ok(Err(e)) => Err(Outcome::fail(format!(
                    "{service}:{port}{path} unreachable: {e}"
                ))),
                Err(_) => Err(Outcome::fail(format!(
                    "{service}:{port}{path}: no answer within {}s",
                    secs(left)
                ))),
            };
            match verdict {
                Ok(t) => return Ok(t),
                Err(o) if Instant::now() >= deadline => return Err(o),
                Err(_) => tokio::time::sleep(self.opts.poll).await,
            }
        }
    }

    // ---- the checks ----

    async fn roundtrip(&self, deadline: Instant) -> Result<Outcome, Outcome> {
        let topic = self.kit.roundtrip_topic();
        let t = self.apply(&self.kit.topic(&topic)).await?;
        self.wait_ready(&t, deadline).await?;
        let left = deadline.saturating_duration_since(Instant::now());
        let run = self
            .run_job(&self.kit.roundtrip_job(secs(left) as i64), deadline)
            .await?;
        if let Ok(mut t) = self.topics.lock() {
            *t = verdict::listed_topics(&run.log);
        }
        let result = verdict::job_result(&run.log);
        let got = |k: &str| result.as_ref().and_then(|r| verdict::result_count(r, k));
        let matched = result
            .as_ref()
            .and_then(|r| r.get("match"))
            .map(String::as_str);
        if run.ok && matched == Some("yes") {
            self.roundtrip_ok.store(true, Ordering::SeqCst);
            Ok(Outcome::Pass(format!(
                "{} messages produced and read back from {topic}",
                got("received").unwrap_or_default()
            )))
        } else {
            let summary = match (got("sent"), got("received")) {
                (Some(s), Some(r)) => format!(
                    "sent {s}, read back {r}{}",
                    if matched == Some("no") && r >= s {
                        " (different contents)"
                    } else {
                        ""
                    }
                ),
                _ => format!(
                    "the round-trip Job failed: {}",
                    run.reason.as_deref().unwrap_or("no result line")
                ),
            };
            Ok(Outcome::fail(summary).with_evidence(log_lines(&run.log)))
        }
    }

    async fn plugins(
        &self,
        connect: &str,
        expected: &std::collections::BTreeSet<String>,
        deadline: Instant,
    ) -> Result<Outcome, Outcome> {
        let (svc, port) = connect_rest(connect);
        let rest = (svc.as_str(), port);
        let version = self
            .http_until(rest, Method::Get, "/", None, deadline, |r| {
                if r.status == 200 {
                    Ok(serde_json::from_str::<Json>(&r.body)
                        .ok()
                        .and_then(|v| v["version"].as_str().map(str::to_owned))
                        .unwrap_or_else(|| "?".into()))
                } else {
                    Err(http_fail(svc.as_str(), port, "GET /", r))
                }
            })
            .await?;
        let installed = self
            .http_until(
                rest,
                Method::Get,
                "/connector-plugins",
                None,
                deadline,
                |r| {
                    if r.status != 200 {
                        return Err(http_fail(svc.as_str(), port, "GET /connector-plugins", r));
                    }
                    verdict::plugins(&r.body, expected).map_err(Outcome::fail)
                },
            )
            .await?;
        Ok(Outcome::Pass(format!(
            "workers up (Kafka Connect {version}), {} plugins{}",
            installed.len(),
            if expected.is_empty() {
                String::new()
            } else {
                format!(
                    ", including {}",
                    expected
                        .iter()
                        .map(|c| c.rsplit('.').next().unwrap_or(c))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )))
    }

    fn connect_topics(&self, connect: &str, wanted: &[String]) -> Outcome {
        let listed = self.topics.lock().ok().and_then(|t| t.clone());
        let Some(listed) = listed else {
            return Outcome::Skip(
                "judged from kafka.roundtrip's topic listing, which this run does not have".into(),
            );
        };
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|t| !listed.contains(t))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            Outcome::Pass(format!("{} are in Kafka", wanted.join(", ")))
        } else {
            Outcome::fail(format!(
                "Connect `{connect}` has not created {} in Kafka (its workers never started?)",
                missing.join(", ")
            ))
            .with_evidence([format!("topics in Kafka: {}", listed.join(" "))])
        }
    }

    async fn connector_evidence(&self, connect: &str, name: &str) -> Vec<String> {
        let (svc, port) = connect_rest(connect);
        match self
            .cluster
            .http(
                &svc,
                port,
                Method::Get,
                &format!("/connectors/{name}/status"),
                None,
            )
            .await
        {
            Ok(r) => vec![format!(
                "Connect status of {name}: {}",
                verdict::connector_status(&r.body)
            )],
            Err(e) => vec![format!("Connect status of {name}: {e}")],
        }
    }

    async fn jdbc(&self, connect: &str, deadline: Instant) -> Result<Outcome, Outcome> {
        let mysql = ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: self.kit.name("mysql"),
        };
        self.wait_ready(&mysql, deadline).await?;
        let topic = self.kit.person_topic();
        let t = self.apply(&self.kit.topic(&topic)).await?;
        self.wait_ready(&t, deadline).await?;
        let mut connector = None;
        for m in self.kit.jdbc_connector(connect) {
            connector = Some(self.apply(&m).await?);
        }
        let connector =
            connector.ok_or_else(|| Outcome::fail("internal: no JDBC connector manifest"))?;
        if let Err(o) = self.wait_ready(&connector, deadline).await {
            return Err(o.with_evidence(self.connector_evidence(connect, &connector.name).await));
        }
        // Leave the Job time to report before the check's own deadline.
        let left = secs(deadline.saturating_duration_since(Instant::now()));
        let settle = 10.min(left / 4);
        let wait = left.saturating_sub(settle + 20).max(1);
        let job = self
            .kit
            .count_job("count", &topic, PERSON_ROWS, wait, settle, left as i64);
        let run = match self.run_job(&job, deadline).await {
            Ok(r) => r,
            Err(o) => {
                return Err(
                    o.with_evidence(self.connector_evidence(connect, &connector.name).await)
                );
            }
        };
        let received = verdict::job_result(&run.log)
            .as_ref()
            .and_then(|r| verdict::result_count(r, "received"));
        match received {
            Some(n) if run.ok && n == u64::from(PERSON_ROWS) => Ok(Outcome::Pass(format!(
                "{PERSON_ROWS} rows of MySQL `person` delivered by {} to {topic}, exactly",
                connector.name
            ))),
            Some(n) => Ok(Outcome::fail(format!(
                "{n} records in {topic}, expected exactly {PERSON_ROWS}"
            ))
            .with_evidence(log_lines(&run.log))
            .with_evidence(self.connector_evidence(connect, &connector.name).await)),
            None => Ok(Outcome::fail(format!(
                "the counting Job gave no result: {}",
                run.reason.as_deref().unwrap_or("no result line")
            ))
            .with_evidence(log_lines(&run.log))),
        }
    }

    async fn ksql_post(
        &self,
        path: &str,
        statement: &str,
        properties: Json,
        deadline: Instant,
    ) -> Result<String, Outcome> {
        let body = json!({"ksql": statement, "streamsProperties": properties});
        self.http_until(
            KSQLDB_SERVICE,
            Method::Post,
            path,
            Some(&body),
            deadline,
            |r| {
                if r.status == 200 {
                    Ok(r.body.clone())
                } else {
                    Err(Outcome::fail(format!(
                        "`{statement}`: {}",
                        verdict::ksql_error(r.status, &r.body)
                    )))
                }
            },
        )
        .await
    }

    async fn ksql(&self, deadline: Instant) -> Result<Outcome, Outcome> {
        if !self.roundtrip_ok.load(Ordering::SeqCst) {
            return Ok(Outcome::Skip(
                "needs the round-trip topic, and kafka.roundtrip did not pass".into(),
            ));
        }
        let q = self.kit.ksql();
        let topic = self.kit.roundtrip_topic();
        let shown = self
            .ksql_post("/ksql", &q.show_topics, json!({}), deadline)
            .await?;
        let topics = verdict::ksql_topics(&shown, &topic).map_err(Outcome::fail)?;
        self.remember(Undo::Ksql(q.drop_stream.clone()));
        let created = self
            .ksql_post("/ksql", &q.create_stream, json!({}), deadline)
            .await?;
        verdict::ksql_created(&created).map_err(Outcome::fail)?;
        let rows = self
            .ksql_post(
                "/query",
                &q.select,
                json!({"ksql.streams.auto.offset.reset": "earliest"}),
                deadline,
            )
            .await?;
        let rows = verdict::ksql_rows(&rows).map_err(Outcome::fail)?;
        if rows.len() == 3 {
            Ok(Outcome::Pass(format!(
                "SHOW TOPICS listed {topics} topics, CREATE STREAM {} succeeded, SELECT … LIMIT 3 returned 3 rows",
                self.kit.ksql_stream()
            )))
        } else {
            Ok(
                Outcome::fail(format!("SELECT … LIMIT 3 returned {} rows", rows.len()))
                    .with_evidence(rows.iter().map(|r| Json::Array(r.clone()).to_string())),
            )
        }
    }

    async fn s3(
        &self,
        connect: &str,
        bucket: &str,
        region: Option<&str>,
        deadline: Instant,
    ) -> Result<Outcome, Outcome> {
        if !self.roundtrip_ok.load(Ordering::SeqCst) {
            return Ok(Outcome::Skip(
                "needs the round-trip topic, and kafka.roundtrip did not pass".into(),
            ));
        }
        let Some(store) = self.store else {
            return Ok(Outcome::fail("internal: no object store for the S3 check"));
        };
        let Some(region) = region else {
            return Ok(Outcome::fail(
                "test.s3sink.region is not set (and the profile is not an EKS one)",
            ));
        };
        store
            .check()
            .await
            .map_err(|e| Outcome::fail(format!("bucket {bucket}: {e}")))?;
        self.remember(Undo::S3Prefix);
        let c = self
            .apply(
                &self
                    .kit
                    .s3_connector(connect, bucket, region, &store.topics_dir()),
            )
            .await?;
        if let Err(o) = self.wait_ready(&c, deadline).await {
            return Err(o.with_evidence(self.connector_evidence(connect, &c.name).await));
        }
        let mut last = (0, 0);
        loop {
            match store.records().await {
                Ok((objects, records)) => {
                    last = (objects, records);
                    if records >= ROUNDTRIP_MESSAGES as usize {
                        return Ok(if records == ROUNDTRIP_MESSAGES as usize {
                            Outcome::Pass(format!(
                                "{records} records in {objects} object(s) under {}",
                                store.location()
                            ))
                        } else {
                            Outcome::fail(format!(
                                "{records} records under {}, expected {ROUNDTRIP_MESSAGES}",
                                store.location()
                            ))
                        });
                    }
                }
                Err(e) if Instant::now() >= deadline => {
                    return Ok(Outcome::fail(format!("listing {}: {e}", store.location())));
                }
                Err(_) => {}
            }
            if Instant::now() >= deadline {
                return Ok(Outcome::fail(format!(
                    "{} records in {} object(s) under {} after the timeout, expected {ROUNDTRIP_MESSAGES}",
                    last.1,
                    last.0,
                    store.location()
                ))
                .with_evidence(self.connector_evidence(connect, &c.name).await));
            }
            tokio::time::sleep(self.opts.poll).await;
        }
    }

    async fn http(&self, h: &HttpCheck, deadline: Instant) -> Result<Outcome, Outcome> {
        let what = format!("GET {}", h.path);
        self.http_until(
            (&h.service, h.port),
            Method::Get,
            &h.path,
            None,
            deadline,
            |r| {
                let body_ok = h.expect.as_deref().is_none_or(|e| r.body.contains(e));
                if r.status == 200 && body_ok {
                    Ok(Outcome::Pass(format!(
                        "HTTP 200 from {}:{} {what}",
                        h.service, h.port
                    )))
                } else if r.status == 200 {
                    Err(Outcome::fail(format!(
                        "HTTP 200 from {}:{} {what}, but the body lacks {}",
                        h.service,
                        h.port,
                        h.expect.as_deref().unwrap_or("")
                    ))
                    .with_evidence([format!("body: {}", snippet(&r.body))]))
                } else {
                    Err(http_fail(&h.service, h.port, &what, r))
                }
            },
        )
        .await
    }

    async fn targets(&self, groups: &[TargetGroup], deadline: Instant) -> Result<Outcome, Outcome> {
        let (svc, port) = crate::stack::platform::PROMETHEUS_SERVICE;
        let path = "/api/v1/targets?state=active";
        self.http_until((svc, port), Method::Get, path, None, deadline, |r| {
            if r.status != 200 {
                return Err(http_fail(svc, port, &format!("GET {path}"), r));
            }
            let report = verdict::targets(&r.body, groups).map_err(Outcome::fail)?;
            if report.ok {
                Ok(Outcome::Pass(report.summary))
            } else {
                Err(Outcome::fail(report.summary).with_evidence(report.problems))
            }
        })
        .await
    }

    // ---- after the checks ----

    /// Removes what the run created, newest first. Returns what could not be removed.
    pub async fn cleanup(&self) -> (usize, Vec<String>) {
        let undo: Vec<Undo> = self
            .undo
            .lock()
            .map(|mut u| std::mem::take(&mut *u))
            .unwrap_or_default();
        let mut done = 0;
        let mut problems = Vec::new();
        for u in undo.into_iter().rev() {
            let r = match &u {
                Undo::Object(o) => self
                    .cluster
                    .delete(o)
                    .await
                    .map_err(|e| format!("{o}: {e}")),
                Undo::Ksql(stmt) => {
                    let body = json!({"ksql": stmt, "streamsProperties": {}});
                    match self
                        .cluster
                        .http(
                            KSQLDB_SERVICE.0,
                            KSQLDB_SERVICE.1,
                            Method::Post,
                            "/ksql",
                            Some(&body),
                        )
                        .await
                    {
                        Ok(r) if r.status == 200 => Ok(()),
                        Ok(r) => Err(format!(
                            "`{stmt}`: {}",
                            verdict::ksql_error(r.status, &r.body)
                        )),
                        Err(e) => Err(format!("`{stmt}`: {e}")),
                    }
                }
                Undo::S3Prefix => match self.store {
                    Some(s) => s
                        .delete_run()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{}: {e}", s.location())),
                    None => Ok(()),
                },
            };
            match r {
                Ok(()) => done += 1,
                Err(e) => problems.push(e),
            }
        }
        (done, problems)
    }
}

fn http_fail(service: &str, port: u16, what: &str, r: &HttpReply) -> Outcome {
    Outcome::fail(format!("HTTP {} from {service}:{port} {what}", r.status))
        .with_evidence([format!("body: {}", snippet(&r.body))])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use async_trait::async_trait;

    use super::*;
    use crate::model::stack::StackConfig;
    use crate::selftest::ProbeError;
    use crate::selftest::plan::HttpCheck;
    use crate::stack::testkit::RunId;

    /// A cluster where objects become ready at once, Jobs finish with a scripted log, and HTTP
    /// answers from a table. Records every call.
    #[derive(Default)]
    struct Fake {
        calls: Mutex<Vec<String>>,
        never_ready: bool,
        job_logs: BTreeMap<String, (bool, String)>,
        http: BTreeMap<String, (u16, String)>,
    }

    #[async_trait]
    impl Cluster for Fake {
        async fn apply(&self, m: &Json) -> Result<(), ProbeError> {
            let o = ObjectRef::of(m).unwrap();
            self.calls.lock().unwrap().push(format!("apply {o}"));
            Ok(())
        }
        async fn delete(&self, o: &ObjectRef) -> Result<(), ProbeError> {
            self.calls.lock().unwrap().push(format!("delete {o}"));
            Ok(())
        }
        async fn state(&self, o: &ObjectRef) -> Result<ObjectState, ProbeError> {
            if self.never_ready {
                return Ok(ObjectState::Pending(format!("{} waiting", o.kind)));
            }
            if o.kind == "Job" {
                let suffix = o.name.rsplit('-').next().unwrap();
                return Ok(match self.job_logs.get(suffix) {
                    Some((true, _)) => ObjectState::Ready,
                    Some((false, _)) => ObjectState::Failed("BackoffLimitExceeded".into()),
                    None => ObjectState::Pending("running".into()),
                });
            }
            Ok(ObjectState::Ready)
        }
        async fn job_log(&self, job: &str, _tail: i64) -> Result<String, ProbeError> {
            let suffix = job.rsplit('-').next().unwrap();
            Ok(self
                .job_logs
                .get(suffix)
                .map(|x| x.1.clone())
                .unwrap_or_else(|| "container waiting: ErrImagePull".into()))
        }
        async fn http(
            &self,
            service: &str,
            port: u16,
            method: Method,
            path: &str,
            body: Option<&Json>,
        ) -> Result<HttpReply, ProbeError> {
            let key = format!("{method:?} {service}:{port}{path}");
            self.calls.lock().unwrap().push(match body {
                Some(b) => format!("{key} {}", b["ksql"].as_str().unwrap_or("")),
                None => key.clone(),
            });
            self.http
                .get(&key)
                .map(|(status, body)| HttpReply {
                    status: *status,
                    body: body.clone(),
                })
                .ok_or_else(|| ProbeError(format!("services \"{service}\" not found")))
        }
    }

    fn runner<'a>(fake: &'a Fake, cfg: &'a StackConfig, run: &'a RunId) -> Runner<'a> {
        Runner::new(
            fake,
            None,
            TestKit {
                run,
                ns: "alpaka",
                cfg,
                mirror: None,
            },
            Options {
                timeout: Some(Duration::from_millis(300)),
                poll: Duration::from_millis(20),
            },
        )
    }

    fn planned(name: &str, check: Check) -> Planned {
        Planned {
            name: name.into(),
            check,
        }
    }

    #[tokio::test]
    async fn a_roundtrip_passes_on_its_result_line_and_cleanup_undoes_in_reverse() {
        let fake = Fake {
            job_logs: BTreeMap::from([(
                "roundtrip".into(),
                (true, "ALPAKA-RESULT sent=10 received=10 match=yes".into()),
            )]),
            ..Default::default()
        };
        let cfg = StackConfig::default();
        let run = RunId::new("ab12cd34").unwrap();
        let r = runner(&fake, &cfg, &run);
        let res = r
            .run_one(&planned("kafka.roundtrip", Check::Roundtrip))
            .await;
        assert!(res.outcome.passed(), "{:?}", res.outcome);
        let (done, problems) = r.cleanup().await;
        assert_eq!((done, problems.len()), (2, 0));
        let calls = fake.calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            [
                "apply KafkaTopic alpaka-test-ab12cd34-roundtrip",
                "apply Job alpaka-test-ab12cd34-roundtrip",
                "delete Job alpaka-test-ab12cd34-roundtrip",
                "delete KafkaTopic alpaka-test-ab12cd34-roundtrip",
            ]
        );
    }

    #[tokio::test]
    async fn connect_topics_are_judged_from_the_round_trip_listing() {
        let fake = Fake {
            job_logs: BTreeMap::from([(
                "roundtrip".into(),
                (
                    true,
                    "ALPAKA-TOPICS __consumer_offsets connect-srccon-configs connect-srccon-offsets\nALPAKA-RESULT sent=10 received=10 match=yes"
                        .into(),
                ),
            )]),
            ..Default::default()
        };
        let cfg = StackConfig::default();
        let run = RunId::new("ab12cd34").unwrap();
        let r = runner(&fake, &cfg, &run);
        let check = planned(
            "connect.srccon.topics",
            Check::ConnectTopics {
                connect: "srccon".into(),
                topics: crate::stack::strimzi::connect_topics("srccon").to_vec(),
            },
        );
        // Without a round trip there is nothing to judge from: skipped, not failed.
        assert!(matches!(r.run_one(&check).await.outcome, Outcome::Skip(_)));
        assert!(
            r.run_one(&planned("kafka.roundtrip", Check::Roundtrip))
                .await
                .outcome
                .passed()
        );
        let Outcome::Fail { summary, evidence } = r.run_one(&check).await.outcome else {
            panic!()
        };
        assert_eq!(
            summary,
            "Connect `srccon` has not created connect-srccon-status in Kafka (its workers never started?)"
        );
        assert!(
            evidence[0].contains("connect-srccon-offsets"),
            "{evidence:?}"
        );
    }

    #[tokio::test]
    async fn a_failing_job_shows_its_counts_and_log_tail() {
        let fake = Fake {
            job_logs: BTreeMap::from([(
                "count".into(),
                (
                    false,
                    "12:00:01 9999 of 10000 records\nALPAKA-RESULT expected=10000 received=9999"
                        .into(),
                ),
            )]),
            http: BTreeMap::from([(
                "Get srccon-connect-api:8083/connectors/alpaka-test-ab12cd34-jdbc/status".into(),
                (200, r#"{"connector":{"state":"RUNNING"},"tasks":[{"id":0,"state":"FAILED","trace":"java.sql.SQLException: Access denied\n at x"}]}"#.into()),
            )]),
            ..Default::default()
        };
        let cfg = StackConfig::default();
        let run = RunId::new("ab12cd34").unwrap();
        let r = runner(&fake, &cfg, &run);
        let res = r
            .run_one(&planned(
                "connect.jdbc-source",
                Check::Jdbc {
                    connect: "srccon".into(),
                },
            ))
            .await;
        let Outcome::Fail { summary, evidence } = &res.outcome else {
            panic!("{:?}", res.outcome)
        };
        assert_eq!(
            summary,
            "9999 records in alpaka-test-ab12cd34-person, expected exactly 10000"
        );
        assert!(
            evidence.iter().any(|e| e.contains("9999 of 10000")),
            "{evidence:?}"
        );
        assert!(
            evidence
                .iter()
                .any(|e| e.contains("task 0 FAILED: java.sql.SQLException: Access denied")),
            "{evidence:?}"
        );
    }

    #[tokio::test]
    async fn nothing_ready_ends_within_the_timeout_with_what_it_waited_for() {
        let fake = Fake {
            never_ready: true,
            ..Default::default()
        };
        let cfg = StackConfig::default();
        let run = RunId::new("ab12cd34").unwrap();
        let r = runner(&fake, &cfg, &run);
        let started = Instant::now();
        let res = r
            .run_one(&planned("kafka.roundtrip", Check::Roundtrip))
            .await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            res.outcome,
            Outcome::fail(
                "KafkaTopic alpaka-test-ab12cd34-roundtrip not ready in time: KafkaTopic waiting"
            )
        );
    }

    #[tokio::test]
    async fn http_failures_carry_the_status_and_body_and_skips_touch_nothing() {
        let fake = Fake {
            http: BTreeMap::from([(
                "Get kube-prometheus-stack-grafana:80/api/health".into(),
                (503, "upstream connect error".into()),
            )]),
            ..Default::default()
        };
        let cfg = StackConfig::default();
        let run = RunId::new("ab12cd34").unwrap();
        let r = runner(&fake, &cfg, &run);
        let res = r
            .run_one(&planned(
                "http.grafana",
                Check::Http(HttpCheck {
                    service: "kube-prometheus-stack-grafana".into(),
                    port: 80,
                    path: "/api/health".into(),
                    expect: None,
                }),
            ))
            .await;
        assert_eq!(
            res.outcome,
            Outcome::fail("HTTP 503 from kube-prometheus-stack-grafana:80 GET /api/health")
                .with_evidence(["body: upstream connect error".to_owned()])
        );
        let before = fake.calls.lock().unwrap().len();
        let res = r
            .run_one(&planned(
                "ksqldb.statements",
                Check::Skip("ksqldb.enabled is false".into()),
            ))
            .await;
        assert_eq!(res.outcome, Outcome::Skip("ksqldb.enabled is false".into()));
        assert_eq!(fake.calls.lock().unwrap().len(), before);
        // ksql without a passing round trip is skipped, not waited for.
        let res = r.run_one(&planned("ksqldb.statements", Check::Ksql)).await;
        assert!(matches!(res.outcome, Outcome::Skip(_)));
    }
}
