//! Where state lives: the [`Backend`] trait, and the local backend (files under `.alpaka/`).
//!
//! Layout, for profile `p` under the workspace root:
//!
//! ```text
//! .alpaka/.gitignore              "*" (written when the directory is created)
//! .alpaka/p.state.json            the state
//! .alpaka/p.state.json.backup     the state before the last persist
//! .alpaka/p.lock                  the lock and its holder record (see `lock`)
//! .alpaka/p.state.json.tmp.*      a write in progress (or cut short by a crash; removed on lock)
//! ```
//!
//! Every persist writes a temporary file, fsyncs it, renames it over the state and fsyncs the
//! directory. A rename within a directory is atomic, so a crash or `kill -9` at any moment
//! leaves either the previous or the next complete state, never a torn one; after the directory
//! fsync, the new state also survives a power loss.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::lock::{self, StateLock};
use super::{LockInfo, State, StateError};

/// Persists and locks the state of one profile. The local backend is the default; a remote one
/// (object store + lock table) implements the same contract.
pub trait Backend: Send + Sync {
    /// Where the state lives, for messages: `.alpaka/minikube.state.json`.
    fn describe(&self) -> String;
    /// The stored state; `None` when there is none yet. A state this build cannot read (newer
    /// format, damaged) is an error, never treated as absent.
    fn load(&self) -> Result<Option<State>, StateError>;
    /// Replace the stored state atomically: readers see the previous or the new state, whole.
    /// Refuses to replace a state of another lineage or with a higher serial.
    fn persist(&self, state: &State) -> Result<(), StateError>;
    /// Take the lock of this profile for `operation` (`apply`, `destroy`, …), or fail with
    /// [`StateError::Locked`] naming the holder. Released when the guard drops.
    fn lock(&self, operation: &str) -> Result<StateLock, StateError>;
    /// Break the lock whose id is `id` (from the `Locked` message), returning whom it belonged
    /// to. For a holder that hangs, or a lock left behind where advisory locks don't work (there
    /// a killed holder's lock stays). A different id is refused with the actual holder.
    fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError>;
    /// Who holds the lock now, if anyone.
    fn current_lock(&self) -> Result<Option<LockInfo>, StateError>;
}

/// State in `<root>/.alpaka/<profile>.state.json`, locked by `<root>/.alpaka/<profile>.lock`.
#[derive(Clone, Debug)]
pub struct LocalBackend {
    root: PathBuf,
    profile: String,
    advisory_locks: bool,
}

/// The directory under the workspace root that holds local state.
pub const STATE_DIR: &str = ".alpaka";

impl LocalBackend {
    pub fn new(root: &Path, profile: &str) -> Self {
        LocalBackend {
            root: root.to_path_buf(),
            profile: profile.to_owned(),
            advisory_locks: true,
        }
    }

    /// Don't rely on OS advisory locks: the lock file's existence is the lock. For filesystems
    /// where `flock` succeeds without excluding other machines (some NFS setups). A holder that
    /// is killed then leaves its lock, to be removed with `force-unlock`.
    pub fn without_advisory_locks(mut self) -> Self {
        self.advisory_locks = false;
        self
    }

    pub fn profile(&self) -> &str {
        &self.profile
    }

    pub fn dir(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir().join(format!("{}.state.json", self.profile))
    }

    pub fn backup_path(&self) -> PathBuf {
        self.dir()
            .join(format!("{}.state.json.backup", self.profile))
    }

    pub fn lock_path(&self) -> PathBuf {
        self.dir().join(format!("{}.lock", self.profile))
    }

    fn tmp_prefix(&self) -> String {
        format!("{}.state.json.tmp.", self.profile)
    }

    /// A fresh temporary name in the state directory (unique per process and call).
    fn tmp_path(&self, suffix: &str) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        self.dir().join(format!(
            "{}{}.{n}{suffix}",
            self.tmp_prefix(),
            std::process::id()
        ))
    }

    /// Profile names become file names: no separators, no `..`, no hidden files.
    fn check_profile(&self) -> Result<(), StateError> {
        let p = &self.profile;
        let ok = !p.is_empty()
            && p.len() <= 128
            && !p.starts_with('.')
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(())
        } else {
            Err(StateError::InvalidProfile { profile: p.clone() })
        }
    }

    fn ensure_dir(&self) -> Result<(), StateError> {
        let dir = self.dir();
        if dir.is_dir() {
            return Ok(());
        }
        fs::create_dir_all(&dir).map_err(StateError::io("create state directory", &dir))?;
        // Keep state out of version control in whatever repository the workspace is.
        let ignore = dir.join(".gitignore");
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&ignore)
        {
            Ok(mut f) => f
                .write_all(b"# alpaka state and locks: local to this machine.\n*\n")
                .map_err(StateError::io("write", &ignore)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(StateError::io("create", &ignore)(e)),
        }
    }

    /// Parse and check state file bytes read from `path`.
    fn decode(&self, path: &Path, bytes: &[u8]) -> Result<State, StateError> {
        super::decode(bytes, path, &self.backup_path(), &self.profile)
    }

    /// Keep the current state file as the backup: hard-linked (no copy), or rewritten from
    /// `previous` where links are unsupported; renamed into place either way.
    fn keep_backup(&self, state_path: &Path, previous: &[u8]) -> Result<(), StateError> {
        let tmp = self.tmp_path(".backup");
        if fs::hard_link(state_path, &tmp).is_err() {
            write_synced(&tmp, previous)?;
        }
        let backup = self.backup_path();
        fs::rename(&tmp, &backup).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            StateError::io("rename temporary backup to", &backup)(e)
        })
    }

    /// Remove temporary files that a crashed write left behind. Called with the lock held.
    fn remove_stale_tmp(&self) {
        let prefix = self.tmp_prefix();
        let Ok(entries) = fs::read_dir(self.dir()) else {
            return;
        };
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&prefix))
            {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Create `path` (which must not exist), write `bytes`, fsync. Owner-only on Unix: state holds
/// endpoints and secret hashes.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let written = opts
        .open(path)
        .map_err(StateError::io("create temporary state", path))
        .and_then(|mut f| {
            f.write_all(bytes)
                .map_err(StateError::io("write temporary state", path))?;
            f.sync_all()
                .map_err(StateError::io("fsync temporary state", path))
        });
    if written.is_err() {
        let _ = fs::remove_file(path);
    }
    written
}

/// Make a rename in `dir` durable. (Windows cannot open directories; renames there are
/// journaled by NTFS.)
fn sync_dir(dir: &Path) -> Result<(), StateError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(StateError::io("fsync state directory", dir))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

impl Backend for LocalBackend {
    fn describe(&self) -> String {
        let path = self.state_path();
        path.strip_prefix(".")
            .unwrap_or(&path)
            .display()
            .to_string()
    }

    fn load(&self) -> Result<Option<State>, StateError> {
        self.check_profile()?;
        let path = self.state_path();
        match fs::read(&path) {
            Ok(bytes) => self.decode(&path, &bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StateError::io("read state file", &path)(e)),
        }
    }

    fn persist(&self, state: &State) -> Result<(), StateError> {
        self.check_profile()?;
        let path = self.state_path();
        if state.profile != self.profile {
            return Err(StateError::ProfileMismatch {
                path,
                found: state.profile.clone(),
                expected: self.profile.clone(),
            });
        }
        self.ensure_dir()?;

        // What is there now must be a state we may replace: parsable (a damaged file is never
        // overwritten), same deployment, not newer.
        let previous = match fs::read(&path) {
            Ok(bytes) => {
                let on_disk = self.decode(&path, &bytes)?;
                super::may_replace(&path, &on_disk.lineage, on_disk.serial, state)?;
                Some(bytes)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(StateError::io("read state file", &path)(e)),
        };

        let json = super::encode(state, &path)?;

        let tmp = self.tmp_path("");
        write_synced(&tmp, &json)?;
        if let Some(previous) = previous
            && let Err(e) = self.keep_backup(&path, &previous)
        {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        if let Err(e) = fs::rename(&tmp, &path) {
            let _ = fs::remove_file(&tmp);
            return Err(StateError::io("rename temporary state to", &path)(e));
        }
        sync_dir(&self.dir())
    }

    fn lock(&self, operation: &str) -> Result<StateLock, StateError> {
        self.check_profile()?;
        self.ensure_dir()?;
        let lock = lock::acquire(
            &self.lock_path(),
            &self.profile,
            operation,
            self.advisory_locks,
        )?;
        self.remove_stale_tmp();
        Ok(lock)
    }

    fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        self.check_profile()?;
        lock::force_unlock(&self.lock_path(), &self.profile, id)
    }

    fn current_lock(&self) -> Result<Option<LockInfo>, StateError> {
        self.check_profile()?;
        lock::current(&self.lock_path(), &self.profile, self.advisory_locks)
    }
}
