//! FAB-T, the targeted Fast Adaptive Boundary attack (Croce & Hein, ICML 2020): the smallest
//! perturbation that makes the model prefer a chosen wrong class, found by walking to the linearised
//! decision boundary.
//!
//! At the current point x₁, the boundary between the true class y and the target t is approximated by
//! the hyperplane where z_t − z_y, linearised at x₁, vanishes. Both x₁ and the clean input x₀ are
//! projected onto that hyperplane (inside [0, 1], the smallest move in the attack's norm: d₁ and d₂),
//! and the next point mixes the two moves, biased towards the clean input by α = min(‖d₁‖ / (‖d₁‖ +
//! ‖d₂‖), 0.1) and overshooting by 5 %: x₁ ← (x₁ + 1.05 d₁)(1 − α) + (x₀ + 1.05 d₂) α. When x₁ fools the
//! model, it is kept if closer to x₀ than the best so far, and x₁ steps back to x₀ + 0.9 (x₁ − x₀).
//! The attack succeeds at ε when the closest fooling point lies within ε. AutoAttack runs it for
//! each of the 9 most likely wrong classes, 100 iterations each, from the clean input.

use burn::prelude::*;
use rayon::prelude::*;

use crate::Classifier;
use crate::apgd::{STACKED_ROWS, ranked_class};
use crate::gradient::Norm;
use crate::loss::predictions;

/// Settings of FAB-T.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FabSettings {
    /// The norm the perturbation is minimised in.
    pub norm: Norm,
    /// The radius at which success is counted.
    pub epsilon: f32,
    /// Iterations per target (AutoAttack: 100).
    pub iterations: usize,
    /// Target classes, the most likely wrong ones first (AutoAttack: 9).
    pub targets: usize,
}

/// Overshoot past the boundary.
const ETA: f32 = 1.05;
/// The most the step may lean towards the clean input.
const ALPHA_MAX: f32 = 0.1;
/// The step back towards the clean input after a success.
const BETA: f32 = 0.9;

/// The smallest move δ (in `norm`) from `t` with `w · δ = c` and `t + δ` in [0, 1]; when the box does
/// not allow reaching the hyperplane, the move that comes closest. The move is δᵢ(λ) = clip(λ uᵢ, −tᵢ,
/// 1 − tᵢ) with u = sign(c) sign(w) (L∞) or sign(c) w (L2), and |w · δ(λ)| = Σ sᵢ min(λ, λᵢ) is
/// piecewise linear in λ (coordinate i saturates at λᵢ with slope sᵢ = |wᵢ uᵢ|): sorting the λᵢ gives
/// the exact λ.
pub fn project_onto_hyperplane(t: &[f32], w: &[f32], c: f32, norm: Norm) -> Vec<f32> {
    let sign = if c >= 0.0 { 1.0 } else { -1.0 };
    let direction = |wi: f32| {
        sign * match norm {
            Norm::Linf => {
                if wi > 0.0 {
                    1.0
                } else if wi < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Norm::L2 => wi,
        }
    };
    let target = f64::from(c.abs());
    if target == 0.0 {
        return vec![0.0; t.len()];
    }
    // Per moving coordinate: where it saturates (λᵢ) and how fast it adds to the reach before (sᵢ).
    let mut knots: Vec<(f64, f64)> = t
        .iter()
        .zip(w)
        .filter_map(|(&ti, &wi)| {
            let u = direction(wi);
            if u == 0.0 {
                return None;
            }
            let room = if u > 0.0 { 1.0 - ti } else { ti };
            Some((f64::from(room.max(0.0)) / f64::from(u.abs()), f64::from((wi * u).abs())))
        })
        .collect();
    knots.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Walk the knots: below λ, saturated coordinates add sᵢ λᵢ, the others sᵢ λ.
    let mut active: f64 = knots.iter().map(|k| k.1).sum();
    // Out of reach: every coordinate saturated (λ at the last knot) comes closest.
    let (mut reached, mut lambda) = (0.0f64, knots.last().map_or(0.0, |k| k.0));
    let mut previous = 0.0;
    for &(at, slope) in &knots {
        let gained = active * (at - previous);
        if reached + gained >= target {
            lambda = previous + (target - reached) / active;
            break;
        }
        reached += gained;
        active -= slope;
        previous = at;
    }
    t.iter().zip(w).map(|(&ti, &wi)| (lambda as f32 * direction(wi)).clamp(-ti, 1.0 - ti)).collect()
}

fn norm_of(v: &[f32], norm: Norm) -> f32 {
    match norm {
        Norm::Linf => v.iter().fold(0.0, |m, x| m.max(x.abs())),
        Norm::L2 => v.iter().map(|x| x * x).sum::<f32>().sqrt(),
    }
}

/// z_target − z_label of each example and its input gradient, at `x`.
fn margin_and_gradient<const D: usize, M: Classifier<D>>(model: &M, x: Tensor<D>, y: Tensor<1, Int>, target: Tensor<1, Int>) -> (Vec<f32>, Vec<f32>) {
    let input = x.detach().autodiff().require_grad();
    let logits = model.logits(input.clone());
    let pick = |classes: Tensor<1, Int>| logits.clone().gather(1, classes.unsqueeze_dim(1)).squeeze_dim::<1>(1);
    let difference = pick(target) - pick(y);
    let grads = difference.clone().sum().backward();
    let gradient = input.grad(&grads).expect("the input requires a gradient");
    (host_values(difference.inner()), host_values(gradient))
}

/// A tensor's values on the host in one move (one copy at most), not one dynamic call per value:
/// FAB reads every image's gradient back on each iteration.
fn host_values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().expect("a float tensor converts to f32")
}

/// FAB-T on a batch: for each target class in turn (the 2nd most likely first) on the examples not
/// yet broken within ε, the closest point found that the model classifies otherwise than `y`.
/// Returns the points (the input where none was found within ε) and, per example, the distance of
/// the closest fooling point (∞ when none was found). Target classes run side by side, stacked in one
/// batch (see [`crate::apgd::STACKED_ROWS`]); each example keeps the first that broke it within ε, as
/// if they had run one after another.
pub fn fab_targeted<const D: usize, M: Classifier<D>>(model: &M, x: Tensor<D>, y: Tensor<1, Int>, s: &FabSettings) -> (Tensor<D>, Vec<f32>) {
    let dims = x.dims();
    let (n, size) = (dims[0], dims[1..].iter().product::<usize>());
    let device = x.device();
    let labels: Vec<i64> = y.clone().into_data().iter::<i64>().collect();
    let clean: Vec<f32> = host_values(x.clone());
    let correct: Vec<bool> = predictions(model.logits(x.clone())).into_data().iter::<i64>().zip(&labels).map(|(p, l)| p == *l).collect();
    let mut distance = vec![f32::INFINITY; n];
    let mut best = clean.clone();
    let classes = model.logits(x.clone().narrow(0, 0, 1)).dims()[1];
    let ranks: Vec<usize> = (1..=s.targets.min(classes - 1)).collect();
    let targets: Vec<Tensor<1, Int>> = ranks.iter().map(|&r| ranked_class(model, x.clone(), r)).collect();
    let mut next = 0;
    while next < ranks.len() {
        let remaining: Vec<usize> = (0..n).filter(|&i| correct[i] && distance[i] > s.epsilon).collect();
        if remaining.is_empty() {
            break;
        }
        let m = remaining.len();
        let group = next..(next + (STACKED_ROWS / m).max(1)).min(ranks.len());
        next = group.end;
        let index = Tensor::<1, Int>::from_data(TensorData::new(remaining.iter().map(|&i| i as i64).collect::<Vec<_>>(), [m]), &device);
        let rows = m * group.len();
        let sub_y = Tensor::cat(vec![y.clone().select(0, index.clone()); group.len()], 0);
        let sub_t = Tensor::cat(group.clone().map(|t| targets[t].clone().select(0, index.clone())).collect(), 0);
        let row_labels: Vec<i64> = (0..rows).map(|r| labels[remaining[r % m]]).collect();
        let origin: Vec<f32> = (0..rows).flat_map(|r| clean[remaining[r % m] * size..(remaining[r % m] + 1) * size].iter().copied()).collect();
        let (row_distance, row_best) = fab_rows(model, &origin, &row_labels, (sub_y, sub_t), dims, s);
        for (k, &i) in remaining.iter().enumerate() {
            let runs: Vec<usize> = (0..group.len()).map(|j| j * m + k).collect();
            // The first run that broke it within ε, else its closest fooling point of all.
            let chosen = runs
                .iter()
                .copied()
                .find(|&r| row_distance[r] <= s.epsilon)
                .or_else(|| runs.iter().copied().min_by(|a, b| row_distance[*a].total_cmp(&row_distance[*b])));
            if let Some(r) = chosen.filter(|&r| row_distance[r] < distance[i]) {
                distance[i] = row_distance[r];
                best[i * size..(i + 1) * size].copy_from_slice(&row_best[r * size..(r + 1) * size]);
            }
        }
    }
    // Points beyond ε do not count: the input stands for them.
    for i in 0..n {
        if distance[i] > s.epsilon {
            best[i * size..(i + 1) * size].copy_from_slice(&clean[i * size..(i + 1) * size]);
        }
    }
    (Tensor::from_data(TensorData::new(best, dims), &device), distance)
}

/// FAB's iterations on rows from `origin` (row-major), each towards its own target: per row, the
/// distance of its closest fooling point (∞ when none) and that point (the origin when none).
fn fab_rows<const D: usize, M: Classifier<D>>(
    model: &M,
    origin: &[f32],
    labels: &[i64],
    (y, target): (Tensor<1, Int>, Tensor<1, Int>),
    dims: [usize; D],
    s: &FabSettings,
) -> (Vec<f32>, Vec<f32>) {
    let rows = labels.len();
    let size = origin.len() / rows;
    let device = y.device();
    let mut shape = dims;
    shape[0] = rows;
    let tensor = |values: &[f32]| Tensor::<D>::from_data(TensorData::new(values.to_vec(), shape), &device);
    let (mut distance, mut best) = (vec![f32::INFINITY; rows], origin.to_vec());
    let mut current = origin.to_vec();
    for _ in 0..s.iterations {
        let (difference, gradient) = margin_and_gradient(model, tensor(&current), y.clone(), target.clone());
        // Each row: project the current point and the clean input onto the linearised boundary.
        let next: Vec<Vec<f32>> = (0..rows)
            .into_par_iter()
            .map(|k| {
                let (x1, x0, w) = (&current[k * size..(k + 1) * size], &origin[k * size..(k + 1) * size], &gradient[k * size..(k + 1) * size]);
                // The hyperplane w · z = w · x₁ − (z_t − z_y)(x₁), seen from x₁ and from x₀.
                let at_x1 = -difference[k];
                let at_x0 = at_x1 + w.iter().zip(x1.iter().zip(x0)).map(|(wi, (a, b))| wi * (a - b)).sum::<f32>();
                let d1 = project_onto_hyperplane(x1, w, at_x1, s.norm);
                let d2 = project_onto_hyperplane(x0, w, at_x0, s.norm);
                let (a1, a2) = (norm_of(&d1, s.norm).max(1e-8), norm_of(&d2, s.norm).max(1e-8));
                let alpha = (a1 / (a1 + a2)).clamp(0.0, ALPHA_MAX);
                (0..size).map(|j| ((x1[j] + ETA * d1[j]) * (1.0 - alpha) + (x0[j] + ETA * d2[j]) * alpha).clamp(0.0, 1.0)).collect()
            })
            .collect();
        current = next.concat();
        let predicted: Vec<i64> = predictions(model.logits(tensor(&current))).into_data().iter::<i64>().collect();
        for k in 0..rows {
            if predicted[k] == labels[k] {
                continue;
            }
            let row = k * size..(k + 1) * size;
            let moved: Vec<f32> = current[row.clone()].iter().zip(&origin[row.clone()]).map(|(a, b)| a - b).collect();
            let reached = norm_of(&moved, s.norm);
            if reached < distance[k] {
                distance[k] = reached;
                best[row.clone()].copy_from_slice(&current[row.clone()]);
            }
            for (j, value) in current[row].iter_mut().enumerate() {
                *value = origin[k * size + j] + moved[j] * BETA;
            }
        }
    }
    (distance, best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_linf_projection_is_the_smallest_move_onto_the_hyperplane() {
        // w = (1, 2), from t = (0.5, 0.5) reach w · δ = 0.3: δ = (0.1, 0.1) (each coordinate λ = 0.1).
        let d = project_onto_hyperplane(&[0.5, 0.5], &[1.0, 2.0], 0.3, Norm::Linf);
        assert!((d[0] - 0.1).abs() < 1e-5 && (d[1] - 0.1).abs() < 1e-5, "{d:?}");
        // The box stops the second coordinate at 1: the first makes up the rest.
        let d = project_onto_hyperplane(&[0.5, 0.95], &[1.0, 2.0], 0.4, Norm::Linf);
        assert!((d[1] - 0.05).abs() < 1e-5 && (d[0] + 2.0 * d[1] - 0.4).abs() < 1e-4, "{d:?}");
        // L2: along w itself.
        let d = project_onto_hyperplane(&[0.5, 0.5], &[3.0, 4.0], -0.25, Norm::L2);
        assert!((d[0] + 0.03).abs() < 1e-5 && (d[1] + 0.04).abs() < 1e-5, "{d:?}");
        // Out of reach: the closest the box allows.
        let d = project_onto_hyperplane(&[0.5, 0.5], &[1.0, 1.0], 5.0, Norm::Linf);
        assert_eq!(d, vec![0.5, 0.5]);
    }
}
