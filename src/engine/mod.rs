//! The generic planner: graph, plan (data), diff, apply walker, progress, rendering.
//!
//! Architecture invariant: nothing here knows a cloud, a cluster or a chart. Resources reach the
//! engine as [`node::Node`] data and are acted on through the [`driver::Driver`] trait only.

pub mod apply;
pub mod diff;
pub mod driver;
pub mod graph;
pub mod node;
pub mod plan;
pub mod progress;
pub mod render;
pub mod value;

pub use driver::{Driver, DriverError, Drivers, Found, Readiness, StepCx};
pub use graph::{Graph, GraphError};
pub use node::{Node, ResourceId};
pub use plan::{Action, Change, Plan, PlanOptions};
pub use value::{Lists, OutputRef, Secret, Value};
