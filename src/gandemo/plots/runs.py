r"""Figures of finished training runs (:class:`gandemo.training.Trainer`, one model or many):
loss and density curves of a 1-D run, runs side by side in frame players, sample players and
metric curves over seeds and losses (chapters 6 to 9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import widgets
from ..losses import LOSSES
from ..recording import SampleFrame
from .live import SamplesPanel, metric_text
from .style import COLORS, LOSS_COLORS, get_ax, plural

__all__ = [
    "comparison_player",
    "metric_curves",
    "plot_loss_curves",
    "plot_samples_vs_density",
    "samples_figure",
    "samples_player",
]


def plot_loss_curves(history, axes=None, smooth: int = 1, metric_samples=None, bins: int = 60):
    """Losses with their equilibrium values (left) beside the JSD to the data (right).

    Introduced in :doc:`/chapters/06_total_loss`.

    Args:
        history: one model's records, a :class:`gandemo.training.ModelHistory` of a 1-D target
            (its metric ``"jsd"``, drawn at its own steps ``metric_step``).
        smooth: window of a running mean over records (1: none).
        metric_samples: generated examples per JSD record, for the title (the trainer's
            ``metric_samples``; None leaves the count out).
        bins: bins of the histogram JSD, for the title (the default of
            :func:`gandemo.metrics.jsd_to_density`, which the trainer uses).
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10.0, 3.6))
    ax_l, ax_q = axes
    kernel = np.ones(smooth) / smooth

    def sm(v):
        return np.convolve(v, kernel, mode="valid") if smooth > 1 else v

    steps = history.step[smooth - 1 :] if smooth > 1 else history.step
    spec = LOSSES[history.loss]
    g_ref = spec.g_equilibrium
    ax_l.plot(steps, sm(history.d_loss), color=COLORS["disc"], label="D loss $-\\hat V$")
    ax_l.plot(
        steps,
        sm(history.g_loss),
        color=LOSS_COLORS[history.loss],
        label=f"G loss ({history.loss})",
    )
    ax_l.axhline(
        spec.d_equilibrium,
        color=COLORS["disc"],
        ls=":",
        lw=1.2,
        label=r"$2\ln 2$ (D at equilibrium)",
    )
    ax_l.axhline(
        g_ref,
        color=LOSS_COLORS[history.loss],
        ls=":",
        lw=1.2,
        label=f"{'' if g_ref > 0 else '-'}$\\ln 2$ (G at equilibrium)",
    )
    ax_l.set_xlabel("training step")
    ax_l.set_ylabel("loss")
    ax_l.set_title(f"losses, {history.loss} generator")
    ax_l.legend(loc="best", fontsize=8)
    ax_q.plot(history.metric_step, history.metrics["jsd"], color=COLORS["gen"])
    ax_q.set_ylim(0, None)
    ax_q.set_xlabel("training step")
    ax_q.set_ylabel("JSD (nats)")
    what = f"{bins} bins" + (f", {metric_samples} samples" if metric_samples else "")
    ax_q.set_title(f"sample quality: binned JSD ({what})")
    return axes


def plot_samples_vs_density(samples, density, ax=None, x_range=None, title=None):
    """Histogram of generated 1-D samples over the target density.

    Introduced in :doc:`/chapters/06_total_loss`.
    """
    ax = get_ax(ax)
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().cpu().numpy()
    samples = np.asarray(samples, dtype=float).reshape(-1)
    if x_range is None:
        lo, hi = density.support(0.999)
        pad = 0.25 * (hi - lo)
        x_range = (lo - pad, hi + pad)
    xs = np.linspace(*x_range, 400)
    ax.fill_between(
        xs, density.pdf(xs), color=COLORS["data"], alpha=0.3, label=r"$p_\mathrm{data}$"
    )
    ax.hist(
        samples,
        bins=np.linspace(*x_range, 61),
        density=True,
        color=COLORS["gen"],
        alpha=0.5,
        label="generated",
    )
    ax.set_xlim(*x_range)
    ax.set_xlabel("$x$")
    ax.set_ylabel("density")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left")
    return ax


def comparison_player(data, runs: dict, title: str = ""):
    """Runs side by side: one :class:`~gandemo.plots.live.SamplesPanel` per run (with :math:`D`
    behind) and their quality curves in one panel, over the recorded frames (same count for
    every run).

    Introduced in :doc:`/chapters/07_train_live`.

    Args:
        data: the common target.
        runs: maps a label to a list of :class:`gandemo.recording.Frame` (e.g. one per loss,
            same seed).
        title: a prefix for the figure's title.
    """
    labels = list(runs)
    n = {len(f) for f in runs.values()}
    if len(labels) < 2 or len(n) != 1:
        raise ValueError("runs needs at least two runs with the same number of frames")
    n_frames = n.pop()
    fig = Figure(figsize=(3.3 * (len(labels) + 1), 3.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(labels) + 1)
    panels = [SamplesPanel(ax, data, compact=True) for ax in axes[:-1]]
    two_d = panels[0].two_d
    ax_m = axes[-1]
    colors = [
        LOSS_COLORS["saturating"],
        LOSS_COLORS["non-saturating"],
        COLORS["gen"],
        COLORS["data"],
    ]
    key = "modes" if two_d else "jsd"
    curves = {}
    for label, color in zip(labels, colors, strict=False):
        (curves[label],) = ax_m.plot([], [], "o-", ms=3, color=color, label=label)
    last = runs[labels[0]][-1].snapshot.history
    ax_m.set_xlim(0, max(1, int(last["metric_step"][-1]) if len(last["metric_step"]) else 1))
    if two_d:
        ax_m.set_ylim(-0.3, data.num_modes + 0.5)
        ax_m.set_ylabel(f"modes covered (of {data.num_modes})")
    else:
        ax_m.set_ylim(0, math.log(2) * 1.02)
        ax_m.set_ylabel("JSD to the data (nats)")
    ax_m.set_xlabel("step")
    ax_m.legend(loc="best", fontsize=8)
    suptitle = fig.suptitle(title, fontsize=10)

    def update(i: int) -> None:
        for (label, frames), panel, ax in zip(runs.items(), panels, axes, strict=False):
            f = frames[i]
            panel.draw(f.snapshot, f.d_values, f.p_g)
            ax.set_title(f"{label}{metric_text(f.snapshot)}", fontsize=9)
            h = f.snapshot.history
            if key in h and len(h["metric_step"]):
                curves[label].set_data(h["metric_step"], h[key])
            else:
                curves[label].set_data([], [])
        step = runs[labels[0]][i].snapshot.step
        suptitle.set_text(f"{title} step {step}")

    return widgets.explore(fig, update, list(range(n_frames)), description="frame", dpi=80)


def _scatter_panel(ax, data, lim: float):
    """Real data (grey) and generated samples on one axis; returns the updatable artist."""
    rng = np.random.default_rng(0)
    centers = np.asarray(data.centers, dtype=float)
    real = centers[rng.integers(len(centers), size=1000)] + data.std * rng.normal(size=(1000, 2))
    ax.scatter(real[:, 0], real[:, 1], s=3, color=COLORS["data"], alpha=0.5, lw=0)
    ax.scatter(centers[:, 0], centers[:, 1], s=40, marker="+", color="k", lw=0.8)
    gen = ax.scatter([], [], s=3, color=COLORS["gen"], alpha=0.5, lw=0)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return gen


def samples_player(
    data,
    frames: Sequence[SampleFrame],
    models: Sequence[int],
    labels: Sequence[str],
    title: str = "",
    *,
    losses: Sequence[str] | None = None,
):
    """Generated samples of the chosen models over the recorded frames, side by side, with
    their modes-covered curves (a frame player in the HTML book, a slider in JupyterLab);
    ``losses`` as in :func:`samples_figure`.

    Introduced in :doc:`/chapters/08_loss_zoo`.
    """
    if len(frames) < 2:
        raise ValueError("frames needs at least two recorded moments")
    fig, update = samples_figure(data, frames, models, labels, title, losses=losses)
    return widgets.explore(fig, update, list(range(len(frames))), description="frame", dpi=72)


def samples_figure(data, frames, models, labels, title="", max_step=None, *, losses=None):
    """A figure of the chosen models' samples and modes-covered curves, and ``update(i)`` that
    shows frame ``i`` of ``frames`` (which may grow after the call).

    Introduced in :doc:`/chapters/08_loss_zoo`.

    ``losses`` names each model's loss, which gives its curve the loss's colour
    (:data:`gandemo.plots.style.LOSS_COLORS`); without it every curve is drawn in the
    generated-samples colour.
    """
    models, labels = list(models), list(labels)
    if len(models) != len(labels) or not models:
        raise ValueError("models and labels must be non-empty and of equal length")
    if losses is None:
        colors = [COLORS["gen"]] * len(models)
    else:
        losses = list(losses)
        if len(losses) != len(models) or any(name not in LOSS_COLORS for name in losses):
            raise ValueError(
                f"losses must name one loss of {sorted(LOSS_COLORS)} per model; got {losses!r}"
            )
        colors = [LOSS_COLORS[name] for name in losses]
    k = len(models)
    cols = k + 1 if k < 3 else math.ceil((k + 1) / 2)
    rows = math.ceil((k + 1) / cols)
    fig = Figure(figsize=(3.2 * cols, 3.3 * rows + 0.3))
    FigureCanvasAgg(fig)
    axes = list(np.ravel(fig.subplots(rows, cols, squeeze=False)))
    for ax in axes[k + 1 :]:
        ax.set_visible(False)
    axes = axes[: k + 1]
    lim = float(np.abs(np.asarray(data.centers)).max()) * 1.35 + 6 * data.std
    points = [_scatter_panel(ax, data, lim) for ax in axes[:k]]
    ax_m = axes[-1]
    curves = []
    for label, e, color in zip(labels, models, colors, strict=True):
        (ln,) = ax_m.plot([], [], "o-", ms=3, lw=1.2, color=color, label=label)
        curves.append((ln, e))
    ax_m.set_xlim(0, max_step or max(f.step for f in frames) or 1)
    ax_m.set_ylim(-0.3, data.num_modes + 0.5)
    ax_m.set_xlabel("step")
    ax_m.set_ylabel(f"modes covered (of {data.num_modes})")
    ax_m.legend(loc="lower right", fontsize=7)
    sup = fig.suptitle(title, fontsize=10)

    def update(i: int) -> None:
        f = frames[i]
        for ax, pts, label, e in zip(axes, points, labels, models, strict=False):
            pts.set_offsets(f.samples[e])
            modes, hq = f.metrics["modes"][e], f.metrics["high_quality"][e]
            ax.set_title(f"{label}: {plural(modes, 'mode')}, {hq:.0%} HQ", fontsize=9)
        steps = [fr.step for fr in frames[: i + 1]]
        for ln, e in curves:
            ln.set_data(steps, [fr.metrics["modes"][e] for fr in frames[: i + 1]])
        sup.set_text(f"{title} step {f.step}")

    return fig, update


def metric_curves(trainer, key: str = "modes", ax=None, title: str = ""):
    """One metric over training for every loss of a :class:`gandemo.training.Trainer`: each
    seed thin, the mean over seeds thick. Returns the axis.

    Introduced in :doc:`/chapters/08_loss_zoo`.
    """
    h = trainer.history
    metrics = h.metrics  # name -> (metric records, E)
    if key not in metrics:
        raise ValueError(f"key must be one of the recorded metrics {sorted(metrics)}")
    if ax is None:
        fig = Figure(figsize=(6, 3.4))
        FigureCanvasAgg(fig)
        ax = fig.subplots()
    steps, values = h.metric_step, metrics[key]
    for name, idx in h.by_loss().items():
        color = LOSS_COLORS.get(name, COLORS["gen"])
        ax.plot(steps, values[:, idx], color=color, lw=0.6, alpha=0.35)
        ax.plot(steps, np.nanmean(values[:, idx], axis=1), color=color, lw=2, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(key.replace("_", " "))
    ax.set_title(title, fontsize=10)
    return ax
