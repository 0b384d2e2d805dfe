r"""Measuring saturation: the generator's gradient under the two losses, on real networks.

With :math:`a_i` the discriminator's logit on the generated example :math:`G_\theta(z_i)` and
:math:`D_i = \sigma(a_i)`, the chain rule splits the generator's gradient into a scalar that
depends only on the loss and a vector that does not:

.. math::

    \nabla_\theta \log(1 - D_i) = -D_i \, \nabla_\theta a_i, \qquad
    \nabla_\theta [-\log D_i] = -(1 - D_i)\, \nabla_\theta a_i .

So per sample the two gradient norms differ by the factor :math:`(1 - D_i)/D_i = e^{-a_i}`
exactly; for a batch, the two gradients are the means of the same vectors
:math:`\nabla_\theta a_i` with weights :math:`D_i` and :math:`1 - D_i`. The functions here measure
both with autograd (they never use the formulas), so the book can hold them against the
prediction. Introduced in chapter 5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import losses, training
from .models import Discriminator, Generator
from .utils import (
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    cpu_threads,
    torch_generator,
)

__all__ = [
    "GradientSpread",
    "GradientStats",
    "batch_grad_norm",
    "compare_runs",
    "gradient_spread",
    "make_pair",
    "measure_gradients",
    "per_sample_grad_norms",
    "pretrain_discriminator",
]


def _check_kind(kind: str) -> str:
    if kind not in losses.CLASSIC:
        raise ValueError(f"kind must be one of {losses.CLASSIC}; got {kind!r}")
    return kind


def make_pair(
    latent_dim: int = 4, width: int = 32, depth: int = 2, seed_g: int = 0, seed_d: int = 1
) -> tuple[Generator, Discriminator]:
    """A fresh 1-D generator and discriminator from fixed seeds (same seeds, same weights)."""
    gen = Generator(latent_dim, 1, width, depth, seed=seed_g)
    disc = Discriminator(1, width, depth, seed=seed_d)
    return gen, disc


def pretrain_discriminator(
    discriminator: Discriminator,
    generator: Generator,
    data,
    k: int,
    *,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    snapshots=None,
) -> dict[int, Discriminator]:
    r"""Train ``discriminator`` in place for ``k`` steps against the frozen ``generator``.

    The training goes through the book's engine: a :class:`gandemo.training.Trainer` built by
    :meth:`~gandemo.training.Trainer.from_networks` from copies of the two networks makes ``k``
    calls of :meth:`~gandemo.training.Trainer.update_d`, each exactly one Adam update (learning
    rate ``lr``, betas 0.5, 0.999) of :func:`gandemo.losses.discriminator_loss` on fresh
    batches of ``batch_size`` real and generated examples, drawn from the engine's streams of
    ``seed``. The generator is never updated, so D learns to reject its samples ever more
    confidently. The trained weights are then copied back into ``discriminator``.

    Args:
        snapshots: step counts (each <= ``k``) at which to keep a copy of D.

    Returns:
        ``{step: copy of D after that many steps}`` for every requested snapshot.
    """
    k = check_nonnegative_int(k, "k")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    wanted = sorted({check_nonnegative_int(s, "snapshots") for s in (snapshots or [])})
    if wanted and wanted[-1] > k:
        raise ValueError(f"snapshots must be <= k = {k}; got {wanted[-1]}")
    trainer = training.Trainer.from_networks(
        data,
        generator,
        discriminator,
        # the discriminator's loss of the two losses of this chapter (they share it)
        loss="non-saturating",
        seed=check_nonnegative_int(seed, "seed"),
        batch_size=batch_size,
        lr_d=lr,
        betas=(0.5, 0.999),
        d_optimizer="adam",
        device="cpu",  # networks this small train fastest there, and give the same numbers anywhere
    )
    kept = {}
    for step in range(k + 1):
        if step in wanted:
            kept[step] = trainer.discriminator(0)
        if step < k:
            trainer.update_d()
    discriminator.load_state_dict(trainer.discriminator(0).state_dict())
    return kept


def _flat_grad(generator: Generator) -> torch.Tensor:
    return torch.cat([p.grad.reshape(-1) for p in generator.parameters()])


def batch_grad_norm(generator: Generator, discriminator: Discriminator, z, kind: str) -> float:
    r"""Norm of :math:`\nabla_\theta L_G` for the batch of latent codes ``z`` (shape (m, d))."""
    _check_kind(kind)
    generator.zero_grad(set_to_none=True)
    losses.get_loss(kind).g_loss(discriminator(generator(z))).backward()
    norm = float(torch.linalg.vector_norm(_flat_grad(generator)))
    generator.zero_grad(set_to_none=True)
    discriminator.zero_grad(set_to_none=True)
    return norm


def per_sample_grad_norms(
    generator: Generator, discriminator: Discriminator, z, kind: str
) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-sample gradient norms :math:`\|\nabla_\theta \ell(a_i)\|` and the logits :math:`a_i`.

    One backward pass per latent code, each through the generator loss ``kind`` of
    :data:`gandemo.losses.LOSSES` on a batch of one.

    Returns:
        ``(norms, logits)``, two arrays of length m.
    """
    _check_kind(kind)
    norms, logits = [], []
    for i in range(z.shape[0]):
        generator.zero_grad(set_to_none=True)
        a = discriminator(generator(z[i : i + 1]))
        losses.get_loss(kind).g_loss(a).backward()
        norms.append(float(torch.linalg.vector_norm(_flat_grad(generator))))
        logits.append(float(a.detach()[0]))
    generator.zero_grad(set_to_none=True)
    discriminator.zero_grad(set_to_none=True)
    return np.asarray(norms), np.asarray(logits)


@dataclass
class GradientStats:
    r"""Gradient measurements for one discriminator (pre-trained for ``k`` steps).

    Attributes:
        k: discriminator pre-training steps.
        logits: :math:`a_i` on the per-sample latent codes.
        sample_sat, sample_ns: per-sample gradient norms under each loss.
        batch_sat, batch_ns: batch gradient norms, one per independent batch.
        batch_d: mean :math:`D(G(z))` of each of those batches.
    """

    k: int
    logits: np.ndarray
    sample_sat: np.ndarray
    sample_ns: np.ndarray
    batch_sat: np.ndarray
    batch_ns: np.ndarray
    batch_d: np.ndarray

    @property
    def d_fake(self) -> float:
        """Mean :math:`D(G(z))` over all the batches."""
        return float(self.batch_d.mean())

    @property
    def sample_ratio(self) -> np.ndarray:
        """Measured per-sample ratios, non-saturating over saturating."""
        return self.sample_ns / self.sample_sat

    @property
    def predicted_sample_ratio(self) -> np.ndarray:
        r""":math:`(1 - D_i)/D_i = e^{-a_i}` for each sample."""
        return np.exp(-self.logits)

    @property
    def logit_grad_norms(self) -> np.ndarray:
        r""":math:`\|\nabla_\theta a_i\|` per sample, recovered as the non-saturating norm over
        :math:`1 - D_i`."""
        return self.sample_ns / (1 - 1 / (1 + np.exp(-self.logits)))

    @property
    def batch_ratio(self) -> np.ndarray:
        """Measured batch ratios, one per batch."""
        return self.batch_ns / self.batch_sat

    @property
    def predicted_batch_ratio(self) -> np.ndarray:
        r""":math:`(1 - \bar D)/\bar D` with :math:`\bar D` each batch's mean D(G(z))."""
        return (1 - self.batch_d) / self.batch_d


def measure_gradients(
    data,
    ks,
    *,
    samples: int = 32,
    batches: int = 40,
    batch_size: int = 64,
    seed: int = 0,
    pair_seeds: tuple[int, int] = (0, 1),
) -> tuple[Generator, dict[int, Discriminator], list[GradientStats]]:
    r"""Pre-train one discriminator and measure the generator's gradient after each k in ``ks``.

    Introduced in :doc:`/chapters/05_saturating_vs_nonsaturating`.

    The generator and the discriminator come from :func:`make_pair` with ``pair_seeds``; the
    discriminator is trained once, with snapshots at every k, so each k continues the same run.
    For each snapshot: ``samples`` per-sample gradient norms under each loss and, for ``batches``
    independent batches of ``batch_size`` latent codes, the two batch gradient norms (same codes
    for both losses).

    Returns:
        ``(generator, {k: discriminator}, [GradientStats per k])``.
    """
    ks = sorted({check_nonnegative_int(k, "ks") for k in ks})
    if not ks:
        raise ValueError("ks is empty: give at least one number of pre-training steps")
    samples = check_positive_int(samples, "samples")
    batches = check_positive_int(batches, "batches")
    batch_size = check_positive_int(batch_size, "batch_size")
    gen, disc = make_pair(seed_g=pair_seeds[0], seed_d=pair_seeds[1])
    snaps = pretrain_discriminator(disc, gen, data, ks[-1], seed=seed, snapshots=ks)
    rng = torch_generator(seed + 1)
    z_samples = gen.sample_latent(samples, rng)
    z_batches = [gen.sample_latent(batch_size, rng) for _ in range(batches)]
    results = []
    with cpu_threads(1):  # many backward passes through small networks: one thread is fastest
        for k in ks:
            d = snaps[k]
            sat, logits = per_sample_grad_norms(gen, d, z_samples, "saturating")
            ns, _ = per_sample_grad_norms(gen, d, z_samples, "non-saturating")
            b_sat = np.array([batch_grad_norm(gen, d, z, "saturating") for z in z_batches])
            b_ns = np.array([batch_grad_norm(gen, d, z, "non-saturating") for z in z_batches])
            with torch.no_grad():
                b_d = np.array([float(d.prob(gen(z)).mean()) for z in z_batches])
            results.append(GradientStats(k, logits, sat, ns, b_sat, b_ns, b_d))
    return gen, snaps, results


def compare_runs(
    data,
    k: int,
    *,
    steps: int = 400,
    lr_g: float = 0.02,
    lr_d: float = 1e-3,
    g_optimizer: str = "sgd",
    batch_size: int = 64,
    record_every: int = 10,
    metric_samples: int = 4000,
    seed: int = 0,
    pair_seeds: tuple[int, int] = (0, 1),
) -> dict[str, training.ModelHistory]:
    """Train a saturating and a non-saturating GAN from the same start, D pre-trained k steps.

    Introduced in :doc:`/chapters/05_saturating_vs_nonsaturating`.

    Both runs start from copies of the same generator and of the same discriminator,
    pre-trained by :func:`pretrain_discriminator` against the frozen generator; they are the two
    models of one :class:`gandemo.training.Trainer` with the same seed, so they draw identical
    minibatch streams and only the generator's loss differs. The discriminator trains with Adam
    (``lr_d``), the generator with ``g_optimizer`` (``lr_g``), one update each per step.

    Returns:
        ``{"saturating": ModelHistory, "non-saturating": ModelHistory}``, a record every
        ``record_every`` steps; at every metric step (step 0 and every ``record_every`` steps)
        ``metrics`` holds the engine's ``"jsd"`` to ``data`` and ``"mean"``, the mean of the
        generated samples (measured by a callback of the run, from the same latent codes for both
        runs at every step), each from ``metric_samples`` samples.
    """
    gen, disc = make_pair(seed_g=pair_seeds[0], seed_d=pair_seeds[1])
    pretrain_discriminator(disc, gen, data, k, seed=seed)
    trainer = training.Trainer.from_networks(
        data,
        [gen] * len(losses.CLASSIC),
        [disc] * len(losses.CLASSIC),
        loss=list(losses.CLASSIC),
        seed=[seed + 1] * len(losses.CLASSIC),
        batch_size=batch_size,
        lr_g=lr_g,
        lr_d=lr_d,
        g_optimizer=g_optimizer,
        record_every=record_every,
        metric_every=record_every,
        metric_samples=metric_samples,
        device="cpu",  # networks this small train fastest there, and give the same numbers anywhere
    )
    means = {}  # step -> the generated mean of each model

    def measure(t):
        means[t.step] = t.samples(metric_samples, seed=seed).mean(axis=(1, 2))

    trainer.run(steps, callback=measure, every=record_every, progress=False)
    runs = {}
    for e, kind in enumerate(losses.CLASSIC):
        h = trainer.history.model(e)
        h.metrics["mean"] = np.array([means[s][e] for s in h.metric_step])
        runs[kind] = h
    return runs


@dataclass
class GradientSpread:
    r"""Batch gradient norms of both losses, for several discriminators trained k steps each.

    Attributes:
        ks: the discriminator's training steps, shape (K,).
        seeds: one seed per discriminator, shape (S,).
        sat, ns: :math:`\|\nabla_\theta L_G\|` under each loss, shape (S, K, B): discriminator,
            k, independent batch (the same codes for both losses).
        d_fake: mean :math:`D(G(z))` over those batches, shape (S, K).
    """

    ks: np.ndarray
    seeds: np.ndarray
    sat: np.ndarray
    ns: np.ndarray
    d_fake: np.ndarray

    def norms(self, kind: str) -> np.ndarray:
        """The (S, K, B) array of batch gradient norms under ``kind``."""
        return self.sat if _check_kind(kind) == "saturating" else self.ns

    def median(self, kind: str) -> np.ndarray:
        """Median batch gradient norm at each k, over all discriminators and batches, (K,)."""
        n = self.norms(kind)
        return np.median(n.transpose(1, 0, 2).reshape(n.shape[1], -1), axis=1)

    def batch_cv(self, kind: str) -> np.ndarray:
        """Coefficient of variation over the batches (std over mean), per discriminator, (S, K)."""
        n = self.norms(kind)
        return n.std(axis=2, ddof=1) / n.mean(axis=2)

    def seed_cv(self, kind: str) -> np.ndarray:
        """Coefficient of variation over the discriminators of their mean batch norm, (K,)."""
        m = self.norms(kind).mean(axis=2)
        return m.std(axis=0, ddof=1) / m.mean(axis=0)

    def max_over_median(self, kind: str) -> np.ndarray:
        """Largest batch norm over the median one, per discriminator, (S, K)."""
        n = self.norms(kind)
        return n.max(axis=2) / np.median(n, axis=2)


def gradient_spread(
    data,
    ks,
    *,
    seeds=(0, 1, 2, 3),
    batches: int = 30,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed_g: int = 0,
) -> GradientSpread:
    r"""How large and how noisy the generator's gradient is as the discriminator nears optimality.

    Introduced in :doc:`/chapters/05_saturating_vs_nonsaturating`.

    One fixed generator (:func:`make_pair` with ``seed_g``) and, for each seed ``s`` of
    ``seeds``, a discriminator built with seed ``s + 1`` and trained by
    :func:`pretrain_discriminator` (minibatch stream ``s``, learning rate ``lr``) against the
    frozen generator, with a copy kept at every k of ``ks``. Each copy meets ``batches`` fresh,
    independent batches of ``batch_size`` latent codes (drawn anew for every discriminator and
    every k), and both losses get the same codes. Different seeds give different, equally
    trained discriminators; different batches give the minibatch noise of one of them.

    Returns:
        A :class:`GradientSpread` with the (seeds, ks, batches) arrays of batch gradient norms.
    """
    ks = sorted({check_nonnegative_int(k, "ks") for k in ks})
    if not ks:
        raise ValueError("ks is empty: give at least one number of discriminator steps")
    seeds = [check_nonnegative_int(s, "seeds") for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty: give at least one discriminator seed")
    batches = check_positive_int(batches, "batches")
    if batches < 2:
        raise ValueError(f"batches must be >= 2 to measure a spread; got {batches}")
    batch_size = check_positive_int(batch_size, "batch_size")
    shape = (len(seeds), len(ks), batches)
    sat, ns, d_fake = np.empty(shape), np.empty(shape), np.empty(shape[:2])
    for i, s in enumerate(seeds):
        gen, disc = make_pair(seed_g=seed_g, seed_d=s + 1)
        snaps = pretrain_discriminator(disc, gen, data, ks[-1], lr=lr, seed=s, snapshots=ks)
        rng = torch_generator(10_000 + s)
        with cpu_threads(1):  # small networks: one thread is fastest
            for j, k in enumerate(ks):
                d = snaps[k]
                zs = [gen.sample_latent(batch_size, rng) for _ in range(batches)]
                sat[i, j] = [batch_grad_norm(gen, d, z, "saturating") for z in zs]
                ns[i, j] = [batch_grad_norm(gen, d, z, "non-saturating") for z in zs]
                with torch.no_grad():
                    d_fake[i, j] = np.mean([float(d.prob(gen(z)).mean()) for z in zs])
    return GradientSpread(np.array(ks), np.array(seeds), sat, ns, d_fake)
