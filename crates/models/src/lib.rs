//! # specreg-models
//!
//! The networks of Nassar et al. (2020) as burn modules, with every hidden layer exposed so that
//! penalties and spectrum analysis can tap any of them (`../shared/paper/PROTOCOL.md` §2).
//!
//! - [`Mlp`] ([`MlpConfig`]): fully connected layers, tanh or ReLU, optional BatchNorm after the
//!   activation (E1), linear read-out. PyTorch-default initialisation (uniform ±1/√fan_in).
//!
//! Models are written against burn's backend-erased `Tensor`, so the same code runs on every device
//! (`Device::flex()` on CPU by default).
//!
//! ```
//! use burn::prelude::*;
//! use specreg_models::MlpConfig;
//!
//! let device = Device::flex();
//! // E1's network: 784-2000-10, tanh, BatchNorm after the tanh.
//! let model = MlpConfig::new(784, vec![2000], 10).with_batch_norm(true).init(&device);
//! let images = Tensor::<4>::zeros([8, 1, 28, 28], &device);
//! let out = model.forward_hidden(images.clone().flatten(1, 3));
//! assert_eq!(out.hidden[0].dims(), [8, 2000]); // the BatchNorm output: the regularised layer
//! assert_eq!(out.logits.dims(), [8, 10]);
//! assert_eq!(model.forward_images(images).dims(), [8, 10]);
//! ```

mod mlp;

pub use mlp::{Activation, HiddenForward, Mlp, MlpConfig};
