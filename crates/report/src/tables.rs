//! The Parquet tables and their schemas. One row per observation; the identifying columns
//! (experiment, variant, beta, seed) come first in every table so tables can be joined.
//!
//! | table | columns |
//! |---|---|
//! | `spectra` | experiment: str, variant: str, beta: f64, seed: u64, layer: str, split: str, rank: u32 (1-based), eigenvalue: f64 |
//! | `fits` | experiment, variant, beta, seed, layer: str, alpha_hat: f64, r2: f64, rank_min: u32, rank_max: u32 |
//! | `projections` | experiment, variant, alpha: f64, direction: u32, theta: f64, value: f64 (T2: a representation projected on random directions) |
//! | `training` | experiment, variant, beta, seed, epoch: u32 (1-based), loss: f64, penalty: f64, train_acc: f64, test_acc: f64, seconds: f64 |
//! | `robustness` | experiment, variant, beta, seed, attack: str, epsilon: f64, accuracy: f64, n_examples: u32, max_perturbation: f64, batch_size: u32, min_pixel: f64, max_pixel: f64 |
//! | `sanity` | experiment, variant, beta, seed, check: str, passed: bool, detail: str |
//! | `trajectory` | experiment, variant, beta, seed, layer: str, epoch: u32 (epochs completed; 0 = initial model), regularised: bool, alpha_hat: f64 (NaN: no fit), r2: f64, rank_min: u32, rank_max: u32, near_target: f64, top_eigenvalue: f64 — the training-set spectrum through training |
//!
//! `experiment` names the dataset too where an experiment runs on several (`E2-CNN/cifar10`).
//! `layer` is `hidden1`, `hidden2`, … (1-based, in forward order). `split` is `test` or `train`.
//! `near_target`: the fraction of ranks n > 10 whose eigenvalue lies within a factor 2 of the α = 1
//! power law anchored at rank 10.

use std::path::Path;

use polars::prelude::*;

use specreg_files::{FileError, write_atomically};
use crate::error::{ReportError, Result};
use crate::key::{Keyed, RunKey};

/// One eigenvalue of one layer's covariance spectrum.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpectrumRow {
    /// The run the row belongs to (columns experiment, variant, beta, seed).
    #[serde(flatten)]
    pub key: RunKey,
    /// `hidden1`, `hidden2`, … (1-based, forward order); `layer01`… and `representation` in T1/T2.
    pub layer: String,
    /// Which examples the covariance was taken over: `test`, `train` (T1/T2: their inputs).
    pub split: String,
    /// 1-based rank, in decreasing order of eigenvalue.
    pub rank: u32,
    /// The eigenvalue (covariance normalised by the number of examples).
    pub eigenvalue: f64,
}

/// One power-law fit of one layer's spectrum.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FitRow {
    /// The run the row belongs to.
    #[serde(flatten)]
    pub key: RunKey,
    /// The layer, as in [`SpectrumRow::layer`].
    pub layer: String,
    /// Fitted exponent α̂ of λ_n ∝ n^(−α).
    pub alpha_hat: f64,
    /// R² of the log-log least-squares fit.
    pub r2: f64,
    /// First rank fitted (1-based).
    pub rank_min: u32,
    /// Last rank fitted (1-based, inclusive).
    pub rank_max: u32,
}

/// One point of a representation's projection onto a random direction (T2).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionRow {
    /// `T2`.
    pub experiment: String,
    /// `alpha=<α>`.
    pub variant: String,
    /// The embedding's spectral exponent α.
    pub alpha: f64,
    /// Index of the random direction (0-based).
    pub direction: u32,
    /// Stimulus angle θ.
    pub theta: f64,
    /// The projection's value at θ.
    pub value: f64,
}

/// One epoch of one training run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainingRow {
    /// The run the row belongs to.
    #[serde(flatten)]
    pub key: RunKey,
    /// 1-based epoch.
    pub epoch: u32,
    /// Mean cross-entropy over the epoch's batches.
    pub loss: f64,
    /// Mean penalty (spectral + Jacobian) over the epoch's batches.
    pub penalty: f64,
    /// Accuracy on the training batches as seen during the epoch.
    pub train_acc: f64,
    /// Test accuracy after the epoch.
    pub test_acc: f64,
    /// Wall time of the epoch.
    pub seconds: f64,
}

/// Accuracy of one trained model under one attack at one ε.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RobustnessRow {
    /// The run the row belongs to.
    #[serde(flatten)]
    pub key: RunKey,
    /// `fgsm`, `pgd<steps>`, ….
    pub attack: String,
    /// L∞ radius ε in pixel units.
    pub epsilon: f64,
    /// Accuracy under attack.
    pub accuracy: f64,
    /// Number of attacked examples.
    pub n_examples: u32,
    /// Largest perturbation measured (≤ ε).
    pub max_perturbation: f64,
    /// Batch size of the attack (matters for batch-statistic models).
    pub batch_size: u32,
    /// Smallest attacked pixel (≥ 0).
    pub min_pixel: f64,
    /// Largest attacked pixel (≤ 1).
    pub max_pixel: f64,
}

/// One attack sanity check (PROTOCOL §1.6) of one trained model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SanityRow {
    /// The run the row belongs to.
    #[serde(flatten)]
    pub key: RunKey,
    /// The check's name.
    pub check: String,
    /// Whether it passed.
    pub passed: bool,
    /// The numbers behind the verdict.
    pub detail: String,
}

/// One layer's training-set spectrum at one point of training (the trajectory).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrajectoryRow {
    /// The run the row belongs to.
    #[serde(flatten)]
    pub key: RunKey,
    /// The layer, as in [`SpectrumRow::layer`].
    pub layer: String,
    /// Epochs completed (0: the initial model).
    pub epoch: u32,
    /// Whether the spectral penalty acts on the layer.
    pub regularised: bool,
    /// Fitted α̂ (NaN when no fit could be made; `null` in JSON).
    #[serde(deserialize_with = "nan_if_null")]
    pub alpha_hat: f64,
    /// R² of the fit (NaN without a fit).
    #[serde(deserialize_with = "nan_if_null")]
    pub r2: f64,
    /// First rank fitted.
    pub rank_min: u32,
    /// Last rank fitted.
    pub rank_max: u32,
    /// Fraction of ranks n > 10 within a factor 2 of the α = 1 target (NaN for too narrow a layer).
    #[serde(deserialize_with = "nan_if_null")]
    pub near_target: f64,
    /// The largest eigenvalue.
    pub top_eigenvalue: f64,
}

/// JSON has no NaN: serde_json writes it as `null`, which this reads back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<f64, D::Error> {
    Ok(<Option<f64> as serde::Deserialize>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

macro_rules! keyed {
    ($($row:ty),*) => {$(
        impl Keyed for $row {
            fn key(&self) -> &RunKey {
                &self.key
            }
            fn key_mut(&mut self) -> &mut RunKey {
                &mut self.key
            }
        }
    )*};
}
keyed!(SpectrumRow, FitRow, TrainingRow, RobustnessRow, SanityRow, TrajectoryRow);

fn col<T, F: Fn(&T) -> V, V>(rows: &[T], f: F) -> Vec<V> {
    rows.iter().map(f).collect()
}

/// The four key columns, first in every keyed table.
fn key_columns<T: Keyed>(rows: &[T]) -> Vec<Column> {
    vec![
        Column::new("experiment".into(), col(rows, |r| r.key().experiment.clone())),
        Column::new("variant".into(), col(rows, |r| r.key().variant.clone())),
        Column::new("beta".into(), col(rows, |r| r.key().beta)),
        Column::new("seed".into(), col(rows, |r| r.key().seed)),
    ]
}

/// A keyed table: the key columns, then `columns`.
fn keyed_frame<T: Keyed>(rows: &[T], columns: Vec<Column>) -> Result<DataFrame> {
    let mut all = key_columns(rows);
    all.extend(columns);
    Ok(DataFrame::new(all)?)
}

/// The `spectra` table.
pub fn spectra_frame(rows: &[SpectrumRow]) -> Result<DataFrame> {
    keyed_frame(
        rows,
        vec![
            Column::new("layer".into(), col(rows, |r| r.layer.clone())),
            Column::new("split".into(), col(rows, |r| r.split.clone())),
            Column::new("rank".into(), col(rows, |r| r.rank)),
            Column::new("eigenvalue".into(), col(rows, |r| r.eigenvalue)),
        ],
    )
}

/// The `fits` table.
pub fn fits_frame(rows: &[FitRow]) -> Result<DataFrame> {
    keyed_frame(
        rows,
        vec![
            Column::new("layer".into(), col(rows, |r| r.layer.clone())),
            Column::new("alpha_hat".into(), col(rows, |r| r.alpha_hat)),
            Column::new("r2".into(), col(rows, |r| r.r2)),
            Column::new("rank_min".into(), col(rows, |r| r.rank_min)),
            Column::new("rank_max".into(), col(rows, |r| r.rank_max)),
        ],
    )
}

/// The `projections` table (T2; not keyed by run).
pub fn projections_frame(rows: &[ProjectionRow]) -> Result<DataFrame> {
    Ok(DataFrame::new(vec![
        Column::new("experiment".into(), col(rows, |r| r.experiment.clone())),
        Column::new("variant".into(), col(rows, |r| r.variant.clone())),
        Column::new("alpha".into(), col(rows, |r| r.alpha)),
        Column::new("direction".into(), col(rows, |r| r.direction)),
        Column::new("theta".into(), col(rows, |r| r.theta)),
        Column::new("value".into(), col(rows, |r| r.value)),
    ])?)
}

/// The `training` table.
pub fn training_frame(rows: &[TrainingRow]) -> Result<DataFrame> {
    keyed_frame(
        rows,
        vec![
            Column::new("epoch".into(), col(rows, |r| r.epoch)),
            Column::new("loss".into(), col(rows, |r| r.loss)),
            Column::new("penalty".into(), col(rows, |r| r.penalty)),
            Column::new("train_acc".into(), col(rows, |r| r.train_acc)),
            Column::new("test_acc".into(), col(rows, |r| r.test_acc)),
            Column::new("seconds".into(), col(rows, |r| r.seconds)),
        ],
    )
}

/// The `robustness` table.
pub fn robustness_frame(rows: &[RobustnessRow]) -> Result<DataFrame> {
    keyed_frame(
        rows,
        vec![
            Column::new("attack".into(), col(rows, |r| r.attack.clone())),
            Column::new("epsilon".into(), col(rows, |r| r.epsilon)),
            Column::new("accuracy".into(), col(rows, |r| r.accuracy)),
            Column::new("n_examples".into(), col(rows, |r| r.n_examples)),
            Column::new("max_perturbation".into(), col(rows, |r| r.max_perturbation)),
            Column::new("batch_size".into(), col(rows, |r| r.batch_size)),
            Column::new("min_pixel".into(), col(rows, |r| r.min_pixel)),
            Column::new("max_pixel".into(), col(rows, |r| r.max_pixel)),
        ],
    )
}

/// The `sanity` table.
pub fn sanity_frame(rows: &[SanityRow]) -> Result<DataFrame> {
    keyed_frame(
        rows,
        vec![
            Column::new("check".into(), col(rows, |r| r.check.clone())),
            Column::new("passed".into(), col(rows, |r| r.passed)),
            Column::new("detail".into(), col(rows, |r| r.detail.clone())),
        ],
    )
}

/// The `trajectory` table.
pub fn trajectory_frame(rows: &[TrajectoryRow]) -> Result<DataFrame> {
    keyed_frame(
        rows,
        vec![
            Column::new("layer".into(), col(rows, |r| r.layer.clone())),
            Column::new("epoch".into(), col(rows, |r| r.epoch)),
            Column::new("regularised".into(), col(rows, |r| r.regularised)),
            Column::new("alpha_hat".into(), col(rows, |r| r.alpha_hat)),
            Column::new("r2".into(), col(rows, |r| r.r2)),
            Column::new("rank_min".into(), col(rows, |r| r.rank_min)),
            Column::new("rank_max".into(), col(rows, |r| r.rank_max)),
            Column::new("near_target".into(), col(rows, |r| r.near_target)),
            Column::new("top_eigenvalue".into(), col(rows, |r| r.top_eigenvalue)),
        ],
    )
}

/// Writes `frame` as Parquet at `path`, atomically.
pub fn write_table(frame: &mut DataFrame, path: &Path) -> Result<()> {
    write_atomically(path, |tmp| {
        let file = std::fs::File::create(tmp).map_err(|source| FileError::new(tmp, source))?;
        ParquetWriter::new(file).finish(frame).map_err(|source| ReportError::Table { path: path.into(), source })?;
        Ok(())
    })
}

/// Reads a Parquet table.
pub fn read_table(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(|source| FileError::new(path, source))?;
    ParquetReader::new(file).finish().map_err(|source| ReportError::Table { path: path.into(), source })
}

/// Typed column access that names the table and column on a schema mismatch.
struct Reader<'a> {
    path: &'a Path,
    frame: DataFrame,
}

impl<'a> Reader<'a> {
    fn open(path: &'a Path) -> Result<Self> {
        Ok(Reader { path, frame: read_table(path)? })
    }
    fn column<T>(&self, name: &str, read: impl FnOnce(&Column) -> PolarsResult<Vec<T>>) -> Result<Vec<T>> {
        let column = self.frame.column(name).map_err(|source| ReportError::Table { path: self.path.into(), source })?;
        read(column).map_err(|source| ReportError::Table { path: self.path.into(), source })
    }
    fn strings(&self, name: &str) -> Result<Vec<String>> {
        self.column(name, |c| Ok(c.str()?.into_no_null_iter().map(str::to_owned).collect()))
    }
    fn f64s(&self, name: &str) -> Result<Vec<f64>> {
        self.column(name, |c| Ok(c.f64()?.into_no_null_iter().collect()))
    }
    fn u64s(&self, name: &str) -> Result<Vec<u64>> {
        self.column(name, |c| Ok(c.u64()?.into_no_null_iter().collect()))
    }
    fn u32s(&self, name: &str) -> Result<Vec<u32>> {
        self.column(name, |c| Ok(c.u32()?.into_no_null_iter().collect()))
    }
    fn bools(&self, name: &str) -> Result<Vec<bool>> {
        self.column(name, |c| Ok(c.bool()?.into_no_null_iter().collect()))
    }
    /// The run key of every row.
    fn keys(&self) -> Result<Vec<RunKey>> {
        let (experiment, variant, beta, seed) = (self.strings("experiment")?, self.strings("variant")?, self.f64s("beta")?, self.u64s("seed")?);
        Ok(experiment.into_iter().zip(variant).zip(beta).zip(seed).map(|(((e, v), b), s)| RunKey::new(e, v, b, s)).collect())
    }
}

/// Reads a `training` table.
pub fn read_training(path: &Path) -> Result<Vec<TrainingRow>> {
    let r = Reader::open(path)?;
    let (epoch, loss, penalty) = (r.u32s("epoch")?, r.f64s("loss")?, r.f64s("penalty")?);
    let (train_acc, test_acc, seconds) = (r.f64s("train_acc")?, r.f64s("test_acc")?, r.f64s("seconds")?);
    Ok(r.keys()?
        .into_iter()
        .enumerate()
        .map(|(i, key)| TrainingRow { key, epoch: epoch[i], loss: loss[i], penalty: penalty[i], train_acc: train_acc[i], test_acc: test_acc[i], seconds: seconds[i] })
        .collect())
}

/// Reads a `robustness` table.
pub fn read_robustness(path: &Path) -> Result<Vec<RobustnessRow>> {
    let r = Reader::open(path)?;
    let (attack, epsilon, accuracy, n_examples) = (r.strings("attack")?, r.f64s("epsilon")?, r.f64s("accuracy")?, r.u32s("n_examples")?);
    let (max_perturbation, batch_size, min_pixel, max_pixel) = (r.f64s("max_perturbation")?, r.u32s("batch_size")?, r.f64s("min_pixel")?, r.f64s("max_pixel")?);
    Ok(r.keys()?
        .into_iter()
        .enumerate()
        .map(|(i, key)| RobustnessRow {
            key,
            attack: attack[i].clone(),
            epsilon: epsilon[i],
            accuracy: accuracy[i],
            n_examples: n_examples[i],
            max_perturbation: max_perturbation[i],
            batch_size: batch_size[i],
            min_pixel: min_pixel[i],
            max_pixel: max_pixel[i],
        })
        .collect())
}

/// Reads a `sanity` table.
pub fn read_sanity(path: &Path) -> Result<Vec<SanityRow>> {
    let r = Reader::open(path)?;
    let (check, passed, detail) = (r.strings("check")?, r.bools("passed")?, r.strings("detail")?);
    Ok(r.keys()?.into_iter().enumerate().map(|(i, key)| SanityRow { key, check: check[i].clone(), passed: passed[i], detail: detail[i].clone() }).collect())
}

/// Reads a `spectra` table.
pub fn read_spectra(path: &Path) -> Result<Vec<SpectrumRow>> {
    let r = Reader::open(path)?;
    let (layer, split, rank, eigenvalue) = (r.strings("layer")?, r.strings("split")?, r.u32s("rank")?, r.f64s("eigenvalue")?);
    Ok(r.keys()?
        .into_iter()
        .enumerate()
        .map(|(i, key)| SpectrumRow { key, layer: layer[i].clone(), split: split[i].clone(), rank: rank[i], eigenvalue: eigenvalue[i] })
        .collect())
}

/// Reads a `fits` table.
pub fn read_fits(path: &Path) -> Result<Vec<FitRow>> {
    let r = Reader::open(path)?;
    let (layer, alpha_hat, r2, rank_min, rank_max) = (r.strings("layer")?, r.f64s("alpha_hat")?, r.f64s("r2")?, r.u32s("rank_min")?, r.u32s("rank_max")?);
    Ok(r.keys()?
        .into_iter()
        .enumerate()
        .map(|(i, key)| FitRow { key, layer: layer[i].clone(), alpha_hat: alpha_hat[i], r2: r2[i], rank_min: rank_min[i], rank_max: rank_max[i] })
        .collect())
}

/// Reads a `trajectory` table.
pub fn read_trajectory(path: &Path) -> Result<Vec<TrajectoryRow>> {
    let r = Reader::open(path)?;
    let (layer, epoch, regularised) = (r.strings("layer")?, r.u32s("epoch")?, r.bools("regularised")?);
    let (alpha_hat, r2, rank_min, rank_max) = (r.f64s("alpha_hat")?, r.f64s("r2")?, r.u32s("rank_min")?, r.u32s("rank_max")?);
    let (near_target, top_eigenvalue) = (r.f64s("near_target")?, r.f64s("top_eigenvalue")?);
    Ok(r.keys()?
        .into_iter()
        .enumerate()
        .map(|(i, key)| TrajectoryRow {
            key,
            layer: layer[i].clone(),
            epoch: epoch[i],
            regularised: regularised[i],
            alpha_hat: alpha_hat[i],
            r2: r2[i],
            rank_min: rank_min[i],
            rank_max: rank_max[i],
            near_target: near_target[i],
            top_eigenvalue: top_eigenvalue[i],
        })
        .collect())
}

/// Reads a `projections` table.
pub fn read_projections(path: &Path) -> Result<Vec<ProjectionRow>> {
    let r = Reader::open(path)?;
    let (experiment, variant, alpha) = (r.strings("experiment")?, r.strings("variant")?, r.f64s("alpha")?);
    let (direction, theta, value) = (r.u32s("direction")?, r.f64s("theta")?, r.f64s("value")?);
    Ok((0..experiment.len())
        .map(|i| ProjectionRow {
            experiment: experiment[i].clone(),
            variant: variant[i].clone(),
            alpha: alpha[i],
            direction: direction[i],
            theta: theta[i],
            value: value[i],
        })
        .collect())
}
