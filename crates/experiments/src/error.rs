//! Why an experiment could not run. Each error names what it concerns (a profile setting, a run, a file)
//! and keeps the underlying error as its source.

use std::path::{Path, PathBuf};

use specreg_files::FileError;

/// Everything that can stop `reproduce` or `figures`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A profile file could not be read.
    #[error("profile {}", path.display())]
    ProfileRead {
        /// The profile file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A profile file is not valid JSON of the profile schema (an unknown or misspelled field, a wrong type).
    #[error("parsing profile {}", path.display())]
    ProfileParse {
        /// The profile file.
        path: PathBuf,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// A section of a profile is not valid JSON of its schema (an unknown or misspelled setting, a
    /// wrong type).
    #[error("{}, section `{section}`: {setting}: {problem}", path.display())]
    SectionParse {
        /// The profile file.
        path: PathBuf,
        /// The section (`e1`, `t2`, …).
        section: String,
        /// Where in the section (`batch_size`, `epsilons[2]`, or `.` for the section itself).
        setting: String,
        /// What serde said.
        problem: String,
    },
    /// A setting of a profile is out of its allowed range, or inconsistent with another.
    #[error("{}, section `{section}`: {setting}: {problem}", path.display())]
    Setting {
        /// The profile file.
        path: PathBuf,
        /// The section (`e1`, `s3`, `t2`, …).
        section: String,
        /// The setting's name.
        setting: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// A profile has a section no experiment reads.
    #[error("{}: unknown section `{section}`; the sections are {known} (one per experiment) besides `name` and `description`", path.display())]
    UnknownSection {
        /// The profile file.
        path: PathBuf,
        /// The section.
        section: String,
        /// The sections experiments read.
        known: String,
    },
    /// An experiment was asked for that the profile has no section for.
    #[error("{id} was asked for, but {} has no `{section}` section (copy one from profiles/paper.json)", path.display())]
    NotInProfile {
        /// The experiment.
        id: String,
        /// Its section.
        section: String,
        /// The profile file.
        path: PathBuf,
    },
    /// `--only` named an experiment that does not exist.
    #[error("unknown experiment {name:?}; known: {known}")]
    UnknownExperiment {
        /// What was asked for.
        name: String,
        /// The known ids.
        known: String,
    },
    /// A dataset is present but some of its files fail their checksums.
    #[error("{dataset}: {} failed its SHA-256 check ({}); `cargo xtask data verify` shows every file, `--allow-unverified` uses them anyway", files.join(", "), if files.len() == 1 { "it" } else { "they" })]
    Unverified {
        /// The dataset's name.
        dataset: String,
        /// Each failing file: its path and both digests.
        files: Vec<String>,
    },
    /// Some of a dataset's files are present, others are missing.
    #[error("{dataset} under {}: missing {}; {hint}", dir.display(), missing.join(", "))]
    Incomplete {
        /// The dataset's name.
        dataset: String,
        /// Its directory.
        dir: PathBuf,
        /// The missing files.
        missing: Vec<String>,
        /// The command that fetches it.
        hint: String,
    },
    /// A `--calibration` file is missing, unreadable or not a `bench train --json` file.
    #[error("calibration file {}: {problem}", path.display())]
    Calibration {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A dataset could not be read, verified or fetched.
    #[error(transparent)]
    Data(#[from] specreg_data::DataError),
    /// A run failed.
    #[error("{run}")]
    Run {
        /// The run (experiment, dataset, variant, seed).
        run: String,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// Training failed.
    #[error(transparent)]
    Train(#[from] specreg_train::TrainError),
    /// A trained model's measured covariance is not one (a negative eigenvalue beyond rounding).
    #[error("{split} spectrum of {layer}")]
    Measured {
        /// The layer.
        layer: String,
        /// The split.
        split: String,
        /// What is wrong.
        #[source]
        source: specreg_regularizer::PenaltyError,
    },
    /// An attack sweep failed.
    #[error(transparent)]
    Attack(#[from] specreg_attacks::AttackError),
    /// A spectrum could not be computed.
    #[error(transparent)]
    Spectrum(#[from] specreg_spectrum::SpectrumError),
    /// A model could not be exported.
    #[error(transparent)]
    Model(#[from] specreg_models::ModelError),
    /// A saved model does not fit its run's network (or is not a safetensors file).
    #[error("{}: not the trained network of this run; delete it and the run file beside it to retrain", path.display())]
    ModelFile {
        /// The model file.
        path: PathBuf,
        /// What did not fit.
        #[source]
        source: specreg_models::ModelError,
    },
    /// A table or figure could not be written or read.
    #[error(transparent)]
    Report(#[from] specreg_report::ReportError),
    /// A file could not be written, read or renamed.
    #[error(transparent)]
    File(#[from] FileError),
    /// A run file, manifest or other JSON file is corrupt.
    #[error("{}: not a valid result file", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// A setting of `section` in the profile file `path` out of range: what is wrong and what is allowed.
    pub fn setting(path: &Path, section: &str, setting: impl Into<String>, problem: impl Into<String>) -> Error {
        Error::Setting { path: path.into(), section: section.into(), setting: setting.into(), problem: problem.into() }
    }

    /// Whether the error is in what the user asked for (a profile, a setting, an experiment name, a
    /// calibration file) rather than in running it: `cargo xtask` exits with status 2 for these.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::ProfileRead { .. }
                | Error::ProfileParse { .. }
                | Error::SectionParse { .. }
                | Error::Setting { .. }
                | Error::UnknownSection { .. }
                | Error::NotInProfile { .. }
                | Error::UnknownExperiment { .. }
                | Error::Calibration { .. }
        )
    }

    /// Whether the error means the run diverged (non-finite or exploding values, a covariance that is
    /// not one): a finding about its settings, recorded as a failed run while the others go on,
    /// rather than a fault that stops `reproduce`.
    pub fn is_divergence(&self) -> bool {
        use specreg_train::TrainError;
        match self {
            Error::Run { source, .. } => source.is_divergence(),
            Error::Train(TrainError::NonFinite { .. } | TrainError::Diverged { .. }) | Error::Measured { .. } => true,
            Error::Train(TrainError::Eigen { source, .. } | TrainError::Penalty { source, .. }) => {
                matches!(source, specreg_regularizer::PenaltyError::NotPositiveSemidefinite { .. } | specreg_regularizer::PenaltyError::Anchor { .. })
            }
            _ => false,
        }
    }

    /// This error, as the failure of `run`.
    pub fn in_run(self, run: impl Into<String>) -> Error {
        Error::Run { run: run.into(), source: Box::new(self) }
    }
}

/// Shorthand for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Reads a file, naming it on failure.
pub(crate) fn read_to_string(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::File(FileError::new(path, source)))
}

/// An error and its sources, joined by ": ", for one-line messages.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.ends_with(&part) {
            text += ": ";
            text += &part;
        }
        source = e.source();
    }
    text
}
