//! Calls AWS refuses for a while and then accepts: retried with backoff, to a bound.
//!
//! Two such refusals are part of every EKS build-up and tear-down on real AWS (moto shows
//! neither):
//! - **IAM propagation.** A role is created in one call, but EKS may not see it (or its policies)
//!   for seconds: CreateCluster, CreateNodegroup and CreateAddon then fail with
//!   `InvalidParameterException` ("Role with arn: … could not be assumed …", "… is not
//!   authorized …", "The provided role doesn't have the Amazon EKS Managed Policies associated
//!   with it"). The same call succeeds once IAM has caught up.
//! - **Draining network interfaces.** After a cluster, load balancer or NAT gateway is deleted,
//!   its ENIs linger for minutes; DeleteSubnet, DetachInternetGateway, DeleteInternetGateway,
//!   DeleteRouteTable, DeleteVpc and DeleteSecurityGroup fail with `DependencyViolation` until
//!   they are gone.
//!
//! Throttling and 5xx are the SDK's own standard retries, not these.

use std::future::Future;
use std::time::Duration;

use crate::error::AwsError;

/// How long and how often to try again.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    /// No new try starts after this much time.
    pub within: Duration,
}

impl Backoff {
    /// IAM is eventually consistent within seconds; two minutes covers the slow cases.
    pub const IAM_PROPAGATION: Backoff = Backoff {
        first: Duration::from_secs(2),
        max: Duration::from_secs(15),
        within: Duration::from_secs(120),
    };

    /// ENIs drain in minutes; the bound is the profile's wait timeout.
    pub fn draining(within: Duration) -> Backoff {
        Backoff {
            first: Duration::from_secs(2),
            max: Duration::from_secs(30),
            within,
        }
    }
}

/// EKS's refusal of a role it cannot see or use yet.
pub fn iam_propagation(e: &AwsError) -> bool {
    e.code_is("InvalidParameterException") && {
        let m = e.message.to_ascii_lowercase();
        [
            "assumed",
            "not authorized",
            "managed policies",
            "does not exist",
        ]
        .iter()
        .any(|s| m.contains(s))
    }
}

pub fn dependency_violation(e: &AwsError) -> bool {
    e.code_is("DependencyViolation")
}

/// Run `call` until it succeeds, fails with an error `retryable` does not accept, or `backoff`
/// runs out (then the last error). `on_retry` hears each refusal that is tried again.
pub async fn retry<T, F, Fut>(
    backoff: Backoff,
    retryable: impl Fn(&AwsError) -> bool,
    on_retry: &(dyn Fn(&AwsError) + Send + Sync),
    mut call: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let start = tokio::time::Instant::now();
    let mut delay = backoff.first;
    loop {
        match call().await {
            Err(e) if retryable(&e) && start.elapsed() + delay <= backoff.within => {
                on_retry(&e);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(backoff.max);
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn refusal(code: &str, message: &str) -> AwsError {
        AwsError::new("eks:CreateCluster", "prod", message).with_code(code)
    }

    #[test]
    fn eks_refusals_of_a_fresh_role_are_propagation() {
        for m in [
            "Role with arn: arn:aws:iam::1:role/alpaka-prod-cluster, could not be assumed because it does not exist or the trusted entity is not correct",
            "The provided role doesn't have the Amazon EKS Managed Policies associated with it. Please ensure the following policies [arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy] are attached",
            "User: arn:aws:sts::1:assumed-role/x is not authorized to perform: iam:PassRole",
        ] {
            assert!(
                iam_propagation(&refusal("InvalidParameterException", m)),
                "{m}"
            );
        }
        assert!(!iam_propagation(&refusal(
            "InvalidParameterException",
            "unsupported Kubernetes version 1.99"
        )));
        assert!(!iam_propagation(&refusal(
            "AccessDeniedException",
            "assumed"
        )));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_with_backoff_until_accepted() {
        let seen = Mutex::new(Vec::new());
        let mut left = 3;
        let start = tokio::time::Instant::now();
        let out = retry(
            Backoff::IAM_PROPAGATION,
            iam_propagation,
            &|e| seen.lock().unwrap().push(e.code.clone()),
            || {
                left -= 1;
                let r = if left > 0 {
                    Err(refusal("InvalidParameterException", "could not be assumed"))
                } else {
                    Ok(7)
                };
                async move { r }
            },
        )
        .await;
        assert_eq!(out, Ok(7));
        assert_eq!(seen.lock().unwrap().len(), 2);
        // 2 s, then 4 s.
        assert_eq!(start.elapsed(), Duration::from_secs(6));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_bound_with_the_last_error_and_never_retries_others() {
        let b = Backoff::draining(Duration::from_secs(20));
        let start = tokio::time::Instant::now();
        let out: Result<(), _> = retry(b, dependency_violation, &|_| {}, || async {
            Err(refusal("DependencyViolation", "has dependencies"))
        })
        .await;
        assert!(out.unwrap_err().code_is("DependencyViolation"));
        assert!(
            start.elapsed() <= Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
        let mut calls = 0;
        let out: Result<(), _> = retry(b, dependency_violation, &|_| {}, || {
            calls += 1;
            async { Err(refusal("UnauthorizedOperation", "no")) }
        })
        .await;
        assert!(out.is_err());
        assert_eq!(calls, 1);
    }
}
