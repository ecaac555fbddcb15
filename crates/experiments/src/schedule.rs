//! Scheduling a profile's runs: what they cost, and how to share them among workers.
//!
//! A [`Job`] is one computation: the planned runs of all experiments that share an identity (E2's and
//! E3's Vanilla are one job with two homes), trained once. Its time is estimated, per part:
//!
//! - from what was measured: the epochs and measurement times of finished runs under the output
//!   directory that were computed on this backend and processor with the same network, batch,
//!   training set, penalties (β aside) and measurements ([`speed_key`]); nothing else counts, so a
//!   smoke run never calibrates the paper profile;
//! - otherwise from a FLOP count of everything the run does (training steps with penalties,
//!   eigenvector refreshes, evaluation, the final spectra and attacks) divided by a throughput per
//!   network family, from a `cargo xtask bench train --json` file or from defaults measured on the
//!   project's 2-core CPU. The plan says how many jobs were priced each way.
//!
//! Slices for `--shard K/N` come from the FLOP counts alone (longest job first into the least loaded
//! slice), so every worker computes the same slices whatever it has measured.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};
use specreg_models::ModelConfig;

use crate::attacks::ATTACKS;
use crate::catalog::{ExperimentSpec, Kind};
use crate::error::{Error, Result};
use crate::manifest::{CalibrationSummary, ExperimentPlan, PlanSummary, RunPlan};
use crate::out_dir::OutDir;
use crate::plan::PlannedRun;
use crate::profile::Profile;
use crate::registry::Registry;
use crate::store::{RunRows, SuiteTiming};
use crate::variant::TRANSFER_SOURCE;
use specreg_attacks::{Norm, SuiteSettings};

/// Throughputs and measured times the estimates use (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Fully connected networks, GFLOP/s.
    pub mlp_gflops: f64,
    /// Convolutional networks, GFLOP/s.
    pub cnn_gflops: f64,
    /// Theory simulations (f64 ndarray products), GFLOP/s.
    pub theory_gflops: f64,
    /// Where the throughputs come from.
    pub source: String,
    /// Median epoch seconds of finished runs, by [`speed_key`].
    pub epochs: BTreeMap<String, f64>,
    /// Measurement seconds of finished runs, by [`measure_key`].
    pub measurements: BTreeMap<String, f64>,
    /// Seconds of finished AutoAttack evaluations, by [`suite_key`].
    pub suites: BTreeMap<String, f64>,
}

impl Default for Calibration {
    /// Measured with `cargo xtask bench train` and the quick profile on the project's 2-core CPU
    /// (AMD EPYC, Zen 4, flex): the E1 step (3500 examples) and the MNIST CNN step (1000 examples).
    fn default() -> Self {
        Calibration {
            mlp_gflops: 227.0,
            cnn_gflops: 47.8,
            theory_gflops: 40.0,
            source: "defaults measured on a 2-core AMD EPYC (Zen 4), flex".into(),
            epochs: BTreeMap::new(),
            measurements: BTreeMap::new(),
            suites: BTreeMap::new(),
        }
    }
}

impl Calibration {
    fn gflops(&self, model: &ModelConfig) -> f64 {
        match model {
            ModelConfig::Mlp(_) => self.mlp_gflops,
            ModelConfig::Cnn(_) => self.cnn_gflops,
        }
    }

    /// Throughputs from a `bench train --json` file: its E1 and CNN step rows. A file that is
    /// missing, is not JSON, or lacks those rows is an error naming it.
    pub fn from_bench(path: &Path) -> Result<Calibration> {
        let bad = |problem: String| Error::Calibration { path: path.into(), problem };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let row = |name: &str| -> Result<f64> {
            json["rows"]
                .as_array()
                .and_then(|rows| rows.iter().find(|r| r["name"].as_str() == Some(name)))
                .and_then(|r| r["ours_s"].as_f64())
                .filter(|s| s.is_finite() && *s > 0.0)
                .ok_or_else(|| bad(format!("no row {name:?} with a positive `ours_s`: write it with `cargo xtask bench train --json FILE`")))
        };
        let (e1, cnn) = (row(BENCH_E1_ROW)?, row(BENCH_CNN_ROW)?);
        let e1_flops = 3500.0 * training_macs(&e1_config()) * 2.0;
        let cnn_flops = 1000.0 * training_macs(&ModelConfig::Cnn(specreg_models::CnnConfig::mnist())) * 2.0;
        Ok(Calibration {
            mlp_gflops: e1_flops / e1 / 1e9,
            cnn_gflops: cnn_flops / cnn / 1e9,
            source: format!("benchmark file {}", path.display()),
            ..Calibration::default()
        })
    }

    /// Adds the times of every finished run under `out` computed on `backend` by a machine with
    /// processor key `processor`.
    pub fn with_measured(mut self, out: &OutDir, backend: &str, processor: &str) -> Calibration {
        let mut epochs: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut measurements: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut suites: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for dir in out.experiments_present() {
            let Ok(datasets) = std::fs::read_dir(dir.root.join("runs")) else { continue };
            for file in datasets.flatten().flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten()) {
                let path = file.path();
                let name = path.to_string_lossy();
                if name.ends_with(".suite.json") {
                    if let Ok(rows) = SuiteTiming::read(&path)
                        && let Some(timing) = rows.timing.as_ref().filter(|t| t.processor == processor)
                        && rows.config["run"].get("backend").and_then(|b| b.as_str()) == Some(backend)
                    {
                        suites.entry(suite_key(&rows.config, processor)).or_default().push(timing.measure_seconds);
                    }
                    continue;
                }
                if !name.ends_with(".json") || name.ends_with(".failed.json") {
                    continue;
                }
                let Ok(rows) = RunRows::read(&path) else { continue };
                let Some(timing) = rows.timing.as_ref().filter(|t| t.processor == processor) else { continue };
                if rows.config.get("backend").and_then(|b| b.as_str()) != Some(backend) || rows.training.is_empty() {
                    continue;
                }
                epochs.entry(speed_key(&rows.config, processor)).or_default().extend(rows.training.iter().map(|r| r.seconds));
                measurements.entry(measure_key(&rows.config, processor)).or_default().push(timing.measure_seconds);
            }
        }
        self.epochs = epochs.into_iter().map(|(k, v)| (k, median(v))).collect();
        self.measurements = measurements.into_iter().map(|(k, v)| (k, median(v))).collect();
        self.suites = suites.into_iter().map(|(k, v)| (k, median(v))).collect();
        self
    }

    fn summary(&self, measured_jobs: usize) -> CalibrationSummary {
        CalibrationSummary { mlp_gflops: self.mlp_gflops, cnn_gflops: self.cnn_gflops, source: self.source.clone(), measured_jobs }
    }
}

/// The `bench train` rows a calibration file is read from.
pub const BENCH_E1_ROW: &str = "E1 step, batch 3500";
/// The CNN row.
pub const BENCH_CNN_ROW: &str = "CNN step, batch 1000";

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// What decides how long an epoch takes: the network, the batch, the training set, the penalties
/// (their strength aside), the evaluation passes, the backend (all from a run's identity) and the
/// processor.
pub fn speed_key(identity: &serde_json::Value, processor: &str) -> String {
    let settings = &identity["settings"];
    let mut train = identity["train"].clone();
    if let Some(t) = train.as_object_mut() {
        for field in ["epochs", "learning_rate", "seed", "weight_decay"] {
            t.remove(field);
        }
        if let Some(spectral) = t.get_mut("spectral").and_then(|s| s.get_mut("penalty")).and_then(|p| p.as_object_mut()) {
            spectral.remove("beta");
        }
    }
    serde_json::json!({
        "model": identity["model"],
        "train": train,
        "examples": [settings["train_per_class"], settings["test_examples"], settings["spectrum_every"]],
        "backend": identity["backend"],
        "processor": processor,
    })
    .to_string()
}

/// What decides how long measuring a trained run takes: its network, the examples measured, the
/// attacks and ε grid, the backend and the processor.
pub fn measure_key(identity: &serde_json::Value, processor: &str) -> String {
    let s = &identity["settings"];
    serde_json::json!({
        "model": identity["model"],
        "measure": [s["test_examples"], s["train_per_class"], s["attack_examples"], s["attacks"], s["epsilons"], s["pgd_steps"], s["train_spectra"]],
        "backend": identity["backend"],
        "processor": processor,
    })
    .to_string()
}

/// What decides how long an AutoAttack evaluation takes, from its identity
/// ([`PlannedRun::suite_identity`]): the network, the suite's settings, whether it transfers, the
/// backend and the processor (how robust the model is matters too: this is a median over variants).
pub fn suite_key(identity: &serde_json::Value, processor: &str) -> String {
    let run = &identity["run"];
    serde_json::json!({
        "model": run["model"],
        "suite": identity["suite"],
        "transfer": !identity["source"].is_null(),
        "backend": run["backend"],
        "processor": processor,
    })
    .to_string()
}

/// The share of examples, averaged over the suite's ε grid, that an estimate assumes still robust after
/// APGD-CE: the rest of the ensemble runs only on those. Measured in the quick profile's E1 on MNIST
/// (40 epochs, 500 examples, ε 0.05–0.3): 0.010 for Vanilla, 0.095 for SpecReg β = 5; a machine that
/// has measured an evaluation prices the next ones from its own times instead.
const ROBUST_AFTER_APGD_CE: f64 = 0.05;

/// FLOPs of a run's AutoAttack evaluation: APGD-CE on every example, the rest of the ensemble on the
/// share [`ROBUST_AFTER_APGD_CE`], the convergence check (twice the iterations, 5 restarts), the
/// large-ε check, the gradient count and transfer.
fn suite_flops(run: &PlannedRun) -> f64 {
    let Some(suite) = &run.settings.suite else { return 0.0 };
    let settings = SuiteSettings { norm: Norm::Linf, iterations: suite.iterations, targets: suite.targets, square_queries: suite.square_queries, seed: 0 };
    let passes: Vec<f64> = settings.attacks().iter().map(|a| a.passes_per_example()).collect();
    let apgd = passes[0];
    let ensemble = apgd + ROBUST_AFTER_APGD_CE * passes[1..].iter().sum::<f64>();
    let pgd = ATTACKS.iter().find(|a| a.id == "pgd").map_or(0.0, |a| (a.build)(&run.settings, run.dataset).passes_per_example());
    let (n, epsilons) = (suite.examples as f64, suite.epsilons(run.dataset).len() as f64);
    let convergence = suite.convergence_examples.min(suite.examples) as f64 * 11.0 * (pgd + apgd);
    let transfer = if suite.transfer && run.variant.name != TRANSFER_SOURCE { n * epsilons * (pgd + apgd + 2.0) } else { 0.0 };
    2.0 * forward_macs(&run.model) * (n * epsilons * ensemble + convergence + n * (apgd + 3.0) + transfer)
}

fn e1_config() -> ModelConfig {
    ModelConfig::Mlp(specreg_models::MlpConfig::new(784, vec![2000], 10).with_batch_norm(true))
}

/// Multiply-accumulates of one forward pass of one example.
fn forward_macs(model: &ModelConfig) -> f64 {
    let fully_connected = |widths: &[usize]| widths.windows(2).map(|w| (w[0] * w[1]) as f64).sum::<f64>();
    match model {
        ModelConfig::Mlp(c) => fully_connected(&[&[c.input][..], &c.hidden, &[c.classes]].concat()),
        ModelConfig::Cnn(c) => {
            // Each block: a 3×3 convolution without padding over the previous block's output, then
            // pooling (the block sizes come from the network's own arithmetic).
            let mut previous = c.input;
            let mut macs = 0.0;
            for shape in c.conv_shapes().unwrap_or_default() {
                macs += (shape[0] * (previous[1] - 2) * (previous[2] - 2) * previous[0] * 9) as f64;
                previous = shape;
            }
            macs + fully_connected(&[&[previous.iter().product()][..], &c.fully_connected, &[c.classes]].concat())
        }
    }
}

/// Multiply-accumulates of one training step of one example: forward and two backward products.
fn training_macs(model: &ModelConfig) -> f64 {
    3.0 * forward_macs(model)
}

/// FLOPs of one epoch: training steps (with penalties), the refresh, the test evaluation.
fn epoch_flops(run: &PlannedRun) -> f64 {
    let examples = run.settings.train_examples(run.dataset) as f64;
    let test = run.settings.test_count(run.dataset) as f64;
    let forward = forward_macs(&run.model);
    let widths = run.model.hidden_widths().unwrap_or_default();
    let mut macs = examples * training_macs(&run.model) + test * forward;
    if run.train.jacobian.is_some() {
        // Forward-mode tangents double the forward and backward passes.
        macs += examples * training_macs(&run.model);
    }
    if let Some(s) = &run.train.spectral {
        for k in s.layers.resolve(widths.len()).unwrap_or_default() {
            let n = widths[k] as f64;
            // Per example: H̃V forward and its backward (2 N² MACs); per epoch: the refresh pass, its
            // covariance (one triangle) and the eigendecomposition (≈ 10/3 N³ FLOPs).
            macs += examples * 2.0 * n * n + examples * forward + examples * n * n / 2.0 + 10.0 / 6.0 * n * n * n;
        }
    }
    2.0 * macs
}

/// FLOPs of everything after training: spectra of every layer (test, and train if asked) and the
/// attack sweep with its masking probe.
fn measurement_flops(run: &PlannedRun) -> f64 {
    let forward = forward_macs(&run.model);
    let widths = run.model.hidden_widths().unwrap_or_default();
    let mut passes = run.settings.test_count(run.dataset) as f64;
    if run.settings.train_spectra {
        passes += run.settings.train_examples(run.dataset) as f64;
    }
    let spectra: f64 = widths.iter().map(|&n| passes * (n * n) as f64 / 2.0 + 4.0 / 6.0 * (n as f64).powi(3)).sum::<f64>() + passes * forward;
    let epsilons = run.settings.epsilons(run.dataset).len() as f64;
    let sweep: f64 = run.attacks.iter().map(|a| a.passes_per_example()).sum::<f64>() * epsilons;
    let probe = run.attacks.iter().find(|a| a.kind() == specreg_attacks::AttackKind::PgdLinf).map_or(0.0, |a| a.passes_per_example());
    2.0 * (spectra + run.settings.attack_examples as f64 * (sweep + probe) * forward)
}

/// One computation: the planned runs (in every experiment) that share an identity.
#[derive(Debug, Clone)]
pub struct Job {
    /// Every home of the computation, the first being where it trains.
    pub runs: Vec<PlannedRun>,
    /// The identity's SHA-256 (hex, first 16 bytes): the lock's name.
    pub hash: String,
    /// Estimated FLOPs.
    pub flops: f64,
}

impl Job {
    /// The run that trains (its checkpoints live in its experiment's directory).
    pub fn primary(&self) -> &PlannedRun {
        &self.runs[0]
    }

    /// Estimated seconds under `calibration` for `backend` and `processor`, and whether its epochs
    /// were measured.
    pub fn seconds(&self, calibration: &Calibration, backend: &str, processor: &str) -> (f64, bool) {
        let run = self.primary();
        let identity = run.identity(backend);
        let gflops = calibration.gflops(&run.model) * 1e9;
        let epochs = calibration.epochs.get(&speed_key(&identity, processor)).map(|s| s * run.settings.epochs as f64);
        let measuring = calibration.measurements.get(&measure_key(&identity, processor)).copied().unwrap_or_else(|| measurement_flops(run) / gflops);
        let suite = suite_seconds(run, calibration, backend, processor);
        match epochs {
            Some(training) => (training + measuring + suite, true),
            None => (epoch_flops(run) * run.settings.epochs as f64 / gflops + measuring + suite, false),
        }
    }
}

/// The estimated seconds of `run`'s AutoAttack evaluation (0 where its section asks for none): its time
/// measured here for the same evaluation, else its FLOPs at the calibration's throughput.
pub fn suite_seconds(run: &PlannedRun, calibration: &Calibration, backend: &str, processor: &str) -> f64 {
    let Some(suite) = &run.settings.suite else { return 0.0 };
    // The key reads only whether there is a transfer source, so the run stands in for it.
    let transfers = suite.transfer && run.variant.name != TRANSFER_SOURCE;
    let key = suite_key(&run.suite_identity(backend, transfers.then_some(run)), processor);
    calibration.suites.get(&key).copied().unwrap_or_else(|| suite_flops(run) / (calibration.gflops(&run.model) * 1e9))
}

/// Every run of `selected` experiments of `profile`, grouped into jobs by identity (in plan order).
pub fn jobs(registry: &Registry, profile: &Profile, selected: &[&ExperimentSpec], backend: &str) -> Vec<Job> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for spec in selected {
        let Some(settings) = profile.training(spec.id) else { continue };
        for run in registry.runs(spec, settings) {
            let hash = identity_hash(&run.identity(backend));
            match index.get(&hash) {
                Some(&k) => jobs[k].runs.push(run),
                None => {
                    let flops = epoch_flops(&run) * run.settings.epochs as f64 + measurement_flops(&run) + suite_flops(&run);
                    index.insert(hash.clone(), jobs.len());
                    jobs.push(Job { runs: vec![run], hash, flops });
                }
            }
        }
    }
    jobs
}

/// A short, stable name for an identity: the first 16 bytes of the SHA-256 of its JSON, in hex.
pub fn identity_hash(identity: &serde_json::Value) -> String {
    let digest = Sha256::digest(identity.to_string().as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Splits `jobs` into `n` slices of near-equal FLOPs: longest job first into the least loaded slice,
/// ties to the lowest slice. Deterministic; returns job indices per slice.
pub fn slices(jobs: &[Job], n: usize) -> Vec<Vec<usize>> {
    let n = n.max(1);
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by(|&a, &b| jobs[b].flops.total_cmp(&jobs[a].flops).then(a.cmp(&b)));
    let mut load = vec![0.0f64; n];
    let mut out = vec![Vec::new(); n];
    for j in order {
        let k = (0..n).min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b))).unwrap_or(0);
        load[k] += jobs[j].flops;
        out[k].push(j);
    }
    for slice in &mut out {
        slice.sort_unstable();
    }
    out
}

/// The estimated wall time of jobs taking `seconds` each on `workers` workers (the busiest slice).
fn makespan(jobs: &[Job], seconds: &[f64], workers: usize) -> f64 {
    slices(jobs, workers).iter().map(|s| s.iter().map(|&j| seconds[j]).sum::<f64>()).fold(0.0, f64::max)
}

/// Which slice this process runs: `K/N` (1-based), as given or from a Slurm array's environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based slice.
    pub index: usize,
    /// Number of slices.
    pub count: usize,
}

impl Shard {
    /// Parses `K/N` with 1 ≤ K ≤ N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (k, n) = text.split_once('/').ok_or_else(|| format!("--shard {text:?}: expected K/N, for example 2/8"))?;
        let (index, count): (usize, usize) = (
            k.trim().parse().map_err(|_| format!("--shard {text:?}: K is not a number"))?,
            n.trim().parse().map_err(|_| format!("--shard {text:?}: N is not a number"))?,
        );
        if count == 0 || index == 0 || index > count {
            return Err(format!("--shard {text:?}: needs 1 ≤ K ≤ N"));
        }
        Ok(Shard { index, count })
    }

    /// From `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_MIN` and `SLURM_ARRAY_TASK_COUNT` (looked up with
    /// `var`), when all three are set.
    pub fn from_slurm(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, String> {
        let (Some(id), Some(min), Some(count)) = (var("SLURM_ARRAY_TASK_ID"), var("SLURM_ARRAY_TASK_MIN"), var("SLURM_ARRAY_TASK_COUNT")) else {
            return Ok(None);
        };
        let number = |name: &str, v: &str| v.trim().parse::<usize>().map_err(|_| format!("{name}={v:?} is not a number"));
        let (id, min, count) = (number("SLURM_ARRAY_TASK_ID", &id)?, number("SLURM_ARRAY_TASK_MIN", &min)?, number("SLURM_ARRAY_TASK_COUNT", &count)?);
        if id < min || id - min >= count {
            return Err(format!("SLURM_ARRAY_TASK_ID {id} is outside the array {min}..{}", min + count));
        }
        Ok(Some(Shard { index: id - min + 1, count }))
    }
}

/// The plan of `selected` experiments of `profile` on `backend` and this machine's `processor` (its
/// [`crate::Processor::speed_key`], `description` for the reader), with times estimated as the module
/// doc says from `calibration` (use [`Calibration::with_measured`] to add the times measured under an
/// output directory).
pub fn summarize(
    registry: &Registry,
    profile: &Profile,
    selected: &[&ExperimentSpec],
    backend: &str,
    processor: (&str, &str),
    calibration: &Calibration,
) -> PlanSummary {
    let (processor_key, processor_description) = processor;
    let jobs = jobs(registry, profile, selected, backend);
    let priced: Vec<(f64, bool)> = jobs.iter().map(|j| j.seconds(calibration, backend, processor_key)).collect();
    let seconds: Vec<f64> = priced.iter().map(|p| p.0).collect();
    let mut experiments: Vec<ExperimentPlan> = Vec::new();
    let mut runs = Vec::new();
    for (job, &(job_seconds, measured)) in jobs.iter().zip(&priced) {
        for (k, run) in job.runs.iter().enumerate() {
            let seconds = if k == 0 { job_seconds } else { 0.0 };
            let entry = match experiments.iter_mut().find(|e| e.id == run.experiment) {
                Some(e) => e,
                None => {
                    experiments.push(ExperimentPlan { id: run.experiment.into(), runs: 0, example_epochs: 0, seconds: 0.0 });
                    experiments.last_mut().expect("just pushed")
                }
            };
            entry.runs += 1;
            entry.example_epochs += run.example_epochs();
            entry.seconds += seconds;
            runs.push(RunPlan {
                key: run.key.clone(),
                label: run.label(),
                job: job.hash.clone(),
                epochs: run.settings.epochs,
                examples: run.settings.train_examples(run.dataset),
                seconds,
                measured,
            });
        }
    }
    // Theory experiments: one simulation each, on the CPU whatever the backend.
    let mut theory_seconds = 0.0;
    for spec in selected {
        if let (Kind::Theory(theory), Some(section)) = (&spec.kind, profile.theory(spec.id)) {
            let seconds = (theory.flops)(section) / (calibration.theory_gflops * 1e9);
            theory_seconds += seconds;
            experiments.push(ExperimentPlan { id: spec.id.into(), runs: 0, example_epochs: 0, seconds });
        }
    }
    let position = |id: &str| registry.experiments.iter().position(|e| e.id == id);
    experiments.sort_by_key(|e| position(&e.id));
    let wall_seconds = [1, 16, 64].iter().map(|&w| (w, makespan(&jobs, &seconds, w) + theory_seconds)).collect();
    PlanSummary {
        profile: profile.name.clone(),
        backend: backend.to_string(),
        processor: processor_description.to_string(),
        calibration: calibration.summary(priced.iter().filter(|p| p.1).count()),
        total_runs: runs.len(),
        total_jobs: jobs.len(),
        total_seconds: seconds.iter().sum::<f64>() + theory_seconds,
        experiments,
        runs,
        wall_seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry::standard()
    }

    fn profile(name: &str) -> Profile {
        registry().load_profile(name).unwrap()
    }

    fn all_jobs(name: &str) -> Vec<Job> {
        let (registry, profile) = (registry(), profile(name));
        let selected: Vec<_> = registry.experiments.iter().collect();
        jobs(&registry, &profile, &selected, "flex")
    }

    #[test]
    fn identical_runs_are_one_job_with_two_homes() {
        let jobs = all_jobs("smoke");
        let shared: Vec<&Job> = jobs.iter().filter(|j| j.runs.len() > 1).collect();
        assert_eq!(
            shared.len(),
            1,
            "E2-MLP's and E3-MLP's Vanilla: {:?}",
            shared.iter().map(|j| j.runs.iter().map(PlannedRun::label).collect::<Vec<_>>()).collect::<Vec<_>>()
        );
        assert_eq!(shared[0].runs.iter().map(|r| r.experiment).collect::<Vec<_>>(), ["E2-MLP", "E3-MLP"]);
        let total: usize = jobs.iter().map(|j| j.runs.len()).sum();
        assert_eq!(total, jobs.len() + 1);
        // Another backend is another computation.
        assert_ne!(identity_hash(&jobs[0].primary().identity("flex")), identity_hash(&jobs[0].primary().identity("vulkan")));
    }

    #[test]
    fn s4_shares_e1s_vanilla_and_specreg_runs_where_its_section_equals_e1s() {
        let jobs = all_jobs("paper");
        let shared: Vec<Vec<String>> = jobs
            .iter()
            .filter(|j| j.runs.iter().any(|r| r.experiment == "S4") && j.runs.len() > 1)
            .map(|j| j.runs.iter().map(PlannedRun::label).collect())
            .collect();
        let seeds = profile("paper").training("S4").unwrap().seeds.len();
        assert_eq!(shared.len(), 2 * seeds, "{shared:?}");
        assert!(shared.iter().all(|homes| homes[0].starts_with("E1/") && homes[1].starts_with("S4/")), "{shared:?}");
    }

    #[test]
    fn quick_s4_run_into_quicks_output_reuses_e1s_two_runs() {
        // quick leaves S4 out; quick-s4 adds it, and its Vanilla and SpecReg runs must be the very runs
        // quick's E1 trained (the same identities), so that only the head and tail runs train.
        let identities = |name: &str, id: &str| -> Vec<(String, String)> {
            let jobs = all_jobs(name);
            jobs.iter().flat_map(|j| &j.runs).filter(|r| r.experiment == id).map(|r| (r.name.clone(), identity_hash(&r.identity("flex")))).collect()
        };
        assert!(!profile("quick").configures("S4") && profile("quick-s4").configures("S4"));
        assert!(!profile("quick-s4").configures("E1"));
        let (e1, s4) = (identities("quick", "E1"), identities("quick-s4", "S4"));
        assert_eq!(s4.len(), 4, "{s4:?}");
        let reused: Vec<&(String, String)> = s4.iter().filter(|run| e1.contains(run)).collect();
        assert_eq!(reused.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), ["Vanilla-b0-s1", "SpecReg-b5-s1"], "E1: {e1:?}, S4: {s4:?}");
    }

    #[test]
    fn slices_cover_every_job_once_are_balanced_and_deterministic() {
        let jobs = all_jobs("paper");
        for n in [1, 4, 16] {
            let s = slices(&jobs, n);
            assert_eq!(s, slices(&jobs, n));
            let mut all: Vec<usize> = s.iter().flatten().copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..jobs.len()).collect::<Vec<_>>());
            let loads: Vec<f64> = s.iter().map(|slice| slice.iter().map(|&j| jobs[j].flops).sum()).collect();
            let (max, biggest) = (loads.iter().cloned().fold(0.0, f64::max), jobs.iter().map(|j| j.flops).fold(0.0, f64::max));
            let mean = loads.iter().sum::<f64>() / n as f64;
            // Greedy longest-first is within the largest job of the ideal.
            assert!(max <= mean + biggest + 1.0, "n = {n}: loads {loads:?}");
        }
        // More workers never take longer.
        let seconds: Vec<f64> = jobs.iter().map(|j| j.seconds(&Calibration::default(), "flex", "cpu").0).collect();
        assert!(makespan(&jobs, &seconds, 64) <= makespan(&jobs, &seconds, 16) && makespan(&jobs, &seconds, 16) <= makespan(&jobs, &seconds, 1));
    }

    #[test]
    fn costs_grow_with_epochs_penalties_and_network_size() {
        let (registry, paper) = (registry(), profile("paper"));
        let selected = [registry.find("E1").unwrap()];
        let jobs = jobs(&registry, &paper, &selected, "flex");
        let (vanilla, specreg) = (&jobs[0], jobs.iter().find(|j| j.primary().variant.beta == 5.0).unwrap());
        let training = |job: &Job| job.flops - suite_flops(job.primary());
        assert!(training(specreg) > 1.3 * training(vanilla), "the penalty and the refresh cost: {} vs {}", training(specreg), training(vanilla));
        // The AutoAttack evaluation is priced where the section asks for it, transfer included.
        let mut without = vanilla.primary().clone();
        without.settings.suite = None;
        assert_eq!(suite_flops(&without), 0.0);
        assert!(suite_flops(specreg.primary()) > suite_flops(vanilla.primary()) && suite_flops(vanilla.primary()) > 0.0);
        // An E1 epoch on the default calibration: 60,000 examples, about 2–3 s on the 2-core CPU.
        let epoch = epoch_flops(vanilla.primary()) / (Calibration::default().mlp_gflops * 1e9);
        assert!((2.0..3.5).contains(&epoch), "estimated E1 epoch {epoch} s");
        // More attacks cost more: Square's 1,000 queries per ε dwarf FGSM and PGD.
        let mut with_square = jobs[0].primary().clone();
        with_square.attacks.push(specreg_attacks::Attack::Square { queries: 1000, p_init: 0.8 });
        assert!(measurement_flops(&with_square) > 5.0 * measurement_flops(jobs[0].primary()));
    }

    #[test]
    fn a_plan_counts_every_run_and_prices_shared_runs_once() {
        let (registry, smoke) = (registry(), profile("smoke"));
        let selected: Vec<_> = registry.select(&[], &smoke).unwrap();
        let plan = summarize(&registry, &smoke, &selected, "flex", ("cpu", "a CPU"), &Calibration::default());
        assert_eq!((plan.total_runs, plan.total_jobs), (33, 32), "smoke: 33 planned runs (CIFAR included), E2-MLP/E3-MLP Vanilla shared");
        assert_eq!(plan.runs.iter().filter(|r| r.seconds == 0.0).count(), 1);
        let theory: f64 = plan.experiments.iter().filter(|e| e.id.starts_with('T')).map(|e| e.seconds).sum();
        assert!(theory > 0.0, "the theory experiments are priced too");
        assert!((plan.runs.iter().map(|r| r.seconds).sum::<f64>() + theory - plan.total_seconds).abs() < 1e-9 * plan.total_seconds);
        assert_eq!(plan.calibration.measured_jobs, 0);
        let text = plan.to_string();
        assert!(text.contains("| E1 | 2 |") && text.contains("on 16 workers") && text.contains("every job priced from FLOPs"), "{text}");
    }

    #[test]
    fn measured_epochs_price_only_jobs_with_the_same_network_batch_penalties_and_processor() {
        let (registry, paper) = (registry(), profile("paper"));
        let e1 = [registry.find("E1").unwrap()];
        let jobs = jobs(&registry, &paper, &e1, "flex");
        let vanilla = jobs[0].primary();
        let key = |processor: &str| speed_key(&vanilla.identity("flex"), processor);
        let mut calibration = Calibration::default();
        calibration.epochs.insert(key("this-cpu"), 2.0);
        let (seconds, measured) = jobs[0].seconds(&calibration, "flex", "this-cpu");
        let (unmeasured, _) = jobs[0].seconds(&Calibration::default(), "flex", "this-cpu");
        let training = epoch_flops(vanilla) * 50.0 / (calibration.mlp_gflops * 1e9);
        assert!(measured && (seconds - (unmeasured - training + 2.0 * 50.0)).abs() < 1e-9 * seconds, "{seconds}");
        // The other Vanilla seeds are measured too; another processor, another backend, or a SpecReg
        // job is not.
        assert!(jobs.iter().all(|j| j.seconds(&calibration, "flex", "this-cpu").1 == (j.primary().variant.beta == 0.0)));
        assert!(!jobs[0].seconds(&calibration, "flex", "other-cpu").1);
        assert!(!jobs[0].seconds(&calibration, "tch", "this-cpu").1);
        // A different seed, learning rate or β is the same speed; a different batch is not.
        let mut other = vanilla.clone();
        other.train.seed = 7;
        other.train.learning_rate = 0.5;
        assert_eq!(speed_key(&other.identity("flex"), "this-cpu"), key("this-cpu"));
        other.train.batch_size = 100;
        assert_ne!(speed_key(&other.identity("flex"), "this-cpu"), key("this-cpu"));
    }

    #[test]
    fn a_calibration_file_is_read_or_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.json");
        let missing = Calibration::from_bench(&path).unwrap_err().to_string();
        assert!(missing.contains("bench.json"), "{missing}");
        std::fs::write(&path, "not json").unwrap();
        assert!(Calibration::from_bench(&path).unwrap_err().to_string().contains("not JSON"));
        std::fs::write(&path, r#"{"rows": [{"name": "E1 step, batch 3500", "ours_s": 0.294}, {"name": "CNN step, batch 1000", "ours_s": 0.366}]}"#).unwrap();
        let c = Calibration::from_bench(&path).unwrap();
        assert!((c.mlp_gflops - Calibration::default().mlp_gflops / 2.0).abs() < 2.0, "{c:?}");
        assert!(c.source.contains("bench.json"));
    }

    #[test]
    fn shards_parse_and_come_from_slurm() {
        assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/4", "5/4", "2", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let env = |pairs: &'static [(&'static str, &'static str)]| move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        assert_eq!(
            Shard::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "4")])),
            Ok(Some(Shard { index: 3, count: 4 }))
        );
        assert_eq!(Shard::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "7")])), Ok(None));
        assert!(Shard::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "9"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "4")])).is_err());
    }
}
