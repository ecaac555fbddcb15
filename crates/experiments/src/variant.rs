//! What an experiment trains: network families sized by a profile section, and variants (penalties,
//! whitening, weight decay) that become one training configuration per seed.

use specreg_data::DatasetId;
use specreg_models::{CnnConfig, MlpConfig, ModelConfig, Standardize};
use specreg_regularizer::{JacobianPenaltyConfig, LayerSelection, RankWindow, SpectralPenaltyConfig};
use specreg_train::{SpectralSettings, TrainConfig};

use crate::settings::TrainingSettings;

/// The variant the AutoAttack evaluation crafts transfer examples on: the undefended model.
pub const TRANSFER_SOURCE: &str = "Vanilla";

/// The network family of an experiment; sizes come from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// E1: tanh MLP with BatchNorm after every tanh.
    MlpBatchNorm,
    /// E2/E3: plain tanh MLP.
    Mlp,
    /// E2/E3: conv blocks then fully connected tanh layers.
    Cnn,
}

impl Family {
    /// The network of a variant on a dataset, sized by the settings.
    pub fn model_config(self, dataset: DatasetId, settings: &TrainingSettings, variant: &Variant) -> ModelConfig {
        let input = dataset.sizes().image;
        match self {
            Family::MlpBatchNorm | Family::Mlp => ModelConfig::Mlp(
                MlpConfig::new(input.iter().product(), settings.hidden.clone(), 10)
                    .with_batch_norm(self == Family::MlpBatchNorm)
                    .with_whiten_after(variant.whiten.then_some(1.min(settings.hidden.len() - 1))),
            ),
            Family::Cnn => ModelConfig::Cnn(
                CnnConfig::new(input, settings.conv_channels.clone(), settings.hidden.clone(), 10)
                    .with_standardize((dataset == DatasetId::Cifar10).then(Standardize::cifar10))
                    .with_whiten_after_convs(variant.whiten),
            ),
        }
    }
}

/// One trained configuration, before seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Its name in tables and figures.
    pub name: String,
    /// SpecReg strength β (0 without the spectral penalty).
    pub beta: f64,
    /// Whiten the 2nd hidden layer (MLP) or the last conv block (CNN).
    pub whiten: bool,
    /// The spectral penalty, if any.
    pub spectral: Option<SpectralSettings>,
    /// With the Jacobian penalty.
    pub jacobian: bool,
    /// Weight decay (S1).
    pub weight_decay: f64,
}

impl Variant {
    /// No penalty.
    pub fn vanilla(name: &str) -> Self {
        Variant { name: name.into(), beta: 0.0, whiten: false, spectral: None, jacobian: false, weight_decay: 0.0 }
    }

    /// The spectral penalty at `beta` on `layers`, with the section's τ and α.
    pub fn specreg(name: &str, beta: f64, tau: usize, alpha: f64, layers: LayerSelection) -> Self {
        let penalty = SpectralPenaltyConfig::new(beta).with_tau(tau).with_alpha(alpha);
        Variant { beta, spectral: Some(SpectralSettings::new(penalty).with_layers(layers)), ..Variant::vanilla(name) }
    }

    /// The same variant with its spectral penalty restricted to a window of ranks.
    pub fn on_ranks(mut self, ranks: RankWindow) -> Self {
        if let Some(s) = &mut self.spectral {
            s.penalty.ranks = Some(ranks);
        }
        self
    }

    /// The same variant with a whitened intermediate layer (`-Wh` appended to its name).
    pub fn whitened(mut self) -> Self {
        self.whiten = true;
        self.name.push_str("-Wh");
        self
    }

    /// Its training configuration for one seed.
    pub fn train_config(&self, settings: &TrainingSettings, seed: u64) -> TrainConfig {
        TrainConfig::new(settings.epochs, settings.batch_size, settings.learning_rate, seed)
            .with_weight_decay(self.weight_decay)
            .with_spectral(self.spectral.clone())
            .with_jacobian(self.jacobian.then(|| JacobianPenaltyConfig::new().with_weight(settings.jacobian_weight)))
    }
}
