//! `OUT/SUMMARY.md`: the plan, the claims of docs/protocol.md §3 and what each experiment measured,
//! rebuilt from the tables and manifests alone.

use specreg_report::write_file_atomically;

use crate::catalog::Kind;
use crate::claims;
use crate::error::Result;
use crate::manifest::{Manifest, PlanSummary, duration};
use crate::out_dir::OutDir;
use crate::profile::{Scale, workspace_root};
use crate::registry::Registry;
use crate::report;

/// Rebuilds `OUT/SUMMARY.md` from the tables and manifests under `out`.
pub fn write_summary(registry: &Registry, out: &OutDir) -> Result<()> {
    let mut text = String::from("# specreg reproduction summary\n\n");
    text += &format!("Code version {}. Each section is rebuilt from `<experiment>/tables/*.parquet`; the protocol is docs/protocol.md.\n\n", git_revision());
    let manifests: Vec<(usize, Manifest)> =
        registry.experiments.iter().enumerate().filter_map(|(k, spec)| Manifest::read(&out.experiment(spec.id).manifest()).ok().map(|m| (k, m))).collect();
    let scale = manifests.iter().find_map(|(_, m)| m.scale).unwrap_or(Scale::Reduced);
    if let Ok(plan) = PlanSummary::read(&out.plan()) {
        text += &plan_section(&plan);
    }
    text += &claims::section(registry, &claims::judge(registry, &claims::read_tables(out)?), scale.caveat());
    text += "\n## Experiments\n\n";
    for (k, spec) in registry.experiments.iter().enumerate() {
        let id = spec.id;
        let dir = out.experiment(id);
        let Some((_, manifest)) = manifests.iter().find(|(m, _)| *m == k) else {
            text += &format!("### {id}\n\nNot run (not in the profile used, or not finished; `cargo xtask reproduce --only {id}`).\n\n");
            continue;
        };
        text += &format!(
            "### {id}\n\n{} ({}). Profile `{}`, {:.1} s, backend {}. Figures: `{id}/figures/`.\n\n",
            spec.title, spec.reference, manifest.profile, manifest.wall_seconds, manifest.backend
        );
        let mut notes = String::new();
        for d in manifest.datasets.iter().filter(|d| !d.ran()) {
            notes += &format!("- {}: {}\n", d.dataset, d.status);
        }
        for (runs, what) in [
            (&manifest.failed_runs, "FAILED (diverged; `runs/<dataset>/<run>.failed.json` has the error; delete it to retry)"),
            (&manifest.missing_runs, "missing (not trained yet)"),
        ] {
            if !runs.is_empty() {
                notes += &format!("- {} runs {what}: {}\n", runs.len(), runs.join(", "));
            }
        }
        if !notes.is_empty() {
            text += &notes;
            text += "\n";
        }
        text += &match &spec.kind {
            Kind::Theory(theory) => (theory.summary)(&dir)?,
            Kind::Training(_) if dir.table("training").is_file() => report::summary(&dir, spec, manifest.scale == Some(Scale::Smoke))?,
            Kind::Training(_) => "No runs.\n".into(),
        };
        // The figures, embedded: wherever SUMMARY.md is rendered, a reader sees them beside the tables.
        let figures: Vec<String> =
            spec.figure_names().into_iter().filter(|name| dir.figure(name).is_file()).map(|name| format!("![{id} {name}]({id}/figures/{name}.png)")).collect();
        if !figures.is_empty() {
            text += &format!("\n{}\n", figures.join("\n"));
        }
        text += "\n";
    }
    write_file_atomically(&out.summary(), &text)?;
    Ok(())
}

/// The git revision of the workspace, with "+dirty" when it has uncommitted changes; outside git, the
/// `REVISION` file a packed folder carries (`bench/gpu/prepare.sh`), else "unknown".
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
        None => std::fs::read_to_string(workspace_root().join("REVISION")).map(|r| r.trim().to_string()).unwrap_or_else(|_| "unknown".into()),
    }
}

/// The plan the results came from: runs and estimated time, per experiment.
fn plan_section(plan: &PlanSummary) -> String {
    let mut text = format!(
        "## Plan\n\nProfile `{}` on {} ({}): {} runs ({} trained; identical runs once), estimated {} of compute ({} of {} jobs priced from epochs measured on this machine; the rest from {}).\n\n| experiment | runs | estimated time |\n|---|---|---|\n",
        plan.profile,
        plan.backend,
        plan.processor,
        plan.total_runs,
        plan.total_jobs,
        duration(plan.total_seconds),
        plan.calibration.measured_jobs,
        plan.total_jobs,
        plan.calibration.source,
    );
    for e in &plan.experiments {
        text += &format!("| {} | {} | {} |\n", e.id, e.runs, duration(e.seconds));
    }
    text + "\n"
}
