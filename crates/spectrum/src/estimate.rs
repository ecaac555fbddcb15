//! Three estimators of a spectrum's power-law exponent α (λ_n ∝ n^(−α)), and 95 % intervals for them.
//!
//! - [`FitMethod::LeastSquares`]: the protocol's α̂, the unweighted least-squares slope of log λ_n
//!   against log n over a rank range ([`crate::fit_power_law`]).
//! - [`FitMethod::Stringer`]: the same regression with weights 1/n, as in Stringer et al. (2019)'s
//!   scripts and reptrix's `get_alpha` (Agrawal et al. 2022), whose default is ranks 11–100.
//! - [`FitMethod::Mle`]: maximum likelihood in the manner of Clauset, Shalizi & Newman (2009). The
//!   eigenvalues are treated as draws from a density p(λ) ∝ λ^(−a); a spectrum with λ_n ∝ n^(−α) has
//!   a = 1 + 1/α, so α = 1/(a − 1). The density is truncated above at the largest eigenvalue of the
//!   rank range, so that the top ranks a fit leaves out (1–10 by default) cannot bias it, and its lower
//!   end λ_min (the last rank used) is chosen among the range's ranks by the smallest
//!   Kolmogorov–Smirnov distance between the fitted and the empirical distribution, which is
//!   reported. With a range starting at rank 1 the upper truncation is the largest eigenvalue.
//!
//! Intervals come from seeded bootstraps, so they repeat:
//!
//! - over ranks ([`interval_over_ranks`]): the (rank, λ) pairs of the fit, or the eigenvalues of the
//!   MLE's tail, drawn with replacement; the 2.5th and 97.5th percentiles. It measures how well one
//!   line describes the spectrum, not sampling noise.
//! - over examples ([`interval_over_examples`]): rows of the data drawn with replacement, the
//!   spectrum and the whole fit (range choice included) recomputed each time. A resample repeats
//!   rows, which spreads the sample eigenvalues and shifts α̂ (by +0.01 for 3,000 × 200 Gaussian data
//!   with α = 1, as much as the spread itself), so the percentiles are centred on the estimate: the
//!   interval is α̂ plus the 2.5th and 97.5th percentiles of α̂* − median(α̂*).

use ndarray::ArrayView2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::covariance::{CovarianceAccumulator, Sample};
use crate::eigen::eigvalsh;
use crate::error::{Result, SpectrumError};
use crate::powerlaw::{RankRange, fit_power_law};

/// How α is estimated (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitMethod {
    /// Unweighted least squares in log-log (the protocol's α̂): `lstsq`.
    LeastSquares,
    /// Least squares weighted by 1/n (Stringer et al., reptrix): `stringer`.
    Stringer,
    /// Truncated power-law maximum likelihood with a Kolmogorov–Smirnov cutoff: `mle`.
    Mle,
}

impl FitMethod {
    /// Every method, in the order of the module doc.
    pub const ALL: [FitMethod; 3] = [FitMethod::LeastSquares, FitMethod::Stringer, FitMethod::Mle];

    /// Its name on command lines and in Python: `lstsq`, `stringer`, `mle`.
    pub fn name(self) -> &'static str {
        match self {
            FitMethod::LeastSquares => "lstsq",
            FitMethod::Stringer => "stringer",
            FitMethod::Mle => "mle",
        }
    }

    /// The method called `name`.
    pub fn from_name(name: &str) -> Result<FitMethod> {
        FitMethod::ALL.into_iter().find(|m| m.name() == name).ok_or_else(|| {
            let known: Vec<&str> = FitMethod::ALL.iter().map(|m| m.name()).collect();
            SpectrumError::FitRange(format!("unknown fit method {name:?}; known: {}", known.join(", ")))
        })
    }
}

/// What a bootstrap drew with replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resampling {
    /// The ranks of the fit.
    Ranks,
    /// The rows (examples) of the data.
    Examples,
}

impl Resampling {
    /// `ranks` or `examples`.
    pub fn name(self) -> &'static str {
        match self {
            Resampling::Ranks => "ranks",
            Resampling::Examples => "examples",
        }
    }
}

/// A 95 % bootstrap interval (see the module doc for how each kind is formed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Its lower end.
    pub low: f64,
    /// Its upper end.
    pub high: f64,
    /// The median of the resampled estimates.
    pub median: f64,
    /// What was resampled.
    pub over: Resampling,
    /// Resamples whose fit could be made (those that could not are left out and counted here).
    pub resamples: usize,
}

/// One estimate of α.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlphaFit {
    /// The estimator.
    pub method: FitMethod,
    /// The exponent α̂ of λ_n ∝ n^(−α).
    pub alpha: f64,
    /// The ranks used (1-based, inclusive); for [`FitMethod::Mle`] the last is the cutoff chosen.
    pub range: RankRange,
    /// Intercept of the fitted line, ln λ at n = 1 (least-squares methods; NaN for MLE).
    pub intercept: f64,
    /// R² of log λ against the fitted line over the range (least-squares methods).
    pub r2: Option<f64>,
    /// Kolmogorov–Smirnov distance at the chosen cutoff ([`FitMethod::Mle`]).
    pub ks: Option<f64>,
    /// A 95 % interval, when one was asked for.
    pub interval: Option<Interval>,
}

/// Fewest eigenvalues a maximum-likelihood tail may have.
const MLE_MIN_POINTS: usize = 10;

/// Fits α to `eigenvalues` (decreasing, rank 1 first) over `range` with `method`.
pub fn fit_alpha(eigenvalues: &[f64], range: RankRange, method: FitMethod) -> Result<AlphaFit> {
    match method {
        FitMethod::LeastSquares => {
            let fit = fit_power_law(eigenvalues, range)?;
            Ok(AlphaFit { method, alpha: fit.alpha, range: fit.range, intercept: fit.intercept, r2: Some(fit.r2), ks: None, interval: None })
        }
        FitMethod::Stringer => {
            let used = positive_range(eigenvalues, range)?;
            let ranks: Vec<usize> = (used.min..=used.max).collect();
            let (alpha, intercept) = weighted_slope(eigenvalues, &ranks);
            let r2 = r_squared(eigenvalues, &ranks, alpha, intercept);
            Ok(AlphaFit { method, alpha, range: used, intercept, r2: Some(r2), ks: None, interval: None })
        }
        FitMethod::Mle => mle(eigenvalues, range),
    }
}

/// A 95 % interval for `fit` (made by [`fit_alpha`] on `eigenvalues`) by resampling its ranks
/// `resamples` times.
pub fn interval_over_ranks(eigenvalues: &[f64], fit: &AlphaFit, resamples: usize, seed: u64) -> Result<Interval> {
    check_resamples(resamples)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let ranks: Vec<usize> = (fit.range.min..=fit.range.max).collect();
    let mut estimates = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        let drawn: Vec<usize> = (0..ranks.len()).map(|_| ranks[rng.random_range(0..ranks.len())]).collect();
        let estimate = match fit.method {
            FitMethod::LeastSquares => unweighted_slope(eigenvalues, &drawn),
            FitMethod::Stringer => weighted_slope(eigenvalues, &drawn).0,
            FitMethod::Mle => {
                let upper = eigenvalues[fit.range.min - 1];
                let lower = eigenvalues[fit.range.max - 1];
                let values: Vec<f64> = drawn.iter().map(|&r| eigenvalues[r - 1]).collect();
                truncated_exponent(&values, lower, upper).map_or(f64::NAN, |a| 1.0 / (a - 1.0))
            }
        };
        if estimate.is_finite() {
            estimates.push(estimate);
        }
    }
    percentile_interval(estimates, Resampling::Ranks)
}

/// A 95 % interval for the fit of `method` over `range` to the covariance spectrum of `data`
/// (examples × features; centred per column when `center`), by drawing its rows with replacement
/// `resamples` times and recomputing the spectrum and the fit.
pub fn interval_over_examples<T: Sample>(
    data: ArrayView2<'_, T>,
    center: bool,
    range: RankRange,
    method: FitMethod,
    resamples: usize,
    seed: u64,
) -> Result<Interval> {
    check_resamples(resamples)?;
    let rows = data.nrows();
    if rows < 2 {
        return Err(SpectrumError::TooFewSamples { needed: 2, have: rows });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut estimates = Vec::with_capacity(resamples);
    let mut counts = vec![0u32; rows];
    for _ in 0..resamples {
        counts.iter_mut().for_each(|c| *c = 0);
        for _ in 0..rows {
            counts[rng.random_range(0..rows)] += 1;
        }
        let mut acc = CovarianceAccumulator::new(data.ncols());
        // Row i enters `counts[i]` times, gathered block by block (never the whole resample at once).
        let order: Vec<usize> = counts.iter().enumerate().flat_map(|(i, &c)| std::iter::repeat_n(i, c as usize)).collect();
        for chunk in order.chunks(2048) {
            acc.update(data.select(ndarray::Axis(0), chunk).view())?;
        }
        let matrix = if center { acc.sample_covariance()? } else { acc.second_moment(1)? };
        let eigenvalues = eigvalsh(matrix.view())?;
        if let Ok(fit) = fit_alpha(eigenvalues.as_slice().expect("contiguous"), range, method) {
            estimates.push(fit.alpha);
        }
    }
    let full = eigvalsh(full_matrix(data, center)?.view())?;
    let estimate = fit_alpha(full.as_slice().expect("contiguous"), range, method)?.alpha;
    let spread = percentile_interval(estimates, Resampling::Examples)?;
    Ok(Interval { low: estimate + spread.low - spread.median, high: estimate + spread.high - spread.median, ..spread })
}

/// The covariance (or second-moment) matrix of all rows, divisor n − 1.
fn full_matrix<T: Sample>(data: ArrayView2<'_, T>, center: bool) -> Result<ndarray::Array2<f64>> {
    let mut acc = CovarianceAccumulator::new(data.ncols());
    acc.update(data)?;
    if center { acc.sample_covariance() } else { acc.second_moment(1) }
}

fn check_resamples(resamples: usize) -> Result<()> {
    if resamples < 20 {
        return Err(SpectrumError::FitRange(format!("an interval needs at least 20 resamples, got {resamples}")));
    }
    Ok(())
}

/// The 2.5th and 97.5th percentiles (linear interpolation) of `estimates`.
fn percentile_interval(mut estimates: Vec<f64>, over: Resampling) -> Result<Interval> {
    if estimates.len() < 20 {
        return Err(SpectrumError::FitRange(format!("only {} resamples could be fitted; no interval", estimates.len())));
    }
    estimates.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let position = q * (estimates.len() - 1) as f64;
        let (below, frac) = (position.floor() as usize, position.fract());
        let above = (below + 1).min(estimates.len() - 1);
        estimates[below] + frac * (estimates[above] - estimates[below])
    };
    Ok(Interval { low: at(0.025), high: at(0.975), median: at(0.5), over, resamples: estimates.len() })
}

/// `range` cut before the first non-positive eigenvalue (which cannot be logged), checked to hold
/// at least three ranks.
fn positive_range(eigenvalues: &[f64], range: RankRange) -> Result<RankRange> {
    Ok(fit_power_law(eigenvalues, range)?.range)
}

/// −slope of ln λ against ln n over `ranks` (repeats allowed), unweighted.
fn unweighted_slope(eigenvalues: &[f64], ranks: &[usize]) -> f64 {
    let weights = vec![1.0; ranks.len()];
    weighted_line(eigenvalues, ranks, &weights).0
}

/// (α, intercept) of ln λ_n = intercept − α ln n over `ranks`, weighted by 1/n.
fn weighted_slope(eigenvalues: &[f64], ranks: &[usize]) -> (f64, f64) {
    let weights: Vec<f64> = ranks.iter().map(|&r| 1.0 / r as f64).collect();
    weighted_line(eigenvalues, ranks, &weights)
}

/// Weighted least squares of ln λ on ln n: (α = −slope, intercept).
fn weighted_line(eigenvalues: &[f64], ranks: &[usize], weights: &[f64]) -> (f64, f64) {
    let total: f64 = weights.iter().sum();
    let point = |r: usize| ((r as f64).ln(), eigenvalues[r - 1].ln());
    let (mut mx, mut my) = (0.0, 0.0);
    for (&r, &w) in ranks.iter().zip(weights) {
        let (x, y) = point(r);
        mx += w * x;
        my += w * y;
    }
    (mx, my) = (mx / total, my / total);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (&r, &w) in ranks.iter().zip(weights) {
        let (x, y) = point(r);
        sxy += w * (x - mx) * (y - my);
        sxx += w * (x - mx) * (x - mx);
    }
    let slope = sxy / sxx;
    (-slope, my - slope * mx)
}

/// R² of ln λ against intercept − α ln n over `ranks` (unweighted).
fn r_squared(eigenvalues: &[f64], ranks: &[usize], alpha: f64, intercept: f64) -> f64 {
    let ys: Vec<f64> = ranks.iter().map(|&r| eigenvalues[r - 1].ln()).collect();
    let mean = ys.iter().sum::<f64>() / ys.len() as f64;
    let total: f64 = ys.iter().map(|y| (y - mean).powi(2)).sum();
    let residual: f64 = ranks.iter().zip(&ys).map(|(&r, y)| (y - (intercept - alpha * (r as f64).ln())).powi(2)).sum();
    if total > 0.0 { 1.0 - residual / total } else { 1.0 }
}

/// The maximum-likelihood fit of the module doc.
fn mle(eigenvalues: &[f64], range: RankRange) -> Result<AlphaFit> {
    let used = positive_range(eigenvalues, range)?;
    if used.max - used.min + 1 < MLE_MIN_POINTS {
        return Err(SpectrumError::FitRange(format!(
            "the maximum-likelihood fit needs at least {MLE_MIN_POINTS} positive eigenvalues in ranks {}–{}, found {}",
            range.min,
            range.max,
            used.max - used.min + 1
        )));
    }
    let upper = eigenvalues[used.min - 1];
    let mut best: Option<(f64, f64, usize)> = None; // (ks, a, cutoff rank)
    for cutoff in (used.min + MLE_MIN_POINTS - 1)..=used.max {
        let lower = eigenvalues[cutoff - 1];
        if lower >= upper {
            continue;
        }
        let values = &eigenvalues[used.min - 1..cutoff];
        let Some(a) = truncated_exponent(values, lower, upper) else { continue };
        let ks = ks_distance(values, a, lower, upper);
        if best.is_none_or(|(d, _, _)| ks < d) {
            best = Some((ks, a, cutoff));
        }
    }
    let (ks, a, cutoff) = best
        .ok_or_else(|| SpectrumError::FitRange(format!("no maximum-likelihood fit in ranks {}–{}: the eigenvalues there are all equal", used.min, used.max)))?;
    Ok(AlphaFit {
        method: FitMethod::Mle,
        alpha: 1.0 / (a - 1.0),
        range: RankRange::new(used.min, cutoff),
        intercept: f64::NAN,
        r2: None,
        ks: Some(ks),
        interval: None,
    })
}

/// The maximum-likelihood exponent a of p(λ) ∝ λ^(−a) on [lower, upper] for `values` (all in that
/// interval): the root of the score, found by bisection on a ∈ (1, 1 + 10⁴]. `None` when the values
/// carry no information (all equal to a bound) or the root lies outside.
fn truncated_exponent(values: &[f64], lower: f64, upper: f64) -> Option<f64> {
    if !(lower > 0.0 && upper > lower) {
        return None;
    }
    let n = values.len() as f64;
    let mean_log = values.iter().map(|v| (v / lower).ln()).sum::<f64>() / n;
    let span = (upper / lower).ln();
    // With b = a − 1 > 0 and t = ln(λ / lower) ∈ [0, s]: the density of t is b e^(−b t) / (1 − e^(−b s)),
    // whose score is 1/b − s e^(−b s)/(1 − e^(−b s)) − mean(t). It decreases in b from s/2 − mean(t).
    if !(mean_log > 0.0 && mean_log < span / 2.0) {
        return None;
    }
    let score = |b: f64| 1.0 / b - span * (-b * span).exp() / -(-b * span).exp_m1() - mean_log;
    let (mut lo, mut hi) = (1e-9_f64, 1e4_f64);
    if score(hi) > 0.0 {
        return None;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if score(mid) > 0.0 { lo = mid } else { hi = mid }
    }
    Some(1.0 + 0.5 * (lo + hi))
}

/// Largest distance between the empirical distribution of `values` and the truncated power law's.
fn ks_distance(values: &[f64], a: f64, lower: f64, upper: f64) -> f64 {
    let b = a - 1.0;
    let cdf = |x: f64| (1.0 - (x / lower).powf(-b)) / (1.0 - (upper / lower).powf(-b));
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(n: usize, alpha: f64) -> Vec<f64> {
        (1..=n).map(|r| (r as f64).powf(-alpha)).collect()
    }

    #[test]
    fn least_squares_methods_recover_an_exact_power_law() {
        for alpha in [0.5, 1.0, 2.0] {
            for method in [FitMethod::LeastSquares, FitMethod::Stringer] {
                let fit = fit_alpha(&exact(1000, alpha), RankRange::new(11, 500), method).unwrap();
                assert!((fit.alpha - alpha).abs() < 1e-9, "{method:?} {alpha}: {}", fit.alpha);
                assert!(fit.r2.unwrap() > 1.0 - 1e-9);
            }
        }
    }

    #[test]
    fn the_truncated_likelihood_recovers_an_exact_power_law() {
        for alpha in [0.5, 1.0, 2.0] {
            let fit = fit_alpha(&exact(1000, alpha), RankRange::new(11, 500), FitMethod::Mle).unwrap();
            assert!((fit.alpha - alpha).abs() < 0.02 * alpha, "{alpha}: {fit:?}");
            assert!(fit.ks.unwrap() < 0.02, "{fit:?}");
        }
    }

    #[test]
    fn intervals_cover_and_repeat() {
        let spectrum: Vec<f64> = exact(600, 1.0).iter().enumerate().map(|(k, v)| v * (1.0 + 0.05 * ((k * 7919) % 13) as f64 / 13.0)).collect();
        for method in FitMethod::ALL {
            let fit = fit_alpha(&spectrum, RankRange::new(11, 300), method).unwrap();
            let interval = interval_over_ranks(&spectrum, &fit, 200, 3).unwrap();
            assert!(interval.low <= fit.alpha && fit.alpha <= interval.high, "{method:?}: {fit:?} {interval:?}");
            assert_eq!(interval, interval_over_ranks(&spectrum, &fit, 200, 3).unwrap());
        }
    }

    #[test]
    fn methods_have_names_that_read_back() {
        for m in FitMethod::ALL {
            assert_eq!(FitMethod::from_name(m.name()).unwrap(), m);
        }
        assert!(FitMethod::from_name("ols").unwrap_err().to_string().contains("lstsq, stringer, mle"));
    }
}
