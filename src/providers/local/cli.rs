//! Running the local cluster CLIs (minikube, k3d, docker, helm): a timeout, captured output, and
//! failures that name the command and the tail of its stderr.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use tokio::process::Command;

use crate::engine::DriverError;

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Both streams, for matching messages tools print on either.
    pub fn text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// One external command: program, arguments, extra environment, time limit.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: String,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    timeout: Duration,
    /// Run in its own process group and stop with SIGTERM, never SIGKILL ([`Cmd::own_group`]).
    own_group: bool,
    /// Indexes of `args` holding a secret (a chart repository password): never displayed.
    secret_args: Vec<usize>,
}

/// How long a command in its own group gets to finish after SIGTERM (its timeout, or a second
/// Ctrl-C) before it is killed.
pub const TERM_GRACE: Duration = Duration::from_secs(30);

/// Process groups of the running [`Cmd::own_group`] commands: the one thing a second Ctrl-C
/// must reach (the terminal's SIGINT does not, by design). Process-wide because signals are.
static GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Removes a group from [`GROUPS`] when its command is done (or its future dropped).
struct Registered(i32);

impl Registered {
    fn new(pid: i32) -> Registered {
        if let Ok(mut g) = GROUPS.lock() {
            g.insert(pid);
        }
        Registered(pid)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut g) = GROUPS.lock() {
            g.remove(&self.0);
        }
    }
}

/// SIGTERM to a process group.
fn terminate(pgid: i32) {
    // SAFETY: kill(2) with a negative pid signals that group; no memory is involved.
    unsafe {
        libc::kill(-pgid, libc::SIGTERM);
    }
}

/// The second Ctrl-C: SIGTERM every running [`Cmd::own_group`] command and wait (up to `grace`)
/// for them to end, so each records how it ended (helm: the release `failed`, not left
/// `pending-*`). Returns how many were still running at the deadline.
pub async fn stop_own_groups(grace: Duration) -> usize {
    let running = || GROUPS.lock().map(|g| g.clone()).unwrap_or_default();
    for pgid in running() {
        terminate(pgid);
    }
    let start = std::time::Instant::now();
    loop {
        let left = running().len();
        if left == 0 || start.elapsed() >= grace {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Lines of stderr kept in an error message.
const TAIL_LINES: usize = 15;

impl Cmd {
    pub fn new(program: impl Into<String>) -> Cmd {
        Cmd {
            program: program.into(),
            args: Vec::new(),
            envs: Vec::new(),
            timeout: Duration::from_secs(60),
            own_group: false,
            secret_args: Vec::new(),
        }
    }

    /// An argument that is a secret: passed to the program, shown as `(sensitive)` wherever the
    /// command is displayed (errors, logs).
    pub fn secret_arg(mut self, a: impl Into<String>) -> Cmd {
        self.secret_args.push(self.args.len());
        self.args.push(a.into());
        self
    }

    /// For tools that must finish what they started (helm): the command runs in its own
    /// process group, so the terminal's Ctrl-C (SIGINT to the foreground group) does not reach
    /// it and a first Ctrl-C lets it finish; a second one ([`stop_own_groups`]), its timeout, or
    /// (Linux) alpaka's own death sends it SIGTERM, which helm handles by recording the
    /// operation `failed` (helm v4.2.3 `pkg/cmd/upgrade.go`/`install.go` cancel the action's
    /// context on SIGINT/SIGTERM; `pkg/action/upgrade.go` `handleContext` → `failRelease`).
    pub fn own_group(mut self) -> Cmd {
        self.own_group = true;
        self
    }

    pub fn arg(mut self, a: impl Into<String>) -> Cmd {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, k: impl Into<String>, v: impl Into<String>) -> Cmd {
        self.envs.push((k.into(), v.into()));
        self
    }

    pub fn timeout(mut self, t: Duration) -> Cmd {
        self.timeout = t;
        self
    }

    /// The command line as a user would type it (env first), for messages.
    pub fn display(&self) -> String {
        let mut parts: Vec<String> = self.envs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.push(self.program.clone());
        parts.extend(self.args.iter().enumerate().map(|(i, a)| {
            if self.secret_args.contains(&i) {
                crate::engine::value::REDACTED.to_owned()
            } else if a.is_empty() || a.contains(char::is_whitespace) {
                format!("{a:?}")
            } else {
                a.clone()
            }
        }));
        parts.join(" ")
    }

    /// Run to completion; a non-zero exit is not an error here (see [`Cmd::run_ok`]).
    /// Not found, not startable, or over time are errors.
    pub async fn output(&self) -> Result<Output, DriverError> {
        let mut c = Command::new(&self.program);
        c.args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        // A command in its own group may outlive alpaka (killed: it gets SIGTERM and must record
        // how it ended). Go programs like helm die of SIGPIPE on a write to stdout/stderr whose
        // reader is gone (Go's os/signal docs), before recording anything, so such a command
        // writes into unnamed files, never pipes; alpaka reads them when it exits.
        let files = if self.own_group {
            let unnamed = || {
                tempfile::tempfile().map_err(|e| {
                    DriverError::new(format!(
                        "cannot make a file for the output of `{}`: {e}",
                        self.display()
                    ))
                })
            };
            let (out, err) = (unnamed()?, unnamed()?);
            let (o, e) = (out.try_clone(), err.try_clone());
            let (Ok(o), Ok(e)) = (o, e) else {
                return Err(DriverError::new(format!(
                    "cannot share the output files of `{}`",
                    self.display()
                )));
            };
            c.stdout(Stdio::from(o)).stderr(Stdio::from(e));
            Some((out, err))
        } else {
            c.stdout(Stdio::piped()).stderr(Stdio::piped());
            None
        };
        if self.own_group {
            c.process_group(0);
            #[cfg(target_os = "linux")]
            // SAFETY: the closure runs in the forked child before exec and only calls prctl(2),
            // which is async-signal-safe. PR_SET_PDEATHSIG follows the thread that forked: alpaka
            // spawns from its runtime's threads (never `spawn_blocking`), which live as long as
            // the process, so SIGTERM comes when alpaka dies (a SIGKILL, an OOM kill).
            unsafe {
                c.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    Ok(())
                });
            }
        }
        let child = c.spawn().map_err(|e| {
            let what = if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "`{}` is not installed or not on PATH (run `alpaka doctor`)",
                    self.program
                )
            } else {
                format!("cannot start `{}`: {e}", self.display())
            };
            DriverError::new(what).with_code("CommandNotFound")
        })?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok());
        let _registered = pid.filter(|_| self.own_group).map(Registered::new);
        let over_time = || {
            DriverError::new(format!(
                "`{}` did not finish within {}s",
                self.display(),
                self.timeout.as_secs()
            ))
            .with_code("Timeout")
        };
        let wait = child.wait_with_output();
        tokio::pin!(wait);
        let out = match tokio::time::timeout(self.timeout, &mut wait).await {
            Ok(out) => out,
            Err(_) => match pid.filter(|_| self.own_group) {
                // Over time: asked to stop (so it records how it ended), killed after the grace.
                Some(pgid) => {
                    terminate(pgid);
                    let _ = tokio::time::timeout(TERM_GRACE, &mut wait).await;
                    return Err(over_time());
                }
                None => return Err(over_time()),
            },
        }
        .map_err(|e| DriverError::new(format!("waiting for `{}`: {e}", self.display())))?;
        let (stdout, stderr) = match files {
            Some((mut o, mut e)) => (read_back(&mut o), read_back(&mut e)),
            None => (
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ),
        };
        Ok(Output {
            code: out.status.code(),
            stdout,
            stderr,
        })
    }

    /// Run; a non-zero exit becomes an error naming the command and its stderr tail.
    pub async fn run_ok(&self) -> Result<Output, DriverError> {
        let out = self.output().await?;
        if out.success() {
            Ok(out)
        } else {
            Err(self.failed(&out))
        }
    }

    /// The error for a finished, failed run.
    pub fn failed(&self, out: &Output) -> DriverError {
        let text = if out.stderr.trim().is_empty() {
            &out.stdout
        } else {
            &out.stderr
        };
        let code = out
            .code
            .map(|c| format!("exit {c}"))
            .unwrap_or_else(|| "killed by a signal".into());
        DriverError::new(format!(
            "`{}` failed ({code}): {}",
            self.display(),
            tail(text, TAIL_LINES)
        ))
        .with_code("CommandFailed")
    }
}

/// What a command wrote into `f` (its stdout or stderr file); unreadable output reads as empty,
/// the exit code still tells how it ended.
fn read_back(f: &mut std::fs::File) -> String {
    use std::io::{Read, Seek};
    let mut bytes = Vec::new();
    if f.rewind().is_ok() {
        let _ = f.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The last `n` non-empty lines of `s`, joined.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    let t = lines[start..].join("\n");
    if t.is_empty() {
        "(no output)".into()
    } else {
        t
    }
}

/// Where a kubeconfig a tool writes ends up: the first entry of `$KUBECONFIG`, else
/// `~/.kube/config` (what kubectl, minikube and k3d use).
pub fn default_kubeconfig() -> String {
    if let Some(k) = std::env::var_os("KUBECONFIG") {
        let k = k.to_string_lossy().into_owned();
        if let Some(first) = std::env::split_paths(&k).next()
            && !first.as_os_str().is_empty()
        {
            return first.to_string_lossy().into_owned();
        }
    }
    expand_home("~/.kube/config")
}

/// `~/x` with `$HOME` put in.
pub fn expand_home(p: &str) -> String {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => format!("{}/{rest}", home.to_string_lossy()),
        _ => p.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failure_names_command_and_stderr_tail() {
        let c = Cmd::new("sh").args(["-c", "echo one >&2; echo two >&2; exit 3"]);
        let e = c.run_ok().await.unwrap_err();
        assert!(e.message.contains("`sh -c"), "{e}");
        assert!(e.message.contains("exit 3"), "{e}");
        assert!(e.message.ends_with("one\ntwo"), "{e}");
    }

    #[tokio::test]
    async fn missing_program_and_timeout_are_errors() {
        let e = Cmd::new("alpaka-no-such-tool").output().await.unwrap_err();
        assert_eq!(e.code.as_deref(), Some("CommandNotFound"));
        let e = Cmd::new("sleep")
            .arg("5")
            .timeout(Duration::from_millis(100))
            .output()
            .await
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("Timeout"));
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\n\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("  \n", 2), "(no output)");
    }
}
