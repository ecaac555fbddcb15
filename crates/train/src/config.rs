//! What a training run does, as a serialisable config.

use burn::prelude::*;
use specreg_regularizer::{JacobianPenaltyConfig, LayerSelection, SpectralPenaltyConfig};

use crate::error::TrainError;

/// The spectral penalty and the hidden layers it applies to.
#[derive(Config, Debug, PartialEq)]
pub struct SpectralSettings {
    /// α, τ, β of the penalty.
    pub penalty: SpectralPenaltyConfig,
    /// The hidden layers it applies to (each with its own eigenvectors).
    #[config(default = "LayerSelection::Last")]
    pub layers: LayerSelection,
}

/// One training run: Adam with AMSGrad (protocol §1.5), cross-entropy plus the configured penalties.
#[derive(Config, Debug, PartialEq)]
pub struct TrainConfig {
    /// Epochs to train.
    pub epochs: usize,
    /// Training batch size (≥ the width of every regularised layer).
    pub batch_size: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Seeds the initial weights, the batch order of every epoch and the Jacobian projections.
    pub seed: u64,
    /// L2 weight decay added to the gradient, as PyTorch's Adam does (0 in the paper; S1 varies it).
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Adam's ε. PyTorch's default (1e-8), not burn's (1e-5).
    #[config(default = 1e-8)]
    pub adam_epsilon: f64,
    /// The spectral penalty, if any.
    #[config(default = "None")]
    pub spectral: Option<SpectralSettings>,
    /// The Jacobian penalty, if any.
    #[config(default = "None")]
    pub jacobian: Option<JacobianPenaltyConfig>,
    /// Batch size of evaluation passes (test accuracy, eigenvector refresh). Models with
    /// batch-statistic layers (whitening) depend on it; protocol §1.3 fixes 1,000.
    #[config(default = 1000)]
    pub eval_batch_size: usize,
}

impl TrainConfig {
    /// Checks the settings against the network's hidden widths and the training-set size.
    pub fn validate(&self, hidden_widths: &[usize], train_examples: usize) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Config(m));
        if self.epochs == 0 || self.batch_size < 2 || self.eval_batch_size == 0 {
            return bad(format!("epochs ({}) must be ≥ 1, batch size ({}) ≥ 2, eval batch size ({}) ≥ 1", self.epochs, self.batch_size, self.eval_batch_size));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(format!("learning rate must be positive, got {}", self.learning_rate));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0 && self.adam_epsilon > 0.0) {
            return bad(format!("weight decay ({}) must be ≥ 0 and Adam ε ({}) > 0", self.weight_decay, self.adam_epsilon));
        }
        if self.batch_size > train_examples {
            return bad(format!("batch size {} exceeds the {train_examples} training examples", self.batch_size));
        }
        if let Some(s) = &self.spectral {
            for layer in s.layers.resolve(hidden_widths.len()).map_err(TrainError::PenaltySettings)? {
                let width = hidden_widths[layer];
                s.penalty.validate(width).map_err(|e| TrainError::Config(format!("hidden layer {layer}: {e}")))?;
                if self.batch_size < width {
                    return bad(format!(
                        "batch size {} is below the width {width} of regularised layer {layer}: protocol §1.2 needs batch ≥ width",
                        self.batch_size
                    ));
                }
            }
        }
        if let Some(j) = &self.jacobian {
            j.init().map_err(TrainError::PenaltySettings)?;
        }
        Ok(())
    }
}
