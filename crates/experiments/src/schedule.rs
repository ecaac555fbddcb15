//! Scheduling a profile's runs: what they cost, and how to share them among workers.
//!
//! A [`Job`] is one computation: the planned runs of all experiments that share an identity (E2's and
//! E3's Vanilla are one job with two homes), trained once. Its cost is estimated from a FLOP count of
//! everything the run does (training steps with penalties, eigenvector refreshes, evaluation, the final
//! spectra and attacks) divided by a throughput per network family (MLP or CNN), calibrated, in order
//! of preference, from epoch times already measured on this backend under the output directory, from
//! a `cargo xtask bench train --json` file, or from defaults measured on the project's 2-core CPU.
//!
//! Slices for `--shard K/N` come from the FLOP counts alone (longest job first into the least loaded
//! slice), so every worker computes the same slices whatever it has measured.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};
use specreg_models::ModelConfig;

use crate::catalog::ExperimentSpec;
use crate::plan::{PlannedRun, experiment_runs};
use crate::profile::Profile;
use crate::store::{ExperimentDir, RunRows};

/// Effective throughput per network family, GFLOP/s (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Calibration {
    /// Fully connected networks.
    pub mlp_gflops: f64,
    /// Convolutional networks.
    pub cnn_gflops: f64,
    /// Where the figures come from.
    pub source: &'static str,
}

impl Default for Calibration {
    /// Measured with `cargo xtask bench train` on the project's 2-core CPU (flex): the E1 step (3500
    /// examples) in 0.147 s and the MNIST CNN step (1000 examples) in 0.183 s.
    fn default() -> Self {
        Calibration { mlp_gflops: 227.0, cnn_gflops: 47.8, source: "defaults (2-core CPU, flex)" }
    }
}

impl Calibration {
    fn gflops(&self, model: &ModelConfig) -> f64 {
        match model {
            ModelConfig::Mlp(_) => self.mlp_gflops,
            ModelConfig::Cnn(_) => self.cnn_gflops,
        }
    }

    /// From a `bench train --json` file: its E1 and CNN step rows.
    pub fn from_bench(path: &Path) -> Option<Calibration> {
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
        let row = |prefix: &str| json["rows"].as_array()?.iter().find(|r| r["name"].as_str().is_some_and(|n| n.starts_with(prefix)))?["ours_s"].as_f64();
        let (e1, cnn) = (row("E1 step, batch")?, row("CNN step")?);
        let e1_flops = 3500.0 * training_macs(&e1_config()) * 2.0;
        let cnn_flops = 1000.0 * training_macs(&ModelConfig::Cnn(specreg_models::CnnConfig::mnist())) * 2.0;
        Some(Calibration { mlp_gflops: e1_flops / e1 / 1e9, cnn_gflops: cnn_flops / cnn / 1e9, source: "benchmark file" })
    }

    /// From the epoch times of finished runs under `out` trained on `backend` (the median per family);
    /// `None` for a family without any.
    pub fn from_results(out: &Path, backend: &str, profile: &Profile) -> Option<Calibration> {
        let mut ratios: BTreeMap<bool, Vec<f64>> = BTreeMap::new();
        for spec in crate::catalog::EXPERIMENTS {
            let Some(settings) = crate::catalog::training_settings(spec, profile) else { continue };
            for run in experiment_runs(spec, settings) {
                let Ok(rows) = RunRows::read(&ExperimentDir::new(out, run.experiment).run_file(run.dataset, &run.name)) else { continue };
                if rows.config.get("backend").and_then(|b| b.as_str()) != Some(backend) {
                    continue;
                }
                let mut seconds: Vec<f64> = rows.training.iter().map(|r| r.seconds).collect();
                if seconds.is_empty() {
                    continue;
                }
                seconds.sort_by(f64::total_cmp);
                ratios.entry(matches!(run.model, ModelConfig::Cnn(_))).or_default().push(epoch_flops(&run) / seconds[seconds.len() / 2] / 1e9);
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let default = Calibration::default();
        let mlp = ratios.get_mut(&false).map(median);
        let cnn = ratios.get_mut(&true).map(median);
        (mlp.is_some() || cnn.is_some()).then(|| Calibration {
            // A family not yet measured keeps its default, scaled as the measured one is.
            mlp_gflops: mlp.unwrap_or_else(|| cnn.unwrap_or(default.cnn_gflops) * default.mlp_gflops / default.cnn_gflops),
            cnn_gflops: cnn.unwrap_or_else(|| mlp.unwrap_or(default.mlp_gflops) * default.cnn_gflops / default.mlp_gflops),
            source: "epoch times measured on this backend",
        })
    }
}

fn e1_config() -> ModelConfig {
    ModelConfig::Mlp(specreg_models::MlpConfig::new(784, vec![2000], 10).with_batch_norm(true))
}

/// Multiply-accumulates of one forward pass of one example.
fn forward_macs(model: &ModelConfig) -> f64 {
    match model {
        ModelConfig::Mlp(c) => {
            let mut widths = vec![c.input];
            widths.extend(&c.hidden);
            widths.push(c.classes);
            widths.windows(2).map(|w| (w[0] * w[1]) as f64).sum()
        }
        ModelConfig::Cnn(c) => {
            let [mut channels, mut h, mut w] = c.input;
            let mut macs = 0.0;
            for &out in &c.conv_channels {
                macs += (out * (h - 2) * (w - 2) * channels * 9) as f64;
                (channels, h, w) = (out, (h - 2) / 2, (w - 2) / 2);
            }
            let mut widths = vec![channels * h * w];
            widths.extend(&c.fully_connected);
            widths.push(c.classes);
            macs + widths.windows(2).map(|w| (w[0] * w[1]) as f64).sum::<f64>()
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
    let test = run.settings.test_examples.unwrap_or(10_000) as f64;
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
/// attack sweep.
fn measurement_flops(run: &PlannedRun) -> f64 {
    let forward = forward_macs(&run.model);
    let widths = run.model.hidden_widths().unwrap_or_default();
    let test = run.settings.test_examples.unwrap_or(10_000) as f64;
    let mut passes = test;
    if run.settings.train_spectra {
        passes += run.settings.train_examples(run.dataset) as f64;
    }
    let spectra: f64 = widths.iter().map(|&n| passes * (n * n) as f64 / 2.0 + 4.0 / 6.0 * (n as f64).powi(3)).sum::<f64>() + passes * forward;
    let epsilons = run.settings.epsilons(run.dataset).len() as f64;
    let attacked = run.settings.attack_examples as f64;
    // FGSM and PGD at every ε plus the masking probe; a gradient step is a forward and a backward pass.
    let attacks = attacked * (epsilons * (2.0 + run.settings.pgd_steps as f64) + run.settings.pgd_steps as f64) * 3.0 * forward;
    2.0 * (spectra + attacks)
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

    /// Estimated seconds under `calibration`.
    pub fn seconds(&self, calibration: &Calibration) -> f64 {
        self.flops / (calibration.gflops(&self.primary().model) * 1e9)
    }
}

/// Every run of `selected` experiments of `profile`, grouped into jobs by identity (in plan order).
pub fn jobs(profile: &Profile, selected: &[&'static ExperimentSpec], backend: &str) -> Vec<Job> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for spec in selected {
        let Some(settings) = crate::catalog::training_settings(spec, profile) else { continue };
        for run in experiment_runs(spec, settings) {
            let hash = identity_hash(&run.identity(backend));
            match index.get(&hash) {
                Some(&k) => jobs[k].runs.push(run),
                None => {
                    let flops = epoch_flops(&run) * run.settings.epochs as f64 + measurement_flops(&run);
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
    let digest = Sha256::digest(serde_json::to_string(identity).expect("identities serialise").as_bytes());
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
        let k = (0..n).min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b))).expect("n ≥ 1");
        load[k] += jobs[j].flops;
        out[k].push(j);
    }
    for slice in &mut out {
        slice.sort_unstable();
    }
    out
}

/// The estimated wall time of `jobs` on `workers` workers (the busiest slice), in seconds.
pub fn makespan(jobs: &[Job], workers: usize, calibration: &Calibration) -> f64 {
    slices(jobs, workers).iter().map(|s| s.iter().map(|&j| jobs[j].seconds(calibration)).sum::<f64>()).fold(0.0, f64::max)
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
        let (index, count): (usize, usize) = (k.trim().parse().map_err(|_| format!("--shard {text:?}: K is not a number"))?, n.trim().parse().map_err(|_| format!("--shard {text:?}: N is not a number"))?);
        if count == 0 || index == 0 || index > count {
            return Err(format!("--shard {text:?}: needs 1 ≤ K ≤ N"));
        }
        Ok(Shard { index, count })
    }

    /// From `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_MIN` and `SLURM_ARRAY_TASK_COUNT` (looked up with
    /// `var`), when all three are set.
    pub fn from_slurm(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, String> {
        let (Some(id), Some(min), Some(count)) = (var("SLURM_ARRAY_TASK_ID"), var("SLURM_ARRAY_TASK_MIN"), var("SLURM_ARRAY_TASK_COUNT")) else { return Ok(None) };
        let number = |name: &str, v: &str| v.trim().parse::<usize>().map_err(|_| format!("{name}={v:?} is not a number"));
        let (id, min, count) = (number("SLURM_ARRAY_TASK_ID", &id)?, number("SLURM_ARRAY_TASK_MIN", &min)?, number("SLURM_ARRAY_TASK_COUNT", &count)?);
        if id < min || id - min >= count {
            return Err(format!("SLURM_ARRAY_TASK_ID {id} is outside the array {min}..{}", min + count));
        }
        Ok(Some(Shard { index: id - min + 1, count }))
    }
}

/// What a profile's runs will take: per experiment and in total, on 1 to many workers.
#[derive(Debug, Clone, Serialize)]
pub struct PlanSummary {
    /// The profile's name.
    pub profile: String,
    /// The backend the estimate is for.
    pub backend: String,
    /// The throughputs used.
    pub calibration: Calibration,
    /// Per experiment.
    pub experiments: Vec<ExperimentPlan>,
    /// Every run: key, homes and estimated seconds.
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

/// One experiment's part of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct ExperimentPlan {
    /// Its id.
    pub id: &'static str,
    /// Runs planned.
    pub runs: usize,
    /// Epochs × training examples over its runs.
    pub example_epochs: u64,
    /// Estimated seconds of the runs it trains (shared runs count where they train).
    pub seconds: f64,
}

/// One run of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct RunPlan {
    /// Its key.
    pub key: specreg_report::RunKey,
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
}

/// The plan of `selected` experiments of `profile` on `backend`, with costs calibrated as in the
/// module doc (measured epoch times under `out`, else `bench`, else defaults).
pub fn summarize(profile: &Profile, selected: &[&'static ExperimentSpec], backend: &str, out: &Path, bench: Option<&Path>) -> PlanSummary {
    let calibration = Calibration::from_results(out, backend, profile).or_else(|| bench.and_then(Calibration::from_bench)).unwrap_or_default();
    let jobs = jobs(profile, selected, backend);
    let mut experiments: Vec<ExperimentPlan> = Vec::new();
    let mut runs = Vec::new();
    for job in &jobs {
        for (k, run) in job.runs.iter().enumerate() {
            let seconds = if k == 0 { job.seconds(&calibration) } else { 0.0 };
            let entry = match experiments.iter_mut().find(|e| e.id == run.experiment) {
                Some(e) => e,
                None => {
                    experiments.push(ExperimentPlan { id: run.experiment, runs: 0, example_epochs: 0, seconds: 0.0 });
                    experiments.last_mut().expect("just pushed")
                }
            };
            entry.runs += 1;
            entry.example_epochs += run.example_epochs();
            entry.seconds += seconds;
            runs.push(RunPlan { key: run.key.clone(), label: run.label(), job: job.hash.clone(), epochs: run.settings.epochs, examples: run.settings.train_examples(run.dataset), seconds });
        }
    }
    let position = |id: &str| crate::catalog::EXPERIMENTS.iter().position(|e| e.id == id);
    experiments.sort_by_key(|e| position(e.id));
    let wall_seconds = [1, 16, 64].iter().map(|&w| (w, makespan(&jobs, w, &calibration))).collect();
    PlanSummary {
        profile: profile.name.clone(),
        backend: backend.to_string(),
        calibration,
        total_runs: runs.len(),
        total_jobs: jobs.len(),
        total_seconds: jobs.iter().map(|j| j.seconds(&calibration)).sum(),
        experiments,
        runs,
        wall_seconds,
    }
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
        writeln!(f, "plan of profile `{}` on {} (throughput: MLP {:.0}, CNN {:.0} GFLOP/s, from {})", self.profile, self.backend, self.calibration.mlp_gflops, self.calibration.cnn_gflops, self.calibration.source)?;
        writeln!(f, "| experiment | runs | example-epochs | estimated time |\n|---|---|---|---|")?;
        for e in &self.experiments {
            writeln!(f, "| {} | {} | {:.2e} | {} |", e.id, e.runs, e.example_epochs as f64, duration(e.seconds))?;
        }
        writeln!(
            f,
            "| total | {} ({} trained; identical runs once) | | {} of compute |",
            self.total_runs,
            self.total_jobs,
            duration(self.total_seconds)
        )?;
        let walls: Vec<String> = self.wall_seconds.iter().map(|(w, s)| format!("{} on {w} worker{}", duration(*s), if *w == 1 { "" } else { "s" })).collect();
        writeln!(f, "Estimated wall time: {} (`--shard K/N`, or a Slurm array: see cluster/slurm/).", walls.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smoke() -> Profile {
        Profile::load("smoke").unwrap()
    }

    #[test]
    fn identical_runs_are_one_job_with_two_homes() {
        let selected: Vec<_> = crate::catalog::EXPERIMENTS.iter().collect();
        let jobs = jobs(&smoke(), &selected, "flex");
        let shared: Vec<&Job> = jobs.iter().filter(|j| j.runs.len() > 1).collect();
        assert_eq!(shared.len(), 1, "E2-MLP's and E3-MLP's Vanilla: {:?}", shared.iter().map(|j| j.runs.iter().map(PlannedRun::label).collect::<Vec<_>>()).collect::<Vec<_>>());
        assert_eq!(shared[0].runs.iter().map(|r| r.experiment).collect::<Vec<_>>(), ["E2-MLP", "E3-MLP"]);
        let total: usize = jobs.iter().map(|j| j.runs.len()).sum();
        assert_eq!(total, jobs.len() + 1);
        // Another backend is another computation.
        assert_ne!(identity_hash(&jobs[0].primary().identity("flex")), identity_hash(&jobs[0].primary().identity("vulkan")));
    }

    #[test]
    fn s4_shares_e1s_vanilla_and_specreg_runs_where_its_section_equals_e1s() {
        let selected: Vec<_> = crate::catalog::EXPERIMENTS.iter().collect();
        for name in ["quick", "paper"] {
            let jobs = jobs(&Profile::load(name).unwrap(), &selected, "flex");
            let shared: Vec<Vec<String>> = jobs.iter().filter(|j| j.runs.iter().any(|r| r.experiment == "S4") && j.runs.len() > 1).map(|j| j.runs.iter().map(PlannedRun::label).collect()).collect();
            let seeds = Profile::load(name).unwrap().s4.unwrap().seeds.len();
            assert_eq!(shared.len(), 2 * seeds, "{name}: {shared:?}");
            assert!(shared.iter().all(|homes| homes[0].starts_with("E1/") && homes[1].starts_with("S4/")), "{name}: {shared:?}");
        }
    }

    #[test]
    fn slices_cover_every_job_once_are_balanced_and_deterministic() {
        let selected: Vec<_> = crate::catalog::EXPERIMENTS.iter().collect();
        let jobs = jobs(&Profile::load("paper").unwrap(), &selected, "flex");
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
        let c = Calibration::default();
        assert!(makespan(&jobs, 64, &c) <= makespan(&jobs, 16, &c) && makespan(&jobs, 16, &c) <= makespan(&jobs, 1, &c));
    }

    #[test]
    fn costs_grow_with_epochs_penalties_and_network_size() {
        let selected = [crate::catalog::find("E1").unwrap()];
        let jobs = jobs(&Profile::load("paper").unwrap(), &selected, "flex");
        let (vanilla, specreg) = (&jobs[0], jobs.iter().find(|j| j.primary().variant.beta == 5.0).unwrap());
        assert!(specreg.flops > 1.3 * vanilla.flops, "the penalty and the refresh cost: {} vs {}", specreg.flops, vanilla.flops);
        // An E1 epoch on the default calibration: 60,000 examples, about 2–3 s on the 2-core CPU.
        let epoch = epoch_flops(vanilla.primary()) / (Calibration::default().mlp_gflops * 1e9);
        assert!((2.0..3.5).contains(&epoch), "estimated E1 epoch {epoch} s");
    }

    #[test]
    fn a_plan_counts_every_run_and_prices_shared_runs_once() {
        let selected: Vec<_> = crate::catalog::EXPERIMENTS.iter().collect();
        let dir = tempfile::tempdir().unwrap();
        let plan = summarize(&smoke(), &selected, "flex", dir.path(), None);
        assert_eq!((plan.total_runs, plan.total_jobs), (33, 32), "smoke: 33 planned runs (CIFAR included), E2-MLP/E3-MLP Vanilla shared");
        assert_eq!(plan.runs.iter().filter(|r| r.seconds == 0.0).count(), 1);
        assert!((plan.runs.iter().map(|r| r.seconds).sum::<f64>() - plan.total_seconds).abs() < 1e-9 * plan.total_seconds);
        assert_eq!(plan.calibration.source, Calibration::default().source);
        let text = plan.to_string();
        assert!(text.contains("| E1 | 2 |") && text.contains("on 16 workers"), "{text}");
    }

    #[test]
    fn shards_parse_and_come_from_slurm() {
        assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/4", "5/4", "2", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let env = |pairs: &'static [(&'static str, &'static str)]| move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        assert_eq!(Shard::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "4")])), Ok(Some(Shard { index: 3, count: 4 })));
        assert_eq!(Shard::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "7")])), Ok(None));
        assert!(Shard::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "9"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "4")])).is_err());
    }
}
