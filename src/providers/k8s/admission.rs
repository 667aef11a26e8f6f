//! Admission webhooks that are not ready yet (issue 22, item 6).
//!
//! On EKS the AWS Load Balancer Controller registers a mutating webhook for every Service
//! created (`serviceMutatorWebhookConfig.failurePolicy: Fail`, chart 3.5.0's values,
//! shared/reference/aws-load-balancer-controller/values-3.5.0.yaml). Until its pod is up, the
//! API server refuses each Service with a 500 that kube-rs does not retry. Those refusals that
//! mean "the webhook is not there yet" are retried here with backoff, within [`BOUND`]; every
//! other refusal (a webhook that answered "no", a timeout) fails at once.
//!
//! The words are kube-apiserver's (kubernetes v1.36, staging/src/k8s.io/apiserver):
//! - `pkg/util/webhook/error.go`: `ErrCallingWebhook` reads `failed calling webhook "<name>": …`
//!   (a failure to talk to the webhook, not the webhook rejecting the request);
//! - `pkg/admission/plugin/webhook/mutating/dispatcher.go`: its reason is `failed to call
//!   webhook: <transport error>`; with `failurePolicy: Fail` the request fails with it;
//! - the transport error is Go's dial error `… connect: connection refused` (a URL or Service
//!   nothing listens on yet), or `pkg/util/proxy/proxy.go`'s `no endpoints available for
//!   service "<name>"` (the webhook's Service has no ready pod yet).

use std::time::Duration;

/// How long a "not ready yet" webhook is waited for before the step fails with its words.
pub const BOUND: Duration = Duration::from_secs(180);
/// First pause between tries; doubles up to [`MAX_DELAY`].
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
pub const MAX_DELAY: Duration = Duration::from_secs(10);

/// The transport errors that mean the webhook's backend is not up yet.
const NOT_READY: &[&str] = &[
    "connect: connection refused",
    "no endpoints available for service",
];

/// Does this API server message say a webhook could not be called because it is not up yet?
pub fn webhook_not_ready(message: &str) -> bool {
    message.contains("failed calling webhook") && NOT_READY.iter().any(|m| message.contains(m))
}

/// The same, for a kube-rs error.
pub fn is_webhook_not_ready(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => webhook_not_ready(&s.message),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_ready_is_only_a_webhook_nobody_answers_yet() {
        // As the real kube-apiserver 1.36 words them (seen in integration/real_api.rs).
        let refused = "Internal error occurred: failed calling webhook \"mservice.elbv2.k8s.aws\": \
            failed to call webhook: Post \"https://127.0.0.1:40000/mutate?timeout=10s\": \
            dial tcp 127.0.0.1:40000: connect: connection refused";
        assert!(webhook_not_ready(refused));
        let no_endpoints = "Internal error occurred: failed calling webhook \"mservice.elbv2.k8s.aws\": \
            failed to call webhook: Post \"https://aws-load-balancer-webhook-service.kube-system.svc:443/mutate-v1-service?timeout=10s\": \
            no endpoints available for service \"aws-load-balancer-webhook-service\"";
        assert!(webhook_not_ready(no_endpoints));
        // A webhook that answered and said no is the user's business, not a wait.
        assert!(!webhook_not_ready(
            "admission webhook \"mservice.elbv2.k8s.aws\" denied the request: nope"
        ));
        // Connection refused by something else (the API server itself) is not a webhook.
        assert!(!webhook_not_ready(
            "dial tcp 127.0.0.1:6443: connect: connection refused"
        ));
    }
}
