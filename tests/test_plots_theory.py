"""Tests of gandemo.plots.theory: the spread law, the V-hat and D* explorers, C(G), the
non-saturating f and the landscapes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gandemo as gd  # noqa: E402


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


def test_plot_training_criterion_draws_the_ceiling_and_the_ns_panel():
    p = gd.data.Gaussian1D(0.0, 1.0)
    shifts = np.linspace(-8, 8, 9)
    c = np.array([gd.theory.c_of_g(p, gd.data.Gaussian1D(m, 1.0)) for m in shifts])
    ns = np.array(
        [gd.theory.non_saturating_objective(p, gd.data.Gaussian1D(m, 1.0)) for m in shifts]
    )
    axes = gd.plots.theory.plot_c_of_g(shifts, c, c, c, 0 * c, p, std=1.0, ns=ns)
    assert len(axes) == 4
    assert any(np.allclose(line.get_ydata(), 0.0) for line in axes[0].get_lines())
    assert np.allclose(axes[3].get_lines()[0].get_ydata(), ns)
    assert len(gd.plots.theory.plot_c_of_g(shifts, c, c, c, 0 * c, p, std=1.0)) == 2
    plt.close("all")


def test_normalised_f_curves_start_at_the_cost_of_a_missed_mode():
    ax = gd.plots.theory.plot_non_saturating_f()
    curves = {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}
    assert set(curves) == {"ns", "2jsd", "rkl"}
    start = {key: line.get_ydata()[0] for key, line in curves.items()}
    assert abs(start["ns"] - (1 - math.log(2))) < 1e-12
    assert abs(start["2jsd"] - math.log(2)) < 1e-12 and abs(start["rkl"] - 1.0) < 1e-12
    for line in curves.values():
        u, f = line.get_xdata(), line.get_ydata()
        assert f.min() > -1e-12 and abs(np.interp(1.0, u, f)) < 1e-3  # minimum 0 at u = 1
    plt.close("all")


def test_landscape_plot_marks_every_local_minimum():
    p = gd.data.GaussianMixture1D((-2.0, 2.0), (0.5, 0.5))
    land = gd.theory.gaussian_fit_landscape(p, np.linspace(-4, 4, 41), np.linspace(0.2, 4, 39))
    _, minima = gd.plots.theory.plot_landscapes(land, p)
    mm, ns = minima["minimax"], minima["non-saturating"]
    assert abs(mm[0][0]) < 1e-9 and mm[0][1] > 1.5  # the wide fit is the global minimum
    assert sorted(round(m[0]) for m in mm[1:3]) == [-2, 2] and mm[1][2] > mm[0][2]
    assert sorted(round(m[0]) for m in ns[:2]) == [-2, 2] and abs(ns[0][2] - ns[1][2]) < 1e-9
    plt.close("all")


def test_dstar_dashboard_redraws_for_each_control():
    options = {"a": gd.data.Gaussian1D(0.0, 1.0), "b": gd.data.GaussianMixture1D()}
    board = gd.plots.theory.dstar_explorer(options, means=(0.0,), stds=(1.0,))
    board.widget()
    images = {bytes(board.image.value)}
    board.inputs["mean"].value = 1.5
    images.add(bytes(board.image.value))
    board.inputs["p_data"].value = "b"
    images.add(bytes(board.image.value))
    assert len(images) == 3


def test_dstar_explorer_needs_two_data_options():
    with pytest.raises(ValueError, match="data_options"):
        gd.plots.theory.dstar_explorer({"a": gd.data.Gaussian1D()})
