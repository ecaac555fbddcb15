"""specreg: covariance eigenspectra of neural representations and their power laws.

A thin, typed layer over specreg's Rust crates (the same code as ``cargo xtask spectrum``): numpy in,
numpy out, float32 or float64 in any memory order, the GIL released while Rust computes. Bad input
raises ``ValueError`` or ``TypeError`` naming the problem.

>>> import numpy as np, specreg
>>> X = np.random.default_rng(0).standard_normal((3000, 200)) * np.arange(1, 201) ** -0.5
>>> fit = specreg.alpha(X)            # λ_n ∝ n^-α with α ≈ 1, and a 95 % interval over examples
>>> 0.85 < fit.alpha < 1.15
True

Functions: :func:`eigenspectrum`, :class:`Covariance` (streaming), :func:`powerlaw_fit`,
:func:`alpha` (one call from activations to α, as reptrix's ``get_alpha`` takes them), :func:`cvpca`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional, Tuple, Union

import numpy as np

from . import _native

__all__ = ["Covariance", "PowerLawFit", "alpha", "cvpca", "eigenspectrum", "powerlaw_fit", "METHODS"]
__version__ = "0.1.0"

Method = Literal["lstsq", "stringer", "mle"]
#: The fit methods: unweighted least squares in log-log (the protocol's α̂), Stringer et al.'s
#: 1/n-weighted least squares (reptrix's ``get_alpha``), and truncated power-law maximum likelihood
#: with a Kolmogorov–Smirnov cutoff (Clauset, Shalizi & Newman 2009).
METHODS: Tuple[str, ...] = tuple(_native.METHODS)


@dataclass(frozen=True)
class PowerLawFit:
    """A fitted exponent α of λ_n ∝ n^-α.

    ``ranks`` are the 1-based ranks used (for ``"mle"`` the last is the cutoff it chose); ``r2`` is the
    log-log R² of the least-squares methods, ``ks`` the Kolmogorov–Smirnov distance of ``"mle"``;
    ``ci`` is a 95 % percentile-bootstrap interval, resampled over ``ci_over`` ("ranks" or
    "examples"), or ``None`` when none was asked for.
    """

    alpha: float
    method: str
    ranks: Tuple[int, int]
    r2: Optional[float]
    ks: Optional[float]
    ci: Optional[Tuple[float, float]]
    ci_over: Optional[str]
    ci_resamples: Optional[int]

    @classmethod
    def _from_native(cls, f: Any) -> "PowerLawFit":
        ci = None if f.ci_low is None else (float(f.ci_low), float(f.ci_high))
        return cls(float(f.alpha), f.method, (int(f.rank_min), int(f.rank_max)), f.r2, f.ks, ci, f.ci_over, f.ci_resamples)

    def __float__(self) -> float:
        return self.alpha

    def __str__(self) -> str:
        parts = [f"α = {self.alpha:.3f}"]
        if self.ci is not None:
            parts.append(f"95% CI [{self.ci[0]:.3f}, {self.ci[1]:.3f}] over {self.ci_over}")
        parts.append(f"ranks {self.ranks[0]}–{self.ranks[1]}, {self.method}")
        if self.r2 is not None:
            parts.append(f"R² {self.r2:.3f}")
        if self.ks is not None:
            parts.append(f"KS {self.ks:.3f}")
        return ", ".join(parts)


def _as_numpy(x: Any, name: str) -> np.ndarray:
    """``x`` as a numpy array; a torch tensor (on any device, with or without grad) is copied to the CPU."""
    if hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy"):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise TypeError(f"{name} cannot be read as an array: {e}") from e


def _matrix(x: Any, name: str) -> np.ndarray:
    """``x`` as a 2-D float32/float64 array (other real dtypes become float64)."""
    a = _as_numpy(x, name)
    if a.dtype.kind in "biu":
        a = a.astype(np.float64)
    elif a.dtype not in (np.float32, np.float64):
        if a.dtype.kind == "f":
            a = a.astype(np.float64)
        else:
            raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (examples × features), got shape {a.shape}")
    if a.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 rows (examples), got {a.shape[0]}")
    if a.shape[1] < 1:
        raise ValueError(f"{name} needs at least 1 column (feature), got shape {a.shape}")
    return a


def _ranks(ranks: Optional[Tuple[int, int]]) -> Optional[Tuple[int, int]]:
    if ranks is None:
        return None
    try:
        first, last = (int(r) for r in ranks)
    except (TypeError, ValueError) as e:
        raise TypeError(f"ranks must be a pair of integers (first, last), got {ranks!r}") from e
    if first < 1 or last <= first:
        raise ValueError(f"ranks ({first}, {last}): need 1 ≤ first < last (1-based, inclusive)")
    return first, last


def _method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return method


def eigenspectrum(X: Any, center: bool = True, ddof: int = 1) -> np.ndarray:
    """Eigenvalues, descending, of the covariance of ``X`` (examples × features).

    Accumulated in float64 across blocks of rows whatever ``X``'s dtype; within a block, float32 data
    are multiplied in float32 (as precise as the data, about 1e-7 of the largest eigenvalue, and twice
    as fast), float64 data in float64. ``center=False`` gives the eigenvalues of the
    second-moment matrix XᵀX / (n − ddof); ``ddof=1`` matches ``np.cov``, ``ddof=0`` divides by n.
    """
    a = _matrix(X, "X")
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 or 1, got {ddof}")
    return _native.eigenspectrum(a, bool(center), int(ddof))


class Covariance:
    """Streaming covariance for data larger than memory: ``update`` with batches of rows, then
    ``eigenvalues()``. Batches are centred within themselves and merged exactly (Chan et al.), so a
    large common offset costs no accuracy."""

    def __init__(self, n_features: int) -> None:
        if int(n_features) < 1:
            raise ValueError(f"n_features must be ≥ 1, got {n_features}")
        self._inner = _native.Covariance(int(n_features))

    def update(self, batch: Any) -> "Covariance":
        """Adds a batch (rows × n_features); returns self."""
        a = _as_numpy(batch, "batch")
        if a.ndim == 1 and a.shape[0] == self.n_features:
            a = a[None, :]
        if a.ndim != 2 or a.shape[1] != self.n_features:
            raise ValueError(f"batch must be rows × {self.n_features}, got shape {a.shape}")
        if a.dtype not in (np.float32, np.float64):
            if a.dtype.kind not in "biuf":
                raise TypeError(f"batch must hold real numbers, got dtype {a.dtype}")
            a = a.astype(np.float64)
        self._inner.update(a)
        return self

    @property
    def count(self) -> int:
        """Rows seen so far."""
        return self._inner.count

    @property
    def n_features(self) -> int:
        """Columns per row."""
        return self._inner.n_features

    def mean(self) -> np.ndarray:
        """The mean row."""
        return self._inner.mean()

    def covariance(self, center: bool = True, ddof: int = 1) -> np.ndarray:
        """The covariance matrix (divisor n − ddof), or the second-moment matrix without centring."""
        return self._inner.matrix(bool(center), int(ddof))

    def eigenvalues(self, center: bool = True, ddof: int = 1) -> np.ndarray:
        """The covariance's eigenvalues, descending."""
        return self._inner.eigenvalues(bool(center), int(ddof))


def powerlaw_fit(
    eigenvalues: Any,
    ranks: Optional[Tuple[int, int]] = None,
    method: Method = "lstsq",
    ci: Union[bool, Literal["ranks"], None] = "ranks",
    resamples: int = 1000,
    seed: int = 0,
) -> PowerLawFit:
    """Fits λ_n ∝ n^-α to ``eigenvalues`` (descending, rank 1 first) over ``ranks`` (1-based,
    inclusive; default 11–500, or to N/2 for shorter spectra, the specreg protocol's range).

    ``method``: ``"lstsq"`` (unweighted log-log least squares), ``"stringer"`` (weights 1/n, as
    Stringer et al. and reptrix; reptrix's ``get_alpha`` default is ``ranks=(11, 100)``) or ``"mle"``.
    ``ci="ranks"`` adds a 95 % bootstrap interval over the ranks (``resamples`` draws, seeded); an
    interval over examples needs the activations: see :func:`alpha`.
    """
    e = _as_numpy(eigenvalues, "eigenvalues")
    if e.ndim != 1:
        raise ValueError(f"eigenvalues must be 1-D, got shape {e.shape}")
    if e.dtype.kind not in "biuf":
        raise TypeError(f"eigenvalues must be real numbers, got dtype {e.dtype}")
    if ci == "examples":
        raise ValueError("an interval over examples needs the data: use specreg.alpha(X, ci='examples')")
    if ci not in (True, False, None, "ranks"):
        raise ValueError(f"ci must be 'ranks' or None, got {ci!r}")
    boots = int(resamples) if ci else None
    fit = _native.fit_spectrum(np.ascontiguousarray(e, dtype=np.float64), _ranks(ranks), _method(method), boots, int(seed))
    return PowerLawFit._from_native(fit)


def alpha(
    X: Any,
    ranks: Optional[Tuple[int, int]] = None,
    method: Method = "lstsq",
    ci: Union[Literal["examples", "ranks"], bool, None] = "examples",
    resamples: int = 100,
    seed: int = 0,
    center: bool = True,
) -> PowerLawFit:
    """α of a representation in one call: ``X`` is activations of shape (examples, d1, …, dn), as
    reptrix's ``get_alpha`` takes them (flattened to examples × features), its covariance spectrum
    fitted as :func:`powerlaw_fit` does. ``ci="examples"`` (the default) bootstraps the examples
    (``resamples`` times, recomputing the spectrum: cost grows with the data), ``"ranks"`` the ranks.
    """
    a = _as_numpy(X, "X")
    if a.ndim > 2:
        a = a.reshape(a.shape[0], -1)
    m = _matrix(a, "X")
    if ci not in (True, False, None, "examples", "ranks"):
        raise ValueError(f"ci must be 'examples', 'ranks' or None, got {ci!r}")
    boots = int(resamples) if ci else None
    fit = _native.fit_data(m, bool(center), _ranks(ranks), _method(method), boots, ci == "ranks", int(seed))
    return PowerLawFit._from_native(fit)


def cvpca(X1: Any, X2: Any) -> np.ndarray:
    """Cross-validated PCA (Stringer et al. 2019): the signal variance along each principal component
    of ``X1``, from two repeats (stimuli × neurons, same shape) of responses to the same stimuli."""
    a, b = _matrix(X1, "X1"), _matrix(X2, "X2")
    if a.shape != b.shape:
        raise ValueError(f"X1 and X2 must have the same shape, got {a.shape} and {b.shape}")
    if a.dtype != b.dtype:
        a, b = a.astype(np.float64), b.astype(np.float64)
    return _native.cvpca(a, b)
