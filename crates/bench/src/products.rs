//! The three matrix products that make most of an E1 training step, ours and PyTorch's interleaved:
//! whether a step's ratio on this processor is its GEMM's ratio or the rest of the step.

use std::time::Instant;

use burn::prelude::*;
use burn::tensor::Distribution;

use crate::error::Result;
use crate::reference::Reference;
use crate::report::{Row, median};

/// One product: row name, `[m, k, n]`, and whether the left factor is read transposed (stored k × m).
struct Product {
    name: &'static str,
    shape: [usize; 3],
    transposed: bool,
}

const PRODUCTS: [Product; 3] = [
    Product { name: "E1 forward 3500×784·784×2000", shape: [3500, 784, 2000], transposed: false },
    Product { name: "weight grad. (3500×2000)ᵀ·3500×784", shape: [2000, 3500, 784], transposed: true },
    Product { name: "penalty 3500×2000·2000×2000", shape: [3500, 2000, 2000], transposed: false },
];

/// One row per product: the median of `repeats` timed products per side (after one warm-up each),
/// the sides interleaved product by product; the name carries our GFLOP/s.
pub(crate) fn products(device: &Device, reference: Option<&mut Reference>, repeats: usize) -> Result<Vec<Row>> {
    let mut reference = reference;
    let mut rows = Vec::new();
    for product in &PRODUCTS {
        let [m, k, n] = product.shape;
        let lhs = match product.transposed {
            true => Tensor::<2>::random([k, m], Distribution::Uniform(-1.0, 1.0), device).transpose(),
            false => Tensor::<2>::random([m, k], Distribution::Uniform(-1.0, 1.0), device),
        };
        let rhs = Tensor::<2>::random([k, n], Distribution::Uniform(-1.0, 1.0), device);
        let time = || {
            let started = Instant::now();
            let out = lhs.clone().matmul(rhs.clone());
            // Reading one value waits for the product on every backend.
            let _ = out.slice([0..1, 0..1]).into_data();
            started.elapsed().as_secs_f64()
        };
        time();
        if let Some(r) = reference.as_deref_mut() {
            r.product(product.shape, product.transposed, 1)?;
        }
        let (mut mine, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..repeats {
            mine.push(time());
            if let Some(r) = reference.as_deref_mut() {
                theirs.extend(r.product(product.shape, product.transposed, 1)?);
            }
        }
        let mine = median(mine);
        let gflops = 2.0 * (m * k * n) as f64 / mine / 1e9;
        let name = format!("{}, {gflops:.0} GFLOP/s", product.name);
        rows.push(Row::new(name, mine, (!theirs.is_empty()).then(|| median(theirs))));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_product_gives_one_row_with_its_throughput() {
        let rows = products(&Device::default(), None, 1).expect("products run on the default device");
        assert_eq!(rows.len(), PRODUCTS.len());
        for (row, product) in rows.iter().zip(&PRODUCTS) {
            assert!(row.name.starts_with(product.name) && row.name.ends_with("GFLOP/s"), "{}", row.name);
            assert!(row.ours_s.is_finite() && row.ours_s > 0.0, "{}: {} s", row.name, row.ours_s);
            assert!(row.reference_s.is_none() && row.ratio.is_none());
        }
    }
}
