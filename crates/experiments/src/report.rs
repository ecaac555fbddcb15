//! Figures and SUMMARY.md sections of the training experiments, drawn from their tables alone.

use std::collections::{BTreeMap, BTreeSet};

use specreg_report::figure::{Panel, Series, draw_panels, variant_color};
use specreg_report::tables::{self, FitRow, RobustnessRow, SanityRow, SpectrumRow, TrainingRow, TrajectoryRow};
use specreg_report::{VariantKey, variants_in};
use specreg_spectrum::{fraction_near_target, reference_curve};

use crate::catalog::{ExperimentSpec, Kind, TrainingSpec};
use crate::error::Result;
use crate::store::ExperimentDir;
use crate::theory::normalised_points;

/// The colour of the 1/n reference line (distinct from every variant's).
const REFERENCE_GREY: plotters::style::RGBColor = plotters::style::RGBColor(128, 128, 128);

/// The same colour for the same variant in every figure of every experiment: SpecReg variants by β
/// (1, 2, 5), the S4 windows, Jac, and the whitened variants each their own.
pub fn color_of(variant: &VariantKey) -> plotters::style::RGBColor {
    let beta_slot = [1.0, 2.0, 5.0].iter().position(|&b| b == variant.beta).unwrap_or(0);
    let index = match variant.variant.as_str() {
        "Vanilla" => 0,
        "SpecReg-head" => 4,
        "SpecReg-tail" | "Jac" => 5,
        "Vanilla-Wh" => 6,
        v if v.ends_with("-Wh") => 7,
        v if v.starts_with("SpecReg") => 1 + beta_slot,
        other => 4 + other.len() % 4,
    };
    variant_color(index)
}

/// "FGSM", "PGD-40".
fn attack_title(attack: &str) -> String {
    match attack.strip_prefix("pgd") {
        Some(steps) => format!("PGD-{steps}"),
        None => attack.to_uppercase(),
    }
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 { values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

/// "0.93", "0.93 ± 0.01", or "-" without values.
pub fn format_mean_sd(values: &[f64], digits: usize) -> String {
    match values.len() {
        0 => "-".into(),
        1 => format!("{:.digits$}", values[0]),
        _ => {
            let (m, s) = mean_sd(values);
            format!("{m:.digits$} ± {s:.digits$}")
        }
    }
}

/// The tables of one training experiment.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// `training.parquet`.
    pub training: Vec<TrainingRow>,
    /// `spectra.parquet`.
    pub spectra: Vec<SpectrumRow>,
    /// `fits.parquet`.
    pub fits: Vec<FitRow>,
    /// `robustness.parquet`.
    pub robustness: Vec<RobustnessRow>,
    /// `sanity.parquet`.
    pub sanity: Vec<SanityRow>,
    /// `trajectory.parquet` (empty for results written before trajectories).
    pub trajectory: Vec<TrajectoryRow>,
}

impl Tables {
    /// Reads the tables of `dir`.
    pub fn read(dir: &ExperimentDir) -> Result<Tables> {
        Ok(Tables {
            training: tables::read_training(&dir.table("training"))?,
            spectra: tables::read_spectra(&dir.table("spectra"))?,
            fits: tables::read_fits(&dir.table("fits"))?,
            robustness: tables::read_robustness(&dir.table("robustness"))?,
            sanity: tables::read_sanity(&dir.table("sanity"))?,
            trajectory: if dir.table("trajectory").is_file() { tables::read_trajectory(&dir.table("trajectory"))? } else { Vec::new() },
        })
    }

    /// Every trained variant, in order of first appearance.
    pub fn variants(&self) -> Vec<VariantKey> {
        variants_in(&self.training)
    }

    /// The experiments (with dataset) present, in order of first appearance.
    pub fn experiments(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.training {
            if !out.contains(&r.key.experiment) {
                out.push(r.key.experiment.clone());
            }
        }
        out
    }

    /// The hidden layers measured in `experiment` (from its test spectra), in order.
    pub fn layers(&self, experiment: &str) -> Vec<String> {
        let set: BTreeSet<&str> = self.spectra.iter().filter(|r| r.key.experiment == experiment && r.split == "test").map(|r| r.layer.as_str()).collect();
        set.into_iter().map(str::to_string).collect()
    }

    /// α̂ of `variant`'s `layer`, one per seed whose fit could be made.
    pub fn alphas(&self, variant: &VariantKey, layer: &str) -> Vec<f64> {
        self.fits.iter().filter(|f| variant.contains(&f.key) && f.layer == layer && f.alpha_hat.is_finite()).map(|f| f.alpha_hat).collect()
    }

    /// Fraction of ranks n > τ (τ = 10, α = 1) within a factor 2 of the target, per seed (test split).
    pub fn near_target(&self, variant: &VariantKey, layer: &str) -> Vec<f64> {
        let mut by_seed: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
        for r in self.spectra.iter().filter(|r| variant.contains(&r.key) && r.layer == layer && r.split == "test") {
            by_seed.entry(r.key.seed).or_default().push(r.eigenvalue);
        }
        by_seed.values().filter_map(|eig| fraction_near_target(eig, 1.0, 10, 2.0).ok()).collect()
    }

    /// Accuracies over seeds of `variant` under `attack`, by ε (as bits).
    pub fn accuracies(&self, variant: &VariantKey, attack: &str) -> BTreeMap<u64, Vec<f64>> {
        let mut out: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
        for r in self.robustness.iter().filter(|r| variant.contains(&r.key) && r.attack == attack) {
            out.entry(r.epsilon.to_bits()).or_default().push(r.accuracy);
        }
        out
    }

    /// The attacks in the robustness table, in order of first appearance.
    pub fn attacks(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.robustness {
            if !out.contains(&r.attack) {
                out.push(r.attack.clone());
            }
        }
        out
    }

    /// The first PGD attack's name (`pgd40`, `pgd10`, …), if PGD was run.
    pub fn pgd_attack(&self) -> Option<String> {
        self.attacks().into_iter().find(|a| a.starts_with("pgd"))
    }
}

/// `spectra.png` (one panel per experiment/dataset and layer, first seed, test split),
/// `robustness.png` (FGSM and PGD accuracy against ε, mean ± s.d. over seeds) and
/// `training.png` (test accuracy per epoch).
pub fn figures(dir: &ExperimentDir, spec: &ExperimentSpec) -> Result<()> {
    let id = spec.id;
    let t = Tables::read(dir)?;
    if t.training.is_empty() {
        return Ok(());
    }
    if let Kind::Training(TrainingSpec { extra: Some(extra), .. }) = &spec.kind {
        (extra.figures)(dir, &t)?;
    }
    let experiments = t.experiments();

    let mut panels = Vec::new();
    for experiment in &experiments {
        let layers: BTreeSet<&str> = t.spectra.iter().filter(|r| &r.key.experiment == experiment).map(|r| r.layer.as_str()).collect();
        for layer in layers {
            let mut panel = Panel::log_log(&format!("{experiment} {layer} (test)"), "rank n", "normalised variance λ_n / Σλ");
            let rows: Vec<&SpectrumRow> = t.spectra.iter().filter(|r| &r.key.experiment == experiment && r.layer == layer && r.split == "test").collect();
            let first_seed = rows.iter().map(|r| r.key.seed).min().unwrap_or(0);
            let mut n = 1;
            for variant in variants_in(rows.iter().copied()) {
                let eig: Vec<f64> = rows.iter().filter(|r| variant.contains(&r.key) && r.key.seed == first_seed).map(|r| r.eigenvalue).collect();
                n = n.max(eig.len());
                let alphas: Vec<f64> = t.fits.iter().filter(|f| variant.contains(&f.key) && f.layer == layer).map(|f| f.alpha_hat).collect();
                let name = format!("{}, fitted α = {}", variant.label(), format_mean_sd(&alphas, 2));
                panel = panel.with(Series::line(name, color_of(&variant), normalised_points(&eig)));
            }
            let one_over_n = reference_curve(n, 1.0, 1.0).into_iter().enumerate().map(|(k, v)| ((k + 1) as f64, v)).collect();
            panels.push(panel.with(Series::line("1/n", REFERENCE_GREY, one_over_n).dashed()));
        }
    }
    let columns = if panels.len() >= 3 { 3 } else { panels.len() };
    draw_panels(&dir.figure("spectra"), &format!("{id}: hidden-layer spectra (eigenvalues below 1e-12 of the largest not drawn)"), &panels, columns)?;

    let mut panels = Vec::new();
    for experiment in &experiments {
        let rows_of: Vec<&RobustnessRow> = t.robustness.iter().filter(|r| &r.key.experiment == experiment).collect();
        let mut attacks: Vec<&str> = Vec::new();
        for r in &rows_of {
            if !attacks.contains(&r.attack.as_str()) {
                attacks.push(&r.attack);
            }
        }
        for attack in attacks {
            let mut panel = Panel::linear(&format!("{experiment}: {}", attack_title(attack)), "ε (L∞, pixels in [0, 1])", "accuracy");
            let rows: Vec<&RobustnessRow> = rows_of.iter().copied().filter(|r| r.attack == attack).collect();
            for variant in variants_in(rows.iter().copied()) {
                let mut by_eps: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
                for r in rows.iter().filter(|r| variant.contains(&r.key)) {
                    by_eps.entry(r.epsilon.to_bits()).or_default().push(r.accuracy);
                }
                let mut points: Vec<(f64, f64, f64)> = by_eps
                    .iter()
                    .map(|(e, acc)| {
                        let (m, s) = mean_sd(acc);
                        (f64::from_bits(*e), m, s)
                    })
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                let color = color_of(&variant);
                if by_eps.values().any(|v| v.len() > 1) {
                    let lower = points.iter().map(|p| (p.0, p.1 - p.2)).collect();
                    let upper = points.iter().map(|p| (p.0, p.1 + p.2)).collect();
                    panel = panel.with(Series::band(color, lower, upper));
                }
                panel = panel.with(Series::line(variant.label(), color, points.iter().map(|p| (p.0, p.1)).collect()));
            }
            panels.push(panel);
        }
    }
    draw_panels(&dir.figure("robustness"), &format!("{id}: accuracy under attack (mean ± s.d. over seeds)"), &panels, 2)?;

    let mut panels = Vec::new();
    for experiment in &experiments {
        let mut panel = Panel::linear(&format!("{experiment}: test accuracy"), "epoch", "test accuracy");
        let rows: Vec<&TrainingRow> = t.training.iter().filter(|r| &r.key.experiment == experiment).collect();
        let first_seed = rows.iter().map(|r| r.key.seed).min().unwrap_or(0);
        for variant in variants_in(rows.iter().copied()) {
            let points = rows.iter().filter(|r| variant.contains(&r.key) && r.key.seed == first_seed).map(|r| (f64::from(r.epoch), r.test_acc)).collect();
            panel = panel.with(Series::line(variant.label(), color_of(&variant), points));
        }
        panels.push(panel);
    }
    draw_panels(&dir.figure("training"), &format!("{id}: training curves (first seed)"), &panels, 2)?;

    if !t.trajectory.is_empty() {
        let mut panels = Vec::new();
        for experiment in &experiments {
            let rows: Vec<&TrajectoryRow> = t.trajectory.iter().filter(|r| &r.key.experiment == experiment).collect();
            let layers: BTreeSet<&str> = rows.iter().map(|r| r.layer.as_str()).collect();
            let first_seed = rows.iter().map(|r| r.key.seed).min().unwrap_or(0);
            for layer in layers {
                // Plain α in the figure: the DejaVu raster drops the combining hat of "α̂".
                let mut panel = Panel::linear(&format!("{experiment} {layer}: fitted α through training (train set)"), "epochs completed", "fitted α");
                let of_layer: Vec<&TrajectoryRow> = rows.iter().copied().filter(|r| r.layer == layer && r.key.seed == first_seed).collect();
                let mut last_epoch = 0.0f64;
                for variant in variants_in(of_layer.iter().copied()) {
                    let points: Vec<(f64, f64)> = of_layer.iter().filter(|r| variant.contains(&r.key)).map(|r| (f64::from(r.epoch), r.alpha_hat)).collect();
                    last_epoch = points.iter().map(|p| p.0).fold(last_epoch, f64::max);
                    let regularised = of_layer.iter().any(|r| variant.contains(&r.key) && r.regularised);
                    let name = format!("{}{}", variant.label(), if regularised { " (regularised)" } else { "" });
                    panel = panel.with(Series::line(name, color_of(&variant), points));
                }
                panels.push(panel.with(Series::line("α = 1", REFERENCE_GREY, vec![(0.0, 1.0), (last_epoch.max(1.0), 1.0)]).dashed()));
            }
        }
        let columns = panels.len().clamp(1, 3);
        draw_panels(&dir.figure("trajectory"), &format!("{id}: the training-set spectrum's fitted exponent through training (first seed)"), &panels, columns)?;
    }
    Ok(())
}

/// How close to α = 1 counts as reaching it, in the trajectory section of SUMMARY.md.
pub const NEAR_ONE: f64 = 0.2;

/// The trajectory section: per regularised run and layer, α̂ at the start and the end, and the epoch at
/// which it first came within [`NEAR_ONE`] of α = 1, if it did.
fn trajectory_summary(t: &Tables) -> String {
    let regularised: Vec<&TrajectoryRow> = t.trajectory.iter().filter(|r| r.regularised).collect();
    if regularised.is_empty() {
        return String::new();
    }
    let mut out = format!("\nSpectrum through training (training set, PROTOCOL §1.7 fit per epoch; `trajectory.parquet`, `figures/trajectory.png`):\n\n| experiment | run | layer | α̂ at epoch 0 | α̂ at the end | first epoch within {NEAR_ONE} of α = 1 |\n|---|---|---|---|---|---|\n");
    let mut runs: Vec<(specreg_report::RunKey, String)> = Vec::new();
    for r in &regularised {
        if !runs.iter().any(|(k, l)| *k == r.key && *l == r.layer) {
            runs.push((r.key.clone(), r.layer.clone()));
        }
    }
    for (key, layer) in runs {
        let points: Vec<&&TrajectoryRow> = regularised.iter().filter(|r| r.key == key && r.layer == layer).collect();
        let (first, last) = (points.first().expect("a point"), points.last().expect("a point"));
        let reached = points.iter().find(|r| (r.alpha_hat - 1.0).abs() <= NEAR_ONE).map_or_else(
            || {
                let closest = points.iter().filter(|r| r.alpha_hat.is_finite()).min_by(|a, b| (a.alpha_hat - 1.0).abs().total_cmp(&(b.alpha_hat - 1.0).abs()));
                closest.map_or("not reached".into(), |c| format!("not reached (closest: {:.2} at epoch {})", c.alpha_hat, c.epoch))
            },
            |r| format!("{} (α̂ {:.2})", r.epoch, r.alpha_hat),
        );
        out += &format!("| {} | {} seed {} | {layer} | {:.2} | {:.2} | {reached} |\n", key.experiment, key.label(), key.seed, first.alpha_hat, last.alpha_hat);
    }
    out
}

/// The experiment's SUMMARY.md section: accuracy, spectra and robustness per variant, sanity checks.
pub fn summary(dir: &ExperimentDir, spec: &ExperimentSpec) -> Result<String> {
    let t = Tables::read(dir)?;
    if t.training.is_empty() {
        return Ok("No runs.\n".into());
    }
    let mut out = String::new();
    let variants = t.variants();
    let layers: BTreeSet<&str> = t.fits.iter().map(|f| f.layer.as_str()).collect();
    out += "| experiment | variant | seeds | epochs | clean test acc. |";
    for layer in &layers {
        out += &format!(" α̂ {layer} | near 1/n {layer} |");
    }
    out += "\n|---|---|---|---|---|";
    out += &"---|---|".repeat(layers.len());
    out += "\n";
    for variant in &variants {
        let finals: BTreeMap<u64, &TrainingRow> = t.training.iter().filter(|r| variant.contains(&r.key)).map(|r| (r.key.seed, r)).collect();
        let acc: Vec<f64> = finals.values().map(|r| r.test_acc).collect();
        let epochs = finals.values().map(|r| r.epoch).max().unwrap_or(0);
        out += &format!("| {} | {} | {} | {epochs} | {} |", variant.experiment, variant.label(), finals.len(), format_mean_sd(&acc, 4));
        for layer in &layers {
            out += &format!(" {} | {} |", format_mean_sd(&t.alphas(variant, layer), 2), format_mean_sd(&t.near_target(variant, layer), 2));
        }
        out += "\n";
    }
    if let Some(f) = t.fits.first() {
        out += &format!(
            "\nα̂: least-squares slope of log λ_n against log n over ranks {}–{} of the test-split spectrum (R² in `fits`). \"near 1/n\": fraction of ranks n > 10 whose eigenvalue is within a factor 2 of the α = 1 target anchored at rank 10.\n",
            f.rank_min, f.rank_max
        );
    }

    out += "\nAccuracy under attack (FGSM / PGD, mean over seeds):\n\n";
    let eps: BTreeSet<u64> = t.robustness.iter().map(|r| r.epsilon.to_bits()).collect();
    let mut eps: Vec<f64> = eps.into_iter().map(f64::from_bits).collect();
    eps.sort_by(f64::total_cmp);
    let pgd = t.pgd_attack().unwrap_or_else(|| "pgd40".into());
    out += "| experiment | variant |";
    for e in &eps {
        out += &format!(" ε={e:.3} |");
    }
    out += "\n|---|---|";
    out += &"---|".repeat(eps.len());
    out += "\n";
    for variant in &variants {
        let fgsm = t.accuracies(variant, "fgsm");
        let pgd = t.accuracies(variant, &pgd);
        out += &format!("| {} | {} |", variant.experiment, variant.label());
        for e in &eps {
            let cell = |m: &BTreeMap<u64, Vec<f64>>| m.get(&e.to_bits()).map_or("-".into(), |v| format!("{:.3}", mean_sd(v).0));
            out += &format!(" {} / {} |", cell(&fgsm), cell(&pgd));
        }
        out += "\n";
    }
    out += &trajectory_summary(&t);
    if let Kind::Training(TrainingSpec { extra: Some(extra), .. }) = &spec.kind {
        out += &(extra.summary)(&t);
    }
    let failed: Vec<&SanityRow> = t.sanity.iter().filter(|c| !c.passed).collect();
    out += &format!("\nAttack sanity checks (PROTOCOL §1.6): {} of {} passed.", t.sanity.len() - failed.len(), t.sanity.len());
    for c in failed {
        out += &format!("\n- FAILED {} {} seed {}: {} — {}", c.key.experiment, c.key.label(), c.key.seed, c.check, c.detail);
    }
    out += "\n";
    Ok(out)
}
