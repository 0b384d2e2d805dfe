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
"""

from __future__ import annotations

import math
import os
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.optim.adam import adam as adam_update

from . import losses
from .dirac import SCHEMES
from .models import Discriminator, Generator, MLPStack, _mlp_layers
from .utils import (
    SMALL_WORK,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    check_seed,
    check_writable_file,
    cpu_threads,
    torch_generator,
)

# Layer weights are strided views of one flat parameter per player (gandemo.models.MLPStack), so
# their gradients are views of one buffer too; PyTorch notes once that this layout differs from
# the one it prefers for a parameter, which costs nothing measurable here.
_LAYOUT_NOTE = "grad and param do not obey the gradient layout"
warnings.filterwarnings("ignore", message=_LAYOUT_NOTE)

__all__ = [
    "LOSSES",
    "Callback",
    "Every",
    "FlatAdam",
    "History",
    "ModelHistory",
    "ModelLosses",
    "ProgressBar",
    "Snapshot",
    "Trainer",
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
LOSSES = losses.LOSSES

#: The per-record series of a :class:`History`, one value per model and record.
SERIES = ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm")


class TrainingDiverged(ValueError):
    """A loss, a gradient or a weight became NaN or infinite; the message names the step."""


# ---------------------------------------------------------------------------------------------
# The update steps (what chapter 6 shows)
# ---------------------------------------------------------------------------------------------


class ModelLosses:
    r"""The losses of :math:`E` models side by side: model :math:`e` uses ``names[e]``.

    ``d`` and ``g`` take logits of shape ``(E, m)`` and return one loss per model, ``(E,)``;
    consecutive models with the same loss are computed by one call of it, unchecked
    (``check=False``: no host sync in the training loop).
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.specs = [losses.get_loss(n) for n in self.names]
        self.groups: list[tuple[losses.GANLoss, slice]] = []
        start = 0
        for i in range(1, len(self.names) + 1):
            if i == len(self.names) or self.names[i] != self.names[start]:
                self.groups.append((self.specs[start], slice(start, i)))
                start = i
        self.penalized = any(spec.penalty_weight for spec in self.specs)

    def d(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """The discriminators' losses, ``(E,)``."""
        if len(self.groups) == 1:
            return self.specs[0].d_loss(real_logits, fake_logits, check=False)
        parts = [
            spec.d_loss(real_logits[sl], fake_logits[sl], check=False) for spec, sl in self.groups
        ]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def g(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """The generators' losses, ``(E,)``."""
        if len(self.groups) == 1:
            return self.specs[0].g_loss(fake_logits, check=False)
        parts = [spec.g_loss(fake_logits[sl], check=False) for spec, sl in self.groups]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def penalty(self, disc: MLPStack, real, fake, u, mask=None) -> torch.Tensor:
        r""":math:`\lambda_e P_e` per model (0 for a loss without a gradient penalty), its
        gradient (times ``mask``) added to ``disc.flat.grad``
        (:meth:`~gandemo.models.MLPStack.penalty_into`)."""
        parts = []
        for spec, sl in self.groups:
            n = sl.stop - sl.start
            if not spec.penalty_weight:
                parts.append(real.new_zeros(n))
                continue
            x_hat = real[sl] + u[sl] * (fake[sl] - real[sl])  # as losses.gradient_penalty
            scale = real.new_full((n,), spec.penalty_weight)
            if mask is not None:
                scale = scale * mask[sl]
            pen = disc.penalty_into(x_hat, sl, scale)
            parts.append(spec.penalty_weight * pen)
        return parts[0] if len(parts) == 1 else torch.cat(parts)


def _logit_grads(logits: torch.Tensor, *losses_of: Callable, mask=None):
    """Each loss of the ``(E, n)`` logits (a function of them returning ``(E,)``), and the
    gradient of its sum over the models (masked) with respect to the logits: a small graph of
    the loss alone, not of the networks."""
    a = logits.detach().requires_grad_(True)
    values, grads = [], []
    with torch.enable_grad():
        for fn in losses_of:
            value = fn(a)
            total = value.sum() if mask is None else (value * mask).sum()
            (grad,) = torch.autograd.grad(total, a)
            values.append(value.detach())
            grads.append(grad.unsqueeze(-1))  # the networks' output is (E, n, 1)
    return values, grads


def discriminator_update(G, D, opt_d, loss: ModelLosses, real, z, u=None, mask=None):
    """One update of the discriminator(s) against the generator(s), held fixed.

    ``real`` is ``(E, m, dim)``, ``z`` is ``(E, m, latent_dim)``; ``u`` are the mixing
    weights of a gradient penalty; ``mask`` (``(E,)``, 1 or 0) leaves stopped models alone.
    Returns the per-model losses and the ``(E, 2m)`` logits, detached.

    The gradient is back-propagated by hand through the discriminator
    (:meth:`~gandemo.models.MLPStack.backward_into`, and
    :meth:`~gandemo.models.MLPStack.penalty_into` for a gradient penalty); only the loss of the
    logits goes through autograd.
    """
    m = real.shape[1]
    with torch.no_grad():
        fake = G(z)  # the generator's examples: inputs for D, no gradient into G
    out, saved = D.forward_saved(torch.cat([real, fake], dim=1))  # real ones first, then fakes
    logits = out[..., 0]
    (d_loss,), (grad,) = _logit_grads(logits, lambda a: loss.d(a[:, :m], a[:, m:]), mask=mask)
    D.zero_grad()
    if u is not None:
        d_loss = d_loss + loss.penalty(D, real, fake, u, mask)  # its gradient too
    D.backward_into(saved, grad)  # model e gets the gradient of its own loss only
    opt_d.step()
    return d_loss, logits


def generator_update(G, D, opt_g, loss: ModelLosses, z, mask=None):
    """One update of the generator(s) through the discriminator(s), held fixed.

    Returns the per-model losses and the ``(E, m)`` logits of the fakes, detached.
    """
    fake, saved_g = G.forward_saved(z)
    out, saved_d = D.forward_saved(fake)
    fake_logits = out[..., 0]
    (g_loss,), (grad,) = _logit_grads(fake_logits, loss.g, mask=mask)
    G.zero_grad()
    grad_fake = D.backward_into(saved_d, grad, weights=False, inputs=True)  # D's weights: none
    G.backward_into(saved_g, grad_fake)
    opt_g.step()
    return g_loss, fake_logits


def simultaneous_update(G, D, opt_g, opt_d, loss: ModelLosses, real, z, u=None, mask=None):
    """Both players' gradients at the same point, then one update of each.

    Returns the per-model discriminator and generator losses and the ``(E, 2m)`` logits.
    """
    m = real.shape[1]
    fake, saved_g = G.forward_saved(z)
    out, saved_d = D.forward_saved(torch.cat([real, fake], dim=1))
    logits = out[..., 0]
    (d_loss, g_loss), (d_grad, g_grad) = _logit_grads(
        logits, lambda a: loss.d(a[:, :m], a[:, m:]), lambda a: loss.g(a[:, m:]), mask=mask
    )
    D.zero_grad()
    G.zero_grad()
    if u is not None:
        d_loss = d_loss + loss.penalty(D, real, fake, u, mask)  # its gradient too
    D.backward_into(saved_d, d_grad)
    grad_x = D.backward_into(saved_d, g_grad, weights=False, inputs=True)
    G.backward_into(saved_g, grad_x[:, m:])
    opt_d.step()
    opt_g.step()
    return d_loss, g_loss, logits


# ---------------------------------------------------------------------------------------------
# History, snapshots, callbacks
# ---------------------------------------------------------------------------------------------


@dataclass
class ModelHistory:
    """One model's records (a view of a :class:`History`).

    Attributes:
        loss, seed: the model's loss and seed.
        step: the step of each record; ``d_loss``, ``g_loss``, ``d_real`` (mean
            :math:`\\sigma(a)` of the logits on real examples), ``d_fake`` (on generated ones:
            from the discriminator's batches, or the generator's when D is frozen),
            ``g_grad_norm``, ``d_grad_norm``: window means since the previous record,
            ``(records,)`` arrays. For the BCE losses (saturating, non-saturating)
            :math:`\\sigma(a)` is D's probability that an example is real; the least-squares,
            hinge and Wasserstein critics output scores, not probabilities, and for them
            ``d_real`` and ``d_fake`` are only squashed scores (1/2 at score 0) that show the
            two sides drifting apart.
        wall_time: training seconds at each record.
        metric_step, metrics: the steps of the metric records and, per metric name, the values.
    """

    loss: str
    seed: int
    step: np.ndarray
    d_loss: np.ndarray
    g_loss: np.ndarray
    d_real: np.ndarray
    d_fake: np.ndarray
    g_grad_norm: np.ndarray
    d_grad_norm: np.ndarray
    wall_time: np.ndarray
    metric_step: np.ndarray
    metrics: dict

    def __len__(self) -> int:
        return len(self.step)

    def metric_at_records(self, name: str) -> np.ndarray:
        """The metric ``name`` at the step of every record, a ``(records,)`` array.

        Raises:
            ValueError: if the metric is unknown or some record step has no metric record
                (a run with ``metric_every`` equal to ``record_every`` has one at every record).
        """
        if name not in self.metrics:
            raise ValueError(f"name must be a recorded metric {sorted(self.metrics)}; got {name!r}")
        at = np.searchsorted(self.metric_step, self.step)
        missing = np.any(at >= len(self.metric_step))
        if missing or not np.array_equal(self.metric_step[at], self.step):
            raise ValueError(
                f"metric {name!r} is not recorded at every record step "
                "(train with metric_every = record_every)"
            )
        return self.metrics[name][at]

    def as_dict(self) -> dict:
        """Every series as an array, by name (the metrics included)."""
        out = {k: getattr(self, k) for k in ("step", *SERIES, "wall_time", "metric_step")}
        out.update(self.metrics)
        return out


class History:
    """What a :class:`Trainer` recorded: one row per record, one column per model.

    ``history.d_loss`` (and every name of ``SERIES``) is a ``(records, E)`` array,
    ``history.step`` and ``history.wall_time`` are ``(records,)``; ``history.metrics`` maps a
    metric name to a ``(metric records, E)`` array measured at ``history.metric_step``.
    :meth:`model` gives one model's records, :meth:`by_loss` the models of each loss.
    """

    def __init__(self, models: Sequence[tuple[str, int]]) -> None:
        self.models = [(str(n), int(s)) for n, s in models]
        self._step: list[int] = []
        self._wall: list[float] = []
        self._rows: dict[str, list[np.ndarray]] = {k: [] for k in SERIES}
        self._metric_step: list[int] = []
        self._metrics: dict[str, list[np.ndarray]] = {}
        self._provisional = False  # the last record covers a window not yet complete

    def __len__(self) -> int:
        return len(self._step)

    def _pop(self) -> None:
        self._step.pop()
        self._wall.pop()
        for rows in self._rows.values():
            rows.pop()
        self._provisional = False

    @property
    def n_models(self) -> int:
        return len(self.models)

    def _append(self, step: int, wall: float, rows: dict[str, np.ndarray]) -> None:
        self._step.append(int(step))
        self._wall.append(float(wall))
        for k in SERIES:
            self._rows[k].append(np.asarray(rows[k], dtype=float).reshape(self.n_models))

    def _append_metrics(self, step: int, values: dict[str, np.ndarray]) -> None:
        self._metric_step.append(int(step))
        for k, v in values.items():
            self._metrics.setdefault(k, []).append(np.asarray(v, dtype=float))

    def __getattr__(self, name: str):
        if name in SERIES:
            rows = self.__dict__["_rows"][name]
            return np.asarray(rows, dtype=float).reshape(-1, len(self.__dict__["models"]))
        raise AttributeError(name)

    @property
    def step(self) -> np.ndarray:
        return np.asarray(self._step, dtype=np.int64)

    @property
    def wall_time(self) -> np.ndarray:
        return np.asarray(self._wall, dtype=float)

    @property
    def metric_step(self) -> np.ndarray:
        return np.asarray(self._metric_step, dtype=np.int64)

    @property
    def metrics(self) -> dict[str, np.ndarray]:
        e = self.n_models
        return {k: np.asarray(v, dtype=float).reshape(-1, e) for k, v in self._metrics.items()}

    def model(self, e: int) -> ModelHistory:
        """The records of model ``e``."""
        if (
            isinstance(e, bool)
            or not isinstance(e, (int, np.integer))
            or not 0 <= e < self.n_models
        ):
            raise ValueError(f"model must be an index in [0, {self.n_models}); got {e!r}")
        loss, seed = self.models[e]
        return ModelHistory(
            loss=loss,
            seed=seed,
            step=self.step,
            **{k: getattr(self, k)[:, e] for k in SERIES},
            wall_time=self.wall_time,
            metric_step=self.metric_step,
            metrics={k: v[:, e] for k, v in self.metrics.items()},
        )

    def by_loss(self) -> dict[str, list[int]]:
        """The model indices of each loss, in the order the losses first appear."""
        out: dict[str, list[int]] = {}
        for e, (name, _) in enumerate(self.models):
            out.setdefault(name, []).append(e)
        return out

    def state(self) -> dict:
        """Plain lists (what a checkpoint stores)."""
        return dict(
            models=[list(m) for m in self.models],
            step=list(self._step),
            wall_time=list(self._wall),
            rows={k: [r.tolist() for r in v] for k, v in self._rows.items()},
            metric_step=list(self._metric_step),
            metrics={k: [r.tolist() for r in v] for k, v in self._metrics.items()},
            provisional=self._provisional,
        )

    @classmethod
    def from_state(cls, state: dict, n_models: int) -> History:
        """Inverse of :meth:`state`; a ValueError if anything is missing or inconsistent."""
        try:
            h = cls([(str(n), int(s)) for n, s in state["models"]])
            if h.n_models != n_models:
                raise ValueError(f"{h.n_models} models, expected {n_models}")
            h._step = [int(s) for s in state["step"]]
            h._wall = [float(w) for w in state["wall_time"]]
            n = len(h._step)
            if len(h._wall) != n or set(state["rows"]) != set(SERIES):
                raise ValueError("the series do not match the steps")
            for k in SERIES:
                rows = [np.asarray(r, dtype=float) for r in state["rows"][k]]
                if len(rows) != n or any(r.shape != (n_models,) for r in rows):
                    raise ValueError(f"series {k!r} has the wrong length or width")
                h._rows[k] = rows
            h._metric_step = [int(s) for s in state["metric_step"]]
            for k, rows in state["metrics"].items():
                rows = [np.asarray(r, dtype=float) for r in rows]
                if len(rows) != len(h._metric_step) or any(r.shape != (n_models,) for r in rows):
                    raise ValueError(f"metric {k!r} has the wrong length or width")
                h._metrics[str(k)] = rows
            h._provisional = bool(state["provisional"])
            if h._provisional and not n:
                raise ValueError("a provisional record without records")
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"the history is incomplete ({exc!r})") from exc
        return h


@dataclass
class Snapshot:
    """One model's state for a figure or a dashboard.

    Attributes:
        step, wall_time: steps and training seconds so far.
        real, fake: ``n`` target and generated examples (numpy; ``(n,)`` for a 1-D target).
        history: :meth:`ModelHistory.as_dict` at that moment.
        metrics: :func:`target_metrics` of ``fake``.
    """

    step: int
    wall_time: float
    real: np.ndarray
    fake: np.ndarray
    history: dict
    metrics: dict


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


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


#: Below this much work per step (models x batch x width), ``device="auto"`` trains on the CPU
#: even where there is a GPU. Measured on an NVIDIA H200 (torch 2.11, the eager step of
#: 2026-12-04): a step cost about 4.3 ms for 1 to 25 ring models (kernel launches, not
#: arithmetic), against about 0.5 ms for one model and 12 ms for 25 on the 2-core CPU: the GPU
#: pays from about 10 models of batch 128 and width 64 (81 920). To re-measure once the CUDA
#: step is captured as a graph (issue 26).
ACCELERATOR_WORK = 2**17


def resolve_device(device: str | torch.device = "auto", work: int | None = None) -> torch.device:
    """``"auto"``: CUDA if available, then Apple's MPS, then the CPU; but the CPU for a run of
    less ``work`` per step (models x batch x width) than :data:`ACCELERATOR_WORK`, where it is
    the faster. Else the device named, which must exist in this build of PyTorch (ValueError
    otherwise).

    Introduced in :doc:`/chapters/06_train_live`.
    """
    if isinstance(device, str) and device == "auto":
        if work is not None and work < ACCELERATOR_WORK:
            return torch.device("cpu")
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError, ValueError) as exc:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda'; got {device!r}") from exc
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": getattr(torch.backends, "mps", None) is not None
        and torch.backends.mps.is_available(),
        "xpu": hasattr(torch, "xpu") and torch.xpu.is_available(),
    }
    if not available.get(dev.type, False):
        raise ValueError(f"device {device!r} is not available in this build of PyTorch")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s)")
    return dev


def _data_dim(data) -> int:
    if not hasattr(data, "sample") or not callable(data.sample):
        raise ValueError("data must have a sample(n, generator) method (see gandemo.data)")
    x = data.sample(2, torch.Generator().manual_seed(0))
    if not isinstance(x, torch.Tensor) or x.dim() not in (1, 2) or x.shape[0] != 2:
        raise ValueError("data.sample(n, generator) must return a tensor of shape (n,) or (n, d)")
    return 1 if x.dim() == 1 else int(x.shape[1])


def _data_fingerprint(data) -> str:
    """A text that identifies a gandemo target (its repr), or its class name for others."""
    if type(data).__module__.startswith("gandemo."):
        if hasattr(data, "centers"):
            c = np.round(np.asarray(data.centers, dtype=float), 6).tolist()
            return f"{type(data).__name__}(centers={c}, std={float(data.std)!r})"
        return repr(data)
    return type(data).__name__


def target_metrics(data, fake: np.ndarray) -> dict:
    """The quality metrics of generated examples ``fake`` against the target ``data``:
    modes, high-quality fraction and reverse KL (:func:`gandemo.metrics.mode_coverage`) on a 2-D
    mixture, the JSD (:func:`gandemo.metrics.jsd_to_density`) on a 1-D density, else nothing.
    Non-finite samples give NaN metrics (and 0 modes). A target with its own ``metrics(fake)``
    method (e.g. :class:`gandemo.digits.Digits`) is asked for them instead."""
    from . import metrics

    if callable(getattr(data, "metrics", None)):
        return data.metrics(fake)
    mixture = hasattr(data, "centers") and hasattr(data, "std")
    if fake.ndim == 2 and fake.shape[1] == 2 and mixture:
        if not np.all(np.isfinite(fake)):
            nan = float("nan")
            return dict(modes=0, high_quality=nan, reverse_kl=nan)
        mc = metrics.mode_coverage(fake, data.centers, data.std)
        return dict(modes=mc.modes, high_quality=mc.high_quality, reverse_kl=mc.reverse_kl)
    if fake.ndim == 1 and hasattr(data, "pdf") and hasattr(data, "support"):
        if not np.all(np.isfinite(fake)):
            return dict(jsd=float("nan"))
        return dict(jsd=metrics.jsd_to_density(fake, data))
    return {}


def _stream_seed(seed: int, stream: int) -> int:
    """An independent seed for one of a model's random streams."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)[0] >> 1)


class FlatAdam:
    """Adam for the one flat parameter of a player: a :class:`torch.optim.Adam`
    (``fused=True`` where this build has the kernel) and a shorter ``step()``.

    ``Optimizer.step`` spends most of its time on a small network in bookkeeping (its hook
    wrapper and profiling scope, grouping tensors by device and type on every call). This
    ``step`` calls PyTorch's public functional form, :func:`torch.optim.adam.adam`, on the
    wrapped optimiser's own state with the arguments ``Adam.step`` would pass: same kernel,
    same state, same result (tested). The state, ``param_groups`` and ``state_dict`` are the
    wrapped optimiser's (:attr:`adam`); the first step, and anything unusual, go through
    ``Adam.step`` itself.

    Each row of the parameter (one model) may have its own learning rate (:meth:`set_lr`):
    Adam works element by element, so rows that share a rate are updated by one call of the
    same kernel on their slice of the parameter and its state, and every row gets exactly the
    update it would get alone.
    """

    def __init__(self, param: torch.Tensor, lr, betas) -> None:
        first = lr[0] if isinstance(lr, (list, tuple)) else lr
        try:
            #: the wrapped optimiser, which holds the state, the settings and the checkpoints
            self.adam = torch.optim.Adam([param], lr=first, betas=betas, fused=True)
        except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device
            self.adam = torch.optim.Adam([param], lr=first, betas=betas, foreach=False)
        self.short_step = True  # False: always through Adam.step
        self._runs: list[tuple[slice, float]] | None = None
        self.set_lr(lr)

    def set_lr(self, lr) -> None:
        """One learning rate for every row, or a list of one per row (model)."""
        (p,) = self.adam.param_groups[0]["params"]
        rates = [float(x) for x in lr] if isinstance(lr, (list, tuple)) else [float(lr)] * len(p)
        if len(rates) != len(p):
            raise ValueError(f"lr must give one rate per model ({len(p)}); got {len(rates)}")
        self.adam.param_groups[0]["lr"] = rates[0]
        runs, start = [], 0
        for i in range(1, len(rates) + 1):
            if i == len(rates) or rates[i] != rates[start]:
                runs.append((slice(start, i), rates[start]))
                start = i
        self._runs = runs if len(runs) > 1 else None

    @property
    def param_groups(self) -> list[dict]:
        return self.adam.param_groups

    @property
    def state(self):
        return self.adam.state

    def state_dict(self) -> dict:
        return self.adam.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        runs = self._runs
        self.adam.load_state_dict(state_dict)
        if runs is not None:  # the rows' own rates stay (the saved group holds the first)
            self._runs = runs

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.adam.zero_grad(set_to_none)

    def step(self, closure=None):
        """One Adam update of the parameter from its gradient."""
        group = self.adam.param_groups[0]
        (p,) = group["params"]
        state = self.adam.state.get(p)
        plain = (
            group["amsgrad"] or group["maximize"] or group["weight_decay"] or group["capturable"]
        )
        if self._runs is not None and not plain and closure is None and p.grad is not None:
            if not state:  # what Adam.step's first call creates
                state = self.adam.state[p] = {
                    "step": torch.zeros((), dtype=torch.float32, device=p.device)
                    if group["fused"]
                    else torch.tensor(0.0),
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                }
            before = state["step"].clone()
            for k, (rows, lr) in enumerate(self._runs):
                # every run counts this update once: the first on the state's own counter
                count = state["step"] if k == 0 else before.clone()
                self._adam(group, p[rows], p.grad[rows], state, rows, count, lr)
            return None
        if closure is not None or not self.short_step or not state or p.grad is None or plain:
            if self._runs is not None:
                raise ValueError("per-model learning rates need a plain Adam (no closure)")
            return self.adam.step(closure)
        try:
            self._adam(group, p, p.grad, state, slice(None), state["step"], group["lr"])
        except TypeError:  # another signature in another PyTorch: the general path from now on
            self.short_step = False
            return self.adam.step()
        return None

    @staticmethod
    def _adam(group, p, grad, state, rows, count, lr) -> None:
        beta1, beta2 = group["betas"]
        with torch.no_grad():
            adam_update(
                [p],
                [grad],
                [state["exp_avg"][rows]],
                [state["exp_avg_sq"][rows]],
                [],
                [count],
                foreach=group["foreach"],
                fused=group["fused"],
                amsgrad=False,
                beta1=beta1,
                beta2=beta2,
                lr=lr,
                weight_decay=0.0,
                eps=group["eps"],
                maximize=False,
                grad_scale=None,
                found_inf=None,
            )


def _optimizer(kind: str, param: torch.Tensor, lr: float | list[float], betas):
    if kind == "sgd":
        return torch.optim.SGD([param], lr=lr)
    return FlatAdam(param, lr, betas)


def _check_rate(value, name: str, names: Sequence[str]) -> float | list[float]:
    """A learning rate for the models whose losses are ``names``: a positive number, a list of
    one per model, or a mapping from loss name to a number. Returns a number when every model
    has the same rate, else a list of one per model; ValueError naming ``name`` otherwise."""
    if isinstance(value, dict):
        missing = sorted(set(names) - set(value))
        if missing:
            raise ValueError(f"{name} gives no rate for the loss(es) {missing}")
        rates = [value[n] for n in names]
    elif isinstance(value, (list, tuple, np.ndarray)):
        if len(value) != len(names):
            raise ValueError(
                f"{name} must give one rate per model ({len(names)}); got {len(value)}"
            )
        rates = list(value)
    else:
        rates = [value]
    for r in rates:
        if isinstance(r, (bool, np.bool_, str, bytes)):
            raise ValueError(f"{name} must be a positive number; got {r!r}")
    rates = [check_positive(r, name) for r in rates]
    return rates[0] if len(set(rates)) == 1 else rates


class _deferred_sigint:
    """Within the block, Ctrl-C / JupyterLab's stop button sets a flag instead of raising, so
    the loop stops between two steps; a second Ctrl-C raises. Outside the main thread it does
    nothing."""

    def __enter__(self):
        self.flag = False
        self.old = None
        if threading.current_thread() is threading.main_thread():
            try:
                self.old = signal.signal(signal.SIGINT, self._handler)
            except (ValueError, OSError):
                self.old = None
        return lambda: self.flag

    def _handler(self, signum, frame):
        if self.flag:  # a second press: give up waiting
            raise KeyboardInterrupt
        self.flag = True

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        return False


class _ThreadChooser:
    """Picks torch's CPU thread count while a run goes on, by measuring.

    On a quiet machine several threads make large batched steps faster; on a busy one (another
    process on the cores) they wait on each other and a step can take many times longer. Every
    few seconds the chooser times one record window with each candidate (all threads, one
    thread) and keeps the faster. The thread count does not change the results (each matrix
    product is split between threads by output blocks, never inside a sum).
    """

    PERIOD = 3.0  # seconds between two trials

    def __init__(self, fixed: int | None) -> None:
        self.saved = torch.get_num_threads()
        most = max(
            1,
            min(
                self.saved,
                len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else self.saved,
            ),
        )
        self.candidates = [fixed] if fixed else ([most, 1] if most > 1 else [1])
        self.current = self.candidates[0]
        self.trial: list[tuple[int, float]] | None = []  # (threads, seconds per step)
        self.next_trial = 0.0
        torch.set_num_threads(self.current)

    def window(self, seconds_per_step: float, now: float) -> None:
        """Report the time per step of the window that just ended (run with ``current``)."""
        if len(self.candidates) == 1:
            return
        if self.trial is not None:
            self.trial.append((self.current, seconds_per_step))
            if len(self.trial) < len(self.candidates):
                self.current = self.candidates[len(self.trial)]
            else:
                self.current = min(self.trial, key=lambda t: t[1])[0]
                self.trial, self.next_trial = None, now + self.PERIOD
            torch.set_num_threads(self.current)
        elif now >= self.next_trial:
            self.trial = []
            self.current = self.candidates[0]
            torch.set_num_threads(self.current)

    def restore(self) -> None:
        torch.set_num_threads(self.saved)


def _as_list(value, name: str) -> list | None:
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"{name} must not be an empty list")
        return list(value)
    return None


def _check_choice(value, name: str, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}; got {value!r}")
    return value


def _check_config(c: dict) -> dict:
    """Check and normalise every setting (ValueError naming the argument)."""
    out = dict(c)
    for k in (
        "latent_dim",
        "width",
        "depth",
        "batch_size",
        "record_every",
        "metric_every",
        "metric_samples",
    ):
        out[k] = check_positive_int(c[k], k)
    if out["metric_samples"] < 2:
        raise ValueError(f"metric_samples must be at least 2; got {c['metric_samples']!r}")
    out["d_steps"] = check_nonnegative_int(c["d_steps"], "d_steps")
    names = c["loss"] if isinstance(c["loss"], list) else [c["loss"]]
    for key, opt in (("lr_g", "g_optimizer"), ("lr_d", "d_optimizer")):
        out[key] = _check_rate(c[key], key, names)
        if isinstance(out[key], list) and c[opt] == "sgd":
            raise ValueError(f"{key}: one rate per model needs {opt}='adam'; got 'sgd'")
    try:
        betas = tuple(float(b) for b in c["betas"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"betas must be two numbers in [0, 1); got {c['betas']!r}") from exc
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1); got {c['betas']!r}")
    out["betas"] = betas
    _check_choice(c["scheme"], "scheme", SCHEMES)
    if c["scheme"] == "simultaneous" and out["d_steps"] != 1:
        raise ValueError(f"d_steps must be 1 with scheme='simultaneous'; got {c['d_steps']}")
    _check_choice(c["g_optimizer"], "g_optimizer", ("adam", "sgd"))
    _check_choice(c["d_optimizer"], "d_optimizer", ("adam", "sgd"))
    _check_choice(c["g_output"], "g_output", ("linear", "tanh"))
    try:
        slope = float(c["slope"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"slope must be a number in [0, 1); got {c['slope']!r}") from exc
    if not 0 <= slope < 1:
        raise ValueError(f"slope must be a number in [0, 1); got {c['slope']!r}")
    out["slope"] = slope
    if c["ema"] is not None:
        try:
            ema = float(c["ema"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"ema must be None or a decay in (0, 1); got {c['ema']!r}") from exc
        if not 0 < ema < 1:
            raise ValueError(f"ema must be None or a decay in (0, 1); got {c['ema']!r}")
        out["ema"] = ema
    if c["threads"] != "auto":
        out["threads"] = check_positive_int(c["threads"], "threads")
    if not isinstance(c["device"], (str, torch.device)):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda'; got {c['device']!r}")
    out["device"] = str(c["device"])
    return out


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------


class Trainer:
    r"""Train one GAN, or :math:`E` GANs side by side, on a target of :mod:`gandemo.data`.

    Introduced in :doc:`/chapters/05_total_loss`.

    Args:
        data: the target, with ``sample(n, generator)`` returning ``(n,)`` (1-D) or ``(n, d)``
            examples (:mod:`gandemo.data`, :class:`gandemo.digits.Digits`).
        loss: a name in :data:`LOSSES`, or a list of names (one per model).
        seed: a seed, or a list of seeds (one per model; a list of the same length as a list
            ``loss``; a single value is repeated). Model :math:`e` starts from
            ``Generator(..., seed=seed[e])`` and ``Discriminator(..., seed=seed[e] + 1)`` and
            draws its minibatches, latent codes and penalty points from its own streams.
        latent_dim: dimension of :math:`z \sim \mathcal N(0, I)`.
        width, depth: hidden units per layer and hidden layers of both MLPs.
        batch_size: examples of each kind per minibatch, :math:`m`.
        d_steps: discriminator updates per generator update, :math:`k` (0 freezes D).
        scheme: the update scheme, one of :data:`gandemo.dirac.SCHEMES`: ``"alternating"`` or
            ``"simultaneous"`` (then ``d_steps`` must be 1).
        lr_g, lr_d: learning rates of the two players (:meth:`set_learning_rates` changes
            them): a number, a list of one per model, or a mapping from loss name to a number
            (losses published with different rates train side by side, each at its own).
        betas: Adam's betas, shared by the two players.
        g_optimizer, d_optimizer: ``"adam"`` or ``"sgd"`` (plain gradient descent, whose step
            is proportional to the gradient: chapter 4 uses it to show a vanishing gradient).
        slope: negative slope of the hidden LeakyReLUs (0: ReLU).
        g_output: the generator's last activation, ``"linear"`` or ``"tanh"`` (images).
        ema: decay of an exponential moving average of the generator's weights (e.g. 0.99),
            updated after every generator update and used for samples, snapshots and metrics;
            None: sample from the trained generator itself.
        device: ``"auto"`` (CUDA, then MPS, then CPU; the CPU for small runs, see
            :func:`resolve_device`), ``"cpu"`` or ``"cuda"``.
        record_every: steps per history record.
        metric_every: steps between two metric records (and one at step 0).
        metric_samples: generated examples per metric record (fixed latent codes).
        threads: CPU threads, or ``"auto"``: measured while training, so that a busy machine
            slows the run by the share of the CPU it takes, not more.

    Same seeds, same device => identical history, however the steps are split between calls,
    interrupts and checkpoints.

    Example:
        >>> import gandemo as gd
        >>> t = gd.Trainer(gd.data.ring(), loss=["hinge", "least-squares"], seed=[0, 0],
        ...                width=16, batch_size=32, device="cpu")
        >>> _ = t.run(20, progress=False)
        >>> t.history.d_loss.shape  # (records, models)
        (2, 2)
    """

    CHUNK = 64  # minibatches drawn per call to a sampler

    def __init__(
        self,
        data,
        *,
        loss: str | Sequence[str] = "non-saturating",
        seed: int | Sequence[int] = 0,
        latent_dim: int = 2,
        width: int = 64,
        depth: int = 2,
        batch_size: int = 128,
        d_steps: int = 1,
        scheme: str = "alternating",
        lr_g: float = 1e-3,
        lr_d: float = 1e-3,
        betas: tuple[float, float] = (0.5, 0.999),
        g_optimizer: str = "adam",
        d_optimizer: str = "adam",
        slope: float = 0.2,
        g_output: str = "linear",
        ema: float | None = None,
        device: str | torch.device = "auto",
        record_every: int = 10,
        metric_every: int = 200,
        metric_samples: int = 2500,
        threads: int | str = "auto",
        _networks=None,
    ) -> None:
        names, seeds = _as_list(loss, "loss"), _as_list(seed, "seed")
        if names is not None and seeds is not None and len(names) != len(seeds):
            raise ValueError(
                f"loss and seed lists must have the same length; got {len(names)} losses and "
                f"{len(seeds)} seeds"
            )
        n = len(names) if names is not None else (len(seeds) if seeds is not None else 1)
        names = names if names is not None else [loss] * n
        seeds = seeds if seeds is not None else [seed] * n
        for s in seeds:
            check_seed(s)
        self.losses = ModelLosses(names)
        seeds = [int(s) for s in seeds]
        self.models = list(zip(names, seeds, strict=True))
        self.n_models = e = n
        self.config = _check_config(
            dict(
                loss=names[0] if e == 1 else list(names),
                seed=seeds[0] if e == 1 else list(seeds),
                latent_dim=latent_dim,
                width=width,
                depth=depth,
                batch_size=batch_size,
                d_steps=d_steps,
                scheme=scheme,
                lr_g=lr_g,
                lr_d=lr_d,
                betas=betas,
                g_optimizer=g_optimizer,
                d_optimizer=d_optimizer,
                slope=slope,
                g_output=g_output,
                ema=ema,
                device=device,
                record_every=record_every,
                metric_every=metric_every,
                metric_samples=metric_samples,
                threads=threads,
            )
        )
        c = self.config
        self.device = resolve_device(device, work=e * c["batch_size"] * c["width"])
        self.data = data
        self.dim = _data_dim(data)
        if _networks is None:
            gens = [
                Generator(
                    c["latent_dim"],
                    self.dim,
                    c["width"],
                    c["depth"],
                    seed=s,
                    output=c["g_output"],
                    slope=c["slope"],
                )
                for s in seeds
            ]
            discs = [
                Discriminator(self.dim, c["width"], c["depth"], seed=s + 1, slope=c["slope"])
                for s in seeds
            ]
        else:
            gens, discs = _networks
        #: the generators, one :class:`gandemo.models.MLPStack` (``(E, n, latent) -> (E, n, dim)``)
        self.G = MLPStack(gens).to(self.device)
        #: the discriminators' logits, one :class:`gandemo.models.MLPStack`
        self.D = MLPStack(discs).to(self.device)
        if (
            self.G.in_dim != c["latent_dim"]
            or self.G.out_dim != self.dim
            or self.D.in_dim != self.dim
        ):
            raise ValueError("the networks do not fit the latent size and the data's dimension")
        #: the moving average of the generators' weights (``ema`` given), else None
        self.ema_flat = self.G.flat.detach().clone() if c["ema"] is not None else None
        self.opt_g = _optimizer(c["g_optimizer"], self.G.flat, c["lr_g"], c["betas"])
        self.opt_d = _optimizer(c["d_optimizer"], self.D.flat, c["lr_d"], c["betas"])
        self.step = 0
        self.history = History(self.models)
        #: the models stopped after a non-finite loss, gradient or weight (index to step)
        self.diverged: dict[int, int] = {}
        #: in-place changes of the objective, ``(step, model, old loss, new loss)``
        #: (:meth:`set_loss`)
        self.loss_changes: list[tuple[int, int, str, str]] = []
        self.should_stop = False
        self.interrupted = False
        self._mask: torch.Tensor | None = None
        dev = self.device
        self._data_rngs = [torch_generator(_stream_seed(s, 0), dev) for s in seeds]
        self._z_rngs = [torch_generator(_stream_seed(s, 1), dev) for s in seeds]
        self._u_rngs = [torch_generator(_stream_seed(s, 2), dev) for s in seeds]
        self._view_rngs = [torch_generator(_stream_seed(s, 3), dev) for s in seeds]
        self._z_eval = torch.stack(
            [
                torch.randn(
                    c["metric_samples"],
                    c["latent_dim"],
                    generator=torch_generator(_stream_seed(s, 4), dev),
                    device=dev,
                )
                for s in seeds
            ]
        )
        self._real_buf: torch.Tensor | None = None  # (E, CHUNK * m, dim)
        self._z_buf: torch.Tensor | None = None  # (E, CHUNK * m, latent_dim)
        self._real_pos = self._z_pos = 0
        self._wall = 0.0
        self._window: list[tuple[int, str, tuple[torch.Tensor, ...]]] = []

    @classmethod
    def from_networks(cls, data, generator, discriminator, **config) -> Trainer:
        """A trainer that starts from given networks (copied), e.g. a discriminator pre-trained
        against a frozen generator (chapters 4 and 5).

        ``generator`` and ``discriminator`` are :class:`gandemo.models.Generator` and
        :class:`gandemo.models.Discriminator` (or lists of them, one per model) with hidden
        layers of one width; ``latent_dim``, ``width``, ``depth``, ``slope`` and ``g_output``
        are read from them. The other keyword arguments are those of :class:`Trainer`.
        """
        gens = list(generator) if isinstance(generator, (list, tuple)) else [generator]
        discs = list(discriminator) if isinstance(discriminator, (list, tuple)) else [discriminator]
        if len(gens) != len(discs):
            raise ValueError("generator and discriminator lists must have the same length")
        g_lin, g_slope, g_tanh = _mlp_layers(gens[0], "generator")
        d_lin, d_slope, d_tanh = _mlp_layers(discs[0], "discriminator")
        widths = {lin.out_features for lin in g_lin[:-1]} | {lin.out_features for lin in d_lin[:-1]}
        if len(widths) != 1 or len(g_lin) != len(d_lin) or g_slope != d_slope or d_tanh:
            raise ValueError(
                "generator and discriminator must have the same hidden width, depth and slope, "
                "and the discriminator no final activation"
            )
        for k in ("latent_dim", "width", "depth", "slope", "g_output"):
            if k in config:
                raise ValueError(f"{k} is read from the networks; do not pass it")
        if len(gens) > 1:
            config.setdefault("seed", list(range(len(gens))))
        return cls(
            data,
            latent_dim=g_lin[0].in_features,
            width=widths.pop(),
            depth=len(g_lin) - 1,
            slope=g_slope,
            g_output="tanh" if g_tanh else "linear",
            _networks=(gens, discs),
            **config,
        )

    # -- networks as modules --------------------------------------------------------------

    def _check_model(self, model) -> int:
        if isinstance(model, bool) or not isinstance(model, (int, np.integer)):
            raise ValueError(f"model must be an index in [0, {self.n_models}); got {model!r}")
        if not 0 <= model < self.n_models:
            raise ValueError(f"model must be an index in [0, {self.n_models}); got {model!r}")
        return int(model)

    def generator(self, model: int = 0, *, ema: bool = True) -> Generator:
        """A copy of model ``model``'s generator as a :class:`gandemo.models.Generator` on the
        CPU (its moving average when the trainer keeps one, unless ``ema=False``)."""
        e = self._check_model(model)
        c = self.config
        g = Generator(
            c["latent_dim"],
            self.dim,
            c["width"],
            c["depth"],
            seed=0,
            output=c["g_output"],
            slope=c["slope"],
        )
        flat = self.ema_flat if (ema and self.ema_flat is not None) else self.G.flat
        g.net = self.G.net(e, flat.detach().cpu())
        return g

    def discriminator(self, model: int = 0) -> Discriminator:
        """A copy of model ``model``'s discriminator (logits) on the CPU."""
        e = self._check_model(model)
        c = self.config
        d = Discriminator(self.dim, c["width"], c["depth"], seed=0, slope=c["slope"])
        d.net = self.D.net(e, self.D.flat.detach().cpu())
        return d

    @property
    def sampling_weights(self) -> torch.Tensor:
        """The generators' weights that samples and metrics use (the moving average if any)."""
        return self.G.flat if self.ema_flat is None else self.ema_flat

    # -- minibatches ----------------------------------------------------------------------

    def _real_batch(self) -> torch.Tensor:
        m = self.config["batch_size"]
        if self._real_buf is None or self._real_pos + m > self._real_buf.shape[1]:
            rows = []
            for rng in self._data_rngs:
                x = self.data.sample(self.CHUNK * m, rng).to(self.device)
                rows.append(x.reshape(-1, self.dim).float())
            self._real_buf = torch.stack(rows)
            self._real_pos = 0
        x = self._real_buf[:, self._real_pos : self._real_pos + m]
        self._real_pos += m
        return x

    def _z_batch(self) -> torch.Tensor:
        m, k = self.config["batch_size"], self.config["latent_dim"]
        if self._z_buf is None or self._z_pos + m > self._z_buf.shape[1]:
            self._z_buf = torch.stack(
                [
                    torch.randn(self.CHUNK * m, k, generator=r, device=self.device)
                    for r in self._z_rngs
                ]
            )
            self._z_pos = 0
        z = self._z_buf[:, self._z_pos : self._z_pos + m]
        self._z_pos += m
        return z

    def _u_batch(self) -> torch.Tensor | None:
        if not self.losses.penalized:
            return None
        m = self.config["batch_size"]
        return torch.stack(
            [torch.rand(m, 1, generator=r, device=self.device) for r in self._u_rngs]
        )

    # -- one step -------------------------------------------------------------------------

    def _d_update(self, step: int) -> None:
        d_loss, logits = discriminator_update(
            self.G,
            self.D,
            self.opt_d,
            self.losses,
            self._real_batch(),
            self._z_batch(),
            self._u_batch(),
            self._mask,
        )
        norm = torch.linalg.vector_norm(self.D.flat.grad, dim=1)
        self._window.append((step, "d", (d_loss, logits, norm)))

    def _g_update(self, step: int) -> None:
        g_loss, fake_logits = generator_update(
            self.G, self.D, self.opt_g, self.losses, self._z_batch(), self._mask
        )
        norm = torch.linalg.vector_norm(self.G.flat.grad, dim=1)
        self._update_ema()
        self._window.append((step, "g", (g_loss, fake_logits, norm)))

    def _both_update(self, step: int) -> None:
        d_loss, g_loss, logits = simultaneous_update(
            self.G,
            self.D,
            self.opt_g,
            self.opt_d,
            self.losses,
            self._real_batch(),
            self._z_batch(),
            self._u_batch(),
            self._mask,
        )
        d_norm = torch.linalg.vector_norm(self.D.flat.grad, dim=1)
        g_norm = torch.linalg.vector_norm(self.G.flat.grad, dim=1)
        self._update_ema()
        self._window.append((step, "d", (d_loss, logits, d_norm)))
        self._window.append((step, "g", (g_loss, None, g_norm)))

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.ema_flat is not None:
            self.ema_flat.lerp_(self.G.flat, 1.0 - self.config["ema"])

    def _train_step(self) -> None:
        """One generator step (and its discriminator updates), without waiting for the device."""
        step = self.step + 1
        if self.config["scheme"] == "simultaneous":
            self._both_update(step)
        else:
            for _ in range(self.config["d_steps"]):
                self._d_update(step)
            self._g_update(step)
        self.step = step

    # -- records --------------------------------------------------------------------------

    def _flush(self) -> None:
        """Read the window back in one transfer, check it, append one record per model.

        A window that ends between two record steps (the end of a :meth:`run`) gives a
        provisional record, replaced by the complete one at the next record step: a run split
        into several calls records what one uninterrupted run records.
        """
        h = self.history
        if h._provisional:
            h._pop()
        if not self._window:
            return
        window = self._window
        complete = self.step % self.config["record_every"] == 0
        if complete:
            self._window = []
        e = self.n_models
        m = self.config["batch_size"]
        parts, layout = [], []
        for step, kind, (loss, logits, norm) in window:
            p = torch.sigmoid(logits) if logits is not None else None
            if kind == "d":
                stats = [loss, p[:, :m].mean(1), p[:, m:].mean(1), norm]
            else:
                fake = p.mean(1) if p is not None else torch.full_like(loss, math.nan)
                stats = [loss, fake, norm]
            parts.append(torch.stack(stats).float())
            layout.append((step, kind))
        finite_w = torch.stack(
            [torch.isfinite(self.G.flat).all(1), torch.isfinite(self.D.flat).all(1)]
        ).float()
        flat = torch.cat([p.reshape(-1) for p in parts] + [finite_w.reshape(-1)]).cpu().numpy()
        flat = flat.astype(float)
        # unpack: per update the rows above, each (E,)
        d_rows, g_rows, pos = [], [], 0
        for step, kind in layout:
            k = 4 if kind == "d" else 3
            block = flat[pos : pos + k * e].reshape(k, e)
            pos += k * e
            (d_rows if kind == "d" else g_rows).append((step, block))
        weights_ok = flat[pos:].reshape(2, e).min(0) > 0
        last = self.step
        # the first bad step of each model: a non-finite loss or gradient, else bad weights
        first_bad: dict[int, tuple[int, str]] = {}
        for rows, who in ((d_rows, "discriminator"), (g_rows, "generator")):
            for step, block in rows:
                bad = ~np.isfinite(block[0]) | ~np.isfinite(block[-1])
                for i in np.flatnonzero(bad):
                    if i not in self.diverged and (i not in first_bad or step < first_bad[i][0]):
                        what = "loss" if not np.isfinite(block[0][i]) else "gradient"
                        first_bad[int(i)] = (step, f"{who} {what}")
        for i in np.flatnonzero(~weights_ok):
            if int(i) not in self.diverged and int(i) not in first_bad:
                first_bad[int(i)] = (last, "weights")

        def mean_of(rows, row, keep):
            vals = [b[row] for s, b in rows if s <= keep]
            return np.mean(vals, axis=0) if vals else np.full(e, math.nan)

        keep = last
        if e == 1 and first_bad:
            keep = first_bad[0][0] - 1  # the record keeps only the steps before the bad one
        d_fake = mean_of(d_rows, 2, keep)
        if not d_rows:
            d_fake = mean_of(g_rows, 1, keep)
        rec = dict(
            d_loss=mean_of(d_rows, 0, keep),
            g_loss=mean_of(g_rows, 0, keep),
            d_real=mean_of(d_rows, 1, keep),
            d_fake=d_fake,
            g_grad_norm=mean_of(g_rows, 2, keep),
            d_grad_norm=mean_of(d_rows, 3, keep),
        )
        if e > 1:  # a stopped model's columns are NaN from its divergence on
            for i in list(first_bad) + list(self.diverged):
                for v in rec.values():
                    v[i] = math.nan
        if e == 1 and first_bad:
            step, what = first_bad[0]
            if any(s <= keep for s, _ in layout):
                self.history._append(keep, self._wall, rec)
            self.diverged[0] = step
            c = self.config
            raise TrainingDiverged(
                f"the {what} of the {c['loss']} GAN became NaN or infinite (or too large for "
                f"float32) at step {step} "
                f"(lr_g={c['lr_g']}, lr_d={c['lr_d']}); the history keeps the steps before it; "
                f"lower the learning rates and start again"
            )
        self.history._append(last, self._wall, rec)
        self.history._provisional = not complete
        for i, (step, _) in first_bad.items():
            self._stop_model(i, step)

    def _stop_model(self, e: int, step: int) -> None:
        """Freeze model ``e``: zero weights and optimiser state, no more updates."""
        self.diverged.setdefault(e, step)
        if self._mask is None:
            self._mask = torch.ones(self.n_models, device=self.device)
        self._mask[e] = 0.0
        with torch.no_grad():
            for opt, flat in ((self.opt_g, self.G.flat), (self.opt_d, self.D.flat)):
                flat[e] = 0.0
                for v in opt.state.get(flat, {}).values():
                    if torch.is_tensor(v) and v.shape == flat.shape:
                        v[e] = 0.0
            if self.ema_flat is not None:
                self.ema_flat[e] = 0.0

    def _generate(self, z: torch.Tensor, weights: torch.Tensor | None = None) -> np.ndarray:
        with torch.no_grad():
            x = self.G(z.to(self.device), self.sampling_weights if weights is None else weights)
        return x.cpu().numpy()

    def _record_metrics(self) -> None:
        self.history._append_metrics(self.step, self._metrics_now())

    def _metrics_now(self) -> dict[str, np.ndarray]:
        fake = self.evaluation_samples()
        rows: dict[str, list[float]] = {}
        for e in range(self.n_models):
            values = target_metrics(self.data, fake[e, :, 0] if self.dim == 1 else fake[e])
            if e in self.diverged:
                values = {k: (0 if k in ("modes", "classes") else math.nan) for k in values}
            for k, v in values.items():
                rows.setdefault(k, []).append(float(v))
        return {k: np.asarray(v) for k, v in rows.items()}

    # -- public API -------------------------------------------------------------------------

    def set_learning_rates(self, lr_g=None, lr_d=None) -> None:
        """Change the learning rates from the next update on, keeping the optimisers' state
        (a schedule in two lines: train fast, then settle with smaller rates).

        Each rate is a number, a list of one per model or a mapping from loss name to a number
        (as in the constructor). Both are checked before either changes: a bad value changes
        nothing.
        """
        names = [name for name, _ in self.models]
        new = {}
        for lr, key, opt in ((lr_g, "lr_g", "g_optimizer"), (lr_d, "lr_d", "d_optimizer")):
            if lr is not None:
                new[key] = _check_rate(lr, key, names)
                if isinstance(new[key], list) and self.config[opt] == "sgd":
                    raise ValueError(f"{key}: one rate per model needs {opt}='adam'; got 'sgd'")
        for key, lr in new.items():
            opt = self.opt_g if key == "lr_g" else self.opt_d
            if isinstance(opt, FlatAdam):
                opt.set_lr(lr)
            else:
                for group in opt.param_groups:
                    group["lr"] = lr
            self.config[key] = lr

    def set_loss(self, loss: str, model: int | None = None) -> None:
        """Switch model ``model`` (None: every model) to the objective ``loss`` from the next
        update on, keeping the weights, the moving average and the optimisers' state.

        The records made so far stay as they are, but ``history.models`` (and so
        ``history.model(e).loss``) name the loss as of the latest change; every change is
        appended to :attr:`loss_changes` as ``(step, model, old, new)``, where ``step`` is the
        last step trained with the old loss. A checkpoint saved afterwards stores the new loss
        (not the list of changes).
        """
        loss = _check_choice(loss, "loss", LOSSES)
        which = range(self.n_models) if model is None else [self._check_model(model)]
        names = [name for name, _ in self.models]
        for e in which:
            if names[e] != loss:
                self.loss_changes.append((self.step, e, names[e], loss))
                names[e] = loss
        self.losses = ModelLosses(names)
        self.models = [(name, s) for name, (_, s) in zip(names, self.models, strict=True)]
        self.history.models = list(self.models)
        self.config["loss"] = names[0] if self.n_models == 1 else list(names)

    def set_d_steps(self, d_steps: int) -> None:
        """Change :math:`k`, the discriminator updates per generator update, from the next step
        on (0 freezes the discriminator; the simultaneous scheme needs 1)."""
        d_steps = check_nonnegative_int(d_steps, "d_steps")
        if self.config["scheme"] == "simultaneous" and d_steps != 1:
            raise ValueError(f"d_steps must be 1 with scheme='simultaneous'; got {d_steps}")
        self.config["d_steps"] = d_steps

    def select(self, models: Sequence[int]) -> Trainer:
        """A new trainer holding models ``models`` of this one, exactly where they stand.

        Weights, moving averages, optimiser states, random streams, pending minibatches,
        history and divergences are copied row by row, so the selected models continue as
        they would have continued here (up to the float rounding of a different batch), and
        this trainer is left as it was. A longer budget for some models of a comparison is
        then a continuation, not a second run from step 0 (chapter 7).

        Args:
            models: indices of the models to keep, in the new trainer's order.
        """
        if isinstance(models, (str, bytes)) or not isinstance(models, Sequence) or not models:
            raise ValueError(f"models must be a non-empty list of model indices; got {models!r}")
        idx = [self._check_model(e) for e in models]
        if len(set(idx)) != len(idx):
            raise ValueError(f"models must not repeat a model; got {list(models)}")
        rows = torch.tensor(idx, device=self.device)
        c = self.config

        def pick(value):  # a per-model setting: a list of the selected ones, else as it is
            return [value[e] for e in idx] if isinstance(value, list) else value

        config = {k: v for k, v in c.items() if k not in ("loss", "seed")}
        config.update(lr_g=pick(c["lr_g"]), lr_d=pick(c["lr_d"]))
        t = Trainer(
            self.data,
            loss=[self.models[e][0] for e in idx],
            seed=[self.models[e][1] for e in idx],
            **config,
        )
        with torch.no_grad():
            t.G.flat.copy_(self.G.flat[rows])
            t.D.flat.copy_(self.D.flat[rows])
            if self.ema_flat is not None:
                t.ema_flat.copy_(self.ema_flat[rows])
        for src, dst in ((self.opt_g, t.opt_g), (self.opt_d, t.opt_d)):
            sd = src.state_dict()
            sd["state"] = {
                k: {
                    name: (v[rows].clone() if torch.is_tensor(v) and v.dim() == 2 else v.clone())
                    for name, v in st.items()
                }
                for k, st in sd["state"].items()
            }
            dst.load_state_dict(sd)
        for mine, theirs in (
            (self._data_rngs, t._data_rngs),
            (self._z_rngs, t._z_rngs),
            (self._u_rngs, t._u_rngs),
            (self._view_rngs, t._view_rngs),
        ):
            for new, e in zip(theirs, idx, strict=True):
                new.set_state(mine[e].get_state())
        t._real_buf = None if self._real_buf is None else self._real_buf[rows].clone()
        t._z_buf = None if self._z_buf is None else self._z_buf[rows].clone()
        t._real_pos, t._z_pos = self._real_pos, self._z_pos
        t.step, t._wall = self.step, self._wall
        t._window = [
            (step, kind, tuple(None if x is None else x[rows].clone() for x in tensors))
            for step, kind, tensors in self._window
        ]
        h, th = self.history, t.history
        th._step, th._wall = list(h._step), list(h._wall)
        th._rows = {k: [r[idx] for r in v] for k, v in h._rows.items()}
        th._metric_step = list(h._metric_step)
        th._metrics = {k: [r[idx] for r in v] for k, v in h._metrics.items()}
        th._provisional = h._provisional
        new_index = {e: i for i, e in enumerate(idx)}
        t.loss_changes = [
            (step, new_index[e], old, new)
            for step, e, old, new in self.loss_changes
            if e in new_index
        ]
        for e, step in self.diverged.items():
            if e in new_index:
                t._stop_model(new_index[e], step)
        return t

    def generator_gradient(self, x, *, model: int = 0) -> np.ndarray:
        r"""Where the generator loss pushes each generated example: :math:`-\partial
        \ell_G(a(x_i)) / \partial x_i` at numpy points ``x`` (``(n,)`` for 1-D, ``(n, dim)``),
        for model ``model``'s loss and discriminator (held fixed).

        The generator's minibatch loss is a mean, :math:`L_G = \frac1m \sum_i \ell_G(a(x_i))`
        with :math:`x_i = G(z_i)` and :math:`a` the discriminator's logit, so
        :math:`\partial L_G / \partial x_i = \frac1m \ell_G'(a(x_i)) \nabla a(x_i)` and the
        generator's gradient is :math:`\sum_i (\partial x_i / \partial \theta)^\top
        \partial L_G / \partial x_i`. This returns :math:`-m \, \partial L_G /
        \partial x_i = -\ell_G'(a(x_i)) \nabla a(x_i)`, which does not depend on :math:`m`:

        * non-saturating, :math:`\ell_G = \operatorname{softplus}(-a) = -\log D`:
          :math:`(1 - \sigma(a)) \nabla a`;
        * saturating, :math:`\ell_G = -\operatorname{softplus}(a) = \log(1 - D)`:
          :math:`\sigma(a) \nabla a`;
        * least-squares, :math:`\ell_G = \frac12 (a - 1)^2`: :math:`(1 - a) \nabla a`;
        * hinge and Wasserstein, :math:`\ell_G = -a`: :math:`\nabla a`.

        Computed by autograd through the discriminator only; nothing is updated.

        Returns:
            An array of the shape of ``x``.
        """
        e = self._check_model(model)
        a = np.asarray(x, dtype=np.float32)
        one_d = self.dim == 1 and a.ndim == 1
        if one_d:
            a = a[:, None]
        if a.ndim != 2 or a.shape[1] != self.dim or not len(a):
            want = "(n,)" if self.dim == 1 else f"(n, {self.dim})"
            raise ValueError(f"x must have shape {want} with n >= 1; got {np.shape(x)}")
        t = torch.from_numpy(np.ascontiguousarray(a)).to(self.device).unsqueeze(0)
        t.requires_grad_(True)
        with torch.enable_grad():
            logits = self.D(t, self.D.flat[e : e + 1].detach())[..., 0]  # (1, n)
            g_loss = self.losses.specs[e].g_loss(logits, check=False)  # (1,): the mean
            (grad,) = torch.autograd.grad(g_loss.sum(), t)
        out = (-len(a) * grad[0]).cpu().numpy().astype(float)
        return out[:, 0] if one_d else out

    def _threads_now(self) -> int:
        """CPU threads for single updates: one for small models (:data:`SMALL_WORK`), else
        what torch has (a :meth:`run` measures instead)."""
        c = self.config
        if c["threads"] != "auto":
            return c["threads"]
        small = self.n_models * c["batch_size"] * c["width"] <= SMALL_WORK
        return 1 if small else torch.get_num_threads()

    def update_d(self) -> None:
        """Exactly one discriminator update (recorded with the next generator step)."""
        t = time.perf_counter()
        with cpu_threads(self._threads_now()):
            self._d_update(self.step + 1)
        self._wall += time.perf_counter() - t

    def update_g(self) -> None:
        """Exactly one generator update; then one history record (and metrics when due)."""
        t = time.perf_counter()
        if not len(self.history._metric_step):
            self._record_metrics()
        with cpu_threads(self._threads_now()):
            self._g_update(self.step + 1)
        self.step += 1
        self._wall += time.perf_counter() - t
        self._flush()
        if self.step % self.config["metric_every"] == 0:
            self._record_metrics()

    def run(
        self,
        steps: int,
        *,
        callbacks: Sequence[Callback] = (),
        callback: Callable | None = None,
        every: int | None = None,
        every_seconds: float | None = None,
        progress: bool | None = None,
    ) -> History:
        """Train every model ``steps`` more steps and return the ``history``.

        Args:
            steps: generator steps to add.
            callbacks: :class:`Callback` objects.
            callback, every, every_seconds: a plain function, called as ``callback(trainer)``
                at the start, every ``every`` steps and/or ``every_seconds`` seconds and at the
                end (:class:`Every`).
            progress: show a progress bar (default: only without callbacks).

        A ``KeyboardInterrupt`` (Ctrl-C, JupyterLab's stop button) or ``should_stop`` set by a
        callback stops the run after the current step, with ``interrupted`` set and the history
        kept; calling :meth:`run` again resumes exactly where it stopped.

        Raises:
            TrainingDiverged: the single model diverged (the message names the step); the
                history keeps everything before it. With many models, the diverged ones stop
                alone and are listed in :attr:`diverged`.
        """
        steps = check_nonnegative_int(steps, "steps")
        cbs = list(callbacks)
        for cb in cbs:
            if not isinstance(cb, Callback):
                raise ValueError(f"callbacks must be gandemo.training.Callback objects; got {cb!r}")
        if callback is not None:
            cbs.append(Every(callback, every, every_seconds))
        if (not cbs) if progress is None else bool(progress):
            desc = (
                f"training ({self.config['loss']})"
                if self.n_models == 1
                else (f"training {self.n_models} models")
            )
            cbs.append(ProgressBar(steps, desc))
        if self.n_models == 1 and self.diverged:
            raise TrainingDiverged(
                f"this model diverged at step {self.diverged[0]}; build a new Trainer"
            )
        self.should_stop = self.interrupted = False
        threads = None  # on the CPU: one thread for small models, else measured
        if self.device.type == "cpu":
            fixed = 1 if self._threads_now() == 1 else self.config["threads"]
            threads = _ThreadChooser(None if fixed == "auto" else fixed)
        rec, met = self.config["record_every"], self.config["metric_every"]
        end = self.step + steps
        try:
            with _deferred_sigint() as sigint:
                if not len(self.history._metric_step):
                    self._record_metrics()
                for cb in cbs:
                    cb.on_start(self)
                due_steps = {id(cb): self.step for cb in cbs}
                due_time = {id(cb): time.perf_counter() for cb in cbs}
                t_window, n_window = 0.0, 0
                try:
                    lock = self._step_lock  # a save from another thread waits for the step
                    while self.step < end:
                        with lock:
                            t0 = time.perf_counter()
                            self._train_step()
                            if self.step % rec == 0:
                                self._flush()
                            now = time.perf_counter()
                            self._wall += now - t0
                            t_window += now - t0
                            n_window += 1
                            if self.step % rec == 0 and threads is not None:
                                threads.window(t_window / n_window, now)
                                t_window, n_window = 0.0, 0
                            if self.step % met == 0:
                                self._record_metrics()
                        if self.step < end:
                            for cb in cbs:
                                k = id(cb)
                                if (
                                    cb.every is not None and self.step - due_steps[k] >= cb.every
                                ) or (
                                    cb.every_seconds is not None
                                    and now - due_time[k] >= cb.every_seconds
                                ):
                                    due_steps[k], due_time[k] = self.step, time.perf_counter()
                                    cb.on_progress(self)
                        if sigint() or self.should_stop:
                            self.interrupted = True
                            break
                except KeyboardInterrupt:
                    self.interrupted = True
                finally:
                    with lock:
                        self._flush()  # the last step is always recorded
        finally:
            if threads is not None:
                threads.restore()
            for cb in cbs:
                cb.on_end(self)
        return self.history

    def final_metrics(self) -> dict[str, np.ndarray]:
        """The metrics of every model now, ``(E,)`` arrays (from the history when a metric
        record was made at this step; measured, not recorded, otherwise)."""
        h = self.history
        if len(h._metric_step) and h._metric_step[-1] == self.step:
            return {k: v[-1] for k, v in h._metrics.items()}
        return self._metrics_now()

    def sample(self, n: int, *, model: int = 0, seed: int | None = None) -> torch.Tensor:
        """``n`` examples of model ``model``, ``(n, dim)`` on the CPU, without gradient.

        The same ``seed`` gives the same latent codes (for every model); ``seed=None`` draws
        them from the model's own viewing stream. Sampling never touches the training stream.
        """
        n = check_positive_int(n, "n")
        e = self._check_model(model)
        k = self.config["latent_dim"]
        if seed is None:
            z = torch.randn(n, k, generator=self._view_rngs[e], device=self.device)
        else:
            seed = check_seed(seed)
            z = torch.randn(n, k, generator=torch.Generator().manual_seed(seed))
        rows = self.sampling_weights[e : e + 1]
        return torch.from_numpy(self._generate(z.unsqueeze(0), rows)[0])

    def evaluation_samples(self, model: int | None = None) -> np.ndarray:
        """The examples the metric records score: every model's (``model=None``, ``(E, n,
        dim)``) or one model's (``(n, dim)``) generator, sampling weights as in the records,
        applied to its fixed evaluation codes (``metric_samples`` of them, seeded by the
        model's seed)."""
        if model is None:
            return self._generate(self._z_eval)
        e = self._check_model(model)
        return self._generate(self._z_eval[e : e + 1], self.sampling_weights[e : e + 1])[0]

    def samples(self, n: int, *, seed: int = 0) -> np.ndarray:
        """``n`` examples of every model from the same seeded latent codes, ``(E, n, dim)``."""
        n = check_positive_int(n, "n")
        g = torch.Generator().manual_seed(check_nonnegative_int(seed, "seed"))
        z = torch.randn(n, self.config["latent_dim"], generator=g)
        return self._generate(z.expand(self.n_models, -1, -1))

    def logits(self, x, *, model: int | None = None) -> np.ndarray:
        """The discriminators' logits :math:`a(x)` at numpy points ``x`` (``(n,)`` for 1-D,
        ``(n, dim)``): an ``(n,)`` array for one ``model``, ``(E, n)`` for all (None)."""
        a = np.asarray(x, dtype=np.float32)
        if self.dim == 1 and a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2 or a.shape[1] != self.dim:
            want = "(n,)" if self.dim == 1 else f"(n, {self.dim})"
            raise ValueError(f"x must have shape {want}; got {a.shape}")
        t = torch.from_numpy(np.ascontiguousarray(a)).to(self.device)
        with torch.no_grad():
            if model is None:
                out = self.D(t.expand(self.n_models, -1, -1))[..., 0]
            else:
                e = self._check_model(model)
                out = self.D(t.unsqueeze(0), self.D.flat[e : e + 1])[0, :, 0]
        return out.cpu().numpy().astype(float)

    def discriminator_on(self, x, *, model: int = 0) -> np.ndarray:
        """:math:`D(x) = \\sigma(a(x))` of model ``model`` at numpy points, an ``(n,)`` array."""
        a = self.logits(x, model=model)
        return 1.0 / (1.0 + np.exp(-np.clip(a, -60, 60)))

    def snapshot(self, n: int = 1000, *, model: int = 0) -> Snapshot:
        """``n`` real and generated examples of model ``model``, its history and metrics."""
        n = check_positive_int(n, "n")
        e = self._check_model(model)
        with torch.no_grad():
            real = self.data.sample(n, self._view_rngs[e]).cpu().numpy()
        fake = self.sample(n, model=e).numpy()
        if self.dim == 1:
            real, fake = real.reshape(-1), fake.reshape(-1)
        return Snapshot(
            step=self.step,
            wall_time=self._wall,
            real=real,
            fake=fake,
            history=self.history.model(e).as_dict(),
            metrics=target_metrics(self.data, fake),
        )

    # -- checkpoints ------------------------------------------------------------------------

    @property
    def _step_lock(self) -> threading.RLock:
        """Held by :meth:`run` over each step and by :meth:`save` while it reads the state, so
        that a save from another thread (the dashboard's) waits for a step boundary."""
        lock = self.__dict__.get("_step_lock_")
        if lock is None:
            with _STEP_LOCK_GUARD:
                lock = self.__dict__.setdefault("_step_lock_", threading.RLock())
        return lock

    def save(self, path) -> None:
        """Save everything needed to continue exactly where this trainer stands.

        The state is read between two steps (a save from another thread than the one that
        trains waits for the current step to end) and serialised in memory. The file is then
        written next to the one ``path`` names (through a symbolic link: the file it points
        to) under a temporary name and renamed over it only once complete, so a save that
        fails halfway (a full disk, a file-size limit, a killed process) leaves the previous
        checkpoint as it was. Only a regular file is ever replaced. Temporary files that a
        killed save left in that folder are removed.

        Raises:
            ValueError: ``path`` cannot be written (empty, a folder, a device or another file
                that is not a regular one, a write-protected file, a missing folder, a folder
                where no file can be created).
            OSError: writing failed (e.g. a full disk or a file-size limit); the message
                names the path and the cause, and the previous file is unchanged.
        """
        import io

        path = check_writable_file(path, "checkpoint path")
        target = os.path.realpath(path)
        folder = os.path.dirname(target)
        buffer = io.BytesIO()
        with self._step_lock:
            self._save_state(buffer)
        _remove_orphan_temporaries(folder)
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".gandemo-{os.getpid()}-", suffix=".tmp", dir=folder)
            with os.fdopen(fd, "wb") as f:
                f.write(buffer.getbuffer())
                f.flush()
                os.fsync(f.fileno())
            if os.path.lexists(target) and not os.path.isfile(target):
                raise ValueError(f"checkpoint path {path!r} is no longer a regular file")
            mode = os.stat(target).st_mode & 0o777 if os.path.exists(target) else 0o644
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException as exc:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            if isinstance(exc, OSError):
                raise OSError(
                    exc.errno,
                    f"could not write checkpoint {path!r} ({exc.strerror or exc}); the "
                    f"previous file, if any, is unchanged",
                ) from exc
            raise

    def _save_state(self, f) -> None:
        """Write the checkpoint's state to the binary file object ``f`` (under the lock)."""
        self._flush()
        c = self.config
        config = dict(c, betas=list(c["betas"]))
        state = dict(
            format="gandemo.Trainer",
            version=2,
            config=config,
            models=[list(mdl) for mdl in self.models],
            dim=self.dim,
            data=_data_fingerprint(self.data),
            device_type=self.device.type,
            step=self.step,
            wall=self._wall,
            generator={"player": "generator", "weights": self.G.flat.detach()},
            discriminator={"player": "discriminator", "weights": self.D.flat.detach()},
            generator_ema=self.ema_flat,
            opt_g={"player": "generator", "state": self.opt_g.state_dict()},
            opt_d={"player": "discriminator", "state": self.opt_d.state_dict()},
            history=self.history.state(),
            diverged={int(k): int(v) for k, v in self.diverged.items()},
            rngs=[
                [r.get_state() for r in rs]
                for rs in (self._data_rngs, self._z_rngs, self._u_rngs, self._view_rngs)
            ],
            real_buf=self._real_buf,
            z_buf=self._z_buf,
            real_pos=self._real_pos,
            z_pos=self._z_pos,
            window=[[step, kind, *tensors] for step, kind, tensors in self._window],
        )
        torch.save(state, f)

    @classmethod
    def load(cls, path, data=None, *, device: str | torch.device | None = None) -> Trainer:
        """A trainer restored from :meth:`save` (on ``device``, default the saved setting).

        ``data`` is the target it was trained on; ``None`` finds it among the package's named
        targets (:data:`gandemo.data.TARGETS`) by the description the checkpoint keeps.

        Everything read is checked against the configuration it describes; any mismatch, a
        truncated or foreign file, a value that is NaN, infinite or out of range, is a
        ValueError that names the problem. A file that holds anything but tensors and plain
        data (a pickled object, which could run code) is refused.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ValueError(f"checkpoint {path!r} does not exist or is not a file")
        try:
            with warnings.catch_warnings():  # a foreign file's notes: it is rejected below
                warnings.simplefilter("ignore")
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupt or foreign file: many exception types
            import pickle
            import re

            if isinstance(exc, pickle.UnpicklingError) and "eights only" in str(exc):
                found = re.search(r"Unsupported (?:global: GLOBAL|operand|class) *[\w.]+", str(exc))
                detail = f" ({found.group(0)})" if found else ""
                raise ValueError(
                    f"{path} is not a readable gandemo checkpoint: it holds objects other than "
                    f"tensors and plain data{detail}, which could run code if loaded; refused"
                ) from None
            raise ValueError(f"{path} is not a readable gandemo checkpoint ({exc})") from exc
        if not isinstance(state, dict) or state.get("format") != "gandemo.Trainer":
            raise ValueError(f"{path} is not a gandemo Trainer checkpoint")
        if state.get("version") != 2:
            raise ValueError(f"{path}: unsupported checkpoint version {state.get('version')!r}")
        if data is None:
            data = _target_of(state.get("data"), path)
        try:
            return cls._from_state(state, data, device)
        except TrainingDiverged:
            raise
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc
        except (KeyError, TypeError, IndexError, AttributeError, RuntimeError) as exc:
            raise ValueError(
                f"{path}: the checkpoint is incomplete or inconsistent ({exc!r})"
            ) from exc

    @classmethod
    def _from_state(cls, state: dict, data, device) -> Trainer:
        config = dict(state["config"])
        if not isinstance(config.get("betas"), list):
            raise ValueError("config has no betas")
        config["betas"] = tuple(config["betas"])
        if device is not None:
            config["device"] = str(device)
        known = set(
            cls.__init__.__code__.co_varnames[
                2 : cls.__init__.__code__.co_argcount + cls.__init__.__code__.co_kwonlyargcount
            ]
        )
        known.discard("_networks")
        if set(config) != known:
            unknown, missing = sorted(set(config) - known), sorted(known - set(config))
            raise ValueError(f"the config has unknown settings {unknown} or lacks {missing}")
        dim = _data_dim(data)
        if dim != state["dim"]:
            raise ValueError(
                f"data has dimension {dim} but the checkpoint was trained on {state['dim']}-D data"
            )
        if _data_fingerprint(data) != state["data"]:
            raise ValueError(
                f"data {_data_fingerprint(data)} does not match the checkpoint's {state['data']}"
            )
        t = cls(data, **config)
        if [list(mdl) for mdl in t.models] != [list(mdl) for mdl in state["models"]]:
            raise ValueError("the models do not match the config")
        e = t.n_models

        def tensor(value, shape, what, dtype=torch.float32):
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != tuple(shape):
                got = (
                    tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                )
                raise ValueError(f"{what} has shape {got}, expected {tuple(shape)}")
            if value.dtype != dtype:
                raise ValueError(f"{what} has dtype {value.dtype}, expected {dtype}")
            return value.to(t.device)

        def player(key, name, field):
            entry = state[key]
            if not isinstance(entry, dict) or entry.get("player") != name or field not in entry:
                raise ValueError(f"{key} does not hold the {name}'s {field}")
            return entry[field]

        with torch.no_grad():
            g = player("generator", "generator", "weights")
            d = player("discriminator", "discriminator", "weights")
            t.G.flat.copy_(tensor(g, t.G.flat.shape, "the generator weights"))
            t.D.flat.copy_(tensor(d, t.D.flat.shape, "the discriminator weights"))
            if (state["generator_ema"] is None) != (t.ema_flat is None):
                raise ValueError("the moving average does not match the config's ema")
            if t.ema_flat is not None:
                t.ema_flat.copy_(
                    tensor(state["generator_ema"], t.ema_flat.shape, "the moving average")
                )
        step = state["step"]
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"step must be a non-negative integer; got {step!r}")
        c = t.config
        for name, who, opt, flat in (
            ("opt_g", "generator", t.opt_g, t.G.flat),
            ("opt_d", "discriminator", t.opt_d, t.D.flat),
        ):
            sd = player(name, who, "state")
            _check_optimizer_state(sd, opt, flat, name)
            updated = step > 0 and (who == "generator" or c["d_steps"] > 0)
            if isinstance(opt, FlatAdam) and updated and not sd["state"]:
                raise ValueError(f"{name} has no Adam state although {who} was trained")
            if who == "generator" and sd["state"].get(0, {}).get("step") is not None:
                if float(sd["state"][0]["step"]) != step:
                    raise ValueError(f"{name} counts other updates than the step {step}")
            opt.load_state_dict(sd)
        t.step = step
        wall = state["wall"]
        if not isinstance(wall, float) or not math.isfinite(wall) or wall < 0:
            raise ValueError(f"wall (training seconds) must be a number >= 0; got {wall!r}")
        t._wall = wall
        t.history = History.from_state(state["history"], e)
        if t.history.models != [tuple(mdl) for mdl in t.models]:
            raise ValueError("the history's models do not match the config's")
        if len(t.history) and (
            t.history._step[-1] != step or sorted(t.history._step) != t.history._step
        ):
            raise ValueError("the history does not end at the checkpoint's step")
        if any(s > step for s in t.history._metric_step):
            raise ValueError("the metric records go past the checkpoint's step")
        window = []
        m = t.config["batch_size"]
        for entry in state["window"]:
            if not isinstance(entry, list) or len(entry) != 5 or entry[1] not in ("d", "g"):
                raise ValueError("the pending record window is malformed")
            w_step, kind, w_loss, w_logits, w_norm = entry
            bad_step = not step - t.config["record_every"] < w_step <= step + 1
            if not isinstance(w_step, int) or bad_step:
                raise ValueError("the pending record window does not end at the step")
            w_loss = tensor(w_loss, (e,), "a pending loss")
            w_norm = tensor(w_norm, (e,), "a pending gradient norm")
            if kind == "d" or w_logits is not None:
                width = 2 * m if kind == "d" else m
                w_logits = tensor(w_logits, (e, width), "pending logits")
            window.append((w_step, kind, (w_loss, w_logits, w_norm)))
        if bool(window) != t.history._provisional:
            raise ValueError("the pending record window does not match the history")
        t._window = window
        diverged = {int(k): int(v) for k, v in state["diverged"].items()}
        if any(not 0 <= k < e for k in diverged):
            raise ValueError("diverged names a model that does not exist")
        for k, v in diverged.items():
            t._stop_model(k, v)
        if state["device_type"] == t.device.type:
            rngs = state["rngs"]
            if len(rngs) != 4 or any(len(rs) != e for rs in rngs):
                raise ValueError("the random streams do not match the models")
            for saved, live in zip(
                rngs, (t._data_rngs, t._z_rngs, t._u_rngs, t._view_rngs), strict=True
            ):
                for s, r in zip(saved, live, strict=True):
                    if not isinstance(s, torch.Tensor) or s.dtype != torch.uint8:
                        raise ValueError("a random stream state is not a byte tensor")
                    r.set_state(s)
            m, k = t.config["batch_size"], t.config["latent_dim"]
            for key, pos_key, width in (("real_buf", "real_pos", dim), ("z_buf", "z_pos", k)):
                buf, pos = state[key], state[pos_key]
                if buf is not None:
                    buf = tensor(buf, (e, cls.CHUNK * m, width), key)
                if (
                    isinstance(pos, bool)
                    or not isinstance(pos, int)
                    or not 0 <= pos <= cls.CHUNK * m
                ):
                    raise ValueError(f"{pos_key} out of range: {pos!r}")
                setattr(t, "_" + key, buf)
                setattr(t, "_" + pos_key, pos)
        else:
            t._real_buf = t._z_buf = None
            warnings.warn(
                f"checkpoint saved on {state['device_type']}, loaded on {t.device.type}: the "
                "random streams restart (the run continues, not bitwise as before)",
                stacklevel=3,
            )
        _check_finite_state(t)
        return t


_STEP_LOCK_GUARD = threading.Lock()


def _check_finite_state(t: Trainer) -> None:
    """A ValueError unless every number a loaded trainer continues from is finite and in range
    (the rows of a diverged model are zero by then, and its pending records are not read)."""
    live = [i for i in range(t.n_models) if i not in t.diverged]

    def check(value, what, rows=None):
        if value is None:
            return
        per_model = value.ndim >= 1 and len(value) == t.n_models
        v = value.reshape(len(value), -1) if per_model else value.reshape(1, -1)
        ok = torch.isfinite(v).all(1)
        bad = [i for i in (rows if rows is not None else range(len(v))) if not bool(ok[i])]
        if bad:
            which = f" (model {', '.join(map(str, bad))})" if per_model else ""
            raise ValueError(f"{what} hold NaN or infinite values{which}")

    check(t.G.flat, "the generator weights")
    check(t.D.flat, "the discriminator weights")
    check(t.ema_flat, "the moving average of the generator")
    for name, opt, flat in (("opt_g", t.opt_g, t.G.flat), ("opt_d", t.opt_d, t.D.flat)):
        for key, value in opt.state.get(flat, {}).items():
            if not torch.is_tensor(value):
                continue
            check(value, f"{name}: {key}")
            if key in ("step", "exp_avg_sq") and bool((value < 0).any()):
                raise ValueError(f"{name}: {key} is negative")
            if key == "step" and float(value) != round(float(value)):
                raise ValueError(f"{name}: step {float(value)} is not a whole number")
    check(t._real_buf, "the pending real minibatches")
    check(t._z_buf, "the pending latent codes")
    for _, _, tensors in t._window:
        for what, value in zip(("losses", "logits", "gradient norms"), tensors, strict=True):
            if value is not None and live:
                check(value, f"the pending {what}", live)


def _target_of(fingerprint, path):
    """The named target of :data:`gandemo.data.TARGETS` that a checkpoint's ``data`` entry
    describes, or a ValueError."""
    from . import data as data_module

    for name in sorted(data_module.TARGETS, key=lambda n: n == "digits"):  # digits: the slowest
        target = data_module.target(name)
        if _data_fingerprint(target) == fingerprint:
            return target
    raise ValueError(
        f"{path} was trained on {fingerprint!r}, none of the named targets "
        f"{sorted(data_module.TARGETS)}; pass the target as data"
    )


#: A temporary file of :meth:`Trainer.save` older than this (seconds) whose writing process is
#: gone was left by a killed save.
ORPHAN_AGE = 60.0


def _remove_orphan_temporaries(folder: str) -> None:
    """Remove the temporary files that killed saves left in ``folder``: named
    ``.gandemo-<pid>-*.tmp``, their process gone, untouched for :data:`ORPHAN_AGE` seconds."""
    if os.name != "posix":  # os.kill(pid, 0) is only a probe on POSIX
        return
    try:
        names = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    for name in names:
        parts = name.split("-")
        if not (name.startswith(".gandemo-") and name.endswith(".tmp") and len(parts) >= 3):
            continue
        if not parts[1].isdigit() or int(parts[1]) == os.getpid():
            continue
        try:
            os.kill(int(parts[1]), 0)
            continue  # the writer is alive
        except ProcessLookupError:
            pass
        except OSError:
            continue
        full = os.path.join(folder, name)
        try:
            if os.path.isfile(full) and now - os.stat(full).st_mtime > ORPHAN_AGE:
                os.unlink(full)
        except OSError:
            pass


def _check_optimizer_state(sd, opt: torch.optim.Optimizer, flat: torch.Tensor, name: str) -> None:
    """A ValueError unless ``sd`` is a state of ``opt``'s kind for the parameter ``flat``."""
    if not isinstance(sd, dict) or set(sd) != {"state", "param_groups"}:
        raise ValueError(f"{name} is not an optimiser state")
    groups = sd["param_groups"]
    if not isinstance(groups, list) or len(groups) != 1 or groups[0].get("params") != [0]:
        raise ValueError(f"{name} does not describe one parameter group of one tensor")
    fresh = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    saved = {k: v for k, v in groups[0].items() if k != "params"}
    if set(saved) != set(fresh):
        raise ValueError(f"{name} belongs to another optimiser than the config's")
    for key, value in fresh.items():
        if key == "betas":
            same = isinstance(saved[key], (tuple, list)) and tuple(saved[key]) == tuple(value)
        else:
            same = saved[key] == value and type(saved[key]) is type(value)
        if not same:
            what = "the learning rate (lr)" if key == "lr" else key
            raise ValueError(f"{name}: {what} is {saved[key]!r}, but the config gives {value!r}")
    state = sd["state"]
    if not isinstance(state, dict) or set(state) - {0}:
        raise ValueError(f"{name} has state for parameters that do not exist")
    need = {"step", "exp_avg", "exp_avg_sq"} if isinstance(opt, FlatAdam) else set()
    if state.get(0) and isinstance(opt, FlatAdam) and set(state[0]) != need:
        raise ValueError(f"{name}: Adam's state must hold {sorted(need)}; got {sorted(state[0])}")
    for key, value in state.get(0, {}).items():
        if key == "step":
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                raise ValueError(f"{name}: step is not a one-element tensor")
        elif key in ("exp_avg", "exp_avg_sq", "momentum_buffer"):
            if not isinstance(value, torch.Tensor) or value.shape != flat.shape:
                got = tuple(value.shape) if isinstance(value, torch.Tensor) else value
                raise ValueError(
                    f"{name}: {key} has shape {got}, but the parameter has {tuple(flat.shape)}"
                )
            if value.dtype != flat.dtype:
                raise ValueError(f"{name}: {key} has dtype {value.dtype}")
        else:
            raise ValueError(f"{name}: unexpected state {key!r}")


def summarize(trainer: Trainer) -> list[dict]:
    """Mean and standard deviation over seeds of the final metrics, one row per loss.

    Introduced in :doc:`/chapters/08_digits`.

    Returns:
        Rows ``{"loss", "runs", "diverged", <metric>: (mean, std), ...}`` in the order the
        losses first appear; the standard deviation is the sample one (``ddof=1``; 0 for a
        single run). A metric that is NaN for some runs (the reverse KL of a model without any
        high-quality sample) is averaged over the others, and ``<metric>_runs`` says how many.
    """
    final = trainer.final_metrics()
    rows = []
    for name, idx in trainer.history.by_loss().items():
        row = {"loss": name, "runs": len(idx), "diverged": sum(i in trainer.diverged for i in idx)}
        for key, values in final.items():
            v = values[idx]
            v = v[np.isfinite(v)]
            if len(v) < len(idx):
                row[f"{key}_runs"] = len(v)
            mean = float(np.mean(v)) if len(v) else math.nan
            row[key] = (mean, float(np.std(v, ddof=1)) if len(v) > 1 else 0.0)
        rows.append(row)
    return rows
