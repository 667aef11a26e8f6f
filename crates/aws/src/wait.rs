//! Polling with backoff until a resource reaches a wanted state, fails, or time runs out.
//! The probe is any async function returning the live status, so the logic is tested against
//! scripted sequences (`CREATING…ACTIVE`, `CREATE_FAILED`, never done).

use std::future::Future;
use std::time::Duration;

use crate::error::AwsError;

/// What one look at the resource said.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    Done,
    /// Still going; the text is the live AWS status (shown on the progress line).
    Pending(String),
    /// It will not get there: `status` is the AWS status, `reason` what AWS said about it.
    Failed {
        status: String,
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct WaitSpec {
    /// What is awaited, for messages: `eks cluster prod ACTIVE`.
    pub what: String,
    pub resource: String,
    pub timeout: Duration,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl WaitSpec {
    pub fn new(what: impl Into<String>, resource: impl Into<String>, timeout: Duration) -> Self {
        WaitSpec {
            what: what.into(),
            resource: resource.into(),
            timeout,
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Poll `probe` until done. Delays double from `first_delay` to `max_delay`; every pending status
/// is passed to `on_status`. Fails with the AWS status as code on a failed state, and with code
/// `Timeout` (naming the last status) when `timeout` passes.
pub async fn wait_for<F, Fut>(
    spec: &WaitSpec,
    mut probe: F,
    on_status: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Probe, AwsError>>,
{
    let start = tokio::time::Instant::now();
    let deadline = start + spec.timeout;
    let mut delay = spec.first_delay;
    let mut last: String;
    loop {
        match probe().await? {
            Probe::Done => return Ok(()),
            Probe::Failed { status, reason } => {
                return Err(AwsError::new(
                    format!("waiting for {}", spec.what),
                    &spec.resource,
                    if reason.is_empty() {
                        format!("reached {status}")
                    } else {
                        format!("reached {status}: {reason}")
                    },
                )
                .with_code(status));
            }
            Probe::Pending(status) => {
                on_status(&format!("{status} ({}s)", start.elapsed().as_secs()));
                last = status;
            }
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(AwsError::new(
                format!("waiting for {}", spec.what),
                &spec.resource,
                format!(
                    "still {last} after {}s (the profile's waitTimeout)",
                    spec.timeout.as_secs()
                ),
            )
            .with_code("Timeout"));
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = (delay * 2).min(spec.max_delay);
    }
}

/// `30m`, `90s`, `1h`, `1h30m` → a duration; `None` if it does not parse.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut num = String::new();
    for ch in s.trim().chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        total += n * match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
    }
    if !num.is_empty() {
        total += num.parse::<u64>().ok()?;
    }
    (total > 0).then(|| Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn scripted(seq: &[&str]) -> impl FnMut() -> std::future::Ready<Result<Probe, AwsError>> {
        let mut it: Vec<String> = seq.iter().rev().map(|s| (*s).to_owned()).collect();
        move || {
            let s = it.pop().unwrap_or_else(|| "CREATING".into());
            std::future::ready(Ok(crate::eks::cluster_probe(&s, "")))
        }
    }

    fn spec(timeout: u64) -> WaitSpec {
        WaitSpec::new(
            "eks cluster prod ACTIVE",
            "prod",
            Duration::from_secs(timeout),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn creating_until_active() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let t = tokio::time::Instant::now();
        wait_for(
            &spec(600),
            scripted(&["CREATING", "CREATING", "CREATING", "ACTIVE"]),
            &move |s| s2.lock().unwrap().push(s.to_owned()),
        )
        .await
        .unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|s| s.starts_with("CREATING")), "{seen:?}");
        // Backoff 2 + 4 + 8 seconds.
        assert_eq!(t.elapsed().as_secs(), 14);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_status_is_the_error_code() {
        let e = wait_for(&spec(600), scripted(&["CREATING", "FAILED"]), &|_| {})
            .await
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("FAILED"));
        assert!(e.to_string().contains("prod"), "{e}");
        let ng = |s: &str| {
            crate::eks::nodegroup_probe(s, "NodeCreationFailure: instances failed to join")
        };
        assert!(matches!(ng("CREATE_FAILED"), Probe::Failed { .. }));
        assert_eq!(ng("CREATING"), Probe::Pending("CREATING".into()));
        assert_eq!(ng("ACTIVE"), Probe::Done);
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_names_the_last_status() {
        let t = tokio::time::Instant::now();
        let e = wait_for(&spec(100), scripted(&[]), &|_| {})
            .await
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("Timeout"));
        assert!(e.message.contains("still CREATING after 100s"), "{e}");
        // Never sleeps past the deadline by more than one probe.
        assert!(t.elapsed().as_secs() <= 100, "{:?}", t.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn probe_errors_stop_the_wait() {
        let mut n = 0;
        let e = wait_for(
            &spec(100),
            move || {
                n += 1;
                std::future::ready(if n < 2 {
                    Ok(Probe::Pending("CREATING".into()))
                } else {
                    Err(AwsError::new("eks:DescribeCluster", "prod", "denied")
                        .with_code("AccessDeniedException"))
                })
            },
            &|_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("AccessDeniedException"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45s"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("x"), None);
    }
}
