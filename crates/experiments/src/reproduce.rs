//! `reproduce`: the experiments of a profile, from raw data to `OUT/`, in one of three modes.
//!
//! - [`Mode::All`] (the default): experiments in order; each trains its runs, then writes
//!   `OUT/<id>/tables/*.parquet`, its figures from those tables, and `OUT/<id>/manifest.json` last. A
//!   manifest marks a finished experiment (rerunning skips it while its configuration matches), and
//!   within an experiment every finished run is kept, so an interrupted `reproduce` resumes where it
//!   stopped. Runs another process is training are waited for (or taken over if it died). Nothing is
//!   written into an experiment's directory before one of its datasets has loaded.
//! - [`Mode::Shard`]: one cost-balanced slice of all the runs (a Slurm array task); run files,
//!   checkpoints and models only.
//! - [`Mode::Collect`]: tables, figures, manifests and SUMMARY.md from the run files present; says
//!   which planned runs are missing.
//! - [`Mode::Worker`]: whatever no other process holds, training runs and the AutoAttack evaluations
//!   of finished runs in one list, the longest first, until nothing is left; no tables. Several such
//!   processes with a share of the cores each use a machine better than one with all of them
//!   (`xtask reproduce --workers`).
//!
//! `OUT/SUMMARY.md` is rebuilt from the tables by `All` and `Collect`. The returned [`Report`] says
//! whether everything asked for was produced ([`Report::exit_code`]).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indicatif::{MultiProgress, ProgressBar, ProgressState, ProgressStyle};
use specreg_data::DatasetId;

use crate::catalog::{ExperimentSpec, Kind};
use crate::data::{DataSets, DatasetOutcome};
use crate::error::{Error, Result};
use crate::evaluate::{Evaluation, transfer_source, transfer_source_under};
use crate::execute::{Environment, Outcome};
use crate::manifest::Manifest;
use crate::out_dir::{ExperimentDir, OutDir};
use crate::plan::PlannedRun;
use crate::profile::{Profile, section_name};
use crate::registry::Registry;
use crate::report;
use crate::schedule::{Job, Shard, identity_hash, jobs, slices, suite_seconds, summarize};
use crate::store::{failed_run, finished_run, finished_suite, write_tables};
use crate::summary::{git_revision, write_summary};
use crate::tables::unique;

/// What `reproduce` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Everything, in one process.
    All,
    /// One slice of the runs, no tables.
    Shard(Shard),
    /// Tables, figures, manifests and SUMMARY.md from the run files present.
    Collect,
    /// Runs and evaluations no other process holds, longest first, until none is left; no tables.
    Worker,
}

/// What happened to an experiment.
#[derive(Debug, Clone, PartialEq)]
pub enum ExperimentStatus {
    /// Finished earlier with this configuration (with the datasets it could not run on then, still
    /// absent).
    FinishedEarlier(Vec<DatasetOutcome>),
    /// None of its datasets is available: nothing was written for it.
    NoData(Vec<DatasetOutcome>),
    /// Tables written.
    Written {
        /// Every planned run of every dataset present is there (or failed).
        complete: bool,
        /// Planned runs without a run file (`Collect`).
        missing: Vec<String>,
        /// Runs that diverged.
        failed: Vec<String>,
        /// Datasets it could not run on (absent), with the command that fetches each.
        skipped: Vec<DatasetOutcome>,
    },
}

/// What a `reproduce` produced, and what it could not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Each experiment's status (empty in `Shard` mode).
    pub experiments: Vec<(&'static str, ExperimentStatus)>,
    /// Runs of a shard that diverged (`Shard` mode).
    pub shard_failed: Vec<String>,
    /// Runs of a shard left out for missing data (`Shard` mode).
    pub shard_skipped: Vec<String>,
    /// Runs of a shard whose AutoAttack evaluation waits for a transfer source no process was
    /// training (`Shard` mode).
    pub shard_unevaluated: Vec<String>,
}

impl Report {
    /// Runs that diverged, by label.
    pub fn failed_runs(&self) -> Vec<String> {
        let mut out = self.shard_failed.clone();
        for (_, status) in &self.experiments {
            if let ExperimentStatus::Written { failed, .. } = status {
                out.extend(failed.iter().cloned());
            }
        }
        out
    }

    /// Planned runs without a run file (collect mode), by label.
    pub fn missing_runs(&self) -> Vec<String> {
        let mut out: Vec<String> = self.shard_unevaluated.iter().map(|r| format!("{r} (AutoAttack evaluation)")).collect();
        out.extend(self.experiments.iter().flat_map(|(_, s)| if let ExperimentStatus::Written { missing, .. } = s { missing.clone() } else { Vec::new() }));
        out
    }

    /// Datasets that were asked for but absent, with the experiments that lacked them.
    pub fn missing_data(&self) -> Vec<String> {
        let mut out: Vec<String> = self.shard_skipped.clone();
        for (id, status) in &self.experiments {
            let skipped = match status {
                ExperimentStatus::NoData(outcomes) => outcomes.iter().filter(|d| !d.ran()).collect::<Vec<_>>(),
                ExperimentStatus::Written { skipped, .. } => skipped.iter().collect(),
                ExperimentStatus::FinishedEarlier(skipped) => skipped.iter().collect(),
            };
            out.extend(skipped.into_iter().map(|d| format!("{id}/{}", d.dataset)));
        }
        out
    }

    /// The exit-code contract of `cargo xtask reproduce` (README): 0 when everything asked for was
    /// produced; 1 when runs failed or diverged, data was missing, or collected runs were missing.
    pub fn exit_code(&self) -> ExitCode {
        if self.failed_runs().is_empty() && self.missing_runs().is_empty() && self.missing_data().is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
    }

    /// What was not produced, one line each (empty when everything was).
    pub fn shortfalls(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let (failed, missing, data) = (self.failed_runs(), self.missing_runs(), self.missing_data());
        if !failed.is_empty() {
            lines.push(format!("{} runs FAILED (diverged; see SUMMARY.md and runs/*/*.failed.json): {}", failed.len(), failed.join(", ")));
        }
        if !missing.is_empty() {
            lines.push(format!(
                "{} planned runs or evaluations are missing (`reproduce` without --collect or --shard computes them): {}",
                missing.len(),
                missing.join(", ")
            ));
        }
        if !data.is_empty() {
            lines.push(format!("not run for missing data: {}", data.join(", ")));
        }
        lines
    }
}

/// Runs `selected` experiments of `profile` into `env.out` in `mode`, with data from `data`.
pub fn reproduce(registry: &Registry, profile: &Profile, selected: &[&ExperimentSpec], env: &Environment, data: &mut DataSets, mode: Mode) -> Result<Report> {
    let all_jobs = jobs(registry, profile, selected, &env.backend.id);
    match mode {
        Mode::Shard(shard) => return run_shard(&all_jobs, shard, env, data),
        Mode::Worker => return run_worker(&all_jobs, env, data),
        Mode::All | Mode::Collect => {}
    }
    let mut report = Report::default();
    let mut plan_written = false;
    for &spec in selected {
        let id = spec.id;
        let dir = env.out.experiment(id);
        let config = experiment_config(profile, spec);
        if let Some(skipped) = finished_with(&dir, &config, data)? {
            println!("{id:<7} finished earlier with this configuration (skipped; delete {} to rerun)", dir.manifest().display());
            report.experiments.push((id, ExperimentStatus::FinishedEarlier(skipped)));
            continue;
        }
        // Which datasets are there: an experiment without any writes nothing.
        let datasets = match profile.training(id) {
            Some(settings) => settings
                .datasets
                .iter()
                .filter_map(|d| DatasetId::from_name(d))
                .map(|d| data.check(d).map(|o| o.unwrap_or_else(|skipped| skipped)))
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        if spec.is_training() && !datasets.iter().any(DatasetOutcome::ran) {
            for d in &datasets {
                println!("{id:<7} not run: {} is not under {}. {}", d.dataset, data.dir().display(), d.status.trim_start_matches("skipped: not found. "));
            }
            report.experiments.push((id, ExperimentStatus::NoData(datasets)));
            continue;
        }
        // The plan (what will run, for how long) goes beside the results, for SUMMARY.md and the
        // manifests, once something is about to run.
        let plan = summarize(registry, profile, selected, &env.backend.id, (&env.processor.speed_key(), &env.processor.describe()), &env.calibration);
        if mode == Mode::All && !plan_written {
            plan.write(&env.out.plan())?;
            plan_written = true;
        }
        let start = Instant::now();
        let started_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        for d in datasets.iter().filter(|d| !d.ran()) {
            println!("{id:<7} {} not found under {}: {}", d.dataset, data.dir().display(), d.status.trim_start_matches("skipped: not found. "));
        }
        let (missing, failed) = match (&spec.kind, profile.training(id)) {
            (Kind::Training(_), None) => return Err(Error::NotInProfile { id: id.into(), section: section_name(id), path: profile.path.clone() }),
            (Kind::Training(_), Some(settings)) => {
                match mode {
                    Mode::All => run_training(spec, &all_jobs, env, data)?,
                    _ => {
                        // Homes whose identical run finished elsewhere get its rows.
                        for job in all_jobs.iter().filter(|j| j.runs.iter().any(|r| r.experiment == id)) {
                            env.reuse(job)?;
                        }
                    }
                }
                let planned = registry.runs(spec, settings);
                let ran: Vec<_> = planned.iter().filter(|r| datasets.iter().any(|d| d.ran() && d.dataset == r.dataset.name())).collect();
                let failed: Vec<String> =
                    ran.iter().filter(|r| failed_run(&env.dir_of(r), r, &r.identity(&env.backend.id)).is_some()).map(|r| r.label()).collect();
                let unevaluated = if mode == Mode::All {
                    let finished: Vec<&PlannedRun> = ran.iter().copied().filter(|r| !failed.contains(&r.label())).collect();
                    run_evaluations(&finished, &planned, env, data)?
                } else {
                    ran.iter().filter(|r| env.finished(r).is_some() && !env.evaluated(r, transfer_source(env, &planned, r))).map(|r| r.label()).collect()
                };
                let mut missing: Vec<String> = ran.iter().filter(|r| env.finished(r).is_none() && !failed.contains(&r.label())).map(|r| r.label()).collect();
                missing.extend(unevaluated.into_iter().map(|label| format!("{label} (AutoAttack evaluation)")));
                write_tables(&dir, &planned)?;
                report::figures(registry, &dir, spec)?;
                (missing, failed)
            }
            (Kind::Theory(theory), _) => {
                let spinner = ProgressBar::new_spinner().with_message(format!("{id}: running"));
                spinner.enable_steady_tick(Duration::from_millis(200));
                let outcome = (theory.run)(&config, &dir).and_then(|()| (theory.figures)(&dir));
                spinner.finish_and_clear();
                outcome?;
                (Vec::new(), Vec::new())
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        // Temporary files that writers which died left in this experiment's directory go with it.
        specreg_files::remove_stale_temporaries(&dir.root)?;
        // Complete: every planned run of every dataset present is there. A dataset that is absent is
        // recorded as skipped; the experiment counts as finished until it appears (see `finished_with`).
        let complete = missing.is_empty();
        let manifest = Manifest {
            experiment: id.into(),
            profile: profile.name.clone(),
            scale: Some(profile.scale),
            config,
            complete,
            backend: if spec.is_training() { env.backend.description.clone() } else { "cpu: ndarray + faer (theory experiment, no training)".into() },
            processor: env.processor.describe(),
            datasets: datasets.clone(),
            plan: plan.experiments.iter().find(|e| e.id == id).cloned(),
            missing_runs: missing.clone(),
            failed_runs: failed.clone(),
            mode: if mode == Mode::Collect { "collect" } else { "all" }.into(),
            git_revision: git_revision(),
            specreg_version: env!("CARGO_PKG_VERSION").into(),
            started_at_unix: started_at,
            wall_seconds: seconds,
        };
        manifest.write(&dir.manifest())?;
        match missing.len() {
            0 => println!("{id:<7} done in {seconds:.1} s → {}", dir.root.display()),
            n => println!("{id:<7} collected with {n} planned runs missing: {}", missing.join(", ")),
        }
        if !failed.is_empty() {
            println!("{id:<7} {} runs FAILED (diverged; see SUMMARY.md): {}", failed.len(), failed.join(", "));
        }
        let skipped = datasets.into_iter().filter(|d| !d.ran()).collect();
        report.experiments.push((id, ExperimentStatus::Written { complete, missing, failed, skipped }));
    }
    if report.experiments.iter().any(|(_, s)| !matches!(s, ExperimentStatus::NoData(_))) {
        write_summary(registry, &env.out)?;
        println!("summary: {}", env.out.summary().display());
    }
    // Transfer examples are kept while a model that needs them may still be evaluated: until the
    // training experiments asked for are complete (an experiment without data crafted none).
    let complete = |s: &ExperimentStatus| {
        matches!(s, ExperimentStatus::FinishedEarlier(_) | ExperimentStatus::NoData(_) | ExperimentStatus::Written { complete: true, .. })
    };
    if selected.iter().any(|s| s.is_training()) && report.experiments.iter().all(|(_, s)| complete(s)) {
        crate::transfer::clear(&env.out)?;
    }
    Ok(report)
}

/// What is left to compute of `selected` experiments under `out` on `backend`.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkLeft {
    /// Training jobs of the profile (identical runs once).
    pub jobs: usize,
    /// Jobs with no run file yet (here or, identical, in another experiment's directory) and not
    /// failed: the work that more than one process could share.
    pub jobs_left: usize,
    /// Estimated seconds of compute left: those jobs, the AutoAttack evaluations that trained runs
    /// still lack, and the theory experiments without a manifest.
    pub seconds: f64,
}

/// What is left of `selected` under `out` (see [`WorkLeft`]), priced like the plan (`processor`: the
/// processor's speed key). On a resumed `reproduce`, or a profile that reuses another's runs (quick-s4
/// after quick), this is what the wait will be, where the plan prices the whole profile.
pub fn work_left(
    registry: &Registry,
    profile: &Profile,
    selected: &[&ExperimentSpec],
    out: &OutDir,
    backend: &str,
    calibration: &crate::schedule::Calibration,
    processor: &str,
) -> WorkLeft {
    let all = jobs(registry, profile, selected, backend);
    let planned: Vec<&PlannedRun> = all.iter().flat_map(|j| j.runs.iter()).collect();
    let mut left = WorkLeft { jobs: all.len(), jobs_left: 0, seconds: 0.0 };
    for job in &all {
        let identity = job.primary().identity(backend);
        let home = |run: &PlannedRun| out.experiment(run.experiment);
        let settled = job.runs.iter().any(|r| finished_run(&home(r), r, &identity).is_some() || failed_run(&home(r), r, &identity).is_some())
            || crate::store::identical_run(out, job.primary(), &identity).is_some();
        if !settled {
            left.jobs_left += 1;
            left.seconds += job.seconds(calibration, backend, processor).0;
            continue;
        }
        for run in job.runs.iter().filter(|r| r.settings.suite.is_some()) {
            let source = transfer_source_under(out, backend, planned.iter().copied(), run);
            let suite = run.suite_identity(backend, source);
            if finished_suite(&home(run), run, &suite).is_none() && crate::store::identical_suite(out, run, &suite).is_none() {
                left.seconds += suite_seconds(run, calibration, backend, processor);
            }
        }
    }
    for spec in selected {
        if let (Kind::Theory(theory), Some(section)) = (&spec.kind, profile.theory(spec.id))
            && !out.experiment(spec.id).manifest().is_file()
        {
            left.seconds += (theory.flops)(section) / (calibration.theory_gflops * 1e9);
        }
    }
    left
}

/// An experiment's section as its manifest records it: a training section serialised (defaults left
/// out where they hold, as run identities do), a theory section as its row checked it.
fn experiment_config(profile: &Profile, spec: &ExperimentSpec) -> serde_json::Value {
    match profile.training(spec.id) {
        Some(settings) => serde_json::to_value(settings).unwrap_or_default(),
        None => profile.theory(spec.id).cloned().unwrap_or_default(),
    }
}

/// The jobs with a home in experiment `id` on `dataset`, in plan order.
fn jobs_of<'a>(jobs: &'a [Job], id: &str, dataset: DatasetId) -> Vec<&'a Job> {
    jobs.iter().filter(|j| j.runs.iter().any(|r| r.experiment == id && r.dataset == dataset)).collect()
}

/// Trains and measures every run of a training experiment on every dataset present, waiting for runs
/// that other processes are training.
fn run_training(spec: &ExperimentSpec, all_jobs: &[Job], env: &Environment, data: &mut DataSets) -> Result<()> {
    let datasets = unique(all_jobs.iter().flat_map(|j| j.runs.iter()).filter(|r| r.experiment == spec.id).map(|r| r.dataset));
    for dataset in datasets {
        if data.load(dataset)?.is_err() {
            continue; // absent: recorded as skipped by the caller
        }
        let jobs = jobs_of(all_jobs, spec.id, dataset);
        let label = |k: usize, job: &Job| format!("{}/{} {} [{}/{}]", spec.id, dataset.name(), job.primary().name, k + 1, jobs.len());
        // A bar over the runs, with the trainer's epoch bars drawn under it. It counts the plan's
        // estimated seconds, so its estimate weighs a SpecReg run as the plan does; runs found
        // finished leave it. Status lines go through `say`, which prints above the bars (and also
        // when stderr is not a terminal and bars are hidden).
        let processor = env.processor.speed_key();
        let estimates: Vec<u64> = jobs.iter().map(|j| (j.seconds(&env.calibration, &env.backend.id, &processor).0 * 1000.0).max(1.0) as u64).collect();
        let done = Arc::new(AtomicUsize::new(0));
        let bars = MultiProgress::new();
        let runs_bar = runs_bar(&bars, format!("{}/{}", spec.id, dataset.name()), estimates.iter().sum(), Arc::clone(&done), jobs.len());
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
                done.fetch_add(1, Ordering::Relaxed);
                match outcome {
                    Outcome::Trained(..) => runs_bar.inc(estimates[k]),
                    // Nothing was computed: the bar's remaining work shrinks instead.
                    _ => runs_bar.set_length(runs_bar.length().unwrap_or(0).saturating_sub(estimates[k])),
                }
            }
            announced = !still.is_empty();
            waiting = still;
            if !waiting.is_empty() {
                std::thread::sleep(Duration::from_secs(2));
            }
        }
        runs_bar.finish_and_clear();
    }
    Ok(())
}

/// A bar over runs that counts their estimated milliseconds (so a SpecReg run weighs as the plan says),
/// with `done` of `total` runs and the time left: the plan's estimate until a run finishes, then the
/// measured pace.
fn runs_bar(bars: &MultiProgress, prefix: String, estimate_ms: u64, done: Arc<AtomicUsize>, total: usize) -> ProgressBar {
    let bar = bars.add(ProgressBar::new(estimate_ms));
    let style = ProgressStyle::with_template("{prefix} runs [{bar:30}] {runs} {elapsed}, eta {eta_known}").unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(
        style
            .with_key("runs", move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}/{total}", done.load(Ordering::Relaxed));
            })
            .with_key("eta_known", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let remaining = if state.pos() == 0 { Duration::from_millis(state.len().unwrap_or(0)) } else { state.eta() };
                let _ = write!(w, "{:#}", indicatif::HumanDuration(remaining));
            })
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix);
    bar
}

/// Evaluates with AutoAttack every run of `runs` whose section asks for it (the experiment's planned
/// runs `planned` name the transfer sources), waiting for evaluations, and for transfer sources, that
/// other live processes are computing. Returns the finished runs left unevaluated: those whose transfer
/// source no process is training (runs not finished yet are reported as missing runs already).
fn run_evaluations(runs: &[&PlannedRun], planned: &[PlannedRun], env: &Environment, data: &mut DataSets) -> Result<Vec<String>> {
    let mut waiting: Vec<&PlannedRun> = runs.iter().copied().filter(|r| r.settings.suite.is_some()).collect();
    let mut left = Vec::new();
    let mut announced = false;
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for run in waiting {
            if data.load(run.dataset)?.is_err() {
                continue; // absent: reported as missing data
            }
            let source = transfer_source(env, planned, run);
            let test = &data.subsets(run.dataset, &run.settings)?.1;
            let (outcome, rows) = env.evaluate(run, source, test)?;
            let line = format!("{}: {}", run.label(), outcome.describe(rows.as_ref()));
            let source_in_progress = || -> Result<bool> {
                let Some(source) = source else { return Ok(false) };
                let lock = env.out.lock(&identity_hash(&source.identity(&env.backend.id)));
                Ok(matches!(specreg_files::RunLock::try_acquire(&lock, env.lock_timeout)?, specreg_files::Acquired::Busy(_)))
            };
            let wait = match outcome {
                Evaluation::Busy(_) => true,
                Evaluation::SourceNotTrained(_) => source_in_progress()?,
                _ => false,
            };
            if wait {
                if !announced {
                    println!("{line}; waiting for it");
                }
                still.push(run);
                continue;
            }
            match outcome {
                Evaluation::SourceNotTrained(_) => {
                    println!("{line}");
                    left.push(run.label());
                }
                Evaluation::NotTrained => println!("{line}"),
                Evaluation::Kept => {}
                _ => println!("{line}"),
            }
        }
        announced = !still.is_empty();
        waiting = still;
        if !waiting.is_empty() {
            std::thread::sleep(Duration::from_secs(2));
        }
    }
    Ok(left)
}

/// Runs slice `shard` of `jobs`: run files, checkpoints, models and the AutoAttack evaluations of its
/// runs; jobs held by another live process are left to it.
fn run_shard(jobs: &[Job], shard: Shard, env: &Environment, data: &mut DataSets) -> Result<Report> {
    let slice = &slices(jobs, shard.count)[shard.index - 1];
    println!("shard {}/{}: {} of {} runs", shard.index, shard.count, slice.len(), jobs.len());
    let bars = MultiProgress::new();
    let mut report = Report::default();
    for (k, &j) in slice.iter().enumerate() {
        let job = &jobs[j];
        let primary = job.primary();
        let label = format!("{} [{}/{}]", primary.label(), k + 1, slice.len());
        let subsets = match data.load(primary.dataset)? {
            Ok(_) => data.subsets(primary.dataset, &primary.settings)?,
            Err(skipped) => {
                println!("{label}: {}", skipped.status);
                report.shard_skipped.push(primary.label());
                continue;
            }
        };
        let (outcome, rows) = env.ensure(job, subsets, &bars, &label)?;
        let left = if let Outcome::Busy(_) = outcome { " (left to it)" } else { "" };
        if let Outcome::Failed(_) = outcome {
            report.shard_failed.push(primary.label());
        }
        println!("{label}: {}{left}", outcome.describe(rows.as_ref()));
    }
    // The slice's evaluations, once its runs are trained: transfer sources come from every experiment's
    // planned runs. After each run come the finished runs of other slices that transfer from it: their
    // process may have looked for it before this one started it, and left them. Each process trains its
    // own runs before it looks at the other's, so at least one of the two sees both finished.
    let planned: Vec<PlannedRun> = jobs.iter().flat_map(|j| j.runs.iter().cloned()).collect();
    for &j in slice {
        for run in jobs[j].runs.iter().filter(|r| env.finished(r).is_some()) {
            let experiment: Vec<PlannedRun> = planned.iter().filter(|r| r.experiment == run.experiment).cloned().collect();
            let dependents =
                experiment.iter().filter(|r| transfer_source(env, &experiment, r).is_some_and(|s| s.label() == run.label()) && env.finished(r).is_some());
            let runs: Vec<&PlannedRun> = std::iter::once(run).chain(dependents).collect();
            report.shard_unevaluated.extend(run_evaluations(&runs, &experiment, env, data)?);
        }
    }
    Ok(report)
}

/// Takes work no other process holds until none is left, the free item with the largest estimate
/// first (longest first leaves short items to even out the end): an untrained job, or the AutoAttack
/// evaluation of a run whose training and transfer source are finished. While other processes hold
/// what is left, it waits: the runs they finish free evaluations. Absent datasets are passed over (the
/// `All` process reports them).
fn run_worker(jobs: &[Job], env: &Environment, data: &mut DataSets) -> Result<Report> {
    let processor = env.processor.speed_key();
    let planned: Vec<PlannedRun> = jobs.iter().flat_map(|j| j.runs.iter().cloned()).collect();
    let evaluation = |run: &PlannedRun| suite_seconds(run, &env.calibration, &env.backend.id, &processor);
    // A job's estimate includes its primary run's evaluation, which is a work item of its own here.
    let training = |j: &Job| j.seconds(&env.calibration, &env.backend.id, &processor).0 - evaluation(j.primary());
    // One list, longest first: a training job is free once no one holds it, an evaluation once its run
    // (and its transfer source) has finished, so short items are left to even out the end.
    let mut items: Vec<(Work, f64)> = (0..jobs.len()).map(|k| (Work::Train(k), training(&jobs[k]))).collect();
    items.extend(planned.iter().enumerate().filter(|(_, r)| r.settings.suite.is_some()).map(|(k, r)| (Work::Evaluate(k), evaluation(r))));
    items.sort_by(|a, b| b.1.total_cmp(&a.1));
    let bars = MultiProgress::new();
    let say = |line: String| bars.suspend(|| println!("{line}"));
    let mut report = Report::default();
    // The bar counts the jobs unfinished at the start as any process settles them.
    let counted: Vec<u64> = jobs.iter().map(|j| if env.finished(j.primary()).is_none() { (training(j) * 1000.0).max(1.0) as u64 } else { 0 }).collect();
    let done = Arc::new(AtomicUsize::new(0));
    let bar = runs_bar(&bars, "all experiments".into(), counted.iter().sum(), Arc::clone(&done), counted.iter().filter(|&&ms| ms > 0).count());
    // Items known to need nothing more from this process.
    let mut settled = vec![false; items.len()];
    loop {
        let mut others_hold_work = false;
        let mut worked = false;
        for (i, &(work, _)) in items.iter().enumerate() {
            if settled[i] {
                continue;
            }
            match work {
                Work::Train(k) => {
                    let job = &jobs[k];
                    let primary = job.primary();
                    // A job without its data is settled unrun (the `All` process reports it).
                    if data.load(primary.dataset)?.is_ok() {
                        let subsets = data.subsets(primary.dataset, &primary.settings)?;
                        let label = primary.label();
                        let (outcome, rows) = env.ensure(job, subsets, &bars, &label)?;
                        match outcome {
                            Outcome::Busy(_) => {
                                others_hold_work = true;
                                continue;
                            }
                            Outcome::Trained(..) | Outcome::Failed(_) => {
                                if let Outcome::Failed(_) = outcome {
                                    report.shard_failed.push(label.clone());
                                }
                                say(format!("{label}: {}", outcome.describe(rows.as_ref())));
                                worked = true;
                            }
                            Outcome::Kept | Outcome::Reused(_) => {}
                        }
                    }
                    settled[i] = true;
                    if counted[k] > 0 {
                        done.fetch_add(1, Ordering::Relaxed);
                        bar.inc(counted[k]);
                    }
                }
                Work::Evaluate(k) => {
                    let run = &planned[k];
                    if env.finished(run).is_none() || data.load(run.dataset)?.is_err() {
                        continue; // held by another process (waited for as a job), failed, or without data
                    }
                    let experiment: Vec<PlannedRun> = planned.iter().filter(|r| r.experiment == run.experiment).cloned().collect();
                    let source = transfer_source(env, &experiment, run);
                    let test = &data.subsets(run.dataset, &run.settings)?.1;
                    let (outcome, rows) = env.evaluate(run, source, test)?;
                    match outcome {
                        Evaluation::Busy(_) => others_hold_work = true,
                        // A source still training is a job another process holds, waited for as such;
                        // a settled one will never finish.
                        Evaluation::SourceNotTrained(_) | Evaluation::NotTrained => {}
                        Evaluation::Measured(_) => {
                            say(format!("{}: {}", run.label(), outcome.describe(rows.as_ref())));
                            settled[i] = true;
                            worked = true;
                        }
                        Evaluation::Kept | Evaluation::Reused(_) => settled[i] = true,
                    }
                }
            }
            if worked {
                break; // look again from the longest: others may have taken or finished work meanwhile
            }
        }
        if worked {
            continue;
        }
        if !others_hold_work {
            bar.finish_and_clear();
            return Ok(report);
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// A worker's unit of work: training job `k`, or the AutoAttack evaluation of planned run `k`.
#[derive(Debug, Clone, Copy)]
enum Work {
    Train(usize),
    Evaluate(usize),
}

/// The datasets a finished experiment in `dir` with this configuration could not run on, when it is
/// finished and they are still absent (a dataset that has appeared since makes it unfinished);
/// `None` when it is not finished.
fn finished_with(dir: &ExperimentDir, config: &serde_json::Value, data: &mut DataSets) -> Result<Option<Vec<DatasetOutcome>>> {
    let Ok(manifest) = Manifest::read(&dir.manifest()) else { return Ok(None) };
    if manifest.config != *config || !manifest.complete {
        return Ok(None);
    }
    let skipped: Vec<DatasetOutcome> = manifest.datasets.into_iter().filter(|d| !d.ran()).collect();
    for d in &skipped {
        if let Some(dataset) = DatasetId::from_name(&d.dataset)
            && data.check(dataset)?.is_ok()
        {
            return Ok(None);
        }
    }
    Ok(Some(skipped))
}

/// Redraws every figure (and SUMMARY.md) of the finished experiments under `results` from their
/// tables, without recomputing anything; returns the experiments redrawn.
pub fn redraw(registry: &Registry, results: &OutDir) -> Result<Vec<&'static str>> {
    let mut drawn = Vec::new();
    for spec in &registry.experiments {
        let dir = results.experiment(spec.id);
        if !dir.manifest().is_file() {
            continue;
        }
        match &spec.kind {
            Kind::Training(_) => report::figures(registry, &dir, spec)?,
            Kind::Theory(theory) => (theory.figures)(&dir)?,
        }
        println!("{:<7} figures redrawn from {}", spec.id, dir.root.join("tables").display());
        drawn.push(spec.id);
    }
    if !drawn.is_empty() {
        write_summary(registry, results)?;
    }
    Ok(drawn)
}
