//! The runs a profile implies: for each training experiment, datasets × variants × seeds, each with its
//! key, its network and training configuration, and the identity that decides whether a finished run
//! file (or a checkpoint, or a lock) belongs to it. One definition, used by `reproduce`, `--plan`,
//! `--shard` and `--collect` alike.

use specreg_data::DatasetId;
use specreg_models::ModelConfig;
use specreg_report::RunKey;
use specreg_train::TrainConfig;

use crate::catalog::{ExperimentSpec, Kind, Variant};
use crate::error::{Error, Result, chain};
use crate::profile::Profile;
use crate::settings::TrainingSettings;

/// One training run of one experiment.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// The experiment's id (`E2-CNN`).
    pub experiment: &'static str,
    /// Its dataset.
    pub dataset: DatasetId,
    /// Its variant.
    pub variant: Variant,
    /// Its seed.
    pub seed: u64,
    /// The key of its table rows (the experiment is `E2-CNN/cifar10` when it runs on several datasets).
    pub key: RunKey,
    /// A file-name-safe name, unique within the experiment and dataset: `SpecReg-b5-s0`.
    pub name: String,
    /// The network.
    pub model: ModelConfig,
    /// The training settings.
    pub train: TrainConfig,
    /// The experiment's settings (sizes, attacks, spectra).
    pub settings: TrainingSettings,
}

impl PlannedRun {
    /// What a finished run must match to be kept: network, training, the experiment's settings, the
    /// variant and the backend (the same seed gives the same numbers only on one backend). Two runs
    /// with equal identities are the same computation, whichever experiment plans them.
    pub fn identity(&self, backend: &str) -> serde_json::Value {
        serde_json::json!({ "model": self.model, "train": self.train, "settings": self.settings, "variant": self.variant.name, "backend": backend })
    }

    /// `E1/mnist SpecReg-b5-s0`, for messages.
    pub fn label(&self) -> String {
        format!("{}/{} {}", self.experiment, self.dataset.name(), self.name)
    }

    /// Epochs × training examples: the unit of training cost.
    pub fn example_epochs(&self) -> u64 {
        (self.settings.epochs * self.settings.train_examples(self.dataset)) as u64
    }
}

/// The runs of one training experiment, in the order they run: datasets, then variants, then seeds.
pub fn experiment_runs(spec: &ExperimentSpec, settings: &TrainingSettings) -> Vec<PlannedRun> {
    let Kind::Training(training) = &spec.kind else { return Vec::new() };
    let variants = (training.variants)(settings);
    let mut runs = Vec::new();
    for dataset in settings.datasets.iter().filter_map(|d| DatasetId::from_name(d)) {
        let experiment = if settings.datasets.len() > 1 { format!("{}/{}", spec.id, dataset.name()) } else { spec.id.to_string() };
        for variant in &variants {
            for &seed in &settings.seeds {
                runs.push(PlannedRun {
                    experiment: spec.id,
                    dataset,
                    variant: variant.clone(),
                    seed,
                    key: RunKey::new(&experiment, &variant.name, variant.beta, seed),
                    name: run_name(variant, seed),
                    model: training.family.model_config(dataset, settings, variant),
                    train: variant.train_config(settings, seed),
                    settings: settings.clone(),
                });
            }
        }
    }
    runs
}

/// Every run of `spec` can be trained as configured: the network is valid and the training settings
/// fit it (batch ≥ every regularised width, τ inside the layer, …). Checked before anything runs.
pub(crate) fn check_runs(profile: &Profile, spec: &ExperimentSpec, settings: &TrainingSettings) -> Result<()> {
    let Kind::Training(training) = &spec.kind else { return Ok(()) };
    for run in experiment_runs(spec, settings) {
        let fail = |e: &dyn std::error::Error| Error::setting(&profile.name, training.section, format!("run {}", run.label()), chain(e));
        let widths = run.model.hidden_widths().map_err(|e| fail(&e))?;
        run.train.validate(&widths, run.settings.train_examples(run.dataset)).map_err(|e| fail(&e))?;
    }
    Ok(())
}

/// A file-name-safe run name: `SpecReg-b5-s0`.
fn run_name(variant: &Variant, seed: u64) -> String {
    let name: String = variant.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect();
    format!("{name}-b{}-s{seed}", variant.beta)
}
