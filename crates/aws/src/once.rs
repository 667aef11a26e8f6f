//! Creates AWS carries out without an idempotency token: `CreateVpc`, `CreateSubnet`,
//! `AllocateAddress`, `CreateInternetGateway`, `CreateRole`, `CreatePolicy`,
//! `CreateOpenIDConnectProvider`. Sent again after an answer that never came (a 5xx after the
//! call took effect, a timeout, a dropped connection), each makes a second resource (EC2) or
//! fails on the first one (IAM: `EntityAlreadyExists`). So the SDK never retries them
//! ([`no_retry`]); [`create_once`] looks for what the call would have made — by its
//! `alpaka.io/id` tag or the name it fixes — and adopts it, and sends the create again only when
//! nothing is there. Creates that take a token (`ClientToken`, `clientRequestToken`) keep the
//! SDK's retries: AWS answers a repeat with the resource the first call made.

use std::future::Future;

use aws_smithy_types::retry::RetryConfig;

use crate::error::{Answer, AwsError};
use crate::retry::Backoff;

/// A per-call EC2 configuration override with the SDK's retries off (one try).
pub(crate) fn ec2_one_try() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default().retry_config(RetryConfig::disabled())
}

/// A per-call IAM configuration override with the SDK's retries off (one try).
pub(crate) fn iam_one_try() -> aws_sdk_iam::config::Builder {
    aws_sdk_iam::config::Builder::default().retry_config(RetryConfig::disabled())
}

/// How long a lost create's resource may take to show in listings (EC2's reads are eventually
/// consistent: "Eventual consistency in the Amazon EC2 API"), and how long to keep trying.
pub const LOOK: Backoff = Backoff {
    first: std::time::Duration::from_secs(2),
    max: std::time::Duration::from_secs(15),
    within: std::time::Duration::from_secs(120),
};

/// Make something with `create` (one try each), at most once: after a throttle, try again;
/// after an unknown answer, `find` what it would have made (this deployment's, or `None`) and
/// adopt it, or create again when there is nothing after a second look; a refusal of a repeat
/// (`EntityAlreadyExists`, `InvalidSubnet.Conflict`: the first try took effect) is adoption when
/// `find` finds it. Any other refusal, or the last error once `backoff` runs out, fails.
pub async fn create_once<T, C, CF, F, FF>(
    backoff: Backoff,
    mut create: C,
    mut find: F,
) -> Result<T, AwsError>
where
    C: FnMut() -> CF,
    CF: Future<Output = Result<T, AwsError>>,
    F: FnMut() -> FF,
    FF: Future<Output = Result<Option<T>, AwsError>>,
{
    let start = tokio::time::Instant::now();
    let mut delay = backoff.first;
    let mut repeat = false;
    loop {
        let e = match create().await {
            Ok(made) => return Ok(made),
            Err(e) => e,
        };
        let time_left = |d| start.elapsed() + d <= backoff.within;
        match e.answer {
            Answer::Throttled if time_left(delay) => {}
            Answer::Unknown => {
                if let Some(made) = find().await? {
                    return Ok(made);
                }
                if !time_left(delay) {
                    return Err(e);
                }
                // Not listed yet is not "not made": look once more after a while.
                tokio::time::sleep(delay).await;
                if let Some(made) = find().await? {
                    return Ok(made);
                }
            }
            Answer::Refused if repeat => {
                return match find().await? {
                    Some(made) => Ok(made),
                    None => Err(e),
                };
            }
            _ => return Err(e),
        }
        if !time_left(delay) {
            return Err(e);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(backoff.max);
        repeat = true;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn failed(code: &str, answer: Answer) -> AwsError {
        AwsError::new("ec2:CreateVpc", "10.0.0.0/16", "m")
            .with_code(code)
            .with_answer(answer)
    }

    /// A stand-in account: `effects` says, per try, whether the create takes effect and what it
    /// answers.
    struct Account {
        made: Cell<u32>,
        tries: Cell<u32>,
        looks: Cell<u32>,
    }

    impl Account {
        fn new() -> Self {
            Account {
                made: Cell::new(0),
                tries: Cell::new(0),
                looks: Cell::new(0),
            }
        }
        fn create(&self, answers: &[(bool, Option<AwsError>)]) -> Result<u32, AwsError> {
            let (effect, err) = answers[self.tries.get() as usize].clone();
            self.tries.set(self.tries.get() + 1);
            if effect {
                self.made.set(self.made.get() + 1);
            }
            match err {
                Some(e) => Err(e),
                None => Ok(self.made.get()),
            }
        }
        fn find(&self) -> Option<u32> {
            self.looks.set(self.looks.get() + 1);
            (self.made.get() > 0).then_some(1)
        }
    }

    async fn run(a: &Account, answers: &[(bool, Option<AwsError>)]) -> Result<u32, AwsError> {
        create_once(
            LOOK,
            || std::future::ready(a.create(answers)),
            || std::future::ready(Ok(a.find())),
        )
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_error_after_the_create_took_effect_adopts_what_it_made() {
        let a = Account::new();
        let out = run(
            &a,
            &[(true, Some(failed("InternalError", Answer::Unknown)))],
        )
        .await;
        assert_eq!(out, Ok(1));
        assert_eq!((a.made.get(), a.tries.get(), a.looks.get()), (1, 1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_create_that_made_nothing_is_sent_again_after_two_looks() {
        let a = Account::new();
        let out = run(
            &a,
            &[
                (false, Some(failed("InternalError", Answer::Unknown))),
                (true, None),
            ],
        )
        .await;
        assert_eq!(out, Ok(1));
        assert_eq!((a.made.get(), a.tries.get(), a.looks.get()), (1, 2, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_repeat_refused_as_a_conflict_is_the_first_try_adopted() {
        // The first try's effect was not listed in time; the repeat meets it.
        let a = Account::new();
        let a2 = &a;
        let answers = [
            (false, Some(failed("RequestTimeout", Answer::Unknown))),
            (true, None),
        ];
        // Make the first look miss and the repeat conflict: a late listing.
        let out = create_once(
            LOOK,
            || {
                let n = a2.tries.get();
                a2.tries.set(n + 1);
                std::future::ready(if n == 0 {
                    a2.made.set(1);
                    Err(answers[0].1.clone().unwrap())
                } else {
                    Err(failed("EntityAlreadyExists", Answer::Refused))
                })
            },
            || {
                let n = a2.looks.get();
                a2.looks.set(n + 1);
                std::future::ready(Ok((n >= 2).then_some(1)))
            },
        )
        .await;
        assert_eq!(out, Ok(1));
        assert_eq!((a.made.get(), a.tries.get(), a.looks.get()), (1, 2, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_of_the_first_try_fails_without_looking_and_throttling_is_retried() {
        let a = Account::new();
        let out = run(
            &a,
            &[(false, Some(failed("EntityAlreadyExists", Answer::Refused)))],
        )
        .await;
        assert!(out.unwrap_err().code_is("EntityAlreadyExists"));
        assert_eq!((a.tries.get(), a.looks.get()), (1, 0));

        let a = Account::new();
        let out = run(
            &a,
            &[
                (
                    false,
                    Some(failed("RequestLimitExceeded", Answer::Throttled)),
                ),
                (true, None),
            ],
        )
        .await;
        assert_eq!(out, Ok(1));
        assert_eq!((a.tries.get(), a.looks.get()), (2, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_that_never_comes_fails_at_the_bound_with_the_last_error() {
        let a = Account::new();
        let answers: Vec<_> = (0..100)
            .map(|_| (false, Some(failed("InternalError", Answer::Unknown))))
            .collect();
        let start = tokio::time::Instant::now();
        let out = run(&a, &answers).await;
        assert!(out.unwrap_err().code_is("InternalError"));
        assert!(start.elapsed() <= LOOK.within, "{:?}", start.elapsed());
        assert_eq!(a.made.get(), 0);
    }
}
