//! `cargo xtask reproduce --profile smoke` end to end (the implemented theory experiments), resuming,
//! and re-plotting from tables.

use std::path::Path;
use std::process::Command;

use specreg_report::tables;

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().expect("xtask runs")
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn smoke_profile_writes_tables_figures_manifests_and_summary_then_resumes() {
    let out = tempfile::tempdir().unwrap();
    let out_s = out.path().to_str().unwrap();
    let run = xtask(&["reproduce", "--profile", "smoke", "--out", out_s]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("E1      not implemented yet"), "{stdout}");

    // T1: every layer of both input distributions has a full spectrum.
    let spectra = tables::read_spectra(&out.path().join("T1/tables/spectra.parquet")).unwrap();
    assert_eq!(spectra.len(), 2 * 6 * 120);
    assert!(spectra.iter().all(|r| r.experiment == "T1" && r.eigenvalue.is_finite()));
    let fits = tables::read_fits(&out.path().join("T1/tables/fits.parquet")).unwrap();
    assert!(fits.iter().all(|f| f.alpha_hat > 0.0 && (0.0..=1.0).contains(&f.r2)), "{fits:?}");
    assert_eq!(png_size(&out.path().join("T1/figures/random_network_spectra.png")), (1280, 528));

    // T2: the embedding's fitted exponent tracks the α it was built with.
    let fits = tables::read_fits(&out.path().join("T2/tables/fits.parquet")).unwrap();
    assert_eq!(fits.len(), 5);
    for f in &fits {
        let alpha: f64 = f.variant.trim_start_matches("alpha=").parse().unwrap();
        assert!((f.alpha_hat - alpha).abs() < 0.25 * alpha.max(1.0), "{f:?}");
    }
    let projections = tables::read_projections(&out.path().join("T2/tables/projections.parquet")).unwrap();
    assert_eq!(projections.len(), 5 * 3 * 400);
    assert_eq!(png_size(&out.path().join("T2/figures/smoothness_projections.png")), (1920, 1008));

    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.path().join("T1/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["profile"], "smoke");
    assert_eq!(manifest["config"]["width"], 120);
    let summary = std::fs::read_to_string(out.path().join("SUMMARY.md")).unwrap();
    assert!(summary.contains("C3 E1") && summary.contains("not measured") && summary.contains("| layer06 |"), "{summary}");

    // A second run finds both experiments finished and redoes nothing.
    let modified = std::fs::metadata(out.path().join("T1/tables/spectra.parquet")).unwrap().modified().unwrap();
    let again = xtask(&["reproduce", "--profile", "smoke", "--out", out_s]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success());
    assert!(stdout.contains("T1      finished earlier") && stdout.contains("T2      finished earlier"), "{stdout}");
    assert_eq!(std::fs::metadata(out.path().join("T1/tables/spectra.parquet")).unwrap().modified().unwrap(), modified);

    // An interrupted experiment (no manifest) is run again; figures redraw from tables alone.
    std::fs::remove_file(out.path().join("T2/manifest.json")).unwrap();
    std::fs::remove_file(out.path().join("T2/figures/smoothness_projections.png")).unwrap();
    let resumed = xtask(&["reproduce", "--profile", "smoke", "--out", out_s, "--only", "T1,T2"]);
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(stdout.contains("T1      finished earlier") && stdout.contains("T2      done"), "{stdout}");
    std::fs::remove_file(out.path().join("T1/figures/random_network_spectra.png")).unwrap();
    assert!(xtask(&["figures", "--results", out_s]).status.success());
    assert_eq!(png_size(&out.path().join("T1/figures/random_network_spectra.png")), (1280, 528));
}

#[test]
fn unimplemented_or_unknown_experiments_and_bad_profiles_are_refused() {
    let out = tempfile::tempdir().unwrap();
    let out_s = out.path().to_str().unwrap();
    let e1 = xtask(&["reproduce", "--profile", "smoke", "--only", "E1", "--out", out_s]);
    assert!(!e1.status.success());
    assert!(String::from_utf8_lossy(&e1.stderr).contains("E1 is not implemented yet"));
    let unknown = xtask(&["reproduce", "--profile", "smoke", "--only", "E9", "--out", out_s]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown experiment"));

    let bad = out.path().join("bad.json");
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles/smoke.json")).unwrap();
    std::fs::write(&bad, text.replace("\"width\": 120", "\"width\": 0")).unwrap();
    let refused = xtask(&["reproduce", "--profile", bad.to_str().unwrap(), "--out", out_s]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("width"));
    assert!(!out.path().join("SUMMARY.md").exists(), "nothing written for an invalid profile");
}
