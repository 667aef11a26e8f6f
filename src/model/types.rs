//! Small validated value types shared by profiles and configs: sizes, durations, CIDRs, tolerations.
//!
//! Each checks its syntax on deserialization and advertises a JSON-schema `format` that the
//! config validator checks with the same functions, so both paths agree.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Schema `format` names understood by the config validator.
pub const FORMAT_SIZE: &str = "alpaka-size";
pub const FORMAT_DURATION: &str = "alpaka-duration";
pub const FORMAT_CIDR: &str = "alpaka-cidr";
pub const FORMAT_DNS_LABEL: &str = "alpaka-dns-label";

/// Check a value against one of our formats; `Err` carries what was expected.
pub fn check_format(format: &str, s: &str) -> Result<(), &'static str> {
    let ok = match format {
        FORMAT_SIZE => parse_size(s).is_some(),
        FORMAT_DURATION => parse_duration_secs(s).is_some(),
        FORMAT_CIDR => is_cidr(s),
        FORMAT_DNS_LABEL => is_dns_label(s),
        // Formats we do not know are not ours to reject.
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(match format {
            FORMAT_SIZE => "a size such as 512m, 10g, 8gb or 10Gi",
            FORMAT_DURATION => "a duration such as 30s, 30m, 72h or 10d",
            FORMAT_CIDR => "a CIDR block such as 10.0.0.0/16",
            _ => "a DNS label: lowercase letters, digits and '-', at most 63 characters",
        })
    }
}

/// Bytes in a size such as `10g`, `8gb`, `10Gi`, `4000Mi`, `512m` (decimal or binary units),
/// with an optional fraction (`1.5Gi`, `8.59GB`: what docker's `HumanSize` prints, e.g. in
/// `k3d cluster list`). A fraction of a byte is dropped.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if digits_end == 0 {
        return None;
    }
    let n: u64 = s[..digits_end].parse().ok()?;
    let mut rest = &s[digits_end..];
    // The fraction's digits, kept as an integer over 10^len so the result is exact.
    let mut frac: (u128, u32) = (0, 0);
    if let Some(after) = rest.strip_prefix('.') {
        let end = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        // `8.` and `8.g` are typos, not sizes; more than 18 digits is not a size either.
        if end == 0 || end > 18 {
            return None;
        }
        frac = (after[..end].parse().ok()?, u32::try_from(end).ok()?);
        rest = &after[end..];
    }
    let mult: u64 = match rest.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "ki" | "kib" => 1 << 10,
        "mi" | "mib" => 1 << 20,
        "gi" | "gib" => 1 << 30,
        "ti" | "tib" => 1 << 40,
        _ => return None,
    };
    let whole = n.checked_mul(mult)?;
    let part = frac.0 * u128::from(mult) / 10u128.pow(frac.1);
    whole.checked_add(u64::try_from(part).ok()?)
}

/// Seconds in a duration such as `30s`, `30m`, `72h`, `10d`, `1h30m`.
pub fn parse_duration_secs(s: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits_end = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits_end == 0 {
            return None;
        }
        let n: u64 = rest[..digits_end].parse().ok()?;
        rest = &rest[digits_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            "w" => 604_800,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total = total.checked_add(n.checked_mul(mult)?)?;
    }
    Some(total)
}

pub fn is_cidr(s: &str) -> bool {
    let Some((addr, prefix)) = s.split_once('/') else {
        return false;
    };
    let Ok(prefix) = prefix.parse::<u8>() else {
        return false;
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => prefix <= 32 && addr.split('.').count() == 4,
        Ok(std::net::IpAddr::V6(_)) => prefix <= 128,
        Err(_) => false,
    }
}

pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $format:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// For defaults written in this crate (covered by the shipped-defaults test).
            pub(crate) fn known(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                match check_format($format, &s) {
                    Ok(()) => Ok($name(s)),
                    Err(expected) => Err(format!("`{s}` is not {expected}")),
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = String;
            fn try_from(s: &str) -> Result<Self, String> {
                $name::try_from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "format": $format })
            }
        }
    };
}

checked_string!(
    /// A memory or disk size: `10g`, `8gb`, `10Gi`, `4000Mi`.
    Size,
    FORMAT_SIZE
);
checked_string!(
    /// A duration: `30s`, `30m`, `72h`, `10d`.
    Duration,
    FORMAT_DURATION
);
checked_string!(
    /// An IPv4 or IPv6 CIDR block.
    Cidr,
    FORMAT_CIDR
);
checked_string!(
    /// A Kubernetes DNS label (namespaces, names that become resource names).
    DnsLabel,
    FORMAT_DNS_LABEL
);

impl Size {
    pub fn bytes(&self) -> u64 {
        // Invariant: constructed only through `try_from`, which checked the syntax.
        parse_size(&self.0).unwrap_or(0)
    }
}

impl Duration {
    pub fn as_std(&self) -> std::time::Duration {
        // Invariant: constructed only through `try_from`, which checked the syntax.
        std::time::Duration::from_secs(parse_duration_secs(&self.0).unwrap_or(0))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum PullPolicy {
    Always,
    #[default]
    IfNotPresent,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum TolerationOperator {
    Exists,
    #[default]
    Equal,
}

/// A Kubernetes toleration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Toleration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub operator: TolerationOperator,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<TaintEffect>,
}

/// A container image reference and pull policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct Container {
    pub image: String,
    pub tag: String,
    pub pull_policy: PullPolicy,
}

impl Container {
    pub fn new(image: &str, tag: &str) -> Self {
        Container {
            image: image.into(),
            tag: tag.into(),
            pull_policy: PullPolicy::IfNotPresent,
        }
    }

    /// `image:tag`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.image, self.tag)
    }
}

impl Default for Container {
    /// The Kafka Connect image: the only place a container block appears without a
    /// block-specific default (a new `kafka_connect.connects` entry).
    fn default() -> Self {
        Container::new("quay.io/strimzi/kafka", "1.2.0-kafka-4.3.1")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10g"), Some(10_000_000_000));
        assert_eq!(parse_size("8gb"), Some(8_000_000_000));
        assert_eq!(parse_size("10Gi"), Some(10 << 30));
        assert_eq!(parse_size("4000Mi"), Some(4000 << 20));
        assert_eq!(parse_size("ten"), None);
        assert_eq!(parse_size("10x"), None);
        assert_eq!(parse_size("-1g"), None);
        assert_eq!(parse_size("99999999999999999999g"), None);
        // Fractions: docker's HumanSize (`8.59GB` for 8 GiB) and the like.
        assert_eq!(parse_size("8.59GB"), Some(8_590_000_000));
        assert_eq!(parse_size("1.5Gi"), Some(3 << 29));
        assert_eq!(parse_size("268.4MB"), Some(268_400_000));
        assert_eq!(parse_size("0.5b"), Some(0));
        assert_eq!(parse_size("8."), None);
        assert_eq!(parse_size("8.g"), None);
        assert_eq!(parse_size(".5g"), None);
        assert_eq!(parse_size("1.2.3g"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("30m"), Some(1800));
        assert_eq!(parse_duration_secs("72h"), Some(259_200));
        assert_eq!(parse_duration_secs("1h30m"), Some(5400));
        assert_eq!(parse_duration_secs("30"), None);
        assert_eq!(parse_duration_secs("m"), None);
        assert_eq!(parse_duration_secs(""), None);
    }

    #[test]
    fn cidrs_and_labels() {
        assert!(is_cidr("10.0.0.0/16"));
        assert!(!is_cidr("10.0.0.0/33"));
        assert!(!is_cidr("10.0.0/16"));
        assert!(!is_cidr("10.0.0.0"));
        assert!(is_dns_label("alpaka"));
        assert!(!is_dns_label("Alpaka"));
        assert!(!is_dns_label("-a"));
    }
}
