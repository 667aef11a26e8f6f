//! The platform stack: what alpaka deploys on top of the cluster (Kafka, Connect, connectors,
//! ksqlDB, UIs, monitoring), turned from config into engine data.
//!
//! Architecture invariant: modules here are pure. They compute desired resources and values
//! from plain inputs; they never talk to a cluster, read files or print.

pub mod connectors;
