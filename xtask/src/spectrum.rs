//! `cargo xtask spectrum`: the covariance spectrum of a data matrix from a file (see `specreg-analyze`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::Args;
use specreg_spectrum::{FitMethod, RankRange, Resampling};

use crate::usage;

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
    /// How α is fitted: lstsq (log-log least squares, the protocol's), stringer (weighted by 1/n, as
    /// Stringer et al. and reptrix) or mle (truncated power-law maximum likelihood, KS cutoff).
    #[arg(long, default_value = "lstsq")]
    method: String,
    /// A 95 % bootstrap interval over `ranks` or `examples` (recomputing the spectrum each time), or `none`.
    #[arg(long, default_value = "ranks")]
    interval: String,
    /// Resamples of the interval.
    #[arg(long, default_value_t = 1000)]
    resamples: usize,
    /// The stimulus dimension d: draws Stringer's smoothness threshold α_c = 1 + 2/d.
    #[arg(long)]
    input_dim: Option<usize>,
    /// Output directory (spectrum.parquet, fit.parquet, spectrum.png) [default: INPUT's name with
    /// `-spectrum`, beside it].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace the results of an earlier analysis in the output directory.
    #[arg(long)]
    force: bool,
}

pub fn run(args: SpectrumArgs) -> Result<ExitCode> {
    let ranks = match &args.ranks {
        None => None,
        Some(text) => {
            let parsed = text.split_once('-').and_then(|(a, b)| Some((a.trim().parse::<usize>().ok()?, b.trim().parse::<usize>().ok()?)));
            match parsed {
                Some((first, last)) if first >= 1 && last > first => Some(RankRange::new(first, last)),
                _ => return Err(usage(anyhow!("--ranks {text:?}: expected FIRST-LAST with 1 ≤ FIRST < LAST, for example 11-500"))),
            }
        }
    };
    if args.input_dim == Some(0) {
        return Err(usage(anyhow!("--input-dim must be ≥ 1")));
    }
    let method = FitMethod::from_name(&args.method).map_err(usage)?;
    let interval = match args.interval.as_str() {
        "ranks" => Some(Resampling::Ranks),
        "examples" => Some(Resampling::Examples),
        "none" => None,
        other => return Err(usage(anyhow!("--interval {other:?}: expected ranks, examples or none"))),
    };
    let out = args.out.unwrap_or_else(|| {
        let stem = args.input.file_stem().map_or_else(|| "data".into(), |s| s.to_string_lossy().into_owned());
        args.input.with_file_name(format!("{stem}-spectrum"))
    });
    let request = specreg_analyze::Request {
        input: args.input,
        repeat: args.repeat,
        ranks,
        input_dim: args.input_dim,
        out,
        method,
        interval,
        resamples: args.resamples,
        overwrite: args.force,
    };
    let analysis = specreg_analyze::analyze(&request)?;
    println!("{analysis}");
    for file in &analysis.files {
        println!("written: {}", file.display());
    }
    // The spectrum is written either way; without a fit, what was asked for was not all produced.
    Ok(if analysis.fit.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
