//! What one epoch of training leaves behind: a row of the training curve.

use serde::{Deserialize, Serialize};

/// One row of the training curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based: the number of epochs completed.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's batches.
    pub loss: f64,
    /// Mean total penalty (spectral + Jacobian) over the epoch's batches; 0 without penalties.
    pub penalty: f64,
    /// Accuracy on the training batches as they were seen during the epoch (training mode).
    pub train_accuracy: f64,
    /// Accuracy on the test set after the epoch (evaluation mode).
    pub test_accuracy: f64,
    /// Wall time of the epoch, eigenvector refresh and evaluation included.
    pub seconds: f64,
}
