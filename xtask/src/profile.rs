//! Run profiles: JSON files under `profiles/` (smoke, quick, paper) that users can copy and edit.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::experiments::training::TrainingSettings;
use crate::experiments::{t1::T1Config, t2::T2Config};

/// Everything `reproduce` needs to know about sizes and settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub t1: T1Config,
    pub t2: T2Config,
    /// Training experiments; one left out of a profile is reported as "not in this profile".
    #[serde(default)]
    pub e1: Option<TrainingSettings>,
    #[serde(default)]
    pub e2_mlp: Option<TrainingSettings>,
    #[serde(default)]
    pub e2_cnn: Option<TrainingSettings>,
    #[serde(default)]
    pub e3_mlp: Option<TrainingSettings>,
    #[serde(default)]
    pub e3_cnn: Option<TrainingSettings>,
    #[serde(default)]
    pub s1: Option<TrainingSettings>,
    #[serde(default)]
    pub s2: Option<TrainingSettings>,
    #[serde(default)]
    pub s3: Option<TrainingSettings>,
}

impl Profile {
    /// `NAME` means `profiles/NAME.json` in the workspace; anything with a `/` or ending in `.json` is a path.
    pub fn load(name_or_path: &str) -> Result<Profile> {
        let path = if name_or_path.contains('/') || name_or_path.ends_with(".json") {
            PathBuf::from(name_or_path)
        } else {
            workspace_root().join("profiles").join(format!("{name_or_path}.json"))
        };
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading profile {}", path.display()))?;
        let profile: Profile = serde_json::from_str(&text).with_context(|| format!("parsing profile {}", path.display()))?;
        profile.validate().with_context(|| format!("profile {}", path.display()))?;
        Ok(profile)
    }

    fn validate(&self) -> Result<()> {
        let t1 = &self.t1;
        if t1.inputs < 2 || t1.width < 4 || t1.depth == 0 || !(t1.sigma_w > 0.0) || !(t1.sigma_b >= 0.0) {
            bail!("t1 needs inputs ≥ 2, width ≥ 4, depth ≥ 1, sigma_w > 0, sigma_b ≥ 0; got {t1:?}");
        }
        let t2 = &self.t2;
        if t2.grid_points < 4 || t2.features < 4 || t2.features % 2 != 0 || t2.alphas.is_empty() || t2.directions == 0 {
            bail!("t2 needs grid_points ≥ 4, an even number of features ≥ 4, some alphas and directions; got {t2:?}");
        }
        let sections = [("e1", &self.e1), ("e2_mlp", &self.e2_mlp), ("e2_cnn", &self.e2_cnn), ("e3_mlp", &self.e3_mlp), ("e3_cnn", &self.e3_cnn), ("s1", &self.s1), ("s2", &self.s2), ("s3", &self.s3)];
        for (name, section) in sections {
            if let Some(settings) = section {
                settings.validate().with_context(|| format!("section {name}"))?;
            }
        }
        Ok(())
    }
}

/// The workspace root (xtask's parent directory).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace")
}
