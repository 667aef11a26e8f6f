//! Tests of the state model, the local backend and its lock. The crash and lock-holder tests
//! re-run this test binary as a child (`child_process`, selected by an environment variable)
//! and `kill -9` it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;
use crate::engine::Secret;

const CHILD_MODE: &str = "ALPAKA_STATE_TEST_CHILD";
const CHILD_DIR: &str = "ALPAKA_STATE_TEST_DIR";

fn rs(kind: &str, attrs: Value) -> ResourceState {
    ResourceState {
        kind: kind.into(),
        deps: vec![],
        attrs,
        outputs: Value::Null,
    }
}

fn id(s: &str) -> ResourceId {
    ResourceId::new(s)
}

fn backend(dir: &Path, profile: &str) -> LocalBackend {
    LocalBackend::new(dir, profile)
}

#[test]
fn a_destroy_bumps_the_generation_and_it_survives_a_round_trip() {
    let mut s = State::new("p");
    let r = id("eks.cluster.prod");
    assert_eq!(s.generation(&r), 0);
    s.record(
        r.clone(),
        rs("eks.cluster", Value::map([("name", Value::str("prod"))])),
    );
    assert_eq!(s.generation(&r), 0);
    s.remove(&r);
    assert_eq!(s.generation(&r), 1);
    // Removing what is not there is no destroy.
    s.remove(&r);
    assert_eq!(s.generation(&r), 1);
    let back: State = serde_json::from_str(&serde_json::to_string(&s.sealed()).unwrap()).unwrap();
    assert_eq!(back.generation(&r), 1);
    // A state written before generations existed reads as all zero.
    let old = r#"{"version": 1, "serial": 1, "lineage": "x", "profile": "p", "resources": {}}"#;
    let old: State = serde_json::from_str(old).unwrap();
    assert_eq!(old.generation(&r), 0);
}

#[test]
fn new_state_is_empty_with_random_lineage() {
    let a = State::new("p");
    let b = State::new("p");
    assert_eq!(
        (a.serial, a.version, a.profile.as_str()),
        (0, STATE_VERSION, "p")
    );
    assert_eq!(a.lineage.len(), 32);
    assert!(a.lineage.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a.lineage, b.lineage);
}

#[test]
fn record_and_remove_bump_serial() {
    let mut s = State::new("p");
    s.record(id("a"), rs("k", Value::Int(1)));
    s.record(id("b"), rs("k", Value::Int(2)));
    assert_eq!(s.serial, 2);
    s.record(id("a"), rs("k", Value::Int(3)));
    assert_eq!(s.serial, 3);
    assert_eq!(s.get(&id("a")).map(|r| &r.attrs), Some(&Value::Int(3)));
    assert!(s.remove(&id("a")).is_some());
    assert_eq!(s.serial, 4);
    assert!(s.remove(&id("a")).is_none(), "nothing to remove");
    assert_eq!(s.serial, 4, "no change, no bump");
    assert!(s.get(&id("a")).is_none());
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path(), "minikube");
    assert!(b.load().unwrap().is_none());
    let mut s = State::new("minikube");
    let mut r = rs(
        "helm.release",
        Value::map([("chart", Value::str("strimzi")), ("n", Value::Int(3))]),
    );
    r.deps = vec![id("k8s.namespace.kafka")];
    r.outputs = Value::map([("revision", Value::Int(1))]);
    s.record(id("helm.strimzi"), r);
    s.record(
        id("k8s.namespace.kafka"),
        rs("k8s.namespace", Value::map([("name", Value::str("kafka"))])),
    );
    b.persist(&s).unwrap();
    assert_eq!(b.load().unwrap(), Some(s.clone()));
    assert!(dir.path().join(".alpaka/minikube.state.json").is_file());
    assert!(
        dir.path().join(".alpaka/.gitignore").is_file(),
        "state dir ignores itself"
    );
    assert!(
        !dir.path()
            .join(".alpaka/minikube.state.json.backup")
            .exists(),
        "nothing to back up yet"
    );
    assert!(
        b.describe().ends_with(".alpaka/minikube.state.json"),
        "{}",
        b.describe()
    );
    assert_eq!(
        LocalBackend::new(Path::new("."), "x").describe(),
        ".alpaka/x.state.json"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path().join(".alpaka"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains(".tmp")),
        "no temporary left: {names:?}"
    );
}

#[test]
fn secrets_are_sealed_before_they_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path(), "p");
    let mut s = State::new("p");
    let mut r = rs(
        "db",
        Value::map([
            ("password", Value::secret("hunter2-attr")),
            ("user", Value::str("me")),
        ]),
    );
    r.outputs = Value::map([("token", Value::List(vec![Value::secret("hunter2-output")]))]);
    s.record(id("db"), r);
    // In memory already: record sealed with the lineage.
    let rec = s.get(&id("db")).unwrap();
    let Some(Value::Secret(Secret::Sealed(h))) = rec.attrs.get("password") else {
        panic!("{rec:?}")
    };
    assert_eq!(h, &Secret::hash(&s.lineage, "hunter2-attr"));
    assert!(Value::secret("hunter2-attr").same_as(rec.attrs.get("password").unwrap(), &s.lineage));
    // A caller bypassing `record`: persist seals anyway.
    s.resources.insert(
        id("raw"),
        rs("x", Value::map([("key", Value::secret("hunter2-raw"))])),
    );
    s.serial += 1;
    b.persist(&s).unwrap();
    let bytes = std::fs::read(b.state_path()).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    for plain in [
        "hunter2-attr",
        "hunter2-output",
        "hunter2-raw",
        "(unsealed)",
    ] {
        assert!(!text.contains(plain), "{plain} in {text}");
    }
    assert_eq!(text.matches("sha256:").count(), 3, "{text}");
    let back = b.load().unwrap().unwrap();
    assert!(Value::secret("hunter2-raw").same_as(
        back.get(&id("raw")).unwrap().attrs.get("key").unwrap(),
        &s.lineage
    ));
}

#[test]
fn previous_state_is_kept_as_backup() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path(), "p");
    let mut s = State::new("p");
    s.record(id("a"), rs("k", Value::Int(1)));
    b.persist(&s).unwrap();
    s.record(id("b"), rs("k", Value::Int(2)));
    b.persist(&s).unwrap();
    let backup: State = serde_json::from_slice(&std::fs::read(b.backup_path()).unwrap()).unwrap();
    assert_eq!(backup.serial, 1);
    assert!(backup.get(&id("b")).is_none());
    assert_eq!(b.load().unwrap().unwrap().serial, 2);
    s.remove(&id("a"));
    b.persist(&s).unwrap();
    let backup: State = serde_json::from_slice(&std::fs::read(b.backup_path()).unwrap()).unwrap();
    assert_eq!(backup.serial, 2);
    assert_eq!(b.load().unwrap().unwrap().serial, 3);
}

#[test]
fn newer_version_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path(), "p");
    std::fs::create_dir_all(b.dir()).unwrap();
    let future = br#"{"version": 99, "serial": 7, "lineage": "x", "profile": "p", "resources": "new shape"}"#;
    std::fs::write(b.state_path(), future).unwrap();
    let err = b.load().unwrap_err();
    assert!(
        matches!(
            err,
            StateError::TooNew {
                found: 99,
                supported: STATE_VERSION,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("p.state.json")
            && msg.contains("version 99")
            && msg.contains("upgrade alpaka"),
        "{msg}"
    );
    assert!(matches!(
        b.persist(&State::new("p")),
        Err(StateError::TooNew { .. })
    ));
    assert_eq!(std::fs::read(b.state_path()).unwrap(), future);
}

#[test]
fn corrupt_state_is_an_error_with_location_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path(), "p");
    std::fs::create_dir_all(b.dir()).unwrap();
    let torn = b"{\n  \"version\": 1,\n  \"serial\": 3,\n  \"lineage\": \"ab";
    std::fs::write(b.state_path(), torn).unwrap();
    let err = b.load().unwrap_err();
    let StateError::Parse {
        line,
        column,
        ref path,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!((line, column), (4, 16));
    assert_eq!(path, &b.state_path());
    let msg = err.to_string();
    assert!(
        msg.contains(&b.state_path().display().to_string()) && msg.contains("line 4 column 16"),
        "{msg}"
    );
    assert!(
        msg.contains("left untouched") && msg.contains(".backup"),
        "{msg}"
    );
    // Valid JSON, not a state.
    std::fs::write(b.state_path(), b"[1, 2]").unwrap();
    assert!(matches!(b.load(), Err(StateError::Parse { .. })));
    std::fs::write(b.state_path(), torn).unwrap();
    let mut s = State::new("p");
    s.record(id("a"), rs("k", Value::Null));
    assert!(matches!(b.persist(&s), Err(StateError::Parse { .. })));
    assert_eq!(
        std::fs::read(b.state_path()).unwrap(),
        torn,
        "never overwritten"
    );
}

#[test]
fn persist_refuses_other_lineage_older_serial_and_other_profile() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path(), "p");
    let mut s = State::new("p");
    s.record(id("a"), rs("k", Value::Null));
    s.record(id("b"), rs("k", Value::Null));
    b.persist(&s).unwrap();
    b.persist(&s).unwrap(); // same serial again: fine
    let mut other = State::new("p");
    other.serial = 10;
    assert!(matches!(
        b.persist(&other),
        Err(StateError::LineageMismatch { .. })
    ));
    let mut stale = s.clone();
    stale.serial = 1;
    let err = b.persist(&stale).unwrap_err();
    assert!(
        matches!(
            err,
            StateError::StaleSerial {
                on_disk: 2,
                ours: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        b.persist(&State::new("q")),
        Err(StateError::ProfileMismatch { .. })
    ));
    // A file of profile q copied to p's name.
    let q = backend(dir.path(), "q");
    q.persist(&State::new("q")).unwrap();
    std::fs::copy(q.state_path(), b.state_path()).unwrap();
    assert!(matches!(b.load(), Err(StateError::ProfileMismatch { .. })));
}

#[test]
fn profile_names_cannot_escape_the_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", "../etc", "a/b", ".hidden", "a\\b", "sp ace"] {
        let b = backend(dir.path(), bad);
        assert!(
            matches!(b.load(), Err(StateError::InvalidProfile { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(b.lock("apply"), Err(StateError::InvalidProfile { .. })),
            "{bad:?}"
        );
    }
    assert!(backend(dir.path(), "prod-eu_1.b").load().is_ok());
}

#[test]
fn second_lock_is_refused_with_holder_info() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path(), "minikube");
    let held = b.lock("apply").unwrap();
    let info = held.info().clone();
    assert_eq!(
        (info.operation.as_str(), info.pid),
        ("apply", std::process::id())
    );
    let on_disk: LockInfo = serde_json::from_slice(&std::fs::read(b.lock_path()).unwrap()).unwrap();
    assert_eq!(on_disk, info);
    let err = b.lock("destroy").unwrap_err();
    let StateError::Locked {
        holder: Some(ref h),
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(**h, info);
    let msg = err.to_string();
    for part in [
        "apply".to_owned(),
        info.owner.clone(),
        info.pid.to_string(),
        info.host.clone(),
        info.created.clone(),
        format!("alpaka force-unlock {} --profile minikube", info.id),
    ] {
        assert!(msg.contains(&part), "{part} missing from:\n{msg}");
    }
    assert_eq!(b.current_lock().unwrap(), Some(info));
    drop(held);
    assert!(!b.lock_path().exists(), "released lock removes its file");
    assert_eq!(b.current_lock().unwrap(), None);
    b.lock("destroy").unwrap().release().unwrap();
}

#[test]
fn different_profiles_do_not_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let _a = backend(dir.path(), "a").lock("apply").unwrap();
    let _b = backend(dir.path(), "b").lock("apply").unwrap();
    assert!(backend(dir.path(), "a").lock("apply").is_err());
}

#[test]
fn force_unlock_needs_the_right_id() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path(), "p");
    assert!(matches!(
        b.force_unlock("nope"),
        Err(StateError::NotLocked { .. })
    ));
    let held = b.lock("apply").unwrap();
    let real = held.info().id.clone();
    let err = b.force_unlock("deadbeef").unwrap_err();
    assert!(matches!(err, StateError::LockIdMismatch { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&real),
        "names the actual id: {err}"
    );
    assert!(b.lock_path().exists());
    let broken = b.force_unlock(&real).unwrap();
    assert_eq!(broken.id, real);
    assert!(!b.lock_path().exists());
    // The next run locks, and the old guard's drop must not remove the new lock.
    let next = b.lock("apply").unwrap();
    drop(held);
    assert_eq!(
        b.current_lock().unwrap().map(|i| i.id),
        Some(next.info().id.clone())
    );
    assert!(b.lock("apply").is_err(), "still held by the new run");
}

/// Locks taken and released concurrently (each release unlinks the file, the race that matters):
/// never two holders at once.
#[test]
fn concurrent_lockers_exclude_each_other() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let inside = Arc::new(AtomicBool::new(false));
    let taken = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (root, inside, taken) = (dir.path().to_path_buf(), inside.clone(), taken.clone());
            std::thread::spawn(move || {
                let b = backend(&root, "p");
                for _ in 0..300 {
                    match b.lock("apply") {
                        Ok(l) => {
                            assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
                            taken.fetch_add(1, Ordering::SeqCst);
                            std::thread::yield_now();
                            inside.store(false, Ordering::SeqCst);
                            l.release().unwrap();
                        }
                        Err(StateError::Locked { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(taken.load(Ordering::SeqCst) > 0);
}

#[test]
fn lock_removes_temporaries_of_crashed_writes() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path(), "p");
    b.persist(&State::new("p")).unwrap();
    let stale = b.dir().join("p.state.json.tmp.999999.0");
    let other = b.dir().join("q.state.json.tmp.999999.0");
    std::fs::write(&stale, b"{\"half").unwrap();
    std::fs::write(&other, b"{\"half").unwrap();
    let _l = b.lock("apply").unwrap();
    assert!(!stale.exists());
    assert!(
        other.exists(),
        "another profile's file is not ours to clean"
    );
}

// ---- child processes -------------------------------------------------------------------------

/// Not a test of its own: the body of child processes spawned by the tests below. Does nothing
/// unless the environment selects a mode.
#[test]
fn child_process() {
    let (Ok(mode), Ok(dir)) = (std::env::var(CHILD_MODE), std::env::var(CHILD_DIR)) else {
        return;
    };
    let dir = Path::new(&dir);
    // Bounded, so a child whose parent died goes away by itself.
    let deadline = Instant::now() + Duration::from_secs(30);
    match mode.as_str() {
        "writer" => {
            let b = backend(dir, "crash");
            let mut s = b.load().unwrap().unwrap_or_else(|| State::new("crash"));
            let mut announced = false;
            while Instant::now() < deadline {
                let n = s.resources.len();
                let attrs = Value::map([
                    ("n", Value::Int(n as i64)),
                    ("payload", Value::str("x".repeat(n * 37))),
                    ("password", Value::secret(format!("pw{n}"))),
                ]);
                s.record(id(&format!("r{n:06}")), rs("test", attrs));
                b.persist(&s).unwrap();
                if !announced {
                    println!("READY");
                    announced = true;
                }
            }
        }
        "lock" | "lock-no-advisory" => {
            let mut b = backend(dir, "p");
            if mode == "lock-no-advisory" {
                b = b.without_advisory_locks();
            }
            let _held = b.lock("apply").unwrap();
            println!("LOCKED");
            while Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

/// Kills the child on drop, so a failing assertion does not leave it running.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn_child(mode: &str, dir: &Path) -> (ChildGuard, BufReader<ChildStdout>) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "state::tests::child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_MODE, mode)
        .env(CHILD_DIR, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    (ChildGuard(Some(child)), out)
}

fn wait_for(out: &mut BufReader<ChildStdout>, marker: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "child exited before printing {marker}"
        );
        // The test harness prints `test … ` before the child's own output, on the same line.
        if line.trim_end().ends_with(marker) {
            return;
        }
    }
}

fn kill9(mut guard: ChildGuard) {
    let mut child = guard.0.take().unwrap();
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
}

/// A writer killed at random moments leaves the previous or the next complete state.
#[test]
fn kill_9_during_writes_never_tears_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path(), "crash");
    let mut last_serial = 0;
    for round in 0..20 {
        let (child, mut out) = spawn_child("writer", dir.path());
        wait_for(&mut out, "READY");
        let jitter = u64::from_str_radix(&random_hex(1), 16).unwrap() % 8;
        std::thread::sleep(Duration::from_millis(jitter));
        kill9(child);

        let s = b
            .load()
            .unwrap_or_else(|e| panic!("round {round}: {e}"))
            .expect("state exists");
        assert_eq!(
            s.serial,
            s.resources.len() as u64,
            "round {round}: complete state"
        );
        for (i, (rid, r)) in s.resources.iter().enumerate() {
            assert_eq!(rid.as_str(), format!("r{i:06}"));
            assert_eq!(r.attrs.get("n"), Some(&Value::Int(i as i64)));
            assert_eq!(
                r.attrs.get("payload").and_then(Value::as_str).map(str::len),
                Some(i * 37)
            );
            assert!(matches!(
                r.attrs.get("password"),
                Some(Value::Secret(Secret::Sealed(_)))
            ));
        }
        assert!(s.serial >= last_serial, "round {round}: serial went back");
        last_serial = s.serial;
        if b.backup_path().exists() {
            let backup: State =
                serde_json::from_slice(&std::fs::read(b.backup_path()).unwrap()).unwrap();
            assert!(
                backup.serial <= s.serial && backup.serial + 1 >= s.serial,
                "round {round}"
            );
        }
    }
    assert!(last_serial > 0);
    // Temporaries cut short by the kills are cleaned up by the next lock.
    drop(b.lock("apply").unwrap());
    let tmp = std::fs::read_dir(b.dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp.")
        })
        .count();
    assert_eq!(tmp, 0);
}

/// The kernel drops the advisory lock of a process killed with SIGKILL: nothing blocks after.
#[test]
fn lock_of_a_killed_holder_does_not_block() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path(), "p");
    let (child, mut out) = spawn_child("lock", dir.path());
    wait_for(&mut out, "LOCKED");
    let pid = child.id();
    let err = b.lock("apply").unwrap_err();
    let StateError::Locked {
        holder: Some(h), ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(h.pid, pid);
    assert_eq!(b.current_lock().unwrap().map(|i| i.pid), Some(pid));
    kill9(child);
    assert!(
        b.lock_path().exists(),
        "the killed holder could not remove its file"
    );
    assert_eq!(
        b.current_lock().unwrap(),
        None,
        "but it is no lock any more"
    );
    let l = b.lock("apply").unwrap();
    assert_eq!(l.info().pid, std::process::id());
}

/// Without advisory locks, a killed holder's lock stays until force-unlock.
#[test]
fn without_advisory_locks_force_unlock_clears_a_dead_holder() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path(), "p").without_advisory_locks();
    let (child, mut out) = spawn_child("lock-no-advisory", dir.path());
    wait_for(&mut out, "LOCKED");
    kill9(child);
    let err = b.lock("apply").unwrap_err();
    let StateError::Locked {
        holder: Some(h), ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert!(matches!(
        b.force_unlock("wrong"),
        Err(StateError::LockIdMismatch { .. })
    ));
    b.force_unlock(&h.id).unwrap();
    let l = b.lock("apply").unwrap();
    assert!(b.lock("apply").is_err());
    drop(l);
    assert!(!b.lock_path().exists());
}

/// Not an assertion, a measurement: `cargo test --lib persist_timing -- --ignored --nocapture`.
#[test]
#[ignore]
fn persist_timing() {
    let dir = tempfile::tempdir_in(".").unwrap();
    let b = backend(dir.path(), "bench");
    let mut s = State::new("bench");
    for n in [10usize, 100, 1000] {
        while s.resources.len() < n {
            let i = s.resources.len();
            let attrs = Value::map([
                ("chart", Value::str("strimzi-kafka-operator")),
                ("values", Value::str("x".repeat(500))),
                ("password", Value::secret(format!("pw{i}"))),
            ]);
            s.record(id(&format!("r{i:06}")), rs("helm.release", attrs));
        }
        let rounds = 50;
        let t = Instant::now();
        for _ in 0..rounds {
            s.serial += 1;
            b.persist(&s).unwrap();
        }
        let per = t.elapsed() / rounds;
        let size = std::fs::metadata(b.state_path()).unwrap().len();
        let t = Instant::now();
        b.load().unwrap();
        eprintln!(
            "{n} resources, {size} bytes: persist {per:?}, load {:?}",
            t.elapsed()
        );
    }
}
