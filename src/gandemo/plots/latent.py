r"""The generator's latent plane on a 2-D target (GAN Lab's manifold view): the generator on a
grid of latent codes, grid lines pushed through it, and the map of both (chapter 7; the
dashboard draws the lines).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..utils import check_positive_int
from .live import _is_2d
from .style import MODE_COLORS, OFF_MODE

__all__ = ["latent_grid", "latent_lines", "latent_map"]


def latent_grid(trainer, model: int = 0, *, lim: float = 3.0, n: int = 201) -> dict:
    r"""The generator of model ``model`` (its sampling weights) on an ``n`` x ``n`` grid of
    latent codes over :math:`[-\text{lim}, \text{lim}]^2`, for a 2-D mixture target.

    Introduced in :doc:`/chapters/07_train_live`.

    Latent dimensions beyond the first two are set to 0 (a slice through the latent space).

    Returns:
        A dict with the keys ``"z"`` (the grid's coordinates, ``(n,)``), ``"x"`` (:math:`G(z)`,
        ``(n, n, 2)``), ``"nearest"`` (the index of the nearest mode, ``(n, n)``),
        ``"high_quality"`` (whether :math:`G(z)` lies within 3 standard deviations of it,
        ``(n, n)``) and ``"off_mass"`` (the share of the latent density on the grid whose
        image is not high quality). Row ``i``, column ``j`` holds :math:`z = (z_j, z_i)`.
    """
    data = trainer.data
    if not _is_2d(data) or trainer.dim != 2:
        raise ValueError("latent_grid needs a 2-D mixture target (e.g. gd.data.ring())")
    k = trainer.config["latent_dim"]
    if k < 2:
        raise ValueError(f"latent_grid needs a latent space of 2 dimensions or more; got {k}")
    n = check_positive_int(n, "n")
    lim = float(lim)
    if not lim > 0:
        raise ValueError(f"lim must be positive; got {lim!r}")
    zs = np.linspace(-lim, lim, n)
    z1, z2 = np.meshgrid(zs, zs)
    z = np.zeros((n * n, k), dtype=np.float32)
    z[:, 0], z[:, 1] = z1.ravel(), z2.ravel()
    g = trainer.generator(model)
    with torch.no_grad():
        x = g(torch.from_numpy(z)).numpy().astype(float)
    c = np.asarray(data.centers, dtype=float)
    dist = np.sqrt(((x[:, None, :] - c[None]) ** 2).sum(-1))
    nearest = dist.argmin(1)
    good = dist[np.arange(len(x)), nearest] / float(data.std) < 3.0
    weight = np.exp(-0.5 * (z1**2 + z2**2)).ravel()
    return {
        "z": zs,
        "x": x.reshape(n, n, 2),
        "nearest": nearest.reshape(n, n),
        "high_quality": good.reshape(n, n),
        "off_mass": float(np.sum(weight[~good]) / np.sum(weight)),
    }


def latent_lines(
    trainer, model: int = 0, *, lim: float = 3.0, lines: int = 17, n: int = 241
) -> tuple[list[np.ndarray], np.ndarray]:
    r"""The generator manifold as lines: ``lines`` grid lines of constant :math:`z_1` and as many
    of constant :math:`z_2` over :math:`[-\text{lim}, \text{lim}]^2` (``n`` points each), and
    their images under the generator of model ``model`` (its sampling weights; latent
    dimensions beyond the first two set to 0).

    Returns:
        ``(paths, images)``: the ``2 * lines`` latent polylines, each ``(n, 2)``, and their
        images :math:`G(z)`, ``(2 * lines, n, dim)``, in the same order.
    """
    k = trainer.config["latent_dim"]
    if k < 2:
        raise ValueError(f"latent_lines needs a latent space of 2 dimensions or more; got {k}")
    lines, n = check_positive_int(lines, "lines"), check_positive_int(n, "n")
    along = np.linspace(-lim, lim, n)
    paths = []
    for c in np.linspace(-lim, lim, lines):
        paths.append(np.stack([np.full_like(along, c), along], 1))  # constant z1
        paths.append(np.stack([along, np.full_like(along, c)], 1))  # constant z2
    z = np.zeros((len(paths) * n, k), dtype=np.float32)
    z[:, :2] = np.concatenate(paths)
    with torch.no_grad():
        x = trainer.generator(model)(torch.from_numpy(z)).numpy()
    return paths, x.reshape(len(paths), n, -1)


def latent_map(trainer, models, *, lim: float = 3.0, lines: int = 17, n: int = 161, title=""):
    r"""GAN Lab's manifold view: the latent plane and its image under the generator.

    Introduced in :doc:`/chapters/07_train_live`.

    One column per model (``models``: an index, or a mapping from labels to indices). Top: the
    latent plane :math:`[-\text{lim}, \text{lim}]^2`, each code coloured by the mode nearest to
    its image :math:`G(z)` when the image is a high-quality sample (within 3 standard
    deviations of a mode) and grey otherwise, with the latent density's circles of radius 1, 2
    and 3 (dotted) and ``lines`` x ``lines`` grid lines. Bottom: the same grid lines pushed
    through :math:`G` (a warped grid over the data plane), the images of the coloured codes,
    and the mode centres (+). Returns the (pyplot) figure.
    """
    from matplotlib.colors import to_rgb

    if not isinstance(models, Mapping):
        models = {f"model {int(models)}": int(models)}
    if not models:
        raise ValueError("models must name at least one model")
    lines = check_positive_int(lines, "lines")
    data = trainer.data
    centers = np.asarray(data.centers, dtype=float)
    k = len(models)
    fig, axes = plt.subplots(2, k, figsize=(3.4 * k, 6.9), layout="constrained", squeeze=False)
    palette = np.array([to_rgb(MODE_COLORS[i % len(MODE_COLORS)]) for i in range(len(centers))])
    grey = np.array(to_rgb(OFF_MODE))
    for col, (label, e) in enumerate(models.items()):
        grid = latent_grid(trainer, e, lim=lim, n=n)
        rgb = np.where(grid["high_quality"][..., None], palette[grid["nearest"]], grey)
        ax_z, ax_x = axes[0, col], axes[1, col]
        ax_z.imshow(rgb, extent=(-lim, lim, -lim, lim), origin="lower", interpolation="nearest")
        for r in (1, 2, 3):
            if r <= lim:
                ax_z.add_patch(_circle(r))
        paths, img = latent_lines(trainer, e, lim=lim, lines=lines)
        for p, q in zip(paths, img, strict=True):
            ax_z.plot(p[:, 0], p[:, 1], color="k", lw=0.4, alpha=0.35)
            ax_x.plot(q[:, 0], q[:, 1], color="k", lw=0.4, alpha=0.35)
        pts = grid["x"].reshape(-1, 2)
        ax_x.scatter(pts[:, 0], pts[:, 1], s=0.6, c=rgb.reshape(-1, 3), lw=0, zorder=2)
        ax_x.scatter(centers[:, 0], centers[:, 1], s=50, marker="+", color="k", lw=1, zorder=3)
        # limits: the images of the central codes (|z| < 2.5), and at least the modes' box
        inner = (np.hypot(*np.meshgrid(grid["z"], grid["z"])) < 2.5).ravel()
        box = np.concatenate([pts[inner], centers])
        lo, hi = box.min(0), box.max(0)
        mid, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2 * 1.08, 0.2)
        ax_x.set_xlim(mid[0] - half, mid[0] + half)
        ax_x.set_ylim(mid[1] - half, mid[1] + half)
        ax_z.set_xlim(-lim, lim)
        ax_z.set_ylim(-lim, lim)
        for ax in (ax_z, ax_x):
            ax.set_aspect("equal")
            ax.grid(False)
        ax_z.set_title(f"{label}\nlatent plane: off-mode mass {grid['off_mass']:.0%}", fontsize=9)
        ax_z.set_xlabel("$z_1$")
        ax_z.set_ylabel("$z_2$")
        ax_x.set_title("its image G(z) over the data", fontsize=9)
        ax_x.set_xlabel("$x_1$")
        ax_x.set_ylabel("$x_2$")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _circle(r: float):
    from matplotlib.patches import Circle

    return Circle((0, 0), r, fill=False, ls=":", lw=0.9, color="k", alpha=0.6)
