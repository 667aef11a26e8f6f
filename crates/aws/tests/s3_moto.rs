//! `alpaka_aws::s3`, and the sweep's listings (every page), against moto (a local AWS stand-in),
//! reached only through `AWS_ENDPOINT_URL` — the same code path as production. Seeding and the independent listing use boto3
//! (`tests/s3_helper.py`), not alpaka's code.
//!
//! One moto server serves the whole test binary (each test has its own bucket): the SDK reads the
//! endpoint from the process environment, which tests running in parallel cannot each set. The
//! server exits when this process does (it watches its stdin).
//!
//! Needs a python with `moto[server]` and boto3: `integration/test.sh` creates `.venv-test` and
//! exports `ALPAKA_TEST_PYTHON`. Without it these tests FAIL, saying how to get it; they never
//! skip.
//!
//! The stand-in is moto with two additions (`s3_helper.py serve`): a log of the S3 requests, since
//! moto accepts DeleteObjects with more than 1,000 keys and the batch size must be seen on the
//! wire; and in-process seeding, since 2,500 PutObjects through moto's HTTP layer take ~14 s.
//! moto's listings are never stale, so delete_prefix's extra rounds are not exercised here.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use alpaka_aws::s3::{DeleteReport, OUTSIDE_PREFIX, S3, TestPrefix};
use serde_json::Value as Json;

const REGION: &str = "eu-west-1";

fn python() -> PathBuf {
    let p = std::env::var_os("ALPAKA_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-test/bin/python")
        });
    assert!(
        p.exists(),
        "the moto stand-in is missing: {} does not exist. Run integration/test.sh (it creates \
         .venv-test with `pip install 'moto[server]'`) or set ALPAKA_TEST_PYTHON to a python \
         that has moto[server] and boto3.",
        p.display()
    );
    p
}

fn helper_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/s3_helper.py")
}

struct Moto {
    endpoint: String,
    port: u16,
    // Held, never dropped: closing its stdin (at process exit) stops the server.
    _child: Child,
}

/// The shared moto server, with the process environment pointing the SDK at it (loopback only,
/// dummy credentials, no profile files, no instance metadata).
fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python())
            .arg(helper_path())
            .args(["serve", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto");
        let endpoint = format!("http://127.0.0.1:{port}");
        let t = Instant::now();
        while !http_ok(port, "/moto-api/") {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "moto did not come up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let nowhere = std::env::temp_dir().join("alpaka-s3-moto-no-such-file");
        // SAFETY: set once, before any SDK call in this process; every test in this binary
        // waits on this OnceLock before touching the environment or the SDK.
        unsafe {
            for (k, v) in [
                ("AWS_ENDPOINT_URL", endpoint.as_str()),
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("AWS_REGION", REGION),
                ("AWS_EC2_METADATA_DISABLED", "true"),
                ("NO_PROXY", "127.0.0.1"),
            ] {
                std::env::set_var(k, v);
            }
            std::env::set_var("AWS_CONFIG_FILE", &nowhere);
            std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &nowhere);
            for k in [
                "AWS_PROFILE",
                "AWS_SESSION_TOKEN",
                "AWS_ENDPOINT_URL_S3",
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "HTTP_PROXY",
                "HTTPS_PROXY",
                "ALL_PROXY",
                "http_proxy",
                "https_proxy",
                "all_proxy",
            ] {
                std::env::remove_var(k);
            }
        }
        Moto {
            endpoint,
            port,
            _child: child,
        }
    })
}

fn http_ok(port: u16, path: &str) -> bool {
    http(port, "GET", path).is_some()
}

/// The body of a 200 answer from the stand-in, `None` for anything else.
fn http(port: u16, method: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    (head.split(' ').nth(1) == Some("200")).then(|| body.to_owned())
}

/// `count` objects `<prefix>00000` … seeded inside moto (object i holds i % 10 + 1 bytes);
/// their total size.
fn seed(bucket: &str, prefix: &str, count: usize) -> u64 {
    let body = http(
        moto().port,
        "POST",
        &format!("/_alpaka/seed?bucket={bucket}&prefix={prefix}&count={count}"),
    )
    .expect("seeding through the stand-in");
    body.trim().parse().unwrap()
}

/// The S3 requests the stand-in received for `bucket`.
fn calls(bucket: &str) -> Vec<Json> {
    let body = http(
        moto().port,
        "GET",
        &format!("/_alpaka/calls?bucket={bucket}"),
    )
    .unwrap();
    serde_json::from_str(&body).unwrap()
}

/// Key counts of the DeleteObjects requests made for `bucket`.
fn delete_batches(bucket: &str) -> Vec<u64> {
    calls(bucket)
        .iter()
        .filter(|c| {
            c["method"] == "POST" && c["query"].as_array().unwrap().contains(&"delete".into())
        })
        .map(|c| c["objects"].as_u64().unwrap())
        .collect()
}

/// How many ListObjectsV2 pages were requested for `bucket`.
fn list_pages(bucket: &str) -> usize {
    calls(bucket)
        .iter()
        .filter(|c| {
            c["method"] == "GET" && c["query"].as_array().unwrap().contains(&"list-type".into())
        })
        .count()
}

fn helper(args: &[&str]) -> Json {
    let out = Command::new(python())
        .arg(helper_path())
        .arg(&moto().endpoint)
        .arg(REGION)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "s3_helper {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A fresh bucket; the SDK client on the environment, as `alpaka test` would build it.
async fn bucket(name: &str) -> S3 {
    moto();
    helper(&["bucket", name]);
    S3::load(REGION).await
}

fn independent_listing(bucket: &str) -> Vec<String> {
    serde_json::from_value(helper(&["list", bucket])).unwrap()
}

fn run001() -> TestPrefix {
    TestPrefix::for_run("run001").unwrap()
}

/// Case 1: everything under `alpaka-test/run001/` goes (2,500 objects: three list pages, three
/// delete batches), and nothing that merely looks close does.
#[tokio::test]
async fn delete_prefix_removes_the_run_and_nothing_else() {
    let b = "delete-prefix";
    let s3 = bucket(b).await;
    let keep = [
        "data/x.json",
        "alpaka-test/run0011/y",
        "alpaka-test/other1/z",
        "alpaka-test/run001",
        "alpaka-test/run00/w",
        "alpaka-test/x/run001/v",
    ];
    let puts: Vec<String> = keep
        .iter()
        .map(|k| format!("{k}=keep"))
        .chain([
            "alpaka-test/run001/topic/partition=0/a.json=1".to_owned(),
            "alpaka-test/run001/=marker".to_owned(),
        ])
        .collect();
    helper(
        &std::iter::once("put")
            .chain([b])
            .chain(puts.iter().map(String::as_str))
            .collect::<Vec<_>>(),
    );
    seed(b, "alpaka-test/run001/many/", 2500);
    assert_eq!(independent_listing(b).len(), keep.len() + 2 + 2500);

    let report = s3.delete_prefix(b, &run001()).await.unwrap();
    assert_eq!(report, DeleteReport { deleted: 2502 });
    // On the wire: S3's limit of 1,000 keys a request, which moto does not enforce.
    assert_eq!(delete_batches(b), [1000, 1000, 502]);

    let mut expected: Vec<String> = keep.iter().map(|k| (*k).to_owned()).collect();
    expected.sort();
    assert_eq!(independent_listing(b), expected);
    // And again: nothing left to do, nothing else touched.
    assert_eq!(
        s3.delete_prefix(b, &run001()).await.unwrap(),
        DeleteReport { deleted: 0 }
    );
    assert_eq!(independent_listing(b), expected);
}

/// Case 3: the listing follows continuation tokens (moto pages at 1,000 like S3) and reports
/// sizes; `get` reads a key under the prefix and refuses every key outside it.
#[tokio::test]
async fn list_paginates_and_get_stays_inside_the_prefix() {
    let b = "list-get";
    let s3 = bucket(b).await;
    let total = seed(b, "alpaka-test/run001/t/", 2500);
    helper(&[
        "put",
        b,
        "data/x.json=user data",
        "alpaka-test/run0011/y=sibling",
        "alpaka-test/x=where ../x would lead if normalised",
    ]);

    let listed = s3.list(b, &run001()).await.unwrap();
    assert_eq!(listed.len(), 2500);
    assert_eq!(list_pages(b), 3);
    assert!(
        listed
            .iter()
            .all(|o| o.key.starts_with("alpaka-test/run001/t/"))
    );
    assert_eq!(listed.iter().map(|o| o.size).sum::<u64>(), total);
    let o = listed
        .iter()
        .find(|o| o.key == "alpaka-test/run001/t/01234")
        .unwrap();
    assert_eq!(o.size, 1234 % 10 + 1);

    let body = s3
        .get(b, &run001(), "alpaka-test/run001/t/00007")
        .await
        .unwrap();
    assert_eq!(body, b"xxxxxxxx");

    // Each of these exists in the bucket: only the refusal stops them being read.
    for key in [
        "data/x.json",
        "alpaka-test/run0011/y",
        "alpaka-test/run001/../x",
        "alpaka-test/run001/./../../data/x.json",
    ] {
        let e = s3.get(b, &run001(), key).await.unwrap_err();
        assert!(e.code_is(OUTSIDE_PREFIX), "{key}: {e}");
        assert!(e.to_string().contains(key), "{e}");
    }
}

/// Case 3 (strict half): a refused `get` makes no request at all. The client points at a
/// listener that would see any connection.
#[tokio::test]
async fn get_outside_the_prefix_sends_nothing() {
    moto();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(format!("http://{}", listener.local_addr().unwrap()))
        .load()
        .await;
    let s3 = S3::new(&config);
    for key in ["data/x.json", "alpaka-test/run0011/y", "alpaka-test/run001"] {
        // The listener never answers, so a request that was sent would wait: bound it.
        let r = tokio::time::timeout(Duration::from_secs(5), s3.get("any", &run001(), key)).await;
        let e = r
            .unwrap_or_else(|_| panic!("get {key} sent a request"))
            .unwrap_err();
        assert!(e.code_is(OUTSIDE_PREFIX), "{key}: {e}");
    }
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("a refused get connected to S3: {other:?}"),
    }
}

/// Case 4: a missing bucket is an error naming it.
#[tokio::test]
async fn check_bucket_names_a_missing_bucket() {
    let s3 = bucket("present").await;
    s3.check_bucket("present").await.unwrap();
    let e = s3.check_bucket("no-such-bucket-here").await.unwrap_err();
    assert!(e.code_is("NoSuchBucket"), "{e:?}");
    assert!(e.is_not_found(), "{e:?}");
    assert!(e.to_string().contains("no-such-bucket-here"), "{e}");
    assert!(e.to_string().contains("does not exist"), "{e}");
}

/// Case 5: nothing under the prefix is success with nothing deleted; other objects stay.
#[tokio::test]
async fn delete_prefix_on_an_empty_prefix_deletes_nothing() {
    let b = "empty-prefix";
    let s3 = bucket(b).await;
    assert_eq!(
        s3.delete_prefix(b, &run001()).await.unwrap(),
        DeleteReport { deleted: 0 }
    );
    helper(&[
        "put",
        b,
        "data/x.json=user",
        "alpaka-test/run0011/y=sibling",
    ]);
    assert_eq!(
        s3.delete_prefix(b, &run001()).await.unwrap(),
        DeleteReport { deleted: 0 }
    );
    assert_eq!(
        independent_listing(b),
        ["alpaka-test/run0011/y", "data/x.json"]
    );
    assert!(s3.list(b, &run001()).await.unwrap().is_empty());
}

/// An overridden endpoint named by host name (not an IP, where the SDK's rules already fall back
/// to path style) is still reached: `<bucket>.localhost` would need DNS that does not exist.
#[tokio::test]
async fn an_endpoint_by_host_name_is_addressed_path_style() {
    let b = "by-host-name";
    bucket(b).await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(format!("http://localhost:{}", moto().port))
        .load()
        .await;
    let s3 = S3::new(&config);
    s3.check_bucket(b).await.unwrap();
    assert!(s3.list(b, &run001()).await.unwrap().is_empty());
    assert_eq!(list_pages(b), 1);
}

/// The sweep's listings read every page. IAM answers ListRoles 100 roles at a time by default
/// (IAM API Reference, ListRoles: `MaxItems` defaults to 100), and so does moto: a profile with
/// 105 roles left behind must have all 105 named, not the first page's.
#[tokio::test]
async fn leftovers_reads_every_page_of_a_listing() {
    moto();
    let aws = alpaka_aws::Aws::load(REGION).await;
    let profile = "pages-test";
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    // Seeded with the SDK's own client, not alpaka's IAM code.
    for i in 0..105 {
        aws.iam
            .create_role()
            .role_name(format!("alpaka-pages-{i:03}"))
            .assume_role_policy_document(trust)
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(alpaka_aws::sweep::TAG_PROFILE)
                    .value(profile)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let left = alpaka_aws::sweep::leftovers(&aws, profile, "pages")
        .await
        .unwrap();
    let roles: Vec<&String> = left.iter().filter(|l| l.starts_with("iam-role ")).collect();
    assert_eq!(roles.len(), 105, "{left:#?}");
    assert!(left.iter().any(|l| l == "iam-role alpaka-pages-104"));
}
