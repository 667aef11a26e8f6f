//! `alpaka doctor`: what the profile needs on this machine, one line per check with the fix.
//! `plan` reuses the fast part ([`tool_checks`]: presence and version only, no daemon, no network).

use std::fmt;
use std::time::Duration;

use console::style;

use super::{Ctx, EXIT_ERROR, EXIT_OK, OpsError};
use crate::config;
use crate::model::profile::{Cluster, Profile};
use crate::providers::local::cli::{Cmd, Output};
use crate::providers::local::existing;

/// `major.minor.patch`, parsed from the first `v?N.N[.N]` in a tool's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    pub fn find(text: &str) -> Option<Version> {
        text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|w| w.contains('.'))
            .find_map(|w| {
                let mut it = w.split('.').filter(|p| !p.is_empty());
                let a = it.next()?.parse().ok()?;
                let b = it.next()?.parse().ok()?;
                let c = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
                Some(Version(a, b, c))
            })
    }
}

/// The tool's version in what it printed: on the first stdout line starting with `marker` when
/// there is such a line, else the first version in stdout, then in stderr (where a tool may put
/// a warning that holds a version of something else).
fn version_in(marker: &str, out: &Output) -> Option<Version> {
    if !marker.is_empty()
        && let Some(line) = out
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(marker))
    {
        return Version::find(line);
    }
    Version::find(&out.stdout).or_else(|| Version::find(&out.stderr))
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but something is worth knowing (e.g. memory is tight).
    Warn,
    /// Apply will fail without a fix.
    Fail,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub status: Status,
    pub name: String,
    pub found: String,
    pub fix: Option<String>,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.status {
            Status::Ok => style("✓").green(),
            Status::Warn => style("!").yellow(),
            Status::Fail => style("✗").red(),
        };
        write!(f, "{mark} {:<18} {}", self.name, self.found)?;
        if let Some(fix) = &self.fix {
            write!(f, " — fix: {fix}")?;
        }
        Ok(())
    }
}

/// A command-line tool apply runs, and the oldest version alpaka accepts.
struct Tool {
    name: &'static str,
    /// Arguments that print the version without contacting anything.
    version_args: &'static [&'static str],
    /// The start of the output line that holds the tool's own version, where the output has
    /// others (`k3d version` also prints the k3s version it defaults to); `""`: the first.
    marker: &'static str,
    min: Version,
    url: &'static str,
}

// Minimum versions, and why:
// - docker 20.10.5: k3d needs it for cgroup v2 hosts and minikube's docker driver documents 20.10
//   as its floor; older engines are long out of support.
const DOCKER: Tool = Tool {
    name: "docker",
    version_args: &["--version"],
    // docker/cli v27.3.1 cmd/docker/docker.go: "Docker version 27.3.1, build ce12230".
    marker: "Docker version",
    min: Version(20, 10, 5),
    url: "https://docs.docker.com/engine/install/",
};
// - minikube 1.37.0: the first release whose supported Kubernetes range includes v1.34 (the
//   shipped profile's version; it is that release's default).
const MINIKUBE: Tool = Tool {
    name: "minikube",
    version_args: &["version", "--short"],
    // minikube v1.37.0 cmd/minikube/cmd/version.go: "v1.37.0" alone.
    marker: "",
    min: Version(1, 37, 0),
    url: "https://minikube.sigs.k8s.io/docs/start/",
};
// - k3d 5.6.0: v5 brought node filters (`--k3s-node-label KEY=VALUE@agent:N`),
//   `--agents-memory` and K3D_FIX_DNS; 5.6 is the oldest v5 line we test against k3s v1.3x
//   images (earlier 5.x had DNS-fix and cgroup v2 entrypoint bugs).
const K3D: Tool = Tool {
    name: "k3d",
    version_args: &["version"],
    // k3d v5.8.3 cmd/root.go printVersion: "k3d version v5.8.3" then "k3s version v1.31.5-k3s1
    // (default)"; a build without a version tag says "k3d version v5-dev".
    marker: "k3d version",
    min: Version(5, 6, 0),
    url: "https://k3d.io",
};
// - helm 3.13.0: `install`/`upgrade --labels` (the run and profile alpaka records on each
//   revision) and `helm get metadata` (how a release's labels are read back) first appear in
//   v3.13.0 (helm/helm: cmd/helm/install.go's "labels" flag and cmd/helm/get_metadata.go are
//   absent at v3.12.3); OCI registries (3.8.0) come with it. helm v4 is accepted.
const HELM: Tool = Tool {
    name: "helm",
    version_args: &["version", "--short"],
    // helm v3.17.3 cmd/helm/version.go (v4.0.5 pkg/cmd/version.go alike) formatVersion:
    // "v3.17.3+ge4da497" (version, "+g", 7 hex of the commit).
    marker: "",
    min: Version(3, 13, 0),
    url: "https://helm.sh/docs/intro/install/",
};

fn tools_for(profile: &Profile) -> Vec<&'static Tool> {
    match profile.cluster() {
        Cluster::Minikube(m) if m.driver == "docker" => vec![&DOCKER, &MINIKUBE, &HELM],
        Cluster::Minikube(_) => vec![&MINIKUBE, &HELM],
        Cluster::K3d(_) => vec![&DOCKER, &K3D, &HELM],
        Cluster::K3s(_) | Cluster::Eks(_) => vec![&HELM],
    }
}

async fn tool_check(t: &Tool) -> Check {
    let fix = || format!("install {} ≥ {}: {}", t.name, t.min, t.url);
    let c = Cmd::new(t.name)
        .args(t.version_args.iter().copied())
        .timeout(Duration::from_secs(10));
    let (status, found, fix) = match c.output().await {
        Err(e) if e.code.as_deref() == Some("CommandNotFound") => {
            (Status::Fail, "not found on PATH".to_owned(), Some(fix()))
        }
        Err(e) => (Status::Fail, e.message, Some(fix())),
        Ok(out) if !out.success() => (
            Status::Fail,
            format!("`{}` failed", c.display()),
            Some(fix()),
        ),
        Ok(out) => match version_in(t.marker, &out) {
            Some(v) if v >= t.min => (Status::Ok, format!("v{v}"), None),
            Some(v) => (
                Status::Fail,
                format!("v{v} (older than {})", t.min),
                Some(format!("upgrade {} to ≥ {}: {}", t.name, t.min, t.url)),
            ),
            None => (
                Status::Warn,
                "version not recognised".to_owned(),
                Some(fix()),
            ),
        },
    };
    Check {
        status,
        name: t.name.to_owned(),
        found,
        fix,
    }
}

/// Presence and version of each tool the profile's apply runs. Fast: no daemon, no network.
pub async fn tool_checks(profile: &Profile) -> Vec<Check> {
    let tools = tools_for(profile);
    let mut set = tokio::task::JoinSet::new();
    for (i, t) in tools.into_iter().enumerate() {
        set.spawn(async move { (i, tool_check(t).await) });
    }
    let mut out: Vec<(usize, Check)> = Vec::new();
    while let Some(Ok(r)) = set.join_next().await {
        out.push(r);
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, c)| c).collect()
}

async fn docker_daemon() -> Check {
    let c = Cmd::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .timeout(Duration::from_secs(15));
    let fix =
        Some("start the docker daemon (or Docker Desktop) and check `docker info`".to_owned());
    let (status, found, fix) = match c.output().await {
        Ok(out) if out.success() => (Status::Ok, format!("running, v{}", out.stdout.trim()), None),
        Ok(out) => (
            Status::Fail,
            format!(
                "not reachable: {}",
                crate::providers::local::cli::tail(&out.stderr, 1)
            ),
            fix,
        ),
        Err(e) => (Status::Fail, e.message, fix),
    };
    Check {
        status,
        name: "docker daemon".into(),
        found,
        fix,
    }
}

/// (total, available) memory in bytes, from /proc/meminfo.
fn host_memory() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("MemTotal:")?, field("MemAvailable:")?))
}

fn gib(b: u64) -> String {
    format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
}

/// Memory the profile's local cluster asks for, in bytes.
fn wanted_memory(profile: &Profile) -> Option<u64> {
    match profile.cluster() {
        Cluster::Minikube(m) => crate::providers::local::minikube::minikube_mib(m.memory.as_str())
            .and_then(|mib| u64::try_from(mib).ok())
            .map(|mib| mib << 20),
        // k3d reads `--agents-memory` as docker does: `8g` is 8 GiB.
        Cluster::K3d(k) => crate::providers::local::units::ram_in_bytes(k.agent_memory.as_str())
            .or_else(|| crate::model::types::parse_size(k.agent_memory.as_str()))
            .and_then(|b| b.checked_mul(u64::from(k.agents))),
        _ => None,
    }
}

fn memory_check(profile: &Profile) -> Option<Check> {
    let want = wanted_memory(profile)?;
    let (status, found, fix) = match host_memory() {
        None => (Status::Warn, "cannot read /proc/meminfo".to_owned(), None),
        Some((total, _)) if want > total => (
            Status::Fail,
            format!("profile asks {}, machine has {}", gib(want), gib(total)),
            Some("lower the cluster's memory in the profile".to_owned()),
        ),
        Some((total, avail)) if want > avail => (
            Status::Warn,
            format!(
                "profile asks {}, {} free of {}",
                gib(want),
                gib(avail),
                gib(total)
            ),
            Some("close other programs or lower the cluster's memory in the profile".to_owned()),
        ),
        Some((_, avail)) => (
            Status::Ok,
            format!("profile asks {}, {} free", gib(want), gib(avail)),
            None,
        ),
    };
    Some(Check {
        status,
        name: "memory".into(),
        found,
        fix,
    })
}

async fn kube_check(kubeconfig: &str, context: Option<&str>) -> Check {
    match existing::identify(kubeconfig, context).await {
        Ok(id) => Check {
            status: Status::Ok,
            name: "cluster".into(),
            found: format!(
                "context `{}` reaches {} {}",
                id.context, id.distribution, id.server_version
            ),
            fix: None,
        },
        Err(e) => Check {
            status: Status::Fail,
            name: "cluster".into(),
            found: e.message,
            fix: Some(
                "set `k3s.kubeconfig` / `k3s.context` in the profile to a reachable cluster".into(),
            ),
        },
    }
}

async fn aws_check(region: &str) -> Check {
    let fix = Some(
        "configure AWS credentials (`aws configure`, AWS_PROFILE, or `aws sso login`)".to_owned(),
    );
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .load()
        .await;
    let client = aws_sdk_sts::Client::new(&conf);
    let r =
        tokio::time::timeout(Duration::from_secs(30), client.get_caller_identity().send()).await;
    let (status, found, fix) = match r {
        Ok(Ok(id)) => (
            Status::Ok,
            format!(
                "account {} ({})",
                id.account().unwrap_or("?"),
                id.arn().unwrap_or("?")
            ),
            None,
        ),
        Ok(Err(e)) => {
            let detail = aws_sdk_sts::error::DisplayErrorContext(&e).to_string();
            let short = if detail.to_ascii_lowercase().contains("credentials") {
                "no usable credentials".to_owned()
            } else {
                crate::providers::local::cli::tail(&detail, 1)
            };
            (Status::Fail, short, fix)
        }
        Err(_) => (Status::Fail, "STS did not answer within 30s".into(), fix),
    };
    Check {
        status,
        name: "aws credentials".into(),
        found,
        fix,
    }
}

/// Can this machine reach the EKS API server the profile configures (`eks.endpoint`)?
async fn endpoint_check(e: &crate::model::profile::Eks) -> Check {
    use super::eks_access::{Reach, reachability};
    let (status, found) = match reachability(e).await {
        Reach::Reachable(m) => (Status::Ok, m),
        Reach::Unknown(m) => (Status::Warn, m),
        Reach::Unreachable(m) => (Status::Fail, m),
    };
    Check {
        status,
        name: "eks endpoint".into(),
        found,
        fix: None,
    }
}

/// Every check for the profile, in the order printed.
pub async fn checks(profile: &Profile) -> Vec<Check> {
    let mut out = tool_checks(profile).await;
    let needs_docker = tools_for(profile).iter().any(|t| t.name == "docker");
    if needs_docker
        && out
            .iter()
            .any(|c| c.name == "docker" && c.status != Status::Fail)
    {
        out.push(docker_daemon().await);
    }
    out.extend(memory_check(profile));
    match profile.cluster() {
        Cluster::K3s(k) => out.push(kube_check(&k.kubeconfig, k.context.as_deref()).await),
        Cluster::Eks(e) => {
            out.push(aws_check(&e.region).await);
            out.push(endpoint_check(&e).await);
        }
        _ => {}
    }
    out
}

pub async fn doctor(ctx: &Ctx) -> Result<u8, OpsError> {
    let loaded = config::load(&ctx.root, &ctx.profile).map_err(OpsError::Invalid)?;
    println!(
        "Checking what profile `{}` ({}) needs:",
        loaded.profile_name, loaded.profile.distribution
    );
    let mut checks = checks(&loaded.profile).await;
    // Issue 25: the mirror serves every image and chart (the same list as `alpaka images`).
    if let Some(m) = &loaded.profile.mirror {
        let mut plain = loaded.profile.clone();
        plain.mirror = None;
        let nodes = crate::stack::build(&loaded.profile_name, &plain, &loaded.config)
            .map_err(OpsError::Stack)?;
        // The charts as the mirror serves them, rendered with alpaka's values: the exact images.
        let rendered =
            super::images::render(&nodes, Some(m), &[super::images::ChartsFrom::Mirror]).await;
        let inv = crate::stack::images::inventory(Some(m), &loaded.config, &nodes, &rendered);
        checks.extend(super::doctor_mirror::checks(m, &inv.images, &inv.charts).await);
    }
    for c in &checks {
        println!("{c}");
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed == 0 {
        println!(
            "\nReady: nothing missing for `alpaka apply --profile {}`.",
            loaded.profile_name
        );
        Ok(EXIT_OK)
    } else {
        println!(
            "\n{failed} check(s) failed: apply would not get far. Fix them and run `alpaka doctor` again."
        );
        Ok(EXIT_ERROR)
    }
}

#[cfg(test)]
mod tests {
    use super::{DOCKER, HELM, K3D, MINIKUBE, Version, version_in};
    use crate::providers::local::cli::Output;

    fn printed(stdout: &str, stderr: &str) -> Output {
        Output {
            code: Some(0),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn versions_from_real_tool_output() {
        // Each as the tool's source at that version prints it (see the Tool constants).
        let v = |t: &super::Tool, out: &str| version_in(t.marker, &printed(out, ""));
        assert_eq!(
            v(&DOCKER, "Docker version 27.3.1, build ce12230\n"),
            Some(Version(27, 3, 1))
        );
        assert_eq!(v(&MINIKUBE, "v1.37.0\n"), Some(Version(1, 37, 0)));
        assert_eq!(
            v(
                &K3D,
                "k3d version v5.8.3\nk3s version v1.31.5-k3s1 (default)\n"
            ),
            Some(Version(5, 8, 3))
        );
        assert_eq!(v(&HELM, "v3.17.3+ge4da497\n"), Some(Version(3, 17, 3)));
        assert_eq!(v(&HELM, "v4.0.5+g1b6053d\n"), Some(Version(4, 0, 5)));
        // An untagged k3d build: not mistaken for the k3s version on the next line.
        assert_eq!(
            v(
                &K3D,
                "k3d version v5-dev\nk3s version v1.21.7-k3s1 (default)\n"
            ),
            None
        );
        // stdout first: a warning on stderr may name another version.
        assert_eq!(
            version_in(
                MINIKUBE.marker,
                &printed("v1.37.0\n", "! kubectl 1.29.0 is older than 1.34.0\n")
            ),
            Some(Version(1, 37, 0))
        );
    }

    #[test]
    fn versions_from_tool_output() {
        assert_eq!(Version::find("v1.37.0"), Some(Version(1, 37, 0)));
        assert_eq!(
            Version::find("k3d version v5.8.3\nk3s version v1.31.5-k3s1 (default)"),
            Some(Version(5, 8, 3))
        );
        assert_eq!(Version::find("v3.17.3+g1234"), Some(Version(3, 17, 3)));
        assert_eq!(
            Version::find("Docker version 27.3.1, build ce12230"),
            Some(Version(27, 3, 1))
        );
        assert_eq!(Version::find("v4.1"), Some(Version(4, 1, 0)));
        assert_eq!(Version::find("nothing"), None);
        assert!(Version(4, 0, 0) >= Version(3, 13, 0));
        assert!(Version(3, 12, 3) < Version(3, 13, 0));
    }
}
