//! The datasets experiments train on: found (and verified) in the data directory, loaded once per
//! process, cut to the subsets a profile asks for.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use specreg_data::verify::{Check, DatasetReport, verify_dataset};
use specreg_data::{Dataset, DatasetId, Split};

use crate::error::{Error, Result};
use crate::settings::TrainingSettings;

/// What happened to one dataset of an experiment, for the manifest and SUMMARY.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetOutcome {
    /// The dataset's name.
    pub dataset: String,
    /// `ran`, or `skipped: …` with the command that fetches the data.
    pub status: String,
    /// File → check label, from `data verify`.
    pub checksums: BTreeMap<String, String>,
}

impl DatasetOutcome {
    /// Whether the experiment ran on it.
    pub fn ran(&self) -> bool {
        self.status == "ran"
    }
}

/// A subset of a dataset: the dataset, training examples per class, test examples.
type SubsetKey = (DatasetId, Option<usize>, Option<usize>);

/// The data directory and the datasets loaded from it so far.
pub struct DataSets {
    dir: PathBuf,
    allow_unverified: bool,
    checked: HashMap<DatasetId, std::result::Result<DatasetOutcome, DatasetOutcome>>,
    loaded: HashMap<DatasetId, Split>,
    subsets: HashMap<SubsetKey, (Dataset, Dataset)>,
}

impl DataSets {
    /// Datasets under `dir`; with `allow_unverified`, files that fail their checksums are used (and
    /// recorded as such) instead of refused.
    pub fn new(dir: &Path, allow_unverified: bool) -> Self {
        DataSets { dir: dir.to_path_buf(), allow_unverified, checked: HashMap::new(), loaded: HashMap::new(), subsets: HashMap::new() }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Verifies `dataset` (without loading it): `Ok(Ok(outcome))` when present and verified (or
    /// allowed unverified), `Ok(Err(outcome))` when absent (skipped, with the command that fetches
    /// it), an error when some of its files are missing or fail their checksums (unless allowed).
    pub fn check(&mut self, dataset: DatasetId) -> Result<std::result::Result<DatasetOutcome, DatasetOutcome>> {
        if let Some(outcome) = self.checked.get(&dataset) {
            return Ok(outcome.clone());
        }
        let name = dataset.name();
        let report = verify_dataset(&self.dir, dataset)?;
        let outcome = match &report {
            DatasetReport::Absent { hint, .. } => {
                Err(DatasetOutcome { dataset: name.into(), status: format!("skipped: not found. {hint}"), checksums: BTreeMap::new() })
            }
            DatasetReport::Present { files, .. } => {
                let missing: Vec<String> = files.iter().filter(|f| f.check == Check::Missing).map(|f| file_name(&f.path)).collect();
                if !missing.is_empty() {
                    return Err(Error::Incomplete { dataset: name.into(), dir: dataset.dir(&self.dir), missing, hint: dataset.fetch_hint() });
                }
                if !report.is_ok() {
                    if !self.allow_unverified {
                        let files = files
                            .iter()
                            .filter_map(|f| match &f.check {
                                Check::Mismatch { expected, actual } => Some(format!("{} (SHA-256 {actual}, expected {expected})", f.path.display())),
                                _ => None,
                            })
                            .collect();
                        return Err(Error::Unverified { dataset: name.into(), files });
                    }
                    println!("{name} under {} fails its checksums; used anyway (--allow-unverified), recorded in the manifest", self.dir.display());
                }
                let checksums = files.iter().map(|f| (file_name(&f.path), f.check.label().to_string())).collect();
                Ok(DatasetOutcome { dataset: name.into(), status: "ran".into(), checksums })
            }
        };
        self.checked.insert(dataset, outcome.clone());
        Ok(outcome)
    }

    /// Verifies (see [`DataSets::check`]) and loads `dataset`, once per process.
    pub fn load(&mut self, dataset: DatasetId) -> Result<std::result::Result<DatasetOutcome, DatasetOutcome>> {
        let outcome = self.check(dataset)?;
        if outcome.is_ok() && !self.loaded.contains_key(&dataset) {
            self.loaded.insert(dataset, specreg_data::load(dataset, &self.dir)?);
        }
        Ok(outcome)
    }

    /// The training and test examples an experiment's settings select from a loaded dataset.
    pub fn subsets(&mut self, dataset: DatasetId, settings: &TrainingSettings) -> Result<&(Dataset, Dataset)> {
        let key = (dataset, settings.train_per_class, settings.test_examples);
        if !self.subsets.contains_key(&key) {
            let Some(split) = self.loaded.get(&dataset) else {
                return Err(Error::Incomplete {
                    dataset: dataset.name().into(),
                    dir: dataset.dir(&self.dir),
                    missing: vec!["(not loaded)".into()],
                    hint: dataset.fetch_hint(),
                });
            };
            let train = match settings.train_per_class {
                Some(k) => split.train.first_per_class(k)?,
                None => split.train.clone(),
            };
            let test = split.test.head(settings.test_examples.unwrap_or(split.test.len()));
            self.subsets.insert(key, (train, test));
        }
        Ok(&self.subsets[&key])
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}
