"""gandemo: the helper package of the book *The GAN loss from first principles*.

Chapters import it as ``import gandemo as gd`` and call ``gd.losses``, ``gd.data``, ``gd.theory``,
``gd.plots.theory`` and the rest; nothing a chapter teaches is copied between chapters. The
modules are imported when first used, so ``import gandemo`` (and ``python -m gandemo --help``)
does not pay for matplotlib, scipy or ipywidgets until a figure, a test or a widget needs them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._lazy import lazy_attributes

try:
    __version__ = version("gandemo")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

#: the package's modules, by concept (see the README's layout)
MODULES = (
    "claims",
    "dashboard",
    "data",
    "digits",
    "dirac",
    "experiments",
    "losses",
    "metrics",
    "models",
    "page",
    "plots",
    "recording",
    "saturation",
    "theory",
    "training",
    "utils",
    "widgets",
)
#: shortcuts: ``gd.Trainer`` is ``gd.training.Trainer``, ``gd.seed_everything`` is
#: ``gd.utils.seed_everything``
SHORTCUTS = {"Trainer": "training", "seed_everything": "utils"}

__all__ = [*MODULES, *SHORTCUTS]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), MODULES, SHORTCUTS)
