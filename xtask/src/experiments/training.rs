//! What every training experiment shares (E1–E3, S1–S3): train each variant and seed, measure the
//! spectra of every hidden layer and the robustness under FGSM and PGD, and keep one result file per
//! run so that an interrupted `reproduce` never redoes a finished run.
//!
//! Layout under `OUT/<id>/`: `runs/<dataset>/<run>.json` (every table row of one finished run, with
//! its configuration), `checkpoints/<dataset>/<run>/` (per-epoch checkpoints of the run in progress),
//! `models/<dataset>-<run>.safetensors` (PyTorch names), and the tables assembled from all runs.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use specreg_attacks::{Attack, Norm, StepSize, Sweep, run_sweep};
use specreg_data::{DatasetId, Split, verify::verify_dataset};
use specreg_models::{CnnConfig, MlpConfig, ModelConfig, Network, Standardize, to_safetensors};
use specreg_regularizer::{JacobianPenaltyConfig, LayerSelection, SpectralPenaltyConfig};
use specreg_report::tables::{self, FitRow, RobustnessRow, SanityRow, SpectrumRow, TrainingRow};
use specreg_spectrum::{RankRange, eigvalsh, fit_power_law};
use specreg_train::{SpectralSettings, TrainConfig, TrainOptions, hidden_covariances, to_tensors, train};

use super::ExperimentDir;
use crate::backend::Backend;

/// The sizes and settings of one training experiment, from the profile file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSettings {
    /// Datasets to run on, in order (`mnist`, `cifar10`); a missing dataset is skipped and reported.
    #[serde(default = "mnist_only")]
    pub datasets: Vec<String>,
    /// Train on the first k examples of each class (null: the whole training set).
    #[serde(default)]
    pub train_per_class: Option<usize>,
    /// Test accuracy and test spectra on the first n test examples (null: all).
    #[serde(default)]
    pub test_examples: Option<usize>,
    /// Attack the first n test examples.
    pub attack_examples: usize,
    pub seeds: Vec<u64>,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// SpecReg strengths β.
    #[serde(default)]
    pub betas: Vec<f64>,
    /// MLP hidden widths, or the CNN's fully connected widths.
    pub hidden: Vec<usize>,
    /// CNN conv channels (ignored by MLP experiments).
    #[serde(default = "default_channels")]
    pub conv_channels: Vec<usize>,
    /// ε grid; null: PROTOCOL §1.6's grid for the dataset.
    #[serde(default)]
    pub epsilons: Option<Vec<f64>>,
    #[serde(default = "default_pgd_steps")]
    pub pgd_steps: usize,
    #[serde(default = "default_tau")]
    pub tau: usize,
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    #[serde(default = "default_jacobian")]
    pub jacobian_weight: f64,
    /// S1: weight decays.
    #[serde(default)]
    pub weight_decays: Vec<f64>,
    /// S2, S3: anchor ranks τ.
    #[serde(default)]
    pub taus: Vec<usize>,
    /// Also measure spectra on the training examples (a second pass over them).
    #[serde(default = "yes")]
    pub train_spectra: bool,
}

fn mnist_only() -> Vec<String> {
    vec!["mnist".into()]
}
fn default_channels() -> Vec<usize> {
    vec![16, 32]
}
fn default_pgd_steps() -> usize {
    40
}
fn default_tau() -> usize {
    10
}
fn default_alpha() -> f64 {
    1.0
}
fn default_jacobian() -> f64 {
    0.01
}
fn yes() -> bool {
    true
}

impl TrainingSettings {
    pub fn validate(&self) -> Result<()> {
        if self.seeds.is_empty() || self.epochs == 0 || self.attack_examples == 0 || self.hidden.is_empty() {
            bail!("needs seeds, epochs ≥ 1, attack_examples ≥ 1 and hidden widths; got {self:?}");
        }
        for d in &self.datasets {
            if !matches!(d.as_str(), "mnist" | "cifar10") {
                bail!("unknown dataset {d:?} (mnist or cifar10)");
            }
        }
        if let Some(eps) = &self.epsilons {
            if eps.is_empty() || eps.iter().any(|e| !(0.0..=1.0).contains(e)) {
                bail!("epsilons must be a non-empty list in [0, 1], got {eps:?}");
            }
        }
        Ok(())
    }

    /// The ε grid for `dataset`: the profile's, else PROTOCOL §1.6's.
    pub fn epsilons(&self, dataset: DatasetId) -> Vec<f64> {
        self.epsilons.clone().unwrap_or_else(|| match dataset {
            DatasetId::Cifar10 => (0..=8).map(|k| k as f64 / 255.0).collect(),
            _ => (0..=12).map(|k| k as f64 * 0.025).collect(),
        })
    }
}

/// The network family of an experiment; sizes come from the settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Family {
    /// E1: tanh MLP with BatchNorm after every tanh.
    MlpBatchNorm,
    /// E2/E3: plain tanh MLP.
    Mlp,
    /// E2/E3: conv blocks then fully connected tanh layers.
    Cnn,
}

/// One trained configuration, before seeds.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub beta: f64,
    /// Whiten the 2nd hidden layer (MLP) or the last conv block (CNN).
    pub whiten: bool,
    pub spectral: Option<SpectralSettings>,
    pub jacobian: bool,
    pub weight_decay: f64,
}

impl Variant {
    pub fn vanilla(name: &str) -> Self {
        Variant { name: name.into(), beta: 0.0, whiten: false, spectral: None, jacobian: false, weight_decay: 0.0 }
    }
    pub fn specreg(name: &str, beta: f64, tau: usize, alpha: f64, layers: LayerSelection) -> Self {
        let penalty = SpectralPenaltyConfig::new(beta).with_tau(tau).with_alpha(alpha);
        Variant { beta, spectral: Some(SpectralSettings::new(penalty).with_layers(layers)), ..Variant::vanilla(name) }
    }
    pub fn whitened(mut self) -> Self {
        self.whiten = true;
        self.name.push_str("-Wh");
        self
    }
}

/// An experiment: its id, network family and variants, run on the settings' datasets and seeds.
pub struct Experiment<'a> {
    pub id: &'a str,
    pub family: Family,
    pub variants: Vec<Variant>,
    pub settings: &'a TrainingSettings,
}

/// How `reproduce` was asked to run an experiment.
pub struct RunOptions {
    pub data_dir: PathBuf,
    /// Use data that fails its checksums (recorded as such in the manifest).
    pub allow_unverified: bool,
    pub backend: Backend,
    /// `backend`'s device, started (and checked) once for all runs.
    pub device: Device,
}

/// All rows produced by one finished run; cached as `runs/<dataset>/<run>.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRows {
    pub config: serde_json::Value,
    pub training: Vec<TrainingRow>,
    pub spectra: Vec<SpectrumRow>,
    pub fits: Vec<FitRow>,
    pub robustness: Vec<RobustnessRow>,
    pub sanity: Vec<SanityRow>,
}

/// What happened to each dataset of an experiment, for the manifest and SUMMARY.md.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetOutcome {
    pub dataset: String,
    /// `ran`, or `skipped: …` with the command that fetches the data.
    pub status: String,
    /// File → check label, from `data verify`.
    pub checksums: std::collections::BTreeMap<String, String>,
}

impl Experiment<'_> {
    fn model_config(&self, dataset: DatasetId, variant: &Variant) -> ModelConfig {
        let s = self.settings;
        let (input, channels) = match dataset {
            DatasetId::Cifar10 => ([3, 32, 32], 3 * 32 * 32),
            _ => ([1, 28, 28], 28 * 28),
        };
        match self.family {
            Family::MlpBatchNorm | Family::Mlp => ModelConfig::Mlp(
                MlpConfig::new(channels, s.hidden.clone(), 10)
                    .with_batch_norm(self.family == Family::MlpBatchNorm)
                    .with_whiten_after(variant.whiten.then_some(1.min(s.hidden.len() - 1))),
            ),
            Family::Cnn => ModelConfig::Cnn(
                CnnConfig::new(input, s.conv_channels.clone(), s.hidden.clone(), 10)
                    .with_standardize((dataset == DatasetId::Cifar10).then(Standardize::cifar10))
                    .with_whiten_after_convs(variant.whiten),
            ),
        }
    }

    fn train_config(&self, variant: &Variant, seed: u64) -> TrainConfig {
        let s = self.settings;
        TrainConfig::new(s.epochs, s.batch_size, s.learning_rate, seed)
            .with_weight_decay(variant.weight_decay)
            .with_spectral(variant.spectral.clone())
            .with_jacobian(variant.jacobian.then(|| JacobianPenaltyConfig::new().with_weight(s.jacobian_weight)))
    }

    /// Trains and measures every variant × seed on every dataset, then assembles the tables from the
    /// run files (in the experiment's order); returns what happened per dataset.
    pub fn run(&self, dir: &ExperimentDir, options: &RunOptions) -> Result<Vec<DatasetOutcome>> {
        let outcomes = self.run_datasets(dir, options)?;
        let mut runs = Vec::new();
        for name in &self.settings.datasets {
            for variant in &self.variants {
                for &seed in &self.settings.seeds {
                    let path = run_path(dir, name, &run_name(variant, seed));
                    if path.is_file() {
                        runs.push(path);
                    }
                }
            }
        }
        write_tables(dir, &runs)?;
        Ok(outcomes)
    }

    fn run_datasets(&self, dir: &ExperimentDir, options: &RunOptions) -> Result<Vec<DatasetOutcome>> {
        let data_dir = options.data_dir.as_path();
        let mut outcomes = Vec::new();
        for name in &self.settings.datasets {
            let dataset = DatasetId::from_name(name).with_context(|| format!("unknown dataset {name}"))?;
            let report = verify_dataset(data_dir, dataset)?;
            let checksums = match &report {
                specreg_data::verify::DatasetReport::Absent { hint, .. } => {
                    println!("{}: {name} not found under {}: skipped. {hint}", self.id, data_dir.display());
                    outcomes.push(DatasetOutcome { dataset: name.clone(), status: format!("skipped: not found. {hint}"), checksums: Default::default() });
                    continue;
                }
                specreg_data::verify::DatasetReport::Present { files, .. } => {
                    if !report.is_ok() {
                        if !options.allow_unverified {
                            bail!("{name} under {} fails its checksums; run `cargo xtask data verify` for details (or pass --allow-unverified to use it anyway)", data_dir.display());
                        }
                        println!("{}: {name} under {} fails its checksums; used anyway (--allow-unverified), recorded in the manifest", self.id, data_dir.display());
                    }
                    files.iter().map(|f| (f.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()), f.check.label().to_string())).collect()
                }
            };
            let split = specreg_data::load(dataset, data_dir)?;
            self.run_dataset(dir, dataset, &split, options)?;
            outcomes.push(DatasetOutcome { dataset: name.clone(), status: "ran".into(), checksums });
        }
        Ok(outcomes)
    }

    fn run_dataset(&self, dir: &ExperimentDir, dataset: DatasetId, split: &Split, options: &RunOptions) -> Result<()> {
        let s = self.settings;
        let train_set = match s.train_per_class {
            Some(k) => split.train.first_per_class(k)?,
            None => split.train.clone(),
        };
        let test_set = split.test.head(s.test_examples.unwrap_or(split.test.len()));
        let total = self.variants.len() * s.seeds.len();
        // A bar over the runs, with the trainer's epoch bars drawn under it. Status lines go through
        // `say`, which prints above the bars (and also when stderr is not a terminal and bars are hidden).
        let bars = MultiProgress::new();
        let runs_bar = bars.add(ProgressBar::new(total as u64));
        runs_bar.set_style(ProgressStyle::with_template("{prefix} runs [{bar:30}] {pos}/{len} {elapsed} eta {eta}").expect("valid template").progress_chars("=> "));
        runs_bar.set_prefix(format!("{}/{}", self.id, dataset.name()));
        let say = |line: String| bars.suspend(|| println!("{line}"));
        let mut done = 0;
        for variant in &self.variants {
            for &seed in &s.seeds {
                done += 1;
                let run = run_name(variant, seed);
                let label = format!("{}/{} {run} [{done}/{total}]", self.id, dataset.name());
                let model_config = self.model_config(dataset, variant);
                let train_config = self.train_config(variant, seed);
                // The backend is part of a run's identity: the same seed gives the same numbers only on one backend.
                let config = serde_json::json!({ "model": model_config, "train": train_config, "settings": s, "variant": variant.name, "backend": options.backend });
                let path = run_path(dir, dataset.name(), &run);
                if let Ok(text) = std::fs::read_to_string(&path) {
                    if serde_json::from_str::<RunRows>(&text).is_ok_and(|r| r.config == config) {
                        say(format!("{label}: finished earlier (kept)"));
                        runs_bar.inc(1);
                        continue;
                    }
                }
                let started = std::time::Instant::now();
                let experiment = experiment_name(self.id, &s.datasets, dataset);
                let rows = match identical_run(dir, dataset, &run, &config, &experiment)? {
                    Some((rows, source)) => {
                        say(format!("{label}: identical to the finished run in {source} (E2 and E3 share their Vanilla runs): reused"));
                        rows
                    }
                    None => self.run_one(dir, dataset, variant, seed, &model_config, &train_config, &train_set, &test_set, &label, config, &options.device, &bars)?,
                };
                let json = serde_json::to_string(&rows)?;
                specreg_report::write_file_atomically(&path, &json)?;
                let _ = std::fs::remove_dir_all(checkpoint_dir(dir, dataset, &run));
                say(format!("{label}: {}", status_line(&rows, started.elapsed().as_secs_f64())));
                runs_bar.inc(1);
            }
        }
        runs_bar.finish_and_clear();
        Ok(())
    }

    /// One run: train (resuming from its checkpoint), save the model, measure spectra and robustness.
    #[allow(clippy::too_many_arguments)]
    fn run_one(
        &self,
        dir: &ExperimentDir,
        dataset: DatasetId,
        variant: &Variant,
        seed: u64,
        model_config: &ModelConfig,
        train_config: &TrainConfig,
        train_set: &specreg_data::Dataset,
        test_set: &specreg_data::Dataset,
        label: &str,
        config: serde_json::Value,
        device: &Device,
        bars: &MultiProgress,
    ) -> Result<RunRows> {
        let run = run_name(variant, seed);
        let options = TrainOptions { device: device.clone(), checkpoint_dir: Some(checkpoint_dir(dir, dataset, &run)), progress: true, label: label.to_string(), bars: Some(bars.clone()) };
        let trained = train(model_config, train_config, train_set, test_set, &options).with_context(|| format!("training {label}"))?;
        let id = RunId { experiment: experiment_name(self.id, &self.settings.datasets, dataset), variant: variant.name.clone(), beta: variant.beta, seed };

        let bytes = to_safetensors(&trained.model, serde_json::to_string(model_config)?)?;
        let model_path = dir.root.join("models").join(format!("{}-{run}.safetensors", dataset.name()));
        specreg_report::write_file_atomically(&model_path, &bytes)?;

        let mut splits = vec![("test", test_set)];
        if self.settings.train_spectra {
            splits.push(("train", train_set));
        }
        let eval_batch = train_config.eval_batch_size;
        let (spectra, fits) = measure_spectra(&id, &trained.model, &splits, eval_batch, device)?;
        let attacked = test_set.head(self.settings.attack_examples.min(test_set.len()));
        // The sweep draws a bar of its own; the runs bar steps aside meanwhile.
        let (robustness, sanity) = bars.suspend(|| measure_robustness(&id, &trained.model, self.settings, dataset, &attacked, eval_batch, device))?;
        let training = trained.history.iter().map(|r| id.training_row(r)).collect();
        Ok(RunRows { config, training, spectra, fits, robustness, sanity })
    }
}

/// The identifying columns shared by every table row of one run.
struct RunId {
    experiment: String,
    variant: String,
    beta: f64,
    seed: u64,
}

impl RunId {
    fn training_row(&self, r: &specreg_train::EpochRecord) -> TrainingRow {
        TrainingRow {
            experiment: self.experiment.clone(),
            variant: self.variant.clone(),
            beta: self.beta,
            seed: self.seed,
            epoch: r.epoch as u32,
            loss: r.loss,
            penalty: r.penalty,
            train_acc: r.train_accuracy,
            test_acc: r.test_accuracy,
            seconds: r.seconds,
        }
    }
}

/// PROTOCOL §1.7: every hidden layer's covariance spectrum on each split; α̂ fitted on the test split
/// over ranks 11–500 (or to N/2, capped by the number of examples measured).
fn measure_spectra(
    id: &RunId,
    model: &specreg_models::Model,
    splits: &[(&str, &specreg_data::Dataset)],
    eval_batch: usize,
    device: &Device,
) -> Result<(Vec<SpectrumRow>, Vec<FitRow>)> {
    let layers: Vec<usize> = (0..model.hidden_widths().len()).collect();
    let (mut spectra, mut fits) = (Vec::new(), Vec::new());
    for &(split, data) in splits {
        for (k, acc) in hidden_covariances(model, data, &layers, eval_batch, device)?.into_iter().enumerate() {
            let eigenvalues = eigvalsh(acc.covariance()?.view())?.to_vec();
            let layer = format!("hidden{}", k + 1);
            spectra.extend(eigenvalues.iter().enumerate().map(|(r, &eigenvalue)| SpectrumRow {
                experiment: id.experiment.clone(),
                variant: id.variant.clone(),
                beta: id.beta,
                seed: id.seed,
                layer: layer.clone(),
                split: split.into(),
                rank: r as u32 + 1,
                eigenvalue,
            }));
            if split != "test" {
                continue;
            }
            if let Ok(fit) = fit_power_law(&eigenvalues, RankRange::protocol(eigenvalues.len().min(data.len()))) {
                fits.push(FitRow {
                    experiment: id.experiment.clone(),
                    variant: id.variant.clone(),
                    beta: id.beta,
                    seed: id.seed,
                    layer,
                    alpha_hat: fit.alpha,
                    r2: fit.r2,
                    rank_min: fit.range.min as u32,
                    rank_max: fit.range.max as u32,
                });
            }
        }
    }
    Ok((spectra, fits))
}

/// PROTOCOL §1.6: FGSM and PGD over the ε grid, with the sanity checks (masking probe at ε = 0.5).
fn measure_robustness(
    id: &RunId,
    model: &specreg_models::Model,
    settings: &TrainingSettings,
    dataset: DatasetId,
    attacked: &specreg_data::Dataset,
    eval_batch: usize,
    device: &Device,
) -> Result<(Vec<RobustnessRow>, Vec<SanityRow>)> {
    let (x, y) = to_tensors(attacked.images.view(), attacked.labels.view(), device);
    let step_size = match dataset {
        DatasetId::Cifar10 => StepSize::TimesEpsilon(2.5 / settings.pgd_steps as f32),
        _ => StepSize::Absolute(0.01),
    };
    let sweep = Sweep {
        attacks: vec![Attack::Fgsm, Attack::Pgd { norm: Norm::Linf, steps: settings.pgd_steps, step_size, restarts: 1, random_start: true }],
        epsilons: settings.epsilons(dataset).iter().map(|&e| e as f32).collect(),
        batch_size: eval_batch,
        seed: id.seed,
        masking_epsilon: Some(0.5),
        show_progress: true,
    };
    let classify = |images: Tensor<4>| model.forward(images);
    let report = run_sweep(&sweep, &classify, x, y)?;
    let robustness = report
        .records
        .iter()
        .map(|r| RobustnessRow {
            experiment: id.experiment.clone(),
            variant: id.variant.clone(),
            beta: id.beta,
            seed: id.seed,
            attack: r.attack.clone(),
            epsilon: f64::from(r.epsilon),
            accuracy: r.accuracy,
            n_examples: r.n_examples as u32,
            max_perturbation: f64::from(r.max_perturbation),
            batch_size: r.batch_size as u32,
            min_pixel: f64::from(r.min_pixel),
            max_pixel: f64::from(r.max_pixel),
        })
        .collect();
    let sanity = report
        .checks
        .iter()
        .map(|c| SanityRow {
            experiment: id.experiment.clone(),
            variant: id.variant.clone(),
            beta: id.beta,
            seed: id.seed,
            check: c.name.clone(),
            passed: c.passed,
            detail: c.detail.clone(),
        })
        .collect();
    Ok((robustness, sanity))
}

/// `E2-CNN/cifar10` when an experiment runs on several datasets, else the id.
fn experiment_name(id: &str, datasets: &[String], dataset: DatasetId) -> String {
    if datasets.len() > 1 { format!("{id}/{}", dataset.name()) } else { id.to_string() }
}

/// A file-name-safe run name: `SpecReg-b5-s0`.
fn run_name(variant: &Variant, seed: u64) -> String {
    let name: String = variant.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect();
    format!("{name}-b{}-s{seed}", variant.beta)
}

/// A finished run of another experiment under the same output directory with exactly this
/// configuration (same network, training, settings and variant), relabelled for `experiment`; its
/// model file is copied. Identical runs are trained once.
fn identical_run(dir: &ExperimentDir, dataset: DatasetId, run: &str, config: &serde_json::Value, experiment: &str) -> Result<Option<(RunRows, String)>> {
    let Some(out) = dir.root.parent() else { return Ok(None) };
    let mut others: Vec<PathBuf> = std::fs::read_dir(out).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    others.sort();
    for other in others.into_iter().filter(|p| p.is_dir() && *p != dir.root) {
        let source = other.join("runs").join(dataset.name()).join(format!("{run}.json"));
        let Some(mut rows) = std::fs::read_to_string(&source).ok().and_then(|t| serde_json::from_str::<RunRows>(&t).ok()) else { continue };
        if rows.config != *config {
            continue;
        }
        rows.training.iter_mut().for_each(|r| r.experiment = experiment.to_string());
        rows.spectra.iter_mut().for_each(|r| r.experiment = experiment.to_string());
        rows.fits.iter_mut().for_each(|r| r.experiment = experiment.to_string());
        rows.robustness.iter_mut().for_each(|r| r.experiment = experiment.to_string());
        rows.sanity.iter_mut().for_each(|r| r.experiment = experiment.to_string());
        let model = format!("{}-{run}.safetensors", dataset.name());
        let bytes = std::fs::read(other.join("models").join(&model)).with_context(|| format!("the model of {}", source.display()))?;
        specreg_report::write_file_atomically(&dir.root.join("models").join(&model), &bytes)?;
        let name = other.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        return Ok(Some((rows, name)));
    }
    Ok(None)
}

fn run_path(dir: &ExperimentDir, dataset: &str, run: &str) -> PathBuf {
    dir.root.join("runs").join(dataset).join(format!("{run}.json"))
}

fn checkpoint_dir(dir: &ExperimentDir, dataset: DatasetId, run: &str) -> PathBuf {
    dir.root.join("checkpoints").join(dataset.name()).join(run)
}

/// The one-line status printed when a run finishes.
fn status_line(rows: &RunRows, seconds: f64) -> String {
    let last = rows.training.last();
    let fits: Vec<String> = rows.fits.iter().map(|f| format!("{} α̂ {:.2}", f.layer, f.alpha_hat)).collect();
    let worst = rows.robustness.iter().filter(|r| r.attack.starts_with("pgd")).map(|r| (r.epsilon, r.accuracy)).fold(None, |_, p| Some(p));
    format!(
        "done in {seconds:.0} s: test accuracy {:.4}, {}{}{}",
        last.map_or(f64::NAN, |r| r.test_acc),
        fits.join(", "),
        worst.map_or(String::new(), |(e, a)| format!(", PGD accuracy {a:.3} at ε = {e:.3}")),
        if rows.sanity.iter().all(|c| c.passed) { String::new() } else { ", SANITY CHECK FAILED (see sanity table)".into() }
    )
}

/// Assembles the experiment's tables from its run files, in the order given.
fn write_tables(dir: &ExperimentDir, runs: &[PathBuf]) -> Result<()> {
    let mut all = RunRows::default();
    for path in runs {
        let rows: RunRows = serde_json::from_str(&std::fs::read_to_string(path)?).with_context(|| format!("reading {}", path.display()))?;
        all.training.extend(rows.training);
        all.spectra.extend(rows.spectra);
        all.fits.extend(rows.fits);
        all.robustness.extend(rows.robustness);
        all.sanity.extend(rows.sanity);
    }
    tables::write_table(&mut tables::training_frame(&all.training)?, &dir.table("training"))?;
    tables::write_table(&mut tables::spectra_frame(&all.spectra)?, &dir.table("spectra"))?;
    tables::write_table(&mut tables::fits_frame(&all.fits)?, &dir.table("fits"))?;
    tables::write_table(&mut tables::robustness_frame(&all.robustness)?, &dir.table("robustness"))?;
    tables::write_table(&mut tables::sanity_frame(&all.sanity)?, &dir.table("sanity"))?;
    Ok(())
}
