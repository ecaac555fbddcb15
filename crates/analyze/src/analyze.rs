//! One analysis: a matrix (or two repeats of it) in, its covariance spectrum, power-law fit and
//! participation ratio out, as Parquet tables, a log-log figure and a one-line summary.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use polars::prelude::*;
use specreg_report::figure::{Panel, Series, draw_panels, variant_color};
use specreg_report::tables::write_table;
use specreg_spectrum::{
    AlphaFit, FitMethod, RankRange, Resampling, cross_validated_spectrum, eigvalsh, fit_alpha, interval_over_examples, interval_over_ranks,
    participation_ratio, smoothness_threshold,
};

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
    /// Ranks fitted (1-based, inclusive); `None`: protocol §1.7's 11–500, or to N/2.
    pub ranks: Option<RankRange>,
    /// The stimulus dimension d, for Stringer's smoothness threshold α_c = 1 + 2/d.
    pub input_dim: Option<usize>,
    /// Output directory: `spectrum.parquet`, `fit.parquet`, `spectrum.png`.
    pub out: PathBuf,
    /// How α is estimated.
    pub method: FitMethod,
    /// A 95 % interval by resampling ranks or examples (`None`: no interval).
    pub interval: Option<Resampling>,
    /// Resamples of the interval.
    pub resamples: usize,
    /// Replace the results of an earlier analysis in `out` (else they are refused).
    pub overwrite: bool,
}

impl Request {
    /// The analysis of `input` into `out` with the protocol's least-squares fit and a 1,000-resample
    /// interval over ranks.
    pub fn new(input: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Request {
        Request {
            input: input.into(),
            repeat: None,
            ranks: None,
            input_dim: None,
            out: out.into(),
            method: FitMethod::LeastSquares,
            interval: Some(Resampling::Ranks),
            resamples: 1000,
            overwrite: false,
        }
    }
}

/// The files an analysis writes into its output directory.
pub const OUTPUTS: [&str; 3] = ["spectrum.parquet", "fit.parquet", "spectrum.png"];

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
    /// The power-law fit (with its interval when asked for), or why none could be made.
    pub fit: std::result::Result<AlphaFit, String>,
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
        write!(f, "{kind} of {} × {}: ", self.rows, self.columns)?;
        match &self.fit {
            Ok(fit) => {
                write!(f, "α̂ = {:.3}", fit.alpha)?;
                if let Some(i) = &fit.interval {
                    write!(f, " (95% interval {:.3}–{:.3}, {} resamples of {})", i.low, i.high, i.resamples, i.over.name())?;
                }
                write!(f, " over ranks {}–{} ({}", fit.range.min, fit.range.max, fit.method.name())?;
                if let Some(r2) = fit.r2 {
                    write!(f, ", R² {r2:.3}")?;
                }
                if let Some(ks) = fit.ks {
                    write!(f, ", KS distance {ks:.3}")?;
                }
                write!(f, ")")?;
            }
            Err(e) => write!(f, "no power-law fit ({e})")?,
        }
        write!(f, ", participation ratio {:.1}", self.participation_ratio)?;
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

/// Runs `request` (see [`Request`]). Refused before anything is written: an output that is not a
/// directory or already holds results (unless `overwrite`), ranks beyond the spectrum, data that do
/// not vary.
pub fn analyze(request: &Request) -> Result<Analysis> {
    let out = &request.out;
    let refuse = |problem: String| Err(AnalyzeError::Format { path: out.clone(), problem });
    if out.exists() && !out.is_dir() {
        return refuse("exists and is not a directory (--out names the directory the results go into)".into());
    }
    if !request.overwrite
        && let Some(earlier) = OUTPUTS.iter().find(|f| out.join(f).exists())
    {
        return refuse(format!("already holds the results of an analysis ({earlier}); choose another --out, or pass --force to replace them"));
    }
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
    if let Some(r) = request.ranks
        && r.max > eigenvalues.len()
    {
        return Err(AnalyzeError::Format {
            path: request.input.clone(),
            problem: format!("ranks {}–{} go beyond its {} eigenvalues", r.min, r.max, eigenvalues.len()),
        });
    }
    let positive: Vec<f64> = eigenvalues.iter().copied().filter(|&v| v > 0.0).collect();
    if positive.is_empty() {
        return Err(AnalyzeError::Format {
            path: request.input.clone(),
            problem: "the data do not vary: every eigenvalue of their covariance is 0 (a constant matrix has no spectrum)".into(),
        });
    }
    let range = request.ranks.unwrap_or_else(|| RankRange::protocol(columns.min(rows)));
    let fit = fit_alpha(&eigenvalues, range, request.method).and_then(|mut fit| {
        fit.interval = match request.interval {
            None => None,
            Some(Resampling::Ranks) => Some(interval_over_ranks(&eigenvalues, &fit, request.resamples, 0)?),
            Some(Resampling::Examples) => Some(interval_over_examples(data.view(), true, range, request.method, request.resamples, 0)?),
        };
        Ok(fit)
    });
    let analysis = Analysis {
        rows,
        columns,
        cross_validated: request.repeat.is_some(),
        fit: fit.map_err(|e| e.to_string()),
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
    let interval = fit.and_then(|f| f.interval);
    let mut fit_table = DataFrame::new(vec![
        Column::new("method".into(), vec![fit.map_or("", |f| f.method.name())]),
        Column::new("alpha_hat".into(), vec![fit.map_or(f64::NAN, |f| f.alpha)]),
        Column::new("alpha_low".into(), vec![interval.map_or(f64::NAN, |i| i.low)]),
        Column::new("alpha_high".into(), vec![interval.map_or(f64::NAN, |i| i.high)]),
        Column::new("interval_over".into(), vec![interval.map_or("", |i| i.over.name())]),
        Column::new("r2".into(), vec![fit.and_then(|f| f.r2).unwrap_or(f64::NAN)]),
        Column::new("ks".into(), vec![fit.and_then(|f| f.ks).unwrap_or(f64::NAN)]),
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
    if let Some(fit) = fit.filter(|f| f.intercept.is_finite()) {
        let (lo, hi) = (fit.range.min as f64, fit.range.max as f64);
        let at = |r: f64| (fit.intercept - fit.alpha * r.ln()).exp() / total;
        panel = panel.with(Series::line(
            format!("fit: α = {:.2} (ranks {}–{})", fit.alpha, fit.range.min, fit.range.max),
            variant_color(1),
            vec![(lo, at(lo)), (hi, at(hi))],
        ));
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
