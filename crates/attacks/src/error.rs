//! Typed errors for invalid attack settings and broken models.

/// Why an attack or sweep could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AttackError {
    /// A setting out of range (ε < 0, no steps, an empty grid, …).
    #[error("invalid setting: {0}")]
    InvalidSetting(String),

    /// Inputs and labels differ in number.
    #[error("{images} inputs but {labels} labels")]
    CountMismatch {
        /// Number of inputs.
        images: usize,
        /// Number of labels.
        labels: usize,
    },

    /// An attack that needs images (batch × C × H × W) got another shape: the attack and the rank.
    #[error("{0} needs image batches (batch × channels × height × width), got {1} dimensions")]
    NeedsImages(&'static str, usize),

    /// The model's logits became NaN or infinite under attack.
    #[error("the model returned non-finite logits during {attack} at ε = {epsilon} (examples {first}..{last})")]
    NonFiniteLogits {
        /// The attack.
        attack: String,
        /// Its ε.
        epsilon: f32,
        /// First example of the batch.
        first: usize,
        /// One past its last example.
        last: usize,
    },
}

/// Shorthand for this crate's results.
pub type Result<T, E = AttackError> = std::result::Result<T, E>;
