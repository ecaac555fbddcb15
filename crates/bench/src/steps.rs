//! One training step (E1 with and without the spectral penalty, the MNIST CNN), ours and PyTorch's
//! interleaved in one invocation, the E1 step's three main matrix products alone, and the E1 epoch
//! time on full MNIST.

use std::path::Path;
use std::time::Instant;

use burn::prelude::*;
use ndarray::{Array1, Array4};
use rand::{Rng, SeedableRng};
use specreg_data::Dataset;
use specreg_experiments::{BENCH_CNN_ROW, BENCH_E1_ROW};
use specreg_models::{CnnConfig, MlpConfig, Model, ModelConfig};
use specreg_regularizer::SpectralPenaltyConfig;
use specreg_train::{DeviceData, SpectralSettings, TrainConfig, TrainOptions, Trainer, train as run_training};

use crate::Target;
use crate::error::Result;
use crate::products::products;
use crate::reference::Reference;
use crate::report::{Row, header, median, report};

/// Runs the benchmark on `target`: `repeats` timed steps per side (after two warm-up steps each),
/// the two sides interleaved step by step; with `epochs`, E1 epochs on full MNIST from `data_dir`.
pub fn training_steps(target: &Target, repeats: usize, epochs: bool, data_dir: &Path, json: Option<&Path>) -> Result<Vec<Row>> {
    let device = &target.device;
    let mut reference = Reference::start(target.torch_device);
    println!("{}", header("training-step benchmark", &target.description, reference.as_ref().map(|r| r.description.as_str())));
    println!("(median of {repeats} steps per side after 2 warm-ups, the two sides interleaved step by step)");
    let e1 = ModelConfig::Mlp(MlpConfig::new(784, vec![2000], 10).with_batch_norm(true));
    let cnn = ModelConfig::Cnn(CnnConfig::mnist());
    let mut rows = Vec::new();
    // Each configuration: ours, timed once, against one or more PyTorch steps (row name, reference name).
    for (config, batch, spectral, references) in [
        (&e1, 3500, None, &[(BENCH_E1_ROW, "e1")][..]),
        (&e1, 3500, Some(SpectralPenaltyConfig::new(5.0)), &[("E1 step + SpecReg, batch 3500", "e1-specreg")][..]),
        // Ours applies tanh after pooling (see specreg_models::Cnn); PyTorch runs that order and the
        // usual conv → tanh → pool, the same function.
        (&cnn, 1000, None, &[(BENCH_CNN_ROW, "cnn"), ("CNN step (reference: conv → tanh → pool)", "cnn-tanh-first")][..]),
    ] {
        let mut ours = StepTimer::new(config, batch, spectral, device)?;
        ours.time()?;
        ours.time()?;
        let mut mine = Vec::new();
        let mut theirs = vec![Vec::new(); references.len()];
        for _ in 0..repeats {
            mine.push(ours.time()?);
            if let Some(r) = reference.as_mut() {
                for (times, (_, name)) in theirs.iter_mut().zip(references) {
                    times.extend(r.steps(name, 1)?);
                }
            }
        }
        let mine = median(mine);
        match reference {
            Some(_) => rows.extend(references.iter().zip(theirs).map(|((what, _), times)| Row::new(*what, mine, (!times.is_empty()).then(|| median(times))))),
            None => rows.push(Row::new(references[0].0, mine, None)),
        }
    }
    // The step's main products alone: is the step's ratio the GEMM's?
    rows.extend(products(device, reference.as_mut(), repeats)?);
    if epochs {
        let mnist = specreg_data::load_mnist(data_dir)?;
        let epoch = |spectral: Option<SpectralSettings>| -> Result<f64> {
            let config = TrainConfig::new(1, 3500, 1e-3, 0).with_spectral(spectral);
            let options = TrainOptions { site: target.site, ..TrainOptions::new(device.clone()) };
            Ok(run_training(&e1, &config, &mnist.train, &mnist.test, &options)?.history[0].seconds)
        };
        let vanilla = epoch(None)?;
        let specreg = epoch(Some(SpectralSettings::new(SpectralPenaltyConfig::new(5.0))))?;
        rows.push(Row::new("E1 epoch, Vanilla (full MNIST, with test evaluation)", vanilla, None));
        rows.push(Row::new("E1 epoch, SpecReg β=5 (reference: our Vanilla epoch)", specreg, Some(vanilla)));
    }
    report(&target.description, reference.as_ref().map(|r| r.description.as_str()), &rows, json)?;
    Ok(rows)
}

/// One of our training configurations, timed step by step through [`Trainer::step`], the trainer's
/// own step, on one batch of uniform random images.
struct StepTimer {
    trainer: Trainer,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    steps: usize,
}

impl StepTimer {
    fn new(config: &ModelConfig, batch: usize, spectral: Option<SpectralPenaltyConfig>, device: &Device) -> Result<Self> {
        let data = DeviceData::upload(&random_images(config, batch), device);
        let train_config = TrainConfig::new(1, batch, 1e-3, 0).with_spectral(spectral.map(SpectralSettings::new));
        let mut trainer = Trainer::new(config, &train_config, batch, device)?;
        if trainer.has_spectral_penalty() {
            trainer.refresh_eigenvectors(&data, 0, false)?;
        }
        Ok(StepTimer { trainer, x: data.images.autodiff(), y: data.labels.autodiff(), steps: 0 })
    }

    /// Seconds of one step, up to the updated weights being readable.
    fn time(&mut self) -> Result<f64> {
        let started = Instant::now();
        self.trainer.step(self.x.clone(), self.y.clone(), 0, self.steps)?;
        self.steps += 1;
        // Wait for the update to finish before stopping the clock.
        let _ = match self.trainer.model() {
            Model::Mlp(m) => m.readout.bias.as_ref().map(|b| b.val().into_data()),
            Model::Cnn(c) => c.readout.bias.as_ref().map(|b| b.val().into_data()),
        };
        Ok(started.elapsed().as_secs_f64())
    }
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
