//! Comparing two results directories cell by cell: the check that a refactoring changed no number,
//! that a cluster run equals a single-process one, or how far two backends drift apart.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{ReportError, Result};
use crate::tables::read_table;

/// How two tables (or two directories of tables) differ.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// Tables compared (relative paths).
    pub tables: Vec<PathBuf>,
    /// Cells compared (ignored columns aside).
    pub cells: usize,
    /// Cells that differ beyond the tolerance.
    pub differing: Vec<CellDifference>,
    /// Largest absolute difference of any float cell (within tolerance or not).
    pub max_abs_difference: f64,
    /// Tables present on one side only, or whose shape or columns differ.
    pub structural: Vec<String>,
}

/// One cell that differs.
#[derive(Debug, Clone, PartialEq)]
pub struct CellDifference {
    /// The table (relative path).
    pub table: PathBuf,
    /// The column.
    pub column: String,
    /// The row (0-based).
    pub row: usize,
    /// Left value, as text.
    pub left: String,
    /// Right value, as text.
    pub right: String,
}

impl Comparison {
    /// No structural difference and no cell beyond the tolerance.
    pub fn equal(&self) -> bool {
        self.structural.is_empty() && self.differing.is_empty()
    }

    fn absorb(&mut self, other: Comparison) {
        self.tables.extend(other.tables);
        self.cells += other.cells;
        self.differing.extend(other.differing);
        self.max_abs_difference = self.max_abs_difference.max(other.max_abs_difference);
        self.structural.extend(other.structural);
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} tables, {} cells compared: {} differ beyond the tolerance, {} structural differences; largest float difference {:.3e}",
            self.tables.len(),
            self.cells,
            self.differing.len(),
            self.structural.len(),
            self.max_abs_difference
        )?;
        let mut per_table: Vec<(&Path, usize)> = Vec::new();
        for d in &self.differing {
            match per_table.iter_mut().find(|(t, _)| *t == d.table.as_path()) {
                Some((_, n)) => *n += 1,
                None => per_table.push((&d.table, 1)),
            }
        }
        for (table, n) in per_table {
            writeln!(f, "  {n} differing cells in {}", table.display())?;
        }
        for s in &self.structural {
            writeln!(f, "  structure: {s}")?;
        }
        for d in self.differing.iter().take(20) {
            writeln!(f, "  {} {} row {}: {} vs {}", d.table.display(), d.column, d.row, d.left, d.right)?;
        }
        if self.differing.len() > 20 {
            writeln!(f, "  … and {} more", self.differing.len() - 20)?;
        }
        Ok(())
    }
}

/// How far apart two float cells may be and still count as equal.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Tolerance {
    /// Largest absolute difference.
    pub absolute: f64,
    /// Largest distance in units in the last place (adjacent f64 values are 1 apart).
    pub ulps: u64,
}

impl Tolerance {
    /// Exact equality (NaN equals NaN).
    pub const EXACT: Tolerance = Tolerance { absolute: 0.0, ulps: 0 };

    fn accepts(&self, l: f64, r: f64) -> bool {
        l == r || (l - r).abs() <= self.absolute || ulp_distance(l, r) <= self.ulps
    }
}

/// Distance between two finite f64 in units in the last place (`u64::MAX` across signs or for NaN).
pub fn ulp_distance(a: f64, b: f64) -> u64 {
    if a.is_nan() || b.is_nan() || (a.is_sign_negative() != b.is_sign_negative() && a != b) {
        return u64::MAX;
    }
    a.to_bits().abs_diff(b.to_bits())
}

/// Compares every `*/tables/*.parquet` under `left` with its namesake under `right`. Columns named in
/// `ignore` (wall times, say) are skipped; float cells may differ within `tolerance`, other cells must
/// be equal. NaN equals NaN.
pub fn compare_results(left: &Path, right: &Path, ignore: &[&str], tolerance: Tolerance) -> Result<Comparison> {
    let (a, b) = (table_files(left)?, table_files(right)?);
    let mut out = Comparison::default();
    for missing in a.symmetric_difference(&b) {
        let side = if a.contains(missing) { "only in the left directory" } else { "only in the right directory" };
        out.structural.push(format!("{}: {side}", missing.display()));
    }
    for relative in a.intersection(&b) {
        out.absorb(compare_tables(&left.join(relative), &right.join(relative), relative, ignore, tolerance)?);
    }
    Ok(out)
}

/// The `<experiment>/tables/<name>.parquet` files under `dir`, relative to it.
fn table_files(dir: &Path) -> Result<BTreeSet<PathBuf>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::File(specreg_files::FileError { path, source })
    };
    let mut files = BTreeSet::new();
    for experiment in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
        let tables = experiment.path().join("tables");
        let Ok(entries) = std::fs::read_dir(&tables) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            // A temporary file of a writer that died is not a table.
            if path.extension().is_some_and(|e| e == "parquet") && !specreg_files::is_temporary(&entry.file_name().to_string_lossy()) {
                files.insert(path.strip_prefix(dir).expect("under dir").to_path_buf());
            }
        }
    }
    Ok(files)
}

/// Compares two Parquet tables (see [`compare_results`]); `name` labels them in the result.
pub fn compare_tables(left: &Path, right: &Path, name: &Path, ignore: &[&str], tolerance: Tolerance) -> Result<Comparison> {
    let (a, b) = (read_table(left)?, read_table(right)?);
    let mut out = Comparison { tables: vec![name.to_path_buf()], ..Comparison::default() };
    let (ca, cb): (Vec<String>, Vec<String>) =
        (a.get_column_names().iter().map(|c| c.to_string()).collect(), b.get_column_names().iter().map(|c| c.to_string()).collect());
    if ca != cb || a.height() != b.height() {
        out.structural.push(format!("{}: columns {ca:?} × {} rows vs {cb:?} × {} rows", name.display(), a.height(), b.height()));
        return Ok(out);
    }
    for column in ca.iter().filter(|c| !ignore.contains(&c.as_str())) {
        let (x, y) = (a.column(column)?, b.column(column)?);
        if x.dtype() != y.dtype() {
            out.structural.push(format!("{}: column {column} is {} vs {}", name.display(), x.dtype(), y.dtype()));
            continue;
        }
        out.cells += x.len();
        let differ = |row: usize, left: String, right: String| CellDifference { table: name.to_path_buf(), column: column.clone(), row, left, right };
        if x.dtype().is_float() {
            let (x, y) = (x.cast(&DataType::Float64)?, y.cast(&DataType::Float64)?);
            for (row, (l, r)) in x.f64()?.into_iter().zip(y.f64()?).enumerate() {
                let (l, r) = (l.unwrap_or(f64::NAN), r.unwrap_or(f64::NAN));
                if l.is_nan() && r.is_nan() {
                    continue;
                }
                let gap = (l - r).abs();
                if gap.is_finite() {
                    out.max_abs_difference = out.max_abs_difference.max(gap);
                }
                if !tolerance.accepts(l, r) {
                    out.differing.push(differ(row, format!("{l:e}"), format!("{r:e}")));
                }
            }
        } else {
            for row in 0..x.len() {
                let (l, r) = (x.get(row)?, y.get(row)?);
                if l != r {
                    out.differing.push(differ(row, l.to_string(), r.to_string()));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RunKey;
    use crate::tables::TrainingRow;

    fn row(seed: u64, loss: f64, seconds: f64) -> TrainingRow {
        TrainingRow { key: RunKey::new("E1", "Vanilla", 0.0, seed), epoch: 1, loss, penalty: 0.0, train_acc: 0.5, test_acc: 0.5, seconds }
    }

    fn write(dir: &Path, rows: &[TrainingRow]) {
        crate::tables::write(rows, &dir.join("E1/tables/training.parquet")).unwrap();
    }

    #[test]
    fn ignored_columns_tolerance_and_differences() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(a.path(), &[row(0, 1.0, 3.0), row(1, 2.0, 3.0)]);
        write(b.path(), &[row(0, 1.0, 9.0), row(1, 2.0 + 1e-9, 9.0)]);
        let exact = compare_results(a.path(), b.path(), &["seconds"], Tolerance::EXACT).unwrap();
        assert_eq!((exact.cells, exact.differing.len()), (2 * 9, 1), "{exact}");
        assert_eq!((exact.differing[0].column.as_str(), exact.differing[0].row), ("loss", 1));
        let loose = Tolerance { absolute: 1e-6, ulps: 0 };
        assert!(compare_results(a.path(), b.path(), &["seconds"], loose).unwrap().equal());
        assert!(!compare_results(a.path(), b.path(), &[], loose).unwrap().equal(), "wall times differ");
        // 2 + 1e-9 is about 2.3 million ulps from 2.
        assert!(!compare_results(a.path(), b.path(), &["seconds"], Tolerance { absolute: 0.0, ulps: 1000 }).unwrap().equal());

        write(b.path(), &[row(0, 1.0, 9.0)]);
        let shorter = compare_results(a.path(), b.path(), &["seconds"], loose).unwrap();
        assert_eq!(shorter.structural.len(), 1, "{shorter}");
        std::fs::create_dir_all(b.path().join("E2/tables")).unwrap();
        std::fs::copy(b.path().join("E1/tables/training.parquet"), b.path().join("E2/tables/training.parquet")).unwrap();
        assert!(compare_results(a.path(), b.path(), &[], Tolerance::EXACT).unwrap().structural.iter().any(|s| s.contains("only in the right")));
    }

    #[test]
    fn temporary_files_of_dead_writers_are_not_tables() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(a.path(), &[row(0, 1.0, 3.0)]);
        write(b.path(), &[row(0, 1.0, 3.0)]);
        let leftover = specreg_files::temporary_path(&b.path().join("E1/tables/fits.parquet"));
        std::fs::write(&leftover, b"").unwrap();
        let comparison = compare_results(a.path(), b.path(), &[], Tolerance::EXACT).unwrap();
        assert!(comparison.equal() && comparison.tables.len() == 1, "{comparison}");
    }

    #[test]
    fn ulps_count_representable_steps() {
        assert_eq!(ulp_distance(1.0, 1.0 + f64::EPSILON), 1);
        assert_eq!(ulp_distance(0.1, 0.1), 0);
        assert_eq!(ulp_distance(-1.0, 1.0), u64::MAX);
        assert_eq!(ulp_distance(f64::NAN, 1.0), u64::MAX);
    }
}
