//! What alpaka has made: the state model, and the backend that persists and locks it.
//!
//! Architecture invariant: state never holds a plaintext secret. Every attribute tree is sealed
//! (`Value::seal`) with the state's lineage as salt before it is recorded: [`State::record`]
//! seals, and [`Backend::persist`] seals again whatever reached `resources` another way.
//!
//! A run goes: `let _lock = backend.lock("apply")?;` (refused with the holder's name, pid, host
//! and a `force-unlock` hint if another run holds it), `backend.load()?` or [`State::new`], then
//! per finished node `state.record(id, rs)` / `state.remove(&id)` and `backend.persist(&state)?`
//! (atomic: temp + fsync + rename + directory fsync; previous kept as `.backup`). The lock is
//! released and its file removed when the guard drops.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::{ResourceId, Value};

mod error;
mod local;
mod lock;
mod s3;

pub use error::StateError;
pub use local::{Backend, LocalBackend, STATE_DIR};
pub use lock::{LockInfo, LockRelease, StateLock};
pub use s3::{S3Backend, S3Location};

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
    /// How many times each resource id has been destroyed: part of its creates' idempotency
    /// token, so a create after a destroy is a new request to AWS, not a replay of the old one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub generations: BTreeMap<ResourceId, u64>,
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
    /// A fresh, empty state: serial 0 and a new random lineage.
    pub fn new(profile: impl Into<String>) -> Self {
        State {
            version: STATE_VERSION,
            serial: 0,
            lineage: random_hex(16),
            profile: profile.into(),
            resources: BTreeMap::new(),
            generations: BTreeMap::new(),
        }
    }

    /// Record an applied resource. Its `attrs` and `outputs` are sealed with the lineage here, so
    /// no caller can put a plaintext secret into state. Bumps the serial.
    pub fn record(&mut self, id: ResourceId, resource: ResourceState) {
        let sealed = resource.sealed(&self.lineage);
        self.resources.insert(id, sealed);
        self.serial += 1;
    }

    /// Forget a resource (destroyed): bumps its generation, and the serial when something was
    /// removed.
    pub fn remove(&mut self, id: &ResourceId) -> Option<ResourceState> {
        let removed = self.resources.remove(id);
        if removed.is_some() {
            self.bump_generation(id);
            self.serial += 1;
        }
        removed
    }

    /// Count one more destroy of `id` (the old resource of a replacement).
    pub fn bump_generation(&mut self, id: &ResourceId) {
        *self.generations.entry(id.clone()).or_default() += 1;
    }

    /// How many times `id` has been destroyed (0: never).
    pub fn generation(&self, id: &ResourceId) -> u64 {
        self.generations.get(id).copied().unwrap_or(0)
    }

    pub fn get(&self, id: &ResourceId) -> Option<&ResourceState> {
        self.resources.get(id)
    }

    /// A copy in the form that is written: current format version, every secret sealed (also
    /// those inserted into `resources` directly, bypassing [`State::record`]).
    pub fn sealed(&self) -> State {
        State {
            version: STATE_VERSION,
            serial: self.serial,
            lineage: self.lineage.clone(),
            profile: self.profile.clone(),
            resources: self
                .resources
                .iter()
                .map(|(id, r)| (id.clone(), r.sealed(&self.lineage)))
                .collect(),
            generations: self.generations.clone(),
        }
    }
}

impl ResourceState {
    /// The same resource with every plaintext secret replaced by its hash under `salt`.
    pub fn sealed(&self, salt: &str) -> ResourceState {
        ResourceState {
            kind: self.kind.clone(),
            deps: self.deps.clone(),
            attrs: self.attrs.seal(salt),
            outputs: self.outputs.seal(salt),
        }
    }
}

/// `n` random bytes as lowercase hex, from `/dev/urandom`. Where that is unavailable (not a
/// Unix), falls back to a hash of time, pid and a counter: unique, not secret, which is all a
/// lineage or lock id needs (the lineage salts secret hashes against rainbow tables, nothing more).
pub(crate) fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    let from_os = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if from_os.is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut filled = 0;
        while filled < n {
            let mut h = Sha256::new();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            h.update(now.to_le_bytes());
            h.update(std::process::id().to_le_bytes());
            h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
            h.update((&buf as *const Vec<u8> as usize).to_le_bytes());
            for b in h.finalize() {
                if filled < n {
                    buf[filled] = b;
                    filled += 1;
                }
            }
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Read a stored state: the format version first (a newer format may not parse as this
/// build's [`State`] at all), then the state, migrated to [`STATE_VERSION`], which must be
/// `profile`'s. `path` names where it came from (a file, or an `s3://` URL), `backup` where the
/// previous one is kept.
pub(crate) fn decode(
    bytes: &[u8],
    path: &Path,
    backup: &Path,
    profile: &str,
) -> Result<State, StateError> {
    #[derive(Deserialize)]
    struct Probe {
        version: u32,
    }
    let parse_err = |source: serde_json::Error| StateError::Parse {
        path: path.into(),
        backup: backup.into(),
        line: source.line(),
        column: source.column(),
        source,
    };
    let probe: Probe = serde_json::from_slice(bytes).map_err(parse_err)?;
    if probe.version > STATE_VERSION {
        return Err(StateError::TooNew {
            path: path.into(),
            found: probe.version,
            supported: STATE_VERSION,
        });
    }
    let mut state: State = serde_json::from_slice(bytes).map_err(parse_err)?;
    // Version 1 is the first: nothing to migrate yet.
    if state.version < STATE_VERSION {
        state.version = STATE_VERSION;
    }
    if state.profile != profile {
        return Err(StateError::ProfileMismatch {
            path: path.into(),
            found: state.profile,
            expected: profile.to_owned(),
        });
    }
    Ok(state)
}

/// Whether `state` may replace the stored one (lineage `lineage`, serial `serial`, at `path`):
/// the same deployment, and not older than what is stored.
pub(crate) fn may_replace(
    path: &Path,
    lineage: &str,
    serial: u64,
    state: &State,
) -> Result<(), StateError> {
    if lineage != state.lineage {
        return Err(StateError::LineageMismatch {
            path: path.into(),
            on_disk: lineage.to_owned(),
            ours: state.lineage.clone(),
        });
    }
    if serial > state.serial {
        return Err(StateError::StaleSerial {
            path: path.into(),
            on_disk: serial,
            ours: state.serial,
        });
    }
    Ok(())
}

/// The stored form of a state: sealed, pretty JSON, a final newline.
pub(crate) fn encode(state: &State, path: &Path) -> Result<Vec<u8>, StateError> {
    let mut json =
        serde_json::to_vec_pretty(&state.sealed()).map_err(|source| StateError::Serialize {
            path: path.into(),
            source,
        })?;
    json.push(b'\n');
    Ok(json)
}

#[cfg(test)]
mod tests;
