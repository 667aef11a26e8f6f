//! `helm.release`: third-party charts through the `helm` CLI, against the cluster's explicit
//! kubeconfig and context (`--kubeconfig`, `--kube-context`), never the current one.
//!
//! Desired: `{cluster, release, chart, repo, version, namespace, values}`. Apply is
//! `helm upgrade --install … --version <pin> --reset-values -f <values> --wait --timeout`, with
//! the values written from the typed tree into a private (0600) temp file removed afterwards.
//! `--reset-values` because the file is the whole of what alpaka supplies: without it helm
//! reuses the last release's values whenever the supplied ones are empty (v4.2.3, checked
//! against a real API server by `integration/real_helm.rs`), so emptied values never converge.
//! Read is `helm list -o json` (chart version, status) plus `helm get values -o json` (what was
//! supplied), in the desired shape, so an unchanged release plans as no change and a changed
//! one shows a values diff. Delete is `helm uninstall --wait`. A change of chart version first
//! applies the new chart's CRDs server-side (`helm show crds`; helm installs `crds/` once and
//! never upgrades them: `providers/k8s/crds.rs`); a create first applies those the cluster has
//! older (the plan names them under the create), and a CRD on the cluster newer than the
//! chart's refuses the plan and the step: alpaka never downgrades a schema. Values never hold secrets: charts
//! get them through existing Secrets (e.g. Grafana's `admin.existingSecret`).
//!
//! A release whose status (helm v3.17.3 `pkg/release/status.go`, v4.0.5
//! `pkg/release/common/status.go`) is not `deployed` plans as an in-place update of `status`,
//! whose before says why:
//! - `failed` (the last install/upgrade failed, e.g. `--wait` ran out): apply runs
//!   `upgrade --install` again, which helm allows on a failed release.
//! - `pending-install`, `pending-upgrade`, `pending-rollback`: helm holds the release for an
//!   operation that is running or was interrupted, and refuses any other ("another operation
//!   (install/upgrade/rollback) is in progress"). Every helm operation alpaka runs carries its run
//!   (the state lock's id) as release labels `alpaka.io/run` and `alpaka.io/profile` (helm keeps
//!   labels from the first, `pending-*`, write of a revision; `--description`, also set, is only
//!   written when the operation ends). So the read tells three cases apart (`helm get metadata`):
//!   - left by an alpaka run that no longer holds the state lock (killed, or its machine lost):
//!     apply recovers it first, `helm rollback` to the last `deployed` revision (`helm history`),
//!     or `helm uninstall` of a release that never deployed, then upgrades as asked;
//!   - held by the alpaka run that holds the lock now (a `plan` beside a running apply): apply
//!     stops, naming it;
//!   - started by something else (no alpaka label): alpaka cannot tell running from interrupted,
//!     and rolling back under a running operation breaks the release, so apply stops with helm's
//!     error and the commands that clear an interrupted one.
//!
//!   helm runs in its own process group ([`Cmd::own_group`]): the user's Ctrl-C does not reach
//!   it, so a running upgrade finishes; a second Ctrl-C, alpaka's death (Linux) or the timeout
//!   sends SIGTERM, on which helm records the revision `failed`, not `pending-*`.
//! - `uninstalling`: likewise held; apply reports helm's error.

mod drift;
pub mod leftovers;
mod template;

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use thiserror::Error;

use crate::engine::diff::{self, FieldChange};
use crate::engine::{Driver, DriverError, Drivers, Found, ResourceId, StepCx, Value};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use crate::providers::k8s::{Access, admission, crds};
use crate::providers::local::cli::Cmd;
use crate::providers::{Run, RunInfo};
use crate::state::ResourceState;

/// `--timeout` for install/upgrade/uninstall (`--wait` waits for the release's pods).
const HELM_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// helm's error for a release held by another operation (helm v3.17.3 and v4.0.5
/// `pkg/action/action.go` `errPending`, raised by `pkg/action/upgrade.go` `prepareUpgrade`).
const HELM_PENDING: &str = "another operation (install/upgrade/rollback) is in progress";

/// The live attribute holding the release's status; not part of the desired shape.
const STATUS: &str = "status";
/// The live attribute saying why the release is in `status` and what apply will do; not part of
/// the desired shape either.
const STATUS_WHY: &str = "status_why";
/// The live attribute listing the release's objects that are not as its manifest says
/// (`drift.rs`): object → what differs. Not part of the desired shape.
const DRIFT: &str = "drift";
const DEPLOYED: &str = "deployed";

/// Release labels (helm `--labels`, stored with each revision) naming the run and profile.
const RUN_LABEL: &str = "alpaka.io/run";
const PROFILE_LABEL: &str = "alpaka.io/profile";

/// `mirror_charts`: the profile's `mirror.charts` (issue 25), the one repository helm is given
/// credentials for.
pub fn register(drivers: &mut Drivers, run: Run, mirror_charts: Option<String>) {
    let d = HelmDriver::default()
        .with_run(run)
        .with_mirror_charts(mirror_charts);
    drivers.register("helm.release", std::sync::Arc::new(d));
}

#[derive(Debug, Error)]
pub enum HelmError {
    #[error("helm release: {0}")]
    Shape(String),
    #[error("`{command}` printed JSON alpaka cannot read: {message}")]
    Output { command: String, message: String },
    #[error("writing the values file {path}: {source}")]
    ValuesFile {
        path: String,
        source: std::io::Error,
    },
}

impl From<HelmError> for DriverError {
    fn from(e: HelmError) -> Self {
        DriverError::new(e.to_string()).with_code("Helm")
    }
}

pub struct HelmDriver {
    bin: String,
    run: Run,
    major: tokio::sync::OnceCell<u32>,
    /// The profile's https chart mirror: helm gets `--username`/`--password` from
    /// `ALPAKA_MIRROR_CHARTS_USERNAME`/`_PASSWORD` for it, and for no other repository.
    mirror_charts: Option<String>,
}

impl Default for HelmDriver {
    fn default() -> Self {
        HelmDriver::with_bin("helm")
    }
}

impl HelmDriver {
    /// A driver running this `helm` (the tests pin the real binary without touching `PATH`).
    pub fn with_bin(bin: impl Into<String>) -> Self {
        HelmDriver {
            bin: bin.into(),
            run: Run::default(),
            major: tokio::sync::OnceCell::new(),
            mirror_charts: None,
        }
    }

    /// The profile's chart mirror (`mirror.charts`), the one repository it passes credentials to.
    pub fn with_mirror_charts(mut self, charts: Option<String>) -> Self {
        self.mirror_charts = charts;
        self
    }

    /// Marking its operations with this run (and recovering what runs that are gone left).
    pub fn with_run(mut self, run: Run) -> Self {
        self.run = run;
        self
    }

    fn run_info(&self) -> RunInfo {
        self.run.read().map(|r| r.clone()).unwrap_or_default()
    }

    /// `--description` and `--labels` naming this run and profile (none when unknown).
    fn marks(&self) -> Vec<String> {
        let run = self.run_info();
        let mut labels = Vec::new();
        if !run.profile.is_empty() {
            labels.push(format!("{PROFILE_LABEL}={}", run.profile));
        }
        let mut args = Vec::new();
        if let Some(id) = &run.id {
            labels.push(format!("{RUN_LABEL}={id}"));
            args.extend(["--description".to_owned(), format!("alpaka run {id}")]);
        }
        if !labels.is_empty() {
            args.extend(["--labels".to_owned(), labels.join(",")]);
        }
        args
    }
}

/// A release as desired or recorded.
#[derive(Debug, Clone)]
struct Release {
    access: Access,
    release: String,
    chart: String,
    repo: Option<String>,
    version: String,
    namespace: String,
}

impl Release {
    fn of(v: &Value) -> Result<Release, DriverError> {
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| HelmError::Shape(format!("no `{k}`")))
        };
        Ok(Release {
            access: Access::of_attrs(v)?,
            release: s("release")?,
            chart: s("chart")?,
            repo: v.get("repo").and_then(Value::as_str).map(str::to_owned),
            version: s("version")?,
            namespace: s("namespace")?,
        })
    }

    /// The chart's name as helm reports it (`<name>-<version>` in `helm list`).
    fn chart_name(&self) -> &str {
        self.chart.rsplit('/').next().unwrap_or(&self.chart)
    }
}

/// One entry of `helm list -o json`.
#[derive(Debug, Deserialize)]
struct Listed {
    name: String,
    #[serde(default)]
    chart: String,
    #[serde(default)]
    status: String,
}

/// What `helm get metadata -o json` says of the latest revision (helm v4.2.3
/// `pkg/action/get_metadata.go` `Metadata`; labels are the release's own, system ones left out).
#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

/// One revision in `helm history -o json` (helm v4.2.3 `pkg/cmd/history.go` `releaseInfo`).
#[derive(Debug, Deserialize)]
struct Revision {
    revision: u32,
    #[serde(default)]
    status: String,
}

/// A `pending-*` release: who holds it, and what apply does about it.
#[derive(Debug, Clone, PartialEq)]
enum Held {
    /// Started by the alpaka run that holds the state lock now.
    LiveRun(String),
    /// Left by an alpaka run that no longer holds the lock: recovered by rolling back to this
    /// revision, or (None) uninstalling a release that never deployed.
    Abandoned { run: String, to: Option<u32> },
    /// No alpaka run label: someone else's helm.
    Other,
}

impl Held {
    fn why(&self, status: &str) -> String {
        match self {
            Held::LiveRun(run) => format!(
                "{status}: alpaka run {run} holds the state lock and is running it; apply stops (wait for that run)"
            ),
            Held::Abandoned { run, to: Some(rev) } => format!(
                "{status}: left by alpaka run {run}, which no longer holds the state lock; apply rolls it back to revision {rev} (the last deployed), then upgrades"
            ),
            Held::Abandoned { run, to: None } => format!(
                "{status}: left by alpaka run {run}, which no longer holds the state lock, and never deployed; apply uninstalls it, then installs"
            ),
            Held::Other => status_reason(status),
        }
    }
}

/// Who holds a pending release, from its run label and the one of the revision before it
/// (`before`), the run holding the state lock, and its history. helm merges a revision's labels
/// with the previous one's (v4.2.3 `pkg/action/upgrade.go` `mergeCustomLabels`), so a run label
/// the previous revision already had was inherited by an upgrade alpaka did not run.
fn held(
    labels: &std::collections::BTreeMap<String, String>,
    before: Option<&std::collections::BTreeMap<String, String>>,
    holder: Option<&str>,
    history: &[Revision],
) -> Held {
    let Some(run) = labels.get(RUN_LABEL) else {
        return Held::Other;
    };
    if before.and_then(|b| b.get(RUN_LABEL)) == Some(run) {
        return Held::Other;
    }
    if holder == Some(run.as_str()) {
        return Held::LiveRun(run.clone());
    }
    let to = history
        .iter()
        .filter(|h| h.status == DEPLOYED)
        .map(|h| h.revision)
        .max();
    Held::Abandoned {
        run: run.clone(),
        to,
    }
}

fn is_pending(status: &str) -> bool {
    status.starts_with("pending-")
}

/// A values file readable only by its owner, removed when dropped.
struct ValuesFile(PathBuf);

impl ValuesFile {
    fn write(release: &str, values: &Value) -> Result<ValuesFile, HelmError> {
        let json =
            serde_json::to_vec_pretty(values).map_err(|e| HelmError::Shape(e.to_string()))?;
        let mut attempt = 0u32;
        loop {
            let nonce: u64 = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or_default();
            let path = std::env::temp_dir().join(format!(
                "alpaka-values-{release}-{}-{nonce:x}-{attempt}.json",
                std::process::id()
            ));
            // JSON is YAML: helm reads it as a values file.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(&json)
                        .and_then(|_| f.sync_all())
                        .map_err(|source| HelmError::ValuesFile {
                            path: path.display().to_string(),
                            source,
                        })?;
                    return Ok(ValuesFile(path));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(source) => {
                    return Err(HelmError::ValuesFile {
                        path: path.display().to_string(),
                        source,
                    });
                }
            }
        }
    }
}

impl Drop for ValuesFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl HelmDriver {
    /// helm's chart-download `--username`/`--password` for the profile's https chart mirror,
    /// from the environment (issue 25); the password never shows where the command is printed.
    /// An OCI mirror uses what `helm registry login` stored instead.
    fn with_repo_credentials(&self, c: Cmd, repo: Option<&str>) -> Cmd {
        let (Some(repo), Some(mirror)) = (repo, self.mirror_charts.as_deref()) else {
            return c;
        };
        if repo.trim_end_matches('/') != mirror.trim_end_matches('/') {
            return c;
        }
        use crate::stack::mirror::{CHARTS_PASSWORD_ENV, CHARTS_USERNAME_ENV};
        match (
            std::env::var(CHARTS_USERNAME_ENV),
            std::env::var(CHARTS_PASSWORD_ENV),
        ) {
            (Ok(u), Ok(p)) if !u.is_empty() => {
                c.args(["--username", &u]).arg("--password").secret_arg(p)
            }
            _ => c,
        }
    }

    /// `helm <args> -n <ns> --kube-context <ctx> --kubeconfig <path>`.
    fn cmd(&self, r: &Release, args: &[&str]) -> Cmd {
        Cmd::new(&self.bin)
            .args(args.iter().copied())
            .args(["-n", &r.namespace])
            .args(["--kube-context", &r.access.context])
            .args(["--kubeconfig", &r.access.kubeconfig])
    }

    async fn listed(&self, r: &Release) -> Result<Option<Listed>, DriverError> {
        // `--filter` takes a regex: anchor the exact release name. Every status but
        // `uninstalled` (kept history of a removed release, which is gone), named: helm v3 lists
        // only deployed and failed ones by default and has `--all`, v4 lists all by default and
        // has no `--all` ("unknown flag", v4.2.3); both take the status flags.
        let pattern = format!("^{}$", regex_escape(&r.release));
        let c = self.cmd(
            r,
            &[
                "list",
                "--deployed",
                "--failed",
                "--pending",
                "--uninstalling",
                "-o",
                "json",
                "--filter",
                &pattern,
            ],
        );
        let out = c.run_ok().await?;
        let list: Vec<Listed> =
            serde_json::from_str(out.stdout.trim()).map_err(|e| HelmError::Output {
                command: c.display(),
                message: e.to_string(),
            })?;
        Ok(list.into_iter().find(|l| l.name == r.release))
    }

    async fn values(&self, r: &Release) -> Result<Value, DriverError> {
        let c = self.cmd(r, &["get", "values", &r.release, "-o", "json"]);
        let out = c.run_ok().await?;
        values_of(&out.stdout).map_err(|e| {
            HelmError::Output {
                command: c.display(),
                message: e.to_string(),
            }
            .into()
        })
    }

    /// The latest revision's metadata, or revision `rev`'s.
    async fn metadata_of(&self, r: &Release, rev: Option<u32>) -> Result<Metadata, DriverError> {
        let rev = rev.map(|v| v.to_string());
        let mut args = vec!["get", "metadata", &r.release, "-o", "json"];
        if let Some(v) = &rev {
            args.extend(["--revision", v]);
        }
        let c = self.cmd(r, &args);
        let out = c.run_ok().await?;
        serde_json::from_str(out.stdout.trim()).map_err(|e| {
            HelmError::Output {
                command: c.display(),
                message: e.to_string(),
            }
            .into()
        })
    }

    /// helm's major version (`helm version --short`: `v4.2.3+g…`), asked once; 3 if unknown.
    async fn major(&self) -> u32 {
        *self
            .major
            .get_or_init(|| async {
                Cmd::new(&self.bin)
                    .args(["version", "--short"])
                    .run_ok()
                    .await
                    .ok()
                    .and_then(|o| {
                        o.stdout
                            .trim()
                            .trim_start_matches('v')
                            .split('.')
                            .next()
                            .and_then(|m| m.parse().ok())
                    })
                    .unwrap_or(3)
            })
            .await
    }

    async fn metadata(&self, r: &Release) -> Result<Metadata, DriverError> {
        self.metadata_of(r, None).await
    }

    async fn history(&self, r: &Release) -> Result<Vec<Revision>, DriverError> {
        let c = self.cmd(r, &["history", &r.release, "-o", "json", "--max", "256"]);
        let out = c.run_ok().await?;
        serde_json::from_str(out.stdout.trim()).map_err(|e| {
            HelmError::Output {
                command: c.display(),
                message: e.to_string(),
            }
            .into()
        })
    }

    /// Who holds a release in `pending-*` (see [`Held`]).
    async fn held(&self, r: &Release) -> Result<Held, DriverError> {
        let labels = self.metadata(r).await?.labels;
        let history = self.history(r).await?;
        let latest = history.iter().map(|h| h.revision).max().unwrap_or(0);
        let before = match history
            .iter()
            .map(|h| h.revision)
            .filter(|v| *v < latest)
            .max()
        {
            Some(v) => Some(self.metadata_of(r, Some(v)).await?.labels),
            None => None,
        };
        Ok(held(
            &labels,
            before.as_ref(),
            self.run_info().lock_holder.as_deref(),
            &history,
        ))
    }

    /// A release an alpaka run that is gone left pending: rolled back to its last deployed
    /// revision, or uninstalled if it never deployed, so the upgrade that follows can run.
    async fn recover(&self, cx: &StepCx, r: &Release) -> Result<(), DriverError> {
        let Some(l) = self.listed(r).await? else {
            return Ok(());
        };
        if !is_pending(&l.status) {
            return Ok(());
        }
        let Held::Abandoned { run, to } = self.held(r).await? else {
            // Someone else's, or a live run's: the upgrade meets helm's refusal and says so.
            return Ok(());
        };
        let timeout = format!("{}s", HELM_TIMEOUT.as_secs());
        let c = match to {
            Some(rev) => {
                cx.status(&format!(
                    "helm rollback {} {rev} ({} left by alpaka run {run})",
                    r.release, l.status
                ));
                let rev = rev.to_string();
                self.cmd(r, &["rollback", &r.release, &rev, "--timeout", &timeout])
            }
            None => {
                cx.status(&format!(
                    "helm uninstall {} ({} left by alpaka run {run}, never deployed)",
                    r.release, l.status
                ));
                let mut args = vec!["uninstall", &r.release, "--wait", "--timeout", &timeout];
                let description = format!("alpaka: {} left by alpaka run {run}", l.status);
                args.extend(["--description", &description]);
                self.cmd(r, &args)
            }
        };
        c.own_group()
            .timeout(HELM_TIMEOUT + Duration::from_secs(60))
            .run_ok()
            .await?;
        Ok(())
    }

    async fn install(&self, cx: &StepCx, desired: &Value) -> Result<Value, DriverError> {
        let r = Release::of(desired)?;
        let values = desired
            .get("values")
            .cloned()
            .unwrap_or(Value::Map(Default::default()));
        if has_secret(&values) {
            return Err(HelmError::Shape(format!(
                "{}: values hold a secret; charts must take secrets from an existing Secret",
                r.release
            ))
            .into());
        }
        self.recover(cx, &r).await?;
        let file = ValuesFile::write(&r.release, &values)?;
        let path = file.0.display().to_string();
        let marks = self.marks();
        let timeout = format!("{}s", HELM_TIMEOUT.as_secs());
        let mut args: Vec<&str> = vec![
            "upgrade",
            "--install",
            &r.release,
            &r.chart,
            "--version",
            &r.version,
        ];
        if let Some(repo) = &r.repo {
            args.extend(["--repo", repo]);
        }
        args.extend([
            "--create-namespace",
            "--reset-values",
            "-f",
            &path,
            "--wait",
            "--timeout",
            &timeout,
        ]);
        args.extend(marks.iter().map(String::as_str));
        // helm 4 applies server-side: without this, a field another manager took (e.g.
        // `kubectl scale`'s replicas) fails every upgrade with a conflict, forever. The fields
        // are the chart's, so alpaka takes them back (the plan named who held them).
        if self.major().await >= 4 {
            args.push("--force-conflicts");
        }
        cx.status(&format!(
            "helm upgrade --install {} {}",
            r.release, r.version
        ));
        let c = self
            .with_repo_credentials(self.cmd(&r, &args), r.repo.as_deref())
            .own_group()
            .timeout(HELM_TIMEOUT + Duration::from_secs(60));
        // A chart's object refused by an admission webhook that is not up yet (on EKS the LB
        // controller's Service webhook) is tried again within a bound, as the manifest driver
        // does (k8s/admission.rs); helm's error carries the API server's words.
        let deadline = std::time::Instant::now() + admission::BOUND;
        let mut delay = admission::FIRST_DELAY;
        let out = loop {
            let out = c.output().await?;
            if out.success()
                || !admission::webhook_not_ready(&out.text())
                || std::time::Instant::now() + delay >= deadline
            {
                break out;
            }
            cx.status(&format!(
                "an admission webhook is not ready yet, trying again in {}s",
                delay.as_secs()
            ));
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(admission::MAX_DELAY);
        };
        drop(file);
        if !out.success() {
            let failed = c.failed(&out);
            if !out.text().contains(HELM_PENDING) {
                return Err(failed);
            }
            // Which operation holds it decides the way out; unknown if helm cannot say.
            let status = self.listed(&r).await.ok().flatten().map(|l| l.status);
            return Err(pending_error(failed, &r, status.as_deref()));
        }
        Ok(Value::map([
            ("release", Value::str(&r.release)),
            ("namespace", Value::str(&r.namespace)),
            ("version", Value::str(&r.version)),
        ]))
    }
}

impl HelmDriver {
    /// The chart's CRDs (`helm show crds`: the files of its `crds/` and its subcharts', each
    /// after `---`; nothing for a chart without them).
    pub(crate) async fn chart_crds(
        &self,
        chart: &str,
        version: &str,
        repo: Option<&str>,
    ) -> Result<Vec<CustomResourceDefinition>, DriverError> {
        let mut c = Cmd::new(&self.bin).args(["show", "crds", chart, "--version", version]);
        if let Some(repo) = repo {
            c = c.args(["--repo", repo]);
        }
        let c = self.with_repo_credentials(c, repo);
        let out = c.run_ok().await?;
        Ok(crds::parse(&out.stdout)?)
    }

    /// The chart's CRDs against the cluster's ([`crds::compare`]): refused if the cluster has a
    /// newer one (another version of its operator owns it: alpaka never downgrades a schema) or
    /// one whose stored versions the chart's drops; else the CRDs to apply before helm runs,
    /// with the older ones named and why. `all`: every CRD not newer (a version change: helm
    /// upgrades none); else only the older ones (a create: helm's install creates the missing
    /// ones and skips the rest, helm v4.2.3 `pkg/action/install.go` `installCRDs`).
    async fn crds_to_apply(
        &self,
        r: &Release,
        all: bool,
    ) -> Result<(Vec<CustomResourceDefinition>, Vec<String>), DriverError> {
        let chart = self
            .chart_crds(&r.chart, &r.version, r.repo.as_deref())
            .await?;
        if chart.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let checked = crds::check(&r.access, &chart).await?;
        let mut apply = Vec::new();
        let mut older = Vec::new();
        for (crd, c) in chart.into_iter().zip(checked) {
            if let Some(crds::Compared::Newer(why)) = &c.compared {
                return Err(self.newer_crd(r, &c.name, why));
            }
            if !c.stored_not_in_chart.is_empty() {
                return Err(DriverError::new(format!(
                    "CustomResourceDefinition {} on the cluster still stores objects as {}, which \
                     chart {} {}'s CRD no longer lists: the API server refuses that update. Migrate \
                     those objects to a version the chart serves (the operator's upgrade guide says \
                     how), remove the old version from the CRD's status.storedVersions, then apply again.",
                    c.name,
                    c.stored_not_in_chart.join(", "),
                    r.chart_name(),
                    r.version
                ))
                .with_code("CrdStoredVersion"));
            }
            match &c.compared {
                Some(crds::Compared::Older(why)) => {
                    older.push(format!("{} ({why})", c.name));
                    apply.push(crd);
                }
                _ if all => apply.push(crd),
                _ => {}
            }
        }
        Ok((apply, older))
    }

    fn newer_crd(&self, r: &Release, name: &str, why: &str) -> DriverError {
        DriverError::new(format!(
            "CustomResourceDefinition {name} on the cluster is newer than chart {} {}'s ({why}): \
             another version of its operator owns it, and alpaka never downgrades a CRD's schema. \
             Pin a chart version whose CRDs are at least as new; or, if that operator is gone and no \
             custom resources of the kind matter, delete the CRD (`kubectl --kubeconfig {} --context \
             {} delete crd {name}` deletes every custom resource of its kind) and plan again.",
            r.chart_name(),
            r.version,
            r.access.kubeconfig,
            r.access.context,
        ))
        .with_code("CrdNewerOnCluster")
    }

    /// Apply the CRDs of the chart version about to be installed, refusing a downgrade; `all`
    /// as in [`HelmDriver::crds_to_apply`].
    async fn apply_crds(&self, cx: &StepCx, r: &Release, all: bool) -> Result<(), DriverError> {
        cx.status(&format!("helm show crds {} {}", r.chart, r.version));
        let (apply, _) = self.crds_to_apply(r, all).await?;
        if apply.is_empty() {
            return Ok(());
        }
        cx.status(&format!(
            "server-side apply {} CRDs of {} {}",
            apply.len(),
            r.chart_name(),
            r.version
        ));
        crds::apply(&r.access, &apply).await?;
        Ok(())
    }
}

/// The user-supplied values in `helm get values -o json`: helm v3.17.3/v4.0.5
/// `pkg/action/get_values.go` prints the release's `Config`, which storage drops when empty
/// (`config,omitempty` in `pkg/release/release.go`), so none is `null`.
fn values_of(stdout: &str) -> Result<Value, serde_json::Error> {
    let text = stdout.trim();
    if text.is_empty() || text == "null" {
        return Ok(Value::Map(Default::default()));
    }
    serde_json::from_str(text)
}

/// Why a release in `status` is not as asked, for the plan.
fn status_reason(status: &str) -> String {
    let why = match status {
        "failed" => "the last install or upgrade failed; apply runs it again",
        "pending-install" | "pending-upgrade" | "pending-rollback" => {
            "another helm operation holds the release, running or interrupted; apply stops and says how to clear it"
        }
        "uninstalling" => "an uninstall holds the release, running or interrupted",
        _ => return status.to_owned(),
    };
    format!("{status}: {why}")
}

/// The error for an upgrade helm refused because the release is held (`failed` carries
/// helm's exit code and stderr tail), with what to do.
fn pending_error(failed: DriverError, r: &Release, status: Option<&str>) -> DriverError {
    let target = format!(
        "{} -n {} --kube-context {} --kubeconfig {}",
        r.release, r.namespace, r.access.context, r.access.kubeconfig
    );
    let fix = match status {
        // A first install that never finished has no revision to go back to.
        Some("pending-install") => {
            format!("remove the unfinished install with `helm uninstall {target}`")
        }
        _ => format!(
            "roll it back to its last good revision with `helm rollback {target}` (`helm history {target}` lists them)"
        ),
    };
    DriverError::new(format!(
        "{}\nhelm release `{}` is {}: another helm operation holds it, or one was interrupted. \
         alpaka does not take over a held release. If one is running, wait for it; if none is, \
         {fix}. Then apply again.",
        failed.message,
        r.release,
        status.unwrap_or("held by another operation"),
    ))
    .with_code("HelmReleasePending")
}

fn has_secret(v: &Value) -> bool {
    match v {
        Value::Secret(_) => true,
        Value::Map(m) => m.values().any(has_secret),
        Value::List(l) => l.iter().any(has_secret),
        _ => false,
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

/// The version part of `helm list`'s `chart` (`<chart name>-<version>`).
fn listed_version(chart_name: &str, listed: &str) -> String {
    listed
        .strip_prefix(chart_name)
        .and_then(|v| v.strip_prefix('-'))
        .unwrap_or(listed)
        .to_owned()
}

#[async_trait]
impl Driver for HelmDriver {
    fn force_new(&self) -> &[&'static str] {
        &["release", "namespace"]
    }

    async fn read(
        &self,
        _id: &ResourceId,
        recorded: &ResourceState,
    ) -> Result<Option<Value>, DriverError> {
        let r = Release::of(&recorded.attrs)?;
        let Some(l) = self.listed(&r).await? else {
            return Ok(None);
        };
        let version = listed_version(r.chart_name(), &l.chart);
        let values = self.values(&r).await?;
        let mut live = recorded.attrs.as_map().cloned().unwrap_or_default();
        live.insert("version".into(), Value::Str(version));
        live.insert("values".into(), values);
        if is_pending(&l.status) {
            let why = self.held(&r).await?.why(&l.status);
            live.insert(STATUS_WHY.into(), Value::Str(why));
        }
        // A deployed release's objects against its manifest (any other status upgrades anyway).
        if l.status == DEPLOYED {
            let manifest = self
                .cmd(&r, &["get", "manifest", &r.release])
                .run_ok()
                .await?;
            let found = drift::drift(&r.access, &r.namespace, &manifest.stdout).await?;
            if !found.is_empty() {
                live.insert(
                    DRIFT.into(),
                    Value::Map(
                        found
                            .into_iter()
                            .map(|d| (d.object, Value::Str(d.what)))
                            .collect(),
                    ),
                );
            }
        }
        live.insert(STATUS.into(), Value::Str(l.status));
        Ok(Some(Value::Map(live)))
    }

    /// As asked, plus `status` when the release is not `deployed` (see the module doc).
    fn diff(&self, live: &Value, desired: &Value, salt: &str) -> Vec<FieldChange> {
        let mut live = live.clone();
        let (status, why, drifted) = match &mut live {
            Value::Map(m) => (m.remove(STATUS), m.remove(STATUS_WHY), m.remove(DRIFT)),
            _ => (None, None, None),
        };
        let mut changes = diff::diff(&live, desired, self.force_new(), salt);
        // Each drifted object, as `objects.<Kind ns/name>`: what it is -> as the chart renders.
        if let Some(Value::Map(objects)) = drifted {
            for (object, what) in objects {
                changes.push(FieldChange {
                    path: vec!["objects".to_owned(), object],
                    before: Some(what),
                    after: Some(Value::str("as the release's manifest says")),
                    forces_replacement: false,
                });
            }
        }
        if let Some(s) = status.as_ref().and_then(Value::as_str)
            && s != DEPLOYED
        {
            changes.push(FieldChange {
                path: vec![STATUS.to_owned()],
                before: Some(Value::str(
                    why.as_ref()
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .unwrap_or_else(|| status_reason(s)),
                )),
                after: Some(Value::str(DEPLOYED)),
                forces_replacement: false,
            });
        }
        changes
    }

    /// A release state does not record (a run killed between helm's install and the state
    /// write, or a state lost): this profile's if its `alpaka.io/profile` label says so, adopted
    /// and read like a recorded one (a `pending-*` one then plans its recovery); anyone else's
    /// is refused rather than upgraded blind.
    async fn find(&self, _id: &ResourceId, desired: &Value) -> Result<Found, DriverError> {
        // Unknown cluster or names (a cluster not made yet): nothing can be there.
        let Ok(r) = Release::of(desired) else {
            return Ok(Found::Nothing);
        };
        let profile = self.run_info().profile;
        if profile.is_empty() {
            return Ok(Found::Nothing);
        }
        let Some(l) = self.listed(&r).await? else {
            return Ok(Found::Nothing);
        };
        let labels = self.metadata(&r).await?.labels;
        if labels.get(PROFILE_LABEL) == Some(&profile) {
            return Ok(Found::Ours(Value::map([
                ("release", Value::str(&r.release)),
                ("namespace", Value::str(&r.namespace)),
                (
                    "version",
                    Value::str(listed_version(r.chart_name(), &l.chart)),
                ),
            ])));
        }
        Ok(Found::Foreign(format!(
            "helm release `{}` in namespace `{}` ({}, {}) was not installed by alpaka for profile `{profile}` ({}); \
             alpaka does not take it over: remove it (`helm uninstall {} -n {} --kube-context {} --kubeconfig {}`) or install this profile elsewhere",
            r.release,
            r.namespace,
            l.chart,
            l.status,
            match labels.get(PROFILE_LABEL) {
                Some(p) => format!("its {PROFILE_LABEL} label says `{p}`"),
                None => format!("it has no {PROFILE_LABEL} label"),
            },
            r.release,
            r.namespace,
            r.access.context,
            r.access.kubeconfig,
        )))
    }

    /// The chart's CRDs the cluster has older first (helm's install would skip them), then
    /// `upgrade --install`.
    async fn create(&self, cx: &StepCx, desired: &Value) -> Result<Value, DriverError> {
        self.apply_crds(cx, &Release::of(desired)?, false).await?;
        self.install(cx, desired).await
    }

    /// The chart's CRDs against the cluster's: a newer one on the cluster refuses the plan; the
    /// older ones are named under the create.
    async fn check_create(
        &self,
        _id: &ResourceId,
        desired: &Value,
    ) -> Result<Option<String>, DriverError> {
        // Unknown cluster or names (a cluster not made yet): its CRDs are checked at apply.
        let Ok(r) = Release::of(desired) else {
            return Ok(None);
        };
        let (_, older) = self.crds_to_apply(&r, false).await?;
        Ok((!older.is_empty()).then(|| {
            format!(
                "CRDs older on the cluster: {} → applied from chart {} {} before helm installs it",
                older.join(", "),
                r.chart_name(),
                r.version
            )
        }))
    }

    /// A new chart version's CRDs first (helm upgrades none), then `upgrade --install`.
    async fn update(
        &self,
        cx: &StepCx,
        _recorded: &ResourceState,
        desired: &Value,
        changes: &[FieldChange],
    ) -> Result<Value, DriverError> {
        if changes.iter().any(|c| c.path == ["version"]) {
            self.apply_crds(cx, &Release::of(desired)?, true).await?;
        }
        self.install(cx, desired).await
    }

    async fn delete(&self, cx: &StepCx, recorded: &ResourceState) -> Result<(), DriverError> {
        let r = Release::of(&recorded.attrs)?;
        if self.listed(&r).await?.is_none() {
            return Ok(());
        }
        cx.status(&format!("helm uninstall {}", r.release));
        let timeout = format!("{}s", HELM_TIMEOUT.as_secs());
        let mut args = vec!["uninstall", &r.release, "--wait", "--timeout", &timeout];
        let marks = self.marks();
        // uninstall takes a description, not labels.
        if let Some(i) = marks.iter().position(|m| m == "--description") {
            args.extend(marks[i..i + 2].iter().map(String::as_str));
        }
        self.cmd(&r, &args)
            .own_group()
            .timeout(HELM_TIMEOUT + Duration::from_secs(60))
            .run_ok()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_listing() {
        assert_eq!(
            listed_version("kube-prometheus-stack", "kube-prometheus-stack-93.9.0"),
            "93.9.0"
        );
        assert_eq!(listed_version("loki", "loki-12.0.1"), "12.0.1");
    }

    #[test]
    fn values_file_is_private_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let f = ValuesFile::write("t", &Value::map([("a", Value::Int(1))])).unwrap();
        let p = f.0.clone();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_to_string(&p)
                .unwrap()
                .replace([' ', '\n'], ""),
            "{\"a\":1}"
        );
        drop(f);
        assert!(!p.exists());
    }

    #[test]
    fn secrets_in_values_are_found() {
        assert!(has_secret(&Value::map([(
            "x",
            Value::List(vec![Value::secret("s")])
        )])));
        assert!(!has_secret(&Value::map([("x", Value::str("s"))])));
        assert_eq!(regex_escape("kafka-ui"), "kafka-ui");
        assert_eq!(regex_escape("a.b"), "a\\.b");
    }

    /// `helm list -o json` as helm v3.17.3 `cmd/helm/list.go` (v4.0.5 `pkg/cmd/list.go`) prints
    /// it: `releaseElement`, revision a string, `updated` Go's `time.Time.String()`.
    const LISTED: &str = r#"[{"name":"kube-prometheus-stack","namespace":"alpaka","revision":"3","updated":"2026-01-01 10:00:00.123456789 +0000 UTC","status":"pending-upgrade","chart":"kube-prometheus-stack-93.9.0","app_version":"v0.86.0"},{"name":"loki","namespace":"alpaka","revision":"1","updated":"2026-01-01 10:00:00.123456789 +0000 UTC","status":"failed","chart":"loki-6.46.0","app_version":"3.5.7"}]"#;

    fn release() -> Release {
        Release::of(&Value::map([
            (
                "cluster",
                Value::map([
                    ("context", Value::str("k3d-alpaka-k3d")),
                    ("kubeconfig", Value::str("/home/u/.kube/config")),
                ]),
            ),
            ("release", Value::str("kube-prometheus-stack")),
            ("chart", Value::str("kube-prometheus-stack")),
            ("version", Value::str("93.9.0")),
            ("namespace", Value::str("alpaka")),
        ]))
        .unwrap()
    }

    #[test]
    fn status_other_than_deployed_is_planned_with_why() {
        let l: Vec<Listed> = serde_json::from_str(LISTED).unwrap();
        assert_eq!(
            (l[0].status.as_str(), l[1].status.as_str()),
            ("pending-upgrade", "failed")
        );
        assert_eq!(
            listed_version("kube-prometheus-stack", &l[0].chart),
            "93.9.0"
        );
        let desired = Value::map([
            ("version", Value::str("93.9.0")),
            ("values", Value::Map(Default::default())),
        ]);
        let live = |status: &str| {
            let mut m = desired.as_map().cloned().unwrap_or_default();
            m.insert(STATUS.into(), Value::str(status));
            Value::Map(m)
        };
        let d = HelmDriver::default();
        assert!(d.diff(&live("deployed"), &desired, "s").is_empty());
        for (status, why) in [
            (
                "failed",
                "failed: the last install or upgrade failed; apply runs it again",
            ),
            (
                "pending-install",
                "pending-install: another helm operation holds the release, running or interrupted; apply stops and says how to clear it",
            ),
            (
                "pending-rollback",
                "pending-rollback: another helm operation",
            ),
            (
                "uninstalling",
                "uninstalling: an uninstall holds the release",
            ),
            ("unknown", "unknown"),
        ] {
            let c = d.diff(&live(status), &desired, "s");
            assert_eq!(c.len(), 1, "{c:?}");
            assert_eq!(c[0].path, [STATUS]);
            assert!(!c[0].forces_replacement);
            let before = c[0].before.as_ref().and_then(Value::as_str).unwrap();
            assert!(before.starts_with(why), "{before}");
            assert_eq!(c[0].after, Some(Value::str(DEPLOYED)));
        }
    }

    #[test]
    fn who_holds_a_pending_release() {
        let l =
            |run: &str| std::collections::BTreeMap::from([(RUN_LABEL.to_owned(), run.to_owned())]);
        let h: Vec<Revision> = serde_json::from_str(
            r#"[{"revision":1,"status":"superseded"},{"revision":2,"status":"deployed"},{"revision":3,"status":"pending-upgrade"}]"#,
        )
        .unwrap();
        assert_eq!(
            held(&l("x"), Some(&l("w")), Some("y"), &h),
            Held::Abandoned {
                run: "x".into(),
                to: Some(2)
            }
        );
        assert_eq!(
            held(&l("x"), Some(&l("w")), Some("x"), &h),
            Held::LiveRun("x".into())
        );
        // Inherited from the revision before: someone else's upgrade.
        assert_eq!(held(&l("x"), Some(&l("x")), None, &h), Held::Other);
        assert_eq!(held(&Default::default(), None, None, &h), Held::Other);
        assert_eq!(
            held(&l("x"), None, None, &h[2..]),
            Held::Abandoned {
                run: "x".into(),
                to: None
            }
        );
        assert!(
            Held::Abandoned {
                run: "x".into(),
                to: None
            }
            .why("pending-install")
            .contains("apply uninstalls it, then installs")
        );
    }

    #[test]
    fn values_as_get_values_prints_them() {
        assert_eq!(values_of("null\n").unwrap(), Value::Map(Default::default()));
        assert_eq!(
            values_of("{\"grafana\":{\"enabled\":true}}\n").unwrap(),
            Value::map([("grafana", Value::map([("enabled", Value::Bool(true))]))])
        );
        assert!(values_of("Error: release: not found").is_err());
    }

    #[test]
    fn a_held_release_says_how_to_clear_it() {
        // What `Cmd::failed` makes of helm v3.17.3's refusal (cmd/helm/upgrade.go wraps
        // errPending in "UPGRADE FAILED"; cmd/helm/helm.go exits 1).
        let failed = || {
            DriverError::new(
                "`helm upgrade --install …` failed (exit 1): Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress",
            )
        };
        let target = "kube-prometheus-stack -n alpaka --kube-context k3d-alpaka-k3d --kubeconfig /home/u/.kube/config";
        let e = pending_error(failed(), &release(), Some("pending-upgrade"));
        assert_eq!(e.code.as_deref(), Some("HelmReleasePending"));
        assert!(e.message.starts_with("`helm upgrade --install …` failed (exit 1): Error: UPGRADE FAILED: another operation"), "{e}");
        assert!(e.message.contains("is pending-upgrade"), "{e}");
        assert!(
            e.message.contains(&format!("`helm rollback {target}`")),
            "{e}"
        );
        // A first install has nothing to roll back to.
        let e = pending_error(failed(), &release(), Some("pending-install"));
        assert!(
            e.message.contains(&format!("`helm uninstall {target}`")),
            "{e}"
        );
        assert!(!e.message.contains("helm rollback"), "{e}");
        let e = pending_error(failed(), &release(), None);
        assert!(e.message.contains("is held by another operation"), "{e}");
        assert!(e.message.contains(HELM_PENDING), "{e}");
    }
}
