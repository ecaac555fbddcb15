//! The spectral penalty against hand computation, its zero set and finite differences.

use burn::prelude::*;
use ndarray::Array2;
use specreg_regularizer::*;

fn device() -> Device {
    Device::flex()
}

fn vector(values: &[f32]) -> Tensor<1> {
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), &device())
}

fn value(t: Tensor<1>) -> f64 {
    t.into_scalar::<f64>()
}

#[test]
fn penalty_equals_the_hand_computed_value() {
    // Unsorted input: sorted it is [8, 4, 4, 1]; α = 1, τ = 1 → anchor c = 4·2 = 8, γ = c/(n+1).
    // n = 2: λ/γ = 4·3/8 = 1.5 → 0.5² + 0.5 = 0.75;  n = 3: 1·4/8 = 0.5 → 0.5² = 0.25.
    // β/N · (0.75 + 0.25) = 2/4 · 1.0 = 0.5.
    let config = SpectralPenaltyConfig::new(2.0).with_tau(1);
    let out = penalty_of_eigenvalues(vector(&[4.0, 1.0, 8.0, 4.0]), &config).unwrap();
    assert!((value(out.value.clone()) - 0.5).abs() < 1e-6);
    assert_eq!(out.sorted_eigenvalues(), vec![8.0, 4.0, 4.0, 1.0]);

    // Non-positive estimates are skipped: only n = 2 counts (λ/γ = 2·3/8 = 0.75 → 0.0625), β/N = 1/4.
    let config = SpectralPenaltyConfig::new(1.0).with_tau(1);
    let out = penalty_of_eigenvalues(vector(&[8.0, 4.0, 2.0, -1.0]), &config).unwrap();
    assert!((value(out.value) - 0.0625 / 4.0).abs() < 1e-7);

    // α = 2 changes the target: n = 2: 2·9/(4·4) = 1.125 → 0.015625 + 0.125; n = 3: 1·16/16 = 1 → 0.
    let config = SpectralPenaltyConfig::new(4.0).with_alpha(2.0).with_tau(1);
    let out = penalty_of_eigenvalues(vector(&[8.0, 4.0, 2.0, 1.0]), &config).unwrap();
    assert!((value(out.value) - (0.015625 + 0.125)).abs() < 1e-6);
}

#[test]
fn penalty_vanishes_on_the_target_power_law() {
    for alpha in [0.5, 1.0, 2.0] {
        let lambda: Vec<f32> = (0..200).map(|n| (3.0 / ((n + 1) as f64).powf(alpha)) as f32).collect();
        let config = SpectralPenaltyConfig::new(5.0).with_alpha(alpha);
        let v = value(penalty_of_eigenvalues(vector(&lambda), &config).unwrap().value);
        assert!(v < 1e-6, "α = {alpha}: penalty {v}"); // f32 rounding of λ̂
    }
    // A spectrum decaying faster than the target is penalised less than one decaying slower by as much.
    let slow: Vec<f32> = (0..100).map(|n| 1.0 / ((n + 1) as f32).powf(0.8)).collect();
    let fast: Vec<f32> = (0..100).map(|n| 1.0 / ((n + 1) as f32).powf(1.25)).collect();
    let config = SpectralPenaltyConfig::new(1.0).with_tau(0);
    let (slow, fast) =
        (value(penalty_of_eigenvalues(vector(&slow), &config).unwrap().value), value(penalty_of_eigenvalues(vector(&fast), &config).unwrap().value));
    assert!(slow > fast, "hinge: slow decay {slow} should cost more than fast decay {fast}");
}

/// A batch of activations with a known covariance basis, and the penalty refreshed on it.
fn setup(batch: usize, width: usize) -> (SpectralPenalty, Vec<f32>) {
    let covariance = Array2::from_shape_fn((width, width), |(i, j)| if i == j { 1.0 / (i + 1) as f64 } else { 0.02 });
    let mut penalty = SpectralPenaltyConfig::new(3.0).with_tau(1).init(width).unwrap();
    penalty.refresh(covariance.view(), &device()).unwrap();
    (penalty, activations(batch, width))
}

/// Deterministic pseudo-random activations with column scales far apart (no ties in the sort).
fn activations(batch: usize, width: usize) -> Vec<f32> {
    (0..batch * width)
        .map(|k| {
            let (i, j) = (k / width, k % width);
            let noise = ((k as f64 * 12.9898).sin() * 43758.5453).fract() as f32;
            noise * (1.5 / (j + 1) as f32) + 0.1 * i as f32 / batch as f32
        })
        .collect()
}

#[test]
fn gradient_matches_finite_differences() {
    let (batch, width) = (24, 6);
    let (penalty, values) = setup(batch, width);
    // The anchor carries no gradient, so finite differences hold it at its value at the base point.
    let base = Tensor::<2>::from_data(TensorData::new(values.clone(), [batch, width]), &device());
    let anchor = penalty.value(base).unwrap().sorted_eigenvalues()[penalty.config().tau];
    let eval = |v: &[f32]| -> f64 {
        let h = Tensor::<2>::from_data(TensorData::new(v.to_vec(), [batch, width]), &device());
        let lambda = penalty.batch_eigenvalues(h).unwrap();
        value(penalty_with_anchor(lambda, penalty.config(), Some(anchor)).unwrap().value)
    };
    let h = Tensor::<2>::from_data(TensorData::new(values.clone(), [batch, width]), &device().autodiff()).require_grad();
    let grads = penalty.value(h.clone()).unwrap().value.backward();
    let analytic: Vec<f32> = h.grad(&grads).unwrap().into_data().try_into_vec_as::<f32>().unwrap();
    let step = 1e-2f32;
    let mut checked = 0;
    for k in (0..batch * width).step_by(7) {
        let (mut plus, mut minus) = (values.clone(), values.clone());
        plus[k] += step;
        minus[k] -= step;
        let numeric = (eval(&plus) - eval(&minus)) / (2.0 * f64::from(step));
        let a = f64::from(analytic[k]);
        assert!((a - numeric).abs() <= 2e-3 + 2e-2 * numeric.abs(), "entry {k}: autodiff {a}, finite difference {numeric}");
        checked += 1;
    }
    assert!(checked > 15);
    // The gradient is not trivially zero.
    assert!(analytic.iter().any(|g| g.abs() > 1e-3));
}

#[test]
fn invalid_use_is_a_typed_error() {
    assert!(matches!(SpectralPenaltyConfig::new(1.0).with_tau(10).init(8), Err(PenaltyError::Settings(_))));
    assert!(matches!(SpectralPenaltyConfig::new(-1.0).init(50), Err(PenaltyError::Settings(_))));
    assert!(matches!(SpectralPenaltyConfig::new(1.0).with_alpha(f64::NAN).init(50), Err(PenaltyError::Settings(_))));
    let penalty = SpectralPenaltyConfig::new(1.0).with_tau(1).init(4).unwrap();
    let h = Tensor::<2>::ones([8, 4], &device());
    assert!(matches!(penalty.value(h), Err(PenaltyError::NoEigenvectors)));
    let (penalty, _) = setup(8, 4);
    assert!(matches!(penalty.value(Tensor::<2>::ones([8, 5], &device())), Err(PenaltyError::Shape { .. })));
    // Constant activations: every λ̂ is 0, so the anchor is degenerate: the value is not finite, and
    // `checked` (a host read) names the problem.
    let degenerate = penalty.value(Tensor::<2>::ones([8, 4], &device())).unwrap();
    assert!(!value(degenerate.value.clone()).is_finite());
    assert!(matches!(degenerate.checked(), Err(PenaltyError::Anchor { .. })));
    assert!(matches!(SpectralPenaltyConfig::new(1.0).with_ranks(Some(RankWindow::new(5, Some(4)))).init(50), Err(PenaltyError::Settings(_))));
    assert!(
        matches!(SpectralPenaltyConfig::new(1.0).with_ranks(Some(RankWindow::new(1, Some(11)))).init(50), Err(PenaltyError::Settings(_))),
        "a window that ends at the anchor penalises nothing"
    );
    assert!(matches!(SpectralPenaltyConfig::new(1.0).with_ranks(Some(RankWindow::new(12, Some(60)))).init(50), Err(PenaltyError::Settings(_))));
    assert!(matches!(LayerSelection::Indices(vec![3]).resolve(3), Err(PenaltyError::Settings(_))));
    assert_eq!(LayerSelection::All.resolve(3).unwrap(), vec![0, 1, 2]);
    assert_eq!(LayerSelection::Last.resolve(3).unwrap(), vec![2]);
}

/// The host sort the device ranking replaces: indices in decreasing order, ties by index.
fn host_order(values: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order
}

#[test]
fn device_ranking_equals_a_host_sort_ties_included() {
    // Ties at the anchor and among penalised ranks, unsorted.
    let lambda: Vec<f32> = vec![0.3, 2.0, 0.5, 0.5, 1.0, 0.25, 0.5, 0.1, 0.05, 0.2, 0.5, 0.01];
    let config = SpectralPenaltyConfig::new(3.0).with_tau(3);
    let device_value = value(penalty_of_eigenvalues(vector(&lambda), &config).unwrap().value);
    // The same penalty, computed on the host from the sorted order.
    let order = host_order(&lambda);
    let sorted: Vec<f64> = order.iter().map(|&k| f64::from(lambda[k])).collect();
    let anchor = sorted[3] * 4.0;
    let host_value: f64 = (4..lambda.len())
        .filter(|&n| sorted[n] > 0.0)
        .map(|n| {
            let e = sorted[n] * (n + 1) as f64 / anchor - 1.0;
            e * e + e.max(0.0)
        })
        .sum::<f64>()
        * 3.0
        / lambda.len() as f64;
    assert!((device_value - host_value).abs() < 1e-6 * host_value, "device {device_value}, host {host_value}");
    // Same inputs, same bits.
    assert_eq!(device_value.to_bits(), value(penalty_of_eigenvalues(vector(&lambda), &config).unwrap().value).to_bits());
}

#[test]
fn head_and_tail_windows_add_up_to_the_full_penalty() {
    let lambda: Vec<f32> = (0..300).map(|n| 1.0 / ((n + 1) as f32).powf(0.7) * (1.0 + 0.1 * ((n * 37 % 11) as f32 / 11.0))).collect();
    let full = SpectralPenaltyConfig::new(5.0);
    let head = full.clone().with_ranks(Some(RankWindow::new(11, Some(100))));
    let tail = full.clone().with_ranks(Some(RankWindow::new(101, None)));
    let [f, h, t] = [full, head, tail].map(|c| value(penalty_of_eigenvalues(vector(&lambda), &c).unwrap().value));
    assert!(h > 0.0 && t > 0.0);
    assert!((f - (h + t)).abs() < 1e-5 * f, "full {f} vs head {h} + tail {t}");
    // A window config serialises with its ranks; the default one leaves them out (configs written
    // before windows existed keep matching).
    assert!(!serde_json::to_string(&SpectralPenaltyConfig::new(5.0)).unwrap().contains("ranks"));
    assert!(serde_json::to_string(&SpectralPenaltyConfig::new(5.0).with_ranks(Some(RankWindow::new(101, None)))).unwrap().contains("\"ranks\":{\"first\":101"));
}

/// A head window is computed from its leading ranks alone (`SpectralPenalty::value`); it must be the
/// penalty the formula gives on all N estimates, value and gradient, also when the batch ranks some
/// eigenvector beyond the window's last rank into it.
#[test]
fn a_head_window_gives_the_full_formula_value_and_gradient() {
    let (batch, width, last) = (90, 60, 20);
    let config = SpectralPenaltyConfig::new(3.0).with_tau(3).with_ranks(Some(RankWindow::new(5, Some(last))));
    let covariance = Array2::from_shape_fn((width, width), |(i, j)| if i == j { 1.0 / (i + 1) as f64 } else { 2e-4 });
    let mut penalty = config.init(width).unwrap();
    penalty.refresh(covariance.view(), &device()).unwrap();
    let values = activations(batch, width);
    let ad = device().autodiff();
    let run = |windowed: bool| -> (f64, Vec<f32>, Vec<f32>) {
        let h = Tensor::<2>::from_data(TensorData::new(values.clone(), [batch, width]), &ad).require_grad();
        let out =
            if windowed { penalty.value(h.clone()).unwrap() } else { penalty_of_eigenvalues(penalty.batch_eigenvalues(h.clone()).unwrap(), &config).unwrap() };
        let estimates: Vec<f32> = out.eigenvalues.clone().into_data().try_into_vec_as::<f32>().unwrap();
        let v = out.value.clone().detach().into_scalar::<f64>();
        let grads = out.value.backward();
        (v, h.grad(&grads).unwrap().into_data().try_into_vec_as::<f32>().unwrap(), estimates)
    };
    let ((head, head_grad, estimates), (full, full_grad, _)) = (run(true), run(false));
    assert!(head > 0.0 && (head - full).abs() <= 1e-5 * full, "head path {head}, formula {full}");
    let scale = full_grad.iter().fold(0f32, |m, g| m.max(g.abs()));
    let worst = head_grad.iter().zip(&full_grad).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(scale > 1e-4 && worst <= 1e-4 * scale, "gradients differ by {worst} (largest {scale})");
    let leading = &host_order(&estimates)[..last];
    assert!(leading.iter().any(|&i| i >= last), "the batch should rank a later eigenvector into the window: {leading:?}");
}

#[test]
fn device_normals_are_standard_normal_uncorrelated_and_keyed_by_the_seed() {
    let n = 200_000;
    let draw = |seed: u64| device_normal([n], seed, &device()).into_data().iter::<f64>().collect::<Vec<f64>>();
    let (a, b) = (draw(7), draw(8));
    assert_eq!(a, draw(7), "same seed, same values");
    let moment = |v: &[f64], k: i32| v.iter().map(|x| x.powi(k)).sum::<f64>() / v.len() as f64;
    let (mean, variance, kurtosis) = (moment(&a, 1), moment(&a, 2), moment(&a, 4));
    // Standard errors at n = 200,000: mean 0.0022, variance 0.0032, fourth moment 0.02.
    assert!(mean.abs() < 0.01 && (variance - 1.0).abs() < 0.015 && (kurtosis - 3.0).abs() < 0.1, "mean {mean}, variance {variance}, E[z⁴] {kurtosis}");
    let correlation = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f64>() / x.len() as f64;
    assert!(correlation(&a[1..], &a[..n - 1]).abs() < 0.01, "neighbours are uncorrelated");
    assert!(correlation(&a[1024..], &a[..n - 1024]).abs() < 0.01, "elements 1024 apart are uncorrelated");
    assert!(correlation(&a, &b).abs() < 0.01, "seeds 7 and 8 are uncorrelated");
    // The tails are there: P(|z| > 3) = 0.0027.
    let tail = a.iter().filter(|z| z.abs() > 3.0).count() as f64 / n as f64;
    assert!((tail - 0.0027).abs() < 0.0008, "P(|z| > 3) = {tail}");
}

#[test]
fn a_covariance_with_a_clearly_negative_eigenvalue_is_refused() {
    assert!(check_positive_semidefinite(&[4.0, 1.0, 0.0, -1e-12]).is_ok(), "rounding");
    assert!(matches!(check_positive_semidefinite(&[4.0, 1.0, -1e-3]), Err(PenaltyError::NotPositiveSemidefinite { .. })));
    assert!(check_positive_semidefinite(&[f64::NAN, 1.0]).is_err());
    let mut penalty = SpectralPenaltyConfig::new(1.0).with_tau(0).init(3).unwrap();
    let indefinite = Array2::from_shape_vec((3, 3), vec![1.0, 2.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0]).unwrap(); // eigenvalues 3, 1, −1
    assert!(matches!(penalty.refresh(indefinite.view(), &device()), Err(PenaltyError::NotPositiveSemidefinite { .. })));
}
