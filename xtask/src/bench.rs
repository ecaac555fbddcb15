//! `cargo xtask bench …`: speed figures printed as numbers (time, GFLOP/s, ratios to a reference
//! measured in the same invocation), never asserted in tests. The benchmarks are `specreg-bench`'s.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use crate::backend::BackendArg;
use crate::data::DataDirArg;

/// Where a benchmark runs and what it keeps: the data, our backend, a JSON copy of its rows.
#[derive(clap::Args)]
pub struct Where {
    #[command(flatten)]
    data: DataDirArg,
    #[command(flatten)]
    backend: BackendArg,
    /// Also write the rows (and any accuracies) as JSON here, under the same header.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// PGD-40 at one ε on MNIST test images against the E1 network (784-2000-10, tanh, BatchNorm),
    /// against PyTorch's in the same invocation when a Python with torch is found.
    Attacks {
        /// Test images attacked.
        #[arg(long, default_value_t = 10_000)]
        images: usize,
        #[arg(long, default_value_t = 1_000)]
        batch_size: usize,
        #[command(flatten)]
        on: Where,
    },
    /// APGD-CE and AutoAttack's ensemble (APGD-CE, APGD-T, FAB-T, Square) on trained MLPs written by
    /// `reproduce` (`OUT/E1/models/*.safetensors`), against torchattacks' in the same invocation:
    /// times and the robust accuracy each side reached.
    Autoattack {
        /// The models (safetensors files written by specreg).
        #[arg(long = "model", required = true)]
        models: Vec<PathBuf>,
        /// Test images attacked.
        #[arg(long, default_value_t = 500)]
        images: usize,
        #[arg(long, default_value_t = 500)]
        batch_size: usize,
        /// L∞ radii, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "0.05")]
        epsilon: Vec<f32>,
        /// APGD and FAB iterations (AutoAttack standard: 100).
        #[arg(long, default_value_t = 100)]
        iterations: usize,
        /// APGD-T and FAB-T target classes (standard: 9).
        #[arg(long, default_value_t = 9)]
        targets: usize,
        /// Square Attack queries (standard: 5,000).
        #[arg(long, default_value_t = 5000)]
        queries: usize,
        #[command(flatten)]
        on: Where,
    },
    /// Training steps (E1 with and without the spectral penalty, the MNIST CNN) against PyTorch's in
    /// the same invocation (when a Python with torch is found), and the E1 epoch time on full MNIST.
    Train {
        /// Skip the full-MNIST epochs (steps only).
        #[arg(long)]
        steps_only: bool,
        /// Timed steps per side.
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        #[command(flatten)]
        on: Where,
    },
    /// Covariance of ROWS × COLS f32 activations and eigendecomposition of the COLS × COLS result.
    Spectrum {
        #[arg(long, default_value_t = 60_000)]
        rows: usize,
        #[arg(long, default_value_t = 2_000)]
        cols: usize,
    },
}

pub fn run(cmd: BenchCommand) -> Result<ExitCode> {
    match cmd {
        BenchCommand::Spectrum { rows, cols } => specreg_bench::spectrum(rows, cols)?,
        BenchCommand::Attacks { images, batch_size, on } => {
            specreg_bench::pgd(&on.backend.backend.target()?, images, batch_size, &on.data.resolve(), on.json.as_deref())?;
        }
        BenchCommand::Autoattack { models, images, batch_size, epsilon, iterations, targets, queries, on } => {
            let bench = specreg_bench::EnsembleBench { models, images, batch: batch_size.max(1), epsilons: epsilon, iterations, targets, queries };
            specreg_bench::ensemble(&on.backend.backend.target()?, &bench, &on.data.resolve(), on.json.as_deref())?;
        }
        BenchCommand::Train { steps_only, repeats, on } => {
            specreg_bench::training_steps(&on.backend.backend.target()?, repeats.max(1), !steps_only, &on.data.resolve(), on.json.as_deref())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
