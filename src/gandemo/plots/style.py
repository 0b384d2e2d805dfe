r"""The book's figure style: one colour per role and per loss, the matplotlib settings, and small
axes and text helpers shared by every figure module.
"""

from __future__ import annotations

import math

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "COLORS",
    "LOSS_COLORS",
    "MODE_COLORS",
    "OFF_MODE",
    "freeze_layout",
    "get_ax",
    "log_grid",
    "plural",
    "use_style",
]


#: One colour per role, used in every chapter; each loss has its own in LOSS_COLORS.
COLORS = {
    "data": "#1f77b4",  # p_data, real samples
    "gen": "#d62728",  # p_g, generated samples
    "disc": "#2ca02c",  # D, D*
    "ref": "#555555",  # reference values, laws, equilibria
}


def use_style() -> None:
    """Apply the book's matplotlib style (sizes tuned for the HTML page).

    Introduced in :doc:`/chapters/01_bce_to_value_function`.
    """
    mpl.rcParams.update(
        {
            "figure.figsize": (7.0, 3.6),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.constrained_layout.use": True,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "legend.frameon": False,
        }
    )


def get_ax(ax=None, **subplot_kw):
    """Return ``ax``, or a new axes on a new figure when ``ax`` is None."""
    if ax is None:
        _, ax = plt.subplots(**subplot_kw)
    return ax


def log_grid(lo: int, hi: int) -> np.ndarray:
    """Powers of two from ``2**lo`` to ``2**hi``, as ints.

    Introduced in :doc:`/chapters/01_bce_to_value_function`.
    """
    return 2 ** np.arange(lo, hi + 1)


def freeze_layout(fig) -> None:
    """Lay the figure out once, then keep that layout: the sliders only change data and titles,
    and re-running constrained layout for every frame would dominate the build time."""
    fig.canvas.draw()
    fig.set_layout_engine("none")


#: Colours of the modes in :func:`gandemo.plots.latent.latent_map` (qualitative; grey is
#: no mode).
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


#: One colour per loss of :data:`gandemo.losses.LOSSES`, used for that loss in every figure.
LOSS_COLORS = {
    "saturating": "#9467bd",
    "non-saturating": "#ff7f0e",
    "least-squares": "#17becf",
    "hinge": "#e377c2",
    "wasserstein-gp": "#8c564b",
}


def plural(k: float, noun: str) -> str:
    """``"1 mode"``, ``"3 modes"``, ``"1 class"``, ``"0 classes"`` (``"n/a modes"`` for NaN)."""
    plural = noun + ("es" if noun.endswith("s") else "s")
    if not math.isfinite(k):
        return f"n/a {plural}"
    k = round(float(k))
    return f"{k} {noun if k == 1 else plural}"
