//! The AWS layer of `eks-prod` end to end against moto (a local AWS stand-in), reached only
//! through `AWS_ENDPOINT_URL` — the same code path as production.
//!
//! The stand-in is `integration/standins/moto_eks.py`: moto server **extended** with the EKS
//! add-on API (moto 5.2 answers 404 for it) and a log of the calls it received. moto makes
//! everything ACTIVE at once and does not raise every DependencyViolation real AWS does, so
//! waiters are tested against scripted status sequences in `alpaka-aws`, and the destroy order is
//! asserted on the calls made. Out-of-band changes and the independent listing use boto3
//! (`integration/standins/aws_helper.py`), not alpaka's code.
//!
//! This test covers the AWS layer only: apply targets `aws.cluster-sweep.prod`, which pulls in the
//! whole AWS layer it depends on (network, IAM roles, cluster, nodegroup, OIDC provider, EBS CSI
//! role and add-on). The in-cluster parts run end to end in `integration/eks_platform.rs`.
//!
//! Needs the stand-in: `integration/test.sh` installs it (.venv-test) and exports
//! `ALPAKA_TEST_PYTHON`. Without it these tests FAIL, saying how to get it; they never skip.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value as Json;
use tempfile::TempDir;

const REGION: &str = "ap-northeast-2";
const TARGET: &str = "aws.cluster-sweep.prod";
/// This machine's egress address as the tests' stand-in of checkip.amazonaws.com answers it,
/// and the public endpoint CIDR the test profile lists for it (documentation ranges, RFC 5737).
const EGRESS: &str = "203.0.113.7";
const CIDR: &str = "203.0.113.0/24";
/// The role alpaka runs as (an assumed-role session in it) and the admin role the test profile
/// lists in `eks.admins`; both made in moto's IAM by `Moto::start`.
const DEPLOYER: &str = "arn:aws:iam::123456789012:role/ops/alpaka-deployer";
const ADMINS: &str = "arn:aws:iam::123456789012:role/platform/alpaka-admins";
const ADMIN_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

/// A stand-in of checkip.amazonaws.com: answers `answer` to any request; its URL.
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

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
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

struct Moto {
    child: Child,
    endpoint: String,
    port: u16,
    /// Credentials of a session of the DEPLOYER role (`aws_helper.py principal`).
    creds: Json,
    egress_url: String,
}

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Process::new(python())
            .arg(repo().join("integration/standins/moto_eks.py"))
            .arg("127.0.0.1")
            .arg(port.to_string())
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the moto stand-in");
        let mut m = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            creds: Json::Null,
            egress_url: egress_server(EGRESS),
        };
        let t = Instant::now();
        while m.http("GET", "/moto-api/").is_none() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "moto did not come up"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        m.creds = m.helper(&["principal", "ops", "alpaka-deployer", "ci"]);
        assert_eq!(m.creds["role_arn"], DEPLOYER);
        m.helper(&["role", "platform", "alpaka-admins"]);
        m.reset_calls();
        m
    }

    fn http(&self, method: &str, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        let (_, body) = out.split_once("\r\n\r\n")?;
        out.contains(" 200 ")
            .then(|| body.to_owned())
            .or(Some(String::new()))
    }

    /// (service, action) of every call received since the last reset, in order.
    fn calls(&self) -> Vec<(String, String, String)> {
        let body = self.http("GET", "/_alpaka/calls").unwrap();
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

    /// Answer matching calls with AWS's error (moto_eks.py's fault rules), replacing any rules.
    fn faults(&self, rules: Json) {
        self.post("/_alpaka/faults", &rules);
    }

    /// Answer EC2 Describe* and EKS List* calls `size` items a page (0: whole, as moto does).
    fn pages(&self, size: usize) {
        self.post("/_alpaka/pages", &serde_json::json!({ "size": size }));
    }

    fn post(&self, path: &str, json: &Json) {
        let body = json.to_string();
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.contains(" 200 "), "{out}");
    }

    fn reset_calls(&self) {
        self.http("POST", "/_alpaka/calls");
    }

    fn helper(&self, args: &[&str]) -> Json {
        let out = Process::new(python())
            .arg(repo().join("integration/standins/aws_helper.py"))
            .arg(&self.endpoint)
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

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn workspace() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["profiles", "configs", "policies"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(repo().join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
        }
    }
    // The shipped eks-prod has public access off, which no machine outside the VPC alpaka makes
    // can use (plan refuses): the tests reach it from EGRESS, and list an admin role.
    edit_profile(
        dir.path(),
        &[
            (
                "publicAccessCidrs: []",
                &format!("publicAccessCidrs: [\"{CIDR}\"]"),
            ),
            ("admins: []", &format!("admins: [\"{ADMINS}\"]")),
        ],
    );
    dir
}

/// Replace each `from` (which must be there) with `to` in the workspace's eks-prod profile.
fn edit_profile(root: &Path, edits: &[(&str, &str)]) {
    let p = root.join("profiles/eks-prod.yaml");
    let mut text = std::fs::read_to_string(&p).unwrap();
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "eks-prod.yaml has no {from:?}:\n{text}"
        );
        text = text.replace(from, to);
    }
    std::fs::write(&p, text).unwrap();
}

fn alpaka(root: &Path, moto: &Moto) -> Command {
    Command::from_std(alpaka_process(root, moto))
}

/// The binary with the stand-in's environment, as a process to spawn (and kill).
fn alpaka_process(root: &Path, moto: &Moto) -> Process {
    let mut c = Process::new(assert_cmd::cargo::cargo_bin("alpaka"));
    c.env("ALPAKA_ROOT", root)
        .env("ALPAKA_PROFILE", "eks-prod")
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env(
            "AWS_ACCESS_KEY_ID",
            moto.creds["access_key_id"].as_str().unwrap(),
        )
        .env(
            "AWS_SECRET_ACCESS_KEY",
            moto.creds["secret_access_key"].as_str().unwrap(),
        )
        .env(
            "AWS_SESSION_TOKEN",
            moto.creds["session_token"].as_str().unwrap(),
        )
        .env("ALPAKA_EGRESS_IP_URL", &moto.egress_url)
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

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn plan_json(root: &Path, moto: &Moto) -> Json {
    let (code, out, err) = run(alpaka(root, moto).args(["plan", "--json", "--target", TARGET]));
    assert_eq!(code, 0, "plan failed:\n{out}\n{err}");
    serde_json::from_str(&out).unwrap()
}

/// (id, action, reason, changed field paths) of every change that does something.
fn actions(plan: &Json) -> Vec<(String, String, String, Vec<String>)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_op")
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
                c["reason"].as_str().unwrap_or_default().to_owned(),
                c["fields"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .map(|x| {
                                x["path"]
                                    .as_array()
                                    .unwrap()
                                    .iter()
                                    .map(|s| s.as_str().unwrap())
                                    .collect::<Vec<_>>()
                                    .join(".")
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn position(calls: &[(String, String, String)], f: impl Fn(&str, &str) -> bool) -> Vec<usize> {
    calls
        .iter()
        .enumerate()
        .filter(|(_, (s, a, _))| f(s, a))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn eks_prod_aws_layer_apply_drift_destroy() {
    let moto = Moto::start();
    let ws = workspace();
    let root = ws.path();

    // 1. apply the AWS layer.
    apply_aws_layer(root, &moto);

    // Every resource alpaka created carries its tags (independent listing, boto3).
    let tagged = moto.helper(&["list-tagged", "eks-prod"]);
    let tagged: Vec<&str> = tagged
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let count = |p: &str| tagged.iter().filter(|t| t.starts_with(p)).count();
    assert_eq!(count("vpc "), 1, "{tagged:?}");
    assert_eq!(count("subnet "), 4, "{tagged:?}");
    assert_eq!(count("igw "), 1, "{tagged:?}");
    assert_eq!(count("rtb "), 2, "{tagged:?}");
    assert_eq!(count("nat "), 1, "{tagged:?}");
    assert_eq!(count("eip "), 1, "{tagged:?}");
    assert_eq!(count("role "), 3, "cluster, node, ebs-csi: {tagged:?}");
    assert_eq!(count("oidc "), 1, "{tagged:?}");
    assert_eq!(count("eks "), 1, "{tagged:?}");
    assert_eq!(
        count("lt "),
        1,
        "one launch template per nodegroup: {tagged:?}"
    );

    // Each carries the id of the alpaka resource it is, set in its create call.
    let ids = moto.helper(&["ids", "eks-prod"]);
    let ids = ids.as_object().unwrap();
    assert_eq!(ids.len(), tagged.len() + 1, "{ids:#?}"); // + the nodegroup
    for (what, id) in ids {
        let id = id
            .as_str()
            .unwrap_or_else(|| panic!("{what} has no alpaka.io/id"));
        let kind = what.split(' ').next().unwrap();
        let expected = match kind {
            "vpc" => "aws.vpc.",
            "subnet" => "aws.subnet.",
            "igw" => "aws.igw.",
            "rtb" => "aws.route-table.",
            "nat" => "aws.nat-gateway.",
            "eip" => "aws.eip.",
            "role" => "iam.role.",
            "policy" => "iam.policy.",
            "oidc" => "iam.oidc",
            "eks" => "eks.cluster.",
            "nodegroup" => "eks.nodegroup.",
            "lt" => "aws.launch-template.",
            "access-entry" => "eks.access-entry.prod.role/",
            other => panic!("{other}"),
        };
        assert!(id.starts_with(expected), "{what}: {id}");
    }
    assert_eq!(ids["eks prod"], "eks.cluster.prod");

    // Creates carry an idempotency token made of the state's lineage and the resource id, so a
    // create repeated after a crash is the same request to AWS (what EKS recorded, via boto3).
    let state = read_state(root);
    let lineage = state["lineage"].as_str().unwrap();
    let token = |id: &str, generation: u64| -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(format!("alpaka/{lineage}/{id}/{generation}").as_bytes())
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let tokens = moto.helper(&["request-tokens", "prod"]);
    assert_eq!(tokens["cluster"], token("eks.cluster.prod", 0), "{tokens}");

    // The nodes (independent listing: DescribeNodegroup, then the launch template version it
    // names, from EC2): IMDSv2 only, hop limit 1, an encrypted gp3 root volume of diskSizeGb.
    let nodes = moto.helper(&["nodes", "prod"]);
    let ng = &nodes["xlarge"];
    assert_eq!(ng["amiType"], "AL2023_x86_64_STANDARD", "{nodes}");
    assert_eq!(ng["launchTemplate"]["version"], "1", "{nodes}");
    assert_eq!(ng["metadata"]["HttpTokens"], "required", "{nodes}");
    assert_eq!(ng["metadata"]["HttpPutResponseHopLimit"], 1, "{nodes}");
    assert_eq!(ng["metadata"]["HttpEndpoint"], "enabled", "{nodes}");
    assert_eq!(
        ng["devices"],
        serde_json::json!([{"device": "/dev/xvda", "size": 100, "type": "gp3", "encrypted": true, "kms": null}]),
        "{nodes}"
    );
    assert!(
        ng["tagTypes"]
            .as_array()
            .unwrap()
            .contains(&"instance".into())
            && ng["tagTypes"]
                .as_array()
                .unwrap()
                .contains(&"volume".into()),
        "{nodes}"
    );
    // NetworkPolicies enforced: the VPC CNI add-on, taken over from the self-managed one.
    let cni = moto.helper(&["addon", "prod", "vpc-cni"]);
    assert_eq!(cni["status"], "ACTIVE", "{cni}");
    let cni_config: Json =
        serde_json::from_str(cni["configurationValues"].as_str().unwrap()).unwrap();
    assert_eq!(
        cni_config,
        serde_json::json!({"enableNetworkPolicy": "true"})
    );

    // 2. a second plan shows no changes.
    let plan = plan_json(root, &moto);
    assert_eq!(actions(&plan), vec![], "second plan is not empty");
    let (code, _, err) =
        run(alpaka(root, &moto).args(["plan", "--detailed-exitcode", "--target", TARGET]));
    assert_eq!(code, 0, "{err}");

    // Access: a kubeconfig context with alpaka's own exec plugin, and the token it prints.
    let kc = root.join("kubeconfig");
    let (code, out, err) = run(alpaka(root, &moto).args(["kubeconfig", "--write"]).arg(&kc));
    assert_eq!(code, 0, "{out}{err}");
    let text = std::fs::read_to_string(&kc).unwrap();
    assert!(text.contains("current-context: alpaka-prod"), "{text}");
    assert!(text.contains("eks-token"), "{text}");
    let (code, out, err) =
        run(alpaka(root, &moto).args(["eks-token", "--cluster", "prod", "--region", REGION]));
    assert_eq!(code, 0, "{err}");
    let cred: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(cred["kind"], "ExecCredential");
    assert!(
        cred["status"]["token"]
            .as_str()
            .unwrap()
            .starts_with("k8s-aws-v1.")
    );
    assert!(!out.contains("testing"), "no credential in the output");

    // 3. drift out of band: a role deleted, the nodegroup resized, a tag removed.
    moto.helper(&["drift", "prod"]);
    let got = actions(&plan_json(root, &moto));
    let expected = vec![
        (
            "aws.vpc.prod".to_owned(),
            "update".to_owned(),
            "drift".to_owned(),
            vec!["tags.env".to_owned()],
        ),
        (
            "eks.nodegroup.prod.xlarge".into(),
            "update".into(),
            "drift".into(),
            vec!["scaling.desired".into()],
        ),
        (
            "iam.role.prod.ebs-csi".into(),
            "create".into(),
            "deleted_out_of_band".into(),
            vec![],
        ),
        // Consequence, not drift: the add-on's role ARN is "known after apply" once its role
        // is to be created again (terraform shows the same).
        (
            "eks.addon.prod.aws-ebs-csi-driver".into(),
            "update".into(),
            String::new(),
            vec!["service_account_role_arn".into()],
        ),
    ];
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(got_sorted, expected_sorted);

    // Scaling is an in-place update: apply repairs it with UpdateNodegroupConfig, no
    // replacement; then the plan is empty again.
    moto.reset_calls();
    let (code, out, err) =
        run(alpaka(root, &moto).args(["apply", "--auto-approve", "--target", TARGET]));
    assert_eq!(code, 0, "repair failed:\n{out}\n{err}");
    let calls = moto.calls();
    assert!(
        calls
            .iter()
            .any(|(s, a, _)| s == "eks" && a.ends_with("/node-groups/xlarge/update-config")),
        "{calls:?}"
    );
    assert!(
        !calls.iter().any(|(_, a, _)| a.starts_with("DELETE ")),
        "in-place repair deleted something: {calls:?}"
    );
    assert_eq!(actions(&plan_json(root, &moto)), vec![]);

    // A bigger node disk: a new launch template version, and the nodegroup rolled to it in
    // place (one UpdateNodegroupVersion), nothing replaced.
    let profile = root.join("profiles/eks-prod.yaml");
    let text = std::fs::read_to_string(&profile).unwrap();
    std::fs::write(&profile, text.replace("diskSizeGb: 100", "diskSizeGb: 120")).unwrap();
    let mut got = actions(&plan_json(root, &moto));
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "aws.launch-template.prod.xlarge".to_owned(),
                "update".to_owned(),
                String::new(),
                vec!["volume_size_gb".to_owned()],
            ),
            (
                "eks.nodegroup.prod.xlarge".into(),
                "update".into(),
                String::new(),
                vec!["launch_template.version".into()],
            ),
        ]
    );
    moto.reset_calls();
    let (code, out, err) =
        run(alpaka(root, &moto).args(["apply", "--auto-approve", "--target", TARGET]));
    assert_eq!(code, 0, "disk change failed:\n{out}\n{err}");
    let calls = moto.calls();
    assert_eq!(
        calls_to(&calls, "ec2", "CreateLaunchTemplateVersion"),
        1,
        "{calls:?}"
    );
    assert_eq!(
        calls_to(&calls, "ec2", "ModifyLaunchTemplate"),
        1,
        "{calls:?}"
    );
    assert_eq!(
        calls_to(
            &calls,
            "eks",
            "POST /clusters/prod/node-groups/xlarge/update-version"
        ),
        1,
        "{calls:?}"
    );
    assert!(
        !calls
            .iter()
            .any(|(_, a, _)| a.starts_with("DELETE ") || a.starts_with("Delete")),
        "{calls:?}"
    );
    let nodes = moto.helper(&["nodes", "prod"]);
    assert_eq!(nodes["xlarge"]["launchTemplate"]["version"], "2", "{nodes}");
    assert_eq!(nodes["xlarge"]["devices"][0]["size"], 120, "{nodes}");
    assert_eq!(
        nodes["xlarge"]["metadata"]["HttpTokens"], "required",
        "{nodes}"
    );
    assert_eq!(actions(&plan_json(root, &moto)), vec![]);

    // A nodegroup as an alpaka before launch templates made it (none): EKS cannot give it one
    // in place, so the plan shows its replacement, saying what that does and why.
    moto.helper(&["legacy-nodegroup", "prod", "xlarge"]);
    let plan = plan_json(root, &moto);
    let got = actions(&plan);
    assert_eq!(
        got,
        vec![(
            "eks.nodegroup.prod.xlarge".to_owned(),
            "replace".to_owned(),
            "drift".to_owned(),
            vec!["launch_template".to_owned()],
        )],
        "{plan}"
    );
    let change = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "eks.nodegroup.prod.xlarge")
        .unwrap();
    assert!(
        change["warning"]
            .as_str()
            .unwrap_or_default()
            .contains("EKS cannot add one in place"),
        "{change}"
    );
    let (code, out, _) = run(alpaka(root, &moto).args(["plan", "--target", TARGET]));
    assert_eq!(code, 0);
    assert!(out.contains("EKS cannot add one in place"), "{out}");
    let (code, out, err) =
        run(alpaka(root, &moto).args(["apply", "--auto-approve", "--target", TARGET]));
    assert_eq!(code, 0, "replacement failed:\n{out}\n{err}");
    assert_eq!(
        moto.helper(&["nodes", "prod"])["xlarge"]["launchTemplate"]["version"],
        "2"
    );
    assert_eq!(actions(&plan_json(root, &moto)), vec![]);

    // 4. what controllers would have left (an ALB, target group, security group, PVC volume),
    // then destroy.
    // The PVC volume is still attached for a while (real EC2 answers VolumeInUse until the
    // detachment finishes; moto deletes at once): the sweep waits it out.
    let objs = moto.helper(&["controller-objects", "prod", "eks-prod"]);
    moto.faults(serde_json::json!([
        {"service": "ec2", "action": "DeleteVolume", "code": "VolumeInUse",
         "message": format!("Volume {} is currently attached to i-0123456789abcdef0", objs["volume"].as_str().unwrap()),
         "times": 2},
    ]));
    moto.reset_calls();
    let (code, out, err) = run(alpaka(root, &moto).args(["destroy", "--auto-approve"]));
    assert_eq!(code, 0, "destroy failed:\n{out}\n{err}");
    assert!(
        out.contains("EBS volumes behind the platform's PVCs will be deleted"),
        "{out}"
    );
    assert_eq!(
        calls_to(&moto.calls(), "ec2", "DeleteVolume"),
        3,
        "two refusals, then deleted"
    );

    // Nothing tagged with the profile remains (independent listing).
    let left = moto.helper(&["list-tagged", "eks-prod"]);
    assert_eq!(left, serde_json::json!([]), "left behind: {left}");

    // The order of destroy calls: controller objects before nodegroup/cluster/subnets/VPC,
    // NAT before its EIP, detach before delete.
    let calls = moto.calls();
    let first = |f: &dyn Fn(&str, &str) -> bool| position(&calls, f).first().copied();
    let last = |f: &dyn Fn(&str, &str) -> bool| position(&calls, f).last().copied();
    let lb = first(&|s, a| s == "elasticloadbalancing" && a == "DeleteLoadBalancer")
        .expect("the swept load balancer was deleted");
    let tg = first(&|_, a| a == "DeleteTargetGroup").expect("target group deleted");
    let sg = first(&|_, a| a == "DeleteSecurityGroup").expect("security group deleted");
    let vol = first(&|_, a| a == "DeleteVolume").expect("PVC volume deleted");
    let addon = first(&|s, a| s == "eks" && a.starts_with("DELETE /clusters/prod/addons/"))
        .expect("add-on deleted");
    let ng = first(&|s, a| s == "eks" && a.starts_with("DELETE /clusters/prod/node-groups/"))
        .expect("nodegroup deleted");
    let cluster =
        first(&|s, a| s == "eks" && a == "DELETE /clusters/prod").expect("cluster deleted");
    let lt = first(&|_, a| a == "DeleteLaunchTemplate").expect("launch template deleted");
    assert!(
        ng < lt,
        "the nodegroup goes before its launch template: {calls:?}"
    );
    let oidc = first(&|_, a| a == "DeleteOpenIDConnectProvider").expect("oidc deleted");
    let nat = first(&|_, a| a == "DeleteNatGateway").expect("nat deleted");
    let eip = first(&|_, a| a == "ReleaseAddress").expect("eip released");
    let subnet = first(&|_, a| a == "DeleteSubnet").expect("subnets deleted");
    let igw = first(&|_, a| a == "DeleteInternetGateway").expect("igw deleted");
    let vpc = first(&|_, a| a == "DeleteVpc").expect("vpc deleted");
    for (name, i) in [
        ("target group", tg),
        ("security group", sg),
        ("volume", vol),
    ] {
        assert!(
            lb < i || name == "volume",
            "{name} before the load balancer"
        );
        assert!(
            i < ng && i < cluster && i < subnet && i < vpc,
            "{name} too late: {calls:?}"
        );
    }
    assert!(lb < addon && addon < cluster && ng < cluster, "{calls:?}");
    // The OIDC provider needs the cluster's issuer, so it goes before the cluster (dependents
    // first) — but after the add-on and the IRSA role that use it.
    let irsa = first(&|s, a| s == "iam" && a == "DeleteRole")
        .filter(|&i| calls[i].2 == "alpaka-prod-ebs-csi")
        .expect("the IRSA role is the first role deleted");
    assert!(addon < oidc && irsa < oidc, "{calls:?}");
    let last_subnet = last(&|_, a| a == "DeleteSubnet").unwrap();
    assert!(cluster < subnet && nat < eip && nat < last_subnet && igw < vpc && last_subnet < vpc);
    let detach = last(&|_, a| a == "DetachRolePolicy").expect("policies detached");
    let delete_role = last(&|_, a| a == "DeleteRole").expect("roles deleted");
    assert!(
        position(&calls, |_, a| a == "DetachRolePolicy")[0]
            < position(&calls, |_, a| a == "DeleteRole")[0]
            && detach < delete_role
    );
    let _ = objs;

    // State is empty and a destroy plan has nothing to do.
    let (code, out, _) = run(alpaka(root, &moto).args(["state", "list"]));
    assert_eq!(code, 0);
    assert!(!out.contains("aws."), "{out}");

    // Made again after the destroy: a new idempotency token (a replayed one would get AWS's
    // answer for the deleted cluster).
    let (code, out, err) =
        run(alpaka(root, &moto).args(["apply", "--auto-approve", "--target", "eks.cluster.prod"]));
    assert_eq!(code, 0, "re-apply failed:\n{out}\n{err}");
    let tokens = moto.helper(&["request-tokens", "prod"]);
    assert_eq!(tokens["cluster"], token("eks.cluster.prod", 1), "{tokens}");
}

#[test]
fn post_destroy_listing_fails_when_something_tagged_remains() {
    let moto = Moto::start();
    let ws = workspace();
    let root = ws.path();
    let (code, out, err) =
        run(alpaka(root, &moto).args(["apply", "--auto-approve", "--target", "aws.vpc.prod"]));
    assert_eq!(code, 0, "{out}\n{err}");
    // Something alpaka did not create but that carries the profile's tag (a PVC volume).
    moto.helper(&["volume", "prod", "eks-prod"]);
    let (code, out, err) = run(alpaka(root, &moto).args(["destroy", "--auto-approve"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("Left behind:"), "{err}");
    assert!(err.contains("volume vol-"), "{err}");
}

/// `natGateway: none`: the nodes' subnets have no way out, so alpaka makes the VPC endpoints the
/// EKS user guide lists for private clusters — interface endpoints for ec2, ecr.api, ecr.dkr,
/// sts and elasticloadbalancing in every private subnet with private DNS, behind one security
/// group open on 443 to the VPC's CIDR only, and the s3 gateway endpoint on the private route
/// table — before the nodegroups; the next plan is empty; destroy leaves nothing tagged.
#[test]
fn a_vpc_without_a_nat_gateway_gets_the_endpoints_private_nodes_need() {
    let moto = Moto::start();
    let ws = workspace();
    let root = ws.path();
    edit_profile(root, &[("natGateway: single", "natGateway: none")]);
    moto.reset_calls();
    apply_aws_layer(root, &moto);
    let calls = moto.calls();
    assert_eq!(calls_to(&calls, "ec2", "CreateNatGateway"), 0);
    assert_eq!(calls_to(&calls, "ec2", "CreateVpcEndpoint"), 6);
    // Every endpoint exists before any node is asked for.
    let last_endpoint = position(&calls, |s, a| s == "ec2" && a == "CreateVpcEndpoint")
        .into_iter()
        .max()
        .unwrap();
    let first_nodegroup = position(&calls, |s, a| {
        s == "eks" && a == "POST /clusters/prod/node-groups"
    })
    .into_iter()
    .min()
    .unwrap();
    assert!(last_endpoint < first_nodegroup);

    let state = read_state(root);
    let res = state["resources"].as_object().unwrap();
    let out = |id: &str| res[id]["outputs"]["id"].as_str().unwrap().to_owned();
    let mut private: Vec<String> = res
        .iter()
        .filter(|(id, _)| id.starts_with("aws.subnet.prod.private"))
        .map(|(_, r)| r["outputs"]["id"].as_str().unwrap().to_owned())
        .collect();
    private.sort();
    assert!(!private.is_empty());
    let sg = out("aws.security-group.prod.endpoints");
    let got = moto.helper(&["endpoints", "eks-prod"]);
    let eps = got["endpoints"].as_object().unwrap();
    let region = "ap-northeast-2";
    for svc in ["ec2", "ecr.api", "ecr.dkr", "sts", "elasticloadbalancing"] {
        let e = &eps[&format!("com.amazonaws.{region}.{svc}")];
        assert_eq!(e["type"], "Interface", "{svc}: {e}");
        assert_eq!(e["subnets"], serde_json::json!(private), "{svc}");
        assert_eq!(e["groups"], serde_json::json!([sg]), "{svc}");
        assert_eq!(e["privateDns"], true, "{svc}");
        assert_eq!(e["state"], "available", "{svc}");
    }
    let s3 = &eps[&format!("com.amazonaws.{region}.s3")];
    assert_eq!(s3["type"], "Gateway");
    assert_eq!(
        s3["routeTables"],
        serde_json::json!([out("aws.route-table.prod.private")])
    );
    assert_eq!(eps.len(), 6, "{got}");
    assert_eq!(got["https_from"][&sg], serde_json::json!(["10.0.0.0/16"]));

    let plan = plan_json(root, &moto);
    assert!(actions(&plan).is_empty(), "{plan}");

    let (code, out, err) = run(alpaka(root, &moto).args(["destroy", "--auto-approve"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_nothing_tagged(&moto, "after destroy");
}

/// A role EKS refuses for a while after it was created (IAM propagation), as real AWS answers:
/// the same call, retried with backoff, succeeds. Injected before moto sees the call, in EKS's
/// error shape (moto itself never refuses a fresh role).
const ROLE_NOT_ASSUMABLE: &str = "Role with arn: arn:aws:iam::123456789012:role/alpaka-prod-cluster, \
     could not be assumed because it does not exist or the trusted entity is not correct";
const NO_MANAGED_POLICIES: &str = "The provided role doesn't have the Amazon EKS Managed Policies \
     associated with it. Please ensure the following policies [arn:aws:iam::aws:policy/\
     AmazonEKSWorkerNodePolicy, arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly] are attached";
const IN_USE: &str = "The subnet 'subnet-0' has dependencies and cannot be deleted.";

fn calls_to(calls: &[(String, String, String)], service: &str, action: &str) -> usize {
    calls
        .iter()
        .filter(|(s, a, _)| s == service && a == action)
        .count()
}

#[test]
fn eks_refusing_fresh_roles_and_vpc_parts_in_use_are_waited_out() {
    let moto = Moto::start();
    let ws = workspace();
    let root = ws.path();
    moto.faults(serde_json::json!([
        {"service": "eks", "action": "POST /clusters", "code": "InvalidParameterException",
         "message": ROLE_NOT_ASSUMABLE, "times": 2},
        {"service": "eks", "action": "POST /clusters/prod/node-groups",
         "code": "InvalidParameterException", "message": NO_MANAGED_POLICIES, "times": 1},
        {"service": "eks", "action": "POST /clusters/prod/addons",
         "code": "InvalidParameterException", "message": ROLE_NOT_ASSUMABLE, "times": 1},
    ]));
    apply_aws_layer(root, &moto);
    let calls = moto.calls();
    assert_eq!(calls_to(&calls, "eks", "POST /clusters"), 3, "{calls:?}");
    assert_eq!(
        calls_to(&calls, "eks", "POST /clusters/prod/node-groups"),
        2,
        "{calls:?}"
    );
    // Two add-ons (vpc-cni, EBS CSI): the first one refused once, then each created.
    assert_eq!(
        calls_to(&calls, "eks", "POST /clusters/prod/addons"),
        3,
        "{calls:?}"
    );
    let plan = plan_json(root, &moto);
    assert_eq!(actions(&plan), vec![], "second plan is not empty");

    // Tear-down while interfaces drain: every VPC part refuses a few times first.
    let violation = |action: &str, times: u32| {
        serde_json::json!({"service": "ec2", "action": action, "code": "DependencyViolation",
                           "message": IN_USE, "times": times})
    };
    moto.faults(serde_json::json!([
        violation("DeleteSubnet", 2),
        violation("DetachInternetGateway", 1),
        violation("DeleteInternetGateway", 1),
        violation("DeleteRouteTable", 1),
        violation("DeleteVpc", 2),
    ]));
    moto.reset_calls();
    let (code, out, err) = run(alpaka(root, &moto).args(["destroy", "--auto-approve"]));
    assert_eq!(code, 0, "destroy failed:\n{out}\n{err}");
    let calls = moto.calls();
    assert_eq!(calls_to(&calls, "ec2", "DeleteVpc"), 3, "{calls:?}");
    assert_eq!(calls_to(&calls, "ec2", "DeleteSubnet"), 4 + 2, "{calls:?}");
    assert_eq!(
        moto.helper(&["list-tagged", "eks-prod"]),
        serde_json::json!([])
    );
}

#[test]
fn a_subnet_that_stays_in_use_fails_destroy_naming_the_interfaces_in_it() {
    let moto = Moto::start();
    let ws = workspace();
    let root = ws.path();
    // A short bound, so the test does not wait the shipped 30 minutes.
    let p = root.join("profiles/eks-prod.yaml");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("waitTimeout: 30m", "waitTimeout: 8s");
    std::fs::write(&p, text).unwrap();
    apply_aws_layer(root, &moto);
    let state = read_state(root);
    let (subnet_node, subnet) = state["resources"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(id, _)| id.starts_with("aws.subnet."))
        .map(|(id, r)| (id.clone(), r["outputs"]["id"].as_str().unwrap().to_owned()))
        .unwrap();
    let eni = moto.helper(&["eni", &subnet])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    moto.faults(serde_json::json!([
        {"service": "ec2", "action": "DeleteSubnet", "code": "DependencyViolation",
         "message": IN_USE, "times": 1000},
    ]));
    let (code, out, err) = run(alpaka(root, &moto).args(["destroy", "--auto-approve"]));
    let all = format!("{out}\n{err}");
    assert_eq!(code, 1, "{all}");
    assert!(all.contains(&subnet_node), "{all}");
    assert!(all.contains("(DependencyViolation)"), "{all}");
    assert!(all.contains("still refused after 8s"), "{all}");
    assert!(
        all.contains(&format!("network interfaces in {subnet}: {eni}")),
        "{all}"
    );
    assert!(all.contains("ELB app/k8s-alpaka-grafana"), "{all}");
    assert!(all.contains("[request id "), "{all}");
}

#[test]
fn apply_and_destroy_converge_with_a_third_of_all_calls_throttled_or_failing() {
    let moto = Moto::start();
    let ws = workspace();
    let root = ws.path();
    // Every service, every call: a third refused with the service's own throttling or
    // server error, before it takes effect (as a throttled or failed call does).
    moto.faults(serde_json::json!([
        {"service": "*", "action": "*", "rate": 0.35, "seed": 42, "kinds": ["throttle", "5xx"]},
    ]));
    apply_aws_layer(root, &moto);
    let (code, out, err) =
        run(alpaka(root, &moto).args(["plan", "--detailed-exitcode", "--target", TARGET]));
    assert_eq!(code, 0, "a second plan is not clean:\n{out}\n{err}");
    let (code, out, err) = run(alpaka(root, &moto).args(["destroy", "--auto-approve"]));
    assert_eq!(code, 0, "destroy failed:\n{out}\n{err}");
    let rules: Json = serde_json::from_str(&moto.http("GET", "/_alpaka/faults").unwrap()).unwrap();
    let injected = rules[0]["count"].as_u64().unwrap_or_default();
    let calls = moto.calls().len();
    eprintln!("{injected} of {calls} calls refused; apply, plan and destroy converged");
    assert!(injected >= 20, "only {injected} faults injected");
    moto.faults(serde_json::json!([]));
    assert_eq!(
        moto.helper(&["list-tagged", "eks-prod"]),
        serde_json::json!([])
    );
}

/// A Kubernetes version change: the plan shows the minor steps; apply runs UpdateClusterVersion
/// per step, each waited out on DescribeUpdate (the stand-in refuses a step while the last is in
/// progress, and any step that is not exactly one minor, as EKS does), then moves the nodegroup;
/// a downgrade is refused at plan time.
#[test]
fn a_kubernetes_upgrade_goes_one_minor_at_a_time_and_a_downgrade_is_refused() {
    let moto = Moto::start();
    let ws = workspace();
    let root = ws.path();
    let profile = root.join("profiles/eks-prod.yaml");
    let set_version = |v: &str| {
        let text = std::fs::read_to_string(&profile).unwrap();
        let re = regex::Regex::new(r#"kubernetesVersion: "[0-9.]+""#).unwrap();
        std::fs::write(
            &profile,
            re.replace(&text, format!("kubernetesVersion: \"{v}\"").as_str())
                .as_ref(),
        )
        .unwrap();
    };
    set_version("1.32");
    apply_aws_layer(root, &moto);

    set_version("1.34");
    let (code, out, err) = run(alpaka(root, &moto).args(["plan", "--target", TARGET]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("version = \"1.32\" -> \"1.34\""), "{out}");
    assert!(out.contains("1.32 → 1.33 → 1.34"), "{out}");
    let got = actions(&plan_json(root, &moto));
    assert!(
        got.iter()
            .any(|(id, a, _, f)| id == "eks.nodegroup.prod.xlarge"
                && a == "update"
                && f.contains(&"version".to_owned())),
        "{got:?}"
    );

    moto.reset_calls();
    let (code, out, err) =
        run(alpaka(root, &moto).args(["apply", "--auto-approve", "--target", TARGET]));
    assert_eq!(code, 0, "upgrade failed:\n{out}\n{err}");
    let calls = moto.calls();
    let updates = position(&calls, |s, a| {
        s == "eks" && a == "POST /clusters/prod/updates"
    });
    assert_eq!(
        updates.len(),
        2,
        "one UpdateClusterVersion per minor: {calls:?}"
    );
    let describes = position(&calls, |s, a| {
        s == "eks" && a.starts_with("GET /clusters/prod/updates/")
    });
    assert!(
        describes.iter().any(|&d| d > updates[0] && d < updates[1]),
        "the first step is waited out before the second: {calls:?}"
    );
    let ng = position(&calls, |s, a| {
        s == "eks" && a == "POST /clusters/prod/node-groups/xlarge/update-version"
    });
    assert_eq!(ng.len(), 1, "{calls:?}");
    assert!(
        ng[0] > updates[1],
        "the nodegroup follows the cluster: {calls:?}"
    );
    // The EBS CSI add-on then moves to the version EKS makes the default for 1.34 (the
    // stand-in refuses one incompatible with the cluster's version at that moment).
    let addon = position(&calls, |s, a| {
        s == "eks" && a == "POST /clusters/prod/addons/aws-ebs-csi-driver/update"
    });
    assert_eq!(addon.len(), 1, "{calls:?}");
    assert!(addon[0] > updates[1], "{calls:?}");
    let asked = position(&calls, |s, a| {
        s == "eks" && a.starts_with("GET /addons/supported-versions")
    });
    assert!(!asked.is_empty() && asked[0] < addon[0], "{calls:?}");
    let state = read_state(root);
    assert_eq!(
        state["resources"]["eks.addon.prod.aws-ebs-csi-driver"]["outputs"]["version"],
        "v0.34.1-standin.1"
    );
    let plan = plan_json(root, &moto);
    assert_eq!(
        actions(&plan),
        vec![],
        "after the upgrade nothing is left to change"
    );

    // No way back down: refused before anything is called.
    set_version("1.33");
    moto.reset_calls();
    let (code, out, err) = run(alpaka(root, &moto).args(["plan", "--target", TARGET]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("cannot downgrade"), "{err}");
    assert!(
        moto.calls()
            .iter()
            .all(|(_, a, _)| !a.contains("/updates") && !a.contains("update-version")),
        "nothing changes for a refused plan"
    );
}

/// Every create call of an eks-prod AWS-layer apply, in the stand-in's names: where the kill
/// points go.
const CREATE_CALLS: [(&str, &str); 13] = [
    ("ec2", "CreateVpc"),
    ("ec2", "CreateSubnet"),
    ("ec2", "CreateInternetGateway"),
    ("ec2", "CreateRouteTable"),
    ("ec2", "AllocateAddress"),
    ("ec2", "CreateNatGateway"),
    ("ec2", "CreateLaunchTemplate"),
    ("iam", "CreateRole"),
    ("eks", "POST /clusters"),
    ("iam", "CreateOpenIDConnectProvider"),
    ("eks", "POST /clusters/prod/node-groups"),
    ("eks", "POST /clusters/prod/addons"),
    ("eks", "POST /clusters/prod/access-entries"),
];

/// The state's resources with what AWS chose (ids, ARNs, addresses) masked: equal for two
/// deployments of the same configuration.
fn state_shape(root: &Path) -> std::collections::BTreeMap<String, String> {
    let state = read_state(root);
    let chosen = regex::Regex::new(
        r"(arn:aws:[^\x22]*|\b[a-z]+-[0-9a-f]{8,17}\b|\b\d{1,3}(\.\d{1,3}){3}\b|id/[0-9A-Fa-f]+|https://[^\x22]*)",
    )
    .unwrap();
    state["resources"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, r)| {
            let outputs: Vec<&String> = r["outputs"]
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            let shape = format!("{} {} outputs {outputs:?}", r["kind"], r["attrs"]);
            (id.clone(), chosen.replace_all(&shape, "<aws>").into_owned())
        })
        .collect()
}

/// `apply --target aws.cluster-sweep.prod`: the whole AWS layer; it must succeed.
fn apply_aws_layer(root: &Path, moto: &Moto) {
    let (code, out, err) =
        run(alpaka(root, moto).args(["apply", "--auto-approve", "--target", TARGET]));
    assert_eq!(code, 0, "apply failed:\n{out}\n{err}");
}

fn read_state(root: &Path) -> Json {
    serde_json::from_str(
        &std::fs::read_to_string(root.join(".alpaka/eks-prod.state.json")).unwrap(),
    )
    .unwrap()
}

/// Nothing in AWS carries the profile's tags (boto3's listing, and the `alpaka.io/id` one, which
/// also covers nodegroups).
fn assert_nothing_tagged(moto: &Moto, when: &str) {
    assert_eq!(tagged_kinds(moto), Vec::<String>::new(), "{when}");
    assert_eq!(
        moto.helper(&["ids", "eks-prod"]),
        serde_json::json!({}),
        "{when}"
    );
}

fn tagged_kinds(moto: &Moto) -> Vec<String> {
    let mut kinds: Vec<String> = moto
        .helper(&["list-tagged", "eks-prod"])
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().split(' ').next().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds
}

/// Start an apply of the AWS layer and SIGKILL it right after its first `service` `action` call
/// took effect, before it could hear back (moto_eks.py holds the answer).
fn kill_right_after(root: &Path, moto: &Moto, service: &str, action: &str) {
    let point = format!("{service} {action}");
    moto.reset_calls();
    moto.faults(serde_json::json!([
        {"service": service, "action": action, "hang_after": true, "times": 1}
    ]));
    let mut child = alpaka_process(root, moto)
        .args(["apply", "--auto-approve", "--target", TARGET])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    loop {
        let body = moto.http("GET", "/_alpaka/calls").unwrap();
        let calls: Json = serde_json::from_str(&body).unwrap();
        if calls
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["hung"] == Json::Bool(true))
        {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut e = String::new();
            child.stderr.take().unwrap().read_to_string(&mut e).unwrap();
            panic!("{point}: apply ended ({status}) before the kill point:\n{e}");
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "{point}: never reached"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    moto.faults(serde_json::json!([])); // the held answer goes nowhere
}

#[test]
fn killed_right_after_any_create_call_a_reapply_adopts_what_was_made() {
    let moto = Moto::start();
    // A clean apply: what every killed-and-resumed one must end up as.
    let clean = workspace();
    let (code, out, err) =
        run(alpaka(clean.path(), &moto).args(["apply", "--auto-approve", "--target", TARGET]));
    assert_eq!(code, 0, "clean apply failed:\n{out}\n{err}");
    let calls = moto.calls();
    for (service, action) in CREATE_CALLS {
        assert!(
            calls_to(&calls, service, action) > 0,
            "a clean apply makes no {service} {action}: the kill point would never fire"
        );
    }
    let want_state = state_shape(clean.path());
    let want_tagged = tagged_kinds(&moto);
    let (code, out, err) = run(alpaka(clean.path(), &moto).args(["destroy", "--auto-approve"]));
    assert_eq!(code, 0, "destroy failed:\n{out}\n{err}");
    assert_eq!(tagged_kinds(&moto), Vec::<String>::new());

    for (service, action) in CREATE_CALLS {
        let point = format!("{service} {action}");
        let ws = workspace();
        let root = ws.path();
        kill_right_after(root, &moto, service, action);

        let (code, out, err) =
            run(alpaka(root, &moto).args(["apply", "--auto-approve", "--target", TARGET]));
        assert_eq!(code, 0, "{point}: re-apply failed:\n{out}\n{err}");
        assert!(
            out.contains("adopted"),
            "{point}: what the killed run made was not adopted:\n{out}"
        );
        assert!(!err.contains("AlreadyExists"), "{point}:\n{err}");
        // The same deployment as a clean apply's: the same resources in state, as configured,
        // and exactly one of each in AWS.
        assert_eq!(state_shape(root), want_state, "{point}");
        assert_eq!(tagged_kinds(&moto), want_tagged, "{point}");
        let (code, out, err) =
            run(alpaka(root, &moto).args(["plan", "--detailed-exitcode", "--target", TARGET]));
        assert_eq!(code, 0, "{point}: not converged:\n{out}\n{err}");

        let (code, out, err) = run(alpaka(root, &moto).args(["destroy", "--auto-approve"]));
        assert_eq!(code, 0, "{point}: destroy failed:\n{out}\n{err}");
        assert_nothing_tagged(&moto, &point);
    }
}

#[test]
fn a_same_named_resource_alpaka_did_not_make_refuses_the_plan() {
    let moto = Moto::start();
    let ws = workspace();
    let root = ws.path();
    moto.helper(&["foreign-role", "alpaka-prod-cluster"]);
    let (code, out, err) = run(alpaka(root, &moto).args(["plan", "--target", TARGET]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("`iam.role.prod.cluster` cannot be created: IAM role `alpaka-prod-cluster` already exists"),
        "{err}"
    );
    assert!(err.contains("no alpaka.io/profile tag"), "{err}");
    assert!(err.contains("does not take over"), "{err}");
    // Nothing was changed, and apply refuses the same way before creating anything.
    moto.reset_calls();
    let (code, _, err) =
        run(alpaka(root, &moto).args(["apply", "--auto-approve", "--target", TARGET]));
    assert_eq!(code, 1, "{err}");
    let creates: Vec<_> = moto
        .calls()
        .into_iter()
        .filter(|(_, a, _)| a.starts_with("Create") || a.starts_with("POST "))
        .collect();
    assert_eq!(creates, vec![], "apply created something");
}

#[test]
fn destroy_orphans_deletes_what_a_killed_run_made_and_recorded_nowhere() {
    let moto = Moto::start();
    // A. Killed right after the first create: the VPC exists, no state records it.
    let ws = workspace();
    let root = ws.path();
    kill_right_after(root, &moto, "ec2", "CreateVpc");
    let (code, out, err) = run(alpaka(root, &moto).args(["destroy", "--auto-approve"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("Left behind:") && err.contains("vpc vpc-"),
        "{err}"
    );
    assert!(err.contains("alpaka destroy --orphans"), "{err}");
    let (code, out, err) =
        run(alpaka(root, &moto).args(["destroy", "--orphans", "--auto-approve"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(
            "aws.vpc.prod will be destroyed (tagged for this profile, recorded in no state)"
        ),
        "{out}"
    );
    assert_eq!(tagged_kinds(&moto), Vec::<String>::new());

    // B. Killed right after CreateNodegroup: everything else recorded. The orphaned nodegroup
    // goes first, then the cluster it runs in (EKS refuses to delete a cluster with nodegroups).
    let ws = workspace();
    let root = ws.path();
    kill_right_after(root, &moto, "eks", "POST /clusters/prod/node-groups");
    moto.reset_calls();
    let (code, out, err) =
        run(alpaka(root, &moto).args(["destroy", "--orphans", "--auto-approve"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("eks.nodegroup.prod.xlarge will be destroyed (tagged for this profile, recorded in no state)"),
        "{out}"
    );
    let calls = moto.calls();
    let ng = position(&calls, |s, a| {
        s == "eks" && a.starts_with("DELETE /clusters/prod/node-groups/")
    });
    let cluster = position(&calls, |s, a| s == "eks" && a == "DELETE /clusters/prod");
    assert!(
        !ng.is_empty() && !cluster.is_empty() && ng[0] < cluster[0],
        "{calls:?}"
    );
    assert_nothing_tagged(&moto, "after destroy --orphans");
}

#[test]
fn a_no_op_plan_reads_at_most_once_per_aws_resource() {
    let moto = Moto::start();
    let ws = workspace();
    let root = ws.path();
    apply_aws_layer(root, &moto);
    // Twice: the second plan also starts from a state whose outputs the first did not touch.
    for _ in 0..2 {
        moto.reset_calls();
        let plan = plan_json(root, &moto);
        assert_eq!(actions(&plan), vec![]);
        // Who applies (STS GetCallerIdentity, then IAM GetRole of the assumed role) is asked once
        // per plan to name the applier's access entry: not a read of a resource.
        let calls: Vec<_> = moto
            .calls()
            .into_iter()
            .filter(|(s, a, id)| {
                !(s == "sts" && a == "GetCallerIdentity"
                    || s == "iam" && a == "GetRole" && id == "alpaka-deployer")
            })
            .collect();
        let state = read_state(root);
        // The sweep is bookkeeping: it has nothing in AWS to read. An access entry takes two
        // reads, the entry (DescribeAccessEntry) and its policies (ListAssociatedAccessPolicies):
        // EKS has no call that returns both, so each counts twice.
        let resources = state["resources"]
            .as_object()
            .unwrap()
            .values()
            .filter(|r| r["kind"] != "aws.cluster-sweep")
            .map(|r| {
                if r["kind"] == "eks.access-entry" {
                    2
                } else {
                    1
                }
            })
            .sum::<usize>();
        let per = calls.len() as f64 / resources as f64;
        eprintln!(
            "no-op plan of the eks-prod AWS layer: {} requests for {resources} AWS resources \
             ({per:.2} per resource): {calls:?}",
            calls.len()
        );
        assert!(
            per <= 1.0,
            "{} requests for {resources}: {calls:?}",
            calls.len()
        );
    }
}

#[test]
fn every_listing_reads_every_page() {
    let moto = Moto::start();
    // One item a page: whatever reads only a first page misses the rest.
    moto.pages(1);
    let ws = workspace();
    let root = ws.path();
    apply_aws_layer(root, &moto);
    assert_eq!(actions(&plan_json(root, &moto)), vec![]);
    let recorded = read_state(root)["resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["kind"] != "aws.cluster-sweep")
        .count();
    let calls = moto.calls();
    assert!(
        calls
            .iter()
            .any(|(s, a, _)| s == "ec2" && a == "DescribeSubnets"),
        "{calls:?}"
    );

    // The state is lost: every resource is an orphan, found only by reading every page of every
    // listing (four subnets, two route tables, three roles, a nodegroup and an add-on listed
    // under their cluster, …).
    std::fs::remove_dir_all(root.join(".alpaka")).unwrap();
    let (code, out, err) =
        run(alpaka(root, &moto).args(["destroy", "--orphans", "--auto-approve"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let listed = out
        .matches("will be destroyed (tagged for this profile, recorded in no state)")
        .count();
    assert_eq!(listed, recorded, "{out}");
    assert_nothing_tagged(&moto, "after destroy --orphans, one item a page");
}

/// `UpdateClusterConfig` calls in the log (restJson: logged as method and path).
fn update_configs(calls: &[(String, String, String)]) -> usize {
    calls
        .iter()
        .filter(|(s, a, _)| s == "eks" && a == "POST /clusters/prod/update-config")
        .count()
}

/// Issue 20, the hardened control plane: private endpoint, public only from the listed CIDRs,
/// audit logs, admin through access entries (never the creator's bootstrap admin); a CIDR change
/// is one in-place UpdateClusterConfig; logging changed out of band is drift; a second team
/// member's apply adds their access and keeps the first one's; the encryption key can be added,
/// never changed.
#[test]
fn the_control_plane_is_private_logged_and_administered_through_access_entries() {
    let moto = Moto::start();
    let ws = workspace();
    let root = ws.path();
    apply_aws_layer(root, &moto);

    // What EKS says (boto3, not alpaka).
    let cp = moto.helper(&["control-plane", "prod"]);
    let vpc = &cp["resourcesVpcConfig"];
    assert_eq!(vpc["endpointPrivateAccess"], true, "{cp:#}");
    assert_eq!(
        vpc["publicAccessCidrs"],
        serde_json::json!([CIDR]),
        "{cp:#}"
    );
    let enabled: Vec<&str> = cp["logging"]["clusterLogging"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["enabled"] == true)
        .flat_map(|s| s["types"].as_array().unwrap().iter())
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(enabled, ["api", "audit", "authenticator"], "{cp:#}");
    assert_eq!(
        cp["accessConfig"]["bootstrapClusterCreatorAdminPermissions"], false,
        "{cp:#}"
    );
    // The applier's entry names its role (with the role's path), not the session.
    let admin = serde_json::json!([[ADMIN_POLICY, "cluster"]]);
    let entries = moto.helper(&["access-entries", "prod"]);
    assert_eq!(
        entries,
        serde_json::json!({ DEPLOYER: admin.clone(), ADMINS: admin.clone() }),
        "{entries:#}"
    );
    assert_eq!(actions(&plan_json(root, &moto)), vec![]);

    // A CIDR added: one in-place update of the cluster, one UpdateClusterConfig.
    edit_profile(
        root,
        &[(
            &format!("publicAccessCidrs: [\"{CIDR}\"]"),
            &format!("publicAccessCidrs: [\"{CIDR}\", \"198.51.100.0/24\"]"),
        )],
    );
    let planned = actions(&plan_json(root, &moto));
    assert_eq!(planned.len(), 1, "{planned:?}");
    let (id, action, _, fields) = &planned[0];
    assert_eq!(
        (id.as_str(), action.as_str()),
        ("eks.cluster.prod", "update")
    );
    assert!(
        !fields.is_empty() && fields.iter().all(|f| f.starts_with("public_access_cidrs")),
        "{planned:?}"
    );
    moto.reset_calls();
    apply_aws_layer(root, &moto);
    let calls = moto.calls();
    assert_eq!(update_configs(&calls), 1, "{calls:?}");
    assert_eq!(
        moto.helper(&["control-plane", "prod"])["resourcesVpcConfig"]["publicAccessCidrs"],
        serde_json::json!([CIDR, "198.51.100.0/24"])
    );
    assert_eq!(actions(&plan_json(root, &moto)), vec![]);

    // Logging turned down out of band: drift the plan shows, one call puts it back.
    moto.helper(&["set-logging", "prod", "api"]);
    let planned = actions(&plan_json(root, &moto));
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert_eq!(planned[0].0, "eks.cluster.prod", "{planned:?}");
    assert_eq!(planned[0].1, "update", "{planned:?}");
    assert!(
        planned[0].3.iter().all(|f| f.starts_with("logging")),
        "{planned:?}"
    );
    moto.reset_calls();
    apply_aws_layer(root, &moto);
    assert_eq!(update_configs(&moto.calls()), 1);
    assert_eq!(actions(&plan_json(root, &moto)), vec![]);

    // A second team member applies: their own entry is added, the first one's stays.
    let other = moto.helper(&["principal", "ops", "alpaka-other", "bob"]);
    let as_other = |args: &[&str]| {
        let mut c = alpaka_process(root, &moto);
        c.env(
            "AWS_ACCESS_KEY_ID",
            other["access_key_id"].as_str().unwrap(),
        )
        .env(
            "AWS_SECRET_ACCESS_KEY",
            other["secret_access_key"].as_str().unwrap(),
        )
        .env(
            "AWS_SESSION_TOKEN",
            other["session_token"].as_str().unwrap(),
        )
        .args(args);
        run(&mut Command::from_std(c))
    };
    let (code, out, err) = as_other(&["plan", "--json", "--target", TARGET]);
    assert_eq!(code, 0, "{out}\n{err}");
    let planned = actions(&serde_json::from_str(&out).unwrap());
    assert_eq!(
        planned,
        vec![(
            "eks.access-entry.prod.role/ops/alpaka-other".to_owned(),
            "create".to_owned(),
            String::new(),
            vec![]
        )],
        "{planned:?}"
    );
    let (code, out, err) = as_other(&["apply", "--auto-approve", "--target", TARGET]);
    assert_eq!(code, 0, "{out}\n{err}");
    let entries = moto.helper(&["access-entries", "prod"]);
    assert_eq!(entries.as_object().unwrap().len(), 3, "{entries:#}");
    // And the first one's next plan keeps the second's.
    assert_eq!(actions(&plan_json(root, &moto)), vec![]);

    // A customer-managed key: added in place; changing it is refused at plan time.
    let key = "arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    edit_profile(
        root,
        &[("admins: [", &format!("kmsKeyArn: {key}\n  admins: ["))],
    );
    moto.reset_calls();
    apply_aws_layer(root, &moto);
    assert_eq!(
        calls_to(
            &moto.calls(),
            "eks",
            "POST /clusters/prod/encryption-config/associate"
        ),
        1
    );
    assert_eq!(
        moto.helper(&["control-plane", "prod"])["encryptionConfig"][0]["provider"]["keyArn"],
        key
    );
    edit_profile(root, &[(key, &key.replace("1234abcd", "9999abcd"))]);
    let (code, out, err) = run(alpaka(root, &moto).args(["plan", "--target", TARGET]));
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("eks.kmsKeyArn") && err.contains("can neither change"),
        "{err}"
    );
}

/// alpaka must reach the endpoint it configures: public access off (a VPC alpaka makes, which
/// this machine is not in), or this machine's address outside the CIDRs, is refused at plan
/// time naming the address and the key; `--refresh=false` only warns.
#[test]
fn a_plan_whose_endpoint_this_machine_cannot_reach_is_refused_with_the_fix() {
    let moto = Moto::start();
    let ws = workspace();
    let root = ws.path();
    edit_profile(
        root,
        &[(
            &format!("publicAccessCidrs: [\"{CIDR}\"]"),
            "publicAccessCidrs: [\"198.51.100.0/24\"]",
        )],
    );
    let (code, out, err) = run(alpaka(root, &moto).args(["plan"]));
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains(EGRESS)
            && err.contains("eks.endpoint.publicAccessCidrs")
            && err.contains(&format!("{EGRESS}/32")),
        "{err}"
    );
    edit_profile(
        root,
        &[(
            "publicAccessCidrs: [\"198.51.100.0/24\"]",
            "publicAccessCidrs: []",
        )],
    );
    let (code, out, err) = run(alpaka(root, &moto).args(["plan"]));
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("private only") && err.contains(&format!("{EGRESS}/32")),
        "{err}"
    );
    let (code, out, err) = run(alpaka(root, &moto).args(["plan", "--refresh=false"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains("warning:") && err.contains("private only"),
        "{err}"
    );
    // doctor says the same, as a failed check.
    let (code, out, _) = run(alpaka(root, &moto).args(["doctor"]));
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("eks endpoint") && out.contains(EGRESS),
        "{out}"
    );
}

/// Issue 21 item 5: eks-prod's S3 sink Connect type (`sinkcon`) gets an IRSA role. Read back
/// from moto's IAM (boto3 GetRole), its trust names exactly the workers' ServiceAccount through
/// the cluster's OIDC provider; its own policy is the shipped document. Destroy removes it, and
/// one a killed run left unrecorded is found by its tags and removed by `destroy --orphans`.
#[test]
fn the_s3_sink_connects_irsa_role_trusts_exactly_its_service_account() {
    const ROLE: &str = "iam.role.prod.connect-sinkcon";
    const POLICY: &str = "iam.policy.prod.connect-sinkcon";
    let moto = Moto::start();
    let ws = workspace();
    let root = ws.path();
    let apply_role = |root: &Path| {
        let (code, out, err) =
            run(alpaka(root, &moto).args(["apply", "--auto-approve", "--target", ROLE]));
        assert_eq!(code, 0, "apply failed:\n{out}\n{err}");
    };
    apply_role(root);
    let state = read_state(root);
    let res = &state["resources"];
    let oidc = &res["iam.oidc.prod"]["outputs"];
    let issuer = oidc["issuer"]
        .as_str()
        .unwrap()
        .trim_start_matches("https://");
    let policy_arn = res[POLICY]["outputs"]["arn"].as_str().unwrap();
    let live = moto.helper(&["role-trust", "alpaka-prod-connect-sinkcon"]);
    assert_eq!(live["arn"], res[ROLE]["outputs"]["arn"]);
    assert_eq!(
        live["trust"],
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": oidc["arn"]},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    format!("{issuer}:sub"): "system:serviceaccount:alpaka:sinkcon-connect",
                    format!("{issuer}:aud"): "sts.amazonaws.com",
                }},
            }],
        }),
        "{live}"
    );
    assert_eq!(live["policies"], serde_json::json!([policy_arn]));
    let shipped: Json = serde_json::from_str(
        &std::fs::read_to_string(repo().join("policies/connect-s3-sink.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(moto.helper(&["policy-document", policy_arn]), shipped);
    let tagged = moto.helper(&["list-tagged", "eks-prod"]).to_string();
    assert!(
        tagged.contains("role alpaka-prod-connect-sinkcon"),
        "{tagged}"
    );
    assert!(tagged.contains(&format!("policy {policy_arn}")), "{tagged}");
    let ids = moto.helper(&["ids", "eks-prod"]).to_string();
    assert!(ids.contains(ROLE) && ids.contains(POLICY), "{ids}");

    // Nothing to change on a second plan (the user's document reads back as itself).
    let (code, out, err) = run(alpaka(root, &moto).args(["plan", "--json", "--target", ROLE]));
    assert_eq!(code, 0, "{out}\n{err}");
    let plan: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(actions(&plan), vec![], "second plan is not empty");

    // An edit of the policy file is a change of that policy only.
    let file = root.join("policies/connect-s3-sink.json");
    let edited = std::fs::read_to_string(&file)
        .unwrap()
        .replace("alpaka-prod-sink", "acme-sink");
    std::fs::write(&file, edited).unwrap();
    let (code, out, err) = run(alpaka(root, &moto).args(["plan", "--json", "--target", ROLE]));
    assert_eq!(code, 0, "{out}\n{err}");
    let changed: Vec<(String, String)> = actions(&serde_json::from_str(&out).unwrap())
        .into_iter()
        .map(|(id, action, _, fields)| (id, format!("{action} {fields:?}")))
        .collect();
    assert_eq!(
        changed,
        vec![(POLICY.to_owned(), "update [\"document\"]".to_owned())]
    );
    apply_role(root);
    let doc = moto.helper(&["policy-document", policy_arn]).to_string();
    assert!(doc.contains("arn:aws:s3:::acme-sink/*"), "{doc}");

    // Destroy removes the role and its policy with everything else.
    let (code, out, err) = run(alpaka(root, &moto).args(["destroy", "--auto-approve"]));
    assert_eq!(code, 0, "destroy failed:\n{out}\n{err}");
    assert_nothing_tagged(&moto, "after destroy");

    // A run that made the role and its policy but recorded neither (killed before the state
    // write): plain destroy names them; `--orphans` finds them by their tags and removes them.
    let ws = workspace();
    let root = ws.path();
    apply_role(root);
    let path = root.join(".alpaka/eks-prod.state.json");
    let mut state = read_state(root);
    let resources = state["resources"].as_object_mut().unwrap();
    resources.remove(ROLE).unwrap();
    resources.remove(POLICY).unwrap();
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
    let (code, out, err) = run(alpaka(root, &moto).args(["destroy", "--auto-approve"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("role alpaka-prod-connect-sinkcon"), "{err}");
    assert!(err.contains("alpaka destroy --orphans"), "{err}");
    let (code, out, err) =
        run(alpaka(root, &moto).args(["destroy", "--orphans", "--auto-approve"]));
    assert_eq!(code, 0, "{out}\n{err}");
    for id in [ROLE, POLICY] {
        assert!(
            out.contains(&format!(
                "{id} will be destroyed (tagged for this profile, recorded in no state)"
            )),
            "{id}: {out}"
        );
    }
    assert_nothing_tagged(&moto, "after destroy --orphans");
}

/// Creates that take no idempotency token, and two that do (`ClientToken`), as issue 24 names
/// them: the first of each in an apply is answered 500 (or its connection dropped) after it took
/// effect.
const LOST_ANSWER_CALLS: [(&str, &str); 15] = [
    ("ec2", "CreateVpc"),
    ("ec2", "CreateSubnet"),
    ("ec2", "AllocateAddress"),
    ("ec2", "CreateInternetGateway"),
    ("iam", "CreateRole"),
    ("iam", "CreatePolicy"),
    ("iam", "CreateOpenIDConnectProvider"),
    ("ec2", "CreateRouteTable"),
    ("ec2", "CreateNatGateway"),
    ("ec2", "CreateLaunchTemplate"),
    ("ec2", "CreateSecurityGroup"),
    ("ec2", "CreateVpcEndpoint"),
    ("eks", "POST /clusters"),
    ("eks", "POST /clusters/prod/node-groups"),
    ("eks", "POST /clusters/prod/access-entries"),
];

/// How many calls of `service` `action` took effect and then lost their answer.
fn lost_answers(moto: &Moto, service: &str, action: &str) -> usize {
    let calls: Json = serde_json::from_str(&moto.http("GET", "/_alpaka/calls").unwrap()).unwrap();
    calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["service"] == service && c["action"] == action)
        .filter(|c| c.get("took_effect").is_some())
        .count()
}

#[test]
fn a_create_whose_answer_is_lost_after_it_took_effect_is_made_exactly_once() {
    let moto = Moto::start();
    for drop in [false, true] {
        let how = if drop {
            "connection dropped"
        } else {
            "500 after effect"
        };
        moto.reset_calls();
        let rules: Vec<Json> = LOST_ANSWER_CALLS
            .iter()
            .map(|(s, a)| serde_json::json!({"service": s, "action": a, "after": true, "drop": drop, "times": 1}))
            .collect();
        moto.faults(Json::Array(rules));
        let ws = workspace();
        let root = ws.path();
        // With the VPC endpoints too (CreateSecurityGroup, CreateVpcEndpoint).
        edit_profile(
            root,
            &[(
                "natGateway: single",
                "natGateway: single\n    endpoints: true",
            )],
        );
        let (code, out, err) = run(alpaka(root, &moto).args([
            "apply",
            "--auto-approve",
            "--target",
            TARGET,
            // With its own policy (CreatePolicy).
            "--target",
            "iam.role.prod.connect-sinkcon",
        ]));
        assert_eq!(code, 0, "{how}: the apply failed:\n{out}\n{err}");
        for (service, action) in LOST_ANSWER_CALLS {
            assert_eq!(
                lost_answers(&moto, service, action),
                1,
                "{how}: {service} {action} never lost its answer: {:?}",
                moto.calls()
            );
        }
        // Exactly one of each resource in AWS: no alpaka.io/id twice.
        let ids = moto.helper(&["ids", "eks-prod"]);
        let mut seen = std::collections::BTreeMap::new();
        for (aws, id) in ids.as_object().unwrap() {
            seen.entry(id.as_str().unwrap_or("?").to_owned())
                .or_insert_with(Vec::new)
                .push(aws.clone());
        }
        let twice: Vec<_> = seen.iter().filter(|(_, v)| v.len() > 1).collect();
        assert!(twice.is_empty(), "{how}: made twice: {twice:?}");
        let recorded = read_state(root)["resources"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>();
        for id in seen.keys() {
            assert!(recorded.contains(id), "{how}: {id} is in AWS, not in state");
        }
        moto.faults(serde_json::json!([]));
        let (code, out, err) = run(alpaka(root, &moto).args([
            "plan",
            "--detailed-exitcode",
            "--target",
            TARGET,
            "--target",
            "iam.role.prod.connect-sinkcon",
        ]));
        assert_eq!(code, 0, "{how}: not converged:\n{out}\n{err}");
        if !drop {
            two_vpcs_with_one_id_are_named_and_the_extra_removed(root, &moto);
        }
        let (code, out, err) = run(alpaka(root, &moto).args(["destroy", "--auto-approve"]));
        assert_eq!(code, 0, "{how}: destroy failed:\n{out}\n{err}");
        assert_nothing_tagged(&moto, how);
    }
}

/// What a create carried out twice leaves (a second VPC with the first one's `alpaka.io/id`,
/// as alpaka before issue 24 made): the plan names both, and `destroy --orphans --target` the
/// extra removes it and nothing else.
fn two_vpcs_with_one_id_are_named_and_the_extra_removed(root: &Path, moto: &Moto) {
    let recorded = read_state(root)["resources"]["aws.vpc.prod"]["outputs"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let extra = moto.helper(&["duplicate-vpc", "eks-prod", "aws.vpc.prod"]);
    let extra = extra.as_str().unwrap();
    moto.reset_calls();
    let plan = plan_json(root, moto);
    let reads = moto.calls().len();
    assert_eq!(actions(&plan), vec![], "{plan}");
    assert_eq!(
        plan["duplicates"],
        serde_json::json!([{"id": "aws.vpc.prod", "recorded": recorded, "others": [extra]}]),
        "{plan}"
    );
    let (code, out, err) = run(alpaka(root, moto).args(["plan", "--target", TARGET]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "aws.vpc.prod is {recorded} in state; also carrying its id: {extra}"
        )) && out.contains(&format!("--target 'aws.vpc.prod~{extra}'")),
        "{out}"
    );
    let target = format!("aws.vpc.prod~{extra}");
    let (code, out, err) = run(alpaka(root, moto).args([
        "destroy",
        "--orphans",
        "--auto-approve",
        "--target",
        &target,
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let ids = moto.helper(&["ids", "eks-prod"]);
    assert!(!ids.to_string().contains(extra), "{ids}");
    assert!(ids.to_string().contains(&recorded), "{ids}");
    moto.reset_calls();
    let plan = plan_json(root, moto);
    assert_eq!(actions(&plan), vec![], "{plan}");
    assert!(plan.get("duplicates").is_none(), "{plan}");
    // Reading by identity costs what reading by id did.
    assert_eq!(moto.calls().len(), reads, "{:?}", moto.calls());
}
