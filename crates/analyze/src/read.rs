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
        return Err(AnalyzeError::Format { path: path.into(), problem: format!("{} × {}: a spectrum needs at least 2 rows and 2 columns", matrix.nrows(), matrix.ncols()) });
    }
    if let Some((k, v)) = matrix.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(AnalyzeError::Format { path: path.into(), problem: format!("non-finite value {v} at row {}, column {}", k / matrix.ncols() + 1, k % matrix.ncols() + 1) });
    }
    Ok(matrix)
}

/// A 2-D `.npy` array of f64 or f32.
fn read_npy(path: &Path) -> Result<Array2<f64>> {
    let fail = |problem: String| AnalyzeError::Format { path: path.into(), problem };
    match ndarray_npy::read_npy::<_, Array2<f64>>(path) {
        Ok(m) => Ok(m),
        Err(f64_error) => match ndarray_npy::read_npy::<_, Array2<f32>>(path) {
            Ok(m) => Ok(m.mapv(f64::from)),
            Err(_) => Err(fail(format!("not a 2-D f64 or f32 .npy array ({f64_error})"))),
        },
    }
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
