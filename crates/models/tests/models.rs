//! Shapes, whitening, forward-mode tangents and the safetensors layout.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Distribution;
use specreg_models::*;

fn device() -> Device {
    Device::flex()
}

fn host(t: Tensor<2>) -> (Vec<f32>, [usize; 2]) {
    let dims = t.dims();
    (t.into_data().try_into_vec_as::<f32>().unwrap(), dims)
}

#[test]
fn cnn_hidden_layers_have_the_protocol_widths() {
    let d = device();
    assert_eq!(CnnConfig::mnist().init(&d).hidden_widths(), vec![2704, 800, 1000]);
    let cifar = CnnConfig::cifar10().init(&d);
    assert_eq!(cifar.hidden_widths(), vec![3600, 1152, 1000]);
    let out = cifar.forward_hidden(Tensor::zeros([2, 3, 32, 32], &d));
    let dims: Vec<[usize; 2]> = out.hidden.iter().map(|h| h.dims()).collect();
    assert_eq!(dims, vec![[2, 3600], [2, 1152], [2, 1000]]);
    assert!(CnnConfig::new([1, 6, 6], vec![4, 4], vec![], 10).validate().is_err(), "too small for two blocks");
    assert!(MlpConfig::new(4, vec![3], 2).with_whiten_after(Some(1)).validate().is_err());
}

/// The CNN applies tanh after pooling (cheaper); that must be the textbook `maxpool(tanh(conv(x)))`:
/// the same hidden values and the same input gradient.
#[test]
fn cnn_blocks_equal_conv_tanh_maxpool() {
    use burn::tensor::module::max_pool2d;
    use burn::tensor::ops::MaxPoolOptions;
    let d = device();
    d.seed(11);
    let cnn = CnnConfig::mnist().init(&d);
    let x = Tensor::<4>::random([64, 1, 28, 28], Distribution::Uniform(0.0, 1.0), &d);
    let textbook = |x: Tensor<4>| -> Vec<Tensor<4>> {
        let mut maps = Vec::new();
        let mut h = x;
        for conv in &cnn.convs {
            h = max_pool2d(tanh(conv.forward(h)), MaxPoolOptions::new([2, 2]));
            maps.push(h.clone());
        }
        maps
    };
    let ours = cnn.forward_hidden(x.clone()).hidden;
    for (k, map) in textbook(x.clone()).into_iter().enumerate() {
        let (a, _) = host(map.flatten(1, 3));
        let (b, _) = host(ours[k].clone());
        let worst = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
        assert!(worst == 0.0, "block {k}: values differ by {worst}");
    }
    // Gradient of a random projection of the last conv map, with respect to the input.
    let r = Tensor::<2>::random([64, 800], Distribution::Normal(0.0, 1.0), &d);
    let gradient = |maps_of: &dyn Fn(Tensor<4>) -> Tensor<2>| {
        let xa = x.clone().autodiff().require_grad();
        let grads = (maps_of(xa.clone()) * r.clone().autodiff()).sum().backward();
        host(xa.grad(&grads).unwrap().to_device(&d).flatten(1, 3)).0
    };
    let a = gradient(&|x| textbook(x).pop().unwrap().flatten(1, 3));
    let b = gradient(&|x| cnn.forward_hidden(x).hidden[1].clone());
    let scale = a.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
    let worst = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
    assert!(scale > 1e-3 && worst <= 1e-6 * scale, "input gradients differ by {worst} (scale {scale})");
}

/// Correlated activations: a random mixing of independent columns plus a large offset.
fn correlated(batch: usize, units: usize, d: &Device) -> Tensor<2> {
    let z = Tensor::<2>::random([batch, units], Distribution::Normal(0.0, 1.0), d);
    let mix = Tensor::<2>::random([units, units], Distribution::Normal(0.0, 1.0), d);
    z.matmul(mix) + 3.0
}

/// Activations whose covariance has eigenvalues spread geometrically from 1e6 down to 1 (like a
/// 1/n layer spectrum over many units), in a random basis, with a common offset of 3.
fn ill_conditioned(batch: usize, units: usize, seed: u64, d: &Device) -> Tensor<2> {
    let rotation = specreg_spectrum::simulate::random_rotation(units, seed);
    let scales: Vec<f32> = (0..units).map(|k| 1000f32.powf(1.0 - k as f32 / (units - 1) as f32)).collect();
    let basis: Vec<f32> = rotation.iter().map(|&v| v as f32).collect();
    let z = Tensor::<2>::random([batch, units], Distribution::Normal(0.0, 1.0), d);
    let scaled = z * Tensor::<1>::from_data(TensorData::new(scales, [units]), d).unsqueeze::<2>();
    scaled.matmul(Tensor::from_data(TensorData::new(basis, [units, units]), d)) + 3.0
}

#[test]
fn whitening_gives_identity_batch_covariance() {
    let d = device();
    let (batch, units) = (400, 24);
    // Condition number ≈ 1e6: an f32 covariance left 2.4e-2 off the identity (measured); the ridge
    // ε = 1e-5 accounts for ≈ ε/λ_min ≈ 1e-5.
    let mut worst = 0.0f32;
    for seed in 1..=8 {
        d.seed(seed);
        let y = WhitenConfig::default().init().forward(ill_conditioned(batch, units, seed, &d));
        let centred = y.clone() - y.mean_dim(0);
        let cov = centred.clone().transpose().matmul(centred) / batch as f64;
        let (values, _) = host(cov);
        let deviation = values.iter().enumerate().map(|(k, &v)| (v - if k / units == k % units { 1.0 } else { 0.0 }).abs());
        worst = deviation.fold(worst, f32::max);
    }
    eprintln!("largest deviation from the identity over 8 batches: {worst:e}");
    assert!(worst < 1e-3, "largest deviation from the identity: {worst}");
}

#[test]
fn whitening_gradient_matches_finite_differences() {
    let d = device();
    d.seed(2);
    let (batch, units) = (30, 5);
    let (x, _) = host(correlated(batch, units, &d));
    let (weights, _) = host(Tensor::<2>::random([batch, units], Distribution::Normal(0.0, 1.0), &d));
    let whiten = WhitenConfig::default().init();
    let objective = |x: Tensor<2>, dev: &Device| {
        let r = Tensor::<2>::from_data(TensorData::new(weights.clone(), [batch, units]), dev);
        (whiten.forward(x) * r).sum()
    };
    let ad = d.clone().autodiff();
    let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [batch, units]), &ad).require_grad();
    let grads = objective(xt.clone(), &ad).backward();
    let (analytic, _) = host(xt.grad(&grads).unwrap());
    let eval = |v: &[f32]| objective(Tensor::from_data(TensorData::new(v.to_vec(), [batch, units]), &d), &d).into_scalar::<f64>();
    let step = 1e-2f32;
    for k in (0..batch * units).step_by(11) {
        let (mut plus, mut minus) = (x.clone(), x.clone());
        plus[k] += step;
        minus[k] -= step;
        let numeric = (eval(&plus) - eval(&minus)) / (2.0 * f64::from(step));
        let a = f64::from(analytic[k]);
        assert!((a - numeric).abs() < 5e-3 + 2e-2 * numeric.abs(), "entry {k}: autodiff {a}, finite difference {numeric}");
    }
    // Without the surrogate the gradient through Σ would be missing; it is not negligible here.
    assert!(analytic.iter().any(|g| g.abs() > 0.05));
}

/// Compares the forward-mode J·v with reverse mode: (J·v)[b, c] = ∇ₓ(Σ_b logits[b, c]) · v, which is
/// exact even across max-pool kinks (finite differences are not).
fn tangent_matches_reverse_mode(name: &str, model: &impl Network, shape: [usize; 4]) {
    let d = device();
    let x = Tensor::<4>::random(shape, Distribution::Uniform(0.0, 1.0), &d);
    let v = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &d);
    let (logits, jv) = model.forward_tangent(x.clone(), v.clone()).unwrap();
    let classes = logits.dims()[1];
    let mut reverse = vec![0.0f32; shape[0] * classes];
    for c in 0..classes {
        let xa = x.clone().autodiff().require_grad();
        let grads = model.forward(xa.clone()).narrow(1, c, 1).sum().backward();
        let g = xa.grad(&grads).unwrap().to_device(&d);
        let per_example: Vec<f32> = (g * v.clone()).flatten::<2>(1, 3).sum_dim(1).into_data().try_into_vec_as::<f32>().unwrap();
        for (b, value) in per_example.into_iter().enumerate() {
            reverse[b * classes + c] = value;
        }
    }
    let (jv, _) = host(jv);
    let scale = reverse.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
    let worst = jv.iter().zip(&reverse).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(scale > 1e-3 && worst < 1e-4 * scale.max(1.0), "{name}: J·v differs from reverse mode by {worst} (scale {scale})");
    assert_eq!(host(logits).0, host(model.forward(x)).0);
}

#[test]
fn forward_tangent_is_the_directional_derivative() {
    let d = device();
    d.seed(3);
    tangent_matches_reverse_mode("tanh MLP", &MlpConfig::new(48, vec![20, 16], 5).init(&d), [4, 3, 4, 4]);
    tangent_matches_reverse_mode("ReLU MLP", &MlpConfig::new(48, vec![20], 5).with_activation(Activation::Relu).init(&d), [4, 3, 4, 4]);
    let cnn = CnnConfig::new([3, 14, 14], vec![4, 6], vec![12], 5).with_standardize(Some(Standardize::cifar10())).init(&d);
    tangent_matches_reverse_mode("CNN", &cnn, [3, 3, 14, 14]);
    let bn = MlpConfig::new(48, vec![20], 5).with_batch_norm(true).init(&d);
    let x = Tensor::<4>::zeros([2, 3, 4, 4], &d);
    assert!(matches!(bn.forward_tangent(x.clone(), x), Err(ModelError::TangentUnsupported(_))));
}

#[test]
fn safetensors_round_trip_is_exact_and_uses_pytorch_names() {
    let d = device();
    d.seed(4);
    let config = ModelConfig::Mlp(MlpConfig::new(12, vec![7, 5], 3).with_batch_norm(true));
    let mut model = config.init(&d).unwrap();
    // Give BatchNorm non-trivial running statistics and γ so the round trip is tested on real values.
    if let Model::Mlp(m) = &mut model {
        m.norms[0].gamma = Param::from_tensor(Tensor::random([7], Distribution::Uniform(0.5, 1.5), &d));
        m.norms[1].running_mean = burn::module::RunningState::new(Tensor::random([5], Distribution::Uniform(-1.0, 1.0), &d));
    }
    let json = serde_json::to_string(&config).unwrap();
    let bytes = to_safetensors(&model, json.clone()).unwrap();
    assert_eq!(safetensors_config(&bytes).unwrap().as_deref(), Some(json.as_str()));

    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut layout: Vec<(String, Vec<usize>)> = file.tensors().into_iter().map(|(n, v)| (n, v.shape().to_vec())).collect();
    layout.sort();
    let expected: Vec<(&str, Vec<usize>)> = vec![
        ("layers.0.bias", vec![7]),
        ("layers.0.weight", vec![7, 12]),
        ("layers.1.bias", vec![5]),
        ("layers.1.weight", vec![5, 7]),
        ("norms.0.bias", vec![7]),
        ("norms.0.num_batches_tracked", vec![]),
        ("norms.0.running_mean", vec![7]),
        ("norms.0.running_var", vec![7]),
        ("norms.0.weight", vec![7]),
        ("norms.1.bias", vec![5]),
        ("norms.1.num_batches_tracked", vec![]),
        ("norms.1.running_mean", vec![5]),
        ("norms.1.running_var", vec![5]),
        ("norms.1.weight", vec![5]),
        ("readout.bias", vec![3]),
        ("readout.weight", vec![3, 5]),
    ];
    assert_eq!(layout, expected.into_iter().map(|(n, s)| (n.to_string(), s)).collect::<Vec<_>>());
    // PyTorch's weight is out × in: row k of `layers.0.weight` is output unit k's fan-in.
    if let Model::Mlp(m) = &model {
        let burn_weight = m.layers[0].weight.val().into_data().try_into_vec_as::<f32>().unwrap(); // in × out
        let torch = file.tensor("layers.0.weight").unwrap();
        let first = f32::from_le_bytes(torch.data()[4..8].try_into().unwrap()); // [0][1]: out 0, in 1
        assert_eq!(first, burn_weight[7]); // burn [1][0]
    }

    let fresh = config.init(&d).unwrap();
    let loaded = from_safetensors(fresh, &bytes).unwrap();
    assert!(to_safetensors(&loaded, json.clone()).unwrap() == bytes, "export → import → export changes the bytes");
    let x = Tensor::<4>::random([6, 1, 3, 4], Distribution::Uniform(0.0, 1.0), &d);
    let (a, b) = (model.valid().forward(x.clone()), loaded.valid().forward(x));
    let (a, b) = (host(a).0, host(b).0);
    assert!(a == b, "logits differ after the round trip: {a:?} vs {b:?}");

    // CNN names, and a wrong architecture is refused with the tensor's name.
    let cnn = ModelConfig::Cnn(CnnConfig::new([1, 10, 10], vec![3], vec![6], 4)).init(&d).unwrap();
    let bytes = to_safetensors(&cnn, String::new()).unwrap();
    let names: Vec<String> = safetensors::SafeTensors::deserialize(&bytes).unwrap().names().into_iter().map(String::from).collect();
    for name in ["convs.0.weight", "convs.0.bias", "fully_connected.0.weight", "readout.weight"] {
        assert!(names.contains(&name.to_string()), "{name} missing from {names:?}");
    }
    let other = ModelConfig::Cnn(CnnConfig::new([1, 10, 10], vec![5], vec![6], 4)).init(&d).unwrap();
    let err = from_safetensors(other, &bytes).unwrap_err().to_string();
    assert!(err.contains("convs.0.weight"), "{err}");
}

#[test]
fn tanh_is_accurate_and_its_gradient_is_one_minus_its_square() {
    let device = Device::flex().autodiff();
    let mut values: Vec<f32> = (0..20_000).map(|k| (k as f32 - 10_000.0) * 1e-3).collect(); // −10 … 10
    values.extend([0.0, 1e-30, -1e-30, 1e-6, -1e-6, 44.5, -44.5, 89.0, -89.0, 1e30, -1e30]);
    let n = values.len();
    let x = Tensor::<1>::from_data(TensorData::new(values.clone(), [n]), &device).require_grad();
    let y = specreg_models::tanh(x.clone());
    let grads = y.clone().sum().backward();
    let (y, g): (Vec<f32>, Vec<f32>) = (y.into_data().iter::<f32>().collect(), x.grad(&grads).unwrap().into_data().iter::<f32>().collect());
    let mut worst = 0.0f64;
    for ((&x, &y), &g) in values.iter().zip(&y).zip(&g) {
        let exact = f64::from(x).tanh();
        let error = (f64::from(y) - exact).abs();
        worst = worst.max(error);
        assert!(error <= 2.5e-7, "tanh({x}) = {y}, exact {exact}");
        assert!((-1.0..=1.0).contains(&y) && g.is_finite(), "tanh({x}) = {y}, gradient {g}");
        assert!((f64::from(g) - (1.0 - exact * exact)).abs() <= 5e-7, "tanh'({x}) = {g}");
    }
    eprintln!("largest absolute error {worst:.2e}");
    assert_eq!(y[20_000], 0.0);
    assert_eq!((y[n - 2], y[n - 1]), (1.0, -1.0));
    // Infinite inputs saturate outside a graph (inside one, x − stop_grad(x) is NaN there: the run
    // has diverged, and the trainer reports the non-finite loss).
    let infinite = specreg_models::tanh(Tensor::<1>::from_data(TensorData::new(vec![f32::INFINITY, f32::NEG_INFINITY], [2]), &Device::flex()));
    assert_eq!(infinite.into_data().iter::<f32>().collect::<Vec<_>>(), vec![1.0, -1.0]);
    // Untracked tensors (evaluation) give the same values bit for bit.
    let plain = specreg_models::tanh(Tensor::<1>::from_data(TensorData::new(values.clone(), [n]), &Device::flex()));
    assert_eq!(plain.into_data().iter::<f32>().map(f32::to_bits).collect::<Vec<_>>(), y.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    // NaN stays NaN (the trainer reports it).
    let nan = specreg_models::tanh(Tensor::<1>::from_data(TensorData::new(vec![f32::NAN], [1]), &Device::flex()));
    assert!(nan.into_scalar::<f32>().is_nan());
}
