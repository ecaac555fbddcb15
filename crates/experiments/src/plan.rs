//! The runs a profile implies: for each training experiment, datasets × variants × seeds, each with its
//! key, its network, training configuration and attacks, and the identity that decides whether a
//! finished run file (or a checkpoint, or a lock) belongs to it. One definition, used by `reproduce`,
//! `--plan`, `--shard` and `--collect` alike.

use specreg_attacks::Attack;
use specreg_data::DatasetId;
use specreg_models::ModelConfig;
use specreg_report::RunKey;
use specreg_train::TrainConfig;

use crate::attacks::AttackSpec;
use crate::catalog::{ExperimentSpec, Kind};
use crate::settings::TrainingSettings;
use crate::variant::Variant;

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
    /// The attacks measured after training, from the attack table.
    pub attacks: Vec<Attack>,
}

impl PlannedRun {
    /// What a finished run must match to be kept: network, training, the experiment's settings, the
    /// variant and the backend (the same seed gives the same numbers only on one backend). Two runs
    /// with equal identities are the same computation, whichever experiment plans them. The AutoAttack
    /// evaluation (`suite`) is left out: it is measured on the saved model and has an identity of its
    /// own ([`PlannedRun::suite_identity`]).
    pub fn identity(&self, backend: &str) -> serde_json::Value {
        let settings = TrainingSettings { suite: None, ..self.settings.clone() };
        serde_json::json!({ "model": self.model, "train": self.train, "settings": settings, "variant": self.variant.name, "backend": backend })
    }

    /// What a finished AutoAttack evaluation of this run must match to be kept: the run, the suite's
    /// settings, and the run its transfer examples are crafted on (if any).
    pub fn suite_identity(&self, backend: &str, source: Option<&PlannedRun>) -> serde_json::Value {
        serde_json::json!({ "run": self.identity(backend), "suite": self.settings.suite, "source": source.map(|s| s.identity(backend)) })
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

/// The runs of one training experiment, in the order they run: datasets, then variants, then seeds;
/// their attacks are the rows of `attacks` the settings name ([`crate::Registry::runs`] passes its
/// attack table).
pub fn experiment_runs(attacks: &[AttackSpec], spec: &ExperimentSpec, settings: &TrainingSettings) -> Vec<PlannedRun> {
    let Kind::Training(training) = &spec.kind else { return Vec::new() };
    let variants = (training.variants)(settings);
    let mut runs = Vec::new();
    for dataset in settings.datasets.iter().filter_map(|d| DatasetId::from_name(d)) {
        let experiment = if settings.datasets.len() > 1 { format!("{}/{}", spec.id, dataset.name()) } else { spec.id.to_string() };
        let chosen: Vec<Attack> = settings.attacks.iter().filter_map(|id| attacks.iter().find(|a| a.id == id)).map(|a| (a.build)(settings, dataset)).collect();
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
                    attacks: chosen.clone(),
                });
            }
        }
    }
    runs
}

/// A file-name-safe run name: `SpecReg-b5-s0`.
fn run_name(variant: &Variant, seed: u64) -> String {
    let name: String = variant.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect();
    format!("{name}-b{}-s{seed}", variant.beta)
}
