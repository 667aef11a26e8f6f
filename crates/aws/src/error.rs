//! Typed AWS failures: which operation, on which resource, with AWS's own error code.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::request_id::RequestId;
use thiserror::Error;

/// One failed AWS call (or a waiter that gave up): service and operation (`ec2:DeleteVpc`), the
/// resource, AWS's error code, its message and the request id AWS support asks for.
#[derive(Debug, Clone, Error, PartialEq)]
#[error(
    "{op} {resource}: {message}{}{}",
    .code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default(),
    .request_id.as_ref().map(|r| format!(" [request id {r}]")).unwrap_or_default()
)]
pub struct AwsError {
    /// The API operation, e.g. `ec2:CreateVpc`, or what a waiter waited for.
    pub op: String,
    /// The resource it was about (an id, a name, an ARN).
    pub resource: String,
    /// AWS's error code (`InvalidVpcID.NotFound`, `NoSuchEntity`, `ThrottlingException`), or
    /// alpaka's own for waiters (`Timeout`, the failed status such as `CREATE_FAILED`).
    pub code: Option<String>,
    pub message: String,
    /// AWS's id of the failed request (`x-amzn-requestid`/`x-amz-request-id`, or the error
    /// body's `RequestId`); none when AWS was never reached. (A boxed str: it keeps the error
    /// small enough to return by value everywhere.)
    pub request_id: Option<Box<str>>,
    /// Whether the call may have taken effect (what a create without an idempotency token must
    /// know before it is sent again).
    pub answer: Answer,
}

/// What a failed call says about its own effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Answer {
    /// AWS refused it: nothing happened (a 4xx other than throttling, a request never built).
    #[default]
    Refused,
    /// Throttled: not carried out, safe to send again after a while.
    Throttled,
    /// No answer (timeout, connection dropped, an answer that could not be read) or a server
    /// error (5xx): the call may or may not have taken effect.
    Unknown,
}

/// The codes AWS uses for "too many requests" (what the SDK's standard retry treats as
/// throttling: aws-smithy-runtime `client/retries/classifiers.rs`, `THROTTLING_ERRORS`).
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// How a failed SDK call answered (see [`Answer`]). EC2 throttles with HTTP 503 and
/// `RequestLimitExceeded`: the code decides before the status.
fn answer_of<E>(e: &SdkError<E, HttpResponse>, code: Option<&str>) -> Answer {
    if code.is_some_and(|c| THROTTLING.contains(&c)) {
        return Answer::Throttled;
    }
    match e {
        SdkError::ConstructionFailure(_) => Answer::Refused,
        SdkError::ServiceError(s) if s.raw().status().as_u16() < 500 => Answer::Refused,
        // 5xx; no answer in time; the connection failed or dropped (the request may have
        // been sent); an answer that could not be read.
        _ => Answer::Unknown,
    }
}

impl AwsError {
    pub fn new(
        op: impl Into<String>,
        resource: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        AwsError {
            op: op.into(),
            resource: resource.into(),
            code: None,
            message: message.into(),
            request_id: None,
            answer: Answer::Refused,
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The resource is not there (any service's spelling of it).
    pub fn is_not_found(&self) -> bool {
        self.code.as_deref().is_some_and(|c| {
            c.ends_with("NotFound")
                || c.ends_with(".NotFound")
                || c == "NoSuchEntity"
                || c == "NoSuchBucket"
                || c == "NoSuchKey"
                || c == "ResourceNotFoundException"
                || c == "NatGatewayNotFound"
                || c == "LoadBalancerNotFound"
                || c == "TargetGroupNotFound"
                // EC2's code for a launch template named or numbered that does not exist.
                || c == "InvalidLaunchTemplateName.NotFoundException"
        })
    }

    pub fn code_is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// As if answered `answer` (tests, and errors alpaka makes for a call it could not finish).
    pub fn with_answer(mut self, answer: Answer) -> Self {
        self.answer = answer;
        self
    }
}

/// Turn an SDK error into an [`AwsError`] for `op` on `resource`.
pub(crate) fn sdk<E>(op: &str, resource: &str) -> impl FnOnce(SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let op = op.to_owned();
    let resource = resource.to_owned();
    move |e| {
        let code = e.code().map(str::to_owned);
        let answer = answer_of(&e, code.as_deref());
        let request_id = e
            .request_id()
            .or_else(|| e.meta().request_id())
            .map(Box::from);
        let message = match (e.message(), &e) {
            (Some(m), _) => m.to_owned(),
            // A service error without a message (S3's HEAD answers have no body): its HTTP
            // status is what there is to say.
            (None, SdkError::ServiceError(s)) => {
                format!("HTTP {} with no error message", s.raw().status().as_u16())
            }
            (None, other) => format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(other)
            ),
        };
        AwsError {
            op,
            resource,
            code,
            message,
            request_id,
            answer,
        }
    }
}

/// `Ok(None)` for not-found, the value otherwise.
pub(crate) fn found<T>(r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Success for not-found (deleting what is already gone).
pub(crate) fn gone_ok(r: Result<(), AwsError>) -> Result<(), AwsError> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

pub(crate) fn missing(op: &str, resource: &str, what: &str) -> AwsError {
    AwsError::new(op, resource, format!("the response had no {what}"))
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::operation::delete_vpc::DeleteVpcError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn response(status: u16, request_id: Option<&str>) -> HttpResponse {
        let mut r = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        if let Some(id) = request_id {
            r.headers_mut().insert("x-amzn-requestid", id.to_owned());
        }
        r
    }

    #[test]
    fn a_service_error_names_operation_resource_code_message_and_request_id() {
        // EC2 puts the request id in the error body, which the SDK keeps in the metadata.
        let err = DeleteVpcError::generic(
            ErrorMetadata::builder()
                .code("DependencyViolation")
                .message("The vpc 'vpc-1' has dependencies and cannot be deleted.")
                .custom("aws_request_id", "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE")
                .build(),
        );
        let e = sdk("ec2:DeleteVpc", "vpc-1")(SdkError::service_error(err, response(400, None)));
        assert_eq!(
            e.to_string(),
            "ec2:DeleteVpc vpc-1: The vpc 'vpc-1' has dependencies and cannot be deleted. \
             (DependencyViolation) [request id 7a62c49f-347e-4fc4-9331-6e8eEXAMPLE]"
        );
    }

    #[test]
    fn a_server_error_or_no_answer_is_unknown_and_throttling_is_not() {
        let err = |code: &str| {
            DeleteVpcError::generic(ErrorMetadata::builder().code(code).message("m").build())
        };
        let answer = |code: &str, status: u16| {
            sdk("ec2:CreateVpc", "x")(SdkError::service_error(err(code), response(status, None)))
                .answer
        };
        assert_eq!(answer("InternalError", 500), Answer::Unknown);
        assert_eq!(answer("Unavailable", 503), Answer::Unknown);
        // EC2 throttles with 503.
        assert_eq!(answer("RequestLimitExceeded", 503), Answer::Throttled);
        assert_eq!(answer("Throttling", 400), Answer::Throttled);
        assert_eq!(answer("InvalidParameterValue", 400), Answer::Refused);
        let timeout: SdkError<DeleteVpcError, HttpResponse> =
            SdkError::timeout_error("no answer in 30 s");
        assert_eq!(sdk("ec2:CreateVpc", "x")(timeout).answer, Answer::Unknown);
        let dropped: SdkError<DeleteVpcError, HttpResponse> = SdkError::dispatch_failure(
            aws_smithy_runtime_api::client::result::ConnectorError::io("reset".into()),
        );
        assert_eq!(sdk("ec2:CreateVpc", "x")(dropped).answer, Answer::Unknown);
    }

    #[test]
    fn an_error_without_message_says_its_status_and_the_header_request_id() {
        let err = DeleteVpcError::generic(ErrorMetadata::builder().code("Forbidden").build());
        let e = sdk("s3:HeadBucket", "b")(SdkError::service_error(err, response(403, Some("R1"))));
        assert_eq!(
            e.to_string(),
            "s3:HeadBucket b: HTTP 403 with no error message (Forbidden) [request id R1]"
        );
    }
}
