//! # specreg-regularizer
//!
//! ```toml
//! [dependencies]
//! specreg-regularizer = "0.1"
//! burn = { version = "0.22.1", features = ["flex", "autodiff"] }  # the burn whose `Tensor` appears in the API
//!
//! # Numeric code is unusably slow unoptimised: optimise dependencies in dev and test builds too.
//! [profile.dev.package."*"]
//! opt-level = 3
//! ```
//!
//! Invariant: a penalty is a function of the batch's activations and the frozen eigenvectors alone: no file
//! I/O, no state carried between batches.
//!
//! Penalties that shape hidden representations, for any burn model:
//!
//! - [`SpectralPenalty`] ([`SpectralPenaltyConfig`]): the spectral regulariser of Nassar et al. (2020),
//!   pulling a layer's activation-covariance eigenspectrum towards λ_n ∝ n^(−α) (protocol §1.2).
//!   Eigenvectors are refreshed once per epoch from the full training set ([`SpectralPenalty::refresh`]);
//!   each batch then costs one N × N matrix product.
//! - [`JacobianPenalty`] ([`JacobianPenaltyConfig`]): the Jacobian regulariser of Hoffman, Roberts &
//!   Yaida (2019), the paper's baseline (protocol §1.4), estimated with one forward-mode projection.
//! - [`LayerSelection`]: last hidden layer, all of them, or a list.
//!
//! Both are usable alone: add `penalty.value(…)` to your loss.
//!
//! ```
//! use burn::prelude::*;
//! use ndarray::Array2;
//! use specreg_regularizer::SpectralPenaltyConfig;
//!
//! let device = Device::flex();
//! let width = 32;
//! let mut penalty = SpectralPenaltyConfig::new(2.0).with_tau(2).init(width)?;
//! // Once per epoch: the layer's covariance over the training set (here: the identity).
//! penalty.refresh(Array2::<f64>::eye(width).view(), &device)?;
//! // Every batch: activations (batch × width) → a differentiable penalty.
//! let hidden = Tensor::<2>::random([64, width], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
//! let penalty = penalty.value(hidden)?;
//! // A flat spectrum decays too slowly for α = 1: the penalty is positive.
//! assert!(penalty.value.into_scalar::<f32>() > 0.0);
//! # Ok::<(), specreg_regularizer::PenaltyError>(())
//! ```

#![warn(missing_docs)]

mod error;
mod jacobian;
mod random;
mod spectral;

pub use error::PenaltyError;
pub use jacobian::{JacobianPenalty, JacobianPenaltyConfig};
pub use random::device_normal;
pub use spectral::{
    LayerSelection, NEGATIVE_EIGENVALUE_TOLERANCE, PenaltyValue, RankWindow, SpectralPenalty, SpectralPenaltyConfig, check_positive_semidefinite,
    penalty_of_eigenvalues, penalty_with_anchor,
};
