r"""The live figure of a training run (:class:`gandemo.training.Trainer`): the samples panel, the
four-panel training figure that :mod:`gandemo.dashboard` updates in place, and its frame player
over recorded frames (chapter 7).
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image
from scipy import stats

from .. import losses, widgets
from ..metrics import METRICS, evaluation_points
from ..recording import Frame
from .style import COLORS, LOSS_COLORS

__all__ = ["SamplesPanel", "TrainingFigure", "metric_text", "training_player"]


def _is_2d(data) -> bool:
    return hasattr(data, "centers")


def _image_side(data) -> int:
    """The side of the square images of an image target (e.g. 8 for the digits), else 0."""
    dim = getattr(data, "dim", None)
    if isinstance(dim, int) and dim > 2 and math.isqrt(dim) ** 2 == dim:
        return math.isqrt(dim)
    return 0


class SamplesPanel:
    r"""The samples of a training run on one axis, over the discriminator, redrawn in place by
    :meth:`draw`.

    A 1-D target: :math:`p_\mathrm{data}` and the generator's density :math:`\hat p_g`, with
    :math:`D(x)` and :math:`D^*(x)` on a twin axis. A 2-D mixture: real and generated samples
    over :math:`D(x)` as an image. An image target: a grid of generated images. It is the
    samples panel of a :class:`TrainingFigure`, and each run's panel of
    :func:`gandemo.plots.runs.comparison_player`.

    Args:
        ax: the axis to draw on.
        data: the target (as for :class:`TrainingFigure`).
        grid: points per axis where the discriminator is drawn.
        compact: leave out the title of a 2-D target's panel (the key to its colours), for
            panels whose titles their caller sets.
    """

    TILES = 6  # images per row and column of an image target's panel

    def __init__(self, ax, data, grid: int = 101, *, compact: bool = False):
        self.ax, self.data, self.two_d = ax, data, _is_2d(data)
        self.side = _image_side(data)
        if self.side:
            self._setup_images()
        elif self.two_d:
            self._setup_2d(grid, compact)
        else:
            self._setup_1d(grid)

    def _setup_2d(self, n: int, compact: bool) -> None:
        self._points = evaluation_points(self.data, n)
        lo, hi = float(self._points.min()), float(self._points.max())
        self._n = n
        ax = self.ax
        self.im = ax.imshow(
            np.full((n, n), 0.5),
            extent=(lo, hi, lo, hi),
            origin="lower",
            cmap="PiYG",
            vmin=0,
            vmax=1,
            alpha=0.55,
        )
        if not compact:
            ax.set_title("behind: D(x), green 'real', pink 'generated'", fontsize=8)
        self.sc_real = ax.scatter([], [], s=3, color=COLORS["data"], label="real")
        self.sc_fake = ax.scatter([], [], s=3, color=COLORS["gen"], label="generated")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.grid(False)
        ax.legend(loc="upper right", markerscale=4, fontsize=8)

    def _setup_images(self) -> None:
        k, side = self.TILES, self.side
        self._points = evaluation_points(self.data)
        self.im = self.ax.imshow(np.zeros((k * side, k * side)), cmap="gray_r", vmin=-1, vmax=1)
        self.ax.set_axis_off()
        self.ax.set_title(f"{k * k} generated images", fontsize=9)

    def _setup_1d(self, n: int) -> None:
        x = self._points = evaluation_points(self.data, n)
        ax = self.ax
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

    @property
    def points(self) -> np.ndarray:
        """Where :meth:`draw` wants the discriminator's output ``d_values``."""
        return self._points

    def draw(self, snapshot, d_values: np.ndarray, p_g: np.ndarray | None = None) -> None:
        r"""Show the samples of ``snapshot`` (a :class:`gandemo.training.Snapshot`) over
        ``d_values`` = :math:`D` at :attr:`points`.

        For a 1-D target, ``p_g`` (the generator's density at :attr:`points`, e.g. from
        :func:`gandemo.metrics.generator_density`) replaces the kernel density estimate of the
        snapshot's samples in :math:`\hat p_g` and :math:`D^*`.
        """
        d_values = np.asarray(d_values, dtype=float)
        if d_values.shape != (len(self._points),):
            raise ValueError(
                f"d_values must have shape ({len(self._points)},); got {d_values.shape}"
            )
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
        self.ax.set_ylim(0, max(self._density_top, 1.1 * float(p_g.max(initial=0.0))))
        total = self._p_data + p_g
        # where both densities are negligible the ratio is noise of the density estimate
        shown = total > 0.02 * float(total.max())
        with np.errstate(invalid="ignore", divide="ignore"):
            d_star = np.where(shown, self._p_data / total, np.nan)
        self.ln_dstar.set_ydata(d_star)


class TrainingFigure:
    """A four-panel figure of a GAN training run on a 1-D or 2-D target of :mod:`gandemo.data`:
    its samples (a :class:`SamplesPanel`, :attr:`samples`), the two losses, the generator's
    gradient norm and a quality metric.

    Args:
        data: the target (a 1-D density with ``pdf`` and ``support``, or a 2-D mixture with
            ``centers`` and ``std``).
        loss: the generator loss name (selects the equilibrium line of the generator loss).
        title: a title above the figure.
        grid: points per axis where the discriminator is drawn.
        figsize: the figure size in inches.
    """

    def __init__(self, data, loss: str, *, title: str = "", grid: int = 101, figsize=(10, 6.6)):
        self.data, self.loss = data, loss
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
        #: the samples panel (the left one)
        self.samples = SamplesPanel(self.ax_s, data, grid)
        self.two_d, self.side = self.samples.two_d, self.samples.side
        self._setup_curves()
        # Text is most of a redraw's cost: a few ticks per axis keep live updates cheap.
        for ax in self.fig.axes:
            ax.locator_params(axis="x", nbins=4)
            if ax.get_yscale() == "linear":
                ax.locator_params(axis="y", nbins=4)
        if self.two_d:
            self.ax_m.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))

    # -- set-up -----------------------------------------------------------------------------

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

    # -- drawing ----------------------------------------------------------------------------

    @property
    def points(self) -> np.ndarray:
        """Where :meth:`draw` wants the discriminator's output ``d_values``."""
        return self.samples.points

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
        self.samples.draw(snapshot, d_values, p_g)
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
        handles = [self.samples.sc_real, self.samples.sc_fake]
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
