//! Per-epoch checkpoints: `DIR/epoch-NNNN/{model.bpk, optimizer.bpk, state.json}`.
//!
//! A checkpoint is written into a temporary directory (`.epoch-NNNN.tmp-<host>-<pid>-<n>`, unique per
//! host and process) and renamed into place only when complete, so an interrupted write never shadows
//! the previous checkpoint; older checkpoints are deleted afterwards. `state.json` holds the training
//! config and the history so far, and a resume refuses a checkpoint written with a different config.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use specreg_files::{FileError, temporary_path};

use crate::error::TrainError;
use crate::record::EpochRecord;
use crate::trajectory::SpectrumPoint;

/// The JSON part of a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointState {
    /// The run's configuration (model and training) as JSON, compared on resume.
    pub config: serde_json::Value,
    /// The epochs trained so far.
    pub history: Vec<EpochRecord>,
    /// The spectrum points measured so far (absent in checkpoints written before trajectories).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trajectory: Vec<SpectrumPoint>,
}

const MODEL_FILE: &str = "model.bpk";
const OPTIMIZER_FILE: &str = "optimizer.bpk";
const STATE_FILE: &str = "state.json";

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
    /// An error about this checkpoint.
    pub fn refused(&self, reason: impl Into<String>) -> TrainError {
        TrainError::Checkpoint { path: self.dir.clone(), reason: reason.into() }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::File(FileError::new(path, source))
}

/// The newest complete checkpoint under `root`, if any.
pub(crate) fn latest(root: &Path) -> Result<Option<Checkpoint>, TrainError> {
    if !root.exists() {
        return Ok(None);
    }
    let mut epochs: Vec<(usize, PathBuf)> = fs::read_dir(root)
        .map_err(io(root))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let epoch = name.strip_prefix("epoch-")?.parse().ok()?;
            Some((epoch, e.path()))
        })
        .collect();
    epochs.sort();
    let Some((_, dir)) = epochs.pop() else { return Ok(None) };
    let state_path = dir.join(STATE_FILE);
    let text = fs::read_to_string(&state_path).map_err(io(&state_path))?;
    let state = serde_json::from_str(&text).map_err(|source| TrainError::State { path: state_path.clone(), source })?;
    Ok(Some(Checkpoint { dir, state }))
}

/// Writes a checkpoint after `state.history.len()` epochs; `write_weights` saves the model and the
/// optimizer to the two paths it is given.
pub(crate) fn save(root: &Path, state: &CheckpointState, write_weights: impl FnOnce(&Path, &Path) -> Result<(), TrainError>) -> Result<(), TrainError> {
    let done = root.join(format!("epoch-{:04}", state.history.len()));
    let tmp = temporary_path(&done);
    fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let written = (|| {
        write_weights(&tmp.join(MODEL_FILE), &tmp.join(OPTIMIZER_FILE))?;
        let json = serde_json::to_string_pretty(state).map_err(|source| TrainError::State { path: tmp.join(STATE_FILE), source })?;
        let state_path = tmp.join(STATE_FILE);
        fs::write(&state_path, json).map_err(io(&state_path))?;
        if done.exists() {
            fs::remove_dir_all(&done).map_err(io(&done))?;
        }
        fs::rename(&tmp, &done).map_err(io(&done))
    })();
    if written.is_err() {
        let _ = fs::remove_dir_all(&tmp);
        return written;
    }
    for entry in fs::read_dir(root).map_err(io(root))?.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path != done && entry.file_name().to_string_lossy().starts_with("epoch-") {
            fs::remove_dir_all(&path).map_err(io(&path))?;
        }
    }
    Ok(())
}
