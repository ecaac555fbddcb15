//! `cargo xtask reproduce`, `figures` and `compare`: argument parsing around `specreg-experiments`.
//!
//! Exit status (README): 0 when everything asked for was produced; 1 when runs failed or diverged,
//! data was missing or collected runs were missing (and for errors while running); 2 for bad usage
//! or settings (a profile, a setting, an experiment name, a flag), refused before anything runs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, anyhow};
use clap::Args;
use specreg_experiments::{Calibration, DataSets, Environment, MIN_LOCK_TIMEOUT, Mode, OutDir, Processor, Profile, Registry, Shard};

use crate::backend::BackendArg;
use crate::data::DataDirArg;
use crate::usage;

/// The `--only` help, from the experiment table.
fn only_help() -> String {
    format!("Comma-separated experiment ids: {} [default: every experiment the profile configures]", Registry::standard().ids().join(", "))
}

#[derive(Args)]
pub struct ReproduceArgs {
    #[arg(long, value_delimiter = ',', help = only_help())]
    only: Vec<String>,
    /// smoke, quick, quick-s4 or paper (profiles/NAME.json), or the path of a profile file.
    #[arg(long, default_value = "paper")]
    profile: String,
    #[command(flatten)]
    data: DataDirArg,
    /// Output directory.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Use datasets whose files fail their SHA-256 checksums (modified or synthetic data); the manifest
    /// records every file's check.
    #[arg(long)]
    allow_unverified: bool,
    #[command(flatten)]
    backend: BackendArg,
    /// Print every run the profile implies with its estimated cost, and the wall time on 1, 16 and 64
    /// workers; train nothing.
    #[arg(long, conflicts_with_all = ["shard", "collect"])]
    plan: bool,
    /// With --plan: also write the plan as JSON here.
    #[arg(long, requires = "plan")]
    json: Option<PathBuf>,
    /// A `cargo xtask bench train --json` file: throughputs for the jobs this machine has not measured
    /// yet (runs finished under --out on this backend and processor are always used first).
    #[arg(long)]
    calibration: Option<PathBuf>,
    /// Run only slice K of N (1-based) of the runs, cost-balanced: run files, checkpoints and models,
    /// no tables. Default from SLURM_ARRAY_TASK_ID/_MIN/_COUNT when set.
    #[arg(long, value_name = "K/N", conflicts_with = "collect")]
    shard: Option<String>,
    /// Build tables, figures, manifests and SUMMARY.md from the run files present; list the missing runs.
    #[arg(long)]
    collect: bool,
    /// Take over a run's lock when its holder has shown no heartbeat for this many seconds (at least
    /// 10; a holder on this host that has exited is taken over at once).
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(MIN_LOCK_TIMEOUT.as_secs()..))]
    lock_timeout: u64,
    /// Never download: a missing dataset's experiments do not run (exit status 1).
    #[arg(long)]
    offline: bool,
    /// Fetch missing datasets from a mirror laid out like a data directory (URL/<dataset>/<file>)
    /// instead of the canonical mirrors.
    #[arg(long, value_name = "URL", env = "SPECREG_MIRROR")]
    mirror: Option<String>,
    /// Processes sharing the work on this machine, each with an equal share of the cores (runs are
    /// claimed with locks as on a cluster; this process then writes the tables), never more than runs
    /// left to train. Default on the CPU backend: 2 where there are at least 2 cores, since two runs
    /// on one core each train faster together than one after the other on both; 1 on a GPU.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256), conflicts_with_all = ["shard", "collect", "worker"])]
    workers: Option<u64>,
    /// Take runs and AutoAttack evaluations no other process holds, the longest first, until none is
    /// left; no tables (what the helpers that `--workers` starts run).
    #[arg(long, conflicts_with_all = ["shard", "collect"])]
    worker: bool,
}

/// Where helper `k` started by `--workers` writes what it prints:
/// `OUT/workers/<host>-<pid of the starting process>-<k>.log` (processes on other hosts, or other
/// `reproduce` processes here, may share the output directory).
fn worker_log(out: &std::path::Path, k: u64) -> PathBuf {
    out.join("workers").join(format!("{}-{}-{k}.log", specreg_files::host_name(), std::process::id()))
}

/// The variable that tells a `--worker` process which process started it (`--workers`).
const STARTED_BY: &str = "SPECREG_WORKER_OF";

/// A helper stops when the process that started it does (Linux: the parent-death signal), so that a
/// stopped or killed `reproduce` leaves no process behind; its run resumes from its checkpoint on the
/// next `reproduce`. Returns false when that process has already gone.
fn stop_with_starter() -> bool {
    let Some(starter) = std::env::var(STARTED_BY).ok().and_then(|v| v.parse::<u32>().ok()) else { return true };
    #[cfg(target_os = "linux")]
    {
        const PR_SET_PDEATHSIG: std::os::raw::c_int = 1;
        const SIGTERM: std::os::raw::c_ulong = 15;
        unsafe extern "C" {
            fn prctl(option: std::os::raw::c_int, arg2: std::os::raw::c_ulong, ...) -> std::os::raw::c_int;
        }
        // SAFETY: PR_SET_PDEATHSIG takes one signal number and changes nothing else in this process.
        unsafe { prctl(PR_SET_PDEATHSIG, SIGTERM) };
    }
    // Started by a process that has gone before the signal was asked for: nothing would stop it.
    #[cfg(unix)]
    return std::os::unix::process::parent_id() == starter;
    #[cfg(not(unix))]
    {
        let _ = starter; // no parent id to compare with
        true
    }
}

/// The helper processes of `--workers`: the same command with `--worker`, `threads` rayon threads
/// each, printing into their logs.
fn start_helpers(args: &ReproduceArgs, workers: u64, threads: usize) -> Result<Vec<(u64, std::process::Child)>> {
    let exe = std::env::current_exe().map_err(|e| anyhow!("cannot find this program's path to start its workers: {e}"))?;
    let mut children = Vec::new();
    for k in 2..=workers {
        let log = worker_log(&args.out, k);
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
        }
        let file = std::fs::File::create(&log).map_err(|e| anyhow!("cannot create {}: {e}", log.display()))?;
        let mut command = std::process::Command::new(&exe);
        command.args(["reproduce", "--worker", "--offline", "--profile", &args.profile, "--backend", args.backend.backend.id()]);
        command.arg("--out").arg(&args.out).arg("--data-dir").arg(args.data.resolve());
        command.arg("--lock-timeout").arg(args.lock_timeout.to_string());
        if !args.only.is_empty() {
            command.arg("--only").arg(args.only.join(","));
        }
        if args.allow_unverified {
            command.arg("--allow-unverified");
        }
        if let Some(path) = &args.calibration {
            command.arg("--calibration").arg(path);
        }
        command
            .env("RAYON_NUM_THREADS", threads.to_string())
            .env(STARTED_BY, std::process::id().to_string())
            .stdin(std::process::Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        let child = command.spawn().map_err(|e| anyhow!("cannot start worker {k} ({}): {e}", exe.display()))?;
        println!("worker {k}: pid {}, printing into {}", child.id(), log.display());
        children.push((k, child));
    }
    Ok(children)
}

pub fn reproduce(args: ReproduceArgs) -> Result<ExitCode> {
    let registry = Registry::standard();
    let profile = registry.load_profile(&args.profile).map_err(usage)?;
    let selected = registry.select(&args.only, &profile).map_err(usage)?;
    let out = OutDir::new(&args.out);
    let processor = Processor::this_machine();
    let backend = args.backend.backend;
    let calibration = match &args.calibration {
        Some(path) => Calibration::from_bench(path).map_err(usage)?,
        None => Calibration::default(),
    }
    .with_measured(&out, backend.id(), &processor.speed_key());
    let plan = specreg_experiments::summarize(&registry, &profile, &selected, backend.id(), (&processor.speed_key(), &processor.describe()), &calibration);
    if args.plan {
        print!("{plan}");
        if let Some(path) = &args.json {
            plan.write(path)?;
            println!("written: {}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.worker && !stop_with_starter() {
        return Err(anyhow!("the reproduce process that started this worker has stopped"));
    }
    let mode = match (&args.shard, args.collect) {
        _ if args.worker => Mode::Worker,
        (Some(text), _) => Mode::Shard(Shard::parse(text).map_err(|e| usage(anyhow!(e)))?),
        (None, true) => Mode::Collect,
        (None, false) => match Shard::from_slurm(|name| std::env::var(name).ok()).map_err(|e| usage(anyhow!(e)))? {
            Some(shard) => {
                println!("shard {}/{} from the Slurm array's environment", shard.index, shard.count);
                Mode::Shard(shard)
            }
            None => Mode::All,
        },
    };
    if args.out.exists() && !args.out.is_dir() {
        return Err(usage(anyhow!("--out {} exists and is not a directory", args.out.display())));
    }
    // Workers share this machine's cores: this process takes its share before anything uses the pool.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let left = specreg_experiments::work_left(&registry, &profile, &selected, &out, backend.id(), &calibration, &processor.speed_key());
    let unfinished = if mode == Mode::All { left.jobs_left as u64 } else { 0 };
    let workers = match (mode, args.workers) {
        (Mode::All, Some(n)) if n > 1 && backend.id() != "flex" => {
            return Err(usage(anyhow!("--workers {n} shares the CPU's cores: it needs --backend flex (one process drives a GPU)")));
        }
        (Mode::All, Some(n)) if n > 1 && !crate::is_program() => {
            return Err(usage(anyhow!("--workers {n} starts processes of the `xtask` program: not from a library call")));
        }
        (Mode::All, Some(n)) => n,
        (Mode::All, None) if backend.id() == "flex" && cores >= 2 && crate::is_program() => 2,
        _ => 1,
    }
    // No more processes than runs left to train: an idle helper would only halve this one's cores.
    .min(unfinished.max(1));
    let threads = (cores / workers as usize).max(1);
    if workers > 1 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .map_err(|e| anyhow!("cannot size the thread pool to {threads} threads for {workers} workers: {e}"))?;
    }
    // A backend this build lacks, or a GPU that cannot start, is refused before any work; collecting
    // trains nothing and starts no device.
    let backend_started = backend.start(mode != Mode::Collect)?;
    let data_dir = args.data.resolve();
    if mode != Mode::Collect {
        print!("{plan}");
        if left.jobs_left < left.jobs {
            println!(
                "Under {} already: {} of {} jobs finished; left: about {} of compute.",
                args.out.display(),
                left.jobs - left.jobs_left,
                left.jobs,
                specreg_experiments::duration(left.seconds)
            );
        }
        print_roads(&registry, &profile, &args, &calibration, &plan)?;
        crate::data::ensure_datasets(&registry.needed_datasets(&profile, &selected), &data_dir, args.mirror.as_deref(), args.offline)?;
    }
    println!(
        "reproduce: profile {} ({}), output {}, data {}, backend {}",
        profile.name,
        profile.path.display(),
        args.out.display(),
        data_dir.display(),
        backend_started.description
    );
    let removed = specreg_files::remove_stale_temporaries(&args.out)?;
    if !removed.is_empty() {
        println!("removed {} temporary files left by processes that stopped", removed.len());
    }
    let env = Environment { out, backend: backend_started, lock_timeout: Duration::from_secs(args.lock_timeout), calibration, processor };
    let mut data = DataSets::new(&data_dir, args.allow_unverified);
    // With helpers, this process works as one of them first, then writes the tables as alone
    // (waiting for what the others still hold, taking over a run whose holder stopped).
    let mut helpers = if workers > 1 {
        let each = if threads == 1 { "1 thread".to_string() } else { format!("{threads} threads") };
        println!("{workers} workers of {each} each on {cores} cores: this process (pid {}) and", std::process::id());
        start_helpers(&args, workers, threads)?
    } else {
        Vec::new()
    };
    // The theory experiments are no one else's work: this process runs them first, while the helpers
    // start on the longest runs, so that they do not wait at the end with one core idle.
    let worked = if helpers.is_empty() {
        Ok(())
    } else {
        let theory: Vec<_> = selected.iter().copied().filter(|spec| !spec.is_training()).collect();
        specreg_experiments::reproduce(&registry, &profile, &theory, &env, &mut data, Mode::All)
            .and_then(|_| specreg_experiments::reproduce(&registry, &profile, &selected, &env, &mut data, Mode::Worker))
            .map(drop)
    };
    let report = match worked.and_then(|()| specreg_experiments::reproduce(&registry, &profile, &selected, &env, &mut data, mode)) {
        Ok(report) => report,
        Err(e) => {
            // This process stops: so do its helpers (their runs resume from checkpoints next time).
            for (_, child) in &mut helpers {
                let _ = child.kill();
                let _ = child.wait();
            }
            return Err(e.into());
        }
    };
    for (k, mut child) in helpers {
        let status = child.wait().map_err(|e| anyhow!("waiting for worker {k}: {e}"))?;
        if !status.success() {
            // Whatever it left was taken over above; what went wrong is in its log.
            eprintln!("worker {k} stopped with {status}: see {}", worker_log(&args.out, k).display());
        }
    }
    let shortfalls = report.shortfalls();
    for line in &shortfalls {
        eprintln!("not produced: {line}");
    }
    if !shortfalls.is_empty() {
        eprintln!("reproduce: exit status 1 (what was asked for was not all produced; see above)");
    }
    Ok(report.exit_code())
}

/// The faster roads a user can take instead of waiting.
fn print_roads(registry: &Registry, profile: &Profile, args: &ReproduceArgs, calibration: &Calibration, plan: &specreg_experiments::PlanSummary) -> Result<()> {
    let backend = args.backend.backend;
    let mut roads = Vec::new();
    if profile.name == "paper" {
        let quick = registry.load_profile("quick")?;
        let selected = registry.select(&[], &quick)?;
        let processor = Processor::this_machine();
        let estimate = specreg_experiments::summarize(registry, &quick, &selected, backend.id(), (&processor.speed_key(), &processor.describe()), calibration);
        roads.push(format!("`--profile quick` ({} here)", specreg_experiments::duration(estimate.total_seconds)));
    }
    if backend.id() == "flex" {
        roads.push("a GPU: `cargo xtask-gpu reproduce --backend vulkan` (about 30x faster per step on an H200)".into());
    }
    if plan.total_jobs > 1 {
        let sixteen = plan.wall_seconds.iter().find(|(w, _)| *w == 16).map_or(f64::NAN, |w| w.1);
        roads.push(format!(
            "a cluster: `--shard K/N` per worker, or the Slurm array in cluster/slurm/ ({} on 16 workers)",
            specreg_experiments::duration(sixteen)
        ));
    }
    if !roads.is_empty() {
        println!("Faster roads: {}.", roads.join("; "));
    }
    println!("Finished runs are kept: stop at any time and run the same command again to continue.");
    Ok(())
}

#[derive(Args)]
pub struct FiguresArgs {
    /// Results directory written by `reproduce`.
    #[arg(long, default_value = "results")]
    results: PathBuf,
}

/// Redraws every figure (and SUMMARY.md) from the tables, without recomputing anything.
pub fn figures(args: FiguresArgs) -> Result<ExitCode> {
    if specreg_experiments::redraw(&Registry::standard(), &OutDir::new(&args.results))?.is_empty() {
        return Err(usage(anyhow!("no finished experiment under {}; run `cargo xtask reproduce` first", args.results.display())));
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct CompareArgs {
    /// A results directory.
    left: PathBuf,
    /// Another results directory.
    right: PathBuf,
    /// Columns to leave out (wall times differ between any two runs).
    #[arg(long, value_delimiter = ',', default_value = "seconds")]
    ignore: Vec<String>,
    /// Largest absolute difference allowed between float cells.
    #[arg(long, default_value_t = 0.0)]
    tolerance: f64,
    /// Largest distance allowed between float cells in units in the last place.
    #[arg(long, default_value_t = 0)]
    ulps: u64,
}

/// Compares every table under two results directories; exit status 1 when they differ, 2 when
/// neither holds a table.
pub fn compare(args: CompareArgs) -> Result<ExitCode> {
    let ignore: Vec<&str> = args.ignore.iter().map(String::as_str).collect();
    let tolerance = specreg_report::Tolerance { absolute: args.tolerance, ulps: args.ulps };
    let comparison = specreg_report::compare_results(&args.left, &args.right, &ignore, tolerance)?;
    if comparison.tables.is_empty() && comparison.structural.is_empty() {
        return Err(usage(anyhow!("no tables (<experiment>/tables/*.parquet) under {} or {}: nothing to compare", args.left.display(), args.right.display())));
    }
    print!("{comparison}");
    Ok(if comparison.equal() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
