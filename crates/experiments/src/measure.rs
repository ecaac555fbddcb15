//! What is measured on a trained model: the spectrum of every hidden layer (docs/protocol.md §1.7) and
//! the accuracy under the run's attacks over the ε grid with the attack sanity checks (§1.6).

use burn::prelude::*;
use specreg_attacks::{Attack, Sweep, run_sweep};
use specreg_data::Dataset;
use specreg_models::{Model, Network};
use specreg_report::RunKey;
use specreg_report::tables::{FitRow, RobustnessRow, SanityRow, SpectrumRow};
use specreg_spectrum::{RankRange, eigvalsh};
use specreg_train::{DeviceData, Site, hidden_covariances, to_tensors};

use crate::error::{Error, Result};
use crate::tables::{fit_row, spectrum_rows, with_interval};

/// Protocol §1.7: every hidden layer's covariance spectrum on each split; α̂ fitted on the test split
/// over ranks 11–500 (or to N/2, capped by the number of examples measured). A layer whose fit cannot
/// be made (a spectrum not positive over the range) has no `fits` row: the claims then report it as
/// not measured rather than count a NaN. `known` holds every layer's eigenvalues of a split measured
/// already on this model (training measures the training split's for its last trajectory point).
pub fn spectra(
    key: &RunKey,
    model: &Model,
    splits: &[(&str, &Dataset)],
    known: Option<(&str, &[Vec<f64>])>,
    eval_batch: usize,
    device: &Device,
    site: Site,
) -> Result<(Vec<SpectrumRow>, Vec<FitRow>)> {
    let layers: Vec<usize> = (0..model.hidden_widths().len()).collect();
    let (mut spectra, mut fits) = (Vec::new(), Vec::new());
    for &(split, data) in splits {
        let measured = match known.filter(|(s, values)| *s == split && values.len() == layers.len()) {
            Some((_, values)) => values.to_vec(),
            None => {
                let uploaded = DeviceData::upload(data, device);
                let covariances = hidden_covariances(model, &uploaded, &layers, eval_batch, site)?;
                covariances.iter().map(|c| Ok(eigvalsh(c.view())?.to_vec())).collect::<Result<Vec<_>>>()?
            }
        };
        for (k, eigenvalues) in measured.into_iter().enumerate() {
            let layer = format!("hidden{}", k + 1);
            specreg_regularizer::check_positive_semidefinite(&eigenvalues).map_err(|source| Error::Measured {
                layer: layer.clone(),
                split: split.into(),
                source,
            })?;
            spectra.extend(spectrum_rows(key, &layer, split, &eigenvalues));
            if split == "test" {
                fits.extend(fit_row(key, &layer, &eigenvalues, RankRange::protocol(eigenvalues.len().min(data.len()))));
            }
        }
    }
    Ok((spectra, fits))
}

/// Protocol §1.6: `attacks` at every ε of `epsilons`, with the sanity checks (masking probe at
/// ε = 0.5).
pub fn robustness(
    key: &RunKey,
    model: &Model,
    attacks: &[Attack],
    epsilons: &[f64],
    attacked: &Dataset,
    eval_batch: usize,
    device: &Device,
) -> Result<(Vec<RobustnessRow>, Vec<SanityRow>)> {
    let (x, y) = to_tensors(attacked.images.view(), attacked.labels.view(), device);
    let sweep = Sweep {
        attacks: attacks.to_vec(),
        epsilons: epsilons.iter().map(|&e| e as f32).collect(),
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
            ci_low: f64::NAN,
            ci_high: f64::NAN,
        })
        .map(with_interval)
        .collect();
    let sanity = report.checks.iter().map(|c| SanityRow { key: key.clone(), check: c.name.clone(), passed: c.passed, detail: c.detail.clone() }).collect();
    Ok((robustness, sanity))
}
