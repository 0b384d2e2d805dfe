"""gandemo: the helper package of the book *The GAN loss from first principles*.

Chapters import it as ``import gandemo as gd`` and call ``gd.losses``, ``gd.data``, ``gd.theory``,
``gd.plots`` and ``gd.widgets``; nothing a chapter teaches is copied between chapters.
"""

from __future__ import annotations

from . import data, losses, plots, theory, utils, widgets
from .utils import seed_everything

__all__ = ["data", "losses", "plots", "seed_everything", "theory", "utils", "widgets"]
__version__ = "0.1.0"
