r"""Recording a run for a figure: callbacks that keep frames (samples, D on a grid, metrics) of
chosen models at chosen steps while a :class:`gandemo.training.Trainer` trains.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .metrics import evaluation_points, generator_density
from .training import Callback, target_metrics
from .utils import check_nonnegative_int, check_positive_int

__all__ = [
    "Frame",
    "FrameRecorder",
    "SampleFrame",
    "SampleRecorder",
    "frame_steps",
    "record_frames",
    "record_samples",
]


@dataclass
class Frame:
    """One recorded moment of a run: the snapshot, :math:`D` at the figure's points and, for a
    1-D target, the generator's density at those points
    (:func:`gandemo.metrics.generator_density`)."""

    snapshot: object
    d_values: np.ndarray
    p_g: np.ndarray | None = None


def frame_steps(steps: int, frames: int, early: int = 0, start: int = 0) -> list[int]:
    """The steps at which to keep frames of a run from ``start`` to ``start + steps``.

    Introduced in :doc:`/chapters/07_train_live`.

    ``start``, then ``frames`` evenly spaced steps up to the end and, before the first of those,
    ``early`` log-spaced steps (a run changes fastest at its start; steps that round to the same
    integer count once).

    Example:
        >>> frame_steps(3000, 6, early=3)
        [0, 5, 22, 106, 500, 1000, 1500, 2000, 2500, 3000]
    """
    steps = check_positive_int(steps, "steps")
    frames = check_positive_int(frames, "frames")
    early = check_nonnegative_int(early, "early")
    start = check_nonnegative_int(start, "start")
    even = [round(steps * i / frames) for i in range(frames + 1)]
    logs = np.geomspace(1, max(even[1], 1), early + 2)[1:-1] if early else []
    return sorted({start + s for s in even} | {start + int(round(v)) for v in logs})


def _eval_metrics(trainer, e: int) -> dict:
    """Model ``e``'s quality metrics on the trainer's fixed evaluation codes (the samples of
    the history's metric records)."""
    x = trainer.evaluation_samples(e)
    return target_metrics(trainer.data, x[:, 0] if trainer.dim == 1 else x)


class FrameRecorder(Callback):
    """A :class:`gandemo.training.Callback` that keeps a :class:`Frame` of chosen models at
    chosen steps of a run.

    Introduced in :doc:`/chapters/07_train_live`.

    Args:
        trainer: the trainer to record.
        at: the steps (counted like ``trainer.step``) at which to keep frames, e.g.
            :func:`frame_steps`; a step already recorded is not recorded twice.
        models: one model index, or a mapping from labels to model indices (e.g.
            ``{"saturating": 0, "non-saturating": 5}``).
        points: where to evaluate :math:`D` (default: :func:`gandemo.metrics.evaluation_points`, a
            :class:`gandemo.plots.live.TrainingFigure`'s points).
        n: samples per snapshot (drawn from the model's viewing stream).

    Attributes:
        frames: each label (the index, for one model) to its list of frames. A frame's
            ``snapshot.metrics`` are measured on the trainer's fixed evaluation codes, the
            samples of the metric curves, so that a frame's title and the curve agree.

    Pass it in ``callbacks`` of :meth:`gandemo.training.Trainer.run`, or call it as
    ``recorder(trainer, n)`` to train ``n`` steps while recording (the ``step`` argument of
    :meth:`gandemo.experiments.Recipe.run`, which applies a learning-rate schedule).
    """

    every = 1

    def __init__(self, trainer, at, models=0, points: np.ndarray | None = None, n: int = 1000):
        self.at = sorted({check_nonnegative_int(int(s), "at") for s in at})
        if isinstance(models, Mapping):
            self.models = {label: trainer.check_model(e) for label, e in models.items()}
        else:
            e = trainer.check_model(models)
            self.models = {e: e}
        if not self.models:
            raise ValueError("models must name at least one model")
        if points is None:
            points = evaluation_points(trainer.data)
        self.points = np.asarray(points, dtype=float)
        self.n = check_positive_int(n, "n")
        self.frames: dict = {label: [] for label in self.models}
        self._due = set(self.at)
        self._kept: set[int] = set()

    def keep(self, trainer) -> None:
        """Keep a frame of every model if ``trainer.step`` is due and not yet recorded."""
        step = trainer.step
        if step not in self._due or step in self._kept:
            return
        self._kept.add(step)
        one_d = trainer.dim == 1 and hasattr(trainer.data, "pdf")
        for label, e in self.models.items():
            snap = trainer.snapshot(self.n, model=e)
            snap = dataclasses.replace(snap, metrics=_eval_metrics(trainer, e))
            d = trainer.discriminator_on(self.points, model=e) if len(self.points) else np.zeros(0)
            p_g = generator_density(trainer, self.points, model=e) if one_d else None
            self.frames[label].append(Frame(snap, d, p_g))

    on_start = on_progress = on_end = keep

    def __call__(self, trainer, n: int):
        """Train ``n`` steps with this recorder; returns the trainer's history."""
        return trainer.run(n, callbacks=[self], progress=False)


def record_frames(
    trainer,
    steps: int,
    frames: int = 20,
    points: np.ndarray | None = None,
    *,
    early: int = 0,
    model: int = 0,
) -> list[Frame]:
    """Train ``steps`` more steps and keep the starting state, ``frames`` evenly spaced
    :class:`Frame` objects and ``early`` log-spaced ones before the first of those
    (:func:`frame_steps`), for a frame player.

    Args:
        trainer: a :class:`gandemo.training.Trainer`.
        steps: generator steps to train.
        frames: evenly spaced moments to keep after the start.
        points: where to evaluate :math:`D` (default: :func:`gandemo.metrics.evaluation_points`, a
            :class:`gandemo.plots.live.TrainingFigure`'s points).
        early: log-spaced moments to keep before the first evenly spaced one.
        model: the model to record.
    """
    at = frame_steps(steps, frames, early, start=trainer.step)
    recorder = FrameRecorder(trainer, at, model, points)
    recorder(trainer, steps)
    return recorder.frames[model]


@dataclass
class SampleFrame:
    """One recorded moment of a run of :math:`E` models.

    Attributes:
        step: the generator step.
        samples: generated examples of every model, ``(E, n, dim)``, from the same latent codes
            at every frame.
        metrics: per metric name, an ``(E,)`` array measured on these samples.
    """

    step: int
    samples: np.ndarray
    metrics: dict[str, np.ndarray]


class SampleRecorder(Callback):
    """A :class:`gandemo.training.Callback` that keeps a :class:`SampleFrame` at the start of a
    run, every ``every`` steps and at its end (never two at one step).

    Args:
        n: samples per model and frame, from the same seeded latent codes at every frame (the
            metrics use them all).
        every: steps between two frames.
        live: called with each new frame as it is recorded.
        seed: the seed of the latent codes.
    """

    def __init__(
        self,
        n: int,
        every: int,
        live: Callable[[SampleFrame], object] | None = None,
        seed: int = 0,
    ) -> None:
        self.n = check_positive_int(n, "n")
        self.every = check_positive_int(every, "every")
        self.live = live
        self.seed = seed
        #: the frames recorded so far
        self.frames: list[SampleFrame] = []

    def keep(self, trainer) -> None:
        """Record the trainer's present state as a frame (unless one exists at this step)."""
        if self.frames and self.frames[-1].step == trainer.step:
            return
        samples = trainer.samples(self.n, seed=self.seed)  # (E, n, dim)
        per_model = [
            target_metrics(trainer.data, s[:, 0] if s.shape[1] == 1 else s) for s in samples
        ]
        metrics = {k: np.array([m[k] for m in per_model], dtype=float) for k in per_model[0]}
        self.frames.append(SampleFrame(trainer.step, samples, metrics))
        if self.live is not None:
            self.live(self.frames[-1])

    on_start = on_progress = on_end = keep


def record_samples(
    trainer,
    steps: int,
    frames: int = 12,
    n: int = 2500,
    live: Callable[[SampleFrame], object] | None = None,
) -> list[SampleFrame]:
    """Train ``steps`` more steps and keep ``frames`` evenly spaced :class:`SampleFrame` objects
    (plus the starting state).

    Introduced in :doc:`/chapters/08_loss_zoo`.

    Args:
        trainer: a :class:`gandemo.training.Trainer` (one model or many).
        steps: generator steps to train.
        frames: moments to keep after the start.
        n: samples per model and frame (the metrics use them all).
        live: called with each new frame as it is recorded (e.g. to redraw a live figure).
    """
    steps = check_positive_int(steps, "steps")
    frames = check_positive_int(frames, "frames")
    recorder = SampleRecorder(n, every=max(1, steps // frames), live=live)
    trainer.run(steps, callbacks=[recorder], progress=False)
    return recorder.frames
