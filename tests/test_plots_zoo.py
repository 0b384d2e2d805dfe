"""Tests of gandemo.plots_zoo: recorded frames, players, live views and tables."""

from __future__ import annotations

import numpy as np
import pytest

from gandemo import batched, data, digits, plots_zoo

SMALL = dict(width=16, depth=2, batch_size=32, device="cpu", metric_samples=300, metric_every=20)


def test_record_frames_players_and_live_view():
    bt = batched.BatchedTrainer(data.ring(), ["hinge", "least-squares"], [0, 1], **SMALL)
    seen = []
    frames = plots_zoo.record(bt, 40, frames=4, n=200, live=seen.append)
    assert [f.step for f in frames] == [0, 10, 20, 30, 40] and len(seen) == 5
    assert frames[-1].samples.shape == (2, 200, 2)
    assert set(frames[-1].metrics) == {"modes", "high_quality", "reverse_kl"}
    player = plots_zoo.samples_player(data.ring(), frames, [0, 1], ["hinge", "least-squares"])
    assert len(player._cache) == 5  # one PNG per frame in the HTML player
    view, show = plots_zoo.live_view(
        lambda fr: plots_zoo.samples_figure(data.ring(), fr, [0], ["hinge"], max_step=40)
    )
    for f in frames:
        show(f)
    assert view.updates == 5 and view.widget().value[:4] == b"\x89PNG"
    bundle = view._repr_mimebundle_()
    assert "JupyterLab" in bundle["text/html"]
    ax = plots_zoo.metric_curves(bt, "modes")
    assert len(ax.lines) == 4  # two losses: seeds + mean each
    with pytest.raises(ValueError, match="recorded metrics"):
        plots_zoo.metric_curves(bt, "classes")
    with pytest.raises(ValueError, match="equal length"):
        plots_zoo.samples_player(data.ring(), frames, [0, 1], ["hinge"])


def test_tables():
    assert plots_zoo.loss_table().count("\n") == 1 + 5
    rows = [
        dict(
            loss="hinge",
            runs=5,
            diverged=0,
            modes=(7.4, 0.5),
            high_quality=(0.61, 0.1),
            reverse_kl=(0.2, 0.05),
        ),
        dict(
            loss="wasserstein-gp",
            runs=5,
            diverged=1,
            modes=(0.6, 0.9),
            high_quality=(0.04, 0.08),
            reverse_kl=(float("nan"), float("nan")),
        ),
    ]
    text = plots_zoo.zoo_table({"ring": rows}, {"ring": 8})
    assert "| ring | `hinge` | 7.4 ± 0.5 / 8 | 61 ± 10 % | 0.20 ± 0.05 | 5 |" in text
    assert "n/a" in text and "1 diverged" in text
    cols = {"classes": ("classes", 1, False), "confident": ("confident", 0, True)}
    table = plots_zoo.metrics_table(
        [dict(loss="saturating", runs=3, classes=(9.5, 0.5), confident=(0.5, 0.1))],
        cols,
        ("real", dict(classes=10, confident=0.78)),
    )
    assert "| `saturating` | 9.5 ± 0.5 | 50 ± 10 % | 3 |" in table
    assert "| real | 10.0 | 78 % | |" in table


def test_digit_grid_and_player():
    images, _ = digits.load()
    grid = plots_zoo.digit_grid(images[:6], 2, 3)
    assert grid.shape == (17, 26) and np.isnan(grid[8]).all()
    np.testing.assert_array_equal(grid[:8, :8], images[0].reshape(8, 8))
    frames = [
        plots_zoo.BatchFrame(
            s,
            images[None, :36] * 0 + images[None, s : s + 36],
            dict(classes=np.array([10.0]), confidence=np.array([0.9])),
        )
        for s in (0, 1)
    ]
    player = plots_zoo.digits_player(frames, [0], ["real"])
    assert len(player._cache) == 2
