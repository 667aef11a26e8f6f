//! Every third-party chart and AWS-managed policy alpaka deploys, pinned in one place.
//! Bumping a version is a one-line change here (and, for the LB controller, its policy file).

/// A helm chart pinned by version. `repo` is a chart repository URL, or empty when `chart` is an
/// OCI reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartPin {
    /// Release name (and the resource id suffix: `helm.<release>`).
    pub release: &'static str,
    pub chart: &'static str,
    pub repo: &'static str,
    pub version: &'static str,
}

pub const STRIMZI: ChartPin = ChartPin {
    release: "strimzi-kafka-operator",
    chart: "oci://quay.io/strimzi-helm/strimzi-kafka-operator",
    repo: "",
    version: "1.2.0",
};
