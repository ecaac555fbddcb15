//! One type for "any network of this crate", so trainers and experiments need no generics.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::network::{HiddenForward, ModelError, Network};
use crate::{Cnn, CnnConfig, Mlp, MlpConfig};

/// The configuration of an [`Mlp`] or a [`Cnn`]; serialises as `{"Mlp": {…}}` or `{"Cnn": {…}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ModelConfig {
    /// A fully connected network.
    Mlp(MlpConfig),
    /// A convolutional network.
    Cnn(CnnConfig),
}

impl ModelConfig {
    /// Checks the network's sizes.
    pub fn validate(&self) -> Result<(), ModelError> {
        match self {
            ModelConfig::Mlp(c) => c.validate(),
            ModelConfig::Cnn(c) => c.validate(),
        }
    }

    /// Width (units) of every hidden layer the network will have, in forward order (conv maps
    /// flattened), without building it; as [`Network::hidden_widths`] of the built network.
    pub fn hidden_widths(&self) -> Result<Vec<usize>, ModelError> {
        self.validate()?;
        Ok(match self {
            ModelConfig::Mlp(c) => c.hidden.clone(),
            ModelConfig::Cnn(c) => {
                let mut widths: Vec<usize> = c.conv_shapes()?.iter().map(|[ch, h, w]| ch * h * w).collect();
                widths.extend(&c.fully_connected);
                widths
            }
        })
    }

    /// Validates, then builds the network with PyTorch-default initialisation drawn from `seed`
    /// (the same seed gives the same weights on every device and thread).
    pub fn init_seeded(&self, device: &Device, seed: u64) -> Result<Model, ModelError> {
        Ok(crate::init::initialize(self.init(device)?, seed))
    }

    /// Validates, then builds the network with PyTorch-default initialisation from the device's generator.
    pub fn init(&self, device: &Device) -> Result<Model, ModelError> {
        self.validate()?;
        Ok(match self {
            ModelConfig::Mlp(c) => Model::Mlp(c.init(device)),
            ModelConfig::Cnn(c) => Model::Cnn(c.init(device)),
        })
    }
}

/// An [`Mlp`] or a [`Cnn`].
#[derive(Module, Debug)]
pub enum Model {
    /// A fully connected network.
    Mlp(Mlp),
    /// A convolutional network.
    Cnn(Cnn),
}

impl Network for Model {
    fn forward_hidden(&self, images: Tensor<4>) -> HiddenForward {
        match self {
            Model::Mlp(m) => m.forward_hidden(images),
            Model::Cnn(c) => c.forward_hidden(images),
        }
    }

    fn forward_tangent(&self, images: Tensor<4>, tangent: Tensor<4>) -> Result<(Tensor<2>, Tensor<2>), ModelError> {
        match self {
            Model::Mlp(m) => m.forward_tangent(images, tangent),
            Model::Cnn(c) => c.forward_tangent(images, tangent),
        }
    }

    fn hidden_widths(&self) -> Vec<usize> {
        match self {
            Model::Mlp(m) => m.hidden_widths(),
            Model::Cnn(c) => c.hidden_widths(),
        }
    }

    fn uses_batch_statistics(&self) -> bool {
        match self {
            Model::Mlp(m) => m.uses_batch_statistics(),
            Model::Cnn(c) => c.uses_batch_statistics(),
        }
    }
}
