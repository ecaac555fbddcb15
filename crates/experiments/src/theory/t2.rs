//! T2 — smoothness and the spectrum (Stringer et al. 2019; protocol §2, theory figures).
//!
//! A one-dimensional stimulus θ ∈ [0, 2π) is embedded by N random Fourier features: frequency k
//! contributes √(2λ_k)·(cos kθ, sin kθ) with λ_k = k^(−α), and the features are mixed by a random
//! rotation, so the representation's covariance spectrum decays as n^(−α). Projections onto random
//! directions are random Fourier series whose roughness depends on α: by Stringer's argument the
//! representation is smooth (differentiable) only above α_c = 1 + 2/d = 3 for d = 1. The summary reports
//! the fitted α̂ of each embedding and the total variation of its projections (in units of their s.d.),
//! which grows without bound with the grid resolution for rough curves.

use std::f64::consts::TAU;

use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use specreg_report::RunKey;
use specreg_report::figure::{Panel, Series, draw_panels, variant_color};
use specreg_report::tables::{self, ProjectionRow};
use specreg_spectrum::{RankRange, layer_spectrum, simulate::random_rotation, smoothness_threshold};

use crate::error::Result;
use crate::out_dir::ExperimentDir;
use crate::settings::SectionOf;
use crate::tables::{fit_row, spectrum_rows};

const ID: &str = "T2";

/// The `t2` section of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct T2Config {
    /// Points of the stimulus grid over [0, 2π).
    pub grid_points: usize,
    /// Features (twice the number of frequencies).
    pub features: usize,
    /// Spectral exponents α of the embeddings.
    pub alphas: Vec<f64>,
    /// Random directions projected on.
    pub directions: usize,
    /// Seed of the rotation and directions.
    pub seed: u64,
}

impl T2Config {
    /// Checks every setting, naming the first one out of range.
    pub fn validate(&self, at: SectionOf<'_>) -> Result<()> {
        let bad = |setting: &str, problem: &str| Err(at.bad(setting, problem));
        if self.grid_points < 4 {
            return bad("grid_points", "must be ≥ 4");
        }
        if self.features < 4 || !self.features.is_multiple_of(2) {
            return bad("features", "must be an even number ≥ 4");
        }
        if self.alphas.is_empty() || self.alphas.iter().any(|a| !(a.is_finite() && *a > 0.0)) {
            return bad("alphas", "must be a non-empty list of finite values > 0");
        }
        if self.directions == 0 {
            return bad("directions", "must be ≥ 1");
        }
        Ok(())
    }
}

impl T2Config {
    /// Floating-point operations of a run: per α, the rotation of the embedding, its covariance and
    /// eigenvalues.
    pub fn flops(&self) -> f64 {
        let (n, f) = (self.grid_points as f64, self.features as f64);
        self.alphas.len() as f64 * (2.0 * n * f * f + n * f * f + 4.0 / 3.0 * f * f * f)
    }
}

/// One curve (θ, value) per random direction.
type Curves = Vec<Vec<(f64, f64)>>;

fn variant(alpha: f64) -> String {
    format!("alpha={alpha}")
}

/// Embeds the stimulus at each α and writes `projections`, `spectra` and `fits`.
pub fn run(cfg: &T2Config, dir: &ExperimentDir) -> Result<()> {
    let theta: Vec<f64> = (0..cfg.grid_points).map(|i| TAU * i as f64 / cfg.grid_points as f64).collect();
    let rotation = random_rotation(cfg.features, cfg.seed);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(1));
    let directions = Array2::from_shape_fn((cfg.features, cfg.directions), |_| Distribution::<f64>::sample(&StandardNormal, &mut rng));
    let directions = &directions / &directions.mapv(|v| v * v).sum_axis(ndarray::Axis(0)).mapv(f64::sqrt);

    let (mut projections, mut spectra, mut fits) = (Vec::new(), Vec::new(), Vec::new());
    for &alpha in &cfg.alphas {
        let features = fourier_features(&theta, cfg.features / 2, alpha);
        let representation = features.dot(&rotation);
        let projected = representation.dot(&directions);
        for (d, column) in projected.columns().into_iter().enumerate() {
            projections.extend(theta.iter().zip(column).map(|(&t, &value)| ProjectionRow {
                experiment: ID.into(),
                variant: variant(alpha),
                alpha,
                direction: d as u32,
                theta: t,
                value,
            }));
        }
        let spectrum = layer_spectrum(representation.view())?;
        let key = RunKey::new(ID, variant(alpha), 0.0, cfg.seed);
        spectra.extend(spectrum_rows(&key, "representation", "grid", spectrum.eigenvalues.as_slice().expect("contiguous")));
        spectrum.fit?; // a representation without a fit is an error here, not a gap
        let eigenvalues = spectrum.eigenvalues.as_slice().unwrap_or_default();
        fits.extend(fit_row(&key, "representation", eigenvalues, RankRange::protocol(eigenvalues.len())));
    }
    tables::write(&projections, &dir.table("projections"))?;
    tables::write(&spectra, &dir.table("spectra"))?;
    tables::write(&fits, &dir.table("fits"))?;
    Ok(())
}

/// Columns 2(k−1) and 2k−1 hold √(2λ_k)·cos kθ and √(2λ_k)·sin kθ, λ_k = k^(−α), k = 1..=frequencies:
/// over a uniform grid their covariance has eigenvalues λ_k, each twice.
fn fourier_features(theta: &[f64], frequencies: usize, alpha: f64) -> Array2<f64> {
    let amplitude: Array1<f64> = (1..=frequencies).map(|k| (2.0 * (k as f64).powf(-alpha)).sqrt()).collect();
    Array2::from_shape_fn((theta.len(), 2 * frequencies), |(i, j)| {
        let k = j / 2 + 1;
        let phase = k as f64 * theta[i];
        amplitude[k - 1] * if j % 2 == 0 { phase.cos() } else { phase.sin() }
    })
}

/// Σ|p(θ_{i+1}) − p(θ_i)| around the circle, divided by the s.d. of p.
fn total_variation(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let tv: f64 = values.iter().zip(values.iter().cycle().skip(1)).map(|(a, b)| (b - a).abs()).sum();
    tv / sd
}

fn alphas_and_curves(rows: &[ProjectionRow]) -> Vec<(f64, Curves)> {
    let mut alphas: Vec<f64> = rows.iter().map(|r| r.alpha).collect();
    alphas.sort_by(f64::total_cmp);
    alphas.dedup();
    alphas
        .into_iter()
        .map(|alpha| {
            let directions = rows.iter().filter(|r| r.alpha == alpha).map(|r| r.direction).max().map_or(0, |d| d + 1);
            let curves = (0..directions).map(|d| rows.iter().filter(|r| r.alpha == alpha && r.direction == d).map(|r| (r.theta, r.value)).collect()).collect();
            (alpha, curves)
        })
        .collect()
}

/// `smoothness_projections.png`, from the tables.
pub fn figures(dir: &ExperimentDir) -> Result<()> {
    let rows = tables::read::<tables::ProjectionRow>(&dir.table("projections"))?;
    let critical = smoothness_threshold(1);
    let panels: Vec<Panel> = alphas_and_curves(&rows)
        .into_iter()
        .map(|(alpha, curves)| {
            let side = if alpha > critical { "smooth" } else { "rough" };
            let mut panel = Panel::linear(&format!("α = {alpha} ({side}; α_c = {critical})"), "stimulus θ", "projection");
            for (d, points) in curves.into_iter().enumerate() {
                panel = panel.with(Series::line(format!("direction {}", d + 1), variant_color(d + 1), points));
            }
            panel
        })
        .collect();
    draw_panels(&dir.figure("smoothness_projections"), "T2: random projections of a 1-D stimulus embedded with an n^(−α) spectrum", &panels, 3)?;
    Ok(())
}

/// The SUMMARY.md section: α̂ and roughness per α.
pub fn summary(dir: &ExperimentDir) -> Result<String> {
    let rows = tables::read::<tables::ProjectionRow>(&dir.table("projections"))?;
    let fits = tables::read::<tables::FitRow>(&dir.table("fits"))?;
    let critical = smoothness_threshold(1);
    let mut out = format!(
        "Smoothness threshold α_c = 1 + 2/d = {critical} for d = 1.\n\n| α | fitted α̂ of the embedding | total variation / s.d. (mean over directions) | expected |\n|---|---|---|---|\n"
    );
    for (alpha, curves) in alphas_and_curves(&rows) {
        let tv = curves.iter().map(|c| total_variation(&c.iter().map(|p| p.1).collect::<Vec<_>>())).sum::<f64>() / curves.len() as f64;
        let fit = fits.iter().find(|f| f.alpha_hat.is_finite() && f.key.variant == variant(alpha));
        let fitted = fit.map_or("-".into(), |f| format!("{:.2} (R² {:.3})", f.alpha_hat, f.r2));
        let expected = if alpha > critical { "smooth" } else { "rough" };
        out += &format!("| {alpha} | {fitted} | {tv:.1} | {expected} |\n");
    }
    Ok(out)
}
