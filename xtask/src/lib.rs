//! `cargo xtask`: the project's automation, as a Rust program (see ARCHITECTURE.md). A library too,
//! so the workspace's integration tests (`tests/`) can run its commands in-process with [`run`].
//!
//! Commands:
//! - `data verify` / `data fetch`: check and obtain datasets.
//! - `reproduce`: run the experiments of docs/protocol.md into `results/` (tables, figures, SUMMARY.md).
//! - `figures`: redraw every figure from the tables, without recomputing.
//! - `compare`: the tables of two results directories, cell by cell.
//! - `spectrum`: the spectrum of anyone's data matrix (`specreg-analyze`).
//! - `setup-libtorch`: the libtorch backend's one set-up step.
//! - `bench spectrum` / `bench attacks` / `bench train`: speed figures.

use clap::{Parser, Subcommand};

mod allocator;
mod backend;
mod bench;
mod data;
mod libtorch;
mod reproduce;
mod spectrum;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "specreg project automation", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check and obtain datasets.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Run the paper's experiments into results/ (Parquet tables, PNG figures, SUMMARY.md); resumable.
    Reproduce(reproduce::ReproduceArgs),
    /// Redraw every figure and SUMMARY.md from the tables of a results directory.
    Figures(reproduce::FiguresArgs),
    /// Print speed figures (time, GFLOP/s, ratios to reference points).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Compare the tables of two results directories cell by cell (non-zero exit when they differ).
    Compare(reproduce::CompareArgs),
    /// The covariance spectrum, power-law fit and participation ratio of a data matrix (.npy, Parquet, CSV).
    Spectrum(spectrum::SpectrumArgs),
    /// Make a Python venv with PyTorch and link its libtorch as .libtorch, for `cargo xtask-tch`.
    SetupLibtorch(libtorch::SetupArgs),
}

pub use allocator::keep_freed_memory_mapped;

/// A request that cannot be carried out as asked (bad settings, flags or paths): exit status 2.
#[derive(Debug)]
pub struct Usage(anyhow::Error);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", message(&self.0))
    }
}

impl std::error::Error for Usage {}

/// Marks `error` as bad usage (exit status 2).
pub fn usage(error: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Usage(error.into()))
}

/// The exit status for an error: 2 for bad usage or settings (a [`Usage`] error, or an experiments
/// error about a profile or a name), 1 otherwise.
pub fn exit_status(error: &anyhow::Error) -> u8 {
    let usage = error.chain().any(|e| e.is::<Usage>() || e.downcast_ref::<specreg_experiments::Error>().is_some_and(specreg_experiments::Error::is_usage));
    if usage { 2 } else { 1 }
}

/// An error and its causes on one line, each cause once (an OS error is not repeated when its
/// wrapper already quotes it).
pub fn message(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for part in error.chain().map(|e| e.to_string()) {
        if !text.ends_with(&part) && !text.contains(&format!("{part}: ")) {
            if !text.is_empty() {
                text += ": ";
            }
            text += &part;
        }
    }
    text
}

/// Set by [`run_program`]: this process is the `xtask` program, so it may start more of itself
/// (`reproduce --workers`); an in-process caller of [`run`] (a test binary) may not.
static PROGRAM: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn is_program() -> bool {
    PROGRAM.load(std::sync::atomic::Ordering::Relaxed)
}

/// [`run`] as the `xtask` binary's `main` calls it.
pub fn run_program<I, T>(args: I) -> anyhow::Result<std::process::ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    PROGRAM.store(true, std::sync::atomic::Ordering::Relaxed);
    run(args)
}

/// Runs one `cargo xtask` command line (`args[0]` is the program name), as `main` does; in-process
/// callers (the workspace's integration tests) get the error instead of a printed message.
pub fn run<I, T>(args: I) -> anyhow::Result<std::process::ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    // The same bits whatever the core count (a laptop, a cluster node, one of `--workers`).
    specreg_spectrum::fix_factorisation_split();
    match cli.command {
        Command::Data(cmd) => data::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Reproduce(args) => reproduce::reproduce(args),
        Command::Figures(args) => reproduce::figures(args),
        Command::Compare(args) => reproduce::compare(args),
        Command::Spectrum(args) => spectrum::run(args),
        Command::SetupLibtorch(args) => libtorch::setup(args),
    }
}
