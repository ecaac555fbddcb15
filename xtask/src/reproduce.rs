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

use crate::backend::BackendArg;
use crate::data::DataDirArg;
use crate::experiments::training::{self, Family, TrainingSettings};
use crate::experiments::{ExperimentDir, claims, e1, e2, e3, supplementary, t1, t2, training_report};
use crate::profile::{Profile, workspace_root};

/// Every experiment of PROTOCOL.md §2, in the order they run.
const EXPERIMENTS: [Experiment; 10] = [
    Experiment::E1,
    Experiment::E2Mlp,
    Experiment::E2Cnn,
    Experiment::E3Mlp,
    Experiment::E3Cnn,
    Experiment::S1,
    Experiment::S2,
    Experiment::S3,
    Experiment::T1,
    Experiment::T2,
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Experiment {
    E1,
    E2Mlp,
    E2Cnn,
    E3Mlp,
    E3Cnn,
    S1,
    S2,
    S3,
    T1,
    T2,
}

impl Experiment {
    fn id(self) -> &'static str {
        match self {
            Experiment::E1 => "E1",
            Experiment::E2Mlp => "E2-MLP",
            Experiment::E2Cnn => "E2-CNN",
            Experiment::E3Mlp => "E3-MLP",
            Experiment::E3Cnn => "E3-CNN",
            Experiment::S1 => "S1",
            Experiment::S2 => "S2",
            Experiment::S3 => "S3",
            Experiment::T1 => "T1",
            Experiment::T2 => "T2",
        }
    }

    /// The profile's settings of a training experiment (`None`: not in this profile).
    fn training_settings(self, profile: &Profile) -> Option<&TrainingSettings> {
        match self {
            Experiment::E1 => profile.e1.as_ref(),
            Experiment::E2Mlp => profile.e2_mlp.as_ref(),
            Experiment::E2Cnn => profile.e2_cnn.as_ref(),
            Experiment::E3Mlp => profile.e3_mlp.as_ref(),
            Experiment::E3Cnn => profile.e3_cnn.as_ref(),
            Experiment::S1 => profile.s1.as_ref(),
            Experiment::S2 => profile.s2.as_ref(),
            Experiment::S3 => profile.s3.as_ref(),
            Experiment::T1 | Experiment::T2 => None,
        }
    }

    fn is_training(self) -> bool {
        !matches!(self, Experiment::T1 | Experiment::T2)
    }

    /// The configuration recorded in the manifest; `None` when the profile leaves the experiment out.
    fn config(self, profile: &Profile) -> Option<serde_json::Value> {
        match self {
            Experiment::T1 => Some(serde_json::to_value(&profile.t1).expect("configs serialise")),
            Experiment::T2 => Some(serde_json::to_value(&profile.t2).expect("configs serialise")),
            _ => self.training_settings(profile).map(|s| serde_json::to_value(s).expect("configs serialise")),
        }
    }

    fn training<'a>(self, settings: &'a TrainingSettings) -> training::Experiment<'a> {
        match self {
            Experiment::E1 => e1::experiment(settings),
            Experiment::E2Mlp => e2::experiment("E2-MLP", Family::Mlp, settings),
            Experiment::E2Cnn => e2::experiment("E2-CNN", Family::Cnn, settings),
            Experiment::E3Mlp => e3::experiment("E3-MLP", Family::Mlp, settings),
            Experiment::E3Cnn => e3::experiment("E3-CNN", Family::Cnn, settings),
            Experiment::S1 => supplementary::s1(settings),
            Experiment::S2 => supplementary::s2(settings),
            Experiment::S3 => supplementary::s3(settings),
            Experiment::T1 | Experiment::T2 => unreachable!("theory experiments do not train"),
        }
    }

    /// Runs the experiment into `dir` (tables only); returns the datasets' outcomes.
    fn run(self, profile: &Profile, dir: &ExperimentDir, options: &training::RunOptions) -> Result<Vec<training::DatasetOutcome>> {
        match self {
            Experiment::T1 => t1::run(&profile.t1, dir).map(|()| Vec::new()),
            Experiment::T2 => t2::run(&profile.t2, dir).map(|()| Vec::new()),
            _ => {
                let settings = self.training_settings(profile).expect("checked by the caller");
                self.training(settings).run(dir, options)
            }
        }
    }

    fn figures(self, dir: &ExperimentDir) -> Result<()> {
        match self {
            Experiment::T1 => t1::figures(dir),
            Experiment::T2 => t2::figures(dir),
            _ => training_report::figures(dir, self.id()),
        }
    }

    fn summary(self, dir: &ExperimentDir) -> Result<String> {
        match self {
            Experiment::T1 => t1::summary(dir),
            Experiment::T2 => t2::summary(dir),
            _ => training_report::summary(dir),
        }
    }
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
    /// Use datasets whose files fail their SHA-256 checksums (modified or synthetic data); the manifest
    /// records every file's check.
    #[arg(long)]
    allow_unverified: bool,
    #[command(flatten)]
    backend: BackendArg,
}

pub fn reproduce(args: ReproduceArgs) -> Result<ExitCode> {
    let profile = Profile::load(&args.profile)?;
    let backend = args.backend.backend;
    // A backend this build lacks, or a GPU that cannot start, is refused before any work.
    let device = backend.device()?;
    let selected: Vec<Experiment> = if args.only.is_empty() {
        EXPERIMENTS.to_vec()
    } else {
        let mut chosen = Vec::new();
        for name in &args.only {
            match EXPERIMENTS.into_iter().find(|e| e.id().eq_ignore_ascii_case(name.trim())) {
                Some(e) => chosen.push(e),
                None => bail!("unknown experiment {name:?}; known: {}", EXPERIMENTS.map(|e| e.id()).join(", ")),
            }
        }
        chosen
    };
    let options = training::RunOptions { data_dir: args.data.resolve(), allow_unverified: args.allow_unverified, backend, device };
    println!("reproduce: profile {} ({}), output {}, data {}, backend {}", profile.name, profile.description, args.out.display(), options.data_dir.display(), backend.describe());
    for experiment in selected {
        let id = experiment.id();
        let Some(config) = experiment.config(&profile) else {
            println!("{id:<7} not in profile {} (skipped)", profile.name);
            continue;
        };
        let dir = ExperimentDir::new(&args.out, id);
        if finished_with(&dir, &config) {
            println!("{id:<7} finished earlier with this configuration (skipped; delete {} to rerun)", dir.manifest().display());
            continue;
        }
        let start = Instant::now();
        let started_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let spinner = (!experiment.is_training()).then(|| {
            let s = indicatif::ProgressBar::new_spinner().with_message(format!("{id}: running"));
            s.enable_steady_tick(std::time::Duration::from_millis(200));
            s
        });
        let outcome = experiment.run(&profile, &dir, &options).and_then(|datasets| experiment.figures(&dir).map(|()| datasets));
        if let Some(s) = spinner {
            s.finish_and_clear();
        }
        let datasets = outcome.with_context(|| format!("experiment {id}"))?;
        let seconds = start.elapsed().as_secs_f64();
        let complete = datasets.iter().all(|d| d.status == "ran");
        let manifest = json!({
            "experiment": id,
            "profile": profile.name,
            "config": config,
            "complete": complete,
            "backend": if experiment.is_training() { backend.describe() } else { "cpu: ndarray + faer (theory experiment, no training)" },
            "datasets": datasets,
            "git_revision": git_revision(),
            "specreg_version": env!("CARGO_PKG_VERSION"),
            "started_at_unix": started_at,
            "wall_seconds": seconds,
        });
        specreg_report::write_file_atomically(&dir.manifest(), serde_json::to_string_pretty(&manifest).expect("json"))?;
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
    for experiment in EXPERIMENTS {
        let id = experiment.id();
        let dir = ExperimentDir::new(&args.results, id);
        if dir.manifest().is_file() {
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

fn finished_with(dir: &ExperimentDir, config: &serde_json::Value) -> bool {
    std::fs::read_to_string(dir.manifest())
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|m| m.get("config") == Some(config) && m.get("complete").and_then(|c| c.as_bool()).unwrap_or(true))
}

/// SUMMARY.md: the claims of PROTOCOL §3 and what each experiment measured, from the tables alone.
fn write_summary(out: &Path) -> Result<()> {
    let mut text = String::from("# specreg reproduction summary\n\n");
    text += &format!("Code version {}. Each section is rebuilt from `<experiment>/tables/*.parquet`.\n\n", git_revision());
    text += &claims::section(out)?;
    text += "\n## Experiments\n\n";
    for experiment in EXPERIMENTS {
        let id = experiment.id();
        let dir = ExperimentDir::new(out, id);
        if !dir.manifest().is_file() {
            text += &format!("### {id}\n\nNot run (not in the profile used, or not finished; `cargo xtask reproduce --only {id}`).\n\n");
            continue;
        }
        let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.manifest())?)?;
        text += &format!(
            "### {id}\n\nProfile `{}`, {:.1} s, backend {}. Figures: `{id}/figures/`.\n\n",
            manifest["profile"].as_str().unwrap_or("?"),
            manifest["wall_seconds"].as_f64().unwrap_or(f64::NAN),
            manifest["backend"].as_str().unwrap_or("?"),
        );
        for d in manifest["datasets"].as_array().into_iter().flatten() {
            if d["status"].as_str() != Some("ran") {
                text += &format!("- {}: {}\n", d["dataset"].as_str().unwrap_or("?"), d["status"].as_str().unwrap_or("?"));
            }
        }
        let has_runs = !experiment.is_training() || dir.table("training").is_file();
        text += &if has_runs { experiment.summary(&dir)? } else { "No runs.\n".into() };
        text += "\n";
    }
    specreg_report::write_file_atomically(&out.join("SUMMARY.md"), &text)?;
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
