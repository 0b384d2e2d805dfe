r"""The picture of a training run, shared by the live dashboard and the book's frame players.

:class:`TrainingFigure` draws one :class:`gandemo.training.Snapshot` into a fixed four-panel figure
and updates its artists in place, so redrawing costs one render and no new figure:

* samples: real against generated, over the discriminator's output (a heat map of :math:`D(x)`
  for a 2-D target; for a 1-D target the curves of :math:`D(x)` and of the optimal
  :math:`D^*(x) = p_\text{data} / (p_\text{data} + \hat p_g)`, with :math:`\hat p_g` from
  :func:`generator_density` in recorded frames and a kernel density estimate of the snapshot's
  samples otherwise);
* the two losses, with their equilibrium values (:math:`D = 1/2` everywhere) as dotted lines;
* the norm of the generator's gradient;
* the quality metrics (modes covered and high-quality fraction for a 2-D mixture, JSD to the
  data for a 1-D density, classes covered for the digits).

For an image target (the digits) the samples panel shows a tiling of generated images instead.

Recording (:class:`FrameRecorder`, :func:`record`) keeps :class:`Frame` objects at chosen steps
(:func:`frame_steps`: evenly spaced, optionally with log-spaced early ones) for the frame players
:func:`training_player` and :func:`comparison_player`. The frames' quality metrics are measured
on the trainer's fixed evaluation codes, the same samples as the metric curves.

Chapter 6's other pictures: :func:`generator_density` and :func:`discriminator_lag` (how far the
learned :math:`D` is from :math:`D^*` on a 1-D target), :func:`saturation_curves` (mean
:math:`D(G(z))` and the generator's gradient norm of many models) and :func:`latent_map` (the
latent plane pushed through the generator, GAN Lab's manifold view).
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image
from scipy import stats

from . import losses, widgets
from .plots import COLORS
from .training import Callback, target_metrics
from .utils import check_nonnegative_int, check_positive_int

__all__ = [
    "Frame",
    "FrameRecorder",
    "TrainingFigure",
    "comparison_player",
    "discriminator_lag",
    "frame_steps",
    "generator_density",
    "latent_grid",
    "latent_map",
    "metric_text",
    "record",
    "saturation_curves",
    "training_player",
]


def _is_2d(data) -> bool:
    return hasattr(data, "centers")


def _image_side(data) -> int:
    """The side of the square images of an image target (e.g. 8 for the digits), else 0."""
    dim = getattr(data, "dim", None)
    if isinstance(dim, int) and dim > 2 and math.isqrt(dim) ** 2 == dim:
        return math.isqrt(dim)
    return 0


class TrainingFigure:
    """A four-panel figure of a GAN training run on a 1-D or 2-D target of :mod:`gandemo.data`.

    Args:
        data: the target (a 1-D density with ``pdf`` and ``support``, or a 2-D mixture with
            ``centers`` and ``std``).
        loss: the generator loss name (selects the equilibrium line of the generator loss).
        title: a title above the figure.
        grid: points per axis where the discriminator is drawn.
        figsize: the figure size in inches.
    """

    def __init__(self, data, loss: str, *, title: str = "", grid: int = 101, figsize=(10, 6.6)):
        self.data, self.loss, self.two_d = data, loss, _is_2d(data)
        self.side = _image_side(data)
        # A figure outside pyplot with its own Agg canvas: never shown twice by a notebook
        # backend, and rendered straight to a buffer by png().
        self.fig = Figure(figsize=figsize)
        FigureCanvasAgg(self.fig)
        self._layout_frozen = False
        gs = self.fig.add_gridspec(2, 3, width_ratios=(1.25, 1, 1))
        self.ax_s = self.fig.add_subplot(gs[:, 0])
        self.ax_l = self.fig.add_subplot(gs[0, 1:])
        self.ax_g = self.fig.add_subplot(gs[1, 1])
        self.ax_m = self.fig.add_subplot(gs[1, 2])
        self.suptitle = self.fig.suptitle(title, fontsize=11)
        if self.side:
            self._setup_images()
        elif self.two_d:
            self._setup_2d(grid)
        else:
            self._setup_1d(grid)
        self._setup_curves()
        # Text is most of a redraw's cost: a few ticks per axis keep live updates cheap.
        for ax in self.fig.axes:
            ax.locator_params(axis="x", nbins=4)
            if ax.get_yscale() == "linear":
                ax.locator_params(axis="y", nbins=4)
        if self.two_d:
            self.ax_m.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))

    # -- set-up -----------------------------------------------------------------------------

    def _setup_2d(self, n: int) -> None:
        c = self.data.centers.numpy()
        pad = max(0.5, 0.25 * float(np.ptp(c)))
        lo, hi = float(c.min()) - pad, float(c.max()) + pad
        xs = np.linspace(lo, hi, n)
        xx, yy = np.meshgrid(xs, xs)
        self._points = np.stack([xx.ravel(), yy.ravel()], axis=1)
        self._n = n
        ax = self.ax_s
        self.im = ax.imshow(
            np.full((n, n), 0.5),
            extent=(lo, hi, lo, hi),
            origin="lower",
            cmap="PiYG",
            vmin=0,
            vmax=1,
            alpha=0.55,
        )
        ax.set_title("background: D(x), green = 'real', pink = 'generated'", fontsize=9)
        self.sc_real = ax.scatter([], [], s=3, color=COLORS["data"], label="real")
        self.sc_fake = ax.scatter([], [], s=3, color=COLORS["gen"], label="generated")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.grid(False)
        ax.legend(loc="upper right", markerscale=4, fontsize=8)

    TILES = 6  # images per row and column of the samples panel

    def _setup_images(self) -> None:
        k, side = self.TILES, self.side
        self._points = np.zeros((0, side * side))
        self.im = self.ax_s.imshow(np.zeros((k * side, k * side)), cmap="gray_r", vmin=-1, vmax=1)
        self.ax_s.set_axis_off()
        self.ax_s.set_title(f"{k * k} generated images", fontsize=9)

    def _setup_1d(self, n: int) -> None:
        x = _grid_1d(self.data, n)
        self._points = x
        ax = self.ax_s
        self._p_data = self.data.pdf(x)
        ax.fill_between(
            x, self._p_data, color=COLORS["data"], alpha=0.25, label=r"$p_\mathrm{data}$"
        )
        (self.ln_pg,) = ax.plot(x, np.zeros_like(x), color=COLORS["gen"], label=r"$\hat p_g$")
        self._density_top = 1.6 * float(self._p_data.max())
        ax.set_ylim(0, self._density_top)
        ax.set_xlim(x[0], x[-1])
        ax.set_xlabel("$x$")
        ax.set_ylabel("density")
        self.ax_d = ax.twinx()
        (self.ln_d,) = self.ax_d.plot(
            x, np.full_like(x, 0.5), color=COLORS["disc"], lw=2, label="$D(x)$"
        )
        (self.ln_dstar,) = self.ax_d.plot(
            x, np.full_like(x, 0.5), color=COLORS["disc"], ls="--", lw=1.2, label=r"$D^*(x)$"
        )
        self.ax_d.axhline(0.5, color=COLORS["ref"], lw=0.8, ls=":")
        # a little room above 1 and below 0, so that D* = 1 or 0 is not hidden by the frame
        self.ax_d.set_ylim(-0.03, 1.05)
        self.ax_d.set_ylabel("$D(x)$")
        self.ax_d.grid(False)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = self.ax_d.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8)

    def _setup_curves(self) -> None:
        ax = self.ax_l
        (self.ln_dl,) = ax.plot([], [], color=COLORS["disc"], label="D loss")
        g_color = COLORS["sat"] if self.loss == "saturating" else COLORS["ns"]
        (self.ln_gl,) = ax.plot([], [], color=g_color, label=f"G loss ({self.loss})")
        spec = losses.get_loss(self.loss)
        for eq, color, who in (
            (spec.d_equilibrium, COLORS["disc"], "D"),
            (spec.g_equilibrium, g_color, "G"),
        ):
            if eq is not None:
                ax.axhline(eq, color=color, ls=":", lw=1, label=f"{who} at equilibrium ({eq:.3g})")
        ax.set_title("losses (dotted: values at the equilibrium)")
        ax.legend(loc="center right", fontsize=7, ncol=2, framealpha=0.8, frameon=True)
        (self.ln_gn,) = self.ax_g.plot([], [], color=COLORS["ref"])
        self.ax_g.set_yscale("log")
        self.ax_g.set_title("generator gradient norm")
        self.ax_g.set_xlabel("step")
        ax = self.ax_m
        ax.set_xlabel("step")
        if self.side:
            (self.ln_modes,) = ax.plot([], [], "o-", ms=3, color=COLORS["gen"])
            ax.set_ylim(-0.3, 10.5)
            ax.set_ylabel("classes covered (of 10)")
            ax.set_title("classes covered (classifier)")
        elif self.two_d:
            k = self.data.num_modes
            (self.ln_modes,) = ax.plot([], [], "o-", ms=3, color=COLORS["gen"])
            ax.set_ylim(-0.3, k + 0.5)
            ax.set_ylabel(f"modes covered (of {k})")
            ax.set_title("modes covered (2500 samples)")
        else:
            (self.ln_jsd,) = ax.plot([], [], "o-", ms=3, color=COLORS["gen"])
            ax.set_ylim(0, math.log(2) * 1.02)
            ax.set_ylabel("JSD (nats)")
            ax.set_title(r"JSD($p_\mathrm{data}$, $p_g$)")

    @staticmethod
    def sample_panel(ax, data, grid: int = 101):
        """Set up a compact samples-over-D panel on ``ax``; return ``draw(snapshot, d_values)``
        (``d_values`` at the same points as a :class:`TrainingFigure` with ``grid`` points)."""
        helper = TrainingFigure.__new__(TrainingFigure)
        helper.data, helper.two_d, helper.fig, helper.ax_s = data, _is_2d(data), ax.figure, ax
        helper.side = _image_side(data)
        if helper.side:
            helper._setup_images()
        elif helper.two_d:
            helper._setup_2d(grid)
            ax.set_title("")
        else:
            helper._setup_1d(grid)

        def draw(snapshot, d_values, p_g=None) -> None:
            helper._draw_samples(snapshot, np.asarray(d_values, dtype=float), p_g)

        draw.points = helper._points
        return draw

    # -- drawing ----------------------------------------------------------------------------

    @property
    def points(self) -> np.ndarray:
        """Where :meth:`draw` wants the discriminator's output ``d_values``."""
        return self._points

    def fix_limits(self, history: dict) -> None:
        """Fix the curve panels' axes to a whole run's ``history`` (e.g. a last frame's
        ``snapshot.history``), so that a frame player's axes do not move between frames and the
        first frames, with few or no records, are drawn on the scale of the whole run."""
        steps = np.asarray(history.get("step", []), dtype=float)
        m_steps = np.asarray(history.get("metric_step", []), dtype=float)
        end = max([1.0, *(float(a[-1]) for a in (steps, m_steps) if len(a))])
        for ax in (self.ax_l, self.ax_g, self.ax_m):
            ax.set_xlim(0, end)
        if len(steps):
            lv = np.concatenate([np.asarray(history[k], dtype=float) for k in ("d_loss", "g_loss")])
            lv = lv[np.isfinite(lv)]
            spec = losses.get_loss(self.loss)
            eq = [e for e in (spec.d_equilibrium, spec.g_equilibrium) if e is not None]
            lo, hi = min([lv.min(initial=np.inf), *eq]), max([lv.max(initial=-np.inf), *eq])
            if np.isfinite(lo) and np.isfinite(hi):
                pad = 0.05 * max(hi - lo, 1e-3)
                self.ax_l.set_ylim(lo - pad, hi + pad)
            g = np.asarray(history["g_grad_norm"], dtype=float)
            g = g[np.isfinite(g) & (g > 0)]
            if len(g):
                self.ax_g.set_ylim(g.min() / 1.5, g.max() * 1.5)
        self._fixed = True

    def draw(
        self,
        snapshot,
        d_values: np.ndarray,
        title: str | None = None,
        p_g: np.ndarray | None = None,
    ) -> None:
        r"""Show ``snapshot`` (a :class:`gandemo.training.Snapshot`), with ``d_values`` =
        :math:`D` at :attr:`points`.

        For a 1-D target, ``p_g`` (the generator's density at :attr:`points`, e.g. from
        :func:`generator_density`) replaces the kernel density estimate of the snapshot's
        samples in :math:`\hat p_g` and :math:`D^*`.
        """
        d_values = np.asarray(d_values, dtype=float)
        if d_values.shape != (len(self._points),):
            raise ValueError(
                f"d_values must have shape ({len(self._points)},); got {d_values.shape}"
            )
        self._draw_samples(snapshot, d_values, p_g)
        fixed = getattr(self, "_fixed", False)
        h = snapshot.history
        steps = h.get("step", np.array([]))
        if len(steps):
            self.ln_dl.set_data(steps, h["d_loss"])
            self.ln_gl.set_data(steps, h["g_loss"])
            grad = np.asarray(h["g_grad_norm"], dtype=float)
            self.ln_gn.set_data(steps, np.where(grad > 0, grad, np.nan))
            if not fixed:
                for ax in (self.ax_l, self.ax_g):
                    ax.relim()
                    ax.autoscale_view()
                self.ax_l.set_xlim(0, max(1, steps[-1]))
                self.ax_g.set_xlim(0, max(1, steps[-1]))
        else:
            for ln in (self.ln_dl, self.ln_gl, self.ln_gn):
                ln.set_data([], [])
        m_steps = h.get("metric_step", np.array([]))
        if len(m_steps):
            if self.side:
                self.ln_modes.set_data(m_steps, h["classes"])
            elif self.two_d:
                self.ln_modes.set_data(m_steps, h["modes"])
            else:
                self.ln_jsd.set_data(m_steps, h["jsd"])
            if not fixed:
                self.ax_m.set_xlim(0, max(1, m_steps[-1], steps[-1] if len(steps) else 1))
        if title is not None:
            self.suptitle.set_text(title)

    def _draw_samples(self, snapshot, d_values: np.ndarray, p_g=None) -> None:
        if self.side:
            k, side = self.TILES, self.side
            fake = np.zeros((k * k, side * side))
            got = np.asarray(snapshot.fake, dtype=float)[: k * k]
            fake[: len(got)] = got
            tiles = fake.reshape(k, k, side, side).transpose(0, 2, 1, 3)
            self.im.set_data(tiles.reshape(k * side, k * side))
            return
        if self.two_d:
            self.im.set_data(d_values.reshape(self._n, self._n))
            self.sc_real.set_offsets(snapshot.real)
            self.sc_fake.set_offsets(snapshot.fake)
            return
        self.ln_d.set_ydata(d_values)
        if p_g is None:
            fake = np.asarray(snapshot.fake, dtype=float)
            if np.ptp(fake) > 0:
                p_g = stats.gaussian_kde(fake)(self._points)
            else:
                p_g = np.zeros_like(self._points)
        p_g = np.asarray(p_g, dtype=float)
        if p_g.shape != self._points.shape:
            raise ValueError(f"p_g must have shape {self._points.shape}; got {p_g.shape}")
        self.ln_pg.set_ydata(p_g)
        # the density axis grows with a narrow p_g (never clipped) and shrinks back with it
        self.ax_s.set_ylim(0, max(self._density_top, 1.1 * float(p_g.max(initial=0.0))))
        total = self._p_data + p_g
        # where both densities are negligible the ratio is noise of the density estimate
        shown = total > 0.02 * float(total.max())
        with np.errstate(invalid="ignore", divide="ignore"):
            d_star = np.where(shown, self._p_data / total, np.nan)
        self.ln_dstar.set_ydata(d_star)

    def png(self, dpi: int = 72) -> bytes:
        """The figure as PNG bytes: one Agg render, fast PNG compression.

        The first call lays the figure out; later calls keep that layout (recomputing it on
        every redraw would double the cost of a live update).
        """
        self.fig.set_dpi(dpi)
        self.fig.canvas.draw()
        if not self._layout_frozen:
            self.fig.set_layout_engine("none")
            self._layout_frozen = True
        canvas = self.fig.canvas
        image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
        buf = io.BytesIO()
        image.save(buf, format="png", compress_level=1)
        return buf.getvalue()


@dataclass
class Frame:
    """One recorded moment of a run: the snapshot, :math:`D` at the figure's points and, for a
    1-D target, the generator's density at those points (:func:`generator_density`)."""

    snapshot: object
    d_values: np.ndarray
    p_g: np.ndarray | None = None


def frame_steps(steps: int, frames: int, early: int = 0, start: int = 0) -> list[int]:
    """The steps at which to keep frames of a run from ``start`` to ``start + steps``.

    ``start``, then ``frames`` evenly spaced steps up to the end and, before the first of those,
    ``early`` log-spaced steps (a run changes fastest at its start; steps that round to the same
    integer count once).

    Example:
        >>> frame_steps(3000, 6, early=3)
        [0, 5, 22, 106, 500, 1000, 1500, 2000, 2500, 3000]
    """
    steps = check_positive_int(steps, "steps")
    frames = check_positive_int(frames, "frames")
    early = check_nonnegative_int(early, "early")
    start = check_nonnegative_int(start, "start")
    even = [round(steps * i / frames) for i in range(frames + 1)]
    logs = np.geomspace(1, max(even[1], 1), early + 2)[1:-1] if early else []
    return sorted({start + s for s in even} | {start + int(round(v)) for v in logs})


def _eval_metrics(trainer, e: int) -> dict:
    """Model ``e``'s quality metrics on the trainer's fixed evaluation codes (the samples of
    the history's metric records)."""
    x = trainer._generate(trainer._z_eval[e : e + 1], trainer.sampling_weights[e : e + 1])[0]
    return target_metrics(trainer.data, x[:, 0] if trainer.dim == 1 else x)


class FrameRecorder(Callback):
    """A :class:`gandemo.training.Callback` that keeps a :class:`Frame` of chosen models at
    chosen steps of a run.

    Args:
        trainer: the trainer to record.
        at: the steps (counted like ``trainer.step``) at which to keep frames, e.g.
            :func:`frame_steps`; a step already recorded is not recorded twice.
        models: one model index, or a mapping from labels to model indices (e.g.
            ``{"saturating": 0, "non-saturating": 5}``).
        points: where to evaluate :math:`D` (default: a :class:`TrainingFigure`'s points).
        n: samples per snapshot (drawn from the model's viewing stream).

    Attributes:
        frames: each label (the index, for one model) to its list of frames. A frame's
            ``snapshot.metrics`` are measured on the trainer's fixed evaluation codes, the
            samples of the metric curves, so that a frame's title and the curve agree.

    Pass it in ``callbacks`` of :meth:`gandemo.training.Trainer.run`, or call it as
    ``recorder(trainer, n)`` to train ``n`` steps while recording (the ``step`` argument of
    :meth:`gandemo.experiments.Recipe.run`, which applies a learning-rate schedule).
    """

    every = 1

    def __init__(self, trainer, at, models=0, points: np.ndarray | None = None, n: int = 1000):
        self.at = sorted({check_nonnegative_int(int(s), "at") for s in at})
        if isinstance(models, Mapping):
            self.models = {label: trainer._check_model(e) for label, e in models.items()}
        else:
            e = trainer._check_model(models)
            self.models = {e: e}
        if not self.models:
            raise ValueError("models must name at least one model")
        if points is None:
            points = TrainingFigure(trainer.data, trainer.models[0][0]).points
        self.points = np.asarray(points, dtype=float)
        self.n = check_positive_int(n, "n")
        self.frames: dict = {label: [] for label in self.models}
        self._due = set(self.at)
        self._kept: set[int] = set()

    def keep(self, trainer) -> None:
        """Keep a frame of every model if ``trainer.step`` is due and not yet recorded."""
        step = trainer.step
        if step not in self._due or step in self._kept:
            return
        self._kept.add(step)
        one_d = trainer.dim == 1 and hasattr(trainer.data, "pdf")
        for label, e in self.models.items():
            snap = trainer.snapshot(self.n, model=e)
            snap = dataclasses.replace(snap, metrics=_eval_metrics(trainer, e))
            d = trainer.discriminator_on(self.points, model=e) if len(self.points) else np.zeros(0)
            p_g = generator_density(trainer, self.points, model=e) if one_d else None
            self.frames[label].append(Frame(snap, d, p_g))

    on_start = on_progress = on_end = keep

    def __call__(self, trainer, n: int):
        """Train ``n`` steps with this recorder; returns the trainer's history."""
        return trainer.run(n, callbacks=[self], progress=False)


def record(
    trainer,
    steps: int,
    frames: int = 20,
    points: np.ndarray | None = None,
    *,
    early: int = 0,
    model: int = 0,
) -> list[Frame]:
    """Train ``steps`` more steps and keep the starting state, ``frames`` evenly spaced
    :class:`Frame` objects and ``early`` log-spaced ones before the first of those
    (:func:`frame_steps`), for a frame player.

    Args:
        trainer: a :class:`gandemo.training.Trainer`.
        steps: generator steps to train.
        frames: evenly spaced moments to keep after the start.
        points: where to evaluate :math:`D` (default: a :class:`TrainingFigure`'s points).
        early: log-spaced moments to keep before the first evenly spaced one.
        model: the model to record.
    """
    at = frame_steps(steps, frames, early, start=trainer.step)
    recorder = FrameRecorder(trainer, at, model, points)
    recorder(trainer, steps)
    return recorder.frames[model]


def training_player(data, loss: str, frames: list[Frame], title: str = ""):
    """A frame player (live slider in JupyterLab) over the recorded ``frames`` of one run; the
    curve panels keep the axes of the whole run (:meth:`TrainingFigure.fix_limits`)."""
    if len(frames) < 2:
        raise ValueError("frames needs at least two recorded moments")
    tf = TrainingFigure(data, loss)
    tf.fix_limits(frames[-1].snapshot.history)

    def update(i: int) -> None:
        f = frames[i]
        extra = metric_text(f.snapshot)
        tf.draw(f.snapshot, f.d_values, title=f"{title} step {f.snapshot.step}{extra}", p_g=f.p_g)

    return widgets.explore(tf.fig, update, list(range(len(frames))), description="frame", dpi=72)


def metric_text(snapshot) -> str:
    """The snapshot's quality metrics as a short text for a title ("" when it has none)."""
    m = snapshot.metrics
    if "modes" in m:
        return f" | modes {m['modes']}, high quality {m['high_quality']:.0%}"
    if "jsd" in m:
        return f" | JSD {m['jsd']:.3f}"
    if "classes" in m:
        return f" | classes {m['classes']} of 10"
    return ""


def _grid_1d(data, grid: int = 101) -> np.ndarray:
    """The points of a 1-D target's samples panel: its central 99.9 % widened by 30 % on
    each side, ``4 * grid`` evenly spaced points."""
    lo, hi = data.support(0.999)
    pad = 0.3 * (hi - lo)
    return np.linspace(lo - pad, hi + pad, 4 * grid)


def generator_density(trainer, x, *, model: int = 0, n: int = 200_000, seed: int = 0):
    r"""The density :math:`p_g` of model ``model``'s generator on a 1-D target, at the evenly
    spaced points ``x``.

    A histogram of ``n`` samples from seeded latent codes, on bins of one grid spacing centred
    at the points, smoothed by a Gaussian of two spacings' standard deviation: with the default
    ``n`` its relative error is a few per cent wherever the density is not tiny, far below that
    of a kernel density estimate of a thousand samples, and a generator whose samples nearly
    coincide shows as a tall, narrow spike. Mass outside the points' range is not counted.

    Returns:
        An array of the shape of ``x``.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or len(x) < 3:
        raise ValueError(f"x must be a 1-D array of at least 3 points; got shape {x.shape}")
    h = float(x[1] - x[0])
    if h <= 0 or not np.allclose(np.diff(x), h, rtol=1e-6, atol=0):
        raise ValueError("x must be evenly spaced and increasing")
    if trainer.dim != 1:
        raise ValueError(f"generator_density needs a 1-D target; this one has {trainer.dim} dims")
    n = check_positive_int(n, "n")
    samples = trainer.sample(n, model=model, seed=seed).numpy().reshape(-1)
    edges = x[0] - h / 2 + h * np.arange(len(x) + 1)
    counts, _ = np.histogram(samples, bins=edges)
    density = counts / (n * h)
    offsets = np.arange(-8, 9)
    kernel = np.exp(-0.5 * (offsets / 2.0) ** 2)
    return np.convolve(density, kernel / kernel.sum(), mode="same")


def discriminator_lag(
    trainer, *, model: int = 0, x=None, n: int = 200_000, relative: bool = False
) -> float:
    r"""How far the learned :math:`D` of model ``model`` is from the optimal :math:`D^*` of
    its current generator, on a 1-D target:

    .. math::

        \int \lvert D(x) - D^*(x) \rvert \, \tfrac12 \bigl(p_\text{data}(x) + p_g(x)\bigr)\,dx,
        \qquad D^* = \frac{p_\text{data}}{p_\text{data} + p_g},

    the mean gap where the two densities put their mass, with :math:`p_g` from
    :func:`generator_density`, on the points ``x`` (default: those of a
    :class:`TrainingFigure`). 0 when :math:`D = D^*`; about 0.5 for an untrained :math:`D`
    (:math:`D \approx 1/2`) while the two densities do not overlap (:math:`D^* \in \{0, 1\}`).

    With ``relative=True`` the lag is divided by that of the constant :math:`D = 1/2` against the
    same :math:`D^*`: 1 for a discriminator no closer to :math:`D^*` than one that knows nothing,
    whatever the generator's progress, 0 for :math:`D^*`.
    """
    data = trainer.data
    if trainer.dim != 1 or not hasattr(data, "pdf"):
        raise ValueError("discriminator_lag needs a 1-D target with a density")
    x = _grid_1d(data) if x is None else np.asarray(x, dtype=float)
    p_data = np.asarray(data.pdf(x), dtype=float)
    p_g = generator_density(trainer, x, model=model, n=n)
    total = p_data + p_g
    keep = total > 0
    d_star = p_data[keep] / total[keep]
    d = trainer.discriminator_on(x, model=model)[keep]
    w = total[keep]
    lag = float(np.sum(np.abs(d - d_star) * w) / np.sum(w))
    if relative:
        return lag / max(float(np.sum(np.abs(0.5 - d_star) * w) / np.sum(w)), 1e-12)
    return lag


def comparison_player(data, runs: dict, title: str = ""):
    """Runs side by side: one sample panel per run (with :math:`D` behind) and their quality
    curves in one panel, over the recorded frames (same count for every run).

    Args:
        data: the common target.
        runs: maps a label to a list of :class:`Frame` (e.g. one per loss, same seed).
        title: a prefix for the figure's title.
    """
    labels = list(runs)
    n = {len(f) for f in runs.values()}
    if len(labels) < 2 or len(n) != 1:
        raise ValueError("runs needs at least two runs with the same number of frames")
    n_frames = n.pop()
    two_d = _is_2d(data)
    fig = Figure(figsize=(3.3 * (len(labels) + 1), 3.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(labels) + 1)
    panels = [TrainingFigure.sample_panel(ax, data) for ax in axes[:-1]]
    ax_m = axes[-1]
    colors = [COLORS["sat"], COLORS["ns"], COLORS["gen"], COLORS["data"]]
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
            panel(f.snapshot, f.d_values, f.p_g)
            ax.set_title(f"{label}{metric_text(f.snapshot)}", fontsize=9)
            h = f.snapshot.history
            if key in h and len(h["metric_step"]):
                curves[label].set_data(h["metric_step"], h[key])
            else:
                curves[label].set_data([], [])
        step = runs[labels[0]][i].snapshot.step
        suptitle.set_text(f"{title} step {step}")

    return widgets.explore(fig, update, list(range(n_frames)), description="frame", dpi=80)


def saturation_curves(
    trainer,
    models: Sequence[int] | None = None,
    *,
    floor: float = 1e-20,
    marks: Sequence[int] = (),
    title: str = "",
):
    r"""Mean :math:`D(G(z))` and the generator's gradient norm of many models over training,
    one thin line per model, coloured by loss, on log scales.

    The engine records both as window means (``history.d_fake`` and ``history.g_grad_norm``).
    Values below ``floor``, exact zeros included (a sigmoid that underflows in float32), are
    drawn on the dotted line at ``floor``. ``marks`` are steps drawn as vertical lines (e.g. a
    learning-rate drop). Returns the (pyplot) figure.
    """
    floor = float(floor)
    if not floor > 0:
        raise ValueError(f"floor must be positive; got {floor!r}")
    h = trainer.history
    models = list(range(trainer.n_models)) if models is None else [int(e) for e in models]
    for e in models:
        trainer._check_model(e)
    fig, (ax_d, ax_g) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    colors = {"saturating": COLORS["sat"], "non-saturating": COLORS["ns"]}
    seen = set()
    for e in models:
        loss = trainer.models[e][0]
        color = colors.get(loss, COLORS["gen"])
        label = loss if loss not in seen else None
        seen.add(loss)
        for ax, series in ((ax_d, h.d_fake[:, e]), (ax_g, h.g_grad_norm[:, e])):
            y = np.asarray(series, dtype=float)
            ax.plot(h.step, np.maximum(y, floor), color=color, lw=1, alpha=0.8, label=label)
    for ax, name in ((ax_d, "mean D(G(z))"), (ax_g, "generator gradient norm")):
        ax.set_yscale("log")
        ax.axhline(floor, color=COLORS["ref"], ls=":", lw=1)
        ax.annotate(
            f"{floor:.0e} or below (0 included)",
            (0.01, floor),
            xycoords=("axes fraction", "data"),
            va="bottom",
            fontsize=7,
            color=COLORS["ref"],
        )
        for m in marks:
            ax.axvline(m, color=COLORS["ref"], ls="--", lw=0.8)
        ax.set_xlabel("step")
        ax.set_title(name, fontsize=10)
    ax_d.axhline(0.5, color=COLORS["disc"], ls=":", lw=1, label="1/2 (equilibrium)")
    ax_d.set_ylim(floor / 10, 2)
    ax_d.legend(
        loc="lower left", fontsize=8, framealpha=0.8, frameon=True, bbox_to_anchor=(0, 0.08)
    )
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


#: Colours of the modes in :func:`latent_map` (a qualitative map; grey: no mode).
MODE_COLORS = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#1f78b4",
    "#b2df8a",
    "#fb9a99",
    "#fdbf6f",
    "#cab2d6",
)
OFF_MODE = "#bbbbbb"


def latent_grid(trainer, model: int = 0, *, lim: float = 3.0, n: int = 201) -> dict:
    r"""The generator of model ``model`` (its sampling weights) on an ``n`` x ``n`` grid of
    latent codes over :math:`[-\text{lim}, \text{lim}]^2`, for a 2-D mixture target.

    Latent dimensions beyond the first two are set to 0 (a slice through the latent space).

    Returns:
        A dict with the keys ``"z"`` (the grid's coordinates, ``(n,)``), ``"x"`` (:math:`G(z)`,
        ``(n, n, 2)``), ``"nearest"`` (the index of the nearest mode, ``(n, n)``),
        ``"high_quality"`` (whether :math:`G(z)` lies within 3 standard deviations of it,
        ``(n, n)``) and ``"off_mass"`` (the share of the latent density on the grid whose
        image is not high quality). Row ``i``, column ``j`` holds :math:`z = (z_j, z_i)`.
    """
    data = trainer.data
    if not _is_2d(data) or trainer.dim != 2:
        raise ValueError("latent_grid needs a 2-D mixture target (e.g. gd.data.ring())")
    k = trainer.config["latent_dim"]
    if k < 2:
        raise ValueError(f"latent_grid needs a latent space of 2 dimensions or more; got {k}")
    n = check_positive_int(n, "n")
    lim = float(lim)
    if not lim > 0:
        raise ValueError(f"lim must be positive; got {lim!r}")
    zs = np.linspace(-lim, lim, n)
    z1, z2 = np.meshgrid(zs, zs)
    z = np.zeros((n * n, k), dtype=np.float32)
    z[:, 0], z[:, 1] = z1.ravel(), z2.ravel()
    g = trainer.generator(model)
    with torch.no_grad():
        x = g(torch.from_numpy(z)).numpy().astype(float)
    c = np.asarray(data.centers, dtype=float)
    dist = np.sqrt(((x[:, None, :] - c[None]) ** 2).sum(-1))
    nearest = dist.argmin(1)
    good = dist[np.arange(len(x)), nearest] / float(data.std) < 3.0
    weight = np.exp(-0.5 * (z1**2 + z2**2)).ravel()
    return {
        "z": zs,
        "x": x.reshape(n, n, 2),
        "nearest": nearest.reshape(n, n),
        "high_quality": good.reshape(n, n),
        "off_mass": float(np.sum(weight[~good]) / np.sum(weight)),
    }


def latent_map(trainer, models, *, lim: float = 3.0, lines: int = 17, n: int = 161, title=""):
    r"""GAN Lab's manifold view: the latent plane and its image under the generator.

    One column per model (``models``: an index, or a mapping from labels to indices). Top: the
    latent plane :math:`[-\text{lim}, \text{lim}]^2`, each code coloured by the mode nearest to
    its image :math:`G(z)` when the image is a high-quality sample (within 3 standard
    deviations of a mode) and grey otherwise, with the latent density's circles of radius 1, 2
    and 3 (dotted) and ``lines`` x ``lines`` grid lines. Bottom: the same grid lines pushed
    through :math:`G` (a warped grid over the data plane), the images of the coloured codes,
    and the mode centres (+). Returns the (pyplot) figure.
    """
    from matplotlib.colors import to_rgb

    if not isinstance(models, Mapping):
        models = {f"model {int(models)}": int(models)}
    if not models:
        raise ValueError("models must name at least one model")
    lines = check_positive_int(lines, "lines")
    data = trainer.data
    centers = np.asarray(data.centers, dtype=float)
    k = len(models)
    fig, axes = plt.subplots(2, k, figsize=(3.4 * k, 6.9), layout="constrained", squeeze=False)
    palette = np.array([to_rgb(MODE_COLORS[i % len(MODE_COLORS)]) for i in range(len(centers))])
    grey = np.array(to_rgb(OFF_MODE))
    t = np.linspace(-lim, lim, 241)
    ticks = np.linspace(-lim, lim, lines)
    for col, (label, e) in enumerate(models.items()):
        grid = latent_grid(trainer, e, lim=lim, n=n)
        rgb = np.where(grid["high_quality"][..., None], palette[grid["nearest"]], grey)
        ax_z, ax_x = axes[0, col], axes[1, col]
        ax_z.imshow(rgb, extent=(-lim, lim, -lim, lim), origin="lower", interpolation="nearest")
        for r in (1, 2, 3):
            if r <= lim:
                ax_z.add_patch(_circle(r))
        # the grid lines: constant z1 (vertical) and constant z2 (horizontal)
        g = trainer.generator(e)
        paths = []
        for c in ticks:
            paths.append(np.stack([np.full_like(t, c), t], 1))
            paths.append(np.stack([t, np.full_like(t, c)], 1))
        zk = trainer.config["latent_dim"]
        z = np.zeros((len(paths) * len(t), zk), dtype=np.float32)
        z[:, :2] = np.concatenate(paths)
        with torch.no_grad():
            img = g(torch.from_numpy(z)).numpy().reshape(len(paths), len(t), 2)
        for p, q in zip(paths, img, strict=True):
            ax_z.plot(p[:, 0], p[:, 1], color="k", lw=0.4, alpha=0.35)
            ax_x.plot(q[:, 0], q[:, 1], color="k", lw=0.4, alpha=0.35)
        pts = grid["x"].reshape(-1, 2)
        ax_x.scatter(pts[:, 0], pts[:, 1], s=0.6, c=rgb.reshape(-1, 3), lw=0, zorder=2)
        ax_x.scatter(centers[:, 0], centers[:, 1], s=50, marker="+", color="k", lw=1, zorder=3)
        # limits: the images of the central codes (|z| < 2.5), and at least the modes' box
        inner = (np.hypot(*np.meshgrid(grid["z"], grid["z"])) < 2.5).ravel()
        box = np.concatenate([pts[inner], centers])
        lo, hi = box.min(0), box.max(0)
        mid, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2 * 1.08, 0.2)
        ax_x.set_xlim(mid[0] - half, mid[0] + half)
        ax_x.set_ylim(mid[1] - half, mid[1] + half)
        ax_z.set_xlim(-lim, lim)
        ax_z.set_ylim(-lim, lim)
        for ax in (ax_z, ax_x):
            ax.set_aspect("equal")
            ax.grid(False)
        ax_z.set_title(f"{label}\nlatent plane: off-mode mass {grid['off_mass']:.0%}", fontsize=9)
        ax_z.set_xlabel("$z_1$")
        ax_z.set_ylabel("$z_2$")
        ax_x.set_title("its image G(z) over the data", fontsize=9)
        ax_x.set_xlabel("$x_1$")
        ax_x.set_ylabel("$x_2$")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _circle(r: float):
    from matplotlib.patches import Circle

    return Circle((0, 0), r, fill=False, ls=":", lw=0.9, color="k", alpha=0.6)
