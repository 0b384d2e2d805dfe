r"""Figures of the generator's gradient (:mod:`gandemo.saturation`): how it vanishes under the
saturating loss, per-batch and per-sample, and what the losses' sum says (chapters 5 and 6).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import NullFormatter

from .. import widgets
from ..losses import CLASSIC, LOSSES
from .style import COLORS, LOSS_COLORS, freeze_layout, get_ax

__all__ = [
    "discriminator_explorer",
    "plot_batch_ratios",
    "plot_comparison_runs",
    "plot_gradient_spread",
    "plot_jsd_bound",
    "plot_total_losses",
    "saturation_curves",
]


_LN2 = math.log(2.0)


def discriminator_explorer(generator, snapshots: dict, stats: list, data, x_range=(-1.5, 5.0)):
    """Slider on k, the discriminator's pre-training steps.

    Introduced in :doc:`/chapters/05_saturating_vs_nonsaturating`.

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
    ax_g.semilogy(ks, sat, "o-", color=LOSS_COLORS["saturating"], label="saturating")
    ax_g.semilogy(ks, ns, "o-", color=LOSS_COLORS["non-saturating"], label="non-saturating")
    k_line = ax_g.axvline(ks[0], color=COLORS["ref"], ls="--", lw=1)
    ax_g.set_xlabel("discriminator pre-training steps $k$")
    ax_g.set_ylabel(r"$\|\nabla_\theta L_G\|$ (batch of 64)")
    ax_g.legend(loc="lower left")
    title_x = ax_x.set_title(" ")
    title_g = ax_g.set_title(" ")
    freeze_layout(fig)

    def update(k):
        d_line.set_ydata(d_curves[k])
        k_line.set_xdata([k, k])
        title_x.set_text(f"k = {k}: mean D(G(z)) = {by_k[k].d_fake:.4f}")
        ratio = by_k[k].batch_ratio.mean()
        title_g.set_text(f"generator gradient norm; ratio ns/sat = {ratio:.3g}")

    return widgets.explore(fig, update, ks, description="k (D steps)", start=ks[-1])


def plot_batch_ratios(stats: list, ax=None):
    """Measured gradient ratios against (1 - D)/D: every sample and every batch, log-log.

    Introduced in :doc:`/chapters/05_saturating_vs_nonsaturating`.
    """
    ax = get_ax(ax)
    lo, hi = np.inf, 0.0
    for i, s in enumerate(stats):
        ax.loglog(
            s.predicted_sample_ratio,
            s.sample_ratio,
            ".",
            color=LOSS_COLORS["non-saturating"],
            alpha=0.5,
            label="one sample" if i == 0 else None,
        )
        ax.loglog(
            s.predicted_batch_ratio,
            s.batch_ratio,
            "x",
            color=LOSS_COLORS["saturating"],
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

    Introduced in :doc:`/chapters/05_saturating_vs_nonsaturating`.

    Args:
        runs: ``{kind: ModelHistory}`` from :func:`gandemo.saturation.compare_runs` (the
            generated mean is its metric ``"mean"``).
        target_mean: the data mean, drawn as a dashed line in the last panel.
    """
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(11.0, 3.5))
    ax_d, ax_g, ax_m = axes
    for kind, h in runs.items():
        color = LOSS_COLORS[kind]
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


def plot_total_losses(runs: dict, ax=None):
    """The seed's "total loss" D loss + G loss of each run, with its equilibrium value.

    Introduced in :doc:`/chapters/06_total_loss`.

    Args:
        runs: ``{kind: ModelHistory}``, one run per generator loss kind.
    """
    ax = get_ax(ax)
    for kind, h in runs.items():
        color = LOSS_COLORS[kind]
        ref = LOSSES[kind].d_equilibrium + LOSSES[kind].g_equilibrium
        ax.plot(h.step, h.d_loss + h.g_loss, color=color, label=f"D loss + G loss ({kind})")
        ax.axhline(ref, color=color, ls=":", lw=1.2, label=f"equilibrium {ref:.4f}")
    ax.set_xlabel("training step")
    ax.set_ylabel("total loss")
    ax.set_title('the "total loss" of both runs')
    ax.legend(fontsize=8)
    return ax


def plot_jsd_bound(histories, axes=None):
    r"""The lower bound :math:`\ln 2 - L_D/2` on the JSD, from the logged discriminator loss,
    beside the binned JSD of the samples (chapter 6).

    Introduced in :doc:`/chapters/06_total_loss`.

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
        jsd, bound = h.metric_at_records("jsd"), _LN2 - h.d_loss / 2
        kw = dict(lw=2.0, alpha=1.0) if i == 0 else dict(lw=0.8, alpha=0.45)
        ax_t.plot(h.step, jsd, color=COLORS["gen"], label=None if i else "binned JSD", **kw)
        label = None if i else r"bound $\ln 2 - L_D/2$"
        ax_t.plot(h.step, bound, color=COLORS["disc"], label=label, **kw)
        color = LOSS_COLORS[h.loss]
        label = None if h.loss in kinds else h.loss
        ax_s.scatter(h.d_loss, jsd, s=9, color=color, alpha=0.6, label=label)
        kinds.add(h.loss)
        d_all.append(h.d_loss)
    ax_t.axhline(0.0, color="0.5", lw=0.8)
    ax_t.axhline(_LN2, color="0.5", ls=":", lw=1.0, label=r"$\ln 2$ (no overlap)")
    ax_t.set_xlabel("training step")
    ax_t.set_ylabel("nats")
    ax_t.set_title(f"{len(histories)} runs: binned JSD, and the bound from $L_D$")
    ax_t.legend(fontsize=8, loc="upper right")
    d_all = np.concatenate(d_all)
    lo = min(float(np.nanmin(d_all)), 1.0) - 0.05
    hi = max(float(np.nanmax(d_all)), 2 * _LN2) + 0.05
    xs = np.linspace(lo, hi, 50)
    line = _LN2 - xs / 2
    ax_s.plot(xs, line, color=COLORS["disc"], label=r"$\ln 2 - L_D/2$")
    ax_s.fill_between(xs, line, -1.0, color=COLORS["disc"], alpha=0.12, label="impossible")
    ax_s.axvline(2 * _LN2, color="0.4", ls=":", lw=1.2, label=r"$L_D = 2\ln 2$")
    ax_s.set_xlim(lo, hi)
    ax_s.set_ylim(min(0.0, float(line.min())) - 0.02, _LN2 + 0.03)
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

    Introduced in :doc:`/chapters/05_saturating_vs_nonsaturating`.

    Args:
        spread: a :class:`gandemo.saturation.GradientSpread`.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10.0, 3.8))
    ax_n, ax_cv = axes
    ks = spread.ks
    for kind in CLASSIC:
        color = LOSS_COLORS[kind]
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

    Introduced in :doc:`/chapters/07_train_live`.

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
        trainer.check_model(e)
    fig, (ax_d, ax_g) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    colors = LOSS_COLORS
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
