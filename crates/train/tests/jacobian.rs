//! The forward-mode Jacobian penalty: unbiased for ‖J‖²_F, and its weight gradient is right.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Distribution;
use specreg_models::{Mlp, MlpConfig, Network};
use specreg_regularizer::{JacobianPenalty, JacobianPenaltyConfig};

fn device() -> Device {
    Device::flex()
}

/// Exact ‖J‖²_F averaged over the batch: J·e_i for every input direction e_i.
fn exact_frobenius(model: &Mlp, x: &Tensor<4>) -> f64 {
    let [b, c, h, w] = x.dims();
    let d = c * h * w;
    let mut total = 0.0;
    for i in 0..d {
        let mut basis = vec![0.0f32; b * d];
        for e in 0..b {
            basis[e * d + i] = 1.0;
        }
        let tangent = Tensor::<4>::from_data(TensorData::new(basis, [b, c, h, w]), &device());
        let (_, jv) = model.forward_tangent(x.clone(), tangent).unwrap();
        total += jv.square().sum().into_scalar::<f64>();
    }
    total / b as f64
}

#[test]
fn projection_average_matches_the_exact_frobenius_norm() {
    let d = device();
    d.seed(5);
    let model = MlpConfig::new(16, vec![12, 10], 6).init(&d);
    let x = Tensor::<4>::random([8, 1, 4, 4], Distribution::Uniform(0.0, 1.0), &d);
    let exact = exact_frobenius(&model, &x);
    let penalty = JacobianPenaltyConfig::new().init().unwrap();
    let draws = 2000;
    // Host-drawn (ChaCha) and device-drawn (counter-based hash) directions are both unbiased.
    for (how, draw) in [
        ("host", JacobianPenalty::projection::<4> as fn(&JacobianPenalty, [usize; 4], u64, &Device) -> Tensor<4>),
        ("device", JacobianPenalty::device_projection::<4>),
    ] {
        let mean: f64 = (0..draws)
            .map(|s| {
                let v = draw(&penalty, x.dims(), s, &d);
                let (_, jv) = model.forward_tangent(x.clone(), v).unwrap();
                JacobianPenalty::frobenius_estimate(jv).into_scalar::<f64>()
            })
            .sum::<f64>()
            / draws as f64;
        assert!((mean / exact - 1.0).abs() < 0.05, "{how}: mean of {draws} estimates {mean}, exact {exact}");
    }
    // λ_J · ½ scaling.
    let v = penalty.projection(x.dims(), 0, &d);
    let (_, jv) = model.forward_tangent(x.clone(), v).unwrap();
    let (value, estimate) = (penalty.value(jv.clone()).into_scalar::<f64>(), JacobianPenalty::frobenius_estimate(jv).into_scalar::<f64>());
    assert!((value - 0.005 * estimate).abs() < 1e-6 * estimate.max(1.0));
}

#[test]
fn penalty_gradient_matches_finite_differences() {
    let d = device();
    d.seed(6);
    let ad = d.clone().autodiff();
    let model = MlpConfig::new(16, vec![12], 4).init(&ad);
    let x = Tensor::<4>::random([5, 1, 4, 4], Distribution::Uniform(0.0, 1.0), &d);
    let penalty = JacobianPenaltyConfig::new().with_weight(1.0).init().unwrap();
    let v = penalty.projection(x.dims(), 9, &d);
    let value_of = |m: &Mlp, dev: &Device| {
        let (_, jv) = m.forward_tangent(x.clone().to_device(dev), v.clone().to_device(dev)).unwrap();
        penalty.value(jv)
    };
    let grads = value_of(&model, &ad).backward();
    let weight = model.layers[0].weight.val();
    let analytic: Vec<f32> = weight.grad(&grads).unwrap().into_data().try_into_vec_as::<f32>().unwrap();
    let base: Vec<f32> = weight.clone().into_data().try_into_vec_as::<f32>().unwrap();
    let plain = model.valid();
    let step = 1e-2f32;
    for k in (0..base.len()).step_by(13) {
        let eval = |delta: f32| {
            let mut w = base.clone();
            w[k] += delta;
            let mut m = plain.clone();
            m.layers[0].weight = Param::from_tensor(Tensor::from_data(TensorData::new(w, [16, 12]), &d));
            value_of(&m, &d).into_scalar::<f64>()
        };
        let numeric = (eval(step) - eval(-step)) / (2.0 * f64::from(step));
        let a = f64::from(analytic[k]);
        assert!((a - numeric).abs() < 2e-3 + 2e-2 * numeric.abs(), "weight {k}: autodiff {a}, finite difference {numeric}");
    }
    assert!(analytic.iter().any(|g| g.abs() > 1e-3));
}
