//! The whole `eks-prod` profile end to end: the real binary against moto (AWS, extended by
//! `integration/standins/moto_eks.py`), the real Kubernetes control plane
//! (`integration/controlplane/`) as the EKS cluster's API server, and the recording fake helm
//! (`integration/fakes/helm`).
//!
//! How the in-cluster part reaches the real API server, with no seam in alpaka: moto_eks.py,
//! started with `ALPAKA_STANDIN_EKS_ENDPOINT=<its URL>` and `ALPAKA_STANDIN_EKS_CA_FILE=<its CA>`,
//! reports them as the cluster's endpoint and certificate authority. The `eks.cluster` driver
//! writes `.alpaka/eks-prod.kubeconfig` from DescribeCluster exactly as in production (its user an
//! exec credential running this binary's `eks-token`), and every in-cluster node — kube-rs for
//! the manifests, `helm --kubeconfig --kube-context` — connects through it. The API server
//! checks that bearer token as EKS does, through a TokenReview webhook
//! (`integration/standins/eks_authenticator.py`, aws-iam-authenticator's checks, asking moto's
//! STS who signed it): the token path is exercised end to end, and the audit log shows every
//! write made as the caller's IAM identity.
//!
//! The AWS Load Balancer Controller comes whole: its published v3.5.0 IAM policy (compiled in),
//! the IRSA role, the ServiceAccount naming the role, the chart (fake helm), and the Ingresses it
//! serves; the test checks the policy moto holds is that document, byte for byte in meaning.
//!
//! Never reaches a non-loopback address: AWS goes to moto through `AWS_ENDPOINT_URL`, instance
//! metadata is disabled, the cluster endpoint is the loopback control plane. Needs moto
//! (`ALPAKA_TEST_PYTHON`, set up by integration/test.sh); FAILS without it, never skips.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value as Json;
use tempfile::TempDir;

#[path = "controlplane.rs"]
mod controlplane;
use controlplane::{ControlPlane, Strimzi};

const REGION: &str = "ap-northeast-2";
const PROFILE: &str = "eks-prod";
const CLUSTER: &str = "prod";
const CONTEXT: &str = "alpaka-prod";
const POLICY_FILE: &str = "policies/aws-load-balancer-controller-v3.5.0-iam-policy.json";
/// moto's account: the cluster creator's, which EKS makes cluster admin.
const ACCOUNT: &str = "123456789012";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn moto_python() -> PathBuf {
    let p = std::env::var_os("ALPAKA_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv-test/bin/python"));
    assert!(
        p.exists(),
        "the moto stand-in is missing: {} does not exist. Run integration/test.sh (it creates \
         .venv-test with `pip install 'moto[server]'`) or set ALPAKA_TEST_PYTHON to a python \
         that has moto[server] and boto3.",
        p.display()
    );
    p
}

fn python3() -> String {
    let out = Process::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is needed by the fakes");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct World {
    dir: TempDir,
    cp: ControlPlane,
    _authenticator: Kill,
    _moto: Kill,
    moto_port: u16,
    /// A session of the role alpaka runs as (an EKS access entry names an IAM role or user,
    /// never moto's default `sts` user): `aws_helper.py principal`.
    creds: Json,
    egress_url: String,
}

/// This machine's egress address as the stand-in of checkip.amazonaws.com answers it, inside the
/// public endpoint CIDR the test profile lists (documentation ranges, RFC 5737).
const EGRESS: &str = "203.0.113.7";
const CIDR: &str = "203.0.113.0/24";

/// A stand-in of checkip.amazonaws.com answering `answer`; its URL.
fn egress_server(answer: &'static str) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}/")
}

fn http(port: u16, method: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (_, body) = out.split_once("\r\n\r\n")?;
    Some(body.to_owned())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in ["profiles", "configs", "policies"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
            for e in std::fs::read_dir(repo().join(sub)).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), root.join(sub).join(e.file_name())).unwrap();
            }
        }
        // The shipped profile's endpoint is private only, which this machine (outside the VPC
        // alpaka makes) cannot reach: plan would refuse. The test machine's "address" is EGRESS.
        let prof = root.join("profiles/eks-prod.yaml");
        let text = std::fs::read_to_string(&prof).unwrap();
        assert!(text.contains("publicAccessCidrs: []"), "{text}");
        std::fs::write(
            &prof,
            text.replace(
                "publicAccessCidrs: []",
                &format!("publicAccessCidrs: [\"{CIDR}\"]"),
            ),
        )
        .unwrap();
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let py = python3();
        let script = repo().join("integration/fakes/helm");
        let p = bin.join("helm");
        std::fs::write(
            &p,
            format!("#!/bin/sh\nexec '{py}' '{}' \"$@\"\n", script.display()),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();

        // The order breaks a cycle: moto reports the API server, the API server asks the
        // authenticator, the authenticator asks moto's STS. moto's port is chosen first.
        let moto_port = free_port();
        let mut auth = Process::new(&py)
            .arg(repo().join("integration/standins/eks_authenticator.py"))
            .args(["--sts", &format!("http://127.0.0.1:{moto_port}")])
            .args(["--admin-account", ACCOUNT, "--cluster-id", CLUSTER])
            // Cluster admin only through an access entry with the admin policy, as EKS grants.
            .args(["--access-entries", &format!("http://127.0.0.1:{moto_port}")])
            // The secrets it checks signatures with: the session's, written below once moto
            // has made it.
            .arg("--credentials")
            .arg(root.join("sts-credentials.json"))
            .arg("--log")
            .arg(root.join("authenticator.log"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(auth.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let auth_port: u16 = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the authenticator said {line:?}"));
        let auth = Kill(auth);
        let cp = ControlPlane::start_with(
            Strimzi::V1,
            Some(&format!("http://127.0.0.1:{auth_port}/authenticate")),
        );

        // moto, reporting the control plane as the EKS cluster's endpoint and CA.
        let moto = Kill(
            Process::new(moto_python())
                .arg(repo().join("integration/standins/moto_eks.py"))
                .arg("127.0.0.1")
                .arg(moto_port.to_string())
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .env("ALPAKA_STANDIN_EKS_ENDPOINT", cp.server())
                .env("ALPAKA_STANDIN_EKS_CA_FILE", cp.ca_file())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting the moto stand-in"),
        );
        let t = Instant::now();
        while http(moto_port, "GET", "/moto-api/").is_none() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "moto did not come up"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let out = Process::new(moto_python())
            .arg(repo().join("integration/standins/aws_helper.py"))
            .arg(format!("http://127.0.0.1:{moto_port}"))
            .arg(REGION)
            .args(["principal", "ops", "alpaka-deployer", "ci"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let creds: Json = serde_json::from_slice(&out.stdout).unwrap();
        std::fs::write(
            root.join("sts-credentials.json"),
            serde_json::json!({
                creds["access_key_id"].as_str().unwrap(): creds["secret_access_key"]
            })
            .to_string(),
        )
        .unwrap();
        World {
            dir,
            cp,
            _authenticator: auth,
            _moto: moto,
            moto_port,
            creds,
            egress_url: egress_server(EGRESS),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn moto(&self) -> String {
        format!("http://127.0.0.1:{}", self.moto_port)
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::from_std(self.process())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Start `apply` and SIGKILL it right after its first `service` `action` call took effect,
    /// before it heard back (moto_eks.py holds that answer: a fault rule with `hang_after`).
    fn apply_killed_right_after(&self, service: &str, action: &str) {
        let rule = serde_json::json!([
            {"service": service, "action": action, "hang_after": true, "times": 1}
        ])
        .to_string();
        let post = |body: &str| {
            let mut s = TcpStream::connect(("127.0.0.1", self.moto_port)).unwrap();
            write!(
                s,
                "POST /_alpaka/faults HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
        };
        self.reset_calls();
        post(&rule);
        let mut child = self
            .process()
            .args(["apply", "--auto-approve"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        loop {
            let body = http(self.moto_port, "GET", "/_alpaka/calls").unwrap();
            let calls: Json = serde_json::from_str(&body).unwrap();
            if calls
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["hung"] == Json::Bool(true))
            {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "apply ended before {service} {action}"
            );
            assert!(
                t.elapsed() < Duration::from_secs(300),
                "no {service} {action}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        post("[]");
    }

    fn process(&self) -> Process {
        let root = self.root();
        let mut c = Process::new(assert_cmd::cargo::cargo_bin("alpaka"));
        c.env("ALPAKA_ROOT", root)
            .env("ALPAKA_PROFILE", PROFILE)
            .env_remove("KUBECONFIG")
            .env("HOME", root)
            .env("NO_COLOR", "1")
            .env("PATH", root.join("bin"))
            .env("ALPAKA_FAKE_LOG", root.join("fake.log"))
            .env("ALPAKA_FAKE_STATE", root.join("fake-state"))
            .env("AWS_ENDPOINT_URL", self.moto())
            .env(
                "AWS_ACCESS_KEY_ID",
                self.creds["access_key_id"].as_str().unwrap(),
            )
            .env(
                "AWS_SECRET_ACCESS_KEY",
                self.creds["secret_access_key"].as_str().unwrap(),
            )
            .env(
                "AWS_SESSION_TOKEN",
                self.creds["session_token"].as_str().unwrap(),
            )
            .env("ALPAKA_EGRESS_IP_URL", &self.egress_url)
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", root.join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                root.join("no-aws-credentials"),
            )
            .current_dir(root);
        c
    }

    fn take(&self, log: &str) -> Vec<String> {
        let p = self.root().join(log);
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let _ = std::fs::remove_file(&p);
        text.lines().map(str::to_owned).collect()
    }

    /// The IAM identity the authenticator let in, and alpaka's writes as it since the last call
    /// (the API server's audit log).
    fn writes(&self) -> (String, Vec<controlplane::Write>) {
        let log =
            std::fs::read_to_string(self.root().join("authenticator.log")).unwrap_or_default();
        let arn = log
            .lines()
            .find_map(|l| l.strip_prefix("ALLOWED "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or_else(|| panic!("the authenticator let nobody in: {log}"))
            .to_owned();
        let w = self.cp.writes(&arn);
        (arn, w)
    }

    fn helm_releases(&self) -> Vec<Json> {
        let d = self.root().join("fake-state/helm");
        let mut out = Vec::new();
        for e in std::fs::read_dir(d).into_iter().flatten() {
            let e = e.unwrap();
            out.push(serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap());
        }
        out
    }

    fn calls(&self) -> Vec<(String, String)> {
        self.calls_with_ids()
            .into_iter()
            .map(|(s, a, _)| (s, a))
            .collect()
    }

    /// The call log with each call's resource id, as the stand-in records it.
    fn calls_with_ids(&self) -> Vec<(String, String, String)> {
        let body = http(self.moto_port, "GET", "/_alpaka/calls").unwrap();
        let j: Json = serde_json::from_str(&body).unwrap();
        j.as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["service"].as_str().unwrap().to_owned(),
                    c["action"].as_str().unwrap().to_owned(),
                    c["id"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    fn reset_calls(&self) {
        http(self.moto_port, "POST", "/_alpaka/calls");
    }

    fn helper(&self, args: &[&str]) -> Json {
        let out = Process::new(moto_python())
            .arg(repo().join("integration/standins/aws_helper.py"))
            .arg(self.moto())
            .arg(REGION)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "aws_helper {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn ids(plan: &Json) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_op")
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The LB controller's chain and what waits for it.
const LB_CONTROLLER: &[&str] = &[
    "helm.aws-load-balancer-controller",
    "iam.policy.prod.lb-controller",
    "iam.role.prod.lb-controller",
    "k8s.ingress.grafana",
    "k8s.ingress.k8dashboard",
    "k8s.ingress.ui4kafka",
    "k8s.serviceaccount.kube-system.aws-load-balancer-controller",
];

#[test]
fn eks_prod_apply_end_to_end_then_destroy_leaves_nothing() {
    let w = World::new();
    let root = w.root();

    // 1. The whole profile, the LB controller and the Ingresses included. A first apply is
    // killed right after it created its first customer managed policy (the LB controller's or
    // the S3 sink Connect type's: the create calls of the whole profile the AWS-layer kill test,
    // tests/eks_moto.rs, does not reach); the second finds that policy by its name and adopts it.
    w.apply_killed_right_after("iam", "CreatePolicy");
    let (code, out, err) = w.run(&["apply", "--auto-approve"]);
    let all = format!("{out}\n{err}");
    assert_eq!(code, 0, "{all}");
    assert!(!all.contains("panicked"), "{all}");
    assert!(
        out.contains("iam.policy.prod.lb-controller was found")
            || out.contains("iam.policy.prod.connect-sinkcon was found"),
        "the killed run's policy was not adopted:\n{out}"
    );
    let tagged = w.helper(&["list-tagged", PROFILE]);
    let policies = |name: &str| {
        tagged
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| {
                let t = t.as_str().unwrap();
                t.starts_with("policy ") && t.ends_with(&format!(":policy/{name}"))
            })
            .count()
    };
    assert_eq!(
        policies("alpaka-prod-AWSLoadBalancerControllerIAMPolicy"),
        1,
        "one LB controller policy: {tagged}"
    );
    // ... and the S3 sink Connect type's own (issue 21 item 5).
    assert_eq!(
        policies("alpaka-prod-connect-sinkcon"),
        1,
        "one sinkcon policy: {tagged}"
    );
    let state =
        std::fs::read_to_string(root.join(format!(".alpaka/{PROFILE}.state.json"))).unwrap();
    let state: Json = serde_json::from_str(&state).unwrap();
    for id in LB_CONTROLLER {
        assert!(state["resources"].get(id).is_some(), "{id} not applied");
    }
    // The policy AWS holds is the published document; the role trusts the cluster's OIDC
    // provider for exactly the controller's ServiceAccount, which names the role.
    let policy_arn = state["resources"]["iam.policy.prod.lb-controller"]["outputs"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let live = w.helper(&["policy-document", &policy_arn]);
    let published: Json =
        serde_json::from_str(&std::fs::read_to_string(repo().join(POLICY_FILE)).unwrap()).unwrap();
    assert_eq!(live, published);
    let role_arn = state["resources"]["iam.role.prod.lb-controller"]["outputs"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let sa =
        w.cp.get(&[
            "serviceaccount",
            "aws-load-balancer-controller",
            "-n",
            "kube-system",
        ])
        .expect("the controller's ServiceAccount");
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        role_arn.as_str()
    );
    // Issue 21 item 5: the S3 sink Connect type's workers run as their IRSA role. The
    // KafkaConnect the API server holds names the role's ARN on its ServiceAccount template; the
    // role (read back from moto's IAM) trusts exactly the ServiceAccount Strimzi makes for it.
    let connect_role_arn = state["resources"]["iam.role.prod.connect-sinkcon"]["outputs"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let sinkcon =
        w.cp.get(&["kafkaconnect", "sinkcon", "-n", "alpaka"])
            .expect("the sinkcon KafkaConnect");
    assert_eq!(
        sinkcon["spec"]["template"]["serviceAccount"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        connect_role_arn.as_str(),
        "{sinkcon}"
    );
    let live = w.helper(&["role-trust", "alpaka-prod-connect-sinkcon"]);
    let condition = live["trust"]["Statement"][0]["Condition"]["StringEquals"]
        .as_object()
        .unwrap();
    let subs: Vec<&Json> = condition
        .iter()
        .filter(|(k, _)| k.ends_with(":sub"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(
        subs,
        vec![&Json::from("system:serviceaccount:alpaka:sinkcon-connect")],
        "{live}"
    );
    assert_eq!(
        live["trust"]["Statement"][0]["Action"],
        "sts:AssumeRoleWithWebIdentity"
    );
    let lbc = w
        .helm_releases()
        .into_iter()
        .find(|r| r["name"] == "aws-load-balancer-controller")
        .expect("the controller's release");
    assert_eq!(lbc["chart"], "aws-load-balancer-controller-3.5.0", "{lbc}");
    assert!(
        w.cp.get(&["ingress", "grafana", "-n", "alpaka"]).is_some(),
        "the Grafana Ingress"
    );

    // The kubeconfig eks.cluster wrote: alpaka-owned, 0600, server + CA from DescribeCluster,
    // the user this binary's eks-token.
    let kc_path = root.join(format!(".alpaka/{PROFILE}.kubeconfig"));
    let kc = std::fs::read_to_string(&kc_path).unwrap();
    let mode = std::fs::metadata(&kc_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(kc.contains(&format!("server: {}", w.cp.server())), "{kc}");
    assert!(kc.contains("certificate-authority-data: "), "{kc}");
    assert!(kc.contains(&format!("current-context: {CONTEXT}")), "{kc}");
    for a in ["eks-token", "--cluster", CLUSTER, "--region", REGION] {
        assert!(kc.contains(a), "{a} not in {kc}");
    }
    let cluster = &state["resources"][format!("eks.cluster.{CLUSTER}")]["outputs"];
    assert_eq!(cluster["context"], CONTEXT, "{cluster}");
    assert_eq!(cluster["kubeconfig"], kc_path.display().to_string());
    // The EBS CSI add-on tags the volumes it makes, so the sweep finds them.
    let addon = &state["resources"]["eks.addon.prod.aws-ebs-csi-driver"]["attrs"];
    let config: Json =
        serde_json::from_str(addon["configuration_values"].as_str().unwrap()).unwrap();
    assert_eq!(
        config["controller"]["extraVolumeTags"],
        serde_json::json!({format!("kubernetes.io/cluster/{CLUSTER}"): "owned",
                           "alpaka.io/managed-by": "alpaka", "alpaka.io/profile": PROFILE,
                           "alpaka.io/cluster": CLUSTER})
    );

    // In the cluster (through that kubeconfig, as the IAM identity moto's STS named for the
    // token): the gp3 class, the platform; every write a forced server-side apply.
    let (arn, writes) = w.writes();
    assert_eq!(
        arn,
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/alpaka-deployer/ci")
    );
    // The webhook is no rubber stamp: a token that is not a presigned STS URL is refused.
    let bogus = controlplane::tools().join("kubectl");
    let out = Process::new(bogus)
        .args([
            "--server",
            &w.cp.server(),
            "--token",
            "k8s-aws-v1.aHR0cDovL2V4YW1wbGUuY29tLw",
        ])
        .arg(format!(
            "--certificate-authority={}",
            w.cp.ca_file().display()
        ))
        .args(["get", "namespaces"])
        .env("KUBECONFIG", "/dev/null")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        // kubectl's words for a 401, whatever the status message (the authenticator log below
        // says why it was refused).
        String::from_utf8_lossy(&out.stderr).contains("You must be logged in to the server"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(root.join("authenticator.log")).unwrap();
    assert!(
        log.contains(r#"REFUSED unexpected scheme 'http' in pre-signed URL"#),
        "{log}"
    );
    // Well-formed tokens that STS would not accept: signed with a wrong secret, or for another
    // cluster (the `x-k8s-aws-id` the EKS authenticator sends is its own cluster's). Made by
    // `alpaka eks-token`, the kubeconfig's exec plugin; the right one logs in.
    for (cluster, secret, refused) in [
        (CLUSTER, "wrong-secret", Some("SignatureDoesNotMatch")),
        ("another-cluster", "", Some("SignatureDoesNotMatch")),
        (CLUSTER, "", None),
    ] {
        let mut p = w.process();
        if !secret.is_empty() {
            p.env("AWS_SECRET_ACCESS_KEY", secret);
        }
        let out = p
            .args(["eks-token", "--cluster", cluster, "--region", REGION])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cred: Json = serde_json::from_slice(&out.stdout).unwrap();
        let token = cred["status"]["token"].as_str().unwrap();
        let out = Process::new(controlplane::tools().join("kubectl"))
            .args(["--server", &w.cp.server(), "--token", token])
            .arg(format!(
                "--certificate-authority={}",
                w.cp.ca_file().display()
            ))
            .args(["get", "namespace", "default", "-o", "name"])
            .env("KUBECONFIG", "/dev/null")
            .output()
            .unwrap();
        let log = std::fs::read_to_string(root.join("authenticator.log")).unwrap();
        let last = log.lines().last().unwrap_or_default().to_owned();
        match refused {
            Some(code) => {
                assert!(!out.status.success(), "{cluster}/{secret}: logged in");
                assert!(last.starts_with("REFUSED") && last.contains(code), "{last}");
            }
            None => assert!(
                out.status.success(),
                "{}\n{last}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    let mut touched: BTreeSet<(String, String, String)> = BTreeSet::new();
    for x in &writes {
        touched.insert((x.kubectl_type(), x.namespace.clone(), x.name.clone()));
    }
    let writes: Vec<String> = writes.iter().map(ToString::to_string).collect();
    assert!(
        writes
            .iter()
            .all(|l| l.starts_with("patch ") && l.contains(" manager=alpaka force=true code=20")),
        "{writes:#?}"
    );
    let sc =
        w.cp.get(&["storageclass", "gp3"])
            .expect("the gp3 StorageClass");
    assert_eq!(sc["metadata"]["name"], "gp3");
    assert_eq!(sc["provisioner"], "ebs.csi.aws.com");
    assert_eq!(sc["parameters"]["type"], "gp3");
    // Encrypted at rest (the EBS CSI driver's `encrypted` defaults to false).
    assert_eq!(sc["parameters"]["encrypted"], "true");
    assert_eq!(sc["volumeBindingMode"], "WaitForFirstConsumer");
    assert_eq!(
        sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"],
        "true"
    );
    for resource in [
        "v1 namespaces",
        "kafka.strimzi.io/v1 kafkas",
        "kafka.strimzi.io/v1 kafkaconnects",
        "kafka.strimzi.io/v1 kafkaconnectors",
        "apps/v1 deployments",
        "storage.k8s.io/v1 storageclasses",
    ] {
        assert!(
            writes.iter().any(|l| l.contains(&format!(" {resource} "))),
            "{resource} never applied: {writes:#?}"
        );
    }
    let helm_calls: Vec<String> = w
        .take("fake.log")
        .into_iter()
        .filter(|l| l.starts_with("helm ") && !l.starts_with("helm version"))
        .collect();
    assert!(!helm_calls.is_empty());
    // Every call that reaches the cluster names it; `helm show` reads only the chart.
    for l in helm_calls.iter().filter(|l| !l.starts_with("helm show ")) {
        assert!(
            l.contains(&format!(
                "--kube-context {CONTEXT} --kubeconfig {}",
                kc_path.display()
            )),
            "{l}"
        );
    }
    assert!(!w.helm_releases().is_empty());

    // The gp3 class re-created underneath with other parameters (immutable: the API refuses
    // to change them in place) plans as a replacement naming them, and apply puts it back.
    let mut gp2 = serde_json::json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "gp3", "annotations": sc["metadata"]["annotations"],
                     "labels": sc["metadata"]["labels"]},
        "provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp2"},
        "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": sc["reclaimPolicy"],
        "allowVolumeExpansion": sc["allowVolumeExpansion"],
    });
    let (code, _, err) = w.cp.kubectl(&["delete", "storageclass", "gp3"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = w.cp.kubectl_stdin(&["create", "-f", "-"], &gp2.to_string());
    assert_eq!(code, 0, "{err}");
    gp2["parameters"] = sc["parameters"].clone();
    let (code, _, err) = w.cp.kubectl_stdin(
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--dry-run=server",
            "-f",
            "-",
        ],
        &gp2.to_string(),
    );
    assert_ne!(code, 0, "the API accepted a parameters change");
    assert!(err.contains("field is immutable"), "{err}");
    let (code, out, err) = w.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("# k8s.storageclass.gp3 must be replaced"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.contains("~ parameters.type")
            && l.ends_with(r#"= "gp2" -> "gp3" # forces replacement"#)),
        "{out}"
    );
    let (_, out, err) = w.run(&["apply", "--auto-approve"]);
    assert!(!out.contains("422") && !err.contains("422"), "{out}\n{err}");
    assert!(!out.contains("✗ k8s.storageclass.gp3"), "{out}");
    let live = w.cp.get(&["storageclass", "gp3"]).unwrap();
    assert_eq!(live["parameters"]["type"], "gp3");
    w.writes();

    // 2. A second plan: no changes, at most one AWS read per AWS resource.
    w.reset_calls();
    let (code, out, err) = w.run(&["plan", "--json"]);
    // Not alpaka's: the authenticator checking the EKS token asks STS through the presigned URL.
    // Not a resource's read: who applies (STS GetCallerIdentity, then IAM GetRole of the
    // assumed role), asked once per plan to name the applier's access entry.
    let reads: Vec<(String, String)> = w
        .calls_with_ids()
        .into_iter()
        .filter(|(s, a, id)| {
            !(s == "sts" && (a == "GET /" || a == "GetCallerIdentity")
                || s == "iam" && a == "GetRole" && id == "alpaka-deployer")
        })
        .map(|(s, a, _)| (s, a))
        .collect();
    // The sweep is bookkeeping: it has nothing in AWS to read. An access entry takes two reads
    // (DescribeAccessEntry, ListAssociatedAccessPolicies: EKS has no call returning both), so it
    // counts twice, as in tests/eks_moto.rs; so does an IAM role (GetRole, then
    // ListAttachedRolePolicies: IAM has no call returning both), and exactly those two each.
    let roles = state["resources"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|id| id.starts_with("iam.role."))
        .count();
    for call in ["GetRole", "ListAttachedRolePolicies"] {
        assert_eq!(
            reads
                .iter()
                .filter(|(s, a)| s == "iam" && a == call)
                .count(),
            roles,
            "{call} once per role: {reads:?}"
        );
    }
    let aws_resources: usize = state["resources"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|id| ["aws.", "iam.", "eks."].iter().any(|p| id.starts_with(p)))
        .filter(|id| !id.starts_with("aws.cluster-sweep."))
        .map(|id| {
            if id.starts_with("eks.access-entry.") || id.starts_with("iam.role.") {
                2
            } else {
                1
            }
        })
        .sum();
    eprintln!(
        "no-op plan: {} AWS requests for {aws_resources} AWS resources ({:.2} per resource): {reads:?}",
        reads.len(),
        reads.len() as f64 / aws_resources as f64
    );
    // Subnets and route tables come in one listing each, a policy's document only when its
    // version moved, tags with GetRole/GetPolicy: no more requests than resources.
    assert!(reads.len() <= aws_resources, "{reads:?}");
    // Tags come with GetRole/GetPolicy: no listing call per role or policy.
    assert!(
        reads
            .iter()
            .all(|(_, a)| a != "ListRoleTags" && a != "ListPolicyTags"),
        "{reads:?}"
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let plan: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(ids(&plan), Vec::new());
    let (code, out, err) = w.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}\n{err}");

    // 3. What controllers would have left (an ALB, target group, security group, a PVC volume),
    // then destroy: the plan lists the volume; in-cluster objects go before the sweep, the
    // sweep before nodegroups, cluster, subnets and VPC; nothing tagged remains.
    let objs = w.helper(&["controller-objects", CLUSTER, PROFILE]);
    let volume = objs["volume"].as_str().unwrap().to_owned();
    w.reset_calls();
    let (code, out, err) = w.run(&["destroy", "--auto-approve"]);
    assert_eq!(code, 0, "destroy failed:\n{out}\n{err}");
    assert!(
        out.contains("EBS volumes behind the platform's PVCs will be deleted"),
        "{out}"
    );
    assert!(out.contains(&volume), "{volume} not listed: {out}");
    let text = format!("{out}\n{err}");
    let pos = |needle: &str| text.find(needle);
    let sweep_start = pos("aws.cluster-sweep.prod: ").expect("the sweep ran");
    let last_in_cluster_end = text
        .lines()
        .filter(|l| {
            (l.contains(" k8s.")
                || l.contains(" helm.")
                || l.contains(" strimzi.")
                || l.contains(" kafka.")
                || l.contains(" connector."))
                && l.contains(" after ")
        })
        .filter_map(|l| text.find(l))
        .max()
        .expect("in-cluster deletes");
    assert!(
        last_in_cluster_end < sweep_start,
        "an in-cluster delete ended after the sweep started:\n{text}"
    );
    // Nothing alpaka wrote is left in the cluster: it deleted what it applied, as the same IAM
    // identity (polls: the garbage collector and the namespace controller finish after the
    // API answered the deletes).
    let (_, deletes) = w.writes();
    assert!(
        deletes
            .iter()
            .any(|d| d.verb == "delete" && d.resource == "namespaces"),
        "{deletes:?}"
    );
    let mut left = Vec::new();
    for _ in 0..150 {
        left = touched
            .iter()
            .filter(|(ty, ns, name)| {
                let mut args = vec![ty.as_str(), name.as_str()];
                if !ns.is_empty() {
                    args.extend(["-n", ns.as_str()]);
                }
                w.cp.get(&args).is_some()
            })
            .cloned()
            .collect();
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(left, Vec::new(), "objects left in the cluster");
    assert!(w.helm_releases().is_empty(), "{:#?}", w.helm_releases());
    let calls = w.calls();
    let first = |f: &dyn Fn(&str, &str) -> bool| calls.iter().position(|(s, a)| f(s, a));
    let lb = first(&|s, a| s == "elasticloadbalancing" && a == "DeleteLoadBalancer")
        .expect("the swept load balancer was deleted");
    let vol = first(&|_, a| a == "DeleteVolume").expect("the PVC volume was deleted");
    let ng = first(&|s, a| {
        s == "eks" && a.starts_with(&format!("DELETE /clusters/{CLUSTER}/node-groups/"))
    })
    .expect("nodegroup deleted");
    let cl = first(&|s, a| s == "eks" && a == format!("DELETE /clusters/{CLUSTER}"))
        .expect("cluster deleted");
    let subnet = first(&|_, a| a == "DeleteSubnet").expect("subnets deleted");
    let vpc = first(&|_, a| a == "DeleteVpc").expect("vpc deleted");
    for i in [lb, vol] {
        assert!(i < ng && i < cl && i < subnet && i < vpc, "{calls:?}");
    }
    let left = w.helper(&["list-tagged", PROFILE]);
    assert_eq!(left, serde_json::json!([]), "left behind: {left}");
}
