//! The PyTorch side of the benchmarks: `bench/pytorch_steps.py --serve` as a child process, asked for
//! one measurement at a time so that its runs interleave with ours in one invocation, on one machine.
//! A Python with `torch` is found as `$SPECREG_TORCH_PYTHON`, else `python3`; without one the
//! benchmarks print our side alone and say why.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// A running reference process.
pub struct Reference {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    /// "PyTorch 2.9.0 on CPU, 2 threads".
    pub description: String,
}

impl Reference {
    /// Starts the reference on `device` (`cpu` or `cuda`); `None` (with the reason printed) when no
    /// Python with torch is found.
    pub fn start(device: &str) -> Option<Reference> {
        match Self::try_start(device) {
            Ok(reference) => Some(reference),
            Err(e) => {
                println!(
                    "PyTorch reference: not available ({e:#}). To measure it in the same invocation: python3 -m venv V && V/bin/pip install torch, then SPECREG_TORCH_PYTHON=V/bin/python"
                );
                None
            }
        }
    }

    fn try_start(device: &str) -> Result<Reference> {
        let python = std::env::var("SPECREG_TORCH_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = specreg_experiments::workspace_root().join("bench/pytorch_steps.py");
        let mut child = Command::new(&python)
            .arg("-u")
            .arg(&script)
            .args(["--serve", "--device", device])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {python}"))?;
        let input = child.stdin.take().expect("piped");
        let mut output = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        output.read_line(&mut line)?;
        let ready: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => {
                let mut stderr = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
                }
                let _ = child.wait();
                let last = stderr.lines().last().unwrap_or("no output").to_string();
                bail!("{python} {} did not start: {last}", script.display());
            }
        };
        let description = ready["ready"].as_str().unwrap_or("PyTorch").to_string();
        Ok(Reference { child, input, output, description })
    }

    fn ask(&mut self, command: &str) -> Result<serde_json::Value> {
        writeln!(self.input, "{command}")?;
        let mut line = String::new();
        self.output.read_line(&mut line)?;
        let answer: serde_json::Value = serde_json::from_str(&line).with_context(|| format!("the reference answered {line:?} to {command:?}"))?;
        if let Some(error) = answer.get("error") {
            bail!("the reference failed on {command:?}: {error}");
        }
        Ok(answer)
    }

    /// Seconds of each of `count` more training steps of `name` (`e1`, `e1-specreg`, `cnn`, `cnn-tanh-first`).
    pub fn steps(&mut self, name: &str, count: usize) -> Result<Vec<f64>> {
        let answer = self.ask(&format!("step {name} {count}"))?;
        Ok(answer["seconds"].as_array().into_iter().flatten().filter_map(|v| v.as_f64()).collect())
    }

    /// Loads the first `images` MNIST test images from `mnist_dir` in batches of `batch`; returns the
    /// number of batches.
    pub fn pgd_load(&mut self, mnist_dir: &Path, images: usize, batch: usize) -> Result<usize> {
        let answer = self.ask(&format!("pgd-load {} {images} {batch}", mnist_dir.display()))?;
        Ok(answer["batches"].as_u64().unwrap_or(0) as usize)
    }

    /// Seconds of PGD-40 on batch `k`.
    pub fn pgd(&mut self, k: usize) -> Result<f64> {
        Ok(self.ask(&format!("pgd {k}"))?["seconds"].as_f64().unwrap_or(f64::NAN))
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = writeln!(self.input, "quit");
        let _ = self.child.wait();
    }
}

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
    pub fn new(name: impl Into<String>, ours_s: f64, reference_s: Option<f64>) -> Row {
        Row { name: name.into(), ours_s, reference_s, ratio: reference_s.map(|r| ours_s / r) }
    }
}

/// Median of some timings.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() { f64::NAN } else { values[values.len() / 2] }
}

/// Prints the rows as a table, and writes `{"backend", "reference", "rows"}` to `json` when given.
pub fn report(backend: &str, reference: Option<&str>, rows: &[Row], json: Option<&Path>) -> Result<()> {
    println!("{:<48} {:>10} {:>10} {:>7}", "", "ours (s)", "ref. (s)", "ratio");
    for r in rows {
        let reference = r.reference_s.map_or("-".into(), |s| format!("{s:.4}"));
        let ratio = r.ratio.map_or("-".into(), |x| format!("{x:.2}"));
        println!("{:<48} {:>10.4} {:>10} {:>7}", r.name, r.ours_s, reference, ratio);
    }
    if let Some(path) = json {
        let body = serde_json::json!({ "backend": backend, "reference": reference, "rows": rows });
        specreg_report::write_file_atomically(path, serde_json::to_string_pretty(&body)?)?;
        println!("written: {}", path.display());
    }
    Ok(())
}
