//! Per-epoch checkpoints: `DIR/epoch-NNNN/{model.bpk, optimizer.bpk, state.json}`.
//!
//! A checkpoint is written into `epoch-NNNN.tmp/` and renamed into place only when complete, so an
//! interrupted write never shadows the previous checkpoint; older checkpoints are deleted afterwards.
//! `state.json` holds the training config and the history so far, and a resume refuses a
//! checkpoint written with a different config.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::trainer::EpochRecord;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointState {
    /// The run's configuration (model and training) as JSON, compared on resume.
    pub config: serde_json::Value,
    pub history: Vec<EpochRecord>,
}

const MODEL_FILE: &str = "model.bpk";
const OPTIMIZER_FILE: &str = "optimizer.bpk";

pub(crate) struct Checkpoint {
    pub dir: PathBuf,
    pub state: CheckpointState,
}

impl Checkpoint {
    pub fn model_path(&self) -> PathBuf {
        self.dir.join(MODEL_FILE)
    }
    pub fn optimizer_path(&self) -> PathBuf {
        self.dir.join(OPTIMIZER_FILE)
    }
}

pub(crate) fn error(path: &Path, message: impl ToString) -> TrainError {
    TrainError::Checkpoint { path: path.display().to_string(), message: message.to_string() }
}

/// The newest complete checkpoint under `root`, if any.
pub(crate) fn latest(root: &Path) -> Result<Option<Checkpoint>, TrainError> {
    if !root.exists() {
        return Ok(None);
    }
    let mut epochs: Vec<(usize, PathBuf)> = fs::read_dir(root)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let epoch = name.strip_prefix("epoch-")?.parse().ok()?;
            Some((epoch, e.path()))
        })
        .collect();
    epochs.sort();
    let Some((_, dir)) = epochs.pop() else { return Ok(None) };
    let state_path = dir.join("state.json");
    let text = fs::read_to_string(&state_path).map_err(|e| error(&state_path, e))?;
    let state = serde_json::from_str(&text).map_err(|e| error(&state_path, e))?;
    Ok(Some(Checkpoint { dir, state }))
}

/// Writes a checkpoint after `state.history.len()` epochs; `write_weights` saves the model and the
/// optimizer to the two paths it is given.
pub(crate) fn save(
    root: &Path,
    state: &CheckpointState,
    write_weights: impl FnOnce(&Path, &Path) -> Result<(), String>,
) -> Result<(), TrainError> {
    let name = format!("epoch-{:04}", state.history.len());
    let (tmp, done) = (root.join(format!("{name}.tmp")), root.join(&name));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp)?;
    write_weights(&tmp.join(MODEL_FILE), &tmp.join(OPTIMIZER_FILE)).map_err(|e| error(&tmp, e))?;
    let json = serde_json::to_string_pretty(state).map_err(|e| error(&tmp, e))?;
    fs::write(tmp.join("state.json"), json)?;
    if done.exists() {
        fs::remove_dir_all(&done)?;
    }
    fs::rename(&tmp, &done)?;
    for entry in fs::read_dir(root)?.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path != done && entry.file_name().to_string_lossy().starts_with("epoch-") {
            fs::remove_dir_all(&path)?;
        }
    }
    Ok(())
}
