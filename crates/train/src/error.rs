//! Why training stopped. Every message names the epoch, batch, layer or file involved where there is one,
//! and keeps the underlying error as its source.

use std::path::PathBuf;

use specreg_files::FileError;
use specreg_models::ModelError;
use specreg_regularizer::PenaltyError;
use specreg_spectrum::SpectrumError;

/// Everything that can stop a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The settings cannot be trained (batch below a regularised width, learning rate ≤ 0, …).
    #[error("invalid training configuration: {0}")]
    Config(String),
    /// A penalty's settings are invalid for the network.
    #[error(transparent)]
    PenaltySettings(PenaltyError),
    /// The model configuration is invalid, or the model cannot do what was asked.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A loss or penalty became NaN or infinite.
    #[error("epoch {epoch}, batch {batch}: non-finite {what} ({value}); the model is not kept")]
    NonFinite {
        /// 0-based epoch.
        epoch: usize,
        /// 0-based batch within the epoch.
        batch: usize,
        /// Which value.
        what: &'static str,
        /// The value.
        value: f64,
    },
    /// The loss grew beyond [`DIVERGENCE_FACTOR`](crate::DIVERGENCE_FACTOR) times its reference: the run
    /// diverged (a learning rate far too large, say).
    #[error(
        "epoch {epoch}, batch {batch}: cross-entropy loss {value:.4e} exceeds {factor}× the reference {reference:.4} (the first epoch's mean loss, or the first batch's in the first epoch): the run diverged; the model is not kept"
    )]
    Diverged {
        /// 0-based epoch.
        epoch: usize,
        /// 0-based batch.
        batch: usize,
        /// The batch's loss.
        value: f64,
        /// The loss it is compared with.
        reference: f64,
        /// The factor allowed.
        factor: f64,
    },
    /// The spectral penalty of one batch could not be computed.
    #[error("epoch {epoch}, batch {batch}, hidden layer {layer}: spectral penalty")]
    Penalty {
        /// 0-based epoch.
        epoch: usize,
        /// 0-based batch.
        batch: usize,
        /// 0-based hidden layer.
        layer: usize,
        /// What the penalty said.
        #[source]
        source: PenaltyError,
    },
    /// The covariance of a layer's activations could not be formed (non-finite activations).
    #[error("hidden layer {layer}: covariance of the activations failed")]
    Spectrum {
        /// 0-based hidden layer.
        layer: usize,
        /// What the spectrum crate said.
        #[source]
        source: SpectrumError,
    },
    /// The per-epoch eigenvector refresh failed.
    #[error("epoch {epoch}, hidden layer {layer}: eigenvector refresh failed")]
    Eigen {
        /// 0-based epoch.
        epoch: usize,
        /// 0-based hidden layer.
        layer: usize,
        /// What failed.
        #[source]
        source: PenaltyError,
    },
    /// A checkpoint exists but cannot be used for this run.
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint {
        /// The checkpoint directory or file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// A checkpoint's weights or optimizer state could not be written or read.
    #[error("checkpoint {}: weights or optimizer state", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// What burn said.
        #[source]
        source: burn::store::RecordError,
    },
    /// A checkpoint's `state.json` could not be written or parsed.
    #[error("checkpoint {}: state", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// A file or directory could not be created, written, renamed or read.
    #[error(transparent)]
    File(#[from] FileError),
}
