r"""A small, real, seeded alternating training loop for the GAN game.

One training *step* is what Algorithm 1 of Goodfellow et al. (2014) calls one iteration:
``d_steps`` discriminator updates, each on a fresh minibatch of ``batch_size`` real and
``batch_size`` generated examples, then one generator update on a fresh batch of latent codes.

* discriminator loss :math:`L_D = -\hat V` (:func:`gandemo.losses.discriminator_loss`);
* generator loss ``"saturating"`` (:math:`\frac1m\sum\log(1 - D(G(z)))`) or ``"non-saturating"``
  (:math:`-\frac1m\sum\log D(G(z))`), as in :func:`gandemo.losses.generator_loss`;
* Adam for both players, with separate learning rates (plain SGD for the generator on request).

The loop never reads a value back to the host inside a step: every ``record_every`` steps it
stores the window means of the losses, of :math:`D(x)`, :math:`D(G(z))` and of the norm of the
generator's gradient, in one transfer, and calls the optional ``metric`` callback. A NaN or
infinite loss is tracked on the device and reported at the next record as a ValueError that
names the first bad step.

The loop knows nothing about plotting; it returns a :class:`History`.
"""

from __future__ import annotations

import copy
import signal
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from . import losses
from .models import Discriminator, Generator
from .utils import check_nonnegative_int, check_positive, check_positive_int, torch_generator

__all__ = [
    "HISTORY_KEYS",
    "LOSSES",
    "GANLoss",
    "History",
    "LeanAdam",
    "Snapshot",
    "TrainHistory",
    "Trainer",
    "TrainingDiverged",
    "generator_grad_norm",
    "get_loss",
    "resolve_device",
    "shared_config",
    "target_metrics",
    "train",
]

#: The per-record quantities, in the order stored.
HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm")


def generator_grad_norm(generator: torch.nn.Module) -> torch.Tensor:
    """Euclidean norm of the generator's gradient over all its parameters, as a 0-dim tensor."""
    grads = [p.grad.reshape(-1) for p in generator.parameters() if p.grad is not None]
    if not grads:
        raise ValueError("generator has no gradients: call backward() first")
    return torch.linalg.vector_norm(torch.cat(grads))


@dataclass
class History:
    """What :func:`train` recorded: one entry per record, window means over the steps since the
    previous record.

    Attributes:
        step: the step count at each record (1-based: after ``step`` generator updates).
        d_loss, g_loss: mean discriminator and generator losses over the window (each computed
            on its own minibatch, before that minibatch's update).
        d_real, d_fake: mean :math:`D(x)` on real and :math:`D(G(z))` on generated examples
            (from the discriminator's batches; with ``d_steps=0``, ``d_real`` is NaN and
            ``d_fake`` comes from the generator's batches).
        g_grad_norm: mean norm of the generator's gradient.
        metric: the ``metric`` callback's value after the record's step (NaN without callback).
        loss: the generator loss kind.
        config: the other arguments of the run.
    """

    step: np.ndarray
    d_loss: np.ndarray
    g_loss: np.ndarray
    d_real: np.ndarray
    d_fake: np.ndarray
    g_grad_norm: np.ndarray
    metric: np.ndarray
    loss: str
    config: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The recorded arrays by name."""
        keys = ("step", *HISTORY_KEYS, "metric")
        return {k: getattr(self, k) for k in keys}


def train(
    generator: Generator,
    discriminator: Discriminator,
    data,
    *,
    steps: int,
    loss: str = "non-saturating",
    batch_size: int = 64,
    d_steps: int = 1,
    lr_g: float = 1e-3,
    lr_d: float = 1e-3,
    betas: tuple[float, float] = (0.5, 0.999),
    g_optimizer: str = "adam",
    record_every: int = 10,
    metric: Callable[[Generator], float] | None = None,
    seed: int = 0,
) -> History:
    r"""Train ``generator`` and ``discriminator`` in place with alternating updates.

    Args:
        generator: a :class:`gandemo.models.Generator`.
        discriminator: a :class:`gandemo.models.Discriminator` (returns logits).
        data: the target, with ``sample(n, generator)`` returning ``(n,)`` or ``(n, dim)``
            examples (see :mod:`gandemo.data`).
        steps: generator updates.
        loss: ``"saturating"`` or ``"non-saturating"`` generator loss.
        batch_size: examples of each kind per minibatch, :math:`m`.
        d_steps: discriminator updates per generator update, :math:`k` (0 freezes D).
        lr_g, lr_d: Adam learning rates of the generator and the discriminator.
        betas: Adam's betas, shared by both optimisers.
        g_optimizer: ``"adam"`` (default) or ``"sgd"`` (plain gradient descent, whose step is
            proportional to the gradient: chapter 4 uses it to show what a vanishing gradient
            does when no optimiser rescales it).
        record_every: steps between two records (the last step is always recorded).
        metric: called as ``metric(generator)`` at each record, under ``torch.no_grad()``;
            returns a float (e.g. a JSD to the target, :mod:`gandemo.metrics`).
        seed: seeds every minibatch (data and latent codes) through one
            :class:`torch.Generator`; the networks' initial weights are the caller's.

    Returns:
        The :class:`History`.

    Raises:
        ValueError: on bad arguments, or when a loss becomes NaN or infinite (naming the step).
    """
    if loss not in losses.GENERATOR_LOSS_KINDS:
        raise ValueError(f"loss must be one of {losses.GENERATOR_LOSS_KINDS}; got {loss!r}")
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    d_steps = check_nonnegative_int(d_steps, "d_steps")
    lr_g, lr_d = check_positive(lr_g, "lr_g"), check_positive(lr_d, "lr_d")
    record_every = check_positive_int(record_every, "record_every")
    if metric is not None and not callable(metric):
        raise ValueError("metric must be callable or None")
    if not hasattr(data, "sample"):
        raise ValueError("data must have a sample(n, generator) method")
    if g_optimizer not in ("adam", "sgd"):
        raise ValueError(f"g_optimizer must be 'adam' or 'sgd'; got {g_optimizer!r}")
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1); got {betas!r}")

    device = next(generator.parameters()).device
    rng = torch_generator(check_nonnegative_int(seed, "seed"), device)
    if g_optimizer == "adam":
        opt_g = torch.optim.Adam(generator.parameters(), lr=lr_g, betas=betas)
    else:
        opt_g = torch.optim.SGD(generator.parameters(), lr=lr_g)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=betas)

    def real_batch() -> torch.Tensor:
        return data.sample(batch_size, rng).to(device)

    zero = torch.zeros((), device=device)
    sums = torch.zeros(len(HISTORY_KEYS), device=device)
    counts = torch.zeros(len(HISTORY_KEYS), device=device)
    d_step_counts = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0], device=device)  # keys a D step fills
    first_bad = torch.full((), -1, dtype=torch.long, device=device)
    records: list[list[float]] = []
    record_steps: list[int] = []
    metric_values: list[float] = []

    for step in range(1, steps + 1):
        # discriminator: k updates on fresh batches, the generator's samples detached
        for _ in range(d_steps):
            x_real = real_batch()
            with torch.no_grad():
                x_fake = generator.sample(batch_size, rng)
            real_logits, fake_logits = discriminator(x_real), discriminator(x_fake)
            d_loss = losses.discriminator_loss(real_logits, fake_logits, check=False)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            with torch.no_grad():
                stats = torch.stack(
                    [
                        d_loss,
                        zero,
                        torch.sigmoid(real_logits).mean(),
                        torch.sigmoid(fake_logits).mean(),
                        zero,
                    ]
                )
                sums += stats
                counts += d_step_counts
                bad = ~torch.isfinite(d_loss) & (first_bad < 0)
                first_bad = torch.where(bad, torch.full_like(first_bad, step), first_bad)

        # generator: one update through the (fixed) discriminator
        fake_logits = discriminator(generator.sample(batch_size, rng))
        g_loss = losses.generator_loss(fake_logits, loss, check=False)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        grad_norm = generator_grad_norm(generator)
        opt_g.step()
        discriminator.zero_grad(set_to_none=True)  # D's grads from G's backward are not used
        with torch.no_grad():
            if d_steps == 0:
                sums[3] += torch.sigmoid(fake_logits).mean()
                counts[3] += 1
            sums[1] += g_loss
            sums[4] += grad_norm
            counts[1] += 1
            counts[4] += 1
            bad = ~torch.isfinite(g_loss) & (first_bad < 0)
            first_bad = torch.where(bad, torch.full_like(first_bad, step), first_bad)

        if step % record_every == 0 or step == steps:
            window = torch.where(counts > 0, sums / counts.clamp(min=1), torch.nan)
            values = torch.cat([window, first_bad.to(window.dtype).reshape(1)]).tolist()
            if values[-1] >= 0:
                raise ValueError(
                    f"a loss became NaN or infinite at step {int(values[-1])} (loss={loss!r}, "
                    f"lr_g={lr_g}, lr_d={lr_d}); if the data are finite, lower the learning rates"
                )
            records.append(values[:-1])
            record_steps.append(step)
            if metric is not None:
                with torch.no_grad():
                    metric_values.append(float(metric(generator)))
            else:
                metric_values.append(float("nan"))
            sums.zero_()
            counts.zero_()

    table = np.asarray(records, dtype=float)
    config = dict(
        batch_size=batch_size,
        d_steps=d_steps,
        lr_g=lr_g,
        lr_d=lr_d,
        betas=tuple(betas),
        g_optimizer=g_optimizer,
        record_every=record_every,
        seed=seed,
        steps=steps,
    )
    return History(
        step=np.asarray(record_steps),
        **{k: table[:, i] for i, k in enumerate(HISTORY_KEYS)},
        metric=np.asarray(metric_values, dtype=float),
        loss=loss,
        config=config,
    )


# ---------------------------------------------------------------------------------------------
# The training engine of chapters 6 and later
# ---------------------------------------------------------------------------------------------


class TrainingDiverged(ValueError):
    """A loss became NaN or infinite; the message names the step and the loss."""


#: The losses :class:`Trainer` knows, by name: the registry :data:`gandemo.losses.LOSSES`.
LOSSES = losses.LOSSES
GANLoss = losses.GANLoss
get_loss = losses.get_loss

#: The per-record keys of :class:`TrainHistory`, in order.
TRAIN_HISTORY_KEYS = ("step", "d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm", "wall_time")


@dataclass
class TrainHistory:
    """What a :class:`Trainer` recorded.

    Every ``record_every`` generator steps (and at the end of each :meth:`Trainer.run`) one
    record holds the window means since the previous record: ``d_loss``, ``g_loss``,
    ``d_real`` (mean :math:`D(x)`), ``d_fake`` (mean :math:`D(G(z))` on the discriminator's
    batches, or on the generator's when the window had no discriminator update), and
    ``g_grad_norm``; ``step`` is the generator step count and ``wall_time`` the training
    seconds so far. Every ``metric_every`` steps (and at step 0) ``metric_step`` and the
    ``metrics`` fields (``modes``, ``high_quality``, ``reverse_kl`` for a 2-D mixture, ``jsd``
    for a 1-D density) get one entry.
    """

    step: list = field(default_factory=list)
    d_loss: list = field(default_factory=list)
    g_loss: list = field(default_factory=list)
    d_real: list = field(default_factory=list)
    d_fake: list = field(default_factory=list)
    g_grad_norm: list = field(default_factory=list)
    wall_time: list = field(default_factory=list)
    metric_step: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.step)

    def as_dict(self) -> dict:
        """Every recorded series as a numpy array, by name (metric fields included)."""
        out = {k: np.asarray(getattr(self, k), dtype=float) for k in TRAIN_HISTORY_KEYS}
        out["step"] = np.asarray(self.step, dtype=np.int64)
        out["metric_step"] = np.asarray(self.metric_step, dtype=np.int64)
        for name, values in self.metrics.items():
            out[name] = np.asarray(values, dtype=float)
        return out

    def state(self) -> dict:
        """Plain lists and dicts (what a checkpoint stores)."""
        d = {k: [float(v) for v in getattr(self, k)] for k in TRAIN_HISTORY_KEYS}
        d["step"] = [int(v) for v in self.step]
        d["metric_step"] = [int(v) for v in self.metric_step]
        d["metrics"] = {k: [float(v) for v in vs] for k, vs in self.metrics.items()}
        return d

    @classmethod
    def from_state(cls, state: dict) -> TrainHistory:
        """Inverse of :meth:`state`."""
        h = cls()
        for k in (*TRAIN_HISTORY_KEYS, "metric_step"):
            setattr(h, k, list(state[k]))
        h.metrics = {k: list(v) for k, v in state["metrics"].items()}
        return h


@dataclass
class Snapshot:
    """The state of a :class:`Trainer` for a plot or a dashboard.

    Attributes:
        step: generator steps so far.
        wall_time: training seconds so far.
        real, fake: ``n`` target and generated samples (numpy; ``(n,)`` for a 1-D target,
            ``(n, 2)`` for a 2-D one).
        history: :meth:`TrainHistory.as_dict` at that moment.
        metrics: for a 2-D mixture the :func:`gandemo.metrics.mode_coverage` fields, for a 1-D
            density ``{"jsd": ...}`` (of ``fake``); empty for other targets.
    """

    step: int
    wall_time: float
    real: np.ndarray
    fake: np.ndarray
    history: dict
    metrics: dict


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA if available, then Apple's MPS, then the CPU; anything else as given."""
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError) as exc:
        raise ValueError(f"device must be 'auto' or a torch device; got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
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


def shared_config(
    *,
    latent_dim,
    width,
    depth,
    batch_size,
    lr_g,
    lr_d,
    betas,
    record_every,
    metric_every,
    metric_samples,
) -> dict:
    """The settings :class:`Trainer` and :class:`gandemo.batched.BatchedTrainer` share, checked
    (ValueError naming the argument) and normalised (``betas`` as a tuple of two floats)."""
    try:
        betas = tuple(float(b) for b in betas)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"betas must be two numbers in [0, 1); got {betas!r}") from exc
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1); got {betas!r}")
    return dict(
        latent_dim=check_positive_int(latent_dim, "latent_dim"),
        width=check_positive_int(width, "width"),
        depth=check_positive_int(depth, "depth"),
        batch_size=check_positive_int(batch_size, "batch_size"),
        lr_g=check_positive(lr_g, "lr_g"),
        lr_d=check_positive(lr_d, "lr_d"),
        betas=betas,
        record_every=check_positive_int(record_every, "record_every"),
        metric_every=check_positive_int(metric_every, "metric_every"),
        metric_samples=check_positive_int(metric_samples, "metric_samples"),
    )


class LeanAdam(torch.optim.Adam):
    """:class:`torch.optim.Adam` with the fused kernel and a lean ``step()`` for small networks.

    ``torch.optim.Adam.step`` spends most of its time on small networks in Python bookkeeping
    (hooks, profiling scopes, grouping tensors by device and dtype on every call); this ``step``
    calls the same fused kernel, :func:`torch._fused_adam_`, directly. State, ``state_dict`` and
    results are those of ``torch.optim.Adam(..., fused=True)`` (tested); anything unusual
    (a closure, AMSGrad, ``maximize``, tensor learning rates, no fused kernel) goes through
    the parent's ``step``.
    """

    def __init__(self, params, lr: float, betas: tuple[float, float]) -> None:
        super().__init__(params, lr=lr, betas=betas, fused=True)
        self._lean_cache: list | None = None

    def load_state_dict(self, state_dict) -> None:
        super().load_state_dict(state_dict)
        self._lean_cache = None

    def add_param_group(self, param_group) -> None:
        super().add_param_group(param_group)
        self._lean_cache = None

    def _build_cache(self) -> list | None:
        cache = []
        for group in self.param_groups:
            params = [p for p in group["params"] if p.requires_grad]
            if not params:
                continue
            first = self.state[params[0]].get("step")
            # one step counter shared by the group's tensors (they always advance together)
            step = (
                torch.zeros((), dtype=torch.float32, device=params[0].device)
                if first is None
                else first.detach().clone()
            )
            for p in params:
                state = self.state[p]
                old = state.get("step")
                if old is not None and float(old) != float(step):
                    return None  # counters differ: leave it to the parent's step
                state["step"] = step
                if "exp_avg" not in state:
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            exp_avgs = [self.state[p]["exp_avg"] for p in params]
            exp_avg_sqs = [self.state[p]["exp_avg_sq"] for p in params]
            cache.append((group, params, exp_avgs, exp_avg_sqs, step, [step] * len(params)))
        return cache

    @torch.no_grad()
    def lean_step(self) -> None:
        """One Adam update with minimal Python overhead (what :class:`Trainer` calls)."""
        fused = getattr(torch, "_fused_adam_", None)
        for group in self.param_groups:
            unusual = group["amsgrad"] or group["maximize"] or group.get("decoupled_weight_decay")
            if fused is None or unusual or torch.is_tensor(group["lr"]):
                super().step()
                return
        if self._lean_cache is None:
            self._lean_cache = self._build_cache()
            if self._lean_cache is None:
                super().step()
                return
        for group, params, exp_avgs, exp_avg_sqs, step, steps in self._lean_cache:
            grads = [p.grad for p in params]
            if any(g is None for g in grads):  # a partial update: the general code path
                self._lean_cache = None
                super().step()
                return
            step.add_(1)
            beta1, beta2 = group["betas"]
            fused(
                params,
                grads,
                exp_avgs,
                exp_avg_sqs,
                [],
                steps,
                amsgrad=False,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                maximize=False,
                grad_scale=None,
                found_inf=None,
            )

    def step(self, closure=None):
        if closure is not None:
            return super().step(closure)
        self.lean_step()
        return None


def _adam(params, lr, betas, device):
    try:  # one fused kernel per step instead of a Python loop over the parameters
        return LeanAdam(params, lr, betas)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=device.type != "cpu")


def _fast_forward(module: torch.nn.Module, squeeze: bool):
    """``module``'s forward pass as direct ``linear``/``leaky_relu`` calls, or None.

    For gandemo's own :class:`Generator`/:class:`Discriminator` (an MLP of Linear and LeakyReLU
    layers), calling the functions directly skips ``nn.Module.__call__`` for each of the
    layers, a large share of a step for networks this small. Subclasses, other layers and
    modules with hooks get None (the caller then calls the module).
    """
    if type(module) not in (Generator, Discriminator) or not isinstance(
        module.net, torch.nn.Sequential
    ):
        return None
    mods = [module, module.net, *module.net]
    if any(m._forward_hooks or m._forward_pre_hooks for m in mods):
        return None
    steps = []
    for layer in module.net:
        if type(layer) is torch.nn.Linear:
            steps.append((layer, None))
        elif type(layer) is torch.nn.LeakyReLU:
            steps.append((None, float(layer.negative_slope)))
        else:
            return None
    f = torch.nn.functional

    def forward(x: torch.Tensor) -> torch.Tensor:
        for layer, slope in steps:
            x = f.linear(x, layer.weight, layer.bias) if slope is None else f.leaky_relu(x, slope)
        return x.squeeze(1) if squeeze else x

    return forward


def _opt_step(opt: torch.optim.Optimizer) -> None:
    if isinstance(opt, LeanAdam):
        opt.lean_step()
    else:
        opt.step()


def _clear_grads(params: list[torch.Tensor]) -> None:
    for p in params:
        p.grad = None


class Trainer:
    r"""A seeded, resumable GAN training engine on the toy targets of :mod:`gandemo.data`.

    One *step* is one generator update. With ``update="alternating"`` (Algorithm 1 of
    Goodfellow et al. 2014) it is preceded by ``d_steps`` discriminator updates, each on a fresh
    batch of ``batch_size`` real and ``batch_size`` generated examples; the generator then
    updates on a fresh batch of latent codes against the updated discriminator. With
    ``update="simultaneous"`` both players compute their gradients on the same batch at the
    same parameters and update together (``d_steps`` must then be 1).

    The loop never waits for the device inside a step: the per-step losses, :math:`D(x)`,
    :math:`D(G(z))` and the generator's gradient norm stay on the device and are read back in one
    transfer per record (every ``record_every`` steps), which is also where a NaN or infinite
    loss is noticed (:class:`TrainingDiverged`). Real examples and latent codes are drawn in
    chunks of many batches from one seeded :class:`torch.Generator` on the training device.
    Same seed, same device (and thread count, versions) => identical history, however the steps
    are split between calls, interrupts and checkpoints.

    Args:
        data: the target, with ``sample(n, generator)`` returning ``(n,)`` (1-D) or ``(n, d)``
            examples (:mod:`gandemo.data`).
        loss: a name in :data:`LOSSES`.
        latent_dim: dimension of :math:`z \sim \mathcal N(0, I)`.
        width, depth: hidden units per layer and hidden layers of both MLPs.
        batch_size: examples of each kind per minibatch.
        d_steps: discriminator updates per generator update (0 freezes D).
        lr_g, lr_d: Adam learning rates of the two players.
        betas: Adam's betas, shared.
        update: ``"alternating"`` or ``"simultaneous"``.
        device: ``"auto"`` (CUDA, then MPS, then CPU) or a torch device.
        seed: seeds the initial weights (generator: ``seed``, discriminator: ``seed + 1``)
            and the training stream.
        record_every: steps per history record.
        metric_every: steps between two metric records (modes/high-quality/reverse KL or JSD).
        metric_samples: generated samples per metric record (fixed latent codes).
        slope: negative slope of both networks' hidden LeakyReLUs (0: ReLU).
        ema: decay of an exponential moving average of the generator's weights (e.g. 0.99),
            updated after every generator step and used for samples, snapshots and metrics
            (:attr:`sampler`); None (default) samples from the trained generator itself.
    """

    CHUNK = 64  # batches drawn per call to a sampler

    def __init__(
        self,
        data,
        *,
        loss: str = "non-saturating",
        latent_dim: int = 2,
        width: int = 64,
        depth: int = 2,
        batch_size: int = 128,
        d_steps: int = 1,
        lr_g: float = 1e-3,
        lr_d: float = 1e-3,
        betas: tuple[float, float] = (0.5, 0.999),
        update: str = "alternating",
        device: str | torch.device = "auto",
        seed: int = 0,
        record_every: int = 10,
        metric_every: int = 200,
        metric_samples: int = 2500,
        slope: float = 0.2,
        ema: float | None = None,
    ) -> None:
        self.loss = get_loss(loss)
        common = shared_config(
            latent_dim=latent_dim,
            width=width,
            depth=depth,
            batch_size=batch_size,
            lr_g=lr_g,
            lr_d=lr_d,
            betas=betas,
            record_every=record_every,
            metric_every=metric_every,
            metric_samples=metric_samples,
        )
        d_steps = check_nonnegative_int(d_steps, "d_steps")
        if update not in ("alternating", "simultaneous"):
            raise ValueError(f"update must be 'alternating' or 'simultaneous'; got {update!r}")
        if update == "simultaneous" and d_steps != 1:
            raise ValueError(f"d_steps must be 1 with update='simultaneous'; got {d_steps}")
        seed = check_nonnegative_int(seed, "seed")
        try:
            slope = float(slope)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"slope must be a number in [0, 1); got {slope!r}") from exc
        if not 0 <= slope < 1:
            raise ValueError(f"slope must be a number in [0, 1); got {slope!r}")
        if ema is not None:
            try:
                ema = float(ema)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"ema must be None or a decay in (0, 1); got {ema!r}") from exc
            if not 0 < ema < 1:
                raise ValueError(f"ema must be None or a decay in (0, 1); got {ema!r}")
        self.device = resolve_device(device)
        self.data = data
        self.dim = _data_dim(data)
        self.config = dict(
            loss=loss,
            **common,
            d_steps=d_steps,
            update=update,
            device=str(device),
            seed=seed,
            slope=slope,
            ema=ema,
        )
        latent_dim, width, depth = common["latent_dim"], common["width"], common["depth"]
        betas, metric_samples = common["betas"], common["metric_samples"]
        lr_g, lr_d = common["lr_g"], common["lr_d"]
        self.generator = Generator(latent_dim, self.dim, width, depth, seed=seed, slope=slope).to(
            self.device
        )
        self.discriminator = Discriminator(self.dim, width, depth, seed=seed + 1, slope=slope).to(
            self.device
        )
        #: the exponential moving average of the generator's weights (``ema`` given), else None
        self.generator_ema: Generator | None = None
        self._ema_params: list[torch.Tensor] = []
        if ema is not None:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
            self._ema_params = list(self.generator_ema.parameters())
        self.opt_g = _adam(self.generator.parameters(), lr_g, betas, self.device)
        self.opt_d = _adam(self.discriminator.parameters(), lr_d, betas, self.device)
        self.step = 0
        self.history = TrainHistory()
        self._g_params = list(self.generator.parameters())
        self._d_params = list(self.discriminator.parameters())
        self._g = _fast_forward(self.generator, squeeze=False) or self.generator
        self._d = _fast_forward(self.discriminator, squeeze=True) or self.discriminator
        self._rng = torch_generator(seed, self.device)  # training batches
        self._view_rng = torch_generator(seed + 2, self.device)  # snapshots and sample()
        z_rng = torch_generator(seed + 3, self.device)
        self._z_eval = torch.randn(metric_samples, latent_dim, generator=z_rng, device=self.device)
        self._real_buf: torch.Tensor | None = None
        self._z_buf: torch.Tensor | None = None
        self._real_pos = self._z_pos = 0
        self._wall = 0.0
        self._clear_window()

    # -- sampling -------------------------------------------------------------------------

    def _real_batch(self) -> torch.Tensor:
        m = self.config["batch_size"]
        if self._real_buf is None or self._real_pos + m > self._real_buf.shape[0]:
            x = self.data.sample(self.CHUNK * m, self._rng).to(self.device)
            self._real_buf = x.reshape(-1, 1) if x.dim() == 1 else x
            self._real_pos = 0
        x = self._real_buf[self._real_pos : self._real_pos + m]
        self._real_pos += m
        return x

    def _z_batch(self) -> torch.Tensor:
        m = self.config["batch_size"]
        if self._z_buf is None or self._z_pos + m > self._z_buf.shape[0]:
            shape = (self.CHUNK * m, self.config["latent_dim"])
            self._z_buf = torch.randn(shape, generator=self._rng, device=self.device)
            self._z_pos = 0
        z = self._z_buf[self._z_pos : self._z_pos + m]
        self._z_pos += m
        return z

    # -- one update of each kind (no host sync) ------------------------------------------------

    def _clear_window(self) -> None:
        self._w_d: list[torch.Tensor] = []  # D losses
        self._w_dp: list[torch.Tensor] = []  # (mean D(x), mean D(G(z))) per D update
        self._w_g: list[torch.Tensor] = []  # G losses
        self._w_gn: list[torch.Tensor] = []  # G gradient norms
        self._w_gf: list[torch.Tensor] = []  # mean D(G(z)) on G's batches
        self._w_dstep: list[int] = []
        self._w_gstep: list[int] = []

    def _update_d(self, step: int) -> None:
        m = self.config["batch_size"]
        real = self._real_batch()
        with torch.no_grad():
            fake = self._g(self._z_batch())
        logits = self._d(torch.cat([real, fake]))
        d_loss = self.loss.d(logits[:m], logits[m:])
        if self.loss.penalty:
            u = torch.rand(m, 1, generator=self._rng, device=self.device)
            d_loss = d_loss + self.loss.penalty * losses.gradient_penalty(self._d, real, fake, u)
        _clear_grads(self._d_params)
        d_loss.backward()
        _opt_step(self.opt_d)
        self._w_d.append(d_loss.detach())
        self._w_dp.append(torch.sigmoid(logits.detach()).view(2, m).mean(1))
        self._w_dstep.append(step)

    def _update_g(self, step: int, fake_stats: bool) -> None:
        fake_logits = self._d(self._g(self._z_batch()))
        g_loss = self.loss.g(fake_logits)
        _clear_grads(self._g_params)
        g_loss.backward(inputs=self._g_params)  # no gradient for D's weights
        self._w_gn.append(self._grad_norm())
        _opt_step(self.opt_g)
        if self._ema_params:
            self._update_ema()
        self._w_g.append(g_loss.detach())
        if fake_stats:
            self._w_gf.append(torch.sigmoid(fake_logits.detach()).mean())
        self._w_gstep.append(step)

    def _update_both(self, step: int) -> None:
        m = self.config["batch_size"]
        real = self._real_batch()
        fake = self._g(self._z_batch())
        logits = self._d(torch.cat([real, fake]))
        d_loss = self.loss.d(logits[:m], logits[m:])
        if self.loss.penalty:
            u = torch.rand(m, 1, generator=self._rng, device=self.device)
            d_loss = d_loss + self.loss.penalty * losses.gradient_penalty(self._d, real, fake, u)
        g_loss = self.loss.g(logits[m:])
        _clear_grads(self._d_params)
        _clear_grads(self._g_params)
        d_loss.backward(inputs=self._d_params, retain_graph=True)
        g_loss.backward(inputs=self._g_params)
        self._w_gn.append(self._grad_norm())
        _opt_step(self.opt_d)
        _opt_step(self.opt_g)
        if self._ema_params:
            self._update_ema()
        self._w_d.append(d_loss.detach())
        self._w_dp.append(torch.sigmoid(logits.detach()).view(2, m).mean(1))
        self._w_g.append(g_loss.detach())
        self._w_dstep.append(step)
        self._w_gstep.append(step)

    @torch.no_grad()
    def _update_ema(self) -> None:
        """Move the averaged weights a step ``1 - ema`` towards the generator's."""
        weight = 1.0 - self.config["ema"]
        lerp = getattr(torch, "_foreach_lerp_", None)
        if lerp is not None:
            lerp(self._ema_params, self._g_params, weight)
        else:
            for e, p in zip(self._ema_params, self._g_params, strict=True):
                e.lerp_(p, weight)

    @property
    def sampler(self) -> Generator:
        """The generator that samples, metrics and snapshots use (the averaged one when
        ``ema`` is set, else the trained one)."""
        return self.generator if self.generator_ema is None else self.generator_ema

    def _grad_norm(self) -> torch.Tensor:
        """The generator's gradient norm, like :func:`generator_grad_norm` in fewer ops."""
        foreach_norm = getattr(torch, "_foreach_norm", None)
        if foreach_norm is None:
            return generator_grad_norm(self.generator)
        grads = [p.grad for p in self._g_params if p.grad is not None]
        return torch.linalg.vector_norm(torch.stack(foreach_norm(grads)))

    def _train_step(self) -> None:
        """One generator step (and its discriminator updates); no host sync."""
        step = self.step + 1
        if self.config["update"] == "simultaneous":
            self._update_both(step)
        else:
            for _ in range(self.config["d_steps"]):
                self._update_d(step)
            self._update_g(step, fake_stats=self.config["d_steps"] == 0)
        self.step = step

    # -- records ---------------------------------------------------------------------------

    def _flush(self) -> None:
        """Read the window back in one transfer, check it, append one record."""
        if not self._w_g and not self._w_d:
            return
        nd, ng, nf = len(self._w_d), len(self._w_g), len(self._w_gf)
        parts = []
        if nd:
            parts += [torch.stack(self._w_d), torch.stack(self._w_dp).reshape(-1)]
        if ng:
            parts += [torch.stack(self._w_g), torch.stack(self._w_gn)]
        if nf:
            parts.append(torch.stack(self._w_gf))
        flat = torch.cat([p.float() for p in parts]).cpu().numpy().astype(float)
        d_loss, flat = flat[:nd], flat[nd:]
        d_probs, flat = flat[: 2 * nd].reshape(nd, 2), flat[2 * nd :]
        g_loss, g_norm, g_fake = flat[:ng], flat[ng : 2 * ng], flat[2 * ng :]
        d_step, g_step = np.asarray(self._w_dstep), np.asarray(self._w_gstep)
        self._clear_window()

        bad_d = np.flatnonzero(~np.isfinite(d_loss))
        bad_g = np.flatnonzero(~np.isfinite(g_loss))
        candidates = []
        if bad_d.size:
            candidates.append((int(d_step[bad_d[0]]), "discriminator", d_loss[bad_d[0]]))
        if bad_g.size:
            candidates.append((int(g_step[bad_g[0]]), "generator", g_loss[bad_g[0]]))
        first = min(candidates, key=lambda c: c[0]) if candidates else None
        last = self.step
        if first is not None:
            last = first[0] - 1  # keep what came before the bad step
            keep_d, keep_g = d_step <= last, g_step <= last
            d_loss, d_probs = d_loss[keep_d], d_probs[keep_d]
            g_loss, g_norm = g_loss[keep_g], g_norm[keep_g]
            g_fake = g_fake[keep_g] if g_fake.size == keep_g.size else g_fake[:0]
        if g_loss.size or d_loss.size:
            nan = float("nan")
            h = self.history
            h.step.append(int(last))
            h.d_loss.append(float(d_loss.mean()) if d_loss.size else nan)
            h.g_loss.append(float(g_loss.mean()) if g_loss.size else nan)
            h.d_real.append(float(d_probs[:, 0].mean()) if d_loss.size else nan)
            if d_loss.size:
                h.d_fake.append(float(d_probs[:, 1].mean()))
            else:
                h.d_fake.append(float(g_fake.mean()) if g_fake.size else nan)
            h.g_grad_norm.append(float(g_norm.mean()) if g_norm.size else nan)
            h.wall_time.append(self._wall)
        if first is not None:
            step, who, value = first
            if who == "generator":
                what = f"generator loss ({self.config['loss']})"
            else:
                what = f"discriminator loss ({self.config['loss']} game)"
            raise TrainingDiverged(
                f"the {what} became {value} at step {step} "
                f"(lr_g={self.config['lr_g']}, lr_d={self.config['lr_d']}); the history keeps "
                f"the steps before it; lower the learning rates and start again"
            )

    def _record_metrics(self) -> None:
        with torch.no_grad():
            fake = self.sampler(self._z_eval).cpu().numpy()
        values = target_metrics(self.data, fake[:, 0] if self.dim == 1 else fake)
        self.history.metric_step.append(int(self.step))
        for k, v in values.items():
            self.history.metrics.setdefault(k, []).append(float(v))

    # -- public API -----------------------------------------------------------------------

    def set_learning_rates(self, lr_g: float | None = None, lr_d: float | None = None) -> None:
        """Change the Adam learning rates from the next update on (a schedule in two lines:
        train fast, then call this with smaller rates to let the samples settle)."""
        for lr, opt, name in ((lr_g, self.opt_g, "lr_g"), (lr_d, self.opt_d, "lr_d")):
            if lr is not None:
                lr = check_positive(lr, name)
                for group in opt.param_groups:
                    group["lr"] = lr
                self.config[name] = lr

    def step_d(self) -> None:
        """Exactly one discriminator update (recorded with the next generator step)."""
        t = time.perf_counter()
        self._update_d(self.step + 1)
        self._wall += time.perf_counter() - t

    def step_g(self) -> None:
        """Exactly one generator update; then one history record (and metrics when due)."""
        t = time.perf_counter()
        if not self.history.metric_step:
            self._record_metrics()
        self._update_g(self.step + 1, fake_stats=True)
        self.step += 1
        self._wall += time.perf_counter() - t
        self._flush()
        if self.step % self.config["metric_every"] == 0:
            self._record_metrics()

    def iterate(self, steps: int, *, every: int | None = 50, every_seconds: float | None = None):
        """Train ``steps`` more generator steps, yielding a :class:`Snapshot` every ``every``
        steps and/or ``every_seconds`` of wall time (whichever comes first) and at the end.

        Breaking out of the loop leaves the trainer consistent (between two steps); the next
        call resumes. Raises :class:`TrainingDiverged` as :meth:`run` does.
        """
        steps = check_nonnegative_int(steps, "steps")
        if every is not None:
            every = check_positive_int(every, "every")
        if every_seconds is not None:
            every_seconds = check_positive(every_seconds, "every_seconds")
        yield from self._loop(steps, every, every_seconds, None)

    def _loop(self, steps, every, every_seconds, bar, stop=None):
        """The training loop as a generator of snapshots (see :meth:`iterate`)."""
        rec, met = self.config["record_every"], self.config["metric_every"]
        if not self.history.metric_step:
            self._record_metrics()
        end = self.step + steps
        since, shown, t_last = 0, 0, time.perf_counter()
        try:
            while self.step < end:
                t0 = time.perf_counter()
                self._train_step()
                now = time.perf_counter()
                self._wall += now - t0
                since += 1
                shown += 1
                if self.step % rec == 0:
                    self._flush()
                    if bar is not None:
                        bar.update(shown)
                        shown = 0
                if self.step % met == 0:
                    self._record_metrics()
                if stop is not None and stop():
                    return
                due = (every is not None and since >= every) or (
                    every_seconds is not None and now - t_last >= every_seconds
                )
                if due and self.step < end:
                    since, t_last = 0, time.perf_counter()
                    yield self.snapshot()
        finally:
            if self._w_g or self._w_d:
                self._flush()  # the last step is always recorded
            if bar is not None and shown:
                bar.update(shown)
        yield self.snapshot()

    def run(
        self,
        steps: int,
        *,
        callback: Callable[[Snapshot], object] | None = None,
        every: int | None = None,
        every_seconds: float | None = None,
        progress: bool | None = None,
    ) -> TrainHistory:
        """Train ``steps`` more generator steps and return ``self.history``.

        Args:
            steps: generator steps to add.
            callback: called as ``callback(snapshot)`` every ``every`` steps and/or
                ``every_seconds`` seconds (whichever comes first) and once at the end.
            every, every_seconds: how often to call ``callback`` (default: only at the end).
            progress: show a tqdm progress bar (default: only when there is no callback).

        A ``KeyboardInterrupt`` (JupyterLab's stop button, or raised by the callback) stops the
        run after the current step and returns the history so far; calling :meth:`run` again
        resumes from there.

        Raises:
            TrainingDiverged: a loss became NaN or infinite (the message names the step and the
                loss); ``self.history`` keeps everything before that step.
        """
        steps = check_nonnegative_int(steps, "steps")
        if callback is not None and not callable(callback):
            raise ValueError("callback must be callable or None")
        if every is not None:
            every = check_positive_int(every, "every")
        if every_seconds is not None:
            every_seconds = check_positive(every_seconds, "every_seconds")
        if callback is None:
            every = every_seconds = None
        show = (callback is None) if progress is None else bool(progress)
        bar = None
        if show:
            from tqdm.auto import tqdm

            bar = tqdm(total=steps, desc=f"training ({self.config['loss']})", leave=False)
        try:
            with _deferred_sigint() as stop:
                gen = self._loop(steps, every, every_seconds, bar, stop)
                try:
                    for snap in gen:
                        if callback is not None:
                            callback(snap)
                except KeyboardInterrupt:
                    pass
                finally:
                    gen.close()  # records the last step
        finally:
            if bar is not None:
                bar.close()
        return self.history

    def snapshot(self, n: int = 1000) -> Snapshot:
        """``n`` real and ``n`` generated samples, the history and the current metrics."""
        n = check_positive_int(n, "n")
        with torch.no_grad():
            real = self.data.sample(n, self._view_rng).cpu().numpy()
        fake = self.sample(n).numpy()
        if self.dim == 1:
            real, fake = real.reshape(-1), fake.reshape(-1)
        return Snapshot(
            step=self.step,
            wall_time=self._wall,
            real=real,
            fake=fake,
            history=self.history.as_dict(),
            metrics=target_metrics(self.data, fake),
        )

    def sample(self, n: int) -> torch.Tensor:
        """``n`` generated examples on the CPU, without gradient (``(n, d)``)."""
        n = check_positive_int(n, "n")
        with torch.no_grad():
            return self.sampler.sample(n, self._view_rng).cpu()

    def discriminator_on(self, x) -> np.ndarray:
        """:math:`D(x)` (probabilities) at numpy points: ``(n,)`` for 1-D, ``(n, d)`` otherwise.

        Returns an ``(n,)`` array.
        """
        a = np.asarray(x, dtype=np.float32)
        if self.dim == 1 and a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2 or a.shape[1] != self.dim:
            want = "(n,)" if self.dim == 1 else f"(n, {self.dim})"
            raise ValueError(f"x must have shape {want}; got {a.shape}")
        with torch.no_grad():
            t = torch.from_numpy(np.ascontiguousarray(a)).to(self.device)
            return torch.sigmoid(self.discriminator(t)).cpu().numpy().astype(float)

    # -- checkpoints ------------------------------------------------------------------------

    def save(self, path) -> None:
        """Save everything needed to continue exactly where this trainer stands."""
        if self._w_g or self._w_d:
            self._flush()
        config = dict(self.config, betas=list(self.config["betas"]))
        state = dict(
            format="gandemo.Trainer",
            version=1,
            config=config,
            dim=self.dim,
            data=_data_fingerprint(self.data),
            device_type=self.device.type,
            step=self.step,
            wall=self._wall,
            generator=self.generator.state_dict(),
            generator_ema=None if self.generator_ema is None else self.generator_ema.state_dict(),
            discriminator=self.discriminator.state_dict(),
            opt_g=self.opt_g.state_dict(),
            opt_d=self.opt_d.state_dict(),
            history=self.history.state(),
            rng=self._rng.get_state(),
            view_rng=self._view_rng.get_state(),
            real_buf=self._real_buf,
            z_buf=self._z_buf,
            real_pos=self._real_pos,
            z_pos=self._z_pos,
        )
        torch.save(state, path)

    @classmethod
    def load(cls, path, data, *, device: str | torch.device | None = None) -> Trainer:
        """A trainer restored from :meth:`save` (on ``device``, default the saved setting).

        Raises:
            ValueError: the file is not a readable checkpoint, or does not fit ``data`` or the
                architecture it describes.
        """
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as exc:  # corrupt or foreign file: many exception types
            raise ValueError(f"{path} is not a readable gandemo checkpoint ({exc})") from exc
        if not isinstance(state, dict) or state.get("format") != "gandemo.Trainer":
            raise ValueError(f"{path} is not a gandemo Trainer checkpoint")
        if state.get("version") != 1:
            raise ValueError(f"{path}: unsupported checkpoint version {state.get('version')!r}")
        config = dict(state["config"])
        config["betas"] = tuple(config["betas"])
        if device is not None:
            config["device"] = str(device)
        dim = _data_dim(data)
        if dim != state["dim"]:
            raise ValueError(
                f"data has dimension {dim} but the checkpoint was trained on {state['dim']}-D data"
            )
        if _data_fingerprint(data) != state["data"]:
            raise ValueError(
                f"data {_data_fingerprint(data)} does not match the checkpoint's {state['data']}"
            )
        try:
            trainer = cls(data, **config)
        except TypeError as exc:
            msg = f"{path}: the checkpoint's config does not fit Trainer: {exc}"
            raise ValueError(msg) from exc
        try:
            trainer.generator.load_state_dict(state["generator"])
            if trainer.generator_ema is not None:
                trainer.generator_ema.load_state_dict(state["generator_ema"])
            trainer.discriminator.load_state_dict(state["discriminator"])
            trainer.opt_g.load_state_dict(state["opt_g"])
            trainer.opt_d.load_state_dict(state["opt_d"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise ValueError(
                f"{path}: the saved networks do not match the architecture in its config "
                f"(width={config['width']}, depth={config['depth']}): {exc}"
            ) from exc
        trainer.step = int(state["step"])
        trainer._wall = float(state["wall"])
        trainer.history = TrainHistory.from_state(state["history"])
        if state["device_type"] == trainer.device.type:
            trainer._rng.set_state(state["rng"])
            trainer._view_rng.set_state(state["view_rng"])
            dev = trainer.device
            trainer._real_buf = None if state["real_buf"] is None else state["real_buf"].to(dev)
            trainer._z_buf = None if state["z_buf"] is None else state["z_buf"].to(dev)
            trainer._real_pos, trainer._z_pos = int(state["real_pos"]), int(state["z_pos"])
        else:
            warnings.warn(
                f"checkpoint saved on {state['device_type']}, loaded on {trainer.device.type}: "
                "the random streams restart (the run continues, not bitwise as before)",
                stacklevel=2,
            )
        return trainer


class _deferred_sigint:
    """Within the block, Ctrl-C / JupyterLab's stop button sets a flag instead of raising, so
    the loop stops between two steps. Outside the main thread it does nothing."""

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
