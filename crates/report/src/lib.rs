//! # specreg-report
//!
//! Results as files: Parquet tables (polars) with documented schemas, written atomically, and PNG
//! figures (plotters, with an embedded font) drawn from those tables alone, so re-plotting never retrains.
//!
//! Status: not implemented yet. This crate reserves its place in the workspace layout.
