//! The records written beside the results, typed both ways: an experiment's `manifest.json` and the
//! plan (`plan.json`, and each manifest's part of it). What is written is read back by the same types.

use std::path::Path;

use serde::{Deserialize, Serialize};
use specreg_report::{RunKey, write_file_atomically};

use crate::data::DatasetOutcome;
use crate::error::{Error, Result, read_to_string};
use crate::profile::Scale;

/// `OUT/<id>/manifest.json`: how an experiment's results were made. Written last; its presence with
/// a matching configuration marks the experiment finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The experiment's id.
    pub experiment: String,
    /// The profile's name.
    pub profile: String,
    /// What the profile's numbers are worth (absent in manifests written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    /// The experiment's section of the profile, every default written out.
    pub config: serde_json::Value,
    /// Every planned run of every dataset present is there (or failed).
    pub complete: bool,
    /// The backend that trained (theory experiments: the CPU libraries they use).
    pub backend: String,
    /// The processor it ran on (absent in manifests written before processors were recorded).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub processor: String,
    /// What happened to each dataset.
    pub datasets: Vec<DatasetOutcome>,
    /// The experiment's part of the plan.
    pub plan: Option<ExperimentPlan>,
    /// Planned runs without a run file (collect mode).
    pub missing_runs: Vec<String>,
    /// Runs that diverged.
    pub failed_runs: Vec<String>,
    /// `all` or `collect`.
    pub mode: String,
    /// The code's git revision (`+dirty` with uncommitted changes).
    pub git_revision: String,
    /// The specreg version.
    pub specreg_version: String,
    /// When it started (seconds since the Unix epoch).
    pub started_at_unix: u64,
    /// How long it took.
    pub wall_seconds: f64,
}

impl Manifest {
    /// Reads a manifest.
    pub fn read(path: &Path) -> Result<Manifest> {
        serde_json::from_str(&read_to_string(path)?).map_err(|source| Error::Json { path: path.into(), source })
    }

    /// Writes it, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        Ok(write_file_atomically(path, to_json(self))?)
    }
}

/// Pretty JSON of a record (records always serialise: plain data, string keys).
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// What a profile's runs will take: per experiment and in total, on 1 to many workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// The profile's name.
    pub profile: String,
    /// The backend the estimate is for.
    pub backend: String,
    /// The processor the estimate is for.
    #[serde(default)]
    pub processor: String,
    /// Where the times come from.
    pub calibration: CalibrationSummary,
    /// Per experiment.
    pub experiments: Vec<ExperimentPlan>,
    /// Every run: key, job and estimated seconds.
    pub runs: Vec<RunPlan>,
    /// Runs planned (homes).
    pub total_runs: usize,
    /// Distinct computations (identical runs are trained once).
    pub total_jobs: usize,
    /// Estimated compute, seconds on one worker of this kind.
    pub total_seconds: f64,
    /// (workers, estimated wall seconds) for 1, 16 and 64 workers.
    pub wall_seconds: Vec<(usize, f64)>,
}

impl PlanSummary {
    /// Reads a plan.
    pub fn read(path: &Path) -> Result<PlanSummary> {
        serde_json::from_str(&read_to_string(path)?).map_err(|source| Error::Json { path: path.into(), source })
    }

    /// Writes it, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        Ok(write_file_atomically(path, to_json(self))?)
    }
}

/// How a plan's times were estimated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationSummary {
    /// Throughput assumed for fully connected networks without a measurement, GFLOP/s.
    pub mlp_gflops: f64,
    /// The same for convolutional networks.
    pub cnn_gflops: f64,
    /// Where those throughputs come from.
    pub source: String,
    /// Jobs priced from epoch times measured on this backend and processor for the same network,
    /// batch, training set and penalties.
    pub measured_jobs: usize,
}

/// One experiment's part of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentPlan {
    /// Its id.
    pub id: String,
    /// Runs planned.
    pub runs: usize,
    /// Epochs × training examples over its runs.
    pub example_epochs: u64,
    /// Estimated seconds of the runs it trains (shared runs count where they train; a theory
    /// experiment's simulation).
    pub seconds: f64,
}

/// One run of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPlan {
    /// Its key.
    pub key: RunKey,
    /// `E1/mnist SpecReg-b5-s0`.
    pub label: String,
    /// The lock and identity hash of its computation.
    pub job: String,
    /// Epochs.
    pub epochs: usize,
    /// Training examples.
    pub examples: usize,
    /// Estimated seconds (0 for a home that reuses another's training).
    pub seconds: f64,
    /// Whether the estimate comes from measured epochs (else from FLOPs and a throughput).
    #[serde(default)]
    pub measured: bool,
}

/// "3.2 h", "12 min", "40 s".
pub fn duration(seconds: f64) -> String {
    match seconds {
        s if s >= 2.0 * 86_400.0 => format!("{:.1} days", s / 86_400.0),
        s if s >= 7_200.0 => format!("{:.1} h", s / 3_600.0),
        s if s >= 120.0 => format!("{:.0} min", s / 60.0),
        s => format!("{s:.0} s"),
    }
}

impl std::fmt::Display for PlanSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.calibration;
        writeln!(f, "plan of profile `{}` on {}, {}", self.profile, self.backend, self.processor)?;
        writeln!(f, "| experiment | runs | example-epochs | estimated time |\n|---|---|---|---|")?;
        for e in &self.experiments {
            writeln!(f, "| {} | {} | {:.2e} | {} |", e.id, e.runs, e.example_epochs as f64, duration(e.seconds))?;
        }
        writeln!(f, "| total | {} ({} trained; identical runs once) | | {} of compute |", self.total_runs, self.total_jobs, duration(self.total_seconds))?;
        let priced = if c.measured_jobs == 0 {
            format!("every job priced from FLOPs at MLP {:.0} / CNN {:.0} GFLOP/s ({})", c.mlp_gflops, c.cnn_gflops, c.source)
        } else {
            format!(
                "{} of {} jobs priced from epochs measured here for the same network, batch and penalties; the rest from FLOPs at MLP {:.0} / CNN {:.0} GFLOP/s ({})",
                c.measured_jobs, self.total_jobs, c.mlp_gflops, c.cnn_gflops, c.source
            )
        };
        writeln!(f, "Estimates: {priced}.")?;
        let walls: Vec<String> = self.wall_seconds.iter().map(|(w, s)| format!("{} on {w} worker{}", duration(*s), if *w == 1 { "" } else { "s" })).collect();
        writeln!(f, "Estimated wall time: {} (`--shard K/N`, or a Slurm array: see cluster/slurm/).", walls.join(", "))
    }
}
