"""Tests of gandemo.theory, gandemo.data and gandemo.widgets (the pieces chapter 1 uses)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
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


def test_explorer_offers_a_live_widget_and_a_frame_player():
    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 0])
    ax.set_ylim(0, 4)
    seen = []

    def update(v):
        seen.append(v)
        line.set_ydata([v, v])

    explorer = gd.widgets.explore(fig, update, [1, 2, 3], description="v")
    bundle = explorer._repr_mimebundle_()
    assert "<script" in bundle["text/html"] and "anim" in bundle["text/html"].lower()
    assert set(seen) == {1, 2, 3}
    widget = explorer.widget()
    before = bytes(explorer.image.value)
    explorer.slider.value = 3  # moving the live slider redraws the image
    assert bytes(explorer.image.value) != before
    assert widget is explorer.widget()
    with pytest.raises(ValueError, match="values"):
        gd.widgets.explore(fig, update, [1])
