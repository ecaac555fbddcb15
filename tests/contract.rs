//! What a script may rely on (README, "Exit status"): nothing asked for is accepted silently, nothing
//! a killed process leaves behind stays, and every message names the problem, the path and the cause
//! once. MNIST from `$SPECREG_DATA_DIR`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use specreg_experiments::{OutDir, Registry};

fn data_dir() -> PathBuf {
    specreg_data::locate_data_dir(None, env!("CARGO_MANIFEST_DIR").as_ref())
}

fn xtask(args: &[&str]) -> anyhow::Result<ExitCode> {
    xtask::run(std::iter::once("xtask").chain(args.iter().copied()))
}

/// The exit status `cargo xtask` ends with for this outcome.
fn status(outcome: &anyhow::Result<ExitCode>) -> u8 {
    match outcome {
        Ok(code) if *code == ExitCode::SUCCESS => 0,
        Ok(_) => 1,
        Err(e) => match e.downcast_ref::<clap::Error>() {
            Some(clap) => clap.exit_code() as u8,
            None => xtask::exit_status(e),
        },
    }
}

fn smoke() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles/smoke.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write_profile(dir: &Path, profile: &serde_json::Value) -> String {
    let path = dir.join("edited.json");
    std::fs::write(&path, serde_json::to_string_pretty(profile).unwrap()).unwrap();
    path.to_str().unwrap().to_string()
}

fn reproduce(profile: &str, out: &Path, extra: &[&str]) -> anyhow::Result<ExitCode> {
    let data = data_dir();
    let mut args = vec!["reproduce", "--profile", profile, "--offline", "--out", out.to_str().unwrap(), "--data-dir", data.to_str().unwrap()];
    args.extend(extra);
    xtask(&args)
}

#[test]
fn what_a_killed_run_leaves_behind_is_removed_by_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(status(&reproduce("smoke", &out, &["--only", "E1"])), 0);
    // Killed after its run file was written, before clean-up: a lock (its holder gone), a checkpoint,
    // and a dead writer's temporary table.
    let registry = Registry::standard();
    let profile = registry.load_profile("smoke").unwrap();
    let jobs = specreg_experiments::jobs(&registry, &profile, &[registry.find("E1").unwrap()], "flex");
    let lock = OutDir::new(&out).lock(&jobs[0].hash);
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let dead = specreg_files::LockHolder { host: specreg_files::host_name(), pid: 4_194_305, started_unix: 1, token: "dead".into() };
    std::fs::write(&lock, serde_json::to_vec(&dead).unwrap()).unwrap();
    let checkpoint = out.join("E1/checkpoints/mnist/Vanilla-b0-s0/epoch-0002");
    std::fs::create_dir_all(&checkpoint).unwrap();
    std::fs::write(checkpoint.join("model.mpk"), b"weights").unwrap();
    let temporary = out.join("E1/tables").join(format!(".fits.parquet.tmp-{}-4194305-0.parquet", specreg_files::host_name()));
    std::fs::write(&temporary, b"").unwrap();
    std::fs::remove_file(out.join("E1/manifest.json")).unwrap();
    let run_file = out.join("E1/runs/mnist/Vanilla-b0-s0.json");
    let written = std::fs::metadata(&run_file).unwrap().modified().unwrap();

    assert_eq!(status(&reproduce("smoke", &out, &["--only", "E1"])), 0);
    assert_eq!(std::fs::metadata(&run_file).unwrap().modified().unwrap(), written, "the finished run is kept");
    assert!(!lock.exists(), "the finished run's lock is removed");
    assert!(!out.join("E1/checkpoints/mnist/Vanilla-b0-s0").exists(), "the finished run's checkpoints are removed");
    assert!(!temporary.exists(), "a dead writer's temporary file is removed");
}

#[test]
fn a_lock_timeout_below_the_minimum_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for timeout in ["0", "9"] {
        let outcome = reproduce("smoke", &dir.path().join("out"), &["--only", "T2", "--lock-timeout", timeout]);
        assert_eq!(status(&outcome), 2, "--lock-timeout {timeout}");
        assert!(outcome.unwrap_err().to_string().contains("10.."), "the message says the allowed range");
    }
}

#[test]
fn settings_are_checked_against_each_other_and_the_data_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (section, setting, value, needle) in [
        ("e1", "attack_examples", serde_json::json!(500), "section `e1`: attack_examples: is 500, above the 200 test examples measured"),
        ("e1", "seeds", serde_json::json!([0, 0]), "section `e1`: seeds: lists seed 0 twice"),
        ("e1", "betas", serde_json::json!([]), "section `e1`: betas: is empty"),
        ("s1", "weight_decays", serde_json::json!([]), "section `s1`: weight_decays: is empty"),
        ("e2_mlp", "train_per_class", serde_json::json!(100_000), "train_per_class: is 100000, but mnist's smallest class has 5421 training examples"),
        ("e3_mlp", "test_examples", serde_json::json!(20_000), "test_examples: is 20000, but mnist has 10000 test examples"),
        ("s2", "attacks", serde_json::json!(["fgsm", "deepfool"]), "attacks: unknown attack \"deepfool\"; known: fgsm, pgd"),
        ("t2", "features", serde_json::json!("many"), "section `t2`: features: invalid type: string \"many\""),
    ] {
        let mut profile = smoke();
        profile[section][setting] = value;
        let path = write_profile(dir.path(), &profile);
        let outcome = reproduce(&path, &out, &[]);
        assert_eq!(status(&outcome), 2, "{section}.{setting}");
        let message = xtask::message(&outcome.unwrap_err());
        assert!(message.contains(needle) && message.contains("edited.json"), "{section}.{setting}: {message}");
        assert!(!out.exists(), "{section}.{setting}: nothing written");
    }
    // An unknown section, and an experiment asked for that the profile lacks.
    let mut profile = smoke();
    profile["e4"] = profile["e1"].clone();
    let outcome = reproduce(&write_profile(dir.path(), &profile), &out, &[]);
    assert_eq!(status(&outcome), 2);
    assert!(xtask::message(&outcome.unwrap_err()).contains("unknown section `e4`"));
    let mut profile = smoke();
    profile.as_object_mut().unwrap().remove("e1");
    let outcome = reproduce(&write_profile(dir.path(), &profile), &out, &["--only", "E1"]);
    assert_eq!(status(&outcome), 2);
    assert!(xtask::message(&outcome.unwrap_err()).contains("E1 was asked for, but"), "--only E1 without an e1 section");
    assert!(!out.exists());
}

#[test]
fn a_bad_calibration_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    for file in [&missing, &garbage] {
        let outcome = xtask(&["reproduce", "--profile", "smoke", "--plan", "--calibration", file.to_str().unwrap()]);
        assert_eq!(status(&outcome), 2);
        let message = xtask::message(&outcome.unwrap_err());
        assert!(message.contains(file.file_name().unwrap().to_str().unwrap()), "{message}");
    }
}

#[test]
fn unmet_collects_missing_data_and_empty_comparisons_are_not_success() {
    let dir = tempfile::tempdir().unwrap();
    // Collect before anything ran: every planned run is missing.
    let out = dir.path().join("out");
    assert_eq!(status(&reproduce("smoke", &out, &["--only", "E1", "--collect"])), 1);
    // A data directory that does not exist, or is a file: nothing runs, nothing is written.
    for data in [dir.path().join("absent"), dir.path().join("a-file")] {
        std::fs::write(dir.path().join("a-file"), b"x").unwrap();
        let out = dir.path().join("out-nodata");
        let outcome =
            xtask(&["reproduce", "--profile", "smoke", "--only", "E1", "--offline", "--out", out.to_str().unwrap(), "--data-dir", data.to_str().unwrap()]);
        assert_eq!(status(&outcome), 1, "{}", data.display());
        for leftover in ["E1", "plan.json", "SUMMARY.md"] {
            assert!(!out.join(leftover).exists(), "{leftover} written without data");
        }
    }
    // Two directories without tables: nothing to compare is bad usage.
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert_eq!(status(&xtask(&["compare", a.path().to_str().unwrap(), b.path().to_str().unwrap()])), 2);
}

#[test]
fn a_checksum_failure_names_the_file_and_os_errors_are_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let mnist = dir.path().join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    for file in std::fs::read_dir(data_dir().join("mnist")).unwrap().flatten().filter(|f| f.file_name().to_string_lossy().ends_with(".gz")) {
        std::fs::copy(file.path(), mnist.join(file.file_name())).unwrap();
    }
    let labels = mnist.join("t10k-labels-idx1-ubyte.gz");
    let mut bytes = std::fs::read(&labels).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&labels, bytes).unwrap();
    let out = dir.path().join("out");
    let outcome =
        xtask(&["reproduce", "--profile", "smoke", "--only", "E1", "--offline", "--out", out.to_str().unwrap(), "--data-dir", dir.path().to_str().unwrap()]);
    let message = xtask::message(&outcome.unwrap_err());
    assert!(message.contains("t10k-labels-idx1-ubyte.gz") && message.contains("SHA-256") && message.contains("expected"), "{message}");

    let outcome = xtask(&["reproduce", "--profile", dir.path().join("nope.json").to_str().unwrap()]);
    assert_eq!(status(&outcome), 2);
    let message = xtask::message(&outcome.unwrap_err());
    assert_eq!(message.matches("No such file or directory").count(), 1, "{message}");
    assert!(message.contains("nope.json"), "{message}");
}

#[test]
fn spectrum_refuses_what_has_no_spectrum() {
    let dir = tempfile::tempdir().unwrap();
    let constant = dir.path().join("constant.npy");
    specreg_analyze::write_npy(&constant, &ndarray::Array2::from_elem((40, 6), 2.0)).unwrap();
    let outcome = xtask(&["spectrum", "--input", constant.to_str().unwrap()]);
    assert_eq!(status(&outcome), 1);
    assert!(xtask::message(&outcome.unwrap_err()).contains("do not vary"));
    assert!(!dir.path().join("constant-spectrum").exists());
    let vector = dir.path().join("vector.npy");
    let header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header);
    bytes.extend([0u8; 24]);
    std::fs::write(&vector, bytes).unwrap();
    let message = xtask::message(&xtask(&["spectrum", "--input", vector.to_str().unwrap()]).unwrap_err());
    assert!(message.contains("a 1-D array"), "{message}");
}
