//! APGD, FAB-T and the ensemble where the answer is known: the step-size schedule, the DLR losses on
//! hand-made logits, the smallest fooling perturbation of a linear classifier, the ensemble's
//! bookkeeping, the checks, and Wilson intervals.

use burn::prelude::*;
use specreg_attacks::apgd::{ApgdLoss, checkpoints, dlr_loss, targeted_dlr_loss};
use specreg_attacks::fab::{FabSettings, fab_targeted};
use specreg_attacks::*;
use specreg_models::{MlpConfig, Network};

fn device() -> Device {
    Device::flex()
}

#[test]
fn the_step_size_schedule_checks_at_autoattacks_iterations() {
    assert_eq!(checkpoints(100), [22, 41, 57, 70, 80, 87, 93, 99]);
    assert_eq!(checkpoints(10), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(checkpoints(1), [1]);
}

#[test]
fn dlr_losses_follow_their_formulas() {
    let logits = Tensor::<2>::from_floats([[3.0, 1.0, 2.0, 0.0], [3.0, 1.0, 2.0, 0.0]], &device());
    let labels = Tensor::<1, Int>::from_ints([0, 1], &device());
    // Correct (y = 0): −(3 − 2)/(3 − 1); wrong (y = 1): −(1 − 3)/(3 − 1).
    let dlr: Vec<f32> = dlr_loss(logits.clone(), labels.clone()).into_data().iter::<f32>().collect();
    assert!((dlr[0] + 0.5).abs() < 1e-6 && (dlr[1] - 1.0).abs() < 1e-6, "{dlr:?}");
    // Targeted at class 2: −(z_y − z_2)/(z_π1 − (z_π3 + z_π4)/2) = −(3 − 2)/(3 − 0.5) and −(1 − 2)/2.5.
    let targets = Tensor::<1, Int>::from_ints([2, 2], &device());
    let t: Vec<f32> = targeted_dlr_loss(logits, labels, targets).into_data().iter::<f32>().collect();
    assert!((t[0] + 0.4).abs() < 1e-6 && (t[1] - 0.4).abs() < 1e-6, "{t:?}");
}

/// Four pixels, four classes, the class of the brightest pixel (logits = pixels): from
/// (0.7, 0.5, 0.4, 0.3) the nearest other class is 1, at L∞ distance (0.7 − 0.5)/2 = 0.1.
fn argmax_model() -> impl Fn(Tensor<2>) -> Tensor<2> {
    |x: Tensor<2>| x.mul_scalar(10.0)
}

fn bright(n: usize) -> (Tensor<2>, Tensor<1, Int>) {
    let values: Vec<f32> = (0..n).flat_map(|_| [0.7, 0.5, 0.4, 0.3]).collect();
    (Tensor::from_data(TensorData::new(values, [n, 4]), &device()), Tensor::from_data(TensorData::new(vec![0i64; n], [n]), &device()))
}

fn accuracy(model: &impl Classifier<2>, attack: Attack, eps: f32) -> f64 {
    let (x, y) = bright(6);
    let adversarial = attack.run(model, x, y.clone(), eps, 1, 0).unwrap();
    let predicted: Vec<i64> = model.logits(adversarial).argmax(1).squeeze_dim::<1>(1).into_data().iter::<i64>().collect();
    let labels: Vec<i64> = y.into_data().iter::<i64>().collect();
    predicted.iter().zip(&labels).filter(|(p, l)| p == l).count() as f64 / 6.0
}

#[test]
fn apgd_breaks_a_linear_classifier_just_beyond_its_margin_and_not_before() {
    let model = argmax_model();
    for loss in [ApgdLoss::CrossEntropy, ApgdLoss::Dlr, ApgdLoss::TargetedDlr(3)] {
        let apgd = Attack::Apgd { norm: Norm::Linf, loss, iterations: 50, restarts: 1 };
        assert_eq!(accuracy(&model, apgd, 0.09), 1.0, "{loss:?} below the margin");
        assert_eq!(accuracy(&model, apgd, 0.11), 0.0, "{loss:?} beyond the margin");
    }
}

#[test]
fn fab_t_finds_the_smallest_fooling_perturbation() {
    let model = argmax_model();
    let (x, y) = bright(3);
    let (points, distance) = fab_targeted(&model, x.clone(), y, &FabSettings { norm: Norm::Linf, epsilon: 0.3, iterations: 30, targets: 3 });
    for d in &distance {
        assert!(*d > 0.1 && *d < 0.1 * 1.02, "the minimal L∞ distance is 0.1, found {d}");
    }
    let moved: Vec<f32> = (points - x).abs().max_dim(1).into_data().iter::<f32>().collect();
    assert!(moved.iter().zip(&distance).all(|(m, d)| (m - d).abs() < 1e-6));
    // Success is counted within ε only.
    let (_, distance) = fab_targeted(&model, bright(2).0, bright(2).1, &FabSettings { norm: Norm::Linf, epsilon: 0.05, iterations: 30, targets: 3 });
    assert!(distance.iter().all(|d| *d > 0.1), "{distance:?}");
    assert_eq!(accuracy(&model, Attack::Fab { norm: Norm::Linf, targets: 3, iterations: 30 }, 0.09), 1.0);
    assert_eq!(accuracy(&model, Attack::Fab { norm: Norm::Linf, targets: 3, iterations: 30 }, 0.11), 0.0);
}

#[test]
fn the_ensemble_keeps_which_attack_broke_each_example() {
    let fates = [Fate::Clean, Fate::Broken(0), Fate::Broken(0), Fate::Broken(2), Fate::Robust, Fate::Robust, Fate::Broken(3), Fate::Robust];
    let records = records_of(0.1, &fates);
    let got: Vec<(&str, f64, usize)> = records.iter().map(|r| (r.attack.as_str(), r.accuracy, r.broken)).collect();
    assert_eq!(got, [("apgd-ce", 5.0 / 8.0, 2), ("apgd-t", 5.0 / 8.0, 0), ("fab-t", 4.0 / 8.0, 1), ("square", 3.0 / 8.0, 1), (WORST_CASE, 3.0 / 8.0, 4)]);
    assert_eq!(Fate::Broken(1).name(), "apgd-t");
    let (low, high) = records[4].interval;
    assert!(low < 3.0 / 8.0 && 3.0 / 8.0 < high);
}

#[test]
fn the_ensemble_on_a_small_network_is_at_least_as_strong_as_each_attack_and_deterministic() {
    let model = MlpConfig::new(16, vec![16], 10).init(&device()).valid();
    let classify = |x: Tensor<4>| model.forward(x);
    let values: Vec<f32> = (0..48 * 16).map(|i| ((i * 7919) % 1000) as f32 / 999.0).collect();
    let x = Tensor::<4>::from_data(TensorData::new(values, [48, 1, 4, 4]), &device());
    let labels: Vec<i64> = (0..48i64).map(|i| i % 10).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [48]), &device());
    let settings = SuiteSettings { norm: Norm::Linf, iterations: 12, targets: 3, square_queries: 40, seed: 5 };
    let checks = SuiteChecks { pgd: Attack::pgd_mnist(), large_epsilon: 0.5, chance: 0.1, convergence_examples: 20 };
    let report = run_suite(&classify, x.clone(), y.clone(), &[0.02, 0.05], 16, &settings, &checks, false).unwrap();
    let again = run_suite(&classify, x.clone(), y.clone(), &[0.02, 0.05], 7, &settings, &checks, false).unwrap();
    assert_eq!(report.fates, again.fates, "deterministic, whatever the batch size");
    for eps in [0.02f32, 0.05] {
        let worst = report.records.iter().find(|r| r.attack == WORST_CASE && r.epsilon == eps).unwrap();
        for attack in settings.attacks() {
            let alone = run_sweep(
                &Sweep { attacks: vec![attack], epsilons: vec![eps], batch_size: 16, seed: 5, masking_epsilon: None, show_progress: false },
                &classify,
                x.clone(),
                y.clone(),
            )
            .unwrap();
            assert!(
                worst.accuracy <= alone.records[0].accuracy + 1e-12,
                "{} alone {} below the ensemble's {}",
                attack.name(),
                alone.records[0].accuracy,
                worst.accuracy
            );
        }
    }
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("apgd-ce12 converged")) && names.iter().any(|n| n.starts_with("pgd40 converged")));
}

#[test]
fn wilson_intervals_match_their_closed_form() {
    let (low, high) = wilson(0, 10);
    assert!(low == 0.0 && (high - 0.27753).abs() < 1e-4, "{high}");
    let (low, high) = wilson(5, 10);
    assert!((low - 0.23659).abs() < 1e-4 && (high - 0.76341).abs() < 1e-4, "{low} {high}");
    let (low, high) = wilson(9_000, 10_000);
    assert!((high - low) < 0.012 && low < 0.9 && 0.9 < high);
}
