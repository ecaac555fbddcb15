//! `cargo xtask reproduce --profile smoke` end to end on real MNIST (from `$SPECREG_DATA_DIR`): every
//! table, figure, model and manifest; resuming after an interruption; re-plotting from tables.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use specreg_report::tables;

const TRAINING: [&str; 9] = ["E1", "E2-MLP", "E2-CNN", "E3-MLP", "E3-CNN", "S1", "S2", "S3", "S4"];

fn data_dir() -> PathBuf {
    specreg_data::locate_data_dir(None, env!("CARGO_MANIFEST_DIR").as_ref())
}

fn xtask(args: &[&str]) -> anyhow::Result<std::process::ExitCode> {
    xtask::run(std::iter::once("xtask").chain(args.iter().copied()))
}

fn reproduce(out: &Path, extra: &[&str]) {
    let data = data_dir();
    // Tests never reach for the internet: a missing dataset (CIFAR-10) is skipped, not fetched.
    let mut args = vec!["reproduce", "--profile", "smoke", "--offline", "--out", out.to_str().unwrap(), "--data-dir", data.to_str().unwrap()];
    args.extend(extra);
    let code = xtask(&args).unwrap_or_else(|e| panic!("reproduce {extra:?}: {e:#}"));
    // Without CIFAR-10 the CNN experiments cannot run on it: not everything asked for is produced.
    let needs_cifar = extra.is_empty() || extra.iter().any(|a| a.contains("CNN"));
    let expected = if needs_cifar && !data.join("cifar10").exists() { std::process::ExitCode::FAILURE } else { std::process::ExitCode::SUCCESS };
    assert_eq!(code, expected, "reproduce {extra:?}");
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).modified().unwrap()
}

/// SUMMARY.md is Markdown a renderer shows as meant: every line that starts with `|` is a row of a
/// table (a table glued to the paragraph before it renders as text), every row has its table's
/// columns, and every figure embedded is an image.
fn assert_valid_markdown(text: &str) {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let (mut rows, mut cells, mut columns, mut images) = (0, 0, 0, 0);
    for event in Parser::new_ext(text, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Table(alignments)) => columns = alignments.len(),
            Event::Start(Tag::TableHead | Tag::TableRow) => cells = 0,
            Event::Start(Tag::TableCell) => cells += 1,
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => {
                rows += 1;
                assert_eq!(cells, columns, "a table row with {cells} cells in a table of {columns} columns:\n{text}");
            }
            Event::Start(Tag::Image { .. }) => images += 1,
            _ => {}
        }
    }
    let source_rows = text.lines().filter(|l| l.starts_with('|') && !l.starts_with("|---")).count();
    assert_eq!(rows, source_rows, "some `|` lines are not table rows (a table not separated from the text before it?):\n{text}");
    assert_eq!(images, text.matches("![").count(), "every embedded figure is an image");
}

/// Variants of each smoke experiment (one seed).
fn variant_count(id: &str) -> usize {
    match id {
        "E1" | "S1" | "S2" | "S3" => 2,
        "E2-MLP" | "E2-CNN" | "S4" => 4,
        _ => 3,
    }
}

fn check_training_experiment(out: &Path, id: &str) {
    let dir = out.join(id);
    let t = |name: &str| dir.join("tables").join(format!("{name}.parquet"));
    let training = tables::read::<tables::TrainingRow>(&t("training")).unwrap();
    let variants = variant_count(id);
    assert_eq!(training.len(), variants * 2, "{id}: 2 epochs per variant");
    for r in &training {
        assert!(r.loss.is_finite() && r.loss > 0.0 && r.penalty >= 0.0 && r.seconds >= 0.0, "{id}: {r:?}");
        assert!((0.0..=1.0).contains(&r.train_acc) && (0.0..=1.0).contains(&r.test_acc), "{id}: {r:?}");
        assert!(r.key.experiment.starts_with(id) && (1..=2).contains(&r.epoch));
    }
    // Smoke training is short, but unregularised runs learn something: above chance (10 %).
    for r in training.iter().filter(|r| r.epoch == 2 && r.key.variant.starts_with("Vanilla")) {
        assert!(r.test_acc > 0.15, "{id}: {r:?}");
    }

    let spectra = tables::read::<tables::SpectrumRow>(&t("spectra")).unwrap();
    assert!(spectra.iter().all(|r| r.eigenvalue.is_finite() && r.eigenvalue > -1e-6 && r.rank >= 1), "{id}: spectra");
    for split in ["test", "train"] {
        assert!(spectra.iter().any(|r| r.split == split), "{id}: no {split} spectra");
    }
    let fits = tables::read::<tables::FitRow>(&t("fits")).unwrap();
    assert!(!fits.is_empty() && fits.iter().all(|f| f.alpha_hat.is_finite() && (0.0..=1.0).contains(&f.r2) && f.rank_min == 11), "{id}: {fits:?}");
    assert!(fits.iter().all(|f| f.alpha_low <= f.alpha_hat && f.alpha_hat <= f.alpha_high), "{id}: every α̂ inside its interval: {fits:?}");

    let robustness = tables::read::<tables::RobustnessRow>(&t("robustness")).unwrap();
    assert_eq!(robustness.len(), variants * 2 * 3, "{id}: FGSM and PGD at 3 ε per variant");
    for r in &robustness {
        assert!((0.0..=1.0).contains(&r.accuracy) && r.n_examples == 100, "{id}: {r:?}");
        assert!(r.max_perturbation <= r.epsilon + 1e-5 && r.min_pixel >= 0.0 && r.max_pixel <= 1.0, "{id}: {r:?}");
    }
    let clean: Vec<f64> = robustness.iter().filter(|r| r.epsilon == 0.0).map(|r| r.accuracy).collect();
    let attacked: Vec<f64> = robustness.iter().filter(|r| r.epsilon == 0.3).map(|r| r.accuracy).collect();
    assert!(attacked.iter().sum::<f64>() < clean.iter().sum::<f64>(), "{id}: attacks at ε = 0.3 should lower accuracy");
    let sanity = tables::read::<tables::SanityRow>(&t("sanity")).unwrap();
    assert!(sanity.len() >= variants * 4, "{id}: {} sanity rows", sanity.len());
    assert!(robustness.iter().all(|r| r.ci_low <= r.accuracy && r.accuracy <= r.ci_high), "{id}: every accuracy inside its interval");
    if id.starts_with('E') {
        check_autoattack(&dir, id, variants, &robustness);
    }

    let panels = fits.iter().map(|f| (&f.key.experiment, &f.layer)).collect::<std::collections::BTreeSet<_>>().len() as u32;
    let columns = if panels >= 3 { 3 } else { panels };
    assert_eq!(png_size(&dir.join("figures/spectra.png")), (640 * columns, 480 * panels.div_ceil(columns) + 48), "{id}");
    assert_eq!(png_size(&dir.join("figures/robustness.png")), (1280, 528), "{id}");
    assert_eq!(png_size(&dir.join("figures/training.png")).0, 640, "{id}");

    // The trajectory: every layer at epoch 0 (spectrum_every 10) and after the last epoch; regularised
    // layers after every epoch (their refresh measures them).
    let trajectory = tables::read::<tables::TrajectoryRow>(&t("trajectory")).unwrap();
    for f in &fits {
        let epochs: std::collections::BTreeSet<u32> = trajectory.iter().filter(|r| r.key == f.key && r.layer == f.layer).map(|r| r.epoch).collect();
        let regularised = trajectory.iter().any(|r| r.key == f.key && r.layer == f.layer && r.regularised);
        let expected: std::collections::BTreeSet<u32> = if regularised { [0, 1, 2].into() } else { [0, 2].into() };
        assert_eq!(epochs, expected, "{id} {:?} {}", f.key, f.layer);
    }
    assert!(trajectory.iter().any(|r| r.regularised) == training.iter().any(|r| r.key.beta > 0.0), "{id}");
    assert!(png_size(&dir.join("figures/trajectory.png")).0 >= 640, "{id}");
    if id == "S4" {
        assert!(png_size(&dir.join("figures/gain.png")).0 >= 640);
    }

    let models = std::fs::read_dir(dir.join("models")).unwrap().count();
    assert_eq!(models, variants, "{id}: one safetensors file per MNIST run");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["profile"], "smoke");
    let mnist = manifest["datasets"].as_array().unwrap().iter().find(|d| d["dataset"] == "mnist").unwrap();
    assert_eq!(mnist["status"], "ran");
    assert!(mnist["checksums"].as_object().unwrap().values().all(|v| v.as_str().unwrap().starts_with("OK")), "{mnist}");
    if id.ends_with("CNN") && !data_dir().join("cifar10").exists() {
        let cifar = manifest["datasets"].as_array().unwrap().iter().find(|d| d["dataset"] == "cifar10").unwrap();
        assert!(cifar["status"].as_str().unwrap().contains("cargo xtask data fetch cifar10"), "{cifar}");
    }
}

/// The AutoAttack evaluation of an E experiment (smoke: 50 examples, ε 0.1 and 0.3): each attack of the
/// ensemble only lowers accuracy, the worst case is what the examples' fates say, the intervals hold
/// their accuracies, APGD-CE is not weaker than the sweep's PGD, and every model but Vanilla is
/// attacked with Vanilla's examples.
fn check_autoattack(dir: &Path, id: &str, variants: usize, robustness: &[tables::RobustnessRow]) {
    let t = |name: &str| dir.join("tables").join(format!("{name}.parquet"));
    let suite = tables::read::<tables::SuiteRow>(&t("robustness_suite")).unwrap();
    // Whitened models (batch statistics) get transfer only, never the white-box ensemble.
    let whitened = specreg_experiments::unique(robustness.iter().filter(|r| r.key.variant.ends_with("-Wh")).map(|r| r.key.variant.clone())).len();
    assert!(suite.iter().all(|r| !r.key.variant.ends_with("-Wh")), "{id}: a whitened model under the white-box ensemble");
    let attacked = variants - whitened;
    assert_eq!(suite.len(), attacked * 2 * 5, "{id}: four attacks and the worst case at 2 ε per variant");
    let fates = tables::read::<tables::FateRow>(&t("suite_fates")).unwrap();
    assert_eq!(fates.len(), attacked * 2 * 50, "{id}: one fate per example and ε");
    for key in specreg_experiments::unique(suite.iter().map(|r| r.key.clone())) {
        for eps in [0.1, 0.3] {
            let at: Vec<&tables::SuiteRow> = suite.iter().filter(|r| r.key == key && r.epsilon == eps).collect();
            let names: Vec<&str> = at.iter().map(|r| r.attack.as_str()).collect();
            assert_eq!(names, ["apgd-ce", "apgd-t", "fab-t", "square", "autoattack"], "{id}");
            assert!(at.windows(2).all(|w| w[1].accuracy <= w[0].accuracy), "{id} {key:?} ε {eps}: {at:?}");
            assert!(at.iter().all(|r| r.n_examples == 50 && r.ci_low <= r.accuracy && r.accuracy <= r.ci_high), "{id}: {at:?}");
            let robust = fates.iter().filter(|f| f.key == key && f.epsilon == eps && f.fate == "robust").count();
            assert_eq!(robust as f64 / 50.0, at[4].accuracy, "{id} {key:?} ε {eps}: fates and worst case agree");
            // APGD-CE on the first 50 of the sweep's 100 examples: not weaker than PGD beyond sampling.
            let pgd = robustness.iter().find(|r| r.key == key && r.attack.starts_with("pgd") && (r.epsilon - eps).abs() < 1e-6).unwrap();
            assert!(at[0].accuracy <= pgd.accuracy * 2.0 + 0.1, "{id} {key:?} ε {eps}: APGD-CE {} vs PGD {}", at[0].accuracy, pgd.accuracy);
        }
    }
    let transfer = tables::read::<tables::TransferRow>(&t("transfer")).unwrap();
    assert_eq!(transfer.len(), (variants - 1) * 2 * 2, "{id}: PGD and APGD-CE from Vanilla at 2 ε, every variant but Vanilla");
    assert!(transfer.iter().all(|r| r.source == "Vanilla" && r.key.variant != "Vanilla" && r.ci_low <= r.accuracy && r.accuracy <= r.ci_high), "{id}");
    assert!(png_size(&dir.join("figures/robustness_suite.png")).0 >= 1280, "{id}");
}

#[test]
fn smoke_profile_runs_every_experiment_end_to_end_and_resumes() {
    let out = tempfile::tempdir().unwrap();
    reproduce(out.path(), &[]);
    for id in TRAINING {
        check_training_experiment(out.path(), id);
    }

    // E3-MLP's Vanilla run is E2-MLP's (identical settings in the smoke profile): trained once, reused.
    let vanilla = |id: &str| -> Vec<(String, f64)> {
        let fits = tables::read::<tables::FitRow>(&out.path().join(id).join("tables/fits.parquet")).unwrap();
        fits.into_iter().filter(|f| f.key.variant == "Vanilla").map(|f| (f.layer, f.alpha_hat)).collect()
    };
    assert_eq!(vanilla("E2-MLP"), vanilla("E3-MLP"));
    // Wall times never repeat exactly, so equal epoch times show the run was reused, not retrained.
    let seconds = |id: &str| -> Vec<f64> {
        let rows = tables::read::<tables::TrainingRow>(&out.path().join(id).join("tables/training.parquet")).unwrap();
        assert!(rows.iter().all(|r| r.key.experiment == id));
        rows.into_iter().filter(|r| r.key.variant == "Vanilla").map(|r| r.seconds).collect()
    };
    assert_eq!(seconds("E2-MLP"), seconds("E3-MLP"));

    // Theory experiments.
    let spectra = tables::read::<tables::SpectrumRow>(&out.path().join("T1/tables/spectra.parquet")).unwrap();
    assert_eq!(spectra.len(), 2 * 6 * 120);
    assert_eq!(png_size(&out.path().join("T1/figures/random_network_spectra.png")), (1280, 528));
    let fits = tables::read::<tables::FitRow>(&out.path().join("T2/tables/fits.parquet")).unwrap();
    for f in &fits {
        let alpha: f64 = f.key.variant.trim_start_matches("alpha=").parse().unwrap();
        assert!((f.alpha_hat - alpha).abs() < 0.25 * alpha.max(1.0), "{f:?}");
    }
    assert_eq!(png_size(&out.path().join("T2/figures/smoothness_projections.png")), (1920, 1008));

    let summary = std::fs::read_to_string(out.path().join("SUMMARY.md")).unwrap();
    for needle in [
        "**C1: ",
        "**C2: ",
        "**C3: ",
        "**C4: ",
        "**C5: ",
        "**C3-AA: ",
        "**C5-AA: ",
        "Does the gain survive AutoAttack?",
        "Not attacked by the white-box ensemble: E2-MLP Vanilla-Wh",
        "This is a smoke run",
        "### E1",
        "### E3-CNN",
        "### S4",
        "Attack sanity checks",
        "| layer06 |",
        "Spectrum through training",
        "Where the robustness gain comes from",
    ] {
        assert!(summary.contains(needle), "SUMMARY.md lacks {needle:?}:\n{summary}");
    }
    assert!(!summary.contains("Not measured"), "every claim has data in the smoke profile:\n{summary}");
    assert_valid_markdown(&summary);

    // Transfer examples are crafted once per source while models are evaluated, and deleted once the
    // profile is complete.
    assert!(!out.path().join(".transfer").exists(), "the transfer examples outlived the profile");
    // What is left: only the work on absent datasets; after an interruption, what it undid.
    let registry = specreg_experiments::Registry::standard();
    let profile = registry.load_profile("smoke").unwrap();
    let selected = registry.select(&[], &profile).unwrap();
    let processor = specreg_experiments::Processor::this_machine().speed_key();
    let calibration = specreg_experiments::Calibration::default();
    let left =
        || specreg_experiments::work_left(&registry, &profile, &selected, &specreg_experiments::OutDir::new(out.path()), "flex", &calibration, &processor);
    let finished = left();
    let absent = if data_dir().join("cifar10").exists() { 0 } else { finished.jobs_left };
    assert_eq!(finished.jobs_left, absent, "{finished:?}");
    assert!(finished.jobs > finished.jobs_left);

    // Rerun: everything finished, nothing is redone.
    let table = out.path().join("E1/tables/training.parquet");
    let before = modified(&table);
    reproduce(out.path(), &[]);
    assert_eq!(modified(&table), before, "a finished experiment was redone");

    // Interrupted E1 (killed while training its SpecReg run): the finished Vanilla run is kept,
    // the missing run is trained, the experiment completes.
    let runs = out.path().join("E1/runs/mnist");
    let vanilla = runs.join("Vanilla-b0-s0.json");
    let specreg = runs.join("SpecReg-b2-s0.json");
    let vanilla_time = modified(&vanilla);
    std::fs::remove_file(out.path().join("E1/manifest.json")).unwrap();
    std::fs::remove_file(&specreg).unwrap();
    let interrupted = left();
    assert_eq!(interrupted.jobs_left, finished.jobs_left + 1, "{interrupted:?}");
    assert!(interrupted.seconds > finished.seconds, "{interrupted:?}");
    reproduce(out.path(), &["--only", "E1"]);
    assert_eq!(modified(&vanilla), vanilla_time, "the finished run was redone");
    assert!(specreg.is_file() && out.path().join("E1/manifest.json").is_file());
    check_training_experiment(out.path(), "E1");

    // An AutoAttack evaluation that is missing (a profile that gained `suite`, or one killed while it
    // ran) is measured on the saved model: the run is not retrained.
    let evaluation = runs.join("Vanilla-b0-s0.suite.json");
    let run_time = modified(&vanilla);
    std::fs::remove_file(out.path().join("E1/manifest.json")).unwrap();
    std::fs::remove_file(&evaluation).unwrap();
    let unevaluated = left();
    assert_eq!(unevaluated.jobs_left, finished.jobs_left, "{unevaluated:?}");
    assert!(unevaluated.seconds > finished.seconds, "{unevaluated:?}");
    reproduce(out.path(), &["--only", "E1"]);
    assert_eq!(modified(&vanilla), run_time, "the run was retrained for its evaluation");
    assert!(evaluation.is_file());
    check_training_experiment(out.path(), "E1");

    // Figures redraw from the tables alone.
    std::fs::remove_file(out.path().join("E2-MLP/figures/spectra.png")).unwrap();
    xtask(&["figures", "--results", out.path().to_str().unwrap()]).unwrap();
    assert_eq!(png_size(&out.path().join("E2-MLP/figures/spectra.png")), (1920, 528));
}

/// Shards run one after another (`--shard K/4`, one E2-MLP run each), in both orders: in one of them
/// a run that transfers from Vanilla is trained before Vanilla, and its shard must leave the
/// evaluation to Vanilla's shard, which picks it up. Collected, nothing is missing.
#[test]
fn shards_in_either_order_leave_no_evaluation_missing() {
    let data = data_dir();
    let mut left_to_later = 0;
    for order in [[1, 2, 3, 4], [4, 3, 2, 1]] {
        let out = tempfile::tempdir().unwrap();
        let common =
            ["reproduce", "--profile", "smoke", "--offline", "--only", "E2-MLP", "--out", out.path().to_str().unwrap(), "--data-dir", data.to_str().unwrap()];
        let mut left = 0;
        for k in order {
            let shard = format!("{k}/4");
            let code = xtask(&[&common[..], &["--shard", &shard]].concat()).unwrap_or_else(|e| panic!("shard {shard}: {e:#}"));
            left += usize::from(code != std::process::ExitCode::SUCCESS);
        }
        let collected = xtask(&[&common[..], &["--collect"]].concat()).unwrap();
        assert_eq!(collected, std::process::ExitCode::SUCCESS, "order {order:?}: collect found runs or evaluations missing");
        let runs = out.path().join("E2-MLP/runs/mnist");
        let trained: Vec<PathBuf> =
            std::fs::read_dir(&runs).unwrap().map(|e| e.unwrap().path()).filter(|p| !p.to_string_lossy().ends_with(".suite.json")).collect();
        assert_eq!(trained.len(), variant_count("E2-MLP"), "order {order:?}: {trained:?}");
        for run in trained {
            assert!(run.with_extension("suite.json").is_file(), "order {order:?}: {} has no evaluation", run.display());
        }
        left_to_later += left;
    }
    // The case this test is for happened: a shard that could not evaluate said so by its exit status.
    assert!(left_to_later > 0, "no shard ever had to leave an evaluation to a later one");
}

#[test]
fn unknown_experiments_and_bad_profiles_are_refused() {
    let out = tempfile::tempdir().unwrap();
    let out_s = out.path().to_str().unwrap();
    let unknown = xtask(&["reproduce", "--profile", "smoke", "--only", "E9", "--out", out_s]).unwrap_err();
    assert!(unknown.to_string().contains("unknown experiment"), "{unknown}");
    // The test build has no GPU feature: the backend is refused before any work, naming the way out.
    let backend = xtask(&["reproduce", "--profile", "smoke", "--offline", "--backend", "cuda", "--out", out_s]).unwrap_err();
    assert!(backend.to_string().contains("xtask-cuda"), "{backend}");
    let vulkan = xtask(&["reproduce", "--profile", "smoke", "--offline", "--backend", "vulkan", "--out", out_s]).unwrap_err();
    assert!(vulkan.to_string().contains("xtask-gpu"), "{vulkan}");
    assert!(!out.path().join("E1").exists());
    for tch in ["tch", "tch-cuda", "tch-cuda:1"] {
        let refused = xtask(&["reproduce", "--profile", "smoke", "--offline", "--backend", tch, "--out", out_s]).unwrap_err();
        assert!(refused.to_string().contains("cargo xtask setup-libtorch") && refused.to_string().contains("xtask-tch"), "{refused}");
    }
    let index = xtask(&["reproduce", "--profile", "smoke", "--offline", "--backend", "vulkan:1", "--out", out_s]).unwrap_err();
    assert!(index.to_string().contains("only tch-cuda takes a GPU index"), "{index}");
    let unknown_backend = xtask(&["reproduce", "--profile", "smoke", "--offline", "--backend", "opencl", "--out", out_s]).unwrap_err();
    assert!(unknown_backend.to_string().contains("flex"), "{unknown_backend}");

    let smoke = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles/smoke.json")).unwrap();
    for (from, to, needle) in
        [("\"width\": 120", "\"width\": 0", "width"), ("\"epochs\": 2", "\"epochs\": 0", "epochs"), ("\"learning_rate\"", "\"learning_rat\"", "unknown field")]
    {
        let bad = out.path().join("bad.json");
        assert!(smoke.contains(from), "{from}");
        std::fs::write(&bad, smoke.replacen(from, to, 1)).unwrap();
        let refused = xtask(&["reproduce", "--profile", bad.to_str().unwrap(), "--offline", "--out", out_s]).unwrap_err();
        assert!(format!("{refused:#}").contains(needle), "{refused:#}");
    }
    assert!(!out.path().join("SUMMARY.md").exists(), "nothing written for an invalid profile");
}

/// CIFAR-10 cannot be downloaded here: the CNN experiments run on small files in its exact binary
/// format (5 training batches and a test batch), with learnable class colours.
fn synthetic_cifar(data: &Path) {
    let dir = data.join("cifar10/cifar-10-batches-bin");
    std::fs::create_dir_all(&dir).unwrap();
    let batch = |n: usize, salt: usize| {
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let pixels: Vec<u8> = (0..n * 3072)
            .map(|k| {
                let (i, channel) = (k / 3072, (k % 3072) / 1024);
                let base = 40 + 20 * ((labels[i] as usize + channel * 3) % 10);
                (base + (k * 7919 + salt * 104_729) % 37) as u8
            })
            .collect();
        specreg_data::cifar::write_cifar_batch(&pixels, &labels)
    };
    for k in 1..=5 {
        std::fs::write(dir.join(format!("data_batch_{k}.bin")), batch(60, k)).unwrap();
    }
    std::fs::write(dir.join("test_batch.bin"), batch(200, 9)).unwrap();
}

#[test]
fn cnn_experiments_run_on_cifar10_format_data() {
    let data = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(data_dir().join("mnist"), data.path().join("mnist")).unwrap();
    synthetic_cifar(data.path());
    let out = tempfile::tempdir().unwrap();
    let args = [
        "reproduce",
        "--profile",
        "smoke",
        "--only",
        "E2-CNN",
        "--offline",
        "--out",
        out.path().to_str().unwrap(),
        "--data-dir",
        data.path().to_str().unwrap(),
    ];
    // Synthetic files fail the canonical checksums: refused unless asked for.
    let refused = xtask(&args).unwrap_err();
    assert!(format!("{refused:#}").contains("--allow-unverified"), "{refused:#}");
    let mut allowed = args.to_vec();
    allowed.push("--allow-unverified");
    xtask(&allowed).unwrap();

    let robustness = tables::read::<tables::RobustnessRow>(&out.path().join("E2-CNN/tables/robustness.parquet")).unwrap();
    let cifar: Vec<_> = robustness.iter().filter(|r| r.key.experiment == "E2-CNN/cifar10").collect();
    assert_eq!(cifar.len(), 4 * 2 * 3, "4 variants × FGSM/PGD × 3 ε on CIFAR-10");
    assert!(cifar.iter().all(|r| r.max_perturbation <= r.epsilon + 1e-5 && r.max_pixel <= 1.0 && r.min_pixel >= 0.0));
    let fits = tables::read::<tables::FitRow>(&out.path().join("E2-CNN/tables/fits.parquet")).unwrap();
    let layers: Vec<&str> = fits.iter().filter(|f| f.key.experiment == "E2-CNN/cifar10" && f.key.variant == "Vanilla").map(|f| f.layer.as_str()).collect();
    assert_eq!(layers, vec!["hidden1", "hidden2", "hidden3"]);
    let spectra = tables::read::<tables::SpectrumRow>(&out.path().join("E2-CNN/tables/spectra.parquet")).unwrap();
    // Conv maps of 32×32×3 inputs: 4 channels × 15 × 15 and 8 × 6 × 6 (smoke widths).
    let width = |layer: &str| {
        spectra.iter().filter(|r| r.key.experiment == "E2-CNN/cifar10" && r.key.variant == "Vanilla" && r.layer == layer && r.split == "test").count()
    };
    assert_eq!((width("hidden1"), width("hidden2")), (900, 288));
    assert_eq!(std::fs::read_dir(out.path().join("E2-CNN/models")).unwrap().count(), 8);
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.path().join("E2-CNN/manifest.json")).unwrap()).unwrap();
    let cifar = manifest["datasets"].as_array().unwrap().iter().find(|d| d["dataset"] == "cifar10").unwrap();
    assert_eq!(cifar["status"], "ran");
    assert!(cifar["checksums"].as_object().unwrap().values().any(|v| v == "MISMATCH"), "{cifar}");
}
