//! Reading a file whole, transparently un-gzipping it when it starts with the gzip magic bytes.

use std::io::Read;
use std::path::Path;

use crate::error::{DataError, Result};

/// Upper bound on a decompressed file (the largest canonical payload, CIFAR-10's tar, is 185 MB),
/// so a corrupt or hostile gzip stream cannot exhaust memory.
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// True when `bytes` starts with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Reads `path`; if it is gzip-compressed, returns the decompressed bytes instead.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing { path: path.to_path_buf(), hint: String::new() },
        _ => DataError::io(path, e),
    })?;
    if is_gzip(&raw) { gunzip(&raw, path) } else { Ok(raw) }
}

/// Decompresses a whole gzip stream held in memory; `path` only names the source in errors.
pub fn gunzip(compressed: &[u8], path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(compressed.len() * 4);
    let decoder = flate2::read::MultiGzDecoder::new(compressed);
    decoder.take(MAX_DECOMPRESSED + 1).read_to_end(&mut out).map_err(|e| DataError::CorruptGzip { path: path.to_path_buf(), detail: e.to_string() })?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(DataError::CorruptGzip { path: path.to_path_buf(), detail: format!("decompresses to more than {MAX_DECOMPRESSED} bytes") });
    }
    Ok(out)
}
