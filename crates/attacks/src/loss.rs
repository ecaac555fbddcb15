//! Losses and input gradients shared by the attacks.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::Classifier;

/// Cross-entropy of each example (batch).
pub fn cross_entropy_per_example(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    log_softmax(logits, 1).gather(1, labels.unsqueeze_dim(1)).squeeze_dim::<1>(1).neg()
}

/// The margin logit_y − max_{k≠y} logit_k of each example: negative exactly when misclassified.
pub fn margin(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let [_, classes] = logits.dims();
    let true_mask = labels.clone().one_hot::<2>(classes).bool();
    let true_logit = logits.clone().gather(1, labels.unsqueeze_dim(1)).squeeze_dim::<1>(1);
    let other_max = logits.mask_fill(true_mask, f32::NEG_INFINITY).max_dim(1).squeeze_dim::<1>(1);
    true_logit - other_max
}

/// ∇ₓ of the summed cross-entropy. Summing (not averaging) keeps each example's gradient independent
/// of the batch it is in.
pub fn input_gradient<const D: usize, M: Classifier<D>>(model: &M, inputs: Tensor<D>, labels: Tensor<1, Int>) -> Tensor<D> {
    let x = inputs.detach().autodiff().require_grad();
    let loss = cross_entropy_per_example(model.logits(x.clone()), labels).sum();
    let grads = loss.backward();
    x.grad(&grads).expect("the input requires a gradient")
}

/// Per-example predictions.
pub fn predictions(logits: Tensor<2>) -> Tensor<1, Int> {
    logits.argmax(1).squeeze_dim::<1>(1)
}
