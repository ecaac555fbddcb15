//! One analysis: a matrix (or two repeats of it) in, its covariance spectrum, power-law fit and
//! participation ratio out, as Parquet tables, a log-log figure and a one-line summary.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use polars::prelude::*;
use specreg_report::figure::{Panel, Series, draw_panels, variant_color};
use specreg_report::tables::write_table;
use specreg_spectrum::{PowerLawFit, RankRange, cross_validated_spectrum, eigvalsh, fit_power_law, participation_ratio, smoothness_threshold};

use crate::error::{AnalyzeError, Result};
use crate::read::read_matrix;

/// What to analyse, and where the results go.
#[derive(Debug, Clone)]
pub struct Request {
    /// The data matrix: rows are stimuli or examples, columns neurons or units.
    pub input: PathBuf,
    /// A second repeat of the same stimuli: the spectrum is then cross-validated (Stringer et al.
    /// 2019), the covariance of the stimulus-driven part only.
    pub repeat: Option<PathBuf>,
    /// Ranks fitted (1-based, inclusive); `None`: PROTOCOL §1.7's 11–500, or to N/2.
    pub ranks: Option<RankRange>,
    /// The stimulus dimension d, for Stringer's smoothness threshold α_c = 1 + 2/d.
    pub input_dim: Option<usize>,
    /// Output directory: `spectrum.parquet`, `fit.parquet`, `spectrum.png`.
    pub out: PathBuf,
}

/// What an analysis found.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Rows of the matrix.
    pub rows: usize,
    /// Columns of the matrix.
    pub columns: usize,
    /// Whether the spectrum is cross-validated.
    pub cross_validated: bool,
    /// Eigenvalues, decreasing (cross-validated ones can be negative at the tail).
    pub eigenvalues: Vec<f64>,
    /// The power-law fit, or why none could be made.
    pub fit: std::result::Result<PowerLawFit, String>,
    /// (Σλ)² / Σλ² over the positive eigenvalues.
    pub participation_ratio: f64,
    /// α_c = 1 + 2/d, when d was given.
    pub smoothness_threshold: Option<f64>,
    /// The files written.
    pub files: Vec<PathBuf>,
}

impl std::fmt::Display for Analysis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.cross_validated { "cross-validated spectrum" } else { "spectrum" };
        match &self.fit {
            Ok(fit) => write!(f, "{kind} of {} × {}: α̂ = {:.3} over ranks {}–{} (R² {:.3}), participation ratio {:.1}", self.rows, self.columns, fit.alpha, fit.range.min, fit.range.max, fit.r2, self.participation_ratio)?,
            Err(e) => write!(f, "{kind} of {} × {}: no power-law fit ({e}), participation ratio {:.1}", self.rows, self.columns, self.participation_ratio)?,
        }
        if let Some(critical) = self.smoothness_threshold {
            let side = match &self.fit {
                Ok(fit) if fit.alpha > critical => "above: smooth",
                Ok(_) => "below: not smooth",
                Err(_) => "not compared",
            };
            write!(f, "; α_c = {critical:.3} ({side})")?;
        }
        Ok(())
    }
}

/// Runs `request` (see [`Request`]).
pub fn analyze(request: &Request) -> Result<Analysis> {
    let data = read_matrix(&request.input)?;
    let eigenvalues = match &request.repeat {
        Some(path) => {
            let repeat = read_matrix(path)?;
            if repeat.dim() != data.dim() {
                return Err(AnalyzeError::Repeats { first: data.dim(), second: repeat.dim() });
            }
            cross_validated_spectrum(data.view(), repeat.view())?.to_vec()
        }
        None => eigvalsh(specreg_spectrum::covariance(data.view())?.view())?.to_vec(),
    };
    let (rows, columns) = data.dim();
    let range = request.ranks.unwrap_or_else(|| RankRange::protocol(columns.min(rows)));
    let positive: Vec<f64> = eigenvalues.iter().copied().filter(|&v| v > 0.0).collect();
    let analysis = Analysis {
        rows,
        columns,
        cross_validated: request.repeat.is_some(),
        fit: fit_power_law(&eigenvalues, range).map_err(|e| e.to_string()),
        participation_ratio: participation_ratio(&positive),
        smoothness_threshold: request.input_dim.map(smoothness_threshold),
        eigenvalues,
        files: Vec::new(),
    };
    write(request, analysis)
}

fn write(request: &Request, mut analysis: Analysis) -> Result<Analysis> {
    let out = &request.out;
    let total: f64 = analysis.eigenvalues.iter().filter(|&&v| v > 0.0).sum();
    let ranks: Vec<u32> = (1..=analysis.eigenvalues.len() as u32).collect();
    let normalised: Vec<f64> = analysis.eigenvalues.iter().map(|v| v / total).collect();
    let mut spectrum = DataFrame::new(vec![
        Column::new("rank".into(), ranks),
        Column::new("eigenvalue".into(), analysis.eigenvalues.clone()),
        Column::new("normalised".into(), normalised.clone()),
    ])?;
    let spectrum_path = out.join("spectrum.parquet");
    write_table(&mut spectrum, &spectrum_path)?;
    let fit = analysis.fit.as_ref().ok();
    let mut fit_table = DataFrame::new(vec![
        Column::new("alpha_hat".into(), vec![fit.map_or(f64::NAN, |f| f.alpha)]),
        Column::new("r2".into(), vec![fit.map_or(f64::NAN, |f| f.r2)]),
        Column::new("rank_min".into(), vec![fit.map_or(0, |f| f.range.min as u32)]),
        Column::new("rank_max".into(), vec![fit.map_or(0, |f| f.range.max as u32)]),
        Column::new("participation_ratio".into(), vec![analysis.participation_ratio]),
        Column::new("rows".into(), vec![analysis.rows as u32]),
        Column::new("columns".into(), vec![analysis.columns as u32]),
        Column::new("cross_validated".into(), vec![analysis.cross_validated]),
    ])?;
    let fit_path = out.join("fit.parquet");
    write_table(&mut fit_table, &fit_path)?;

    let points: Vec<(f64, f64)> = normalised.iter().enumerate().map(|(k, &v)| ((k + 1) as f64, v)).collect();
    let first = points.first().map_or(1.0, |p| p.1);
    let n = points.len() as f64;
    let power = |alpha: f64, at_one: f64| vec![(1.0, at_one), (n, at_one * n.powf(-alpha))];
    let title = request.input.file_name().map_or_else(|| "data".into(), |n| n.to_string_lossy().into_owned());
    let mut panel = Panel::log_log(&title, "rank n", "normalised variance λ_n / Σλ").with(Series::line("spectrum", variant_color(0), points));
    if let Some(fit) = fit {
        let (lo, hi) = (fit.range.min as f64, fit.range.max as f64);
        let at = |r: f64| (fit.intercept - fit.alpha * r.ln()).exp() / total;
        panel = panel.with(Series::line(format!("fit: α = {:.2} (ranks {}–{})", fit.alpha, fit.range.min, fit.range.max), variant_color(1), vec![(lo, at(lo)), (hi, at(hi))]));
    }
    panel = panel.with(Series::line("1/n", variant_color(3), power(1.0, first)).dashed());
    if let Some(critical) = analysis.smoothness_threshold {
        panel = panel.with(Series::line(format!("α_c = 1 + 2/d = {critical:.2}"), variant_color(4), power(critical, first)).dashed());
    }
    let figure_path = out.join("spectrum.png");
    draw_panels(&figure_path, &format!("{}covariance spectrum", if analysis.cross_validated { "cross-validated " } else { "" }), &[panel], 1)?;
    analysis.files = vec![spectrum_path, fit_path, figure_path];
    Ok(analysis)
}

/// A matrix written to `.npy` (f64): for tests and for users exporting from Rust.
pub fn write_npy(path: &Path, matrix: &Array2<f64>) -> Result<()> {
    ndarray_npy::write_npy(path, matrix).map_err(|e| AnalyzeError::Format { path: path.into(), problem: e.to_string() })
}
