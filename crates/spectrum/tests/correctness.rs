//! Correctness of the covariance, the eigensolver, the power-law fit and cross-validated PCA.

use ndarray::{Array2, Axis, s};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use specreg_spectrum::*;

fn gaussian(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| StandardNormal.sample(&mut rng))
}

fn frobenius(a: &Array2<f64>) -> f64 {
    a.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Reference covariance: mean first, then centred products, all in f64 (the textbook two-pass algorithm).
fn two_pass(x: &Array2<f64>, ddof: usize) -> Array2<f64> {
    let centred = x - &x.mean_axis(Axis(0)).unwrap();
    centred.t().dot(&centred) / (x.nrows() - ddof) as f64
}

#[test]
fn eigendecomposition_residual_and_orthogonality_at_n_500() {
    let g = gaussian(500, 500, 1);
    let c = (&g + &g.t()) / 2.0;
    let Eigen { values, vectors } = eigh(c.view()).unwrap();
    assert!(values.windows(2).into_iter().all(|w| w[0] >= w[1]), "decreasing order");
    let residual = c.dot(&vectors) - &vectors * &values;
    let rel = frobenius(&residual) / frobenius(&c);
    let ortho = frobenius(&(vectors.t().dot(&vectors) - Array2::<f64>::eye(500)));
    assert!(rel < 1e-10, "‖CV − VΛ‖/‖C‖ = {rel:e}");
    assert!(ortho < 1e-10, "‖VᵀV − I‖ = {ortho:e}");

    let only = eigvalsh(c.view()).unwrap();
    let diff = (&only - &values).iter().fold(0f64, |m, v| m.max(v.abs()));
    assert!(diff < 1e-10 * values[0].abs(), "eigenvalue paths differ by {diff:e}");
}

#[test]
fn fitted_alpha_recovers_the_simulated_exponent() {
    for alpha in [0.5, 1.0, 2.0] {
        let variances = simulate::power_law_variances(300, alpha);
        let rows = simulate::gaussian_responses(20_000, &variances, 42).mapv(|v| v as f32);
        let spectrum = layer_spectrum(rows.view()).unwrap();
        let fit = spectrum.fit.unwrap();
        assert_eq!(fit.range, RankRange::new(11, 150));
        assert!((fit.alpha - alpha).abs() < 0.05, "α = {alpha}: α̂ = {}", fit.alpha);
        assert!(fit.r2 > 0.99, "α = {alpha}: R² = {}", fit.r2);
    }
}

#[test]
fn fit_is_exact_on_an_exact_power_law_and_cut_before_non_positive_values() {
    let mut eig = reference_curve(100, 1.7, 3.0);
    let fit = fit_power_law(&eig, RankRange::new(1, 100)).unwrap();
    assert!((fit.alpha - 1.7).abs() < 1e-12 && (fit.intercept - 3f64.ln()).abs() < 1e-12 && fit.r2 > 1.0 - 1e-12);
    eig[60] = 0.0;
    let fit = fit_power_law(&eig, RankRange::new(11, 100)).unwrap();
    assert_eq!(fit.range, RankRange::new(11, 60));
}

#[test]
fn covariance_with_a_large_offset_matches_two_pass() {
    let x = gaussian(20_000, 50, 3).mapv(|v| (1e4 + v) as f32);
    let x64 = x.mapv(f64::from);
    let reference = two_pass(&x64, 0);
    let mut acc = CovarianceAccumulator::new(50);
    acc.update(x.view()).unwrap();
    let ours = acc.covariance().unwrap();
    let rel = frobenius(&(&ours - &reference)) / frobenius(&reference);
    assert!(rel < 1e-9, "relative error {rel:e}");
    let mean_err = (&acc.mean() - &x64.mean_axis(Axis(0)).unwrap()).iter().fold(0f64, |m, v| m.max(v.abs()));
    assert!(mean_err < 1e-9, "mean error {mean_err:e}");

    // The fast path trades accuracy for speed, within its documented ~1e-6.
    let mut fast = CovarianceAccumulator::new(50).with_precision(Precision::Fast);
    fast.update(x.view()).unwrap();
    let rel_fast = frobenius(&(&fast.covariance().unwrap() - &reference)) / frobenius(&reference);
    assert!(rel_fast < 1e-6, "fast relative error {rel_fast:e}");

    // The criterion has teeth: the one-pass formula E[xxᵀ] − E[x]E[x]ᵀ, even in f64, misses it.
    let mean = x64.mean_axis(Axis(0)).unwrap();
    let outer = mean.view().insert_axis(Axis(1)).dot(&mean.view().insert_axis(Axis(0)));
    let naive = x64.t().dot(&x64) / x64.nrows() as f64 - outer;
    let rel_naive = frobenius(&(&naive - &reference)) / frobenius(&reference);
    assert!(rel_naive > 1e-9, "naive relative error {rel_naive:e}");
}

#[test]
fn streaming_uneven_batches_and_merging_agree_with_one_shot() {
    let x = gaussian(5_000, 40, 4) * 3.0 + 7.0;
    let one_shot = covariance(x.view()).unwrap();
    let mut streamed = CovarianceAccumulator::new(40);
    let mut merged = CovarianceAccumulator::new(40);
    // Blocks of every size in turn reuse (shrink and grow) the accumulator's buffers on both paths.
    let mut fast = CovarianceAccumulator::new(40).with_precision(Precision::Fast);
    let mut start = 0;
    for (k, size) in [1, 2, 17, 999, 2048, 1, 1932].into_iter().enumerate() {
        let part = x.slice(s![start..start + size, ..]);
        streamed.update(part).unwrap();
        fast.update(part).unwrap();
        let mut piece = CovarianceAccumulator::new(40);
        piece.update(part).unwrap();
        if k % 2 == 0 {
            merged.merge(&piece).unwrap()
        } else {
            merged.update(part).unwrap()
        }
        start += size;
    }
    assert_eq!(start, 5_000);
    for acc in [&streamed, &merged] {
        assert_eq!(acc.count(), 5_000);
        let rel = frobenius(&(&acc.covariance().unwrap() - &one_shot)) / frobenius(&one_shot);
        assert!(rel < 1e-12, "relative difference {rel:e}");
    }
    let rel_fast = frobenius(&(&fast.covariance().unwrap() - &one_shot)) / frobenius(&one_shot);
    assert!(rel_fast < 1e-6, "fast path, streamed: relative difference {rel_fast:e}");
    let sample = streamed.sample_covariance().unwrap();
    let rel = frobenius(&(&sample - &two_pass(&x, 1))) / frobenius(&sample);
    assert!(rel < 1e-12);
}

#[test]
fn cross_validated_pca_recovers_the_signal_not_signal_plus_noise() {
    let (stimuli, neurons) = (10_000, 100);
    let signal_var = simulate::power_law_variances(neurons, 1.0);
    let signal = simulate::gaussian_responses(stimuli, &signal_var, 5);
    let noise_sd = 0.25; // noise variance 0.0625 per neuron: above the signal beyond rank 16
    let r1 = &signal + &(gaussian(stimuli, neurons, 6) * noise_sd);
    let r2 = &signal + &(gaussian(stimuli, neurons, 7) * noise_sd);

    let cv = cross_validated_spectrum(r1.view(), r2.view()).unwrap();
    assert_eq!(cv.len(), neurons);
    // Reference: the signal's own sample spectrum (what a noiseless recording would show).
    let truth = layer_spectrum(signal.view()).unwrap().eigenvalues;
    let naive = layer_spectrum(r1.view()).unwrap().eigenvalues;
    for k in 0..30 {
        let err = (cv[k] - truth[k]).abs() / truth[k];
        assert!(err < 0.10, "component {}: cvPCA {} vs signal {} ({:.1}% off)", k + 1, cv[k], truth[k], err * 100.0);
    }
    // Ordinary PCA of one repeat carries the noise floor: far off in the tail where cvPCA is not.
    let naive_err = (naive[29] - truth[29]) / truth[29];
    assert!(naive_err > 0.5, "naive PCA should overestimate rank 30 by the noise variance, got {naive_err}");
}

#[test]
fn helpers_behave_as_defined() {
    assert!((participation_ratio(&[2.0; 10]) - 10.0).abs() < 1e-12);
    assert!((participation_ratio(&[1.0, 0.0, 0.0]) - 1.0).abs() < 1e-12);
    assert_eq!(smoothness_threshold(1), 3.0);
    assert_eq!(smoothness_threshold(2), 2.0);
    let n = normalized(&[3.0, 1.0]);
    assert_eq!(n, vec![0.75, 0.25]);
    assert_eq!(RankRange::protocol(2000), RankRange::new(11, 500));
    assert_eq!(RankRange::protocol(300), RankRange::new(11, 150));

    // Target anchored at τ: equal there, following (τ+1)^α/(n+1)^α elsewhere.
    let eig: Vec<f64> = (0..50).map(|n| 1.0 / (n as f64 + 1.0).powi(2)).collect();
    let target = target_spectrum(&eig, 1.0, 10).unwrap();
    assert_eq!(target[10], eig[10]);
    assert!((target[21] - eig[10] * 11.0 / 22.0).abs() < 1e-15);
    // An n^-2 spectrum against a 1/n target: the ratio (11/(n+1)) is within 2x only for n+1 ≤ 22.
    let frac = fraction_near_target(&eig, 1.0, 10, 2.0).unwrap();
    assert!((frac - 11.0 / 39.0).abs() < 1e-12, "{frac}");
    let exact = reference_curve(50, 1.0, 1.0);
    assert_eq!(fraction_near_target(&exact, 1.0, 10, 2.0).unwrap(), 1.0);
}

#[test]
fn invalid_input_is_a_typed_error() {
    let empty = Array2::<f32>::zeros((0, 5));
    assert!(matches!(covariance(empty.view()), Err(SpectrumError::Empty(_))));
    assert!(matches!(CovarianceAccumulator::new(3).covariance(), Err(SpectrumError::TooFewSamples { .. })));
    let mut acc = CovarianceAccumulator::new(3);
    assert!(matches!(acc.update(Array2::<f32>::zeros((4, 2)).view()), Err(SpectrumError::Shape(_))));

    let mut x = Array2::<f32>::ones((4, 3));
    x[[2, 1]] = f32::NAN;
    assert!(matches!(acc.update(x.view()), Err(SpectrumError::NonFinite { row: 2, col: 1, .. })));
    x[[2, 1]] = f32::INFINITY;
    assert!(matches!(layer_spectrum(x.view()), Err(SpectrumError::NonFinite { row: 2, col: 1, .. })));
    assert_eq!(acc.count(), 0, "a rejected batch leaves the accumulator unchanged");

    assert!(matches!(eigh(Array2::<f64>::zeros((3, 4)).view()), Err(SpectrumError::Shape(_))));
    assert!(matches!(eigvalsh(Array2::<f64>::zeros((0, 0)).view()), Err(SpectrumError::Empty(_))));
    let mut m = Array2::<f64>::eye(3);
    m[[0, 2]] = f64::NAN;
    assert!(matches!(eigh(m.view()), Err(SpectrumError::NonFinite { .. })));

    let eig = reference_curve(20, 1.0, 1.0);
    assert!(matches!(fit_power_law(&eig, RankRange::new(11, 500)), Err(SpectrumError::FitRange(_))));
    assert!(matches!(fit_power_law(&eig, RankRange::new(0, 10)), Err(SpectrumError::FitRange(_))));
    assert!(matches!(fit_power_law(&[], RankRange::new(1, 2)), Err(SpectrumError::Empty(_))));
    assert!(matches!(target_spectrum(&eig, 1.0, 20), Err(SpectrumError::FitRange(_))));

    let a = Array2::<f64>::zeros((10, 4));
    assert!(matches!(cross_validated_spectrum(a.view(), Array2::<f64>::zeros((10, 5)).view()), Err(SpectrumError::Shape(_))));
    assert!(matches!(cross_validated_spectrum(a.slice(s![..1, ..]), a.slice(s![..1, ..])), Err(SpectrumError::TooFewSamples { .. })));
}

#[test]
fn the_same_bits_whatever_the_number_of_threads() {
    // 1,000 units: large enough for faer to split its work (before the fixed split, one and three
    // threads gave eigenvalues apart in the last bits). The covariance, eigh, eigvalsh, the inverse
    // Cholesky factor and a random rotation, each computed in pools of 1, 2 and 3 threads.
    let responses = simulate::gaussian_responses(3_000, &simulate::power_law_variances(1_000, 1.0), 11);
    let bits = |a: &[f64]| a.iter().map(|v| v.to_bits()).collect::<Vec<u64>>();
    let compute = || {
        let cov = covariance(responses.view()).unwrap();
        let eigen = eigh(cov.view()).unwrap();
        let values = eigvalsh(cov.view()).unwrap();
        let inverse = inverse_cholesky(cov.view()).unwrap();
        let rotation = simulate::random_rotation(600, 3);
        [cov, eigen.vectors, inverse, rotation]
            .iter()
            .map(|m| bits(m.as_standard_layout().as_slice().unwrap()))
            .chain([bits(eigen.values.as_slice().unwrap()), bits(values.as_slice().unwrap())])
            .collect::<Vec<_>>()
    };
    fix_factorisation_split();
    let results: Vec<_> = [1, 2, 3].iter().map(|&threads| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(compute)).collect();
    for (k, what) in ["covariance", "eigenvectors", "inverse Cholesky", "rotation", "eigenvalues (eigh)", "eigenvalues (eigvalsh)"].iter().enumerate() {
        assert!(results[0][k] == results[1][k] && results[1][k] == results[2][k], "{what} depend on the number of threads");
    }
}
