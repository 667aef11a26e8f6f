//! alpaka: a declarative planner from profile + config to a running Kafka platform.
//! See ARCHITECTURE.md for the map.

pub mod engine;
pub mod stack;
pub mod state;
pub mod cli;
pub mod ops;
pub mod providers;
