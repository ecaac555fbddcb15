//! # specreg-bench
//!
//! ```toml
//! [dependencies]
//! specreg-bench = "0.1"
//! burn = { version = "0.22.1", features = ["flex", "autodiff"] }  # the burn whose `Device` appears in the API
//! ```
//!
//! Invariant: our side and the reference run in one invocation on one machine, interleaved, and every
//! figure is printed under a header that names the processor, our backend and the reference's build.
//!
//! The speed figures of `cargo xtask bench …`: our training steps ([`training_steps`]), attacks
//! ([`pgd`]) and spectra ([`spectrum`]) beside PyTorch's (`bench/pytorch_steps.py`, started as a child
//! process through [`Reference`] when a Python with torch is found), printed as ours / reference /
//! ratio ([`Row`], [`report`]) and optionally written as JSON. Speed is never asserted by a test: a
//! figure holds for the processor it names.
//!
//! ```
//! use specreg_bench::{Row, header, median};
//!
//! let row = Row::new("E1 step, batch 3500", 0.5, Some(0.25));
//! assert_eq!(row.ratio, Some(2.0));
//! assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
//! assert!(header("a benchmark", "flex", None).contains("processor:"));
//! ```

#![warn(missing_docs)]

mod attacks;
mod error;
mod products;
mod reference;
mod report;
mod spectrum;
mod steps;

pub use attacks::{Agreement, EnsembleBench, ensemble, pgd};
pub use error::{BenchError, Result};
pub use reference::Reference;
pub use report::{Row, header, median, report};
pub use spectrum::spectrum;
pub use steps::training_steps;

/// Where our side runs: the device, its name, where covariances run, and the device the PyTorch
/// reference should use for a fair comparison (`cpu` or `cuda`).
#[derive(Debug, Clone)]
pub struct Target {
    /// The burn device.
    pub device: burn::prelude::Device,
    /// For headers and JSON (`burn 0.22 flex (pure-Rust CPU), f32`).
    pub description: String,
    /// Where work with a host and a device implementation runs.
    pub site: specreg_train::Site,
    /// `cpu` or `cuda`.
    pub torch_device: &'static str,
}
