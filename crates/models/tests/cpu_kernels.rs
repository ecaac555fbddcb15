//! The CPU backend's tanh and batch normalisation, which the workspace patches in burn-flex
//! (`patches/burn-flex`) for speed, against their definitions computed here in f64.

use burn::prelude::*;

fn device() -> Device {
    Device::flex()
}

fn values(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

/// Deterministic, irregular test values in about [-3, 3].
fn pseudo_random(len: usize, salt: u64) -> Vec<f32> {
    (0..len as u64)
        .map(|k| {
            let h = (k.wrapping_add(salt).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
            (6.0 * h - 3.0) as f32
        })
        .collect()
}

fn assert_close(what: &str, got: &[f32], want: &[f64], tolerance: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        let error = (g as f64 - w).abs();
        assert!(error <= tolerance * (1.0 + w.abs()), "{what}[{k}]: {g} against {w} (error {error:e})");
    }
}

/// Batch normalisation with the batch's statistics, and the gradients of `Σ y ⊙ w`, for shapes of
/// rank 2 (the MLPs' layers) and rank 4 (channels with spatial positions).
#[test]
fn batch_norm_in_training_matches_its_definition() {
    for dims in [vec![64, 7], vec![6, 3, 4, 5]] {
        let (n, c) = (dims[0], dims[1]);
        let s: usize = dims[2..].iter().product();
        let len = n * c * s;
        let x = pseudo_random(len, 1);
        let w = pseudo_random(len, 2);
        let gamma: Vec<f32> = pseudo_random(c, 3).iter().map(|v| 1.0 + v / 4.0).collect();
        let beta = pseudo_random(c, 4);
        let epsilon = 1e-5;

        // Definition, in f64: biased variance, y = (x − mean) / sqrt(var + ε) · γ + β.
        let at = |i: usize, ch: usize, sp: usize| i * c * s + ch * s + sp;
        let count = (n * s) as f64;
        let (mut mean, mut var) = (vec![0.0f64; c], vec![0.0f64; c]);
        for ch in 0..c {
            let all = || (0..n).flat_map(move |i| (0..s).map(move |sp| (i, sp)));
            mean[ch] = all().map(|(i, sp)| x[at(i, ch, sp)] as f64).sum::<f64>() / count;
            var[ch] = all().map(|(i, sp)| (x[at(i, ch, sp)] as f64 - mean[ch]).powi(2)).sum::<f64>() / count;
        }
        let inv: Vec<f64> = var.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
        let (mut y, mut dx) = (vec![0.0f64; len], vec![0.0f64; len]);
        let (mut dgamma, mut dbeta) = (vec![0.0f64; c], vec![0.0f64; c]);
        for ch in 0..c {
            let xhat = |k: usize| (x[k] as f64 - mean[ch]) * inv[ch];
            let (mut sum_w, mut sum_wx) = (0.0, 0.0);
            for i in 0..n {
                for sp in 0..s {
                    let k = at(i, ch, sp);
                    y[k] = xhat(k) * gamma[ch] as f64 + beta[ch] as f64;
                    sum_w += w[k] as f64;
                    sum_wx += w[k] as f64 * xhat(k);
                }
            }
            dbeta[ch] = sum_w;
            dgamma[ch] = sum_wx;
            for i in 0..n {
                for sp in 0..s {
                    let k = at(i, ch, sp);
                    dx[k] = gamma[ch] as f64 * inv[ch] * (w[k] as f64 - sum_w / count - xhat(k) * sum_wx / count);
                }
            }
        }

        let ad = device().autodiff();
        // Rank 2 is tested as [n, c, 1, 1]: the same layout.
        let dims4: [usize; 4] = core::array::from_fn(|k| dims.get(k).copied().unwrap_or(1));
        let tensor = |v: &[f32]| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), &ad);
        let x_t: Tensor<4> = tensor(&x).reshape(dims4).require_grad();
        let gamma_t = tensor(&gamma).require_grad();
        let beta_t = tensor(&beta).require_grad();
        let out = burn::tensor::module::batch_norm_train(x_t.clone(), gamma_t.clone(), beta_t.clone(), epsilon);
        let w_t: Tensor<4> = tensor(&w).reshape(dims4);
        let grads = (out.output.clone() * w_t).sum().backward();

        let what = format!("{dims:?}");
        assert_close(&format!("{what} output"), &values(out.output.reshape([len])), &y, 2e-5);
        assert_close(&format!("{what} mean"), &values(out.mean), &mean, 2e-6);
        assert_close(&format!("{what} variance"), &values(out.variance), &var, 2e-6);
        assert_close(&format!("{what} x gradient"), &values(x_t.grad(&grads).unwrap().reshape([len])), &dx, 2e-5);
        assert_close(&format!("{what} γ gradient"), &values(gamma_t.grad(&grads).unwrap()), &dgamma, 2e-5);
        assert_close(&format!("{what} β gradient"), &values(beta_t.grad(&grads).unwrap()), &dbeta, 2e-5);

        // With given statistics (evaluation): the same affine map.
        let to = |v: &[f64]| Tensor::<1>::from_data(TensorData::new(v.iter().map(|&a| a as f32).collect::<Vec<_>>(), [v.len()]), &device());
        let plain = |v: &[f32]| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), &device());
        let x4: Tensor<4> = plain(&x).reshape(dims4);
        let evaluated = burn::tensor::module::batch_norm(x4, plain(&gamma), plain(&beta), to(&mean), to(&var), epsilon);
        assert_close(&format!("{what} evaluation output"), &values(evaluated.reshape([len])), &y, 2e-5);
    }
}

/// tanh within 1.2e-7 of the f64 tanh everywhere, a few ulps relative near 0, exact at 0, ±1 in
/// saturation, NaN kept; its gradient is 1 − tanh².
#[test]
fn tanh_is_tanh_to_a_few_ulps_and_its_gradient_is_one_minus_its_square() {
    let grid: Vec<f32> = (0..400_001).map(|k| -20.0 + k as f32 * 1e-4).collect();
    let got = values(specreg_models::tanh(Tensor::<1>::from_data(TensorData::new(grid.clone(), [grid.len()]), &device())));
    for (&x, &y) in grid.iter().zip(&got) {
        let exact = (x as f64).tanh();
        let error = (y as f64 - exact).abs();
        assert!(error < 1.2e-7, "tanh({x}) = {y}, error {error:e}");
        if x != 0.0 && x.abs() <= 0.125 {
            assert!(error / exact.abs() < 4e-7, "tanh({x}) = {y}, relative error {:e}", error / exact.abs());
        }
    }
    let specials = [0.0f32, -0.0, 30.0, -30.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
    let got = values(specreg_models::tanh(Tensor::<1>::from_data(TensorData::new(specials.to_vec(), [specials.len()]), &device())));
    assert_eq!(got[0].to_bits(), 0.0f32.to_bits());
    assert_eq!(got[1].to_bits(), (-0.0f32).to_bits());
    assert_eq!(&got[2..6], &[1.0, -1.0, 1.0, -1.0]);
    assert!(got[6].is_nan(), "NaN must stay NaN (a diverged run is detected by it)");

    let xs = pseudo_random(1000, 5);
    let x = Tensor::<1>::from_data(TensorData::new(xs.clone(), [xs.len()]), &device().autodiff()).require_grad();
    let grads = specreg_models::tanh(x.clone()).sum().backward();
    let slope: Vec<f64> = xs.iter().map(|&v| 1.0 - (v as f64).tanh().powi(2)).collect();
    assert_close("tanh gradient", &values(x.grad(&grads).unwrap()), &slope, 1e-6);
}
