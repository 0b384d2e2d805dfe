"""Tests of the figures of training runs: gandemo.plots.live (the samples panel, the live
training figure and its player), gandemo.plots.runs (loss curves, comparison and sample players,
metric curves) and gandemo.plots.latent (latent grids, lines and maps); the dashboard's use of
them is in test_dashboard.py."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from fakes import LN2, fake_history  # noqa: E402

import gandemo as gd  # noqa: E402

SMALL = dict(
    width=16, depth=1, batch_size=32, metric_every=20, metric_samples=200, device="cpu", threads=1
)
ZOO = dict(width=16, depth=2, batch_size=32, device="cpu", metric_samples=300, metric_every=20)


def test_plot_loss_curves_names_the_binned_jsd_and_draws_the_equilibrium_lines():
    h = fake_history("saturating", [1.3, 1.35], [0.3, 0.2])
    ax_l, ax_q = gd.plots.runs.plot_loss_curves(h, metric_samples=4000)
    assert ax_q.get_title() == "sample quality: binned JSD (60 bins, 4000 samples)"
    levels = {round(float(line.get_ydata()[0]), 6) for line in ax_l.get_lines()[2:]}
    assert levels == {round(2 * LN2, 6), round(-LN2, 6)}
    plt.close("all")


def test_plot_samples_vs_density_histogram_integrates_to_one():
    target = gd.data.GaussianMixture1D(means=(-2.0, 2.0), stds=(0.4, 0.4))
    x = target.sample(2000, gd.utils.torch_generator(0))
    ax = gd.plots.runs.plot_samples_vs_density(x, target, title="t")
    heights = np.array([p.get_height() for p in ax.patches])
    widths = np.array([p.get_width() for p in ax.patches])
    assert heights.size == 60 and abs(np.sum(heights * widths) - 1.0) < 1e-6
    assert ax.get_title() == "t"
    plt.close("all")


def test_training_figure_fits_a_tall_density_and_fixes_the_run_axes():
    target = gd.data.Gaussian1D(2.0, 0.5)
    fig = gd.plots.live.TrainingFigure(target, "non-saturating")
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
    other = gd.plots.live.TrainingFigure(gd.data.ring(), "wasserstein-gp")
    other.fix_limits({})
    other.fix_limits(t.history.model(0).as_dict())
    assert other.ax_m.get_xlim() == (0, 20)


def test_latent_grid_pushes_the_grid_through_the_sampling_generator():
    ring = gd.data.ring()
    t = gd.Trainer(ring, seed=[0, 1], loss=["saturating", "non-saturating"], ema=0.9, **SMALL)
    t.run(10, progress=False)
    g = gd.plots.latent.latent_grid(t, 1, lim=2.0, n=11)
    assert g["x"].shape == (11, 11, 2) and g["nearest"].shape == (11, 11)
    z = torch.tensor([[g["z"][3], g["z"][7]]], dtype=torch.float32)  # row 7, column 3
    with torch.no_grad():
        x = t.generator(1)(z).numpy()[0]
    assert np.allclose(g["x"][7, 3], x, atol=1e-5)
    assert 0.0 <= g["off_mass"] <= 1.0
    with pytest.raises(ValueError, match="2-D mixture"):
        gd.plots.latent.latent_grid(gd.Trainer(gd.data.Gaussian1D(), seed=0, **SMALL))


def test_latent_map_draws_a_panel_pair_per_model():
    ring = gd.data.ring()
    t = gd.Trainer(ring, seed=[0, 1], loss=["saturating", "non-saturating"], **SMALL)
    t.run(30, progress=False)
    fig = gd.plots.latent.latent_map(t, {"a": 0, "b": 1}, n=21, lines=5)
    assert len(fig.axes) == 4
    plt.close(fig)


def _ring_samples(t, steps: int = 40, frames: int = 4):
    return gd.recording.record_samples(t, steps, frames=frames, n=200)


def test_samples_player_has_a_frame_per_recorded_step():
    ring = gd.data.ring()
    t = gd.Trainer(ring, loss=["hinge", "least-squares"], seed=[0, 1], **ZOO)
    frames = _ring_samples(t)
    player = gd.plots.runs.samples_player(ring, frames, [0, 1], ["hinge", "least-squares"])
    assert len(gd.widgets.frame_pngs(player.html)) == 5  # one PNG per frame in the HTML player
    fig, update = gd.plots.runs.samples_figure(ring, frames, [0, 1], ["hinge", "l-s"])
    update(4)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) >= 2 and any("hinge" in s for s in titles), titles
    plt.close(fig)
    with pytest.raises(ValueError, match="equal length"):
        gd.plots.runs.samples_player(ring, frames, [0, 1], ["hinge"])


def test_metric_curves_draw_each_seed_and_the_mean_per_loss():
    t = gd.Trainer(gd.data.ring(), loss=["hinge", "least-squares"], seed=[0, 1], **ZOO)
    t.run(40, progress=False)
    ax = gd.plots.runs.metric_curves(t, "modes")
    assert len(ax.lines) == 2 + 2  # two losses of one seed each: the seed and its mean
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), t.history.metric_step)
    np.testing.assert_array_equal(ax.lines[2].get_ydata(), t.history.metrics["modes"][:, 1])
    with pytest.raises(ValueError, match="recorded metrics"):
        gd.plots.runs.metric_curves(t, "classes")
    three = gd.Trainer(
        gd.data.ring(), loss=["hinge", "hinge", "least-squares"], seed=[0, 1, 0], **ZOO
    )
    three.run(20, progress=False)
    ax = gd.plots.runs.metric_curves(three, "high_quality")
    hinge_mean = [line for line in ax.lines if line.get_label() == "hinge"]
    assert len(ax.lines) == 3 + 2 and len(hinge_mean) == 1  # hinge: two seeds and the mean
    hq = three.history.metrics["high_quality"]
    np.testing.assert_allclose(hinge_mean[0].get_ydata(), hq[:, :2].mean(axis=1))
    plt.close("all")


def test_comparison_player_shows_each_recorded_step_of_each_model():
    ring = gd.data.ring()
    t = gd.Trainer(ring, loss=["saturating", "non-saturating"], seed=[0, 0], **SMALL)
    rec = gd.recording.FrameRecorder(t, [0, 5, 10, 20], models={"sat": 0, "ns": 1})
    rec(t, 20)
    player = gd.plots.runs.comparison_player(ring, rec.frames, title="t")
    assert len(player.values) == 4 and len(gd.widgets.frame_pngs(player.html)) == 4


def test_training_player_has_a_frame_per_recorded_frame():
    target = gd.data.Gaussian1D(2.0, 0.5)
    t = gd.Trainer(target, latent_dim=1, seed=0, **SMALL)
    frames = gd.recording.record_frames(t, 20, frames=2, early=2)
    player = gd.plots.live.training_player(target, "non-saturating", frames)
    assert len(gd.widgets.frame_pngs(player.html)) == len(frames) == 5


DASH = dict(width=16, depth=1, batch_size=32, metric_every=20, metric_samples=200, device="cpu")


@pytest.mark.parametrize("target", [gd.data.ring(), gd.data.Gaussian1D(1.0, 0.5)])
def test_training_figure_draws_snapshots_in_place(target):
    trainer = gd.Trainer(target, seed=0, **DASH)
    fig = gd.plots.live.TrainingFigure(target, "non-saturating")
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
        loss: gd.recording.record_frames(gd.Trainer(ring, loss=loss, seed=1, **DASH), 40, 4)
        for loss in ("saturating", "non-saturating")
    }
    assert [f.snapshot.step for f in runs["saturating"]] == [0, 10, 20, 30, 40]
    player = gd.plots.runs.comparison_player(ring, runs, title="t")
    assert len(player.values) == 5 and "<script" in player.html
    single = gd.plots.live.training_player(ring, "saturating", runs["saturating"])
    assert len(gd.widgets.frame_pngs(single.html)) == 5
    with pytest.raises(ValueError, match="runs"):
        gd.plots.runs.comparison_player(ring, {"a": runs["saturating"]})


@pytest.mark.parametrize("target", [gd.data.ring(), gd.data.Gaussian1D(1.0, 0.5)])
def test_samples_panel_draws_on_any_axis_and_checks_d_values(target):
    trainer = gd.Trainer(target, seed=0, **SMALL)
    fig, (ax, other) = plt.subplots(1, 2)
    panel = gd.plots.live.SamplesPanel(ax, target, grid=21, compact=True)
    full = gd.plots.live.SamplesPanel(other, target, grid=21)
    assert panel.points.shape == gd.metrics.evaluation_points(target, 21).shape
    assert ax.get_title() == "" and ("behind" in other.get_title()) == panel.two_d
    assert len(fig.axes) == (2 if panel.two_d else 4)  # a 1-D panel adds a twin axis for D
    panel.draw(trainer.snapshot(100), trainer.discriminator_on(panel.points))
    with pytest.raises(ValueError, match="d_values"):
        full.draw(trainer.snapshot(100), np.zeros(3))
    plt.close(fig)


def test_generator_field_overlay_draws_and_clears():
    trainer = gd.Trainer(gd.data.ring(), **SMALL)
    trainer.run(20, progress=False)
    fig = gd.plots.live.TrainingFigure(trainer.data, "non-saturating")
    fig.draw(trainer.snapshot(200), trainer.discriminator_on(fig.points))
    x = trainer.sample(16).numpy()
    lines = [np.stack([np.linspace(-1, 1, 5), np.zeros(5)], 1)] * 3
    fig.draw_generator_field(lines, (x, trainer.generator_gradient(x)))
    assert len(fig._manifold.get_segments()) == 3 and fig._arrows.N == 16
    assert fig.png()[:8] == b"\x89PNG\r\n\x1a\n"
    fig.draw_generator_field(None, None)
    assert not fig._manifold.get_segments() and fig._arrows is None
    flat = gd.plots.live.TrainingFigure(gd.data.Gaussian1D(0.0, 1.0), "hinge")
    with pytest.raises(ValueError, match="2-D"):
        flat.draw_generator_field()


def test_latent_lines_are_grid_lines_and_their_images_under_the_sampling_generator():
    t = gd.Trainer(gd.data.ring(), seed=[0, 1], ema=0.9, **SMALL)
    t.run(5, progress=False)
    paths, images = gd.plots.latent.latent_lines(t, 1, lim=2.0, lines=3, n=5)
    assert len(paths) == 6 and images.shape == (6, 5, 2)
    assert np.allclose(paths[0][:, 0], -2.0) and np.allclose(paths[1][:, 1], -2.0)
    assert np.allclose(paths[-1][:, 1], 2.0) and np.allclose(paths[2][:, 1], np.linspace(-2, 2, 5))
    with torch.no_grad():
        x = t.generator(1)(torch.tensor(paths[3], dtype=torch.float32)).numpy()
    assert np.allclose(images[3], x, atol=1e-6)
    one = gd.Trainer(gd.data.ring(), seed=0, latent_dim=1, **SMALL)
    with pytest.raises(ValueError, match="2 dimensions or more"):
        gd.plots.latent.latent_lines(one)
