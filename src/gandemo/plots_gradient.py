r"""Figures and sliders of Part II (chapters 4 and 5): the generator's gradient and loss curves.

Every cost and slope drawn here is computed through :mod:`gandemo.losses` (in logit space, with
autograd for the derivatives), except Goodfellow's maximum-likelihood cost, which the package
does not train with and which is written out: :math:`J = -\tfrac12 e^{\sigma^{-1}(D)}`.
Functions take ``ax=None`` (or ``axes``) and return what they drew; none calls ``plt.show()``.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import NullFormatter

from . import losses, widgets
from .plots import COLORS, get_ax

__all__ = [
    "EQUILIBRIUM",
    "cost_curves",
    "discriminator_explorer",
    "plot_batch_ratios",
    "plot_comparison_runs",
    "plot_cost_derivatives",
    "plot_generator_costs",
    "plot_gradient_spread",
    "plot_jsd_bound",
    "plot_loss_curves",
    "plot_samples_vs_density",
    "plot_total_losses",
    "saturation_explorer",
]

LN2 = math.log(2.0)
#: Loss values when D = 1/2 everywhere (the equilibrium of the game), this book's conventions.
EQUILIBRIUM = {
    "d_loss": 2 * LN2,
    "g_loss_ns": LN2,
    "g_loss_sat": -LN2,
    "value": -2 * LN2,
}
ML_COLOR = COLORS["disc"]


def _logit(d: np.ndarray) -> np.ndarray:
    return np.log(d) - np.log1p(-d)


def cost_curves(logits) -> dict[str, np.ndarray]:
    r"""Per-example generator costs and their slopes at the logits :math:`a`, by autograd.

    Returns a dict of numpy arrays: ``d`` (:math:`\sigma(a)`), the costs ``sat``, ``ns``, ``ml``,
    their derivatives with respect to the logit ``sat_da``, ``ns_da``, ``ml_da`` and with respect
    to D ``sat_dd``, ``ns_dd``, ``ml_dd``. The saturating and non-saturating costs come from
    :func:`gandemo.losses.generator_loss` on one example at a time.
    """
    a = torch.as_tensor(np.asarray(logits, dtype=float), dtype=torch.float64)
    out = {"a": a.numpy(), "d": torch.sigmoid(a).numpy()}
    for name in ("sat", "ns", "ml"):
        values, slopes = [], []
        for ai in a:
            x = ai.clone().requires_grad_(True)
            if name == "ml":
                cost = -0.5 * torch.exp(x)
            else:
                kind = "saturating" if name == "sat" else "non-saturating"
                cost = losses.generator_loss(x.reshape(1), kind)
            (grad,) = torch.autograd.grad(cost, x)
            values.append(float(cost.detach()))
            slopes.append(float(grad))
        out[name] = np.array(values)
        out[f"{name}_da"] = np.array(slopes)
        # dJ/dD = dJ/da * da/dD, with da/dD = 1 / (D (1 - D))
        out[f"{name}_dd"] = out[f"{name}_da"] / (out["d"] * (1 - out["d"]))
    return out


def plot_generator_costs(ax=None, n: int = 300):
    """The three generator costs of Goodfellow's 2016 tutorial against D(G(z))."""
    ax = get_ax(ax)
    d = np.linspace(1e-3, 1 - 1e-3, n)
    c = cost_curves(_logit(d))
    ax.plot(d, c["sat"], color=COLORS["sat"], label=r"saturating: $\log(1 - D)$")
    ax.plot(d, c["ns"], color=COLORS["ns"], label=r"non-saturating: $-\log D$")
    ax.plot(
        d,
        c["ml"],
        color=ML_COLOR,
        ls="--",
        label=r"max. likelihood: $-\frac{1}{2}e^{\sigma^{-1}(D)}$",
    )
    ax.set_ylim(-6, 6)
    ax.set_xlabel(r"$D(G(z))$")
    ax.set_ylabel("generator cost $J$ (minimised)")
    ax.set_title("Generator costs")
    ax.legend(loc="lower left")
    return ax


def plot_cost_derivatives(axes=None, n: int = 300):
    """Two panels: the costs' slopes with respect to D and with respect to the logit a."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    ax_d, ax_a = axes
    d = np.linspace(2e-3, 1 - 2e-3, n)
    c = cost_curves(_logit(d))
    styles = [
        ("sat", COLORS["sat"], "-", "saturating"),
        ("ns", COLORS["ns"], "-", "non-saturating"),
        ("ml", ML_COLOR, "--", "max. likelihood"),
    ]
    for name, color, ls, label in styles:
        ax_d.plot(d, c[f"{name}_dd"], color=color, ls=ls, label=label)
        ax_a.plot(d, c[f"{name}_da"], color=color, ls=ls, label=label)
    ax_d.set_ylim(-12, 0.5)
    ax_d.set_xlabel(r"$D(G(z))$")
    ax_d.set_ylabel(r"$\partial J / \partial D$")
    ax_d.set_title(r"slope against $D$: $-1/(1-D)$ vs $-1/D$")
    ax_d.legend(loc="lower center")
    ax_a.set_ylim(-1.6, 0.1)
    ax_a.set_xlabel(r"$D(G(z))$")
    ax_a.set_ylabel(r"$\partial J / \partial a$")
    ax_a.set_title(r"slope against the logit $a$: $-D$ vs $-(1-D)$")
    ax_a.axhline(-1, color=COLORS["ref"], lw=0.8, ls=":")
    return axes


def _freeze_layout(fig) -> None:
    """Lay the figure out once, then keep that layout: the sliders only change data and titles,
    and re-running constrained layout for every frame would dominate the build time."""
    fig.canvas.draw()
    fig.set_layout_engine("none")


def saturation_explorer(logit_values=None):
    r"""Slider on the discriminator logit :math:`a` of one generated example.

    Left: both costs against :math:`a` with the point and its tangent (slope
    :math:`\partial J/\partial a`). Right: the two slope magnitudes on a log scale and their
    ratio :math:`(1 - D)/D = e^{-a}`, measured by autograd and printed in the title.
    """
    if logit_values is None:
        logit_values = [float(v) for v in np.arange(-9.0, 4.5, 1.0)]
    grid = np.linspace(-10, 5, 301)
    c = cost_curves(grid)
    fig, (ax_c, ax_g) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    moving = {}
    for name, color, label in [
        ("sat", COLORS["sat"], r"saturating $\log(1-D)$"),
        ("ns", COLORS["ns"], r"non-saturating $-\log D$"),
    ]:
        ax_c.plot(grid, c[name], color=color, label=label)
        ax_g.semilogy(grid, np.abs(c[f"{name}_da"]), color=color, label=label)
        (tangent,) = ax_c.plot([], [], color=color, ls="--", lw=1.2)
        (point,) = ax_c.plot([], [], "o", color=color)
        (g_point,) = ax_g.plot([], [], "o", color=color)
        moving[name] = (tangent, point, g_point)
    (bracket,) = ax_g.plot([], [], color=COLORS["ref"], lw=2)
    ax_c.set_xlim(grid[0], grid[-1])
    ax_c.set_ylim(-6, 11)
    ax_c.set_xlabel(r"discriminator logit $a$ on $G(z)$")
    ax_c.set_ylabel("generator cost and tangent")
    ax_c.legend(loc="upper right")
    ax_g.set_xlim(grid[0], grid[-1])
    ax_g.set_ylim(1e-5, 3)
    ax_g.set_xlabel(r"discriminator logit $a$ on $G(z)$")
    ax_g.set_ylabel(r"$|\partial J/\partial a|$")
    ax_g.legend(loc="lower right")
    ax_g.annotate("D rejects G(z)\n(saturation)", xy=(-9.7, 3e-3), fontsize=9, color=COLORS["sat"])
    title_c = ax_c.set_title(" ")
    title_g = ax_g.set_title(" ")
    _freeze_layout(fig)

    def update(a0):
        p = cost_curves([a0])
        d0 = float(p["d"][0])
        for name, (tangent, point, g_point) in moving.items():
            y0, s0 = float(p[name][0]), float(p[f"{name}_da"][0])
            tx = np.array([a0 - 2.0, a0 + 2.0])
            tangent.set_data(tx, y0 + s0 * (tx - a0))
            point.set_data([a0], [y0])
            g_point.set_data([a0], [abs(s0)])
        g_sat, g_ns = abs(float(p["sat_da"][0])), abs(float(p["ns_da"][0]))
        bracket.set_data([a0, a0], [g_sat, g_ns])
        title_c.set_text(f"a = {a0:.1f}, D(G(z)) = {d0:.4f}")
        title_g.set_text(f"ratio ns/sat = {g_ns / g_sat:.4g};  (1-D)/D = {(1 - d0) / d0:.4g}")

    return widgets.explore(fig, update, logit_values, description="logit a", start=-5.0)


def discriminator_explorer(generator, snapshots: dict, stats: list, data, x_range=(-1.5, 5.0)):
    """Slider on k, the discriminator's pre-training steps.

    Left: the data density, a histogram of the (fixed) generator's samples and D(x) after k
    steps. Right: mean batch gradient norm of the generator against k under each loss, the
    current k marked.

    Args:
        generator: the fixed generator.
        snapshots: ``{k: discriminator}`` from :func:`gandemo.saturation.measure_gradients`.
        stats: the matching list of :class:`gandemo.saturation.GradientStats`.
        data: the target, with ``pdf``.
    """
    ks = [s.k for s in stats]
    by_k = {s.k: s for s in stats}
    x = torch.linspace(*x_range, 400)
    xs = x.numpy()
    with torch.no_grad():
        samples = generator.sample(4000, torch.Generator().manual_seed(7)).squeeze(1).numpy()
        d_curves = {k: snapshots[k].prob(x).numpy() for k in ks}
    heights, edges = np.histogram(samples, bins=40, density=True)
    centers, width = 0.5 * (edges[1:] + edges[:-1]), edges[1] - edges[0]
    sat = np.array([s.batch_sat.mean() for s in stats])
    ns = np.array([s.batch_ns.mean() for s in stats])
    fig, (ax_x, ax_g) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    pdf = data.pdf(xs)
    ax_x.fill_between(
        xs,
        0.9 * pdf / pdf.max(),
        color=COLORS["data"],
        alpha=0.25,
        label=r"$p_\mathrm{data}$ (scaled)",
    )
    ax_x.bar(
        centers,
        0.9 * heights / heights.max(),
        width=width,
        color=COLORS["gen"],
        alpha=0.5,
        label="$G(z)$ samples (scaled)",
    )
    (d_line,) = ax_x.plot(xs, d_curves[ks[0]], color=COLORS["disc"], lw=2, label="$D(x)$")
    ax_x.set_xlim(*x_range)
    ax_x.set_ylim(0, 1.05)
    ax_x.set_xlabel("$x$")
    ax_x.legend(loc="upper left")
    ax_g.semilogy(ks, sat, "o-", color=COLORS["sat"], label="saturating")
    ax_g.semilogy(ks, ns, "o-", color=COLORS["ns"], label="non-saturating")
    k_line = ax_g.axvline(ks[0], color=COLORS["ref"], ls="--", lw=1)
    ax_g.set_xlabel("discriminator pre-training steps $k$")
    ax_g.set_ylabel(r"$\|\nabla_\theta L_G\|$ (batch of 64)")
    ax_g.legend(loc="lower left")
    title_x = ax_x.set_title(" ")
    title_g = ax_g.set_title(" ")
    _freeze_layout(fig)

    def update(k):
        d_line.set_ydata(d_curves[k])
        k_line.set_xdata([k, k])
        title_x.set_text(f"k = {k}: mean D(G(z)) = {by_k[k].d_fake:.4f}")
        ratio = by_k[k].batch_ratio.mean()
        title_g.set_text(f"generator gradient norm; ratio ns/sat = {ratio:.3g}")

    return widgets.explore(fig, update, ks, description="k (D steps)", start=ks[-1])


def plot_batch_ratios(stats: list, ax=None):
    """Measured gradient ratios against (1 - D)/D: every sample and every batch, log-log."""
    ax = get_ax(ax)
    lo, hi = np.inf, 0.0
    for i, s in enumerate(stats):
        ax.loglog(
            s.predicted_sample_ratio,
            s.sample_ratio,
            ".",
            color=COLORS["ns"],
            alpha=0.5,
            label="one sample" if i == 0 else None,
        )
        ax.loglog(
            s.predicted_batch_ratio,
            s.batch_ratio,
            "x",
            color=COLORS["sat"],
            ms=4,
            label=r"one batch of 64, against $(1-\bar D)/\bar D$" if i == 0 else None,
        )
        lo = min(lo, s.predicted_sample_ratio.min(), s.batch_ratio.min())
        hi = max(hi, s.predicted_sample_ratio.max(), s.batch_ratio.max())
    line = np.array([lo / 1.5, hi * 1.5])
    ax.loglog(line, line, color=COLORS["ref"], lw=1, label="measured = predicted")
    ax.set_xlabel(r"predicted ratio $(1 - D)/D$")
    ax.set_ylabel(r"measured $\|\nabla_\theta L^\mathrm{ns}\| / \|\nabla_\theta L^\mathrm{sat}\|$")
    ax.set_title("gradient ratio: measured by autograd vs predicted")
    ax.legend(loc="upper left")
    return ax


def plot_comparison_runs(runs: dict, axes=None, target_mean=None):
    """Mean D(G(z)), generator gradient norm and the generated mean over training, both runs.

    Args:
        runs: ``{kind: ModelHistory}`` from :func:`gandemo.saturation.compare_runs` (the
            generated mean is its metric ``"mean"``).
        target_mean: the data mean, drawn as a dashed line in the last panel.
    """
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(11.0, 3.5))
    ax_d, ax_g, ax_m = axes
    for kind, h in runs.items():
        color = COLORS["sat"] if kind == "saturating" else COLORS["ns"]
        ax_d.plot(h.step, h.d_fake, color=color, label=kind)
        ax_g.semilogy(h.step, h.g_grad_norm, color=color, label=kind)
        ax_m.plot(h.metric_step, h.metrics["mean"], color=color, label=kind)
    ax_d.set_ylim(-0.02, 1.0)
    ax_d.set_title("mean $D(G(z))$")
    ax_g.set_title(r"$\|\nabla_\theta L_G\|$")
    ax_m.set_title("mean of the generated samples")
    if target_mean is not None:
        ax_m.axhline(target_mean, color=COLORS["data"], ls="--", lw=1, label="data mean")
    for ax in axes:
        ax.set_xlabel("training step")
    ax_d.legend()
    ax_m.legend()
    return axes


def plot_loss_curves(history, axes=None, smooth: int = 1, metric_samples=None, bins: int = 60):
    """Losses with their equilibrium values (left) beside the JSD to the data (right).

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
    g_ref = EQUILIBRIUM["g_loss_ns" if history.loss == "non-saturating" else "g_loss_sat"]
    ax_l.plot(steps, sm(history.d_loss), color=COLORS["disc"], label="D loss $-\\hat V$")
    ax_l.plot(
        steps,
        sm(history.g_loss),
        color=COLORS["ns" if g_ref > 0 else "sat"],
        label=f"G loss ({history.loss})",
    )
    ax_l.axhline(
        EQUILIBRIUM["d_loss"],
        color=COLORS["disc"],
        ls=":",
        lw=1.2,
        label=r"$2\ln 2$ (D at equilibrium)",
    )
    ax_l.axhline(
        g_ref,
        color=COLORS["ns" if g_ref > 0 else "sat"],
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


def plot_total_losses(runs: dict, ax=None):
    """The seed's "total loss" D loss + G loss of each run, with its equilibrium value.

    Args:
        runs: ``{kind: ModelHistory}``, one run per generator loss kind.
    """
    ax = get_ax(ax)
    for kind, h in runs.items():
        color = COLORS["sat"] if kind == "saturating" else COLORS["ns"]
        ref = (
            EQUILIBRIUM["d_loss"]
            + EQUILIBRIUM["g_loss_ns" if kind == "non-saturating" else "g_loss_sat"]
        )
        ax.plot(h.step, h.d_loss + h.g_loss, color=color, label=f"D loss + G loss ({kind})")
        ax.axhline(ref, color=color, ls=":", lw=1.2, label=f"equilibrium {ref:.4f}")
    ax.set_xlabel("training step")
    ax.set_ylabel("total loss")
    ax.set_title('the "total loss" of both runs')
    ax.legend(fontsize=8)
    return ax


def plot_samples_vs_density(samples, density, ax=None, x_range=None, title=None):
    """Histogram of generated 1-D samples over the target density."""
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


def plot_jsd_bound(histories, axes=None):
    r"""The lower bound :math:`\ln 2 - L_D/2` on the JSD, from the logged discriminator loss,
    beside the binned JSD of the samples (chapter 5).

    Left: both over the training steps, one pair of curves per run (the first run bold).
    Right: every record as a point (:math:`L_D`, binned JSD), with the line
    :math:`\mathrm{JSD} = \ln 2 - L_D/2`; the true JSD of a run can never lie below that line
    (the shaded region), and at :math:`L_D \ge 2\ln 2` the bound says nothing.

    Args:
        histories: :class:`gandemo.training.ModelHistory` records of runs on a 1-D target
            (metric ``"jsd"`` recorded at every record step).
        axes: two axes (default: a new figure).

    Returns:
        The two axes.
    """
    histories = list(histories)
    if not histories:
        raise ValueError("histories must hold at least one run")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11.0, 3.8))
    ax_t, ax_s = axes
    d_all, kinds = [], set()
    for i, h in enumerate(histories):
        jsd, bound = h.metric_at_records("jsd"), LN2 - h.d_loss / 2
        kw = dict(lw=2.0, alpha=1.0) if i == 0 else dict(lw=0.8, alpha=0.45)
        ax_t.plot(h.step, jsd, color=COLORS["gen"], label=None if i else "binned JSD", **kw)
        label = None if i else r"bound $\ln 2 - L_D/2$"
        ax_t.plot(h.step, bound, color=COLORS["disc"], label=label, **kw)
        color = COLORS["ns" if h.loss == "non-saturating" else "sat"]
        label = None if h.loss in kinds else h.loss
        ax_s.scatter(h.d_loss, jsd, s=9, color=color, alpha=0.6, label=label)
        kinds.add(h.loss)
        d_all.append(h.d_loss)
    ax_t.axhline(0.0, color="0.5", lw=0.8)
    ax_t.axhline(LN2, color="0.5", ls=":", lw=1.0, label=r"$\ln 2$ (no overlap)")
    ax_t.set_xlabel("training step")
    ax_t.set_ylabel("nats")
    ax_t.set_title(f"{len(histories)} runs: binned JSD, and the bound from $L_D$")
    ax_t.legend(fontsize=8, loc="upper right")
    d_all = np.concatenate(d_all)
    lo = min(float(np.nanmin(d_all)), 1.0) - 0.05
    hi = max(float(np.nanmax(d_all)), 2 * LN2) + 0.05
    xs = np.linspace(lo, hi, 50)
    line = LN2 - xs / 2
    ax_s.plot(xs, line, color=COLORS["disc"], label=r"$\ln 2 - L_D/2$")
    ax_s.fill_between(xs, line, -1.0, color=COLORS["disc"], alpha=0.12, label="impossible")
    ax_s.axvline(2 * LN2, color="0.4", ls=":", lw=1.2, label=r"$L_D = 2\ln 2$")
    ax_s.set_xlim(lo, hi)
    ax_s.set_ylim(min(0.0, float(line.min())) - 0.02, LN2 + 0.03)
    ax_s.set_xlabel(r"logged $L_D$")
    ax_s.set_ylabel("binned JSD (nats)")
    ax_s.set_title("every record: the JSD lies above the line")
    ax_s.legend(fontsize=8, loc="upper right")
    return axes


def plot_gradient_spread(spread, axes=None):
    """Two panels against the discriminator's steps k: the batch gradient norms of both losses
    (one thin line per discriminator, the median over all of them thick) and their relative
    spread over independent batches (the coefficient of variation, one thin line per
    discriminator, the mean thick).

    Args:
        spread: a :class:`gandemo.saturation.GradientSpread`.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10.0, 3.8))
    ax_n, ax_cv = axes
    ks = spread.ks
    for kind, name in [("saturating", "sat"), ("non-saturating", "ns")]:
        color = COLORS[name]
        per_d = spread.norms(kind).mean(axis=2)
        cv = spread.batch_cv(kind)
        for i in range(len(spread.seeds)):
            ax_n.loglog(ks, per_d[i], color=color, lw=0.8, alpha=0.45)
            ax_cv.semilogx(ks, cv[i], color=color, lw=0.8, alpha=0.45)
        ax_n.loglog(ks, spread.median(kind), "o-", color=color, lw=2, label=kind)
        ax_cv.semilogx(ks, cv.mean(axis=0), "o-", color=color, lw=2, label=kind)
    for ax in axes:
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax_n.set_xlabel("discriminator training steps $k$")
    ax_n.set_ylabel(r"$\|\nabla_\theta L_G\|$ (batch of 64)")
    ax_n.set_title("size: thin lines one discriminator each")
    ax_n.legend(loc="upper left")
    ax_cv.set_ylim(0, None)
    ax_cv.set_xlabel("discriminator training steps $k$")
    ax_cv.set_ylabel("std / mean over batches")
    ax_cv.set_title("relative spread over fresh minibatches")
    ax_cv.legend(loc="upper left")
    return axes
