//! Atomic file output: a killed run never leaves a truncated table or figure under its final name,
//! and the temporary files it may leave are recognisable and removable.
//!
//! A temporary file is written beside its target as `.<name>.tmp-<host>-<pid>-<n>.<ext>`: unique per
//! host and process (several hosts may share one output directory on a cluster file system, and a pid
//! alone repeats across hosts), ending in the target's extension (so encoders that pick a format from it
//! work), hidden, and removed on error. [`remove_stale_temporaries`] deletes those a dead process of
//! this host left behind, never another live process's.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::FileError;

/// Writes through `write` into a temporary file beside `path`, syncs it, then renames it over `path`.
/// On error the temporary file is removed and `path` is untouched.
pub fn write_atomically<T, E: From<FileError>>(path: &Path, write: impl FnOnce(&Path) -> Result<T, E>) -> Result<T, E> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| E::from(FileError { path, source })
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = temporary_path(path);
    let result = write(&tmp).and_then(|value| {
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))?;
        Ok(value)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `contents` to `path` atomically (see [`write_atomically`]).
pub fn write_file_atomically(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), FileError> {
    write_atomically(path, |tmp| std::fs::write(tmp, contents.as_ref()).map_err(|source| FileError { path: tmp.into(), source }))
}

/// A fresh temporary name beside `path`, unique to this host, process and call (see the module doc).
pub fn temporary_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let extension = path.extension().map_or_else(String::new, |e| format!(".{}", e.to_string_lossy()));
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{}-{n}{extension}", host_name(), std::process::id()))
}

/// This machine's host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`, else `localhost`), with
/// characters other than letters, digits, `.` and `_` replaced, so that it can be part of a file name.
pub fn host_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").ok().or_else(|| std::env::var("HOSTNAME").ok()).unwrap_or_default();
    let name: String = raw.trim().chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '_' { c } else { '_' }).collect();
    if name.is_empty() { "localhost".into() } else { name }
}

/// Whether the process `pid` of this host is running. Where that cannot be told (no `/proc`), it is
/// assumed to be, so nothing of a live process is ever removed.
pub fn process_alive(pid: u32) -> bool {
    let proc_root = Path::new("/proc");
    !proc_root.join("self").exists() || proc_root.join(pid.to_string()).exists()
}

/// Whether `file_name` is one of our temporary files (written by [`write_atomically`]): never a
/// result in its own right, whoever its writer.
pub fn is_temporary(file_name: &str) -> bool {
    temporary_owner(file_name).is_some()
}

/// The host and pid a temporary file's name records, if it is one of ours.
fn temporary_owner(file_name: &str) -> Option<(String, u32)> {
    let rest = file_name.strip_prefix('.')?;
    let (_, owner) = rest.rsplit_once(".tmp-")?;
    let mut parts = owner.rsplitn(3, '-');
    let _counter_and_extension = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    Some((parts.next()?.to_string(), pid))
}

/// Removes, under `dir` (recursively), the temporary files written by processes of this host that
/// have ended; returns their paths. Files of live processes and of other hosts are left alone.
pub fn remove_stale_temporaries(dir: &Path) -> Result<Vec<PathBuf>, FileError> {
    let host = host_name();
    let mut removed = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            let stale =
                temporary_owner(&entry.file_name().to_string_lossy()).is_some_and(|(h, pid)| h == host && pid != std::process::id() && !process_alive(pid));
            if stale {
                let result = if kind.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
                result.map_err(|source| FileError { path: path.clone(), source })?;
                removed.push(path);
            } else if kind.is_dir() {
                pending.push(path);
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_unique_keep_the_extension_and_name_their_owner() {
        let target = Path::new("/out/E1/figures/spectra.png");
        let (a, b) = (temporary_path(target), temporary_path(target));
        assert_ne!(a, b);
        assert_eq!(a.extension().unwrap(), "png");
        assert_eq!(a.parent(), target.parent());
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(temporary_owner(&name), Some((host_name(), std::process::id())));
        assert_eq!(temporary_owner("spectra.png"), None);
    }

    #[test]
    fn only_temporaries_of_ended_processes_of_this_host_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let host = host_name();
        // pid 2^22 + 1 is above Linux's pid_max ceiling: never a running process.
        let dead = dir.path().join(format!(".a.json.tmp-{host}-4194305-0.json"));
        let live = dir.path().join(format!(".b.json.tmp-{host}-{}-0.json", std::process::id()));
        let other_host = dir.path().join(".c.json.tmp-elsewhere-4194305-0.json");
        let nested = dir.path().join("runs").join(format!(".d.tmp-{host}-4194305-3"));
        std::fs::create_dir_all(&nested).unwrap();
        for f in [&dead, &live, &other_host] {
            std::fs::write(f, b"x").unwrap();
        }
        let mut removed = remove_stale_temporaries(dir.path()).unwrap();
        removed.sort();
        let mut expected = vec![dead, nested];
        expected.sort();
        assert_eq!(removed, expected);
        assert!(live.exists() && other_host.exists());
    }

    #[test]
    fn a_failed_write_leaves_neither_target_nor_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t.parquet");
        let err = write_atomically(&target, |tmp| {
            std::fs::write(tmp, b"half").unwrap();
            Err::<(), _>(FileError { path: tmp.into(), source: std::io::Error::other("disk full (injected)") })
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
