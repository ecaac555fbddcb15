//! Fully connected networks (E1, E2-MLP, E3-MLP).

use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

use crate::network::{HiddenForward, ModelError, Network, check_tangent, tanh, tanh_tangent};
use crate::whiten::{Whiten, WhitenConfig};

/// Hidden-layer non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// tanh (the paper's networks).
    Tanh,
    /// ReLU.
    Relu,
}

impl Activation {
    pub(crate) fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Tanh => tanh(x),
            Activation::Relu => relu(x),
        }
    }

    /// The tangent through the activation, from its pre-activation `z` and output `y`.
    pub(crate) fn tangent<const D: usize>(self, z: &Tensor<D>, y: &Tensor<D>, t: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Tanh => tanh_tangent(y, t),
            Activation::Relu => t * z.clone().greater_elem(0.0).float(),
        }
    }
}

/// An MLP: `input → [Linear → activation (→ BatchNorm) (→ Whiten)] × hidden.len() → Linear → logits`.
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Input width (784 for MNIST, 3072 for CIFAR-10).
    pub input: usize,
    /// Hidden widths, e.g. `[2000]` (E1) or `[1000, 1000, 1000]` (E2/E3).
    pub hidden: Vec<usize>,
    /// Number of classes.
    pub classes: usize,
    /// Hidden non-linearity.
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
    /// BatchNorm after each hidden activation (E1 regularises the BatchNorm output).
    #[config(default = false)]
    pub batch_norm: bool,
    /// Whiten the output of this hidden layer (0-based; E2's "-Wh" variants use 1, the 2nd layer).
    #[config(default = "None")]
    pub whiten_after: Option<usize>,
    /// Settings of the whitening layer, when there is one.
    #[config(default = "WhitenConfig::default()")]
    pub whiten: WhitenConfig,
}

impl MlpConfig {
    /// Checks widths and the whitened layer's index.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.input == 0 || self.classes == 0 || self.hidden.contains(&0) {
            return Err(ModelError::Config(format!("MLP widths must be positive: {} → {:?} → {}", self.input, self.hidden, self.classes)));
        }
        if let Some(k) = self.whiten_after.filter(|&k| k >= self.hidden.len()) {
            return Err(ModelError::Config(format!("whiten_after = {k}, but the MLP has {} hidden layers", self.hidden.len())));
        }
        Ok(())
    }

    /// Builds the network with PyTorch-default initialisation: weights and biases uniform in ±1/√fan_in.
    /// Call [`validate`](Self::validate) first for a configuration read from a file.
    pub fn init(&self, device: &Device) -> Mlp {
        let mut widths = vec![self.input];
        widths.extend(&self.hidden);
        let layers = widths.windows(2).map(|w| LinearConfig::new(w[0], w[1]).init(device)).collect();
        let norms = if self.batch_norm { self.hidden.iter().map(|&n| BatchNormConfig::new(n).init(device)).collect() } else { Vec::new() };
        let readout = LinearConfig::new(*widths.last().expect("input width"), self.classes).init(device);
        let whiten = self.whiten_after.map(|_| self.whiten.init());
        Mlp { layers, norms, readout, activation: self.activation, whiten, whiten_after: self.whiten_after }
    }
}

/// A fully connected network; see [`MlpConfig`].
#[derive(Module, Debug)]
pub struct Mlp {
    /// The hidden linear layers.
    pub layers: Vec<Linear>,
    /// One per hidden layer, or empty without BatchNorm.
    pub norms: Vec<BatchNorm>,
    /// The linear read-out to logits.
    pub readout: Linear,
    /// The whitening layer, if any.
    pub whiten: Option<Whiten>,
    /// Which hidden layer (0-based) is whitened.
    #[module(skip)]
    pub whiten_after: Option<usize>,
    /// Hidden non-linearity.
    #[module(skip)]
    pub activation: Activation,
}

impl Mlp {
    /// Logits and all hidden layers of a batch of flattened inputs (batch × input).
    pub fn forward_flat(&self, mut x: Tensor<2>) -> HiddenForward {
        let mut hidden = Vec::with_capacity(self.layers.len());
        for (k, layer) in self.layers.iter().enumerate() {
            x = self.activation.apply(layer.forward(x));
            if let Some(norm) = self.norms.get(k) {
                x = norm.forward(x);
            }
            if let (Some(whiten), Some(true)) = (&self.whiten, self.whiten_after.map(|w| w == k)) {
                x = whiten.forward(x);
            }
            hidden.push(x.clone());
        }
        HiddenForward { logits: self.readout.forward(x), hidden }
    }

    /// Forward-mode JVP on flattened inputs; see [`Network::forward_tangent`].
    pub fn forward_tangent_flat(&self, mut x: Tensor<2>, mut t: Tensor<2>) -> Result<(Tensor<2>, Tensor<2>), ModelError> {
        if !self.norms.is_empty() {
            return Err(ModelError::TangentUnsupported("BatchNorm layers"));
        }
        if self.whiten.is_some() {
            return Err(ModelError::TangentUnsupported("whitening layers"));
        }
        for layer in &self.layers {
            let z = layer.forward(x);
            t = t.matmul(layer.weight.val());
            x = self.activation.apply(z.clone());
            t = self.activation.tangent(&z, &x, t);
        }
        let tangent = t.matmul(self.readout.weight.val());
        Ok((self.readout.forward(x), tangent))
    }
}

impl Network for Mlp {
    /// Images are flattened in C, H, W order, as `torch.flatten(x, 1)` does.
    fn forward_hidden(&self, images: Tensor<4>) -> HiddenForward {
        self.forward_flat(images.flatten(1, 3))
    }

    fn forward_tangent(&self, images: Tensor<4>, tangent: Tensor<4>) -> Result<(Tensor<2>, Tensor<2>), ModelError> {
        check_tangent(&images, &tangent)?;
        self.forward_tangent_flat(images.flatten(1, 3), tangent.flatten(1, 3))
    }

    fn hidden_widths(&self) -> Vec<usize> {
        self.layers.iter().map(|l| l.weight.dims()[1]).collect()
    }

    fn uses_batch_statistics(&self) -> bool {
        self.whiten.is_some()
    }
}
