//! Figures and SUMMARY.md sections of the training experiments, drawn from their tables alone.

use std::collections::{BTreeMap, BTreeSet};

use specreg_attacks::AttackKind;
use specreg_attacks::{WORST_CASE, wilson};
use specreg_report::figure::{Panel, Series, draw_panels};
use specreg_report::tables::{RobustnessRow, SanityRow, SpectrumRow, SuiteRow, TrainingRow, TrajectoryRow, TransferRow};
use specreg_report::{Keyed, RunKey, VariantKey, variants_in};
use specreg_spectrum::reference_curve;

use crate::catalog::{ExperimentSpec, Kind};
use crate::claims::CLEAR_GAIN;
use crate::error::Result;
use crate::out_dir::ExperimentDir;
use crate::registry::Registry;
use crate::style::{REFERENCE_GREY, color_of};
use crate::tables::{Tables, format_mean_sd, mean, mean_sd, unique};
use crate::theory::normalised_points;
use crate::variant::TRANSFER_SOURCE;

/// A robustness panel's title: the attack table's words for the attack, and its name in the table.
fn attack_title(registry: &Registry, attack: &str) -> String {
    match registry.attacks.iter().find(|a| Some(a.kind) == AttackKind::of_name(attack)) {
        Some(spec) => format!("{} ({attack})", spec.title),
        None => attack.to_string(),
    }
}

/// `spectra.png` (one panel per experiment/dataset and layer, first seed, test split),
/// `robustness.png` (accuracy against ε per attack, mean ± s.d. over seeds), `training.png` (test
/// accuracy per epoch), `trajectory.png`, and the experiment's own figures.
pub fn figures(registry: &Registry, dir: &ExperimentDir, spec: &ExperimentSpec) -> Result<()> {
    let id = spec.id;
    let t = Tables::read(dir)?;
    if t.training.is_empty() {
        return Ok(());
    }
    if let Kind::Training(training) = &spec.kind
        && let Some(extra) = &training.extra
    {
        (extra.figures)(dir, &t)?;
    }
    let experiments = t.experiments();

    let mut panels = Vec::new();
    for experiment in &experiments {
        for layer in t.layers(experiment) {
            let mut panel = Panel::log_log(&format!("{experiment} {layer} (test)"), "rank n", "normalised variance λ_n / Σλ");
            let rows: Vec<&SpectrumRow> = t.spectra.iter().filter(|r| &r.key.experiment == experiment && r.layer == layer && r.split == "test").collect();
            let first_seed = rows.iter().map(|r| r.key.seed).min().unwrap_or(0);
            let mut n = 1;
            for variant in variants_in(rows.iter().copied()) {
                let eig: Vec<f64> = rows.iter().filter(|r| variant.contains(&r.key) && r.key.seed == first_seed).map(|r| r.eigenvalue).collect();
                n = n.max(eig.len());
                let name = format!("{}, fitted α = {}", variant.label(), format_mean_sd(&t.alphas(&variant, &layer), 2));
                panel = panel.with(Series::line(name, color_of(&variant), normalised_points(&eig)));
            }
            let one_over_n = reference_curve(n, 1.0, 1.0).into_iter().enumerate().map(|(k, v)| ((k + 1) as f64, v)).collect();
            panels.push(panel.with(Series::line("1/n", REFERENCE_GREY, one_over_n).dashed()));
        }
    }
    let columns = panels.len().min(3);
    draw_panels(&dir.figure("spectra"), &format!("{id}: hidden-layer spectra (eigenvalues below 1e-12 of the largest not drawn)"), &panels, columns)?;

    let mut panels = Vec::new();
    for experiment in &experiments {
        let rows_of: Vec<&RobustnessRow> = t.robustness.iter().filter(|r| &r.key.experiment == experiment).collect();
        for attack in unique(rows_of.iter().map(|r| r.attack.as_str())) {
            let rows: Vec<&RobustnessRow> = rows_of.iter().copied().filter(|r| r.attack == attack).collect();
            let title = format!("{experiment}: {}", attack_title(registry, attack));
            panels.push(accuracy_panel(&title, "ε (pixels in [0, 1])", "accuracy", &rows, |r| (r.epsilon, r.accuracy, r.n_examples)));
        }
    }
    draw_panels(&dir.figure("robustness"), &format!("{id}: accuracy under attack (mean, band ± s.d. over seeds, bars 95 % Wilson over examples)"), &panels, 2)?;
    if !t.suite.is_empty() {
        suite_figure(dir, id, &t)?;
    }

    let mut panels = Vec::new();
    for experiment in &experiments {
        let mut panel = Panel::linear(&format!("{experiment}: test accuracy"), "epoch", "test accuracy").integer_x();
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
                let mut panel =
                    Panel::linear(&format!("{experiment} {layer}: fitted α through training (train set)"), "epochs completed", "fitted α").integer_x();
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

/// A variant's accuracy at one ε: mean and s.d. over seeds, and the 95 % Wilson interval over the
/// examples of every seed pooled.
struct AccuracyPoint {
    epsilon: f64,
    mean: f64,
    sd: f64,
    interval: (f64, f64),
    seeds: usize,
}

/// One variant's accuracy against ε, in increasing ε, from (ε, accuracy, examples) per seed.
fn accuracy_points(rows: impl Iterator<Item = (f64, f64, u32)>) -> Vec<AccuracyPoint> {
    let mut by_eps: BTreeMap<u64, Vec<(f64, u32)>> = BTreeMap::new();
    for (eps, accuracy, n) in rows {
        by_eps.entry(eps.to_bits()).or_default().push((accuracy, n));
    }
    let mut points: Vec<_> = by_eps
        .into_iter()
        .map(|(e, seeds)| {
            let (m, s) = mean_sd(&seeds.iter().map(|p| p.0).collect::<Vec<_>>());
            let n: usize = seeds.iter().map(|p| p.1 as usize).sum();
            let correct: usize = seeds.iter().map(|p| (p.0 * f64::from(p.1)).round() as usize).sum();
            AccuracyPoint { epsilon: f64::from_bits(e), mean: m, sd: s, interval: wilson(correct, n), seeds: seeds.len() }
        })
        .collect();
    points.sort_by(|a, b| a.epsilon.total_cmp(&b.epsilon));
    points
}

/// A panel of accuracy against ε with one line per variant of `rows`, each row read as (ε, accuracy,
/// examples) by `point`.
fn accuracy_panel<R: Keyed>(title: &str, x_label: &str, y_label: &str, rows: &[&R], point: impl Fn(&R) -> (f64, f64, u32)) -> Panel {
    let mut panel = Panel::linear(title, x_label, y_label);
    for variant in variants_in(rows.iter().copied()) {
        let points = accuracy_points(rows.iter().filter(|r| variant.contains(r.key())).map(|r| point(r)));
        panel = with_accuracy(panel, variant.label(), color_of(&variant), &points);
    }
    panel
}

/// `panel` with a variant's accuracy line, its s.d. band over seeds (several seeds) and its Wilson
/// error bars.
fn with_accuracy(mut panel: Panel, label: String, color: plotters::style::RGBColor, points: &[AccuracyPoint]) -> Panel {
    if points.iter().any(|p| p.seeds > 1) {
        let lower = points.iter().map(|p| (p.epsilon, p.mean - p.sd)).collect();
        let upper = points.iter().map(|p| (p.epsilon, p.mean + p.sd)).collect();
        panel = panel.with(Series::band(color, lower, upper));
    }
    panel = panel.with(Series::error_bars(color, points.iter().map(|p| (p.epsilon, p.interval.0, p.interval.1)).collect()));
    panel.with(Series::line(label, color, points.iter().map(|p| (p.epsilon, p.mean)).collect()))
}

/// Each attack of AutoAttack's ensemble, applied in turn, and the ensemble's worst case, per experiment;
/// then transfer from the Vanilla model of the same seed.
fn suite_figure(dir: &ExperimentDir, id: &str, t: &Tables) -> Result<()> {
    let stages = [
        ("apgd-ce", "after APGD-CE"),
        ("apgd-t", "after APGD-CE, APGD-T"),
        ("fab-t", "after APGD-CE, APGD-T, FAB-T"),
        (WORST_CASE, "AutoAttack: after all four (worst case per example)"),
    ];
    let mut panels = Vec::new();
    for experiment in unique(t.suite.iter().map(|r| r.key.experiment.clone())) {
        let rows: Vec<&SuiteRow> = t.suite.iter().filter(|r| r.key.experiment == experiment).collect();
        for (attack, title) in stages {
            let of_attack: Vec<&SuiteRow> = rows.iter().copied().filter(|r| r.attack == attack).collect();
            let title = format!("{experiment}: {title}");
            panels.push(accuracy_panel(&title, "ε (L∞, pixels in [0, 1])", "robust accuracy", &of_attack, |r| (r.epsilon, r.accuracy, r.n_examples)));
        }
        let transfer: Vec<&TransferRow> = t.transfer.iter().filter(|r| r.key.experiment == experiment).collect();
        for attack in unique(transfer.iter().map(|r| r.attack.as_str())) {
            let of_attack: Vec<&TransferRow> = transfer.iter().copied().filter(|r| r.attack == attack).collect();
            let title = format!("{experiment}: {attack} crafted on {TRANSFER_SOURCE}, transferred");
            panels.push(accuracy_panel(&title, "ε (L∞, pixels in [0, 1])", "accuracy", &of_attack, |r| (r.epsilon, r.accuracy, r.n_examples)));
        }
    }
    let title =
        format!("{id}: robust accuracy under AutoAttack's ensemble, each attack on what the ones before left correct (bars: 95 % Wilson over examples)");
    draw_panels(&dir.figure("robustness_suite"), &title, &panels, 3)?;
    Ok(())
}

/// A gain under AutoAttack counts as surviving when it keeps at least this fraction of the gain under
/// PGD at the same ε (and is clear, above [`CLEAR_GAIN`]).
pub const SURVIVING_FRACTION: f64 = 0.5;

/// Whether a gain under PGD survives AutoAttack, in words, by the rule of [`SURVIVING_FRACTION`].
pub fn survival(pgd: f64, autoattack: f64) -> &'static str {
    if pgd <= CLEAR_GAIN {
        "no clear gain under PGD to begin with"
    } else if autoattack <= CLEAR_GAIN {
        "vanishes"
    } else if autoattack >= SURVIVING_FRACTION * pgd {
        "survives"
    } else {
        "shrinks"
    }
}

/// The AutoAttack section of an experiment: worst-case robust accuracy with its interval, whether each
/// regularised variant's gain over its baseline survives, and transfer from Vanilla.
fn suite_summary(t: &Tables) -> String {
    if t.suite.is_empty() {
        return String::new();
    }
    let n = unique(t.suite.iter().map(|r| r.n_examples)).iter().map(u32::to_string).collect::<Vec<_>>().join(" or ");
    let mut eps: Vec<f64> = unique(t.suite.iter().map(|r| r.epsilon.to_bits())).into_iter().map(f64::from_bits).collect();
    eps.sort_by(f64::total_cmp);
    let mut out = format!(
        "\nAutoAttack (the standard ensemble: APGD-CE, APGD-T, FAB-T, Square; `robustness_suite.parquet`, `figures/robustness_suite.png`): robust accuracy on the first {n} test examples, an example counting as robust only if all four attacks fail on it; mean over seeds, in parentheses the 95 % Wilson interval over the examples of all seeds pooled.\n\n| experiment | variant |"
    );
    for e in &eps {
        out += &format!(" ε={e:.3} |");
    }
    out += &format!("\n|---|---|{}\n", "---|".repeat(eps.len()));
    let variants = variants_in(t.suite.iter());
    for variant in &variants {
        out += &format!("| {} | {} |", variant.experiment, variant.label());
        let points =
            accuracy_points(t.suite.iter().filter(|r| variant.contains(&r.key) && r.attack == WORST_CASE).map(|r| (r.epsilon, r.accuracy, r.n_examples)));
        for e in &eps {
            out += &match points.iter().find(|p| p.epsilon == *e) {
                Some(p) => format!(" {:.3} ({:.3}–{:.3}) |", p.mean, p.interval.0, p.interval.1),
                None => " - |".into(),
            };
        }
        out += "\n";
    }
    let left_out: Vec<String> =
        variants_in(t.transfer.iter()).iter().filter(|v| !variants.contains(v)).map(|v| format!("{} {}", v.experiment, v.label())).collect();
    if !left_out.is_empty() {
        out += &format!(
            "
Not attacked by the white-box ensemble: {}. These models whiten on batch statistics, so an example's prediction depends on the rest of its batch, while the ensemble attacks ever smaller sets of examples (those still robust): each attack would face a different model. Their PGD rows above are joint attacks on evaluation batches of the recorded size; transfer below is measured on them the same way.\n",
            left_out.join(", ")
        );
    }
    // Does the gain survive? PGD's gain on the ensemble's ε grid against AutoAttack's.
    let pgd = t.attacks_of(AttackKind::PgdLinf).into_iter().next();
    let mut lines = Vec::new();
    for variant in variants.iter().filter(|v| v.variant != TRANSFER_SOURCE && !v.variant.starts_with("Vanilla")) {
        let baseline = VariantKey::new(&variant.experiment, if variant.variant.ends_with("-Wh") { "Vanilla-Wh" } else { "Vanilla" }, 0.0);
        // The sweep's ε went through f32: the same ε within rounding.
        let on_grid =
            |gains: Vec<(f64, f64)>| mean(&gains.into_iter().filter(|(e, _)| eps.iter().any(|g| (g - e).abs() < 1e-6)).map(|g| g.1).collect::<Vec<_>>());
        let under_aa = on_grid(t.gain_by_epsilon(variant, &baseline, WORST_CASE));
        let under_pgd = pgd.as_ref().and_then(|p| on_grid(t.gain_by_epsilon(variant, &baseline, p)));
        let line = match (under_pgd, under_aa) {
            (Some(p), Some(a)) => format!(
                "- {} {} over {}: gain {:+.3} under {} and {a:+.3} under AutoAttack at the same ε: **{}**.",
                variant.experiment,
                variant.label(),
                baseline.label(),
                p,
                pgd.as_deref().unwrap_or("PGD"),
                survival(p, a)
            ),
            (None, Some(a)) => {
                format!("- {} {} over {}: gain {a:+.3} under AutoAttack (PGD not run at these ε).", variant.experiment, variant.label(), baseline.label())
            }
            _ => continue,
        };
        lines.push(line);
    }
    if !lines.is_empty() {
        out += &format!(
            "\nDoes the gain survive AutoAttack? A gain is the mean over the ensemble's ε of the accuracy difference to the baseline (means over seeds); PGD's is read from the sweep above (its examples), AutoAttack's from the first {n} test examples. It survives when the gain under AutoAttack is above {CLEAR_GAIN} and at least {:.0} % of the gain under PGD at the same ε, vanishes when it is at most {CLEAR_GAIN}, and shrinks in between.\n\n{}\n",
            SURVIVING_FRACTION * 100.0,
            lines.join("\n")
        );
    }
    if !t.transfer.is_empty() {
        out += &format!(
            "\nTransfer: accuracy on examples crafted on {TRANSFER_SOURCE} of the same seed (`transfer.parquet`; mean over seeds, 95 % Wilson interval):\n\n| experiment | variant | attack |"
        );
        for e in &eps {
            out += &format!(" ε={e:.3} |");
        }
        out += &format!("\n|---|---|---|{}\n", "---|".repeat(eps.len()));
        for variant in variants_in(t.transfer.iter()) {
            for attack in unique(t.transfer.iter().map(|r| r.attack.clone())) {
                let points = accuracy_points(
                    t.transfer.iter().filter(|r| variant.contains(&r.key) && r.attack == attack).map(|r| (r.epsilon, r.accuracy, r.n_examples)),
                );
                out += &format!("| {} | {} | {attack} |", variant.experiment, variant.label());
                for e in &eps {
                    out += &match points.iter().find(|p| p.epsilon == *e) {
                        Some(p) => format!(" {:.3} ({:.3}–{:.3}) |", p.mean, p.interval.0, p.interval.1),
                        None => " - |".into(),
                    };
                }
                out += "\n";
            }
        }
    }
    out
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
    let mut out = format!(
        "\nSpectrum through training (training set, the §1.7 fit after every epoch; `trajectory.parquet`, `figures/trajectory.png`):\n\n| experiment | run | layer | α̂ at epoch 0 | α̂ at the end | first epoch within {NEAR_ONE} of α = 1 |\n|---|---|---|---|---|---|\n"
    );
    let runs: Vec<(RunKey, String)> = unique(regularised.iter().map(|r| (r.key.clone(), r.layer.clone())));
    for (key, layer) in runs {
        let points: Vec<&&TrajectoryRow> = regularised.iter().filter(|r| r.key == key && r.layer == layer).collect();
        let (Some(first), Some(last)) = (points.first(), points.last()) else { continue };
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
/// `smoke`: the numbers only check code paths, so failed sanity checks are expected and said to be.
pub fn summary(dir: &ExperimentDir, spec: &ExperimentSpec, smoke: bool) -> Result<String> {
    let t = Tables::read(dir)?;
    if t.training.is_empty() {
        return Ok("No runs.\n".into());
    }
    let variants = t.variants();
    let layers: BTreeSet<&str> = t.fits.iter().map(|f| f.layer.as_str()).collect();
    let tested = unique(t.robustness.iter().map(|r| r.n_examples));
    let attacked = tested.iter().map(u32::to_string).collect::<Vec<_>>().join(" or ");
    let mut out = String::from("| experiment | variant | seeds | epochs | test accuracy (whole test split measured) |");
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
            let alphas = t.alphas(variant, layer);
            // One seed: its 95 % interval over the fitted ranks; several: mean ± s.d. over seeds.
            let interval = t.fits.iter().find(|f| variant.contains(&f.key) && f.layer == *layer && f.alpha_low.is_finite()).filter(|_| alphas.len() == 1);
            let alpha = interval.map_or_else(|| format_mean_sd(&alphas, 2), |f| format!("{:.2} ({:.2}–{:.2})", f.alpha_hat, f.alpha_low, f.alpha_high));
            out += &format!(" {alpha} | {} |", format_mean_sd(&t.near_target(variant, layer), 2));
        }
        out += "\n";
    }
    if let Some(f) = t.fits.first() {
        out += &format!(
            "\nα̂: least-squares slope of log λ_n against log n over ranks {}–{} of the test-split spectrum (R² in `fits`); with one seed, in parentheses its 95 % bootstrap interval over the fitted ranks (how well a line describes the spectrum, not sampling noise), with several, mean ± s.d. over seeds. \"near 1/n\": the fraction of ranks n > 10 whose eigenvalue is within a factor 2 of the α = 1 target anchored at rank 10.\n",
            f.rank_min, f.rank_max
        );
    }

    let attacks = t.attacks();
    out += &format!(
        "\nAccuracy under attack ({}; mean over seeds) on the first {attacked} test examples: ε = 0 is the clean accuracy on those examples, which differs from the test accuracy above when they are fewer than the test split.\n\n",
        attacks.join(" / ")
    );
    let mut eps: Vec<f64> = unique(t.robustness.iter().map(|r| r.epsilon.to_bits())).into_iter().map(f64::from_bits).collect();
    eps.sort_by(f64::total_cmp);
    out += "| experiment | variant |";
    for e in &eps {
        out += &format!(" ε={e:.3} |");
    }
    out += "\n|---|---|";
    out += &"---|".repeat(eps.len());
    out += "\n";
    for variant in &variants {
        let by_attack: Vec<BTreeMap<u64, Vec<f64>>> = attacks.iter().map(|a| t.accuracies(variant, a)).collect();
        out += &format!("| {} | {} |", variant.experiment, variant.label());
        for e in &eps {
            let cells: Vec<String> = by_attack.iter().map(|m| m.get(&e.to_bits()).map_or("-".into(), |v| format!("{:.3}", mean_sd(v).0))).collect();
            out += &format!(" {} |", cells.join(" / "));
        }
        out += "\n";
    }
    out += &trajectory_summary(&t);
    out += &suite_summary(&t);
    if let Kind::Training(training) = &spec.kind
        && let Some(extra) = &training.extra
    {
        out += &(extra.summary)(&t);
    }
    let failed: Vec<&SanityRow> = t.sanity.iter().filter(|c| !c.passed).collect();
    out += &format!("\nAttack sanity checks (docs/protocol.md §1.6): {} of {} passed.", t.sanity.len() - failed.len(), t.sanity.len());
    if smoke && !failed.is_empty() {
        out += " Smoke networks are too small and too briefly trained for these checks to mean anything; failures here are expected.";
    }
    out += "\n";
    for c in failed {
        out += &format!("\n- FAILED {} {} seed {}: {} — {}", c.key.experiment, c.key.label(), c.key.seed, c.check, c.detail);
    }
    if !t.sanity.iter().all(|c| c.passed) {
        out += "\n";
    }
    Ok(out)
}
