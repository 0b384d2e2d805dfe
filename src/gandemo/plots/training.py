r"""Figures of training runs (:class:`gandemo.training.Trainer`, one model or many): the live
training figure, frame players, loss curves, latent maps and sample panels (chapters 6 to 8).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image
from scipy import stats

from .. import losses, widgets
from ..losses import LOSSES
from ..metrics import METRICS, evaluation_points
from ..recording import Frame, SampleFrame
from ..utils import check_positive_int
from .style import COLORS, LOSS_COLORS, MODE_COLORS, OFF_MODE, get_ax, plural

__all__ = [
    "TrainingFigure",
    "comparison_player",
    "latent_grid",
    "latent_lines",
    "latent_map",
    "metric_curves",
    "metric_text",
    "plot_loss_curves",
    "plot_samples_vs_density",
    "samples_figure",
    "samples_player",
    "training_player",
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
        self._points = evaluation_points(self.data, n)
        lo, hi = float(self._points.min()), float(self._points.max())
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
        ax.set_title("behind: D(x), green 'real', pink 'generated'", fontsize=8)
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
        self._points = evaluation_points(self.data)
        self.im = self.ax_s.imshow(np.zeros((k * side, k * side)), cmap="gray_r", vmin=-1, vmax=1)
        self.ax_s.set_axis_off()
        self.ax_s.set_title(f"{k * k} generated images", fontsize=9)

    def _setup_1d(self, n: int) -> None:
        x = self._points = evaluation_points(self.data, n)
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
        g_color = LOSS_COLORS[self.loss]
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
        :func:`gandemo.metrics.generator_density`) replaces the kernel density estimate of the
        snapshot's samples in :math:`\hat p_g` and :math:`D^*`.
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

    def draw_generator_field(self, manifold=None, arrows=None, *, length: float = 0.12) -> None:
        r"""Overlay GAN Lab's views on the samples panel of a 2-D target (None clears one).

        Args:
            manifold: the generator manifold, polylines in the data plane (a sequence of
                ``(k, 2)`` arrays, e.g. the lines of a latent grid pushed through :math:`G`),
                drawn as a thin warped grid.
            arrows: ``(points, vectors)``, two ``(n, 2)`` arrays: arrows from generated
                examples along the generator loss's push :math:`-\partial \ell_G /
                \partial x` (:meth:`gandemo.training.Trainer.generator_gradient`), scaled
                together so that the 90th percentile of their norms is ``length`` of the
                panel's width; longer ones are cut to twice that (the legend gives that
                percentile's norm, which shows how strong the push is).
            length: the 90th percentile arrow's length, a share of the panel's width.
        """
        if not self.two_d:
            raise ValueError("draw_generator_field needs a 2-D target (e.g. gd.data.ring())")
        from matplotlib.collections import LineCollection

        ax = self.ax_s
        if getattr(self, "_manifold", None) is None:
            self._manifold = LineCollection(
                [], colors="0.25", linewidths=0.5, alpha=0.4, zorder=1.5, label="G manifold"
            )
            ax.add_collection(self._manifold)
        self._manifold.set_segments([] if manifold is None else [np.asarray(p) for p in manifold])
        old = getattr(self, "_arrows", None)
        if old is not None:
            old.remove()
            self._arrows = None
        if arrows is not None:
            points, vectors = (np.asarray(a, dtype=float).reshape(-1, 2) for a in arrows)
            if points.shape != vectors.shape:
                raise ValueError("arrows must be two arrays of the same shape (n, 2)")
            norms = np.hypot(vectors[:, 0], vectors[:, 1])
            top = float(np.percentile(norms, 90)) if len(norms) else 0.0
            lo, hi = ax.get_xlim()
            scale = length * (hi - lo) / top if top > 0 else 0.0
            shown = vectors * scale
            cut = np.minimum(1.0, 2 * length * (hi - lo) / np.maximum(norms * scale, 1e-12))
            shown *= cut[:, None]
            self._arrows = ax.quiver(
                points[:, 0],
                points[:, 1],
                shown[:, 0],
                shown[:, 1],
                angles="xy",
                scale_units="xy",
                scale=1,
                color="k",
                alpha=0.8,
                width=0.005,
                headwidth=3.5,
                headlength=4,
                headaxislength=3.5,
                zorder=3,
                label=f"$-\\nabla_x \\ell_G$ (90 %: {top:.2g})",
            )
        handles = [self.sc_real, self.sc_fake]
        if manifold is not None:
            handles.append(self._manifold)
        if self._arrows is not None:
            handles.append(self._arrows)
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.08),
            ncol=2,
            markerscale=4,
            fontsize=8,
        )

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


def training_player(data, loss: str, frames: list[Frame], title: str = ""):
    """A frame player (live slider in JupyterLab) over the recorded ``frames`` of one run; the
    curve panels keep the axes of the whole run (:meth:`TrainingFigure.fix_limits`).

    Introduced in :doc:`/chapters/07_train_live`.
    """
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
        hq = METRICS["high_quality"]
        return f" | {METRICS['modes'].short} {m['modes']}, {hq.short} {m['high_quality']:.0%}"
    if "jsd" in m:
        return f" | {METRICS['jsd'].short} {m['jsd']:.3f}"
    if "classes" in m:
        return f" | {METRICS['classes'].short} {m['classes']} of 10"
    return ""


def comparison_player(data, runs: dict, title: str = ""):
    """Runs side by side: one sample panel per run (with :math:`D` behind) and their quality
    curves in one panel, over the recorded frames (same count for every run).

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
    two_d = _is_2d(data)
    fig = Figure(figsize=(3.3 * (len(labels) + 1), 3.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(labels) + 1)
    panels = [TrainingFigure.sample_panel(ax, data) for ax in axes[:-1]]
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


def latent_grid(trainer, model: int = 0, *, lim: float = 3.0, n: int = 201) -> dict:
    r"""The generator of model ``model`` (its sampling weights) on an ``n`` x ``n`` grid of
    latent codes over :math:`[-\text{lim}, \text{lim}]^2`, for a 2-D mixture target.

    Introduced in :doc:`/chapters/07_train_live`.

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


def latent_lines(
    trainer, model: int = 0, *, lim: float = 3.0, lines: int = 17, n: int = 241
) -> tuple[list[np.ndarray], np.ndarray]:
    r"""The generator manifold as lines: ``lines`` grid lines of constant :math:`z_1` and as many
    of constant :math:`z_2` over :math:`[-\text{lim}, \text{lim}]^2` (``n`` points each), and
    their images under the generator of model ``model`` (its sampling weights; latent
    dimensions beyond the first two set to 0).

    Returns:
        ``(paths, images)``: the ``2 * lines`` latent polylines, each ``(n, 2)``, and their
        images :math:`G(z)`, ``(2 * lines, n, dim)``, in the same order.
    """
    k = trainer.config["latent_dim"]
    if k < 2:
        raise ValueError(f"latent_lines needs a latent space of 2 dimensions or more; got {k}")
    lines, n = check_positive_int(lines, "lines"), check_positive_int(n, "n")
    along = np.linspace(-lim, lim, n)
    paths = []
    for c in np.linspace(-lim, lim, lines):
        paths.append(np.stack([np.full_like(along, c), along], 1))  # constant z1
        paths.append(np.stack([along, np.full_like(along, c)], 1))  # constant z2
    z = np.zeros((len(paths) * n, k), dtype=np.float32)
    z[:, :2] = np.concatenate(paths)
    with torch.no_grad():
        x = trainer.generator(model)(torch.from_numpy(z)).numpy()
    return paths, x.reshape(len(paths), n, -1)


def latent_map(trainer, models, *, lim: float = 3.0, lines: int = 17, n: int = 161, title=""):
    r"""GAN Lab's manifold view: the latent plane and its image under the generator.

    Introduced in :doc:`/chapters/07_train_live`.

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
    for col, (label, e) in enumerate(models.items()):
        grid = latent_grid(trainer, e, lim=lim, n=n)
        rgb = np.where(grid["high_quality"][..., None], palette[grid["nearest"]], grey)
        ax_z, ax_x = axes[0, col], axes[1, col]
        ax_z.imshow(rgb, extent=(-lim, lim, -lim, lim), origin="lower", interpolation="nearest")
        for r in (1, 2, 3):
            if r <= lim:
                ax_z.add_patch(_circle(r))
        paths, img = latent_lines(trainer, e, lim=lim, lines=lines)
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
