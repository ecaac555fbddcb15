//! Atomic file output: a killed run never leaves a truncated table or figure under its final name.

use std::path::{Path, PathBuf};

use crate::error::{ReportError, Result};

/// Writes through `write` into `path.tmp-<pid>` beside `path`, syncs it, then renames it over `path`.
/// On error the temporary file is removed and `path` is untouched.
pub fn write_atomically<T>(path: &Path, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let io = |source| ReportError::Io { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = temporary_name(path);
    let result = write(&tmp).and_then(|value| {
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(value)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `contents` to `path` atomically (see [`write_atomically`]).
pub fn write_file_atomically(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    write_atomically(path, |tmp| std::fs::write(tmp, contents.as_ref()).map_err(|source| ReportError::Io { path: tmp.into(), source }))
}

fn temporary_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().expect("a file path").to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}
