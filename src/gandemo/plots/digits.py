r"""Figures of handwritten digits (:mod:`gandemo.digits`): image grids of generated and real
digits, still or replayed frame by frame (chapter 9).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import widgets
from ..recording import SampleFrame
from ..utils import check_positive_int
from .style import plural

__all__ = [
    "digit_grid",
    "digit_panels",
    "digits_figure",
    "digits_player",
    "digits_real_figure",
    "digits_real_player",
]


def digit_grid(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``rows * cols`` images ``(n, 64)`` in [-1, 1] tiled into one ``(8 rows + gaps)`` array
    (NaN in the one-pixel gaps).

    Introduced in :doc:`/chapters/09_digits`.
    """
    side = 8
    out = np.full((rows * (side + 1) - 1, cols * (side + 1) - 1), np.nan)
    for k in range(min(rows * cols, len(images))):
        r, c = divmod(k, cols)
        out[r * (side + 1) : r * (side + 1) + side, c * (side + 1) : c * (side + 1) + side] = (
            images[k].reshape(side, side)
        )
    return out


def digits_figure(frames: Sequence[SampleFrame], models: Sequence[int], labels: Sequence[str]):
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
                f"{label}\n{plural(m['classes'][e], 'class')}, conf. {m['confidence'][e]:.2f}",
                fontsize=8,
            )
        sup.set_text(f"step {f.step}")

    return fig, update


def digits_player(frames: Sequence[SampleFrame], models: Sequence[int], labels: Sequence[str]):
    """Digit grids of the chosen models over the recorded frames (a frame player in the HTML
    book, a slider in JupyterLab)."""
    if len(frames) < 2:
        raise ValueError("frames needs at least two recorded moments")
    fig, update = digits_figure(frames, models, labels)
    return widgets.explore(fig, update, list(range(len(frames))), description="frame", dpi=80)


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
    of ``size`` inches (e.g. real digits beside generated ones).

    Introduced in :doc:`/chapters/09_digits`.
    """
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
    frames: Sequence[SampleFrame],
    models: Sequence[int],
    labels: Sequence[str],
    real: np.ndarray,
    rows: int = 8,
    cols: int = 8,
    size: float = 2.7,
):
    """Like :func:`digits_figure`, with a grid of real digits ``real`` first and every grid at
    the same, larger scale; returns ``(fig, update)``, ``update(i)`` showing frame ``i``.

    Introduced in :doc:`/chapters/09_digits`.
    """
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
            text = f"{label}, step {f.step}\n{plural(m['classes'][e], 'class')}"
            if "fid" in m:
                text += f", Fréchet {m['fid'][e]:.2f}"
            ax.set_title(text, fontsize=9)

    update(len(frames) - 1)
    return fig, update


def digits_real_player(
    frames: Sequence[SampleFrame],
    models: Sequence[int],
    labels: Sequence[str],
    real: np.ndarray,
    rows: int = 8,
    cols: int = 8,
):
    """:func:`digits_real_figure` over the recorded frames (a frame player in the HTML book, a
    slider in JupyterLab), starting at the last frame.

    Introduced in :doc:`/chapters/09_digits`.
    """
    if len(frames) < 2:
        raise ValueError("frames needs at least two recorded moments")
    fig, update = digits_real_figure(frames, models, labels, real, rows, cols)
    values = list(range(len(frames)))
    return widgets.explore(fig, update, values, description="frame", dpi=100, start=values[-1])
