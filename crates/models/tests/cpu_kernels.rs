//! The CPU backend's tanh, batch normalisation, max pooling, convolution weight and bias gradients
//! and narrow matrix products, which the workspace patches in burn-flex (`patches/burn-flex`) for
//! speed, against their definitions computed here (in f64 where arithmetic is involved).

use burn::prelude::*;
use burn::tensor::module::max_pool2d_with_indices;
use burn::tensor::ops::MaxPoolOptions;

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

    // With an upstream gradient that is not all ones, and the output used twice, each element's slope
    // is scaled by its own upstream value.
    let weights = pseudo_random(1000, 6);
    let w = Tensor::<1>::from_data(TensorData::new(weights.clone(), [weights.len()]), &device().autodiff());
    let y = specreg_models::tanh(x.clone());
    let grads = (y.clone() * w + y * 0.5).sum().backward();
    let chained: Vec<f64> = slope.iter().zip(&weights).map(|(s, &w)| s * (w as f64 + 0.5)).collect();
    assert_close("tanh gradient under an upstream gradient", &values(x.grad(&grads).unwrap()), &chained, 1e-6);
}

/// tanh's backward pass is `g · (1 − y·y)` in f32 from the forward output `y`, exactly (the value
/// burn's composed default gives), whether the upstream gradient is a dense buffer of its own (the
/// fused in-place kernel, over several parallel chunks here) or a transposed view (the general path).
#[test]
fn tanh_backward_is_exactly_the_f32_formula_on_both_paths() {
    let (rows, cols) = (300, 500);
    let xs = pseudo_random(rows * cols, 7);
    let ws = pseudo_random(rows * cols, 8);
    let ad = device().autodiff();
    let x = Tensor::<2>::from_data(TensorData::new(xs.clone(), [rows, cols]), &ad).require_grad();
    let y = specreg_models::tanh(x.clone());
    let ys = values(y.clone().reshape([rows * cols]));

    let w = Tensor::<2>::from_data(TensorData::new(ws.clone(), [rows, cols]), &ad);
    let grads = (y * w).sum().backward();
    let want: Vec<f32> = ys.iter().zip(&ws).map(|(&y, &g)| g * (1.0 - y * y)).collect();
    let got = values(x.grad(&grads).unwrap().reshape([rows * cols]));
    assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "dense upstream gradient");

    // The upstream gradient arrives transposed: element (i, j) of y meets ws[j * rows + i].
    let wt = Tensor::<2>::from_data(TensorData::new(ws.clone(), [cols, rows]), &ad);
    let y = specreg_models::tanh(x.clone());
    let grads = (y.transpose() * wt).sum().backward();
    let want: Vec<f32> = (0..rows * cols)
        .map(|k| {
            let (i, j) = (k / cols, k % cols);
            ws[j * rows + i] * (1.0 - ys[k] * ys[k])
        })
        .collect();
    let got = values(x.grad(&grads).unwrap().reshape([rows * cols]));
    assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "transposed upstream gradient");
}

/// Max pooling with indices against its definition: the first strict maximum of each window in
/// row-major order, a NaN beating numbers and the last NaN beating earlier ones, indices as flat
/// positions in the input plane. Windows that all lie inside the input take the patched path; the
/// padded and ceil-mode cases, which keep burn-flex's generic loop, are checked alongside.
#[test]
fn max_pool_with_indices_matches_its_definition() {
    /// One pooling and the input's height and width.
    struct Case {
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        ceil: bool,
        input: [usize; 2],
    }
    let case = |kernel, stride, padding, dilation, ceil, input| Case { kernel, stride, padding, dilation, ceil, input };
    let cases = [
        case([2, 2], [2, 2], [0, 0], [1, 1], false, [26, 26]),
        case([2, 2], [2, 2], [0, 0], [1, 1], false, [11, 11]),
        case([3, 2], [1, 2], [0, 0], [1, 1], false, [9, 8]),
        case([2, 3], [2, 1], [0, 0], [2, 1], false, [10, 7]),
        case([2, 2], [2, 2], [0, 0], [1, 1], true, [7, 9]),
        case([3, 3], [2, 2], [1, 1], [1, 1], false, [8, 8]),
    ];
    for (case, Case { kernel, stride, padding, dilation, ceil, input: [h, w] }) in cases.into_iter().enumerate() {
        let (batch, channels) = (3, 5);
        // Coarse values make ties common; some NaNs, two in one window in places.
        let mut x: Vec<f32> = pseudo_random(batch * channels * h * w, case as u64 + 7).iter().map(|v| v.round()).collect();
        for k in (0..x.len()).step_by(37) {
            x[k] = f32::NAN;
            if k + 1 < x.len() {
                x[k + 1] = f32::NAN;
            }
        }
        let input = Tensor::<1>::from_floats(x.as_slice(), &device()).reshape([batch, channels, h, w]);
        let options = MaxPoolOptions::new(kernel).with_stride(stride).with_padding(padding).with_dilation(dilation).with_ceil_mode(ceil);
        let (pooled, indices) = max_pool2d_with_indices(input, options);
        let [_, _, out_h, out_w] = pooled.dims();
        let got = values(pooled.flatten(0, 3));
        let got_at: Vec<i64> = indices.flatten::<1>(0, 3).into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
        let size = |input: usize, k: usize, s: usize, p: usize, d: usize| {
            let span = input + 2 * p - d * (k - 1) - 1;
            let out = if ceil { span.div_ceil(s) + 1 } else { span / s + 1 };
            // The last window must start inside the input or the left padding.
            if ceil && (out - 1) * s >= input + p { out - 1 } else { out }
        };
        assert_eq!(
            [out_h, out_w],
            [size(h, kernel[0], stride[0], padding[0], dilation[0]), size(w, kernel[1], stride[1], padding[1], dilation[1])],
            "case {case}: output size"
        );
        for plane in 0..batch * channels {
            for (oh, ow) in (0..out_h).flat_map(|oh| (0..out_w).map(move |ow| (oh, ow))) {
                let mut best: Option<(f32, usize)> = None;
                for kh in 0..kernel[0] {
                    for kw in 0..kernel[1] {
                        let (ih, iw) = (
                            (oh * stride[0] + kh * dilation[0]) as isize - padding[0] as isize,
                            (ow * stride[1] + kw * dilation[1]) as isize - padding[1] as isize,
                        );
                        if ih < 0 || iw < 0 || ih >= h as isize || iw >= w as isize {
                            continue;
                        }
                        let at = ih as usize * w + iw as usize;
                        let v = x[plane * h * w + at];
                        if best.is_none_or(|(b, _)| v > b || v.is_nan()) {
                            best = Some((v, at));
                        }
                    }
                }
                let (want, want_at) = best.expect("every window overlaps the input");
                let k = (plane * out_h + oh) * out_w + ow;
                let same = (got[k].is_nan() && want.is_nan()) || got[k] == want;
                assert!(
                    same && got_at[k] == want_at as i64,
                    "case {case}, plane {plane}, output ({oh}, {ow}): got {} at {}, want {want} at {want_at}",
                    got[k],
                    got_at[k]
                );
            }
        }
    }
}

/// The weight and bias gradients of a 2D convolution (through autodiff, and the weight gradient
/// also directly in f64) against `Σ_n Σ_positions grad · input patch`, computed here in f64, for
/// strides, dilations, symmetric and asymmetric padding and groups.
#[test]
fn conv2d_weight_and_bias_gradients_match_their_definitions() {
    use burn::tensor::FloatDType;
    use burn::tensor::module::{conv2d, conv2d_weight_backward};
    use burn::tensor::ops::ConvOptions;

    // (batch, in channels, h, w), (out channels, kh, kw), stride, dilation, padding (begin, end), groups
    type Case = ([usize; 4], [usize; 3], [usize; 2], [usize; 2], [(usize, usize); 2], usize);
    let cases: [Case; 6] = [
        ([5, 1, 12, 12], [4, 3, 3], [1, 1], [1, 1], [(0, 0), (0, 0)], 1),
        ([3, 6, 9, 11], [8, 3, 3], [1, 1], [1, 1], [(0, 0), (0, 0)], 1),
        ([2, 3, 10, 9], [5, 3, 2], [2, 3], [1, 1], [(1, 1), (2, 2)], 1),
        ([2, 4, 11, 10], [6, 2, 3], [1, 2], [2, 1], [(1, 0), (0, 2)], 2),
        ([4, 2, 7, 8], [3, 5, 5], [1, 1], [1, 1], [(2, 2), (2, 2)], 1),
        // Enough positions for several tiles and lanes.
        ([40, 8, 20, 20], [16, 3, 3], [1, 1], [1, 1], [(1, 1), (1, 1)], 1),
    ];
    for (case, (xd, [co, kh, kw], stride, dilation, padding, groups)) in cases.into_iter().enumerate() {
        let [n, ci, h, w] = xd;
        let cpg = ci / groups;
        let opg = co / groups;
        let options = ConvOptions { stride, padding, dilation, groups };
        let out_len = |len: usize, k: usize, s: usize, d: usize, (b, e): (usize, usize)| (len + b + e - d * (k - 1) - 1) / s + 1;
        let (oh, ow) = (out_len(h, kh, stride[0], dilation[0], padding[0]), out_len(w, kw, stride[1], dilation[1], padding[1]));
        let x = pseudo_random(n * ci * h * w, 10 + case as u64);
        let weight = pseudo_random(co * cpg * kh * kw, 20 + case as u64);
        let bias = pseudo_random(co, 30 + case as u64);
        let upstream = pseudo_random(n * co * oh * ow, 40 + case as u64);

        // Each sum, and the sum of its terms' magnitudes (the scale of f32 rounding in it).
        let (mut want_w, mut scale_w) = (vec![0.0f64; weight.len()], vec![0.0f64; weight.len()]);
        let (mut want_b, mut scale_b) = (vec![0.0f64; co], vec![0.0f64; co]);
        for b in 0..n {
            for o in 0..co {
                let group = o / opg;
                for (y, xo) in (0..oh).flat_map(|y| (0..ow).map(move |xo| (y, xo))) {
                    let g = upstream[((b * co + o) * oh + y) * ow + xo] as f64;
                    want_b[o] += g;
                    scale_b[o] += g.abs();
                    for (c, i, j) in (0..cpg).flat_map(|c| (0..kh).flat_map(move |i| (0..kw).map(move |j| (c, i, j)))) {
                        let row = (y * stride[0] + i * dilation[0]) as isize - padding[0].0 as isize;
                        let col = (xo * stride[1] + j * dilation[1]) as isize - padding[1].0 as isize;
                        if row < 0 || col < 0 || row >= h as isize || col >= w as isize {
                            continue;
                        }
                        let input = x[((b * ci + group * cpg + c) * h + row as usize) * w + col as usize] as f64;
                        let k = ((o * cpg + c) * kh + i) * kw + j;
                        want_w[k] += g * input;
                        scale_w[k] += (g * input).abs();
                    }
                }
            }
        }

        let ad = device().autodiff();
        let tensor = |v: &[f32], device: &Device| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), device);
        let x_t: Tensor<4> = tensor(&x, &ad).reshape(xd);
        let w_t: Tensor<4> = tensor(&weight, &ad).reshape([co, cpg, kh, kw]).require_grad();
        let b_t = tensor(&bias, &ad).require_grad();
        let out = conv2d(x_t, w_t.clone(), Some(b_t.clone()), options.clone());
        assert_eq!(out.dims(), [n, co, oh, ow], "case {case}: output shape");
        let grads = (out * tensor(&upstream, &ad).reshape([n, co, oh, ow])).sum().backward();
        let what = format!("case {case}");
        let check = |name: &str, got: Vec<f32>, want: &[f64], scale: &[f64]| {
            assert_eq!(got.len(), want.len(), "{what} {name}: length");
            for (k, ((&g, &w), &s)) in got.iter().zip(want).zip(scale).enumerate() {
                let error = (g as f64 - w).abs();
                assert!(error <= 1e-6 * (1.0 + s), "{what} {name}[{k}]: {g} against {w} (error {error:e}, terms' magnitudes {s})");
            }
        };
        check("weight gradient", values(w_t.grad(&grads).unwrap().reshape([weight.len()])), &want_w, &scale_w);
        check("bias gradient", values(b_t.grad(&grads).unwrap()), &want_b, &scale_b);

        // The same kernel in f64 (and so the dtype dispatch) without autodiff.
        let plain = device();
        let wide = |v: &[f32], dims: [usize; 4]| tensor(v, &plain).reshape(dims).cast(FloatDType::F64);
        let direct = conv2d_weight_backward(wide(&x, xd), wide(&weight, [co, cpg, kh, kw]), wide(&upstream, [n, co, oh, ow]), options);
        let direct: Vec<f64> = direct.reshape([weight.len()]).into_data().try_into_vec_as::<f64>().unwrap();
        for (k, (&got, &want)) in direct.iter().zip(&want_w).enumerate() {
            assert!((got - want).abs() <= 1e-13 * (1.0 + scale_w[k]), "{what} f64 weight gradient[{k}]: {got} against {want}");
        }
    }
}

/// A product whose output has fewer columns than one f32 vector (a classifier's logits, its weight
/// gradient) takes the patched column-major path: its values are bit for bit those of the same
/// product computed wide, `(Bᵀ Aᵀ)ᵀ`, and within f32 rounding of the sum in f64.
#[test]
fn a_narrow_product_is_the_wide_product_and_its_definition() {
    // [m, k, n], and whether the left factor is read transposed (stored k × m, as in a weight gradient).
    for (m, k, n, transposed) in [(700, 300, 10, false), (700, 300, 10, true), (64, 33, 1, false), (500, 257, 15, true), (3, 40, 2, false)] {
        let a_values = pseudo_random(m * k, (m + n) as u64);
        let b = Tensor::<2>::from_data(TensorData::new(pseudo_random(k * n, 11), [k, n]), &device());
        let a = match transposed {
            true => Tensor::<2>::from_data(TensorData::new(a_values.clone(), [k, m]), &device()).transpose(),
            false => Tensor::<2>::from_data(TensorData::new(a_values.clone(), [m, k]), &device()),
        };
        let a_at = |i: usize, p: usize| if transposed { a_values[p * m + i] } else { a_values[i * k + p] };
        let narrow = values(a.clone().matmul(b.clone()).reshape([m * n]));
        let wide = values(b.clone().transpose().matmul(a.transpose()).transpose().reshape([m * n]));
        let what = format!("{m}×{k}·{k}×{n}, left transposed: {transposed}");
        assert!(narrow.iter().zip(&wide).all(|(x, y)| x.to_bits() == y.to_bits()), "{what}: narrow and wide paths differ");
        let b_values = values(b.reshape([k * n]));
        for (index, &got) in narrow.iter().enumerate() {
            let (i, j) = (index / n, index % n);
            let terms = (0..k).map(|p| a_at(i, p) as f64 * b_values[p * n + j] as f64);
            let (sum, magnitude) = terms.fold((0.0, 0.0), |(s, t), x| (s + x, t + x.abs()));
            assert!((got as f64 - sum).abs() <= 1e-6 * magnitude, "{what}: element ({i}, {j}) {got} against {sum}");
        }
    }
    // Empty factors: no inner dimension gives zeros, no columns give an empty product.
    let zeros = Tensor::<2>::ones([40, 0], &device()).matmul(Tensor::<2>::ones([0, 3], &device()));
    assert_eq!(zeros.dims(), [40, 3]);
    assert!(values(zeros.reshape([120])).iter().all(|&v| v == 0.0), "an empty sum is 0");
    assert_eq!(Tensor::<2>::ones([40, 5], &device()).matmul(Tensor::<2>::ones([5, 0], &device())).dims(), [40, 0]);
}
