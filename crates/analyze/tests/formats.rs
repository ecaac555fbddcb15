//! The readers and the analysis on simulated data with a known spectrum.

use ndarray::Array2;
use specreg_analyze::*;
use specreg_spectrum::{RankRange, simulate};

fn request(input: &std::path::Path, out: &std::path::Path) -> Request {
    Request::new(input, out)
}

#[test]
fn npy_parquet_and_csv_give_the_same_matrix_and_spectrum() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate::gaussian_responses(500, &simulate::power_law_variances(40, 2.0), 3);
    write_npy(&dir.path().join("m.npy"), &data).unwrap();
    let f32_data = data.mapv(|v| v as f32);
    ndarray_npy_write(&dir.path().join("m32.npy"), &f32_data);
    let mut csv = (0..40).map(|j| format!("unit{j}")).collect::<Vec<_>>().join(",") + "\n";
    for row in data.rows() {
        csv += &row.iter().map(|v| format!("{v:e}")).collect::<Vec<_>>().join(",");
        csv += "\n";
    }
    std::fs::write(dir.path().join("m.csv"), csv).unwrap();
    let mut frame = polars::prelude::DataFrame::new(
        data.columns().into_iter().enumerate().map(|(j, c)| polars::prelude::Column::new(format!("u{j}").into(), c.to_vec())).collect(),
    )
    .unwrap();
    specreg_report::tables::write_table(&mut frame, &dir.path().join("m.parquet")).unwrap();

    assert_eq!(read_matrix(&dir.path().join("m.npy")).unwrap(), data);
    assert_eq!(read_matrix(&dir.path().join("m.csv")).unwrap(), data, "CSV with a header row");
    assert_eq!(read_matrix(&dir.path().join("m.parquet")).unwrap(), data);
    let from_f32 = read_matrix(&dir.path().join("m32.npy")).unwrap();
    assert!((from_f32 - &data).iter().all(|d| d.abs() < 1e-5));

    let a = analyze(&Request { ranks: Some(RankRange::new(2, 20)), ..request(&dir.path().join("m.npy"), &dir.path().join("a")) }).unwrap();
    let b = analyze(&Request { ranks: Some(RankRange::new(2, 20)), ..request(&dir.path().join("m.parquet"), &dir.path().join("b")) }).unwrap();
    assert_eq!(a.eigenvalues, b.eigenvalues);
    let fit = a.fit.as_ref().unwrap();
    assert!((fit.alpha - 2.0).abs() < 0.2 && fit.range == RankRange::new(2, 20), "{a}");
    let table = specreg_report::tables::read_table(&dir.path().join("a/spectrum.parquet")).unwrap();
    assert_eq!(table.height(), 40);
}

fn ndarray_npy_write(path: &std::path::Path, m: &Array2<f32>) {
    // The f32 form a NumPy user saves with `np.save(path, x.astype(np.float32))`.
    let bytes = {
        let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}", m.nrows(), m.ncols());
        let mut header = header.into_bytes();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header);
        out.extend(m.iter().flat_map(|v| v.to_le_bytes()));
        out
    };
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn two_repeats_give_the_cross_validated_signal_spectrum() {
    // Signal with a 1/n spectrum shared by both repeats, plus independent noise of equal power in each.
    let (rows, units) = (4000, 100);
    let signal = simulate::gaussian_responses(rows, &simulate::power_law_variances(units, 1.0), 5);
    let noise = |seed| simulate::gaussian_responses(rows, &vec![0.05; units], seed);
    let dir = tempfile::tempdir().unwrap();
    write_npy(&dir.path().join("r1.npy"), &(&signal + &noise(6))).unwrap();
    write_npy(&dir.path().join("r2.npy"), &(&signal + &noise(7))).unwrap();
    let plain = analyze(&request(&dir.path().join("r1.npy"), &dir.path().join("plain"))).unwrap();
    let cv = analyze(&Request { repeat: Some(dir.path().join("r2.npy")), input_dim: Some(1), ..request(&dir.path().join("r1.npy"), &dir.path().join("cv")) })
        .unwrap();
    let (plain_alpha, cv_alpha) = (plain.fit.as_ref().unwrap().alpha, cv.fit.as_ref().unwrap().alpha);
    // Noise flattens the plain spectrum's tail; cvPCA recovers the signal's exponent.
    assert!((cv_alpha - 1.0).abs() < 0.15 && plain_alpha < cv_alpha - 0.15, "plain {plain_alpha}, cross-validated {cv_alpha}");
    assert!(cv.to_string().contains("α_c = 3.000 (below: not smooth)"), "{cv}");
}

#[test]
fn bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, "a,b\n1,2\n3,x\n").unwrap();
    let err = read_matrix(&path).unwrap_err().to_string();
    assert!(err.contains("bad.csv") && err.contains("line 3"), "{err}");
    std::fs::write(&path, "1,2\n3\n").unwrap();
    assert!(read_matrix(&path).unwrap_err().to_string().contains("line 2: 1 fields"));
    let txt = dir.path().join("data.txt");
    std::fs::write(&txt, "1").unwrap();
    assert!(read_matrix(&txt).unwrap_err().to_string().contains("unknown extension"));
    let npy = dir.path().join("vector.npy");
    std::fs::write(&npy, b"not numpy").unwrap();
    assert!(read_matrix(&npy).unwrap_err().to_string().contains("vector.npy: not a .npy file"));
    // The shape, the type and a truncation are each named.
    let array = |descr: &str, shape: &str, values: usize| {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}").into_bytes();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header);
        out.extend(std::iter::repeat_n(0u8, values * 8));
        std::fs::write(&npy, out).unwrap();
        read_matrix(&npy).unwrap_err().to_string()
    };
    assert!(array("<f8", "(5,)", 5).contains("a 1-D array of shape [5]: expected a 2-D matrix"), "{}", array("<f8", "(5,)", 5));
    assert!(array("<f8", "(2, 3, 4)", 24).contains("a 3-D array"));
    assert!(array("<i8", "(3, 3)", 9).contains("dtype <i8: expected float32 or float64"));
    assert!(array("<f8", "(30, 30)", 100).contains("truncated: its header announces 30 × 30 values (7200 bytes), the file holds 800 bytes"));
    let missing = read_matrix(&dir.path().join("absent.npy")).unwrap_err().to_string();
    assert!(missing.contains("absent.npy") && missing.contains("No such file"), "{missing}");
}

#[test]
fn degenerate_requests_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let constant = dir.path().join("constant.npy");
    write_npy(&constant, &Array2::from_elem((50, 8), 3.0)).unwrap();
    let out = dir.path().join("out");
    let err = analyze(&request(&constant, &out)).unwrap_err().to_string();
    assert!(err.contains("the data do not vary"), "{err}");
    assert!(!out.exists(), "nothing written");
    let data = dir.path().join("data.npy");
    write_npy(&data, &simulate::gaussian_responses(200, &simulate::power_law_variances(40, 1.0), 1)).unwrap();
    let err = analyze(&Request { ranks: Some(RankRange::new(1, 100_000)), ..request(&data, &out) }).unwrap_err().to_string();
    assert!(err.contains("ranks 1–100000 go beyond its 40 eigenvalues"), "{err}");
    analyze(&request(&data, &out)).unwrap();
    let again = analyze(&request(&data, &out)).unwrap_err().to_string();
    assert!(again.contains("already holds the results") && again.contains("--force"), "{again}");
    analyze(&Request { overwrite: true, ..request(&data, &out) }).unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    assert!(analyze(&request(&data, &file)).unwrap_err().to_string().contains("exists and is not a directory"));
}
