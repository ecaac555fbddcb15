//! The identifying columns of every result row: which run (experiment, variant, β, seed) it belongs to.
//! Defined once here; every row type embeds it, every table writes it as its first four columns.

use serde::{Deserialize, Serialize};

/// Which training run (or theory simulation) a row belongs to.
///
/// `experiment` names the dataset too where an experiment runs on several (`E2-CNN/cifar10`);
/// `beta` is the spectral-penalty strength (0 for unregularised variants).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunKey {
    /// Experiment id, with `/<dataset>` when the experiment runs on several datasets.
    pub experiment: String,
    /// Variant name (`Vanilla`, `SpecReg`, `SpecReg-Wh`, `Jac`, …).
    pub variant: String,
    /// SpecReg strength β (0 without the spectral penalty).
    pub beta: f64,
    /// The run's seed.
    pub seed: u64,
}

impl RunKey {
    /// A key from its four parts.
    pub fn new(experiment: impl Into<String>, variant: impl Into<String>, beta: f64, seed: u64) -> Self {
        RunKey { experiment: experiment.into(), variant: variant.into(), beta, seed }
    }

    /// The key without its seed: what seeds are averaged over.
    pub fn variant_key(&self) -> VariantKey {
        VariantKey { experiment: self.experiment.clone(), variant: self.variant.clone(), beta: self.beta }
    }

    /// `"SpecReg β=5"`, `"Vanilla"`: the variant as figures and summaries name it.
    pub fn label(&self) -> String {
        variant_label(&self.variant, self.beta)
    }
}

/// A run key without its seed: one variant of one experiment, whose seeds are averaged.
#[derive(Debug, Clone)]
pub struct VariantKey {
    /// Experiment id (with `/<dataset>` where needed).
    pub experiment: String,
    /// Variant name.
    pub variant: String,
    /// SpecReg strength β.
    pub beta: f64,
}

impl PartialEq for VariantKey {
    /// β is compared bit for bit, so a key can be used to group rows (NaN never occurs in keys).
    fn eq(&self, other: &Self) -> bool {
        self.experiment == other.experiment && self.variant == other.variant && self.beta.to_bits() == other.beta.to_bits()
    }
}

impl Eq for VariantKey {}

impl VariantKey {
    /// A variant key from its three parts.
    pub fn new(experiment: impl Into<String>, variant: impl Into<String>, beta: f64) -> Self {
        VariantKey { experiment: experiment.into(), variant: variant.into(), beta }
    }

    /// Whether `key` is a run (any seed) of this variant.
    pub fn contains(&self, key: &RunKey) -> bool {
        self.experiment == key.experiment && self.variant == key.variant && self.beta.to_bits() == key.beta.to_bits()
    }

    /// `"SpecReg β=5"`, `"Vanilla"`.
    pub fn label(&self) -> String {
        variant_label(&self.variant, self.beta)
    }
}

/// `"SpecReg β=5"` for a regularised variant, the bare name otherwise.
pub fn variant_label(variant: &str, beta: f64) -> String {
    if beta > 0.0 { format!("{variant} β={beta}") } else { variant.to_string() }
}

/// A row that belongs to one run. Lets one function relabel, group or filter rows of every table.
pub trait Keyed {
    /// The row's run.
    fn key(&self) -> &RunKey;
    /// The row's run, to relabel it (a run reused by another experiment).
    fn key_mut(&mut self) -> &mut RunKey;
}

/// The distinct variants of `rows`, in order of first appearance.
pub fn variants_in<'a, R: Keyed + 'a>(rows: impl IntoIterator<Item = &'a R>) -> Vec<VariantKey> {
    let mut keys: Vec<VariantKey> = Vec::new();
    for row in rows {
        let key = row.key().variant_key();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}
