//! `cargo xtask`: the project's automation, as a Rust program (see ARCHITECTURE.md).
//!
//! Commands:
//! - `data verify` / `data fetch`: check and obtain datasets.
//! - `bench spectrum`: speed figures of the spectrum crate.

use clap::{Parser, Subcommand};

mod bench;
mod data;

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
    /// Print speed figures (time, GFLOP/s, ratios to reference points).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(cmd) => data::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
