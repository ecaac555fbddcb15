//! A newcomer's first hour: data fetched on first use (from a local HTTP server standing in for the
//! mirror), and every bad input answered with a message that names the problem (MNIST from
//! `$SPECREG_DATA_DIR`).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    specreg_data::locate_data_dir(None, env!("CARGO_MANIFEST_DIR").as_ref())
}

fn xtask(args: &[&str]) -> anyhow::Result<std::process::ExitCode> {
    xtask::run(std::iter::once("xtask").chain(args.iter().copied()))
}

fn smoke() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles/smoke.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write_profile(dir: &Path, name: &str, profile: &serde_json::Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, profile.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

/// Serves the files under `root` over HTTP on 127.0.0.1 (GET only, whole files): a dataset mirror.
fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
            let reply = match std::fs::read(root.join(&path)) {
                Ok(body) => [format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes(), body].concat(),
                Err(_) => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&reply);
        }
    });
    url
}

#[test]
fn a_fresh_data_directory_is_filled_from_the_mirror_and_offline_says_why_nothing_ran() {
    let empty = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let (data, out_s) = (empty.path().to_str().unwrap(), out.path().to_str().unwrap());
    // Offline with no data: nothing could train, the exit status says so, and nothing is written.
    let code = xtask(&["reproduce", "--profile", "smoke", "--only", "E1", "--offline", "--data-dir", data, "--out", out_s]).unwrap();
    assert_eq!(code, std::process::ExitCode::FAILURE);
    for leftover in ["E1", "plan.json", "SUMMARY.md"] {
        assert!(!out.path().join(leftover).exists(), "{leftover} written although nothing ran");
    }

    // With a mirror (a directory laid out like a data directory, over HTTP): fetched, verified, run.
    let mirror = serve(data_dir());
    let code = xtask(&["reproduce", "--profile", "smoke", "--only", "E1", "--data-dir", data, "--out", out_s, "--mirror", &mirror]).unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    for file in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        let fetched = std::fs::read(empty.path().join("mnist").join(file)).unwrap();
        assert_eq!(fetched, std::fs::read(data_dir().join("mnist").join(file)).unwrap(), "{file}");
    }
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.path().join("E1/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["datasets"][0]["status"], "ran");
    assert!(manifest["plan"]["runs"].as_u64() == Some(2), "the manifest holds its part of the plan: {manifest}");
    let summary = std::fs::read_to_string(out.path().join("SUMMARY.md")).unwrap();
    assert!(summary.contains("## Plan") && summary.contains("| E1 | 2 |"), "{summary}");
}

#[test]
fn a_missing_file_is_named_as_missing_not_as_a_checksum_failure() {
    let data = tempfile::tempdir().unwrap();
    let mnist = data.path().join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    for file in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"] {
        std::fs::copy(data_dir().join("mnist").join(file), mnist.join(file)).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let err = xtask(&[
        "reproduce",
        "--profile",
        "smoke",
        "--only",
        "E1",
        "--offline",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ])
    .unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains("missing t10k-labels-idx1-ubyte.gz") && !message.contains("checksum"), "{message}");
}

#[test]
fn a_bad_setting_in_a_late_section_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (section, setting, value, needle) in [
        ("s3", "learning_rate", serde_json::json!(0.0), "section `s3`: learning_rate: is 0; must be finite and > 0"),
        ("e2_mlp", "test_examples", serde_json::json!(0), "section `e2_mlp`: test_examples: must be ≥ 1"),
        ("e3_cnn", "batch_size", serde_json::json!(200), "batch size 200 is below the width 225"),
        ("e1", "batch_size", serde_json::json!("100"), "section `e1`: batch_size: invalid type: string \"100\", expected usize"),
    ] {
        let mut profile = smoke();
        profile[section][setting] = value;
        let path = write_profile(dir.path(), "bad.json", &profile);
        let err = xtask(&["reproduce", "--profile", &path, "--out", out.to_str().unwrap(), "--offline"]).unwrap_err();
        let message = xtask::message(&err);
        assert!(message.contains(needle) && message.contains("bad.json"), "{section}.{setting}: {message}");
        assert_eq!(xtask::exit_status(&err), 2, "a bad setting is bad usage");
        assert!(!out.exists(), "nothing was written for an invalid profile");
    }
}

#[test]
fn out_on_a_regular_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("results");
    std::fs::write(&file, b"not a directory").unwrap();
    let err = xtask(&["reproduce", "--profile", "smoke", "--only", "T2", "--out", file.to_str().unwrap()]).unwrap_err();
    assert!(format!("{err:#}").contains(&format!("--out {} exists and is not a directory", file.display())), "{err:#}");
    assert_eq!(xtask::exit_status(&err), 2);
}

#[test]
fn a_diverging_run_is_reported_as_failed_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut profile = smoke();
    profile["e1"]["learning_rate"] = serde_json::json!(1e9);
    let path = write_profile(dir.path(), "diverging.json", &profile);
    let out = dir.path().join("out");
    // A temporary file a killed process left behind (its pid cannot exist on Linux).
    let stale = out.join("E1/runs/mnist").join(format!(".Vanilla-b0-s0.json.tmp-{}-4194305-0.json", specreg_files::host_name()));
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, b"{half").unwrap();
    let data = data_dir();
    let code = xtask(&["reproduce", "--profile", &path, "--only", "E1,S1", "--out", out.to_str().unwrap(), "--data-dir", data.to_str().unwrap()]).unwrap();
    assert_eq!(code, std::process::ExitCode::FAILURE, "failed runs make the exit status 1");
    assert!(!stale.exists(), "stale temporary files are removed");
    let failure: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("E1/runs/mnist/Vanilla-b0-s0.failed.json")).unwrap()).unwrap();
    let error = failure["error"].as_str().unwrap();
    assert!(error.contains("epoch 0, batch") && (error.contains("diverged") || error.contains("non-finite")), "{error}");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("E1/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["failed_runs"].as_array().unwrap().len(), 2, "{manifest}");
    // S1 (sane settings) went on and finished.
    assert_eq!(specreg_report::tables::read::<specreg_report::tables::TrainingRow>(&out.join("S1/tables/training.parquet")).unwrap().len(), 4);
    let summary = std::fs::read_to_string(out.join("SUMMARY.md")).unwrap();
    assert!(summary.contains("2 runs FAILED (diverged"), "{summary}");
    // A rerun does not retry what would diverge again.
    xtask(&["reproduce", "--profile", &path, "--only", "E1", "--out", out.to_str().unwrap(), "--data-dir", data.to_str().unwrap()]).unwrap();
    assert!(out.join("E1/runs/mnist/Vanilla-b0-s0.failed.json").is_file());
}
