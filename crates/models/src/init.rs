//! PyTorch-default initialisation from a seed, independent of the device's random generator.
//!
//! burn draws initial weights from a per-device generator shared by every thread, so two models
//! built concurrently (parallel tests, several runs in one process) would depend on scheduling.
//! Drawing them from a ChaCha stream keyed by the seed makes a model a pure function of
//! (configuration, seed), on every backend.

use burn::module::Param;
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::Model;

struct Init {
    rng: ChaCha8Rng,
}

impl Init {
    /// Uniform in ±1/√fan_in: PyTorch's default for the weights and biases of linear and conv layers.
    fn uniform<const D: usize>(&mut self, shape: [usize; D], fan_in: usize, device: &Device) -> Param<Tensor<D>> {
        let bound = 1.0 / (fan_in as f32).sqrt();
        let values: Vec<f32> = (0..shape.iter().product()).map(|_| self.rng.random_range(-bound..=bound)).collect();
        Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
    }

    fn linear(&mut self, layer: &mut Linear) {
        let device = layer.weight.device();
        let [fan_in, fan_out] = layer.weight.dims();
        layer.weight = self.uniform([fan_in, fan_out], fan_in, &device);
        if layer.bias.is_some() {
            layer.bias = Some(self.uniform([fan_out], fan_in, &device));
        }
    }

    fn conv(&mut self, conv: &mut Conv2d) {
        let device = conv.weight.device();
        let shape = conv.weight.dims();
        let fan_in = shape[1] * shape[2] * shape[3];
        conv.weight = self.uniform(shape, fan_in, &device);
        if conv.bias.is_some() {
            conv.bias = Some(self.uniform([shape[0]], fan_in, &device));
        }
    }
}

/// Re-draws every weight and bias of `model` from `seed` (BatchNorm keeps γ = 1, β = 0).
pub fn initialize(mut model: Model, seed: u64) -> Model {
    let mut init = Init { rng: ChaCha8Rng::seed_from_u64(seed) };
    match &mut model {
        Model::Mlp(m) => {
            m.layers.iter_mut().for_each(|l| init.linear(l));
            init.linear(&mut m.readout);
        }
        Model::Cnn(c) => {
            c.convs.iter_mut().for_each(|l| init.conv(l));
            c.fully_connected.iter_mut().for_each(|l| init.linear(l));
            init.linear(&mut c.readout);
        }
    }
    model
}
