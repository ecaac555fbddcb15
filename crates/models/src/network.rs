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

/// tanh, the activation of every network here: burn's, differentiated by burn's autodiff.
///
/// On the CPU backend its speed comes from the workspace's patched burn-flex (`patches/burn-flex`):
/// stock burn-flex 0.22.1 evaluates it with a scalar, single-threaded libm loop (≈94 ms for E1's
/// 3500 × 2000 hidden layer on two Zen 3 cores); the patch's vectorised, threaded kernel is within
/// 1.2e-7 of tanh everywhere (a few ulps relative near 0), exact at 0, ±1 in saturation, NaN kept.
/// One function for training, evaluation and attacks, on every backend.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    burn::tensor::activation::tanh(x)
}
