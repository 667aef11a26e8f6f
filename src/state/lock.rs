//! The state lock: one writer per profile.
//!
//! The local lock is `.alpaka/<profile>.lock`, holding a JSON [`LockInfo`] record of who holds
//! it. Mutual exclusion comes from an OS advisory lock (`flock` on Unix, `LockFileEx` on
//! Windows) taken on that file, not from the file's existence: the kernel drops the advisory
//! lock when its holder dies, so a run killed with `kill -9` never blocks the next one. The file
//! and its record are only there to tell a refused run who is in the way.
//!
//! Where the filesystem refuses advisory locks (some network and FUSE mounts; or when switched
//! off with [`LocalBackend::without_advisory_locks`](super::LocalBackend::without_advisory_locks)
//! for filesystems like NFS where `flock` may succeed without excluding other hosts), the file's
//! existence is the lock (created with `O_EXCL`). A holder that dies then leaves the lock
//! behind, and `alpaka force-unlock <ID> --profile <p>` removes it.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::StateError;

/// Who holds a lock, as recorded in the lock file and shown when a second run is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Random id; `force-unlock` must be given it, so a lock is never broken by mistake.
    pub id: String,
    /// `apply`, `destroy`, …
    pub operation: String,
    /// `$USER`, or `unknown`.
    pub owner: String,
    pub pid: u32,
    pub host: String,
    /// When the lock was taken, RFC 3339 UTC (`2026-05-01T09:30:00Z`).
    pub created: String,
    /// The alpaka version of the holder.
    #[serde(default)]
    pub version: String,
}

impl LockInfo {
    /// A record for a lock the current process is about to take.
    pub fn new(operation: &str) -> Self {
        LockInfo {
            id: super::random_hex(16),
            operation: operation.to_owned(),
            owner: std::env::var("USER")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "unknown".to_owned()),
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            created: rfc3339(SystemTime::now()),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} by {} (pid {} on {}) since {}, lock id {}",
            self.operation, self.owner, self.pid, self.host, self.created, self.id
        )
    }
}

/// How a backend lets go of a lock it handed out; implemented per backend.
pub trait LockRelease: Send {
    /// Release the lock. Called at most once, by [`StateLock::release`] or on drop.
    fn release(&mut self) -> Result<(), StateError>;
}

/// A held state lock. Released (and, for the local backend, its file removed) on drop, or
/// explicitly with [`StateLock::release`] to see errors.
pub struct StateLock {
    info: LockInfo,
    handle: Option<Box<dyn LockRelease>>,
}

impl StateLock {
    pub fn new(info: LockInfo, handle: Box<dyn LockRelease>) -> Self {
        StateLock {
            info,
            handle: Some(handle),
        }
    }

    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// Release now, reporting a failure to clean up instead of ignoring it as drop does.
    pub fn release(mut self) -> Result<(), StateError> {
        match self.handle.take() {
            Some(mut h) => h.release(),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for StateLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateLock")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        if let Some(mut h) = self.handle.take() {
            let _ = h.release();
        }
    }
}

/// The local lock: the open lock file (carrying the advisory lock, if any) and its record.
struct LocalLock {
    file: Option<File>,
    path: PathBuf,
    id: String,
}

impl LockRelease for LocalLock {
    fn release(&mut self) -> Result<(), StateError> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        // Remove the file only while it is still ours: after a force-unlock, the path may
        // already name the lock of another run.
        let ours = match is_same_file(&file, &self.path) {
            Ok(Some(same)) => same,
            Ok(None) => matches!(read_record(&self.path), Ok(Record::Holder(h)) if h.id == self.id),
            Err(_) => false,
        };
        let removed = if ours {
            match fs::remove_file(&self.path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    Err(StateError::io("remove lock file", &self.path)(e))
                }
                _ => Ok(()),
            }
        } else {
            Ok(())
        };
        // Unlock after removing, so nobody can lock the file we are about to delete. (Closing
        // the file would release it too.)
        let _ = file.unlock();
        removed
    }
}

/// What a lock file says.
#[derive(Debug)]
pub(crate) enum Record {
    Absent,
    Holder(LockInfo),
    /// Present but empty or not a record (being written right now, or damaged).
    Unreadable(String),
}

pub(crate) fn read_record(path: &Path) -> Result<Record, StateError> {
    match fs::read(path) {
        Ok(bytes) if bytes.is_empty() => Ok(Record::Unreadable("empty file".to_owned())),
        Ok(bytes) => match serde_json::from_slice::<LockInfo>(&bytes) {
            Ok(info) => Ok(Record::Holder(info)),
            Err(e) => Ok(Record::Unreadable(e.to_string())),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Record::Absent),
        Err(e) => Err(StateError::io("read lock file", path)(e)),
    }
}

/// The record of a lock that is held by someone: retried briefly, since a holder that has just
/// taken the lock may not have written its record yet.
fn read_holder_record(path: &Path) -> Result<Record, StateError> {
    let mut record = read_record(path)?;
    for _ in 0..20 {
        if !matches!(record, Record::Unreadable(_)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
        record = read_record(path)?;
    }
    Ok(record)
}

/// Take the lock at `path` for `operation`, or say who holds it.
pub(crate) fn acquire(
    path: &Path,
    profile: &str,
    operation: &str,
    advisory: bool,
) -> Result<StateLock, StateError> {
    // Retried when the file we locked was removed from under us by a holder releasing it (or by
    // force-unlock) between our open and our lock: that file is no longer the lock.
    for _ in 0..64 {
        let (file, created) = open_lock_file(path)?;
        let held = if advisory {
            match file.try_lock() {
                Ok(()) => true,
                Err(TryLockError::WouldBlock) => false,
                // No advisory locks on this filesystem: fall back to existence.
                Err(TryLockError::Error(_)) => created,
            }
        } else {
            created
        };
        if !held {
            let holder = match read_holder_record(path)? {
                Record::Holder(h) => Some(Box::new(h)),
                _ => None,
            };
            return Err(StateError::Locked {
                profile: profile.to_owned(),
                path: path.into(),
                holder,
            });
        }
        if is_same_file(&file, path).map_err(StateError::io("inspect lock file", path))?
            == Some(false)
        {
            continue;
        }
        let info = LockInfo::new(operation);
        let json = serde_json::to_vec_pretty(&info).map_err(|source| StateError::Serialize {
            path: path.into(),
            source,
        })?;
        // A file left by a holder that was killed still has its record: replace it.
        let write = file.set_len(0).and_then(|()| (&file).write_all(&json));
        if let Err(e) = write {
            let _ = fs::remove_file(path);
            return Err(StateError::io("write lock file", path)(e));
        }
        let id = info.id.clone();
        return Ok(StateLock::new(
            info,
            Box::new(LocalLock {
                file: Some(file),
                path: path.into(),
                id,
            }),
        ));
    }
    Err(StateError::Io {
        op: "take lock",
        path: path.into(),
        source: io::Error::other("the lock file kept being replaced while locking it"),
    })
}

/// Open the lock file, creating it if absent; says whether this call created it.
fn open_lock_file(path: &Path) -> Result<(File, bool), StateError> {
    for _ in 0..64 {
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(f) => return Ok((f, true)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(StateError::io("create lock file", path)(e)),
        }
        match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => return Ok((f, false)),
            // Removed between the two opens: try creating again.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StateError::io("open lock file", path)(e)),
        }
    }
    Err(StateError::Io {
        op: "open lock file",
        path: path.into(),
        source: io::Error::other("the lock file kept appearing and disappearing"),
    })
}

/// Does `path` still name the open `file`? `None` where this cannot be told (not Unix).
fn is_same_file(file: &File, path: &Path) -> io::Result<Option<bool>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let open = file.metadata()?;
        match fs::metadata(path) {
            Ok(named) => Ok(Some(open.dev() == named.dev() && open.ino() == named.ino())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(false)),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        Ok(None)
    }
}

/// Remove the lock at `path` if its recorded id is `id`.
pub(crate) fn force_unlock(path: &Path, profile: &str, id: &str) -> Result<LockInfo, StateError> {
    match read_record(path)? {
        Record::Absent => Err(StateError::NotLocked {
            profile: profile.into(),
            path: path.into(),
        }),
        Record::Unreadable(detail) => Err(StateError::LockUnreadable {
            profile: profile.into(),
            path: path.into(),
            detail,
        }),
        Record::Holder(h) if h.id != id => Err(StateError::LockIdMismatch {
            profile: profile.into(),
            path: path.into(),
            given: id.into(),
            holder: Box::new(h),
        }),
        Record::Holder(h) => match fs::remove_file(path) {
            Ok(()) => Ok(h),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StateError::NotLocked {
                profile: profile.into(),
                path: path.into(),
            }),
            Err(e) => Err(StateError::io("remove lock file", path)(e)),
        },
    }
}

/// The current holder of the lock at `path`, if any. With advisory locks, a file whose holder
/// died is not a lock: `None`.
pub(crate) fn current(
    path: &Path,
    profile: &str,
    advisory: bool,
) -> Result<Option<LockInfo>, StateError> {
    if advisory {
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateError::io("open lock file", path)(e)),
        };
        match file.try_lock() {
            // Nobody holds it: a leftover of a killed run. (Held for an instant only; a run
            // locking right now may be refused, as if this probe were a holder.)
            Ok(()) => {
                let _ = file.unlock();
                return Ok(None);
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(_)) => {} // no advisory locks here: existence decides
        }
    }
    match read_holder_record(path)? {
        Record::Absent => Ok(None),
        Record::Holder(h) => Ok(Some(h)),
        Record::Unreadable(detail) => Err(StateError::LockUnreadable {
            profile: profile.into(),
            path: path.into(),
            detail,
        }),
    }
}

/// `SystemTime` as RFC 3339 UTC with second precision, e.g. `2026-05-01T09:30:00Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
    }

    #[test]
    fn lock_info_names_this_process() {
        let info = LockInfo::new("apply");
        assert_eq!(info.pid, std::process::id());
        assert_eq!(info.id.len(), 32);
        assert_ne!(info.id, LockInfo::new("apply").id);
        assert!(
            info.created.ends_with('Z') && info.created.len() == 20,
            "{}",
            info.created
        );
        assert!(!info.owner.is_empty() && !info.host.is_empty());
    }
}
