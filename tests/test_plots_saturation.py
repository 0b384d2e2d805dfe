"""Tests of gandemo.plots.saturation: the JSD bound, the total losses, the measured gradient
ratios and spreads, the comparison runs and the saturation curves."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from fakes import LN2, fake_history  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

import gandemo as gd  # noqa: E402

SMALL = dict(
    width=16, depth=1, batch_size=32, metric_every=20, metric_samples=200, device="cpu", threads=1
)
TARGET = gd.data.Gaussian1D(3.0, 0.5)


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


def test_saturation_curves_draw_one_line_per_model_on_log_axes():
    ring = gd.data.ring()
    t = gd.Trainer(ring, seed=[0, 1], loss=["saturating", "non-saturating"], **SMALL)
    t.run(30, progress=False)
    fig = gd.plots.saturation.saturation_curves(t, marks=[15])
    ax_d, ax_g = fig.axes
    assert ax_d.get_yscale() == "log" and ax_g.get_yscale() == "log"
    # one line per model in each panel (plus the reference lines)
    assert len([ln for ln in ax_g.get_lines() if len(ln.get_xdata()) > 2]) == 2
    plt.close(fig)


def test_batch_ratios_plot_every_sample_and_batch_against_the_prediction():
    _, _, stats = gd.saturation.measure_gradients(TARGET, [0, 20], samples=4, batches=3)
    ax = gd.plots.saturation.plot_batch_ratios(stats)
    samples, batches, ref = ax.get_lines()[:2], ax.get_lines()[2:4], ax.get_lines()[-1]
    assert len(ax.get_lines()) == 2 * len(stats) + 1
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), stats[0].sample_ratio)
    np.testing.assert_allclose(ax.get_lines()[1].get_xdata(), stats[0].predicted_batch_ratio)
    assert np.allclose(ref.get_xdata(), ref.get_ydata())  # the line measured = predicted
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert samples and batches
    plt.close("all")


def test_gradient_spread_draws_each_discriminator_and_the_summary():
    spread = gd.saturation.gradient_spread(TARGET, [0, 20], seeds=(0, 2), batches=3)
    ax_n, ax_cv = gd.plots.saturation.plot_gradient_spread(spread)
    # per loss: one thin line per discriminator and the thick summary
    assert len(ax_n.get_lines()) == len(ax_cv.get_lines()) == 2 * (len(spread.seeds) + 1)
    medians = [ln for ln in ax_n.get_lines() if ln.get_label() == "saturating"]
    np.testing.assert_allclose(medians[0].get_ydata(), spread.median("saturating"))
    plt.close("all")


def test_comparison_runs_draw_d_of_g_gradient_norm_and_mean_per_run():
    runs = {}
    for kind in ("saturating", "non-saturating"):
        h = fake_history(kind, [1.0, 1.2], [0.3, 0.2])
        h.d_fake, h.g_grad_norm = np.array([0.2, 0.1]), np.array([1e-3, 1e-4])
        h.metrics = {"mean": np.array([0.0, 1.0, 2.0])}
        runs[kind] = h
    ax_d, ax_g, ax_m = gd.plots.saturation.plot_comparison_runs(runs, target_mean=3.0)
    assert [ln.get_label() for ln in ax_d.get_lines()] == list(runs)
    np.testing.assert_allclose(ax_d.get_lines()[0].get_ydata(), [0.2, 0.1])
    assert ax_g.get_yscale() == "log" and ax_d.get_title() == "mean $D(G(z))$"
    np.testing.assert_allclose(ax_m.get_lines()[1].get_ydata(), [0.0, 1.0, 2.0])
    assert ax_m.get_lines()[-1].get_ydata()[0] == 3.0  # the data mean
    plt.close("all")
