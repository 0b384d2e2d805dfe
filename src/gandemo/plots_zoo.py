r"""Figures, tables and live views for many models trained at once (chapters 7 and 8).

* :func:`record` trains a :class:`gandemo.training.Trainer` (one model or many) and keeps
  evenly spaced :class:`BatchFrame` objects (samples of every model from fixed latent codes, and
  their metrics), optionally showing each one live while the models train (:class:`LiveImage`);
* :func:`samples_player` replays the frames of chosen models side by side on a 2-D target,
  with their modes-covered curves; :func:`metric_curves` draws a metric over training for every
  loss (mean over seeds and each seed);
* :func:`loss_table` and :func:`metrics_table` write the registry and results as Markdown
  tables (the toy targets' comparison tables are :func:`gandemo.experiments.rows_table`).

The digit grids of chapter 8 are in :func:`digits_player`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import losses, widgets
from .plots import COLORS
from .training import Callback, target_metrics
from .utils import check_positive_int

__all__ = [
    "BatchFrame",
    "FrameRecorder",
    "LiveImage",
    "LOSS_COLORS",
    "digit_grid",
    "digit_panels",
    "digits_figure",
    "digits_player",
    "digits_real_figure",
    "digits_real_player",
    "live_view",
    "loss_table",
    "metrics_table",
    "metric_curves",
    "record",
    "samples_figure",
    "samples_player",
]

#: One colour per registered loss.
LOSS_COLORS = {
    "saturating": COLORS["sat"],
    "non-saturating": COLORS["ns"],
    "least-squares": "#17becf",
    "hinge": "#e377c2",
    "wasserstein-gp": "#8c564b",
}


@dataclass
class BatchFrame:
    """One recorded moment of a run of :math:`E` models.

    Attributes:
        step: the generator step.
        samples: generated examples of every model, ``(E, n, dim)``, from the same latent codes
            at every frame.
        metrics: per metric name, an ``(E,)`` array measured on these samples.
    """

    step: int
    samples: np.ndarray
    metrics: dict[str, np.ndarray]


class LiveImage:
    """An image that updates in place while a cell runs: an ``ipywidgets.Image`` in JupyterLab.

    The HTML book cannot run the models, so there it shows a short note instead (the frame
    player that follows the training replays the recorded frames).
    """

    def __init__(self, note: str = "") -> None:
        self.note = note or (
            "In JupyterLab this picture updates while the models train; the player below "
            "replays the frames recorded during the book's build."
        )
        self.updates = 0
        self._img = None

    def widget(self):
        if self._img is None:
            import ipywidgets

            self._img = ipywidgets.Image(format="png", layout=ipywidgets.Layout(max_width="100%"))
        return self._img

    def update(self, png: bytes) -> None:
        """Show ``png`` (the bytes of a PNG file)."""
        self.updates += 1
        try:
            self.widget().value = png
        except ImportError:  # no ipywidgets: nothing to update
            pass

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        html = f"<p><em>{self.note}</em></p>"
        return widgets.live_bundle(self.widget, html, "<LiveImage>", include, exclude)


def _count(k: float, noun: str) -> str:
    """``"1 mode"``, ``"3 modes"``, ``"1 class"``, ``"0 classes"`` (``"n/a modes"`` for NaN)."""
    plural = noun + ("es" if noun.endswith("s") else "s")
    if not math.isfinite(k):
        return f"n/a {plural}"
    k = round(float(k))
    return f"{k} {noun if k == 1 else plural}"


def _png(fig: Figure, dpi: float = 72) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class FrameRecorder(Callback):
    """A :class:`gandemo.training.Callback` that keeps a :class:`BatchFrame` at the start of a
    run, every ``every`` steps and at its end (never two at one step).

    Args:
        n: samples per model and frame, from the same seeded latent codes at every frame (the
            metrics use them all).
        every: steps between two frames.
        live: called with each new frame as it is recorded.
        seed: the seed of the latent codes.
    """

    def __init__(
        self,
        n: int,
        every: int,
        live: Callable[[BatchFrame], object] | None = None,
        seed: int = 0,
    ) -> None:
        self.n = check_positive_int(n, "n")
        self.every = check_positive_int(every, "every")
        self.live = live
        self.seed = seed
        #: the frames recorded so far
        self.frames: list[BatchFrame] = []

    def keep(self, trainer) -> None:
        """Record the trainer's present state as a frame (unless one exists at this step)."""
        if self.frames and self.frames[-1].step == trainer.step:
            return
        samples = trainer.samples(self.n, seed=self.seed)  # (E, n, dim)
        per_model = [
            target_metrics(trainer.data, s[:, 0] if s.shape[1] == 1 else s) for s in samples
        ]
        metrics = {k: np.array([m[k] for m in per_model], dtype=float) for k in per_model[0]}
        self.frames.append(BatchFrame(trainer.step, samples, metrics))
        if self.live is not None:
            self.live(self.frames[-1])

    on_start = on_progress = on_end = keep


def record(
    trainer,
    steps: int,
    frames: int = 12,
    n: int = 2500,
    live: Callable[[BatchFrame], object] | None = None,
) -> list[BatchFrame]:
    """Train ``steps`` more steps and keep ``frames`` evenly spaced :class:`BatchFrame` objects
    (plus the starting state).

    Args:
        trainer: a :class:`gandemo.training.Trainer` (one model or many).
        steps: generator steps to train.
        frames: moments to keep after the start.
        n: samples per model and frame (the metrics use them all).
        live: called with each new frame as it is recorded (e.g. to redraw a live figure).
    """
    steps = check_positive_int(steps, "steps")
    frames = check_positive_int(frames, "frames")
    recorder = FrameRecorder(n, every=max(1, steps // frames), live=live)
    trainer.run(steps, callbacks=[recorder], progress=False)
    return recorder.frames


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
    frames: Sequence[BatchFrame],
    models: Sequence[int],
    labels: Sequence[str],
    title: str = "",
):
    """Generated samples of the chosen models over the recorded frames, side by side, with
    their modes-covered curves (a frame player in the HTML book, a slider in JupyterLab)."""
    if len(frames) < 2:
        raise ValueError("frames needs at least two recorded moments")
    fig, update = samples_figure(data, frames, models, labels, title)
    return widgets.explore(fig, update, list(range(len(frames))), description="frame", dpi=72)


def samples_figure(data, frames, models, labels, title="", max_step=None):
    """A figure of the chosen models' samples and modes-covered curves, and ``update(i)`` that
    shows frame ``i`` of ``frames`` (which may grow after the call)."""
    models, labels = list(models), list(labels)
    if len(models) != len(labels) or not models:
        raise ValueError("models and labels must be non-empty and of equal length")
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
    for label, e in zip(labels, models, strict=True):
        color = LOSS_COLORS.get(label.split(" ")[0], COLORS["gen"])
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
            ax.set_title(f"{label}: {_count(modes, 'mode')}, {hq:.0%} HQ", fontsize=9)
        steps = [fr.step for fr in frames[: i + 1]]
        for ln, e in curves:
            ln.set_data(steps, [fr.metrics["modes"][e] for fr in frames[: i + 1]])
        sup.set_text(f"{title} step {f.step}")

    return fig, update


def metric_curves(trainer, key: str = "modes", ax=None, title: str = ""):
    """One metric over training for every loss of a :class:`gandemo.training.Trainer`: each
    seed thin, the mean over seeds thick. Returns the axis."""
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


def loss_table() -> str:
    """The registry :data:`gandemo.losses.LOSSES` as a Markdown table."""
    lines = ["| name | losses (bars: minibatch means) | reference |", "|---|---|---|"]
    for name, spec in losses.LOSSES.items():
        lines.append(f"| `{name}` | {spec.formula} | {spec.reference} |")
    return "\n".join(lines)


def _fmt(mean: float, std: float, digits: int, percent: bool = False) -> str:
    if not math.isfinite(mean):
        return "n/a"
    if percent:
        return f"{100 * mean:.{digits}f} ± {100 * std:.{digits}f} %"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def digit_grid(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``rows * cols`` images ``(n, 64)`` in [-1, 1] tiled into one ``(8 rows + gaps)`` array
    (NaN in the one-pixel gaps)."""
    side = 8
    out = np.full((rows * (side + 1) - 1, cols * (side + 1) - 1), np.nan)
    for k in range(min(rows * cols, len(images))):
        r, c = divmod(k, cols)
        out[r * (side + 1) : r * (side + 1) + side, c * (side + 1) : c * (side + 1) + side] = (
            images[k].reshape(side, side)
        )
    return out


def digits_figure(frames: Sequence[BatchFrame], models: Sequence[int], labels: Sequence[str]):
    """A figure of digit grids (one per chosen model) and ``update(i)`` that shows frame ``i``
    of ``frames`` (which may grow after the call)."""
    k = len(models)
    fig = Figure(figsize=(2.9 * k, 3.35))
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(1, k))
    ims = []
    for ax in axes:
        im = ax.imshow(digit_grid(frames[0].samples[0], 6, 6), cmap="gray_r", vmin=-1, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ims.append(im)
    sup = fig.suptitle("", fontsize=10)

    def update(i: int) -> None:
        f = frames[i]
        for ax, im, label, e in zip(axes, ims, labels, models, strict=True):
            im.set_data(digit_grid(f.samples[e], 6, 6))
            m = f.metrics
            ax.set_title(
                f"{label}\n{_count(m['classes'][e], 'class')}, conf. {m['confidence'][e]:.2f}",
                fontsize=8,
            )
        sup.set_text(f"step {f.step}")

    return fig, update


def digits_player(frames: Sequence[BatchFrame], models: Sequence[int], labels: Sequence[str]):
    """Digit grids of the chosen models over the recorded frames (a frame player in the HTML
    book, a slider in JupyterLab)."""
    if len(frames) < 2:
        raise ValueError("frames needs at least two recorded moments")
    fig, update = digits_figure(frames, models, labels)
    return widgets.explore(fig, update, list(range(len(frames))), description="frame", dpi=80)


def live_view(make_figure: Callable[[list], tuple[Figure, Callable[[int], None]]]):
    """A :class:`LiveImage` and a ``live`` callback for :func:`record` that redraws a figure at
    every recorded frame.

    Args:
        make_figure: ``make_figure(frames)`` returns ``(fig, update)`` like the figures above;
            it is called once with a list that grows as frames arrive.
    """
    view = LiveImage()
    frames: list[BatchFrame] = []
    state: dict = {}

    def show(frame: BatchFrame) -> None:
        frames.append(frame)
        if "fig" not in state:
            state["fig"], state["update"] = make_figure(frames)
        state["update"](len(frames) - 1)
        view.update(_png(state["fig"], dpi=72))

    return view, show


def metrics_table(
    rows: list[dict], columns: dict[str, tuple[str, int, bool]], reference=None
) -> str:
    """Rows of :func:`gandemo.training.summarize` as a Markdown table of chosen metrics.

    Args:
        rows: the summary rows (``(mean, std)`` per metric).
        columns: maps a metric key to ``(header, decimals, as_percent)``.
        reference: optional ``(label, {key: value})`` row appended last (e.g. real data).
    """
    head = "| loss | " + " | ".join(h for h, _, _ in columns.values()) + " | runs |"
    lines = [head, "|---" * (len(columns) + 2) + "|"]
    for r in rows:
        cells = [_fmt(*r[k], d, percent=p) for k, (_, d, p) in columns.items()]
        lines.append(f"| `{r['loss']}` | " + " | ".join(cells) + f" | {r['runs']} |")
    if reference is not None:
        label, values = reference
        cells = [
            f"{100 * values[k]:.{d}f} %" if p else f"{values[k]:.{d}f}"
            for k, (_, d, p) in columns.items()
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " | |")
    return "\n".join(lines)


def _digit_axes(fig: Figure, k: int, size: float):
    """``k`` axes in one row for digit grids, without ticks or spines."""
    axes = np.atleast_1d(fig.subplots(1, k))
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.84, wspace=0.06)
    return axes


def digit_panels(
    panels: Sequence[tuple[str, np.ndarray]], rows: int = 8, cols: int = 8, size: float = 2.7
) -> Figure:
    """Digit grids side by side at one scale: ``panels`` holds ``(title, images)`` pairs with
    images ``(n, 64)`` in [-1, 1]; each grid shows the first ``rows * cols`` images in a square
    of ``size`` inches (e.g. real digits beside generated ones)."""
    rows = check_positive_int(rows, "rows")
    cols = check_positive_int(cols, "cols")
    if not panels:
        raise ValueError("panels must hold at least one (title, images) pair")
    fig = Figure(figsize=(size * len(panels), size * rows / cols + 0.55), layout="none")
    FigureCanvasAgg(fig)
    for ax, (title, images) in zip(_digit_axes(fig, len(panels), size), panels, strict=True):
        ax.imshow(digit_grid(np.asarray(images), rows, cols), cmap="gray_r", vmin=-1, vmax=1)
        ax.set_title(title, fontsize=9)
    return fig


def digits_real_figure(
    frames: Sequence[BatchFrame],
    models: Sequence[int],
    labels: Sequence[str],
    real: np.ndarray,
    rows: int = 8,
    cols: int = 8,
    size: float = 2.7,
):
    """Like :func:`digits_figure`, with a grid of real digits ``real`` first and every grid at
    the same, larger scale; returns ``(fig, update)``, ``update(i)`` showing frame ``i``."""
    if len(models) != len(labels):
        raise ValueError("models and labels must have the same length")
    panels = [("real digits (held out)\n", real)]
    panels += [(label, frames[0].samples[e]) for label, e in zip(labels, models, strict=True)]
    fig = digit_panels(panels, rows, cols, size)
    axes = fig.axes
    ims = [ax.images[0] for ax in axes[1:]]

    def update(i: int) -> None:
        f = frames[i]
        m = f.metrics
        for ax, im, label, e in zip(axes[1:], ims, labels, models, strict=True):
            im.set_data(digit_grid(f.samples[e], rows, cols))
            text = f"{label}, step {f.step}\n{_count(m['classes'][e], 'class')}"
            if "fid" in m:
                text += f", Fréchet {m['fid'][e]:.2f}"
            ax.set_title(text, fontsize=9)

    update(len(frames) - 1)
    return fig, update


def digits_real_player(
    frames: Sequence[BatchFrame],
    models: Sequence[int],
    labels: Sequence[str],
    real: np.ndarray,
    rows: int = 8,
    cols: int = 8,
):
    """:func:`digits_real_figure` over the recorded frames (a frame player in the HTML book, a
    slider in JupyterLab), starting at the last frame."""
    if len(frames) < 2:
        raise ValueError("frames needs at least two recorded moments")
    fig, update = digits_real_figure(frames, models, labels, real, rows, cols)
    values = list(range(len(frames)))
    return widgets.explore(fig, update, values, description="frame", dpi=100, start=values[-1])
