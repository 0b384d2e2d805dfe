"""What :meth:`~gandemo.training.Trainer.run` calls while it trains: figures, the dashboard,
progress bars and frame recorders are :class:`Callback` objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..utils import check_positive, check_positive_int

if TYPE_CHECKING:
    from .trainer import Trainer


class Callback:
    """Something :meth:`Trainer.run` calls while it trains (the dashboard, a frame recorder, a
    progress bar, a test).

    :meth:`on_start` is called before the first step, :meth:`on_progress` every ``every``
    steps and/or every ``every_seconds`` seconds (whichever comes first; neither: never), and
    :meth:`on_end` once at the end, also after an interrupt or a divergence. A callback stops
    the run between two steps with ``trainer.should_stop = True``.
    """

    every: int | None = None
    every_seconds: float | None = None

    def on_start(self, trainer: Trainer) -> None:
        """Called before the first step of a :meth:`Trainer.run`."""

    def on_progress(self, trainer: Trainer) -> None:
        """Called when due, between two steps."""

    def on_end(self, trainer: Trainer) -> None:
        """Called once when the run ends (``trainer.interrupted`` says if it was stopped)."""


class Every(Callback):
    """``fn(trainer)`` at the start, every ``every`` steps and/or ``every_seconds`` seconds,
    and at the end of the run (never twice at one step)."""

    def __init__(self, fn: Callable, every: int | None = None, every_seconds=None) -> None:
        if not callable(fn):
            raise ValueError("callback must be callable")
        self.fn = fn
        self.every = None if every is None else check_positive_int(every, "every")
        self.every_seconds = (
            None if every_seconds is None else check_positive(every_seconds, "every_seconds")
        )
        self._last: int | None = None

    def _call(self, trainer) -> None:
        if self._last != trainer.step:
            self._last = trainer.step
            self.fn(trainer)

    on_start = on_progress = on_end = _call


class ProgressBar(Callback):
    """A tqdm progress bar over the steps of one run (what the CLI and plain runs show)."""

    every_seconds = 0.2

    def __init__(self, total: int, desc: str = "training") -> None:
        self.total, self.desc = total, desc
        self.bar = None
        self._start = 0

    def on_start(self, trainer) -> None:
        from tqdm.auto import tqdm

        self._start = self._shown = trainer.step
        self.bar = tqdm(total=self.total, desc=self.desc, leave=False)

    def on_progress(self, trainer) -> None:
        if self.bar is not None:
            self.bar.update(trainer.step - self._shown)
            self._shown = trainer.step

    def on_end(self, trainer) -> None:
        self.on_progress(trainer)
        if self.bar is not None:
            self.bar.close()
