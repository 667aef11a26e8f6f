//! What can go wrong reading, writing and locking state. Every variant names the file and what
//! was being done to it, so the message alone tells the user where to look.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use super::lock::LockInfo;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// An I/O call failed; `op` says which (`"read state file"`, `"rename temporary state"`, …).
    #[error("{op} {}: {source}", .path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The state file is not valid JSON or not a state. It is never overwritten in that case.
    #[error(
        "cannot parse state file {}: {source}\n  the file was left untouched: repair it, or restore \
         the previous state from {}",
        .path.display(),
        .backup.display()
    )]
    Parse {
        path: PathBuf,
        backup: PathBuf,
        line: usize,
        column: usize,
        #[source]
        source: serde_json::Error,
    },

    /// Written by a newer alpaka whose format this build cannot read.
    #[error(
        "state file {} has format version {found}, but this alpaka ({}) only understands up to \
         version {supported}: it was written by a newer alpaka; upgrade alpaka to use it",
        .path.display(),
        env!("CARGO_PKG_VERSION")
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    /// The file (or the state handed to `persist`) is for another profile.
    #[error("state file {} belongs to profile {found:?}, not {expected:?}", .path.display())]
    ProfileMismatch {
        path: PathBuf,
        found: String,
        expected: String,
    },

    /// `persist` would replace a state of another deployment (different lineage).
    #[error(
        "refusing to overwrite state file {}: it has lineage {on_disk}, the state being saved has \
         lineage {ours} (they describe different deployments)",
        .path.display()
    )]
    LineageMismatch {
        path: PathBuf,
        on_disk: String,
        ours: String,
    },

    /// `persist` would replace a newer state (someone else wrote since this one was loaded).
    #[error(
        "refusing to overwrite state file {}: it is at serial {on_disk}, newer than the state \
         being saved (serial {ours}); another run changed it since it was loaded",
        .path.display()
    )]
    StaleSerial {
        path: PathBuf,
        on_disk: u64,
        ours: u64,
    },

    #[error("cannot serialize state for {}: {source}", .path.display())]
    Serialize {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// Profile names become file names; they must not be able to escape `.alpaka/`.
    #[error(
        "invalid profile name {profile:?}: use ASCII letters, digits, '-', '_' and '.', not \
         starting with '.'"
    )]
    InvalidProfile { profile: String },

    /// Another run holds the lock of this profile.
    #[error("{}", locked_message(.profile, .path, .holder.as_deref()))]
    Locked {
        profile: String,
        path: PathBuf,
        holder: Option<Box<LockInfo>>,
    },

    /// `force_unlock` was given an id that is not the one of the current lock.
    #[error(
        "lock id {given:?} does not match the lock of profile {profile:?} ({}), which is held by \
         {holder}\n  to break that lock: alpaka force-unlock {} --profile {profile}",
        .path.display(),
        .holder.id
    )]
    LockIdMismatch {
        profile: String,
        path: PathBuf,
        given: String,
        holder: Box<LockInfo>,
    },

    /// `force_unlock` on a profile that has no lock file.
    #[error("profile {profile:?} is not locked ({} does not exist)", .path.display())]
    NotLocked { profile: String, path: PathBuf },

    /// The remote store failed: the operation, the object, and the store's own error code.
    #[error("{}", remote_message(.source, .location))]
    Remote {
        location: String,
        #[source]
        source: Box<alpaka_aws::error::AwsError>,
    },

    /// A conditional write lost: another run wrote the state since this one read it. Nothing was
    /// written; what the other run wrote is intact.
    #[error(
        "refusing to overwrite {location}: another run wrote it since this run read it (it is now \
         at serial {theirs}; this run's state is serial {ours}). Nothing was written and nothing \
         is lost: run the command again to plan against the current state"
    )]
    Conflict {
        location: String,
        theirs: u64,
        ours: u64,
    },

    /// The lock file exists but holds no readable holder record.
    #[error(
        "lock file {} has no readable holder record ({detail}); if no alpaka process is running \
         on profile {profile:?}, delete the file by hand",
        .path.display()
    )]
    LockUnreadable {
        profile: String,
        path: PathBuf,
        detail: String,
    },
}

impl StateError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| StateError::Io { op, path, source }
    }
}

fn remote_message(source: &alpaka_aws::error::AwsError, location: &str) -> String {
    let mut m = format!("{source}\n  state: {location}");
    if source.code_is("AccessDenied") {
        // S3 answers a missing key with AccessDenied to whoever may not list the bucket.
        m.push_str(
            "\n  alpaka needs s3:ListBucket on the bucket and s3:GetObject, s3:PutObject and \
             s3:DeleteObject on the state, its .lock and .backup objects (README: Working as a \
             team)",
        );
    }
    m
}

fn locked_message(profile: &str, path: &std::path::Path, holder: Option<&LockInfo>) -> String {
    let mut m = format!("profile {profile:?} is locked by another alpaka run");
    match holder {
        Some(h) => {
            let _ = write!(
                m,
                ":\n  operation: {}\n  owner:     {}\n  pid:       {}\n  host:      {}\n  since:     {}\n  \
                 lock id:   {}\n  lock file: {}\nWait for it to finish (or pass --lock-timeout 10m to wait). If that process is gone or \
                 hung, break the lock with:\n  alpaka force-unlock {} --profile {profile}",
                h.operation,
                h.owner,
                h.pid,
                h.host,
                h.created,
                h.id,
                path.display(),
                h.id
            );
        }
        None => {
            let _ = write!(
                m,
                " (lock file {}, holder record not readable yet); retry in a moment",
                path.display()
            );
        }
    }
    m
}
