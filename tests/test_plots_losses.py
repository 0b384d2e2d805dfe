"""Tests of gandemo.plots.losses: the BCE costs, the generator costs and their slopes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

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


def test_cost_curves_are_the_package_losses_and_their_autograd_slopes():
    a = np.array([-6.0, -1.0, 0.0, 2.0])
    c = gd.plots.losses.cost_curves(a)
    d = 1 / (1 + np.exp(-a))
    np.testing.assert_allclose(c["d"], d)
    np.testing.assert_allclose(c["sat"], np.log1p(-d), atol=1e-12)
    np.testing.assert_allclose(c["ns"], -np.log(d), atol=1e-12)
    # slopes against the logit: -D for the saturating cost, -(1 - D) for the non-saturating one
    np.testing.assert_allclose(c["sat_da"], -d, atol=1e-12)
    np.testing.assert_allclose(c["ns_da"], -(1 - d), atol=1e-12)
    np.testing.assert_allclose(c["sat_dd"], -1 / (1 - d), rtol=1e-9)


def test_generator_costs_and_derivatives_draw_three_costs_each():
    ax = gd.plots.losses.plot_generator_costs(n=50)
    assert len(ax.get_lines()) == 3 and ax.get_title() == "Generator costs"
    sat, ns, _ = ax.get_lines()
    d = sat.get_xdata()
    np.testing.assert_allclose(sat.get_ydata(), np.log1p(-d), atol=1e-9)
    np.testing.assert_allclose(ns.get_ydata(), -np.log(d), atol=1e-9)
    ax_d, ax_a = gd.plots.losses.plot_cost_derivatives(n=50)
    assert len(ax_d.get_lines()) == 3 and len(ax_a.get_lines()) == 3 + 1  # and the line at -1
    np.testing.assert_allclose(ax_a.get_lines()[0].get_ydata(), -ax_a.get_lines()[0].get_xdata())
    plt.close("all")


def test_saturation_explorer_has_a_frame_per_logit():
    explorer = gd.plots.losses.saturation_explorer([-5.0, 0.0, 2.0])
    assert len(gd.widgets.frame_pngs(explorer.html)) == 3
    assert "<script" in explorer._repr_mimebundle_()["text/html"]
    plt.close("all")
