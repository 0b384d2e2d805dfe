"""Tests of gandemo.plots_zoo: recorded frames, players, live views and tables."""

from __future__ import annotations

import numpy as np
import pytest

import gandemo as gd
from gandemo import data, digits, training

SMALL = dict(width=16, depth=2, batch_size=32, device="cpu", metric_samples=300, metric_every=20)


def test_record_frames_players_and_live_view():
    t = training.Trainer(data.ring(), loss=["hinge", "least-squares"], seed=[0, 1], **SMALL)
    seen = []
    frames = gd.recording.record_samples(t, 40, frames=4, n=200, live=seen.append)
    assert [f.step for f in frames] == [0, 10, 20, 30, 40] and len(seen) == 5
    assert frames[-1].samples.shape == (2, 200, 2)
    assert set(frames[-1].metrics) == {"modes", "high_quality", "reverse_kl"}
    # the frames are the trainer's samples from seeded codes, their metrics those of the samples
    np.testing.assert_array_equal(frames[-1].samples, t.samples(200, seed=0))
    ring_metrics = training.target_metrics(data.ring(), frames[-1].samples[1])
    assert frames[-1].metrics["modes"][1] == ring_metrics["modes"]
    # a second call goes on from where the first stopped, starting with a frame of that step
    more = gd.recording.record_samples(t, 20, frames=2, n=200)
    assert [f.step for f in more] == [40, 50, 60] and t.step == 60
    np.testing.assert_array_equal(more[0].samples, frames[-1].samples)
    player = gd.plots.training.samples_player(
        data.ring(), frames, [0, 1], ["hinge", "least-squares"]
    )
    assert len(player._cache) == 5  # one PNG per frame in the HTML player
    view, show = gd.widgets.live_view(
        lambda fr: gd.plots.training.samples_figure(data.ring(), fr, [0], ["hinge"], max_step=40)
    )
    for f in frames:
        show(f)
    assert view.updates == 5 and view.widget().value[:4] == b"\x89PNG"
    bundle = view._repr_mimebundle_()
    assert "JupyterLab" in bundle["text/html"]
    ax = gd.plots.training.metric_curves(t, "modes")
    assert len(ax.lines) == 2 + 2  # two losses of one seed each: the seed and its mean
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), t.history.metric_step)
    np.testing.assert_array_equal(ax.lines[2].get_ydata(), t.history.metrics["modes"][:, 1])
    with pytest.raises(ValueError, match="recorded metrics"):
        gd.plots.training.metric_curves(t, "classes")
    three = training.Trainer(
        data.ring(), loss=["hinge", "hinge", "least-squares"], seed=[0, 1, 0], **SMALL
    )
    three.run(20, progress=False)
    ax = gd.plots.training.metric_curves(three, "high_quality")
    hinge_mean = [line for line in ax.lines if line.get_label() == "hinge"]
    assert len(ax.lines) == 3 + 2 and len(hinge_mean) == 1  # hinge: two seeds and the mean
    hq = three.history.metrics["high_quality"]
    np.testing.assert_allclose(hinge_mean[0].get_ydata(), hq[:, :2].mean(axis=1))
    with pytest.raises(ValueError, match="equal length"):
        gd.plots.training.samples_player(data.ring(), frames, [0, 1], ["hinge"])


def test_record_one_model_on_a_1d_target():
    t = training.Trainer(data.Gaussian1D(2.0, 0.5), loss="hinge", seed=3, latent_dim=1, **SMALL)
    frames = gd.recording.record_samples(t, 20, frames=2, n=300)
    assert [f.step for f in frames] == [0, 10, 20]
    assert frames[-1].samples.shape == (1, 300, 1) and set(frames[-1].metrics) == {"jsd"}
    jsd = training.target_metrics(t.data, frames[-1].samples[0, :, 0])["jsd"]
    assert frames[-1].metrics["jsd"][0] == pytest.approx(jsd)


def test_tables():
    assert gd.losses.loss_table().count("\n") == 1 + 5
    cols = {"classes": ("classes", 1, False), "confident": ("confident", 0, True)}
    table = gd.experiments.metrics_table(
        [dict(loss="saturating", runs=3, classes=(9.5, 0.5), confident=(0.5, 0.1))],
        cols,
        ("real", dict(classes=10, confident=0.78)),
    )
    assert "| `saturating` | 9.5 ± 0.5 | 50 ± 10 % | 3 |" in table
    assert "| real | 10.0 | 78 % | |" in table


def test_digit_grid_and_player():
    images, _ = digits.load()
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
    assert len(player._cache) == 2
    fig, update = gd.plots.digits.digits_figure(frames, [0], ["real"])
    update(0)
    assert fig.axes[0].get_title() == "real\n10 classes, conf. 0.90"
    update(1)
    assert fig.axes[0].get_title() == "real\n1 class, conf. 0.90"
