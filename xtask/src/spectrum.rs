//! `cargo xtask spectrum`: the covariance spectrum of a data matrix from a file (see `specreg-analyze`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use specreg_spectrum::RankRange;

#[derive(Args)]
pub struct SpectrumArgs {
    /// The data matrix: .npy (f32/f64, 2-D), .parquet (numeric columns) or .csv; rows are stimuli or
    /// examples, columns neurons or units.
    #[arg(long)]
    input: PathBuf,
    /// A second repeat of the same stimuli (same shape): the spectrum is then cross-validated.
    #[arg(long)]
    repeat: Option<PathBuf>,
    /// Ranks to fit, FIRST-LAST (1-based, inclusive) [default: 11–500, or to N/2].
    #[arg(long, value_name = "FIRST-LAST")]
    ranks: Option<String>,
    /// The stimulus dimension d: draws Stringer's smoothness threshold α_c = 1 + 2/d.
    #[arg(long)]
    input_dim: Option<usize>,
    /// Output directory (spectrum.parquet, fit.parquet, spectrum.png).
    #[arg(long, default_value = "spectrum")]
    out: PathBuf,
}

pub fn run(args: SpectrumArgs) -> Result<ExitCode> {
    let ranks = match &args.ranks {
        None => None,
        Some(text) => {
            let parsed = text.split_once('-').and_then(|(a, b)| Some((a.trim().parse::<usize>().ok()?, b.trim().parse::<usize>().ok()?)));
            match parsed {
                Some((first, last)) if first >= 1 && last > first => Some(RankRange::new(first, last)),
                _ => bail!("--ranks {text:?}: expected FIRST-LAST with 1 ≤ FIRST < LAST, for example 11-500"),
            }
        }
    };
    if args.input_dim == Some(0) {
        bail!("--input-dim must be ≥ 1");
    }
    let request = specreg_analyze::Request { input: args.input, repeat: args.repeat, ranks, input_dim: args.input_dim, out: args.out };
    let analysis = specreg_analyze::analyze(&request)?;
    println!("{analysis}");
    for file in &analysis.files {
        println!("written: {}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}
