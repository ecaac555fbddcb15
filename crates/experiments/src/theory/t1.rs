//! T1 — spectra of random deep networks (protocol §2, theory figures).
//!
//! A 20-layer tanh network of width 1,000 with weights N(0, σ_w²/fan_in), σ_w = 2, and biases N(0, σ_b²),
//! σ_b = 0.3, receives 10,000 two-dimensional inputs, drawn from a standard Gaussian or from a mixture of
//! two clusters at ±(1, 1) with s.d. 0.1 (*chosen*: the protocol says "at ±1"). Every layer's normalised
//! covariance spectrum is plotted on log-log axes, coloured by depth, beside the 1/n reference.

use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, StandardNormal};
use serde::{Deserialize, Serialize};
use specreg_report::RunKey;
use specreg_report::figure::{Panel, Series, draw_panels, ramp_color, variant_color};
use specreg_report::tables;
use specreg_spectrum::{RankRange, layer_spectrum, reference_curve};

use super::normalised_points;
use crate::error::Result;
use crate::out_dir::ExperimentDir;
use crate::settings::SectionOf;
use crate::tables::{fit_row, spectrum_rows};

const ID: &str = "T1";
const INPUTS: [&str; 2] = ["gaussian", "two-cluster"];

/// The `t1` section of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct T1Config {
    /// Number of two-dimensional inputs.
    pub inputs: usize,
    /// Units per layer.
    pub width: usize,
    /// Layers.
    pub depth: usize,
    /// Weight scale σ_w (weights N(0, σ_w²/fan_in)).
    pub sigma_w: f64,
    /// Bias scale σ_b.
    pub sigma_b: f64,
    /// Seed of inputs and weights.
    pub seed: u64,
}

impl T1Config {
    /// Checks every setting, naming the first one out of range.
    pub fn validate(&self, at: SectionOf<'_>) -> Result<()> {
        let bad = |setting: &str, problem: &str| Err(at.bad(setting, problem));
        if self.inputs < 2 {
            return bad("inputs", "must be ≥ 2");
        }
        if self.width < 4 {
            return bad("width", "must be ≥ 4");
        }
        if self.depth == 0 {
            return bad("depth", "must be ≥ 1");
        }
        if !(self.sigma_w.is_finite() && self.sigma_w > 0.0) {
            return bad("sigma_w", "must be finite and > 0");
        }
        if !(self.sigma_b.is_finite() && self.sigma_b >= 0.0) {
            return bad("sigma_b", "must be finite and ≥ 0");
        }
        Ok(())
    }
}

impl T1Config {
    /// Floating-point operations of a run: per input distribution and layer, the layer's product,
    /// its covariance (one triangle) and eigenvalues.
    pub fn flops(&self) -> f64 {
        let (n, w) = (self.inputs as f64, self.width as f64);
        let layer = 2.0 * n * w * w + n * w * w + 4.0 / 3.0 * w * w * w;
        INPUTS.len() as f64 * self.depth as f64 * layer
    }
}

/// Simulates the network on both input distributions and writes `spectra` and `fits`.
pub fn run(cfg: &T1Config, dir: &ExperimentDir) -> Result<()> {
    let (mut spectra, mut fits) = (Vec::new(), Vec::new());
    for (k, &input) in INPUTS.iter().enumerate() {
        let mut h = inputs(input, cfg.inputs, cfg.seed + k as u64);
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(1000));
        for layer in 1..=cfg.depth {
            h = random_tanh_layer(&h, cfg.width, cfg.sigma_w, cfg.sigma_b, &mut rng);
            let spectrum = layer_spectrum(h.view())?;
            let name = format!("layer{layer:02}");
            let key = RunKey::new(ID, input, 0.0, cfg.seed);
            spectra.extend(spectrum_rows(&key, &name, "random-inputs", spectrum.eigenvalues.as_slice().expect("contiguous")));
            // Two-dimensional inputs give spectra that can collapse to rounding noise past a few ranks:
            // a fit that cannot be made is left out of the table and shows as "-" in the summary.
            let eigenvalues = spectrum.eigenvalues.as_slice().unwrap_or_default();
            fits.extend(fit_row(&key, &name, eigenvalues, RankRange::protocol(eigenvalues.len())));
        }
    }
    tables::write(&spectra, &dir.table("spectra"))?;
    tables::write(&fits, &dir.table("fits"))?;
    Ok(())
}

/// `n` two-dimensional inputs of the named distribution.
fn inputs(kind: &str, n: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0, 0.1).expect("valid s.d.");
    Array2::from_shape_fn((n, 2), |(i, _)| match kind {
        "gaussian" => StandardNormal.sample(&mut rng),
        _ => (if i % 2 == 0 { 1.0 } else { -1.0 }) + normal.sample(&mut rng),
    })
}

/// tanh(h Wᵀ + b) with W ~ N(0, σ_w²/fan_in) and b ~ N(0, σ_b²).
fn random_tanh_layer(h: &Array2<f64>, width: usize, sigma_w: f64, sigma_b: f64, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let fan_in = h.ncols();
    let w_sd = sigma_w / (fan_in as f64).sqrt();
    let w = Array2::from_shape_fn((fan_in, width), |_| w_sd * Distribution::<f64>::sample(&StandardNormal, rng));
    let b = Array1::from_shape_fn(width, |_| sigma_b * Distribution::<f64>::sample(&StandardNormal, rng));
    (h.dot(&w) + &b.insert_axis(Axis(0))).mapv(f64::tanh)
}

/// `random_network_spectra.png`, from the tables.
pub fn figures(dir: &ExperimentDir) -> Result<()> {
    let spectra = tables::read::<tables::SpectrumRow>(&dir.table("spectra"))?;
    let depth = spectra.iter().map(|r| r.layer.as_str()).collect::<std::collections::BTreeSet<_>>();
    let panels: Vec<Panel> = INPUTS
        .iter()
        .map(|&input| {
            let mut panel = Panel::log_log(&format!("{input} inputs"), "rank n", "normalised variance λ_n / Σλ");
            for (k, layer) in depth.iter().enumerate() {
                let eig: Vec<f64> = spectra.iter().filter(|r| r.key.variant == input && r.layer == *layer).map(|r| r.eigenvalue).collect();
                let color = ramp_color(k as f64 / (depth.len().max(2) - 1) as f64);
                let points = normalised_points(&eig);
                panel =
                    panel.with(if k == 0 || k + 1 == depth.len() { Series::line(layer.to_string(), color, points) } else { Series::unlabelled(color, points) });
            }
            let n = spectra.iter().filter(|r| r.key.variant == input).map(|r| r.rank as usize).max().unwrap_or(1);
            let one_over_n: Vec<(f64, f64)> = reference_curve(n, 1.0, 1.0).into_iter().enumerate().map(|(k, v)| ((k + 1) as f64, v)).collect();
            panel.with(Series::line("1/n", variant_color(0), one_over_n).dashed())
        })
        .collect();
    draw_panels(
        &dir.figure("random_network_spectra"),
        "T1: spectra of a random deep tanh network, by depth (eigenvalues below 1e-12 of the largest not drawn)",
        &panels,
        2,
    )?;
    Ok(())
}

/// The SUMMARY.md section: α̂ per layer and input distribution.
pub fn summary(dir: &ExperimentDir) -> Result<String> {
    let fits = tables::read::<tables::FitRow>(&dir.table("fits"))?;
    let spectra = tables::read::<tables::SpectrumRow>(&dir.table("spectra"))?;
    let layers: std::collections::BTreeSet<&str> = spectra.iter().map(|r| r.layer.as_str()).collect();
    let mut out = String::from("| layer | ");
    out += &INPUTS.iter().map(|i| format!("α̂ ({i})")).collect::<Vec<_>>().join(" | ");
    out += " |\n|---|---|---|\n";
    for layer in layers {
        let cell = |input: &str| {
            fits.iter()
                .find(|f| f.key.variant == input && f.layer == layer)
                .map_or("-".to_string(), |f| format!("{:.2} (R² {:.2}, ranks {}–{})", f.alpha_hat, f.r2, f.rank_min, f.rank_max))
        };
        out += &format!("| {layer} | {} | {} |\n", cell(INPUTS[0]), cell(INPUTS[1]));
    }
    Ok(out)
}
