//! Gradients of a 2D convolution with respect to its weight and its bias, computed directly.
//!
//! burn-backend's defaults build the weight gradient as a convolution with the batch as channels:
//! they materialise transposed copies of the input and of the output gradient, run that
//! convolution through im2col, and transpose its result back; the bias gradient transposes the
//! output gradient once more before summing it. In a small CNN's training step on two cores that
//! was about a seventh of the time (most of it the copies). Here the output positions of the
//! whole batch are cut into tiles of fixed size; each tile gathers its input patches
//! (im2col, `[patch, position]`) and adds `grad · patchesᵀ` into one of a few partial sums with
//! one GEMM per group; the partial sums are added in a fixed order, so the result depends on the
//! shapes only, never on the number of threads. Any stride, dilation, padding (including
//! asymmetric) and groups; f32 and f64 natively, f16 and bf16 through f32.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_std::{Bytes, Shape, bf16, f16};

use crate::ops::module::{cast_from_f32, cast_to_f32};
use crate::{FlexTensor, Layout};
use burn_backend::ops::ConvOptions;

/// Elements of one tile's patch matrix (1 MiB of f32), so that it stays in cache for its GEMM.
const TILE_ELEMENTS: usize = 1 << 18;
/// Most partial sums of the weight gradient kept at once ...
const MAX_LANES: usize = 32;
/// ... and most elements they may take together.
const LANES_ELEMENTS: usize = 1 << 24;

/// Element types the kernel runs in (those `gemm` multiplies).
trait Real:
    burn_std::Element + bytemuck::Pod + Copy + Send + Sync + core::ops::AddAssign + 'static
{
    const ZERO: Self;
    const ONE: Self;
}
impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}
impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

/// The sizes of one 2D convolution, read off its input, weight and output gradient.
#[derive(Clone, Copy)]
struct Geometry {
    batch: usize,
    in_channels: usize,
    in_h: usize,
    in_w: usize,
    out_channels: usize,
    kernel: [usize; 2],
    out_h: usize,
    out_w: usize,
    stride: [usize; 2],
    dilation: [usize; 2],
    pad: [usize; 2],
    groups: usize,
}

impl Geometry {
    fn new(x: &Shape, weight: &Shape, grad: &Shape, options: &ConvOptions<2>) -> Self {
        assert!(
            x.num_dims() == 4 && weight.num_dims() == 4 && grad.num_dims() == 4,
            "conv2d backward: expected rank-4 input, weight and output gradient"
        );
        let geometry = Self {
            batch: x[0],
            in_channels: x[1],
            in_h: x[2],
            in_w: x[3],
            out_channels: weight[0],
            kernel: [weight[2], weight[3]],
            out_h: grad[2],
            out_w: grad[3],
            stride: options.stride,
            dilation: options.dilation,
            pad: options.padding_begin(),
            groups: options.groups,
        };
        assert!(
            grad[0] == x[0]
                && grad[1] == weight[0]
                && x[1] == weight[1] * options.groups
                && weight[0] % options.groups == 0,
            "conv2d backward: input {x:?}, weight {weight:?} and output gradient {grad:?} do not match ({} groups)",
            options.groups
        );
        geometry
    }

    fn channels_per_group(&self) -> usize {
        self.in_channels / self.groups
    }

    /// Length of one patch: the weight's row for one output channel.
    fn patch_len(&self) -> usize {
        self.channels_per_group() * self.kernel[0] * self.kernel[1]
    }

    fn positions(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Output columns `[first, end)` whose input column `ow * stride + kw * dilation - pad` lies
    /// inside the input.
    fn valid_columns(&self, kw: usize) -> (usize, usize) {
        let offset = kw * self.dilation[1];
        let first = self.pad[1].saturating_sub(offset).div_ceil(self.stride[1]);
        // Largest ow with ow * stride + offset - pad <= in_w - 1.
        let end = if self.in_w + self.pad[1] > offset {
            ((self.in_w + self.pad[1] - offset - 1) / self.stride[1] + 1).min(self.out_w)
        } else {
            0
        };
        (first.min(end), end)
    }
}

/// A run of output positions of one image within one output row: `(image, row, columns)`.
type Segment = (usize, usize, core::ops::Range<usize>);

/// The row segments covering flattened output positions `[start, end)` (over the whole batch).
fn segments(g: &Geometry, start: usize, end: usize) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut q = start;
    while q < end {
        let (image, p) = (q / g.positions(), q % g.positions());
        let (row, column) = (p / g.out_w, p % g.out_w);
        let stop = (column + (end - q)).min(g.out_w);
        out.push((image, row, column..stop));
        q += stop - column;
    }
    out
}

/// Gradient of the weight (`[out_channels, in_channels / groups, kh, kw]`).
pub(crate) fn conv2d_weight_backward(
    x: FlexTensor,
    weight: FlexTensor,
    grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let g = Geometry::new(
        x.layout().shape(),
        weight.layout().shape(),
        grad.layout().shape(),
        options,
    );
    let shape = weight.layout().shape().clone();
    match x.dtype() {
        DType::F32 => weight_tensor(weight_grad::<f32>(&x, &grad, &g), shape, DType::F32),
        DType::F64 => weight_tensor(weight_grad::<f64>(&x, &grad, &g), shape, DType::F64),
        DType::F16 => {
            let (x, grad) = (cast_to_f32(x, f16::to_f32), cast_to_f32(grad, f16::to_f32));
            let wide = weight_tensor(weight_grad::<f32>(&x, &grad, &g), shape, DType::F32);
            cast_from_f32(wide, f16::from_f32)
        }
        DType::BF16 => {
            let (x, grad) = (
                cast_to_f32(x, bf16::to_f32),
                cast_to_f32(grad, bf16::to_f32),
            );
            let wide = weight_tensor(weight_grad::<f32>(&x, &grad, &g), shape, DType::F32);
            cast_from_f32(wide, bf16::from_f32)
        }
        dtype => panic!("conv2d_weight_backward: unsupported dtype {dtype:?}"),
    }
}

fn weight_tensor<T: Real>(values: Vec<T>, shape: Shape, dtype: DType) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(values), Layout::contiguous(shape), dtype)
}

fn weight_grad<T: Real>(x: &FlexTensor, grad: &FlexTensor, g: &Geometry) -> Vec<T> {
    let (x, grad) = (x.to_contiguous(), grad.to_contiguous());
    let (x, grad): (&[T], &[T]) = (x.storage(), grad.storage());
    let weight_len = g.out_channels * g.patch_len();
    let total = g.batch * g.positions();
    if weight_len == 0 || total == 0 {
        return vec![T::ZERO; weight_len];
    }
    // Tiles and lanes depend on the shapes alone (not on the thread count): deterministic sums.
    let tile = (TILE_ELEMENTS / g.patch_len().max(g.out_channels)).max(1);
    let tiles = total.div_ceil(tile);
    let lanes = tiles
        .min(MAX_LANES)
        .min((LANES_ELEMENTS / weight_len).max(1));
    let tiles_per_lane = tiles.div_ceil(lanes);
    let lanes = tiles.div_ceil(tiles_per_lane);
    let lane_sum = |lane: usize| {
        let mut sum = vec![T::ZERO; weight_len];
        let mut patches = vec![T::ZERO; g.patch_len() * tile];
        let mut grads = vec![T::ZERO; g.out_channels * tile];
        for t in lane * tiles_per_lane..((lane + 1) * tiles_per_lane).min(tiles) {
            let (start, end) = (t * tile, ((t + 1) * tile).min(total));
            accumulate_tile(
                x,
                grad,
                g,
                &segments(g, start, end),
                end - start,
                &mut patches,
                &mut grads,
                &mut sum,
            );
        }
        sum
    };
    #[cfg(feature = "rayon")]
    let sums: Vec<Vec<T>> = {
        use rayon::prelude::*;
        (0..lanes).into_par_iter().map(lane_sum).collect()
    };
    #[cfg(not(feature = "rayon"))]
    let sums: Vec<Vec<T>> = (0..lanes).map(lane_sum).collect();
    let mut sums = sums.into_iter();
    let mut total_sum = sums.next().unwrap_or_else(|| vec![T::ZERO; weight_len]);
    for sum in sums {
        for (a, b) in total_sum.iter_mut().zip(sum) {
            *a += b;
        }
    }
    total_sum
}

/// Adds one tile's contribution, `grad[tile] · patches[tile]ᵀ` per group, to `sum`.
#[allow(clippy::too_many_arguments)]
fn accumulate_tile<T: Real>(
    x: &[T],
    grad: &[T],
    g: &Geometry,
    segments: &[Segment],
    len: usize,
    patches: &mut [T],
    grads: &mut [T],
    sum: &mut [T],
) {
    let positions = g.positions();
    // The output gradient of the tile as `[out_channels, len]`.
    for c in 0..g.out_channels {
        let row = &mut grads[c * len..(c + 1) * len];
        let mut at = 0;
        for (image, oh, columns) in segments {
            let from = (image * g.out_channels + c) * positions + oh * g.out_w;
            let n = columns.len();
            row[at..at + n].copy_from_slice(&grad[from + columns.start..from + columns.end]);
            at += n;
        }
    }
    let (cpg, opg, patch_len) = (
        g.channels_per_group(),
        g.out_channels / g.groups,
        g.patch_len(),
    );
    let [kh_len, kw_len] = g.kernel;
    for group in 0..g.groups {
        // Patches as `[patch_len, len]`: row (ci, kh, kw) holds that input value for every position.
        for ci in 0..cpg {
            let channel = group * cpg + ci;
            for kh in 0..kh_len {
                for kw in 0..kw_len {
                    let r = (ci * kh_len + kh) * kw_len + kw;
                    let row = &mut patches[r * len..(r + 1) * len];
                    let (valid_first, valid_end) = g.valid_columns(kw);
                    let mut at = 0;
                    for (image, oh, columns) in segments {
                        let out = &mut row[at..at + columns.len()];
                        at += columns.len();
                        let ih = (oh * g.stride[0] + kh * g.dilation[0]).wrapping_sub(g.pad[0]);
                        if ih >= g.in_h {
                            out.fill(T::ZERO);
                            continue;
                        }
                        let base = ((image * g.in_channels + channel) * g.in_h + ih) * g.in_w;
                        let first = columns.start.max(valid_first).min(columns.end);
                        let end = columns.end.min(valid_end).max(first);
                        let (head, rest) = out.split_at_mut(first - columns.start);
                        let (body, tail) = rest.split_at_mut(end - first);
                        head.fill(T::ZERO);
                        tail.fill(T::ZERO);
                        if body.is_empty() {
                            continue;
                        }
                        let iw0 = first * g.stride[1] + kw * g.dilation[1] - g.pad[1];
                        if g.stride[1] == 1 {
                            body.copy_from_slice(&x[base + iw0..base + iw0 + body.len()]);
                        } else {
                            for (j, v) in body.iter_mut().enumerate() {
                                *v = x[base + iw0 + j * g.stride[1]];
                            }
                        }
                    }
                }
            }
        }
        // sum[group rows] += grads[group rows] · patchesᵀ, i.e. [opg, len] × [len, patch_len].
        unsafe {
            gemm::gemm(
                opg,
                patch_len,
                len,
                sum.as_mut_ptr().add(group * opg * patch_len),
                1,
                patch_len as isize,
                true,
                grads.as_ptr().add(group * opg * len),
                1,
                len as isize,
                patches.as_ptr(),
                len as isize,
                1,
                T::ONE,
                T::ONE,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
}

/// Gradient of the bias: the output gradient summed over the batch and the positions, per channel,
/// read in place (no transposed copy).
pub(crate) fn conv2d_bias_backward(grad: FlexTensor, bias: FlexTensor) -> FlexTensor {
    let shape = grad.layout().shape().clone();
    let bias_shape = bias.layout().shape().clone();
    let dtype = grad.dtype();
    match dtype {
        DType::F32 => weight_tensor(bias_grad::<f32>(&grad, &shape), bias_shape, dtype),
        DType::F64 => weight_tensor(bias_grad::<f64>(&grad, &shape), bias_shape, dtype),
        DType::F16 => {
            let wide = cast_to_f32(grad, f16::to_f32);
            cast_from_f32(
                weight_tensor(bias_grad::<f32>(&wide, &shape), bias_shape, DType::F32),
                f16::from_f32,
            )
        }
        DType::BF16 => {
            let wide = cast_to_f32(grad, bf16::to_f32);
            cast_from_f32(
                weight_tensor(bias_grad::<f32>(&wide, &shape), bias_shape, DType::F32),
                bf16::from_f32,
            )
        }
        dtype => panic!("conv2d_bias_backward: unsupported dtype {dtype:?}"),
    }
}

fn bias_grad<T: Real>(grad: &FlexTensor, shape: &Shape) -> Vec<T> {
    let grad = grad.to_contiguous();
    let values: &[T] = grad.storage();
    let (batch, channels) = (shape[0], shape[1]);
    let positions: usize = shape.iter().skip(2).product();
    let channel_sum = |c: usize| {
        // Eight running sums per channel (so that the loop vectorises), added in a fixed order.
        let mut lanes = [T::ZERO; 8];
        for image in 0..batch {
            let from = (image * channels + c) * positions;
            let plane = &values[from..from + positions];
            let mut chunks = plane.chunks_exact(8);
            for chunk in &mut chunks {
                for (lane, &v) in lanes.iter_mut().zip(chunk) {
                    *lane += v;
                }
            }
            for (lane, &v) in lanes.iter_mut().zip(chunks.remainder()) {
                *lane += v;
            }
        }
        let mut total = T::ZERO;
        for lane in lanes {
            total += lane;
        }
        total
    };
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        (0..channels).into_par_iter().map(channel_sum).collect()
    }
    #[cfg(not(feature = "rayon"))]
    (0..channels).map(channel_sum).collect()
}
