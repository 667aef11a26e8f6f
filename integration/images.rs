//! `images/`: build.sh run against the recording fakes of docker, k3d and minikube
//! (`integration/fakes/`), asserting the exact calls it makes; its checksum sources
//! (`images/sources.sh`) against stand-ins of the download hosts and of what their publishers state
//! (`integration/standins/artifact_hosts.py`: Maven Central's `.sha512`/`.sha1` files, dl.k8s.io's
//! `.sha256`, Confluent Hub's plugin manifest, a GitHub file at a commit), reached through
//! `ALPAKA_IMAGES_HOSTS_BASE` with the real URLs everywhere else; and the stack referencing the very
//! tags `images/versions.env` declares. No test runs a real `docker build`: there is no Docker
//! engine on the test machines; `images/fetch.sh`, the download step inside it, runs here on its
//! own. The Dockerfiles are linted by hadolint in `integration/test.sh`.
//!
//! No checksum here is invented: the archives are random bytes each test generates, and the
//! "published" values are the stand-in publishers' statements about those bytes (computed with
//! Python's hashlib, not with the tools the scripts use).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use assert_cmd::Command;
use tempfile::TempDir;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn versions() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo().join("images/versions.env")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("not KEY=value: {l}"));
            assert!(
                !v.contains([' ', '"', '\'', '$']),
                "versions.env values are plain words: {l}"
            );
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn v(key: &str) -> String {
    versions()
        .get(key)
        .unwrap_or_else(|| panic!("{key} missing from images/versions.env"))
        .clone()
}

/// One download of an image, as the Dockerfile fetches it.
struct Artifact {
    image: &'static str,
    key: &'static str,
    url: String,
}

/// Every artifact of every image, in images/artifacts.sh's order (the order of the build args).
fn artifacts() -> Vec<Artifact> {
    let k = v("KUBECTL_VERSION");
    let d = v("DEBEZIUM_VERSION");
    let kubectl = |arch: &str| format!("https://dl.k8s.io/release/{k}/bin/linux/{arch}/kubectl");
    let debezium = |db: &str| {
        format!(
            "https://repo1.maven.org/maven2/io/debezium/debezium-connector-{db}/{d}/debezium-connector-{db}-{d}-plugin.tar.gz"
        )
    };
    let a = |image, key, url| Artifact { image, key, url };
    vec![
        a("tool", "KUBECTL_SUM_AMD64", kubectl("amd64")),
        a("tool", "KUBECTL_SUM_ARM64", kubectl("arm64")),
        a("connect-jdbc", "DEBEZIUM_MYSQL_SUM", debezium("mysql")),
        a(
            "connect-jdbc",
            "DEBEZIUM_SQLSERVER_SUM",
            debezium("sqlserver"),
        ),
        a("connect-jdbc", "CONFLUENT_JDBC_SUM", jdbc_url()),
        a("connect-s3", "CONFLUENT_S3_SUM", s3_url()),
    ]
}

fn artifact(key: &str) -> Artifact {
    artifacts()
        .into_iter()
        .find(|a| a.key == key)
        .unwrap_or_else(|| panic!("no artifact {key}"))
}

fn jdbc_url() -> String {
    let ver = v("CONFLUENT_JDBC_VERSION");
    format!(
        "https://hub-downloads.confluent.io/api/plugins/confluentinc/kafka-connect-jdbc/versions/{ver}/confluentinc-kafka-connect-jdbc-{ver}.zip"
    )
}

fn s3_url() -> String {
    let ver = v("CONFLUENT_S3_VERSION");
    format!(
        "https://hub-downloads.confluent.io/api/plugins/confluentinc/kafka-connect-s3/versions/{ver}/confluentinc-kafka-connect-s3-{ver}.zip"
    )
}

/// A line of a checksums file: `<value> <algo> <artifact-url> <source>`.
struct Line {
    value: String,
    algo: String,
    url: String,
    source: String,
}

fn parse_line(l: &str) -> Option<Line> {
    let l = l.trim();
    if l.is_empty() || l.starts_with('#') {
        return None;
    }
    let f: Vec<&str> = l.split_whitespace().collect();
    assert_eq!(f.len(), 4, "not `<value> <algo> <url> <source>`: {l}");
    Some(Line {
        value: f[0].into(),
        algo: f[1].into(),
        url: f[2].into(),
        source: f[3].into(),
    })
}

fn repo_checksums() -> String {
    std::fs::read_to_string(repo().join("images/checksums.txt")).unwrap()
}

/// `images/checksums.txt` with every value replaced by `value(line)`, comments kept.
fn rewrite_values(text: &str, mut value: impl FnMut(&Line) -> String) -> String {
    let mut out = String::new();
    for l in text.lines() {
        match parse_line(l) {
            Some(line) => out.push_str(&format!(
                "{} {} {} {}\n",
                value(&line),
                line.algo,
                line.url,
                line.source
            )),
            None => {
                out.push_str(l);
                out.push('\n');
            }
        }
    }
    out
}

/// md5, sha1, sha256 and sha512 of each file, by Python's hashlib.
fn digests(files: &[&Path]) -> Vec<BTreeMap<String, String>> {
    let out = std::process::Command::new(python())
        .args([
            "-c",
            "import hashlib, json, sys\n\
             print(json.dumps([{a: hashlib.new(a, open(p, 'rb').read()).hexdigest()\n\
                                for a in ('md5', 'sha1', 'sha256', 'sha512')} for p in sys.argv[1:]]))",
        ])
        .args(files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn random_file(p: &Path) {
    let mut bytes = vec![0u8; 4096];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// artifact_hosts.py, serving what `World::publish` writes into its config.
struct Hosts {
    child: Child,
    base: String,
}

impl Drop for Hosts {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The raw.githubusercontent.com file the repository's Debezium MD5 lines cite.
fn debezium_source_file() -> String {
    let text = repo_checksums();
    let src = text
        .lines()
        .filter_map(parse_line)
        .find(|l| l.source.starts_with("https://raw.githubusercontent.com/"))
        .expect("a Debezium MD5 line citing a GitHub file")
        .source;
    src.split_once('#').unwrap().0.to_owned()
}

/// A bin/ holding only the chosen fakes (plus the tools build.sh uses), a log, a state dir, and
/// stand-ins of the download hosts publishing random archives for every artifact.
struct World {
    dir: TempDir,
    hosts: Hosts,
    /// What the hosts serve, by real URL.
    served: BTreeMap<String, PathBuf>,
    /// What each publisher states, by artifact URL (md5, sha1, sha256, sha512, with_name).
    stated: BTreeMap<String, BTreeMap<String, String>>,
}

impl World {
    fn new(tools: &[&str]) -> World {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        std::fs::create_dir_all(dir.path().join("served")).unwrap();
        let py = python();
        for t in tools {
            // Absolute paths, so PATH can hold nothing but this bin/.
            let script = repo().join("integration/fakes").join(t);
            write_exec(
                &bin.join(t),
                &format!("#!/bin/sh\nexec '{py}' '{}' \"$@\"\n", script.display()),
            );
        }
        // What build.sh, sources.sh and fetch.sh run; never docker or a cluster tool from the host.
        for t in [
            "bash",
            "dirname",
            "cat",
            "curl",
            "jq",
            "md5sum",
            "sha1sum",
            "sha256sum",
            "sha512sum",
            "mktemp",
            "cut",
            "tr",
            "grep",
            "sed",
            "awk",
            "sort",
            "cp",
            "mv",
            "rm",
        ] {
            let found = std::fs::canonicalize(which(t)).unwrap();
            std::os::unix::fs::symlink(found, bin.join(t)).unwrap();
        }
        // The stand-in hosts; their config is written before every use.
        let config = dir.path().join("hosts.json");
        std::fs::write(&config, "{}").unwrap();
        let mut child = std::process::Command::new(&py)
            .arg(repo().join("integration/standins/artifact_hosts.py"))
            .arg("--config")
            .arg(&config)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        let base = ready
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("artifact_hosts.py said {ready:?}"))
            .to_owned();
        let mut w = World {
            dir,
            hosts: Hosts { child, base },
            served: BTreeMap::new(),
            stated: BTreeMap::new(),
        };
        let all = artifacts();
        let paths: Vec<PathBuf> = all
            .iter()
            .map(|a| w.dir.path().join("served").join(a.key))
            .collect();
        for (a, p) in all.iter().zip(&paths) {
            random_file(p);
            w.served.insert(a.url.clone(), p.clone());
        }
        let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        for (a, d) in all.iter().zip(digests(&refs)) {
            w.stated.insert(a.url.clone(), d);
        }
        // Central serves some checksum files as a `sha512sum` line: `<hex>  <file name>`.
        w.stated
            .get_mut(&artifact("DEBEZIUM_MYSQL_SUM").url)
            .unwrap()
            .insert("with_name".into(), "true".into());
        w.publish();
        // The checksums file every build uses: the repository's lines, every value pending.
        std::fs::write(w.checksums(), pending_checksums()).unwrap();
        w
    }

    /// Makes URL's publisher state the digests of the bytes in `published`.
    fn state_digests_of(&mut self, url: &str, published: &Path) {
        let d = digests(&[published]).remove(0);
        let entry = self.stated.entry(url.to_owned()).or_default();
        entry.extend(d);
    }

    /// Writes the hosts' config: the served files, the statements, and the Debezium project's
    /// Dockerfile (at the commit the repository cites) stating the MD5s of the Debezium archives.
    fn publish(&self) {
        let md5 = |key: &str| self.stated[&artifact(key).url]["md5"].clone();
        let gh = self.dir.path().join("served/debezium-Dockerfile");
        std::fs::write(
            &gh,
            format!(
                "ENV DEBEZIUM_VERSION=\"{}\" \\\n    MAVEN_REPO_CENTRAL=\"\" \\\n    MYSQL_MD5={} \\\n    SQLSERVER_MD5={}\n",
                v("DEBEZIUM_VERSION"),
                md5("DEBEZIUM_MYSQL_SUM"),
                md5("DEBEZIUM_SQLSERVER_SUM")
            ),
        )
        .unwrap();
        let mut files: BTreeMap<String, PathBuf> = self.served.clone();
        files.insert(debezium_source_file(), gh);
        let stated: BTreeMap<&String, serde_json::Value> = self
            .stated
            .iter()
            .map(|(url, d)| {
                let mut m = serde_json::Map::new();
                for (k, v) in d {
                    let v = if k == "with_name" {
                        serde_json::Value::Bool(v == "true")
                    } else {
                        serde_json::Value::String(v.clone())
                    };
                    m.insert(k.clone(), v);
                }
                (url, serde_json::Value::Object(m))
            })
            .collect();
        let config = serde_json::json!({
            "log": self.dir.path().join("requests.log"),
            "files": files,
            "statements": stated,
        });
        std::fs::write(
            self.dir.path().join("hosts.json"),
            serde_json::to_vec_pretty(&config).unwrap(),
        )
        .unwrap();
    }

    fn checksums(&self) -> PathBuf {
        self.dir.path().join("checksums.txt")
    }

    fn checksums_text(&self) -> String {
        std::fs::read_to_string(self.checksums()).unwrap()
    }

    /// The repository's checksums.txt with each value as this world's publishers state it.
    fn recorded_checksums(&self) -> String {
        rewrite_values(&repo_checksums(), |l| self.stated[&l.url][&l.algo].clone())
    }

    /// The `<algo>:<hex>` build.sh passes for URL: the strongest algorithm its lines pin.
    fn sum_arg(&self, url: &str) -> String {
        let algo = repo_checksums()
            .lines()
            .filter_map(parse_line)
            .filter(|l| l.url == url)
            .map(|l| l.algo)
            .max_by_key(|a| {
                ["md5", "sha1", "sha256", "sha512"]
                    .iter()
                    .position(|x| x == a)
            })
            .unwrap_or_else(|| panic!("no line for {url}"));
        format!("{algo}:{}", self.stated[url][&algo])
    }

    /// The hosts' request log since the last clear: `GET <real url> <status>`.
    fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("requests.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("fake.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.replace(&format!("{}/", repo().display()), ""))
            .collect()
    }

    fn clear_log(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("fake.log"));
        let _ = std::fs::remove_file(self.dir.path().join("requests.log"));
    }

    fn env(&self, c: &mut Command) {
        c.env_clear()
            .env("PATH", self.dir.path().join("bin"))
            .env("TMPDIR", self.dir.path().join("tmp"))
            .env("ALPAKA_FAKE_LOG", self.dir.path().join("fake.log"))
            .env("ALPAKA_FAKE_STATE", self.dir.path().join("state"))
            .env("ALPAKA_IMAGES_CHECKSUMS", self.checksums())
            .env("ALPAKA_IMAGES_HOSTS_BASE", &self.hosts.base)
            .env("PYTHONDONTWRITEBYTECODE", "1");
    }

    fn build_sh(&self, args: &[&str]) -> Command {
        let mut c = Command::new(repo().join("images/build.sh"));
        self.env(&mut c);
        c.args(args);
        c
    }

    fn pin_sh(&self, args: &[&str]) -> Command {
        let mut c = Command::new(repo().join("images/pin.sh"));
        self.env(&mut c);
        c.args(args);
        c
    }

    /// images/fetch.sh as the Dockerfiles run it: `fetch URL ALGO:HEX OUT`.
    fn fetch_sh(&self, url: &str, sum: &str, out: &Path) -> Command {
        let mut c = Command::new("/bin/sh");
        self.env(&mut c);
        c.arg(repo().join("images/fetch.sh"))
            .args([url, sum])
            .arg(out);
        c
    }

    fn fake(&self, tool: &str, args: &[&str]) {
        Command::new(self.dir.path().join("bin").join(tool))
            .env("PATH", self.dir.path().join("bin"))
            .env("ALPAKA_FAKE_LOG", self.dir.path().join("fake.log"))
            .env("ALPAKA_FAKE_STATE", self.dir.path().join("state"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .args(args)
            .assert()
            .success();
    }

    /// Nothing left in TMPDIR (downloads, statements) nor beside the checksums file.
    fn assert_no_leftovers(&self) {
        let tmp: Vec<_> = std::fs::read_dir(self.dir.path().join("tmp"))
            .unwrap()
            .collect();
        assert!(tmp.is_empty(), "left in TMPDIR: {tmp:?}");
        let beside: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("checksums.txt."))
            .collect();
        assert!(beside.is_empty(), "left beside checksums.txt: {beside:?}");
    }

    /// The exact `docker build` line build.sh must log for an image.
    fn build_line(&self, image: &str) -> String {
        let base = format!(
            "--build-arg STRIMZI_KAFKA_IMAGE={} --build-arg STRIMZI_KAFKA_TAG={} --build-arg DEBIAN_TAG={}",
            v("STRIMZI_KAFKA_IMAGE"),
            v("STRIMZI_KAFKA_TAG"),
            v("DEBIAN_TAG")
        );
        let versions = match image {
            "tool" => format!("--build-arg KUBECTL_VERSION={}", v("KUBECTL_VERSION")),
            "connect-jdbc" => format!(
                "--build-arg DEBEZIUM_VERSION={} --build-arg CONFLUENT_JDBC_VERSION={}",
                v("DEBEZIUM_VERSION"),
                v("CONFLUENT_JDBC_VERSION")
            ),
            _ => format!(
                "--build-arg CONFLUENT_S3_VERSION={}",
                v("CONFLUENT_S3_VERSION")
            ),
        };
        let sums: Vec<String> = artifacts()
            .into_iter()
            .filter(|a| a.image == image)
            .map(|a| format!("--build-arg {}={}", a.key, self.sum_arg(&a.url)))
            .collect();
        // World::log() shortens the repository's paths to repository-relative ones.
        format!(
            "docker build -f images/Dockerfile.{image} -t {} {base} {versions} {} images",
            reference(image),
            sums.join(" ")
        )
    }
}

/// The repository's checksums.txt with every value `pending`: what a first build starts from.
fn pending_checksums() -> String {
    rewrite_values(&repo_checksums(), |_| "pending".into())
}

fn write_exec(p: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The interpreter itself (not a pyenv shim, which costs a start-up per call), asked once.
fn python() -> String {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let out = std::process::Command::new("python3")
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .expect("python3 is needed by the fakes");
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        })
        .clone()
}

fn which(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap();
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} not on PATH"))
}

fn reference(image: &str) -> String {
    let (name, tag) = match image {
        "tool" => (v("TOOL_IMAGE"), v("TOOL_TAG")),
        "connect-jdbc" => (v("CONNECT_JDBC_IMAGE"), v("CONNECT_TAG")),
        _ => (v("CONNECT_S3_IMAGE"), v("CONNECT_TAG")),
    };
    format!("{}/{name}:{tag}", v("IMAGE_REGISTRY"))
}

fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stderr.clone()).unwrap()
}

fn stdout_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

const ALL: [&str; 3] = ["tool", "connect-jdbc", "connect-s3"];
#[test]
fn builds_all_three_by_default() {
    let w = World::new(&["docker"]);
    w.build_sh(&[]).assert().success();
    let want: Vec<String> = ALL.iter().map(|i| w.build_line(i)).collect();
    assert_eq!(w.log(), want);
}

#[test]
fn loads_into_the_profiles_k3d_cluster() {
    let w = World::new(&["docker", "k3d"]);
    w.fake("k3d", &["cluster", "create", "alpaka-dev"]);
    w.clear_log();
    w.build_sh(&["--load", "k3d", "--profile", "dev"])
        .assert()
        .success();
    let mut want = Vec::new();
    for i in ALL {
        want.push(w.build_line(i));
        want.push(format!("k3d image import -c alpaka-dev {}", reference(i)));
    }
    assert_eq!(w.log(), want);
}

#[test]
fn loads_into_the_default_minikube_profile() {
    let w = World::new(&["docker", "minikube"]);
    w.fake("minikube", &["start", "-p", "alpaka-minikube"]);
    w.clear_log();
    w.build_sh(&["--load", "minikube", "tool"])
        .assert()
        .success();
    assert_eq!(
        w.log(),
        [
            w.build_line("tool"),
            format!(
                "minikube -p alpaka-minikube image load {}",
                reference("tool")
            ),
        ]
    );
}

#[test]
fn a_missing_cluster_fails_the_load() {
    let w = World::new(&["docker", "k3d"]);
    w.build_sh(&["--load", "k3d", "tool"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("alpaka-k3d"));
}

#[test]
fn pushes_to_the_configured_registry() {
    let w = World::new(&["docker"]);
    let out = w
        .build_sh(&["--push", "tool", "connect-s3"])
        .assert()
        .success();
    assert_eq!(
        w.log(),
        [
            w.build_line("tool"),
            format!("docker push {}", reference("tool")),
            w.build_line("connect-s3"),
            format!("docker push {}", reference("connect-s3")),
        ]
    );
    // The config already references IMAGE_REGISTRY: no overrides to print.
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(!stdout.contains("overrides"), "{stdout}");
}

#[test]
fn pushes_to_another_registry_and_prints_the_overrides() {
    let w = World::new(&["docker"]);
    let out = w
        .build_sh(&["--push", "registry.example.com/team"])
        .assert()
        .success();
    let mut want = Vec::new();
    for i in ALL {
        let retagged = reference(i).replace(&v("IMAGE_REGISTRY"), "registry.example.com/team");
        want.push(w.build_line(i));
        want.push(format!("docker tag {} {retagged}", reference(i)));
        want.push(format!("docker push {retagged}"));
    }
    assert_eq!(w.log(), want);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let tool = format!(
        "  tool:\n    container:\n      image: registry.example.com/team/{}\n      tag: \"{}\"\n",
        v("TOOL_IMAGE"),
        v("TOOL_TAG")
    );
    let srccon = format!(
        "    - type: srccon\n      container:\n        image: registry.example.com/team/{}\n        tag: \"{}\"\n",
        v("CONNECT_JDBC_IMAGE"),
        v("CONNECT_TAG")
    );
    assert!(stdout.contains(&tool), "{stdout}");
    assert!(stdout.contains(&srccon), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "registry.example.com/team/{}",
            v("CONNECT_S3_IMAGE")
        )),
        "{stdout}"
    );
}

#[test]
fn an_unknown_image_is_a_usage_error() {
    let w = World::new(&["docker"]);
    w.build_sh(&["tool", "connect-jbdc"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "unknown image 'connect-jbdc' (known: tool connect-jdbc connect-s3)",
        ));
    assert_eq!(w.log(), Vec::<String>::new());
    w.build_sh(&["--load", "kind"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--load: unknown target 'kind'"));
    w.build_sh(&["--profile", "dev"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--profile only applies with --load",
        ));
}

#[test]
fn missing_docker_is_named() {
    let w = World::new(&[]);
    w.build_sh(&["tool"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("docker not found on PATH"));
}

#[test]
fn help_prints_usage() {
    let w = World::new(&[]);
    w.build_sh(&["--help"])
        .assert()
        .success()
        .stdout(predicates::str::contains("Usage: images/build.sh"));
}

// ---- Checksums: every artifact pinned from, and checked against, what its publisher states. ----

/// The Must-show of issue 12: `--dry-run` on the repository's own checksums.txt names a checksum
/// source for every artifact of the three images, fetching nothing and building nothing.
#[test]
fn dry_run_resolves_every_artifact_to_a_checksum_source() {
    let w = World::new(&[]);
    let mut c = w.build_sh(&["--dry-run"]);
    c.env(
        "ALPAKA_IMAGES_CHECKSUMS",
        repo().join("images/checksums.txt"),
    );
    let out = c.assert().success();
    let stdout = stdout_of(&out);
    assert!(w.requests().is_empty(), "fetched: {:?}", w.requests());
    assert!(w.log().is_empty(), "ran: {:?}", w.log());
    // Each image, then each of its artifacts, then the artifact's sources.
    let mut sections: BTreeMap<String, String> = BTreeMap::new();
    let mut current = String::new();
    for l in stdout.lines() {
        if !l.starts_with(' ') {
            current = l.to_owned();
        }
        sections
            .entry(current.clone())
            .or_default()
            .push_str(&format!("{l}\n"));
    }
    let text = repo_checksums();
    let lines: Vec<Line> = text.lines().filter_map(parse_line).collect();
    for a in artifacts() {
        let section = sections
            .get(a.image)
            .unwrap_or_else(|| panic!("no section {}:\n{stdout}", a.image));
        let header = format!("  {} {}\n", a.key, a.url);
        let at = section
            .find(&header)
            .unwrap_or_else(|| panic!("{} missing under {}:\n{stdout}", a.key, a.image));
        let block: String = section[at + header.len()..]
            .lines()
            .take_while(|l| l.starts_with("    "))
            .map(|l| format!("{l}\n"))
            .collect();
        let mine: Vec<&Line> = lines.iter().filter(|l| l.url == a.url).collect();
        assert!(!mine.is_empty(), "no line in checksums.txt for {}", a.url);
        for l in mine {
            let want = if l.value == "pending" {
                format!(
                    "    {} to be pinned from {} at first build",
                    l.algo, l.source
                )
            } else {
                format!("    {} {} pinned; source {} (", l.algo, l.value, l.source)
            };
            assert!(block.contains(&want), "{want:?} not in:\n{block}");
        }
    }
    assert!(
        stdout.contains(&format!(
            "build.sh --dry-run: {} artifacts of 3 images, each with a checksum source",
            artifacts().len()
        )),
        "{stdout}"
    );
}

/// No value in images/checksums.txt lacks its source, and none is anything but a publisher's:
/// a checksum file beside the artifact, Confluent Hub's manifest of that very archive, or a file
/// at a fixed commit. Every artifact has a line (so nothing falls back on a host default).
#[test]
fn every_checksum_in_the_repository_names_its_source() {
    let text = repo_checksums();
    let lines: Vec<Line> = text.lines().filter_map(parse_line).collect();
    let hex_len = |a: &str| match a {
        "sha512" => 128,
        "sha256" => 64,
        "sha1" => 40,
        "md5" => 32,
        _ => panic!("unknown algorithm {a}"),
    };
    let commit = regex::Regex::new(
        r"^https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{40}/[^#]+#[A-Z0-9_]+$",
    )
    .unwrap();
    for l in &lines {
        assert!(
            l.value == "pending"
                || (l.value.len() == hex_len(&l.algo)
                    && l.value
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())),
            "{} {}: value {}",
            l.url,
            l.algo,
            l.value
        );
        let hub = l
            .url
            .strip_prefix("https://hub-downloads.confluent.io/api/plugins/")
            .and_then(|p| p.rsplit_once('/'))
            .map(|(dir, _)| format!("https://api.hub.confluent.io/api/plugins/{dir}"));
        let ok = l.source == format!("{}.{}", l.url, l.algo)
            || (hub.as_deref() == Some(l.source.as_str())
                && ["md5", "sha1"].contains(&l.algo.as_str()))
            || commit.is_match(&l.source);
        assert!(
            ok,
            "{} {}: {} is not a publisher's statement of it",
            l.url, l.algo, l.source
        );
        // Each line sits under a comment saying where it comes from.
        let at = text
            .find(&format!("{} {} {}", l.value, l.algo, l.url))
            .unwrap();
        assert!(text[..at].contains("\n# "), "{}: no comment above", l.url);
    }
    for a in artifacts() {
        assert!(
            lines.iter().any(|l| l.url == a.url),
            "{} ({}) has no line in images/checksums.txt",
            a.url,
            a.key
        );
    }
}

/// First build: every pending value is pinned from its publisher's statement after the download
/// matched all of them, written in place with its algorithm and source; the image is built with
/// the strongest pinned value of each artifact.
#[test]
fn the_first_build_pins_every_value_from_its_publisher() {
    let w = World::new(&["docker"]);
    let out = w.build_sh(&[]).assert().success();
    assert_eq!(w.checksums_text(), w.recorded_checksums());
    let want: Vec<String> = ALL.iter().map(|i| w.build_line(i)).collect();
    assert_eq!(w.log(), want);
    // Each archive was downloaded once, after every source of it was read.
    let requests = w.requests();
    for a in artifacts() {
        let gets: Vec<usize> = requests
            .iter()
            .enumerate()
            .filter(|(_, r)| **r == format!("GET {} 200", a.url))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(gets.len(), 1, "{}: {requests:#?}", a.url);
        for l in repo_checksums()
            .lines()
            .filter_map(parse_line)
            .filter(|l| l.url == a.url)
        {
            let read = format!("GET {} 200", l.source.split('#').next().unwrap());
            assert!(
                requests[..gets[0]].contains(&read),
                "{}: downloaded before {} was read: {requests:#?}",
                a.url,
                l.source
            );
        }
    }
    let stdout = stdout_of(&out);
    assert!(stdout.contains("pinned now from"), "{stdout}");
    w.assert_no_leftovers();
}

/// Second build: the record is checked against every source again (each must still state it),
/// nothing is downloaded or rewritten, and the image gets the recorded values; the download step
/// inside `docker build` (fetch.sh with that value) accepts the archive the host serves.
#[test]
fn the_second_build_checks_the_record_and_downloads_nothing() {
    let w = World::new(&["docker"]);
    w.build_sh(&[]).assert().success();
    let recorded = w.checksums_text();
    w.clear_log();
    let out = w.build_sh(&[]).assert().success();
    assert_eq!(
        w.checksums_text(),
        recorded,
        "the second build rewrote the record"
    );
    let want: Vec<String> = ALL.iter().map(|i| w.build_line(i)).collect();
    assert_eq!(w.log(), want);
    let sources: Vec<String> = recorded
        .lines()
        .filter_map(parse_line)
        .map(|l| format!("GET {} 200", l.source.split('#').next().unwrap()))
        .collect();
    for r in w.requests() {
        assert!(sources.contains(&r), "not a source read: {r}");
    }
    for s in &sources {
        assert!(w.requests().contains(s), "{s} was not read again");
    }
    let stdout = stdout_of(&out);
    assert!(!stdout.contains("pinned now"), "{stdout}");
    // fetch.sh, as the Dockerfile runs it with the build arg, downloads and keeps each archive.
    for a in artifacts() {
        let got = w.dir.path().join(format!("fetched-{}", a.key));
        w.fetch_sh(&a.url, &w.sum_arg(&a.url), &got)
            .assert()
            .success();
        assert_eq!(
            std::fs::read(&got).unwrap(),
            std::fs::read(&w.served[&a.url]).unwrap()
        );
    }
    w.assert_no_leftovers();
}

/// A tampered archive fails: at the first build (the download matches not what the publisher
/// states: nothing pinned, nothing built, nothing left behind), and later inside `docker build`
/// (fetch.sh with the recorded value: loud, and no file left at the output path).
#[test]
fn a_tampered_archive_fails() {
    let mut w = World::new(&["docker"]);
    let jdbc = artifact("CONFLUENT_JDBC_SUM");
    // The Hub states the digests of the genuine zip; the download host serves other bytes.
    let tampered = w.dir.path().join("served/tampered.zip");
    random_file(&tampered);
    let genuine = w.served.insert(jdbc.url.clone(), tampered.clone()).unwrap();
    w.publish();
    let out = w.build_sh(&["connect-jdbc"]).assert().code(1);
    let stderr = stderr_of(&out);
    let t = digests(&[&tampered]).remove(0);
    let manifest = format!(
        "https://api.hub.confluent.io/api/plugins/confluentinc/kafka-connect-jdbc/versions/{}",
        v("CONFLUENT_JDBC_VERSION")
    );
    for want in [
        format!(
            "CHECKSUM MISMATCH for {} (CONFLUENT_JDBC_SUM of connect-jdbc)",
            jdbc.url
        ),
        format!("{manifest} states md5 {}", w.stated[&jdbc.url]["md5"]),
        format!("the download is md5 {}", t["md5"]),
        "The download was discarded, not pinned; nothing was built.".into(),
    ] {
        assert!(stderr.contains(&want), "{want:?} not in:\n{stderr}");
    }
    assert_eq!(w.log(), Vec::<String>::new(), "nothing is built");
    let line = w
        .checksums_text()
        .lines()
        .find(|l| l.contains(&jdbc.url))
        .unwrap()
        .to_owned();
    assert!(line.starts_with("pending sha1 "), "{line}");
    w.assert_no_leftovers();

    // Pinned from the genuine zip; later the host serves the tampered one: the build arg makes
    // the download step inside docker build refuse it.
    w.served.insert(jdbc.url.clone(), genuine);
    w.publish();
    w.build_sh(&["connect-jdbc"]).assert().success();
    w.served.insert(jdbc.url.clone(), tampered);
    w.publish();
    let dl = w.dir.path().join("dl");
    std::fs::create_dir_all(&dl).unwrap();
    let out = w
        .fetch_sh(&jdbc.url, &w.sum_arg(&jdbc.url), &dl.join("jdbc.zip"))
        .assert()
        .code(1);
    let stderr = stderr_of(&out);
    let want = format!(
        "fetch: CHECKSUM MISMATCH for {}: images/checksums.txt pins sha1 {}, the download is sha1 {}",
        jdbc.url, w.stated[&jdbc.url]["sha1"], t["sha1"]
    );
    assert!(stderr.contains(&want), "{want:?} not in:\n{stderr}");
    let left: Vec<_> = std::fs::read_dir(&dl).unwrap().collect();
    assert!(left.is_empty(), "fetch.sh left {left:?}");
}

/// A publisher that states another value than the pin (here the Hub, restating the S3 zip) fails
/// the build before anything is built, and leaves the pin alone; so does pin.sh --write.
#[test]
fn a_publisher_value_that_disagrees_with_the_pin_fails() {
    let mut w = World::new(&["docker"]);
    w.build_sh(&[]).assert().success();
    let recorded = w.checksums_text();
    w.clear_log();
    let s3 = artifact("CONFLUENT_S3_SUM");
    let pinned = w.stated[&s3.url]["sha1"].clone();
    let other = w.dir.path().join("served/republished.zip");
    random_file(&other);
    w.state_digests_of(&s3.url, &other);
    w.publish();
    let out = w.build_sh(&["connect-s3"]).assert().code(1);
    let stderr = stderr_of(&out);
    for want in [
        format!(
            "CHECKSUM SOURCE DISAGREES WITH THE PIN for {} (CONFLUENT_S3_SUM of connect-s3)",
            s3.url
        ),
        format!("pins   sha1 {pinned}"),
        format!(
            "https://api.hub.confluent.io/api/plugins/confluentinc/kafka-connect-s3/versions/{} states sha1 {}",
            v("CONFLUENT_S3_VERSION"),
            w.stated[&s3.url]["sha1"]
        ),
        "Nothing was built".into(),
    ] {
        assert!(stderr.contains(&want), "{want:?} not in:\n{stderr}");
    }
    assert_eq!(w.log(), Vec::<String>::new(), "nothing is built");
    assert_eq!(w.checksums_text(), recorded);
    // pin.sh --write refuses the same way.
    w.pin_sh(&["--write", &s3.url])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "CHECKSUM SOURCE DISAGREES WITH THE PIN",
        ));
    assert_eq!(w.checksums_text(), recorded);
}

/// The repository's Debezium case: the MD5 pinned from Debezium's own Dockerfile, the SHA-512
/// pending from Maven Central, which states (and serves) an archive whose MD5 is not the one
/// Debezium published: not pinned, not built.
#[test]
fn a_download_that_disagrees_with_a_published_pin_is_not_pinned() {
    let mut w = World::new(&["docker"]);
    let mysql = artifact("DEBEZIUM_MYSQL_SUM");
    let genuine_md5 = w.stated[&mysql.url]["md5"].clone();
    let other = w.dir.path().join("served/other.tar.gz");
    random_file(&other);
    w.served.insert(mysql.url.clone(), other.clone());
    w.state_digests_of(&mysql.url, &other);
    // Debezium's Dockerfile (written by publish() from `stated`) still states the genuine MD5.
    w.stated
        .get_mut(&mysql.url)
        .unwrap()
        .insert("md5".into(), genuine_md5.clone());
    w.publish();
    let file = rewrite_values(&repo_checksums(), |l| {
        if l.url == mysql.url && l.algo == "md5" {
            genuine_md5.clone()
        } else {
            "pending".into()
        }
    });
    std::fs::write(w.checksums(), &file).unwrap();
    let out = w.build_sh(&["connect-jdbc"]).assert().code(1);
    let stderr = stderr_of(&out);
    let got = digests(&[&other]).remove(0);
    for want in [
        format!(
            "CHECKSUM MISMATCH for {} (DEBEZIUM_MYSQL_SUM of connect-jdbc)",
            mysql.url
        ),
        format!(
            "{}#MYSQL_MD5 states md5 {genuine_md5}",
            debezium_source_file()
        ),
        format!("the download is md5 {}", got["md5"]),
    ] {
        assert!(stderr.contains(&want), "{want:?} not in:\n{stderr}");
    }
    assert_eq!(w.checksums_text(), file, "nothing pinned");
    assert_eq!(w.log(), Vec::<String>::new(), "nothing is built");
    w.assert_no_leftovers();
}

/// A source that cannot be read (here Central's .sha512 is missing: 404) fails the build, naming
/// the artifact and the source; nothing is built.
#[test]
fn an_unreadable_source_fails_the_build() {
    let mut w = World::new(&["docker"]);
    let sql = artifact("DEBEZIUM_SQLSERVER_SUM");
    w.stated.get_mut(&sql.url).unwrap().remove("sha512");
    w.publish();
    let out = w.build_sh(&["connect-jdbc"]).assert().code(1);
    let stderr = stderr_of(&out);
    let want = format!(
        "cannot check {} (DEBEZIUM_SQLSERVER_SUM of connect-jdbc) against {}.sha512: cannot read it:",
        sql.url, sql.url
    );
    assert!(stderr.contains(&want), "{want:?} not in:\n{stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    assert_eq!(w.log(), Vec::<String>::new());
    w.assert_no_leftovers();
}

/// An artifact with no line at all (a version bumped in versions.env, say) is pinned from its
/// host's publisher: dl.k8s.io's .sha256 beside the binary.
#[test]
fn an_artifact_without_a_line_is_pinned_from_its_hosts_publisher() {
    let w = World::new(&["docker"]);
    let amd64 = artifact("KUBECTL_SUM_AMD64");
    let without: String = pending_checksums()
        .lines()
        .filter(|l| !l.contains(&format!(" {} ", amd64.url)))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(w.checksums(), &without).unwrap();
    let mut c = w.build_sh(&["--dry-run", "tool"]);
    c.assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "    sha256 to be pinned from {}.sha256 at first build",
            amd64.url
        )));
    w.build_sh(&["tool"]).assert().success();
    let line = format!(
        "{} sha256 {} {}.sha256\n",
        w.stated[&amd64.url]["sha256"], amd64.url, amd64.url
    );
    assert!(
        w.checksums_text().ends_with(&line),
        "{}",
        w.checksums_text()
    );
    assert_eq!(w.log(), [w.build_line("tool")]);
}

/// pin.sh does what the first build does, without building: without --write it only prints.
#[test]
fn pin_sh_pins_like_the_first_build() {
    let w = World::new(&[]);
    let out = w.pin_sh(&[]).assert().success();
    assert_eq!(
        w.checksums_text(),
        pending_checksums(),
        "written without --write"
    );
    let stdout = stdout_of(&out);
    for l in w.recorded_checksums().lines().filter_map(parse_line) {
        let want = format!(
            "  {} {}  {}  (would be pinned from {};",
            l.algo, l.value, l.url, l.source
        );
        assert!(stdout.contains(&want), "{want:?} not in:\n{stdout}");
    }
    w.pin_sh(&["--write"]).assert().success();
    assert_eq!(w.checksums_text(), w.recorded_checksums());
    w.assert_no_leftovers();
}

/// Lines without a usable source are refused (by --dry-run too) before anything is fetched or
/// built, each with its line number: the old three-field format, a value of the wrong length, a
/// source that is not the publisher's statement of that artifact.
#[test]
fn a_checksum_line_without_a_usable_source_is_refused() {
    let w = World::new(&["docker"]);
    let kubectl = artifact("KUBECTL_SUM_AMD64").url;
    let jdbc = artifact("CONFLUENT_JDBC_SUM").url;
    let digest = w.stated[&kubectl]["sha256"].clone();
    let bad = format!(
        "# a comment\n\
         {digest} sha256 {kubectl}\n\
         deadbeef sha256 {kubectl} {kubectl}.sha256\n\
         pending sha1 {jdbc} https://api.hub.confluent.io/api/plugins/confluentinc/kafka-connect-s3/versions/1.0.0\n\
         pending sha512 {kubectl} https://example.com/kubectl.sha512\n"
    );
    std::fs::write(w.checksums(), &bad).unwrap();
    for args in [&["tool", "connect-jdbc"][..], &["--dry-run"][..]] {
        let out = w.build_sh(args).assert().code(1);
        let stderr = stderr_of(&out);
        let file = w.checksums().display().to_string();
        for want in [
            format!("{file} line 2: want '<value> <algo> <artifact-url> <source>' (4 fields)"),
            format!(
                "{file} line 3: 'deadbeef' is neither 'pending' nor a lowercase sha256 hex digest (64 characters)"
            ),
            format!(
                "{file} line 4: source https://api.hub.confluent.io/api/plugins/confluentinc/kafka-connect-s3/versions/1.0.0: that manifest is about confluentinc-kafka-connect-s3-1.0.0.zip, not this URL"
            ),
            format!(
                "{file} line 5: source https://example.com/kubectl.sha512: not a source this script can read"
            ),
        ] {
            assert!(stderr.contains(&want), "{want:?} not in:\n{stderr}");
        }
    }
    assert_eq!(w.log(), Vec::<String>::new());
    assert!(w.requests().is_empty(), "{:?}", w.requests());
    assert_eq!(w.checksums_text(), bad);
}

/// fetch.sh without a usable value refuses before downloading anything.
#[test]
fn fetch_sh_refuses_a_missing_checksum() {
    let w = World::new(&[]);
    let a = artifact("CONFLUENT_S3_SUM");
    let out = w.dir.path().join("s3.zip");
    for sum in ["", "sha1:", "sha1:abc", "crc32:0123abcd", "0123"] {
        w.fetch_sh(&a.url, sum, &out)
            .assert()
            .code(1)
            .stderr(predicates::str::contains("fetch: no usable checksum"));
    }
    assert!(!out.exists());
    assert!(w.requests().is_empty(), "{:?}", w.requests());
}

#[test]
fn dockerfile_arg_defaults_equal_versions_env() {
    let versions = versions();
    let mut checked = 0;
    for image in ALL {
        let text =
            std::fs::read_to_string(repo().join(format!("images/Dockerfile.{image}"))).unwrap();
        for line in text.lines() {
            let Some((name, default)) = line
                .strip_prefix("ARG ")
                .and_then(|a| a.trim().split_once('='))
            else {
                continue;
            };
            let want = versions
                .get(name)
                .unwrap_or_else(|| panic!("Dockerfile.{image}: ARG {name} is not in versions.env"));
            assert_eq!(default, want, "Dockerfile.{image}: ARG {name}");
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} ARG defaults found");
}

/// `pkg=version` pins of a Dockerfile's `apt-get install` lines (every package is pinned:
/// hadolint's DL3008 fails an unpinned one).
fn apt_pins(image: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(repo().join(format!("images/Dockerfile.{image}")))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (pkg, version) = l.trim().trim_end_matches('\\').trim().split_once('=')?;
            let ok = !pkg.is_empty()
                && pkg
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
            ok.then(|| (pkg.to_owned(), version.to_owned()))
        })
        .collect()
}

/// Issue 21: kcat (the tool pod's, and `alpaka test`'s Jobs') logs in with SCRAM-SHA-512, and
/// librdkafka before 2.6.1 sends the client nonce twice in the SCRAM client-final-message, which
/// Kafka 4.x brokers reject (confluentinc/librdkafka PR #4895, released in 2.6.1; edenhill/kcat
/// issue #462). kcat's own dependency (librdkafka1 >= 1.6.0) does not ensure that, so the tool
/// image pins librdkafka1 itself.
#[test]
fn the_tool_images_kcat_gets_a_librdkafka_that_logs_in_to_kafka_4() {
    let pins = apt_pins("tool");
    assert!(
        pins.iter().any(|(p, _)| p == "kcat"),
        "Dockerfile.tool installs no kcat: {pins:?}"
    );
    let (_, version) = pins
        .iter()
        .find(|(p, _)| p == "librdkafka1")
        .unwrap_or_else(|| panic!("Dockerfile.tool does not pin librdkafka1: {pins:?}"));
    // Debian version: [epoch:]upstream[-revision]; the upstream part is librdkafka's.
    let upstream = version.split_once(':').map_or(version.as_str(), |(_, v)| v);
    let upstream = upstream.rsplit_once('-').map_or(upstream, |(u, _)| u);
    let numbers: Vec<u32> = upstream
        .split(['.', '+', '~'])
        .take(3)
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| panic!("librdkafka1={version}"))
        })
        .collect();
    assert!(
        numbers >= vec![2, 6, 1],
        "librdkafka1={version}: SCRAM against Kafka 4.x needs >= 2.6.1"
    );
}

/// The download stages and the tool image install ca-certificates and curl from one Debian
/// release (DEBIAN_TAG): the same package at the same version everywhere.
#[test]
fn dockerfiles_pin_shared_debian_packages_alike() {
    let mut seen: BTreeMap<String, (String, &str)> = BTreeMap::new();
    let mut shared = 0;
    for image in ALL {
        for (pkg, version) in apt_pins(image) {
            match seen.get(&pkg) {
                Some((other, first)) => {
                    assert_eq!(
                        &version, other,
                        "{pkg}: Dockerfile.{image} and Dockerfile.{first} pin different versions"
                    );
                    shared += 1;
                }
                None => {
                    seen.insert(pkg, (version, image));
                }
            }
        }
    }
    assert!(shared >= 4, "only {shared} shared pins found: {seen:?}");
}

#[test]
fn the_stack_references_the_built_tags() {
    let registry = v("IMAGE_REGISTRY");
    let tool = alpaka::model::stack::Tool::default().container;
    assert_eq!(
        tool.reference(),
        format!("{registry}/{}:{}", v("TOOL_IMAGE"), v("TOOL_TAG"))
    );
    let jdbc = format!(
        "{registry}/{}:{}",
        v("CONNECT_JDBC_IMAGE"),
        v("CONNECT_TAG")
    );
    // Every shipped profile (config plus its overrides) runs srccon on the JDBC image.
    for profile in alpaka::config::available_profiles(&repo()) {
        let loaded = alpaka::config::load(&repo(), &profile)
            .unwrap_or_else(|e| panic!("profile {profile}: {e:?}"));
        let srccon = loaded
            .config
            .kafka_connect
            .connects
            .iter()
            .find(|c| c.kind.as_str() == "srccon")
            .unwrap_or_else(|| panic!("profile {profile} has no srccon"));
        assert_eq!(srccon.container.reference(), jdbc, "profile {profile}");
        assert_eq!(
            loaded.config.tool.container.reference(),
            tool.reference(),
            "profile {profile}"
        );
    }
}

#[test]
fn connect_images_carry_the_stacks_kafka_version() {
    let tag = v("CONNECT_TAG");
    let kafka = tag
        .rsplit_once("-kafka-")
        .map(|(_, k)| k.to_owned())
        .unwrap_or_else(|| panic!("CONNECT_TAG {tag} does not end in -kafka-<version>"));
    assert_eq!(kafka, alpaka::model::stack::Kafka::default().version);
    let config = std::fs::read_to_string(repo().join("configs/default.yaml")).unwrap();
    assert!(
        config.contains(&format!("version: \"{kafka}\"")),
        "configs/default.yaml kafka.version is not {kafka}"
    );
    // The base the Connect images build on runs the same Kafka.
    assert!(v("STRIMZI_KAFKA_TAG").ends_with(&format!("-kafka-{kafka}")));
}

/// The tests run what ships: the real Kafka and Debezium the integration tests start
/// (integration/kafka/) are the versions the images carry.
#[test]
fn the_integration_kafka_and_debezium_are_the_shipped_versions() {
    let tag = v("CONNECT_TAG");
    let (_, kafka) = tag.rsplit_once("-kafka-").unwrap();
    let pom = std::fs::read_to_string(repo().join("integration/kafka/pom.xml")).unwrap();
    assert!(
        pom.contains(&format!("<kafka.version>{kafka}</kafka.version>")),
        "integration/kafka/pom.xml must resolve Kafka {kafka}, the images' version"
    );
    // fetch.sh takes Debezium's version from images/versions.env; nothing else names one.
    let fetch = std::fs::read_to_string(repo().join("integration/kafka/fetch.sh")).unwrap();
    let line = fetch
        .lines()
        .find(|l| l.starts_with("debezium="))
        .expect("fetch.sh sets debezium=");
    assert!(
        line.contains("s/^DEBEZIUM_VERSION=//p") && line.contains("images/versions.env"),
        "{line}"
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "here={}; {line}; printf %s \"$debezium\"",
            repo().join("integration/kafka").display()
        ))
        .env_remove("ALPAKA_DEBEZIUM_VERSION")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), v("DEBEZIUM_VERSION"));
}
