"""Tests of the live training view: gandemo.plots_train and gandemo.dashboard."""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gandemo as gd  # noqa: E402

SMALL = dict(width=16, depth=1, batch_size=32, metric_every=20, metric_samples=200, device="cpu")
BOARD = dict(width=16, depth=1, batch_size=32, metric_every=20, metric_samples=200)


@pytest.mark.parametrize("target", [gd.data.ring(), gd.data.Gaussian1D(1.0, 0.5)])
def test_training_figure_draws_snapshots_in_place(target):
    trainer = gd.Trainer(target, seed=0, **SMALL)
    fig = gd.plots.training.TrainingFigure(target, "non-saturating")
    trainer.run(40, progress=False)
    snap = trainer.snapshot(200)
    d = trainer.discriminator_on(fig.points)
    fig.draw(snap, d, title="test")
    first = fig.png()
    trainer.run(40, progress=False)
    fig.draw(trainer.snapshot(200), trainer.discriminator_on(fig.points))
    second = fig.png()
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and first != second
    with pytest.raises(ValueError, match="d_values"):
        fig.draw(snap, d[:-1])


def test_record_and_players_make_one_frame_per_recorded_moment():
    ring = gd.data.ring()
    runs = {
        loss: gd.recording.record_frames(gd.Trainer(ring, loss=loss, seed=1, **SMALL), 40, 4)
        for loss in ("saturating", "non-saturating")
    }
    assert [f.snapshot.step for f in runs["saturating"]] == [0, 10, 20, 30, 40]
    player = gd.plots.training.comparison_player(ring, runs, title="t")
    assert len(player.values) == 5 and "<script" in player.html
    single = gd.plots.training.training_player(ring, "saturating", runs["saturating"])
    assert len(gd.widgets.frame_pngs(single.html)) == 5
    with pytest.raises(ValueError, match="runs"):
        gd.plots.training.comparison_player(ring, {"a": runs["saturating"]})


def test_dashboard_steps_trains_pauses_and_resets():
    board = gd.dashboard.TrainingDashboard("gaussian", steps=60, device="cpu", **BOARD)
    board.update_d()
    board.update_g()
    assert board.trainer.step == 1
    board.start()
    board._thread.join(timeout=120)
    assert board.trainer.step == 61 and board.status_text == "done"
    assert len(board.trainer.history.step) > 0 and board.redraws >= 3

    board.start(100_000)  # long run, paused from outside
    time.sleep(0.5)
    board.pause()
    paused_at = board.trainer.step
    assert 61 < paused_at < 100_061 and board.status_text.startswith("paused")
    history_len = len(board.trainer.history.step)
    board.start(20)
    board._thread.join(timeout=120)
    assert board.trainer.step == paused_at + 20
    assert len(board.trainer.history.step) >= history_len

    board.reset()
    assert board.trainer.step == 0 and len(board.trainer.history.step) == 0


def test_dashboard_trains_the_digits():
    board = gd.dashboard.TrainingDashboard("digits", steps=30, device="cpu", **BOARD)
    assert board.trainer.config["g_output"] == "tanh" and board.trainer.dim == 64
    board.start()
    board._thread.join(timeout=120)
    assert board.trainer.step == 30 and board.status_text == "done"
    png = board.redraw()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "classes" in board.trainer.history.metrics


def test_pause_stops_the_engine_between_two_steps():
    board = gd.dashboard.TrainingDashboard("ring", steps=10**7, device="cpu", **BOARD)
    board.start()
    time.sleep(0.3)
    board.pause()
    assert not board.running and board.trainer.interrupted
    # the history ends at the step the trainer stands at (a provisional record if between two)
    assert board.trainer.history.step[-1] == board.trainer.step


def test_dashboard_widget_and_html_fallback():
    board = gd.dashboard.TrainingDashboard("ring", device="cpu", **BOARD)
    view = board.widget()
    labels = [b.description for b in view.children[2].children if hasattr(b, "on_click")]
    assert labels == ["Start", "Pause", "Reset", "step D", "step G"]
    bundle = board._repr_mimebundle_()
    assert "data:image/png;base64" in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    before = bytes(board.image.value)
    board.update_g()
    assert bytes(board.image.value) != before


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(target="moon"), "target"),
        (dict(loss="wasserstein"), "loss"),
        (dict(steps=0), "steps"),
        (dict(redraw_budget=1.5), "redraw_budget"),
    ],
)
def test_dashboard_bad_input(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        gd.dashboard.TrainingDashboard(device="cpu", **kwargs)


def test_overhead_measurement_reports_both_rates():
    cost = gd.dashboard.measure_overhead("gaussian", steps=200)
    assert cost["plain_steps_per_s"] > 0 and cost["live_steps_per_s"] > 0
    assert np.isfinite(cost["overhead"]) and cost["redraws"] >= 1
