//! Obtaining a dataset's canonical files: download from mirrors (resumable) or copy from a local
//! directory, verifying every file before it takes its final name.
//!
//! A file is written to `<name>.part` and renamed only once its SHA-256 matches, so the data directory
//! never holds a half-written or unverified file under a canonical name. An interrupted download leaves
//! its `.part` behind, and the next attempt asks the server for the remaining bytes (HTTP `Range`).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{DataError, Result};
use crate::source::{CanonicalFile, DatasetId};
use crate::verify::{Check, check_file, require_valid, stored_path};

/// Receives progress of a transfer; the command-line front end draws bars with it.
pub trait Progress {
    /// A transfer of `file` starts; `total` bytes expected, `done` already present from an earlier attempt.
    fn start(&self, file: &str, total: u64, done: u64);
    /// `bytes` more arrived.
    fn advance(&self, bytes: u64);
    /// The transfer ended (successfully or not).
    fn finish(&self);
}

/// Ignores progress.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// Where `fetch` takes files from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Base URLs, tried in order; the file name is appended to each.
    Mirrors(Vec<String>),
    /// A local directory holding the files (another data directory, a USB copy, Debian's package).
    LocalDir(PathBuf),
}

impl Source {
    /// The dataset's canonical public mirrors.
    pub fn canonical(dataset: DatasetId) -> Self {
        Source::Mirrors(dataset.mirrors().iter().map(|m| m.to_string()).collect())
    }
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Where the file now is.
    pub path: PathBuf,
    /// Its checksum verdict.
    pub check: Check,
    /// False when a valid copy was already there and nothing was transferred.
    pub transferred: bool,
}

/// Brings every canonical file of `dataset` into `DATA_DIR/<dataset>/`, skipping files already valid.
/// A failed fetch that got nothing leaves no empty dataset directory behind (one would read as data
/// present); partial downloads stay for the next attempt to resume.
pub fn fetch_dataset(dataset: DatasetId, data_dir: &Path, source: &Source, progress: &dyn Progress) -> Result<Vec<Fetched>> {
    let dest = dataset.dir(data_dir);
    let existed = dest.exists();
    std::fs::create_dir_all(&dest).map_err(|e| DataError::io(&dest, e))?;
    let fetched: Result<Vec<Fetched>> = dataset.files().iter().map(|file| fetch_file(file, &dest, source, progress)).collect();
    if fetched.is_err() && !existed {
        // Fails (and is meant to) unless the directory is still empty.
        let _ = std::fs::remove_dir(&dest);
    }
    fetched
}

/// Brings one canonical file into `dest_dir`.
pub fn fetch_file(file: &CanonicalFile, dest_dir: &Path, source: &Source, progress: &dyn Progress) -> Result<Fetched> {
    if let Some(path) = stored_path(dest_dir, file) {
        let check = check_file(&path, file)?;
        if check.is_ok() {
            return Ok(Fetched { path, check, transferred: false });
        }
    }
    match source {
        Source::LocalDir(dir) => copy_file(file, dir, dest_dir, progress),
        Source::Mirrors(mirrors) => {
            let mut failures = Vec::new();
            for mirror in mirrors {
                let url = format!("{}/{}", mirror.trim_end_matches('/'), file.name);
                match download(file, &url, dest_dir, progress) {
                    Ok(fetched) => return Ok(fetched),
                    Err(e) => failures.push(e.to_string()),
                }
            }
            Err(DataError::AllMirrorsFailed {
                file: file.name.into(),
                attempts: if failures.is_empty() { "no mirror given".into() } else { failures.join("; ") },
            })
        }
    }
}

/// Copies the file (in any verified form: canonical, recompressed or uncompressed) from `src_dir`.
fn copy_file(file: &CanonicalFile, src_dir: &Path, dest_dir: &Path, progress: &dyn Progress) -> Result<Fetched> {
    let src = stored_path(src_dir, file).ok_or_else(|| DataError::Missing {
        path: src_dir.join(file.name),
        hint: format!("the --from directory has no {} (nor its uncompressed form)", file.name),
    })?;
    require_valid(&src, file)?;
    let name = src.file_name().expect("a file path has a name");
    let part = part_path(&dest_dir.join(name));
    let total = std::fs::metadata(&src).map_err(|e| DataError::io(&src, e))?.len();
    progress.start(file.name, total, 0);
    let result = (|| {
        let mut reader = File::open(&src).map_err(|e| DataError::io(&src, e))?;
        let mut writer = File::create(&part).map_err(|e| DataError::io(&part, e))?;
        copy_with_progress(&mut reader, &mut writer, &part, progress).map_err(|e| DataError::io(&src, e))?;
        writer.sync_all().map_err(|e| DataError::io(&part, e))
    })();
    progress.finish();
    result?;
    let (path, check) = commit(&part, file)?;
    Ok(Fetched { path, check, transferred: true })
}

/// Downloads `url` into `dest_dir/<name>.part`, resuming a previous partial download, then verifies and renames.
fn download(file: &CanonicalFile, url: &str, dest_dir: &Path, progress: &dyn Progress) -> Result<Fetched> {
    let fail = |detail: String| DataError::Download { url: url.into(), detail };
    let part = part_path(&dest_dir.join(file.name));
    let mut done = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    if done > file.size {
        std::fs::remove_file(&part).map_err(|e| DataError::io(&part, e))?;
        done = 0;
    }
    if done < file.size {
        let agent: ureq::Agent = ureq::Agent::config_builder().timeout_connect(Some(Duration::from_secs(30))).http_status_as_error(false).build().into();
        let mut request = agent.get(url);
        if done > 0 {
            request = request.header("Range", format!("bytes={done}-"));
        }
        let mut response = request.call().map_err(|e| fail(e.to_string()))?;
        let append = match response.status().as_u16() {
            206 => true,
            200 => false,
            code => return Err(fail(format!("HTTP status {code}"))),
        };
        if !append {
            done = 0;
        }
        let mut writer = OpenOptions::new().create(true).write(true).append(append).truncate(!append).open(&part).map_err(|e| DataError::io(&part, e))?;
        progress.start(file.name, file.size, done);
        let mut body = response.body_mut().with_config().limit(file.size - done).reader();
        let copied = copy_with_progress(&mut body, &mut writer, &part, progress);
        progress.finish();
        copied.map_err(|e| fail(format!("transfer interrupted ({e}); run the command again to resume")))?;
        writer.sync_all().map_err(|e| DataError::io(&part, e))?;
    }
    let (path, check) = commit(&part, file)?;
    Ok(Fetched { path, check, transferred: true })
}

/// Verifies a finished `.part` file and renames it to its final name; a file that fails is deleted,
/// so the next attempt starts clean.
fn commit(part: &Path, file: &CanonicalFile) -> Result<(PathBuf, Check)> {
    let check = match require_valid(part, file) {
        Ok(check) => check,
        Err(e) => {
            let _ = std::fs::remove_file(part);
            return Err(e);
        }
    };
    let final_path = part.with_extension("");
    std::fs::rename(part, &final_path).map_err(|e| DataError::io(&final_path, e))?;
    Ok((final_path, check))
}

fn part_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().expect("file path").to_os_string();
    name.push(".part");
    path.with_file_name(name)
}

fn copy_with_progress(reader: &mut dyn Read, writer: &mut File, part: &Path, progress: &dyn Progress) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        writer.write_all(&buf[..n]).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", part.display())))?;
        total += n as u64;
        progress.advance(n as u64);
    }
}
