//! Providers: the drivers that act on real APIs, registered by resource kind.
//!
//! Architecture invariant: a provider knows its own API (AWS, a local cluster CLI, the Kubernetes
//! API, helm) and nothing of the stack; the engine reaches it only through `engine::Driver`.
//!
//! Registered: the local and existing clusters (`local`). Planning works for every profile (a
//! plan against an empty state needs no driver), and `apply` refuses before changing anything,
//! naming the kinds it cannot act on. The AWS, Kubernetes and helm providers register here too.

pub mod local;

use crate::engine::Drivers;
use crate::model::profile::Profile;

/// The drivers a profile's apply can use.
pub fn drivers(_profile: &Profile) -> Drivers {
    let mut d = Drivers::new();
    local::register(&mut d);
    d
}
