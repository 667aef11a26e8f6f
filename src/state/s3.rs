//! The S3 backend: a team's shared state and lock in one bucket, with S3's conditional writes
//! (no lock table).
//!
//! Layout, for `key` (default `alpaka/<profile>.state.json`):
//!
//! ```text
//! <key>          the state, written whole with `If-Match: <ETag read>` (`If-None-Match: *` the
//!                first time), so a write never replaces a state someone else wrote meanwhile
//! <key>.lock     the lock: created with `If-None-Match: *`, holding the holder record
//!                (`LockInfo`), deleted with `If-Match` on its ETag
//! <key>.backup   the state before the last write, when the bucket does not keep versions
//! ```
//!
//! Every object is encrypted at rest (SSE-S3, or SSE-KMS with `kmsKeyId`). Secrets are sealed
//! exactly as in the local backend (`encode`). A conditional write that fails after the SDK
//! retried it may have landed the first time (the answer was lost, the retry then finds the
//! object changed): the object is read back, and when it is byte for byte what was written, the
//! write succeeded.
//!
//! The [`Backend`] trait is synchronous (the engine persists between steps, like an fsync), and
//! the S3 client is async: the backend drives its own runtime on a thread of its own, so it can
//! be called from inside the CLI's runtime as from outside.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use alpaka_aws::state_store::{Condition, Encryption, Object, StateStore, WriteError};

use super::{Backend, LockInfo, LockRelease, State, StateError, StateLock};

/// Where a profile's state lives in S3, as the profile's `state:` block gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
    pub region: String,
    pub encryption: Encryption,
}

impl S3Location {
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
    fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }
    fn lock_url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.lock_key())
    }
    fn backup_key(&self) -> String {
        format!("{}.backup", self.key)
    }
}

/// What this process last read or wrote: the ETag a write must still match, and what it said.
#[derive(Clone, Debug)]
struct Seen {
    etag: String,
    body: Vec<u8>,
    lineage: String,
    serial: u64,
}

struct Inner {
    store: StateStore,
    at: S3Location,
    /// Always `Some` until dropped (taken out so it can be shut down without blocking).
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is refused inside another runtime (the CLI's).
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Inner {
    /// Run `f` to completion on the backend's runtime, from any thread (also one of another
    /// runtime's, where blocking on a second runtime directly is refused).
    fn run<F>(&self, f: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let Some(rt) = self.rt.as_ref() else {
            unreachable!("the runtime is only taken when Inner is dropped");
        };
        std::thread::scope(|s| {
            match s.spawn(|| rt.block_on(f)).join() {
                Ok(out) => out,
                // The future panicked: let the panic continue in the caller.
                Err(p) => std::panic::resume_unwind(p),
            }
        })
    }
}

pub struct S3Backend {
    inner: Arc<Inner>,
    profile: String,
    seen: Mutex<Option<Seen>>,
    versioned: Mutex<Option<bool>>,
}

impl std::fmt::Debug for S3Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Backend")
            .field("at", &self.inner.at)
            .field("profile", &self.profile)
            .finish()
    }
}

fn remote(at: &S3Location) -> impl Fn(alpaka_aws::error::AwsError) -> StateError + '_ {
    move |source| StateError::Remote {
        location: at.url(),
        source: Box::new(source),
    }
}

impl S3Backend {
    /// Credentials the standard AWS way (the same chain as the EKS provider), `AWS_ENDPOINT_URL`
    /// honoured. No call is made until the state is used.
    pub fn new(at: S3Location, profile: &str) -> Result<S3Backend, StateError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StateError::io(
                "start the S3 client's runtime for",
                at.url(),
            ))?;
        let region = at.region.clone();
        let store = std::thread::scope(|s| {
            s.spawn(|| rt.block_on(StateStore::load(&region)))
                .join()
                .map_err(|_| StateError::Remote {
                    location: at.url(),
                    source: Box::new(alpaka_aws::error::AwsError::new(
                        "s3:configure",
                        at.url(),
                        "loading the AWS configuration panicked",
                    )),
                })
        })?;
        Ok(S3Backend {
            inner: Arc::new(Inner {
                store,
                at,
                rt: Some(rt),
            }),
            profile: profile.to_owned(),
            seen: Mutex::new(None),
            versioned: Mutex::new(None),
        })
    }

    pub fn location(&self) -> &S3Location {
        &self.inner.at
    }

    fn path(&self) -> PathBuf {
        PathBuf::from(self.inner.at.url())
    }

    fn backup_path(&self) -> PathBuf {
        PathBuf::from(format!(
            "s3://{}/{} (or an older version of the state object)",
            self.inner.at.bucket,
            self.inner.at.backup_key()
        ))
    }

    fn get(&self, key: &str) -> Result<Option<Object>, StateError> {
        let i = &self.inner;
        i.run(i.store.get(&i.at.bucket, key)).map_err(remote(&i.at))
    }

    fn decode(&self, body: &[u8]) -> Result<State, StateError> {
        super::decode(body, &self.path(), &self.backup_path(), &self.profile)
    }

    fn remember(&self, seen: Option<Seen>) {
        if let Ok(mut s) = self.seen.lock() {
            *s = seen;
        }
    }

    fn last_seen(&self) -> Option<Seen> {
        self.seen.lock().ok().and_then(|s| s.clone())
    }

    /// Whether the bucket keeps versions (asked once per process).
    fn versioned(&self) -> Result<bool, StateError> {
        if let Some(v) = self.versioned.lock().ok().and_then(|v| *v) {
            return Ok(v);
        }
        let i = &self.inner;
        let v = i
            .run(i.store.versioning_enabled(&i.at.bucket))
            .map_err(remote(&i.at))?;
        if let Ok(mut slot) = self.versioned.lock() {
            *slot = Some(v);
        }
        Ok(v)
    }

    fn write_failed(&self, e: WriteError) -> StateError {
        match e {
            WriteError::Precondition(source) | WriteError::Aws(source) => StateError::Remote {
                location: self.inner.at.url(),
                source,
            },
        }
    }

    fn locked(&self, holder: Option<LockInfo>) -> StateError {
        StateError::Locked {
            profile: self.profile.clone(),
            path: self.lock_path(),
            holder: holder.map(Box::new),
        }
    }

    fn lock_path(&self) -> PathBuf {
        PathBuf::from(self.inner.at.lock_url())
    }

    /// The lock object and its holder; `Err(detail)` in the holder when it is not a record.
    fn read_lock(&self) -> Result<Option<LockObject>, StateError> {
        Ok(self.get(&self.inner.at.lock_key())?.map(|o| {
            let info = serde_json::from_slice::<LockInfo>(&o.body).map_err(|e| e.to_string());
            (o, info)
        }))
    }
}

/// A state write, given more rounds when the SDK's own retries end on a transient failure
/// (5xx, throttling, a timed-out or dropped call): while the lock is held, the state in
/// memory is the truth, and a lost write would lose what apply just made. Each round is the
/// same conditional write, so a round that landed unseen is found by the caller's
/// read-back, never written twice over someone else's.
fn patiently<T>(mut write: impl FnMut() -> Result<T, WriteError>) -> Result<T, WriteError> {
    let mut pause = std::time::Duration::from_secs(1);
    for _ in 1..WRITE_ROUNDS {
        match write() {
            Err(WriteError::Aws(e)) if transient(&e) => {
                std::thread::sleep(pause);
                pause *= 2;
            }
            other => return other,
        }
    }
    write()
}

/// Rounds of [`patiently`] (each being the SDK's standard retries).
const WRITE_ROUNDS: u32 = 4;

/// A failure worth another round: the server's (5xx, throttling) or the connection's (no code:
/// a timeout or a dropped connection), never a refusal such as AccessDenied.
fn transient(e: &alpaka_aws::error::AwsError) -> bool {
    match e.code.as_deref() {
        None => true,
        Some(c) => matches!(
            c,
            "InternalError"
                | "ServiceUnavailable"
                | "SlowDown"
                | "RequestTimeout"
                | "Throttling"
                | "ThrottlingException"
                | "RequestLimitExceeded"
        ),
    }
}

/// The lock object, and its holder record (or why it is not one).
type LockObject = (Object, Result<LockInfo, String>);

/// Let go of the lock object, but only while it is still ours (after a `force-unlock`, the key
/// may name another run's lock).
struct S3Lock {
    inner: Arc<Inner>,
    etag: Option<String>,
}

impl LockRelease for S3Lock {
    fn release(&mut self) -> Result<(), StateError> {
        let Some(etag) = self.etag.take() else {
            return Ok(());
        };
        let i = &self.inner;
        match patiently(|| i.run(i.store.delete_if(&i.at.bucket, &i.at.lock_key(), &etag))) {
            Ok(()) | Err(WriteError::Precondition(_)) => Ok(()),
            Err(WriteError::Aws(source)) => Err(StateError::Remote {
                location: i.at.lock_url(),
                source,
            }),
        }
    }
}

impl Backend for S3Backend {
    fn describe(&self) -> String {
        self.inner.at.url()
    }

    fn load(&self) -> Result<Option<State>, StateError> {
        let Some(o) = self.get(&self.inner.at.key)? else {
            self.remember(None);
            return Ok(None);
        };
        let state = self.decode(&o.body)?;
        self.remember(Some(Seen {
            etag: o.etag,
            body: o.body,
            lineage: state.lineage.clone(),
            serial: state.serial,
        }));
        Ok(Some(state))
    }

    fn persist(&self, state: &State) -> Result<(), StateError> {
        let path = self.path();
        if state.profile != self.profile {
            return Err(StateError::ProfileMismatch {
                path,
                found: state.profile.clone(),
                expected: self.profile.clone(),
            });
        }
        let seen = self.last_seen();
        if let Some(s) = &seen {
            super::may_replace(&path, &s.lineage, s.serial, state)?;
        }
        let body = super::encode(state, &path)?;
        let i = &self.inner;
        // The previous state, kept before it is replaced (a versioned bucket keeps it itself).
        if let Some(s) = &seen
            && !self.versioned()?
        {
            patiently(|| {
                i.run(i.store.put(
                    &i.at.bucket,
                    &i.at.backup_key(),
                    s.body.clone(),
                    &Condition::None,
                    &i.at.encryption,
                ))
            })
            .map_err(|e| self.write_failed(e))?;
        }
        let condition = match &seen {
            Some(s) => Condition::Matches(s.etag.clone()),
            None => Condition::Absent,
        };
        let written = patiently(|| {
            i.run(i.store.put(
                &i.at.bucket,
                &i.at.key,
                body.clone(),
                &condition,
                &i.at.encryption,
            ))
        });
        let etag = match written {
            Ok(etag) => etag,
            Err(WriteError::Precondition(_)) => {
                // Lost a race — or won it on a try whose answer was lost. What is there now?
                match self.get(&i.at.key)? {
                    Some(o) if o.body == body => o.etag,
                    Some(o) => {
                        let theirs = self.decode(&o.body)?;
                        if theirs.lineage != state.lineage {
                            return Err(StateError::LineageMismatch {
                                path,
                                on_disk: theirs.lineage,
                                ours: state.lineage.clone(),
                            });
                        }
                        return Err(StateError::Conflict {
                            location: i.at.url(),
                            theirs: theirs.serial,
                            ours: state.serial,
                        });
                    }
                    None => {
                        return Err(StateError::Conflict {
                            location: i.at.url(),
                            theirs: 0,
                            ours: state.serial,
                        });
                    }
                }
            }
            Err(e) => return Err(self.write_failed(e)),
        };
        self.remember(Some(Seen {
            etag,
            body,
            lineage: state.lineage.clone(),
            serial: state.serial,
        }));
        Ok(())
    }

    fn lock(&self, operation: &str) -> Result<StateLock, StateError> {
        let info = LockInfo::new(operation);
        let body = serde_json::to_vec_pretty(&info).map_err(|source| StateError::Serialize {
            path: self.lock_path(),
            source,
        })?;
        let i = &self.inner;
        // A few rounds: the holder may release between our refused write and our read.
        for _ in 0..5 {
            match i.run(i.store.put(
                &i.at.bucket,
                &i.at.lock_key(),
                body.clone(),
                &Condition::Absent,
                &i.at.encryption,
            )) {
                Ok(etag) => {
                    let handle = S3Lock {
                        inner: Arc::clone(&self.inner),
                        etag: Some(etag),
                    };
                    return Ok(StateLock::new(info, Box::new(handle)));
                }
                Err(WriteError::Precondition(_)) => match self.read_lock()? {
                    // Ours: a retried create whose first try landed.
                    Some((o, Ok(h))) if h.id == info.id => {
                        let handle = S3Lock {
                            inner: Arc::clone(&self.inner),
                            etag: Some(o.etag),
                        };
                        return Ok(StateLock::new(info, Box::new(handle)));
                    }
                    Some((_, Ok(h))) => return Err(self.locked(Some(h))),
                    Some((_, Err(detail))) => {
                        return Err(StateError::LockUnreadable {
                            profile: self.profile.clone(),
                            path: self.lock_path(),
                            detail,
                        });
                    }
                    None => continue,
                },
                Err(e) => return Err(self.write_failed(e)),
            }
        }
        Err(self.locked(None))
    }

    fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        let Some((o, holder)) = self.read_lock()? else {
            return Err(StateError::NotLocked {
                profile: self.profile.clone(),
                path: self.lock_path(),
            });
        };
        let holder = holder.map_err(|detail| StateError::LockUnreadable {
            profile: self.profile.clone(),
            path: self.lock_path(),
            detail,
        })?;
        if holder.id != id {
            return Err(StateError::LockIdMismatch {
                profile: self.profile.clone(),
                path: self.lock_path(),
                given: id.to_owned(),
                holder: Box::new(holder),
            });
        }
        let i = &self.inner;
        match i.run(i.store.delete_if(&i.at.bucket, &i.at.lock_key(), &o.etag)) {
            Ok(()) => Ok(holder),
            // Released and taken again meanwhile: that is another lock now.
            Err(WriteError::Precondition(_)) => match self.read_lock()? {
                Some((_, Ok(now))) => Err(StateError::LockIdMismatch {
                    profile: self.profile.clone(),
                    path: self.lock_path(),
                    given: id.to_owned(),
                    holder: Box::new(now),
                }),
                _ => Ok(holder),
            },
            Err(e) => Err(self.write_failed(e)),
        }
    }

    fn current_lock(&self) -> Result<Option<LockInfo>, StateError> {
        Ok(self.read_lock()?.and_then(|(_, h)| h.ok()))
    }
}
