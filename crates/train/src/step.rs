//! One training run's moving parts (model, AMSGrad, penalties) and the one function that takes an
//! optimiser step. The training loop ([`crate::train`]) and the benchmarks both step through
//! [`Trainer::step`], so what is benchmarked is what trains.

use std::path::Path;

use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Gradients;
use specreg_models::{Model, ModelConfig, Network};
use specreg_regularizer::{JacobianPenalty, SpectralPenalty};

use crate::checkpoint::{self, CheckpointState};
use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::record::EpochRecord;
use crate::tensors::{DeviceData, Site, correct, hidden_covariances};
use crate::trajectory::SpectrumPoint;

/// What one step measured, on the device (detached, shape `[1]`): read once per epoch, not per step.
#[derive(Debug, Clone)]
pub struct StepValues {
    /// The batch's cross-entropy.
    pub loss: Tensor<1>,
    /// The batch's total penalty (spectral + Jacobian), if the run has one.
    pub penalty: Option<Tensor<1>>,
    /// Correct predictions in the batch (training mode).
    pub correct: Tensor<1, Int>,
}

/// A model being trained with AMSGrad and the run's penalties (protocol §1.2, §1.4, §1.5).
pub struct Trainer {
    /// `None` only inside [`Trainer::step`], while the optimiser owns the model.
    model: Option<Model>,
    optimizer: ModuleOptimizer,
    spectral: Vec<(usize, SpectralPenalty)>,
    jacobian: Option<JacobianPenalty>,
    loss_fn: CrossEntropyLoss,
    config: TrainConfig,
    device: Device,
    site: Site,
}

impl Trainer {
    /// Validates the settings against the network and a training set of `train_examples`, then builds
    /// the model (initial weights drawn from the config's seed) on `device` (autodiff on top of it).
    pub fn new(model_config: &ModelConfig, config: &TrainConfig, train_examples: usize, device: &Device) -> Result<Self, TrainError> {
        model_config.validate()?;
        let autodiff = device.clone().autodiff();
        let model = model_config.init_seeded(&autodiff, config.seed)?;
        let widths = model.hidden_widths();
        config.validate(&widths, train_examples)?;

        let mut adam = AdamConfig::new().with_amsgrad(true).with_epsilon(config.adam_epsilon as f32);
        if config.weight_decay > 0.0 {
            adam = adam.with_weight_decay(Some(WeightDecayConfig::new(config.weight_decay as f32)));
        }
        let spectral = match &config.spectral {
            None => Vec::new(),
            Some(s) => s
                .layers
                .resolve(widths.len())
                .map_err(TrainError::PenaltySettings)?
                .into_iter()
                .map(|k| Ok((k, s.penalty.init(widths[k]).map_err(TrainError::PenaltySettings)?)))
                .collect::<Result<_, TrainError>>()?,
        };
        let jacobian = config.jacobian.as_ref().map(|j| j.init()).transpose().map_err(TrainError::PenaltySettings)?;
        Ok(Trainer {
            model: Some(model),
            optimizer: adam.init(),
            spectral,
            jacobian,
            loss_fn: CrossEntropyLossConfig::new().init(&autodiff),
            config: config.clone(),
            device: device.clone(),
            site: Site::default(),
        })
    }

    /// Runs the eigenvector refresh's covariance and the Jacobian projections at `site` (host by default).
    pub fn with_site(mut self, site: Site) -> Self {
        self.site = site;
        self
    }

    /// The model as trained so far (training mode, on the autodiff device).
    pub fn model(&self) -> &Model {
        self.model.as_ref().expect("the model is only taken inside step")
    }

    /// The model in evaluation mode, on the plain device.
    pub fn evaluated(&self) -> Model {
        self.model().valid()
    }

    /// The run's settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Whether the run has a spectral penalty (whose eigenvectors need a refresh every epoch, and
    /// whose batches must all be full).
    pub fn has_spectral_penalty(&self) -> bool {
        !self.spectral.is_empty()
    }

    /// protocol §1.2 step 1: the full training set through the network in evaluation mode, the
    /// covariance of each regularised layer in f64, its eigenvectors frozen for the epoch. The same
    /// pass measures the other hidden layers when `all_layers`. Returns each measured layer's
    /// training-set spectrum point (`epoch` = epochs completed).
    pub fn refresh_eigenvectors(&mut self, train: &DeviceData, epoch: usize, all_layers: bool) -> Result<Vec<SpectrumPoint>, TrainError> {
        Ok(self.spectra_pass(train, epoch, all_layers, true)?.0)
    }

    /// The training-set spectrum points of the regularised layers (of every layer when `all_layers`)
    /// without refreshing any eigenvectors: the final model's point of the trajectory. Also returns
    /// each measured layer's eigenvalues (decreasing), in layer order.
    pub fn measure_spectra(&mut self, train: &DeviceData, epoch: usize, all_layers: bool) -> Result<(Vec<SpectrumPoint>, Vec<Vec<f64>>), TrainError> {
        self.spectra_pass(train, epoch, all_layers, false)
    }

    fn spectra_pass(&mut self, train: &DeviceData, epoch: usize, all_layers: bool, refresh: bool) -> Result<(Vec<SpectrumPoint>, Vec<Vec<f64>>), TrainError> {
        let regularised: Vec<usize> = self.spectral.iter().map(|(k, _)| *k).collect();
        let layers: Vec<usize> = if all_layers { (0..self.model().hidden_widths().len()).collect() } else { regularised.clone() };
        if layers.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let covariances = hidden_covariances(&self.evaluated(), train, &layers, self.config.eval_batch_size, self.site).map_err(|e| match e {
            TrainError::Spectrum { layer, source } => TrainError::Eigen { epoch, layer, source: source.into() },
            other => other,
        })?;
        let (mut points, mut spectra) = (Vec::new(), Vec::new());
        for (&k, covariance) in layers.iter().zip(covariances) {
            let failed = |source| TrainError::Eigen { epoch, layer: k, source };
            let eigenvalues = match self.spectral.iter_mut().find(|(layer, _)| *layer == k).filter(|_| refresh) {
                Some((_, penalty)) => penalty.refresh(covariance.view(), &self.device).map_err(failed)?,
                None => {
                    let values = specreg_spectrum::eigvalsh(covariance.view()).map_err(|e| failed(e.into()))?;
                    specreg_regularizer::check_positive_semidefinite(values.as_slice().expect("contiguous")).map_err(failed)?;
                    values
                }
            };
            points.push(SpectrumPoint::new(epoch, k, regularised.contains(&k), eigenvalues.as_slice().expect("contiguous"), train.len()));
            spectra.push(eigenvalues.to_vec());
        }
        Ok((points, spectra))
    }

    /// One optimiser step on a batch (images and labels on the autodiff device): forward pass,
    /// cross-entropy plus penalties, backward pass, AMSGrad update. `epoch` and `batch` (0-based)
    /// seed the Jacobian projection and locate errors; after an error the model is unchanged.
    pub fn step(&mut self, x: Tensor<4>, y: Tensor<1, Int>, epoch: usize, batch: usize) -> Result<StepValues, TrainError> {
        let (values, grads) = self.loss_and_gradients(x, y, epoch, batch)?;
        let model = self.model.take().expect("the model is only taken inside step");
        let grads = GradientsParams::from_grads(grads, &model);
        self.model = Some(self.optimizer.step(self.config.learning_rate, model, grads));
        Ok(values)
    }

    /// The batch's loss (cross-entropy + penalties), its parts (detached, on the device), and its
    /// gradients. Nothing is read back: non-finite values are found when the epoch's values are read.
    fn loss_and_gradients(&self, x: Tensor<4>, y: Tensor<1, Int>, epoch: usize, batch: usize) -> Result<(StepValues, Gradients), TrainError> {
        let model = self.model();
        let mut penalty: Option<Tensor<1>> = None;
        let (logits, hidden) = match &self.jacobian {
            Some(jac) => {
                let autodiff = self.device.clone().autodiff();
                let seed = projection_seed(self.config.seed, epoch, batch);
                let tangent = match self.site {
                    Site::Host => jac.projection(x.dims(), seed, &autodiff),
                    Site::Device => jac.device_projection(x.dims(), seed, &autodiff),
                };
                let (logits, jv) = model.forward_tangent(x.clone(), tangent)?;
                penalty = Some(jac.value(jv));
                // The spectral penalty needs the hidden layers too: a second pass only then.
                (logits, if self.spectral.is_empty() { Vec::new() } else { model.forward_hidden(x).hidden })
            }
            None => {
                let out = model.forward_hidden(x);
                (out.logits, out.hidden)
            }
        };
        for (k, p) in &self.spectral {
            let value = p.value(hidden[*k].clone()).map_err(|source| TrainError::Penalty { epoch, batch, layer: *k, source })?;
            penalty = Some(match penalty {
                Some(sum) => sum + value.value,
                None => value.value,
            });
        }
        let ce = self.loss_fn.forward(logits.clone(), y.clone());
        let loss = ce.clone().detach().inner();
        let (total, penalty) = match penalty {
            Some(p) => (ce + p.clone(), Some(p.detach().inner())),
            None => (ce, None),
        };
        let correct = correct(logits.detach().inner(), y.inner());
        Ok((StepValues { loss, penalty, correct }, total.backward()))
    }

    /// Loads the newest checkpoint under `dir` written by this run's configuration (any epoch count),
    /// returning its history and spectrum trajectory; empty when there is none.
    pub(crate) fn resume(&mut self, dir: &Path, model_config: &ModelConfig) -> Result<(Vec<EpochRecord>, Vec<SpectrumPoint>), TrainError> {
        let Some(found) = checkpoint::latest(dir)? else { return Ok((Vec::new(), Vec::new())) };
        if found.state.config != self.checkpoint_identity(model_config) {
            return Err(found.refused("was written by a run with a different configuration; delete it or use another directory"));
        }
        if found.state.history.len() > self.config.epochs {
            return Err(found.refused(format!("holds {} epochs, more than the {} requested", found.state.history.len(), self.config.epochs)));
        }
        let record_error = |path: std::path::PathBuf| move |source| TrainError::Record { path, source };
        let record = ModuleRecord::load(found.model_path()).map_err(record_error(found.model_path()))?;
        let model = self.model.take().expect("the model is only taken inside step");
        self.model = Some(model.try_load_record(record).map_err(record_error(found.model_path()))?);
        let optimizer = std::mem::replace(&mut self.optimizer, AdamConfig::new().init());
        self.optimizer = optimizer.load(found.optimizer_path()).map_err(record_error(found.optimizer_path()))?;
        Ok((found.state.history, found.state.trajectory))
    }

    /// Writes a checkpoint of the model and optimizer after `history.len()` epochs under `dir`.
    pub(crate) fn save_checkpoint(
        &self,
        dir: &Path,
        model_config: &ModelConfig,
        history: &[EpochRecord],
        trajectory: &[SpectrumPoint],
    ) -> Result<(), TrainError> {
        let state = CheckpointState { config: self.checkpoint_identity(model_config), history: history.to_vec(), trajectory: trajectory.to_vec() };
        checkpoint::save(dir, &state, |model_path, optimizer_path| {
            self.model().clone().into_record().save(model_path).map_err(|source| TrainError::Record { path: model_path.into(), source })?;
            self.optimizer.save(optimizer_path).map_err(|source| TrainError::Record { path: optimizer_path.into(), source })
        })
    }

    /// What a checkpoint must match to be resumed: everything but the epoch count, so that a finished
    /// run can also be extended.
    fn checkpoint_identity(&self, model_config: &ModelConfig) -> serde_json::Value {
        serde_json::json!({ "model": model_config, "train": TrainConfig { epochs: 0, ..self.config.clone() } })
    }
}

/// A distinct, reproducible seed for each batch's Jacobian projection.
fn projection_seed(seed: u64, epoch: usize, batch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((epoch as u64) << 32) ^ batch as u64
}
