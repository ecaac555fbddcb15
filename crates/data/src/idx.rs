//! The IDX format of MNIST and Fashion-MNIST: a 4-byte magic (`00 00 08 ndims`, 08 = unsigned byte),
//! `ndims` big-endian u32 dimensions, then the bytes in row-major order.

use std::path::Path;

use crate::error::{DataError, Result};

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions from the header.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Parses IDX bytes (already decompressed). `path` only names the source in errors.
pub fn parse_idx(bytes: &[u8], path: &Path) -> Result<IdxArray> {
    let truncated = |expected: u64| DataError::Truncated { path: path.to_path_buf(), expected, actual: bytes.len() as u64 };
    let magic: [u8; 4] = bytes.get(..4).ok_or_else(|| truncated(4))?.try_into().expect("4 bytes");
    if magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] == 0 {
        return Err(DataError::BadMagic { path: path.to_path_buf(), found: magic });
    }
    let ndims = magic[3] as usize;
    let header_len = 4 + 4 * ndims;
    let header = bytes.get(4..header_len).ok_or_else(|| truncated(header_len as u64))?;
    let dims: Vec<usize> = header.chunks_exact(4).map(|c| u32::from_be_bytes(c.try_into().expect("4 bytes")) as usize).collect();
    let payload_len = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&n| n <= u32::MAX as u64 * 4)
        .ok_or_else(|| DataError::BadShape { path: path.to_path_buf(), found: dims.clone(), reason: "dimensions multiply to an impossible size".into() })?;
    let expected = header_len as u64 + payload_len;
    let actual = bytes.len() as u64;
    if actual < expected {
        return Err(truncated(expected));
    }
    if actual > expected {
        return Err(DataError::TrailingBytes { path: path.to_path_buf(), expected, actual });
    }
    Ok(IdxArray { dims, data: bytes[header_len..].to_vec() })
}

/// Serialises an IDX array of unsigned bytes; the inverse of [`parse_idx`].
/// Useful for writing small test files in the exact MNIST format.
pub fn write_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    assert_eq!(dims.iter().product::<usize>(), data.len(), "dims do not match data length");
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}
