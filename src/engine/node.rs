//! A resource as the engine sees it: an id, a kind, dependencies, and the desired attributes.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::value::Value;

/// Stable resource id, e.g. `eks.cluster.prod`, `helm.strimzi`, `connector.srccon.mydb_log.log1`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceId(pub String);

impl ResourceId {
    pub fn new(s: impl Into<String>) -> Self {
        ResourceId(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ResourceId {
    fn from(s: &str) -> Self {
        ResourceId(s.to_owned())
    }
}

/// One desired resource. `kind` selects the driver that knows its API (`helm.release`,
/// `eks.cluster`, …); `desired` is the provider's typed spec seen as an attribute tree, where
/// outputs of other nodes appear as [`Value::Unknown`].
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub id: ResourceId,
    pub kind: String,
    pub deps: Vec<ResourceId>,
    pub desired: Value,
}

impl Node {
    pub fn new(id: impl Into<String>, kind: impl Into<String>, desired: Value) -> Self {
        Node {
            id: ResourceId(id.into()),
            kind: kind.into(),
            deps: Vec::new(),
            desired,
        }
    }

    pub fn after(mut self, dep: impl Into<String>) -> Self {
        let dep = ResourceId(dep.into());
        if !self.deps.contains(&dep) {
            self.deps.push(dep);
        }
        self
    }
}
