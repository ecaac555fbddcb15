//! One planned run, from nothing to its run file: kept if already finished, copied if an identical run
//! of another experiment finished, else trained (resuming from its checkpoint) and measured.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use indicatif::MultiProgress;
use specreg_data::Dataset;
use specreg_models::to_safetensors;
use specreg_report::write_file_atomically;
use specreg_train::{CovarianceSite, TrainOptions, train};

use crate::error::{Error, Result};
use crate::measure;
use crate::plan::PlannedRun;
use crate::store::{ExperimentDir, RunRows, finished_run, identical_run};

/// The compute backend runs are trained on: its name is part of every run's identity.
#[derive(Debug, Clone)]
pub struct Backend {
    /// Short name (`flex`, `vulkan`, …), part of run identities.
    pub id: String,
    /// For manifests and messages.
    pub description: String,
    /// Its device, started (and checked) once for all runs.
    pub device: Device,
    /// Where evaluation passes accumulate covariances on this backend.
    pub covariance_site: CovarianceSite,
}

/// What became of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Its run file was already there.
    Kept,
    /// Copied from the identical finished run of another experiment (named).
    Reused(String),
    /// Trained and measured now, in this many seconds.
    Trained(f64),
}

/// Where results go and how runs are computed.
pub struct Environment {
    /// The output directory (`results/`).
    pub out: PathBuf,
    /// The backend.
    pub backend: Backend,
}

impl Environment {
    /// The directory of `run`'s experiment.
    pub fn dir_of(&self, run: &PlannedRun) -> ExperimentDir {
        ExperimentDir::new(&self.out, run.experiment)
    }

    /// The finished rows of `run`, if its run file exists (under this backend and configuration).
    pub fn finished(&self, run: &PlannedRun) -> Option<RunRows> {
        finished_run(&self.dir_of(run), run, &run.identity(&self.backend.id))
    }

    /// Makes sure `run`'s run file exists: kept, reused or trained on `data` (training, test
    /// examples). `bars` holds the caller's progress bars; `say` prints above them.
    pub fn ensure(&self, run: &PlannedRun, data: &(Dataset, Dataset), bars: &MultiProgress, label: &str) -> Result<(Outcome, RunRows)> {
        let dir = self.dir_of(run);
        let identity = run.identity(&self.backend.id);
        if let Some(rows) = finished_run(&dir, run, &identity) {
            return Ok((Outcome::Kept, rows));
        }
        let started = Instant::now();
        let (outcome, rows) = match identical_run(&self.out, run, &identity) {
            Some((rows, source)) => {
                copy_model(&source.model(run.dataset, &run.name), &dir.model(run.dataset, &run.name))?;
                let name = source.root.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                (Outcome::Reused(name), rows)
            }
            None => {
                let rows = self.train_and_measure(run, identity, data, bars, label).map_err(|e| e.in_run(run.label()))?;
                (Outcome::Trained(started.elapsed().as_secs_f64()), rows)
            }
        };
        rows.write(&dir.run_file(run.dataset, &run.name))?;
        let checkpoints = dir.checkpoints(run.dataset, &run.name);
        if checkpoints.exists() {
            std::fs::remove_dir_all(&checkpoints).map_err(|source| specreg_files::FileError::new(&checkpoints, source))?;
        }
        Ok((outcome, rows))
    }

    /// Trains (resuming from the run's checkpoint), saves the model, measures spectra and robustness.
    fn train_and_measure(&self, run: &PlannedRun, identity: serde_json::Value, (train_set, test_set): &(Dataset, Dataset), bars: &MultiProgress, label: &str) -> Result<RunRows> {
        let dir = self.dir_of(run);
        let device = &self.backend.device;
        let options = TrainOptions {
            device: device.clone(),
            checkpoint_dir: Some(dir.checkpoints(run.dataset, &run.name)),
            progress: true,
            label: label.to_string(),
            bars: Some(bars.clone()),
            covariance_site: self.backend.covariance_site,
        };
        let trained = train(&run.model, &run.train, train_set, test_set, &options)?;
        let bytes = to_safetensors(&trained.model, serde_json::to_string(&run.model).expect("configs serialise"))?;
        write_file_atomically(&dir.model(run.dataset, &run.name), &bytes)?;

        let mut splits = vec![("test", test_set)];
        if run.settings.train_spectra {
            splits.push(("train", train_set));
        }
        let eval_batch = run.train.eval_batch_size;
        let (spectra, fits) = measure::spectra(&run.key, &trained.model, &splits, eval_batch, device, self.backend.covariance_site)?;
        let attacked = test_set.head(run.settings.attack_examples.min(test_set.len()));
        // The sweep draws a bar of its own; the caller's bars step aside meanwhile.
        let (robustness, sanity) = bars.suspend(|| measure::robustness(&run.key, &trained.model, &run.settings, run.dataset, &attacked, eval_batch, device))?;
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
        Ok(RunRows { config: identity, training, spectra, fits, robustness, sanity })
    }
}

/// Copies a reused run's model file.
fn copy_model(from: &Path, to: &Path) -> Result<()> {
    let bytes = std::fs::read(from).map_err(|source| Error::File(specreg_files::FileError::new(from, source)))?;
    Ok(write_file_atomically(to, &bytes)?)
}

/// The one-line status printed when a run finishes.
pub fn status_line(rows: &RunRows, seconds: f64) -> String {
    let last = rows.training.last();
    let fits: Vec<String> = rows.fits.iter().map(|f| format!("{} α̂ {:.2}", f.layer, f.alpha_hat)).collect();
    let worst = rows.robustness.iter().filter(|r| r.attack.starts_with("pgd")).map(|r| (r.epsilon, r.accuracy)).last();
    format!(
        "done in {seconds:.0} s: test accuracy {:.4}, {}{}{}",
        last.map_or(f64::NAN, |r| r.test_acc),
        fits.join(", "),
        worst.map_or(String::new(), |(e, a)| format!(", PGD accuracy {a:.3} at ε = {e:.3}")),
        if rows.sanity.iter().all(|c| c.passed) { String::new() } else { ", SANITY CHECK FAILED (see sanity table)".into() }
    )
}
