//! alpaka: a declarative planner from profile + config to a running Kafka platform.
//! See ARCHITECTURE.md for the map.

pub mod cli;
pub mod config;
pub mod diag;
pub mod engine;
pub mod import;
pub mod model;
pub mod ops;
pub mod providers;
pub mod random;
pub mod selftest;
pub mod stack;
pub mod state;
pub mod suggest;
