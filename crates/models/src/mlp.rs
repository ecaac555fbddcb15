//! Fully connected networks.

use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, tanh};
use serde::{Deserialize, Serialize};

/// Hidden-layer non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    Tanh,
    Relu,
}

impl Activation {
    fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Tanh => tanh(x),
            Activation::Relu => relu(x),
        }
    }
}

/// An MLP: `input → [Linear → activation (→ BatchNorm)] × hidden.len() → Linear → logits`.
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Input width (784 for MNIST, 3072 for CIFAR-10).
    pub input: usize,
    /// Hidden widths, e.g. `[2000]` (E1) or `[1000, 1000, 1000]` (E2/E3).
    pub hidden: Vec<usize>,
    /// Number of classes.
    pub classes: usize,
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
    /// BatchNorm after each hidden activation (E1 regularises the BatchNorm output).
    #[config(default = false)]
    pub batch_norm: bool,
}

impl MlpConfig {
    /// Builds the network with PyTorch-default initialisation: weights and biases uniform in ±1/√fan_in.
    pub fn init(&self, device: &Device) -> Mlp {
        let mut widths = vec![self.input];
        widths.extend(&self.hidden);
        let layers = widths.windows(2).map(|w| LinearConfig::new(w[0], w[1]).init(device)).collect();
        let norms = if self.batch_norm {
            self.hidden.iter().map(|&n| BatchNormConfig::new(n).init(device)).collect()
        } else {
            Vec::new()
        };
        let readout = LinearConfig::new(*widths.last().expect("input width"), self.classes).init(device);
        Mlp { layers, norms, readout, activation: self.activation }
    }
}

/// A fully connected network; see [`MlpConfig`].
#[derive(Module, Debug)]
pub struct Mlp {
    pub layers: Vec<Linear>,
    /// One per hidden layer, or empty without BatchNorm.
    pub norms: Vec<BatchNorm>,
    pub readout: Linear,
    #[module(skip)]
    pub activation: Activation,
}

/// Logits together with every hidden representation (post-activation, post-BatchNorm where present).
#[derive(Debug, Clone)]
pub struct HiddenForward {
    pub hidden: Vec<Tensor<2>>,
    pub logits: Tensor<2>,
}

impl Mlp {
    /// Logits of a batch of flattened inputs (batch × input).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward_hidden(x).logits
    }

    /// Logits of image batches (batch × C × H × W), flattened in C, H, W order as `torch.flatten(x, 1)` does.
    pub fn forward_images(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward(images.flatten(1, 3))
    }

    /// Logits and all hidden layers, for penalties and spectrum analysis.
    pub fn forward_hidden(&self, mut x: Tensor<2>) -> HiddenForward {
        let mut hidden = Vec::with_capacity(self.layers.len());
        for (k, layer) in self.layers.iter().enumerate() {
            x = self.activation.apply(layer.forward(x));
            if let Some(norm) = self.norms.get(k) {
                x = norm.forward(x);
            }
            hidden.push(x.clone());
        }
        HiddenForward { logits: self.readout.forward(x), hidden }
    }

    /// Widths of the hidden layers.
    pub fn hidden_widths(&self) -> Vec<usize> {
        self.layers.iter().map(|l| l.weight.dims()[1]).collect()
    }
}

