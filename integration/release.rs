//! The release path as a user meets it: the linux x86_64 archive is packaged by the same script
//! the release workflow runs (`release/package.sh`, here over the binary this test run built),
//! its layout and SHA-256 file are checked, `install.sh` installs it from a local file server into
//! a temporary prefix, and the installed binary runs `init` and `plan` in an empty directory.
//! A tampered archive, and a checksum file naming another asset, are refused with nothing installed.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

const TARGET: &str = "x86_64-unknown-linux-gnu";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    eprintln!(
        "$ {cmd:?}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn package(out: &Path) -> PathBuf {
    let o = run(Command::new(repo().join("release/package.sh"))
        .arg(TARGET)
        .arg(env!("CARGO_BIN_EXE_alpaka"))
        .arg(out));
    assert!(o.status.success(), "package.sh failed");
    out.join(format!("alpaka-{TARGET}.tar.gz"))
}

/// A file server on loopback answering the release paths (`/download/vV/NAME`,
/// `/latest/download/NAME`) from `dir`, 404 otherwise; it lives as long as the test process.
fn serve(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let file = match parts.as_slice() {
                ["download", v, name] if v.starts_with('v') => Some(*name),
                ["latest", "download", name] => Some(*name),
                _ => None,
            };
            let body = file
                .filter(|n| !n.contains(".."))
                .and_then(|n| std::fs::read(dir.join(n)).ok());
            let _ = match body {
                Some(b) => stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            b.len()
                        )
                        .as_bytes(),
                    )
                    .and_then(|()| stream.write_all(&b)),
                None => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    format!("http://{addr}")
}

fn install(base: &str, prefix: &Path, version: Option<&str>) -> Output {
    let mut c = Command::new("sh");
    c.arg(repo().join("install.sh"))
        .args(["--base-url", base, "--prefix"])
        .arg(prefix)
        .env("HOME", prefix);
    if let Some(v) = version {
        c.args(["--version", v]);
    }
    run(&mut c)
}

fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[test]
fn the_archive_installs_and_plans_and_a_tampered_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    let archive = package(&dist);

    // Layout: exactly the binary, three completions, the man page and the README.
    let o = run(Command::new("tar").arg("-tzf").arg(&archive));
    assert!(o.status.success());
    let entries: BTreeSet<String> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim_end_matches('/').to_owned())
        .collect();
    let d = format!("alpaka-{TARGET}");
    let want: BTreeSet<String> = [
        "",
        "/alpaka",
        "/README.md",
        "/completions",
        "/completions/alpaka.bash",
        "/completions/_alpaka",
        "/completions/alpaka.fish",
        "/man",
        "/man/alpaka.1",
    ]
    .iter()
    .map(|s| format!("{d}{s}"))
    .collect();
    assert_eq!(entries, want);

    // The checksum file: "HASH  NAME", HASH the archive's SHA-256.
    let sums =
        std::fs::read_to_string(dist.join(format!("alpaka-{TARGET}.tar.gz.sha256"))).unwrap();
    let hash = format!("{:x}", Sha256::digest(std::fs::read(&archive).unwrap()));
    assert_eq!(sums, format!("{hash}  alpaka-{TARGET}.tar.gz\n"));

    // install.sh from a local server: the named version, then "latest".
    let base = serve(dist.clone());
    let prefix = tmp.path().join("prefix");
    let o = install(&base, &prefix, Some(&version()));
    assert!(o.status.success(), "install.sh failed");
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("checksum ok"), "{said}");
    for f in [
        "bin/alpaka",
        "share/man/man1/alpaka.1",
        "share/bash-completion/completions/alpaka",
        "share/zsh/site-functions/_alpaka",
        "share/fish/vendor_completions.d/alpaka.fish",
    ] {
        assert!(prefix.join(f).is_file(), "{f} not installed");
    }
    let o = install(&base, &tmp.path().join("prefix-latest"), None);
    assert!(o.status.success(), "install.sh (latest) failed");

    // The installed binary names its commit, and plans from an empty directory after `init`.
    let bin = prefix.join("bin/alpaka");
    let o = run(Command::new(&bin).arg("--version"));
    let v = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        v.starts_with(&format!("alpaka {} (commit ", version())) && v.contains(", built "),
        "{v}"
    );
    let ws = tmp.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let plain = |c: &mut Command| {
        c.current_dir(&ws)
            .env("NO_COLOR", "1")
            .env("PATH", ws.join("no-tools"))
            .env_remove("ALPAKA_ROOT")
            .env_remove("ALPAKA_PROFILE");
    };
    let mut c = Command::new(&bin);
    c.arg("plan");
    plain(&mut c);
    let o = run(&mut c);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("alpaka init"));
    let mut c = Command::new(&bin);
    c.arg("init");
    plain(&mut c);
    assert!(run(&mut c).status.success());
    let mut c = Command::new(&bin);
    c.arg("plan");
    plain(&mut c);
    let o = run(&mut c);
    assert!(o.status.success(), "plan from the installed binary failed");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("minikube.cluster.minikube will be created")
    );

    // A tampered archive: refused, nothing installed.
    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(bad.join(format!("alpaka-{TARGET}.tar.gz")), bytes).unwrap();
    std::fs::copy(
        dist.join(format!("alpaka-{TARGET}.tar.gz.sha256")),
        bad.join(format!("alpaka-{TARGET}.tar.gz.sha256")),
    )
    .unwrap();
    let bad_prefix = tmp.path().join("bad-prefix");
    let o = install(&serve(bad), &bad_prefix, Some(&version()));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("checksum mismatch"));
    assert!(!bad_prefix.join("bin/alpaka").exists());

    // A checksum file for another asset: refused too.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(&archive, other.join(format!("alpaka-{TARGET}.tar.gz"))).unwrap();
    std::fs::write(
        other.join(format!("alpaka-{TARGET}.tar.gz.sha256")),
        format!("{hash}  alpaka-aarch64-apple-darwin.tar.gz\n"),
    )
    .unwrap();
    let other_prefix = tmp.path().join("other-prefix");
    let o = install(&serve(other), &other_prefix, Some(&version()));
    assert!(!o.status.success());
    assert!(!other_prefix.join("bin/alpaka").exists());
}

/// The workflow's packaging step and the tested one are one script, and the workflow publishes
/// what install.sh and cargo-binstall look for.
#[test]
fn the_workflow_and_binstall_name_the_tested_assets() {
    let wf = std::fs::read_to_string(repo().join(".github/workflows/release.yml")).unwrap();
    assert!(wf.contains("release/package.sh"));
    assert!(wf.contains("install.sh"));
    for t in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
    ] {
        assert!(wf.contains(t), "{t} missing from the release matrix");
    }
    let cargo = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    assert!(cargo.contains("/releases/download/v{ version }/alpaka-{ target }.tar.gz"));
    let install = std::fs::read_to_string(repo().join("install.sh")).unwrap();
    assert!(install.contains("$base_url/download/v$version/$asset"));
}
