//! `reproduce`: the experiments of a profile, from raw data to `OUT/`, in one of three modes.
//!
//! - [`Mode::All`] (the default): experiments in order; each trains its runs, then writes
//!   `OUT/<id>/tables/*.parquet`, its figures from those tables, and `OUT/<id>/manifest.json` last. A
//!   manifest marks a finished experiment (rerunning skips it while its configuration matches), and
//!   within an experiment every finished run is kept, so an interrupted `reproduce` resumes where it
//!   stopped. Runs another process is training are waited for (or taken over if it died).
//! - [`Mode::Shard`]: one cost-balanced slice of all the runs (a Slurm array task); run files,
//!   checkpoints and models only.
//! - [`Mode::Collect`]: tables, figures, manifests and SUMMARY.md from the run files present; says
//!   which planned runs are missing.
//!
//! `OUT/SUMMARY.md` is rebuilt from the tables by `All` and `Collect`.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;
use specreg_data::DatasetId;
use specreg_report::write_file_atomically;

use crate::catalog::{EXPERIMENTS, ExperimentSpec, Kind, training_settings};
use crate::data::{DataSets, DatasetOutcome};
use crate::error::{Result, read_to_string};
use crate::execute::{Environment, Outcome};
use crate::plan::experiment_runs;
use crate::profile::Profile;
use crate::schedule::{Job, Shard, jobs, slices, summarize};
use crate::store::{ExperimentDir, failed_run, write_tables};
use crate::summary::{git_revision, write_summary};
use crate::{catalog, report};

/// The plan of the last `reproduce` under an output directory (see [`crate::PlanSummary`]).
pub const PLAN_FILE: &str = "plan.json";

/// What `reproduce` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Everything, in one process.
    All,
    /// One slice of the runs, no tables.
    Shard(Shard),
    /// Tables, figures, manifests and SUMMARY.md from the run files present.
    Collect,
}

/// What happened to an experiment.
#[derive(Debug, Clone, PartialEq)]
pub enum ExperimentStatus {
    /// Not in the profile.
    NotInProfile,
    /// Finished earlier with this configuration.
    FinishedEarlier,
    /// Tables written; `complete` unless a planned run was missing.
    Written {
        /// Every planned run of every dataset present is there (or failed).
        complete: bool,
        /// Something ran: a theory experiment, or a training experiment with a dataset present.
        ran: bool,
        /// Planned runs without a run file (`Collect`).
        missing: Vec<String>,
        /// Runs that diverged.
        failed: Vec<String>,
    },
}

/// Runs `selected` experiments (all of [`EXPERIMENTS`] when empty) of `profile` into `env.out` in
/// `mode`, with data from `data`. Returns each experiment's status (`Shard`: none).
pub fn reproduce(profile: &Profile, selected: &[&'static ExperimentSpec], env: &Environment, data: &mut DataSets, mode: Mode) -> Result<Vec<(&'static str, ExperimentStatus)>> {
    let selected: Vec<&'static ExperimentSpec> = if selected.is_empty() { EXPERIMENTS.iter().collect() } else { selected.to_vec() };
    let all_jobs = jobs(profile, &selected, &env.backend.id);
    if let Mode::Shard(shard) = mode {
        run_shard(&all_jobs, shard, env, data)?;
        return Ok(Vec::new());
    }
    // The plan (what will run, for how long) goes beside the results, for SUMMARY.md and the manifests.
    let plan = summarize(profile, &selected, &env.backend.id, &env.out, env.calibration.as_deref());
    if mode == Mode::All {
        write_file_atomically(&env.out.join(PLAN_FILE), serde_json::to_string_pretty(&plan).expect("a plan serialises"))?;
    }
    let mut statuses = Vec::new();
    for spec in selected {
        let id = spec.id;
        let Some(config) = spec.config(profile) else {
            println!("{id:<7} not in profile {} (skipped)", profile.name);
            statuses.push((id, ExperimentStatus::NotInProfile));
            continue;
        };
        let dir = ExperimentDir::new(&env.out, id);
        if finished_with(&dir, &config, data)? {
            println!("{id:<7} finished earlier with this configuration (skipped; delete {} to rerun)", dir.manifest().display());
            statuses.push((id, ExperimentStatus::FinishedEarlier));
            continue;
        }
        let start = Instant::now();
        let started_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let (datasets, missing, failed) = match &spec.kind {
            Kind::Training(_) => {
                let settings = training_settings(spec, profile).expect("a configured experiment has settings");
                let datasets = match mode {
                    Mode::All => run_training(spec, &all_jobs, env, data)?,
                    _ => {
                        // Homes whose identical run finished elsewhere get its rows.
                        for job in all_jobs.iter().filter(|j| j.runs.iter().any(|r| r.experiment == id)) {
                            env.reuse(job)?;
                        }
                        check_datasets(spec, profile, data)?
                    }
                };
                let planned = experiment_runs(spec, settings);
                let ran: Vec<_> = planned.iter().filter(|r| datasets.iter().any(|d| d.ran() && d.dataset == r.dataset.name())).collect();
                let failed: Vec<String> = ran.iter().filter(|r| failed_run(&env.dir_of(r), r, &r.identity(&env.backend.id)).is_some()).map(|r| r.label()).collect();
                let missing: Vec<String> = ran.iter().filter(|r| env.finished(r).is_none() && !failed.contains(&r.label())).map(|r| r.label()).collect();
                write_tables(&dir, &planned)?;
                report::figures(&dir, spec)?;
                (datasets, missing, failed)
            }
            Kind::Theory(theory) => {
                let spinner = ProgressBar::new_spinner().with_message(format!("{id}: running"));
                spinner.enable_steady_tick(Duration::from_millis(200));
                let outcome = (theory.run)(profile, &dir).and_then(|()| (theory.figures)(&dir));
                spinner.finish_and_clear();
                outcome?;
                (Vec::new(), Vec::new(), Vec::new())
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        // Complete: every planned run of every dataset present is there. A dataset that is absent is
        // recorded as skipped; the experiment counts as finished until it appears (see `finished_with`).
        let complete = missing.is_empty();
        let manifest = json!({
            "experiment": id,
            "profile": profile.name,
            "config": config,
            "complete": complete,
            "backend": if spec.is_training() { env.backend.description.as_str() } else { "cpu: ndarray + faer (theory experiment, no training)" },
            "datasets": datasets,
            "plan": plan.experiments.iter().find(|e| e.id == id),
            "missing_runs": missing,
            "failed_runs": failed,
            "mode": if mode == Mode::Collect { "collect" } else { "all" },
            "git_revision": git_revision(),
            "specreg_version": env!("CARGO_PKG_VERSION"),
            "started_at_unix": started_at,
            "wall_seconds": seconds,
        });
        write_file_atomically(&dir.manifest(), serde_json::to_string_pretty(&manifest).expect("json"))?;
        match missing.len() {
            0 => println!("{id:<7} done in {seconds:.1} s → {}", dir.root.display()),
            n => println!("{id:<7} collected with {n} planned runs missing: {}", missing.join(", ")),
        }
        if !failed.is_empty() {
            println!("{id:<7} {} runs FAILED (diverged; see SUMMARY.md): {}", failed.len(), failed.join(", "));
        }
        let ran = !spec.is_training() || datasets.iter().any(DatasetOutcome::ran);
        statuses.push((id, ExperimentStatus::Written { complete, ran, missing, failed }));
    }
    write_summary(&env.out)?;
    println!("summary: {}", env.out.join("SUMMARY.md").display());
    Ok(statuses)
}

/// The outcome of each dataset of a training experiment, checked (not loaded).
fn check_datasets(spec: &ExperimentSpec, profile: &Profile, data: &mut DataSets) -> Result<Vec<DatasetOutcome>> {
    let settings = training_settings(spec, profile).expect("a training experiment");
    settings.datasets.iter().filter_map(|d| DatasetId::from_name(d)).map(|d| data.check(d).map(|o| o.unwrap_or_else(|skipped| skipped))).collect()
}

/// The jobs with a home in experiment `id` on `dataset`, in plan order.
fn jobs_of<'a>(jobs: &'a [Job], id: &str, dataset: DatasetId) -> Vec<&'a Job> {
    jobs.iter().filter(|j| j.runs.iter().any(|r| r.experiment == id && r.dataset == dataset)).collect()
}

/// Trains and measures every run of a training experiment on every dataset present, waiting for runs
/// that other processes are training; returns what happened per dataset.
fn run_training(spec: &'static ExperimentSpec, all_jobs: &[Job], env: &Environment, data: &mut DataSets) -> Result<Vec<DatasetOutcome>> {
    let mut outcomes = Vec::new();
    let datasets: Vec<DatasetId> = {
        let mut seen = Vec::new();
        for job in all_jobs {
            for r in job.runs.iter().filter(|r| r.experiment == spec.id) {
                if !seen.contains(&r.dataset) {
                    seen.push(r.dataset);
                }
            }
        }
        seen
    };
    for dataset in datasets {
        let outcome = match data.load(dataset)? {
            Ok(outcome) => outcome,
            Err(skipped) => {
                println!("{}: {} not found under {}: {}", spec.id, dataset.name(), data.dir().display(), skipped.status.trim_start_matches("skipped: not found. "));
                outcomes.push(skipped);
                continue;
            }
        };
        let jobs = jobs_of(all_jobs, spec.id, dataset);
        let label = |k: usize, job: &Job| format!("{}/{} {} [{}/{}]", spec.id, dataset.name(), job.primary().name, k + 1, jobs.len());
        // A bar over the runs, with the trainer's epoch bars drawn under it. Status lines go through
        // `say`, which prints above the bars (and also when stderr is not a terminal and bars are hidden).
        let bars = MultiProgress::new();
        let runs_bar = bars.add(ProgressBar::new(jobs.len() as u64));
        runs_bar.set_style(ProgressStyle::with_template("{prefix} runs [{bar:30}] {pos}/{len} {elapsed} eta {eta}").expect("valid template").progress_chars("=> "));
        runs_bar.set_prefix(format!("{}/{}", spec.id, dataset.name()));
        let say = |line: String| bars.suspend(|| println!("{line}"));
        let mut waiting: Vec<usize> = (0..jobs.len()).collect();
        let mut announced = false;
        while !waiting.is_empty() {
            let mut still = Vec::new();
            for k in waiting {
                let job = jobs[k];
                let subsets = data.subsets(dataset, &job.primary().settings)?;
                let (outcome, rows) = env.ensure(job, subsets, &bars, &label(k, job))?;
                let line = format!("{}: {}", label(k, job), outcome.describe(rows.as_ref()));
                if let Outcome::Busy(_) = outcome {
                    if !announced {
                        say(format!("{line}; waiting for it"));
                    }
                    still.push(k);
                    continue;
                }
                say(line);
                runs_bar.inc(1);
            }
            announced = !still.is_empty();
            waiting = still;
            if !waiting.is_empty() {
                std::thread::sleep(Duration::from_secs(2));
            }
        }
        runs_bar.finish_and_clear();
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Runs slice `shard` of `jobs`: run files, checkpoints and models only; jobs held by another live
/// process are left to it.
fn run_shard(jobs: &[Job], shard: Shard, env: &Environment, data: &mut DataSets) -> Result<()> {
    let slice = &slices(jobs, shard.count)[shard.index - 1];
    println!("shard {}/{}: {} of {} runs", shard.index, shard.count, slice.len(), jobs.len());
    let bars = MultiProgress::new();
    for (k, &j) in slice.iter().enumerate() {
        let job = &jobs[j];
        let primary = job.primary();
        let label = format!("{} [{}/{}]", primary.label(), k + 1, slice.len());
        let subsets = match data.load(primary.dataset)? {
            Ok(_) => data.subsets(primary.dataset, &primary.settings)?,
            Err(skipped) => {
                println!("{label}: {}", skipped.status);
                continue;
            }
        };
        let (outcome, rows) = env.ensure(job, subsets, &bars, &label)?;
        let left = if let Outcome::Busy(_) = outcome { " (left to it)" } else { "" };
        println!("{label}: {}{left}", outcome.describe(rows.as_ref()));
    }
    Ok(())
}

/// Whether `dir` holds a finished experiment with this configuration, whose skipped datasets are
/// still absent (a dataset that has appeared since makes it unfinished).
fn finished_with(dir: &ExperimentDir, config: &serde_json::Value, data: &mut DataSets) -> Result<bool> {
    let Some(manifest) = read_to_string(&dir.manifest()).ok().and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok()) else { return Ok(false) };
    if manifest.get("config") != Some(config) || !manifest.get("complete").and_then(|c| c.as_bool()).unwrap_or(true) {
        return Ok(false);
    }
    for skipped in manifest["datasets"].as_array().into_iter().flatten().filter(|d| d["status"].as_str() != Some("ran")) {
        if let Some(dataset) = skipped["dataset"].as_str().and_then(DatasetId::from_name)
            && data.check(dataset)?.is_ok()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Redraws every figure (and SUMMARY.md) of the finished experiments under `results` from their
/// tables, without recomputing anything; returns the experiments redrawn.
pub fn redraw(results: &Path) -> Result<Vec<&'static str>> {
    let mut drawn = Vec::new();
    for spec in EXPERIMENTS {
        let dir = ExperimentDir::new(results, spec.id);
        if !dir.manifest().is_file() {
            continue;
        }
        match &spec.kind {
            Kind::Training(_) => report::figures(&dir, spec)?,
            Kind::Theory(theory) => (theory.figures)(&dir)?,
        }
        println!("{:<7} figures redrawn from {}", spec.id, dir.root.join("tables").display());
        drawn.push(spec.id);
    }
    if !drawn.is_empty() {
        write_summary(results)?;
    }
    Ok(drawn)
}

/// The experiments named in `only` (all when empty), refusing unknown names.
pub fn select(only: &[String]) -> Result<Vec<&'static ExperimentSpec>> {
    if only.is_empty() {
        return Ok(EXPERIMENTS.iter().collect());
    }
    only.iter().map(|name| catalog::find(name)).collect()
}
