"""Tests of gandemo.dashboard: the training session, its ipywidgets panel and the dashboard
that joins them (its figure is tested in test_plots_training.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

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
    assert labels == ["Start", "Pause", "Reset", "step D", "step G", "step both"]
    bundle = board._repr_mimebundle_()
    assert "data:image/png;base64" in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    before = bytes(board.image.value)
    board.update_g()
    assert bytes(board.image.value) != before


def test_pause_takes_effect_within_a_step_or_two():
    board = gd.dashboard.TrainingDashboard("ring", steps=10**7, device="cpu", **BOARD)
    board.start()
    time.sleep(0.5)
    asked_at = board.trainer.step
    board.pause()
    assert not board.running and board.trainer.step - asked_at <= 2


def test_loss_lr_and_k_change_in_place_and_data_changes_wait_for_a_reset():
    board = gd.dashboard.TrainingDashboard("ring", device="cpu", **BOARD)
    board.step_both()
    trainer, weights = board.trainer, board.trainer.G.flat.detach().clone()
    assert board.configure(loss="hinge", lr_g=1e-4, lr_d=2e-4, d_steps=2) == []
    assert board.trainer is trainer and torch.equal(trainer.G.flat, weights)
    assert trainer.models == [("hinge", 0)] and trainer.loss_changes[-1][1:] == (
        0,
        "non-saturating",
        "hinge",
    )
    assert (trainer.config["lr_g"], trainer.config["lr_d"], trainer.config["d_steps"]) == (
        1e-4,
        2e-4,
        2,
    )
    assert not board.settings["schedule"]  # a learning rate given turns the schedule off
    assert "hinge" in board.status_text and "weights kept" in board.status_text
    board.redraw()
    assert board.figure.loss == "hinge"

    # while training runs, a change is applied between two steps
    board.start(10**7)
    board.configure(loss="least-squares")
    deadline = time.monotonic() + 60
    while trainer.models[0][0] != "least-squares" and time.monotonic() < deadline:
        time.sleep(0.01)
    board.pause()
    assert board.trainer is trainer and trainer.models == [("least-squares", 0)]

    assert board.configure(seed=3) == ["seed"] and board.trainer is trainer
    assert "Reset" in board.status_text
    board.start(5)
    wait(board)
    assert board.trainer is not trainer and board.trainer.step == 5
    assert board.trainer.models == [("least-squares", 3)] and board.configure() == []
    with pytest.raises(ValueError, match="settings"):
        board.configure(width=3)
    with pytest.raises(ValueError, match="lr_g"):
        board.configure(lr_g=0)


def test_step_both_is_one_step_of_start():
    board = gd.dashboard.TrainingDashboard("ring", d_steps=2, device="cpu", **BOARD)
    twin = gd.Trainer(board.trainer.data, **board._options())
    board.step_both()
    twin.run(1, progress=False)
    assert board.trainer.step == 1 and "2 D updates" in board.status_text
    assert torch.equal(board.trainer.G.flat, twin.G.flat)
    assert torch.equal(board.trainer.D.flat, twin.D.flat)


def test_defaults_are_the_recipe_with_its_schedule():
    recipe = gd.experiments.RECIPES["ring"]
    board = gd.dashboard.TrainingDashboard("ring", device="cpu")
    c = board.trainer.config
    for key, value in recipe.settings.items():
        assert c[key] == value, key
    assert (c["lr_g"], c["lr_d"]) == recipe.schedule[0][1:] and board.settings["schedule"]
    assert board.scheduled_rates(0) == recipe.schedule[0][1:]
    assert board.scheduled_rates(recipe.schedule[1][0]) == recipe.schedule[1][1:]
    small = gd.dashboard.TrainingDashboard("ring", device="cpu", **BOARD)
    small.trainer.step = recipe.schedule[1][0]  # as if it had trained that far
    small.update_d()
    assert small.trainer.config["lr_g"] == recipe.schedule[1][1]
    first = dict(zip(("lr_g", "lr_d"), recipe.schedule[0][1:], strict=True))
    assert gd.dashboard.TrainingDashboard("ring", device="cpu", **first, **BOARD).settings[
        "schedule"
    ]
    other = gd.dashboard.TrainingDashboard("ring", lr_g=1e-4, device="cpu", **BOARD)
    assert not other.settings["schedule"] and other.scheduled_rates() is None
    plain = gd.dashboard.TrainingDashboard("gaussian", device="cpu", **BOARD)
    assert plain.scheduled_rates() is None and plain.trainer.config["lr_g"] == 1e-3


def test_manifold_and_arrows_on_a_2d_target():
    board = gd.dashboard.TrainingDashboard("ring", device="cpu", **BOARD)
    board.start(30)
    wait(board)
    fig = board.figure
    lines = gd.dashboard.MANIFOLD_LINES
    assert len(fig._manifold.get_segments()) == 2 * lines
    assert fig._arrows is not None and fig._arrows.N == gd.dashboard.ARROWS
    board.configure(manifold=False, arrows=False)
    assert not fig._manifold.get_segments() and fig._arrows is None
    assert board.redraw()[:8] == b"\x89PNG\r\n\x1a\n"


def test_controls_change_the_model_in_place_or_ask_for_a_reset():
    board = gd.dashboard.TrainingDashboard("ring", device="cpu", **BOARD)
    board.widget()
    c, trainer = board.controls, board.trainer
    c["loss"].value = "hinge"
    c["lr_g"].value = 1e-4
    assert trainer.models == [("hinge", 0)] and trainer.config["lr_g"] == 1e-4
    assert c["schedule"].value is False  # the slider turned the recipe's schedule off
    c["schedule"].value = True
    assert trainer.config["lr_g"] == c["lr_g"].value == 2e-3
    c["target"].value = "gaussian"
    assert board.trainer is trainer and "Reset" in board.status.value
    board.start(3)
    wait(board)
    assert board.trainer.dim == 1 and board.trainer.step == 3 and c["schedule"].disabled


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


def test_overhead_measurement_reports_both_rates(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_dashboard import measure_overhead

    cost = measure_overhead("gaussian", steps=200)
    assert cost["plain_steps_per_s"] > 0 and cost["live_steps_per_s"] > 0
    assert np.isfinite(cost["overhead"]) and cost["redraws"] >= 1


def test_a_session_trains_without_ipywidgets():
    code = textwrap.dedent(
        """
        import sys
        import matplotlib
        matplotlib.use("Agg")
        from gandemo.dashboard.session import TrainingSession
        session = TrainingSession("ring", device="cpu", width=16, depth=1, batch_size=32)
        session.step_both()
        session.start(5)
        assert session.wait(120) and session.trainer.step == 6, session.trainer.step
        session.configure(lr_g=1e-4, seed=2)
        session.reset()
        assert "ipywidgets" not in sys.modules
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


def test_observers_are_told_what_changed():
    session = gd.dashboard.TrainingSession("ring", device="cpu", **BOARD)
    told = []
    tell = told.append
    assert session.on_change(tell) is tell
    session.configure(lr_g=1e-4)
    keys = {k for keys in told for k in keys}
    assert {"lr_g", "schedule", "status", "figure"} <= keys and "lr_d" not in keys
    told.clear()
    session.step_both()
    assert {"step", "status", "figure"} <= {k for keys in told for k in keys}
    told.clear()
    session.configure(target="digits")  # the new target's recipe: rates, k and batch size
    keys = {k for keys in told for k in keys}
    assert {"target", "lr_g", "lr_d", "d_steps", "batch_size", "status"} <= keys
    told.clear()
    session.reset()
    assert {"model", "step", "figure"} <= {k for keys in told for k in keys}
    told.clear()
    session.start(3)
    assert session.wait(120)
    assert sum(keys == ("step",) for keys in told) >= 2 and session.status_text == "done"


def test_the_engine_checks_a_change_and_a_bad_one_changes_nothing():
    board = gd.dashboard.TrainingDashboard("ring", device="cpu", **BOARD)
    trainer, config = board.trainer, board.trainer.config
    settings = dict(board.settings)
    for changes, pattern in [
        (dict(loss="hinge", lr_g=0), "lr_g"),  # two setters: checked before either applies
        (dict(d_steps=1.5), "d_steps"),
        (dict(batch_size=0), "batch_size"),
        (dict(target="grid", lr_d=-1), "lr_d"),
        (dict(seed=-1, manifold=False), "seed"),
    ]:
        with pytest.raises(ValueError, match=pattern):
            board.configure(**changes)
        assert board.settings == settings and board.trainer.config == config, changes
    board.start(10**7)  # while training runs, a change waits for a step: checked at once
    with pytest.raises(ValueError, match="loss"):
        board.configure(loss="wasserstein")
    board.pause()
    assert trainer.loss_changes == [] and board.settings == settings


def test_the_panel_says_what_the_engine_refuses():
    board = gd.dashboard.TrainingDashboard("ring", scheme="simultaneous", device="cpu", **BOARD)
    board.widget()
    board.controls["d_steps"].value = 2
    assert "simultaneous" in board.status.value and board.controls["d_steps"].value == 1
    assert board.trainer.config["d_steps"] == 1 and board.settings["d_steps"] == 1
