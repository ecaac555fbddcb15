//! The loop's guarantees on small synthetic data: determinism, exact resume, clear errors.

use burn::prelude::*;
use ndarray::{Array1, Array4};
use specreg_data::Dataset;
use specreg_models::{MlpConfig, ModelConfig, Network};
use specreg_regularizer::{JacobianPenaltyConfig, LayerSelection, SpectralPenaltyConfig};
use specreg_train::*;

/// Four classes of noisy 6×6 images: a bright quadrant per class.
fn data(n: usize, salt: usize) -> Dataset {
    let noise = |k: usize| (((k * 7919 + salt * 104729) as f64 * 0.618).fract() as f32) * 0.4;
    let images = Array4::from_shape_fn((n, 1, 6, 6), |(i, _, y, x)| {
        let class = i % 4;
        let on = (y < 3) == (class < 2) && (x < 3) == (class % 2 == 0);
        (if on { 0.6 } else { 0.0 }) + noise(i * 36 + y * 6 + x)
    });
    Dataset { images, labels: Array1::from_shape_fn(n, |i| (i % 4) as u8), num_classes: 4 }
}

fn model() -> ModelConfig {
    ModelConfig::Mlp(MlpConfig::new(36, vec![24, 16], 4).with_batch_norm(true))
}

fn spectral_config(epochs: usize) -> TrainConfig {
    TrainConfig::new(epochs, 32, 5e-3, 7)
        .with_spectral(Some(SpectralSettings::new(SpectralPenaltyConfig::new(2.0).with_tau(2)).with_layers(LayerSelection::All)))
}

fn logits(trained: &Trained, x: &Dataset) -> Vec<f32> {
    let (images, _) = to_tensors(x.images.view(), x.labels.view(), &Device::flex());
    trained.model.forward(images).into_data().try_into_vec_as::<f32>().unwrap()
}

fn without_time(history: &[EpochRecord]) -> Vec<EpochRecord> {
    history.iter().map(|r| EpochRecord { seconds: 0.0, ..r.clone() }).collect()
}

#[test]
fn same_seed_same_numbers_and_the_model_learns() {
    let (train_set, test_set) = (data(256, 1), data(128, 2));
    let options = TrainOptions::new(Device::flex());
    let a = train(&model(), &spectral_config(4), &train_set, &test_set, &options).unwrap();
    let b = train(&model(), &spectral_config(4), &train_set, &test_set, &options).unwrap();
    assert_eq!(without_time(&a.history), without_time(&b.history));
    assert_eq!(logits(&a, &test_set), logits(&b, &test_set));
    let (first, last) = (&a.history[0], a.history.last().unwrap());
    assert!(last.loss < first.loss, "loss {} → {}", first.loss, last.loss);
    assert!(last.test_accuracy > 0.9, "test accuracy {}", last.test_accuracy);
    assert!(a.history.iter().all(|r| r.penalty > 0.0));
    let c = train(&model(), &TrainConfig { seed: 8, ..spectral_config(4) }, &train_set, &test_set, &options).unwrap();
    assert_ne!(logits(&a, &test_set), logits(&c, &test_set), "another seed gives another model");
}

#[test]
fn a_resumed_run_equals_an_uninterrupted_one() {
    let (train_set, test_set) = (data(256, 1), data(128, 2));
    let dir = tempfile::tempdir().unwrap();
    let options = TrainOptions { checkpoint_dir: Some(dir.path().to_path_buf()), ..TrainOptions::new(Device::flex()) };
    let straight = train(&model(), &spectral_config(3), &train_set, &test_set, &TrainOptions::new(Device::flex())).unwrap();

    // "Interrupted" after 2 epochs: the same run asked for 2 epochs, then continued to 3.
    let part = train(&model(), &spectral_config(2), &train_set, &test_set, &options).unwrap();
    assert_eq!((part.history.len(), part.resumed_epochs), (2, 0));
    let rest = train(&model(), &spectral_config(3), &train_set, &test_set, &options).unwrap();
    assert_eq!(rest.resumed_epochs, 2);
    assert_eq!(without_time(&rest.history), without_time(&straight.history));
    assert_eq!(logits(&rest, &test_set), logits(&straight, &test_set));
    // Only the newest checkpoint is kept.
    let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, vec!["epoch-0003".to_string()]);

    // A checkpoint of another configuration is refused, not silently reused.
    let other = TrainConfig { learning_rate: 1e-3, ..spectral_config(4) };
    let err = train(&model(), &other, &train_set, &test_set, &options).unwrap_err();
    assert!(matches!(err, TrainError::Checkpoint { .. }), "{err}");
}

#[test]
fn non_finite_loss_stops_training_with_its_location() {
    let (mut train_set, test_set) = (data(64, 1), data(32, 2));
    // An example of the third batch of epoch 0 (seed 0) is corrupt.
    let order = specreg_data::BatchOrder::new(64, 16, 0, 0, false).unwrap();
    let corrupt = order.batches()[2][0];
    train_set.images[[corrupt, 0, 2, 2]] = f32::NAN;
    let config = TrainConfig::new(2, 16, 1e-3, 0);
    let err = train(&model(), &config, &train_set, &test_set, &TrainOptions::new(Device::flex())).unwrap_err();
    // The values are read once per epoch; the error still names the first batch that went wrong
    // (the last one is NaN too, since the NaN reached the weights).
    match err {
        TrainError::NonFinite { epoch: 0, batch, what, .. } => {
            assert!(what.contains("loss"), "{what}");
            assert_eq!(batch, 2);
        }
        other => panic!("expected a non-finite loss error, got {other}"),
    }
}

#[test]
fn invalid_settings_are_refused_before_training() {
    let (train_set, test_set) = (data(64, 1), data(32, 2));
    let options = TrainOptions::new(Device::flex());
    let check = |config: TrainConfig, needle: &str| {
        let err = train(&model(), &config, &train_set, &test_set, &options).unwrap_err().to_string();
        assert!(err.contains(needle), "`{err}` should mention `{needle}`");
    };
    check(TrainConfig::new(1, 16, 0.0, 0), "learning rate");
    check(TrainConfig::new(1, 100, 1e-3, 0), "exceeds");
    // Spectral penalty on a 24-unit layer with batches of 16: below the width.
    check(TrainConfig { batch_size: 16, ..spectral_config(1) }, "below the width");
    check(spectral_config(1).with_spectral(Some(SpectralSettings::new(SpectralPenaltyConfig::new(1.0).with_tau(30)))), "τ");
    check(TrainConfig::new(1, 16, 1e-3, 0).with_jacobian(Some(JacobianPenaltyConfig::new().with_weight(-1.0))), "λ_J");
}

#[test]
fn device_site_trains_deterministically_with_both_penalties() {
    let (train_set, test_set) = (data(128, 1), data(64, 2));
    let model = ModelConfig::Mlp(MlpConfig::new(36, vec![24, 16], 4));
    let config = TrainConfig::new(2, 32, 5e-3, 3)
        .with_spectral(Some(SpectralSettings::new(SpectralPenaltyConfig::new(2.0).with_tau(2))))
        .with_jacobian(Some(JacobianPenaltyConfig::new()));
    let run = |site: Site| train(&model, &config, &train_set, &test_set, &TrainOptions { site, ..TrainOptions::new(Device::flex()) }).unwrap();
    let (a, b, host) = (run(Site::Device), run(Site::Device), run(Site::Host));
    assert_eq!(without_time(&a.history), without_time(&b.history));
    assert!(a.history.iter().all(|r| r.loss.is_finite() && r.penalty > 0.0));
    // Other projections (and covariances summed in another order): other numbers, same model.
    assert_ne!(without_time(&a.history), without_time(&host.history));
    assert!((a.history[1].loss - host.history[1].loss).abs() < 0.1 * host.history[1].loss);
}
