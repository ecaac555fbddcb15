//! `reproduce`: the experiments of a profile, in order, from raw data to `OUT/`.
//!
//! Each experiment writes `OUT/<id>/tables/*.parquet`, then its figures from those tables, then
//! `OUT/<id>/manifest.json` last. A manifest marks a finished experiment: rerunning skips experiments
//! whose manifest matches the current configuration, and within an experiment every finished run is
//! kept, so an interrupted `reproduce` resumes where it stopped. `OUT/SUMMARY.md` is rebuilt from the
//! tables every time.

use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;
use specreg_data::DatasetId;
use specreg_report::write_file_atomically;

use crate::catalog::{EXPERIMENTS, ExperimentSpec, Kind};
use crate::data::{DataSets, DatasetOutcome};
use crate::error::{Result, read_to_string};
use crate::execute::{Environment, Outcome, status_line};
use crate::plan::experiment_runs;
use crate::profile::Profile;
use crate::settings::TrainingSettings;
use crate::store::{ExperimentDir, write_tables};
use crate::summary::{git_revision, write_summary};
use crate::{catalog, report};

/// What one call of [`reproduce`] did, per experiment.
#[derive(Debug, Clone, PartialEq)]
pub enum ExperimentStatus {
    /// Not in the profile.
    NotInProfile,
    /// Finished earlier with this configuration.
    FinishedEarlier,
    /// Ran now; `complete` unless a dataset was missing.
    Ran {
        /// Every dataset ran.
        complete: bool,
    },
}

/// Runs `selected` experiments (all of [`EXPERIMENTS`] when empty) of `profile` into `env.out`,
/// with data from `data`, then rebuilds SUMMARY.md.
pub fn reproduce(profile: &Profile, selected: &[&'static ExperimentSpec], env: &Environment, data: &mut DataSets) -> Result<Vec<(&'static str, ExperimentStatus)>> {
    let selected: Vec<&'static ExperimentSpec> = if selected.is_empty() { EXPERIMENTS.iter().collect() } else { selected.to_vec() };
    let mut statuses = Vec::new();
    for spec in selected {
        let id = spec.id;
        let Some(config) = spec.config(profile) else {
            println!("{id:<7} not in profile {} (skipped)", profile.name);
            statuses.push((id, ExperimentStatus::NotInProfile));
            continue;
        };
        let dir = ExperimentDir::new(&env.out, id);
        if finished_with(&dir, &config) {
            println!("{id:<7} finished earlier with this configuration (skipped; delete {} to rerun)", dir.manifest().display());
            statuses.push((id, ExperimentStatus::FinishedEarlier));
            continue;
        }
        let start = Instant::now();
        let started_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let datasets = match &spec.kind {
            Kind::Training(training) => {
                let settings = (training.settings)(profile).expect("a configured experiment has settings");
                let datasets = run_training(spec, settings, env, data)?;
                write_tables(&dir, &experiment_runs(spec, settings))?;
                report::figures(&dir, id)?;
                datasets
            }
            Kind::Theory(theory) => {
                let spinner = ProgressBar::new_spinner().with_message(format!("{id}: running"));
                spinner.enable_steady_tick(std::time::Duration::from_millis(200));
                let outcome = (theory.run)(profile, &dir).and_then(|()| (theory.figures)(&dir));
                spinner.finish_and_clear();
                outcome?;
                Vec::new()
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        let complete = datasets.iter().all(DatasetOutcome::ran);
        let manifest = json!({
            "experiment": id,
            "profile": profile.name,
            "config": config,
            "complete": complete,
            "backend": if spec.is_training() { env.backend.description.as_str() } else { "cpu: ndarray + faer (theory experiment, no training)" },
            "datasets": datasets,
            "git_revision": git_revision(),
            "specreg_version": env!("CARGO_PKG_VERSION"),
            "started_at_unix": started_at,
            "wall_seconds": seconds,
        });
        write_file_atomically(&dir.manifest(), serde_json::to_string_pretty(&manifest).expect("json"))?;
        println!("{id:<7} done in {seconds:.1} s → {}", dir.root.display());
        statuses.push((id, ExperimentStatus::Ran { complete }));
    }
    write_summary(&env.out)?;
    println!("summary: {}", env.out.join("SUMMARY.md").display());
    Ok(statuses)
}

/// Trains and measures every run of a training experiment on every dataset present; returns what
/// happened per dataset.
fn run_training(spec: &'static ExperimentSpec, settings: &TrainingSettings, env: &Environment, data: &mut DataSets) -> Result<Vec<DatasetOutcome>> {
    let runs = experiment_runs(spec, settings);
    let mut outcomes = Vec::new();
    for dataset in settings.datasets.iter().filter_map(|d| DatasetId::from_name(d)) {
        let outcome = match data.load(dataset)? {
            Ok(outcome) => outcome,
            Err(skipped) => {
                println!("{}: {} not found under {}: {}", spec.id, dataset.name(), data.dir().display(), skipped.status.trim_start_matches("skipped: not found. "));
                outcomes.push(skipped);
                continue;
            }
        };
        let subsets = data.subsets(dataset, settings)?;
        let runs: Vec<_> = runs.iter().filter(|r| r.dataset == dataset).collect();
        // A bar over the runs, with the trainer's epoch bars drawn under it. Status lines go through
        // `say`, which prints above the bars (and also when stderr is not a terminal and bars are hidden).
        let bars = MultiProgress::new();
        let runs_bar = bars.add(ProgressBar::new(runs.len() as u64));
        runs_bar.set_style(ProgressStyle::with_template("{prefix} runs [{bar:30}] {pos}/{len} {elapsed} eta {eta}").expect("valid template").progress_chars("=> "));
        runs_bar.set_prefix(format!("{}/{}", spec.id, dataset.name()));
        let say = |line: String| bars.suspend(|| println!("{line}"));
        for (k, run) in runs.iter().enumerate() {
            let label = format!("{}/{} {} [{}/{}]", spec.id, dataset.name(), run.name, k + 1, runs.len());
            let (outcome, rows) = env.ensure(run, subsets, &bars, &label)?;
            say(match outcome {
                Outcome::Kept => format!("{label}: finished earlier (kept)"),
                Outcome::Reused(source) => format!("{label}: identical to the finished run in {source} (E2 and E3 share their Vanilla runs): reused"),
                Outcome::Trained(seconds) => format!("{label}: {}", status_line(&rows, seconds)),
            });
            runs_bar.inc(1);
        }
        runs_bar.finish_and_clear();
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Whether `dir` holds a finished experiment with this configuration.
fn finished_with(dir: &ExperimentDir, config: &serde_json::Value) -> bool {
    read_to_string(&dir.manifest())
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|m| m.get("config") == Some(config) && m.get("complete").and_then(|c| c.as_bool()).unwrap_or(true))
}

/// Redraws every figure (and SUMMARY.md) of the finished experiments under `results` from their
/// tables, without recomputing anything; returns how many experiments were redrawn.
pub fn redraw(results: &Path) -> Result<Vec<&'static str>> {
    let mut drawn = Vec::new();
    for spec in EXPERIMENTS {
        let dir = ExperimentDir::new(results, spec.id);
        if !dir.manifest().is_file() {
            continue;
        }
        match &spec.kind {
            Kind::Training(_) => report::figures(&dir, spec.id)?,
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
    only.iter().map(|name| catalog::find(name)).collect()
}
