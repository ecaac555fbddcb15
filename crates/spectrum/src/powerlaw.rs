//! Power laws in spectra: fitted exponents, reference curves, and the targets of the spectral regulariser.

use ndarray::Array1;

use crate::error::{Result, SpectrumError};

/// An inclusive range of 1-based ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankRange {
    /// First rank (1-based).
    pub min: usize,
    /// Last rank (inclusive).
    pub max: usize,
}

impl RankRange {
    /// Ranks `min..=max`.
    pub fn new(min: usize, max: usize) -> Self {
        RankRange { min, max }
    }

    /// protocol §1.7: ranks 11–500, or up to N/2 when the spectrum is shorter than 1,000.
    pub fn protocol(n: usize) -> Self {
        RankRange { min: 11, max: 500.min(n / 2) }
    }
}

/// A least-squares fit of log λ_n = intercept − α log n over a rank range (natural logarithms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerLawFit {
    /// The fitted exponent α̂ (positive for a decaying spectrum).
    pub alpha: f64,
    /// ln λ at n = 1 on the fitted line.
    pub intercept: f64,
    /// Coefficient of determination of the log-log fit.
    pub r2: f64,
    /// The ranks actually used (the requested range, cut short before any non-positive eigenvalue).
    pub range: RankRange,
}

/// Fits a power law to `eigenvalues` (decreasing, rank 1 first) over `range`.
/// Eigenvalues must be positive to be logged: the fit stops before the first λ ≤ 0 in the range.
pub fn fit_power_law(eigenvalues: &[f64], range: RankRange) -> Result<PowerLawFit> {
    let n = eigenvalues.len();
    if n == 0 {
        return Err(SpectrumError::Empty("spectrum"));
    }
    if range.min < 1 || range.min >= range.max || range.max > n {
        return Err(SpectrumError::FitRange(format!(
            "ranks {}..={} do not fit a spectrum of {n} eigenvalues (need 1 ≤ min < max ≤ {n})",
            range.min, range.max
        )));
    }
    if let Some(k) = eigenvalues.iter().position(|v| v.is_nan()) {
        return Err(SpectrumError::NonFinite { what: "spectrum", row: k, col: 0, value: f64::NAN });
    }
    let max = (range.min..=range.max).take_while(|&r| eigenvalues[r - 1] > 0.0).last().unwrap_or(0);
    if max < range.min + 2 {
        return Err(SpectrumError::FitRange(format!("fewer than 3 positive eigenvalues from rank {} (rank {} is not positive)", range.min, max + 1)));
    }
    let (xs, ys): (Vec<f64>, Vec<f64>) = (range.min..=max).map(|r| ((r as f64).ln(), eigenvalues[r - 1].ln())).unzip();
    let (slope, intercept, r2) = least_squares(&xs, &ys);
    Ok(PowerLawFit { alpha: -slope, intercept, r2, range: RankRange { min: range.min, max } })
}

/// Fits over the default range of protocol §1.7.
pub fn fit_power_law_default(eigenvalues: &[f64]) -> Result<PowerLawFit> {
    fit_power_law(eigenvalues, RankRange::protocol(eigenvalues.len()))
}

fn least_squares(xs: &[f64], ys: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let syy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    let slope = sxy / sxx;
    let r2 = if syy > 0.0 { (sxy * sxy) / (sxx * syy) } else { 1.0 };
    (slope, my - slope * mx, r2)
}

/// λ_n / Σλ: the "normalised variance" plotted in the paper's spectra.
pub fn normalized(eigenvalues: &[f64]) -> Vec<f64> {
    let total: f64 = eigenvalues.iter().sum();
    eigenvalues.iter().map(|v| v / total).collect()
}

/// The reference curve c · n^(−α) for ranks 1..=n, anchored so that rank 1 equals `first`.
pub fn reference_curve(n: usize, alpha: f64, first: f64) -> Vec<f64> {
    (1..=n).map(|r| first * (r as f64).powf(-alpha)).collect()
}

/// (Σλ)² / Σλ²: the effective number of dimensions a spectrum spreads its variance over.
pub fn participation_ratio(eigenvalues: &[f64]) -> f64 {
    let s: f64 = eigenvalues.iter().sum();
    let s2: f64 = eigenvalues.iter().map(|v| v * v).sum();
    s * s / s2
}

/// Stringer et al.'s critical exponent α_c = 1 + 2/d: representations of d-dimensional inputs with
/// spectra decaying faster than n^(−α_c) are smooth (differentiable), slower ones are not.
pub fn smoothness_threshold(input_dim: usize) -> f64 {
    1.0 + 2.0 / input_dim as f64
}

/// The spectral regulariser's target (protocol §1.2, 0-based index n): γ_n = λ_τ (τ+1)^α / (n+1)^α,
/// anchored on the τ-th eigenvalue of `eigenvalues` (decreasing order).
pub fn target_spectrum(eigenvalues: &[f64], alpha: f64, tau: usize) -> Result<Array1<f64>> {
    let anchor =
        *eigenvalues.get(tau).ok_or_else(|| SpectrumError::FitRange(format!("τ = {tau} is beyond a spectrum of {} eigenvalues", eigenvalues.len())))?;
    let c = anchor * ((tau + 1) as f64).powf(alpha);
    Ok((0..eigenvalues.len()).map(|n| c / ((n + 1) as f64).powf(alpha)).collect())
}

/// The fraction of eigenvalues beyond the anchor (0-based n > τ) that lie within a factor `factor` of
/// their target γ_n (claim C2 of protocol §3 uses factor 2).
pub fn fraction_near_target(eigenvalues: &[f64], alpha: f64, tau: usize, factor: f64) -> Result<f64> {
    let target = target_spectrum(eigenvalues, alpha, tau)?;
    let tail = (tau + 1)..eigenvalues.len();
    if tail.is_empty() {
        return Err(SpectrumError::FitRange(format!("no eigenvalues beyond τ = {tau}")));
    }
    let count = tail.clone().filter(|&n| {
        let ratio = eigenvalues[n] / target[n];
        ratio >= 1.0 / factor && ratio <= factor
    });
    Ok(count.count() as f64 / tail.len() as f64)
}
