//! Attacks against the E1 network on MNIST test images: PGD-40, ours and PyTorch's interleaved batch by
//! batch, and our floor (the same number of forward and backward passes with nothing else); APGD-CE and
//! AutoAttack's ensemble against trained models, ours and torchattacks', with the accuracies each side
//! reached (agreement) beside the times.

use std::path::Path;
use std::time::Instant;

use burn::prelude::*;
use serde::Serialize;
use specreg_attacks::apgd::ApgdLoss;
use specreg_attacks::{Attack, Norm, SUITE_ATTACKS, SuiteSettings, autoattack, loss::input_gradient, loss::predictions, records_of};
use specreg_models::{ModelConfig, Network, from_safetensors, safetensors_config};

use crate::Target;
use crate::error::{BenchError, Result};
use crate::reference::Reference;
use crate::report::{Row, header, median, report};

/// PGD-40 at ε = 0.1 on the first `images` MNIST test images from `data_dir`, in batches of `batch`.
pub fn pgd(target: &Target, images: usize, batch: usize, data_dir: &Path, json: Option<&Path>) -> Result<Vec<Row>> {
    let test = specreg_data::load_mnist(data_dir)?.test.head(images);
    let n = test.len();
    let device = &target.device;
    let mut reference = Reference::start(target.torch_device);
    // Untrained weights: the cost of a pass does not depend on their values.
    let model = specreg_models::MlpConfig::new(784, vec![2000], 10).with_batch_norm(true).init(device).valid();
    let classify = |x: Tensor<4>| specreg_models::Network::forward(&model, x);
    let data = specreg_train::DeviceData::upload(&test, device);
    let what = format!("attack benchmark: PGD-40 (ε = 0.1, step 0.01) on {n} MNIST test images, E1 network, batches of {batch}");
    println!("{}", header(&what, &target.description, reference.as_ref().map(|r| r.description.as_str())));

    let batches: Vec<(usize, usize)> = (0..n).step_by(batch).map(|first| (first, batch.min(n - first))).collect();
    let slice = |first: usize, len: usize| (data.images.clone().narrow(0, first, len), data.labels.clone().narrow(0, first, len));
    // The floor: 40 input gradients per batch, summed so that none can be skipped, read back once
    // per batch as PGD's result is (a read-back per pass would time GPU synchronisation instead).
    let floor_pass = |first: usize, len: usize| {
        let (xb, yb) = slice(first, len);
        let mut total = input_gradient(&classify, xb.clone(), yb.clone());
        for _ in 1..40 {
            total = total + input_gradient(&classify, xb.clone(), yb.clone());
        }
        total.into_data();
    };
    let pgd_pass = |first: usize, len: usize| -> Result<()> {
        let (xb, yb) = slice(first, len);
        Attack::pgd_mnist().run(&classify, xb, yb, 0.1, 0, first)?.into_data();
        Ok(())
    };
    let timed = |f: &dyn Fn() -> Result<()>| -> Result<f64> {
        let start = Instant::now();
        f()?;
        Ok(start.elapsed().as_secs_f64())
    };
    // One batch of each first: GPU backends compile and autotune their kernels on first use.
    floor_pass(0, batch.min(n));
    pgd_pass(0, batch.min(n))?;
    let loaded = match reference.as_mut() {
        Some(r) => r.pgd_load(&specreg_data::DatasetId::Mnist.dir(data_dir), n, batch)? == batches.len(),
        None => false,
    };
    let (mut floor, mut ours, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    for (k, &(first, len)) in batches.iter().enumerate() {
        floor.push(timed(&|| {
            floor_pass(first, len);
            Ok(())
        })?);
        ours.push(timed(&|| pgd_pass(first, len))?);
        if loaded && let Some(r) = reference.as_mut() {
            theirs.push(r.pgd(k)?);
        }
    }
    let total = |v: &[f64]| v.iter().sum::<f64>();
    let rows = vec![
        Row::new(format!("PGD-40, {n} images (sum over batches)"), total(&ours), (!theirs.is_empty()).then(|| total(&theirs))),
        Row::new(format!("PGD-40, median batch of {batch}"), median(ours.clone()), (!theirs.is_empty()).then(|| median(theirs.clone()))),
        Row::new("PGD-40 (reference: our floor of 40 forward+backward passes)", total(&ours), Some(total(&floor))),
    ];
    report(&target.description, reference.as_ref().map(|r| r.description.as_str()), &rows, json)?;
    println!(
        "times: each batch once per side after one warm-up batch, the sides interleaved batch by batch ({:.1} GFLOP per forward+backward pass of the whole set, counting 6·n·params).",
        6.0 * n as f64 * (784.0 * 2000.0 + 2000.0 * 10.0) / 1e9
    );
    Ok(rows)
}

/// What the ensemble benchmark runs: AutoAttack's budgets and where.
#[derive(Debug, Clone)]
pub struct EnsembleBench {
    /// Trained specreg MLPs (safetensors files written by `reproduce`).
    pub models: Vec<std::path::PathBuf>,
    /// The first this many MNIST test images are attacked.
    pub images: usize,
    /// Examples per batch (each side).
    pub batch: usize,
    /// The L∞ radii.
    pub epsilons: Vec<f32>,
    /// APGD and FAB iterations (AutoAttack standard: 100).
    pub iterations: usize,
    /// APGD-T and FAB-T target classes (standard: 9).
    pub targets: usize,
    /// Square queries (standard: 5,000).
    pub queries: usize,
}

/// Accuracies each side reached on one model at one ε: APGD-CE alone, then after each attack of the
/// ensemble in turn.
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    /// The model file's stem.
    pub model: String,
    /// The radius.
    pub epsilon: f32,
    /// `apgd-ce` (alone), then the ensemble's attacks in order (accuracy after each).
    pub stages: Vec<String>,
    /// Our accuracies.
    pub ours: Vec<f64>,
    /// torchattacks' accuracies (empty without the reference).
    pub reference: Vec<f64>,
}

fn load_model(path: &std::path::Path, device: &Device) -> Result<specreg_models::Model> {
    let bytes = std::fs::read(path).map_err(|e| specreg_files::FileError::new(path, e))?;
    let bad = |problem: String| BenchError::Model { path: path.display().to_string(), problem };
    let config = safetensors_config(&bytes)
        .map_err(|e| bad(e.to_string()))?
        .ok_or_else(|| bad("no specreg configuration in its metadata (not written by specreg)".into()))?;
    let config: ModelConfig = serde_json::from_str(&config).map_err(|e| bad(format!("its configuration does not parse: {e}")))?;
    let fresh = config.init(device).map_err(|e| bad(e.to_string()))?;
    Ok(from_safetensors(fresh, &bytes).map_err(|e| bad(e.to_string()))?.valid())
}

/// APGD-CE and AutoAttack's ensemble (APGD-CE, APGD-T, FAB-T, Square; `s`'s budgets) on each model at
/// each ε: ours and torchattacks', interleaved batch by batch, timed and compared.
pub fn ensemble(target: &Target, s: &EnsembleBench, data_dir: &Path, json: Option<&Path>) -> Result<(Vec<Row>, Vec<Agreement>)> {
    let test = specreg_data::load_mnist(data_dir)?.test.head(s.images);
    let n = test.len();
    let device = &target.device;
    let mut reference = Reference::start(target.torch_device);
    let what = format!(
        "AutoAttack benchmark: APGD-CE ({it} iterations) and the ensemble (APGD-CE, APGD-T and FAB-T with {it} iterations and {t} targets, Square with {q} queries) on {n} MNIST test images, batches of {b}, ε {:?}",
        s.epsilons,
        it = s.iterations,
        t = s.targets,
        q = s.queries,
        b = s.batch
    );
    println!("{}", header(&what, &target.description, reference.as_ref().map(|r| r.description.as_str())));
    let data = specreg_train::DeviceData::upload(&test, device);
    let batches: Vec<(usize, usize)> = (0..n).step_by(s.batch).map(|first| (first, s.batch.min(n - first))).collect();
    let labels: Vec<i64> = data.labels.clone().into_data().iter::<i64>().collect();
    let (mut rows, mut agreements) = (Vec::new(), Vec::new());
    for path in &s.models {
        let model = load_model(path, device)?;
        let classify = |x: Tensor<4>| model.forward(x);
        let name = path.file_stem().map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned());
        let loaded = match reference.as_mut() {
            Some(r) => r.ensemble_load(path, &specreg_data::DatasetId::Mnist.dir(data_dir), n, s.batch)? == batches.len(),
            None => false,
        };
        for &eps in &s.epsilons {
            let suite = SuiteSettings { norm: Norm::Linf, iterations: s.iterations, targets: s.targets, square_queries: s.queries, seed: 0 };
            let apgd = Attack::Apgd { norm: Norm::Linf, loss: ApgdLoss::CrossEntropy, iterations: s.iterations, restarts: 1 };
            let (mut ours_apgd, mut theirs_apgd, mut ours_suite, mut theirs_suite) = (0.0, 0.0, 0.0, 0.0);
            let (mut apgd_correct, mut their_apgd_correct) = (0, 0);
            let mut fates = Vec::with_capacity(n);
            let mut their_stages = vec![0usize; SUITE_ATTACKS.len()];
            for (k, &(first, len)) in batches.iter().enumerate() {
                let (xb, yb) = (data.images.clone().narrow(0, first, len), data.labels.clone().narrow(0, first, len));
                let started = Instant::now();
                let adversarial = apgd.run(&classify, xb.clone(), yb.clone(), eps, 0, first)?;
                let predicted: Vec<i64> = predictions(classify(adversarial)).into_data().iter::<i64>().collect();
                ours_apgd += started.elapsed().as_secs_f64();
                apgd_correct += predicted.iter().zip(&labels[first..first + len]).filter(|(p, l)| p == l).count();
                let started = Instant::now();
                fates.extend(autoattack(&classify, xb, yb, eps, &suite, first)?);
                ours_suite += started.elapsed().as_secs_f64();
                if loaded && let Some(r) = reference.as_mut() {
                    let (seconds, correct) = r.apgd(k, eps, s.iterations, 0)?;
                    theirs_apgd += seconds;
                    their_apgd_correct += correct;
                    let (seconds, stages) = r.autoattack(k, eps, s.iterations, s.targets, s.queries, 0)?;
                    theirs_suite += seconds;
                    their_stages.iter_mut().zip(&stages).for_each(|(total, c)| *total += c);
                }
            }
            let measured = |seconds: f64| (loaded).then_some(seconds);
            rows.push(Row::new(format!("{name} ε={eps}: APGD-CE-{}", s.iterations), ours_apgd, measured(theirs_apgd)));
            rows.push(Row::new(format!("{name} ε={eps}: AutoAttack ensemble"), ours_suite, measured(theirs_suite)));
            let records = records_of(eps, &fates);
            let mut stages = vec![format!("apgd-ce{} alone", s.iterations)];
            stages.extend(SUITE_ATTACKS.iter().map(|a| format!("after {a}")));
            let mut ours = vec![apgd_correct as f64 / n as f64];
            ours.extend(records.iter().take(SUITE_ATTACKS.len()).map(|r| r.accuracy));
            let mut theirs = Vec::new();
            if loaded {
                theirs.push(their_apgd_correct as f64 / n as f64);
                theirs.extend(their_stages.iter().map(|&c| c as f64 / n as f64));
            }
            agreements.push(Agreement { model: name.clone(), epsilon: eps, stages, ours, reference: theirs });
        }
    }
    report(&target.description, reference.as_ref().map(|r| r.description.as_str()), &rows, None)?;
    println!("\nrobust accuracy (ours / torchattacks, difference in examples of {n}):");
    for a in &agreements {
        let cells: Vec<String> = a
            .stages
            .iter()
            .enumerate()
            .map(|(i, stage)| match a.reference.get(i) {
                Some(r) => format!("{stage} {:.4}/{r:.4} ({:+})", a.ours[i], ((a.ours[i] - r) * n as f64).round() as i64),
                None => format!("{stage} {:.4}", a.ours[i]),
            })
            .collect();
        println!("  {} ε={}: {}", a.model, a.epsilon, cells.join(", "));
    }
    if let Some(path) = json {
        let body = serde_json::json!({
            "processor": specreg_experiments::Processor::this_machine(),
            "backend": target.description,
            "reference": reference.as_ref().map(|r| r.description.clone()),
            "images": n,
            "rows": rows,
            "agreement": agreements,
        });
        specreg_files::write_file_atomically(path, serde_json::to_string_pretty(&body).unwrap_or_default())?;
        println!("written: {}", path.display());
    }
    Ok((rows, agreements))
}
