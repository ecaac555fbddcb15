//! Run profiles: JSON files under `profiles/` (smoke, quick, paper) that users copy and edit. A profile
//! is validated whole, every section, before anything runs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::{EXPERIMENTS, Kind};
use crate::error::{Error, Result};
use crate::settings::TrainingSettings;
use crate::theory::{T1Config, T2Config};

/// Everything `reproduce` needs to know about sizes and settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The profile's name (recorded in manifests).
    pub name: String,
    /// What it is for, in a sentence.
    #[serde(default)]
    pub description: String,
    /// T1: random deep network spectra.
    pub t1: T1Config,
    /// T2: smoothness against spectral decay.
    pub t2: T2Config,
    /// E1 (paper §4.1).
    #[serde(default)]
    pub e1: Option<TrainingSettings>,
    /// E2-MLP (paper §4.2).
    #[serde(default)]
    pub e2_mlp: Option<TrainingSettings>,
    /// E2-CNN (paper §4.2).
    #[serde(default)]
    pub e2_cnn: Option<TrainingSettings>,
    /// E3-MLP (paper §4.3).
    #[serde(default)]
    pub e3_mlp: Option<TrainingSettings>,
    /// E3-CNN (paper §4.3).
    #[serde(default)]
    pub e3_cnn: Option<TrainingSettings>,
    /// S1: weight-decay control.
    #[serde(default)]
    pub s1: Option<TrainingSettings>,
    /// S2: τ sweep.
    #[serde(default)]
    pub s2: Option<TrainingSettings>,
    /// S3: anchor choice.
    #[serde(default)]
    pub s3: Option<TrainingSettings>,
    /// S4: head vs tail of the spectrum (beyond the paper).
    #[serde(default)]
    pub s4: Option<TrainingSettings>,
}

impl Profile {
    /// `NAME` means `profiles/NAME.json` in the workspace; anything with a `/` or ending in `.json` is a path.
    /// The whole profile is validated (see [`Profile::validate`]).
    pub fn load(name_or_path: &str) -> Result<Profile> {
        let path = Self::path_of(name_or_path);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::ProfileRead { path: path.clone(), source: specreg_files::FileError::new(&path, source) })?;
        Self::parse(&text, &path)
    }

    /// Parses and validates a profile's JSON; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Profile> {
        let profile: Profile = serde_json::from_str(text).map_err(|source| Error::ProfileParse { path: path.to_path_buf(), source })?;
        profile.validate()?;
        Ok(profile)
    }

    /// The file a profile name or path refers to.
    pub fn path_of(name_or_path: &str) -> PathBuf {
        if name_or_path.contains('/') || name_or_path.ends_with(".json") {
            PathBuf::from(name_or_path)
        } else {
            profiles_dir().join(format!("{name_or_path}.json"))
        }
    }

    /// Checks every section, naming the first setting out of range; also checks that every run the
    /// profile implies can be trained (batch ≥ each regularised width, τ inside its layer, …), so
    /// that nothing fails late, after hours of earlier experiments.
    pub fn validate(&self) -> Result<()> {
        self.t1.validate(&self.name)?;
        self.t2.validate(&self.name)?;
        for spec in EXPERIMENTS {
            if let Kind::Training(training) = &spec.kind
                && let Some(settings) = (training.settings)(self)
            {
                settings.validate(&self.name, training.section)?;
                crate::plan::check_runs(self, spec, settings)?;
            }
        }
        Ok(())
    }
}

/// The workspace's `profiles/` directory.
pub fn profiles_dir() -> PathBuf {
    workspace_root().join("profiles")
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().and_then(Path::parent).expect("crates/experiments lives in the workspace")
}
