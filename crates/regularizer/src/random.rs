//! Standard-normal samples drawn on the device from a counter-based generator keyed by a seed: no
//! host work, no upload, and no process-wide generator (burn's `Device::seed` is global, so parallel
//! users would race on it).
//!
//! Each element's value depends only on (seed, stream, element index): two uniforms come from a hash
//! of the index (three rounds of the Park–Miller "minimal standard" multiplier modulo 2³¹ − 1, computed
//! with Schrage's method, interleaved with xor-shifts and the seed's keys), and Box–Muller turns them
//! into a normal. Every intermediate integer stays in [0, 2³¹), so 32- and 64-bit integer backends
//! compute the same integers; the float steps are deterministic per backend.

use burn::prelude::*;

const MODULUS: i64 = 2_147_483_647; // 2³¹ − 1, prime
const MULTIPLIER: i64 = 48_271;
const QUOTIENT: i64 = MODULUS / MULTIPLIER; // 44 488
const REMAINDER: i64 = MODULUS % MULTIPLIER; // 3 399

/// `MULTIPLIER · x mod MODULUS` for x in [0, MODULUS), without intermediates beyond 2³¹ (Schrage).
fn minstd(x: Tensor<1, Int>) -> Tensor<1, Int> {
    let high = x.clone().div_scalar(QUOTIENT);
    let low = x.remainder_scalar(QUOTIENT);
    let t = low.mul_scalar(MULTIPLIER) - high.mul_scalar(REMAINDER);
    let wrapped = t.clone().lower_elem(0).int().mul_scalar(MODULUS);
    t + wrapped
}

/// SplitMix64: spreads a seed into well-mixed keys.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniforms in (0, 1), one per counter in `0..n`, for the keys of one stream.
fn uniforms(n: usize, keys: [i64; 3], device: &Device) -> Tensor<1> {
    let mut x = Tensor::<1, Int>::arange(0..n as i64, device).add_scalar(keys[0]);
    x = minstd(x);
    x = x.clone().bitwise_xor(x.bitwise_right_shift_scalar(15));
    x = minstd(x.bitwise_xor_scalar(keys[1]));
    x = x.clone().bitwise_xor(x.bitwise_right_shift_scalar(13));
    x = minstd(x.bitwise_xor_scalar(keys[2]));
    x.float().add_scalar(0.5).div_scalar(MODULUS as f64)
}

/// `shape` standard-normal values on `device`, a function of `seed` alone (see the module doc).
/// At most 2³⁰ elements.
pub fn device_normal<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let n: usize = shape.iter().product();
    assert!(n < 1 << 30, "device_normal draws at most 2^30 values at once");
    let mut state = seed;
    // Keys below 2³⁰ so that counter + key and key ^ x stay below 2³¹.
    let mut key = || (splitmix(&mut state) >> 34) as i64;
    let (first, second) = ([key(), key(), key()], [key(), key(), key()]);
    let device = device.clone().inner();
    let (u1, u2) = (uniforms(n, first, &device), uniforms(n, second, &device));
    let radius = u1.log().mul_scalar(-2.0).sqrt();
    let angle = u2.mul_scalar(std::f64::consts::TAU).cos();
    (radius * angle).reshape(shape)
}
