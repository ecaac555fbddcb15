//! Tables round-trip with their schemas; figures are real PNGs of the expected size; writes are atomic.

use specreg_report::figure::{Panel, Series, draw_panels, ramp_color, variant_color};
use specreg_report::tables::*;
use specreg_report::write_atomically;

/// Width and height from a PNG's IHDR chunk.
fn png_size(path: &std::path::Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn tables_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let spectra: Vec<SpectrumRow> = (1..=5)
        .map(|rank| SpectrumRow {
            key: specreg_report::RunKey::new("T1", "gaussian", 0.0, 7),
            layer: "layer03".into(),
            split: "random".into(),
            rank,
            eigenvalue: 1.0 / rank as f64,
        })
        .collect();
    let path = dir.path().join("tables/spectra.parquet");
    write(&spectra, &path).unwrap();
    assert_eq!(read::<SpectrumRow>(&path).unwrap(), spectra);
    let frame = read_table(&path).unwrap();
    let names: Vec<&str> = frame.get_column_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["experiment", "variant", "beta", "seed", "layer", "split", "rank", "eigenvalue"]);

    let projections = vec![ProjectionRow { experiment: "T2".into(), variant: "alpha=1".into(), alpha: 1.0, direction: 2, theta: 0.5, value: -0.25 }];
    let path = dir.path().join("projections.parquet");
    write(&projections, &path).unwrap();
    assert_eq!(read::<ProjectionRow>(&path).unwrap(), projections);
    // Reading a table with another table's reader is a schema error, not a panic.
    assert!(read::<FitRow>(&path).is_err());
}

#[test]
fn figures_are_pngs_of_the_expected_size() {
    let dir = tempfile::tempdir().unwrap();
    let curve = |a: f64| (1..=200).map(|n| (n as f64, (n as f64).powf(-a))).collect::<Vec<_>>();
    let spectra = Panel::log_log("spectra", "rank n", "λ_n / Σλ")
        .with(Series::line("α = 1", variant_color(1), curve(1.0)))
        .with(Series::unlabelled(ramp_color(0.7), curve(2.0)))
        .with(Series::line("1/n", variant_color(0), curve(1.0)).dashed());
    let lines = Panel::linear("curve", "θ", "projection").with(Series::line(
        "sin",
        variant_color(2),
        (0..100).map(|i| (i as f64 / 10.0, (i as f64 / 10.0).sin())).collect(),
    ));
    let path = dir.path().join("figures/test.png");
    draw_panels(&path, "Two panels", &[spectra, lines], 2).unwrap();
    assert_eq!(png_size(&path), (1280, 528));
    assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1, "no temporary files left");
    if let Ok(keep) = std::env::var("SPECREG_KEEP_FIGURE") {
        std::fs::copy(&path, keep).unwrap();
    }
}

#[test]
fn a_failed_write_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("table.parquet");
    let result: specreg_report::Result<()> = write_atomically(&path, |tmp| {
        std::fs::write(tmp, b"half").unwrap();
        Err(specreg_report::ReportError::Figure { path: tmp.into(), detail: "interrupted".into() })
    });
    assert!(result.is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
