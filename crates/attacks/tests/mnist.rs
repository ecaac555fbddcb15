//! The attacks against a small MLP trained on an MNIST subset (real MNIST from `$SPECREG_DATA_DIR`).

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use specreg_attacks::*;
use specreg_data::{BatchOrder, Dataset, load_mnist, locate_data_dir};
use specreg_models::{Mlp, MlpConfig, Network};

fn images(set: &Dataset, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let n = set.len();
    let pixels: Vec<f32> = set.images.iter().copied().collect();
    let labels: Vec<i64> = set.labels.iter().map(|&l| i64::from(l)).collect();
    (Tensor::from_data(TensorData::new(pixels, [n, 1, 28, 28]), device), Tensor::from_data(TensorData::new(labels, [n]), device))
}

/// 784-256-10 tanh MLP, Adam, 10 epochs over the first 1,000 training examples of each class.
fn train(train: &Dataset) -> Mlp {
    let device = Device::flex().autodiff();
    let mut model = MlpConfig::new(784, vec![256], 10).init(&device);
    let mut optim = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    for epoch in 0..10 {
        for batch in train.shuffled_batches(&BatchOrder::new(train.len(), 100, 1, epoch, false).unwrap()) {
            let set = Dataset { images: batch.images, labels: batch.labels, num_classes: 10 };
            let (x, y) = images(&set, &device);
            let loss = loss_fn.forward(model.forward(x), y);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-3, model, grads);
        }
    }
    model.valid()
}

#[test]
fn attacks_lower_the_accuracy_of_a_trained_mlp_in_the_expected_order() {
    let dir = locate_data_dir(None, env!("CARGO_MANIFEST_DIR").as_ref());
    let mnist = load_mnist(&dir).unwrap_or_else(|e| panic!("MNIST is needed (set SPECREG_DATA_DIR): {e}"));
    let model = train(&mnist.train.first_per_class(1000).unwrap());
    let classify = |x: Tensor<4>| model.forward(x);
    let device = Device::flex();
    let (x, y) = images(&mnist.test.head(1000), &device);

    let pgd = Attack::pgd_mnist();
    let sweep =
        Sweep { attacks: vec![Attack::Fgsm, pgd], epsilons: vec![0.0, 0.1], batch_size: 500, seed: 0, masking_epsilon: Some(0.5), show_progress: false };
    let report = run_sweep(&sweep, &classify, x.clone(), y.clone()).unwrap();
    let clean = report.accuracy("fgsm", 0.0).unwrap();
    let fgsm = report.accuracy("fgsm", 0.1).unwrap();
    let pgd40 = report.accuracy("pgd40", 0.1).unwrap();
    let probe = report.masking_probe.as_ref().unwrap().accuracy;
    eprintln!("clean {clean:.3}, FGSM(0.1) {fgsm:.3}, PGD-40(0.1) {pgd40:.3}, PGD-40(0.5) {probe:.3}");
    assert!(clean > 0.90, "clean accuracy {clean}");
    assert!(fgsm < clean - 0.05, "FGSM at ε = 0.1 should lower accuracy: {clean} → {fgsm}");
    assert!(pgd40 <= fgsm, "PGD-40 ({pgd40}) should be at least as strong as FGSM ({fgsm})");
    assert!(probe < 0.05, "PGD at ε = 0.5 leaves {probe}");
    assert!(report.all_checks_passed(), "{:#?}", report.checks);

    // The gradient-free attack works too, within its query budget.
    let square = Sweep { attacks: vec![Attack::Square { queries: 300, p_init: 0.05 }], epsilons: vec![0.0, 0.3], masking_epsilon: None, ..sweep };
    let (x, y) = (x.narrow(0, 0, 300), y.narrow(0, 0, 300));
    let report = run_sweep(&square, &classify, x, y).unwrap();
    let (before, after) = (report.accuracy("square300", 0.0).unwrap(), report.accuracy("square300", 0.3).unwrap());
    eprintln!("Square-300 at ε = 0.3: {before:.3} → {after:.3}");
    assert!(after < before - 0.2, "Square at ε = 0.3: {before} → {after}");
}
