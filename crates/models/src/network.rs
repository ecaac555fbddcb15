//! What every model in this crate offers: logits with all hidden layers tapped, and a forward-mode
//! Jacobian-vector product for the Jacobian regulariser.

use burn::prelude::*;

/// Logits together with every hidden representation, flattened to (batch × units): post-activation,
/// post-BatchNorm or post-whitening where the model has those, and after pooling for conv blocks.
#[derive(Debug, Clone)]
pub struct HiddenForward {
    /// Every hidden layer, batch × units, in forward order.
    pub hidden: Vec<Tensor<2>>,
    /// The logits, batch × classes.
    pub logits: Tensor<2>,
}

/// Why a model cannot do what was asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// The network has a layer forward mode does not support (named).
    #[error("the forward-mode Jacobian-vector product does not support {0}")]
    TangentUnsupported(&'static str),
    /// Sizes or settings that cannot build a network.
    #[error("invalid model configuration: {0}")]
    Config(String),
    #[error("tangent shape {tangent:?} differs from input shape {input:?}")]
    /// The tangent's shape differs from the input's.
    TangentShape {
        /// The input's shape.
        input: [usize; 4],
        /// The tangent's shape.
        tangent: [usize; 4],
    },
    /// A safetensors file that is malformed or does not fit the network.
    #[error("safetensors file: {0}")]
    Safetensors(String),
}

/// A classifier of image batches (batch × C × H × W, pixels in [0, 1]) whose hidden layers can be tapped.
///
/// Implemented by [`Mlp`](crate::Mlp), [`Cnn`](crate::Cnn) and the [`Model`](crate::Model) enum, so
/// trainers and penalties work with any of them.
pub trait Network {
    /// Logits and every hidden layer.
    fn forward_hidden(&self, images: Tensor<4>) -> HiddenForward;

    /// Logits only.
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward_hidden(images).logits
    }

    /// Logits and the directional derivative `J·v` of the logits with respect to the input along
    /// `tangent` (same shape as `images`), propagated alongside the activations (forward mode).
    /// Both outputs are differentiable with first-order autodiff, which is what the Jacobian penalty needs.
    fn forward_tangent(&self, images: Tensor<4>, tangent: Tensor<4>) -> Result<(Tensor<2>, Tensor<2>), ModelError>;

    /// Width (units) of every hidden layer, in the order of [`HiddenForward::hidden`].
    fn hidden_widths(&self) -> Vec<usize>;

    /// Whether evaluation uses batch statistics (whitening), which makes results depend on the
    /// evaluation batch size.
    fn uses_batch_statistics(&self) -> bool;
}

pub(crate) fn check_tangent(images: &Tensor<4>, tangent: &Tensor<4>) -> Result<(), ModelError> {
    let (input, tangent) = (images.dims(), tangent.dims());
    if input != tangent {
        return Err(ModelError::TangentShape { input, tangent });
    }
    Ok(())
}

/// `tanh'(z)·t` from the output `y = tanh(z)`: `(1 − y²)·t`.
pub(crate) fn tanh_tangent<const D: usize>(output: &Tensor<D>, tangent: Tensor<D>) -> Tensor<D> {
    tangent * (output.clone().square().neg() + 1.0)
}

/// `tanh(x) = 1 − 2 / (e^{2x} + 1)`, the activation of every network here, with a backward pass that
/// reuses the forward value.
///
/// Why not `burn::tensor::activation::tanh`: on the CPU backend it is a scalar, single-threaded libm
/// loop (≈94 ms for the 3500 × 2000 hidden layer of E1, where the exponential form takes ≈13 ms and
/// PyTorch's tanh ≈12 ms on the same 2 cores), and burn's autodiff evaluates it a second time in the
/// backward pass to form `1 − tanh(x)²`. Together that was half of an E1 training step.
///
/// Accuracy: the absolute error is at most a few f32 ulps of 1 (≈1e-7) everywhere, with exact 0 at 0,
/// ±1 in saturation and no overflow (`e^{2x}` = ∞ gives 1, 0 gives −1); relative to the value it is
/// larger near 0, where the subtraction cancels. The same function serves training and evaluation.
///
/// Gradient: on a tracked tensor the value `y` is computed once, outside the graph, and joined to it by
/// `y + (x − stop_grad(x)) ⊙ (1 − y²)`: the added term is exactly zero, so the value is `y` bit for
/// bit, and its derivative is `1 − y²`, the derivative of tanh at `x` (to the accuracy above). An
/// infinite input gives NaN there (∞ − ∞): a diverged run, which the trainer reports.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let value = |x: Tensor<D>| (x * 2.0).exp().add_scalar(1.0).recip().mul_scalar(-2.0).add_scalar(1.0);
    if !x.is_tracked() {
        return value(x);
    }
    let y = value(x.clone().inner());
    let slope = y.clone().powi_scalar(2).neg().add_scalar(1.0);
    (x.clone() - x.detach()) * slope + y
}
