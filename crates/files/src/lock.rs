//! Claiming a piece of work in a directory that several processes, possibly on several hosts, share.
//!
//! A lock is a file created with `create_new` (atomic on local and NFSv3+ file systems) holding its
//! holder's host, pid, start time and a unique token. While held, a thread touches the file's
//! modification time every `stale_after / 5` (the heartbeat). A lock is stale when its holder is a
//! process of this host that has ended, or when its heartbeat is older than `stale_after` (a holder on
//! another host that died or lost the file system). A lock file that cannot be read as a holder (empty:
//! its writer died between creating and writing it) is stale once it is older than
//! [`LOCK_WRITE_GRACE`], on any host. A stale lock is taken over: renamed away under a unique name,
//! checked to be the one judged stale (else put back), then created afresh.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::atomic::{host_name, process_alive, temporary_path};
use crate::error::FileError;

/// How long a lock file may stay unreadable (created, not yet written) before it counts as left by a
/// dead writer: writing it takes microseconds, so seconds are ample even on a network file system.
pub const LOCK_WRITE_GRACE: Duration = Duration::from_secs(5);

/// Who holds a lock, as written in the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// Host name of the holder.
    pub host: String,
    /// Process id on that host.
    pub pid: u32,
    /// When the lock was taken (seconds since the Unix epoch).
    pub started_unix: u64,
    /// Unique per acquisition, so a holder can tell its lock from a successor's.
    pub token: String,
}

impl LockHolder {
    fn this_process() -> Self {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let (host, pid) = (host_name(), std::process::id());
        LockHolder { token: format!("{host}-{pid}-{}", now.as_nanos()), host, pid, started_unix: now.as_secs() }
    }
}

/// What [`RunLock::try_acquire`] found.
#[derive(Debug)]
pub enum Acquired {
    /// The lock is ours; it is released when the value is dropped.
    Held(RunLock),
    /// Another live process holds it.
    Busy(LockHolder),
}

/// A held lock; dropping it stops the heartbeat and removes the file.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    holder: LockHolder,
    /// Set when a stale lock was taken over: whose it was.
    pub took_over_from: Option<LockHolder>,
    stop: Arc<AtomicBool>,
    heartbeat: Option<std::thread::JoinHandle<()>>,
}

impl RunLock {
    /// Tries to take the lock at `path` (its directory is created), taking over a stale one.
    pub fn try_acquire(path: &Path, stale_after: Duration) -> Result<Acquired, FileError> {
        let io = |source| FileError { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| FileError { path: dir.to_path_buf(), source })?;
        }
        let mut took_over_from = None;
        // A few rounds: each either creates the lock, finds it busy, or removes a stale one and retries.
        for _ in 0..8 {
            let holder = LockHolder::this_process();
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    let json = serde_json::to_vec(&holder).expect("a holder serialises");
                    if let Err(source) = file.write_all(&json).and_then(|()| file.sync_all()) {
                        let _ = std::fs::remove_file(path);
                        return Err(io(source));
                    }
                    return Ok(Acquired::Held(RunLock::start(path, holder, took_over_from, stale_after)));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(io(source)),
            }
            let Some(current) = read_holder(path)? else { continue };
            if !is_stale(path, &current, stale_after)? {
                return Ok(Acquired::Busy(current));
            }
            if remove_if_still(path, &current)? {
                took_over_from = Some(current);
            }
        }
        Err(io(std::io::Error::other("the lock changed hands too often to be taken; try again")))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This process's entry in the lock file.
    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }

    fn start(path: &Path, holder: LockHolder, took_over_from: Option<LockHolder>, stale_after: Duration) -> RunLock {
        let stop = Arc::new(AtomicBool::new(false));
        let interval = (stale_after / 5).max(Duration::from_millis(200));
        let (beat_path, beat_stop) = (path.to_path_buf(), Arc::clone(&stop));
        let heartbeat = std::thread::spawn(move || {
            let tick = Duration::from_millis(50).min(interval);
            let mut waited = Duration::ZERO;
            while !beat_stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                waited += tick;
                if waited >= interval {
                    waited = Duration::ZERO;
                    if let Ok(file) = OpenOptions::new().write(true).open(&beat_path) {
                        let _ = file.set_modified(SystemTime::now());
                    }
                }
            }
        });
        RunLock { path: path.to_path_buf(), holder, took_over_from, stop, heartbeat: Some(heartbeat) }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.heartbeat.take() {
            let _ = h.join();
        }
        // Only our own lock: a successor that took it over (we were judged dead) keeps theirs.
        if read_holder(&self.path).ok().flatten().is_some_and(|h| h.token == self.holder.token) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The holder written in a lock file; `None` when there is no lock (or it vanished while read).
/// A lock file still being written (empty or partial) counts as held by an unknown live process.
pub fn read_holder(path: &Path) -> Result<Option<LockHolder>, FileError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).unwrap_or_else(|_| LockHolder {
            host: "unknown (lock being written)".into(),
            pid: 0,
            started_unix: 0,
            token: String::new(),
        }))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FileError { path: path.to_path_buf(), source }),
    }
}

/// Stale: a dead process of this host, an unreadable lock older than [`LOCK_WRITE_GRACE`], or no
/// heartbeat for `stale_after`.
fn is_stale(path: &Path, holder: &LockHolder, stale_after: Duration) -> Result<bool, FileError> {
    if holder.pid != 0 && holder.host == host_name() && !process_alive(holder.pid) {
        return Ok(true);
    }
    let modified = match std::fs::metadata(path).and_then(|m| m.modified()) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(FileError { path: path.to_path_buf(), source }),
    };
    let age = SystemTime::now().duration_since(modified).unwrap_or_default();
    let unreadable = holder.pid == 0 && holder.token.is_empty();
    Ok(age > if unreadable { LOCK_WRITE_GRACE.min(stale_after) } else { stale_after })
}

/// Removes the lock at `path` if it is still `stale`'s: renamed away first (atomic), then compared;
/// a different lock found there (a successor's, created meanwhile) is put back. True when removed.
fn remove_if_still(path: &Path, stale: &LockHolder) -> Result<bool, FileError> {
    let aside = temporary_path(path);
    match std::fs::rename(path, &aside) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(FileError { path: path.to_path_buf(), source }),
    }
    let moved = read_holder(&aside)?;
    if moved.as_ref().is_some_and(|m| m.token != stale.token) {
        // Not the lock we judged: restore it unless yet another one appeared (hard_link never replaces).
        let _ = std::fs::hard_link(&aside, path);
        let _ = std::fs::remove_file(&aside);
        return Ok(false);
    }
    let _ = std::fs::remove_file(&aside);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(a: Acquired) -> RunLock {
        match a {
            Acquired::Held(l) => l,
            Acquired::Busy(h) => panic!("busy: {h:?}"),
        }
    }

    #[test]
    fn a_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks/run.lock");
        let lock = held(RunLock::try_acquire(&path, Duration::from_secs(60)).unwrap());
        assert_eq!(lock.holder().pid, std::process::id());
        match RunLock::try_acquire(&path, Duration::from_secs(60)).unwrap() {
            Acquired::Busy(h) => assert_eq!(h.token, lock.holder().token),
            Acquired::Held(_) => panic!("a held lock was taken twice"),
        }
        drop(lock);
        assert!(!path.exists());
        held(RunLock::try_acquire(&path, Duration::from_secs(60)).unwrap());
    }

    #[test]
    fn a_dead_holder_on_this_host_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let dead = LockHolder { host: host_name(), pid: 4_194_305, started_unix: 1, token: "dead".into() };
        std::fs::write(&path, serde_json::to_vec(&dead).unwrap()).unwrap();
        let lock = held(RunLock::try_acquire(&path, Duration::from_secs(3600)).unwrap());
        assert_eq!(lock.took_over_from, Some(dead));
    }

    #[test]
    fn a_silent_holder_on_another_host_is_taken_over_after_the_timeout_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let remote = LockHolder { host: "elsewhere".into(), pid: 12, started_unix: 1, token: "remote".into() };
        std::fs::write(&path, serde_json::to_vec(&remote).unwrap()).unwrap();
        assert!(matches!(RunLock::try_acquire(&path, Duration::from_secs(3600)).unwrap(), Acquired::Busy(_)));
        let old = SystemTime::now() - Duration::from_secs(120);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
        let lock = held(RunLock::try_acquire(&path, Duration::from_secs(60)).unwrap());
        assert_eq!(lock.took_over_from.clone().map(|h| h.token), Some("remote".into()));
    }

    #[test]
    fn an_unreadable_lock_is_taken_over_after_the_write_grace_not_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        std::fs::write(&path, b"").unwrap();
        // Fresh: perhaps being written this instant.
        assert!(matches!(RunLock::try_acquire(&path, Duration::from_secs(3600)).unwrap(), Acquired::Busy(_)));
        let old = SystemTime::now() - LOCK_WRITE_GRACE - Duration::from_secs(1);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
        let lock = held(RunLock::try_acquire(&path, Duration::from_secs(3600)).unwrap());
        assert_eq!(lock.took_over_from.as_ref().map(|h| h.pid), Some(0));
        // A half-written one too.
        drop(lock);
        std::fs::write(&path, b"{\"host\": \"a").unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
        held(RunLock::try_acquire(&path, Duration::from_secs(3600)).unwrap());
    }

    #[test]
    fn the_heartbeat_keeps_a_lock_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let _lock = held(RunLock::try_acquire(&path, Duration::from_secs(1)).unwrap());
        std::thread::sleep(Duration::from_millis(1500));
        assert!(matches!(RunLock::try_acquire(&path, Duration::from_secs(1)).unwrap(), Acquired::Busy(_)));
    }
}
