"""Tests of gandemo.theory, gandemo.data and gandemo.widgets (the pieces chapter 1 uses)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import gandemo as gd  # noqa: E402


def test_value_of_the_constant_half_discriminator_is_minus_log_4():
    p = gd.data.Gaussian1D(0.0, 1.0)
    q = gd.data.GaussianMixture1D((-2.0, 3.0), (0.5, 1.0))
    stats = gd.theory.value_by_quadrature(lambda x: 0 * x, p, q)
    assert abs(stats.value + math.log(4)) < 1e-9
    assert abs(stats.real_var) < 1e-12 and abs(stats.fake_var) < 1e-12


def test_quadrature_matches_a_closed_form():
    # D with logit a(x) = x against N(mu, 1): E[log sigma(x)] has no simple closed form, but for
    # a(x) = log(2): log D = log(2/3), log(1 - D) = log(1/3), constants.
    p = gd.data.Gaussian1D(1.0, 2.0)
    stats = gd.theory.value_by_quadrature(lambda x: 0 * x + math.log(2), p, p)
    assert abs(stats.value - (math.log(2 / 3) + math.log(1 / 3))) < 1e-9


def test_minibatch_estimates_are_unbiased_with_the_predicted_spread():
    p, q = gd.data.Gaussian1D(0.0, 1.0), gd.data.Gaussian1D(2.0, 1.0)

    def logit(x):
        return 2.0 - 2.0 * x

    exact = gd.theory.value_by_quadrature(logit, p, q)
    est = gd.theory.value_estimates(logit, p, q, m=16, repeats=4000, seed=3)
    se = float(exact.estimate_std(16)) / math.sqrt(4000)
    assert abs(est.mean() - exact.value) < 4 * se
    assert abs(est.std(ddof=1) / float(exact.estimate_std(16)) - 1) < 0.06
    again = gd.theory.value_estimates(logit, p, q, m=16, repeats=4000, seed=3)
    assert np.array_equal(est, again)  # same seed, same result


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: gd.data.Gaussian1D(0.0, 0.0), "std"),
        (lambda: gd.data.Gaussian1D(float("nan"), 1.0), "mean"),
        (lambda: gd.data.GaussianMixture1D((0.0, 1.0), (1.0,)), "stds"),
        (lambda: gd.data.GaussianMixture1D((0.0, 1.0), (1.0, 1.0), (1.0, -1.0)), "weights"),
        (lambda: gd.data.Gaussian1D().sample(0), "n"),
        (
            lambda: gd.theory.value_estimates(
                lambda x: x, gd.data.Gaussian1D(), gd.data.Gaussian1D(), m=0
            ),
            "m",
        ),
        (lambda: gd.seed_everything(-1), "seed"),
    ],
)
def test_bad_input_raises_value_error(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_mixture_density_integrates_to_one_and_sampling_is_seeded():
    q = gd.data.GaussianMixture1D((-2.0, 2.0), (0.5, 1.0), (0.3, 0.7))
    x = np.linspace(-10, 10, 20001)
    assert abs(np.trapezoid(q.pdf(x), x) - 1) < 1e-6
    assert np.allclose(np.exp(q.logpdf(x[::100])), q.pdf(x[::100]))
    a = q.sample(5000, torch.Generator().manual_seed(0))
    b = q.sample(5000, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    assert abs(float((a < 0).float().mean()) - 0.3) < 0.03


# ---- chapter 2 and 3: optimal discriminator, divergences, C(G), non-saturating objective ----


class _Uniform:
    """A uniform density on [lo, hi] with the interface gandemo.theory expects."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.where((x >= self.lo) & (x <= self.hi), 1.0 / (self.hi - self.lo), 0.0)

    def logpdf(self, x):
        with np.errstate(divide="ignore"):
            return np.log(self.pdf(x))

    def support(self, mass=0.999):
        return (self.lo, self.hi)


DENSITY_PAIRS = [
    (gd.data.Gaussian1D(0.0, 1.0), gd.data.Gaussian1D(2.0, 1.0)),
    (gd.data.Gaussian1D(0.0, 1.0), gd.data.Gaussian1D(-1.0, 2.5)),
    (gd.data.GaussianMixture1D((-2.0, 2.0), (0.5, 0.5)), gd.data.Gaussian1D(0.5, 1.0)),
    (gd.data.GaussianMixture1D((-1.0, 3.0), (0.3, 1.0), (0.2, 0.8)), gd.data.Gaussian1D(1.0, 0.4)),
]


def test_optimal_discriminator_is_the_density_ratio_and_one_half_at_equality():
    p, q = DENSITY_PAIRS[2]
    x = np.linspace(-4, 4, 101)
    d = gd.theory.optimal_discriminator(p, q, x)
    assert np.max(np.abs(d - p.pdf(x) / (p.pdf(x) + q.pdf(x)))) < 1e-12
    assert np.max(np.abs(gd.theory.optimal_discriminator(q, q, x) - 0.5)) < 1e-15
    # far in the tails both densities underflow; the logit form stays finite
    far = gd.theory.optimal_discriminator(p, q, np.array([60.0]))
    assert np.all(np.isfinite(far)) and abs(float(far[0])) < 1e-6


def test_optimal_logit_gives_the_pointwise_maximiser_of_a_log_y_plus_b_log_1_minus_y():
    p, q = DENSITY_PAIRS[1]
    logit = gd.theory.optimal_logit(p, q)
    x = np.array([-1.0, 0.3, 2.0])
    a, b = p.pdf(x), q.pdf(x)
    y = np.linspace(1e-4, 1 - 1e-4, 200001)[:, None]
    best = y[np.argmax(a * np.log(y) + b * np.log(1 - y), axis=0), 0]
    assert np.max(np.abs(best - 1 / (1 + np.exp(-logit(x))))) < 1e-4
    t = torch.tensor(x, dtype=torch.float64)
    assert np.max(np.abs(logit(t).numpy() - logit(x))) < 1e-12


def test_jsd_closed_forms_identical_and_disjoint():
    p = gd.data.GaussianMixture1D((-1.0, 2.0), (0.5, 1.0))
    assert abs(gd.theory.js_divergence(p, p)) < 1e-12
    assert abs(gd.theory.kl_divergence(p, p)) < 1e-12
    u, v = _Uniform(0.0, 1.0), _Uniform(2.0, 4.0)
    assert abs(gd.theory.js_divergence(u, v) - math.log(2)) < 1e-9
    x = np.linspace(-1, 5, 6001)
    # the trapezoidal rule smears each jump over one cell (dx = 1e-3): agreement to ~dx
    assert abs(float(gd.theory.jsd_on_grid(u.pdf(x), v.pdf(x), x)) - math.log(2)) < 3e-3
    assert abs(float(gd.theory.jsd_on_grid(u.pdf(x), u.pdf(x), x))) < 1e-15
    assert math.isinf(float(gd.theory.kl_on_grid(u.pdf(x), v.pdf(x), x)))


def test_kl_of_gaussians_matches_the_closed_form_on_grid_and_by_quadrature():
    p, q = gd.data.Gaussian1D(0.3, 0.8), gd.data.Gaussian1D(-1.0, 1.7)
    closed = math.log(q.std / p.std) + (p.std**2 + (p.mean - q.mean) ** 2) / (2 * q.std**2) - 0.5
    assert abs(gd.theory.kl_divergence(p, q) - closed) < 1e-10
    x = np.linspace(-15, 15, 30001)
    assert abs(float(gd.theory.kl_on_grid(p.pdf(x), q.pdf(x), x)) - closed) < 1e-7


@pytest.mark.parametrize("pair", DENSITY_PAIRS)
def test_c_of_g_is_minus_log_4_plus_twice_the_jsd(pair):
    p, q = pair
    c = gd.theory.c_of_g(p, q)
    jsd = gd.theory.js_divergence(p, q)
    assert abs(c - (-math.log(4) + 2 * jsd)) < 1e-8
    assert 0 < jsd < math.log(2)
    assert abs(gd.theory.c_of_g(p, p) + math.log(4)) < 1e-9


def test_monte_carlo_value_at_d_star_agrees_with_c_of_g():
    p, q = DENSITY_PAIRS[2]
    est = gd.theory.value_estimates(gd.theory.optimal_logit(p, q), p, q, m=500, repeats=400)
    se = est.std(ddof=1) / math.sqrt(est.size)
    assert abs(est.mean() - gd.theory.c_of_g(p, q)) < 4.5 * se


@pytest.mark.parametrize("pair", DENSITY_PAIRS)
def test_ns_objective_is_the_f_divergence(pair):
    p, q = pair
    assert (
        abs(gd.theory.non_saturating_objective(p, q) - gd.theory.non_saturating_divergence(p, q))
        < 1e-8
    )
    assert gd.theory.non_saturating_divergence(p, q) > 0
    assert abs(gd.theory.non_saturating_divergence(p, p)) < 1e-12


def test_ns_f_is_convex_and_zero_at_one():
    u = np.linspace(0, 10, 1001)
    f = gd.theory.non_saturating_f(u)
    assert abs(float(gd.theory.non_saturating_f([1.0])[0])) < 1e-15
    assert np.all(np.diff(f, 2) > 0)


@pytest.mark.parametrize("kind", ["non-saturating", "saturating"])
def test_generator_gradient_at_d_star_follows_the_divergence(kind):
    p = gd.data.GaussianMixture1D((-2.0, 2.0), (0.5, 0.5))
    mean, std, h = 0.5, 1.0, 1e-4
    objective = gd.theory.non_saturating_objective if kind == "non-saturating" else gd.theory.c_of_g

    def obj(m, s):
        return objective(p, gd.data.Gaussian1D(m, s))

    fd = np.array(
        [
            (obj(mean + h, std) - obj(mean - h, std)) / (2 * h),
            (obj(mean, std + h) - obj(mean, std - h)) / (2 * h),
        ]
    )
    mc = gd.theory.generator_gradient_at_optimum(p, mean, std, kind, n=400_000, seed=1)
    assert np.max(np.abs(mc - fd)) < 0.02 * np.max(np.abs(fd)) + 5e-3


def test_landscape_minimisers_cover_both_modes_or_one():
    p = gd.data.GaussianMixture1D((-2.0, 2.0), (0.5, 0.5))
    land = gd.theory.gaussian_fit_landscape(p, np.linspace(-3, 3, 25), np.linspace(0.3, 3, 28))
    q = gd.data.Gaussian1D(1.0, 1.5)
    i, j = np.argmin(np.abs(land["stds"] - 1.5)), np.argmin(np.abs(land["means"] - 1.0))
    q = gd.data.Gaussian1D(land["means"][j], land["stds"][i])
    assert abs(land["minimax"][i, j] - gd.theory.c_of_g(p, q)) < 1e-6
    assert abs(land["non-saturating"][i, j] - gd.theory.non_saturating_objective(p, q)) < 1e-6
    i, j = np.unravel_index(np.argmin(land["minimax"]), land["minimax"].shape)
    assert abs(land["means"][j]) < 0.3 and land["stds"][i] > 1.5  # covers both modes
    i, j = np.unravel_index(np.argmin(land["non-saturating"]), land["minimax"].shape)
    assert abs(abs(land["means"][j]) - 2) < 0.3 and land["stds"][i] < 0.8  # picks one mode


def test_fitted_discriminator_approaches_d_star():
    p, q = gd.data.Gaussian1D(0.0, 1.0), gd.data.Gaussian1D(2.0, 1.0)
    fitted = gd.theory.fit_discriminator(p, q, steps=600, batch_size=256, hidden=16, seed=0)
    lo, hi = gd.theory.mass_interval([p, q], 0.99)
    x = np.linspace(lo, hi, 401)
    gap = np.max(np.abs(fitted.prob(x) - gd.theory.optimal_discriminator(p, q, x)))
    assert abs(gap) < 0.08
    assert fitted.losses.shape == (600,)


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: gd.theory.optimal_discriminator("N(0,1)", gd.data.Gaussian1D(), [0.0]), "p_data"),
        (lambda: gd.theory.optimal_discriminator(gd.data.Gaussian1D(), None, [0.0]), "p_g"),
        (lambda: gd.theory.optimal_discriminator(*DENSITY_PAIRS[0], [float("nan")]), "x"),
        (lambda: gd.theory.jsd_on_grid([1.0, 1.0], [1.0], [1.0, 0.0]), "x"),
        (lambda: gd.theory.jsd_on_grid([1.0, -1.0], [1.0, 1.0], [0.0, 1.0]), "p_vals"),
        (lambda: gd.theory.kl_on_grid([1.0, 1.0, 1.0], [1.0, 1.0], [0.0, 1.0]), "p_vals"),
        (lambda: gd.theory.kl_divergence(gd.data.Gaussian1D(), 3.0), "q"),
        (lambda: gd.theory.non_saturating_f([-0.5]), "u"),
        (lambda: gd.theory.mass_interval([gd.data.Gaussian1D()], mass=1.5), "mass"),
        (lambda: gd.theory.fit_discriminator(*DENSITY_PAIRS[0], steps=0), "steps"),
        (lambda: gd.theory.generator_gradient_at_optimum(gd.data.Gaussian1D(), 0.0, -1.0), "std"),
        (
            lambda: gd.theory.gaussian_fit_landscape(gd.data.Gaussian1D(), [0.0], [0.0]),
            "stds",
        ),
    ],
)
def test_theory_bad_input_raises_value_error(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# ---- chapter 2: C(G) where the densities barely overlap ----


@pytest.mark.parametrize(
    "mu, expected",
    # -2 E[softplus(mu z - mu^2 / 2)], z ~ N(0, 1), by mpmath at 40 digits, split at mu / 2
    [
        (4.0, -0.120853973646),
        (5.0, -0.0344092063579),
        (10.0, -1.72633192169e-6),
        (20.0, -4.7314279346e-23),
        (-20.0, -4.7314279346e-23),
    ],
)
def test_training_criterion_resolves_distributions_that_barely_overlap(mu, expected):
    # the whole of C(G) sits near x = mu / 2, outside both densities' 1 - 1e-12 intervals
    p, q = gd.data.Gaussian1D(0.0, 1.0), gd.data.Gaussian1D(mu, 1.0)
    c = gd.theory.c_of_g(p, q)
    assert abs(c / expected - 1) < 1e-8
    # the closed form on a fine grid, which shares no code with the package's quadrature
    z = np.linspace(-10, abs(mu) + 10, 40001)
    grid = -2 * np.trapezoid(p.pdf(z) * np.logaddexp(0, abs(mu) * z - mu**2 / 2), z)
    assert abs(c / grid - 1) < 1e-6


def test_value_by_quadrature_of_a_fitted_discriminator_is_below_c_of_g():
    p, q = DENSITY_PAIRS[0]
    fitted = gd.theory.fit_discriminator(p, q, steps=300, batch_size=256, hidden=16, seed=1)
    stats = gd.theory.value_by_quadrature(fitted.logit, p, q)
    shortfall = gd.theory.c_of_g(p, q) - stats.value
    assert 0 < shortfall < 0.05
    assert stats.real_var > 0 and stats.fake_var > 0
