//! The training loop (PROTOCOL §1.2, §1.4, §1.5).

use std::path::PathBuf;
use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::store::ModuleRecord;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use specreg_data::{BatchOrder, Dataset};
use specreg_models::{Model, ModelConfig, Network};
use specreg_regularizer::{JacobianPenalty, SpectralPenalty};

use crate::checkpoint::{self, CheckpointState};
use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::tensors::{accuracy, correct, hidden_covariances, to_tensors};

/// One row of the training curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based: the number of epochs completed.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's batches.
    pub loss: f64,
    /// Mean total penalty (spectral + Jacobian) over the epoch's batches; 0 without penalties.
    pub penalty: f64,
    /// Accuracy on the training batches as they were seen during the epoch (training mode).
    pub train_accuracy: f64,
    /// Accuracy on the test set after the epoch (evaluation mode).
    pub test_accuracy: f64,
    /// Wall time of the epoch, eigenvector refresh and evaluation included.
    pub seconds: f64,
}

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
    pub fn new(device: Device) -> Self {
        Self { device, checkpoint_dir: None, progress: false, label: String::new(), bars: None }
    }
}

/// A trained model (evaluation mode) and its training curve.
#[derive(Debug)]
pub struct Trained {
    pub model: Model,
    pub history: Vec<EpochRecord>,
    /// Epochs taken from a checkpoint rather than trained in this call.
    pub resumed_epochs: usize,
}

/// Trains `model_config` on `train`, evaluating on `test` after every epoch.
///
/// The same config and seed give the same numbers on the same backend, whether or not the run was
/// interrupted and resumed from a checkpoint.
pub fn train(model_config: &ModelConfig, config: &TrainConfig, train: &Dataset, test: &Dataset, options: &TrainOptions) -> Result<Trained, TrainError> {
    model_config.validate()?;
    let device = options.device.clone();
    let autodiff = device.clone().autodiff();
    let mut model = model_config.init_seeded(&autodiff, config.seed)?;
    let widths = model.hidden_widths();
    config.validate(&widths, train.len())?;

    let mut adam = AdamConfig::new().with_amsgrad(true).with_epsilon(config.adam_epsilon as f32);
    if config.weight_decay > 0.0 {
        adam = adam.with_weight_decay(Some(WeightDecayConfig::new(config.weight_decay as f32)));
    }
    let mut optimizer = adam.init();

    let mut spectral: Vec<(usize, SpectralPenalty)> = match &config.spectral {
        None => Vec::new(),
        Some(s) => s
            .layers
            .resolve(widths.len())
            .map_err(|e| TrainError::Config(e.to_string()))?
            .into_iter()
            .map(|k| Ok((k, s.penalty.init(widths[k]).map_err(|e| TrainError::Config(e.to_string()))?)))
            .collect::<Result<_, TrainError>>()?,
    };
    let jacobian: Option<JacobianPenalty> = config.jacobian.as_ref().map(|j| j.init()).transpose().map_err(|e| TrainError::Config(e.to_string()))?;

    // Resuming compares everything but the epoch count, so a finished run can also be extended.
    let run_config = serde_json::json!({ "model": model_config, "train": TrainConfig { epochs: 0, ..config.clone() } });
    let mut history = Vec::new();
    if let Some(dir) = &options.checkpoint_dir {
        if let Some(found) = checkpoint::latest(dir)? {
            let failed = |message: String| checkpoint::error(&found.dir, message);
            if found.state.config != run_config {
                return Err(failed("was written by a run with a different configuration; delete it or use another directory".into()));
            }
            let record = ModuleRecord::load(found.model_path()).map_err(|e| failed(e.to_string()))?;
            model = model.try_load_record(record).map_err(|e| failed(e.to_string()))?;
            optimizer = optimizer.load(found.optimizer_path()).map_err(|e| failed(e.to_string()))?;
            if found.state.history.len() > config.epochs {
                return Err(failed(format!("holds {} epochs, more than the {} requested", found.state.history.len(), config.epochs)));
            }
            history = found.state.history;
        }
    }
    let resumed_epochs = history.len();
    let loss_fn = CrossEntropyLossConfig::new().init(&autodiff);

    for epoch in history.len()..config.epochs {
        let started = Instant::now();
        if !spectral.is_empty() {
            refresh_eigenvectors(&model, &mut spectral, train, config.eval_batch_size, &device, epoch)?;
        }
        let order = BatchOrder::new(train.len(), config.batch_size, config.seed, epoch as u64, !spectral.is_empty())
            .map_err(|e| TrainError::Config(e.to_string()))?;
        let bar = progress_bar(options, epoch, config.epochs, order.len());
        let (mut loss_sum, mut penalty_sum, mut right, mut seen) = (0.0, 0.0, 0usize, 0usize);
        let batches = order.len();
        for (b, indices) in order.into_iter().enumerate() {
            let batch = train.select(&indices);
            let (x, y) = to_tensors(batch.images.view(), batch.labels.view(), &autodiff);
            let mut penalty: Option<Tensor<1>> = None;
            let (logits, hidden) = match &jacobian {
                Some(jac) => {
                    let tangent = jac.projection(x.dims(), projection_seed(config.seed, epoch, b), &autodiff);
                    let (logits, jv) = model.forward_tangent(x.clone(), tangent)?;
                    penalty = Some(jac.value(jv));
                    // The spectral penalty needs the hidden layers too: a second pass only then.
                    (logits, if spectral.is_empty() { Vec::new() } else { model.forward_hidden(x).hidden })
                }
                None => {
                    let out = model.forward_hidden(x);
                    (out.logits, out.hidden)
                }
            };
            for (k, p) in &spectral {
                let value = p.value(hidden[*k].clone()).map_err(|source| TrainError::Penalty { epoch, batch: b, layer: *k, source })?;
                penalty = Some(match penalty {
                    Some(sum) => sum + value.value,
                    None => value.value,
                });
            }
            let ce = loss_fn.forward(logits.clone(), y.clone());
            let ce_value = scalar(&ce);
            check_finite(ce_value, epoch, b, "cross-entropy loss")?;
            let total = match &penalty {
                Some(p) => {
                    let value = scalar(p);
                    check_finite(value, epoch, b, "penalty")?;
                    penalty_sum += value;
                    ce + p.clone()
                }
                None => ce,
            };
            loss_sum += ce_value;
            right += correct(logits.detach(), y);
            seen += indices.len();
            let grads = GradientsParams::from_grads(total.backward(), &model);
            model = optimizer.step(config.learning_rate, model, grads);
            if let Some(bar) = &bar {
                bar.set_message(format!("loss {:.4}", loss_sum / (b + 1) as f64));
                bar.inc(1);
            }
        }
        let evaluated = model.valid();
        let record = EpochRecord {
            epoch: epoch + 1,
            loss: loss_sum / batches as f64,
            penalty: penalty_sum / batches as f64,
            train_accuracy: right as f64 / seen.max(1) as f64,
            test_accuracy: accuracy(&evaluated, test, config.eval_batch_size, &device),
            seconds: started.elapsed().as_secs_f64(),
        };
        if let Some(bar) = bar {
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
        history.push(record);
        if let Some(dir) = &options.checkpoint_dir {
            let state = CheckpointState { config: run_config.clone(), history: history.clone() };
            let (m, o) = (model.clone(), &optimizer);
            checkpoint::save(dir, &state, |model_path, optimizer_path| {
                m.into_record().save(model_path).map_err(|e| e.to_string())?;
                o.save(optimizer_path).map_err(|e| e.to_string())
            })?;
        }
    }
    Ok(Trained { model: model.valid(), history, resumed_epochs })
}

/// PROTOCOL §1.2 step 1: the full training set through the network in evaluation mode, covariance in
/// f64, eigenvectors frozen for the epoch.
fn refresh_eigenvectors(
    model: &Model,
    spectral: &mut [(usize, SpectralPenalty)],
    train: &Dataset,
    batch_size: usize,
    device: &Device,
    epoch: usize,
) -> Result<(), TrainError> {
    let layers: Vec<usize> = spectral.iter().map(|(k, _)| *k).collect();
    let evaluated = model.valid();
    let covariances = hidden_covariances(&evaluated, train, &layers, batch_size, device).map_err(|e| match e {
        TrainError::Spectrum { layer, message } => TrainError::Eigen { epoch, layer, message },
        other => other,
    })?;
    let autodiff = device.clone().autodiff();
    for ((k, penalty), acc) in spectral.iter_mut().zip(covariances) {
        let covariance = acc.covariance().map_err(|e| TrainError::Eigen { epoch, layer: *k, message: e.to_string() })?;
        penalty.refresh(covariance.view(), &autodiff).map_err(|e| TrainError::Eigen { epoch, layer: *k, message: e.to_string() })?;
    }
    Ok(())
}

fn scalar(t: &Tensor<1>) -> f64 {
    t.clone().into_scalar::<f64>()
}

fn check_finite(value: f64, epoch: usize, batch: usize, what: &'static str) -> Result<(), TrainError> {
    if value.is_finite() { Ok(()) } else { Err(TrainError::NonFinite { epoch, batch, what, value }) }
}

/// A distinct, reproducible seed for each batch's Jacobian projection.
fn projection_seed(seed: u64, epoch: usize, batch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((epoch as u64) << 32) ^ batch as u64
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
