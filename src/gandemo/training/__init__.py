r"""The training engine: one GAN, or many trained side by side, on the book's targets.

Everything in the book that trains goes through :class:`Trainer`: the chapters, the live
dashboard, the command line and the benchmarks. ``Trainer(data, loss=..., seed=...)`` trains one
model; ``Trainer(data, loss=[...], seed=[...])`` trains :math:`E` models at once, model
:math:`e` with loss ``loss[e]`` and seed ``seed[e]``, as one batched computation
(:class:`gandemo.models.MLPStack`: layer :math:`l` of every model is one ``(E, in, out)``
tensor and one :func:`torch.baddbmm`). Batching changes nothing a reader can see: each model
has its own seeded initial weights, data stream and latent stream, the loss that is
differentiated is the *sum* of the per-model losses (so each model receives exactly its own
gradient) and Adam works element by element, so model :math:`e` follows, up to float rounding,
the run ``Trainer(data, loss=loss[e], seed=seed[e])`` gives alone.

One *step* is what Algorithm 1 of Goodfellow et al. (2014) calls one iteration: ``d_steps``
discriminator updates (:func:`discriminator_update`), each on a fresh minibatch of
``batch_size`` real and ``batch_size`` generated examples, then one generator update
(:func:`generator_update`) on fresh latent codes; or, with ``scheme="simultaneous"``, both
players' gradients at the same point and one update of each (:func:`simultaneous_update`).

The loop never waits for the device inside a step. Every ``record_every`` steps it reads the
window back in one transfer, appends one record per model to the :class:`History` and checks
that every loss, gradient and weight is finite. A model that diverges stops: alone, it raises
:class:`TrainingDiverged` naming the step (the history keeps the steps before it); among many,
it is frozen, listed in :attr:`Trainer.diverged`, and the others go on. The loop knows nothing
of plotting: figures, the dashboard, progress bars and frame recorders are :class:`Callback`
objects called every so many steps or seconds.

The engine is a package of concerns: ``updates`` (the update steps the chapters show),
``trainer`` (:class:`Trainer`), ``history`` (records), ``callbacks``, ``checkpoint`` (save and
load), ``config`` (:class:`TrainerConfig`: every setting, its default and its check, once),
``runtime`` (device, optimiser, threads, streams, Ctrl-C) and ``targets``. Every public name
is importable from ``gandemo.training`` itself.
"""

from __future__ import annotations

import warnings

from . import history, runtime, updates
from .callbacks import Callback, Every, ProgressBar
from .config import TrainerConfig
from .history import History, ModelHistory, Snapshot, TrainingDiverged
from .runtime import FlatAdam, resolve_device
from .targets import target_metrics
from .trainer import Trainer, summarize
from .updates import (
    ModelLosses,
    discriminator_update,
    generator_update,
    simultaneous_update,
)

# Layer weights are strided views of one flat parameter per player (gandemo.models.MLPStack), so
# their gradients are views of one buffer too; PyTorch notes once that this layout differs from
# the one it prefers for a parameter, which costs nothing measurable here.
_LAYOUT_NOTE = "grad and param do not obey the gradient layout"
warnings.filterwarnings("ignore", message=_LAYOUT_NOTE)

__all__ = [
    "LOSSES",
    "SERIES",
    "Callback",
    "Every",
    "FlatAdam",
    "History",
    "ModelHistory",
    "ModelLosses",
    "ProgressBar",
    "Snapshot",
    "Trainer",
    "TrainerConfig",
    "TrainingDiverged",
    "discriminator_update",
    "generator_update",
    "ACCELERATOR_WORK",
    "resolve_device",
    "simultaneous_update",
    "summarize",
    "target_metrics",
]

#: The losses the engine knows by name (the registry :data:`gandemo.losses.LOSSES`).
LOSSES = updates.LOSSES

#: The per-record series of a :class:`History`, one value per model and record.
SERIES = history.SERIES

#: Below this much work per step (models x batch x width), ``device="auto"`` trains on the CPU
#: even where there is a GPU. Measured on an NVIDIA H200 (torch 2.11, the eager step of
#: 2026-12-04): a step cost about 4.3 ms for 1 to 25 ring models (kernel launches, not
#: arithmetic), against about 0.5 ms for one model and 12 ms for 25 on the 2-core CPU: the GPU
#: pays from about 10 models of batch 128 and width 64 (81 920). To re-measure once the CUDA
#: step is captured as a graph (issue 26).
ACCELERATOR_WORK = runtime.ACCELERATOR_WORK
