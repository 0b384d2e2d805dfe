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

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from . import losses
from .models import Discriminator, Generator
from .utils import check_nonnegative_int, check_positive, check_positive_int, torch_generator

__all__ = ["HISTORY_KEYS", "History", "generator_grad_norm", "train"]

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
