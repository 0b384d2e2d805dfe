"""Tests of chapter 6's recording and pictures in gandemo.plots_train (the players and the live
figure are also exercised by test_dashboard.py)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import gandemo as gd  # noqa: E402

SMALL = dict(
    width=16, depth=1, batch_size=32, metric_every=20, metric_samples=200, device="cpu", threads=1
)


def test_frame_steps_are_even_plus_log_spaced_early_steps():
    assert gd.recording.frame_steps(40, 4) == [0, 10, 20, 30, 40]
    early = [0, 5, 22, 106]  # log-spaced from 1 to the first even step, 500
    assert gd.recording.frame_steps(3000, 6, early=3) == early + list(range(500, 3001, 500))
    assert gd.recording.frame_steps(40, 4, start=100) == [100, 110, 120, 130, 140]
    # early steps that round to the same integer count once
    assert gd.recording.frame_steps(8, 4, early=5) == [0, 1, 2, 4, 6, 8]
    with pytest.raises(ValueError, match="frames"):
        gd.recording.frame_steps(10, 0)


def test_recorder_keeps_due_steps_of_chosen_models_with_evaluation_metrics():
    ring = gd.data.ring()
    t = gd.Trainer(ring, loss=["saturating", "non-saturating"], seed=[0, 0], **SMALL)
    rec = gd.recording.FrameRecorder(t, [0, 5, 20, 40], models={"sat": 0, "ns": 1})
    rec(t, 30)
    rec(t, 10)  # a second call continues; step 30 is not due, 40 is
    for label in ("sat", "ns"):
        assert [f.snapshot.step for f in rec.frames[label]] == [0, 5, 20, 40]
        assert all(f.p_g is None for f in rec.frames[label])
    # a frame at a metric step shows exactly the metric curve's value there
    h = t.history
    i = list(h.metric_step).index(20)
    for label, e in (("sat", 0), ("ns", 1)):
        snap = rec.frames[label][2].snapshot
        assert snap.metrics["high_quality"] == pytest.approx(h.metrics["high_quality"][i, e])
    player = gd.plots.training.comparison_player(ring, rec.frames, title="t")
    assert len(player.values) == 4


def test_record_on_a_1d_target_carries_the_generator_density():
    target = gd.data.Gaussian1D(2.0, 0.5)
    t = gd.Trainer(target, latent_dim=1, seed=0, **SMALL)
    frames = gd.recording.record_frames(t, 20, frames=2, early=2)
    assert [f.snapshot.step for f in frames] == [0, 2, 5, 10, 20]
    points = gd.plots.training.TrainingFigure(target, "non-saturating").points
    assert all(f.p_g.shape == points.shape for f in frames)
    player = gd.plots.training.training_player(target, "non-saturating", frames)
    assert len(gd.widgets.frame_pngs(player.html)) == 5


def test_generator_density_integrates_to_the_mass_inside_the_points():
    target = gd.data.Gaussian1D(2.0, 0.5)
    t = gd.Trainer(target, latent_dim=1, seed=0, **SMALL)
    x = np.linspace(-3, 5, 801)
    p = gd.metrics.generator_density(t, x, n=50_000)
    s = t.sample(50_000, seed=0).numpy().ravel()
    inside = np.mean((s > x[0]) & (s < x[-1]))
    assert p.min() >= 0 and np.sum(p) * (x[1] - x[0]) == pytest.approx(inside, abs=0.01)
    with pytest.raises(ValueError, match="evenly"):
        gd.metrics.generator_density(t, x**3)
    ring = gd.Trainer(gd.data.ring(), seed=0, **SMALL)
    with pytest.raises(ValueError, match="1-D"):
        gd.metrics.generator_density(ring, x)


def test_discriminator_lag_of_an_untrained_discriminator():
    # the generator starts near 0, far from N(4, 0.5^2): D* is 0 or 1 where the mass is, an
    # untrained D is near 1/2, so the lag is near 1/2 and the relative lag near 1
    target = gd.data.Gaussian1D(4.0, 0.5)
    t = gd.Trainer(target, latent_dim=1, seed=0, **SMALL)
    lag = gd.metrics.discriminator_lag(t, n=20_000)
    rel = gd.metrics.discriminator_lag(t, n=20_000, relative=True)
    assert 0.3 < lag < 0.7 and 0.7 < rel < 1.3
    with pytest.raises(ValueError, match="1-D"):
        gd.metrics.discriminator_lag(gd.Trainer(gd.data.ring(), seed=0, **SMALL))


def test_training_figure_fits_a_tall_density_and_fixes_the_run_axes():
    target = gd.data.Gaussian1D(2.0, 0.5)
    fig = gd.plots.training.TrainingFigure(target, "non-saturating")
    t = gd.Trainer(target, latent_dim=1, seed=0, **SMALL)
    t.run(20, progress=False)
    tall = np.zeros_like(fig.points)
    tall[10] = 50.0
    fig.fix_limits(t.history.model(0).as_dict())
    fig.draw(t.snapshot(100), t.discriminator_on(fig.points), p_g=tall)
    assert fig.ax_s.get_ylim()[1] >= 50.0
    assert fig.ax_l.get_xlim() == (0, 20) and fig.ax_g.get_xlim() == (0, 20)
    with pytest.raises(ValueError, match="p_g"):
        fig.draw(t.snapshot(100), t.discriminator_on(fig.points), p_g=tall[:-1])
    # an empty history, and a loss without equilibrium values, leave sensible axes
    other = gd.plots.training.TrainingFigure(gd.data.ring(), "wasserstein-gp")
    other.fix_limits({})
    other.fix_limits(t.history.model(0).as_dict())
    assert other.ax_m.get_xlim() == (0, 20)


def test_latent_grid_pushes_the_grid_through_the_sampling_generator():
    ring = gd.data.ring()
    t = gd.Trainer(ring, seed=[0, 1], loss=["saturating", "non-saturating"], ema=0.9, **SMALL)
    t.run(10, progress=False)
    g = gd.plots.training.latent_grid(t, 1, lim=2.0, n=11)
    assert g["x"].shape == (11, 11, 2) and g["nearest"].shape == (11, 11)
    z = torch.tensor([[g["z"][3], g["z"][7]]], dtype=torch.float32)  # row 7, column 3
    with torch.no_grad():
        x = t.generator(1)(z).numpy()[0]
    assert np.allclose(g["x"][7, 3], x, atol=1e-5)
    assert 0.0 <= g["off_mass"] <= 1.0
    with pytest.raises(ValueError, match="2-D mixture"):
        gd.plots.training.latent_grid(gd.Trainer(gd.data.Gaussian1D(), seed=0, **SMALL))


def test_latent_map_and_saturation_curves_draw_one_panel_pair():
    ring = gd.data.ring()
    t = gd.Trainer(ring, seed=[0, 1], loss=["saturating", "non-saturating"], **SMALL)
    t.run(30, progress=False)
    fig = gd.plots.training.latent_map(t, {"a": 0, "b": 1}, n=21, lines=5)
    assert len(fig.axes) == 4
    plt.close(fig)
    fig = gd.plots.saturation.saturation_curves(t, marks=[15])
    ax_d, ax_g = fig.axes
    assert ax_d.get_yscale() == "log" and ax_g.get_yscale() == "log"
    # one line per model in each panel (plus the reference lines)
    assert len([ln for ln in ax_g.get_lines() if len(ln.get_xdata()) > 2]) == 2
    plt.close(fig)
