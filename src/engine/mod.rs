//! The generic planner: graph, plan (data), diff, apply walker, progress, rendering.
//!
//! Architecture invariant: nothing here knows a cloud, a cluster or a chart. Resources reach the
//! engine as [`node::Node`] data and are acted on through the [`driver::Driver`] trait only.

pub mod node;
pub mod value;

pub use node::{Node, ResourceId};
pub use value::{OutputRef, Secret, Value};
