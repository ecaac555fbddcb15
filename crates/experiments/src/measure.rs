//! What is measured on a trained model: the spectrum of every hidden layer (PROTOCOL §1.7) and the
//! accuracy under FGSM and PGD over the ε grid with the attack sanity checks (PROTOCOL §1.6).

use burn::prelude::*;
use specreg_attacks::{Attack, Norm, StepSize, Sweep, run_sweep};
use specreg_data::{Dataset, DatasetId};
use specreg_models::{Model, Network};
use specreg_report::RunKey;
use specreg_report::tables::{FitRow, RobustnessRow, SanityRow, SpectrumRow};
use specreg_spectrum::{PowerLawFit, RankRange, eigvalsh, fit_power_law};
use specreg_train::{Site, DeviceData, hidden_covariances, to_tensors};

use crate::error::{Error, Result};
use crate::settings::TrainingSettings;

/// The `fits` row of a power-law fit.
pub fn fit_row(key: &RunKey, layer: &str, fit: &PowerLawFit) -> FitRow {
    FitRow { key: key.clone(), layer: layer.into(), alpha_hat: fit.alpha, r2: fit.r2, rank_min: fit.range.min as u32, rank_max: fit.range.max as u32 }
}

/// `spectra` rows of one layer's eigenvalues (rank 1 first).
pub fn spectrum_rows(key: &RunKey, layer: &str, split: &str, eigenvalues: &[f64]) -> Vec<SpectrumRow> {
    eigenvalues
        .iter()
        .enumerate()
        .map(|(r, &eigenvalue)| SpectrumRow { key: key.clone(), layer: layer.into(), split: split.into(), rank: r as u32 + 1, eigenvalue })
        .collect()
}

/// PROTOCOL §1.7: every hidden layer's covariance spectrum on each split; α̂ fitted on the test split
/// over ranks 11–500 (or to N/2, capped by the number of examples measured). A layer whose fit cannot
/// be made (a spectrum not positive over the range) has no `fits` row: the claims then report it as
/// not measured rather than count a NaN.
pub fn spectra(key: &RunKey, model: &Model, splits: &[(&str, &Dataset)], eval_batch: usize, device: &Device, site: Site) -> Result<(Vec<SpectrumRow>, Vec<FitRow>)> {
    let layers: Vec<usize> = (0..model.hidden_widths().len()).collect();
    let (mut spectra, mut fits) = (Vec::new(), Vec::new());
    for &(split, data) in splits {
        let uploaded = DeviceData::upload(data, device);
        for (k, covariance) in hidden_covariances(model, &uploaded, &layers, eval_batch, site)?.into_iter().enumerate() {
            let eigenvalues = eigvalsh(covariance.view())?.to_vec();
            let layer = format!("hidden{}", k + 1);
            specreg_regularizer::check_positive_semidefinite(&eigenvalues).map_err(|source| Error::Measured { layer: layer.clone(), split: split.into(), source })?;
            spectra.extend(spectrum_rows(key, &layer, split, &eigenvalues));
            if split == "test"
                && let Ok(fit) = fit_power_law(&eigenvalues, RankRange::protocol(eigenvalues.len().min(data.len())))
            {
                fits.push(fit_row(key, &layer, &fit));
            }
        }
    }
    Ok((spectra, fits))
}

/// PROTOCOL §1.6: FGSM and PGD over the ε grid, with the sanity checks (masking probe at ε = 0.5).
pub fn robustness(
    key: &RunKey,
    model: &Model,
    settings: &TrainingSettings,
    dataset: DatasetId,
    attacked: &Dataset,
    eval_batch: usize,
    device: &Device,
) -> Result<(Vec<RobustnessRow>, Vec<SanityRow>)> {
    let (x, y) = to_tensors(attacked.images.view(), attacked.labels.view(), device);
    let step_size = match dataset {
        DatasetId::Cifar10 => StepSize::TimesEpsilon(2.5 / settings.pgd_steps as f32),
        _ => StepSize::Absolute(0.01),
    };
    let sweep = Sweep {
        attacks: vec![Attack::Fgsm, Attack::Pgd { norm: Norm::Linf, steps: settings.pgd_steps, step_size, restarts: 1, random_start: true }],
        epsilons: settings.epsilons(dataset).iter().map(|&e| e as f32).collect(),
        batch_size: eval_batch,
        seed: key.seed,
        masking_epsilon: Some(0.5),
        show_progress: true,
    };
    let classify = |images: Tensor<4>| model.forward(images);
    let report = run_sweep(&sweep, &classify, x, y)?;
    let robustness = report
        .records
        .iter()
        .map(|r| RobustnessRow {
            key: key.clone(),
            attack: r.attack.clone(),
            epsilon: f64::from(r.epsilon),
            accuracy: r.accuracy,
            n_examples: r.n_examples as u32,
            max_perturbation: f64::from(r.max_perturbation),
            batch_size: r.batch_size as u32,
            min_pixel: f64::from(r.min_pixel),
            max_pixel: f64::from(r.max_pixel),
        })
        .collect();
    let sanity = report.checks.iter().map(|c| SanityRow { key: key.clone(), check: c.name.clone(), passed: c.passed, detail: c.detail.clone() }).collect();
    Ok((robustness, sanity))
}
