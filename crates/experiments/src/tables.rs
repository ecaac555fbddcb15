//! One experiment's tables in memory, the statistics every report takes of them (mean ± s.d. over
//! seeds), and the rows measurements produce.

use std::collections::BTreeMap;

use specreg_attacks::AttackKind;
use specreg_attacks::wilson;
use specreg_report::tables::{self, FateRow, FitRow, RobustnessRow, SanityRow, SpectrumRow, SuiteRow, Table, TrainingRow, TrajectoryRow, TransferRow};
use specreg_report::{RunKey, VariantKey, variants_in};
use specreg_spectrum::{FitMethod, RankRange, fit_alpha, fraction_near_target, interval_over_ranks};

use crate::error::Result;
use crate::out_dir::ExperimentDir;

/// The distinct items of `items`, in order of first appearance.
pub fn unique<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 { values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

/// The mean, or `None` without values.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| mean_sd(values).0)
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

/// Resamples of the interval in `fits` (over the fitted ranks: cheap, and the same for every run).
pub const FIT_RESAMPLES: usize = 1000;

/// The `fits` row of the protocol's least-squares fit of `eigenvalues` over `range` (§1.7), with a
/// 95 % bootstrap interval over the fitted ranks; `None` when no fit can be made (a spectrum not
/// positive over the range).
pub fn fit_row(key: &RunKey, layer: &str, eigenvalues: &[f64], range: RankRange) -> Option<FitRow> {
    let fit = fit_alpha(eigenvalues, range, FitMethod::LeastSquares).ok()?;
    let interval = interval_over_ranks(eigenvalues, &fit, FIT_RESAMPLES, 0).ok();
    Some(FitRow {
        key: key.clone(),
        layer: layer.into(),
        alpha_hat: fit.alpha,
        r2: fit.r2.unwrap_or(f64::NAN),
        rank_min: fit.range.min as u32,
        rank_max: fit.range.max as u32,
        alpha_low: interval.map_or(f64::NAN, |i| i.low),
        alpha_high: interval.map_or(f64::NAN, |i| i.high),
    })
}

/// `row` with its 95 % Wilson interval over the attacked examples, if it has none (rows written
/// before intervals).
pub fn with_interval(mut row: RobustnessRow) -> RobustnessRow {
    if !row.ci_low.is_finite() {
        let n = row.n_examples as usize;
        (row.ci_low, row.ci_high) = wilson((row.accuracy * n as f64).round() as usize, n);
    }
    row
}

/// `spectra` rows of one layer's eigenvalues (rank 1 first).
pub fn spectrum_rows(key: &RunKey, layer: &str, split: &str, eigenvalues: &[f64]) -> Vec<SpectrumRow> {
    eigenvalues
        .iter()
        .enumerate()
        .map(|(r, &eigenvalue)| SpectrumRow { key: key.clone(), layer: layer.into(), split: split.into(), rank: r as u32 + 1, eigenvalue })
        .collect()
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
    /// `robustness_suite.parquet`: AutoAttack's ensemble (empty where the profile runs none).
    pub suite: Vec<SuiteRow>,
    /// `suite_fates.parquet`: what became of each example under the ensemble.
    pub fates: Vec<FateRow>,
    /// `transfer.parquet`: accuracy on examples crafted on the Vanilla model of the same seed.
    pub transfer: Vec<TransferRow>,
}

/// A table of `dir` that results written before it existed lack: read as empty.
fn read_if_present<T: Table>(dir: &ExperimentDir) -> Result<Vec<T>> {
    let path = dir.table(T::NAME);
    Ok(if path.is_file() { tables::read(&path)? } else { Vec::new() })
}

impl Tables {
    /// Reads the tables of `dir`.
    pub fn read(dir: &ExperimentDir) -> Result<Tables> {
        Ok(Tables {
            training: tables::read(&dir.table("training"))?,
            spectra: tables::read(&dir.table("spectra"))?,
            fits: tables::read(&dir.table("fits"))?,
            robustness: tables::read(&dir.table("robustness"))?,
            sanity: tables::read(&dir.table("sanity"))?,
            trajectory: read_if_present(dir)?,
            suite: read_if_present(dir)?,
            fates: read_if_present(dir)?,
            transfer: read_if_present(dir)?,
        })
    }

    /// Writes every table into `dir` (the AutoAttack tables only where there are rows: a profile
    /// without the ensemble writes none).
    pub fn write(&self, dir: &ExperimentDir) -> Result<()> {
        tables::write(&self.training, &dir.table("training"))?;
        tables::write(&self.spectra, &dir.table("spectra"))?;
        tables::write(&self.fits, &dir.table("fits"))?;
        tables::write(&self.robustness, &dir.table("robustness"))?;
        tables::write(&self.sanity, &dir.table("sanity"))?;
        tables::write(&self.trajectory, &dir.table("trajectory"))?;
        if !self.suite.is_empty() {
            tables::write(&self.suite, &dir.table(SuiteRow::NAME))?;
            tables::write(&self.fates, &dir.table(FateRow::NAME))?;
            tables::write(&self.transfer, &dir.table(TransferRow::NAME))?;
        }
        Ok(())
    }

    /// Every trained variant, in order of first appearance.
    pub fn variants(&self) -> Vec<VariantKey> {
        variants_in(&self.training)
    }

    /// The experiments (with dataset) present, in order of first appearance.
    pub fn experiments(&self) -> Vec<String> {
        unique(self.training.iter().map(|r| r.key.experiment.clone()))
    }

    /// The hidden layers measured in `experiment` (from its test spectra), in order.
    pub fn layers(&self, experiment: &str) -> Vec<String> {
        let mut layers = unique(self.spectra.iter().filter(|r| r.key.experiment == experiment && r.split == "test").map(|r| r.layer.clone()));
        layers.sort();
        layers
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

    /// Accuracies over seeds of `variant` under `attack` (a sweep's attack, or one of AutoAttack's
    /// ensemble records, `autoattack` being its worst case), by ε (as bits).
    pub fn accuracies(&self, variant: &VariantKey, attack: &str) -> BTreeMap<u64, Vec<f64>> {
        let mut out: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
        let sweep = self.robustness.iter().map(|r| (&r.key, &r.attack, r.epsilon, r.accuracy));
        let suite = self.suite.iter().map(|r| (&r.key, &r.attack, r.epsilon, r.accuracy));
        for (_, _, epsilon, accuracy) in sweep.chain(suite).filter(|(key, name, ..)| variant.contains(key) && *name == attack) {
            out.entry(epsilon.to_bits()).or_default().push(accuracy);
        }
        out
    }

    /// The attacks in the robustness table, in order of first appearance.
    pub fn attacks(&self) -> Vec<String> {
        unique(self.robustness.iter().map(|r| r.attack.clone()))
    }

    /// The attacks of the table that are of `kind` (`pgd40`, `pgd10` for PGD in L∞), in order.
    pub fn attacks_of(&self, kind: AttackKind) -> Vec<String> {
        self.attacks().into_iter().filter(|a| AttackKind::of_name(a) == Some(kind)).collect()
    }

    /// Clean accuracy of `variant` on the attacked examples (ε = 0 of its first attack), per seed.
    pub fn clean_attacked(&self, variant: &VariantKey) -> Vec<f64> {
        let Some(first) = self.attacks().into_iter().next() else { return Vec::new() };
        self.accuracies(variant, &first).remove(&0.0f64.to_bits()).unwrap_or_default()
    }
}

impl Tables {
    /// `variant`'s accuracy under `attack` minus `baseline`'s (each a mean over seeds), at every ε > 0
    /// both were attacked at, in increasing ε.
    pub fn gain_by_epsilon(&self, variant: &VariantKey, baseline: &VariantKey, attack: &str) -> Vec<(f64, f64)> {
        let base = self.accuracies(baseline, attack);
        self.accuracies(variant, attack)
            .iter()
            .filter(|(e, _)| f64::from_bits(**e) > 0.0)
            .filter_map(|(e, acc)| Some((f64::from_bits(*e), mean(acc)? - mean(base.get(e)?)?)))
            .collect()
    }

    /// The protocol's robustness gain (§3): the mean over ε > 0 of [`Tables::gain_by_epsilon`];
    /// `None` without a common ε.
    pub fn gain(&self, variant: &VariantKey, baseline: &VariantKey, attack: &str) -> Option<f64> {
        mean(&self.gain_by_epsilon(variant, baseline, attack).into_iter().map(|p| p.1).collect::<Vec<_>>())
    }
}
