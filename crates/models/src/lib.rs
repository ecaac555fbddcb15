//! # specreg-models
//!
//! ```toml
//! [dependencies]
//! specreg-models = "0.1"
//! burn = { version = "0.22.1", features = ["flex", "autodiff"] }  # the burn whose `Tensor` appears in the API
//!
//! # Numeric code is unusably slow unoptimised: optimise dependencies in dev and test builds too.
//! [profile.dev.package."*"]
//! opt-level = 3
//! ```
//!
//! Invariant: one code path for every device (burn's backend-erased `Tensor`); every hidden layer a penalty
//! may act on is exposed by `Network::forward_hidden`.
//!
//! The networks of Nassar et al. (2020) as burn modules, with every hidden layer exposed so that
//! penalties and spectrum analysis can tap any of them (the reproduction protocol, `docs/protocol.md` in the repository, §1.3 and §2).
//!
//! - [`Mlp`] ([`MlpConfig`]): fully connected layers, tanh or ReLU, optional BatchNorm after the
//!   activation (E1), optional whitening of one hidden layer (E2 "-Wh"), linear read-out.
//! - [`Cnn`] ([`CnnConfig`]): 3×3 convolutions without padding, tanh, 2×2 max-pooling, fully connected
//!   tanh layers, read-out; optional per-channel standardisation inside the model (CIFAR-10), so that
//!   attacks and ε stay in [0, 1] pixel units.
//! - [`Whiten`]: batch whitening (output batch covariance = identity), differentiable end to end.
//! - [`Network`]: what all of them offer — [`Network::forward_hidden`] returns the logits and every
//!   hidden layer (conv maps flattened), [`Network::forward_tangent`] a forward-mode Jacobian-vector product.
//! - [`Model`] / [`ModelConfig`]: either network behind one type; configs serialise with serde;
//!   [`ModelConfig::init_seeded`] draws the initial weights from a seed, independent of device and thread.
//! - [`to_safetensors`] / [`from_safetensors`]: weights with PyTorch names and layouts (see the
//!   table in [`export`](crate::to_safetensors) and this crate's README for the `torch.nn` modules).
//!
//! Initialisation is PyTorch's default (uniform ±1/√fan_in for weights and biases). Models are
//! written against burn's backend-erased `Tensor`, so one code path runs on every device
//! (`Device::flex()` on CPU by default).
//!
//! ```
//! use burn::prelude::*;
//! use specreg_models::{CnnConfig, MlpConfig, Network};
//!
//! let device = Device::flex();
//! // E1's network: 784-2000-10, tanh, BatchNorm after the tanh.
//! let mlp = MlpConfig::new(784, vec![2000], 10).with_batch_norm(true).init(&device);
//! let images = Tensor::<4>::zeros([8, 1, 28, 28], &device);
//! let out = mlp.forward_hidden(images.clone());
//! assert_eq!(out.hidden[0].dims(), [8, 2000]); // the BatchNorm output: the regularised layer
//! assert_eq!(out.logits.dims(), [8, 10]);
//!
//! // E2/E3's MNIST CNN: hidden layers are the two pooled conv maps (flattened) and the FC layer.
//! let cnn = CnnConfig::mnist().init(&device);
//! assert_eq!(cnn.hidden_widths(), vec![2704, 800, 1000]);
//! assert_eq!(cnn.forward(images).dims(), [8, 10]);
//! ```

#![warn(missing_docs)]

mod cnn;
mod export;
mod init;
mod mlp;
mod model;
mod network;
mod whiten;

pub use cnn::{Cnn, CnnConfig, Standardize};
pub use export::{from_safetensors, safetensors_config, to_safetensors};
pub use mlp::{Activation, Mlp, MlpConfig};
pub use model::{Model, ModelConfig};
pub use network::{HiddenForward, ModelError, Network, tanh};
pub use whiten::{Whiten, WhitenConfig};
