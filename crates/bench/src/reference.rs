//! The PyTorch side of the benchmarks: `bench/pytorch_steps.py --serve` as a child process, asked for
//! one measurement at a time so that its runs interleave with ours in one invocation, on one machine.
//! A Python with `torch` is found as `$SPECREG_TORCH_PYTHON`, else `python3`; without one the
//! benchmarks print our side alone and say why.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::error::{BenchError, Result};

/// A running reference process.
pub struct Reference {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    /// "PyTorch 2.9.0 (AVX2 kernels, MKL) on CPU, 2 threads".
    pub description: String,
}

fn failed(what: impl Into<String>) -> BenchError {
    BenchError::Reference(what.into())
}

impl Reference {
    /// Starts the reference on `device` (`cpu` or `cuda`); `None` (with the reason printed) when no
    /// Python with torch is found.
    pub fn start(device: &str) -> Option<Reference> {
        match Self::try_start(device) {
            Ok(reference) => Some(reference),
            Err(e) => {
                println!(
                    "PyTorch reference: not available ({e}). To measure it in the same invocation: python3 -m venv V && V/bin/pip install torch, then SPECREG_TORCH_PYTHON=V/bin/python"
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
            .map_err(|e| failed(format!("cannot start {python}: {e}")))?;
        let (Some(input), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else { return Err(failed("no pipes to the child")) };
        let mut output = BufReader::new(stdout);
        let mut line = String::new();
        output.read_line(&mut line).map_err(|e| failed(e.to_string()))?;
        let ready: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => {
                let mut stderr = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
                }
                let _ = child.wait();
                let last = stderr.lines().last().unwrap_or("no output").to_string();
                return Err(failed(format!("{python} {} did not start: {last}", script.display())));
            }
        };
        let description = ready["ready"].as_str().unwrap_or("PyTorch").to_string();
        Ok(Reference { child, input, output, description })
    }

    fn ask(&mut self, command: &str) -> Result<serde_json::Value> {
        writeln!(self.input, "{command}").map_err(|e| failed(e.to_string()))?;
        let mut line = String::new();
        self.output.read_line(&mut line).map_err(|e| failed(e.to_string()))?;
        let answer: serde_json::Value = serde_json::from_str(&line).map_err(|_| failed(format!("answered {line:?} to {command:?}")))?;
        if let Some(error) = answer.get("error") {
            return Err(failed(format!("failed on {command:?}: {error}")));
        }
        Ok(answer)
    }

    /// Seconds of each of `count` more training steps of `name` (`e1`, `e1-specreg`, `cnn`, `cnn-tanh-first`).
    pub fn steps(&mut self, name: &str, count: usize) -> Result<Vec<f64>> {
        let answer = self.ask(&format!("step {name} {count}"))?;
        Ok(answer["seconds"].as_array().into_iter().flatten().filter_map(|v| v.as_f64()).collect())
    }

    /// Seconds of each of `count` matrix products of shape `[m, k, n]` (the left factor stored k × m and
    /// read transposed when `transposed`), with random f32 factors made once per shape.
    pub fn product(&mut self, [m, k, n]: [usize; 3], transposed: bool, count: usize) -> Result<Vec<f64>> {
        let answer = self.ask(&format!("matmul {m} {k} {n} {} {count}", u8::from(transposed)))?;
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

    /// Loads a specreg MLP from its safetensors `model` and the first `images` MNIST test images in
    /// batches of `batch`; returns the number of batches.
    pub fn ensemble_load(&mut self, model: &Path, mnist_dir: &Path, images: usize, batch: usize) -> Result<usize> {
        let answer = self.ask(&format!("aa-load {} {} {images} {batch}", model.display(), mnist_dir.display()))?;
        Ok(answer["batches"].as_u64().unwrap_or(0) as usize)
    }

    /// torchattacks' APGD-CE on batch `k`: seconds and examples still correct.
    pub fn apgd(&mut self, k: usize, epsilon: f32, iterations: usize, seed: u64) -> Result<(f64, usize)> {
        let answer = self.ask(&format!("apgd {k} {epsilon} {iterations} {seed}"))?;
        Ok((answer["seconds"].as_f64().unwrap_or(f64::NAN), answer["correct"].as_u64().unwrap_or(0) as usize))
    }

    /// torchattacks' APGD-CE, APGD-T, FAB-T and Square in AutoAttack's order on batch `k`: seconds and
    /// the examples still correct after each.
    pub fn autoattack(&mut self, k: usize, epsilon: f32, iterations: usize, targets: usize, queries: usize, seed: u64) -> Result<(f64, Vec<usize>)> {
        let answer = self.ask(&format!("autoattack {k} {epsilon} {iterations} {targets} {queries} {seed}"))?;
        let stages = answer["stages"].as_array().into_iter().flatten().filter_map(|v| v.as_u64()).map(|v| v as usize).collect();
        Ok((answer["seconds"].as_f64().unwrap_or(f64::NAN), stages))
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = writeln!(self.input, "quit");
        let _ = self.child.wait();
    }
}
