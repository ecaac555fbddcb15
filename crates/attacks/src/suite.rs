//! AutoAttack's standard ensemble (Croce & Hein, ICML 2020; RobustBench's evaluation) and the checks
//! of Carlini et al. (2019) that make a robustness figure trustworthy.
//!
//! At each ε the four attacks run in order, each on the examples still robust: APGD-CE (100
//! iterations), APGD-T (targeted DLR, the 9 most likely wrong classes, 100 iterations each), FAB-T (9
//! targets, 100 iterations each) and Square (5,000 queries). An example counts as robust when it
//! survives all four; which attack broke each example is kept. The checks: the same robust accuracy
//! with twice the iterations and 5 restarts (PGD and APGD-CE, at the ε where APGD-CE left accuracy
//! nearest half the clean accuracy), the fraction of inputs whose loss has a
//! zero input gradient, the examples only the gradient-free Square broke, worst-case accuracy
//! non-increasing in ε, and APGD-CE at a large ε reaching chance.

use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::Classifier;
use crate::apgd::{ApgdLoss, ApgdSettings, apgd_indexed};
use crate::attack::Attack;
use crate::error::{AttackError, Result};
use crate::fab::{FabSettings, fab_targeted};
use crate::gradient::Norm;
use crate::loss::{input_gradient, predictions};
use crate::square::{SquareSettings, square_attack_at};
use crate::sweep::{Check, wilson};

/// The record of the ensemble as a whole: an example counts as robust when all four attacks failed.
pub const WORST_CASE: &str = "autoattack";

/// The ensemble's attacks, in the order they run.
pub const SUITE_ATTACKS: [&str; 4] = ["apgd-ce", "apgd-t", "fab-t", "square"];

/// How strong each attack of the ensemble is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SuiteSettings {
    /// The norm of ε (AutoAttack's standard evaluation: L∞).
    pub norm: Norm,
    /// APGD iterations per run and FAB iterations per target (standard: 100).
    pub iterations: usize,
    /// Target classes of APGD-T and FAB-T (standard: 9).
    pub targets: usize,
    /// Square Attack queries (standard: 5,000).
    pub square_queries: usize,
    /// Seeds every random start and proposal.
    pub seed: u64,
}

impl SuiteSettings {
    /// AutoAttack "standard" in `norm`.
    pub fn standard(norm: Norm, seed: u64) -> Self {
        SuiteSettings { norm, iterations: 100, targets: 9, square_queries: 5000, seed }
    }

    /// The ensemble's attacks as [`Attack`]s, in order.
    pub fn attacks(&self) -> [Attack; 4] {
        [
            Attack::Apgd { norm: self.norm, loss: ApgdLoss::CrossEntropy, iterations: self.iterations, restarts: 1 },
            Attack::Apgd { norm: self.norm, loss: ApgdLoss::TargetedDlr(self.targets), iterations: self.iterations, restarts: 1 },
            Attack::Fab { norm: self.norm, targets: self.targets, iterations: self.iterations },
            Attack::Square { queries: self.square_queries, p_init: 0.8 },
        ]
    }
}

/// What became of one example at one ε.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fate {
    /// Misclassified without attack.
    Clean,
    /// Broken by the attack at this index of [`SUITE_ATTACKS`] (the first that broke it).
    Broken(usize),
    /// Survived every attack.
    Robust,
}

impl Fate {
    /// `clean`, the attack's name, or `robust`.
    pub fn name(self) -> &'static str {
        match self {
            Fate::Clean => "clean",
            Fate::Broken(k) => SUITE_ATTACKS[k],
            Fate::Robust => "robust",
        }
    }
}

/// Runs the ensemble at `epsilon` on one batch (examples `first..` of the evaluated set): the fate of
/// each example.
pub fn autoattack<const D: usize, M: Classifier<D>>(
    model: &M,
    x: Tensor<D>,
    y: Tensor<1, Int>,
    epsilon: f32,
    s: &SuiteSettings,
    first: usize,
) -> Result<Vec<Fate>> {
    let n = x.dims()[0];
    let device = x.device();
    let labels: Vec<i64> = y.clone().into_data().iter::<i64>().collect();
    let wrong = |points: Tensor<D>| -> Vec<bool> { predictions(model.logits(points)).into_data().iter::<i64>().zip(&labels).map(|(p, l)| p != *l).collect() };
    let mut fate: Vec<Fate> = wrong(x.clone()).into_iter().map(|w| if w { Fate::Clean } else { Fate::Robust }).collect();
    for (k, attack) in s.attacks().iter().enumerate() {
        let remaining: Vec<usize> = (0..n).filter(|&i| fate[i] == Fate::Robust).collect();
        if remaining.is_empty() || epsilon == 0.0 {
            break;
        }
        let index = Tensor::<1, Int>::from_data(TensorData::new(remaining.iter().map(|&i| i as i64).collect::<Vec<_>>(), [remaining.len()]), &device);
        let (sub_x, sub_y) = (x.clone().select(0, index.clone()), y.clone().select(0, index));
        let global: Vec<usize> = remaining.iter().map(|&i| first + i).collect();
        let adversarial = match *attack {
            Attack::Apgd { norm, loss, iterations, restarts } => {
                // APGD keys its starts by the example's index, so the scattered survivors run as one batch.
                apgd_indexed(model, sub_x, sub_y.clone(), &ApgdSettings { norm, epsilon, iterations, restarts, loss, seed: s.seed }, &global)
            }
            Attack::Fab { norm, targets, iterations } => fab_targeted(model, sub_x, sub_y.clone(), &FabSettings { norm, epsilon, iterations, targets }).0,
            Attack::Square { queries, p_init } => {
                if D != 4 || s.norm != Norm::Linf {
                    continue; // Square needs image batches and is the L∞ attack
                }
                let dims = sub_x.dims();
                let images: Tensor<4> = sub_x.reshape([dims[0], dims[1], dims[2], dims[3]]);
                let as_d = |t: Tensor<4>| {
                    let d = t.dims();
                    t.reshape(std::array::from_fn::<usize, D, _>(|j| d[j]))
                };
                as_d(square_attack_at(
                    &|t: Tensor<4>| model.logits(as_d(t)),
                    images,
                    sub_y.clone(),
                    &SquareSettings { epsilon, queries, p_init, seed: s.seed },
                    &global,
                ))
            }
            _ => return Err(AttackError::InvalidSetting(format!("{} is not an attack of the ensemble", attack.name()))),
        };
        for (broken, &i) in wrong_subset(model, adversarial, &sub_y).into_iter().zip(&remaining) {
            if broken {
                fate[i] = Fate::Broken(k);
            }
        }
    }
    Ok(fate)
}

fn wrong_subset<const D: usize, M: Classifier<D>>(model: &M, points: Tensor<D>, y: &Tensor<1, Int>) -> Vec<bool> {
    let labels: Vec<i64> = y.clone().into_data().iter::<i64>().collect();
    predictions(model.logits(points)).into_data().iter::<i64>().zip(&labels).map(|(p, l)| p != *l).collect()
}

/// Robust accuracy of one attack of the ensemble (or [`WORST_CASE`], all four) at one ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteRecord {
    /// `apgd-ce`, `apgd-t`, `fab-t`, `square` (accuracy after it and the attacks before it) or [`WORST_CASE`].
    pub attack: String,
    /// The radius.
    pub epsilon: f32,
    /// Examples still correctly classified after this attack and the ones before.
    pub accuracy: f64,
    /// Examples this attack broke first.
    pub broken: usize,
    /// Examples attacked.
    pub n_examples: usize,
    /// 95 % Wilson interval of `accuracy` over the examples.
    pub interval: (f64, f64),
}

/// Everything the ensemble found over an ε grid.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SuiteReport {
    /// Per ε: the accuracy after each attack, and the worst case.
    pub records: Vec<SuiteRecord>,
    /// Per ε, per example: what became of it.
    pub fates: Vec<(f32, Vec<Fate>)>,
    /// The checks of the module doc.
    pub checks: Vec<Check>,
}

/// What the checks around the ensemble compare with.
#[derive(Debug, Clone, Copy)]
pub struct SuiteChecks {
    /// The PGD of the experiment (its steps and restarts are doubled and made 5 for the check).
    pub pgd: Attack,
    /// A large ε at which APGD-CE must bring accuracy to chance (0.5 on MNIST).
    pub large_epsilon: f32,
    /// Chance accuracy (0.1 for ten classes).
    pub chance: f64,
    /// Examples the convergence check runs on (the first ones).
    pub convergence_examples: usize,
}

/// Largest change of robust accuracy allowed between an attack and its twice-as-long, five-restart
/// version: one percentage point, or two examples when fewer than 200 are checked.
pub fn convergence_tolerance(examples: usize) -> f64 {
    (2.0 / examples as f64).max(0.01)
}

/// Runs the ensemble at each of `epsilons` on `images`/`labels` in batches, then the checks.
///
/// The model must classify each example independently of the others in its batch (evaluation mode;
/// no batch statistics): the attacks run on the examples still robust, and side by side in stacked
/// batches, so a batch-dependent model would be a different model from one attack to the next.
#[allow(clippy::too_many_arguments)] // the model, its data, the grid, the batching, the budgets, the checks, the bar
pub fn run_suite<const D: usize, M: Classifier<D>>(
    model: &M,
    images: Tensor<D>,
    labels: Tensor<1, Int>,
    epsilons: &[f32],
    batch_size: usize,
    s: &SuiteSettings,
    checks: &SuiteChecks,
    show_progress: bool,
) -> Result<SuiteReport> {
    let n = images.dims()[0];
    if labels.dims()[0] != n {
        return Err(AttackError::CountMismatch { images: n, labels: labels.dims()[0] });
    }
    if n == 0 || batch_size == 0 || epsilons.is_empty() {
        return Err(AttackError::InvalidSetting("the ensemble needs examples, a positive batch size and at least one ε".into()));
    }
    for attack in s.attacks() {
        for &eps in epsilons {
            attack.validate(eps)?;
        }
    }
    let bar = if show_progress { ProgressBar::new((epsilons.len() * n) as u64) } else { ProgressBar::hidden() };
    bar.set_style(ProgressStyle::with_template("{msg:24} {bar:30} {pos}/{len} examples × ε, eta {eta}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let (mut records, mut fates) = (Vec::new(), Vec::new());
    for &eps in epsilons {
        bar.set_message(format!("AutoAttack ε={eps}"));
        let mut fate = Vec::with_capacity(n);
        for first in (0..n).step_by(batch_size) {
            let len = batch_size.min(n - first);
            fate.extend(autoattack(model, images.clone().narrow(0, first, len), labels.clone().narrow(0, first, len), eps, s, first)?);
            bar.inc(len as u64);
        }
        records.extend(records_of(eps, &fate));
        fates.push((eps, fate));
    }
    bar.finish_and_clear();
    let checks = suite_checks(model, &images, &labels, epsilons, batch_size, s, checks, &records, &fates)?;
    Ok(SuiteReport { records, fates, checks })
}

/// The accuracy after each attack (and the worst case) at `eps`, from the examples' fates.
pub fn records_of(eps: f32, fate: &[Fate]) -> Vec<SuiteRecord> {
    let n = fate.len();
    let clean_wrong = fate.iter().filter(|f| **f == Fate::Clean).count();
    let mut broken_so_far = clean_wrong;
    let mut out = Vec::new();
    for (k, attack) in SUITE_ATTACKS.iter().enumerate() {
        let broken = fate.iter().filter(|f| **f == Fate::Broken(k)).count();
        broken_so_far += broken;
        let correct = n - broken_so_far;
        out.push(SuiteRecord {
            attack: attack.to_string(),
            epsilon: eps,
            accuracy: correct as f64 / n as f64,
            broken,
            n_examples: n,
            interval: wilson(correct, n),
        });
    }
    let robust = fate.iter().filter(|f| **f == Fate::Robust).count();
    out.push(SuiteRecord {
        attack: WORST_CASE.to_string(),
        epsilon: eps,
        accuracy: robust as f64 / n as f64,
        broken: n - robust - clean_wrong,
        n_examples: n,
        interval: wilson(robust, n),
    });
    out
}

/// Accuracy of `attack` at `eps` on the batches of `x`.
fn accuracy_under<const D: usize, M: Classifier<D>>(
    model: &M,
    attack: &Attack,
    x: &Tensor<D>,
    y: &Tensor<1, Int>,
    eps: f32,
    batch_size: usize,
    seed: u64,
) -> Result<f64> {
    let n = x.dims()[0];
    let mut correct = 0;
    for first in (0..n).step_by(batch_size) {
        let len = batch_size.min(n - first);
        let (xb, yb) = (x.clone().narrow(0, first, len), y.clone().narrow(0, first, len));
        let adversarial = attack.run(model, xb, yb.clone(), eps, seed, first)?;
        correct += wrong_subset(model, adversarial, &yb).iter().filter(|w| !**w).count();
    }
    Ok(correct as f64 / n as f64)
}

#[allow(clippy::too_many_arguments)] // what the checks compare: the data, the grid, the attacks, the results
fn suite_checks<const D: usize, M: Classifier<D>>(
    model: &M,
    images: &Tensor<D>,
    labels: &Tensor<1, Int>,
    epsilons: &[f32],
    batch_size: usize,
    s: &SuiteSettings,
    checks: &SuiteChecks,
    records: &[SuiteRecord],
    fates: &[(f32, Vec<Fate>)],
) -> Result<Vec<Check>> {
    let n = images.dims()[0];
    let mut out = Vec::new();
    // Convergence, on the first examples, at the ε where it says most: where APGD-CE left accuracy
    // nearest half the clean accuracy (at an ε where everything or nothing breaks, any attack agrees).
    let clean = fates.first().map_or(0.0, |(_, f)| f.iter().filter(|f| **f != Fate::Clean).count() as f64 / n as f64);
    let after_apgd = |eps: f32| records.iter().find(|r| r.attack == SUITE_ATTACKS[0] && r.epsilon == eps).map_or(0.0, |r| r.accuracy);
    let eps =
        epsilons.iter().copied().min_by(|a, b| (after_apgd(*a) - clean / 2.0).abs().total_cmp(&(after_apgd(*b) - clean / 2.0).abs())).unwrap_or(epsilons[0]);
    let m = checks.convergence_examples.min(n).max(1);
    let (x, y) = (images.clone().narrow(0, 0, m), labels.clone().narrow(0, 0, m));
    let tolerance = convergence_tolerance(m);
    let longer = |attack: Attack| match attack {
        Attack::Pgd { norm, steps, step_size, random_start, .. } => Attack::Pgd { norm, steps: 2 * steps, step_size, restarts: 5, random_start },
        Attack::Apgd { norm, loss, iterations, .. } => Attack::Apgd { norm, loss, iterations: 2 * iterations, restarts: 5 },
        other => other,
    };
    for attack in [checks.pgd, s.attacks()[0]] {
        let (base, long) =
            (accuracy_under(model, &attack, &x, &y, eps, batch_size, s.seed)?, accuracy_under(model, &longer(attack), &x, &y, eps, batch_size, s.seed)?);
        out.push(Check::new(
            &format!("{} converged: 2× iterations and 5 restarts change accuracy by ≤ {tolerance:.3} at ε = {eps}", attack.name()),
            (base - long).abs() <= tolerance,
            format!("{base:.4} → {:.4} on {m} examples", long),
        ));
    }
    // Zero input gradients: a model whose loss is flat around many inputs defeats gradient attacks.
    let mut zero = 0;
    for first in (0..n).step_by(batch_size) {
        let len = batch_size.min(n - first);
        let g = input_gradient(model, images.clone().narrow(0, first, len), labels.clone().narrow(0, first, len));
        let norms: Vec<f32> = g.abs().flatten::<2>(1, D - 1).sum_dim(1).into_data().iter::<f32>().collect();
        zero += norms.iter().filter(|v| **v == 0.0).count();
    }
    let fraction = zero as f64 / n as f64;
    out.push(Check::new("input gradients not zero (≤ 1 % of examples with ∇ₓ loss = 0)", fraction <= 0.01, format!("{zero} of {n} ({fraction:.4})")));
    // Square breaking what the gradient attacks could not suggests masked gradients.
    let square_only: Vec<String> = fates
        .iter()
        .map(|(eps, fate)| (eps, fate.iter().filter(|f| **f == Fate::Broken(3)).count()))
        .filter(|(_, k)| *k as f64 > 0.005 * n as f64)
        .map(|(eps, k)| format!("ε {eps}: {k} examples"))
        .collect();
    out.push(Check::new("no gradient masking: Square breaks ≤ 0.5 % of examples the gradient attacks did not", square_only.is_empty(), square_only.join("; ")));
    let worst: Vec<&SuiteRecord> = records.iter().filter(|r| r.attack == WORST_CASE).collect();
    let rises: Vec<String> = worst
        .windows(2)
        .filter(|w| w[1].epsilon > w[0].epsilon && w[1].accuracy > w[0].accuracy + 0.005)
        .map(|w| format!("ε {} → {}: {:.4} → {:.4}", w[0].epsilon, w[1].epsilon, w[0].accuracy, w[1].accuracy))
        .collect();
    out.push(Check::new("worst-case accuracy non-increasing in ε", rises.is_empty(), rises.join("; ")));
    let large = accuracy_under(model, &s.attacks()[0], images, labels, checks.large_epsilon, batch_size, s.seed)?;
    out.push(Check::new(
        &format!("APGD-CE reaches chance at ε = {}", checks.large_epsilon),
        large <= checks.chance,
        format!("accuracy {large:.4} (chance {:.2})", checks.chance),
    ));
    Ok(out)
}
