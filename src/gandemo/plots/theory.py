r"""Figures of the game's exact quantities (:mod:`gandemo.theory`): Monte Carlo estimates of V,
the optimal discriminator, the criterion C(G), the non-saturating f-divergence and Gaussian-fit
landscapes (chapters 1 to 3).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .. import theory, widgets
from ..widgets import Choice, MultiExplorer, Slider
from .style import COLORS, LOSS_COLORS, get_ax

__all__ = [
    "dstar_explorer",
    "plot_estimate_spread",
    "plot_landscapes",
    "plot_learned_vs_optimal",
    "plot_non_saturating_f",
    "plot_c_of_g",
    "value_estimate_explorer",
]


def plot_estimate_spread(m_values, empirical_std, law_std, ax=None):
    """Log-log plot of the spread of an estimate against the batch size, with its 1/sqrt(m) law.

    Introduced in :doc:`/chapters/01_bce_to_value_function`.
    """
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

    Introduced in :doc:`/chapters/01_bce_to_value_function`.

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


def _grid_jsd(p, q, x) -> float:
    return float(theory.jsd_on_grid(p.pdf(x), q.pdf(x), x))


def dstar_explorer(
    data_options: dict,
    means: Sequence[float] = (-2.0, 0.0, 2.0),
    stds: Sequence[float] = (0.5, 1.0, 2.0),
    mean_slider: Slider = Slider(-4.0, 4.0, 0.25, 0.0),
    std_slider: Slider = Slider(0.25, 3.0, 0.25, 1.0),
    x_range: tuple[float, float] = (-6.0, 6.0),
) -> MultiExplorer:
    r"""The optimal discriminator for a chosen :math:`p_\text{data}` and a Gaussian
    :math:`p_g = \mathcal N(\mu, \sigma^2)`.

    Introduced in :doc:`/chapters/02_optimal_discriminator`.

    Top: the two densities; bottom: :math:`D^*(x) = p_\text{data}/(p_\text{data} + p_g)` with the
    line 1/2. The title gives JSD and :math:`C(G) = -\log 4 + 2\,\mathrm{JSD}` (grid integration).

    Args:
        data_options: maps a label to a data density (the dropdown).
        means, stds: the values combined (with every option) into the HTML frames.
        mean_slider, std_slider: the live sliders.
        x_range: the plotted interval.
    """
    if len(data_options) < 2:
        raise ValueError("data_options needs at least two densities")
    frames = [
        {"p_data": name, "mean": float(m), "std": float(s)}
        for name in data_options
        for m in means
        for s in stds
    ]
    x = np.linspace(*x_range, 1201)
    x_int = np.linspace(x_range[0] - 10, x_range[1] + 10, 8001)
    fig, (ax_p, ax_d) = plt.subplots(2, 1, figsize=(7.0, 5.0), sharex=True)
    ymax = 1.1 * max(
        float(np.max(p.pdf(x))) for p in [*data_options.values(), theory.Gaussian1D(0, min(stds))]
    )

    def update(p_data, mean, std):
        pd_, pg = data_options[p_data], theory.Gaussian1D(mean, std)
        ax_p.cla()
        ax_d.cla()
        ax_p.fill_between(x, pd_.pdf(x), color=COLORS["data"], alpha=0.25)
        ax_p.plot(x, pd_.pdf(x), color=COLORS["data"], label=r"$p_\mathrm{data}$")
        ax_p.plot(x, pg.pdf(x), color=COLORS["gen"], label=rf"$p_g = N({mean:g}, {std:g}^2)$")
        ax_p.set_ylim(0, max(ymax, 1.1 * float(np.max(pg.pdf(x)))))
        ax_p.set_ylabel("density")
        ax_p.legend(loc="upper right")
        jsd = _grid_jsd(pd_, pg, x_int)
        ax_p.set_title(
            f"p_data: {p_data}   JSD = {jsd:.3f}   "
            f"C(G) = -log 4 + 2 JSD = {2 * jsd - np.log(4):.3f}"
        )
        ax_d.axhline(0.5, color=COLORS["ref"], ls="--", lw=1, label="1/2")
        ax_d.plot(
            x,
            theory.optimal_discriminator(pd_, pg, x),
            color=COLORS["disc"],
            lw=2,
            label=r"$D^*(x) = p_\mathrm{data} / (p_\mathrm{data} + p_g)$",
        )
        ax_d.set_ylim(-0.03, 1.03)
        ax_d.set_xlim(*x_range)
        ax_d.set_xlabel("$x$")
        ax_d.set_ylabel("$D^*(x)$")
        ax_d.legend(loc="upper right")

    controls = {
        "p_data": Choice(tuple(data_options)),
        "mean": mean_slider,
        "std": std_slider,
    }
    return MultiExplorer(fig, update, controls, frames)


def plot_learned_vs_optimal(p_data, p_g, fitted, region, axes=None, x_range=(-6.0, 6.0)):
    r"""A trained discriminator against :math:`D^*`: top the two curves over the densities,
    bottom their difference; outside ``region`` (where the training samples hardly go) is shaded.

    Introduced in :doc:`/chapters/02_optimal_discriminator`.

    Args:
        p_data, p_g: the densities the discriminator was trained on.
        fitted: a :class:`gandemo.theory.FittedDiscriminator`.
        region: ``(lo, hi)``, e.g. :func:`gandemo.theory.mass_interval`.
        axes: two axes, or None for a new figure.
    """
    if axes is None:
        _, axes = plt.subplots(
            2, 1, figsize=(7.0, 4.8), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
        )
    ax, ax_gap = axes
    x = np.linspace(*x_range, 1201)
    d_star = theory.optimal_discriminator(p_data, p_g, x)
    d_net = fitted.prob(x)
    scale = 0.9 / max(float(np.max(p_data.pdf(x))), float(np.max(p_g.pdf(x))))
    ax.fill_between(
        x,
        scale * p_data.pdf(x),
        color=COLORS["data"],
        alpha=0.15,
        label=r"$p_\mathrm{data}$ (scaled)",
    )
    ax.fill_between(x, scale * p_g.pdf(x), color=COLORS["gen"], alpha=0.15, label=r"$p_g$ (scaled)")
    ax.plot(x, d_star, color=COLORS["disc"], lw=3, alpha=0.5, label="$D^*$ (formula)")
    ax.plot(x, d_net, color="k", lw=1.2, ls="--", label="trained MLP $D$")
    ax.set_ylabel("$D(x)$")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax_gap.plot(x, d_net - d_star, color="k", lw=1.2)
    ax_gap.axhline(0, color=COLORS["ref"], lw=0.8)
    ax_gap.set_ylabel("$D - D^*$")
    ax_gap.set_xlabel("$x$")
    inside = (x >= region[0]) & (x <= region[1])
    lim = 1.2 * float(np.max(np.abs(d_net - d_star)[inside]))
    ax_gap.set_ylim(-lim, lim)
    for a in axes:
        a.axvspan(x_range[0], region[0], color="0.85", zorder=0)
        a.axvspan(region[1], x_range[1], color="0.85", zorder=0)
        a.set_xlim(*x_range)
    return axes


def plot_c_of_g(
    shifts,
    c_quad,
    c_jsd,
    c_mc,
    c_mc_se,
    p_data,
    std,
    shown=(3.0, 1.5, 0.0),
    ns=None,
    axes=None,
):
    r""":math:`C(G)` as :math:`p_g = \mathcal N(\mu, \sigma^2)` slides onto :math:`p_\text{data}`.

    Introduced in :doc:`/chapters/02_optimal_discriminator`.

    Top left: the three computations (quadrature of :math:`V(D^*, G)`,
    :math:`-\log 4 + 2\,\mathrm{JSD}`, Monte-Carlo with error bars) against :math:`\mu`, with
    the minimum :math:`-\log 4` and the ceiling 0. Top right: :math:`D^*` for a few of the
    shifts; at the minimum it is the constant 1/2. Bottom (only with ``ns``): :math:`C(G)` on the
    left axis and the objective of the non-saturating generator at :math:`D^*` on the right one.

    Args:
        shifts: the means :math:`\mu` of :math:`p_g`.
        c_quad, c_jsd, c_mc, c_mc_se: :math:`C(G)` at ``shifts`` by quadrature, by the JSD, by
            Monte Carlo, and the standard errors of the Monte-Carlo means.
        p_data: the data density (for the :math:`D^*` panel).
        std: the standard deviation of :math:`p_g`.
        shown: the shifts whose :math:`D^*` is drawn.
        ns: :math:`\mathrm{KL}(p_g \| p_\text{data}) - 2\,\mathrm{JSD}` at ``shifts``
            (:func:`gandemo.theory.non_saturating_objective`), or None for no bottom panel.
        axes: two axes (three with ``ns``), or None for a new figure.

    Returns:
        The axes, in the order above.
    """
    if axes is None:
        if ns is None:
            _, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
        else:
            fig = plt.figure(figsize=(9.5, 7.2), layout="constrained")
            mosaic = fig.subplot_mosaic([["c", "d"], ["ns", "ns"]])
            axes = [mosaic["c"], mosaic["d"], mosaic["ns"]]
    ax_c, ax_d = axes[0], axes[1]
    shifts = np.asarray(shifts, dtype=float)
    ax_c.axhline(0.0, color="k", lw=1, label=r"ceiling $0 = -\log 4 + 2 \log 2$")
    ax_c.plot(
        shifts, c_quad, color=COLORS["disc"], lw=2.5, alpha=0.6, label=r"quadrature of $V(D^*, G)$"
    )
    ax_c.plot(shifts, c_jsd, color="k", ls=":", lw=1.5, label=r"$-\log 4 + 2\,\mathrm{JSD}$")
    ax_c.errorbar(
        shifts,
        c_mc,
        yerr=2 * np.asarray(c_mc_se),
        fmt="o",
        ms=3,
        color=COLORS["gen"],
        label=r"Monte Carlo $\hat V$ at $D^*$ ($\pm 2$ s.e.)",
    )
    ax_c.axhline(-np.log(4), color=COLORS["ref"], ls="--", lw=1)
    ax_c.plot(
        [0.0],
        [-np.log(4)],
        "*",
        ms=14,
        color=COLORS["ref"],
        label=r"minimum $-\log 4$ at $p_g = p_\mathrm{data}$",
    )
    ax_c.set_ylim(-1.5, 1.0)
    ax_c.set_yticks(np.arange(-1.5, 0.01, 0.25))
    ax_c.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax_c.set_xlabel(r"mean $\mu$ of $p_g$ ($p_\mathrm{data}$ has mean 0)")
    ax_c.set_ylabel(r"$C(G) = \max_D V(D, G)$")
    ax_c.legend(loc="upper center", fontsize=7.5, ncols=2, framealpha=0.9)
    x = np.linspace(-5, 6, 800)
    for i, mu in enumerate(shown):
        alpha = 0.35 + 0.65 * i / max(len(shown) - 1, 1)
        ax_d.plot(
            x,
            theory.optimal_discriminator(p_data, theory.Gaussian1D(mu, std), x),
            color=COLORS["disc"],
            alpha=alpha,
            lw=2,
            label=rf"$\mu = {mu:g}$",
        )
    ax_d.axhline(0.5, color=COLORS["ref"], ls="--", lw=1)
    ax_d.set_xlabel("$x$")
    ax_d.set_ylabel("$D^*(x)$")
    ax_d.set_title(r"$D^*$ flattens to 1/2 as $p_g \to p_\mathrm{data}$")
    ax_d.legend(loc="lower left")
    if ns is None:
        return axes
    ax_ns = axes[2]
    ax_ns.axhline(0.0, color="k", lw=1)
    ax_ns.plot(shifts, c_quad, color=LOSS_COLORS["saturating"], lw=2.5, label=r"$C(G)$ (left axis)")
    ax_ns.set_ylabel(r"$C(G)$", color=LOSS_COLORS["saturating"])
    ax_ns.tick_params(axis="y", colors=LOSS_COLORS["saturating"])
    ax_ns.set_ylim(-1.5, 0.1)
    ax_ns.set_xlabel(r"mean $\mu$ of $p_g$")
    ax_f = ax_ns.twinx()
    ax_f.plot(
        shifts,
        ns,
        color=LOSS_COLORS["non-saturating"],
        lw=2.5,
        label=r"$\mathrm{KL}(p_g \| p_\mathrm{data}) - 2\,\mathrm{JSD}$ (right axis)",
    )
    far = np.linspace(2.0, shifts.max(), 100)
    ax_f.plot(
        np.concatenate([-far[::-1], [np.nan], far]),
        np.concatenate([far[::-1] ** 2 / 2, [np.nan], far**2 / 2]) - 2 * np.log(2),
        color=LOSS_COLORS["non-saturating"],
        ls=":",
        lw=1.5,
        label=r"$\mu^2 / 2 - 2 \log 2$ (right axis)",
    )
    ax_f.set_ylabel("non-saturating objective", color=LOSS_COLORS["non-saturating"])
    ax_f.tick_params(axis="y", colors=LOSS_COLORS["non-saturating"])
    # both minima (-log 4 and 0) at the same height, so the two shapes compare directly
    lo, hi = ax_ns.get_ylim()
    frac = (-np.log(4) - lo) / (hi - lo)
    top = 1.05 * float(np.max(ns))
    ax_f.set_ylim(-top * frac / (1 - frac), top)
    handles = ax_ns.get_legend_handles_labels()[0] + ax_f.get_legend_handles_labels()[0]
    ax_f.legend(handles=handles, loc="upper center", fontsize=8)
    ax_ns.set_title("The two generator objectives at $D^*$: one flattens, the other keeps growing")
    return [ax_c, ax_d, ax_ns, ax_f]


def plot_non_saturating_f(ax=None, u_max: float = 6.0):
    r"""The generator functions :math:`f` of three f-divergences :math:`\int p_\text{data}
    f(p_g/p_\text{data})`: the non-saturating objective, :math:`2\,\mathrm{JSD}` and the
    reverse KL, each normalised to :math:`\tilde f(u) = f(u) - f'(1)(u - 1)`.

    Introduced in :doc:`/chapters/03_nonsaturating_objective`.

    Adding :math:`c(u - 1)` to :math:`f` does not change :math:`D_f` (because
    :math:`\int p_\text{data}(p_g/p_\text{data} - 1) = 0`), so the normalised curves define the
    same divergences; they are non-negative, with minimum 0 at :math:`u = 1`. The three lines carry
    the ids (``Line2D.get_gid``) ``"ns"``, ``"2jsd"`` and ``"rkl"``; their data start at
    :math:`u = 0`.
    """
    from scipy.special import xlogy

    ax = get_ax(ax)
    u = np.linspace(0.0, u_max, 601)
    f_ns = theory.non_saturating_f(u) - (u - 1)  # f'(1) = 1
    f_js = xlogy(u, 2 * u / (1 + u)) + np.log(2 / (1 + u))  # f'(1) = 0
    f_rkl = xlogy(u, u) - (u - 1)  # f'(1) = 1
    ax.plot(
        u,
        f_ns,
        color=LOSS_COLORS["non-saturating"],
        lw=2,
        gid="ns",
        label=r"non-saturating: $(1+u)\log\frac{1+u}{2} - (u - 1)$",
    )
    ax.plot(
        u,
        f_js,
        color=LOSS_COLORS["saturating"],
        lw=2,
        gid="2jsd",
        label=r"$2\,$JSD: $u\log\frac{2u}{1+u} + \log\frac{2}{1+u}$",
    )
    ax.plot(
        u, f_rkl, color=COLORS["ref"], ls="--", gid="rkl", label=r"reverse KL: $u \log u - (u - 1)$"
    )
    ax.axvline(1, color="k", lw=0.8, alpha=0.5)
    ax.axhline(0, color="k", lw=0.8, alpha=0.5)
    ax.set_xlabel(r"$u = p_g(x) / p_\mathrm{data}(x)$")
    ax.set_ylabel(r"$\tilde f(u) = f(u) - f'(1)(u - 1)$")
    ax.set_ylim(-0.3, 6)
    ax.legend(loc="upper left")
    return ax


def _grid_local_minima(z: np.ndarray) -> list[tuple[int, int]]:
    """Interior grid points of ``z`` strictly below their eight neighbours."""
    core = z[1:-1, 1:-1]
    is_min = np.ones(core.shape, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_min &= core < z[1 + di : z.shape[0] - 1 + di, 1 + dj : z.shape[1] - 1 + dj]
    return [(int(i) + 1, int(j) + 1) for i, j in zip(*np.nonzero(is_min), strict=True)]


def plot_landscapes(landscape: dict, p_data, axes=None, x_range=(-6.0, 6.0)):
    r"""The minimax objective :math:`2\,\mathrm{JSD} - \log 4` and the non-saturating one
    :math:`\mathrm{KL} - 2\,\mathrm{JSD}` over Gaussians :math:`\mathcal N(\mu, \sigma^2)`, with
    their grid minima, and the best Gaussians drawn over :math:`p_\text{data}`.

    Introduced in :doc:`/chapters/03_nonsaturating_objective`.

    The filled contours are drawn at quantiles of the plotted values (quantile levels spaced as
    :math:`(k/15)^2`, so denser near the minimum). Every interior grid point below its eight
    neighbours is marked: a star where the value is the global minimum of the grid, an open
    circle for a local minimum above it.

    Args:
        landscape: the dict of :func:`gandemo.theory.gaussian_fit_landscape`.
        p_data: the data density.

    Returns:
        The axes and a dict mapping each objective to its grid-local minima, a list of
        ``(mu, sigma, value)`` sorted by value (the first is the global minimum of the grid).
    """
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(12.0, 3.8))
    means, stds = landscape["means"], landscape["stds"]
    best = {}
    specs = [
        ("minimax", LOSS_COLORS["saturating"], r"minimax: $2\,\mathrm{JSD} - \log 4$"),
        (
            "non-saturating",
            LOSS_COLORS["non-saturating"],
            r"non-saturating: $\mathrm{KL} - 2\,\mathrm{JSD}$",
        ),
    ]
    for ax, (key, color, title) in zip(axes[:2], specs, strict=True):
        z = landscape[key]
        levels = np.unique(np.quantile(z, np.linspace(0, 1, 16) ** 2))
        cs = ax.contourf(means, stds, z, levels=levels, cmap="viridis_r")
        ax.contour(means, stds, z, levels=levels, colors="w", linewidths=0.4)
        plt.colorbar(cs, ax=ax, format="%.2f", label=title.split(": ")[1] + " (levels: quantiles)")
        minima = sorted(
            ((float(means[j]), float(stds[i]), float(z[i, j])) for i, j in _grid_local_minima(z)),
            key=lambda m: m[2],
        )
        best[key] = minima
        for mu, sigma, value in minima:
            is_global = value - minima[0][2] < 1e-9
            ax.plot(
                mu,
                sigma,
                "*" if is_global else "o",
                ms=16 if is_global else 10,
                color=color if is_global else "none",
                mec="w",
                mew=1.5,
                label=rf"{'min' if is_global else 'local min'} at "
                rf"$\mu={mu:.2f}, \sigma={sigma:.2f}$: {value:.3f}",
            )
        ax.set_xlabel(r"$\mu$ of $p_g$")
        ax.set_ylabel(r"$\sigma$ of $p_g$")
        ax.set_title(title)
        ax.legend(loc="upper right", fontsize=7, frameon=True)
        ax.grid(False)
    ax = axes[2]
    x = np.linspace(*x_range, 1000)
    ax.fill_between(x, p_data.pdf(x), color=COLORS["data"], alpha=0.3, label=r"$p_\mathrm{data}$")
    for key, color, _ in specs:
        mu, sigma, _v = max(m for m in best[key] if m[2] - best[key][0][2] < 1e-9)
        ax.plot(
            x, theory.Gaussian1D(mu, sigma).pdf(x), color=color, lw=2, label=f"best $p_g$, {key}"
        )
    ax.set_xlabel("$x$")
    ax.set_ylabel("density")
    ax.set_title("the two minimisers")
    ax.legend(loc="upper left", fontsize=8)
    return axes, best
