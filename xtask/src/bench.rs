//! `cargo xtask bench …`: speed figures printed as numbers, never asserted in tests.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {}

pub fn run(cmd: BenchCommand) -> Result<ExitCode> {
    match cmd {}
}
