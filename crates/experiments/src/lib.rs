//! # specreg-experiments
//!
//! The experiments of *On 1/n neural representation and robustness* (Nassar et al., NeurIPS 2020) as a
//! library: what `cargo xtask reproduce` runs, usable from any program.
//!
//! - [`Profile`]: the sizes and settings of every experiment (`profiles/*.json`), validated whole
//!   before anything runs.
//! - [`EXPERIMENTS`]: one table row per experiment of PROTOCOL §2 ([`ExperimentSpec`]): id, paper
//!   section, the network and variants it trains, or the simulation it runs.
//! - [`experiment_runs`]: the runs an experiment implies ([`PlannedRun`]: key, network, training
//!   settings, and the identity that decides whether a finished run file belongs to it).
//! - [`Environment::ensure`]: one run from nothing to its run file (kept, reused from an identical
//!   run of another experiment, or trained and measured); [`reproduce`]: experiments in order, with
//!   tables, figures, manifests and SUMMARY.md; [`redraw`]: figures again from the tables.
//! - [`jobs`], [`slices`], [`summarize`]: identical runs grouped into one job, costs estimated,
//!   cost-balanced slices for `--shard K/N` (a Slurm array), and the plan a user sees before days of work.
//! - [`judge`]: claims C1–C5 on the tables, each [`Claim`] with its rule, verdict and numbers.
//!
//! ```
//! use specreg_experiments::{Profile, experiment_runs, find_experiment, judge, Verdict};
//!
//! let profile = Profile::load("smoke")?;
//! let e1 = find_experiment("E1")?;
//! let runs = experiment_runs(e1, profile.e1.as_ref().expect("smoke has E1"));
//! let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
//! assert_eq!(names, ["Vanilla-b0-s0", "SpecReg-b2-s0"]);
//! assert_eq!(runs[1].key.label(), "SpecReg β=2");
//!
//! // Without any results, every claim is "not measured", never a verdict.
//! let claims = judge(&Default::default());
//! assert!(claims.iter().all(|c| c.verdict == Verdict::NotMeasured));
//! # Ok::<(), specreg_experiments::Error>(())
//! ```

#![warn(missing_docs)]

mod catalog;
mod claims;
mod data;
mod error;
mod execute;
mod measure;
mod plan;
mod profile;
mod report;
mod reproduce;
mod s4;
mod schedule;
mod settings;
mod store;
mod summary;
mod theory;

pub use catalog::{EXPERIMENTS, ExperimentSpec, Extra, Family, HEAD_LAST_RANK, Kind, TRAINING_FIGURES, TRAINING_TABLES, TheorySpec, TrainingSpec, Variant, find as find_experiment, needed_datasets, training_settings};
pub use claims::{CLAIM_EXPERIMENTS, CLEAR_GAIN, Claim, FAR_FROM_ONE, Verdict, judge};
pub use data::{DataSets, DatasetOutcome};
pub use error::{Error, Result, chain};
pub use execute::{Backend, Environment, Outcome};
pub use plan::{PlannedRun, experiment_runs};
pub use profile::{Profile, profiles_dir, workspace_root};
pub use report::Tables;
pub use reproduce::{ExperimentStatus, Mode, redraw, reproduce, select};
pub use schedule::{Calibration, ExperimentPlan, Job, PlanSummary, RunPlan, Shard, duration, identity_hash, jobs, slices, summarize};
pub use settings::TrainingSettings;
pub use store::{ExperimentDir, RunRows};
pub use summary::write_summary;
pub use theory::{T1Config, T2Config};
