//! `images/`: build.sh run against the recording fakes of docker, k3d and minikube
//! (`integration/fakes/`), asserting the exact calls it makes; and the stack referencing the very
//! tags `images/versions.env` declares. No test runs a real `docker build`: there is no Docker
//! engine on the test machines. The Dockerfiles are linted by hadolint in `integration/test.sh`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// A bin/ holding only the chosen fakes (plus the coreutils build.sh uses), a log and a state dir.
struct World {
    dir: TempDir,
}

impl World {
    fn new(tools: &[&str]) -> World {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let py = python();
        for t in tools {
            // Absolute paths, so PATH can hold nothing but this bin/.
            let script = repo().join("integration/fakes").join(t);
            write_exec(
                &bin.join(t),
                &format!("#!/bin/sh\nexec '{py}' '{}' \"$@\"\n", script.display()),
            );
        }
        // build.sh needs bash, dirname and cat, never docker or a cluster tool from the host.
        for t in ["bash", "dirname", "cat"] {
            let found = std::fs::canonicalize(which(t)).unwrap();
            std::os::unix::fs::symlink(found, bin.join(t)).unwrap();
        }
        World { dir }
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
    }

    /// Checksums for every artifact: the repository's pins plus stand-ins for the Confluent ones
    /// the repository cannot pin yet (build.sh refuses those; see `refuses_unpinned_artifacts`).
    fn pinned_checksums(&self) -> PathBuf {
        let mut text = std::fs::read_to_string(repo().join("images/checksums.txt")).unwrap();
        for url in [jdbc_url(), s3_url()] {
            if !text
                .lines()
                .any(|l| !l.starts_with('#') && l.ends_with(&url))
            {
                text.push_str(&format!("{} sha512 {url}\n", "a".repeat(128)));
            }
        }
        let p = self.dir.path().join("checksums.txt");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn build_sh(&self, args: &[&str]) -> Command {
        let mut c = Command::new(repo().join("images/build.sh"));
        c.env_clear()
            .env("PATH", self.dir.path().join("bin"))
            .env("ALPAKA_FAKE_LOG", self.dir.path().join("fake.log"))
            .env("ALPAKA_FAKE_STATE", self.dir.path().join("state"))
            .env("ALPAKA_IMAGES_CHECKSUMS", self.pinned_checksums())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .args(args);
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
}

fn write_exec(p: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn python() -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is needed by the fakes");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn which(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap();
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} not on PATH"))
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

/// The checksum build.sh must pass for URL, as `<algo>:<hex>`, from the repository's pins.
fn pin(url: &str) -> String {
    let text = std::fs::read_to_string(repo().join("images/checksums.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[2] == url).then(|| format!("{}:{}", f[1], f[0]))
        })
        .next()
        .unwrap_or_else(|| format!("sha512:{}", "a".repeat(128)))
}

fn reference(image: &str) -> String {
    let (name, tag) = match image {
        "tool" => (v("TOOL_IMAGE"), v("TOOL_TAG")),
        "connect-jdbc" => (v("CONNECT_JDBC_IMAGE"), v("CONNECT_TAG")),
        _ => (v("CONNECT_S3_IMAGE"), v("CONNECT_TAG")),
    };
    format!("{}/{name}:{tag}", v("IMAGE_REGISTRY"))
}

/// The exact `docker build` line build.sh must log for an image.
fn build_line(image: &str) -> String {
    let base = format!(
        "--build-arg STRIMZI_KAFKA_IMAGE={} --build-arg STRIMZI_KAFKA_TAG={} --build-arg DEBIAN_TAG={}",
        v("STRIMZI_KAFKA_IMAGE"),
        v("STRIMZI_KAFKA_TAG"),
        v("DEBIAN_TAG")
    );
    let specific = match image {
        "tool" => {
            let k = v("KUBECTL_VERSION");
            let url =
                |arch: &str| format!("https://dl.k8s.io/release/{k}/bin/linux/{arch}/kubectl");
            format!(
                "--build-arg KUBECTL_VERSION={k} --build-arg KUBECTL_SUM_AMD64={} --build-arg KUBECTL_SUM_ARM64={}",
                pin(&url("amd64")),
                pin(&url("arm64"))
            )
        }
        "connect-jdbc" => {
            let d = v("DEBEZIUM_VERSION");
            let url = |db: &str| {
                format!(
                    "https://repo1.maven.org/maven2/io/debezium/debezium-connector-{db}/{d}/debezium-connector-{db}-{d}-plugin.tar.gz"
                )
            };
            format!(
                "--build-arg DEBEZIUM_VERSION={d} --build-arg CONFLUENT_JDBC_VERSION={} --build-arg DEBEZIUM_MYSQL_SUM={} --build-arg DEBEZIUM_SQLSERVER_SUM={} --build-arg CONFLUENT_JDBC_SUM={}",
                v("CONFLUENT_JDBC_VERSION"),
                pin(&url("mysql")),
                pin(&url("sqlserver")),
                pin(&jdbc_url())
            )
        }
        _ => format!(
            "--build-arg CONFLUENT_S3_VERSION={} --build-arg CONFLUENT_S3_SUM={}",
            v("CONFLUENT_S3_VERSION"),
            pin(&s3_url())
        ),
    };
    // World::log() shortens the repository's paths to repository-relative ones.
    format!(
        "docker build -f images/Dockerfile.{image} -t {} {base} {specific} images",
        reference(image)
    )
}

const ALL: [&str; 3] = ["tool", "connect-jdbc", "connect-s3"];

#[test]
fn builds_all_three_by_default() {
    let w = World::new(&["docker"]);
    w.build_sh(&[]).assert().success();
    let want: Vec<String> = ALL.iter().map(|i| build_line(i)).collect();
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
        want.push(build_line(i));
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
            build_line("tool"),
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
            build_line("tool"),
            format!("docker push {}", reference("tool")),
            build_line("connect-s3"),
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
        want.push(build_line(i));
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

#[test]
fn refuses_unpinned_artifacts_before_building_anything() {
    let w = World::new(&["docker"]);
    // The repository's own checksums.txt: the Confluent connectors are not pinned there yet.
    let mut c = w.build_sh(&["tool", "connect-jdbc", "connect-s3"]);
    c.env(
        "ALPAKA_IMAGES_CHECKSUMS",
        repo().join("images/checksums.txt"),
    );
    let out = c.assert().code(1);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("refusing to build"), "{stderr}");
    assert!(
        stderr.contains(&format!("connect-jdbc: {}", jdbc_url())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("connect-s3: {}", s3_url())),
        "{stderr}"
    );
    assert!(stderr.contains("images/pin.sh"), "{stderr}");
    assert_eq!(w.log(), Vec::<String>::new(), "nothing is built");
    // The tool's artifacts are pinned, so it builds alone.
    let mut c = w.build_sh(&["tool"]);
    c.env(
        "ALPAKA_IMAGES_CHECKSUMS",
        repo().join("images/checksums.txt"),
    );
    c.assert().success();
}

#[test]
fn a_malformed_checksum_line_is_refused() {
    let w = World::new(&["docker"]);
    let sums = w.dir.path().join("bad.txt");
    let kubectl = format!(
        "https://dl.k8s.io/release/{}/bin/linux/amd64/kubectl",
        v("KUBECTL_VERSION")
    );
    std::fs::write(&sums, format!("deadbeef sha256 {kubectl}\n")).unwrap();
    let mut c = w.build_sh(&["tool"]);
    c.env("ALPAKA_IMAGES_CHECKSUMS", &sums);
    c.assert()
        .failure()
        .stderr(predicates::str::contains(format!(
            "malformed line for {kubectl}"
        )));
    assert_eq!(w.log(), Vec::<String>::new());
}

/// Every `ARG NAME=default` in a Dockerfile whose NAME is in versions.env has its value there.
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
