//! A short real-MNIST run: the loss falls, test accuracy passes 90 %, and SpecReg moves the
//! regularised layer's fitted exponent towards 1 (MNIST from `$SPECREG_DATA_DIR`).

use burn::prelude::*;
use specreg_data::{load_mnist, locate_data_dir};
use specreg_models::{MlpConfig, ModelConfig};
use specreg_regularizer::SpectralPenaltyConfig;
use specreg_spectrum::{eigvalsh, fit_power_law_default};
use specreg_train::*;

#[test]
fn specreg_moves_the_spectrum_towards_one_over_n() {
    let dir = locate_data_dir(None, env!("CARGO_MANIFEST_DIR").as_ref());
    let mnist = load_mnist(&dir).unwrap_or_else(|e| panic!("MNIST is needed (set SPECREG_DATA_DIR): {e}"));
    let train_set = mnist.train.first_per_class(800).unwrap();
    let test_set = mnist.test.head(2000);
    let device = Device::flex();
    let model = ModelConfig::Mlp(MlpConfig::new(784, vec![256], 10));
    let vanilla = TrainConfig::new(15, 320, 2e-3, 0);
    let specreg = vanilla.clone().with_spectral(Some(SpectralSettings::new(SpectralPenaltyConfig::new(5.0))));
    let alpha = |config: &TrainConfig| {
        let trained = train(&model, config, &train_set, &test_set, &TrainOptions::new(device.clone())).unwrap();
        let covariance = hidden_covariances(&trained.model, &DeviceData::upload(&test_set, &device), &[0], 1000, Site::Host).unwrap().remove(0);
        let fit = fit_power_law_default(eigvalsh(covariance.view()).unwrap().as_slice().unwrap()).unwrap();
        (trained.history, fit.alpha)
    };
    let (plain_history, plain_alpha) = alpha(&vanilla);
    let (reg_history, reg_alpha) = alpha(&specreg);
    let (first, last) = (&plain_history[0], plain_history.last().unwrap());
    eprintln!(
        "vanilla: loss {:.3} → {:.3}, test {:.3}, α̂ {plain_alpha:.3}; SpecReg β=5: test {:.3}, α̂ {reg_alpha:.3}",
        first.loss,
        last.loss,
        last.test_accuracy,
        reg_history.last().unwrap().test_accuracy
    );
    assert!(last.loss < first.loss);
    assert!(last.test_accuracy > 0.9, "vanilla test accuracy {}", last.test_accuracy);
    // SpecReg trades some clean accuracy (the paper reports a small cost); it must still learn.
    assert!(reg_history.last().unwrap().test_accuracy > 0.85, "SpecReg test accuracy {}", reg_history.last().unwrap().test_accuracy);
    assert!((reg_alpha - 1.0).abs() < (plain_alpha - 1.0).abs(), "|α̂ − 1|: SpecReg {reg_alpha} vs vanilla {plain_alpha}");
}
