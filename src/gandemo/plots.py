"""Plot helpers shared by the chapters. Functions take ``ax=None`` and return what they drew;
none calls ``plt.show()``."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from . import losses, widgets

__all__ = [
    "COLORS",
    "get_ax",
    "log_grid",
    "plot_bce_costs",
    "plot_estimate_spread",
    "use_style",
    "value_estimate_explorer",
]

#: One colour per role, used consistently in every chapter.
COLORS = {
    "data": "#1f77b4",  # p_data, real samples
    "gen": "#d62728",  # p_g, generated samples
    "disc": "#2ca02c",  # D, D*
    "sat": "#9467bd",  # saturating generator loss
    "ns": "#ff7f0e",  # non-saturating generator loss
    "ref": "#555555",  # reference values, laws, equilibria
}


def use_style() -> None:
    """Apply the book's matplotlib style (sizes tuned for the HTML page)."""
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
    """Powers of two from ``2**lo`` to ``2**hi``, as ints."""
    return 2 ** np.arange(lo, hi + 1)


def plot_bce_costs(ax=None, n: int = 400):
    r"""Per-example BCE cost against the predicted probability, one curve per label.

    :math:`-\log p` for a real example (y = 1) and :math:`-\log(1 - p)` for a generated one
    (y = 0), each point computed with :func:`gandemo.losses.bce`.
    """
    ax = get_ax(ax)
    p = np.linspace(1e-3, 1 - 1e-3, n)
    for y, color, label in [
        (1.0, COLORS["data"], "real example, $y=1$: $-\\log p$"),
        (0.0, COLORS["gen"], "generated example, $y=0$: $-\\log(1-p)$"),
    ]:
        cost = [float(losses.bce([pi], [y])) for pi in p]
        ax.plot(p, cost, color=color, label=label)
    ax.set_xlabel("$p = D(x)$, the predicted probability of 'real'")
    ax.set_ylabel("BCE cost of one example")
    ax.set_ylim(0, 5)
    ax.legend(loc="upper center")
    return ax


def plot_estimate_spread(m_values, empirical_std, law_std, ax=None):
    """Log-log plot of the spread of an estimate against the batch size, with its 1/sqrt(m) law."""
    ax = get_ax(ax)
    m_values = np.asarray(m_values, dtype=float)
    ax.loglog(
        m_values,
        law_std,
        color=COLORS["ref"],
        lw=2,
        alpha=0.6,
        label=r"law $\sqrt{(\sigma^2_\mathrm{real}+\sigma^2_\mathrm{fake})/m}$",
    )
    ax.loglog(
        m_values,
        empirical_std,
        "o",
        color=COLORS["disc"],
        label="measured std over repeated batches",
    )
    ax.set_xlabel("batch size $m$ (real and generated examples each)")
    ax.set_ylabel(r"std of $\hat V$")
    ax.set_xscale("log", base=2)
    ax.legend()
    return ax


def value_estimate_explorer(estimates: dict, true_value: float, law_std, bins: int = 40):
    r"""Slider over the batch size m: the histogram of repeated minibatch estimates of V.

    The left panel keeps one axis for every m. The smallest batch has the widest and most skewed
    spread, so the axis spans at least the 0.5 % to 99.5 % quantiles of its estimates (and the
    0.2 % to 99.8 % quantiles of all estimates), plus 5 % on each side: the long tail of a small
    batch stays in view. The right panel zooms to the law's :math:`\pm 4.5` standard deviations.

    Args:
        estimates: maps each batch size m to an array of independent estimates.
        true_value: V(D, G) computed by quadrature.
        law_std: callable m -> predicted standard deviation of the estimate.
        bins: histogram bins, spread over the estimates in view in each panel.

    Returns:
        A :class:`gandemo.widgets.Explorer` (live slider in JupyterLab, frame player in HTML).
    """
    if len(estimates) < 2:
        raise ValueError("estimates needs at least two batch sizes")
    m_values = sorted(estimates)
    all_values = np.concatenate([estimates[m] for m in m_values])
    widest = np.asarray(estimates[m_values[0]], dtype=float)
    lo = min(np.quantile(widest, 0.005), np.quantile(all_values, 0.002))
    hi = max(np.quantile(widest, 0.995), np.quantile(all_values, 0.998))
    pad = 0.05 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    fig, (ax_fixed, ax_zoom) = plt.subplots(1, 2, figsize=(9.0, 3.4))

    def draw(ax, est, s, left, right, title):
        ax.cla()
        x = np.linspace(left, right, 400)
        # the bins span the estimates (within the axis), so a narrow histogram keeps its shape
        first, last = max(left, float(np.min(est))), min(right, float(np.max(est)))
        if last <= first:
            first, last = left, right
        ax.hist(
            est,
            bins=np.linspace(first, last, bins + 1),
            density=True,
            color=COLORS["disc"],
            alpha=0.55,
            label=f"{len(est)} estimates $\\hat V$",
        )
        ax.plot(
            x,
            np.exp(-0.5 * ((x - true_value) / s) ** 2) / (s * np.sqrt(2 * np.pi)),
            color=COLORS["ref"],
            label=f"normal, std {s:.3f} (the law)",
        )
        ax.axvline(true_value, color="k", ls="--", lw=1.2, label=f"$V(D,G)$ = {true_value:.4f}")
        ax.set_xlim(left, right)
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(7))
        ax.set_xlabel(r"minibatch estimate $\hat V$")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)

    def update(m):
        est, s = estimates[m], float(law_std(m))
        draw(ax_fixed, est, s, lo, hi, f"m = {m}: same axis for every m")
        ax_fixed.set_ylabel("density")
        ax_fixed.legend(loc="upper left")
        draw(
            ax_zoom,
            est,
            s,
            true_value - 4.5 * s,
            true_value + 4.5 * s,
            f"zoom to $V \\pm 4.5$ std: mean {est.mean():.4f}, std {est.std(ddof=1):.4f}",
        )

    return widgets.explore(fig, update, m_values, description="batch size m")
