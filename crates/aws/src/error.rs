//! Typed AWS failures: which operation, on which resource, with AWS's own error code.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use thiserror::Error;

/// One failed AWS call (or a waiter that gave up). The message names the resource and the code.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("{op} {resource}: {message}{}", .code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct AwsError {
    /// The API operation, e.g. `ec2:CreateVpc`, or what a waiter waited for.
    pub op: String,
    /// The resource it was about (an id, a name, an ARN).
    pub resource: String,
    /// AWS's error code (`InvalidVpcID.NotFound`, `NoSuchEntity`, `ThrottlingException`), or
    /// alpaka's own for waiters (`Timeout`, the failed status such as `CREATE_FAILED`).
    pub code: Option<String>,
    pub message: String,
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
        })
    }

    pub fn code_is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// Turn an SDK error into an [`AwsError`] for `op` on `resource`.
pub(crate) fn sdk<E, R>(op: &str, resource: &str) -> impl FnOnce(SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let op = op.to_owned();
    let resource = resource.to_owned();
    move |e| {
        let code = e.code().map(str::to_owned);
        let message = match e.message() {
            Some(m) => m.to_owned(),
            None => match &e {
                SdkError::ServiceError(_) => "service error".to_owned(),
                other => format!(
                    "{}",
                    aws_smithy_types::error::display::DisplayErrorContext(other)
                ),
            },
        };
        AwsError {
            op,
            resource,
            code,
            message,
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
