//! # specreg-report
//!
//! ```toml
//! [dependencies]
//! specreg-report = "0.1"
//!
//! # Numeric code is unusably slow unoptimised: optimise dependencies in dev and test builds too.
//! [profile.dev.package."*"]
//! opt-level = 3
//! ```
//!
//! Invariant: it knows rows and figures, not networks; every table reads back exactly what it writes.
//!
//! Results as files: Parquet tables with documented schemas ([`tables`]), written atomically, and PNG
//! figures ([`figure`]) drawn with an embedded DejaVu font, so no system fonts are needed. Figures are
//! drawn from tables alone, so re-plotting never retrains. Every row of a run's tables carries one
//! [`RunKey`] (experiment, variant, β, seed): the columns by which tables join.
//!
//! ```
//! use specreg_report::{RunKey, figure::{Panel, Series, draw_panels, variant_color}, tables::{self, FitRow}};
//!
//! let dir = tempfile::tempdir()?;
//! let key = RunKey::new("E1", "Vanilla", 0.0, 0);
//! let rows = vec![FitRow { key, layer: "hidden1".into(), alpha_hat: 1.7, r2: 0.99, rank_min: 11, rank_max: 500, alpha_low: 1.68, alpha_high: 1.72 }];
//! let path = dir.path().join("fits.parquet");
//! tables::write(&rows, &path)?;
//! assert_eq!(tables::read::<FitRow>(&path)?, rows);
//!
//! let spectrum: Vec<(f64, f64)> = (1..=100).map(|n| (n as f64, 1.0 / n as f64)).collect();
//! let panel = Panel::log_log("spectrum", "rank n", "λ_n / Σλ")
//!     .with(Series::line("1/n", variant_color(0), spectrum).dashed());
//! draw_panels(&dir.path().join("spectrum.png"), "An example", &[panel], 1)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod compare;
mod error;
pub mod figure;
mod key;
pub mod tables;

pub use compare::{CellDifference, Comparison, Tolerance, compare_results, compare_tables, ulp_distance};
pub use error::{ReportError, Result};
pub use key::{Keyed, RunKey, VariantKey, variant_label, variants_in};
pub use specreg_files::{write_atomically, write_file_atomically};
