//! Symmetric eigendecomposition (faer), returned in decreasing order as ndarray.

use faer::{Mat, Side};
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
    let evd = a.self_adjoint_eigen(Side::Lower).map_err(|e| SpectrumError::Eigen(format!("{e:?}")))?;
    let n = a.nrows();
    let (u, s) = (evd.U(), evd.S().column_vector());
    // faer returns ascending order; reverse both.
    let values = Array1::from_shape_fn(n, |k| s[n - 1 - k]);
    let vectors = Array2::from_shape_fn((n, n), |(i, k)| u[(i, n - 1 - k)]);
    Ok(Eigen { values, vectors })
}

/// Eigenvalues only, in decreasing order: cheaper than [`eigh`] (no eigenvector back-transformation).
pub fn eigvalsh(matrix: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
    let a = to_faer_symmetric(matrix)?;
    let mut values = a.self_adjoint_eigenvalues(Side::Lower).map_err(|e| SpectrumError::Eigen(format!("{e:?}")))?;
    values.reverse();
    Ok(Array1::from(values))
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
    let llt = a.llt(Side::Lower).map_err(|e| SpectrumError::Eigen(format!("Cholesky factorisation: {e:?} (matrix not positive definite)")))?;
    let l = llt.L();
    let mut inverse = Mat::<f64>::identity(n, n);
    faer::linalg::triangular_solve::solve_lower_triangular_in_place(l, inverse.as_mut(), faer::Par::rayon(0));
    Ok(Array2::from_shape_fn((n, n), |(i, j)| inverse[(i, j)]))
}
