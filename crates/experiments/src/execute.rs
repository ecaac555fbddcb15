//! One job (a computation with one or more homes), from nothing to its run files: kept where already
//! finished, copied where an identical run finished, else claimed with a lock, trained (resuming from
//! its checkpoint) and measured. Any number of processes, on any number of hosts, may share an output
//! directory: a job is trained by the one holding its lock, and a lock whose holder died is taken over.

use std::path::Path;
use std::time::{Duration, Instant};

use burn::prelude::*;
use indicatif::MultiProgress;
use specreg_attacks::AttackKind;
use specreg_data::Dataset;
use specreg_files::{Acquired, FileError, LockHolder, RunLock};
use specreg_models::to_safetensors;
use specreg_report::write_file_atomically;
use specreg_train::{Site, TrainOptions, train};

use crate::error::{Error, Result, chain};
use crate::machine::Processor;
use crate::measure;
use crate::out_dir::{ExperimentDir, OutDir};
use crate::plan::PlannedRun;
use crate::schedule::Job;
use crate::store::{RunFailure, RunRows, RunTiming, failed_run, finished_run, identical_run};

/// The compute backend runs are trained on: its name is part of every run's identity.
#[derive(Debug, Clone)]
pub struct Backend {
    /// Short name (`flex`, `vulkan`, …), part of run identities.
    pub id: String,
    /// For manifests and messages.
    pub description: String,
    /// Its device, started (and checked) once for all runs.
    pub device: Device,
    /// Where work with a host and a device implementation runs on this backend.
    pub site: Site,
}

impl Backend {
    /// burn's flex backend on this CPU, as `cargo xtask` names it: what library users and tests
    /// train on without choosing.
    pub fn flex() -> Backend {
        Backend { id: "flex".into(), description: "burn 0.22 flex (pure-Rust CPU), f32".into(), device: Device::flex(), site: Site::Host }
    }
}

/// What became of a job.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Its run files were already there.
    Kept,
    /// Copied from the identical finished run of another experiment (named).
    Reused(String),
    /// Trained and measured now, in this many seconds (after taking over the named dead holder's
    /// lock, if any).
    Trained(f64, Option<LockHolder>),
    /// Another live process holds its lock.
    Busy(LockHolder),
    /// It diverged (now or earlier); the error, recorded in its failure file.
    Failed(String),
}

impl Outcome {
    /// What became of the job, in words: a status line's text after the run's label. `rows` are the
    /// rows of a trained job.
    pub fn describe(&self, rows: Option<&RunRows>) -> String {
        match self {
            Outcome::Kept => "finished (its run file is there: kept)".into(),
            Outcome::Reused(source) => format!("identical to the finished run in {source} (the same network, data, settings and seed): reused"),
            Outcome::Trained(seconds, took_over) => format!(
                "{}{}",
                status_line(rows.expect("a trained job has rows"), *seconds),
                took_over.as_ref().map_or(String::new(), |h| format!(" (resumed from the run of pid {} on {}, which stopped)", h.pid, h.host))
            ),
            Outcome::Busy(holder) => format!("being trained by pid {} on {}", holder.pid, holder.host),
            Outcome::Failed(error) => format!("FAILED, the run diverged: {error}"),
        }
    }
}

/// The shortest `--lock-timeout` accepted: a live holder's heartbeat comes every fifth of it, and a
/// shared file system can delay a heartbeat by seconds. Shorter timeouts let live runs be taken over.
pub const MIN_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Where results go and how runs are computed.
pub struct Environment {
    /// The output directory (`results/`).
    pub out: OutDir,
    /// The backend.
    pub backend: Backend,
    /// A lock without a heartbeat for this long is taken over (its holder is presumed dead); at least
    /// [`MIN_LOCK_TIMEOUT`].
    pub lock_timeout: Duration,
    /// The plan's calibration (see [`crate::Calibration`]).
    pub calibration: crate::schedule::Calibration,
    /// The machine this process runs on.
    pub processor: Processor,
}

impl Environment {
    /// The directory of `run`'s experiment.
    pub fn dir_of(&self, run: &PlannedRun) -> ExperimentDir {
        self.out.experiment(run.experiment)
    }

    /// The finished rows of `run`, if its run file exists (under this backend and configuration).
    pub fn finished(&self, run: &PlannedRun) -> Option<RunRows> {
        finished_run(&self.dir_of(run), run, &run.identity(&self.backend.id))
    }

    /// Makes sure every home of `job` has its run file: kept, copied from a finished home (or an
    /// identical run elsewhere under the output directory), or trained on `data` (training, test
    /// examples) under the job's lock. `Busy` when another live process holds the lock.
    pub fn ensure(&self, job: &Job, data: &(Dataset, Dataset), bars: &MultiProgress, label: &str) -> Result<(Outcome, Option<RunRows>)> {
        if let Some((outcome, rows)) = self.reuse(job)? {
            self.clean_finished(job)?;
            return Ok((outcome, Some(rows)));
        }
        if let Some(failure) = self.failure(job) {
            self.clean_finished(job)?;
            return Ok((Outcome::Failed(failure.error), None));
        }
        let lock = match RunLock::try_acquire(&self.out.lock(&job.hash), self.lock_timeout)? {
            Acquired::Busy(holder) => return Ok((Outcome::Busy(holder), None)),
            Acquired::Held(lock) => lock,
        };
        // Finished by another process between the first look and the lock?
        if let Some((outcome, rows)) = self.reuse(job)? {
            return Ok((outcome, Some(rows)));
        }
        let started = Instant::now();
        let primary = job.primary();
        let rows = match self.train_and_measure(primary, data, bars, label) {
            Ok(rows) => rows,
            // A diverged run is a result about its settings: recorded, and the other runs go on.
            Err(e) if e.is_divergence() => {
                let failure = RunFailure { config: primary.identity(&self.backend.id), error: chain(&e) };
                for run in &job.runs {
                    failure.write(&self.dir_of(run).failure_file(run.dataset, &run.name))?;
                }
                remove_checkpoints(&self.dir_of(primary).checkpoints(primary.dataset, &primary.name))?;
                return Ok((Outcome::Failed(failure.error), None));
            }
            Err(e) => return Err(e.in_run(primary.label())),
        };
        self.write_homes(job, &rows, &self.dir_of(primary))?;
        remove_checkpoints(&self.dir_of(primary).checkpoints(primary.dataset, &primary.name))?;
        let took_over = lock.took_over_from.clone();
        drop(lock);
        Ok((Outcome::Trained(started.elapsed().as_secs_f64(), took_over), Some(rows)))
    }

    /// What a process killed between a finished run's file and its clean-up leaves behind, removed
    /// by whoever next finds the run finished: the checkpoints of every home, and the job's lock once
    /// no live process holds it (a dead holder's lock is taken over and released).
    fn clean_finished(&self, job: &Job) -> Result<()> {
        for run in &job.runs {
            remove_checkpoints(&self.dir_of(run).checkpoints(run.dataset, &run.name))?;
        }
        let lock = self.out.lock(&job.hash);
        if lock.exists() {
            // Held (and dropped at once: removed) unless a live process holds it, which cleans up itself.
            let _ = RunLock::try_acquire(&lock, self.lock_timeout)?;
        }
        Ok(())
    }

    /// The recorded failure of `job` under its current identity, if it diverged earlier.
    pub fn failure(&self, job: &Job) -> Option<RunFailure> {
        failed_run(&self.dir_of(job.primary()), job.primary(), &job.primary().identity(&self.backend.id))
    }

    /// `Kept` when every home is finished; `Reused` after copying a finished home's (or an identical
    /// run's) rows and model into the homes lacking them; `None` when nothing is finished.
    pub(crate) fn reuse(&self, job: &Job) -> Result<Option<(Outcome, RunRows)>> {
        let finished: Vec<Option<RunRows>> = job.runs.iter().map(|r| self.finished(r)).collect();
        if let Some(Some(rows)) = finished.first().filter(|_| finished.iter().all(Option::is_some)) {
            return Ok(Some((Outcome::Kept, rows.clone())));
        }
        let source = match job.runs.iter().zip(&finished).find_map(|(r, f)| f.clone().map(|rows| (rows, self.dir_of(r)))) {
            Some(found) => found,
            None => match identical_run(&self.out, job.primary(), &job.primary().identity(&self.backend.id)) {
                Some(found) => found,
                None => return Ok(None),
            },
        };
        let name = source.1.name();
        self.write_homes(job, &source.0, &source.1)?;
        Ok(Some((Outcome::Reused(name), source.0)))
    }

    /// Writes `rows` (relabelled) and the model found in `source` into every home lacking them.
    fn write_homes(&self, job: &Job, rows: &RunRows, source: &ExperimentDir) -> Result<()> {
        let identity = job.primary().identity(&self.backend.id);
        for run in &job.runs {
            let dir = self.dir_of(run);
            if finished_run(&dir, run, &identity).is_some() {
                continue;
            }
            let model = dir.model(run.dataset, &run.name);
            let from = source.model(run.dataset, &run.name);
            if from != model {
                copy_file(&from, &model)?;
            }
            rows.clone().relabelled(&run.key.experiment).write(&dir.run_file(run.dataset, &run.name))?;
        }
        Ok(())
    }

    /// Trains (resuming from the run's checkpoint), saves the model, measures spectra and robustness.
    fn train_and_measure(&self, run: &PlannedRun, (train_set, test_set): &(Dataset, Dataset), bars: &MultiProgress, label: &str) -> Result<RunRows> {
        let dir = self.dir_of(run);
        let device = &self.backend.device;
        let options = TrainOptions {
            device: device.clone(),
            checkpoint_dir: Some(dir.checkpoints(run.dataset, &run.name)),
            progress: true,
            label: label.to_string(),
            bars: Some(bars.clone()),
            site: self.backend.site,
            spectrum_every: Some(run.settings.spectrum_every).filter(|&k| k > 0),
        };
        let trained = train(&run.model, &run.train, train_set, test_set, &options)?;
        let measuring = Instant::now();
        let model_path = dir.model(run.dataset, &run.name);
        let config = serde_json::to_string(&run.model).map_err(|source| Error::Json { path: model_path.clone(), source })?;
        write_file_atomically(&model_path, &to_safetensors(&trained.model, config)?)?;

        let mut splits = vec![("test", test_set)];
        if run.settings.train_spectra {
            splits.push(("train", train_set));
        }
        let eval_batch = run.train.eval_batch_size;
        let known = trained.final_train_spectra.as_deref().map(|values| ("train", values));
        let (spectra, fits) = measure::spectra(&run.key, &trained.model, &splits, known, eval_batch, device, self.backend.site)?;
        let attacked = test_set.head(run.settings.attack_examples.min(test_set.len()));
        let epsilons = run.settings.epsilons(run.dataset);
        // The sweep draws a bar of its own; the caller's bars step aside meanwhile.
        let (robustness, sanity) = bars.suspend(|| measure::robustness(&run.key, &trained.model, &run.attacks, &epsilons, &attacked, eval_batch, device))?;
        let training = trained
            .history
            .iter()
            .map(|r| specreg_report::tables::TrainingRow {
                key: run.key.clone(),
                epoch: r.epoch as u32,
                loss: r.loss,
                penalty: r.penalty,
                train_acc: r.train_accuracy,
                test_acc: r.test_accuracy,
                seconds: r.seconds,
            })
            .collect();
        let trajectory = trained
            .trajectory
            .iter()
            .map(|p| specreg_report::tables::TrajectoryRow {
                key: run.key.clone(),
                layer: format!("hidden{}", p.layer + 1),
                epoch: p.epoch as u32,
                regularised: p.regularised,
                alpha_hat: p.alpha_hat.unwrap_or(f64::NAN),
                r2: p.r2.unwrap_or(f64::NAN),
                rank_min: p.rank_min as u32,
                rank_max: p.rank_max as u32,
                near_target: p.near_target.unwrap_or(f64::NAN),
                top_eigenvalue: p.top_eigenvalue,
            })
            .collect();
        let timing = RunTiming { processor: self.processor.speed_key(), measure_seconds: measuring.elapsed().as_secs_f64() };
        Ok(RunRows { config: run.identity(&self.backend.id), training, spectra, fits, robustness, sanity, trajectory, timing: Some(timing) })
    }
}

/// Removes a run's checkpoint directory, if any, and `checkpoints/<dataset>/` and `checkpoints/` when
/// that leaves them empty (another run's checkpoints keep them).
fn remove_checkpoints(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(FileError::new(dir, e).into()),
        _ => {}
    }
    for parent in dir.ancestors().skip(1).take(2) {
        if std::fs::remove_dir(parent).is_err() {
            break; // not empty (or already gone)
        }
    }
    Ok(())
}

/// Copies a reused run's model file.
fn copy_file(from: &Path, to: &Path) -> Result<()> {
    let bytes = std::fs::read(from).map_err(|source| Error::File(FileError::new(from, source)))?;
    Ok(write_file_atomically(to, &bytes)?)
}

/// The one-line status printed when a run finishes.
fn status_line(rows: &RunRows, seconds: f64) -> String {
    let last = rows.training.last();
    let fits: Vec<String> = rows.fits.iter().map(|f| format!("{} α̂ {:.2}", f.layer, f.alpha_hat)).collect();
    let worst = rows.robustness.iter().filter(|r| AttackKind::of_name(&r.attack) == Some(AttackKind::PgdLinf)).map(|r| (r.epsilon, r.accuracy)).next_back();
    format!(
        "done in {seconds:.0} s: test accuracy {:.4}, {}{}{}",
        last.map_or(f64::NAN, |r| r.test_acc),
        fits.join(", "),
        worst.map_or(String::new(), |(e, a)| format!(", PGD accuracy {a:.3} at ε = {e:.3}")),
        if rows.sanity.iter().all(|c| c.passed) { String::new() } else { ", SANITY CHECK FAILED (see sanity table)".into() }
    )
}
