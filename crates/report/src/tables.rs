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
//!
//! `experiment` names the dataset too where an experiment runs on several (`E2-CNN/cifar10`).
//! `layer` is `hidden1`, `hidden2`, … (1-based, in forward order). `split` is `test` or `train`.

use std::path::Path;

use polars::prelude::*;

use crate::atomic::write_atomically;
use crate::error::{ReportError, Result};

/// One eigenvalue of one layer's covariance spectrum.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpectrumRow {
    pub experiment: String,
    pub variant: String,
    pub beta: f64,
    pub seed: u64,
    pub layer: String,
    pub split: String,
    pub rank: u32,
    pub eigenvalue: f64,
}

/// One power-law fit of one layer's spectrum.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FitRow {
    pub experiment: String,
    pub variant: String,
    pub beta: f64,
    pub seed: u64,
    pub layer: String,
    pub alpha_hat: f64,
    pub r2: f64,
    pub rank_min: u32,
    pub rank_max: u32,
}

/// One point of a representation's projection onto a random direction (T2).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionRow {
    pub experiment: String,
    pub variant: String,
    pub alpha: f64,
    pub direction: u32,
    pub theta: f64,
    pub value: f64,
}

/// One epoch of one training run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainingRow {
    pub experiment: String,
    pub variant: String,
    pub beta: f64,
    pub seed: u64,
    pub epoch: u32,
    pub loss: f64,
    pub penalty: f64,
    pub train_acc: f64,
    pub test_acc: f64,
    pub seconds: f64,
}

/// Accuracy of one trained model under one attack at one ε.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RobustnessRow {
    pub experiment: String,
    pub variant: String,
    pub beta: f64,
    pub seed: u64,
    pub attack: String,
    pub epsilon: f64,
    pub accuracy: f64,
    pub n_examples: u32,
    pub max_perturbation: f64,
    pub batch_size: u32,
    pub min_pixel: f64,
    pub max_pixel: f64,
}

/// One attack sanity check (PROTOCOL §1.6) of one trained model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SanityRow {
    pub experiment: String,
    pub variant: String,
    pub beta: f64,
    pub seed: u64,
    pub check: String,
    pub passed: bool,
    pub detail: String,
}

fn col<T, F: Fn(&T) -> V, V>(rows: &[T], f: F) -> Vec<V> {
    rows.iter().map(f).collect()
}

pub fn spectra_frame(rows: &[SpectrumRow]) -> Result<DataFrame> {
    Ok(DataFrame::new(vec![
        Column::new("experiment".into(), col(rows, |r| r.experiment.clone())),
        Column::new("variant".into(), col(rows, |r| r.variant.clone())),
        Column::new("beta".into(), col(rows, |r| r.beta)),
        Column::new("seed".into(), col(rows, |r| r.seed)),
        Column::new("layer".into(), col(rows, |r| r.layer.clone())),
        Column::new("split".into(), col(rows, |r| r.split.clone())),
        Column::new("rank".into(), col(rows, |r| r.rank)),
        Column::new("eigenvalue".into(), col(rows, |r| r.eigenvalue)),
    ])?)
}

pub fn fits_frame(rows: &[FitRow]) -> Result<DataFrame> {
    Ok(DataFrame::new(vec![
        Column::new("experiment".into(), col(rows, |r| r.experiment.clone())),
        Column::new("variant".into(), col(rows, |r| r.variant.clone())),
        Column::new("beta".into(), col(rows, |r| r.beta)),
        Column::new("seed".into(), col(rows, |r| r.seed)),
        Column::new("layer".into(), col(rows, |r| r.layer.clone())),
        Column::new("alpha_hat".into(), col(rows, |r| r.alpha_hat)),
        Column::new("r2".into(), col(rows, |r| r.r2)),
        Column::new("rank_min".into(), col(rows, |r| r.rank_min)),
        Column::new("rank_max".into(), col(rows, |r| r.rank_max)),
    ])?)
}

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

fn ids<T>(rows: &[T], f: impl Fn(&T) -> (&String, &String, f64, u64)) -> Vec<Column> {
    vec![
        Column::new("experiment".into(), col(rows, |r| f(r).0.clone())),
        Column::new("variant".into(), col(rows, |r| f(r).1.clone())),
        Column::new("beta".into(), col(rows, |r| f(r).2)),
        Column::new("seed".into(), col(rows, |r| f(r).3)),
    ]
}

pub fn training_frame(rows: &[TrainingRow]) -> Result<DataFrame> {
    let mut columns = ids(rows, |r| (&r.experiment, &r.variant, r.beta, r.seed));
    columns.extend([
        Column::new("epoch".into(), col(rows, |r| r.epoch)),
        Column::new("loss".into(), col(rows, |r| r.loss)),
        Column::new("penalty".into(), col(rows, |r| r.penalty)),
        Column::new("train_acc".into(), col(rows, |r| r.train_acc)),
        Column::new("test_acc".into(), col(rows, |r| r.test_acc)),
        Column::new("seconds".into(), col(rows, |r| r.seconds)),
    ]);
    Ok(DataFrame::new(columns)?)
}

pub fn robustness_frame(rows: &[RobustnessRow]) -> Result<DataFrame> {
    let mut columns = ids(rows, |r| (&r.experiment, &r.variant, r.beta, r.seed));
    columns.extend([
        Column::new("attack".into(), col(rows, |r| r.attack.clone())),
        Column::new("epsilon".into(), col(rows, |r| r.epsilon)),
        Column::new("accuracy".into(), col(rows, |r| r.accuracy)),
        Column::new("n_examples".into(), col(rows, |r| r.n_examples)),
        Column::new("max_perturbation".into(), col(rows, |r| r.max_perturbation)),
        Column::new("batch_size".into(), col(rows, |r| r.batch_size)),
        Column::new("min_pixel".into(), col(rows, |r| r.min_pixel)),
        Column::new("max_pixel".into(), col(rows, |r| r.max_pixel)),
    ]);
    Ok(DataFrame::new(columns)?)
}

pub fn sanity_frame(rows: &[SanityRow]) -> Result<DataFrame> {
    let mut columns = ids(rows, |r| (&r.experiment, &r.variant, r.beta, r.seed));
    columns.extend([
        Column::new("check".into(), col(rows, |r| r.check.clone())),
        Column::new("passed".into(), col(rows, |r| r.passed)),
        Column::new("detail".into(), col(rows, |r| r.detail.clone())),
    ]);
    Ok(DataFrame::new(columns)?)
}

/// Writes `frame` as Parquet at `path`, atomically.
pub fn write_table(frame: &mut DataFrame, path: &Path) -> Result<()> {
    write_atomically(path, |tmp| {
        let file = std::fs::File::create(tmp).map_err(|source| ReportError::Io { path: tmp.into(), source })?;
        ParquetWriter::new(file).finish(frame).map_err(|source| ReportError::Table { path: path.into(), source })?;
        Ok(())
    })
}

/// Reads a Parquet table.
pub fn read_table(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(|source| ReportError::Io { path: path.into(), source })?;
    ParquetReader::new(file).finish().map_err(|source| ReportError::Table { path: path.into(), source })
}

/// Typed column access that names the table and column on a schema mismatch.
struct Reader {
    frame: DataFrame,
}

impl Reader {
    fn strings(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.frame.column(name)?.str()?.into_no_null_iter().map(str::to_owned).collect())
    }
    fn f64s(&self, name: &str) -> Result<Vec<f64>> {
        Ok(self.frame.column(name)?.f64()?.into_no_null_iter().collect())
    }
    fn u64s(&self, name: &str) -> Result<Vec<u64>> {
        Ok(self.frame.column(name)?.u64()?.into_no_null_iter().collect())
    }
    fn u32s(&self, name: &str) -> Result<Vec<u32>> {
        Ok(self.frame.column(name)?.u32()?.into_no_null_iter().collect())
    }
    fn bools(&self, name: &str) -> Result<Vec<bool>> {
        Ok(self.frame.column(name)?.bool()?.into_no_null_iter().collect())
    }
    /// experiment, variant, beta, seed.
    fn ids(&self) -> Result<(Vec<String>, Vec<String>, Vec<f64>, Vec<u64>)> {
        Ok((self.strings("experiment")?, self.strings("variant")?, self.f64s("beta")?, self.u64s("seed")?))
    }
}

pub fn read_training(path: &Path) -> Result<Vec<TrainingRow>> {
    let r = Reader { frame: read_table(path)? };
    let (experiment, variant, beta, seed) = r.ids()?;
    let (epoch, loss, penalty) = (r.u32s("epoch")?, r.f64s("loss")?, r.f64s("penalty")?);
    let (train_acc, test_acc, seconds) = (r.f64s("train_acc")?, r.f64s("test_acc")?, r.f64s("seconds")?);
    Ok((0..experiment.len())
        .map(|i| TrainingRow {
            experiment: experiment[i].clone(),
            variant: variant[i].clone(),
            beta: beta[i],
            seed: seed[i],
            epoch: epoch[i],
            loss: loss[i],
            penalty: penalty[i],
            train_acc: train_acc[i],
            test_acc: test_acc[i],
            seconds: seconds[i],
        })
        .collect())
}

pub fn read_robustness(path: &Path) -> Result<Vec<RobustnessRow>> {
    let r = Reader { frame: read_table(path)? };
    let (experiment, variant, beta, seed) = r.ids()?;
    let (attack, epsilon, accuracy, n_examples) = (r.strings("attack")?, r.f64s("epsilon")?, r.f64s("accuracy")?, r.u32s("n_examples")?);
    let (max_perturbation, batch_size, min_pixel, max_pixel) = (r.f64s("max_perturbation")?, r.u32s("batch_size")?, r.f64s("min_pixel")?, r.f64s("max_pixel")?);
    Ok((0..experiment.len())
        .map(|i| RobustnessRow {
            experiment: experiment[i].clone(),
            variant: variant[i].clone(),
            beta: beta[i],
            seed: seed[i],
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

pub fn read_sanity(path: &Path) -> Result<Vec<SanityRow>> {
    let r = Reader { frame: read_table(path)? };
    let (experiment, variant, beta, seed) = r.ids()?;
    let (check, passed, detail) = (r.strings("check")?, r.bools("passed")?, r.strings("detail")?);
    Ok((0..experiment.len())
        .map(|i| SanityRow {
            experiment: experiment[i].clone(),
            variant: variant[i].clone(),
            beta: beta[i],
            seed: seed[i],
            check: check[i].clone(),
            passed: passed[i],
            detail: detail[i].clone(),
        })
        .collect())
}

pub fn read_spectra(path: &Path) -> Result<Vec<SpectrumRow>> {
    let r = Reader { frame: read_table(path)? };
    let (experiment, variant, beta, seed) = (r.strings("experiment")?, r.strings("variant")?, r.f64s("beta")?, r.u64s("seed")?);
    let (layer, split, rank, eigenvalue) = (r.strings("layer")?, r.strings("split")?, r.u32s("rank")?, r.f64s("eigenvalue")?);
    Ok((0..experiment.len())
        .map(|i| SpectrumRow {
            experiment: experiment[i].clone(),
            variant: variant[i].clone(),
            beta: beta[i],
            seed: seed[i],
            layer: layer[i].clone(),
            split: split[i].clone(),
            rank: rank[i],
            eigenvalue: eigenvalue[i],
        })
        .collect())
}

pub fn read_fits(path: &Path) -> Result<Vec<FitRow>> {
    let r = Reader { frame: read_table(path)? };
    let (experiment, variant, beta, seed, layer) =
        (r.strings("experiment")?, r.strings("variant")?, r.f64s("beta")?, r.u64s("seed")?, r.strings("layer")?);
    let (alpha_hat, r2, rank_min, rank_max) = (r.f64s("alpha_hat")?, r.f64s("r2")?, r.u32s("rank_min")?, r.u32s("rank_max")?);
    Ok((0..experiment.len())
        .map(|i| FitRow {
            experiment: experiment[i].clone(),
            variant: variant[i].clone(),
            beta: beta[i],
            seed: seed[i],
            layer: layer[i].clone(),
            alpha_hat: alpha_hat[i],
            r2: r2[i],
            rank_min: rank_min[i],
            rank_max: rank_max[i],
        })
        .collect())
}

pub fn read_projections(path: &Path) -> Result<Vec<ProjectionRow>> {
    let r = Reader { frame: read_table(path)? };
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
