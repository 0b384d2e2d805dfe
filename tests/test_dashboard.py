"""Tests of gandemo.dashboard: the training dashboard (its figure is tested in
test_plots_training.py)."""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gandemo as gd  # noqa: E402

BOARD = dict(width=16, depth=1, batch_size=32, metric_every=20, metric_samples=200)


def wait(board, timeout: float = 120.0) -> None:
    """Wait until the dashboard's training run has ended."""
    deadline = time.monotonic() + timeout
    while board.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not board.running


def test_dashboard_steps_trains_pauses_and_resets():
    board = gd.dashboard.TrainingDashboard("gaussian", steps=60, device="cpu", **BOARD)
    board.update_d()
    board.update_g()
    assert board.trainer.step == 1
    board.start()
    wait(board)
    assert board.trainer.step == 61 and board.status_text == "done"
    assert len(board.trainer.history.step) > 0 and board.redraws >= 3

    board.start(100_000)  # long run, paused from outside
    time.sleep(0.5)
    board.pause()
    paused_at = board.trainer.step
    assert 61 < paused_at < 100_061 and board.status_text.startswith("paused")
    history_len = len(board.trainer.history.step)
    board.start(20)
    wait(board)
    assert board.trainer.step == paused_at + 20
    assert len(board.trainer.history.step) >= history_len

    board.reset()
    assert board.trainer.step == 0 and len(board.trainer.history.step) == 0


def test_dashboard_trains_the_digits():
    board = gd.dashboard.TrainingDashboard("digits", steps=30, device="cpu", **BOARD)
    assert board.trainer.config["g_output"] == "tanh" and board.trainer.dim == 64
    board.start()
    wait(board)
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
