"""Tests of chapter 5's loss-curve figures in gandemo.plots_gradient."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

import gandemo as gd  # noqa: E402

LN2 = math.log(2.0)


def fake_history(loss: str, d_loss, jsd, metric_every: int = 20):
    """A ModelHistory with records every 20 steps and a JSD record at step 0 and each record."""
    d_loss = np.asarray(d_loss, dtype=float)
    steps = metric_every * np.arange(1, len(d_loss) + 1)
    nan = np.full(len(d_loss), np.nan)
    return gd.training.ModelHistory(
        loss=loss,
        seed=0,
        step=steps,
        d_loss=d_loss,
        g_loss=np.full(len(d_loss), LN2),
        d_real=nan,
        d_fake=nan,
        g_grad_norm=nan,
        d_grad_norm=nan,
        wall_time=nan,
        metric_step=np.concatenate([[0], steps]),
        metrics={"jsd": np.concatenate([[LN2], np.asarray(jsd, dtype=float)])},
    )


def test_plot_jsd_bound_draws_ln2_minus_half_the_d_loss_beside_the_jsd():
    a = fake_history("non-saturating", [1.0, 1.2, 1.4], [0.5, 0.3, 0.1])
    b = fake_history("saturating", [1.1, 1.3, 1.38], [0.4, 0.2, 0.05])
    ax_t, ax_s = gd.plots.saturation.plot_jsd_bound([a, b])
    # left: per run the JSD at the record steps, then the bound ln 2 - L_D / 2
    lines = ax_t.get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), [0.5, 0.3, 0.1])
    np.testing.assert_allclose(lines[1].get_ydata(), LN2 - np.array([1.0, 1.2, 1.4]) / 2)
    np.testing.assert_allclose(lines[3].get_ydata(), LN2 - np.array([1.1, 1.3, 1.38]) / 2)
    assert lines[0].get_linewidth() > lines[2].get_linewidth()  # the first run is bold
    # right: one point per record at (L_D, JSD), one legend entry per loss, and the bound line
    scatters = [c for c in ax_s.collections if isinstance(c, PathCollection)]
    points = np.concatenate([c.get_offsets() for c in scatters])
    expected = [(1.0, 0.5), (1.2, 0.3), (1.4, 0.1), (1.1, 0.4), (1.3, 0.2), (1.38, 0.05)]
    np.testing.assert_allclose(points, expected)
    assert {"non-saturating", "saturating"} <= set(ax_s.get_legend_handles_labels()[1])
    xs, ys = ax_s.get_lines()[0].get_data()
    np.testing.assert_allclose(ys, LN2 - np.asarray(xs) / 2)
    plt.close("all")


def test_plot_jsd_bound_needs_a_jsd_at_every_record_step():
    h = fake_history("non-saturating", [1.0, 1.2], [0.5, 0.3])
    h.metric_step = np.array([0, 40])
    h.metrics = {"jsd": np.array([LN2, 0.3])}
    with pytest.raises(ValueError, match="not recorded at every record step"):
        gd.plots.saturation.plot_jsd_bound([h])
    with pytest.raises(ValueError, match="at least one"):
        gd.plots.saturation.plot_jsd_bound([])
    plt.close("all")


def test_plot_loss_curves_names_the_binned_jsd_and_draws_the_equilibrium_lines():
    h = fake_history("saturating", [1.3, 1.35], [0.3, 0.2])
    ax_l, ax_q = gd.plots.training.plot_loss_curves(h, metric_samples=4000)
    assert ax_q.get_title() == "sample quality: binned JSD (60 bins, 4000 samples)"
    levels = {round(float(line.get_ydata()[0]), 6) for line in ax_l.get_lines()[2:]}
    assert levels == {round(2 * LN2, 6), round(-LN2, 6)}
    plt.close("all")


def test_plot_total_losses_draws_each_sum_with_its_equilibrium():
    runs = {
        "non-saturating": fake_history("non-saturating", [1.3, 1.4], [0.3, 0.2]),
        "saturating": fake_history("saturating", [1.3, 1.4], [0.3, 0.2]),
    }
    runs["saturating"].g_loss = np.array([-0.6, -0.7])
    ax = gd.plots.saturation.plot_total_losses(runs)
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), [1.3 + LN2, 1.4 + LN2])
    np.testing.assert_allclose(lines[1].get_ydata()[0], 3 * LN2)
    np.testing.assert_allclose(lines[2].get_ydata(), [0.7, 0.7])
    np.testing.assert_allclose(lines[3].get_ydata()[0], LN2)
    plt.close("all")


def test_plot_samples_vs_density_histogram_integrates_to_one():
    target = gd.data.GaussianMixture1D(means=(-2.0, 2.0), stds=(0.4, 0.4))
    x = target.sample(2000, gd.utils.torch_generator(0))
    ax = gd.plots.training.plot_samples_vs_density(x, target, title="t")
    heights = np.array([p.get_height() for p in ax.patches])
    widths = np.array([p.get_width() for p in ax.patches])
    assert heights.size == 60 and abs(np.sum(heights * widths) - 1.0) < 1e-6
    assert ax.get_title() == "t"
    plt.close("all")
