//! The EKS bearer token, as `aws eks get-token` makes it: `k8s-aws-v1.` + base64url (no padding)
//! of a presigned STS `GetCallerIdentity` URL (SigV4 query signing, 60 s, signed header
//! `x-k8s-aws-id: <cluster>`). No aws CLI needed.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::AwsError;

pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// How long the presigned URL is valid (the token lives 15 minutes on the server side).
pub const PRESIGN_SECONDS: u64 = 60;

fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The presigned `GetCallerIdentity` URL for `cluster`.
pub fn presigned_url(
    credentials: &Credentials,
    region: &str,
    cluster: &str,
    now: SystemTime,
) -> Result<String, AwsError> {
    let fail = |m: String| AwsError::new("sts:GetCallerIdentity (presign)", cluster, m);
    let url =
        format!("https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15");
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(PRESIGN_SECONDS));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| fail(e.to_string()))?
        .into();
    let host = format!("sts.{region}.amazonaws.com");
    let headers = [("host", host.as_str()), ("x-k8s-aws-id", cluster)];
    let req = SignableRequest::new(
        "GET",
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| fail(e.to_string()))?;
    let (instructions, _) = sign(req, &params)
        .map_err(|e| fail(e.to_string()))?
        .into_parts();
    let mut out = url;
    for (k, v) in instructions.params() {
        out.push('&');
        out.push_str(&encode_component(k));
        out.push('=');
        out.push_str(&encode_component(v));
    }
    Ok(out)
}

/// The bearer token for `cluster`.
pub fn token(
    credentials: &Credentials,
    region: &str,
    cluster: &str,
    now: SystemTime,
) -> Result<String, AwsError> {
    let url = presigned_url(credentials, region, cluster, now)?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(url)))
}

/// The `ExecCredential` kubectl expects from an exec plugin, expiring before the token does.
pub fn exec_credential(token: &str, now: SystemTime) -> String {
    let expiry = now + Duration::from_secs(14 * 60);
    let secs = expiry
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    serde_json::json!({
        "kind": "ExecCredential",
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "spec": {},
        "status": {"expirationTimestamp": rfc3339(secs), "token": token}
    })
    .to_string()
}

/// Seconds since the epoch → `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        )
    }

    #[test]
    fn token_format() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let t = token(&creds(), "ap-northeast-2", "prod", now).unwrap();
        let b64 = t.strip_prefix(TOKEN_PREFIX).expect("prefix");
        assert!(!b64.contains('='), "no padding");
        assert!(
            !b64.contains('+') && !b64.contains('/'),
            "url-safe alphabet"
        );
        let url = String::from_utf8(URL_SAFE_NO_PAD.decode(b64).unwrap()).unwrap();
        assert!(
            url.starts_with(
                "https://sts.ap-northeast-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&"
            ),
            "{url}"
        );
        for p in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Fap-northeast-2%2Fsts%2Faws4_request",
            "X-Amz-Date=20231114T221320Z",
            "X-Amz-Expires=60",
            "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id",
        ] {
            assert!(url.contains(p), "{p} missing in {url}");
        }
        let sig = url.split("X-Amz-Signature=").nth(1).unwrap();
        assert_eq!(sig.len(), 64);
        assert!(sig.chars().all(|c| c.is_ascii_hexdigit()));
        // Deterministic for the same inputs; different per cluster (the header is signed).
        assert_eq!(t, token(&creds(), "ap-northeast-2", "prod", now).unwrap());
        assert_ne!(t, token(&creds(), "ap-northeast-2", "dev", now).unwrap());
        assert!(!t.contains("wJalr"), "the secret never appears");
    }

    #[test]
    fn exec_credential_shape() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let j: serde_json::Value =
            serde_json::from_str(&exec_credential("k8s-aws-v1.x", now)).unwrap();
        assert_eq!(j["kind"], "ExecCredential");
        assert_eq!(j["status"]["token"], "k8s-aws-v1.x");
        assert_eq!(j["status"]["expirationTimestamp"], "2023-11-14T22:27:20Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
