//! What alpaka has made: the state model, and the backend that persists and locks it.
//!
//! Architecture invariant: state never holds a plaintext secret. Every attribute tree is sealed
//! (`Value::seal`) with the state's lineage as salt before it is recorded.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::{ResourceId, Value};

/// Bumped when the on-disk shape changes; older files are migrated on load, newer refused.
pub const STATE_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Incremented on every persisted change; a saved plan records it and apply refuses if it moved.
    pub serial: u64,
    /// Random id given when the state is first created; also the salt of secret hashes.
    pub lineage: String,
    pub profile: String,
    #[serde(default)]
    pub resources: BTreeMap<ResourceId, ResourceState>,
}

/// One applied resource: what was asked (sealed), what the provider reported back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    pub kind: String,
    #[serde(default)]
    pub deps: Vec<ResourceId>,
    /// The desired attributes as last applied, secrets sealed.
    pub attrs: Value,
    /// Provider outputs (ids, ARNs, endpoints) that other nodes reference.
    #[serde(default)]
    pub outputs: Value,
}

impl State {
    /// Record an applied resource, sealing its secrets with the lineage; bumps the serial.
    pub fn record(&mut self, id: ResourceId, mut rs: ResourceState) {
        rs.attrs = rs.attrs.seal(&self.lineage);
        rs.outputs = rs.outputs.seal(&self.lineage);
        self.resources.insert(id, rs);
        self.serial += 1;
    }

    /// Forget a deleted resource; bumps the serial.
    pub fn remove(&mut self, id: &ResourceId) {
        if self.resources.remove(id).is_some() {
            self.serial += 1;
        }
    }
}
