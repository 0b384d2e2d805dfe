r"""The picture of a training run, shared by the live dashboard and the book's frame players.

:class:`TrainingFigure` draws one :class:`gandemo.training.Snapshot` into a fixed four-panel figure
and updates its artists in place, so redrawing costs one render and no new figure:

* samples: real against generated, over the discriminator's output (a heat map of :math:`D(x)`
  for a 2-D target; for a 1-D target the curves of :math:`D(x)` and of the optimal
  :math:`D^*(x) = p_\text{data} / (p_\text{data} + \hat p_g)`, with :math:`\hat p_g` a kernel
  density estimate of the generated samples);
* the two losses, with their equilibrium values (:math:`D = 1/2` everywhere) as dotted lines;
* the norm of the generator's gradient;
* the quality metrics (modes covered and high-quality fraction for a 2-D mixture, JSD to the
  data for a 1-D density, classes covered for the digits).

For an image target (the digits) the samples panel shows a tiling of generated images instead.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image
from scipy import stats

from . import losses, widgets
from .plots import COLORS
from .utils import check_positive_int

__all__ = [
    "Frame",
    "TrainingFigure",
    "comparison_player",
    "metric_text",
    "record",
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
        lo, hi = self.data.support(0.999)
        pad = 0.3 * (hi - lo)
        x = np.linspace(lo - pad, hi + pad, 4 * n)
        self._points = x
        ax = self.ax_s
        self._p_data = self.data.pdf(x)
        ax.fill_between(
            x, self._p_data, color=COLORS["data"], alpha=0.25, label=r"$p_\mathrm{data}$"
        )
        (self.ln_pg,) = ax.plot(x, np.zeros_like(x), color=COLORS["gen"], label=r"$\hat p_g$ (KDE)")
        ax.set_ylim(0, 1.6 * float(self._p_data.max()))
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
        self.ax_d.set_ylim(0, 1)
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

        def draw(snapshot, d_values) -> None:
            helper._draw_samples(snapshot, np.asarray(d_values, dtype=float))

        draw.points = helper._points
        return draw

    # -- drawing ----------------------------------------------------------------------------

    @property
    def points(self) -> np.ndarray:
        """Where :meth:`draw` wants the discriminator's output ``d_values``."""
        return self._points

    def draw(self, snapshot, d_values: np.ndarray, title: str | None = None) -> None:
        """Show ``snapshot`` (a :class:`gandemo.training.Snapshot`), with ``d_values`` =
        :math:`D` at :attr:`points`."""
        d_values = np.asarray(d_values, dtype=float)
        if d_values.shape != (len(self._points),):
            raise ValueError(
                f"d_values must have shape ({len(self._points)},); got {d_values.shape}"
            )
        self._draw_samples(snapshot, d_values)
        h = snapshot.history
        steps = h.get("step", np.array([]))
        if len(steps):
            self.ln_dl.set_data(steps, h["d_loss"])
            self.ln_gl.set_data(steps, h["g_loss"])
            grad = np.asarray(h["g_grad_norm"], dtype=float)
            self.ln_gn.set_data(steps, np.where(grad > 0, grad, np.nan))
            for ax in (self.ax_l, self.ax_g):
                ax.relim()
                ax.autoscale_view()
            self.ax_l.set_xlim(0, max(1, steps[-1]))
            self.ax_g.set_xlim(0, max(1, steps[-1]))
        m_steps = h.get("metric_step", np.array([]))
        if len(m_steps):
            if self.side:
                self.ln_modes.set_data(m_steps, h["classes"])
            elif self.two_d:
                self.ln_modes.set_data(m_steps, h["modes"])
            else:
                self.ln_jsd.set_data(m_steps, h["jsd"])
            self.ax_m.set_xlim(0, max(1, m_steps[-1], steps[-1] if len(steps) else 1))
        if title is not None:
            self.suptitle.set_text(title)

    def _draw_samples(self, snapshot, d_values: np.ndarray) -> None:
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
        fake = np.asarray(snapshot.fake, dtype=float)
        if np.ptp(fake) > 0:
            p_g = stats.gaussian_kde(fake)(self._points)
        else:
            p_g = np.zeros_like(self._points)
        self.ln_pg.set_ydata(p_g)
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
    """One recorded moment of a run: the snapshot and :math:`D` at the figure's points."""

    snapshot: object
    d_values: np.ndarray


def record(trainer, steps: int, frames: int = 20, points: np.ndarray | None = None) -> list[Frame]:
    """Train ``steps`` more steps and keep ``frames`` evenly spaced :class:`Frame` objects
    (plus the starting state), for a frame player; a :class:`gandemo.training.Callback` of the
    engine's run does the recording.

    Args:
        trainer: a :class:`gandemo.training.Trainer` (its model 0 is recorded).
        steps: generator steps to train.
        frames: how many moments to keep after the start.
        points: where to evaluate :math:`D` (default: a :class:`TrainingFigure`'s points).
    """
    steps = check_positive_int(steps, "steps")
    frames = check_positive_int(frames, "frames")
    if points is None:
        points = TrainingFigure(trainer.data, trainer.models[0][0]).points
    out: list[Frame] = []

    def keep(t) -> None:
        d = t.discriminator_on(points) if len(points) else np.zeros(0)
        out.append(Frame(t.snapshot(), d))

    trainer.run(steps, callback=keep, every=max(1, steps // frames))
    return out


def training_player(data, loss: str, frames: list[Frame], title: str = ""):
    """A frame player (live slider in JupyterLab) over the recorded ``frames`` of one run."""
    if len(frames) < 2:
        raise ValueError("frames needs at least two recorded moments")
    tf = TrainingFigure(data, loss)

    def update(i: int) -> None:
        f = frames[i]
        extra = metric_text(f.snapshot)
        tf.draw(f.snapshot, f.d_values, title=f"{title} step {f.snapshot.step}{extra}")

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
            panel(f.snapshot, f.d_values)
            ax.set_title(f"{label}{metric_text(f.snapshot)}", fontsize=9)
            h = f.snapshot.history
            if key in h and len(h["metric_step"]):
                curves[label].set_data(h["metric_step"], h[key])
            else:
                curves[label].set_data([], [])
        step = runs[labels[0]][i].snapshot.step
        suptitle.set_text(f"{title} step {step}")

    return widgets.explore(fig, update, list(range(n_frames)), description="frame", dpi=80)
