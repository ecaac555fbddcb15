//! Reading a data matrix (rows = stimuli or examples, columns = neurons or units) from the formats
//! researchers have: NumPy `.npy` (f32 or f64, 2-D), Parquet (every numeric column), CSV (numbers
//! separated by commas; a first line of column names is skipped).

use std::path::Path;

use ndarray::Array2;
use polars::prelude::*;

use crate::error::{AnalyzeError, Result};

/// Reads a matrix, choosing the reader by the file's extension (`.npy`, `.parquet`, `.csv`).
pub fn read_matrix(path: &Path) -> Result<Array2<f64>> {
    let matrix = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("npy") => read_npy(path)?,
        Some("parquet") => read_parquet(path)?,
        Some("csv") => read_csv(path)?,
        _ => return Err(AnalyzeError::Format { path: path.into(), problem: "unknown extension: expected .npy, .parquet or .csv".into() }),
    };
    if matrix.nrows() < 2 || matrix.ncols() < 2 {
        return Err(AnalyzeError::Format {
            path: path.into(),
            problem: format!("{} × {}: a spectrum needs at least 2 rows and 2 columns", matrix.nrows(), matrix.ncols()),
        });
    }
    if let Some((k, v)) = matrix.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(AnalyzeError::Format {
            path: path.into(),
            problem: format!("non-finite value {v} at row {}, column {}", k / matrix.ncols() + 1, k % matrix.ncols() + 1),
        });
    }
    Ok(matrix)
}

/// A 2-D `.npy` array of f64 or f32 (either byte order, C or Fortran order). The header is read here,
/// so that a wrong shape, a wrong type or a truncated file is named as such.
fn read_npy(path: &Path) -> Result<Array2<f64>> {
    let fail = |problem: String| AnalyzeError::Format { path: path.into(), problem };
    let bytes = std::fs::read(path).map_err(|source| specreg_files::FileError::new(path, source))?;
    let rest = bytes.strip_prefix(b"\x93NUMPY".as_slice()).ok_or_else(|| fail("not a .npy file (it does not start with NumPy's magic bytes)".into()))?;
    let (header_len, header_start) = match rest.first() {
        Some(1) if rest.len() >= 4 => (u16::from_le_bytes([rest[2], rest[3]]) as usize, 4),
        Some(2 | 3) if rest.len() >= 6 => (u32::from_le_bytes([rest[2], rest[3], rest[4], rest[5]]) as usize, 6),
        _ => return Err(fail("truncated or unknown .npy header".into())),
    };
    let header = rest.get(header_start..header_start + header_len).ok_or_else(|| fail("truncated: the file ends inside its header".into()))?;
    let header = String::from_utf8_lossy(header);
    let field = |key: &str| header.split(&format!("'{key}':")).nth(1).map(str::trim);
    let descr = field("descr").and_then(|v| v.split('\'').nth(1)).ok_or_else(|| fail(format!("no dtype in the header {header:?}")))?;
    let fortran = field("fortran_order").is_some_and(|v| v.starts_with("True"));
    let shape: Vec<usize> = field("shape")
        .and_then(|v| v.strip_prefix('(')?.split(')').next())
        .ok_or_else(|| fail(format!("no shape in the header {header:?}")))?
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().map_err(|_| fail(format!("shape entry {d:?} is not a number"))))
        .collect::<Result<_>>()?;
    let [rows, columns] = shape[..] else {
        return Err(fail(format!("a {}-D array of shape {shape:?}: expected a 2-D matrix (rows = examples or stimuli, columns = units)", shape.len())));
    };
    let (width, big_endian) = match descr {
        "<f8" | "=f8" => (8, false),
        ">f8" => (8, true),
        "<f4" | "=f4" => (4, false),
        ">f4" => (4, true),
        other => return Err(fail(format!("dtype {other}: expected float32 or float64 (in NumPy: np.save(path, x.astype(np.float64)))"))),
    };
    let data = &rest[header_start + header_len..];
    let expected = rows * columns * width;
    if data.len() < expected {
        return Err(fail(format!("truncated: its header announces {rows} × {columns} values ({expected} bytes), the file holds {} bytes of data", data.len())));
    }
    let values: Vec<f64> = data[..expected]
        .chunks_exact(width)
        .map(|b| match (width, big_endian) {
            (8, false) => f64::from_le_bytes(b.try_into().unwrap_or_default()),
            (8, true) => f64::from_be_bytes(b.try_into().unwrap_or_default()),
            (_, false) => f64::from(f32::from_le_bytes(b.try_into().unwrap_or_default())),
            (_, true) => f64::from(f32::from_be_bytes(b.try_into().unwrap_or_default())),
        })
        .collect();
    let matrix = if fortran {
        Array2::from_shape_vec((columns, rows), values).map(|m| m.reversed_axes().as_standard_layout().into_owned())
    } else {
        Array2::from_shape_vec((rows, columns), values)
    };
    matrix.map_err(|e| fail(e.to_string()))
}

/// Every numeric column of a Parquet file, as f64.
fn read_parquet(path: &Path) -> Result<Array2<f64>> {
    let frame = specreg_report::tables::read_table(path)?;
    let fail = |problem: String| AnalyzeError::Format { path: path.into(), problem };
    let numeric: Vec<&Column> = frame.get_columns().iter().filter(|c| c.dtype().is_primitive_numeric()).collect();
    if numeric.is_empty() {
        return Err(fail("no numeric column".into()));
    }
    let rows = frame.height();
    let mut matrix = Array2::zeros((rows, numeric.len()));
    for (j, column) in numeric.iter().enumerate() {
        let values = column.cast(&DataType::Float64).map_err(|e| fail(e.to_string()))?;
        for (i, v) in values.f64().map_err(|e| fail(e.to_string()))?.into_iter().enumerate() {
            matrix[[i, j]] = v.ok_or_else(|| fail(format!("missing value in column {} at row {}", column.name(), i + 1)))?;
        }
    }
    Ok(matrix)
}

/// Comma-separated numbers, one row per line; a first line that is not all numbers is a header.
fn read_csv(path: &Path) -> Result<Array2<f64>> {
    let text = std::fs::read_to_string(path).map_err(|source| specreg_files::FileError::new(path, source))?;
    let fail = |line: usize, problem: String| AnalyzeError::Format { path: path.into(), problem: format!("line {line}: {problem}") };
    let mut values = Vec::new();
    let mut columns = None;
    for (k, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let parsed: Result<Vec<f64>, _> = fields.iter().map(|f| f.parse::<f64>()).collect();
        let row = match parsed {
            Ok(row) => row,
            Err(_) if k == 0 => continue,
            Err(e) => return Err(fail(k + 1, format!("not a number ({e})"))),
        };
        match columns {
            None => columns = Some(row.len()),
            Some(n) if n != row.len() => return Err(fail(k + 1, format!("{} fields, the rows before have {n}", row.len()))),
            _ => {}
        }
        values.extend(row);
    }
    let columns = columns.unwrap_or(0);
    let rows = values.len().checked_div(columns).unwrap_or(0);
    Array2::from_shape_vec((rows, columns), values).map_err(|e| fail(0, e.to_string()))
}
