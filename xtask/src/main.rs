//! `cargo xtask`: the project's automation, as a Rust program (see ARCHITECTURE.md).
//!
//! Commands:
//! - `data verify` / `data fetch`: check and obtain datasets.
//! - `reproduce`: run the experiments of PROTOCOL.md into `results/` (tables, figures, SUMMARY.md).
//! - `figures`: redraw every figure from the tables, without recomputing.
//! - `bench spectrum` / `bench attacks`: speed figures.

use clap::{Parser, Subcommand};

mod bench;
mod data;
mod experiments;
mod profile;
mod reproduce;

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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(cmd) => data::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Reproduce(args) => reproduce::reproduce(args),
        Command::Figures(args) => reproduce::figures(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
