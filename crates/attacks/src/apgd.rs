//! Auto-PGD (Croce & Hein, ICML 2020): projected gradient ascent whose step size needs no tuning.
//!
//! From a random point of the ε-ball, each iteration takes a step of size η along the gradient's sign
//! (L∞) or direction (L2), then mixes it with the previous move (momentum 0.75, none on the first
//! step), projecting onto the ball and [0, 1] after each part. The step starts at 2ε. At checkpoints
//! (the first after 22 % of the iterations, then ever closer, at least 6 % apart) the step of an
//! example is halved, and the example restarts from its best point, when its loss rose in at most
//! 75 % of the iterations since the last checkpoint, or when neither its step was halved nor its best
//! loss improved since then. The best point (highest loss) is kept, and any iterate that fools the
//! model wins over it.
//!
//! Losses: cross-entropy (APGD-CE), the difference of logits ratio (DLR, scale-invariant:
//! −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3)), and its targeted form (APGD-T: −(z_y − z_t) /
//! (z_π1 − (z_π3 + z_π4)/2), run once for each of the most likely wrong classes).

use burn::prelude::*;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::Classifier;
use crate::gradient::{Norm, per_example_l2};
use crate::loss::{cross_entropy_per_example, predictions};
use crate::random::per_example_tensor_at;

/// What APGD maximises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ApgdLoss {
    /// Cross-entropy (APGD-CE).
    CrossEntropy,
    /// The difference of logits ratio, untargeted (APGD-DLR).
    Dlr,
    /// The targeted difference of logits ratio over the given number of most likely wrong classes,
    /// one run each (APGD-T; AutoAttack uses 9).
    TargetedDlr(usize),
}

/// Rows one stacked batch of runs may reach (examples × runs side by side), bounding memory.
pub const STACKED_ROWS: usize = 4096;

/// Settings of one APGD attack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApgdSettings {
    /// The ball.
    pub norm: Norm,
    /// Its radius.
    pub epsilon: f32,
    /// Iterations per run (AutoAttack: 100).
    pub iterations: usize,
    /// Runs from fresh random starts on the examples still robust (AutoAttack: 1).
    pub restarts: usize,
    /// The loss.
    pub loss: ApgdLoss,
    /// Seeds the random starts (per example).
    pub seed: u64,
}

/// The iterations at which steps are checked: the first after max(⌊0.22 N⌋, 1), then each interval
/// shorter by max(⌊0.03 N⌋, 1) down to max(⌊0.06 N⌋, 1).
pub fn checkpoints(iterations: usize) -> Vec<usize> {
    let (first, shrink, shortest) = ((iterations * 22 / 100).max(1), (iterations * 3 / 100).max(1), (iterations * 6 / 100).max(1));
    let mut out = Vec::new();
    let (mut at, mut interval) = (first, first);
    while at <= iterations {
        out.push(at);
        interval = interval.saturating_sub(shrink).max(shortest);
        at += interval;
    }
    out
}

/// The difference of logits ratio of each example: −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e-12);
/// positive exactly when misclassified. Sorting only picks indices (no gradient flows through it).
pub fn dlr_loss(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let classes = logits.dims()[1];
    let (_, order) = logits.clone().detach().sort_descending_with_indices(1);
    // With fewer classes than the formula names, the smallest logit stands in for the missing ones.
    let top = |k: usize| logits.clone().gather(1, order.clone().narrow(1, k.min(classes - 1), 1)).squeeze_dim::<1>(1);
    let true_logit = logits.clone().gather(1, labels.clone().unsqueeze_dim(1)).squeeze_dim::<1>(1);
    // The largest other logit: the second when the true class leads, else the first.
    let leads = order.clone().narrow(1, 0, 1).squeeze_dim::<1>(1).equal(labels);
    let other = top(0).mask_where(leads, top(1));
    -(true_logit - other) / (top(0) - top(2) + 1e-12)
}

/// The targeted difference of logits ratio: −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 1e-12).
pub fn targeted_dlr_loss(logits: Tensor<2>, labels: Tensor<1, Int>, targets: Tensor<1, Int>) -> Tensor<1> {
    let classes = logits.dims()[1];
    let (_, order) = logits.clone().detach().sort_descending_with_indices(1);
    let top = |k: usize| logits.clone().gather(1, order.clone().narrow(1, k.min(classes - 1), 1)).squeeze_dim::<1>(1);
    let pick = |classes: Tensor<1, Int>| logits.clone().gather(1, classes.unsqueeze_dim(1)).squeeze_dim::<1>(1);
    -(pick(labels) - pick(targets)) / (top(0) - (top(2) + top(3)) * 0.5 + 1e-12)
}

/// The class each example ranks `rank`-th (0: the most likely) on its clean input.
pub fn ranked_class<const D: usize, M: Classifier<D>>(model: &M, x: Tensor<D>, rank: usize) -> Tensor<1, Int> {
    let (_, order) = model.logits(x).detach().sort_descending_with_indices(1);
    order.narrow(1, rank, 1).squeeze_dim::<1>(1)
}

/// Loss per example, its input gradient, and the predictions, at `x`.
fn loss_and_gradient<const D: usize, M: Classifier<D>>(
    model: &M,
    x: Tensor<D>,
    y: Tensor<1, Int>,
    loss: ApgdLoss,
    target: Option<Tensor<1, Int>>,
) -> (Tensor<1>, Tensor<D>, Tensor<1, Int>) {
    let input = x.detach().autodiff().require_grad();
    let logits = model.logits(input.clone());
    let per_example = match (loss, target) {
        (ApgdLoss::CrossEntropy, _) => cross_entropy_per_example(logits.clone(), y),
        (ApgdLoss::TargetedDlr(_), Some(t)) => targeted_dlr_loss(logits.clone(), y, t),
        _ => dlr_loss(logits.clone(), y),
    };
    let grads = per_example.clone().sum().backward();
    let gradient = input.grad(&grads).expect("the input requires a gradient");
    (per_example.inner(), gradient, predictions(logits.inner()))
}

/// Projection onto the ε-ball around `x` (in `norm`) and onto [0, 1].
fn project<const D: usize>(point: Tensor<D>, x: &Tensor<D>, norm: Norm, epsilon: f32) -> Tensor<D> {
    let delta = point - x.clone();
    let delta = match norm {
        Norm::Linf => delta.clamp(-epsilon, epsilon),
        Norm::L2 => {
            let factor = per_example_l2(delta.clone()).clamp_min(1e-12).recip().mul_scalar(epsilon).clamp_max(1.0);
            scale_rows(delta, factor)
        }
    };
    (x.clone() + delta).clamp(0.0, 1.0)
}

/// One step of size `step` (per example) from `point` along `gradient`'s sign (L∞) or direction (L2).
fn ascend<const D: usize>(point: Tensor<D>, gradient: Tensor<D>, step: &Tensor<1>, norm: Norm) -> Tensor<D> {
    let direction = match norm {
        Norm::Linf => gradient.sign(),
        Norm::L2 => scale_rows(gradient.clone(), per_example_l2(gradient).clamp_min(1e-12).recip()),
    };
    point + scale_rows(direction, step.clone())
}

fn scale_rows<const D: usize>(t: Tensor<D>, factor: Tensor<1>) -> Tensor<D> {
    let mut shape = [1usize; D];
    shape[0] = factor.dims()[0];
    t * factor.reshape(shape)
}

fn rows_where<const D: usize>(mask: &[bool], device: &Device, dims: [usize; D]) -> Tensor<D, Bool> {
    let mut shape = [1usize; D];
    shape[0] = dims[0];
    Tensor::<1, Bool>::from_data(TensorData::new(mask.to_vec(), [mask.len()]), device).reshape(shape).expand(dims)
}

/// A random start in the ε-ball for the examples whose indices in the evaluated set are `indices`:
/// uniform directions scaled so that the largest coordinate is ε (L∞), or a Gaussian direction of norm
/// ε (L2), then clipped to [0, 1]. Each example's start comes from its own random stream.
fn random_start<const D: usize>(x: &Tensor<D>, s: &ApgdSettings, run: u64, indices: &[usize]) -> Tensor<D> {
    let eps = s.epsilon;
    let purpose = 0x4150_4744_0000 + run; // "APGD" + run
    let noise = per_example_tensor_at(x.dims(), &x.device(), s.seed, purpose, indices, |rng, row| match s.norm {
        Norm::Linf => {
            row.iter_mut().for_each(|v| *v = rng.random_range(-1.0f32..=1.0));
            let top = row.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
            row.iter_mut().for_each(|v| *v *= eps / top);
        }
        Norm::L2 => {
            row.iter_mut().for_each(|v| *v = StandardNormal.sample(rng));
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|v| *v *= eps / norm);
        }
    });
    (x.clone() + noise).clamp(0.0, 1.0)
}

/// What one APGD run found for each example.
struct Run<const D: usize> {
    /// The example's adversarial point: an iterate that fooled the model, else its best point.
    points: Tensor<D>,
    /// Whether some iterate fooled the model.
    fooled: Vec<bool>,
}

/// One APGD run on `x` (labels `y`) from `start`, `target` for the targeted loss.
fn run_once<const D: usize, M: Classifier<D>>(
    model: &M,
    x: &Tensor<D>,
    y: &Tensor<1, Int>,
    s: &ApgdSettings,
    target: Option<Tensor<1, Int>>,
    start: Tensor<D>,
) -> Run<D> {
    let n = x.dims()[0];
    let device = x.device();
    let labels: Vec<i64> = y.clone().into_data().iter::<i64>().collect();
    let mut point = start;
    let (mut loss, mut gradient, prediction) = loss_and_gradient(model, point.clone(), y.clone(), s.loss, target.clone());
    let mut losses: Vec<f32> = loss.clone().into_data().iter::<f32>().collect();
    let mut fooled: Vec<bool> = prediction.into_data().iter::<i64>().zip(&labels).map(|(p, l)| p != *l).collect();
    let mut fooling = point.clone();
    let (mut best, mut best_gradient, mut best_loss) = (point.clone(), gradient.clone(), losses.clone());
    let mut step = vec![2.0 * s.epsilon; n];
    let mut previous = point.clone();
    // Checkpoint bookkeeping per example: rises since the last check, best loss and halving then.
    let checks = checkpoints(s.iterations);
    let mut rises = vec![0usize; n];
    let mut best_at_check = best_loss.clone();
    let mut halved_at_check = vec![true; n];
    let mut last_check = 0;
    for iteration in 0..s.iterations {
        let step_tensor = Tensor::<1>::from_data(TensorData::new(step.clone(), [n]), &device);
        let proposal = project(ascend(point.clone(), gradient.clone(), &step_tensor, s.norm), x, s.norm, s.epsilon);
        let next = if iteration == 0 {
            proposal
        } else {
            let moved = point.clone() + (proposal - point.clone()).mul_scalar(0.75) + (point.clone() - previous.clone()).mul_scalar(0.25);
            project(moved, x, s.norm, s.epsilon)
        };
        previous = point;
        point = next;
        let prediction;
        (loss, gradient, prediction) = loss_and_gradient(model, point.clone(), y.clone(), s.loss, target.clone());
        let new_losses: Vec<f32> = loss.clone().into_data().iter::<f32>().collect();
        let now_fooled: Vec<bool> = prediction.into_data().iter::<i64>().zip(&labels).map(|(p, l)| p != *l).collect();
        let newly: Vec<bool> = now_fooled.iter().zip(&fooled).map(|(now, before)| *now && !before).collect();
        if newly.iter().any(|&b| b) {
            fooling = fooling.mask_where(rows_where(&newly, &device, x.dims()), point.clone());
            fooled.iter_mut().zip(&newly).for_each(|(f, n)| *f |= n);
        }
        let improved: Vec<bool> = new_losses.iter().zip(&best_loss).map(|(l, b)| l > b).collect();
        for i in 0..n {
            rises[i] += usize::from(new_losses[i] > losses[i]);
            if improved[i] {
                best_loss[i] = new_losses[i];
            }
        }
        if improved.iter().any(|&b| b) {
            let mask = rows_where(&improved, &device, x.dims());
            best = best.mask_where(mask.clone(), point.clone());
            best_gradient = best_gradient.mask_where(mask, gradient.clone());
        }
        losses = new_losses;
        if checks.contains(&(iteration + 1)) {
            let since = iteration + 1 - last_check;
            let halve: Vec<bool> =
                (0..n).map(|i| (rises[i] as f64) <= 0.75 * since as f64 || (!halved_at_check[i] && best_at_check[i] >= best_loss[i])).collect();
            for i in 0..n {
                if halve[i] {
                    step[i] /= 2.0;
                }
                rises[i] = 0;
            }
            if halve.iter().any(|&b| b) {
                let mask = rows_where(&halve, &device, x.dims());
                point = point.mask_where(mask.clone(), best.clone());
                gradient = gradient.mask_where(mask, best_gradient.clone());
            }
            halved_at_check = halve;
            best_at_check = best_loss.clone();
            last_check = iteration + 1;
        }
    }
    let points = best.mask_where(rows_where(&fooled, &device, x.dims()), fooling);
    Run { points, fooled }
}

/// APGD on a batch: `x` (values in [0, 1]) with labels `y`. Each restart (and, for the targeted loss,
/// each target class, the 2nd most likely first) runs on the examples still robust. Returns the
/// adversarial points: a fooling point where one was found, else the highest-loss point of the last
/// run (unchanged inputs where the model was wrong to begin with). `first` is the
/// index of the batch's first example in the evaluated set, which keys all randomness.
pub fn apgd<const D: usize, M: Classifier<D>>(model: &M, x: Tensor<D>, y: Tensor<1, Int>, s: &ApgdSettings, first: usize) -> Tensor<D> {
    let indices: Vec<usize> = (first..first + x.dims()[0]).collect();
    apgd_indexed(model, x, y, s, &indices)
}

/// [`apgd`] on examples whose indices in the evaluated set are `indices` (one per row, in any order):
/// each example gets the random starts it gets in any batch, so the examples an ensemble still has
/// to attack, wherever they lie, run as one batch.
pub(crate) fn apgd_indexed<const D: usize, M: Classifier<D>>(model: &M, x: Tensor<D>, y: Tensor<1, Int>, s: &ApgdSettings, indices: &[usize]) -> Tensor<D> {
    let n = x.dims()[0];
    debug_assert_eq!(indices.len(), n, "one index per example");
    let device = x.device();
    let labels: Vec<i64> = y.clone().into_data().iter::<i64>().collect();
    let clean: Vec<i64> = predictions(model.logits(x.clone())).into_data().iter::<i64>().collect();
    let mut robust: Vec<bool> = clean.iter().zip(&labels).map(|(p, l)| p == l).collect();
    let mut adversarial = x.clone();
    let classes = model.logits(x.clone().narrow(0, 0, 1)).dims()[1];
    let ranks: Vec<Option<usize>> = match s.loss {
        ApgdLoss::TargetedDlr(k) => (1..=k.min(classes - 1)).map(Some).collect(),
        _ => vec![None],
    };
    let targets: Vec<Option<Tensor<1, Int>>> = ranks.iter().map(|rank| rank.map(|r| ranked_class(model, x.clone(), r))).collect();
    // The runs in AutoAttack's order: per target class, its restarts.
    let runs: Vec<(usize, usize)> = (0..ranks.len()).flat_map(|t| (0..s.restarts).map(move |restart| (t, restart))).collect();
    let mut next = 0;
    while next < runs.len() {
        let remaining: Vec<usize> = (0..n).filter(|&i| robust[i]).collect();
        if remaining.is_empty() {
            break;
        }
        // Runs are independent per example, so consecutive ones run side by side, stacked in one batch
        // (bigger products run faster): each example keeps the first of them that fooled it, as if they
        // had run one after another on the examples still robust.
        let m = remaining.len();
        let group = &runs[next..(next + (STACKED_ROWS / m).max(1)).min(runs.len())];
        next += group.len();
        let index = Tensor::<1, Int>::from_data(TensorData::new(remaining.iter().map(|&i| i as i64).collect::<Vec<_>>(), [m]), &device);
        let (sub_x, sub_y) = (x.clone().select(0, index.clone()), y.clone().select(0, index.clone()));
        // Each example's start is drawn for its index in the evaluated set: the same in any batch.
        let global: Vec<usize> = remaining.iter().map(|&i| indices[i]).collect();
        let starts = group.iter().map(|&(t, restart)| random_start(&sub_x, s, (restart + 100 * ranks[t].unwrap_or(0)) as u64, &global)).collect();
        let stacked_targets = targets[group[0].0]
            .as_ref()
            .map(|_| Tensor::cat(group.iter().filter_map(|&(t, _)| targets[t].clone().map(|c| c.select(0, index.clone()))).collect(), 0));
        let repeat = |t: &Tensor<D>| Tensor::cat(vec![t.clone(); group.len()], 0);
        let run = run_once(model, &repeat(&sub_x), &Tensor::cat(vec![sub_y.clone(); group.len()], 0), s, stacked_targets, Tensor::cat(starts, 0));
        // Every attacked example takes a fooling point, else the last run's (its highest loss, the
        // strongest attempt, as PGD returns); examples fooled earlier are not attacked again.
        let mut mask = vec![false; n];
        let mut source = vec![0i64; n];
        for (k, &i) in remaining.iter().enumerate() {
            let fooled = (0..group.len()).find(|j| run.fooled[j * m + k]);
            mask[i] = true;
            source[i] = (fooled.unwrap_or(group.len() - 1) * m + k) as i64;
            robust[i] &= fooled.is_none();
        }
        let gathered = run.points.select(0, Tensor::<1, Int>::from_data(TensorData::new(source, [n]), &device));
        adversarial = adversarial.mask_where(rows_where(&mask, &device, x.dims()), gathered);
    }
    adversarial
}
