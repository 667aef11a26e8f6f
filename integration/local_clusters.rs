//! Local clusters end to end: the real binary against recording fakes of minikube, k3d, docker
//! and helm (`integration/fakes/`) on PATH, and the real control plane
//! (`integration/controlplane/`) as an existing cluster. Each test has its own workspace, fake
//! state and argument log; PATH holds only the fakes a test asks for.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

#[path = "controlplane.rs"]
mod controlplane;
use controlplane::{ControlPlane, Strimzi};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is needed by the fakes");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A workspace (shipped profiles and configs) plus a bin/ with the chosen fakes.
struct World {
    dir: TempDir,
}

impl World {
    fn new(tools: &[&str]) -> World {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["profiles", "configs", "policies"] {
            let from = repo().join(sub);
            if !from.exists() {
                continue;
            }
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            for e in std::fs::read_dir(&from).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
            }
        }
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let py = python();
        for t in tools {
            // A wrapper with absolute paths, so PATH can hold nothing but the fakes.
            let script = repo().join("integration/fakes").join(t);
            let p = bin.join(t);
            std::fs::write(
                &p,
                format!("#!/bin/sh\nexec '{py}' '{}' \"$@\"\n", script.display()),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        World { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn log_path(&self) -> PathBuf {
        self.root().join("fake.log")
    }

    fn alpaka(&self) -> Command {
        let mut c = Command::cargo_bin("alpaka").unwrap();
        self.env(&mut c);
        c
    }

    /// Call a fake directly (as a user would, e.g. `k3d cluster stop`).
    fn fake(&self, tool: &str, args: &[&str]) {
        let mut c = Command::new(self.root().join("bin").join(tool));
        self.env(&mut c);
        c.args(args).assert().success();
    }

    /// A fake's JSON output, read as alpaka's drivers read the real tool's.
    fn fake_json(&self, tool: &str, args: &[&str]) -> serde_json::Value {
        let mut c = Command::new(self.root().join("bin").join(tool));
        self.env(&mut c);
        let out = c.args(args).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn env(&self, c: &mut Command) {
        c.env("ALPAKA_ROOT", self.root())
            .env_remove("ALPAKA_PROFILE")
            .env_remove("KUBECONFIG")
            .env_remove("K3D_FIX_DNS")
            .env("HOME", self.root())
            .env("NO_COLOR", "1")
            .env("PATH", self.root().join("bin"))
            .env("ALPAKA_FAKE_LOG", self.log_path())
            .env("ALPAKA_FAKE_STATE", self.root().join("fake-state"))
            .current_dir(self.root());
    }

    /// Log lines since the last call.
    fn take_log(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let _ = std::fs::remove_file(self.log_path());
        text.lines().map(str::to_owned).collect()
    }

    fn edit_profile(&self, name: &str, from: &str, to: &str) {
        let p = self.root().join("profiles").join(format!("{name}.yaml"));
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{from} not in {name}.yaml");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    }

    fn write_profile(&self, name: &str, text: &str) {
        std::fs::write(
            self.root().join("profiles").join(format!("{name}.yaml")),
            text,
        )
        .unwrap();
    }

    fn state_json(&self, profile: &str) -> serde_json::Value {
        let p = self.root().join(format!(".alpaka/{profile}.state.json"));
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    }

    /// Run, return (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_with(args, &[])
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut c = self.alpaka();
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn ok(r: (i32, String, String)) -> String {
    assert_eq!(r.0, 0, "--- stdout\n{}\n--- stderr\n{}", r.1, r.2);
    r.1
}

const K3D: &[&str] = &["--profile", "k3d", "--target", "k3d.cluster.k3d"];
const MINIKUBE: &[&str] = &[
    "--profile",
    "minikube",
    "--target",
    "minikube.cluster.minikube",
];

fn cmd<'a>(verb: &'a [&'a str], scope: &'a [&'a str]) -> Vec<&'a str> {
    verb.iter().chain(scope).copied().collect()
}

#[test]
fn k3d_create_plan_drift_replace_destroy() {
    let w = World::new(&["k3d", "docker", "helm"]);
    ok(w.run(&cmd(&["apply", "--auto-approve"], K3D)));
    let log = w.take_log();
    assert!(
        log.contains(
            &"K3D_FIX_DNS=1 k3d cluster create alpaka-k3d --servers 1 --agents 2 \
              --agents-memory 8g --image rancher/k3s:v1.34.1-k3s1 -p 80:80@loadbalancer \
              --k3s-node-label alpaka/node-type=infra@agent:0 \
              --k3s-node-label alpaka/node-type=worker@agent:1 \
              --kubeconfig-update-default --kubeconfig-switch-context=false --wait"
                .to_owned()
        ),
        "{log:#?}"
    );
    let st = w.state_json("k3d");
    let outputs = &st["resources"]["k3d.cluster.k3d"]["outputs"];
    assert_eq!(outputs["context"], "k3d-alpaka-k3d");
    assert_eq!(
        outputs["kubeconfig"],
        w.root().join(".kube/config").display().to_string()
    );

    // What k3d v5.8.3 reports for that cluster (see integration/fakes/k3d): the image as the
    // container's image ID, the limit as HumanSize of 8 GiB, no k3sNodeLabels (the labels are in
    // each node's Cmd), user ports bound on HostIp "".
    let list = w.fake_json("k3d", &["cluster", "list", "-o", "json"]);
    w.take_log();
    let nodes = list[0]["nodes"].as_array().unwrap();
    let agent = nodes
        .iter()
        .find(|n| n["name"] == "k3d-alpaka-k3d-agent-0")
        .unwrap();
    assert!(
        agent["image"].as_str().unwrap().starts_with("sha256:"),
        "{agent}"
    );
    assert_eq!(agent["Memory"], "8.59GB");
    assert!(agent.get("k3sNodeLabels").is_none(), "{agent}");
    assert_eq!(
        agent["Cmd"],
        serde_json::json!(["agent", "--node-label", "alpaka/node-type=infra"])
    );
    let lb = nodes.iter().find(|n| n["role"] == "loadbalancer").unwrap();
    assert_eq!(
        lb["portMappings"]["80/tcp"],
        serde_json::json!([{"HostIp": "", "HostPort": "80"}])
    );

    // Unchanged: no changes, exit 0, and only reads. (The second apply of a real cluster must
    // not replace it: nothing above is compared as alpaka wrote it.)
    ok(w.run(&cmd(&["plan", "--detailed-exitcode"], K3D)));
    assert_eq!(w.take_log(), ["k3d cluster list -o json"]);
    let out = ok(w.run(&cmd(&["apply", "--auto-approve"], K3D)));
    assert!(out.contains("No changes."), "{out}");
    assert_eq!(w.take_log(), ["k3d cluster list -o json"]);

    // A size change is a replacement that says it wipes the cluster.
    w.edit_profile("k3d", "agentMemory: 8g", "agentMemory: 4g");
    let (code, out, _) = w.run(&cmd(&["plan", "--detailed-exitcode"], K3D));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("-/+ k3d.cluster.k3d (k3d.cluster)"), "{out}");
    assert!(
        out.contains(r#"agent_memory = "8g" -> "4g" # forces replacement"#),
        "{out}"
    );
    assert!(
        out.contains("! warning: k3d cannot reshape a cluster: the replacement deletes it and everything in it"),
        "{out}"
    );
    w.edit_profile("k3d", "agentMemory: 4g", "agentMemory: 8g");

    // Stopped outside alpaka: drift on `state`, fixed in place by a start.
    w.fake("k3d", &["cluster", "stop", "alpaka-k3d"]);
    let (code, out, _) = w.run(&cmd(&["plan", "--detailed-exitcode"], K3D));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("changed outside alpaka and will be updated in-place"),
        "{out}"
    );
    assert!(out.contains(r#"state = "Stopped" -> "Running""#), "{out}");
    w.take_log();
    ok(w.run(&cmd(&["apply", "--auto-approve"], K3D)));
    assert!(
        w.take_log()
            .contains(&"k3d cluster start alpaka-k3d --wait".to_owned())
    );
    ok(w.run(&cmd(&["plan", "--detailed-exitcode"], K3D)));

    // Made again outside alpaka with another limit and the labels swapped: both seen (as k3d
    // reports them), a replacement.
    w.fake("k3d", &["cluster", "delete", "alpaka-k3d"]);
    w.fake(
        "k3d",
        &[
            "cluster",
            "create",
            "alpaka-k3d",
            "--servers",
            "1",
            "--agents",
            "2",
            "--agents-memory",
            "4g",
            "--image",
            "rancher/k3s:v1.34.1-k3s1",
            "-p",
            "80:80@loadbalancer",
            "--k3s-node-label",
            "alpaka/node-type=worker@agent:0",
            "--k3s-node-label",
            "alpaka/node-type=infra@agent:1",
        ],
    );
    let (code, out, _) = w.run(&cmd(&["plan", "--detailed-exitcode"], K3D));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("-/+ k3d.cluster.k3d (k3d.cluster)"), "{out}");
    assert!(
        out.contains(r#"agent_memory = "4.295GB" -> "8g" # forces replacement"#),
        "{out}"
    );
    assert!(
        out.contains(
            r#"agent_labels = [{alpaka/node-type = "worker"}, {alpaka/node-type = "infra"}] -> [{alpaka/node-type = "infra"}, {alpaka/node-type = "worker"}] # forces replacement"#
        ),
        "{out}"
    );
    ok(w.run(&cmd(&["apply", "--auto-approve"], K3D)));
    ok(w.run(&cmd(&["plan", "--detailed-exitcode"], K3D)));

    // Destroy deletes the cluster and empties the state.
    w.take_log();
    ok(w.run(&["destroy", "--auto-approve", "--profile", "k3d"]));
    assert!(
        w.take_log()
            .contains(&"k3d cluster delete alpaka-k3d".to_owned())
    );
    assert_eq!(w.state_json("k3d")["resources"], serde_json::json!({}));
    // Deleted out of band is success too (idempotent delete), and plan wants it again.
    let (code, out, _) = w.run(&cmd(&["plan", "--detailed-exitcode"], K3D));
    assert_eq!(code, 2, "{out}");
}

#[test]
fn minikube_create_plan_resize_stop_destroy() {
    let w = World::new(&["minikube", "docker", "helm"]);
    ok(w.run(&cmd(&["apply", "--auto-approve"], MINIKUBE)));
    let log = w.take_log();
    assert!(
        log.contains(
            &"minikube start -p alpaka-minikube --driver=docker --cpus=4 --memory=10g \
              --disk-size=40g --kubernetes-version=v1.34.0 --addons=ingress \
              --addons=metrics-server --keep-context"
                .to_owned()
        ),
        "{log:#?}"
    );
    let st = w.state_json("minikube");
    assert_eq!(
        st["resources"]["minikube.cluster.minikube"]["outputs"]["context"],
        "alpaka-minikube"
    );

    // minikube v1.37.0 reports 10240 MiB and 40960 MiB and a running cluster as `OK` (see
    // integration/fakes/minikube): still "10g"/"40g" and Running, no changes; so too with
    // v1.34's `Running`.
    let list = w.fake_json("minikube", &["profile", "list", "-o", "json"]);
    let p = &list["valid"][0];
    assert_eq!(p["Status"], "OK");
    assert_eq!(
        (&p["Config"]["Memory"], &p["Config"]["DiskSize"]),
        (&serde_json::json!(10240), &serde_json::json!(40960))
    );
    ok(w.run(&cmd(&["plan", "--detailed-exitcode"], MINIKUBE)));
    ok(w.run_with(
        &cmd(&["plan", "--detailed-exitcode"], MINIKUBE),
        &[("FAKE_MINIKUBE_VERSION", "v1.34.0")],
    ));

    // Memory change: replace, with the wipe warning; applying it deletes then starts.
    w.edit_profile("minikube", "memory: 10g", "memory: 12g");
    let (code, out, _) = w.run(&cmd(&["plan", "--detailed-exitcode"], MINIKUBE));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(r#"memory = "10g" -> "12g" # forces replacement"#),
        "{out}"
    );
    assert!(
        out.contains("! warning: minikube cannot resize a cluster"),
        "{out}"
    );
    w.take_log();
    ok(w.run(&cmd(&["apply", "--auto-approve"], MINIKUBE)));
    let log = w.take_log();
    let del = log
        .iter()
        .position(|l| l == "minikube delete -p alpaka-minikube");
    let start = log
        .iter()
        .position(|l| l.contains("minikube start") && l.contains("--memory=12g"));
    assert!(
        matches!((del, start), (Some(d), Some(s)) if d < s),
        "{log:#?}"
    );
    ok(w.run(&cmd(&["plan", "--detailed-exitcode"], MINIKUBE)));

    // Stopped outside alpaka.
    w.fake("minikube", &["stop", "-p", "alpaka-minikube"]);
    let (code, out, _) = w.run(&cmd(&["plan", "--detailed-exitcode"], MINIKUBE));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(r#"state = "Stopped" -> "Running""#), "{out}");
    ok(w.run(&cmd(&["apply", "--auto-approve"], MINIKUBE)));
    ok(w.run(&cmd(&["plan", "--detailed-exitcode"], MINIKUBE)));

    w.take_log();
    ok(w.run(&["destroy", "--auto-approve", "--profile", "minikube"]));
    assert!(
        w.take_log()
            .contains(&"minikube delete -p alpaka-minikube".to_owned())
    );
    assert_eq!(w.state_json("minikube")["resources"], serde_json::json!({}));
}

#[test]
fn a_failing_tool_names_the_command_and_its_stderr() {
    let w = World::new(&["minikube"]);
    let (code, out, _) = w.run_with(
        &cmd(&["apply", "--auto-approve"], MINIKUBE),
        &[("ALPAKA_FAKE_FAIL", "minikube start")],
    );
    assert_eq!(code, 1);
    assert!(out.contains("`minikube start -p alpaka-minikube"), "{out}");
    assert!(out.contains("exit 1"), "{out}");
    assert!(out.contains("something went wrong"), "{out}");
}

/// The identity of a real control plane: its kube-system namespace's UID and its version.
fn identity(cp: &ControlPlane) -> (String, String) {
    let ns = cp.get(&["namespace", "kube-system"]).unwrap();
    let (code, out, err) = cp.kubectl(&["version", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    (
        ns["metadata"]["uid"].as_str().unwrap().to_owned(),
        v["serverVersion"]["gitVersion"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

#[test]
fn existing_cluster_is_recorded_and_a_context_mismatch_refuses_to_plan() {
    let w = World::new(&["helm"]);
    let a = ControlPlane::start(Strimzi::V1);
    let kubeconfig = w.root().join("kubeconfig.yaml");
    a.write_kubeconfig(&kubeconfig, "k3s-test", false);
    let (uid_a, version) = identity(&a);
    // No context in the profile: the kubeconfig's current one is resolved once and recorded.
    w.write_profile(
        "k3s-test",
        &format!(
            "distribution: k3s\nk3s:\n  kubeconfig: {}\n",
            kubeconfig.display()
        ),
    );
    let scope: &[&str] = &["--profile", "k3s-test", "--target", "k8s.cluster.k3s-test"];
    ok(w.run(&cmd(&["apply", "--auto-approve"], scope)));
    let st = w.state_json("k3s-test");
    let outputs = &st["resources"]["k8s.cluster.k3s-test"]["outputs"];
    assert_eq!(outputs["context"], "k3s-test");
    // A control plane built from the Go modules with no distribution suffix and KWOK nodes
    // (`type: kwok`): nothing says k3s, so it is recorded as what the server says.
    let distribution = outputs["distribution"].as_str().unwrap().to_owned();
    assert_eq!(outputs["server_version"], version.as_str());
    assert_eq!(outputs["kube_system_uid"], uid_a.as_str());
    ok(w.run(&cmd(&["plan", "--detailed-exitcode"], scope)));

    // The same context now reaches another cluster: plan fails, naming both UIDs.
    let b = ControlPlane::start(Strimzi::V1);
    b.write_kubeconfig(&kubeconfig, "k3s-test", false);
    let (uid_b, _) = identity(&b);
    assert_ne!(uid_a, uid_b);
    let (code, _, err) = w.run(&cmd(&["plan"], scope));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("context `k3s-test`"), "{err}");
    assert!(
        err.contains(&format!(
            "kube-system UID {uid_b} where alpaka recorded {uid_a}"
        )),
        "{err}"
    );
    assert!(err.contains("ContextMismatch"), "{err}");
    drop(b);

    // Destroy forgets the cluster; it never deletes it (the API still answers).
    a.write_kubeconfig(&kubeconfig, "k3s-test", false);
    ok(w.run(&["destroy", "--auto-approve", "--profile", "k3s-test"]));
    assert_eq!(w.state_json("k3s-test")["resources"], serde_json::json!({}));
    assert!(a.get(&["namespace", "kube-system"]).is_some());
    let (code, out, _) = w.run(&["doctor", "--profile", "k3s-test"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "✓ cluster            context `k3s-test` reaches {distribution} {version}"
        )),
        "{out}"
    );
}

#[test]
fn unreachable_existing_cluster_fails_with_the_context() {
    let w = World::new(&["helm"]);
    let kubeconfig = w.root().join("kubeconfig.yaml");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters:\n- name: gone\n  cluster: {server: 'http://127.0.0.1:9'}\nusers:\n- name: gone\n  user: {}\ncontexts:\n- name: gone\n  context: {cluster: gone, user: gone}\n",
    )
    .unwrap();
    w.write_profile(
        "k3s-gone",
        &format!(
            "distribution: k3s\nk3s:\n  kubeconfig: {}\n  context: gone\n",
            kubeconfig.display()
        ),
    );
    let (code, out, _) = w.run(&[
        "apply",
        "--auto-approve",
        "--profile",
        "k3s-gone",
        "--target",
        "k8s.cluster.k3s-gone",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("cannot reach the cluster of context `gone`"),
        "{out}"
    );
}

// ---- doctor ----

fn small_k3d(w: &World) {
    w.edit_profile("k3d", "agentMemory: 8g", "agentMemory: 256m");
}

#[test]
fn doctor_all_good() {
    let w = World::new(&["k3d", "docker", "helm"]);
    small_k3d(&w);
    let (code, out, _) = w.run(&["doctor", "--profile", "k3d"]);
    assert_eq!(code, 0, "{out}");
    for line in [
        "✓ docker             v27.3.1",
        "✓ k3d                v5.8.3",
        "✓ helm               v3.17.3",
        "✓ docker daemon      running, v27.3.1",
        "✓ memory             profile asks 0.5 GiB",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
}

#[test]
fn doctor_missing_tool() {
    let w = World::new(&["docker", "helm"]);
    let (code, out, _) = w.run(&["doctor", "--profile", "minikube"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("✗ minikube           not found on PATH — fix: install minikube ≥ 1.37.0: https://minikube.sigs.k8s.io/docs/start/"),
        "{out}"
    );
    assert!(out.contains("1 check(s) failed"), "{out}");
}

#[test]
fn doctor_old_tools_and_a_stopped_daemon() {
    let w = World::new(&["k3d", "docker", "helm"]);
    small_k3d(&w);
    let (code, out, _) = w.run_with(
        &["doctor", "--profile", "k3d"],
        &[
            ("FAKE_K3D_VERSION", "v5.4.6"),
            ("FAKE_HELM_VERSION", "v3.12.3"),
            ("FAKE_DOCKER_DAEMON", "down"),
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("✗ k3d                v5.4.6 (older than 5.6.0) — fix: upgrade k3d to ≥ 5.6.0: https://k3d.io"),
        "{out}"
    );
    assert!(
        out.contains("✗ helm               v3.12.3 (older than 3.13.0)"),
        "{out}"
    );
    assert!(
        out.contains("✗ docker daemon      not reachable: Cannot connect to the Docker daemon"),
        "{out}"
    );
    // helm 4 is accepted.
    let (_, out, _) = w.run_with(
        &["doctor", "--profile", "k3d"],
        &[("FAKE_HELM_VERSION", "v4.1.4")],
    );
    assert!(out.contains("✓ helm               v4.1.4"), "{out}");
}

#[test]
fn doctor_eks_without_credentials() {
    let w = World::new(&["helm"]);
    let (code, out, _) = w.run_with(
        &["doctor", "--profile", "eks-dev"],
        &[
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/nonexistent/config"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("✗ aws credentials    no usable credentials — fix: configure AWS credentials"),
        "{out}"
    );
}

#[test]
fn plan_warns_about_an_old_tool_without_failing() {
    let w = World::new(&["k3d", "docker", "helm"]);
    let (code, _, err) = w.run_with(&cmd(&["plan"], K3D), &[("FAKE_K3D_VERSION", "v5.4.6")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "Warning: apply needs k3d: v5.4.6 (older than 5.6.0) — fix: upgrade k3d to ≥ 5.6.0"
        ),
        "{err}"
    );
}

/// A fake run directly: exit code, stdout, stderr.
fn fake_run(w: &World, tool: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(w.root().join("bin").join(tool));
    w.env(&mut c);
    let out = c.args(args).envs(env.iter().copied()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Each fake refuses a flag its real tool does not define, with that tool's message and exit
/// code (issue 24 item 2; the flag tables and the wording are cited in `integration/fakes/`),
/// and nothing is made; the tools' global flags are taken where the tools take them.
#[test]
fn fakes_refuse_flags_their_tool_does_not_define() {
    let w = World::new(&["k3d", "minikube", "docker", "helm"]);
    let helm_ctx = ["-n", "ns", "--kube-context", "c", "--kubeconfig", "k"];

    // k3d v5.8.3: cobra's error and usage, then logrus' fatal line; exit 1.
    let (code, out, err) = fake_run(
        &w,
        "k3d",
        &["cluster", "create", "x", "--no-such-flag"],
        &[],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.starts_with(
            "Error: unknown flag: --no-such-flag\nUsage:\n  k3d cluster create NAME [flags]\n"
        ),
        "{err}"
    );
    assert!(
        err.trim_end()
            .ends_with(r#"level=fatal msg="unknown flag: --no-such-flag""#),
        "{err}"
    );
    let (code, _, err) = fake_run(&w, "k3d", &["cluster", "create", "x", "-x"], &[]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("Error: unknown shorthand flag: 'x' in -x\n"),
        "{err}"
    );
    // A flag of another subcommand is unknown here (`--all` is cluster delete's).
    let (code, _, err) = fake_run(&w, "k3d", &["cluster", "create", "x", "--all"], &[]);
    assert_eq!(code, 1);
    assert!(err.starts_with("Error: unknown flag: --all\n"), "{err}");
    assert_eq!(
        w.fake_json("k3d", &["cluster", "list", "-o", "json"]),
        serde_json::json!([])
    );
    // Global flags anywhere after the command; grouped and attached shorthands.
    w.fake(
        "k3d",
        &[
            "cluster",
            "create",
            "x",
            "--verbose",
            "-s1",
            "-a=2",
            "--wait=false",
        ],
    );
    w.fake("k3d", &["cluster", "delete", "--trace", "x"]);

    // minikube v1.37.0: cobra's error and usage; exit 14 (ExProgramUsage).
    let (code, out, err) = fake_run(&w, "minikube", &["start", "-p", "x", "--no-such-flag"], &[]);
    assert_eq!(code, 14, "{out}{err}");
    assert!(
        err.starts_with("Error: unknown flag: --no-such-flag\nUsage:\n  minikube start [flags]\n"),
        "{err}"
    );
    assert!(err.contains("\nGlobal Flags:\n"), "{err}");
    let (code, _, err) = fake_run(&w, "minikube", &["start", "-p", "x", "--memory"], &[]);
    assert_eq!(code, 14);
    assert!(
        err.starts_with("Error: flag needs an argument: --memory\n"),
        "{err}"
    );
    assert_eq!(
        w.fake_json("minikube", &["profile", "list", "-o", "json"]),
        serde_json::json!({"invalid": [], "valid": []})
    );
    // klog's Go flags are global, `-v` among them.
    w.fake(
        "minikube",
        &[
            "start",
            "-p",
            "x",
            "--alsologtostderr",
            "-v=1",
            "--memory=4g",
        ],
    );
    w.fake(
        "minikube",
        &["-p", "x", "image", "load", "--overwrite", "img:1"],
    );

    // docker CLI v27.3.1: its FlagErrorFunc's words, exit 125; global options only before
    // the subcommand.
    let (code, out, err) = fake_run(&w, "docker", &["version", "--no-such-flag"], &[]);
    assert_eq!(code, 125, "{out}{err}");
    assert_eq!(
        err,
        "unknown flag: --no-such-flag\nSee 'docker version --help'.\n"
    );
    let (code, _, err) = fake_run(&w, "docker", &["build", "--no-such-flag", "."], &[]);
    assert_eq!(code, 125);
    assert_eq!(
        err,
        "unknown flag: --no-such-flag\nSee 'docker build --help'.\n"
    );
    let (code, _, err) = fake_run(&w, "docker", &["version", "--debug"], &[]);
    assert_eq!(code, 125);
    assert_eq!(err, "unknown flag: --debug\nSee 'docker version --help'.\n");
    let (code, _, err) = fake_run(&w, "docker", &["--no-such-flag", "version"], &[]);
    assert_eq!(code, 125);
    assert!(
        err.starts_with("unknown flag: --no-such-flag\nSee 'docker --help'.\n\nUsage:\n  docker [OPTIONS] COMMAND [ARG...]\n"),
        "{err}"
    );
    w.fake("docker", &["--version"]);

    // helm: cobra's error alone (the root silences usage), exit 1; v3.17.3's flags by default,
    // v4.2.3's for a v4.
    let mut list = vec!["list", "--no-such-flag"];
    list.extend(helm_ctx);
    let (code, out, err) = fake_run(&w, "helm", &list, &[]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (1, "", "Error: unknown flag: --no-such-flag\n")
    );
    let mut all = vec!["list", "--all", "-o", "json"];
    all.extend(helm_ctx);
    assert_eq!(fake_run(&w, "helm", &all, &[]).0, 0);
    let (code, _, err) = fake_run(&w, "helm", &all, &[("FAKE_HELM_VERSION", "v4.2.3")]);
    assert_eq!((code, err.as_str()), (1, "Error: unknown flag: --all\n"));
    let mut upgrade = vec![
        "upgrade",
        "--install",
        "r",
        "chart",
        "--version",
        "1",
        "--force-conflicts",
    ];
    upgrade.extend(helm_ctx);
    let (code, _, err) = fake_run(&w, "helm", &upgrade, &[]);
    assert_eq!(
        (code, err.as_str()),
        (1, "Error: unknown flag: --force-conflicts\n")
    );
    // helm 4's `--wait` takes an optional strategy: it does not eat the next argument.
    upgrade.extend(["--wait", "--timeout", "300s"]);
    let (code, out, err) = fake_run(&w, "helm", &upgrade, &[("FAKE_HELM_VERSION", "v4.2.3")]);
    assert_eq!(code, 0, "{out}{err}");
}
