//! Accuracy under attack over an ε grid, with the sanity checks of protocol §1.6.

use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::Classifier;
use crate::attack::Attack;
use crate::error::{AttackError, Result};
use crate::gradient::{Norm, per_example_l2, per_example_linf};
use crate::loss::predictions;

/// What to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// Attacks run at every ε.
    pub attacks: Vec<Attack>,
    /// ε grid (include 0 for clean accuracy).
    pub epsilons: Vec<f32>,
    /// Examples per batch. Results do not depend on it, except for models with batch-statistic layers
    /// (whitening), for which it is part of the result and is recorded.
    pub batch_size: usize,
    /// Seeds every attack's randomness.
    pub seed: u64,
    /// A large ε at which the first PGD attack (else FGSM) must drive accuracy near 0 (0.5 on MNIST);
    /// otherwise gradient masking is suspected.
    pub masking_epsilon: Option<f32>,
    /// Draw a progress bar.
    pub show_progress: bool,
}

/// Accuracy under one attack at one ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The attack's name (`fgsm`, `pgd40`, `square300`, …).
    pub attack: String,
    /// Its norm.
    pub norm: Norm,
    /// The radius ε.
    pub epsilon: f32,
    /// Accuracy under attack.
    pub accuracy: f64,
    /// Correctly classified attacked examples.
    pub correct: usize,
    /// Examples attacked.
    pub n_examples: usize,
    /// Batch size used.
    pub batch_size: usize,
    /// Largest perturbation actually used, in the attack's norm.
    pub max_perturbation: f32,
    /// Pixel range of the attacked inputs.
    pub min_pixel: f32,
    /// Largest attacked pixel.
    pub max_pixel: f32,
}

/// One sanity check and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// The numbers behind the verdict.
    pub detail: String,
}

/// Everything a sweep found, violations included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    /// One record per (attack, ε).
    pub records: Vec<Record>,
    /// The large-ε probe of [`Sweep::masking_epsilon`], if asked for.
    pub masking_probe: Option<Record>,
    /// The sanity checks and their outcomes.
    pub checks: Vec<Check>,
}

impl SweepReport {
    /// Whether every sanity check passed.
    pub fn all_checks_passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The record of `attack` at `epsilon`.
    pub fn accuracy(&self, attack: &str, epsilon: f32) -> Option<f64> {
        self.records.iter().find(|r| r.attack == attack && r.epsilon == epsilon).map(|r| r.accuracy)
    }
}

/// Slack for comparisons of accuracies that differ only by the randomness of the attacks.
const ACCURACY_SLACK: f64 = 0.005;
/// "Near zero" accuracy at the masking probe.
const MASKING_THRESHOLD: f64 = 0.05;

/// Runs every attack at every ε on `images` (values in [0, 1]) and `labels`.
pub fn run_sweep<const D: usize, M: Classifier<D>>(sweep: &Sweep, model: &M, images: Tensor<D>, labels: Tensor<1, Int>) -> Result<SweepReport> {
    let n = images.dims()[0];
    if labels.dims()[0] != n {
        return Err(AttackError::CountMismatch { images: n, labels: labels.dims()[0] });
    }
    if n == 0 || sweep.batch_size == 0 {
        return Err(AttackError::InvalidSetting("a sweep needs examples and a positive batch size".into()));
    }
    for attack in &sweep.attacks {
        for &eps in sweep.epsilons.iter().chain(&sweep.masking_epsilon) {
            attack.validate(eps)?;
        }
    }
    let probe_attack = sweep
        .attacks
        .iter()
        .find(|a| matches!(a, Attack::Pgd { norm: Norm::Linf, .. }))
        .or_else(|| sweep.attacks.iter().find(|a| matches!(a, Attack::Fgsm)))
        .copied();
    let probe = sweep.masking_epsilon.zip(probe_attack);

    // The bar counts work, not batches: a batch of PGD-40 weighs 40 gradient steps, a clean one (ε = 0)
    // one forward pass, so the estimate holds from the first batches on.
    let batches = n.div_ceil(sweep.batch_size) as u64;
    let work: u64 = sweep.attacks.iter().flat_map(|a| sweep.epsilons.iter().map(move |&e| weight(a, e))).sum::<u64>() + probe.map_or(0, |(e, a)| weight(&a, e));
    let bar = if sweep.show_progress { ProgressBar::new(work * batches) } else { ProgressBar::hidden() };
    let style = ProgressStyle::with_template("{msg:24} {bar:30} {percent:>3}% of the passes, eta {eta_known}").unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.with_key("eta_known", eta_known));

    let mut records = Vec::new();
    for attack in &sweep.attacks {
        for &eps in &sweep.epsilons {
            bar.set_message(format!("{} ε={eps}", attack.name()));
            records.push(evaluate(attack, eps, sweep, model, &images, &labels, &bar)?);
        }
    }
    let masking_probe = match probe {
        Some((eps, attack)) => {
            bar.set_message(format!("{} ε={eps} (probe)", attack.name()));
            Some(evaluate(&attack, eps, sweep, model, &images, &labels, &bar)?)
        }
        None => None,
    };
    bar.finish_and_clear();
    let checks = sanity_checks(&sweep.attacks, &records, masking_probe.as_ref());
    Ok(SweepReport { records, masking_probe, checks })
}

fn evaluate<const D: usize, M: Classifier<D>>(
    attack: &Attack,
    epsilon: f32,
    sweep: &Sweep,
    model: &M,
    images: &Tensor<D>,
    labels: &Tensor<1, Int>,
    bar: &ProgressBar,
) -> Result<Record> {
    let n = images.dims()[0];
    let (mut correct, mut max_perturbation, mut min_pixel, mut max_pixel) = (0usize, 0f32, f32::INFINITY, f32::NEG_INFINITY);
    for first in (0..n).step_by(sweep.batch_size) {
        let len = sweep.batch_size.min(n - first);
        let x = images.clone().narrow(0, first, len);
        let y = labels.clone().narrow(0, first, len);
        let adv = attack.run(model, x.clone(), y.clone(), epsilon, sweep.seed, first)?;
        let logits = model.logits(adv.clone());
        if !logits.clone().is_finite().all().into_scalar::<bool>() {
            return Err(AttackError::NonFiniteLogits { attack: attack.name(), epsilon, first, last: first + len });
        }
        correct += predictions(logits).equal(y).int().sum().into_scalar::<i64>() as usize;
        let delta = adv.clone() - x;
        let size = match attack.norm() {
            Norm::Linf => per_example_linf(delta),
            Norm::L2 => per_example_l2(delta),
        };
        max_perturbation = max_perturbation.max(size.max().into_scalar::<f32>());
        min_pixel = min_pixel.min(adv.clone().min().into_scalar::<f32>());
        max_pixel = max_pixel.max(adv.max().into_scalar::<f32>());
        bar.inc(weight(attack, epsilon));
    }
    Ok(Record {
        attack: attack.name(),
        norm: attack.norm(),
        epsilon,
        accuracy: correct as f64 / n as f64,
        correct,
        n_examples: n,
        batch_size: sweep.batch_size,
        max_perturbation,
        min_pixel,
        max_pixel,
    })
}

/// The work of one batch of `attack` at `epsilon`, in forward passes (ε = 0 is a clean evaluation).
fn weight(attack: &Attack, epsilon: f32) -> u64 {
    if epsilon == 0.0 { 1 } else { attack.passes_per_example().round() as u64 }
}

/// A progress bar's remaining time, or `?` before anything was done (an estimate from nothing is 0 s).
fn eta_known(state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = if state.pos() == 0 { write!(w, "?") } else { write!(w, "{:#}", indicatif::HumanDuration(state.eta())) };
}

/// The checks of protocol §1.6, computed from the records; a violation is reported, never hidden.
pub fn sanity_checks(attacks: &[Attack], records: &[Record], probe: Option<&Record>) -> Vec<Check> {
    let mut checks = Vec::new();
    let all: Vec<&Record> = records.iter().chain(probe).collect();
    let over: Vec<String> = all
        .iter()
        .filter(|r| r.max_perturbation > r.epsilon * (1.0 + 1e-5) + 1e-6)
        .map(|r| format!("{} ε={}: {}", r.attack, r.epsilon, r.max_perturbation))
        .collect();
    checks.push(check("perturbation within ε", over.is_empty(), over.join("; ")));
    let outside: Vec<String> = all
        .iter()
        .filter(|r| r.min_pixel < 0.0 || r.max_pixel > 1.0)
        .map(|r| format!("{} ε={}: [{}, {}]", r.attack, r.epsilon, r.min_pixel, r.max_pixel))
        .collect();
    checks.push(check("pixels within [0, 1]", outside.is_empty(), outside.join("; ")));

    let curve = |name: &str| {
        let mut c: Vec<&Record> = records.iter().filter(|r| r.attack == name).collect();
        c.sort_by(|a, b| a.epsilon.total_cmp(&b.epsilon));
        c
    };
    for attack in attacks.iter().filter(|a| a.is_adversarial()) {
        let c = curve(&attack.name());
        let rises: Vec<String> = c
            .windows(2)
            .filter(|w| w[1].accuracy > w[0].accuracy + ACCURACY_SLACK)
            .map(|w| format!("ε {} → {}: {:.4} → {:.4}", w[0].epsilon, w[1].epsilon, w[0].accuracy, w[1].accuracy))
            .collect();
        checks.push(check(&format!("{} accuracy non-increasing in ε", attack.name()), rises.is_empty(), rises.join("; ")));
    }
    let compare = |stronger: &str, weaker: &str, label: &str, checks: &mut Vec<Check>| {
        let weak = curve(weaker);
        let violations: Vec<String> = curve(stronger)
            .iter()
            .filter_map(|s| weak.iter().find(|w| w.epsilon == s.epsilon).map(|w| (s, w)))
            .filter(|(s, w)| s.accuracy > w.accuracy + ACCURACY_SLACK)
            .map(|(s, w)| format!("ε {}: {} {:.4} > {} {:.4}", s.epsilon, stronger, s.accuracy, weaker, w.accuracy))
            .collect();
        checks.push(check(label, violations.is_empty(), violations.join("; ")));
    };
    let pgd = attacks.iter().find(|a| matches!(a, Attack::Pgd { norm: Norm::Linf, .. })).map(Attack::name);
    if let Some(pgd) = &pgd {
        if attacks.contains(&Attack::Fgsm) {
            compare(pgd, "fgsm", &format!("{pgd} accuracy ≤ fgsm accuracy at every ε"), &mut checks);
        }
        // A gradient-free attack beating PGD means PGD's gradients are misleading (masking).
        if let Some(square) = attacks.iter().find(|a| matches!(a, Attack::Square { .. })).map(Attack::name) {
            compare(pgd, &square, &format!("no gradient masking: {pgd} accuracy ≤ {square} accuracy"), &mut checks);
        }
    }
    if let Some(p) = probe {
        checks.push(check(
            &format!("{} accuracy near 0 at ε = {}", p.attack, p.epsilon),
            p.accuracy <= MASKING_THRESHOLD,
            format!("accuracy {:.4} (threshold {MASKING_THRESHOLD})", p.accuracy),
        ));
    }
    checks
}

fn check(name: &str, passed: bool, detail: String) -> Check {
    Check::new(name, passed, detail)
}

impl Check {
    /// A check and its outcome; an empty detail of a passed check reads "ok".
    pub fn new(name: &str, passed: bool, detail: String) -> Check {
        Check { name: name.into(), passed, detail: if passed && detail.is_empty() { "ok".into() } else { detail } }
    }
}

/// The 95 % Wilson score interval of a proportion of `successes` in `n` trials (Wilson 1927): unlike
/// the normal approximation it stays inside [0, 1] and is not empty at 0 or n.
pub fn wilson(successes: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (z, n_f, p) = (1.959_963_984_540_054, n as f64, successes as f64 / n as f64);
    let denominator = 1.0 + z * z / n_f;
    let centre = (p + z * z / (2.0 * n_f)) / denominator;
    let half = z * (p * (1.0 - p) / n_f + z * z / (4.0 * n_f * n_f)).sqrt() / denominator;
    // At 0 and n the bound is exactly the proportion; rounding must not move it past it.
    let low = if successes == 0 { 0.0 } else { (centre - half).clamp(0.0, p) };
    let high = if successes == n { 1.0 } else { (centre + half).clamp(p, 1.0) };
    (low, high)
}
