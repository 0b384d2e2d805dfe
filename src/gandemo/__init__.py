"""gandemo: the helper package of the book *The GAN loss from first principles*.

Chapters import it as ``import gandemo as gd`` and call ``gd.losses``, ``gd.data``, ``gd.theory``,
``gd.plots``, ``gd.widgets`` and the rest; nothing a chapter teaches is copied between chapters.
"""

from __future__ import annotations

from . import (
    dashboard,
    data,
    digits,
    dirac,
    experiments,
    losses,
    metrics,
    models,
    plots,
    plots_game,
    plots_gradient,
    plots_train,
    plots_zoo,
    saturation,
    theory,
    training,
    utils,
    widgets,
)
from .training import Trainer
from .utils import seed_everything

__all__ = [
    "dashboard",
    "data",
    "digits",
    "dirac",
    "experiments",
    "losses",
    "metrics",
    "models",
    "plots",
    "plots_game",
    "plots_gradient",
    "plots_train",
    "plots_zoo",
    "saturation",
    "seed_everything",
    "theory",
    "Trainer",
    "training",
    "utils",
    "widgets",
]
__version__ = "0.1.0"
