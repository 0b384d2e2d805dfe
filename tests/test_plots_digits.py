"""Tests of gandemo.plots.digits: image grids, the sample players and the real-vs-generated
panels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gandemo as gd  # noqa: E402


def test_digit_grid_and_player():
    images, _ = gd.digits.load()
    grid = gd.plots.digits.digit_grid(images[:6], 2, 3)
    assert grid.shape == (17, 26) and np.isnan(grid[8]).all()
    np.testing.assert_array_equal(grid[:8, :8], images[0].reshape(8, 8))
    frames = [
        gd.recording.SampleFrame(
            s,
            images[None, :36] * 0 + images[None, s : s + 36],
            dict(classes=np.array([10.0 - 9 * s]), confidence=np.array([0.9])),
        )
        for s in (0, 1)
    ]
    player = gd.plots.digits.digits_player(frames, [0], ["real"])
    assert len(gd.widgets.frame_pngs(player.html)) == 2
    fig, update = gd.plots.digits.digits_figure(frames, [0], ["real"])
    update(0)
    assert fig.axes[0].get_title() == "real\n10 classes, conf. 0.90"
    update(1)
    assert fig.axes[0].get_title() == "real\n1 class, conf. 0.90"


def test_digit_figures_put_real_and_generated_grids_at_one_scale():
    images, _ = gd.digits.load()
    fig = gd.plots.digits.digit_panels([("real", images[:64]), ("copy", images[64:128])])
    a, b = fig.axes
    assert a.get_position().width == pytest.approx(b.get_position().width)
    assert not any(s.get_visible() for s in a.spines.values())
    with pytest.raises(ValueError, match="panels"):
        gd.plots.digits.digit_panels([])
    frames = [
        gd.recording.SampleFrame(
            step,
            np.stack([images[:64], images[64:128]]),
            {"classes": np.array([10, 9]), "fid": np.array([0.5, 1.5])},
        )
        for step in (0, 100)
    ]
    fig, update = gd.plots.digits.digits_real_figure(frames, [1], ["model"], images[200:264])
    update(0)
    assert "step 0" in fig.axes[1].get_title() and "Fréchet 1.50" in fig.axes[1].get_title()
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="same length"):
        gd.plots.digits.digits_real_figure(frames, [0, 1], ["one label"], images[:64])
    with pytest.raises(ValueError, match="two"):
        gd.plots.digits.digits_real_player(frames[:1], [0], ["m"], images[:64])
    assert gd.plots.digits.digits_real_player(frames, [0], ["m"], images[:64]) is not None
