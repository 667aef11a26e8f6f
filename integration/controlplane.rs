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
#[derive(Clone, Copy, PartialEq)]
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
    /// How far `writes()` has read the audit log.
    audit_read: std::cell::Cell<usize>,
}

/// The user `cluster.sh`'s second admin certificate authenticates as (`pki/alpaka.crt`): give
/// alpaka this identity and the audit log tells its writes from the test's own kubectl.
pub const ALPAKA_USER: &str = "alpaka";

/// One write request the API server answered, from its audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub verb: String,
    /// `group/version`, or `v1` for the core group.
    pub api: String,
    /// The resource's plural name (`kafkaconnectors`).
    pub resource: String,
    pub namespace: String,
    pub name: String,
    /// The request's `fieldManager` and `force` query parameters, `-` when absent.
    pub manager: String,
    pub force: String,
    pub code: u64,
}

impl std::fmt::Display for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = if self.namespace.is_empty() {
            String::new()
        } else {
            format!("{}/", self.namespace)
        };
        write!(
            f,
            "{} {} {} {ns}{} manager={} force={} code={}",
            self.verb, self.api, self.resource, self.name, self.manager, self.force, self.code
        )
    }
}

impl Write {
    /// The `kubectl get` type of its object (`kafkaconnectors.kafka.strimzi.io`).
    pub fn kubectl_type(&self) -> String {
        match self.api.split_once('/') {
            Some((group, _)) => format!("{}.{group}", self.resource),
            None => self.resource.clone(),
        }
    }
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
        Self::start_with(strimzi, None)
    }

    /// As `start`, with bearer tokens also checked by the TokenReview webhook at `token_webhook`.
    /// A start-up that fails (a component exiting while the machine is loaded with other test
    /// binaries' servers: seen twice, KWOK panicking once) is tried once more, in a fresh
    /// directory, after printing why; a second failure fails the test.
    pub fn start_with(strimzi: Strimzi, token_webhook: Option<&str>) -> ControlPlane {
        match Self::try_start(strimzi, token_webhook) {
            Ok(cp) => cp,
            Err(first) => {
                eprintln!("the real control plane did not start, trying once more:\n{first}");
                Self::try_start(strimzi, token_webhook).unwrap_or_else(|second| {
                    panic!("the real control plane did not start (twice):\n{second}")
                })
            }
        }
    }

    fn try_start(strimzi: Strimzi, token_webhook: Option<&str>) -> Result<ControlPlane, String> {
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
            // 0.45.1's KafkaUser CRD is not in ../shared: a fixture in its shape (cited there).
            .args(
                (strimzi == Strimzi::V1beta2)
                    .then(|| {
                        [
                            "--crds".into(),
                            repo().join("integration/controlplane/kafkauser-v1beta2-crd.yaml"),
                        ]
                    })
                    .into_iter()
                    .flatten(),
            )
            .args(["--strimzi", api])
            .arg("--stages")
            .arg(repo().join("integration/controlplane/test-stages.yaml"))
            .args(
                token_webhook
                    .map(|u| ["--token-webhook", u])
                    .into_iter()
                    .flatten(),
            )
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
            return Err(err);
        };
        // The script keeps logging to stderr; never let the pipe fill up.
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Ok(ControlPlane {
            dir,
            child,
            kubeconfig,
            audit_read: std::cell::Cell::new(0),
        })
    }

    fn pki(&self, file: &str) -> PathBuf {
        self.dir.path().join("cp/pki").join(file)
    }

    /// The CA (PEM) the API server's serving certificate is signed by.
    pub fn ca_file(&self) -> PathBuf {
        self.pki("ca.crt")
    }

    /// The API server's URL (`https://127.0.0.1:<port>`).
    pub fn server(&self) -> String {
        let text = std::fs::read_to_string(&self.kubeconfig).unwrap();
        text.lines()
            .find_map(|l| l.trim().strip_prefix("server: "))
            .expect("cluster.sh's kubeconfig names the server")
            .to_owned()
    }

    /// A kubeconfig at `path` whose context `context` reaches this control plane as
    /// `ALPAKA_USER`. With `decoy`, its *current* context is another one, to a closed port: only
    /// a client that uses `context` explicitly gets through.
    pub fn write_kubeconfig(&self, path: &Path, context: &str, decoy: bool) {
        use base64::Engine;
        let b64 = |f: &str| {
            base64::engine::general_purpose::STANDARD.encode(std::fs::read(self.pki(f)).unwrap())
        };
        let mut clusters = vec![serde_json::json!({"name": context, "cluster": {
            "server": self.server(), "certificate-authority-data": b64("ca.crt")}})];
        let mut contexts = vec![
            serde_json::json!({"name": context, "context": {"cluster": context, "user": context}}),
        ];
        let users = vec![serde_json::json!({"name": context, "user": {
            "client-certificate-data": b64("alpaka.crt"), "client-key-data": b64("alpaka.key")}})];
        let mut current = context.to_owned();
        if decoy {
            clusters.push(
                serde_json::json!({"name": "decoy", "cluster": {"server": "https://127.0.0.1:9"}}),
            );
            contexts.push(serde_json::json!({"name": "decoy", "context": {"cluster": "decoy", "user": context}}));
            current = "decoy".into();
        }
        // JSON is YAML: every kubeconfig reader takes it.
        let kc = serde_json::json!({"apiVersion": "v1", "kind": "Config", "clusters": clusters,
            "contexts": contexts, "users": users, "current-context": current});
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, serde_json::to_string_pretty(&kc).unwrap()).unwrap();
    }

    /// The write requests by `user` the API server answered since the last call, in order
    /// (its audit log: cluster.sh logs every write by a client that is not a component).
    pub fn writes(&self, user: &str) -> Vec<Write> {
        let text =
            std::fs::read_to_string(self.dir.path().join("cp/audit.log")).unwrap_or_default();
        let start = self.audit_read.get().min(text.len());
        // Only whole lines: the API server may be writing the next one.
        let end = start + text[start..].rfind('\n').map_or(0, |i| i + 1);
        self.audit_read.set(end);
        text[start..end]
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["user"]["username"] == user)
            .map(|e| {
                let o = &e["objectRef"];
                let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
                let query = e["requestURI"]
                    .as_str()
                    .and_then(|u| u.split_once('?'))
                    .map_or("", |(_, q)| q)
                    .to_owned();
                let param = |k: &str| {
                    query
                        .split('&')
                        .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                        .unwrap_or("-")
                        .to_owned()
                };
                let group = s(&o["apiGroup"]);
                let version = s(&o["apiVersion"]);
                Write {
                    verb: s(&e["verb"]),
                    api: if group.is_empty() {
                        version
                    } else {
                        format!("{group}/{version}")
                    },
                    resource: s(&o["resource"]),
                    namespace: s(&o["namespace"]),
                    name: s(&o["name"]),
                    manager: param("fieldManager"),
                    force: param("force"),
                    code: e["responseStatus"]["code"].as_u64().unwrap_or(0),
                }
            })
            .collect()
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

/// A throwaway CA and a serving certificate for 127.0.0.1 signed by it (openssl, as
/// cluster.sh makes the control plane's): `(ca.crt, server.crt, server.key)` in `dir`.
pub fn throwaway_pki(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let sh = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is needed");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend_from_slice(&ec);
    ca.extend_from_slice(&[
        "-days",
        "1",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        "/CN=alpaka-webhook-test-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    sh(&ca);
    let mut csr = vec!["req", "-new"];
    csr.extend_from_slice(&ec);
    csr.extend_from_slice(&[
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=webhook",
    ]);
    sh(&csr);
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    sh(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ]);
    (
        dir.join("ca.crt"),
        dir.join("server.crt"),
        dir.join("server.key"),
    )
}

/// Kills the webhook backend when the test ends, however it ends.
struct Backend(std::process::Child);
impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Service-mutating admission webhook registered with `failurePolicy: Fail` for the Services
/// of `namespace`, whose backend (`controlplane/admission-webhook.py`, TLS with a throwaway
/// CA) starts listening `delay_s` seconds after this returns: until then the API server's
/// calls to it are refused, as on EKS before the LB controller's pod is up. The webhook's
/// shape is the LB controller chart's (values-3.5.0.yaml `serviceMutatorWebhookConfig`:
/// failurePolicy Fail, operations [CREATE]). Stopped when dropped.
pub struct ServiceWebhook {
    _backend: Backend,
    dir: TempDir,
}

impl ServiceWebhook {
    pub fn start(cp: &ControlPlane, namespace: &str, delay_s: u32) -> ServiceWebhook {
        use base64::Engine;
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = throwaway_pki(dir.path());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ca_bundle =
            base64::engine::general_purpose::STANDARD.encode(std::fs::read(&ca).unwrap());
        let config = serde_json::json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": format!("alpaka-test-service-mutator-{namespace}")},
            "webhooks": [{
                "name": "mservice.alpaka.test",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": "Fail",
                "timeoutSeconds": 5,
                "clientConfig": {
                    "url": format!("https://127.0.0.1:{port}/mutate-v1-service"),
                    "caBundle": ca_bundle,
                },
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                    "resources": ["services"]}],
            }],
        });
        let (code, _, err) = cp.kubectl_stdin(&["create", "-f", "-"], &config.to_string());
        assert_eq!(code, 0, "{err}");
        let python = std::env::var("ALPAKA_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let backend = Backend(
            Command::new(python)
                .arg(repo().join("integration/controlplane/admission-webhook.py"))
                .arg(port.to_string())
                .arg(&cert)
                .arg(&key)
                .arg(delay_s.to_string())
                .arg(dir.path().join("requests.log"))
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        ServiceWebhook {
            _backend: backend,
            dir,
        }
    }

    /// One JSON line per request the backend answered (`kind`, `name`).
    pub fn requests(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("requests.log")).unwrap_or_default()
    }
}
