//! The S3 state backend against moto's S3 (moto implements `If-None-Match`/`If-Match` on
//! PutObject and DeleteObject and answers `PreconditionFailed`), reached only through
//! `AWS_ENDPOINT_URL` — the production code path — with a fault-injecting proxy in front
//! (`integration/standins/s3_faults.py`: S3's documented error responses, per bucket, before a
//! call reaches moto or after it took effect). Independent reads use boto3
//! (`integration/standins/aws_helper.py`) or a client straight to moto, not the backend itself.
//!
//! One moto and one proxy serve the whole test binary; each test has its own bucket (and fault
//! plan). Library tests use `alpaka::state::S3Backend`; the others run the real binary, the
//! whole k3d profile on the real control plane where a cluster is needed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use alpaka::state::{Backend, S3Backend, S3Location, State, StateError};
use alpaka_aws::state_store::Encryption;
use serde_json::Value as Json;

#[path = "controlplane.rs"]
mod controlplane;
#[path = "support.rs"]
mod support;

const REGION: &str = "eu-west-1";

fn python() -> PathBuf {
    let p = std::env::var_os("ALPAKA_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo().join(".venv-test/bin/python"));
    assert!(
        p.exists(),
        "moto is missing: {} does not exist. Run integration/test.sh (it creates .venv-test \
         with moto[server] and boto3) or set ALPAKA_TEST_PYTHON",
        p.display()
    );
    p
}

struct Servers {
    moto: String,
    proxy: String,
    proxy_port: u16,
    _children: Vec<Child>,
    _ties: Vec<std::process::ChildStdin>,
}

/// Start `python ARGS…` so that it ends with this test process, which a static never outlives
/// by a `Drop`: a shell runs it in the background and waits for its own stdin, a pipe only this
/// process holds, to close (as it does however this process ends), then stops it.
fn tied(args: &[&Path], stdout: Stdio) -> (Child, std::process::ChildStdin) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#""$@" & pid=$!; cat >/dev/null; kill "$pid""#)
        .arg("sh")
        .arg(python())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .expect("starting a stand-in");
    let tie = child.stdin.take().expect("piped stdin");
    (child, tie)
}

fn http(port: u16, method: &str, path: &str, body: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out.split_once("\r\n\r\n")?.1.to_owned())
}

fn line_port(child: &mut Child) -> u16 {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.strip_prefix("PORT ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("said {line:?}"))
}

/// moto and the fault proxy, with this process's environment pointing the SDK at the proxy.
fn servers() -> &'static Servers {
    static S: OnceLock<Servers> = OnceLock::new();
    S.get_or_init(|| {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (moto, moto_tie) = tied(
            &[
                &support::repo().join("integration/standins/moto_eks.py"),
                Path::new("127.0.0.1"),
                Path::new(&port.to_string()),
            ],
            Stdio::null(),
        );
        let t = Instant::now();
        while http(port, "GET", "/moto-api/", "").is_none() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "moto did not come up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let moto_url = format!("http://127.0.0.1:{port}");
        let (mut proxy, proxy_tie) = tied(
            &[
                &support::repo().join("integration/standins/s3_faults.py"),
                Path::new(&moto_url),
            ],
            Stdio::piped(),
        );
        let proxy_port = line_port(&mut proxy);
        let proxy_url = format!("http://127.0.0.1:{proxy_port}");
        let nowhere = std::env::temp_dir().join("alpaka-state-s3-no-such-file");
        // SAFETY: set once, before any SDK call in this process; every test waits on this
        // OnceLock before touching the SDK.
        unsafe {
            for (k, v) in [
                ("AWS_ENDPOINT_URL", proxy_url.as_str()),
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("AWS_REGION", REGION),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ] {
                std::env::set_var(k, v);
            }
            std::env::set_var("AWS_CONFIG_FILE", &nowhere);
            std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &nowhere);
            std::env::remove_var("AWS_PROFILE");
        }
        Servers {
            moto: moto_url,
            proxy: proxy_url,
            proxy_port,
            _children: vec![moto, proxy],
            _ties: vec![moto_tie, proxy_tie],
        }
    })
}

/// boto3 straight to moto (no faults): `aws_helper.py` COMMAND ARGS.
fn helper(args: &[&str]) -> Json {
    let s = servers();
    let out = Command::new(python())
        .arg(support::repo().join("integration/standins/aws_helper.py"))
        .arg(&s.moto)
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

/// A fresh plain bucket (no versioning) for one test.
fn bucket(name: &str) -> String {
    servers();
    let b = format!("{name}-{}", std::process::id());
    helper(&["s3-bucket", &b]);
    b
}

fn faults(bucket: &str, plan: Json) {
    let s = servers();
    http(
        s.proxy_port,
        "POST",
        &format!("/_faults/{bucket}"),
        &plan.to_string(),
    )
    .expect("the fault proxy answers");
}

fn fault_count(bucket: &str) -> u64 {
    let s = servers();
    let body = http(s.proxy_port, "GET", &format!("/_faults/{bucket}/count"), "").unwrap();
    serde_json::from_str::<Json>(&body).unwrap()["count"]
        .as_u64()
        .unwrap()
}

fn location(bucket: &str, key: &str) -> S3Location {
    S3Location {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        region: REGION.to_owned(),
        encryption: Encryption::S3,
    }
}

fn backend(bucket: &str, key: &str) -> S3Backend {
    servers();
    S3Backend::new(location(bucket, key), "team").unwrap()
}

/// What the bucket holds under `key`, read by boto3.
fn object(bucket: &str, key: &str) -> Option<String> {
    let o = helper(&["s3-get", bucket, key]);
    (o["exists"] == true).then(|| o["body"].as_str().unwrap().to_owned())
}

fn state_with(serial_bumps: usize, base: Option<State>) -> State {
    let mut s = base.unwrap_or_else(|| State::new("team"));
    for i in 0..serial_bumps {
        s.record(
            alpaka::engine::ResourceId::new(format!("test.thing.{}-{i}", s.serial)),
            alpaka::state::ResourceState {
                kind: "test.thing".into(),
                deps: vec![],
                attrs: alpaka::engine::Value::str("x"),
                outputs: alpaka::engine::Value::Null,
            },
        );
    }
    s
}

#[test]
fn a_write_after_someone_elses_write_is_refused_naming_both_serials_and_nothing_is_lost() {
    let b = bucket("conflict");
    let key = "alpaka/team.state.json";
    // The first write creates (If-None-Match: *), encrypted.
    let a = backend(&b, key);
    assert!(a.load().unwrap().is_none());
    let first = state_with(1, None);
    a.persist(&first).unwrap();
    let o = helper(&["s3-get", &b, key]);
    assert_eq!(o["sse"], "AES256", "{o}");
    // A second first write (someone else starting from nothing) is refused.
    let stranger = backend(&b, key);
    let err = stranger.persist(&state_with(1, None)).unwrap_err();
    assert!(matches!(err, StateError::LineageMismatch { .. }), "{err}");

    // Two runs read the same state; one writes; the other's write is refused, naming both.
    let x = backend(&b, key);
    let y = backend(&b, key);
    let sx = x.load().unwrap().unwrap();
    let sy = y.load().unwrap().unwrap();
    let sx = state_with(2, Some(sx));
    x.persist(&sx).unwrap();
    let sy = state_with(1, Some(sy));
    let err = y.persist(&sy).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            StateError::Conflict {
                theirs: 3,
                ours: 2,
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains(&format!("s3://{b}/{key}")), "{text}");
    assert!(
        text.contains("serial 3") && text.contains("serial 2"),
        "{text}"
    );
    // What x wrote is intact, and the previous state is kept as the backup (no versioning).
    let now: State = serde_json::from_str(&object(&b, key).unwrap()).unwrap();
    assert_eq!(now.serial, 3);
    assert_eq!(now.resources.len(), 3);
    let backup: State =
        serde_json::from_str(&object(&b, &format!("{key}.backup")).unwrap()).unwrap();
    assert_eq!(backup.serial, 1);
    // After reading again, y may write.
    let sy = y.load().unwrap().unwrap();
    y.persist(&state_with(1, Some(sy))).unwrap();
}

#[test]
fn a_versioned_bucket_keeps_every_state_as_a_version_and_no_backup_object() {
    servers();
    let b = format!("versioned-{}", std::process::id());
    helper(&["s3-versioned", &b]);
    let key = "alpaka/team.state.json";
    let be = backend(&b, key);
    let mut state = state_with(1, None);
    be.persist(&state).unwrap();
    for _ in 0..2 {
        state = state_with(1, Some(state));
        be.persist(&state).unwrap();
    }
    assert_eq!(object(&b, &format!("{key}.backup")), None);
    // Every state, by its serial: the bucket is the backup.
    assert_eq!(
        helper(&["s3-versions", &b, key]),
        serde_json::json!([3, 2, 1])
    );
}

#[test]
fn two_clients_racing_for_the_lock_exactly_one_wins_every_round() {
    let b = bucket("race");
    let key = "alpaka/team.state.json";
    let x = std::sync::Arc::new(backend(&b, key));
    let y = std::sync::Arc::new(backend(&b, key));
    for round in 0..30 {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let go = |be: std::sync::Arc<S3Backend>, bar: std::sync::Arc<std::sync::Barrier>| {
            std::thread::spawn(move || {
                bar.wait();
                be.lock("apply")
            })
        };
        let hx = go(x.clone(), barrier.clone());
        let hy = go(y.clone(), barrier.clone());
        let (rx, ry) = (hx.join().unwrap(), hy.join().unwrap());
        let (won, lost) = match (rx, ry) {
            (Ok(l), Err(e)) | (Err(e), Ok(l)) => (l, e),
            (Ok(_), Ok(_)) => panic!("round {round}: both took the lock"),
            (Err(a), Err(c)) => panic!("round {round}: nobody took it: {a} / {c}"),
        };
        // The loser is told who holds it.
        match &lost {
            StateError::Locked {
                holder: Some(h), ..
            } => assert_eq!(h.id, won.info().id, "round {round}"),
            other => panic!("round {round}: {other}"),
        }
        // The lock object in the bucket is the winner's, every round.
        let held = object(&b, &format!("{key}.lock"));
        assert!(
            held.as_deref()
                .is_some_and(|body| body.contains(&won.info().id)),
            "round {round}: the lock object is not the winner's: {held:?}"
        );
        won.release().unwrap();
    }
    assert_eq!(object(&b, &format!("{key}.lock")), None);
}

#[test]
fn faults_before_and_after_s3_calls_are_retried_and_the_state_is_never_torn() {
    let b = bucket("faults");
    let key = "alpaka/team.state.json";
    let be = backend(&b, key);
    let mut state = state_with(1, None);
    be.persist(&state).unwrap();
    // A fifth of all calls fail with 500 or 503, half of them after S3 did the work.
    faults(
        &b,
        serde_json::json!({"rate": 0.2, "seed": 11, "modes": ["before", "after"]}),
    );
    let mut failed_runs = 0;
    for step in 0..25 {
        state = state_with(1, Some(state));
        // A run that still fails after the SDK's retries is run again, as a user would.
        let mut tries = 0;
        loop {
            tries += 1;
            match be.persist(&state) {
                Ok(()) => break,
                Err(StateError::Remote { source, .. }) if tries < 10 => {
                    assert!(
                        source.code.as_deref().is_some_and(|c| c == "InternalError"),
                        "{source}"
                    );
                    failed_runs += 1;
                }
                Err(e) => panic!("step {step}: {e}"),
            }
        }
        // Never torn: what S3 holds is a whole state, this step's.
        let text = object(&b, key).unwrap();
        let held: State = serde_json::from_str(&text).unwrap();
        assert_eq!(held.serial, state.serial, "step {step}");
    }
    let injected = fault_count(&b);
    assert!(injected >= 5, "only {injected} faults were injected");
    eprintln!("{injected} faults injected, {failed_runs} persists failed after the SDK's retries");
    // A write that hangs is abandoned after the attempt timeout and tried again.
    faults(
        &b,
        serde_json::json!({"rate": 1.0, "max": 1, "modes": ["stall"], "stall_seconds": 60,
                           "methods": ["PUT"], "key_suffix": ".state.json"}),
    );
    state = state_with(1, Some(state));
    be.persist(&state).unwrap();
    assert_eq!(fault_count(&b), 1);
    let held: State = serde_json::from_str(&object(&b, key).unwrap()).unwrap();
    assert_eq!(held.serial, state.serial);
    // The lock too: a create whose answer was lost is found to be ours on the retry.
    faults(
        &b,
        serde_json::json!({"rate": 1.0, "max": 1, "modes": ["after"], "methods": ["PUT"], "key_suffix": ".lock"}),
    );
    let lock = be.lock("apply").unwrap();
    assert_eq!(fault_count(&b), 1);
    lock.release().unwrap();
    assert_eq!(object(&b, &format!("{key}.lock")), None);
}

// ---- the binary ----

/// A workspace with the shipped profiles, the k3d/helm/docker fakes, and `profiles/k3d.yaml`
/// keeping its state in `bucket`.
fn workspace(bucket: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    support::copy_workspace(dir.path());
    support::fake_tools(
        dir.path(),
        &python().display().to_string(),
        &["k3d", "helm", "docker"],
    );
    let p = dir.path().join("profiles/k3d.yaml");
    let mut text = std::fs::read_to_string(&p).unwrap();
    text.push_str(&format!(
        "state:\n  backend: s3\n  bucket: {bucket}\n  region: {REGION}\n"
    ));
    std::fs::write(&p, text).unwrap();
    dir
}

fn alpaka(root: &Path, args: &[&str]) -> Command {
    let s = servers();
    let mut c = support::alpaka(root);
    c.args(args)
        .args(["--profile", "k3d"])
        .env("AWS_ENDPOINT_URL", &s.proxy)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", root.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            root.join("no-aws-credentials"),
        )
        .env_remove("AWS_PROFILE");
    c
}

fn run(root: &Path, args: &[&str]) -> (i32, String, String) {
    support::output(alpaka(root, args))
}

#[test]
fn a_k3d_apply_keeps_its_state_in_s3_holds_the_lock_only_while_it_runs_and_refuses_a_second() {
    let b = bucket("team");
    let key = "alpaka/k3d.state.json";
    let lock_key = format!("{key}.lock");
    let cp = controlplane::ControlPlane::start(controlplane::Strimzi::V1);
    let ws = workspace(&b);
    cp.write_kubeconfig(&ws.path().join(".kube/config"), "k3d-alpaka-k3d", true);

    let mut first = alpaka(ws.path(), &["apply", "--auto-approve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The lock object appears while it runs, naming this run.
    let t = Instant::now();
    let holder = loop {
        if let Some(body) = object(&b, &lock_key) {
            break serde_json::from_str::<Json>(&body).unwrap();
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no lock object appeared"
        );
        assert!(
            first.try_wait().unwrap().is_none(),
            "apply ended without a lock object seen"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(holder["operation"], "apply");
    assert_eq!(holder["pid"], first.id());
    // A second apply meanwhile is refused, naming the holder.
    let (code, out, err) = run(ws.path(), &["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("is locked by another alpaka run"), "{err}");
    assert!(err.contains(&format!("pid:       {}", first.id())), "{err}");
    assert!(
        err.contains(&format!("lock file: s3://{b}/{lock_key}")),
        "{err}"
    );
    // One with --lock-timeout waits for it instead (as CI would), then plans against what the
    // first one wrote: nothing left to do.
    let waiting = alpaka(
        ws.path(),
        &["apply", "--auto-approve", "--lock-timeout", "5m"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Read its output while it runs: a full pipe would stop it mid-apply.
    let finished = first.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&finished.stdout).into_owned();
    assert!(finished.status.success(), "{out}");
    assert!(out.contains("Apply complete!"), "{out}");
    let waited = waiting.wait_with_output().unwrap();
    let (wout, werr) = (
        String::from_utf8_lossy(&waited.stdout),
        String::from_utf8_lossy(&waited.stderr),
    );
    assert!(waited.status.success(), "{wout}\n{werr}");
    assert!(
        werr.contains("waiting up to 300s for the state lock") && werr.contains("apply by "),
        "{werr}"
    );
    assert!(wout.contains("No changes."), "{wout}");

    // After: the state is in the bucket (encrypted), the lock is gone, nothing is local.
    assert_eq!(object(&b, &lock_key), None);
    let o = helper(&["s3-get", &b, key]);
    assert_eq!(o["sse"], "AES256");
    let state: State = serde_json::from_str(o["body"].as_str().unwrap()).unwrap();
    assert!(state.resources.len() > 20, "{}", state.resources.len());
    assert!(!ws.path().join(".alpaka/k3d.state.json").exists());
    // The shipped connector password is sealed in S3 as it is locally.
    assert!(!o["body"].as_str().unwrap().contains("mypass"));
    let (code, out, err) = run(ws.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, _) = run(ws.path(), &["state", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("kafka.cluster"), "{out}");
    let (code, out, err) = run(
        ws.path(),
        &["destroy", "--auto-approve", "--lock-timeout", "30s"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
}

#[test]
fn a_killed_holder_leaves_its_lock_and_force_unlock_clears_it_by_id() {
    let b = bucket("killed");
    let lock_key = "alpaka/k3d.state.json.lock";
    let ws = workspace(&b);
    // A run in progress: the (fake) k3d takes a while to create the cluster.
    let mut holder = alpaka(ws.path(), &["apply", "--auto-approve"])
        .env("FAKE_K3D_CREATE_SECONDS", "60")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let record = loop {
        if let Some(body) = object(&b, lock_key) {
            break serde_json::from_str::<Json>(&body).unwrap();
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no lock object appeared"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    holder.kill().unwrap();
    holder.wait().unwrap();
    // SIGKILL releases nothing in S3: the lock stays, and names the dead run.
    assert!(object(&b, lock_key).is_some());
    let id = record["id"].as_str().unwrap();
    let (code, _, err) = run(ws.path(), &["plan"]);
    assert_eq!(code, 0, "plan takes no lock: {err}");
    let (code, _, err) = run(ws.path(), &["apply", "--auto-approve"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("alpaka force-unlock {id} --profile k3d")),
        "{err}"
    );
    // --lock-timeout waits, says so, and gives up.
    let (code, _, err) = run(
        ws.path(),
        &["apply", "--auto-approve", "--lock-timeout", "3s"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("waiting up to 3s for the state lock"), "{err}");
    // The wrong id is refused, naming the holder; the right one clears it.
    let (code, _, err) = run(ws.path(), &["force-unlock", "0123456789abcdef"]);
    assert_eq!(code, 1);
    assert!(err.contains("does not match the lock"), "{err}");
    assert!(object(&b, lock_key).is_some());
    let (code, out, err) = run(ws.path(), &["force-unlock", id]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(object(&b, lock_key), None);
}

#[test]
fn a_bucket_without_permission_is_a_clear_error_naming_bucket_key_and_code() {
    let b = bucket("denied");
    faults(&b, serde_json::json!({"deny": true}));
    let ws = workspace(&b);
    let (code, out, err) = run(ws.path(), &["plan"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(&format!("s3://{b}/alpaka/k3d.state.json")),
        "{err}"
    );
    assert!(err.contains("(AccessDenied)"), "{err}");
    assert!(err.contains("s3:GetObject"), "{err}");
    assert!(err.contains("[request id "), "{err}");
    assert!(err.contains("needs s3:ListBucket"), "{err}");
}

#[test]
fn init_backend_is_idempotent_and_migrate_moves_the_state_both_ways_under_lineage_checks() {
    let b = format!("init-{}", std::process::id());
    let ws = workspace(&b);
    // init-backend: creates the bucket with versioning, encryption, public access blocked.
    let (code, out, err) = run(
        ws.path(),
        &["state", "init-backend", "--bucket", &b, "--region", REGION],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("created; versioning enabled now"), "{out}");
    assert!(out.contains(&format!("  bucket: {b}")), "{out}");
    let d = helper(&["s3-describe", &b]);
    assert_eq!(d["versioning"], "Enabled", "{d}");
    assert_eq!(
        d["encryption"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "AES256"
    );
    assert_eq!(d["public_access_block"]["BlockPublicPolicy"], true);
    let (code, out, err) = run(
        ws.path(),
        &["state", "init-backend", "--bucket", &b, "--region", REGION],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("exists; versioning already on; default encryption already set; public access already blocked"), "{out}");

    // A local state (the cluster node only, with the fake k3d), made before the profile used S3.
    let p = ws.path().join("profiles/k3d.yaml");
    let with_s3 = std::fs::read_to_string(&p).unwrap();
    let local_only = with_s3.split("state:\n").next().unwrap().to_owned();
    std::fs::write(&p, &local_only).unwrap();
    let (code, out, err) = run(
        ws.path(),
        &["apply", "--auto-approve", "--target", "k3d.cluster.k3d"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let local_path = ws.path().join(".alpaka/k3d.state.json");
    let local: State =
        serde_json::from_str(&std::fs::read_to_string(&local_path).unwrap()).unwrap();
    std::fs::write(&p, &with_s3).unwrap();

    let (code, out, err) = run(ws.path(), &["state", "migrate", "--to", "s3"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("is left as it was, as a backup"), "{out}");
    let remote: State =
        serde_json::from_str(&object(&b, "alpaka/k3d.state.json").unwrap()).unwrap();
    assert_eq!(
        (&remote.lineage, remote.serial),
        (&local.lineage, local.serial)
    );
    assert!(local_path.exists());
    let (code, out, _) = run(ws.path(), &["state", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("k3d.cluster.k3d"), "{out}");
    let (code, out, _) = run(ws.path(), &["state", "migrate", "--to", "s3"]);
    assert_eq!(code, 0);
    assert!(out.contains("already holds this state"), "{out}");

    // Another deployment's state in the target is never overwritten.
    let other = tempfile::tempdir().unwrap();
    support::copy_workspace(other.path());
    support::fake_tools(
        other.path(),
        &python().display().to_string(),
        &["k3d", "helm", "docker"],
    );
    std::fs::write(other.path().join("profiles/k3d.yaml"), &local_only).unwrap();
    let (code, _, err) = run(
        other.path(),
        &["apply", "--auto-approve", "--target", "k3d.cluster.k3d"],
    );
    assert_eq!(code, 0, "{err}");
    std::fs::write(other.path().join("profiles/k3d.yaml"), &with_s3).unwrap();
    let (code, out, err) = run(other.path(), &["state", "migrate", "--to", "s3"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("already holds a state of another deployment"),
        "{err}"
    );

    // And back: S3 to local, into a workspace without one.
    std::fs::remove_file(&local_path).unwrap();
    let (code, out, err) = run(ws.path(), &["state", "migrate", "--to", "local"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let back: State = serde_json::from_str(&std::fs::read_to_string(&local_path).unwrap()).unwrap();
    assert_eq!(back.lineage, local.lineage);
}

#[test]
fn an_apply_through_failing_s3_calls_never_tears_the_state_and_converges_when_run_again() {
    let b = bucket("flaky");
    let key = "alpaka/k3d.state.json";
    let cp = controlplane::ControlPlane::start(controlplane::Strimzi::V1);
    let ws = workspace(&b);
    cp.write_kubeconfig(&ws.path().join(".kube/config"), "k3d-alpaka-k3d", true);
    // The cluster first, on a healthy S3 (the fake k3d refuses a second create, as k3d does).
    let (code, out, err) = run(
        ws.path(),
        &["apply", "--auto-approve", "--target", "k3d.cluster.k3d"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    // S3 refusing every state write for longer than alpaka retries (the SDK's 3 tries, 4
    // rounds): the run stops starting steps and fails, saying so; the state stays whole.
    faults(
        &b,
        serde_json::json!({"rate": 1.0, "max": 12, "methods": ["PUT"], "key_suffix": ".state.json"}),
    );
    let (code, out, err) = run(ws.path(), &["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("writing state failed, starting nothing new"),
        "{err}"
    );
    assert_eq!(fault_count(&b), 12);
    let _: State = serde_json::from_str(&object(&b, key).unwrap()).unwrap();
    assert_eq!(
        object(&b, &format!("{key}.lock")),
        None,
        "the lock is released"
    );
    // Then the rest, with 30 % of the bucket's calls failing (500), half of them after S3 did
    // the work, run again until it succeeds, as a user (or CI) would.
    faults(
        &b,
        serde_json::json!({"rate": 0.3, "seed": 3, "modes": ["before", "after"]}),
    );
    let mut runs = 0;
    loop {
        runs += 1;
        let (code, out, err) = run(
            ws.path(),
            &["apply", "--auto-approve", "--lock-timeout", "60s"],
        );
        // Never torn: whatever the run got to, the bucket holds a whole state.
        let held: State = serde_json::from_str(&object(&b, key).unwrap())
            .unwrap_or_else(|e| panic!("run {runs}: the state object is not a state: {e}"));
        assert!(
            held.resources
                .contains_key(&alpaka::engine::ResourceId::new("k3d.cluster.k3d"))
        );
        if code == 0 {
            break;
        }
        // A run that fails says it was S3, naming the object and S3's code.
        assert!(
            err.contains(&format!("s3://{b}/")),
            "run {runs}:\n{out}\n{err}"
        );
        assert!(err.contains("InternalError"), "run {runs}:\n{out}\n{err}");
        assert!(runs < 6, "no convergence after {runs} runs:\n{out}\n{err}");
    }
    let injected = fault_count(&b);
    assert!(injected >= 10, "only {injected} faults were injected");
    eprintln!("{injected} faults injected; apply converged on run {runs}");
    // Converged: with S3 healthy again, nothing to do, and no lock left behind.
    faults(&b, serde_json::json!({}));
    let (code, out, err) = run(ws.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(object(&b, &format!("{key}.lock")), None);
}
