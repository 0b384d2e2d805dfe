"""Tests of chapter 1's figures in gandemo.plots: BCE costs, the spread law, the V-hat explorer."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gandemo as gd  # noqa: E402


def test_bce_cost_curves_are_minus_log_p_and_minus_log_one_minus_p():
    ax = gd.plots.losses.plot_bce_costs(n=50)
    real, fake = ax.get_lines()
    p = real.get_xdata()
    assert np.allclose(real.get_ydata(), -np.log(p), atol=1e-6)
    assert np.allclose(fake.get_ydata(), -np.log1p(-p), atol=1e-6)
    # the two costs cross at p = 1/2, where both are log 2
    i = np.argmin(np.abs(p - 0.5))
    assert abs(real.get_ydata()[i] - fake.get_ydata()[i]) < 0.1
    plt.close(ax.figure)


def test_estimate_spread_plots_law_and_measurements_on_log_axes():
    m = gd.plots.style.log_grid(0, 4)
    law = 0.8 / np.sqrt(m)
    ax = gd.plots.theory.plot_estimate_spread(m, law * 1.01, law)
    line_law, points = ax.get_lines()
    assert np.allclose(line_law.get_ydata(), law) and np.allclose(points.get_ydata(), 1.01 * law)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    plt.close(ax.figure)


def _skewed_estimates(seed: int = 0) -> dict:
    """Means of m draws of -Exp(1), a skewed estimate with a long left tail, m = 1, 2, ..., 256.

    With nine batch sizes the 0.2 % quantile of all estimates together lies well inside the tail
    of m = 1 (about -4.1 against -5.5), so an axis set from all estimates would cut it off."""
    rng = np.random.default_rng(seed)
    return {int(m): -rng.exponential(size=(1000, m)).mean(1) for m in gd.plots.style.log_grid(0, 8)}


def test_explorer_shared_axis_keeps_the_tail_of_the_smallest_batch():
    estimates = _skewed_estimates()
    explorer = gd.plots.theory.value_estimate_explorer(estimates, -1.0, lambda m: 1 / np.sqrt(m))
    ax_fixed, ax_zoom = explorer.fig.axes
    left, right = ax_fixed.get_xlim()
    q_lo, q_hi = np.quantile(estimates[1], [0.005, 0.995])
    assert left < q_lo and right > q_hi
    # ... and not much wider: the 5 % padding on each side
    assert q_lo - left < 0.06 * (right - left)
    # one frame per batch size, the zoom panel centred on the true value
    assert len(gd.widgets.frame_pngs(explorer.html)) == 9
    zl, zr = ax_zoom.get_xlim()
    assert abs((zl + zr) / 2 + 1.0) < 1e-9 and abs(zr - zl - 9.0) < 1e-9
    plt.close("all")


def test_explorer_needs_two_batch_sizes():
    with pytest.raises(ValueError, match="two batch sizes"):
        gd.plots.theory.value_estimate_explorer({1: np.zeros(3)}, 0.0, lambda m: 1.0)
