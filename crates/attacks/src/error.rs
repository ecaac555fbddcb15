//! Typed errors for invalid attack settings and broken models.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AttackError {
    #[error("invalid setting: {0}")]
    InvalidSetting(String),

    #[error("{images} inputs but {labels} labels")]
    CountMismatch { images: usize, labels: usize },

    #[error("{0} needs image batches (batch × channels × height × width), got {1} dimensions")]
    NeedsImages(&'static str, usize),

    #[error("the model returned non-finite logits during {attack} at ε = {epsilon} (examples {first}..{last})")]
    NonFiniteLogits { attack: String, epsilon: f32, first: usize, last: usize },
}

pub type Result<T, E = AttackError> = std::result::Result<T, E>;
