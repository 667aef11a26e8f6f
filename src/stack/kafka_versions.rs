//! The Kafka versions alpaka can run, and the order Strimzi upgrades them in (issue 22 item 7).
//!
//! Only what the pinned operator supports: Strimzi 1.2.0's `kafka-versions.yaml` (its
//! `supported: true` entries and their `metadata` versions; copied for tests into
//! `/work/shared/reference/strimzi-1.2.0/kafka-versions.yaml`). The KRaft `metadata.version`
//! is what Strimzi's `spec.kafka.metadataVersion` sets and `status.kafkaMetadataVersion`
//! reports (1.2.0 CRD `040-Crd-kafka.yaml`; `api/.../kafka/KafkaStatus.java`).
//!
//! Strimzi's documented order ("Upgrading Strimzi", "Upgrading KRaft-based Kafka clusters",
//! `documentation/modules/upgrading/proc-upgrade-kafka-kraft.adoc`): the Cluster Operator
//! first; then `spec.kafka.version` with `metadataVersion` left at the current one, and wait
//! for the brokers to roll; then the clients; then `metadataVersion`. Downgrades
//! (`proc-downgrade-kafka-kraft.adoc`, strimzi-kafka-operator PR #11885): only while the
//! cluster's metadata version is one the older Kafka supports; a metadata version is never
//! lowered.

use std::cmp::Ordering;

/// Strimzi 1.2.0's supported Kafka versions with their default KRaft metadata version, oldest
/// first (`kafka-versions.yaml`: 4.2.0 and 4.2.1 → 4.2-IV1, 4.3.0 and 4.3.1 → 4.3-IV0; 4.3.1 is
/// the default).
pub const SUPPORTED: &[(&str, &str)] = &[
    ("4.2.0", "4.2-IV1"),
    ("4.2.1", "4.2-IV1"),
    ("4.3.0", "4.3-IV0"),
    ("4.3.1", "4.3-IV0"),
];

/// The default metadata version of a supported Kafka version.
pub fn metadata_version(kafka: &str) -> Option<&'static str> {
    SUPPORTED.iter().find(|(v, _)| *v == kafka).map(|(_, m)| *m)
}

/// The supported versions, for messages: `4.2.0, 4.2.1, 4.3.0, 4.3.1`.
pub fn supported_list() -> String {
    SUPPORTED
        .iter()
        .map(|(v, _)| *v)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `4.3.1` → (4, 3, 1); `None` if it is not three numbers.
fn release(v: &str) -> Option<(u32, u32, u32)> {
    let mut it = v.split('.').map(|p| p.parse::<u32>().ok());
    let r = (it.next()??, it.next()??, it.next()??);
    it.next().is_none().then_some(r)
}

/// `4.3-IV0` → (4, 3, 0), Kafka's `MetadataVersion` naming (`<major>.<minor>-IV<n>`).
fn metadata(v: &str) -> Option<(u32, u32, u32)> {
    let (release, iv) = v.split_once("-IV")?;
    let (major, minor) = release.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?, iv.parse().ok()?))
}

/// Orders two Kafka releases (`None` when either is not `a.b.c`).
pub fn compare_releases(a: &str, b: &str) -> Option<Ordering> {
    Some(release(a)?.cmp(&release(b)?))
}

/// Orders two metadata versions (`None` when either is not `a.b-IVn`).
pub fn compare_metadata(a: &str, b: &str) -> Option<Ordering> {
    Some(metadata(a)?.cmp(&metadata(b)?))
}

/// What a change of `spec.kafka.version` / `metadataVersion` takes, in Strimzi's order.
#[derive(Debug, PartialEq)]
pub struct Upgrade {
    pub from: String,
    pub to: String,
    /// The metadata version the cluster uses now, and the one it ends on.
    pub from_metadata: String,
    pub to_metadata: String,
}

impl Upgrade {
    /// The metadata version changes too: a second step, after the brokers have rolled.
    pub fn raises_metadata(&self) -> bool {
        self.from_metadata != self.to_metadata
    }

    /// One line for the plan, as EKS's upgrade steps are shown.
    pub fn steps(&self) -> String {
        let mut s = vec!["Strimzi operator (its release goes before this Kafka)".to_owned()];
        if self.from != self.to {
            s.push(format!(
                "Kafka {} → {} (brokers roll; waited for until status.kafkaVersion is {})",
                self.from, self.to, self.to
            ));
        }
        if self.raises_metadata() {
            s.push(format!(
                "metadata version {} → {} (once the brokers run {} and everything that uses \
                 this Kafka has been applied)",
                self.from_metadata, self.to_metadata, self.to
            ));
        }
        let verb = match compare_releases(&self.from, &self.to) {
            Some(Ordering::Greater) => "downgrades",
            _ => "upgrades",
        };
        format!("{verb} in Strimzi's order: {}", s.join(" → "))
    }
}

/// Judges a change from the running (`from`, with the metadata version it uses, if known) to
/// the configured version: `Ok(None)` when neither changes; `Err` says why Strimzi cannot do it.
pub fn upgrade(
    from: &str,
    from_metadata: Option<&str>,
    to: &str,
    to_metadata: Option<&str>,
) -> Result<Option<Upgrade>, String> {
    let Some(default_to) = metadata_version(to) else {
        return Err(format!(
            "kafka.version {to} is not one the pinned Strimzi 1.2.0 supports ({})",
            supported_list()
        ));
    };
    let to_metadata = to_metadata.unwrap_or(default_to);
    // A Kafka the pinned operator cannot run is refused even when its metadata version is
    // known: the operator release is applied before the Kafka.
    let from_metadata = match (from_metadata, metadata_version(from)) {
        (Some(m), Some(_)) => m,
        (None, Some(m)) => m,
        (_, None) => {
            return Err(format!(
                "the Kafka runs {from}, which the pinned Strimzi 1.2.0 does not support ({}): \
                 Strimzi upgrades Kafka to a version the new operator supports before the \
                 operator itself, so first upgrade it with the alpaka release that made it",
                supported_list()
            ));
        }
    };
    if from == to && from_metadata == to_metadata {
        return Ok(None);
    }
    match compare_metadata(to_metadata, from_metadata) {
        Some(Ordering::Less) => {
            return Err(format!(
                "Kafka {from} → {to} would lower the KRaft metadata version {from_metadata} → \
                 {to_metadata}: Strimzi does not support metadata version downgrades, and \
                 downgrades Kafka only while the metadata version is one the older Kafka \
                 supports (Strimzi docs, \"Downgrading Kafka\"); keep kafka.version at a \
                 version whose metadata version is {from_metadata} or later ({})",
                SUPPORTED
                    .iter()
                    .filter(|(_, m)| {
                        compare_metadata(m, from_metadata).is_some_and(|o| o != Ordering::Less)
                    })
                    .map(|(v, _)| *v)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        None => {
            return Err(format!(
                "cannot compare metadata versions {from_metadata} and {to_metadata}"
            ));
        }
        _ => {}
    }
    Ok(Some(Upgrade {
        from: from.to_owned(),
        to: to.to_owned(),
        from_metadata: from_metadata.to_owned(),
        to_metadata: to_metadata.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_strimzi_120s_supported_versions_are_known() {
        assert_eq!(metadata_version("4.3.1"), Some("4.3-IV0"));
        assert_eq!(metadata_version("4.2.0"), Some("4.2-IV1"));
        assert_eq!(metadata_version("4.1.2"), None);
        assert_eq!(metadata_version("3.9.0"), None);
        assert!(upgrade("4.3.1", None, "4.4.0", None).is_err());
    }

    #[test]
    fn a_minor_upgrade_rolls_the_brokers_then_raises_the_metadata_version() {
        let u = upgrade("4.2.1", None, "4.3.1", None).unwrap().unwrap();
        assert!(u.raises_metadata());
        assert_eq!(
            (u.from_metadata.as_str(), u.to_metadata.as_str()),
            ("4.2-IV1", "4.3-IV0")
        );
        let steps = u.steps();
        let op = steps.find("Strimzi operator").unwrap();
        let roll = steps.find("Kafka 4.2.1 → 4.3.1").unwrap();
        let meta = steps.find("metadata version 4.2-IV1 → 4.3-IV0").unwrap();
        assert!(op < roll && roll < meta, "{steps}");
        assert!(steps.starts_with("upgrades in Strimzi's order"), "{steps}");
    }

    #[test]
    fn a_patch_upgrade_keeps_its_metadata_version_and_is_one_step() {
        let u = upgrade("4.3.0", None, "4.3.1", None).unwrap().unwrap();
        assert!(!u.raises_metadata());
        assert!(!u.steps().contains("metadata version"), "{}", u.steps());
        assert_eq!(upgrade("4.3.1", Some("4.3-IV0"), "4.3.1", None), Ok(None));
    }

    #[test]
    fn a_downgrade_is_refused_when_it_would_lower_the_metadata_version() {
        // Within one metadata version: allowed, said as a downgrade.
        let u = upgrade("4.3.1", None, "4.3.0", None).unwrap().unwrap();
        assert!(u.steps().starts_with("downgrades"), "{}", u.steps());
        // Across: refused, naming what is still possible.
        let e = upgrade("4.3.1", None, "4.2.1", None).unwrap_err();
        assert!(e.contains("4.3-IV0 → 4.2-IV1"), "{e}");
        assert!(
            e.contains("does not support metadata version downgrades"),
            "{e}"
        );
        assert!(e.contains("(4.3.0, 4.3.1)"), "{e}");
        // A cluster already on a newer metadata version than its Kafka's default.
        assert!(upgrade("4.2.1", Some("4.3-IV0"), "4.2.0", None).is_err());
    }

    #[test]
    fn a_kafka_the_pinned_operator_does_not_run_is_refused_before_the_operator_moves() {
        let e = upgrade("4.1.1", None, "4.3.1", None).unwrap_err();
        assert!(e.contains("runs 4.1.1"), "{e}");
        assert!(e.contains("before the operator"), "{e}");
        assert!(upgrade("4.1.1", Some("4.1-IV1"), "4.2.1", None).is_err());
    }

    #[test]
    fn orders() {
        assert_eq!(compare_releases("4.10.0", "4.9.1"), Some(Ordering::Greater));
        assert_eq!(compare_metadata("4.2-IV1", "4.3-IV0"), Some(Ordering::Less));
        assert_eq!(
            compare_metadata("4.3-IV1", "4.3-IV0"),
            Some(Ordering::Greater)
        );
        assert_eq!(compare_metadata("4.3", "4.3-IV0"), None);
    }
}
