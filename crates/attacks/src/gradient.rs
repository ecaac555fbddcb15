//! Gradient attacks: FGSM and projected gradient descent (L∞ and L2).

use burn::prelude::*;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::Classifier;
use crate::loss::{cross_entropy_per_example, input_gradient, predictions};
use crate::random::per_example_tensor;

/// FGSM: x + ε · sign(∇ₓ loss), clipped to [0, 1].
pub fn fgsm<const D: usize, M: Classifier<D>>(model: &M, x: Tensor<D>, y: Tensor<1, Int>, epsilon: f32) -> Tensor<D> {
    let g = input_gradient(model, x.clone(), y);
    (x + g.sign().mul_scalar(epsilon)).clamp(0.0, 1.0)
}

/// Which ball PGD projects onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Norm {
    /// The L∞ ball (the paper's attacks).
    Linf,
    /// The L2 ball.
    L2,
}

/// Settings of one PGD run (see [`pgd`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PgdSettings {
    /// The ball projected onto.
    pub norm: Norm,
    /// Its radius.
    pub epsilon: f32,
    /// Step length per iteration.
    pub step_size: f32,
    /// Iterations per restart.
    pub steps: usize,
    /// Restarts; each example keeps its worst case.
    pub restarts: usize,
    /// Start from a uniform random point of the ball.
    pub random_start: bool,
    /// Seeds the random starts (per example, so batch size never matters).
    pub seed: u64,
}

/// PGD: from a random start in the ε-ball (uniform for L∞; uniform in the ball for L2), `steps` steps of
/// size `step_size` along sign(∇) (L∞) or ∇/‖∇‖ (L2), each followed by projection onto the ε-ball and
/// [0, 1]. With several restarts, each example keeps its worst case: misclassified if any restart
/// succeeded, else the highest loss. `first` is the index of the batch's first example in the evaluated
/// set; random starts depend on it, not on the batching.
pub fn pgd<const D: usize, M: Classifier<D>>(model: &M, x: Tensor<D>, y: Tensor<1, Int>, s: &PgdSettings, first: usize) -> Tensor<D> {
    let mut best: Option<(Tensor<D>, Tensor<1>)> = None;
    for restart in 0..s.restarts {
        let mut adv = if s.random_start { project(x.clone() + random_start(&x, s, restart, first), &x, s) } else { x.clone() };
        for _ in 0..s.steps {
            let g = input_gradient(model, adv.clone(), y.clone());
            let step = match s.norm {
                Norm::Linf => g.sign().mul_scalar(s.step_size),
                Norm::L2 => scale_rows(g.clone(), per_example_l2(g).clamp_min(1e-12).recip().mul_scalar(s.step_size)),
            };
            adv = project(adv + step, &x, s);
        }
        if s.restarts == 1 {
            return adv;
        }
        let score = worst_case_score(model, adv.clone(), y.clone());
        best = Some(match best {
            None => (adv, score),
            Some((kept, kept_score)) => {
                let better = score.clone().greater(kept_score.clone());
                let mask = broadcast_rows(better.clone(), &adv.dims());
                (kept.mask_where(mask, adv), kept_score.mask_where(better, score))
            }
        });
    }
    best.expect("restarts ≥ 1 is checked by the caller").0
}

/// Loss, lifted by a large constant where the example is misclassified, so "fooled" beats "high loss".
fn worst_case_score<const D: usize, M: Classifier<D>>(model: &M, adv: Tensor<D>, y: Tensor<1, Int>) -> Tensor<1> {
    let logits = model.logits(adv);
    let wrong = predictions(logits.clone()).not_equal(y.clone()).float();
    cross_entropy_per_example(logits, y) + wrong.mul_scalar(1e6)
}

/// Projection onto the ε-ball around `x` and onto [0, 1].
fn project<const D: usize>(adv: Tensor<D>, x: &Tensor<D>, s: &PgdSettings) -> Tensor<D> {
    let delta = adv - x.clone();
    let delta = match s.norm {
        Norm::Linf => delta.clamp(-s.epsilon, s.epsilon),
        Norm::L2 => {
            let norms = per_example_l2(delta.clone());
            let factor = norms.clamp_min(1e-12).recip().mul_scalar(s.epsilon).clamp_max(1.0);
            scale_rows(delta, factor)
        }
    };
    (x.clone() + delta).clamp(0.0, 1.0)
}

fn random_start<const D: usize>(x: &Tensor<D>, s: &PgdSettings, restart: usize, first: usize) -> Tensor<D> {
    let eps = s.epsilon;
    let purpose = 0x5047_4400 + restart as u64; // "PGD" + restart
    match s.norm {
        Norm::Linf => per_example_tensor(x.dims(), &x.device(), s.seed, purpose, first, |rng, row| {
            row.iter_mut().for_each(|v| *v = rng.random_range(-eps..=eps));
        }),
        Norm::L2 => per_example_tensor(x.dims(), &x.device(), s.seed, purpose, first, |rng, row| {
            // Uniform in the L2 ball: a Gaussian direction, radius ε·u^(1/d).
            row.iter_mut().for_each(|v| *v = StandardNormal.sample(rng));
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            let radius = eps * rng.random::<f32>().powf(1.0 / row.len() as f32);
            row.iter_mut().for_each(|v| *v *= radius / norm);
        }),
    }
}

/// ‖row‖₂ of each example.
pub(crate) fn per_example_l2<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    t.flatten::<2>(1, D - 1).square().sum_dim(1).squeeze_dim::<1>(1).sqrt()
}

/// ‖row‖_∞ of each example.
pub(crate) fn per_example_linf<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    t.flatten::<2>(1, D - 1).abs().max_dim(1).squeeze_dim::<1>(1)
}

/// Multiplies example i of `t` by `factor[i]`.
fn scale_rows<const D: usize>(t: Tensor<D>, factor: Tensor<1>) -> Tensor<D> {
    let mut shape = [1usize; D];
    shape[0] = factor.dims()[0];
    t * factor.reshape(shape)
}

/// Broadcasts a per-example mask to a tensor of `dims`.
fn broadcast_rows<const D: usize>(mask: Tensor<1, Bool>, dims: &[usize; D]) -> Tensor<D, Bool> {
    let mut shape = [1usize; D];
    shape[0] = dims[0];
    mask.reshape(shape).expand(*dims)
}
