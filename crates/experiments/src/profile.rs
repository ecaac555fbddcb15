//! A run profile as loaded: its name, the file it came from, and one validated section per experiment
//! it configures, keyed by experiment id. Which sections exist, what each holds and how it is checked
//! is the registry's business ([`crate::Registry::load_profile`]); this is the result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::settings::TrainingSettings;

/// One experiment's section of a profile.
#[derive(Debug, Clone, PartialEq)]
pub enum Section {
    /// A training experiment's sizes and settings.
    Training(Box<TrainingSettings>),
    /// A theory experiment's configuration, as its row parsed and re-serialised it (every default
    /// written out, so it can be compared with a manifest's).
    Theory(serde_json::Value),
}

/// What a profile's numbers are worth, as SUMMARY.md states it beside every claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// Tiny subsets: every code path runs; the numbers mean nothing.
    Smoke,
    /// Fewer epochs, seeds or examples than the protocol: early-training numbers.
    Reduced,
    /// The protocol as written.
    Paper,
}

impl Scale {
    /// What the numbers are worth, in a sentence for SUMMARY.md.
    pub fn caveat(self) -> &'static str {
        match self {
            Scale::Smoke => {
                "This is a smoke run, a check that every code path works on tiny subsets and narrow networks: its numbers mean nothing, and sanity checks are expected to fail on networks this small."
            }
            Scale::Reduced => {
                "This is a reduced profile (fewer epochs, seeds or examples than the protocol): its numbers describe early training and are not the paper-scale result (docs/protocol.md §3)."
            }
            Scale::Paper => "This is the protocol as written (docs/protocol.md).",
        }
    }
}

/// Everything `reproduce` needs to know about sizes and settings (`profiles/*.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The profile's name (recorded in manifests).
    pub name: String,
    /// What it is for, in a sentence.
    pub description: String,
    /// What its numbers are worth (the top-level `scale`).
    pub scale: Scale,
    /// The file it was read from (named in every error about it).
    pub path: PathBuf,
    /// One section per configured experiment, by experiment id.
    pub sections: BTreeMap<&'static str, Section>,
}

impl Profile {
    /// The training settings of experiment `id`, if the profile configures it.
    pub fn training(&self, id: &str) -> Option<&TrainingSettings> {
        match self.sections.get(id) {
            Some(Section::Training(settings)) => Some(settings),
            _ => None,
        }
    }

    /// The configuration of theory experiment `id`, if the profile configures it.
    pub fn theory(&self, id: &str) -> Option<&serde_json::Value> {
        match self.sections.get(id) {
            Some(Section::Theory(config)) => Some(config),
            _ => None,
        }
    }

    /// Whether the profile configures experiment `id`.
    pub fn configures(&self, id: &str) -> bool {
        self.sections.contains_key(id)
    }

    /// The file a profile name or path refers to: `NAME` means `profiles/NAME.json` in the workspace;
    /// anything with a `/` or ending in `.json` is a path.
    pub fn path_of(name_or_path: &str) -> PathBuf {
        if name_or_path.contains('/') || name_or_path.ends_with(".json") {
            PathBuf::from(name_or_path)
        } else {
            profiles_dir().join(format!("{name_or_path}.json"))
        }
    }
}

/// The name of experiment `id`'s section in a profile file: `E2-MLP` → `e2_mlp`.
pub fn section_name(id: &str) -> String {
    id.to_ascii_lowercase().replace('-', "_")
}

/// The workspace's `profiles/` directory.
pub fn profiles_dir() -> PathBuf {
    workspace_root().join("profiles")
}

/// The workspace root: `$SPECREG_ROOT` when set (a binary carried to another machine with the
/// `profiles/` and `bench/` folders beside it, as `bench/gpu/prepare.sh` packs it), else the checkout
/// it was built from (two levels above this crate).
pub fn workspace_root() -> &'static Path {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| match std::env::var_os("SPECREG_ROOT") {
        Some(root) if !root.is_empty() => PathBuf::from(root),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).parent().and_then(Path::parent).unwrap_or(Path::new(".")).to_path_buf(),
    })
}
