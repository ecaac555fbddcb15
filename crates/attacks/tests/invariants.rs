//! Invariants of every attack on small random models, and closed forms on a linear classifier.

use burn::prelude::*;
use specreg_attacks::apgd::ApgdLoss;
use specreg_attacks::*;
use specreg_models::{MlpConfig, Network};

fn device() -> Device {
    Device::flex()
}

/// Deterministic pseudo-random inputs in [0, 1] (batch × 1 × 4 × 4) and labels.
fn inputs(n: usize) -> (Tensor<4>, Tensor<1, Int>) {
    let values: Vec<f32> = (0..n * 16).map(|i| ((i * 7919) % 1000) as f32 / 999.0).collect();
    let labels: Vec<i64> = (0..n as i64).map(|i| i % 3).collect();
    (Tensor::from_data(TensorData::new(values, [n, 1, 4, 4]), &device()), Tensor::from_data(TensorData::new(labels, [n]), &device()))
}

fn all_attacks() -> Vec<Attack> {
    vec![
        Attack::Fgsm,
        Attack::Pgd { norm: Norm::Linf, steps: 5, step_size: StepSize::TimesEpsilon(0.5), restarts: 2, random_start: true },
        Attack::Pgd { norm: Norm::L2, steps: 5, step_size: StepSize::TimesEpsilon(0.5), restarts: 1, random_start: true },
        Attack::Square { queries: 30, p_init: 0.3 },
        Attack::Apgd { norm: Norm::Linf, loss: ApgdLoss::CrossEntropy, iterations: 8, restarts: 2 },
        Attack::Apgd { norm: Norm::L2, loss: ApgdLoss::Dlr, iterations: 8, restarts: 1 },
        Attack::Apgd { norm: Norm::Linf, loss: ApgdLoss::TargetedDlr(2), iterations: 8, restarts: 1 },
        Attack::Fab { norm: Norm::Linf, targets: 2, iterations: 6 },
        Attack::Noise(NoiseKind::Uniform),
        Attack::Noise(NoiseKind::Gaussian),
    ]
}

fn sweep(batch_size: usize) -> Sweep {
    Sweep { attacks: all_attacks(), epsilons: vec![0.0, 0.1, 0.3], batch_size, seed: 3, masking_epsilon: None, show_progress: false }
}

#[test]
fn table_names_read_back_as_their_attack_kind() {
    for attack in all_attacks() {
        assert_eq!(AttackKind::of_name(&attack.name()), Some(attack.kind()), "{}", attack.name());
    }
    for name in ["pgd", "pgdx", "square10-l2", "apgd-ce", "fab-t12-l3", "deepfool10"] {
        assert_eq!(AttackKind::of_name(name), None, "{name}");
    }
}

#[test]
fn perturbations_stay_in_the_ball_and_pixels_in_range() {
    let model = MlpConfig::new(16, vec![12], 3).init(&device()).valid();
    let classify = |x: Tensor<4>| model.forward(x);
    let (x, y) = inputs(40);
    let report = run_sweep(&sweep(16), &classify, x, y).unwrap();
    assert_eq!(report.records.len(), 3 * all_attacks().len());
    for r in &report.records {
        assert!(r.max_perturbation <= r.epsilon * (1.0 + 1e-5) + 1e-6, "{r:?}");
        assert!(r.min_pixel >= 0.0 && r.max_pixel <= 1.0, "{r:?}");
        assert_eq!(r.n_examples, 40);
        // FAB seeks the smallest perturbation, and an untouched robust example counts as one of size 0.
        if r.epsilon > 0.0 && r.attack != "noise-gaussian" && !r.attack.starts_with("fab") {
            assert!(r.max_perturbation > 0.5 * r.epsilon, "the attack used its budget: {r:?}");
        }
    }
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"perturbation within ε") && names.contains(&"pixels within [0, 1]"));
    assert!(report.checks[..2].iter().all(|c| c.passed), "{:#?}", report.checks);
}

#[test]
fn results_are_deterministic_and_independent_of_batch_size() {
    let model = MlpConfig::new(16, vec![12], 3).init(&device()).valid();
    let classify = |x: Tensor<4>| model.forward(x);
    let (x, y) = inputs(40);
    let a = run_sweep(&sweep(16), &classify, x.clone(), y.clone()).unwrap();
    let b = run_sweep(&sweep(16), &classify, x.clone(), y.clone()).unwrap();
    let c = run_sweep(&sweep(7), &classify, x, y).unwrap();
    assert_eq!(a.records, b.records);
    for (r16, r7) in a.records.iter().zip(&c.records) {
        assert_eq!((&r16.attack, r16.epsilon, r16.correct), (&r7.attack, r7.epsilon, r7.correct));
        assert!((r16.max_perturbation - r7.max_perturbation).abs() < 1e-6);
    }
}

/// Two-class linear softmax model: for class y, ∇ₓ CE = (1 − p_y)(w_other − w_y), so FGSM moves every
/// pixel by ε along sign(w_other − w_y).
#[test]
fn fgsm_on_a_linear_classifier_matches_the_closed_form_and_equals_one_step_pgd() {
    let dev = device();
    // No ties between the two weight vectors, so every pixel's gradient sign is determined.
    let w0: Vec<f32> = (0..16).map(|i| i as f32 * 0.1 - 0.8).collect();
    let w1: Vec<f32> = (0..16).map(|i| 0.7 - i as f32 * 0.09).collect();
    let weights: Vec<f32> = (0..16).flat_map(|i| [w0[i], w1[i]]).collect();
    let w = Tensor::<2>::from_data(TensorData::new(weights, [16, 2]), &dev);
    let model = move |x: Tensor<2>| x.matmul(w.clone());
    let (x4, y) = inputs(20);
    let x = x4.flatten::<2>(1, 3);
    let eps = 0.05;

    let adv = fgsm(&model, x.clone(), y.clone().remainder_scalar(2), eps);
    let labels: Vec<i64> = y.remainder_scalar(2).try_into_vec_as::<i64>().unwrap();
    let xs: Vec<f32> = x.clone().try_into_vec_as::<f32>().unwrap();
    let got: Vec<f32> = adv.clone().try_into_vec_as::<f32>().unwrap();
    for (i, &label) in labels.iter().enumerate() {
        for j in 0..16 {
            let diff = if label == 0 { w1[j] - w0[j] } else { w0[j] - w1[j] };
            let expected = (xs[i * 16 + j] + eps * diff.signum()).clamp(0.0, 1.0);
            assert!((got[i * 16 + j] - expected).abs() < 1e-6, "example {i} pixel {j}: {} vs {expected}", got[i * 16 + j]);
        }
    }

    let one_step = PgdSettings { norm: Norm::Linf, epsilon: eps, step_size: eps, steps: 1, restarts: 1, random_start: false, seed: 0 };
    let pgd_adv = pgd(&model, x, Tensor::<1, Int>::from_data(TensorData::new(labels, [20]), &dev), &one_step, 0);
    let diff = (pgd_adv - adv).abs().max().into_scalar::<f32>();
    assert!(diff < 1e-6, "one-step PGD differs from FGSM by {diff}");
}

#[test]
fn invalid_settings_are_errors() {
    let model = MlpConfig::new(16, vec![4], 3).init(&device()).valid();
    let classify = |x: Tensor<4>| model.forward(x);
    let (x, y) = inputs(4);
    let mut bad = sweep(4);
    bad.epsilons = vec![-0.1];
    assert!(matches!(run_sweep(&bad, &classify, x.clone(), y.clone()), Err(AttackError::InvalidSetting(_))));
    let mut bad = sweep(4);
    bad.attacks = vec![Attack::Pgd { norm: Norm::Linf, steps: 0, step_size: StepSize::Absolute(0.01), restarts: 1, random_start: true }];
    assert!(matches!(run_sweep(&bad, &classify, x.clone(), y.clone()), Err(AttackError::InvalidSetting(_))));
    let mut bad = sweep(0);
    bad.attacks = vec![Attack::Fgsm];
    assert!(run_sweep(&bad, &classify, x.clone(), y.clone()).is_err());
    assert!(matches!(run_sweep(&sweep(4), &classify, x, y.narrow(0, 0, 3)), Err(AttackError::CountMismatch { .. })));

    // The Square Attack needs images.
    let flat = |x: Tensor<2>| model.forward_flat(x).logits;
    let (x, y) = inputs(4);
    let square = Attack::Square { queries: 5, p_init: 0.1 };
    assert!(matches!(square.run(&flat, x.flatten::<2>(1, 3), y, 0.1, 0, 0), Err(AttackError::NeedsImages(..))));

    // A model producing NaN is reported, not averaged into an accuracy.
    let nan = |x: Tensor<4>| x.flatten::<2>(1, 3).narrow(1, 0, 3).mul_scalar(f32::NAN);
    let (x, y) = inputs(4);
    let mut s = sweep(4);
    s.attacks = vec![Attack::Noise(NoiseKind::Uniform)];
    assert!(matches!(run_sweep(&s, &nan, x, y), Err(AttackError::NonFiniteLogits { .. })));
}

#[test]
fn violated_sanity_checks_are_reported() {
    let record = |attack: &str, epsilon: f32, accuracy: f64, max_perturbation: f32| Record {
        attack: attack.into(),
        norm: Norm::Linf,
        epsilon,
        accuracy,
        correct: 0,
        n_examples: 100,
        batch_size: 100,
        max_perturbation,
        min_pixel: 0.0,
        max_pixel: 1.0,
    };
    let attacks = [Attack::Fgsm, Attack::pgd_mnist(), Attack::Square { queries: 100, p_init: 0.05 }];
    let records = vec![
        record("fgsm", 0.1, 0.5, 0.1),
        record("fgsm", 0.2, 0.6, 0.25), // rises, and exceeds ε
        record("pgd40", 0.1, 0.7, 0.1), // above FGSM
        record("pgd40", 0.2, 0.3, 0.2),
        record("square100", 0.1, 0.2, 0.1), // gradient-free beats PGD
        record("square100", 0.2, 0.2, 0.2),
    ];
    let probe = record("pgd40", 0.5, 0.4, 0.5);
    let checks = sanity_checks(&attacks, &records, Some(&probe));
    let failed: Vec<&str> = checks.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect();
    assert_eq!(
        failed,
        vec![
            "perturbation within ε",
            "fgsm accuracy non-increasing in ε",
            "pgd40 accuracy ≤ fgsm accuracy at every ε",
            "no gradient masking: pgd40 accuracy ≤ square100 accuracy",
            "pgd40 accuracy near 0 at ε = 0.5",
        ]
    );
}

#[test]
fn pgd_restarts_attack_only_the_examples_still_robust_and_keep_the_first_fooling_point() {
    let model = MlpConfig::new(16, vec![12], 3).init(&device()).valid();
    let rows = std::cell::RefCell::new(Vec::new());
    let classify = |x: Tensor<4>| {
        rows.borrow_mut().push(x.dims()[0]);
        model.forward(x)
    };
    let (x, y) = inputs(40);
    let pgd = |restarts| Attack::Pgd { norm: Norm::Linf, steps: 3, step_size: StepSize::TimesEpsilon(0.25), restarts, random_start: true };
    let correct = |points: &Tensor<4>| -> Vec<bool> {
        let predicted: Vec<i64> = model.forward(points.clone()).argmax(1).flatten::<1>(0, 1).into_data().iter::<i64>().collect();
        predicted.iter().zip(y.clone().into_data().iter::<i64>()).map(|(p, l)| *p == l).collect()
    };
    let eps = 0.15;
    let once = pgd(1).run(&classify, x.clone(), y.clone(), eps, 5, 0).unwrap();
    rows.borrow_mut().clear();
    let thrice = pgd(3).run(&classify, x.clone(), y.clone(), eps, 5, 0).unwrap();
    let (fooled_once, fooled_thrice) = (correct(&once).iter().map(|c| !c).collect::<Vec<_>>(), correct(&thrice).iter().map(|c| !c).collect::<Vec<_>>());
    let fooled = fooled_once.iter().filter(|f| **f).count();
    assert!(fooled > 0 && fooled < 40, "the test needs some examples fooled by one run and some not: {fooled}");
    // The first restart is the single run: what it fooled stays fooled, at the same point.
    let rows_of = |t: &Tensor<4>, i: usize| t.clone().narrow(0, i, 1).into_data().try_to_vec::<f32>().unwrap();
    for i in (0..40).filter(|&i| fooled_once[i]) {
        assert!(fooled_thrice[i]);
        assert_eq!(rows_of(&thrice, i), rows_of(&once, i), "example {i}");
    }
    // The later restarts ran on the survivors only: never on all 40 rows after the first.
    let calls = rows.borrow();
    let widest_later = calls.iter().skip_while(|&&r| r == 40).copied().max().unwrap_or(0);
    assert!(widest_later <= 40 - fooled, "calls: {calls:?}");
    // Within the ball, in range.
    let delta = (thrice.clone() - x).abs().max().into_scalar::<f32>();
    assert!(delta <= eps * (1.0 + 1e-5));
}
