//! # specreg-experiments
//!
//! ```toml
//! [dependencies]
//! specreg-experiments = "0.1"
//! burn = { version = "0.22.1", features = ["flex", "autodiff"] }  # the burn whose `Device` appears in the API
//!
//! # Numeric code is unusably slow unoptimised: optimise dependencies in dev and test builds too.
//! [profile.dev.package."*"]
//! opt-level = 3
//! ```
//!
//! The experiments of *On 1/n neural representation and robustness* (Nassar et al., NeurIPS 2020) as a
//! library: what `cargo xtask reproduce` runs, usable from any program. docs/protocol.md in the
//! repository specifies every experiment, setting, attack and claim.
//!
//! Invariant: an experiment is one row of the experiment table and an attack one row of the attack
//! table ([`Registry`]); nothing else in the workspace matches on either.
//!
//! - [`Registry`]: the experiment table ([`ExperimentSpec`]: id, reference, the network and variants
//!   it trains or the simulation it runs) and the attack table ([`AttackSpec`]); it loads and checks
//!   [`Profile`]s (`profiles/*.json`, one section per experiment) whole, before anything runs.
//! - [`Registry::runs`]: the runs an experiment implies ([`PlannedRun`]: key, network, training
//!   settings, attacks, and the identity that decides whether a finished run file belongs to it).
//! - [`Environment::ensure`]: one job from nothing to its run files (kept, reused from an identical
//!   run of another experiment, or trained and measured); [`reproduce`]: experiments in order, with
//!   tables, figures, manifests and SUMMARY.md, and a [`Report`] of what could not be produced;
//!   [`redraw`]: figures again from the tables.
//! - [`jobs`], [`slices`], [`summarize`]: identical runs grouped into one job, costs estimated,
//!   cost-balanced slices for `--shard K/N` (a Slurm array), and the plan a user sees before days of work.
//! - [`judge`]: claims C1–C5 on the tables, each [`Claim`] with its rule, verdict and numbers.
//!
//! Its modules are layered, each using only those above it in this list: shared types (errors,
//! settings, variants, profiles, the output directory, tables and statistics, manifests, data,
//! theory simulations), the registry (catalog, attacks, plan, registry), the engine (store, schedule,
//! measure, execute), and reporting (report, claims, summary, reproduce). `tests/tidy.rs` checks that
//! no module imports one that imports it back.
//!
//! ```
//! use specreg_experiments::{Registry, judge, Verdict};
//!
//! let registry = Registry::standard();
//! let profile = registry.load_profile("smoke")?;
//! let e1 = registry.find("E1")?;
//! let runs = registry.runs(e1, profile.training("E1").expect("smoke has E1"));
//! let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
//! assert_eq!(names, ["Vanilla-b0-s0", "SpecReg-b2-s0"]);
//! assert_eq!(runs[1].key.label(), "SpecReg β=2");
//! assert_eq!(runs[1].attacks.iter().map(|a| a.name()).collect::<Vec<_>>(), ["fgsm", "pgd40"]);
//!
//! // Without any results, every claim is "not measured", never a verdict.
//! let claims = judge(&registry, &Default::default());
//! assert!(claims.iter().all(|c| c.verdict == Verdict::NotMeasured));
//! # Ok::<(), specreg_experiments::Error>(())
//! ```

#![warn(missing_docs)]

// Shared types.
mod data;
mod error;
mod machine;
mod manifest;
mod out_dir;
mod profile;
mod s4;
mod settings;
mod style;
mod tables;
mod theory;
mod variant;
// The registry.
mod attacks;
mod catalog;
mod plan;
mod registry;
// The engine.
mod evaluate;
mod execute;
mod measure;
mod schedule;
mod store;
mod transfer;
// Reporting.
mod claims;
mod report;
mod reproduce;
mod summary;

pub use attacks::{ATTACKS, AttackSpec};
pub use catalog::{
    EXPERIMENTS, ExperimentSpec, Extra, HEAD_LAST_RANK, Kind, SUITE_FIGURES, SUITE_TABLES, TRAINING_FIGURES, TRAINING_TABLES, TheorySpec, TrainingSpec,
};
pub use claims::{CLAIM_EXPERIMENTS, CLEAR_GAIN, Claim, FAR_FROM_ONE, Verdict, judge};
pub use data::{DataSets, DatasetOutcome};
pub use error::{Error, Result, chain};
pub use evaluate::Evaluation;
pub use execute::{Backend, Environment, MIN_LOCK_TIMEOUT, Outcome};
pub use machine::Processor;
pub use manifest::{CalibrationSummary, ExperimentPlan, Manifest, PlanSummary, RunPlan, duration};
pub use out_dir::{ExperimentDir, OutDir};
pub use plan::{PlannedRun, experiment_runs};
pub use profile::{Profile, Scale, Section, profiles_dir, section_name, workspace_root};
pub use registry::{Registry, load_profile};
pub use reproduce::{ExperimentStatus, Mode, Report, WorkLeft, redraw, reproduce, work_left};
pub use schedule::{BENCH_CNN_ROW, BENCH_E1_ROW, Calibration, Job, Shard, identity_hash, jobs, measure_key, slices, speed_key, summarize};
pub use settings::{SectionOf, SuiteSection, TrainingSettings, default_attacks};
pub use store::{RunFailure, RunRows, RunTiming, SuiteRows};
pub use summary::write_summary;
pub use tables::{Tables, format_mean_sd, mean_sd, unique};
pub use theory::{T1Config, T2Config};
pub use variant::{Family, TRANSFER_SOURCE, Variant};
