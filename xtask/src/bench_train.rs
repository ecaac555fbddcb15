//! `cargo xtask bench train`: the cost of one training step, against PyTorch 2.15 on the same 2-core
//! machine (figures from the models issue), and the E1 epoch time on full MNIST.

use std::time::Instant;

use anyhow::Result;
use burn::prelude::*;
use ndarray::{Array1, Array4};
use rand::{Rng, SeedableRng};
use specreg_data::Dataset;
use specreg_models::{CnnConfig, MlpConfig, Model, ModelConfig};
use specreg_regularizer::SpectralPenaltyConfig;
use specreg_train::{SpectralSettings, TrainConfig, TrainOptions, Trainer, to_tensors, train as run_training};

/// PyTorch 2.15, 2 cores: E1 step without / with the spectral penalty, CNN step (seconds).
const TORCH_E1_S: f64 = 0.19;
const TORCH_E1_SPECREG_S: f64 = 0.68;
const TORCH_CNN_S: f64 = 0.27;

pub fn train(steps_only: bool, data_dir: &std::path::Path, backend: crate::backend::Backend) -> Result<()> {
    let device = backend.device()?;
    println!("training-step benchmark, {} (median of 5 steps after 2 warm-up steps)", backend.describe());
    let e1 = ModelConfig::Mlp(MlpConfig::new(784, vec![2000], 10).with_batch_norm(true));
    let cnn = ModelConfig::Cnn(CnnConfig::mnist());
    let plain = step_time(&e1, 3500, None, &device)?;
    let specreg = step_time(&e1, 3500, Some(SpectralPenaltyConfig::new(5.0)), &device)?;
    let conv = step_time(&cnn, 1000, None, &device)?;
    for (what, secs, torch) in [
        ("E1 step, batch 3500", plain, TORCH_E1_S),
        ("E1 step + SpecReg, batch 3500", specreg, TORCH_E1_SPECREG_S),
        ("CNN step, batch 1000", conv, TORCH_CNN_S),
    ] {
        if backend == crate::backend::Backend::Flex {
            println!("{what:<32} {secs:>6.3} s   PyTorch {torch:.2} s   ratio {:.2}", secs / torch);
        } else {
            // The PyTorch figures are 2-core CPU ones; bench/pytorch_steps.py measures the same steps on this GPU.
            println!("{what:<32} {secs:>6.4} s");
        }
    }
    if steps_only {
        return Ok(());
    }
    let mnist = specreg_data::load_mnist(data_dir)?;
    println!("E1 epoch on full MNIST (60,000 images, batch 3500, incl. eigenvector refresh and test evaluation):");
    for (name, spectral) in [("Vanilla", None), ("SpecReg β=5", Some(SpectralSettings::new(SpectralPenaltyConfig::new(5.0))))] {
        let config = TrainConfig::new(1, 3500, 1e-3, 0).with_spectral(spectral);
        let started = Instant::now();
        let trained = run_training(&e1, &config, &mnist.train, &mnist.test, &TrainOptions::new(device.clone()))?;
        println!("  {name:<12} {:>6.1} s (epoch), {:.1} s with setup; test accuracy after 1 epoch {:.4}", trained.history[0].seconds, started.elapsed().as_secs_f64(), trained.history[0].test_accuracy);
    }
    Ok(())
}

/// Median seconds of one optimiser step (forward, penalty, backward, AMSGrad update), taken by
/// [`Trainer::step`], the trainer's own step, on one batch of uniform random images.
fn step_time(config: &ModelConfig, batch: usize, spectral: Option<SpectralPenaltyConfig>, device: &Device) -> Result<f64> {
    let data = random_images(config, batch);
    let train_config = TrainConfig::new(1, batch, 1e-3, 0).with_spectral(spectral.map(SpectralSettings::new));
    let mut trainer = Trainer::new(config, &train_config, batch, device)?;
    if trainer.has_spectral_penalty() {
        trainer.refresh_eigenvectors(&data, 0)?;
    }
    let (x, y) = to_tensors(data.images.view(), data.labels.view(), &device.clone().autodiff());
    let mut times = Vec::new();
    for k in 0..7 {
        let started = Instant::now();
        trainer.step(x.clone(), y.clone(), 0, k)?;
        // Wait for the update to finish before stopping the clock.
        let _ = match trainer.model() {
            Model::Mlp(m) => m.readout.bias.as_ref().map(|b| b.val().into_data()),
            Model::Cnn(c) => c.readout.bias.as_ref().map(|b| b.val().into_data()),
        };
        if k >= 2 {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// One batch of uniform random images of the network's input shape, labels 0–9 in turn.
fn random_images(config: &ModelConfig, batch: usize) -> Dataset {
    let [c, h, w] = match config {
        ModelConfig::Mlp(_) => [1, 28, 28],
        ModelConfig::Cnn(c) => c.input,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let images = Array4::from_shape_simple_fn((batch, c, h, w), || rng.random::<f32>());
    Dataset { images, labels: Array1::from_shape_fn(batch, |k| (k % 10) as u8), num_classes: 10 }
}
