//! Providers: the drivers that act on real APIs, registered by resource kind.
//!
//! Architecture invariant: a provider knows its own API (AWS, a local cluster CLI, the Kubernetes
//! API, helm) and nothing of the stack; the engine reaches it only through `engine::Driver`.
//!
//! Registered: the local and existing clusters (`local`), objects in the cluster through
//! server-side apply (`k8s`) and third-party charts through the helm CLI (`helm`). Kinds without
//! a driver (the AWS ones, until that provider lands) make `apply` refuse before changing
//! anything, naming them.

pub mod helm;
pub mod k8s;
pub mod local;

use crate::engine::Drivers;
use crate::model::profile::Profile;

/// The drivers a profile's apply can use.
pub fn drivers(_profile: &Profile) -> Drivers {
    let mut d = Drivers::new();
    local::register(&mut d);
    k8s::register(&mut d);
    helm::register(&mut d);
    d
}
