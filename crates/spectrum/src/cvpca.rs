//! Cross-validated PCA (Stringer, Pachitariu, Steinmetz, Carandini & Harris, Nature 2019).
//!
//! Two repeats of responses to the same stimuli share their stimulus-driven (signal) part and have
//! independent trial-to-trial noise. Project both repeats onto the principal components of the first;
//! the covariance *across* repeats along component k estimates the signal variance along it, because the
//! noise terms are independent and average out. The result is the signal eigenspectrum, free of the flat
//! noise floor that ordinary PCA of one repeat adds to every eigenvalue.

use ndarray::{Array1, Array2, ArrayView2, Axis, s};

use crate::covariance::{CovarianceAccumulator, Sample, check_finite};
use crate::eigen::eigh;
use crate::error::{Result, SpectrumError};

/// The cross-validated (signal) variance spectrum from two repeats, each stimuli × neurons.
///
/// Returns one value per component, in the order of the first repeat's principal components
/// (min(neurons, stimuli − 1) of them). Values can be slightly negative where the signal is weaker than
/// the estimation noise.
pub fn cross_validated_spectrum<T: Sample>(repeat1: ArrayView2<'_, T>, repeat2: ArrayView2<'_, T>) -> Result<Array1<f64>> {
    if repeat1.dim() != repeat2.dim() {
        return Err(SpectrumError::Shape(format!("repeats must both be stimuli × neurons of the same size, got {:?} and {:?}", repeat1.dim(), repeat2.dim())));
    }
    let (stimuli, neurons) = repeat1.dim();
    if neurons == 0 {
        return Err(SpectrumError::Empty("neurons"));
    }
    if stimuli < 2 {
        return Err(SpectrumError::TooFewSamples { needed: 2, have: stimuli });
    }
    let r1 = to_f64(repeat1)?;
    let r2 = to_f64(repeat2)?;

    let mut acc = CovarianceAccumulator::new(neurons);
    acc.update(r1.view())?;
    let components = eigh(acc.sample_covariance()?.view())?.vectors;
    let k = neurons.min(stimuli - 1);
    let basis = components.slice(s![.., ..k]);

    let centred = |r: &Array2<f64>| r - &r.mean_axis(Axis(0)).expect("stimuli ≥ 2");
    let p1 = centred(&r1).dot(&basis);
    let p2 = centred(&r2).dot(&basis);
    Ok((&p1 * &p2).sum_axis(Axis(0)) / (stimuli - 1) as f64)
}

fn to_f64<T: Sample>(a: ArrayView2<'_, T>) -> Result<Array2<f64>> {
    let owned = a.map(|v| v.to_f64());
    check_finite(owned.as_slice().expect("fresh array is contiguous"), a.ncols(), "repeat")?;
    Ok(owned)
}
