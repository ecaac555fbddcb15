//! `cargo xtask reproduce` and `cargo xtask figures`: argument parsing around `specreg-experiments`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use specreg_experiments::{DataSets, Environment, Profile};

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
}

pub fn reproduce(args: ReproduceArgs) -> Result<ExitCode> {
    let profile = Profile::load(&args.profile)?;
    let selected = specreg_experiments::select(&args.only)?;
    // A backend this build lacks, or a GPU that cannot start, is refused before any work.
    let backend = args.backend.backend.start()?;
    let data_dir = args.data.resolve();
    println!("reproduce: profile {} ({}), output {}, data {}, backend {}", profile.name, profile.description, args.out.display(), data_dir.display(), backend.description);
    let env = Environment { out: args.out, backend };
    specreg_experiments::reproduce(&profile, &selected, &env, &mut DataSets::new(&data_dir, args.allow_unverified))?;
    Ok(ExitCode::SUCCESS)
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
