r"""The book's figures, one module per concept they draw, each beside the computation it shows.

=====================================  =========================================================
module                                 draws
=====================================  =========================================================
:mod:`gandemo.plots.style`             nothing itself: colours per role and per loss, the style
:mod:`gandemo.plots.losses`            the loss functions: BCE costs, the generator's costs
:mod:`gandemo.plots.theory`            exact quantities: V estimates, D*, C(G), landscapes
:mod:`gandemo.plots.dirac`             the Dirac-GAN: trajectories, eigenvalues
:mod:`gandemo.plots.saturation`        the generator's gradient and the "total loss"
:mod:`gandemo.plots.live`              a training run as it goes: live figure, its player
:mod:`gandemo.plots.runs`              finished runs: curves, comparisons, sample players
:mod:`gandemo.plots.latent`            the generator's latent plane: grids, lines, maps
:mod:`gandemo.plots.digits`            digit image grids
=====================================  =========================================================

Functions take ``ax=None`` (or ``axes=None``) and return what they drew; none calls
``plt.show()``. The submodules are imported when first used, so that ``import gandemo`` does
not import matplotlib.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

SUBMODULES = (
    "style",
    "losses",
    "theory",
    "dirac",
    "saturation",
    "live",
    "runs",
    "latent",
    "digits",
)
#: names of :mod:`gandemo.plots.style` also reachable as ``gd.plots.<name>``
STYLE_NAMES = ("COLORS", "LOSS_COLORS", "use_style")

__all__ = [*SUBMODULES, *STYLE_NAMES]

__getattr__, __dir__ = lazy_attributes(
    __name__, globals(), SUBMODULES, dict.fromkeys(STYLE_NAMES, "style")
)
