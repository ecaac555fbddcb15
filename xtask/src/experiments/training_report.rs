//! Figures and SUMMARY.md sections of the training experiments, drawn from their tables alone.

use std::collections::BTreeMap;

use anyhow::Result;
use specreg_report::figure::{Panel, Series, draw_panels, variant_color};
use specreg_report::tables::{self, FitRow, RobustnessRow, SpectrumRow, TrainingRow};
use specreg_spectrum::{fraction_near_target, reference_curve};

use super::{ExperimentDir, normalised_points};

/// The colour of the 1/n reference line (distinct from every variant's).
const REFERENCE_GREY: plotters::style::RGBColor = plotters::style::RGBColor(128, 128, 128);

/// "SpecReg β=5", "Vanilla", "Jac".
pub fn label(variant: &str, beta: f64) -> String {
    if beta > 0.0 { format!("{variant} β={beta}") } else { variant.to_string() }
}

/// The same colour for the same variant in every figure of every experiment.
pub fn color_of(variant: &str, beta: f64) -> plotters::style::RGBColor {
    let beta_slot = [1.0, 2.0, 5.0].iter().position(|&b| b == beta).unwrap_or(0);
    let index = match variant {
        "Vanilla" => 0,
        "Jac" => 5,
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

/// (experiment, variant, β) in order of first appearance.
type Key = (String, String, u64);

fn key(experiment: &str, variant: &str, beta: f64) -> Key {
    (experiment.to_string(), variant.to_string(), beta.to_bits())
}

fn ordered_keys<'a>(items: impl Iterator<Item = (&'a str, &'a str, f64)>) -> Vec<Key> {
    let mut keys: Vec<Key> = Vec::new();
    for (e, v, b) in items {
        let k = key(e, v, b);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

pub struct Tables {
    pub training: Vec<TrainingRow>,
    pub spectra: Vec<SpectrumRow>,
    pub fits: Vec<FitRow>,
    pub robustness: Vec<RobustnessRow>,
    pub sanity: Vec<tables::SanityRow>,
}

impl Tables {
    /// (experiment, variant, β) of every training run, in order of first appearance.
    pub fn variants(&self) -> Vec<(String, String, f64)> {
        let keys = ordered_keys(self.training.iter().map(|r| (r.experiment.as_str(), r.variant.as_str(), r.beta)));
        keys.into_iter().map(|(e, v, b)| (e, v, f64::from_bits(b))).collect()
    }
}

pub fn read(dir: &ExperimentDir) -> Result<Tables> {
    Ok(Tables {
        training: tables::read_training(&dir.table("training"))?,
        spectra: tables::read_spectra(&dir.table("spectra"))?,
        fits: tables::read_fits(&dir.table("fits"))?,
        robustness: tables::read_robustness(&dir.table("robustness"))?,
        sanity: tables::read_sanity(&dir.table("sanity"))?,
    })
}

/// `spectra.png` (one panel per experiment/dataset and layer, first seed, test split),
/// `robustness.png` (FGSM and PGD accuracy against ε, mean ± s.d. over seeds) and
/// `training.png` (test accuracy per epoch).
pub fn figures(dir: &ExperimentDir, id: &str) -> Result<()> {
    let t = read(dir)?;
    if t.training.is_empty() {
        return Ok(());
    }
    let experiments: Vec<String> = ordered_keys(t.training.iter().map(|r| (r.experiment.as_str(), "", 0.0))).into_iter().map(|k| k.0).collect();

    let mut panels = Vec::new();
    for experiment in &experiments {
        let layers: std::collections::BTreeSet<&str> = t.spectra.iter().filter(|r| &r.experiment == experiment).map(|r| r.layer.as_str()).collect();
        for layer in layers {
            let mut panel = Panel::log_log(&format!("{experiment} {layer} (test)"), "rank n", "normalised variance λ_n / Σλ");
            let rows: Vec<&SpectrumRow> = t.spectra.iter().filter(|r| &r.experiment == experiment && r.layer == layer && r.split == "test").collect();
            let first_seed = rows.iter().map(|r| r.seed).min().unwrap_or(0);
            let mut n = 1;
            for (_, variant, beta) in ordered_keys(rows.iter().map(|r| (r.experiment.as_str(), r.variant.as_str(), r.beta))) {
                let beta = f64::from_bits(beta);
                let eig: Vec<f64> = rows.iter().filter(|r| r.variant == variant && r.beta == beta && r.seed == first_seed).map(|r| r.eigenvalue).collect();
                n = n.max(eig.len());
                let alphas: Vec<f64> = t.fits.iter().filter(|f| &f.experiment == experiment && f.layer == layer && f.variant == variant && f.beta == beta).map(|f| f.alpha_hat).collect();
                let name = format!("{}, fitted α = {}", label(&variant, beta), format_mean_sd(&alphas, 2));
                panel = panel.with(Series::line(name, color_of(&variant, beta), normalised_points(&eig)));
            }
            let one_over_n = reference_curve(n, 1.0, 1.0).into_iter().enumerate().map(|(k, v)| ((k + 1) as f64, v)).collect();
            panels.push(panel.with(Series::line("1/n", REFERENCE_GREY, one_over_n).dashed()));
        }
    }
    let columns = if panels.len() >= 3 { 3 } else { panels.len() };
    draw_panels(&dir.figure("spectra"), &format!("{id}: hidden-layer spectra"), &panels, columns)?;

    let mut panels = Vec::new();
    for experiment in &experiments {
        let attacks = ordered_keys(t.robustness.iter().filter(|r| &r.experiment == experiment).map(|r| ("", r.attack.as_str(), 0.0)));
        for (_, attack, _) in attacks {
            let mut panel = Panel::linear(&format!("{experiment}: {}", attack_title(&attack)), "ε (L∞, pixels in [0, 1])", "accuracy");
            let rows: Vec<&RobustnessRow> = t.robustness.iter().filter(|r| &r.experiment == experiment && r.attack == attack).collect();
            for (_, variant, beta) in ordered_keys(rows.iter().map(|r| (r.experiment.as_str(), r.variant.as_str(), r.beta))) {
                let beta = f64::from_bits(beta);
                let mut by_eps: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
                for r in rows.iter().filter(|r| r.variant == variant && r.beta == beta) {
                    by_eps.entry(r.epsilon.to_bits()).or_default().push(r.accuracy);
                }
                let mut points: Vec<(f64, f64, f64)> = by_eps.iter().map(|(e, acc)| {
                    let (m, s) = mean_sd(acc);
                    (f64::from_bits(*e), m, s)
                }).collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                let color = color_of(&variant, beta);
                if by_eps.values().any(|v| v.len() > 1) {
                    let lower = points.iter().map(|p| (p.0, p.1 - p.2)).collect();
                    let upper = points.iter().map(|p| (p.0, p.1 + p.2)).collect();
                    panel = panel.with(Series::band(color, lower, upper));
                }
                panel = panel.with(Series::line(label(&variant, beta), color, points.iter().map(|p| (p.0, p.1)).collect()));
            }
            panels.push(panel);
        }
    }
    draw_panels(&dir.figure("robustness"), &format!("{id}: accuracy under attack (mean ± s.d. over seeds)"), &panels, 2)?;

    let mut panels = Vec::new();
    for experiment in &experiments {
        let mut panel = Panel::linear(&format!("{experiment}: test accuracy"), "epoch", "test accuracy");
        let rows: Vec<&TrainingRow> = t.training.iter().filter(|r| &r.experiment == experiment).collect();
        let first_seed = rows.iter().map(|r| r.seed).min().unwrap_or(0);
        for (_, variant, beta) in ordered_keys(rows.iter().map(|r| (r.experiment.as_str(), r.variant.as_str(), r.beta))) {
            let beta = f64::from_bits(beta);
            let points = rows.iter().filter(|r| r.variant == variant && r.beta == beta && r.seed == first_seed).map(|r| (f64::from(r.epoch), r.test_acc)).collect();
            panel = panel.with(Series::line(label(&variant, beta), color_of(&variant, beta), points));
        }
        panels.push(panel);
    }
    draw_panels(&dir.figure("training"), &format!("{id}: training curves (first seed)"), &panels, 2)?;
    Ok(())
}

/// α̂ of each (experiment, variant, β, layer) over seeds.
pub fn alphas(fits: &[FitRow], experiment: &str, variant: &str, beta: f64, layer: &str) -> Vec<f64> {
    fits.iter().filter(|f| f.experiment == experiment && f.variant == variant && f.beta == beta && f.layer == layer).map(|f| f.alpha_hat).collect()
}

/// Fraction of ranks n > τ (τ = 10, α = 1) within a factor 2 of the target, per seed (test split).
pub fn near_target(spectra: &[SpectrumRow], experiment: &str, variant: &str, beta: f64, layer: &str) -> Vec<f64> {
    let mut by_seed: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for r in spectra.iter().filter(|r| r.experiment == experiment && r.variant == variant && r.beta == beta && r.layer == layer && r.split == "test") {
        by_seed.entry(r.seed).or_default().push(r.eigenvalue);
    }
    by_seed.values().filter_map(|eig| fraction_near_target(eig, 1.0, 10, 2.0).ok()).collect()
}

/// Mean accuracy over seeds of (experiment, variant, β, attack, ε).
pub fn accuracies(rows: &[RobustnessRow], experiment: &str, variant: &str, beta: f64, attack: &str) -> BTreeMap<u64, Vec<f64>> {
    let mut out: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.experiment == experiment && r.variant == variant && r.beta == beta && r.attack == attack) {
        out.entry(r.epsilon.to_bits()).or_default().push(r.accuracy);
    }
    out
}

/// The experiment's SUMMARY.md section: accuracy, spectra and robustness per variant, sanity checks.
pub fn summary(dir: &ExperimentDir) -> Result<String> {
    let t = read(dir)?;
    let mut out = String::new();
    let variants = t.variants();
    let layers: std::collections::BTreeSet<&str> = t.fits.iter().map(|f| f.layer.as_str()).collect();
    out += "| experiment | variant | seeds | epochs | clean test acc. |";
    for layer in &layers {
        out += &format!(" α̂ {layer} | near 1/n {layer} |");
    }
    out += "\n|---|---|---|---|---|";
    out += &"---|---|".repeat(layers.len());
    out += "\n";
    for (experiment, variant, beta) in &variants {
        let beta = *beta;
        let finals: BTreeMap<u64, &TrainingRow> =
            t.training.iter().filter(|r| &r.experiment == experiment && &r.variant == variant && r.beta == beta).map(|r| (r.seed, r)).collect();
        let acc: Vec<f64> = finals.values().map(|r| r.test_acc).collect();
        let epochs = finals.values().map(|r| r.epoch).max().unwrap_or(0);
        out += &format!("| {experiment} | {} | {} | {epochs} | {} |", label(variant, beta), finals.len(), format_mean_sd(&acc, 4));
        for layer in &layers {
            out += &format!(
                " {} | {} |",
                format_mean_sd(&alphas(&t.fits, experiment, variant, beta, layer), 2),
                format_mean_sd(&near_target(&t.spectra, experiment, variant, beta, layer), 2)
            );
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
    let eps: std::collections::BTreeSet<u64> = t.robustness.iter().map(|r| r.epsilon.to_bits()).collect();
    let mut eps: Vec<f64> = eps.into_iter().map(f64::from_bits).collect();
    eps.sort_by(f64::total_cmp);
    let pgd = t.robustness.iter().map(|r| r.attack.clone()).find(|a| a.starts_with("pgd")).unwrap_or_else(|| "pgd40".into());
    out += "| experiment | variant |";
    for e in &eps {
        out += &format!(" ε={e:.3} |");
    }
    out += "\n|---|---|";
    out += &"---|".repeat(eps.len());
    out += "\n";
    for (experiment, variant, beta) in &variants {
        let beta = *beta;
        let fgsm = accuracies(&t.robustness, experiment, variant, beta, "fgsm");
        let pgd = accuracies(&t.robustness, experiment, variant, beta, &pgd);
        out += &format!("| {experiment} | {} |", label(variant, beta));
        for e in &eps {
            let cell = |m: &BTreeMap<u64, Vec<f64>>| m.get(&e.to_bits()).map_or("-".into(), |v| format!("{:.3}", mean_sd(v).0));
            out += &format!(" {} / {} |", cell(&fgsm), cell(&pgd));
        }
        out += "\n";
    }
    let failed: Vec<&tables::SanityRow> = t.sanity.iter().filter(|c| !c.passed).collect();
    out += &format!("\nAttack sanity checks (PROTOCOL §1.6): {} of {} passed.", t.sanity.len() - failed.len(), t.sanity.len());
    for c in failed {
        out += &format!("\n- FAILED {} {} seed {}: {} — {}", c.experiment, label(&c.variant, c.beta), c.seed, c.check, c.detail);
    }
    out += "\n";
    Ok(out)
}
