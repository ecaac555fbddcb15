//! The recipes of ARCHITECTURE.md, done for real: an experiment is one row of the experiment table
//! and one profile section; an attack is one row of the attack table. Each test adds a toy row and
//! runs it end to end, tables, figures, plan and SUMMARY.md included.

use std::path::{Path, PathBuf};
use std::time::Duration;

use specreg_attacks::{Attack, AttackKind};
use specreg_experiments::{
    AttackSpec, Backend, Calibration, DataSets, Environment, ExperimentSpec, Family, Kind, Mode, OutDir, Processor, Registry, TrainingSpec, Variant,
};
use specreg_regularizer::LayerSelection;

fn data_dir() -> PathBuf {
    specreg_data::locate_data_dir(None, env!("CARGO_MANIFEST_DIR").as_ref())
}

fn environment(out: &Path) -> Environment {
    Environment {
        out: OutDir::new(out),
        backend: Backend::flex(),
        lock_timeout: Duration::from_secs(600),
        calibration: Calibration::default(),
        processor: Processor::this_machine(),
    }
}

/// The smoke profile's E1 section, to size toys with.
fn smoke_e1() -> serde_json::Value {
    let text = std::fs::read_to_string(specreg_experiments::profiles_dir().join("smoke.json")).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["e1"].clone()
}

fn profile_with(dir: &Path, sections: &[(&str, serde_json::Value)]) -> PathBuf {
    let mut profile = serde_json::json!({ "name": "toys", "description": "recipes", "scale": "smoke" });
    for (name, section) in sections {
        profile[*name] = section.clone();
    }
    let path = dir.join("toys.json");
    std::fs::write(&path, serde_json::to_string_pretty(&profile).unwrap()).unwrap();
    path
}

#[test]
fn an_experiment_is_one_row_and_one_profile_section() {
    let mut registry = Registry::standard();
    registry.experiments.push(ExperimentSpec {
        id: "TOY",
        reference: "tests/recipes.rs",
        title: "a 3-layer MLP, Vanilla against all-layer SpecReg",
        kind: Kind::Training(TrainingSpec {
            family: Family::Mlp,
            variants: |s| vec![Variant::vanilla("Vanilla"), Variant::specreg("SpecReg-all", 2.0, s.tau, s.alpha, LayerSelection::All)],
            requires: &[],
            extra: None,
        }),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut toy = smoke_e1();
    toy["hidden"] = serde_json::json!([32, 32]);
    let path = profile_with(dir.path(), &[("toy", toy)]);
    // The standard registry does not know the section; the extended one does.
    let refused = Registry::standard().load_profile(path.to_str().unwrap()).unwrap_err().to_string();
    assert!(refused.contains("unknown section `toy`") && refused.contains("toys.json"), "{refused}");
    let profile = registry.load_profile(path.to_str().unwrap()).unwrap();
    let selected = registry.select(&["toy".into()], &profile).unwrap();

    let out = dir.path().join("out");
    let env = environment(&out);
    let report = specreg_experiments::reproduce(&registry, &profile, &selected, &env, &mut DataSets::new(&data_dir(), false), Mode::All).unwrap();
    assert_eq!(report.exit_code(), std::process::ExitCode::SUCCESS, "{:?}", report.shortfalls());
    for table in specreg_experiments::TRAINING_TABLES {
        assert!(out.join("TOY/tables").join(format!("{table}.parquet")).is_file(), "{table}");
    }
    for figure in specreg_experiments::TRAINING_FIGURES {
        assert!(out.join("TOY/figures").join(format!("{figure}.png")).is_file(), "{figure}");
    }
    let fits = specreg_report::tables::read::<specreg_report::tables::FitRow>(&out.join("TOY/tables/fits.parquet")).unwrap();
    assert_eq!(fits.len(), 2 * 2, "two variants × two hidden layers");
    let summary = std::fs::read_to_string(out.join("SUMMARY.md")).unwrap();
    assert!(summary.contains("### TOY") && summary.contains("a 3-layer MLP") && summary.contains("| TOY | 2 |"), "{summary}");
    let plan = specreg_experiments::PlanSummary::read(&out.join("plan.json")).unwrap();
    assert_eq!(plan.experiments.iter().map(|e| (e.id.as_str(), e.runs)).collect::<Vec<_>>(), [("TOY", 2)]);
}

#[test]
fn an_attack_is_one_row() {
    let mut registry = Registry::standard();
    registry.attacks.push(AttackSpec {
        id: "square-toy",
        title: "Square Attack, 60 queries",
        kind: AttackKind::Square,
        build: |_, _| Attack::Square { queries: 60, p_init: 0.8 },
        claims: &[],
    });
    let dir = tempfile::tempdir().unwrap();
    let mut e1 = smoke_e1();
    e1["attacks"] = serde_json::json!(["fgsm", "pgd", "square-toy"]);
    e1["betas"] = serde_json::json!([]);
    let path = profile_with(dir.path(), &[("e1", e1.clone())]);
    // E1 compares SpecReg at each β: an empty list is refused, naming the setting and the file.
    let refused = registry.load_profile(path.to_str().unwrap()).unwrap_err().to_string();
    assert!(refused.contains("section `e1`: betas: is empty") && refused.contains("toys.json"), "{refused}");
    e1["betas"] = serde_json::json!([2.0]);
    let path = profile_with(dir.path(), &[("e1", e1.clone())]);
    assert!(Registry::standard().load_profile(path.to_str().unwrap()).unwrap_err().to_string().contains("unknown attack \"square-toy\""));
    let profile = registry.load_profile(path.to_str().unwrap()).unwrap();
    let selected = registry.select(&[], &profile).unwrap();

    // The cost model prices it: the same runs without it are cheaper.
    let cost = |registry: &Registry| specreg_experiments::jobs(registry, &profile, &selected, "flex").iter().map(|j| j.flops).sum::<f64>();
    let mut without = registry.clone();
    without.attacks.last_mut().unwrap().build = |_, _| Attack::Noise(specreg_attacks::NoiseKind::Uniform);
    assert!(cost(&registry) > cost(&without));

    let out = dir.path().join("out");
    let report = specreg_experiments::reproduce(&registry, &profile, &selected, &environment(&out), &mut DataSets::new(&data_dir(), false), Mode::All).unwrap();
    assert_eq!(report.exit_code(), std::process::ExitCode::SUCCESS, "{:?}", report.shortfalls());
    let robustness = specreg_report::tables::read::<specreg_report::tables::RobustnessRow>(&out.join("E1/tables/robustness.parquet")).unwrap();
    let attacks = specreg_experiments::unique(robustness.iter().map(|r| r.attack.as_str()));
    assert_eq!(attacks, ["fgsm", "pgd40", "square60"]);
    let sanity = specreg_report::tables::read::<specreg_report::tables::SanityRow>(&out.join("E1/tables/sanity.parquet")).unwrap();
    assert!(sanity.iter().any(|c| c.check == "no gradient masking: pgd40 accuracy ≤ square60 accuracy"), "{sanity:?}");
    let summary = std::fs::read_to_string(out.join("SUMMARY.md")).unwrap();
    assert!(summary.contains("fgsm / pgd40 / square60"), "{summary}");
    // Three attacks: three robustness panels per experiment, two per row.
    let png = std::fs::read(out.join("E1/figures/robustness.png")).unwrap();
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!(height, 2 * 480 + 48);
}
