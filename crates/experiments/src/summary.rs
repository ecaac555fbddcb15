//! `OUT/SUMMARY.md`: the claims of PROTOCOL §3 and what each experiment measured, rebuilt from the
//! tables alone.

use std::path::Path;

use specreg_report::write_file_atomically;

use crate::catalog::{EXPERIMENTS, Kind};
use crate::claims;
use crate::error::{Error, Result, read_to_string};
use crate::profile::workspace_root;
use crate::report;
use crate::store::ExperimentDir;

/// Rebuilds `out/SUMMARY.md` from the tables and manifests under `out`.
pub fn write_summary(out: &Path) -> Result<()> {
    let mut text = String::from("# specreg reproduction summary\n\n");
    text += &format!("Code version {}. Each section is rebuilt from `<experiment>/tables/*.parquet`.\n\n", git_revision());
    if let Some(plan) = std::fs::read_to_string(out.join(crate::reproduce::PLAN_FILE)).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()) {
        text += &plan_section(&plan);
    }
    text += &claims::section(&claims::judge(&claims::read_tables(out)?));
    text += "\n## Experiments\n\n";
    for spec in EXPERIMENTS {
        let id = spec.id;
        let dir = ExperimentDir::new(out, id);
        if !dir.manifest().is_file() {
            text += &format!("### {id}\n\nNot run (not in the profile used, or not finished; `cargo xtask reproduce --only {id}`).\n\n");
            continue;
        }
        let manifest: serde_json::Value = serde_json::from_str(&read_to_string(&dir.manifest())?).map_err(|source| Error::Json { path: dir.manifest(), source })?;
        text += &format!(
            "### {id}\n\n{} ({}). Profile `{}`, {:.1} s, backend {}. Figures: `{id}/figures/`.\n\n",
            spec.title,
            spec.section,
            manifest["profile"].as_str().unwrap_or("?"),
            manifest["wall_seconds"].as_f64().unwrap_or(f64::NAN),
            manifest["backend"].as_str().unwrap_or("?"),
        );
        for d in manifest["datasets"].as_array().into_iter().flatten() {
            if d["status"].as_str() != Some("ran") {
                text += &format!("- {}: {}\n", d["dataset"].as_str().unwrap_or("?"), d["status"].as_str().unwrap_or("?"));
            }
        }
        for (list, what) in [("failed_runs", "FAILED (diverged; `runs/<dataset>/<run>.failed.json` has the error; delete it to retry)"), ("missing_runs", "missing (not trained yet)")] {
            let runs: Vec<&str> = manifest[list].as_array().into_iter().flatten().filter_map(|r| r.as_str()).collect();
            if !runs.is_empty() {
                text += &format!("- {} runs {what}: {}\n", runs.len(), runs.join(", "));
            }
        }
        text += &match &spec.kind {
            Kind::Theory(theory) => (theory.summary)(&dir)?,
            Kind::Training(_) if dir.table("training").is_file() => report::summary(&dir, spec)?,
            Kind::Training(_) => "No runs.\n".into(),
        };
        // The figures, embedded: wherever SUMMARY.md is rendered, a reader sees them beside the tables.
        let figures: Vec<String> = spec.figure_names().into_iter().filter(|name| dir.figure(name).is_file()).map(|name| format!("![{id} {name}]({id}/figures/{name}.png)")).collect();
        if !figures.is_empty() {
            text += &format!("\n{}\n", figures.join("\n"));
        }
        text += "\n";
    }
    write_file_atomically(&out.join("SUMMARY.md"), &text)?;
    Ok(())
}

/// The git revision of the workspace, with "+dirty" when it has uncommitted changes; "unknown" outside git.
pub fn git_revision() -> String {
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

/// The plan the results came from: runs and estimated time, per experiment.
fn plan_section(plan: &serde_json::Value) -> String {
    let seconds = |v: &serde_json::Value| crate::schedule::duration(v.as_f64().unwrap_or(f64::NAN));
    let mut text = format!(
        "## Plan\n\nProfile `{}` on {}: {} runs ({} trained; identical runs once), estimated {} of compute (throughputs from {}).\n\n| experiment | runs | estimated time |\n|---|---|---|\n",
        plan["profile"].as_str().unwrap_or("?"),
        plan["backend"].as_str().unwrap_or("?"),
        plan["total_runs"],
        plan["total_jobs"],
        seconds(&plan["total_seconds"]),
        plan["calibration"]["source"].as_str().unwrap_or("?"),
    );
    for e in plan["experiments"].as_array().into_iter().flatten() {
        text += &format!("| {} | {} | {} |\n", e["id"].as_str().unwrap_or("?"), e["runs"], seconds(&e["seconds"]));
    }
    text + "\n"
}
