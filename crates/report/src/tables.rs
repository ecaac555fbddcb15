//! The Parquet tables and their schemas. One row per observation; the identifying columns
//! (experiment, variant, beta, seed) come first in every table so tables can be joined.
//!
//! | table | columns |
//! |---|---|
//! | `spectra` | experiment: str, variant: str, beta: f64, seed: u64, layer: str, split: str, rank: u32 (1-based), eigenvalue: f64 |
//! | `fits` | experiment, variant, beta, seed, layer: str, alpha_hat: f64, r2: f64, rank_min: u32, rank_max: u32 |
//! | `projections` | experiment, variant, alpha: f64, direction: u32, theta: f64, value: f64 (T2: a representation projected on random directions) |

use std::path::Path;

use polars::prelude::*;

use crate::atomic::write_atomically;
use crate::error::{ReportError, Result};

/// One eigenvalue of one layer's covariance spectrum.
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
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
