r"""Figures of the loss functions themselves: the two BCE costs (chapter 1) and the generator's
costs and their derivatives in the discriminator's logit (chapter 5).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import losses, widgets
from .style import COLORS, LOSS_COLORS, freeze_layout, get_ax

__all__ = [
    "ML_COLOR",
    "cost_curves",
    "plot_bce_costs",
    "plot_cost_derivatives",
    "plot_generator_costs",
    "saturation_explorer",
]


def plot_bce_costs(ax=None, n: int = 400):
    r"""Per-example BCE cost against the predicted probability, one curve per label.

    Introduced in :doc:`/chapters/01_bce_to_value_function`.

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


ML_COLOR = COLORS["disc"]


def _logit(d: np.ndarray) -> np.ndarray:
    return np.log(d) - np.log1p(-d)


def cost_curves(logits) -> dict[str, np.ndarray]:
    r"""Per-example generator costs and their slopes at the logits :math:`a`, by autograd.

    Introduced in :doc:`/chapters/05_saturating_vs_nonsaturating`.

    Returns a dict of numpy arrays: ``d`` (:math:`\sigma(a)`), the costs ``sat``, ``ns``, ``ml``,
    their derivatives with respect to the logit ``sat_da``, ``ns_da``, ``ml_da`` and with respect
    to D ``sat_dd``, ``ns_dd``, ``ml_dd``. The saturating and non-saturating costs come from
    :func:`gandemo.losses.saturating_generator_loss` and
    :func:`gandemo.losses.non_saturating_generator_loss` on one example at a time.
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
                g_loss = (
                    losses.saturating_generator_loss
                    if name == "sat"
                    else losses.non_saturating_generator_loss
                )
                cost = g_loss(x.reshape(1))
            (grad,) = torch.autograd.grad(cost, x)
            values.append(float(cost.detach()))
            slopes.append(float(grad))
        out[name] = np.array(values)
        out[f"{name}_da"] = np.array(slopes)
        # dJ/dD = dJ/da * da/dD, with da/dD = 1 / (D (1 - D))
        out[f"{name}_dd"] = out[f"{name}_da"] / (out["d"] * (1 - out["d"]))
    return out


def plot_generator_costs(ax=None, n: int = 300):
    """The three generator costs of Goodfellow's 2016 tutorial against D(G(z)).

    Introduced in :doc:`/chapters/05_saturating_vs_nonsaturating`.
    """
    ax = get_ax(ax)
    d = np.linspace(1e-3, 1 - 1e-3, n)
    c = cost_curves(_logit(d))
    ax.plot(d, c["sat"], color=LOSS_COLORS["saturating"], label=r"saturating: $\log(1 - D)$")
    ax.plot(d, c["ns"], color=LOSS_COLORS["non-saturating"], label=r"non-saturating: $-\log D$")
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
    """Two panels: the costs' slopes with respect to D and with respect to the logit a.

    Introduced in :doc:`/chapters/05_saturating_vs_nonsaturating`.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    ax_d, ax_a = axes
    d = np.linspace(2e-3, 1 - 2e-3, n)
    c = cost_curves(_logit(d))
    styles = [
        ("sat", LOSS_COLORS["saturating"], "-", "saturating"),
        ("ns", LOSS_COLORS["non-saturating"], "-", "non-saturating"),
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


def saturation_explorer(logit_values=None):
    r"""Slider on the discriminator logit :math:`a` of one generated example.

    Introduced in :doc:`/chapters/05_saturating_vs_nonsaturating`.

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
        ("sat", LOSS_COLORS["saturating"], r"saturating $\log(1-D)$"),
        ("ns", LOSS_COLORS["non-saturating"], r"non-saturating $-\log D$"),
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
    ax_g.annotate(
        "D rejects G(z)\n(saturation)", xy=(-9.7, 3e-3), fontsize=9, color=LOSS_COLORS["saturating"]
    )
    title_c = ax_c.set_title(" ")
    title_g = ax_g.set_title(" ")
    freeze_layout(fig)

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
