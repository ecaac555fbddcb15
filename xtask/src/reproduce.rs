//! `cargo xtask reproduce`, `figures` and `compare`: argument parsing around `specreg-experiments`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use clap::Args;
use specreg_experiments::{DataSets, Environment, ExperimentStatus, Mode, Profile, Shard};

use crate::backend::BackendArg;
use crate::data::DataDirArg;

#[derive(Args)]
pub struct ReproduceArgs {
    /// Comma-separated experiment ids (E1, E2-MLP, E2-CNN, E3-MLP, E3-CNN, S1, S2, S3, T1, T2) [default: all]
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// smoke, quick or paper (profiles/NAME.json), or the path of a profile file.
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
    /// A `cargo xtask bench train --json` file to calibrate the plan's costs (epoch times already
    /// measured under --out on this backend take precedence).
    #[arg(long)]
    calibration: Option<PathBuf>,
    /// Run only slice K of N (1-based) of the runs, cost-balanced: run files, checkpoints and models,
    /// no tables. Default from SLURM_ARRAY_TASK_ID/_MIN/_COUNT when set.
    #[arg(long, value_name = "K/N", conflicts_with = "collect")]
    shard: Option<String>,
    /// Build tables, figures, manifests and SUMMARY.md from the run files present; list the missing runs.
    #[arg(long)]
    collect: bool,
    /// Take over a run's lock when its holder has shown no heartbeat for this many seconds (a holder
    /// on this host that has exited is taken over at once).
    #[arg(long, default_value_t = 600)]
    lock_timeout: u64,
    /// Never download: a missing dataset's experiments are skipped (with a warning).
    #[arg(long)]
    offline: bool,
    /// Fetch missing datasets from a mirror laid out like a data directory (URL/<dataset>/<file>)
    /// instead of the canonical mirrors.
    #[arg(long, value_name = "URL", env = "SPECREG_MIRROR")]
    mirror: Option<String>,
}

pub fn reproduce(args: ReproduceArgs) -> Result<ExitCode> {
    let profile = Profile::load(&args.profile)?;
    let selected = specreg_experiments::select(&args.only)?;
    if args.plan {
        let plan = specreg_experiments::summarize(&profile, &selected, args.backend.backend.id(), &args.out, args.calibration.as_deref());
        print!("{plan}");
        if let Some(path) = &args.json {
            specreg_report::write_file_atomically(path, serde_json::to_string_pretty(&plan)?)?;
            println!("written: {}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mode = match (&args.shard, args.collect) {
        (Some(text), _) => Mode::Shard(Shard::parse(text).map_err(|e| anyhow!(e))?),
        (None, true) => Mode::Collect,
        (None, false) => match Shard::from_slurm(|name| std::env::var(name).ok()).map_err(|e| anyhow!(e))? {
            Some(shard) => {
                println!("shard {}/{} from the Slurm array's environment", shard.index, shard.count);
                Mode::Shard(shard)
            }
            None => Mode::All,
        },
    };
    if args.out.exists() && !args.out.is_dir() {
        bail!("--out {} is not a directory", args.out.display());
    }
    // A backend this build lacks, or a GPU that cannot start, is refused before any work; collecting
    // trains nothing and starts no device.
    let backend = args.backend.backend.start(mode != Mode::Collect)?;
    let data_dir = args.data.resolve();
    if mode != Mode::Collect {
        print_plan(&profile, &selected, &args)?;
        let needed = specreg_experiments::needed_datasets(&profile, &selected);
        crate::data::ensure_datasets(&needed, &data_dir, args.mirror.as_deref(), args.offline)?;
    }
    println!("reproduce: profile {} ({}), output {}, data {}, backend {}", profile.name, profile.description, args.out.display(), data_dir.display(), backend.description);
    let removed = specreg_files::remove_stale_temporaries(&args.out)?;
    if !removed.is_empty() {
        println!("removed {} temporary files left by processes that stopped", removed.len());
    }
    let env = Environment { out: args.out, backend, lock_timeout: Duration::from_secs(args.lock_timeout), calibration: args.calibration };
    let statuses = specreg_experiments::reproduce(&profile, &selected, &env, &mut DataSets::new(&data_dir, args.allow_unverified), mode)?;
    // Nothing asked for could run: every training experiment lacked its data (and no theory experiment
    // was asked for on its own).
    let training: Vec<bool> = statuses
        .iter()
        .filter(|(id, _)| specreg_experiments::find_experiment(id).is_ok_and(|s| s.is_training()))
        .filter_map(|(_, status)| match status {
            ExperimentStatus::Written { ran, .. } => Some(*ran),
            _ => None,
        })
        .collect();
    if !training.is_empty() && !training.contains(&true) {
        bail!(
            "no training experiment could run: their datasets are missing from {} (see the warnings above; `cargo xtask data fetch mnist`, or --mirror/SPECREG_MIRROR)",
            data_dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The screen a user sees before days of work: what will run, how long it should take here, and the
/// faster roads.
fn print_plan(profile: &Profile, selected: &[&'static specreg_experiments::ExperimentSpec], args: &ReproduceArgs) -> Result<()> {
    let backend = args.backend.backend;
    let plan = specreg_experiments::summarize(profile, selected, backend.id(), &args.out, args.calibration.as_deref());
    print!("{plan}");
    let mut roads = Vec::new();
    if profile.name == "paper" {
        let quick = Profile::load("quick")?;
        let estimate = specreg_experiments::summarize(&quick, &specreg_experiments::EXPERIMENTS.iter().collect::<Vec<_>>(), backend.id(), &args.out, args.calibration.as_deref());
        roads.push(format!("`--profile quick` ({} here)", specreg_experiments::duration(estimate.total_seconds)));
    }
    if backend.id() == "flex" {
        roads.push("a GPU: `cargo xtask-gpu reproduce --backend vulkan` (about 30x faster per step on an H200)".into());
    }
    if plan.total_jobs > 1 {
        roads.push(format!("a cluster: `--shard K/N` per worker, or the Slurm array in cluster/slurm/ ({} on 16 workers)", specreg_experiments::duration(plan.wall_seconds.iter().find(|(w, _)| *w == 16).map_or(f64::NAN, |w| w.1))));
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
    if specreg_experiments::redraw(&args.results)?.is_empty() {
        bail!("no finished experiment under {}; run `cargo xtask reproduce` first", args.results.display());
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

/// Compares every table under two results directories; exit status 1 when they differ.
pub fn compare(args: CompareArgs) -> Result<ExitCode> {
    let ignore: Vec<&str> = args.ignore.iter().map(String::as_str).collect();
    let tolerance = specreg_report::Tolerance { absolute: args.tolerance, ulps: args.ulps };
    let comparison = specreg_report::compare_results(&args.left, &args.right, &ignore, tolerance)?;
    print!("{comparison}");
    Ok(if comparison.equal() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
