r"""Figures of the Dirac-GAN (:mod:`gandemo.dirac`): trajectories in the (theta, psi) plane, an
explorer over step size and regularisation, and the update matrix's eigenvalues (chapter 3).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from .. import dirac, losses
from ..widgets import Choice, MultiExplorer, Slider
from .style import COLORS, LOSS_COLORS

__all__ = [
    "dirac_explorer",
    "draw_dirac",
    "plot_dirac_eigenvalues",
]


def draw_dirac(
    axes,
    loss: str = "saturating",
    scheme: str = "simultaneous",
    step: float = 0.1,
    gamma: float = 0.0,
    steps: int = 500,
    start: tuple[float, float] = (1.0, 1.0),
    lim: float = 3.0,
):
    r"""Draw one Dirac-GAN run on two axes (cleared first).

    Left: the vector field :math:`v(\theta, \psi)` (arrows of unit length, shading by speed), the
    trajectory of ``steps`` discrete updates and the equilibrium. Right: the distance to the
    equilibrium against the step, on a log scale. The title gives the eigenvalues of the Jacobian
    at (0, 0) and the spectral radius of the linearised update.

    Returns:
        The trajectory, an array of shape ``(steps + 1, 2)``.
    """
    ax_f, ax_r = axes
    ax_f.cla()
    ax_r.cla()
    g = np.linspace(-lim, lim, 17)
    th, ps = np.meshgrid(g, g)
    v_th, v_ps = dirac.field(th, ps, loss, gamma)
    speed = np.hypot(v_th, v_ps)
    norm = np.where(speed > 0, speed, 1.0)
    ax_f.quiver(
        th,
        ps,
        v_th / norm,
        v_ps / norm,
        speed,
        cmap="Greys",
        clim=(-0.6 * speed.max(), speed.max()),
        angles="xy",
        scale=22,
        width=0.004,
    )
    traj = dirac.trajectory(start[0], start[1], loss, scheme, step, gamma, steps)
    color = LOSS_COLORS[loss]
    ax_f.plot(traj[:, 0], traj[:, 1], color=color, lw=1.3)
    ax_f.plot(*traj[0], "o", color=color, ms=6, label="start")
    ax_f.plot(*traj[-1], "s", color=color, ms=6, label=f"after {steps} steps")
    ax_f.plot(0, 0, "*", color="k", ms=12, label="equilibrium (0, 0)")
    ax_f.set_xlim(-lim, lim)
    ax_f.set_ylim(-lim, lim)
    ax_f.set_aspect("equal")
    ax_f.set_xlabel(r"generator $\theta$")
    ax_f.set_ylabel(r"discriminator $\psi$")
    ax_f.legend(loc="lower left", fontsize=7, frameon=True)
    ev = dirac.eigenvalues(loss, gamma)
    rho = dirac.spectral_radius(scheme, step, gamma, loss)
    ax_f.set_title(f"{loss}, {scheme}\nh = {step:g}, gamma = {gamma:g}", fontsize=10)
    dist = np.hypot(traj[:, 0], traj[:, 1])
    ax_r.semilogy(
        np.arange(steps + 1), np.maximum(dist, 1e-12), color=color, lw=1.5, label="measured"
    )
    ax_r.semilogy(
        np.arange(steps + 1),
        dist[0] * rho ** np.arange(steps + 1),
        color=COLORS["ref"],
        ls="--",
        lw=1,
        label=rf"linearisation: $\rho^k$, $\rho = {rho:.4f}$",
    )
    ax_r.set_ylim(1e-4, 1e2)
    ax_r.set_xlabel("step $k$")
    ax_r.set_ylabel(r"distance to (0, 0)")
    ev_text = ", ".join(
        f"{round(z.real, 3) + 0.0:.3f} {'+-'[int(z.imag < 0)]} {abs(z.imag):.3f}i"
        for z in np.sort_complex(ev)
    )
    ax_r.set_title(f"eigenvalues of J at (0,0): {ev_text}", fontsize=10)
    ax_r.legend(loc="upper left", fontsize=8)
    return traj


def dirac_explorer(
    frames: Sequence[dict] | None = None,
    start: tuple[float, float] = (1.0, 1.0),
    lim: float = 3.0,
) -> MultiExplorer:
    """The Dirac-GAN dashboard: loss, update scheme, step size, gamma and number of steps.

    Introduced in :doc:`/chapters/04_game_dynamics`.

    Args:
        frames: the combinations for the HTML player (dicts with ``loss``, ``scheme``, ``step``,
            ``gamma``, ``steps``); default: both losses and schemes, gamma in {0, 0.3, 1},
            h = 0.1 and 600 steps (12 frames).
        start: the initial point.
        lim: half-width of the plotted square.
    """
    if frames is None:
        frames = [
            {"loss": loss, "scheme": scheme, "step": 0.1, "gamma": gamma, "steps": 600}
            for gamma in (0.0, 0.3, 1.0)
            for loss in losses.CLASSIC
            for scheme in dirac.SCHEMES
        ]
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.2), gridspec_kw={"width_ratios": [1, 1.2]})

    def update(loss, scheme, step, gamma, steps):
        draw_dirac(axes, loss, scheme, step, gamma, steps, start=start, lim=lim)

    controls = {
        "loss": Choice(losses.CLASSIC),
        "scheme": Choice(dirac.SCHEMES),
        "step": Slider(0.01, 0.5, 0.01, 0.1),
        "gamma": Slider(0.0, 2.0, 0.05, 0.0),
        "steps": Slider(10, 3000, 10, 600),
    }
    return MultiExplorer(fig, update, controls, frames)


def plot_dirac_eigenvalues(gammas=None, step: float = 0.1, axes=None, zoom: float | None = 0.1):
    r"""Where the R1 penalty moves the eigenvalues.

    Introduced in :doc:`/chapters/04_game_dynamics`.

    Left: eigenvalues of the Jacobian at (0, 0) in the complex plane as :math:`\gamma` grows from
    0 (on the imaginary axis, :math:`\pm i/2`) into the left half-plane. Right: the spectral
    radius of the linearised simultaneous and alternating updates against :math:`\gamma`, with an
    inset of :math:`\gamma \in [0, \text{zoom}]` on a fine grid (``zoom=None``: no inset): for
    :math:`\gamma \le 1` simultaneous steps have :math:`\rho^2 = 1 - h\gamma + h^2/4`, so they
    converge only for :math:`\gamma > h/4` (dotted line), which a coarse grid of :math:`\gamma`
    hides; alternating steps have :math:`\rho < 1` for every :math:`\gamma > 0`.

    Returns:
        The two axes; the inset is ``axes[1].child_axes[0]`` when drawn.
    """
    if gammas is None:
        gammas = np.linspace(0.0, 2.0, 81)
    gammas = np.asarray(gammas, dtype=float)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    ax_e, ax_r = axes
    ev = np.array([np.sort_complex(dirac.eigenvalues("saturating", g)) for g in gammas])
    for k in range(2):
        sc = ax_e.scatter(ev[:, k].real, ev[:, k].imag, c=gammas, cmap="viridis", s=14)
    plt.colorbar(sc, ax=ax_e, label=r"$\gamma$")
    ax_e.axvline(0, color="k", lw=0.8)
    ax_e.plot(
        [0, 0], [-0.5, 0.5], "*", color=COLORS["gen"], ms=12, label=r"$\gamma = 0$: $\pm i/2$"
    )
    ax_e.set_xlabel("real part")
    ax_e.set_ylabel("imaginary part")
    ax_e.set_title("eigenvalues of the Jacobian at (0, 0)")
    ax_e.legend(loc="upper left")
    for scheme, ls in [("simultaneous", "-"), ("alternating", "--")]:
        rho = [dirac.spectral_radius(scheme, step, g) for g in gammas]
        ax_r.plot(gammas, rho, ls=ls, color="k", label=scheme)
    ax_r.axhline(1, color=COLORS["gen"], lw=1)
    ax_r.set_xlabel(r"R1 weight $\gamma$")
    ax_r.set_ylabel(r"spectral radius $\rho$ of the update")
    ax_r.set_title(f"linearised update (h = {step:g}): converges iff rho < 1")
    ax_r.legend(loc="lower left")
    if zoom is not None:
        _rho_inset(ax_r, step, zoom)
    return axes


def _rho_inset(ax, step: float, zoom: float):
    """Inset of ``ax``, in room made above rho = 1: the spectral radius of both updates for
    small gamma, with rho = 1 and the simultaneous update's crossing gamma = h/4 marked."""
    lo, _ = ax.get_ylim()
    ax.set_ylim(lo, 1 + 0.8 * (1 - lo))
    fine = np.linspace(0.0, zoom, 201)
    ins = ax.inset_axes([0.16, 0.63, 0.5, 0.3])
    for scheme, ls in [("simultaneous", "-"), ("alternating", "--")]:
        rho = [dirac.spectral_radius(scheme, step, g) for g in fine]
        ins.plot(fine, rho, ls=ls, color="k", lw=1.2)
    ins.axhline(1, color=COLORS["gen"], lw=1)
    ins.axvline(step / 4, color="0.4", ls=":", lw=1.2)
    ins.annotate(
        rf"$\gamma = h/4 = {step / 4:g}$",
        (step / 4, 0.06),
        xycoords=("data", "axes fraction"),
        xytext=(4, 0),
        textcoords="offset points",
        fontsize=8,
    )
    ins.set_xlim(0, zoom)
    ins.tick_params(labelsize=7)
    ins.ticklabel_format(axis="y", useOffset=False)
    for side in ("top", "right"):
        ins.spines[side].set_visible(True)
    ax.indicate_inset_zoom(ins, edgecolor="0.5")
    return ins
