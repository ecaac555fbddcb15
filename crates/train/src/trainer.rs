//! The training loop (PROTOCOL §1.2, §1.4, §1.5): epochs of shuffled batches through [`Trainer::step`],
//! the eigenvector refresh before each epoch, evaluation, a checkpoint after each epoch.

use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::*;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use specreg_data::{BatchOrder, Dataset};
use specreg_models::{Model, ModelConfig};

use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::record::EpochRecord;
use crate::step::Trainer;
use crate::tensors::{accuracy, to_tensors};

/// Where and how to run.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The (non-autodiff) device; training runs on `device.autodiff()`.
    pub device: Device,
    /// Checkpoint after every epoch here, and resume from the newest checkpoint found.
    pub checkpoint_dir: Option<PathBuf>,
    /// Show a progress bar per epoch.
    pub progress: bool,
    /// Label of the progress bar (for example the variant name).
    pub label: String,
    /// A group to draw the epoch bars in, so that a caller's own bars (a bar over runs, say) stay
    /// on screen with them; `None`: bars of their own.
    pub bars: Option<MultiProgress>,
}

impl TrainOptions {
    /// Train on `device`, without checkpoints or progress bars.
    pub fn new(device: Device) -> Self {
        Self { device, checkpoint_dir: None, progress: false, label: String::new(), bars: None }
    }
}

/// A trained model (evaluation mode) and its training curve.
#[derive(Debug)]
pub struct Trained {
    /// The model after the last epoch, in evaluation mode.
    pub model: Model,
    /// One record per epoch.
    pub history: Vec<EpochRecord>,
    /// Epochs taken from a checkpoint rather than trained in this call.
    pub resumed_epochs: usize,
}

/// Trains `model_config` on `train`, evaluating on `test` after every epoch.
///
/// The same config and seed give the same numbers on the same backend, whether or not the run was
/// interrupted and resumed from a checkpoint.
pub fn train(model_config: &ModelConfig, config: &TrainConfig, train: &Dataset, test: &Dataset, options: &TrainOptions) -> Result<Trained, TrainError> {
    let device = options.device.clone();
    let autodiff = device.clone().autodiff();
    let mut trainer = Trainer::new(model_config, config, train.len(), &device)?;
    let mut history = match &options.checkpoint_dir {
        Some(dir) => trainer.resume(dir, model_config)?,
        None => Vec::new(),
    };
    let resumed_epochs = history.len();

    for epoch in history.len()..config.epochs {
        let started = Instant::now();
        if trainer.has_spectral_penalty() {
            trainer.refresh_eigenvectors(train, epoch)?;
        }
        let order = BatchOrder::new(train.len(), config.batch_size, config.seed, epoch as u64, trainer.has_spectral_penalty())
            .map_err(|e| TrainError::Config(e.to_string()))?;
        let bar = progress_bar(options, epoch, config.epochs, order.len());
        let (mut loss_sum, mut penalty_sum, mut right, mut seen) = (0.0, 0.0, 0usize, 0usize);
        let batches = order.len();
        for (b, indices) in order.into_iter().enumerate() {
            let batch = train.select(&indices);
            let (x, y) = to_tensors(batch.images.view(), batch.labels.view(), &autodiff);
            let values = trainer.step(x, y, epoch, b)?;
            loss_sum += values.loss;
            penalty_sum += values.penalty.unwrap_or(0.0);
            right += values.correct;
            seen += indices.len();
            if let Some(bar) = &bar {
                bar.set_message(format!("loss {:.4}", loss_sum / (b + 1) as f64));
                bar.inc(1);
            }
        }
        let record = EpochRecord {
            epoch: epoch + 1,
            loss: loss_sum / batches as f64,
            penalty: penalty_sum / batches as f64,
            train_accuracy: right as f64 / seen.max(1) as f64,
            test_accuracy: accuracy(&trainer.evaluated(), test, config.eval_batch_size, &device),
            seconds: started.elapsed().as_secs_f64(),
        };
        if let Some(bar) = bar {
            finish_bar(options, bar, &record);
        }
        history.push(record);
        if let Some(dir) = &options.checkpoint_dir {
            trainer.save_checkpoint(dir, model_config, &history)?;
        }
    }
    Ok(Trained { model: trainer.evaluated(), history, resumed_epochs })
}

fn progress_bar(options: &TrainOptions, epoch: usize, epochs: usize, batches: usize) -> Option<ProgressBar> {
    options.progress.then(|| {
        let bar = ProgressBar::new(batches as u64);
        let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} batches {elapsed} {msg}").expect("valid template");
        bar.set_style(style.progress_chars("=> "));
        bar.set_prefix(format!("{} epoch {}/{epochs}", options.label, epoch + 1));
        match &options.bars {
            Some(group) => group.add(bar),
            None => bar,
        }
    })
}

fn finish_bar(options: &TrainOptions, bar: ProgressBar, record: &EpochRecord) {
    let summary = format!("loss {:.4}, test accuracy {:.4}", record.loss, record.test_accuracy);
    match &options.bars {
        // In a group a finished bar would keep its place (one per epoch, piling up); it leaves
        // a line above the group instead, as a finished bar of its own does.
        Some(group) => {
            group.remove(&bar);
            let _ = group.println(format!("{} {} batches in {:.1} s: {summary}", bar.prefix(), bar.length().unwrap_or(0), bar.elapsed().as_secs_f64()));
        }
        None => bar.finish_with_message(summary),
    }
}
