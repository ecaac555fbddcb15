//! Attacks against the E1 network on MNIST test images: PGD-40, ours and PyTorch's interleaved batch by
//! batch, and our floor (the same number of forward and backward passes with nothing else).

use std::path::Path;
use std::time::Instant;

use burn::prelude::*;
use specreg_attacks::{Attack, loss::input_gradient};

use crate::Target;
use crate::error::Result;
use crate::reference::Reference;
use crate::report::{Row, header, median, report};

/// PGD-40 at ε = 0.1 on the first `images` MNIST test images from `data_dir`, in batches of `batch`.
pub fn pgd(target: &Target, images: usize, batch: usize, data_dir: &Path, json: Option<&Path>) -> Result<Vec<Row>> {
    let test = specreg_data::load_mnist(data_dir)?.test.head(images);
    let n = test.len();
    let device = &target.device;
    let mut reference = Reference::start(target.torch_device);
    // Untrained weights: the cost of a pass does not depend on their values.
    let model = specreg_models::MlpConfig::new(784, vec![2000], 10).with_batch_norm(true).init(device).valid();
    let classify = |x: Tensor<4>| specreg_models::Network::forward(&model, x);
    let data = specreg_train::DeviceData::upload(&test, device);
    let what = format!("attack benchmark: PGD-40 (ε = 0.1, step 0.01) on {n} MNIST test images, E1 network, batches of {batch}");
    println!("{}", header(&what, &target.description, reference.as_ref().map(|r| r.description.as_str())));

    let batches: Vec<(usize, usize)> = (0..n).step_by(batch).map(|first| (first, batch.min(n - first))).collect();
    let slice = |first: usize, len: usize| (data.images.clone().narrow(0, first, len), data.labels.clone().narrow(0, first, len));
    // The floor: 40 input gradients per batch, summed so that none can be skipped, read back once
    // per batch as PGD's result is (a read-back per pass would time GPU synchronisation instead).
    let floor_pass = |first: usize, len: usize| {
        let (xb, yb) = slice(first, len);
        let mut total = input_gradient(&classify, xb.clone(), yb.clone());
        for _ in 1..40 {
            total = total + input_gradient(&classify, xb.clone(), yb.clone());
        }
        total.into_data();
    };
    let pgd_pass = |first: usize, len: usize| -> Result<()> {
        let (xb, yb) = slice(first, len);
        Attack::pgd_mnist().run(&classify, xb, yb, 0.1, 0, first)?.into_data();
        Ok(())
    };
    let timed = |f: &dyn Fn() -> Result<()>| -> Result<f64> {
        let start = Instant::now();
        f()?;
        Ok(start.elapsed().as_secs_f64())
    };
    // One batch of each first: GPU backends compile and autotune their kernels on first use.
    floor_pass(0, batch.min(n));
    pgd_pass(0, batch.min(n))?;
    let loaded = match reference.as_mut() {
        Some(r) => r.pgd_load(&specreg_data::DatasetId::Mnist.dir(data_dir), n, batch)? == batches.len(),
        None => false,
    };
    let (mut floor, mut ours, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    for (k, &(first, len)) in batches.iter().enumerate() {
        floor.push(timed(&|| {
            floor_pass(first, len);
            Ok(())
        })?);
        ours.push(timed(&|| pgd_pass(first, len))?);
        if loaded && let Some(r) = reference.as_mut() {
            theirs.push(r.pgd(k)?);
        }
    }
    let total = |v: &[f64]| v.iter().sum::<f64>();
    let rows = vec![
        Row::new(format!("PGD-40, {n} images (sum over batches)"), total(&ours), (!theirs.is_empty()).then(|| total(&theirs))),
        Row::new(format!("PGD-40, median batch of {batch}"), median(ours.clone()), (!theirs.is_empty()).then(|| median(theirs.clone()))),
        Row::new("PGD-40 (reference: our floor of 40 forward+backward passes)", total(&ours), Some(total(&floor))),
    ];
    report(&target.description, reference.as_ref().map(|r| r.description.as_str()), &rows, json)?;
    println!(
        "times: each batch once per side after one warm-up batch, the sides interleaved batch by batch ({:.1} GFLOP per forward+backward pass of the whole set, counting 6·n·params).",
        6.0 * n as f64 * (784.0 * 2000.0 + 2000.0 * 10.0) / 1e9
    );
    Ok(rows)
}
