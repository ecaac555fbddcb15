//! Several `cargo xtask reproduce` processes on one output directory, as on a cluster with a shared file
//! system: every run is trained once, a killed holder's run is taken over and resumed from its
//! checkpoint, and the tables equal those of a single process (MNIST from `$SPECREG_DATA_DIR`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use specreg_report::{Tolerance, compare_results};

fn data_dir() -> PathBuf {
    specreg_data::locate_data_dir(None, env!("CARGO_MANIFEST_DIR").as_ref())
}

/// One `reproduce` process working alone (`--workers 1`): the tests below start the others themselves.
fn reproduce(out: &Path, profile: &str, only: &str) -> Command {
    with_workers(out, profile, only, 1)
}

fn with_workers(out: &Path, profile: &str, only: &str, workers: u32) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(["reproduce", "--offline", "--workers", &workers.to_string(), "--profile", profile, "--only", only, "--out"])
        .arg(out)
        .arg("--data-dir")
        .arg(data_dir());
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

fn finish(child: Child) -> String {
    let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&stdout).into_owned() + &String::from_utf8_lossy(&stderr);
    assert!(status.success(), "reproduce failed:\n{text}");
    text
}

/// Runs trained by a process, by the label of their "done in" line (`E1/mnist SpecReg-b2-s0`).
fn trained(output: &str) -> Vec<String> {
    output.lines().filter_map(|l| l.split_once(": done in")).map(|(label, _)| label.split(" [").next().unwrap().to_string()).collect()
}

fn smoke_profile() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles/smoke.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The smoke profile with a longer E1 (`epochs` over `per_class` images of each digit), written into `dir`.
fn longer_e1(dir: &Path, epochs: u32, per_class: u32) -> PathBuf {
    let mut profile = smoke_profile();
    profile["e1"]["epochs"] = epochs.into();
    profile["e1"]["train_per_class"] = per_class.into();
    let path = dir.join("longer.json");
    std::fs::write(&path, profile.to_string()).unwrap();
    path
}

fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(temporaries(&path));
        } else if entry.file_name().to_string_lossy().contains(".tmp-") {
            found.push(path);
        }
    }
    found
}

fn assert_same_tables(single: &Path, shared: &Path) {
    let comparison = compare_results(single, shared, &["seconds"], Tolerance::EXACT).unwrap();
    assert!(comparison.equal() && comparison.cells > 0, "{comparison}");
}

#[test]
fn two_processes_share_one_output_directory() {
    let only = "E1,E2-MLP,E3-MLP";
    let single = tempfile::tempdir().unwrap();
    let alone = finish(reproduce(single.path(), "smoke", only).spawn().unwrap());

    let shared = tempfile::tempdir().unwrap();
    let (a, b) = (reproduce(shared.path(), "smoke", only).spawn().unwrap(), reproduce(shared.path(), "smoke", only).spawn().unwrap());
    let (a, b) = (finish(a), finish(b));
    assert!(!trained(&a).is_empty() || !trained(&b).is_empty());
    assert_shared_equals_single(&alone, &[&a, &b], single.path(), shared.path());
}

/// Every run `alone` trained was trained exactly once across `outputs` (what the sharing processes
/// printed), the shared tables equal the single process's, and nothing was left behind.
fn assert_shared_equals_single(alone: &str, outputs: &[&str], single: &Path, shared: &Path) {
    let mut all: Vec<String> = outputs.iter().flat_map(|o| trained(o)).collect();
    all.sort();
    let mut expected = trained(alone);
    expected.sort();
    let printed: Vec<String> = outputs.iter().enumerate().map(|(k, o)| format!("--- process {} ---\n{o}", k + 1)).collect();
    assert_eq!(all, expected, "every run trained exactly once between the processes\n{}", printed.join("\n"));
    assert_same_tables(single, shared);
    assert!(temporaries(shared).is_empty(), "{:?}", temporaries(shared));
    assert!(std::fs::read_dir(shared.join(".locks")).map_or(0, |d| d.count()) == 0, "locks released");
}

/// What the helpers of `--workers` printed, from their logs under `OUT/workers/`.
fn helper_logs(out: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(out.join("workers")).into_iter().flatten().flatten() {
        text += &std::fs::read_to_string(entry.path()).unwrap();
    }
    text
}

#[test]
fn workers_of_one_command_split_its_runs_and_write_one_process_tables() {
    let only = "E1,E2-MLP,E3-MLP,T1,T2";
    let single = tempfile::tempdir().unwrap();
    let alone = finish(reproduce(single.path(), "smoke", only).spawn().unwrap());

    let shared = tempfile::tempdir().unwrap();
    let output = finish(with_workers(shared.path(), "smoke", only, 2).spawn().unwrap());
    assert!(output.contains("2 workers of"), "{output}");
    let helpers = helper_logs(shared.path());
    assert!(!trained(&output).is_empty() && !trained(&helpers).is_empty(), "both processes train\n--- this ---\n{output}\n--- helper ---\n{helpers}");
    // The theory experiments are the first process's, done before it takes a run.
    let line = |find: &dyn Fn(&str) -> bool| output.lines().position(find);
    let theory = line(&|l| l.starts_with("T1 ") && l.contains("done in"));
    let first_run = line(&|l| l.contains("/mnist ") && l.contains(": done in"));
    assert!(theory.is_some() && theory < first_run, "{output}");
    assert!(!helpers.lines().any(|l| l.starts_with("T1 ") || l.starts_with("T2 ")), "{helpers}");
    assert_shared_equals_single(&alone, &[&output, &helpers], single.path(), shared.path());
}

#[test]
fn a_helper_stops_when_the_process_that_started_it_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let path = longer_e1(dir.path(), 40, 500);
    let out = tempfile::tempdir().unwrap();
    let printed = dir.path().join("printed.txt");
    let file = std::fs::File::create(&printed).unwrap();
    let mut starter = with_workers(out.path(), path.to_str().unwrap(), "E1", 2).stdout(file).stderr(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    let helper: u32 = loop {
        let text = std::fs::read_to_string(&printed).unwrap();
        if let Some(pid) = text.lines().find_map(|l| l.strip_prefix("worker 2: pid ")).and_then(|rest| rest.split(',').next()) {
            break pid.parse().unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no helper started:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(500));
    starter.kill().unwrap();
    starter.wait().unwrap();
    let killed = Instant::now();
    // Gone, or a zombie about to be reaped by init.
    let running =
        || std::fs::read_to_string(format!("/proc/{helper}/stat")).is_ok_and(|stat| !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'));
    while running() {
        assert!(killed.elapsed() < Duration::from_secs(20), "helper {helper} still runs after its starter was killed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_killed_holder_is_taken_over_and_its_run_resumes_from_the_checkpoint() {
    // E1 alone, long enough to be killed between two checkpoints.
    let dir = tempfile::tempdir().unwrap();
    let path = longer_e1(dir.path(), 8, 200);
    let profile = path.to_str().unwrap();

    let single = tempfile::tempdir().unwrap();
    finish(reproduce(single.path(), profile, "E1").spawn().unwrap());

    let shared = tempfile::tempdir().unwrap();
    let mut holder = reproduce(shared.path(), profile, "E1").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let checkpoints = shared.path().join("E1/checkpoints/mnist");
    let started = Instant::now();
    loop {
        let epochs: Vec<String> = std::fs::read_dir(&checkpoints)
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|run| std::fs::read_dir(run.path()).into_iter().flatten().flatten())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if epochs.iter().any(|e| e == "epoch-0002") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no checkpoint appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = holder.id();
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(std::fs::read_dir(shared.path().join(".locks")).unwrap().count(), 1, "the dead holder's lock is left behind");

    let output = finish(reproduce(shared.path(), profile, "E1").spawn().unwrap());
    assert!(output.contains(&format!("resumed from the run of pid {pid}")), "{output}");
    assert_same_tables(single.path(), shared.path());
    assert!(temporaries(shared.path()).is_empty(), "{:?}", temporaries(shared.path()));
}
