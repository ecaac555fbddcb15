//! # specreg-train
//!
//! ```toml
//! [dependencies]
//! specreg-train = "0.1"
//! burn = { version = "0.22.1", features = ["flex", "autodiff"] }  # the burn whose `Tensor` appears in the API
//!
//! # Numeric code is unusably slow unoptimised: optimise dependencies in dev and test builds too.
//! [profile.dev.package."*"]
//! opt-level = 3
//! ```
//!
//! Invariant: the same seed gives the same numbers on the same backend, and a run resumed from a checkpoint
//! equals an uninterrupted one.
//!
//! Trains the networks of `specreg-models` as the paper does (protocol §1.2–1.5): Adam with AMSGrad,
//! cross-entropy plus the spectral and/or Jacobian penalty of `specreg-regularizer`, eigenvectors
//! refreshed from the full training set at the start of every epoch.
//!
//! - [`train`]: the loop. Records loss, penalty, train and test accuracy and wall time per epoch
//!   ([`EpochRecord`]); checkpoints every epoch and resumes from the newest checkpoint
//!   ([`TrainOptions::checkpoint_dir`]); stops with an error naming epoch, batch and layer on a
//!   non-finite loss, a diverging loss ([`DIVERGENCE_FACTOR`]) or a failed eigensolve, never
//!   returning a silently broken model.
//! - [`TrainConfig`] / [`SpectralSettings`]: serialisable settings, validated before training
//!   (batch ≥ width of every regularised layer, τ inside the layer, positive learning rate, …).
//! - [`Trainer`]: one run's model, optimiser and penalties; [`Trainer::step`] is the one optimiser
//!   step, used by [`train`] and by the benchmarks alike.
//! - [`DeviceData`]: a dataset uploaded once; [`accuracy`], [`hidden_covariances`]: evaluation passes
//!   over it that read back once.
//!
//! Same config and seed, same backend: same numbers.
//!
//! ```
//! use burn::prelude::*;
//! use ndarray::{Array1, Array4};
//! use specreg_data::Dataset;
//! use specreg_models::{MlpConfig, ModelConfig};
//! use specreg_train::{train, TrainConfig, TrainOptions};
//!
//! // Two classes of 4×4 images: bright left half vs bright right half.
//! let images = Array4::from_shape_fn((64, 1, 4, 4), |(i, _, _, x)| if (x < 2) == (i % 2 == 0) { 1.0 } else { 0.0 });
//! let data = Dataset { images, labels: Array1::from_shape_fn(64, |i| (i % 2) as u8), num_classes: 2 };
//! let model = ModelConfig::Mlp(MlpConfig::new(16, vec![8], 2));
//! let config = TrainConfig::new(20, 16, 1e-2, 0);
//! let trained = train(&model, &config, &data, &data, &TrainOptions::new(Device::flex()))?;
//! assert_eq!(trained.history.len(), 20);
//! assert!(trained.history.last().unwrap().test_accuracy > 0.9);
//! # Ok::<(), specreg_train::TrainError>(())
//! ```

#![warn(missing_docs)]

mod checkpoint;
mod config;
mod error;
mod record;
mod step;
mod tensors;
mod trainer;
mod trajectory;

pub use checkpoint::CheckpointState;
pub use config::{SpectralSettings, TrainConfig};
pub use error::TrainError;
pub use record::EpochRecord;
pub use step::{StepValues, Trainer};
pub use tensors::{DeviceData, Site, accuracy, correct, correct_count, hidden_covariances, host_matrix, to_tensors};
pub use trainer::{DIVERGENCE_FACTOR, TrainOptions, Trained, train};
pub use trajectory::SpectrumPoint;
