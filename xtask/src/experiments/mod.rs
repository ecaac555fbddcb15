//! One module per experiment of PROTOCOL.md §2, each reading like the protocol it implements:
//! `run` writes the experiment's tables, `figures` draws its PNGs from those tables alone, and
//! `summary` turns the tables into the experiment's section of SUMMARY.md.

use std::path::{Path, PathBuf};

pub mod claims;
pub mod e1;
pub mod e2;
pub mod e3;
pub mod supplementary;
pub mod t1;
pub mod t2;
pub mod training;
pub mod training_report;

/// The output directory of one experiment: `OUT/<id>/{tables,figures}`.
pub struct ExperimentDir {
    pub root: PathBuf,
}

impl ExperimentDir {
    pub fn new(out: &Path, id: &str) -> Self {
        ExperimentDir { root: out.join(id) }
    }
    pub fn table(&self, name: &str) -> PathBuf {
        self.root.join("tables").join(format!("{name}.parquet"))
    }
    pub fn figure(&self, name: &str) -> PathBuf {
        self.root.join("figures").join(format!("{name}.png"))
    }
    pub fn manifest(&self) -> PathBuf {
        self.root.join("manifest.json")
    }
}

/// The `fits` row of a power-law fit of an untrained (β = 0) representation.
pub fn fit_row(experiment: &str, variant: &str, seed: u64, layer: &str, fit: &specreg_spectrum::PowerLawFit) -> specreg_report::tables::FitRow {
    specreg_report::tables::FitRow {
        experiment: experiment.into(),
        variant: variant.into(),
        beta: 0.0,
        seed,
        layer: layer.into(),
        alpha_hat: fit.alpha,
        r2: fit.r2,
        rank_min: fit.range.min as u32,
        rank_max: fit.range.max as u32,
    }
}

/// Normalised spectrum points (rank, λ/Σλ) of one layer, for log-log plots.
pub fn normalised_points(eigenvalues: &[f64]) -> Vec<(f64, f64)> {
    specreg_spectrum::normalized(eigenvalues).into_iter().enumerate().map(|(k, v)| ((k + 1) as f64, v)).collect()
}
