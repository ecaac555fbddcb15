//! `specreg._native`: the Rust core of the `specreg` Python package (see `python/specreg/__init__.py`,
//! which coerces inputs and documents the API). Every function takes float32 or float64 numpy arrays
//! of any memory order, releases the GIL while it computes, and raises `ValueError` for bad input
//! (a `SpectrumError` from `specreg-spectrum`, whose message names the problem); nothing here panics
//! on user input.
//!
//! Invariant: the numbers are `specreg-spectrum`'s, computed by the same functions the Rust crates
//! and `cargo xtask spectrum` call.

use ndarray::{Array1, ArrayView2};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use specreg_spectrum::{AlphaFit, CovarianceAccumulator, FitMethod, Precision, RankRange, Resampling, Sample, SpectrumError, eigvalsh};

fn value_error(e: SpectrumError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A 2-D float32 or float64 array, borrowed from numpy.
enum Matrix<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

impl<'py> Matrix<'py> {
    fn extract(array: &Bound<'py, PyAny>, what: &str) -> PyResult<Self> {
        if let Ok(a) = array.cast::<PyArray2<f32>>() {
            return Ok(Matrix::F32(a.readonly()));
        }
        if let Ok(a) = array.cast::<PyArray2<f64>>() {
            return Ok(Matrix::F64(a.readonly()));
        }
        Err(PyTypeError::new_err(format!("{what} must be a 2-D float32 or float64 numpy array")))
    }

    /// Runs `f` on the borrowed view with the GIL released.
    fn with<R: Send>(&self, py: Python<'_>, f: impl FnOnce(View<'_>) -> R + Send) -> R {
        match self {
            Matrix::F32(a) => {
                let view = a.as_array();
                py.detach(|| f(View::F32(view)))
            }
            Matrix::F64(a) => {
                let view = a.as_array();
                py.detach(|| f(View::F64(view)))
            }
        }
    }
}

/// A borrowed matrix of either precision.
enum View<'a> {
    F32(ArrayView2<'a, f32>),
    F64(ArrayView2<'a, f64>),
}

/// The covariance (or second-moment) matrix of `data` with divisor n − ddof, accumulated in f64 across
/// blocks of rows. Products within a block are formed at the input's precision: float32 data carry
/// about 1e-7 relative precision, which f32 products within a block (`Precision::Fast`, ~1e-7) keep,
/// at twice the speed; float64 data get f64 products.
fn matrix_of<T: Sample>(data: ArrayView2<'_, T>, center: bool, ddof: usize) -> Result<ndarray::Array2<f64>, SpectrumError> {
    let precision = if std::mem::size_of::<T>() == 4 { Precision::Fast } else { Precision::Exact };
    let mut acc = CovarianceAccumulator::new(data.ncols()).with_precision(precision);
    acc.update(data)?;
    if center { acc.covariance_ddof(ddof) } else { acc.second_moment(ddof) }
}

fn spectrum_of(view: View<'_>, center: bool, ddof: usize) -> Result<Array1<f64>, SpectrumError> {
    let matrix = match view {
        View::F32(v) => matrix_of(v, center, ddof)?,
        View::F64(v) => matrix_of(v, center, ddof)?,
    };
    eigvalsh(matrix.view())
}

/// Eigenvalues (descending) of the covariance of `x` (examples × features).
#[pyfunction]
#[pyo3(signature = (x, center, ddof))]
fn eigenspectrum<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, center: bool, ddof: usize) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let x = Matrix::extract(x, "X")?;
    let values = x.with(py, |v| spectrum_of(v, center, ddof)).map_err(value_error)?;
    Ok(values.into_pyarray(py))
}

/// Streaming covariance of batches of rows, accumulated in f64.
#[pyclass(module = "specreg._native")]
struct Covariance {
    inner: CovarianceAccumulator,
}

#[pymethods]
impl Covariance {
    #[new]
    fn new(n_features: usize) -> PyResult<Self> {
        if n_features == 0 {
            return Err(PyValueError::new_err("n_features must be ≥ 1"));
        }
        Ok(Covariance { inner: CovarianceAccumulator::new(n_features) })
    }

    /// Adds a batch (rows × n_features).
    fn update(&mut self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<()> {
        let batch = Matrix::extract(batch, "batch")?;
        let inner = &mut self.inner;
        batch
            .with(py, |v| match v {
                View::F32(v) => inner.update(v),
                View::F64(v) => inner.update(v),
            })
            .map_err(value_error)
    }

    /// Rows seen so far.
    #[getter]
    fn count(&self) -> usize {
        self.inner.count()
    }

    /// Features per row.
    #[getter]
    fn n_features(&self) -> usize {
        self.inner.dim()
    }

    /// The mean of the rows seen.
    fn mean<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.mean().into_pyarray(py)
    }

    /// The covariance with divisor n − ddof (or the second-moment matrix without centring).
    #[pyo3(signature = (center, ddof))]
    fn matrix<'py>(&self, py: Python<'py>, center: bool, ddof: usize) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let inner = &self.inner;
        let m = py.detach(|| if center { inner.covariance_ddof(ddof) } else { inner.second_moment(ddof) }).map_err(value_error)?;
        Ok(m.into_pyarray(py))
    }

    /// Its eigenvalues, descending.
    #[pyo3(signature = (center, ddof))]
    fn eigenvalues<'py>(&self, py: Python<'py>, center: bool, ddof: usize) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let inner = &self.inner;
        let values = py
            .detach(|| {
                let m = if center { inner.covariance_ddof(ddof) } else { inner.second_moment(ddof) }?;
                eigvalsh(m.view())
            })
            .map_err(value_error)?;
        Ok(values.into_pyarray(py))
    }
}

/// The result of a power-law fit, as the Python layer wraps it.
#[pyclass(module = "specreg._native", frozen, get_all)]
struct Fit {
    method: String,
    alpha: f64,
    rank_min: usize,
    rank_max: usize,
    r2: Option<f64>,
    ks: Option<f64>,
    ci_low: Option<f64>,
    ci_high: Option<f64>,
    ci_over: Option<String>,
    ci_resamples: Option<usize>,
}

impl From<AlphaFit> for Fit {
    fn from(f: AlphaFit) -> Self {
        Fit {
            method: f.method.name().into(),
            alpha: f.alpha,
            rank_min: f.range.min,
            rank_max: f.range.max,
            r2: f.r2,
            ks: f.ks,
            ci_low: f.interval.map(|i| i.low),
            ci_high: f.interval.map(|i| i.high),
            ci_over: f.interval.map(|i| i.over.name().to_string()),
            ci_resamples: f.interval.map(|i| i.resamples),
        }
    }
}

fn method(name: &str) -> PyResult<FitMethod> {
    FitMethod::from_name(name).map_err(value_error)
}

/// The default or requested rank range for a spectrum of `n` eigenvalues.
fn range_for(n: usize, ranks: Option<(usize, usize)>) -> PyResult<RankRange> {
    Ok(match ranks {
        Some((first, last)) => {
            if first < 1 || last <= first || last > n {
                return Err(PyValueError::new_err(format!("ranks ({first}, {last}) do not fit a spectrum of {n} eigenvalues: need 1 ≤ first < last ≤ {n}")));
            }
            RankRange::new(first, last)
        }
        None => RankRange::protocol(n),
    })
}

/// Fits a power law to `eigenvalues` (descending); with `resamples`, a 95 % interval over ranks.
#[pyfunction]
#[pyo3(signature = (eigenvalues, ranks, method_name, resamples, seed))]
fn fit_spectrum(py: Python<'_>, eigenvalues: PyReadonlyArray1<'_, f64>, ranks: Option<(usize, usize)>, method_name: &str, resamples: Option<usize>, seed: u64) -> PyResult<Fit> {
    let eig = eigenvalues.as_array().to_vec();
    if let Some(k) = eig.iter().position(|v| !v.is_finite()) {
        return Err(PyValueError::new_err(format!("eigenvalues[{k}] is {}: every eigenvalue must be finite", eig[k])));
    }
    if eig.len() > 1 && eig[0] < eig[eig.len() - 1] {
        return Err(PyValueError::new_err("eigenvalues seem to be in increasing order (numpy's eigvalsh returns them so): pass them rank 1 first, e.g. eigenvalues[::-1]"));
    }
    let range = range_for(eig.len(), ranks)?;
    let method = method(method_name)?;
    let fit = py
        .detach(|| {
            let mut fit = specreg_spectrum::fit_alpha(&eig, range, method)?;
            if let Some(n) = resamples {
                fit.interval = Some(specreg_spectrum::interval_over_ranks(&eig, &fit, n, seed)?);
            }
            Ok(fit)
        })
        .map_err(value_error)?;
    Ok(fit.into())
}

/// The spectrum of `x` and its fit; with `resamples`, a 95 % interval over examples (or, with
/// `over_ranks`, over ranks).
#[pyfunction]
#[pyo3(signature = (x, center, ranks, method_name, resamples, over_ranks, seed))]
#[allow(clippy::too_many_arguments)] // mirrors the Python signature it serves, keyword for keyword
fn fit_data(py: Python<'_>, x: &Bound<'_, PyAny>, center: bool, ranks: Option<(usize, usize)>, method_name: &str, resamples: Option<usize>, over_ranks: bool, seed: u64) -> PyResult<Fit> {
    let x = Matrix::extract(x, "X")?;
    let method = method(method_name)?;
    let eig = x.with(py, |v| spectrum_of(v, center, 1)).map_err(value_error)?.to_vec();
    let range = range_for(eig.len(), ranks)?;
    let fit = x
        .with(py, |view| {
            let mut fit = specreg_spectrum::fit_alpha(&eig, range, method)?;
            fit.interval = match (resamples, over_ranks) {
                (None, _) => None,
                (Some(n), true) => Some(specreg_spectrum::interval_over_ranks(&eig, &fit, n, seed)?),
                (Some(n), false) => Some(match view {
                    View::F32(v) => specreg_spectrum::interval_over_examples(v, center, range, method, n, seed)?,
                    View::F64(v) => specreg_spectrum::interval_over_examples(v, center, range, method, n, seed)?,
                }),
            };
            Ok(fit)
        })
        .map_err(value_error)?;
    debug_assert!(fit.interval.is_none_or(|i| i.over == if over_ranks { Resampling::Ranks } else { Resampling::Examples }));
    Ok(fit.into())
}

/// Cross-validated PCA of two repeats (stimuli × neurons).
#[pyfunction]
fn cvpca<'py>(py: Python<'py>, x1: &Bound<'py, PyAny>, x2: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (a, b) = (Matrix::extract(x1, "X1")?, Matrix::extract(x2, "X2")?);
    let values = match (&a, &b) {
        (Matrix::F32(a), Matrix::F32(b)) => {
            let (a, b) = (a.as_array(), b.as_array());
            py.detach(|| specreg_spectrum::cross_validated_spectrum(a, b))
        }
        (Matrix::F64(a), Matrix::F64(b)) => {
            let (a, b) = (a.as_array(), b.as_array());
            py.detach(|| specreg_spectrum::cross_validated_spectrum(a, b))
        }
        _ => return Err(PyTypeError::new_err("X1 and X2 must have the same dtype (both float32 or both float64)")),
    }
    .map_err(value_error)?;
    Ok(values.into_pyarray(py))
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(eigenspectrum, m)?)?;
    m.add_function(wrap_pyfunction!(fit_spectrum, m)?)?;
    m.add_function(wrap_pyfunction!(fit_data, m)?)?;
    m.add_function(wrap_pyfunction!(cvpca, m)?)?;
    m.add_class::<Covariance>()?;
    m.add_class::<Fit>()?;
    m.add("METHODS", FitMethod::ALL.iter().map(|m| m.name()).collect::<Vec<_>>())?;
    Ok(())
}
