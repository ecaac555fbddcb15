//! The registry: the experiment table and the attack table together, and what follows from them
//! alone: which profile sections exist, how each is parsed and checked, and which experiments and
//! attacks a name refers to. The engine and the reports take a `&Registry`, so a test (or a user)
//! can run with extra rows.

use std::path::Path;

use specreg_data::DatasetId;

use crate::attacks::{ATTACKS, AttackSpec};
use crate::catalog::{EXPERIMENTS, ExperimentSpec, Kind};
use crate::error::{Error, Result, chain};
use crate::plan::experiment_runs;
use crate::profile::{Profile, Scale, Section, section_name};
use crate::settings::{SectionOf, TrainingSettings};

/// The experiments and attacks `reproduce` knows.
#[derive(Clone)]
pub struct Registry {
    /// Every experiment, in the order `reproduce` runs them.
    pub experiments: Vec<ExperimentSpec>,
    /// Every attack, in the order sweeps run them.
    pub attacks: Vec<AttackSpec>,
}

impl Registry {
    /// The experiments of docs/protocol.md and the attacks of `specreg-attacks`.
    pub fn standard() -> Registry {
        Registry { experiments: EXPERIMENTS.to_vec(), attacks: ATTACKS.to_vec() }
    }

    /// The experiment with this id (case-insensitive).
    pub fn find(&self, id: &str) -> Result<&ExperimentSpec> {
        self.experiments
            .iter()
            .find(|e| e.id.eq_ignore_ascii_case(id.trim()))
            .ok_or_else(|| Error::UnknownExperiment { name: id.to_string(), known: self.ids().join(", ") })
    }

    /// Every experiment id, in order.
    pub fn ids(&self) -> Vec<&'static str> {
        self.experiments.iter().map(|e| e.id).collect()
    }

    /// The experiments named in `only` that `profile` configures (all it configures when `only` is
    /// empty), in table order. Naming an unknown experiment, or one without a section in the
    /// profile, is an error.
    pub fn select(&self, only: &[String], profile: &Profile) -> Result<Vec<&ExperimentSpec>> {
        if only.is_empty() {
            return Ok(self.experiments.iter().filter(|e| profile.configures(e.id)).collect());
        }
        let mut selected: Vec<&ExperimentSpec> = Vec::new();
        for name in only {
            let spec = self.find(name)?;
            if !profile.configures(spec.id) {
                return Err(Error::NotInProfile { id: spec.id.into(), section: section_name(spec.id), path: profile.path.clone() });
            }
            if !selected.iter().any(|s| s.id == spec.id) {
                selected.push(spec);
            }
        }
        selected.sort_by_key(|s| self.experiments.iter().position(|e| e.id == s.id));
        Ok(selected)
    }

    /// The runs of training experiment `spec` under `settings` (see [`experiment_runs`]), with this
    /// registry's attacks.
    pub fn runs(&self, spec: &ExperimentSpec, settings: &TrainingSettings) -> Vec<crate::plan::PlannedRun> {
        experiment_runs(&self.attacks, spec, settings)
    }

    /// The attack called `id` in profiles.
    pub fn attack(&self, id: &str) -> Option<&AttackSpec> {
        self.attacks.iter().find(|a| a.id == id)
    }

    /// The attacks whose accuracies claim `claim` reads.
    pub fn attacks_for(&self, claim: &str) -> Vec<&AttackSpec> {
        self.attacks.iter().filter(|a| a.claims.contains(&claim)).collect()
    }

    /// `NAME` (`profiles/NAME.json` in the workspace) or a path: the profile, parsed and checked
    /// whole (see [`Registry::parse_profile`]).
    pub fn load_profile(&self, name_or_path: &str) -> Result<Profile> {
        let path = Profile::path_of(name_or_path);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::ProfileRead { path: path.clone(), source })?;
        self.parse_profile(&text, &path)
    }

    /// Parses a profile's JSON (`path` names it in errors) and checks every section against its
    /// experiment's row: unknown sections, settings out of range or inconsistent with each other,
    /// attacks that do not exist, runs that could not be trained (a batch smaller than a regularised
    /// layer, τ beyond a layer). Nothing about a profile fails later, after hours of other work.
    pub fn parse_profile(&self, text: &str, path: &Path) -> Result<Profile> {
        let json: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|source| Error::ProfileParse { path: path.into(), source })?;
        let top = SectionOf { file: path, section: "(top level)" };
        let text_of = |key: &str| -> Result<Option<String>> {
            match json.get(key) {
                None => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(top.bad(key, format!("must be a string, got {other}"))),
            }
        };
        let name = text_of("name")?.ok_or_else(|| top.bad("name", "is missing: every profile has a name (recorded in manifests)"))?;
        let description = text_of("description")?.unwrap_or_default();
        let scale = match json.get("scale") {
            None => Scale::Reduced,
            Some(value) => top.parse(value)?,
        };
        let mut profile = Profile { name, description, scale, path: path.into(), sections: Default::default() };
        for (key, value) in &json {
            if matches!(key.as_str(), "name" | "description" | "scale") {
                continue;
            }
            let Some(spec) = self.experiments.iter().find(|e| section_name(e.id) == *key) else {
                let known: Vec<String> = self.experiments.iter().map(|e| format!("`{}`", section_name(e.id))).collect();
                return Err(Error::UnknownSection { path: path.into(), section: key.clone(), known: known.join(", ") });
            };
            let at = SectionOf { file: path, section: key };
            let section = match &spec.kind {
                Kind::Training(_) => {
                    let settings: TrainingSettings = at.parse(value)?;
                    self.check_training(spec, &settings, at)?;
                    Section::Training(Box::new(settings))
                }
                Kind::Theory(theory) => Section::Theory((theory.check)(value, at)?),
            };
            profile.sections.insert(spec.id, section);
        }
        Ok(profile)
    }

    /// A training section against its row and the attack table; then every run it implies against
    /// its network.
    fn check_training(&self, spec: &ExperimentSpec, settings: &TrainingSettings, at: SectionOf<'_>) -> Result<()> {
        let Kind::Training(training) = &spec.kind else { return Ok(()) };
        settings.validate(at)?;
        for &list in training.requires {
            if settings.list_len(list) == Some(0) {
                return Err(at.bad(list, format!("is empty; {} compares its runs across {list}: list at least one", spec.id)));
            }
        }
        if let Some(unknown) = settings.attacks.iter().find(|a| self.attack(a).is_none()) {
            let known: Vec<&str> = self.attacks.iter().map(|a| a.id).collect();
            return Err(at.bad("attacks", format!("unknown attack {unknown:?}; known: {}", known.join(", "))));
        }
        for run in self.runs(spec, settings) {
            let fail = |e: &dyn std::error::Error| at.bad(format!("run {}", run.label()), chain(e));
            let widths = run.model.hidden_widths().map_err(|e| fail(&e))?;
            run.train.validate(&widths, run.settings.train_examples(run.dataset)).map_err(|e| fail(&e))?;
        }
        Ok(())
    }

    /// The datasets the training experiments among `selected` need under `profile`, in order of
    /// first use.
    pub fn needed_datasets(&self, profile: &Profile, selected: &[&ExperimentSpec]) -> Vec<DatasetId> {
        let all = selected.iter().filter_map(|spec| profile.training(spec.id)).flat_map(|s| s.datasets.iter()).filter_map(|d| DatasetId::from_name(d));
        crate::tables::unique(all)
    }
}

/// The standard registry's [`Registry::load_profile`].
pub fn load_profile(name_or_path: &str) -> Result<Profile> {
    Registry::standard().load_profile(name_or_path)
}
