//! One serialisable description of every attack, and its dispatch.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Classifier;
use crate::apgd::{ApgdLoss, ApgdSettings, apgd};
use crate::error::{AttackError, Result};
use crate::fab::{FabSettings, fab_targeted};
use crate::gradient::{Norm, PgdSettings, fgsm, pgd};
use crate::noise::{NoiseKind, noise};
use crate::square::{SquareSettings, square_attack};

/// PGD's step size: fixed (0.01 on MNIST in the paper) or a multiple of ε (2.5 ε / steps on CIFAR-10).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum StepSize {
    /// A fixed step (pixel units).
    Absolute(f32),
    /// A multiple of ε.
    TimesEpsilon(f32),
}

impl StepSize {
    fn at(self, epsilon: f32) -> f32 {
        match self {
            StepSize::Absolute(a) => a,
            StepSize::TimesEpsilon(k) => k * epsilon,
        }
    }
}

/// An attack, with everything but ε fixed. All are untargeted on cross-entropy (Square: on the margin)
/// and clip to [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Attack {
    /// FGSM, L∞, no random start.
    Fgsm,
    /// PGD in L∞ or L2.
    Pgd {
        /// The ball it projects onto.
        norm: Norm,
        /// Gradient steps per restart.
        steps: usize,
        /// Step length.
        step_size: StepSize,
        /// Restarts; each example keeps its worst case.
        restarts: usize,
        /// Start from a uniform random point of the ε-ball instead of the input.
        random_start: bool,
    },
    /// Auto-PGD (see [`crate::apgd`]): cross-entropy, DLR, or targeted DLR over the most likely wrong
    /// classes.
    Apgd {
        /// The ball.
        norm: Norm,
        /// The loss.
        loss: ApgdLoss,
        /// Iterations per run.
        iterations: usize,
        /// Runs on the examples still robust.
        restarts: usize,
    },
    /// FAB-T (see [`crate::fab`]): the smallest fooling perturbation towards each of the most likely
    /// wrong classes; counted as a success when it lies within ε.
    Fab {
        /// The norm.
        norm: Norm,
        /// Target classes.
        targets: usize,
        /// Iterations per target.
        iterations: usize,
    },
    /// Square Attack, L∞, gradient-free (image inputs only).
    Square {
        /// Model evaluations per example.
        queries: usize,
        /// Initial fraction of pixels changed per proposal.
        p_init: f32,
    },
    /// Random noise control.
    Noise(NoiseKind),
}

/// What kind of attack an [`Attack`] is, whatever its parameters: what a table's attack name says
/// ([`AttackKind::of_name`] reads back what [`Attack::name`] writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AttackKind {
    /// FGSM.
    Fgsm,
    /// PGD in L∞.
    PgdLinf,
    /// PGD in L2.
    PgdL2,
    /// APGD on the cross-entropy.
    ApgdCe,
    /// APGD on the DLR loss.
    ApgdDlr,
    /// APGD on the targeted DLR loss.
    ApgdT,
    /// FAB-T.
    FabT,
    /// The Square Attack.
    Square,
    /// Uniform noise.
    NoiseUniform,
    /// Gaussian noise.
    NoiseGaussian,
}

impl AttackKind {
    /// The kind of the attack a table names `name` (`pgd40` → PGD in L∞), if [`Attack::name`] can
    /// write it.
    pub fn of_name(name: &str) -> Option<AttackKind> {
        let digits = |rest: &str| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit());
        match name {
            "fgsm" => Some(AttackKind::Fgsm),
            "noise-uniform" => Some(AttackKind::NoiseUniform),
            "noise-gaussian" => Some(AttackKind::NoiseGaussian),
            _ => {
                // `<kind><number>`, optionally `-l2`: the kind is the prefix before the number.
                let base = name.strip_suffix("-l2").unwrap_or(name);
                let split = base.find(|c: char| c.is_ascii_digit())?;
                let (prefix, number) = base.split_at(split);
                if !digits(number) {
                    return None;
                }
                let l2 = base.len() != name.len();
                match (prefix, l2) {
                    ("pgd", false) => Some(AttackKind::PgdLinf),
                    ("pgd", true) => Some(AttackKind::PgdL2),
                    ("apgd-ce", _) => Some(AttackKind::ApgdCe),
                    ("apgd-dlr", _) => Some(AttackKind::ApgdDlr),
                    ("apgd-t", _) => Some(AttackKind::ApgdT),
                    ("fab-t", _) => Some(AttackKind::FabT),
                    ("square", false) => Some(AttackKind::Square),
                    _ => None,
                }
            }
        }
    }
}

impl Attack {
    /// Its kind.
    pub fn kind(&self) -> AttackKind {
        match self {
            Attack::Fgsm => AttackKind::Fgsm,
            Attack::Pgd { norm: Norm::Linf, .. } => AttackKind::PgdLinf,
            Attack::Pgd { norm: Norm::L2, .. } => AttackKind::PgdL2,
            Attack::Apgd { loss: ApgdLoss::CrossEntropy, .. } => AttackKind::ApgdCe,
            Attack::Apgd { loss: ApgdLoss::Dlr, .. } => AttackKind::ApgdDlr,
            Attack::Apgd { loss: ApgdLoss::TargetedDlr(_), .. } => AttackKind::ApgdT,
            Attack::Fab { .. } => AttackKind::FabT,
            Attack::Square { .. } => AttackKind::Square,
            Attack::Noise(NoiseKind::Uniform) => AttackKind::NoiseUniform,
            Attack::Noise(NoiseKind::Gaussian) => AttackKind::NoiseGaussian,
        }
    }

    /// Its cost per example at one ε, in forward passes (a backward pass counts as two): what plans
    /// and schedules price an attack at. The final evaluation of the attacked input is included.
    pub fn passes_per_example(&self) -> f64 {
        let gradient = 3.0;
        1.0 + match *self {
            Attack::Fgsm => gradient,
            Attack::Pgd { steps, restarts, .. } => (steps as f64 * gradient + if restarts > 1 { 1.0 } else { 0.0 }) * restarts as f64,
            // A clean pass, then per run and target a start and `iterations` gradient evaluations.
            Attack::Apgd { loss, iterations, restarts, .. } => {
                let runs = match loss {
                    ApgdLoss::TargetedDlr(k) => k * restarts,
                    _ => restarts,
                };
                1.0 + runs as f64 * (iterations as f64 + 1.0) * gradient
            }
            // Per target and iteration a gradient and a prediction.
            Attack::Fab { targets, iterations, .. } => 1.0 + (targets * iterations) as f64 * (gradient + 1.0),
            Attack::Square { queries, .. } => queries as f64,
            Attack::Noise(_) => 0.0,
        }
    }

    /// protocol §1.6 on MNIST: 40 steps of 0.01, uniform random start, 1 restart.
    pub fn pgd_mnist() -> Self {
        Attack::Pgd { norm: Norm::Linf, steps: 40, step_size: StepSize::Absolute(0.01), restarts: 1, random_start: true }
    }

    /// protocol §1.6 on CIFAR-10: 40 steps of 2.5 ε / 40.
    pub fn pgd_cifar() -> Self {
        Attack::Pgd { norm: Norm::Linf, steps: 40, step_size: StepSize::TimesEpsilon(2.5 / 40.0), restarts: 1, random_start: true }
    }

    /// A short stable name for tables ("fgsm", "pgd40", "pgd40-l2", "square1000", "noise-uniform").
    pub fn name(&self) -> String {
        match self {
            Attack::Fgsm => "fgsm".into(),
            Attack::Pgd { norm: Norm::Linf, steps, .. } => format!("pgd{steps}"),
            Attack::Pgd { norm: Norm::L2, steps, .. } => format!("pgd{steps}-l2"),
            Attack::Apgd { norm, loss, iterations, .. } => {
                let base = match loss {
                    ApgdLoss::CrossEntropy => "apgd-ce",
                    ApgdLoss::Dlr => "apgd-dlr",
                    ApgdLoss::TargetedDlr(_) => "apgd-t",
                };
                format!("{base}{iterations}{}", if *norm == Norm::L2 { "-l2" } else { "" })
            }
            Attack::Fab { norm, iterations, .. } => format!("fab-t{iterations}{}", if *norm == Norm::L2 { "-l2" } else { "" }),
            Attack::Square { queries, .. } => format!("square{queries}"),
            Attack::Noise(NoiseKind::Uniform) => "noise-uniform".into(),
            Attack::Noise(NoiseKind::Gaussian) => "noise-gaussian".into(),
        }
    }

    /// The norm in which ε is measured.
    pub fn norm(&self) -> Norm {
        match self {
            Attack::Pgd { norm, .. } | Attack::Apgd { norm, .. } | Attack::Fab { norm, .. } => *norm,
            _ => Norm::Linf,
        }
    }

    /// True for attacks that search for the worst case (not the noise controls).
    pub fn is_adversarial(&self) -> bool {
        !matches!(self, Attack::Noise(_))
    }

    /// Rejects settings that cannot run.
    pub fn validate(&self, epsilon: f32) -> Result<()> {
        let bad = |m: String| Err(AttackError::InvalidSetting(m));
        if !epsilon.is_finite() || epsilon < 0.0 {
            return bad(format!("ε must be finite and ≥ 0, got {epsilon}"));
        }
        match *self {
            Attack::Pgd { steps: 0, .. } => bad("PGD needs at least one step".into()),
            Attack::Pgd { restarts: 0, .. } => bad("PGD needs at least one restart".into()),
            Attack::Pgd { step_size, .. } if !(step_size.at(1.0).is_finite() && step_size.at(1.0) > 0.0) => {
                bad(format!("PGD step size must be positive, got {step_size:?}"))
            }
            Attack::Apgd { iterations: 0, .. } | Attack::Fab { iterations: 0, .. } => bad("APGD and FAB need at least one iteration".into()),
            Attack::Apgd { restarts: 0, .. } => bad("APGD needs at least one run".into()),
            Attack::Apgd { loss: ApgdLoss::TargetedDlr(0), .. } | Attack::Fab { targets: 0, .. } => {
                bad("a targeted attack needs at least one target class".into())
            }
            Attack::Square { queries: 0, .. } => bad("the Square Attack needs at least one query".into()),
            Attack::Square { p_init, .. } if !(p_init > 0.0 && p_init <= 1.0) => bad(format!("Square p_init must be in (0, 1], got {p_init}")),
            _ => Ok(()),
        }
    }

    /// Adversarial (or noisy) versions of `x`. `first` is the index of the batch's first example in the
    /// evaluated set, which keys all randomness, so results do not depend on the batch size.
    pub fn run<const D: usize, M: Classifier<D>>(
        &self,
        model: &M,
        x: Tensor<D>,
        y: Tensor<1, Int>,
        epsilon: f32,
        seed: u64,
        first: usize,
    ) -> Result<Tensor<D>> {
        self.validate(epsilon)?;
        if epsilon == 0.0 {
            return Ok(x);
        }
        Ok(match *self {
            Attack::Fgsm => fgsm(model, x, y, epsilon),
            Attack::Pgd { norm, steps, step_size, restarts, random_start } => {
                let settings = PgdSettings { norm, epsilon, step_size: step_size.at(epsilon), steps, restarts, random_start, seed };
                pgd(model, x, y, &settings, first)
            }
            Attack::Apgd { norm, loss, iterations, restarts } => {
                let settings = ApgdSettings { norm, epsilon, iterations, restarts, loss, seed };
                apgd(model, x, y, &settings, first)
            }
            Attack::Fab { norm, targets, iterations } => fab_targeted(model, x, y, &FabSettings { norm, epsilon, iterations, targets }).0,
            Attack::Square { queries, p_init } => {
                let x4: Tensor<4> = as_images(x)?;
                let as_d = |t: Tensor<4>| {
                    let dims = dims_like::<D>(&t);
                    t.reshape(dims)
                };
                let adv = square_attack(&|t: Tensor<4>| model.logits(as_d(t)), x4, y, &SquareSettings { epsilon, queries, p_init, seed }, first);
                as_d(adv)
            }
            Attack::Noise(kind) => noise(x, kind, epsilon, seed, first),
        })
    }
}

/// Re-types a D-dimensional tensor known to have 4 dimensions.
fn as_images<const D: usize>(x: Tensor<D>) -> Result<Tensor<4>> {
    if D != 4 {
        return Err(AttackError::NeedsImages("the Square Attack", D));
    }
    let dims = x.dims();
    Ok(x.reshape([dims[0], dims[1], dims[2], dims[3]]))
}

/// The dims of a 4-dimensional tensor as `[usize; D]` (only called when D = 4).
fn dims_like<const D: usize>(t: &Tensor<4>) -> [usize; D] {
    let d = t.dims();
    std::array::from_fn(|k| d[k])
}
