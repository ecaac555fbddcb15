//! `cargo xtask`: the project's automation, as a Rust program (see ARCHITECTURE.md). A library too,
//! so the workspace's integration tests (`tests/`) can run its commands in-process with [`run`].
//!
//! Commands:
//! - `data verify` / `data fetch`: check and obtain datasets.
//! - `reproduce`: run the experiments of PROTOCOL.md into `results/` (tables, figures, SUMMARY.md).
//! - `figures`: redraw every figure from the tables, without recomputing.
//! - `compare`: the tables of two results directories, cell by cell.
//! - `spectrum`: the spectrum of anyone's data matrix (`specreg-analyze`).
//! - `setup-libtorch`: the libtorch backend's one set-up step.
//! - `bench spectrum` / `bench attacks` / `bench train`: speed figures.

use clap::{Parser, Subcommand};

mod backend;
mod bench;
mod bench_train;
mod data;
mod libtorch;
mod reference;
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

/// Runs one `cargo xtask` command line (`args[0]` is the program name), as `main` does; in-process
/// callers (the workspace's integration tests) get the error instead of a printed message.
pub fn run<I, T>(args: I) -> anyhow::Result<std::process::ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
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
