//! `cargo xtask spectrum` on a hidden layer of a model trained here (MNIST from `$SPECREG_DATA_DIR`):
//! the command, reading the layer from `.npy`, agrees with specreg-spectrum on the same activations.

use burn::prelude::*;
use specreg_models::{MlpConfig, ModelConfig, Network};
use specreg_spectrum::{RankRange, fit_power_law};
use specreg_train::{DeviceData, Site, TrainConfig, TrainOptions, hidden_covariances, host_matrix, train};

#[test]
fn the_spectrum_command_reads_a_trained_layer_and_agrees_with_the_library() {
    let dir = specreg_data::locate_data_dir(None, env!("CARGO_MANIFEST_DIR").as_ref());
    let mnist = specreg_data::load_mnist(&dir).unwrap();
    let (train_set, test_set) = (mnist.train.first_per_class(100).unwrap(), mnist.test.head(1000));
    let device = Device::flex();
    let model = ModelConfig::Mlp(MlpConfig::new(784, vec![128], 10));
    let trained = train(&model, &TrainConfig::new(3, 100, 2e-3, 0), &train_set, &test_set, &TrainOptions::new(device.clone())).unwrap();
    let data = DeviceData::upload(&test_set, &device);
    let layer = host_matrix(trained.model.forward_hidden(data.images.clone()).hidden.remove(0)).mapv(f64::from);

    let out = tempfile::tempdir().unwrap();
    let npy = out.path().join("hidden1.npy");
    specreg_analyze::write_npy(&npy, &layer).unwrap();
    let code =
        xtask::run(["xtask", "spectrum", "--input", npy.to_str().unwrap(), "--ranks", "11-60", "--out", out.path().join("result").to_str().unwrap()]).unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let table = specreg_report::tables::read_table(&out.path().join("result/fit.parquet")).unwrap();
    let alpha = table.column("alpha_hat").unwrap().f64().unwrap().get(0).unwrap();

    let covariance = hidden_covariances(&trained.model, &data, &[0], 1000, Site::Host).unwrap().remove(0);
    let eigenvalues = specreg_spectrum::eigvalsh(covariance.view()).unwrap().to_vec();
    let library = fit_power_law(&eigenvalues, RankRange::new(11, 60)).unwrap().alpha;
    assert!((alpha - library).abs() < 1e-6, "command α̂ {alpha}, library α̂ {library}");
    assert!(out.path().join("result/spectrum.png").is_file());
    // Bad input is named, not a panic.
    let err = xtask::run(["xtask", "spectrum", "--input", npy.to_str().unwrap(), "--ranks", "60-11"]).unwrap_err();
    assert!(err.to_string().contains("--ranks"), "{err}");
}
