//! The Parquet tables and their schemas. One row per observation; the identifying columns
//! (experiment, variant, beta, seed) come first in every keyed table so tables can be joined.
//!
//! Each table is declared once (a row type with its columns, by [`keyed_table!`] or [`table!`]):
//! the writer, the reader and the schema below all come from that one declaration, and a unit test
//! keeps this list equal to it.
//!
//! | table | columns |
//! |---|---|
//! | `training` | experiment: str, variant: str, beta: f64, seed: u64, epoch: u32, loss: f64, penalty: f64, train_acc: f64, test_acc: f64, seconds: f64 |
//! | `spectra` | experiment: str, variant: str, beta: f64, seed: u64, layer: str, split: str, rank: u32, eigenvalue: f64 |
//! | `fits` | experiment: str, variant: str, beta: f64, seed: u64, layer: str, alpha_hat: f64, r2: f64, rank_min: u32, rank_max: u32, alpha_low: f64, alpha_high: f64 |
//! | `robustness` | experiment: str, variant: str, beta: f64, seed: u64, attack: str, epsilon: f64, accuracy: f64, n_examples: u32, max_perturbation: f64, batch_size: u32, min_pixel: f64, max_pixel: f64, ci_low: f64, ci_high: f64 |
//! | `robustness_suite` | experiment: str, variant: str, beta: f64, seed: u64, attack: str, epsilon: f64, accuracy: f64, broken: u32, n_examples: u32, ci_low: f64, ci_high: f64 |
//! | `suite_fates` | experiment: str, variant: str, beta: f64, seed: u64, epsilon: f64, example: u32, fate: str |
//! | `transfer` | experiment: str, variant: str, beta: f64, seed: u64, source: str, attack: str, epsilon: f64, accuracy: f64, n_examples: u32, ci_low: f64, ci_high: f64 |
//! | `sanity` | experiment: str, variant: str, beta: f64, seed: u64, check: str, passed: bool, detail: str |
//! | `trajectory` | experiment: str, variant: str, beta: f64, seed: u64, layer: str, epoch: u32, regularised: bool, alpha_hat: f64, r2: f64, rank_min: u32, rank_max: u32, near_target: f64, top_eigenvalue: f64 |
//! | `projections` | experiment: str, variant: str, alpha: f64, direction: u32, theta: f64, value: f64 |
//!
//! `experiment` names the dataset too where an experiment runs on several (`E2-CNN/cifar10`).
//! `layer` is `hidden1`, `hidden2`, … (1-based, in forward order). `split` is `test` or `train`.
//! `rank` and `epoch` are 1-based (a trajectory's epoch 0 is the initial model). NaN marks a value
//! that could not be measured (a trajectory point without a fit).

use std::path::Path;

use polars::prelude::*;

use crate::error::{ReportError, Result};
use crate::key::{Keyed, RunKey};
use specreg_files::FileError;

/// A column's value type, as Parquet stores it.
pub trait Cell: Sized + Clone {
    /// Its name in the schema (`str`, `f64`, `u32`, `u64`, `bool`).
    const TYPE: &'static str;
    /// A column of these values.
    fn column(name: &str, values: Vec<Self>) -> Column;
    /// The values of a column, refusing another type or a null.
    fn values(column: &Column) -> PolarsResult<Vec<Self>>;
    /// A copy of a value (a clone for strings, a copy for numbers).
    fn of(value: &Self) -> Self;
    /// What a column added after a table was first written reads as in older files (`None`: the
    /// column is required).
    fn missing() -> Option<Self> {
        None
    }
}

impl Cell for String {
    const TYPE: &'static str = "str";
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn values(column: &Column) -> PolarsResult<Vec<Self>> {
        Ok(column.str()?.into_no_null_iter().map(str::to_owned).collect())
    }
    fn of(value: &Self) -> Self {
        value.clone()
    }
}

macro_rules! numeric_cell {
    ($($t:ty => $name:literal, $get:ident);*) => {$(
        impl Cell for $t {
            const TYPE: &'static str = $name;
            fn column(name: &str, values: Vec<Self>) -> Column {
                Column::new(name.into(), values)
            }
            fn values(column: &Column) -> PolarsResult<Vec<Self>> {
                Ok(column.$get()?.into_no_null_iter().collect())
            }
            fn of(value: &Self) -> Self {
                *value
            }
        }
    )*};
}
numeric_cell!(u32 => "u32", u32; u64 => "u64", u64; bool => "bool", bool);

impl Cell for f64 {
    const TYPE: &'static str = "f64";
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn values(column: &Column) -> PolarsResult<Vec<Self>> {
        Ok(column.f64()?.into_no_null_iter().collect())
    }
    fn of(value: &Self) -> Self {
        *value
    }
    fn missing() -> Option<Self> {
        Some(f64::NAN)
    }
}

/// Columns added to a table after results were first published: an older file without them reads
/// them as NaN instead of failing.
const ADDED_LATER: [&str; 4] = ["alpha_low", "alpha_high", "ci_low", "ci_high"];

/// A table of rows of one type: its file stem, its columns, and the conversions both ways.
pub trait Table: Sized {
    /// The file stem (`tables/<NAME>.parquet`).
    const NAME: &'static str;
    /// Every column, in order, as (name, type).
    fn columns() -> Vec<(&'static str, &'static str)>;
    /// The rows as a frame with [`Table::columns`].
    fn frame(rows: &[Self]) -> Result<DataFrame>;
    /// Rows from a frame with [`Table::columns`] (`path` names the file in errors).
    fn from_frame(frame: &DataFrame, path: &Path) -> Result<Vec<Self>>;
}

/// The values of column `name` of `frame` (read from `path`), typed.
fn cells<T: Cell>(frame: &DataFrame, path: &Path, name: &str) -> Result<Vec<T>> {
    let table = |source| ReportError::Table { path: path.into(), source };
    match (frame.column(name), T::missing()) {
        (Err(_), Some(missing)) if ADDED_LATER.contains(&name) => Ok(vec![missing; frame.height()]),
        (column, _) => T::values(column.map_err(table)?).map_err(table),
    }
}

/// Declares a row type keyed by a [`RunKey`] (its first four columns) and its [`Table`].
macro_rules! keyed_table {
    ($(#[$meta:meta])* $row:ident in $file:literal { $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $row {
            /// The run the row belongs to (columns experiment, variant, beta, seed).
            #[serde(flatten)]
            pub key: RunKey,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl Keyed for $row {
            fn key(&self) -> &RunKey {
                &self.key
            }
            fn key_mut(&mut self) -> &mut RunKey {
                &mut self.key
            }
        }

        impl Table for $row {
            const NAME: &'static str = $file;
            fn columns() -> Vec<(&'static str, &'static str)> {
                let mut columns = KEY_COLUMNS.to_vec();
                columns.extend([$((stringify!($field), <$ty as Cell>::TYPE)),*]);
                columns
            }
            fn frame(rows: &[Self]) -> Result<DataFrame> {
                let mut columns = key_columns(rows);
                columns.extend([$(<$ty as Cell>::column(stringify!($field), rows.iter().map(|r| <$ty as Cell>::of(&r.$field)).collect())),*]);
                Ok(DataFrame::new(columns)?)
            }
            fn from_frame(frame: &DataFrame, path: &Path) -> Result<Vec<Self>> {
                let keys = read_keys(frame, path)?;
                $(let $field: Vec<$ty> = cells(frame, path, stringify!($field))?;)*
                Ok(keys.into_iter().enumerate().map(|(i, key)| $row { key, $($field: <$ty as Cell>::of(&$field[i])),* }).collect())
            }
        }
    };
}

/// Declares a row type without a run key and its [`Table`].
macro_rules! table {
    ($(#[$meta:meta])* $row:ident in $file:literal { $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $row {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl Table for $row {
            const NAME: &'static str = $file;
            fn columns() -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($field), <$ty as Cell>::TYPE)),*]
            }
            fn frame(rows: &[Self]) -> Result<DataFrame> {
                Ok(DataFrame::new(vec![$(<$ty as Cell>::column(stringify!($field), rows.iter().map(|r| <$ty as Cell>::of(&r.$field)).collect())),*])?)
            }
            fn from_frame(frame: &DataFrame, path: &Path) -> Result<Vec<Self>> {
                $(let $field: Vec<$ty> = cells(frame, path, stringify!($field))?;)*
                let rows = frame.height();
                Ok((0..rows).map(|i| $row { $($field: <$ty as Cell>::of(&$field[i])),* }).collect())
            }
        }
    };
}

/// The four key columns, first in every keyed table.
const KEY_COLUMNS: [(&str, &str); 4] = [("experiment", "str"), ("variant", "str"), ("beta", "f64"), ("seed", "u64")];

fn key_columns<T: Keyed>(rows: &[T]) -> Vec<Column> {
    vec![
        String::column("experiment", rows.iter().map(|r| r.key().experiment.clone()).collect()),
        String::column("variant", rows.iter().map(|r| r.key().variant.clone()).collect()),
        f64::column("beta", rows.iter().map(|r| r.key().beta).collect()),
        u64::column("seed", rows.iter().map(|r| r.key().seed).collect()),
    ]
}

fn read_keys(frame: &DataFrame, path: &Path) -> Result<Vec<RunKey>> {
    let (experiment, variant) = (cells::<String>(frame, path, "experiment")?, cells::<String>(frame, path, "variant")?);
    let (beta, seed) = (cells::<f64>(frame, path, "beta")?, cells::<u64>(frame, path, "seed")?);
    Ok(experiment.into_iter().zip(variant).zip(beta).zip(seed).map(|(((e, v), b), s)| RunKey::new(e, v, b, s)).collect())
}

keyed_table! {
    /// One epoch of one training run.
    TrainingRow in "training" {
        /// 1-based epoch.
        epoch: u32,
        /// Mean cross-entropy over the epoch's batches.
        loss: f64,
        /// Mean penalty (spectral + Jacobian) over the epoch's batches.
        penalty: f64,
        /// Accuracy on the training batches as seen during the epoch.
        train_acc: f64,
        /// Test accuracy after the epoch.
        test_acc: f64,
        /// Wall time of the epoch.
        seconds: f64,
    }
}

keyed_table! {
    /// One eigenvalue of one layer's covariance spectrum.
    SpectrumRow in "spectra" {
        /// `hidden1`, `hidden2`, … (1-based, forward order); `layer01`… and `representation` in T1/T2.
        layer: String,
        /// Which examples the covariance was taken over: `test`, `train` (T1/T2: their inputs).
        split: String,
        /// 1-based rank, in decreasing order of eigenvalue.
        rank: u32,
        /// The eigenvalue (covariance normalised by the number of examples).
        eigenvalue: f64,
    }
}

keyed_table! {
    /// One power-law fit of one layer's spectrum.
    FitRow in "fits" {
        /// The layer, as in [`SpectrumRow::layer`].
        layer: String,
        /// Fitted exponent α̂ of λ_n ∝ n^(−α).
        alpha_hat: f64,
        /// R² of the log-log least-squares fit.
        r2: f64,
        /// First rank fitted (1-based).
        rank_min: u32,
        /// Last rank fitted (1-based, inclusive).
        rank_max: u32,
        /// Lower end of a 95 % bootstrap interval for α̂ over the fitted ranks (NaN: none; absent in
        /// tables written before intervals, read as NaN).
        #[serde(default = "nan", deserialize_with = "nan_if_null")]
        alpha_low: f64,
        /// Upper end of that interval.
        #[serde(default = "nan", deserialize_with = "nan_if_null")]
        alpha_high: f64,
    }
}

keyed_table! {
    /// Accuracy of one trained model under one attack at one ε.
    RobustnessRow in "robustness" {
        /// `fgsm`, `pgd<steps>`, … ([`specreg_attacks`]' names).
        attack: String,
        /// Radius ε in pixel units, in the attack's norm.
        epsilon: f64,
        /// Accuracy under attack.
        accuracy: f64,
        /// Number of attacked examples.
        n_examples: u32,
        /// Largest perturbation measured (≤ ε).
        max_perturbation: f64,
        /// Batch size of the attack (matters for batch-statistic models).
        batch_size: u32,
        /// Smallest attacked pixel (≥ 0).
        min_pixel: f64,
        /// Largest attacked pixel (≤ 1).
        max_pixel: f64,
        /// Lower end of the 95 % Wilson interval of `accuracy` over the attacked examples (absent in
        /// tables written before intervals, read as NaN).
        #[serde(default = "nan", deserialize_with = "nan_if_null")]
        ci_low: f64,
        /// Upper end of that interval.
        #[serde(default = "nan", deserialize_with = "nan_if_null")]
        ci_high: f64,
    }
}

keyed_table! {
    /// Robust accuracy under AutoAttack's standard ensemble at one ε: after each of its attacks in turn
    /// (each run on the examples the ones before left correct), and for the ensemble as a whole.
    SuiteRow in "robustness_suite" {
        /// `apgd-ce`, `apgd-t`, `fab-t`, `square`, or `autoattack` (the worst case: robust against all four).
        attack: String,
        /// Radius ε (L∞, pixel units).
        epsilon: f64,
        /// Examples still correctly classified after this attack and the ones before it.
        accuracy: f64,
        /// Examples this attack broke that the ones before it had not.
        broken: u32,
        /// Attacked examples.
        n_examples: u32,
        /// Lower end of the 95 % Wilson interval of `accuracy` over the examples.
        ci_low: f64,
        /// Upper end of that interval.
        ci_high: f64,
    }
}

keyed_table! {
    /// What became of one attacked example at one ε under the ensemble.
    FateRow in "suite_fates" {
        /// Radius ε.
        epsilon: f64,
        /// The example's index in the test set (0-based).
        example: u32,
        /// `clean` (misclassified unattacked), the first attack that broke it, or `robust`.
        fate: String,
    }
}

keyed_table! {
    /// Accuracy of a model on adversarial examples crafted on another model (a transfer attack).
    TransferRow in "transfer" {
        /// The variant the examples were crafted on (Vanilla of the same seed).
        source: String,
        /// The attack run on the source (`pgd40`, `apgd-ce100`).
        attack: String,
        /// Radius ε.
        epsilon: f64,
        /// Accuracy of this row's model on the transferred examples.
        accuracy: f64,
        /// Attacked examples.
        n_examples: u32,
        /// Lower end of the 95 % Wilson interval of `accuracy`.
        ci_low: f64,
        /// Upper end of that interval.
        ci_high: f64,
    }
}

keyed_table! {
    /// One attack sanity check (protocol §1.6) of one trained model.
    SanityRow in "sanity" {
        /// The check's name.
        check: String,
        /// Whether it passed.
        passed: bool,
        /// The numbers behind the verdict.
        detail: String,
    }
}

keyed_table! {
    /// One layer's training-set spectrum at one point of training (the trajectory).
    TrajectoryRow in "trajectory" {
        /// The layer, as in [`SpectrumRow::layer`].
        layer: String,
        /// Epochs completed (0: the initial model).
        epoch: u32,
        /// Whether the spectral penalty acts on the layer.
        regularised: bool,
        /// Fitted α̂ (NaN when no fit could be made; `null` in JSON).
        #[serde(deserialize_with = "nan_if_null")]
        alpha_hat: f64,
        /// R² of the fit (NaN without a fit).
        #[serde(deserialize_with = "nan_if_null")]
        r2: f64,
        /// First rank fitted.
        rank_min: u32,
        /// Last rank fitted.
        rank_max: u32,
        /// Fraction of ranks n > 10 within a factor 2 of the α = 1 target (NaN for too narrow a layer).
        #[serde(deserialize_with = "nan_if_null")]
        near_target: f64,
        /// The largest eigenvalue.
        top_eigenvalue: f64,
    }
}

table! {
    /// One point of a representation's projection onto a random direction (T2).
    ProjectionRow in "projections" {
        /// `T2`.
        experiment: String,
        /// `alpha=<α>`.
        variant: String,
        /// The embedding's spectral exponent α.
        alpha: f64,
        /// Index of the random direction (0-based).
        direction: u32,
        /// Stimulus angle θ.
        theta: f64,
        /// The projection's value at θ.
        value: f64,
    }
}

/// NaN, the default of a float column a row of an older file lacks.
fn nan() -> f64 {
    f64::NAN
}

/// JSON has no NaN: serde_json writes it as `null`, which this reads back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<f64, D::Error> {
    Ok(<Option<f64> as serde::Deserialize>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// Every table's name and columns, in the order of the module doc.
pub fn schemas() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    fn of<T: Table>() -> (&'static str, Vec<(&'static str, &'static str)>) {
        (T::NAME, T::columns())
    }
    vec![
        of::<TrainingRow>(),
        of::<SpectrumRow>(),
        of::<FitRow>(),
        of::<RobustnessRow>(),
        of::<SuiteRow>(),
        of::<FateRow>(),
        of::<TransferRow>(),
        of::<SanityRow>(),
        of::<TrajectoryRow>(),
        of::<ProjectionRow>(),
    ]
}

/// Writes `rows` as the Parquet table at `path`, atomically.
pub fn write<T: Table>(rows: &[T], path: &Path) -> Result<()> {
    write_table(&mut T::frame(rows)?, path)
}

/// Reads the table of `T` at `path`, checking every column's name and type.
pub fn read<T: Table>(path: &Path) -> Result<Vec<T>> {
    T::from_frame(&read_table(path)?, path)
}

/// Writes `frame` as Parquet at `path`, atomically. The file is encoded in memory first, so a write
/// that fails (a full disk) reports the operating system's error and the path, never a codec's.
pub fn write_table(frame: &mut DataFrame, path: &Path) -> Result<()> {
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(frame).map_err(|source| ReportError::Table { path: path.into(), source })?;
    Ok(specreg_files::write_file_atomically(path, &bytes)?)
}

/// Reads a Parquet table.
pub fn read_table(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(|source| FileError::new(path, source))?;
    ParquetReader::new(file).finish().map_err(|source| ReportError::Table { path: path.into(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_doc_lists_every_schema_as_declared() {
        let doc: Vec<String> = include_str!("tables.rs").lines().filter_map(|l| l.strip_prefix("//! | `")).map(str::to_string).collect();
        let declared: Vec<String> = schemas()
            .into_iter()
            .map(|(name, columns)| format!("{name}` | {} |", columns.iter().map(|(c, t)| format!("{c}: {t}")).collect::<Vec<_>>().join(", ")))
            .collect();
        assert_eq!(doc, declared);
    }

    #[test]
    fn every_table_reads_back_what_it_writes() {
        let dir = tempfile::tempdir().unwrap();
        let key = RunKey::new("E2-CNN/cifar10", "SpecReg-Wh", 2.0, 7);
        let rows = vec![TrajectoryRow {
            key: key.clone(),
            layer: "hidden2".into(),
            epoch: 0,
            regularised: true,
            alpha_hat: f64::NAN,
            r2: 0.5,
            rank_min: 11,
            rank_max: 500,
            near_target: 0.25,
            top_eigenvalue: 3.0,
        }];
        let path = dir.path().join("t.parquet");
        write(&rows, &path).unwrap();
        let back: Vec<TrajectoryRow> = read(&path).unwrap();
        assert_eq!(back.len(), 1);
        assert!(back[0].alpha_hat.is_nan() && back[0].key == key && back[0].rank_max == 500);
        let projections = vec![ProjectionRow { experiment: "T2".into(), variant: "alpha=1".into(), alpha: 1.0, direction: 2, theta: 0.5, value: -1.0 }];
        write(&projections, &path).unwrap();
        assert_eq!(read::<ProjectionRow>(&path).unwrap(), projections);
        // A table read as another names the file and the missing column.
        let error = read::<FitRow>(&path).unwrap_err().to_string();
        assert!(error.contains("t.parquet"), "{error}");
        // A fits table written before intervals were added reads them as NaN.
        let fit = FitRow { key, layer: "hidden1".into(), alpha_hat: 1.5, r2: 0.9, rank_min: 11, rank_max: 50, alpha_low: 1.4, alpha_high: 1.6 };
        let mut old = FitRow::frame(std::slice::from_ref(&fit)).unwrap().drop_many(["alpha_low", "alpha_high"]);
        write_table(&mut old, &path).unwrap();
        let back: Vec<FitRow> = read(&path).unwrap();
        assert!(back[0].alpha_low.is_nan() && back[0].alpha_high.is_nan() && back[0].alpha_hat == 1.5);
    }
}
