"""The `specreg` package against numpy/scipy written here, on simulated data with known answers.

Run with `pytest crates/python/tests` after `pip install ./crates/python` (CI does both in a venv).
"""

import numpy as np
import pytest
import scipy.optimize

import specreg


def rng(seed=0):
    return np.random.default_rng(seed)


def exact_spectrum(n, alpha):
    return np.arange(1, n + 1, dtype=np.float64) ** -alpha


# ---------------------------------------------------------------- eigenspectrum and covariance


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_eigenspectrum_matches_numpy(dtype, order):
    x = rng(1).standard_normal((500, 40)) @ rng(2).standard_normal((40, 40)) + 3.0
    x = np.asarray(x, dtype=dtype, order=order)
    ours = specreg.eigenspectrum(x)
    reference = np.sort(np.linalg.eigvalsh(np.cov(x.astype(np.float64).T)))[::-1]
    assert ours.dtype == np.float64 and ours.shape == (40,)
    assert np.all(np.diff(ours) <= 0), "descending"
    # float64 data: f64 products throughout. float32 data: f32 products within blocks of rows, as
    # precise as the data themselves (about 1e-7 of the largest eigenvalue).
    if dtype == np.float64:
        np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-12 * reference[0])
    else:
        np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-7 * reference[0])


def test_eigenspectrum_options_match_numpy():
    x = rng(3).standard_normal((300, 20)) + 1.0
    population = np.sort(np.linalg.eigvalsh(np.cov(x.T, ddof=0)))[::-1]
    np.testing.assert_allclose(specreg.eigenspectrum(x, ddof=0), population, rtol=1e-10)
    second_moment = np.sort(np.linalg.eigvalsh(x.T @ x / (len(x) - 1)))[::-1]
    np.testing.assert_allclose(specreg.eigenspectrum(x, center=False), second_moment, rtol=1e-10)


def test_streaming_covariance_equals_the_whole_even_with_a_large_offset():
    x = rng(4).standard_normal((1000, 30)) * np.arange(1, 31) ** -0.5 + 1e4
    cov = specreg.Covariance(30)
    for batch in np.array_split(x, 7):
        cov.update(batch.astype(np.float32) if len(batch) % 2 else batch)
    assert cov.count == 1000 and cov.n_features == 30
    whole = specreg.eigenspectrum(np.concatenate([b.astype(np.float32) if len(b) % 2 else b for b in np.array_split(x, 7)]))
    np.testing.assert_allclose(cov.eigenvalues(), whole, rtol=1e-9)
    np.testing.assert_allclose(cov.mean(), x.mean(axis=0), rtol=1e-6)
    # The offset of 1e4 costs no accuracy: the smallest eigenvalue (≈ 1/30) still agrees with a
    # float64 two-pass computation.
    reference = np.sort(np.linalg.eigvalsh(np.cov(np.concatenate([b.astype(np.float32).astype(np.float64) if len(b) % 2 else b for b in np.array_split(x, 7)]).T)))[::-1]
    np.testing.assert_allclose(cov.eigenvalues(), reference, rtol=1e-7)


# ---------------------------------------------------------------- fits against numpy / scipy


def test_lstsq_is_numpys_polyfit_slope():
    e = exact_spectrum(800, 1.3) * np.exp(0.1 * rng(5).standard_normal(800))
    e = np.sort(e)[::-1]
    fit = specreg.powerlaw_fit(e, ranks=(11, 400), ci=None)
    n = np.arange(11, 401)
    slope, intercept = np.polyfit(np.log(n), np.log(e[10:400]), 1)
    assert fit.method == "lstsq" and fit.ranks == (11, 400)
    assert fit.alpha == pytest.approx(-slope, rel=1e-12)
    residual = np.log(e[10:400]) - (intercept + slope * np.log(n))
    r2 = 1 - np.sum(residual**2) / np.sum((np.log(e[10:400]) - np.log(e[10:400]).mean()) ** 2)
    assert fit.r2 == pytest.approx(r2, rel=1e-9)


def test_stringer_is_reptrixs_weighted_regression_with_its_defaults():
    e = np.sort(exact_spectrum(300, 0.9) * np.exp(0.2 * rng(6).standard_normal(300)))[::-1]
    # reptrix's get_powerlaw with its default fit_range = np.arange(10, 100): ranks 11–100, weights 1/n.
    trange = np.arange(10, 100)
    y = np.log(np.abs(e))[trange][:, None]
    ranks = trange + 1
    x = np.concatenate((-np.log(ranks)[:, None], np.ones((len(ranks), 1))), axis=1)
    w = 1.0 / ranks.astype(np.float64)[:, None]
    b = np.linalg.solve(x.T @ (x * w), (w * x).T @ y).flatten()
    fit = specreg.powerlaw_fit(e, ranks=(11, 100), method="stringer", ci=None)
    assert fit.alpha == pytest.approx(b[0], rel=1e-10)
    # and numpy's weighted polyfit (its weights multiply residuals, so √(1/n))
    slope, _ = np.polyfit(np.log(ranks), np.log(e[10:100]), 1, w=np.sqrt(1.0 / ranks))
    assert fit.alpha == pytest.approx(-slope, rel=1e-10)


def direct_mle(e, first, last, min_points=10):
    """The truncated power-law MLE with a Kolmogorov–Smirnov cutoff, written with scipy."""
    upper = e[first - 1]
    best = None
    for cutoff in range(first + min_points - 1, last + 1):
        lower = e[cutoff - 1]
        values = e[first - 1 : cutoff]
        t = np.log(values / lower)
        s = np.log(upper / lower)

        def negative_loglik(b):
            return -(len(t) * np.log(b) - b * t.sum() - len(t) * np.log(-np.expm1(-b * s)))

        b = scipy.optimize.minimize_scalar(negative_loglik, bounds=(1e-6, 1e4), method="bounded", options={"xatol": 1e-12}).x
        cdf = (1 - (np.sort(values) / lower) ** -b) / (1 - (upper / lower) ** -b)
        k = np.arange(len(values))
        ks = np.max(np.maximum(np.abs(cdf - k / len(values)), np.abs((k + 1) / len(values) - cdf)))
        if best is None or ks < best[0]:
            best = (ks, b, cutoff)
    ks, b, cutoff = best
    return 1.0 / b, ks, cutoff


@pytest.mark.parametrize("seed", [7, 8])
def test_mle_matches_a_direct_scipy_implementation(seed):
    e = np.sort(exact_spectrum(400, 1.1) * np.exp(0.15 * rng(seed).standard_normal(400)))[::-1]
    fit = specreg.powerlaw_fit(e, ranks=(11, 200), method="mle", ci=None)
    alpha, ks, cutoff = direct_mle(e, 11, 200)
    assert fit.ranks == (11, cutoff)
    assert fit.alpha == pytest.approx(alpha, rel=1e-5)
    assert fit.ks == pytest.approx(ks, rel=1e-5)
    assert fit.r2 is None


# ---------------------------------------------------------------- known exponents


@pytest.mark.parametrize("true_alpha", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("method,tolerance", [("lstsq", 1e-9), ("stringer", 1e-9), ("mle", 0.02)])
def test_exact_power_laws_are_recovered(true_alpha, method, tolerance):
    fit = specreg.powerlaw_fit(exact_spectrum(1000, true_alpha), method=method, ci=None)
    assert fit.alpha == pytest.approx(true_alpha, rel=tolerance)


@pytest.mark.parametrize("true_alpha", [0.5, 1.0, 2.0])
def test_simulated_activations_give_their_exponent(true_alpha):
    # 20,000 examples of 200 units with variances n^-α: the fitted ranks 11–100 come within 0.05.
    x = rng(9).standard_normal((20_000, 200)) * np.arange(1, 201) ** (-true_alpha / 2)
    for method in ("lstsq", "stringer"):
        fit = specreg.alpha(x, method=method, ci=None)
        assert fit.ranks == (11, 100)
        assert abs(fit.alpha - true_alpha) < 0.05, (method, fit)


def test_the_readme_example_prints_about_one_with_its_interval():
    fit = specreg.alpha(np.random.default_rng(0).standard_normal((3000, 200)) * np.arange(1, 201) ** -0.5)
    assert 0.85 < fit.alpha < 1.15
    assert fit.ci_over == "examples" and fit.ci[0] < fit.alpha < fit.ci[1]
    assert "95% CI" in str(fit)


# ---------------------------------------------------------------- intervals


def test_rank_intervals_cover_the_true_exponent_about_95_percent_of_the_time():
    # log λ_n = −α log n + noise: the (rank, λ) pairs bootstrap is valid for this model.
    covered = {"lstsq": 0, "stringer": 0}
    repeats = 200
    for k in range(repeats):
        e = exact_spectrum(500, 1.0) * np.exp(0.3 * rng(100 + k).standard_normal(500))
        for method in covered:
            fit = specreg.powerlaw_fit(e, ranks=(11, 500), method=method, resamples=500, seed=k)
            covered[method] += fit.ci[0] <= 1.0 <= fit.ci[1]
    for method, count in covered.items():
        assert 0.90 <= count / repeats <= 0.99, (method, count)


def test_example_intervals_cover_the_exponent_of_the_population_about_95_percent_of_the_time():
    # Fresh Gaussian data with variances n^-1 each time; the interval resamples the examples. It
    # measures sampling noise only: with few examples per unit the sample spectrum itself is biased
    # (α̂ ≈ 1.006 ± 0.011 at 2,000 × 100, where this coverage falls to about 80 %), so the data here
    # have 80 examples per unit (α̂ ≈ 1.003 ± 0.021).
    covered, repeats = 0, 100
    scale = np.arange(1, 51) ** -0.5
    for k in range(repeats):
        x = rng(5000 + k).standard_normal((4000, 50)) * scale
        fit = specreg.alpha(x, resamples=100, seed=k)
        covered += fit.ci[0] <= 1.0 <= fit.ci[1]
    assert 0.88 <= covered / repeats <= 1.0, covered


def test_mle_rank_intervals_cover_a_sampled_power_law():
    # Values drawn from the truncated density p(λ) ∝ λ^-a on [1e-3, 1], a = 1 + 1/α with α = 1.
    covered, repeats = 0, 200
    for k in range(repeats):
        u = rng(1000 + k).uniform(size=400)
        values = np.sort(1.0 / (1.0 + u * (1e3 - 1.0)))[::-1]  # inverse CDF of λ^-2 on [1e-3, 1]
        fit = specreg.powerlaw_fit(values, ranks=(1, 400), method="mle", resamples=300, seed=k)
        covered += fit.ci[0] <= 1.0 <= fit.ci[1]
    assert 0.88 <= covered / repeats <= 0.99, covered


def test_intervals_repeat_with_their_seed_and_example_intervals_contain_the_estimate():
    x = rng(11).standard_normal((1500, 100)) * np.arange(1, 101) ** -0.6
    a = specreg.alpha(x, resamples=50, seed=3)
    b = specreg.alpha(x, resamples=50, seed=3)
    assert a == b
    assert a.ci[0] <= a.alpha <= a.ci[1] and a.ci_resamples == 50
    r = specreg.alpha(x, ci="ranks", resamples=200)
    assert r.ci_over == "ranks" and r.ci[0] <= r.alpha <= r.ci[1] and r.alpha == a.alpha


def test_reptrix_shaped_activations_are_flattened():
    x = rng(12).standard_normal((800, 4, 5, 5))
    assert specreg.alpha(x, ci=None).ranks == (11, 50)


# ---------------------------------------------------------------- cvPCA


def test_cvpca_matches_numpy():
    signal = rng(13).standard_normal((400, 30)) * np.arange(1, 31) ** -0.5
    x1 = signal + 0.5 * rng(14).standard_normal((400, 30))
    x2 = signal + 0.5 * rng(15).standard_normal((400, 30))
    ours = specreg.cvpca(x1, x2)
    values, vectors = np.linalg.eigh(np.cov(x1.T))
    vectors = vectors[:, ::-1]
    p1 = (x1 - x1.mean(0)) @ vectors
    p2 = (x2 - x2.mean(0)) @ vectors
    reference = (p1 * p2).sum(0) / (len(x1) - 1)
    np.testing.assert_allclose(np.abs(ours), np.abs(reference), rtol=1e-8, atol=1e-12)
    # The noise floor (0.25 per component) is gone from the cross-validated spectrum.
    assert ours[-1] < 0.1 < specreg.eigenspectrum(x1)[-1]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "bad,error,words",
    [
        (np.zeros(10), ValueError, "2-D"),
        (np.zeros((4, 3, 2)), ValueError, "2-D"),
        (np.zeros((1, 5)), ValueError, "at least 2 rows"),
        (np.array([[1.0, np.nan], [2.0, 3.0]]), ValueError, "non-finite"),
        (np.array([[1.0, np.inf], [2.0, 3.0]]), ValueError, "non-finite"),
        (np.array([["a", "b"], ["c", "d"]]), TypeError, "real numbers"),
        (np.zeros((3, 2), dtype=complex), TypeError, "real numbers"),
    ],
)
def test_bad_matrices_raise_naming_the_problem(bad, error, words):
    with pytest.raises(error, match=words):
        specreg.eigenspectrum(bad)


def test_bad_fits_raise_naming_the_problem():
    e = exact_spectrum(100, 1.0)
    with pytest.raises(ValueError, match="do not fit a spectrum of 100"):
        specreg.powerlaw_fit(e, ranks=(11, 500))
    with pytest.raises(ValueError, match="1 ≤ first < last"):
        specreg.powerlaw_fit(e, ranks=(50, 20))
    with pytest.raises(ValueError, match="unknown method"):
        specreg.powerlaw_fit(e, method="ols")
    with pytest.raises(ValueError, match="increasing order"):
        specreg.powerlaw_fit(e[::-1])
    with pytest.raises(ValueError, match="finite"):
        specreg.powerlaw_fit(np.array([1.0, np.nan, 0.5]))
    with pytest.raises(ValueError, match="needs the data"):
        specreg.powerlaw_fit(e, ci="examples")
    with pytest.raises(ValueError, match="positive"):
        specreg.powerlaw_fit(np.concatenate([e[:12], np.zeros(88)]), ranks=(11, 90))
    with pytest.raises(ValueError, match="shape"):
        specreg.Covariance(3).update(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="same shape"):
        specreg.cvpca(np.zeros((5, 3)), np.zeros((5, 4)))
