//! The run files that make `reproduce` resumable: every table row of one finished run, with the
//! identity it was produced under (`OUT/<id>/runs/<dataset>/<run>.json`, see [`crate::OutDir`]),
//! failure records, finding an identical finished run elsewhere, and the tables assembled from them.

use std::path::Path;

use serde::{Deserialize, Serialize};
use specreg_report::tables::{FateRow, FitRow, RobustnessRow, SanityRow, SpectrumRow, SuiteRow, TrainingRow, TrajectoryRow, TransferRow};
use specreg_report::{Keyed, write_file_atomically};

use crate::error::{Error, Result, read_to_string};
use crate::out_dir::{ExperimentDir, OutDir};
use crate::plan::PlannedRun;
use crate::tables::{Tables, with_interval};

/// Every row's key moved to `experiment`: rows as another experiment reports them.
fn relabel<R: Keyed>(rows: &mut [R], experiment: &str) {
    rows.iter_mut().for_each(|r| r.key_mut().experiment = experiment.to_string());
}

/// A JSON file of the output directory, read whole.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    serde_json::from_str(&read_to_string(path)?).map_err(|source| Error::Json { path: path.into(), source })
}

/// Writes `value` as compact JSON, atomically.
fn write_json<T: Serialize>(value: &T, path: &Path) -> Result<()> {
    let json = serde_json::to_string(value).map_err(|source| Error::Json { path: path.into(), source })?;
    Ok(write_file_atomically(path, json)?)
}

/// Where and how fast a run was computed: what plans calibrate from (not part of its identity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunTiming {
    /// [`crate::Processor::speed_key`] of the machine that trained it.
    pub processor: String,
    /// Seconds spent measuring after training (spectra, attacks).
    pub measure_seconds: f64,
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
    /// Where and how fast it ran (absent from runs finished before timings were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<RunTiming>,
}

impl RunRows {
    /// Every row's key replaced by `key`'s experiment: the run as another experiment reports it.
    pub fn relabelled(mut self, experiment: &str) -> RunRows {
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
        read_json(path)
    }

    /// Writes a run file atomically. Floats round-trip exactly (serde_json's `float_roundtrip`), so a
    /// run read back and written again is unchanged.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_json(self, path)
    }
}

/// The AutoAttack evaluation of one finished run (see [`crate::evaluate`]), with the identity it was
/// produced under ([`PlannedRun::suite_identity`]); stored as `runs/<dataset>/<run>.suite.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SuiteRows {
    /// The evaluation's identity.
    pub config: serde_json::Value,
    /// Robust accuracy after each attack of the ensemble and for the worst case, per ε.
    pub suite: Vec<SuiteRow>,
    /// What became of each example at each ε.
    pub fates: Vec<FateRow>,
    /// Accuracy on examples crafted on the Vanilla model of the same seed.
    pub transfer: Vec<TransferRow>,
    /// The ensemble's checks and the transfer check (rows of the `sanity` table).
    pub checks: Vec<SanityRow>,
    /// Where and how fast it ran.
    pub timing: Option<RunTiming>,
}

impl SuiteRows {
    /// Every row's key replaced by `experiment`'s: the evaluation as another experiment reports it.
    pub fn relabelled(mut self, experiment: &str) -> SuiteRows {
        relabel(&mut self.suite, experiment);
        relabel(&mut self.fates, experiment);
        relabel(&mut self.transfer, experiment);
        relabel(&mut self.checks, experiment);
        self
    }

    /// Appends another evaluation's rows.
    fn extend(&mut self, other: SuiteRows) {
        self.suite.extend(other.suite);
        self.fates.extend(other.fates);
        self.transfer.extend(other.transfer);
        self.checks.extend(other.checks);
    }

    /// Reads an evaluation file.
    pub fn read(path: &Path) -> Result<SuiteRows> {
        read_json(path)
    }

    /// Writes an evaluation file atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_json(self, path)
    }
}

/// What plans calibrate from in an evaluation file: its identity and timing, without reading its rows
/// into memory (a whole test set's fates run to megabytes).
#[derive(Deserialize)]
pub struct SuiteTiming {
    /// The evaluation's identity.
    pub config: serde_json::Value,
    /// Where and how fast it ran.
    pub timing: Option<RunTiming>,
}

impl SuiteTiming {
    /// Reads the identity and timing of an evaluation file.
    pub fn read(path: &Path) -> Result<SuiteTiming> {
        read_json(path)
    }
}

/// The AutoAttack evaluation of `run` under `dir`, if it exists and was produced under `identity`.
pub fn finished_suite(dir: &ExperimentDir, run: &PlannedRun, identity: &serde_json::Value) -> Option<SuiteRows> {
    SuiteRows::read(&dir.suite_file(run.dataset, &run.name)).ok().filter(|rows| rows.config == *identity)
}

/// An AutoAttack evaluation with this identity in another experiment's directory under `out`,
/// relabelled for `run`'s experiment, with the directory it came from.
pub fn identical_suite(out: &OutDir, run: &PlannedRun, identity: &serde_json::Value) -> Option<(SuiteRows, ExperimentDir)> {
    let home = out.experiment(run.experiment);
    out.experiments_present()
        .into_iter()
        .filter(|dir| *dir != home)
        .find_map(|dir| finished_suite(&dir, run, identity).map(|rows| (rows.relabelled(&run.key.experiment), dir)))
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

impl RunFailure {
    /// Writes the record, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(|source| Error::Json { path: path.into(), source })?;
        Ok(write_file_atomically(path, json)?)
    }
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
pub fn identical_run(out: &OutDir, run: &PlannedRun, identity: &serde_json::Value) -> Option<(RunRows, ExperimentDir)> {
    let home = out.experiment(run.experiment);
    out.experiments_present()
        .into_iter()
        .filter(|dir| *dir != home)
        .find_map(|dir| finished_run(&dir, run, identity).map(|rows| (rows.relabelled(&run.key.experiment), dir)))
}

/// Writes the experiment's tables from the run files of `runs` that exist, in that order, with their
/// AutoAttack evaluations where there are; returns how many run files were found.
pub fn write_tables(dir: &ExperimentDir, runs: &[PlannedRun]) -> Result<usize> {
    let mut all = RunRows::default();
    let mut suites = SuiteRows::default();
    let mut found = 0;
    for run in runs {
        let path = dir.run_file(run.dataset, &run.name);
        if path.is_file() {
            all.extend(RunRows::read(&path)?);
            found += 1;
        }
        // An evaluation under other suite settings (the profile changed since) is not reported.
        let suite = dir.suite_file(run.dataset, &run.name);
        if run.settings.suite.is_some() && suite.is_file() {
            let rows = SuiteRows::read(&suite)?;
            if rows.config.get("suite") != serde_json::to_value(&run.settings.suite).ok().as_ref() {
                continue;
            }
            suites.extend(rows);
        }
    }
    all.sanity.extend(suites.checks);
    let tables = Tables {
        training: all.training,
        spectra: all.spectra,
        fits: all.fits,
        robustness: all.robustness.into_iter().map(with_interval).collect(),
        sanity: all.sanity,
        trajectory: all.trajectory,
        suite: suites.suite,
        fates: suites.fates,
        transfer: suites.transfer,
    };
    tables.write(dir)?;
    Ok(found)
}
