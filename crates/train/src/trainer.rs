//! The training loop (protocol §1.2, §1.4, §1.5): epochs of shuffled batches through [`Trainer::step`],
//! the eigenvector refresh before each epoch, evaluation, a checkpoint after each epoch.

use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::*;
use burn::tensor::Transaction;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use specreg_data::{BatchOrder, Dataset};
use specreg_models::{Model, ModelConfig};

use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::record::EpochRecord;
use crate::step::{StepValues, Trainer};
use crate::tensors::{DeviceData, Site, correct_count};
use crate::trajectory::SpectrumPoint;

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
    /// Where the eigenvector refresh accumulates its covariances.
    pub site: Site,
    /// Measure every hidden layer's training-set spectrum every this many epochs (at 0, k, 2k, …
    /// epochs completed) and after the last one, for the trajectory; `None`: regularised layers only
    /// (free: their refresh computes it), plus the final point. A pass costs about one evaluation of
    /// the training set plus the covariances.
    pub spectrum_every: Option<usize>,
}

impl TrainOptions {
    /// Train on `device`, without checkpoints or progress bars.
    pub fn new(device: Device) -> Self {
        Self { device, checkpoint_dir: None, progress: false, label: String::new(), bars: None, site: Site::default(), spectrum_every: None }
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
    /// Every measured layer's training-set spectrum through training (see [`SpectrumPoint`]).
    pub trajectory: Vec<SpectrumPoint>,
    /// Every hidden layer's training-set eigenvalues (decreasing) for the final model, when this call
    /// measured them for the trajectory's last point: what measuring the training split again gives.
    pub final_train_spectra: Option<Vec<Vec<f64>>>,
}

/// Trains `model_config` on `train`, evaluating on `test` after every epoch.
///
/// The same config and seed give the same numbers on the same backend, whether or not the run was
/// interrupted and resumed from a checkpoint.
pub fn train(model_config: &ModelConfig, config: &TrainConfig, train: &Dataset, test: &Dataset, options: &TrainOptions) -> Result<Trained, TrainError> {
    let device = options.device.clone();
    let mut trainer = Trainer::new(model_config, config, train.len(), &device)?.with_site(options.site);
    let (mut history, mut trajectory) = match &options.checkpoint_dir {
        Some(dir) => trainer.resume(dir, model_config)?,
        None => (Vec::new(), Vec::new()),
    };
    let resumed_epochs = history.len();
    // Uploaded once per run; every batch is gathered on the device.
    let (train_data, test_data) = (DeviceData::upload(train, &device), DeviceData::upload(test, &device));

    for epoch in history.len()..config.epochs {
        let started = Instant::now();
        let all_layers = options.spectrum_every.is_some_and(|k| k > 0 && epoch % k == 0);
        if trainer.has_spectral_penalty() || all_layers {
            trajectory.extend(trainer.refresh_eigenvectors(&train_data, epoch, all_layers)?);
        }
        let order = BatchOrder::new(train.len(), config.batch_size, config.seed, epoch as u64, trainer.has_spectral_penalty())
            .map_err(|e| TrainError::Config(e.to_string()))?;
        let bar = progress_bar(options, epoch, config.epochs, order.len());
        // The epoch's whole order goes up in one upload; each batch is a slice of it.
        let sizes: Vec<usize> = order.batches().iter().map(Vec::len).collect();
        let indices: Vec<i64> = order.batches().iter().flatten().map(|&i| i as i64).collect();
        let count = indices.len();
        let indices = Tensor::<1, Int>::from_data(TensorData::new(indices, [count]), &device.clone().inner());
        let mut steps = Vec::with_capacity(sizes.len());
        let mut first = 0;
        for (b, &size) in sizes.iter().enumerate() {
            let (x, y) = train_data.select(indices.clone().narrow(0, first, size));
            first += size;
            steps.push(trainer.step(x.autodiff(), y.autodiff(), epoch, b)?);
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        }
        let evaluated = trainer.evaluated();
        let epoch_values =
            read_epoch(steps, correct_count(&evaluated, &test_data, config.eval_batch_size), epoch, history.first().map(|r: &EpochRecord| r.loss))?;
        let record = EpochRecord {
            epoch: epoch + 1,
            loss: epoch_values.losses.iter().sum::<f64>() / sizes.len() as f64,
            penalty: epoch_values.penalties.iter().sum::<f64>() / sizes.len() as f64,
            train_accuracy: epoch_values.correct as f64 / count.max(1) as f64,
            test_accuracy: epoch_values.test_correct as f64 / test.len().max(1) as f64,
            seconds: started.elapsed().as_secs_f64(),
        };
        if let Some(bar) = bar {
            finish_bar(options, bar, &record);
        }
        history.push(record);
        if let Some(dir) = &options.checkpoint_dir {
            trainer.save_checkpoint(dir, model_config, &history, &trajectory)?;
        }
    }
    // The final model's point, every layer (unless measured already: a resumed, finished run).
    let mut final_train_spectra = None;
    if (options.spectrum_every.is_some() || trainer.has_spectral_penalty()) && !trajectory.iter().any(|p| p.epoch == config.epochs) {
        let all_layers = options.spectrum_every.is_some();
        let (points, spectra) = trainer.measure_spectra(&train_data, config.epochs, all_layers)?;
        trajectory.extend(points);
        final_train_spectra = all_layers.then_some(spectra);
    }
    Ok(Trained { model: trainer.evaluated(), history, resumed_epochs, trajectory, final_train_spectra })
}

/// An epoch's per-batch values, read back in one transaction.
struct EpochValues {
    losses: Vec<f64>,
    penalties: Vec<f64>,
    correct: i64,
    test_correct: i64,
}

/// A run stops as diverged when a batch's cross-entropy exceeds this many times the first epoch's
/// mean loss (in the first epoch: the first batch's loss). Cross-entropy starts near ln(classes) and
/// falls; exceeding 100× its start means the weights have blown up.
pub const DIVERGENCE_FACTOR: f64 = 100.0;

/// Reads every step's loss, penalty and correct count, and the test set's correct count, in one
/// device round-trip, and names the first batch whose loss or penalty is not finite, or whose loss
/// exceeds [`DIVERGENCE_FACTOR`] × `reference` (the first epoch's mean loss; in the first epoch, the
/// first batch's). A batch's values are f32 on the device; they are summed in f64 here, as they were
/// when read one by one.
fn read_epoch(steps: Vec<StepValues>, test_correct: Tensor<1, Int>, epoch: usize, reference: Option<f64>) -> Result<EpochValues, TrainError> {
    let penalised = steps.iter().all(|s| s.penalty.is_some());
    let mut losses = Vec::with_capacity(steps.len());
    let mut penalties = Vec::with_capacity(steps.len());
    let mut corrects = Vec::with_capacity(steps.len());
    for s in steps {
        losses.push(s.loss);
        corrects.push(s.correct);
        if let Some(p) = s.penalty {
            penalties.push(p);
        }
    }
    let mut transaction = Transaction::default().register(Tensor::cat(losses, 0)).register(Tensor::cat(corrects, 0)).register(test_correct);
    if penalised {
        transaction = transaction.register(Tensor::cat(penalties, 0));
    }
    let read = transaction.execute();
    let losses: Vec<f64> = read[0].iter::<f64>().collect();
    let penalties: Vec<f64> = if penalised { read[3].iter::<f64>().collect() } else { vec![0.0; losses.len()] };
    let reference = reference.or(losses.first().copied()).unwrap_or(f64::INFINITY);
    for (batch, (&loss, &penalty)) in losses.iter().zip(&penalties).enumerate() {
        if !loss.is_finite() {
            return Err(TrainError::NonFinite { epoch, batch, what: "cross-entropy loss", value: loss });
        }
        if !penalty.is_finite() {
            return Err(TrainError::NonFinite { epoch, batch, what: "penalty", value: penalty });
        }
        if loss > DIVERGENCE_FACTOR * reference {
            return Err(TrainError::Diverged { epoch, batch, value: loss, reference, factor: DIVERGENCE_FACTOR });
        }
    }
    Ok(EpochValues { losses, penalties, correct: read[1].iter::<i64>().sum(), test_correct: read[2].iter::<i64>().sum() })
}

fn progress_bar(options: &TrainOptions, epoch: usize, epochs: usize, batches: usize) -> Option<ProgressBar> {
    options.progress.then(|| {
        let bar = ProgressBar::new(batches as u64);
        let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} batches {elapsed}, eta {eta_known} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.with_key("eta_known", eta_known).progress_chars("=> "));
        bar.set_prefix(format!("{} epoch {}/{epochs}", options.label, epoch + 1));
        match &options.bars {
            Some(group) => group.add(bar),
            None => bar,
        }
    })
}

/// The remaining time, or `?` before the first batch (an estimate from nothing would read 0 s).
fn eta_known(state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = if state.pos() == 0 { write!(w, "?") } else { write!(w, "{:#}", indicatif::HumanDuration(state.eta())) };
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
