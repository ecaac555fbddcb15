//! # specreg-analyze
//!
//! ```toml
//! [dependencies]
//! specreg-analyze = "0.1"
//!
//! # Numeric code is unusably slow unoptimised: optimise dependencies in dev and test builds too.
//! [profile.dev.package."*"]
//! opt-level = 3
//! ```
//!
//! Invariant: the numbers are `specreg-spectrum`'s; this crate only reads matrices and writes tables and
//! figures.
//!
//! The covariance spectrum of anyone's data, without writing Rust: a matrix of responses (rows =
//! stimuli or examples, columns = neurons or units) from a NumPy `.npy`, Parquet or CSV file in; its
//! eigenvalues, the power-law exponent α̂ with R², the participation ratio and, given two repeats of
//! the same stimuli, the cross-validated (stimulus-driven) spectrum of Stringer et al. (2019) out, as
//! `spectrum.parquet`, `fit.parquet` and a log-log `spectrum.png` with the fitted line, 1/n and
//! Stringer's smoothness threshold α_c = 1 + 2/d. `cargo xtask spectrum --input FILE` is its command.
//!
//! ```
//! use specreg_analyze::{Request, analyze, write_npy};
//! use specreg_spectrum::simulate;
//!
//! let dir = tempfile::tempdir()?;
//! // 3,000 responses of 200 units with a 1/n spectrum, in a random basis.
//! let responses = simulate::gaussian_responses(3_000, &simulate::power_law_variances(200, 1.0), 1);
//! write_npy(&dir.path().join("responses.npy"), &responses)?;
//! let request = Request { input_dim: Some(1), ..Request::new(dir.path().join("responses.npy"), dir.path().join("out")) };
//! let analysis = analyze(&request)?;
//! let fit = analysis.fit.as_ref().unwrap();
//! assert!((fit.alpha - 1.0).abs() < 0.1, "{analysis}");
//! let interval = fit.interval.unwrap(); // 95 %, 1,000 resamples of the fitted ranks
//! assert!(interval.low < fit.alpha && fit.alpha < interval.high);
//! assert!(dir.path().join("out/spectrum.png").is_file());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod analyze;
mod error;
mod read;

pub use analyze::{Analysis, OUTPUTS, Request, analyze, write_npy};
pub use error::{AnalyzeError, Result};
pub use read::read_matrix;
