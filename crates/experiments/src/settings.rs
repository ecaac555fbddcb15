//! The sizes and settings of one training experiment, as written in a profile section.

use std::path::Path;

use serde::{Deserialize, Serialize};
use specreg_data::DatasetId;

use crate::error::{Error, Result};

/// Where a profile section comes from: the file and the section's name, for messages.
#[derive(Debug, Clone, Copy)]
pub struct SectionOf<'a> {
    /// The profile file.
    pub file: &'a Path,
    /// The section (`e1`, `t2`, …).
    pub section: &'a str,
}

impl SectionOf<'_> {
    /// The error for `setting` of this section: `problem` says what is wrong and what is allowed.
    pub fn bad(&self, setting: impl Into<String>, problem: impl Into<String>) -> Error {
        Error::setting(self.file, self.section, setting, problem)
    }

    /// The section's JSON as `T`; an error names the setting (`epsilons[2]`) and what is wrong.
    pub fn parse<T: serde::de::DeserializeOwned>(&self, section: &serde_json::Value) -> Result<T> {
        serde_path_to_error::deserialize(section).map_err(|e| {
            let setting = e.path().to_string();
            Error::SectionParse { path: self.file.into(), section: self.section.into(), setting, problem: e.into_inner().to_string() }
        })
    }
}

/// The sizes and settings of one training experiment (a section `e1`, `e2_mlp`, … of a profile).
///
/// Settings added after results were first published carry a default and are left out of the JSON
/// when they hold it, so a run finished before they existed still matches its configuration.
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
    /// Attack the first n test examples (at most the test examples measured).
    pub attack_examples: usize,
    /// The attacks run at every ε, by their names in the attack table (default `fgsm` and `pgd`).
    #[serde(default = "default_attacks", skip_serializing_if = "is_default_attacks")]
    pub attacks: Vec<String>,
    /// One run per seed.
    pub seeds: Vec<u64>,
    /// Epochs per run.
    pub epochs: usize,
    /// Training batch size.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// SpecReg strengths β.
    #[serde(default)]
    pub betas: Vec<f64>,
    /// MLP hidden widths, or the CNN's fully connected widths.
    pub hidden: Vec<usize>,
    /// CNN conv channels (ignored by MLP experiments).
    #[serde(default = "default_channels")]
    pub conv_channels: Vec<usize>,
    /// ε grid; null: protocol §1.6's grid for the dataset.
    #[serde(default)]
    pub epsilons: Option<Vec<f64>>,
    /// PGD steps.
    #[serde(default = "default_pgd_steps")]
    pub pgd_steps: usize,
    /// The spectral penalty's anchor rank τ (0-based).
    #[serde(default = "default_tau")]
    pub tau: usize,
    /// The spectral penalty's target exponent α.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// λ_J of the Jacobian penalty.
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
    /// The trajectory: every hidden layer's training-set spectrum every this many epochs (0: only the
    /// regularised layers, whose per-epoch refresh measures it anyway, and the final model). A pass
    /// costs about one epoch of a Vanilla E1 run on the CPU, so 10 keeps it near 10 % of training.
    #[serde(default = "default_spectrum_every", skip_serializing_if = "is_default_spectrum_every")]
    pub spectrum_every: usize,
    /// AutoAttack's ensemble and the transfer attacks, run on the saved models after training (absent:
    /// not run). Not part of a run's identity: adding it evaluates finished runs without retraining.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<SuiteSection>,
}

/// The AutoAttack evaluation of a profile section (docs/protocol.md §1.6): AutoAttack's standard
/// ensemble, its checks, and transfer from the Vanilla model of the same seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteSection {
    /// Attack the first n test examples.
    pub examples: usize,
    /// ε grid; null: MNIST {0.05, 0.1, 0.15, 0.2, 0.3}, CIFAR-10 {2, 4, 8}/255.
    #[serde(default)]
    pub epsilons: Option<Vec<f64>>,
    /// APGD iterations per run and FAB iterations per target (AutoAttack standard: 100).
    #[serde(default = "standard_iterations")]
    pub iterations: usize,
    /// Target classes of APGD-T and FAB-T (standard: 9).
    #[serde(default = "standard_targets")]
    pub targets: usize,
    /// Square Attack queries (standard: 5,000).
    #[serde(default = "standard_queries")]
    pub square_queries: usize,
    /// Examples the convergence check (2× iterations, 5 restarts) runs on.
    #[serde(default = "default_convergence_examples")]
    pub convergence_examples: usize,
    /// Also attack every model with examples crafted on the Vanilla model of its seed.
    #[serde(default = "yes")]
    pub transfer: bool,
}

fn standard_iterations() -> usize {
    100
}
fn standard_targets() -> usize {
    9
}
fn standard_queries() -> usize {
    5000
}
fn default_convergence_examples() -> usize {
    500
}

impl SuiteSection {
    /// The ε grid for `dataset`: the section's, else the default of the field's doc.
    pub fn epsilons(&self, dataset: DatasetId) -> Vec<f64> {
        self.epsilons.clone().unwrap_or_else(|| match dataset {
            DatasetId::Cifar10 => vec![2.0 / 255.0, 4.0 / 255.0, 8.0 / 255.0],
            _ => vec![0.05, 0.1, 0.15, 0.2, 0.3],
        })
    }

    /// Checks the section against the number of test examples measured (`measured`, on `dataset`).
    fn validate(&self, measured: usize, dataset: &str) -> std::result::Result<(), (&'static str, String)> {
        if self.examples == 0 || self.examples > measured {
            return Err(("suite.examples", format!("is {}; must be between 1 and the {measured} test examples measured on {dataset}", self.examples)));
        }
        if let Some(eps) = &self.epsilons
            && (eps.is_empty() || eps.iter().any(|e| !(*e > 0.0 && *e <= 1.0)))
        {
            return Err(("suite.epsilons", format!("is {eps:?}; must be a non-empty list of values in (0, 1]")));
        }
        if let Some(e) = self.epsilons.as_deref().and_then(first_repeat) {
            return Err(("suite.epsilons", format!("lists ε = {e} twice")));
        }
        if self.iterations == 0 {
            return Err(("suite.iterations", "must be ≥ 1".into()));
        }
        if !(1..=9).contains(&self.targets) {
            return Err(("suite.targets", format!("is {}; must be between 1 and 9 (the wrong classes of ten)", self.targets)));
        }
        if self.square_queries == 0 {
            return Err(("suite.square_queries", "must be ≥ 1".into()));
        }
        if self.convergence_examples == 0 {
            return Err(("suite.convergence_examples", "must be ≥ 1".into()));
        }
        Ok(())
    }
}

fn default_spectrum_every() -> usize {
    10
}
fn is_default_spectrum_every(k: &usize) -> bool {
    *k == default_spectrum_every()
}

/// FGSM and PGD, the paper's attacks.
pub fn default_attacks() -> Vec<String> {
    vec!["fgsm".into(), "pgd".into()]
}
fn is_default_attacks(attacks: &[String]) -> bool {
    attacks == default_attacks().as_slice()
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

/// A finite number in a range, for validation messages.
fn finite_at_least(value: f64, min: f64, strict: bool) -> bool {
    value.is_finite() && if strict { value > min } else { value >= min }
}

impl TrainingSettings {
    /// Checks every setting and every setting against the others and against the datasets' sizes,
    /// naming the first problem with the file and section it is in.
    pub fn validate(&self, at: SectionOf<'_>) -> Result<()> {
        let bad = |setting: &str, problem: String| Err(at.bad(setting, problem));
        if self.datasets.is_empty() {
            return bad("datasets", "must name at least one dataset (mnist, cifar10)".into());
        }
        let mut datasets = Vec::new();
        for d in &self.datasets {
            match DatasetId::from_name(d) {
                Some(id @ (DatasetId::Mnist | DatasetId::Cifar10)) if !datasets.contains(&id) => datasets.push(id),
                Some(DatasetId::Mnist | DatasetId::Cifar10) => return bad("datasets", format!("names {d:?} twice")),
                _ => return bad("datasets", format!("unknown dataset {d:?}: allowed are mnist and cifar10")),
            }
        }
        if self.train_per_class == Some(0) {
            return bad("train_per_class", "must be ≥ 1 (or null for the whole training set)".into());
        }
        if self.test_examples == Some(0) {
            return bad("test_examples", "must be ≥ 1 (or null for the whole test set)".into());
        }
        if self.attack_examples == 0 {
            return bad("attack_examples", "must be ≥ 1".into());
        }
        for &dataset in &datasets {
            let sizes = dataset.sizes();
            let name = dataset.name();
            if let Some(k) = self.train_per_class
                && k > sizes.smallest_train_class
            {
                return bad(
                    "train_per_class",
                    format!("is {k}, but {name}'s smallest class has {} training examples (null: the whole training set)", sizes.smallest_train_class),
                );
            }
            if let Some(n) = self.test_examples
                && n > sizes.test
            {
                return bad("test_examples", format!("is {n}, but {name} has {} test examples", sizes.test));
            }
            let measured = self.test_examples.unwrap_or(sizes.test);
            if let Some(Err((setting, problem))) = self.suite.as_ref().map(|suite| suite.validate(measured, name)) {
                return bad(setting, problem);
            }
            if self.attack_examples > measured {
                let which = if self.test_examples.is_some() { "test_examples" } else { "the test set" };
                return bad(
                    "attack_examples",
                    format!(
                        "is {}, above the {measured} test examples measured ({which} on {name}); attacks run on the first test examples",
                        self.attack_examples
                    ),
                );
            }
        }
        if self.seeds.is_empty() {
            return bad("seeds", "must list at least one seed".into());
        }
        if let Some(seed) = first_repeat(&self.seeds) {
            return bad("seeds", format!("lists seed {seed} twice; each seed is one run"));
        }
        if self.epochs == 0 {
            return bad("epochs", "must be ≥ 1".into());
        }
        if self.batch_size < 2 {
            return bad("batch_size", format!("is {}; must be ≥ 2", self.batch_size));
        }
        if let Some(per_class) = self.train_per_class {
            let examples = per_class * 10;
            if self.batch_size > examples {
                return bad("batch_size", format!("is {}, above the {examples} training examples of train_per_class = {per_class}", self.batch_size));
            }
        }
        if !finite_at_least(self.learning_rate, 0.0, true) {
            return bad("learning_rate", format!("is {}; must be finite and > 0", self.learning_rate));
        }
        if let Some(b) = self.betas.iter().find(|b| !finite_at_least(**b, 0.0, false)) {
            return bad("betas", format!("contains {b}; every β must be finite and ≥ 0"));
        }
        if let Some(b) = first_repeat(&self.betas) {
            return bad("betas", format!("lists β = {b} twice"));
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return bad("hidden", format!("is {:?}; needs at least one hidden layer, every width ≥ 1", self.hidden));
        }
        if self.conv_channels.contains(&0) {
            return bad("conv_channels", format!("is {:?}; every channel count must be ≥ 1", self.conv_channels));
        }
        if let Some(eps) = &self.epsilons
            && (eps.is_empty() || eps.iter().any(|e| !(0.0..=1.0).contains(e)))
        {
            return bad("epsilons", format!("is {eps:?}; must be a non-empty list of values in [0, 1]"));
        }
        if let Some(e) = self.epsilons.as_deref().and_then(first_repeat) {
            return bad("epsilons", format!("lists ε = {e} twice"));
        }
        if self.pgd_steps == 0 {
            return bad("pgd_steps", "must be ≥ 1".into());
        }
        if !finite_at_least(self.alpha, 0.0, true) {
            return bad("alpha", format!("is {}; must be finite and > 0", self.alpha));
        }
        if !finite_at_least(self.jacobian_weight, 0.0, false) {
            return bad("jacobian_weight", format!("is {}; must be finite and ≥ 0", self.jacobian_weight));
        }
        if let Some(w) = self.weight_decays.iter().find(|w| !finite_at_least(**w, 0.0, false)) {
            return bad("weight_decays", format!("contains {w}; every weight decay must be finite and ≥ 0"));
        }
        if let Some(w) = first_repeat(&self.weight_decays) {
            return bad("weight_decays", format!("lists {w} twice"));
        }
        if let Some(t) = first_repeat(&self.taus) {
            return bad("taus", format!("lists τ = {t} twice"));
        }
        if self.attacks.is_empty() {
            return bad("attacks", "must name at least one attack".into());
        }
        if let Some(a) = first_repeat(&self.attacks) {
            return bad("attacks", format!("names {a:?} twice"));
        }
        Ok(())
    }

    /// The settings a section must not leave empty for its experiment to compare anything: `betas`,
    /// `weight_decays`, `taus`.
    pub fn list_len(&self, setting: &str) -> Option<usize> {
        match setting {
            "betas" => Some(self.betas.len()),
            "weight_decays" => Some(self.weight_decays.len()),
            "taus" => Some(self.taus.len()),
            _ => None,
        }
    }

    /// The ε grid for `dataset`: the profile's, else protocol §1.6's.
    pub fn epsilons(&self, dataset: DatasetId) -> Vec<f64> {
        self.epsilons.clone().unwrap_or_else(|| match dataset {
            DatasetId::Cifar10 => (0..=8).map(|k| k as f64 / 255.0).collect(),
            _ => (0..=12).map(|k| k as f64 * 0.025).collect(),
        })
    }

    /// Training examples a run on `dataset` sees.
    pub fn train_examples(&self, dataset: DatasetId) -> usize {
        let full = dataset.sizes().train;
        self.train_per_class.map_or(full, |k| (k * 10).min(full))
    }

    /// Test examples measured on `dataset`.
    pub fn test_count(&self, dataset: DatasetId) -> usize {
        self.test_examples.unwrap_or(dataset.sizes().test)
    }
}

/// The first value that appears twice in `values`.
fn first_repeat<T: PartialEq + Clone>(values: &[T]) -> Option<T> {
    values.iter().enumerate().find(|(k, v)| values[..*k].contains(v)).map(|(_, v)| v.clone())
}
