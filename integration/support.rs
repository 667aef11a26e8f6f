//! Shared by the end-to-end tests that drive the real binary in a throwaway workspace with the
//! recording fakes on PATH (`#[path = "support.rs"] mod support;`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Asserts that `kcat` on PATH is the tool image's: kcat on librdkafka 2.8.0 (Debian trixie's,
/// `images/Dockerfile.tool`). Debian 12's librdkafka 2.0.2 cannot log in with SCRAM to Kafka 4
/// (it repeats the client nonce in the client-final-message, which Kafka 4 checks as RFC 5802
/// says: confluentinc/librdkafka#4895, fixed in 2.6.1; edenhill/kcat#462); `integration/kcat.sh`
/// makes the right one and `integration/test.sh` puts it first on PATH.
pub fn assert_tool_kcat() {
    let v = std::process::Command::new("kcat")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(
        v.contains("librdkafka 2.8.0 "),
        "kcat on PATH must be the tool image's (librdkafka 2.8.0): put `integration/kcat.sh`'s \
         directory first on PATH (integration/test.sh does); kcat -V said: {v:?}"
    );
}

/// Copies the shipped profiles and configs into `root`.
pub fn copy_workspace(root: &Path) {
    for sub in ["profiles", "configs", "policies"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
        for e in std::fs::read_dir(repo().join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), root.join(sub).join(e.file_name())).unwrap();
        }
    }
}

/// `root/bin/<tool>` wrappers running `integration/fakes/<tool>` with `python`.
pub fn fake_tools(root: &Path, python: &str, tools: &[&str]) {
    use std::os::unix::fs::PermissionsExt;
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for t in tools {
        let p = bin.join(t);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\nexec '{python}' '{}' \"$@\"\n",
                repo().join("integration/fakes").join(t).display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The binary in workspace `root`: its own HOME (kubeconfig), only the fakes on PATH, the fakes'
/// log and state under `root`, and AWS pinned to a closed loopback port (no test reaches AWS).
pub fn alpaka(root: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("alpaka"));
    c.env("ALPAKA_ROOT", root)
        .env_remove("ALPAKA_PROFILE")
        .env_remove("KUBECONFIG")
        .env("HOME", root)
        .env("NO_COLOR", "1")
        .env("PATH", root.join("bin"))
        .env("ALPAKA_FAKE_LOG", root.join("fake.log"))
        .env("ALPAKA_FAKE_STATE", root.join("fake-state"))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(root);
    c
}

/// Exit code, stdout, stderr.
pub fn output(mut c: std::process::Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
