//! Why training stopped. Every message names the epoch, batch and layer involved where there is one.

use specreg_models::ModelError;
use specreg_regularizer::PenaltyError;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("invalid training configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("epoch {epoch}, batch {batch}: non-finite {what} ({value}); the model is not kept")]
    NonFinite { epoch: usize, batch: usize, what: &'static str, value: f64 },
    #[error("epoch {epoch}, batch {batch}, hidden layer {layer}: spectral penalty: {source}")]
    Penalty { epoch: usize, batch: usize, layer: usize, source: PenaltyError },
    #[error("hidden layer {layer}: covariance of the activations failed: {message}")]
    Spectrum { layer: usize, message: String },
    #[error("epoch {epoch}, hidden layer {layer}: eigenvector refresh failed: {message}")]
    Eigen { epoch: usize, layer: usize, message: String },
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: String, message: String },
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}
