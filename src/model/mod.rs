//! The typed model of profiles and stack configs (serde + JSON schema).
//!
//! These types are the single source of truth: the loader validates YAML against the JSON
//! schema generated from them, and only then deserializes into them.

pub mod profile;
pub mod stack;
pub mod types;

pub use profile::*;
pub use stack::*;
pub use types::*;
