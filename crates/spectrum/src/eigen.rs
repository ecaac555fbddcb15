//! Symmetric eigendecomposition (faer), returned in decreasing order as ndarray.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd::{ComputeEigenvectors, self_adjoint_evd, self_adjoint_evd_scratch};
use faer::{Mat, Par};
use ndarray::{Array1, Array2, ArrayView2};

use crate::error::{Result, SpectrumError};

/// Eigenvalues in decreasing order and the matching unit eigenvectors as columns: `vectors.column(k)`
/// belongs to `values[k]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Eigen {
    /// Eigenvalues, decreasing.
    pub values: Array1<f64>,
    /// Matching unit eigenvectors as columns.
    pub vectors: Array2<f64>,
}

/// Full eigendecomposition of a symmetric matrix. The input is symmetrised ((A + Aᵀ)/2) first,
/// so rounding asymmetry from an accumulated covariance does no harm.
pub fn eigh(matrix: ArrayView2<'_, f64>) -> Result<Eigen> {
    let a = to_faer_symmetric(matrix)?;
    let n = a.nrows();
    let mut u = Mat::<f64>::zeros(n, n);
    let s = symmetric_evd(&a, Some(&mut u))?;
    // faer returns ascending order; reverse both.
    let values = Array1::from_shape_fn(n, |k| s[n - 1 - k]);
    let vectors = Array2::from_shape_fn((n, n), |(i, k)| u[(i, n - 1 - k)]);
    Ok(Eigen { values, vectors })
}

/// Eigenvalues only, in decreasing order: cheaper than [`eigh`] (no eigenvector back-transformation).
pub fn eigvalsh(matrix: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
    let a = to_faer_symmetric(matrix)?;
    let s = symmetric_evd(&a, None)?;
    let n = a.nrows();
    Ok(Array1::from_shape_fn(n, |k| s[n - 1 - k]))
}

/// faer splits the sums of its factorisations into as many parts as it is given threads, so results
/// computed with `Par::rayon(0)` (the pool's size) differ in the last bits between a 2-core laptop
/// and a 16-core node, or a process with half the cores. A fixed split gives the same bits everywhere;
/// the pool runs the parts on whatever threads it has. Two parts: the bits two threads gave before.
const FIXED_SPLIT: usize = 2;

/// Makes faer's factorisations that take no explicit parallelism (the QR of
/// [`crate::simulate::random_rotation`], Cholesky) split their work into the same fixed parts as
/// [`eigh`], so that their results do not depend on the number of cores. It sets faer's process-wide
/// default: for programs (`cargo xtask` calls it first), not for libraries.
pub fn fix_factorisation_split() {
    faer::set_global_parallelism(Par::rayon(FIXED_SPLIT));
}

/// Ascending eigenvalues of symmetric `a` (its lower triangle), and its eigenvectors into `u` if given.
fn symmetric_evd(a: &Mat<f64>, u: Option<&mut Mat<f64>>) -> Result<faer::col::Col<f64>> {
    let n = a.nrows();
    let par = Par::rayon(FIXED_SPLIT);
    let compute = if u.is_some() { ComputeEigenvectors::Yes } else { ComputeEigenvectors::No };
    let mut s = Diag::<f64>::zeros(n);
    let mut buffer = MemBuffer::new(self_adjoint_evd_scratch::<f64>(n, compute, par, Default::default()));
    self_adjoint_evd(a.as_ref(), s.as_mut(), u.map(|u| u.as_mut()), par, MemStack::new(&mut buffer), Default::default())
        .map_err(|e| SpectrumError::Eigen(format!("{e:?}")))?;
    Ok(s.column_vector().to_owned())
}

fn to_faer_symmetric(m: ArrayView2<'_, f64>) -> Result<Mat<f64>> {
    let (r, c) = m.dim();
    if r != c {
        return Err(SpectrumError::Shape(format!("eigendecomposition needs a square matrix, got {r}x{c}")));
    }
    if r == 0 {
        return Err(SpectrumError::Empty("matrix"));
    }
    if let Some(((row, col), &value)) = m.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(SpectrumError::NonFinite { what: "matrix", row, col, value });
    }
    Ok(Mat::from_fn(r, r, |i, j| 0.5 * (m[(i, j)] + m[(j, i)])))
}

/// `L⁻¹` for the Cholesky factor `L` (lower triangular, `A = L Lᵀ`) of a symmetric positive-definite
/// matrix: the whitening transform `x ↦ L⁻¹ x` turns covariance `A` into the identity.
/// Fails (rather than returning garbage) when `A` is not positive definite.
pub fn inverse_cholesky(matrix: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
    let a = to_faer_symmetric(matrix)?;
    let n = a.nrows();
    let llt = a.llt(faer::Side::Lower).map_err(|e| SpectrumError::Eigen(format!("Cholesky factorisation: {e:?} (matrix not positive definite)")))?;
    let l = llt.L();
    let mut inverse = Mat::<f64>::identity(n, n);
    faer::linalg::triangular_solve::solve_lower_triangular_in_place(l, inverse.as_mut(), Par::rayon(FIXED_SPLIT));
    Ok(Array2::from_shape_fn((n, n), |(i, j)| inverse[(i, j)]))
}
