//! `cargo xtask reproduce` and `cargo xtask figures`: from raw data to `results/`.
//!
//! Each experiment writes `OUT/<id>/tables/*.parquet`, then its figures from those tables, then
//! `OUT/<id>/manifest.json` last. A manifest marks a finished run: rerunning skips experiments whose
//! manifest matches the current configuration, so an interrupted `reproduce` resumes where it stopped.
//! `OUT/SUMMARY.md` is rebuilt from the tables every time.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::json;

use crate::data::DataDirArg;
use crate::experiments::{ExperimentDir, t1, t2};
use crate::profile::{Profile, workspace_root};

/// Every experiment of PROTOCOL.md §2, in the order they run; `None` marks one not implemented yet.
const EXPERIMENTS: [(&str, Option<Implemented>); 11] = [
    ("E1", None),
    ("E2-MLP", None),
    ("E2-CNN", None),
    ("E3-MLP", None),
    ("E3-CNN", None),
    ("S1", None),
    ("S2", None),
    ("S3", None),
    ("T1", Some(Implemented::T1)),
    ("T2", Some(Implemented::T2)),
    ("C-summary", None),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Implemented {
    T1,
    T2,
}

impl Implemented {
    fn config(self, profile: &Profile) -> serde_json::Value {
        match self {
            Implemented::T1 => serde_json::to_value(&profile.t1),
            Implemented::T2 => serde_json::to_value(&profile.t2),
        }
        .expect("configs serialise")
    }
    fn run(self, profile: &Profile, dir: &ExperimentDir) -> Result<()> {
        match self {
            Implemented::T1 => t1::run(&profile.t1, dir),
            Implemented::T2 => t2::run(&profile.t2, dir),
        }
    }
    fn figures(self, dir: &ExperimentDir) -> Result<()> {
        match self {
            Implemented::T1 => t1::figures(dir),
            Implemented::T2 => t2::figures(dir),
        }
    }
    fn summary(self, dir: &ExperimentDir) -> Result<String> {
        match self {
            Implemented::T1 => t1::summary(dir),
            Implemented::T2 => t2::summary(dir),
        }
    }
}

fn experiment_ids() -> impl Iterator<Item = (&'static str, Option<Implemented>)> {
    EXPERIMENTS.into_iter().filter(|(id, _)| *id != "C-summary")
}

#[derive(Args)]
pub struct ReproduceArgs {
    /// Comma-separated experiment ids (E1, E2-MLP, E2-CNN, E3-MLP, E3-CNN, S1, S2, S3, T1, T2) [default: all]
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// smoke, quick or paper (profiles/NAME.json), or the path of a profile file.
    #[arg(long, default_value = "paper")]
    profile: String,
    #[command(flatten)]
    data: DataDirArg,
    /// Output directory.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Compute backend for training and attacks: flex (pure-Rust CPU; the only one built by default).
    #[arg(long, default_value = "flex")]
    backend: String,
}

pub fn reproduce(args: ReproduceArgs) -> Result<ExitCode> {
    let profile = Profile::load(&args.profile)?;
    if args.backend != "flex" {
        bail!("backend {:?} is not available in this build; only `flex` is", args.backend);
    }
    let selected: Vec<(&str, Option<Implemented>)> = if args.only.is_empty() {
        experiment_ids().collect()
    } else {
        let mut chosen = Vec::new();
        for name in &args.only {
            let found = experiment_ids().find(|(id, _)| id.eq_ignore_ascii_case(name.trim()));
            match found {
                Some((id, None)) => bail!("{id} is not implemented yet; implemented: {}", implemented_ids().join(", ")),
                Some(entry) => chosen.push(entry),
                None => bail!("unknown experiment {name:?}; known: {}", experiment_ids().map(|e| e.0).collect::<Vec<_>>().join(", ")),
            }
        }
        chosen
    };
    let data_dir = args.data.resolve();
    println!("reproduce: profile {} ({}), output {}, data {}", profile.name, profile.description, args.out.display(), data_dir.display());
    for (id, implemented) in &selected {
        let Some(experiment) = implemented else {
            println!("{id:<7} not implemented yet (skipped)");
            continue;
        };
        let dir = ExperimentDir::new(&args.out, id);
        let config = experiment.config(&profile);
        if finished_with(&dir, &config) {
            println!("{id:<7} finished earlier with this configuration (skipped; delete {} to rerun)", dir.manifest().display());
            continue;
        }
        let spinner = indicatif::ProgressBar::new_spinner().with_message(format!("{id}: running"));
        spinner.enable_steady_tick(std::time::Duration::from_millis(200));
        let start = Instant::now();
        let started_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let outcome = experiment.run(&profile, &dir).and_then(|()| experiment.figures(&dir));
        spinner.finish_and_clear();
        outcome.with_context(|| format!("experiment {id}"))?;
        let seconds = start.elapsed().as_secs_f64();
        let manifest = json!({
            "experiment": id,
            "profile": profile.name,
            "config": config,
            "backend": "cpu: ndarray + faer (theory experiment, no training)",
            "datasets": {},
            "git_revision": git_revision(),
            "specreg_version": env!("CARGO_PKG_VERSION"),
            "started_at_unix": started_at,
            "wall_seconds": seconds,
        });
        specreg_report::write_atomically(&dir.manifest(), |tmp| {
            std::fs::write(tmp, serde_json::to_string_pretty(&manifest).expect("json")).map_err(|source| specreg_report::ReportError::Io { path: tmp.into(), source })
        })?;
        println!("{id:<7} done in {seconds:.1} s → {}", dir.root.display());
    }
    write_summary(&args.out)?;
    println!("summary: {}", args.out.join("SUMMARY.md").display());
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct FiguresArgs {
    /// Results directory written by `reproduce`.
    #[arg(long, default_value = "results")]
    results: PathBuf,
}

/// Redraws every figure (and SUMMARY.md) from the tables, without recomputing anything.
pub fn figures(args: FiguresArgs) -> Result<ExitCode> {
    let mut drawn = 0;
    for (id, implemented) in experiment_ids() {
        let dir = ExperimentDir::new(&args.results, id);
        if let (Some(experiment), true) = (implemented, dir.manifest().is_file()) {
            experiment.figures(&dir).with_context(|| format!("figures of {id}"))?;
            println!("{id:<7} figures redrawn from {}", dir.root.join("tables").display());
            drawn += 1;
        }
    }
    if drawn == 0 {
        bail!("no finished experiment under {}; run `cargo xtask reproduce` first", args.results.display());
    }
    write_summary(&args.results)?;
    Ok(ExitCode::SUCCESS)
}

fn implemented_ids() -> Vec<&'static str> {
    experiment_ids().filter(|(_, i)| i.is_some()).map(|(id, _)| id).collect()
}

fn finished_with(dir: &ExperimentDir, config: &serde_json::Value) -> bool {
    std::fs::read_to_string(dir.manifest())
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|m| m.get("config") == Some(config))
}

/// SUMMARY.md: the claims of PROTOCOL §3 and what each experiment measured, from the tables alone.
fn write_summary(out: &Path) -> Result<()> {
    let mut text = String::from("# specreg reproduction summary\n\n");
    text += &format!("Code version {}. Each section is rebuilt from `<experiment>/tables/*.parquet`.\n\n", git_revision());
    text += "## Claims (PROTOCOL §3)\n\n| claim | status |\n|---|---|\n";
    for (claim, needs) in [
        ("C1 vanilla hidden layers do not follow 1/n", "E1–E3"),
        ("C2 SpecReg moves regularised layers towards 1/n", "E1–E3"),
        ("C3 E1: SpecReg more robust than vanilla under FGSM and PGD", "E1"),
        ("C4 E2: last-layer SpecReg helps little; whitening removes the gain", "E2-MLP, E2-CNN"),
        ("C5 E3: all-layer SpecReg gains robustness, like Jacobian regularisation", "E3-MLP, E3-CNN"),
    ] {
        text += &format!("| {claim} | not measured: needs {needs}; training experiments are not implemented yet |\n");
    }
    text += "\n## Experiments\n\n";
    for (id, implemented) in experiment_ids() {
        let dir = ExperimentDir::new(out, id);
        match implemented {
            None => text += &format!("### {id}\n\nNot implemented yet.\n\n"),
            Some(experiment) if dir.manifest().is_file() => {
                let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.manifest())?)?;
                text += &format!(
                    "### {id}\n\nProfile `{}`, {:.1} s. Figures: `{id}/figures/`.\n\n{}\n",
                    manifest["profile"].as_str().unwrap_or("?"),
                    manifest["wall_seconds"].as_f64().unwrap_or(f64::NAN),
                    experiment.summary(&dir)?
                );
            }
            Some(_) => text += &format!("### {id}\n\nNot run (use `cargo xtask reproduce --only {id}`).\n\n"),
        }
    }
    specreg_report::write_atomically(&out.join("SUMMARY.md"), |tmp| {
        std::fs::write(tmp, &text).map_err(|source| specreg_report::ReportError::Io { path: tmp.into(), source })
    })?;
    Ok(())
}

/// The git revision of the workspace, with "+dirty" when it has uncommitted changes; "unknown" outside git.
fn git_revision() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(workspace_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(rev) if git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty()) => format!("{rev}+dirty"),
        Some(rev) => rev,
        None => "unknown".into(),
    }
}
