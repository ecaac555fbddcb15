//! Where an experiment's results live, and the run files that make `reproduce` resumable.
//!
//! Layout under `OUT/<id>/`: `runs/<dataset>/<run>.json` (every table row of one finished run, with its
//! identity), `checkpoints/<dataset>/<run>/` (per-epoch checkpoints of a run in progress),
//! `models/<dataset>-<run>.safetensors` (PyTorch names), `tables/*.parquet` assembled from the run
//! files, `figures/*.png` drawn from the tables, and `manifest.json`, written last.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use specreg_data::DatasetId;
use specreg_report::tables::{self, FitRow, RobustnessRow, SanityRow, SpectrumRow, TrainingRow, TrajectoryRow};
use specreg_report::{Keyed, write_file_atomically};

use crate::error::{Error, Result, read_to_string};
use crate::plan::PlannedRun;

/// The output directory of one experiment: `OUT/<id>/`.
#[derive(Debug, Clone)]
pub struct ExperimentDir {
    /// `OUT/<id>`.
    pub root: PathBuf,
}

impl ExperimentDir {
    /// The directory of experiment `id` under `out`.
    pub fn new(out: &Path, id: &str) -> Self {
        ExperimentDir { root: out.join(id) }
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
    /// The checkpoint directory of `run` while it trains.
    pub fn checkpoints(&self, dataset: DatasetId, run: &str) -> PathBuf {
        self.root.join("checkpoints").join(dataset.name()).join(run)
    }
    /// The trained model of `run`.
    pub fn model(&self, dataset: DatasetId, run: &str) -> PathBuf {
        self.root.join("models").join(format!("{}-{run}.safetensors", dataset.name()))
    }
}

/// All rows produced by one finished run, with the identity they were produced under; stored as
/// `runs/<dataset>/<run>.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRows {
    /// The run's identity ([`PlannedRun::identity`]).
    pub config: serde_json::Value,
    /// One row per epoch.
    pub training: Vec<TrainingRow>,
    /// Every hidden layer's eigenvalues, per split.
    pub spectra: Vec<SpectrumRow>,
    /// α̂ per hidden layer (test split).
    pub fits: Vec<FitRow>,
    /// Accuracy under attack per attack and ε.
    pub robustness: Vec<RobustnessRow>,
    /// Attack sanity checks.
    pub sanity: Vec<SanityRow>,
    /// The training-set spectrum through training (absent from runs finished before trajectories).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trajectory: Vec<TrajectoryRow>,
}

impl RunRows {
    /// Every row's key replaced by `key`'s experiment: the run as another experiment reports it.
    pub fn relabelled(mut self, experiment: &str) -> RunRows {
        fn relabel<R: Keyed>(rows: &mut [R], experiment: &str) {
            rows.iter_mut().for_each(|r| r.key_mut().experiment = experiment.to_string());
        }
        relabel(&mut self.training, experiment);
        relabel(&mut self.spectra, experiment);
        relabel(&mut self.fits, experiment);
        relabel(&mut self.robustness, experiment);
        relabel(&mut self.sanity, experiment);
        relabel(&mut self.trajectory, experiment);
        self
    }

    /// Appends another run's rows.
    fn extend(&mut self, other: RunRows) {
        self.training.extend(other.training);
        self.spectra.extend(other.spectra);
        self.fits.extend(other.fits);
        self.robustness.extend(other.robustness);
        self.sanity.extend(other.sanity);
        self.trajectory.extend(other.trajectory);
    }

    /// Reads a run file.
    pub fn read(path: &Path) -> Result<RunRows> {
        serde_json::from_str(&read_to_string(path)?).map_err(|source| Error::Json { path: path.into(), source })
    }

    /// Writes a run file atomically. Floats round-trip exactly (serde_json's `float_roundtrip`), so a
    /// run read back and written again is unchanged.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string(self).expect("rows serialise");
        Ok(write_file_atomically(path, json)?)
    }
}

/// Why a run failed (it diverged), with the identity it failed under; stored beside the run files as
/// `runs/<dataset>/<run>.failed.json`. A run that failed is not retried while its identity is the
/// same (it would diverge again); delete the file to retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFailure {
    /// The run's identity.
    pub config: serde_json::Value,
    /// The error, with its causes.
    pub error: String,
}

/// The recorded failure of `run` under `dir`, if it failed under `identity`.
pub fn failed_run(dir: &ExperimentDir, run: &PlannedRun, identity: &serde_json::Value) -> Option<RunFailure> {
    let text = std::fs::read_to_string(dir.failure_file(run.dataset, &run.name)).ok()?;
    serde_json::from_str::<RunFailure>(&text).ok().filter(|f| f.config == *identity)
}

/// The finished run file of `run` under `dir`, if it exists and was produced under `identity`.
pub fn finished_run(dir: &ExperimentDir, run: &PlannedRun, identity: &serde_json::Value) -> Option<RunRows> {
    RunRows::read(&dir.run_file(run.dataset, &run.name)).ok().filter(|rows| rows.config == *identity)
}

/// A finished run with this identity in another experiment's directory under `out` (E2's and E3's
/// Vanilla runs are the same computation), relabelled for `run`'s experiment, with the directory it
/// came from. Identical runs are trained once.
pub fn identical_run(out: &Path, run: &PlannedRun, identity: &serde_json::Value) -> Option<(RunRows, ExperimentDir)> {
    let mut others: Vec<PathBuf> = std::fs::read_dir(out).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    others.sort();
    let home = out.join(run.experiment);
    others.into_iter().filter(|p| p.is_dir() && *p != home).find_map(|other| {
        let dir = ExperimentDir { root: other };
        finished_run(&dir, run, identity).map(|rows| (rows.relabelled(&run.key.experiment), dir))
    })
}

/// Writes the experiment's tables from the run files of `runs` that exist, in that order; returns
/// how many were found.
pub fn write_tables(dir: &ExperimentDir, runs: &[PlannedRun]) -> Result<usize> {
    let mut all = RunRows::default();
    let mut found = 0;
    for run in runs {
        let path = dir.run_file(run.dataset, &run.name);
        if path.is_file() {
            all.extend(RunRows::read(&path)?);
            found += 1;
        }
    }
    tables::write_table(&mut tables::training_frame(&all.training)?, &dir.table("training"))?;
    tables::write_table(&mut tables::spectra_frame(&all.spectra)?, &dir.table("spectra"))?;
    tables::write_table(&mut tables::fits_frame(&all.fits)?, &dir.table("fits"))?;
    tables::write_table(&mut tables::robustness_frame(&all.robustness)?, &dir.table("robustness"))?;
    tables::write_table(&mut tables::sanity_frame(&all.sanity)?, &dir.table("sanity"))?;
    tables::write_table(&mut tables::trajectory_frame(&all.trajectory)?, &dir.table("trajectory"))?;
    Ok(found)
}
