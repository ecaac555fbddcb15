//! Small convolutional networks (E2-CNN, E3-CNN): `[conv3×3 (no padding) → tanh → maxpool2] × k →
//! flatten → [Linear → tanh] × m → Linear`, with an optional per-channel standardisation as the
//! first layer so that attacks work in [0, 1] pixel units (protocol §1.1).
//!
//! Each block is evaluated as `tanh(maxpool(conv(x)))`, the same function as `maxpool(tanh(conv(x)))`:
//! tanh is non-decreasing, so it commutes with taking a maximum, and applying it after pooling costs a
//! quarter of the elementwise work (the 26 × 26 maps of the first MNIST block were 15 % of a step).
//! The values are the same; where two pre-activations of one window round to the same tanh the
//! gradient goes to the larger pre-activation instead of the first one, with the same slope.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::module::{conv2d, max_pool2d_with_indices};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use serde::{Deserialize, Serialize};

use crate::network::{HiddenForward, ModelError, Network, check_tangent, tanh, tanh_tangent};
use crate::whiten::{Whiten, WhitenConfig};

/// Per-channel `(x − mean) / std`, fixed (not trained).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardize {
    /// Per-channel means.
    pub mean: Vec<f32>,
    /// Per-channel standard deviations.
    pub std: Vec<f32>,
}

impl Standardize {
    /// The CIFAR-10 channel statistics the paper standardises with.
    pub fn cifar10() -> Self {
        Self { mean: vec![0.4914, 0.4824, 0.4467], std: vec![0.2471, 0.2435, 0.2616] }
    }
}

/// A CNN: conv blocks (3×3, no padding, tanh, 2×2 max-pool), fully connected tanh layers, read-out.
#[derive(Config, Debug)]
pub struct CnnConfig {
    /// Input shape (channels, height, width).
    pub input: [usize; 3],
    /// Output channels of each 3×3 convolution block, e.g. `[16, 32]`.
    pub conv_channels: Vec<usize>,
    /// Widths of the fully connected tanh layers after the conv blocks, e.g. `[1000]`.
    pub fully_connected: Vec<usize>,
    /// Number of classes.
    pub classes: usize,
    /// Per-channel standardisation inside the model (CIFAR-10), so attacks stay in pixel units.
    #[config(default = "None")]
    pub standardize: Option<Standardize>,
    /// Whiten the flattened output of the last conv block (E2's "-Wh" variants).
    #[config(default = false)]
    pub whiten_after_convs: bool,
    /// Settings of the whitening layer, when there is one.
    #[config(default = "WhitenConfig::default()")]
    pub whiten: WhitenConfig,
}

impl CnnConfig {
    /// E2/E3's MNIST network: 16 and 32 channels, FC 1000, 10 classes.
    pub fn mnist() -> Self {
        Self::new([1, 28, 28], vec![16, 32], vec![1000], 10)
    }

    /// E2/E3's CIFAR-10 network, standardising the input inside the model.
    pub fn cifar10() -> Self {
        Self::new([3, 32, 32], vec![16, 32], vec![1000], 10).with_standardize(Some(Standardize::cifar10()))
    }

    /// (channels, height, width) after each conv block.
    pub fn conv_shapes(&self) -> Result<Vec<[usize; 3]>, ModelError> {
        let [_, mut h, mut w] = self.input;
        let mut shapes = Vec::new();
        for &c in &self.conv_channels {
            if h < 4 || w < 4 {
                return Err(ModelError::Config(format!("input {:?} is too small for {} conv blocks", self.input, self.conv_channels.len())));
            }
            (h, w) = block_output(h, w);
            shapes.push([c, h, w]);
        }
        Ok(shapes)
    }

    /// Checks sizes, standardisation and whitening against the input shape.
    pub fn validate(&self) -> Result<(), ModelError> {
        let widths = self.conv_channels.iter().chain(&self.fully_connected).chain(&self.input);
        if self.classes == 0 || widths.into_iter().any(|&w| w == 0) {
            return Err(ModelError::Config(format!("CNN sizes must be positive: {self:?}")));
        }
        if let Some(s) = &self.standardize {
            let channels = self.input[0];
            if s.mean.len() != channels || s.std.len() != channels || s.std.iter().any(|&v| v.is_nan() || v <= 0.0) {
                return Err(ModelError::Config(format!("standardisation needs {channels} means and positive stds, got {s:?}")));
            }
        }
        if self.whiten_after_convs && self.conv_channels.is_empty() {
            return Err(ModelError::Config("whiten_after_convs needs at least one conv block".into()));
        }
        self.conv_shapes().map(|_| ())
    }

    /// Builds the network with PyTorch-default initialisation. Call [`validate`](Self::validate) first
    /// for a configuration read from a file.
    pub fn init(&self, device: &Device) -> Cnn {
        let shapes = self.conv_shapes().expect("a validated configuration");
        let mut channels = self.input[0];
        let convs = self
            .conv_channels
            .iter()
            .map(|&out| {
                let conv = Conv2dConfig::new([channels, out], [3, 3]).init(device);
                channels = out;
                conv
            })
            .collect();
        let mut width = shapes.last().map_or(self.input.iter().product(), |s| s.iter().product());
        let fully_connected = self
            .fully_connected
            .iter()
            .map(|&out| {
                let layer = LinearConfig::new(width, out).init(device);
                width = out;
                layer
            })
            .collect();
        Cnn {
            convs,
            fully_connected,
            readout: LinearConfig::new(width, self.classes).init(device),
            whiten: self.whiten_after_convs.then(|| self.whiten.init()),
            standardize: self.standardize.clone(),
            input: self.input,
        }
    }
}

/// A convolutional network; see [`CnnConfig`].
#[derive(Module, Debug)]
pub struct Cnn {
    /// The 3×3 convolutions.
    pub convs: Vec<Conv2d>,
    /// The fully connected tanh layers.
    pub fully_connected: Vec<Linear>,
    /// The linear read-out to logits.
    pub readout: Linear,
    /// Whitening of the flattened conv maps, if any.
    pub whiten: Option<Whiten>,
    /// The input standardisation, if any.
    #[module(skip)]
    pub standardize: Option<Standardize>,
    /// Input shape (channels, height, width).
    #[module(skip)]
    pub input: [usize; 3],
}

impl Cnn {
    fn standardized(&self, images: Tensor<4>) -> Tensor<4> {
        match &self.standardize {
            None => images,
            Some(s) => {
                let (mean, inv_std) = self.channel_constants(s, &images.device());
                (images - mean) * inv_std
            }
        }
    }

    fn channel_constants(&self, s: &Standardize, device: &Device) -> (Tensor<4>, Tensor<4>) {
        let c = s.mean.len();
        let inv: Vec<f32> = s.std.iter().map(|v| 1.0 / v).collect();
        (Tensor::<1>::from_floats(s.mean.as_slice(), device).reshape([1, c, 1, 1]), Tensor::<1>::from_floats(inv.as_slice(), device).reshape([1, c, 1, 1]))
    }
}

/// Spatial size after one block: a valid 3×3 convolution, then 2×2 max-pooling (floor).
fn block_output(h: usize, w: usize) -> (usize, usize) {
    ((h - 2) / 2, (w - 2) / 2)
}

fn pool_options() -> MaxPoolOptions<2> {
    MaxPoolOptions::new([2, 2])
}

/// Gathers the tangent at the positions each max-pool window selected.
fn pool_tangent(t: Tensor<4>, indices: Tensor<4, Int>) -> Tensor<4> {
    let dims = indices.dims();
    t.flatten::<3>(2, 3).gather(2, indices.flatten::<3>(2, 3)).reshape(dims)
}

impl Network for Cnn {
    fn forward_hidden(&self, images: Tensor<4>) -> HiddenForward {
        let mut x = self.standardized(images);
        let mut hidden = Vec::new();
        for conv in &self.convs {
            x = tanh(burn::tensor::module::max_pool2d(conv.forward(x), pool_options()));
            hidden.push(x.clone().flatten(1, 3));
        }
        let mut flat: Tensor<2> = x.flatten(1, 3);
        if let (Some(whiten), Some(last)) = (&self.whiten, hidden.last_mut()) {
            flat = whiten.forward(flat);
            *last = flat.clone();
        }
        for layer in &self.fully_connected {
            flat = tanh(layer.forward(flat));
            hidden.push(flat.clone());
        }
        HiddenForward { logits: self.readout.forward(flat), hidden }
    }

    fn forward_tangent(&self, images: Tensor<4>, tangent: Tensor<4>) -> Result<(Tensor<2>, Tensor<2>), ModelError> {
        check_tangent(&images, &tangent)?;
        if self.whiten.is_some() {
            return Err(ModelError::TangentUnsupported("whitening layers"));
        }
        let mut t = match &self.standardize {
            Some(s) => tangent * self.channel_constants(s, &images.device()).1,
            None => tangent,
        };
        let mut x = self.standardized(images);
        for conv in &self.convs {
            let options = ConvOptions::new(conv.stride, [0, 0], conv.dilation, conv.groups);
            let t_conv = conv2d(t, conv.weight.val(), None, options);
            let (pooled, indices) = max_pool2d_with_indices(conv.forward(x), pool_options());
            x = tanh(pooled);
            t = tanh_tangent(&x, pool_tangent(t_conv, indices));
        }
        let (mut flat, mut tf): (Tensor<2>, Tensor<2>) = (x.flatten(1, 3), t.flatten(1, 3));
        for layer in &self.fully_connected {
            flat = tanh(layer.forward(flat));
            tf = tanh_tangent(&flat, tf.matmul(layer.weight.val()));
        }
        let tangent = tf.matmul(self.readout.weight.val());
        Ok((self.readout.forward(flat), tangent))
    }

    fn hidden_widths(&self) -> Vec<usize> {
        let [_, mut h, mut w] = self.input;
        let mut widths: Vec<usize> = Vec::new();
        for conv in &self.convs {
            (h, w) = block_output(h, w);
            widths.push(conv.weight.dims()[0] * h * w);
        }
        widths.extend(self.fully_connected.iter().map(|l| l.weight.dims()[1]));
        widths
    }

    fn uses_batch_statistics(&self) -> bool {
        self.whiten.is_some()
    }
}
