//! Every path under the output directory, named once.
//!
//! ```text
//! OUT/plan.json                 the plan of the last `reproduce` (a PlanSummary)
//! OUT/SUMMARY.md                claims and every experiment's tables and figures
//! OUT/.locks/<job>.lock         run locks of the jobs being trained
//! OUT/.transfer/<hash>.safetensors  transfer examples crafted on a source model, until all is done
//! OUT/<id>/runs/<dataset>/<run>.json          every table row of one finished run, with its identity
//! OUT/<id>/runs/<dataset>/<run>.failed.json   why a run failed (it diverged)
//! OUT/<id>/runs/<dataset>/<run>.suite.json    its AutoAttack evaluation, with its own identity
//! OUT/<id>/checkpoints/<dataset>/<run>/       per-epoch checkpoints of a run in progress
//! OUT/<id>/models/<dataset>-<run>.safetensors the trained network (PyTorch names)
//! OUT/<id>/tables/<table>.parquet             assembled from the run files
//! OUT/<id>/figures/<figure>.png               drawn from the tables
//! OUT/<id>/manifest.json                      written last: the experiment is finished
//! ```

use std::path::{Path, PathBuf};

use specreg_data::DatasetId;

/// The output directory of `reproduce`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutDir {
    /// `OUT`.
    pub root: PathBuf,
}

impl OutDir {
    /// The output directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        OutDir { root: root.into() }
    }
    /// `plan.json`.
    pub fn plan(&self) -> PathBuf {
        self.root.join("plan.json")
    }
    /// `SUMMARY.md`.
    pub fn summary(&self) -> PathBuf {
        self.root.join("SUMMARY.md")
    }
    /// The lock of the job whose identity hashes to `hash`.
    pub fn lock(&self, hash: &str) -> PathBuf {
        self.locks_dir().join(format!("{hash}.lock"))
    }
    /// `.locks/`: the locks of every job and evaluation being computed.
    pub fn locks_dir(&self) -> PathBuf {
        self.root.join(".locks")
    }
    /// `.transfer/`: transfer examples kept while models that need them are evaluated.
    pub fn transfer_dir(&self) -> PathBuf {
        self.root.join(".transfer")
    }
    /// The transfer examples crafted under the identity that hashes to `hash`.
    pub fn transfer_file(&self, hash: &str) -> PathBuf {
        self.transfer_dir().join(format!("{hash}.safetensors"))
    }
    /// The directory of experiment `id`.
    pub fn experiment(&self, id: &str) -> ExperimentDir {
        ExperimentDir { root: self.root.join(id) }
    }
    /// The experiment directories present (any directory not starting with `.`), sorted.
    pub fn experiments_present(&self) -> Vec<ExperimentDir> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&self.root)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_dir() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
                    .collect()
            })
            .unwrap_or_default();
        dirs.sort();
        dirs.into_iter().map(|root| ExperimentDir { root }).collect()
    }
}

/// The output directory of one experiment: `OUT/<id>/`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentDir {
    /// `OUT/<id>`.
    pub root: PathBuf,
}

impl ExperimentDir {
    /// The directory of experiment `id` under `out`.
    pub fn new(out: &Path, id: &str) -> Self {
        ExperimentDir { root: out.join(id) }
    }
    /// Its name (the experiment id).
    pub fn name(&self) -> String {
        self.root.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    }
    /// `tables/<name>.parquet`.
    pub fn table(&self, name: &str) -> PathBuf {
        self.root.join("tables").join(format!("{name}.parquet"))
    }
    /// `figures/<name>.png`.
    pub fn figure(&self, name: &str) -> PathBuf {
        self.root.join("figures").join(format!("{name}.png"))
    }
    /// `manifest.json`: written last; its presence (with a matching configuration) marks the
    /// experiment finished.
    pub fn manifest(&self) -> PathBuf {
        self.root.join("manifest.json")
    }
    /// The finished-run file of `run`.
    pub fn run_file(&self, dataset: DatasetId, run: &str) -> PathBuf {
        self.root.join("runs").join(dataset.name()).join(format!("{run}.json"))
    }
    /// The record of `run`'s failure (divergence), if it failed.
    pub fn failure_file(&self, dataset: DatasetId, run: &str) -> PathBuf {
        self.root.join("runs").join(dataset.name()).join(format!("{run}.failed.json"))
    }
    /// The AutoAttack evaluation of `run` (see [`crate::evaluate`]).
    pub fn suite_file(&self, dataset: DatasetId, run: &str) -> PathBuf {
        self.root.join("runs").join(dataset.name()).join(format!("{run}.suite.json"))
    }
    /// The checkpoint directory of `run` while it trains.
    pub fn checkpoints(&self, dataset: DatasetId, run: &str) -> PathBuf {
        self.root.join("checkpoints").join(dataset.name()).join(run)
    }
    /// The trained model of `run`.
    pub fn model(&self, dataset: DatasetId, run: &str) -> PathBuf {
        self.root.join("models").join(format!("{}-{run}.safetensors", dataset.name()))
    }
}
