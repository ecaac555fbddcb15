//! How benchmark figures are printed and stored: one row per measurement (ours, the reference's,
//! their ratio) under a header naming the processor, our backend and the reference's build, so that
//! figures from different machines are never mixed.

use std::path::Path;

use serde::Serialize;
use specreg_experiments::Processor;

use crate::error::Result;

/// One line of a benchmark: our time, the reference's, their ratio.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What was measured.
    pub name: String,
    /// Our seconds.
    pub ours_s: f64,
    /// The reference's seconds (`None`: not measured).
    pub reference_s: Option<f64>,
    /// ours / reference.
    pub ratio: Option<f64>,
}

impl Row {
    /// A row; the ratio is computed.
    pub fn new(name: impl Into<String>, ours_s: f64, reference_s: Option<f64>) -> Row {
        Row { name: name.into(), ours_s, reference_s, ratio: reference_s.map(|r| ours_s / r) }
    }
}

/// Median of some timings (NaN for none).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() { f64::NAN } else { values[values.len() / 2] }
}

/// The header every benchmark prints first: the machine, our backend, the reference.
pub fn header(what: &str, backend: &str, reference: Option<&str>) -> String {
    format!("{what}\n  processor: {}\n  ours:      {backend}\n  reference: {}", Processor::this_machine().describe(), reference.unwrap_or("none"))
}

/// Prints the rows as a table, and writes `{"processor", "backend", "reference", "rows"}` to `json`
/// when given.
pub fn report(backend: &str, reference: Option<&str>, rows: &[Row], json: Option<&Path>) -> Result<()> {
    println!("{:<48} {:>10} {:>10} {:>7}", "", "ours (s)", "ref. (s)", "ratio");
    for r in rows {
        let reference = r.reference_s.map_or("-".into(), |s| format!("{s:.4}"));
        let ratio = r.ratio.map_or("-".into(), |x| format!("{x:.2}"));
        println!("{:<48} {:>10.4} {:>10} {:>7}", r.name, r.ours_s, reference, ratio);
    }
    if let Some(path) = json {
        let body = serde_json::json!({ "processor": Processor::this_machine(), "backend": backend, "reference": reference, "rows": rows });
        specreg_files::write_file_atomically(path, serde_json::to_string_pretty(&body).unwrap_or_default())?;
        println!("written: {}", path.display());
    }
    Ok(())
}
