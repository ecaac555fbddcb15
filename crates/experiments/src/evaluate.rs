//! The AutoAttack evaluation of finished runs (docs/protocol.md §1.6): AutoAttack's standard ensemble
//! with its checks, and transfer attacks crafted on the Vanilla model of the same seed, measured on the
//! saved models and stored beside the run files (`runs/<dataset>/<run>.suite.json`).
//!
//! A model that whitens on batch statistics (the "-Wh" variants, protocol §1.3) is not given the
//! white-box ensemble: its prediction for an example depends on the rest of the batch, and the
//! ensemble attacks shrinking subsets of examples (those still robust), so each attack would face a
//! different model. Transfer examples, crafted elsewhere, are still measured on it in the protocol's
//! evaluation batches, and SUMMARY.md names the variants left out and why.
//!
//! An evaluation has an identity of its own (the run's, the profile's `suite` settings, the transfer
//! source's), so adding or changing `suite` evaluates finished runs again without retraining them.
//! Like training, it is claimed with a lock, so processes sharing an output directory split the work,
//! and an identical evaluation elsewhere under it (E2's and E3's shared Vanilla runs) is copied. The
//! transfer examples of a source are crafted once for all the models measured on them.

use std::time::Instant;

use burn::prelude::*;
use specreg_attacks::apgd::ApgdLoss;
use specreg_attacks::loss::predictions;
use specreg_attacks::{Attack, Check, Norm, SuiteChecks, SuiteSettings, run_suite, wilson};
use specreg_data::Dataset;
use specreg_files::{Acquired, FileError, LockHolder, RunLock};
use specreg_models::{Model, Network, from_safetensors};
use specreg_report::tables::{FateRow, SanityRow, SuiteRow, TransferRow};
use specreg_train::to_tensors;

use crate::attacks::ATTACKS;
use crate::error::{Error, Result};
use crate::execute::Environment;
use crate::out_dir::OutDir;
use crate::plan::PlannedRun;
use crate::schedule::identity_hash;
use crate::settings::SuiteSection;
use crate::store::{RunTiming, SuiteRows, failed_run, finished_suite, identical_suite};
use crate::transfer::{crafted_once, values_digest};
use crate::variant::TRANSFER_SOURCE;

/// The ε at which APGD-CE must bring any model to chance: 0.5 in L∞ reaches a grey image from any input.
const LARGE_EPSILON: f32 = 0.5;

/// What became of a run's evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Evaluation {
    /// Its file was already there.
    Kept,
    /// Copied from the identical evaluation in another experiment (named).
    Reused(String),
    /// Measured now, in this many seconds.
    Measured(f64),
    /// Another live process is measuring it.
    Busy(LockHolder),
    /// The run itself has no run file yet.
    NotTrained,
    /// The Vanilla run its transfer examples come from has no run file yet (named).
    SourceNotTrained(String),
}

impl Evaluation {
    /// In words, after the run's label; `rows` are those of a measured evaluation.
    pub fn describe(&self, rows: Option<&SuiteRows>) -> String {
        let worst = || {
            let rows = rows.map(|r| r.suite.iter().filter(|s| s.attack == specreg_attacks::WORST_CASE).collect::<Vec<_>>()).unwrap_or_default();
            rows.iter().map(|s| format!("ε {}: {:.3}", s.epsilon, s.accuracy)).collect::<Vec<_>>().join(", ")
        };
        match self {
            Evaluation::Kept => "AutoAttack evaluated earlier (kept)".into(),
            Evaluation::Reused(from) => format!("AutoAttack: identical to the evaluation in {from}: reused"),
            Evaluation::Measured(seconds) if rows.is_some_and(|r| r.suite.is_empty()) => {
                format!("transfer measured in {seconds:.0} s; no white-box AutoAttack: the model whitens on batch statistics")
            }
            Evaluation::Measured(seconds) => format!("AutoAttack done in {seconds:.0} s: worst-case accuracy {}", worst()),
            Evaluation::Busy(holder) => format!("AutoAttack being measured by pid {} on {}", holder.pid, holder.host),
            Evaluation::NotTrained => "AutoAttack not run: the run has not finished".into(),
            Evaluation::SourceNotTrained(source) => format!("AutoAttack not run yet: its transfer source {source} has not finished"),
        }
    }
}

/// The run whose model `run`'s transfer examples are crafted on, among `planned`: the Vanilla run of
/// the same experiment, dataset and seed, unless `run` is it, the section asks for no transfer, or that
/// run diverged.
pub fn transfer_source<'a>(env: &Environment, planned: &'a [PlannedRun], run: &PlannedRun) -> Option<&'a PlannedRun> {
    transfer_source_under(&env.out, &env.backend.id, planned, run)
}

/// [`transfer_source`] for a caller without an [`Environment`]: runs under `out` on `backend`.
pub fn transfer_source_under<'a>(out: &OutDir, backend: &str, planned: impl IntoIterator<Item = &'a PlannedRun>, run: &PlannedRun) -> Option<&'a PlannedRun> {
    run.settings.suite.as_ref().filter(|s| s.transfer)?;
    let source = planned.into_iter().find(|r| {
        r.experiment == run.experiment && r.dataset == run.dataset && r.seed == run.seed && r.variant.name == TRANSFER_SOURCE && r.name != run.name
    })?;
    failed_run(&out.experiment(source.experiment), source, &source.identity(backend)).is_none().then_some(source)
}

impl Environment {
    /// Whether `run`'s evaluation is there under its current identity (true when none is asked for).
    pub fn evaluated(&self, run: &PlannedRun, source: Option<&PlannedRun>) -> bool {
        run.settings.suite.is_none() || finished_suite(&self.dir_of(run), run, &run.suite_identity(&self.backend.id, source)).is_some()
    }

    /// Makes sure `run` (finished) has its AutoAttack evaluation: kept, copied from an identical one, or
    /// measured on the first examples of `test_set` under its lock. `None` rows when none is asked for.
    pub fn evaluate(&self, run: &PlannedRun, source: Option<&PlannedRun>, test_set: &Dataset) -> Result<(Evaluation, Option<SuiteRows>)> {
        let Some(suite) = &run.settings.suite else { return Ok((Evaluation::Kept, None)) };
        let identity = run.suite_identity(&self.backend.id, source);
        let dir = self.dir_of(run);
        let file = dir.suite_file(run.dataset, &run.name);
        if let Some(rows) = finished_suite(&dir, run, &identity) {
            return Ok((Evaluation::Kept, Some(rows)));
        }
        if let Some((rows, from)) = identical_suite(&self.out, run, &identity) {
            rows.write(&file)?;
            return Ok((Evaluation::Reused(from.name()), Some(rows)));
        }
        if self.finished(run).is_none() {
            return Ok((Evaluation::NotTrained, None));
        }
        if let Some(source) = source
            && self.finished(source).is_none()
        {
            return Ok((Evaluation::SourceNotTrained(source.label()), None));
        }
        let _lock = match RunLock::try_acquire(&self.out.lock(&format!("suite-{}", identity_hash(&identity))), self.lock_timeout)? {
            Acquired::Busy(holder) => return Ok((Evaluation::Busy(holder), None)),
            Acquired::Held(lock) => lock,
        };
        if let Some(rows) = finished_suite(&dir, run, &identity) {
            return Ok((Evaluation::Kept, Some(rows)));
        }
        let started = Instant::now();
        let mut rows = self.measure_suite(run, source, suite, test_set).map_err(|e| e.in_run(format!("{} (AutoAttack)", run.label())))?;
        let seconds = started.elapsed().as_secs_f64();
        rows.config = identity;
        rows.timing = Some(RunTiming { processor: self.processor.speed_key(), measure_seconds: seconds });
        rows.write(&file)?;
        Ok((Evaluation::Measured(seconds), Some(rows)))
    }

    /// The trained network of `run`, from its model file, in evaluation mode: BatchNorm uses its
    /// running statistics even on the autodiff inputs of gradient attacks, as in the model measured
    /// after training.
    fn load_model(&self, run: &PlannedRun) -> Result<Model> {
        let path = self.dir_of(run).model(run.dataset, &run.name);
        let bytes = std::fs::read(&path).map_err(|e| FileError::new(&path, e))?;
        let model = from_safetensors(run.model.init(&self.backend.device)?, &bytes).map_err(|source| Error::ModelFile { path, source })?;
        Ok(model.valid())
    }

    /// The ensemble with its checks, then transfer, on the first `suite.examples` test examples.
    fn measure_suite(&self, run: &PlannedRun, source: Option<&PlannedRun>, suite: &SuiteSection, test_set: &Dataset) -> Result<SuiteRows> {
        let model = self.load_model(run)?;
        let attacked = test_set.head(suite.examples);
        let (x, y) = to_tensors(attacked.images.view(), attacked.labels.view(), &self.backend.device);
        let grid = suite.epsilons(run.dataset);
        let epsilons: Vec<f32> = grid.iter().map(|&e| e as f32).collect();
        // The tables keep the profile's ε, not its nearest f32.
        let as_written = |e: f32| grid.iter().copied().find(|g| *g as f32 == e).unwrap_or(f64::from(e));
        let batch = run.train.eval_batch_size;
        let settings =
            SuiteSettings { norm: Norm::Linf, iterations: suite.iterations, targets: suite.targets, square_queries: suite.square_queries, seed: run.seed };
        let checks = SuiteChecks {
            pgd: pgd_of(run),
            large_epsilon: LARGE_EPSILON,
            chance: 1.0 / test_set.num_classes as f64,
            convergence_examples: suite.convergence_examples,
        };
        let classify = |images: Tensor<4>| model.forward(images);
        let report = match model.uses_batch_statistics() {
            false => run_suite(&classify, x.clone(), y.clone(), &epsilons, batch, &settings, &checks, true)?,
            true => Default::default(),
        };
        let key = &run.key;
        let mut rows = SuiteRows {
            suite: report
                .records
                .iter()
                .map(|r| SuiteRow {
                    key: key.clone(),
                    attack: r.attack.clone(),
                    epsilon: as_written(r.epsilon),
                    accuracy: r.accuracy,
                    broken: r.broken as u32,
                    n_examples: r.n_examples as u32,
                    ci_low: r.interval.0,
                    ci_high: r.interval.1,
                })
                .collect(),
            fates: report
                .fates
                .iter()
                .flat_map(|(eps, fates)| {
                    fates.iter().enumerate().map(move |(i, f)| FateRow {
                        key: key.clone(),
                        epsilon: as_written(*eps),
                        example: i as u32,
                        fate: f.name().into(),
                    })
                })
                .collect(),
            checks: report.checks.iter().map(|c| sanity_row(run, "AutoAttack", c)).collect(),
            ..SuiteRows::default()
        };
        if let Some(source) = source {
            let attacks = [pgd_of(run), Attack::Apgd { norm: Norm::Linf, loss: ApgdLoss::CrossEntropy, iterations: suite.iterations, restarts: 1 }];
            let crafted = self.transfer_examples(source, &attacks, &epsilons, (&x, &y), batch, run.seed)?;
            let n = attacked.len();
            let grid = attacks.iter().flat_map(|a| epsilons.iter().map(move |&eps| (a, eps)));
            for ((attack, eps), adversarial) in grid.zip(crafted) {
                let correct = correct_in_batches(&model, adversarial, &y, batch);
                let (ci_low, ci_high) = wilson(correct, n);
                rows.transfer.push(TransferRow {
                    key: key.clone(),
                    source: source.variant.name.clone(),
                    attack: attack.name(),
                    epsilon: as_written(eps),
                    accuracy: correct as f64 / n as f64,
                    n_examples: n as u32,
                    ci_low,
                    ci_high,
                });
            }
            if !rows.suite.is_empty() {
                rows.checks.push(sanity_row(run, "transfer", &transfer_check(&rows)));
            }
        }
        Ok(rows)
    }
}

/// The experiment's PGD (the attack table's `pgd` row for the run's settings and dataset).
fn pgd_of(run: &PlannedRun) -> Attack {
    let row = ATTACKS.iter().find(|a| a.id == "pgd").expect("the attack table has a pgd row");
    (row.build)(&run.settings, run.dataset)
}

impl Environment {
    /// The examples each of `attacks` crafts on `source`'s model at each of `epsilons` (attack-major),
    /// from `x` in batches of `batch`: crafted by the first evaluation that needs them, read back by
    /// the others (see [`crate::transfer`]).
    fn transfer_examples(
        &self,
        source: &PlannedRun,
        attacks: &[Attack],
        epsilons: &[f32],
        (x, y): (&Tensor<4>, &Tensor<1, Int>),
        batch: usize,
        seed: u64,
    ) -> Result<Vec<Tensor<4>>> {
        let identity = serde_json::json!({
            "source": source.identity(&self.backend.id),
            "attacks": attacks,
            "epsilons": epsilons,
            "batch": batch,
            "seed": seed,
            "images": values_digest(&x.clone().into_data()),
            "labels": values_digest(&y.clone().into_data()),
        });
        let names: Vec<String> = attacks.iter().flat_map(|a| epsilons.iter().map(move |eps| format!("{}@{eps}", a.name()))).collect();
        let craft = || -> Result<Vec<Tensor<4>>> {
            let crafted_on = self.load_model(source)?;
            let craft = |images: Tensor<4>| crafted_on.forward(images);
            let n = x.dims()[0];
            let mut out = Vec::with_capacity(names.len());
            for attack in attacks {
                for &eps in epsilons {
                    let mut batches = Vec::new();
                    for first in (0..n).step_by(batch) {
                        let len = batch.min(n - first);
                        batches.push(attack.run(&craft, x.clone().narrow(0, first, len), y.clone().narrow(0, first, len), eps, seed, first)?);
                    }
                    out.push(Tensor::cat(batches, 0));
                }
            }
            Ok(out)
        };
        crafted_once(&self.out.transfer_file(&identity_hash(&identity)), &identity, &names, x.dims(), &self.backend.device, craft)
    }
}

/// Examples of `adversarial` that `model` classifies as `y` says, measured in batches of `batch` (the
/// protocol's evaluation batches, which a model whitening on batch statistics depends on).
fn correct_in_batches(model: &Model, adversarial: Tensor<4>, y: &Tensor<1, Int>, batch: usize) -> usize {
    let n = adversarial.dims()[0];
    let mut correct = 0;
    for first in (0..n).step_by(batch) {
        let len = batch.min(n - first);
        let predicted: Vec<i64> = predictions(model.forward(adversarial.clone().narrow(0, first, len))).into_data().iter::<i64>().collect();
        let labels: Vec<i64> = y.clone().narrow(0, first, len).into_data().iter::<i64>().collect();
        correct += predicted.iter().zip(&labels).filter(|(p, l)| p == l).count();
    }
    correct
}

/// Carlini et al. (2019): examples crafted on another model must not hurt a model more than attacks on
/// the model itself; if they do, its gradients mislead the white-box attacks. Compared per ε with the
/// accuracy after APGD-CE, allowing the larger of one point and two examples.
fn transfer_check(rows: &SuiteRows) -> Check {
    let mut stronger = Vec::new();
    for t in &rows.transfer {
        let white_box = rows.suite.iter().find(|s| s.attack == "apgd-ce" && s.epsilon == t.epsilon);
        if let Some(w) = white_box
            && t.accuracy < w.accuracy - specreg_attacks::convergence_tolerance(t.n_examples as usize)
        {
            stronger.push(format!("{} ε {}: transfer {:.4} < white-box {:.4}", t.attack, t.epsilon, t.accuracy, w.accuracy));
        }
    }
    Check::new(
        &format!("transfer from {TRANSFER_SOURCE} not stronger than white-box APGD-CE (within one point or two examples)"),
        stronger.is_empty(),
        stronger.join("; "),
    )
}

fn sanity_row(run: &PlannedRun, prefix: &str, c: &Check) -> SanityRow {
    SanityRow { key: run.key.clone(), check: format!("{prefix}: {}", c.name), passed: c.passed, detail: c.detail.clone() }
}
