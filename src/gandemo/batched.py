r"""Many small GANs trained side by side in one batched computation.

A comparison of losses needs many runs (losses x seeds). Run one after another, each small
network leaves a CPU mostly waiting on Python and on per-operation overhead; stacked, the same
work becomes a few larger operations. :class:`BatchedTrainer` keeps the weights of :math:`E`
generators and :math:`E` discriminators as batched tensors (layer :math:`l` of all models is one
``(E, in, out)`` tensor) and runs every layer of every model with one
:func:`torch.baddbmm`. The models never mix:

* each model's loss depends only on its own weights and its own minibatch, and the loss that is
  differentiated is the *sum* of the per-model losses, so each model receives exactly the
  gradient of its own loss;
* Adam works element by element, so one Adam over the stacked tensors is :math:`E` independent
  Adams.

Model :math:`e` starts from exactly the weights of ``Trainer(..., seed=seeds[e])`` (the same
seeded :class:`gandemo.models.Generator` and :class:`gandemo.models.Discriminator`), and each
model gets its own minibatches; the batches come from one seeded stream, so a batched run is
reproducible (same seeds, same device, same result) but not bitwise equal to the single runs.
Each model may have its own loss from :data:`gandemo.losses.LOSSES`; all share the
architecture, batch size, optimiser and schedule, which is what makes a comparison fair.

A model whose loss turns NaN or infinite is stopped (its weights are zeroed and take no further
updates), its divergence step is kept in ``BatchedTrainer.diverged``, and the others go on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from . import losses
from .models import Discriminator, Generator
from .training import (
    _adam,
    _data_dim,
    _deferred_sigint,
    _opt_step,
    resolve_device,
    shared_config,
    target_metrics,
)
from .utils import check_nonnegative_int, check_positive, check_positive_int, torch_generator

__all__ = ["BatchedHistory", "BatchedTrainer", "summarize"]


def _stack_mlp(modules: list[torch.nn.Module], device) -> list[torch.Tensor]:
    """The Linear layers of identical MLPs as batched ``(E, in, out)`` weights and
    ``(E, 1, out)`` biases, alternating, as leaf tensors that require gradients."""
    params = []
    layers = [[m for m in mod.net if isinstance(m, torch.nn.Linear)] for mod in modules]
    for depth in range(len(layers[0])):
        w = torch.stack([ls[depth].weight.detach().T for ls in layers])
        b = torch.stack([ls[depth].bias.detach().unsqueeze(0) for ls in layers])
        params += [w.contiguous().to(device), b.contiguous().to(device)]
    return [p.requires_grad_(True) for p in params]


def _mlp_forward(
    params: Sequence[torch.Tensor], x: torch.Tensor, slope: float, tanh: bool = False
) -> torch.Tensor:
    """Batched MLP: ``x`` of shape ``(E, n, in)`` to ``(E, n, out)``."""
    last = len(params) - 2
    for i in range(0, len(params), 2):
        x = torch.baddbmm(params[i + 1], x, params[i])
        if i < last:
            x = F.leaky_relu(x, slope)
    return torch.tanh(x) if tanh else x


@dataclass
class BatchedHistory:
    """What a :class:`BatchedTrainer` recorded, one row per record and one column per model.

    Attributes:
        models: ``(loss, seed)`` of each model, in column order.
        step: step of each record.
        d_loss, g_loss, d_real, d_fake: window means per model (lists of ``(E,)`` arrays;
            ``d_real``/``d_fake`` are :math:`\\sigma(a)` of the logits, whatever the loss).
        wall_time: training seconds at each record.
        metric_step: steps of the metric records.
        metrics: per metric name, a list of ``(E,)`` arrays (modes, high_quality, reverse_kl
            on 2-D mixtures; jsd on 1-D densities).
    """

    models: list[tuple[str, int]]
    step: list[int] = field(default_factory=list)
    d_loss: list[np.ndarray] = field(default_factory=list)
    g_loss: list[np.ndarray] = field(default_factory=list)
    d_real: list[np.ndarray] = field(default_factory=list)
    d_fake: list[np.ndarray] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    metric_step: list[int] = field(default_factory=list)
    metrics: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Everything as arrays: per-record keys ``(records,)`` or ``(records, E)``."""
        e = len(self.models)
        out = {"step": np.asarray(self.step, dtype=int), "wall_time": np.asarray(self.wall_time)}
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):
            out[key] = np.asarray(getattr(self, key), dtype=float).reshape(-1, e)
        out["metric_step"] = np.asarray(self.metric_step, dtype=int)
        for key, rows in self.metrics.items():
            out[key] = np.asarray(rows, dtype=float).reshape(-1, e)
        return out


class BatchedTrainer:
    r"""Train :math:`E` GANs at once: one per ``(loss, seed)`` pair, in one batched computation.

    Args:
        data: the target (:mod:`gandemo.data`), as for :class:`gandemo.training.Trainer`.
        loss: one loss name, or one per model (names in :data:`gandemo.losses.LOSSES`).
        seeds: one seed per model (with a single loss name), or one per entry of ``loss``.
        g_output: the generator's last activation, ``"linear"`` or ``"tanh"`` (images).

    The other keyword arguments (``latent_dim``, ``width``, ``depth``, ``batch_size``,
    ``d_steps``, ``lr_g``, ``lr_d``, ``betas``, ``device``, ``record_every``, ``metric_every``,
    ``metric_samples``) mean what they mean for :class:`gandemo.training.Trainer` (alternating
    updates) and are shared by every model.

    Example:
        >>> import gandemo as gd
        >>> bt = gd.batched.BatchedTrainer(gd.data.ring(), ["hinge", "least-squares"], [0, 0],
        ...                                width=16, batch_size=32, device="cpu")
        >>> _ = bt.run(20, progress=False)
        >>> bt.history.as_dict()["d_loss"].shape
        (2, 2)
    """

    CHUNK = 32  # batches drawn per call to a sampler

    def __init__(
        self,
        data,
        loss: str | Sequence[str] = "non-saturating",
        seeds: Sequence[int] = (0,),
        *,
        latent_dim: int = 2,
        width: int = 64,
        depth: int = 2,
        batch_size: int = 128,
        d_steps: int = 1,
        lr_g: float = 1e-3,
        lr_d: float = 1e-3,
        betas: tuple[float, float] = (0.5, 0.999),
        device: str | torch.device = "auto",
        record_every: int = 10,
        metric_every: int = 200,
        metric_samples: int = 2500,
        g_output: str = "linear",
    ) -> None:
        try:
            seeds = [check_nonnegative_int(s, "seeds") for s in seeds]
        except TypeError as exc:
            raise ValueError(
                f"seeds must be a list of non-negative integers; got {seeds!r}"
            ) from exc
        names = [loss] * len(seeds) if isinstance(loss, str) else list(loss)
        if not names or len(names) != len(seeds):
            raise ValueError(
                f"losses and seeds must be non-empty and of equal length; got {len(names)} "
                f"losses and {len(seeds)} seeds"
            )
        self.specs = [losses.get_loss(n) for n in names]
        self.models = list(zip(names, seeds, strict=True))
        self.n_models = e = len(seeds)
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
        d_steps = check_positive_int(d_steps, "d_steps")
        self.device = resolve_device(device)
        self.data = data
        self.dim = _data_dim(data)
        self.config = dict(
            losses=names,
            seeds=seeds,
            **common,
            d_steps=d_steps,
            device=str(device),
            g_output=g_output,
        )
        latent_dim, width, depth = common["latent_dim"], common["width"], common["depth"]
        lr_g, lr_d, betas = common["lr_g"], common["lr_d"], common["betas"]
        metric_samples = common["metric_samples"]
        gens = [
            Generator(latent_dim, self.dim, width, depth, seed=s, output=g_output) for s in seeds
        ]
        self._tanh = g_output == "tanh"
        discs = [Discriminator(self.dim, width, depth, seed=s + 1) for s in seeds]
        self.g_params = _stack_mlp(gens, self.device)
        self.d_params = _stack_mlp(discs, self.device)
        self._slope = 0.2
        self.opt_g = _adam(self.g_params, lr_g, betas, self.device)
        self.opt_d = _adam(self.d_params, lr_d, betas, self.device)
        # consecutive models with the same loss form one group (one call of its loss)
        self._groups: list[tuple[losses.GANLoss, slice]] = []
        start = 0
        for i in range(1, e + 1):
            if i == e or names[i] != names[start]:
                self._groups.append((self.specs[start], slice(start, i)))
                start = i
        self._alive = torch.ones(e, device=self.device)
        self.diverged: dict[int, int] = {}  # model index -> first non-finite step
        self.step = 0
        self.history = BatchedHistory(models=self.models)
        stream = np.random.SeedSequence(seeds).generate_state(2)
        self._rng = torch_generator(int(stream[0]), self.device)
        z_rng = torch_generator(int(stream[1]), self.device)
        self._z_eval = torch.randn(
            metric_samples, latent_dim, generator=z_rng, device=self.device
        ).expand(e, -1, -1)
        self._real_buf = self._z_buf = None
        self._real_pos = self._z_pos = 0
        self._wall = 0.0
        self._window: list[torch.Tensor] = []

    # -- the batched networks ------------------------------------------------------------------

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Examples ``(E, n, dim)`` from latent codes ``(E, n, latent_dim)`` (with autograd)."""
        return _mlp_forward(self.g_params, z, self._slope, self._tanh)

    def critic(self, x: torch.Tensor, params: Sequence[torch.Tensor] | None = None):
        """Logits ``(E, n)`` of examples ``(E, n, dim)``."""
        return _mlp_forward(self.d_params if params is None else params, x, self._slope)[..., 0]

    # -- sampling ------------------------------------------------------------------------------

    def _real_batch(self) -> torch.Tensor:
        e, m = self.n_models, self.config["batch_size"]
        if self._real_buf is None or self._real_pos >= self._real_buf.shape[0]:
            x = self.data.sample(self.CHUNK * e * m, self._rng).to(self.device)
            self._real_buf = x.reshape(self.CHUNK, e, m, self.dim)
            self._real_pos = 0
        self._real_pos += 1
        return self._real_buf[self._real_pos - 1]

    def _z_batch(self) -> torch.Tensor:
        e, m, k = self.n_models, self.config["batch_size"], self.config["latent_dim"]
        if self._z_buf is None or self._z_pos >= self._z_buf.shape[0]:
            shape = (self.CHUNK, e, m, k)
            self._z_buf = torch.randn(shape, generator=self._rng, device=self.device)
            self._z_pos = 0
        self._z_pos += 1
        return self._z_buf[self._z_pos - 1]

    # -- one step ------------------------------------------------------------------------------

    def _d_losses(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, ...]:
        m = real.shape[1]
        logits = self.critic(torch.cat([real, fake], dim=1))
        parts = []
        for spec, sl in self._groups:
            loss = spec.d(logits[sl, :m], logits[sl, m:])
            if spec.penalty:
                u = torch.rand(sl.stop - sl.start, m, 1, generator=self._rng, device=self.device)
                params = [p[sl] for p in self.d_params]
                pen = losses.gradient_penalty(
                    lambda x, params=params: self.critic(x, params), real[sl], fake[sl], u
                )
                loss = loss + spec.penalty * pen
            parts.append(loss)
        return torch.cat(parts), logits

    def _g_losses(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return torch.cat([spec.g(fake_logits[sl]) for spec, sl in self._groups])

    def _train_step(self) -> None:
        m = self.config["batch_size"]
        for _ in range(self.config["d_steps"]):
            real = self._real_batch()
            with torch.no_grad():
                fake = self.generate(self._z_batch())
            d_vec, logits = self._d_losses(real, fake)
            for p in self.d_params:
                p.grad = None
            (d_vec * self._alive).sum().backward(inputs=self.d_params)
            _opt_step(self.opt_d)
        fake_logits = self.critic(self.generate(self._z_batch()))
        g_vec = self._g_losses(fake_logits)
        for p in self.g_params:
            p.grad = None
        (g_vec * self._alive).sum().backward(inputs=self.g_params)
        _opt_step(self.opt_g)
        probs = torch.sigmoid(logits.detach())
        self._window.append(
            torch.stack(
                [d_vec.detach(), g_vec.detach(), probs[:, :m].mean(1), probs[:, m:].mean(1)]
            )
        )
        self.step += 1

    def _stop_model(self, e: int, step: int) -> None:
        """Freeze model ``e`` after its loss became non-finite: zero weights and Adam state."""
        self.diverged.setdefault(e, step)
        self._alive[e] = 0.0
        with torch.no_grad():
            for opt, params in ((self.opt_g, self.g_params), (self.opt_d, self.d_params)):
                for p in params:
                    p[e] = 0.0
                    for key in ("exp_avg", "exp_avg_sq"):
                        if key in opt.state.get(p, {}):
                            opt.state[p][key][e] = 0.0

    def _flush(self) -> None:
        if not self._window:
            return
        w = torch.stack(self._window).cpu().numpy().astype(float)  # (steps, 4, E)
        first = self.step - len(self._window) + 1
        self._window = []
        bad = ~np.isfinite(w[:, :2]).all(axis=1)  # (steps, E)
        for e in np.flatnonzero(bad.any(axis=0)):
            if e not in self.diverged:
                self._stop_model(int(e), first + int(np.argmax(bad[:, e])))
        means = np.where(bad.any(axis=0), np.nan, w.mean(axis=0))  # (4, E)
        for e in self.diverged:
            means[:, e] = np.nan
        h = self.history
        h.step.append(self.step)
        for key, row in zip(("d_loss", "g_loss", "d_real", "d_fake"), means, strict=True):
            getattr(h, key).append(row)
        h.wall_time.append(self._wall)

    def _record_metrics(self) -> None:
        fake = self.samples_of(self._z_eval)
        rows: dict[str, list[float]] = {}
        for e in range(self.n_models):
            x = fake[e, :, 0] if self.dim == 1 else fake[e]
            values = target_metrics(self.data, x)
            if e in self.diverged:
                values = {k: (0 if k in ("modes", "classes") else math.nan) for k in values}
            for k, v in values.items():
                rows.setdefault(k, []).append(float(v))
        self.history.metric_step.append(self.step)
        for k, v in rows.items():
            self.history.metrics.setdefault(k, []).append(np.asarray(v))

    # -- public API ------------------------------------------------------------------------------

    def samples_of(self, z: torch.Tensor) -> np.ndarray:
        """Generated examples for latent codes ``(E, n, latent_dim)``, as ``(E, n, dim)``."""
        with torch.no_grad():
            return self.generate(z.to(self.device)).cpu().numpy()

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` generated examples per model, ``(E, n, dim)``, from seeded latent codes (the
        same codes for every model)."""
        n = check_positive_int(n, "n")
        g = torch.Generator().manual_seed(check_nonnegative_int(seed, "seed"))
        z = torch.randn(n, self.config["latent_dim"], generator=g)
        return self.samples_of(z.expand(self.n_models, -1, -1))

    def set_learning_rates(self, lr_g: float | None = None, lr_d: float | None = None) -> None:
        """Change both Adam learning rates (for all models) from the next update on."""
        for lr, opt, name in ((lr_g, self.opt_g, "lr_g"), (lr_d, self.opt_d, "lr_d")):
            if lr is not None:
                lr = check_positive(lr, name)
                for group in opt.param_groups:
                    group["lr"] = lr
                self.config[name] = lr

    def run(
        self,
        steps: int,
        *,
        callback: Callable[[BatchedTrainer], object] | None = None,
        every: int | None = None,
        progress: bool | None = None,
    ) -> BatchedHistory:
        """Train every model ``steps`` more generator steps; return ``self.history``.

        ``callback(self)`` is called every ``every`` steps and at the end. A
        ``KeyboardInterrupt`` stops after the current step and keeps the history; calling
        :meth:`run` again resumes.
        """
        steps = check_nonnegative_int(steps, "steps")
        if callback is not None and not callable(callback):
            raise ValueError("callback must be callable or None")
        if every is not None:
            every = check_positive_int(every, "every")
        rec, met = self.config["record_every"], self.config["metric_every"]
        bar = None
        if (callback is None) if progress is None else bool(progress):
            from tqdm.auto import tqdm

            bar = tqdm(total=steps, desc=f"training {self.n_models} models", leave=False)
        if not self.history.metric_step:
            self._record_metrics()
        end = self.step + steps
        interrupted = False
        try:
            with _deferred_sigint() as stop:
                while self.step < end:
                    t0 = time.perf_counter()
                    self._train_step()
                    self._wall += time.perf_counter() - t0
                    if self.step % rec == 0:
                        self._flush()
                        if bar is not None:
                            bar.update(rec)
                    if self.step % met == 0:
                        self._record_metrics()
                    if callback is not None and every is not None and self.step % every == 0:
                        callback(self)
                    if stop():
                        interrupted = True
                        break
        except KeyboardInterrupt:
            interrupted = True
        finally:
            self._flush()
            if bar is not None:
                bar.close()
        if callback is not None and not interrupted:
            callback(self)
        return self.history

    def final_metrics(self) -> dict[str, np.ndarray]:
        """The last metric record, per model (after :meth:`run`; computed now if stale)."""
        if not self.history.metric_step or self.history.metric_step[-1] != self.step:
            self._record_metrics()
        return {k: np.asarray(v[-1]) for k, v in self.history.metrics.items()}


def summarize(trainer: BatchedTrainer) -> list[dict]:
    """Mean and standard deviation over seeds of the final metrics, one row per loss.

    Returns:
        Rows ``{"loss", "runs", "diverged", <metric>: (mean, std), ...}`` in the order the
        losses first appear; the standard deviation is the sample one (``ddof=1``; 0 for a
        single run). A metric that is NaN for some runs (the reverse KL of a model without any
        high-quality sample) is averaged over the others, and ``<metric>_runs`` says how many.
    """
    final = trainer.final_metrics()
    names = [name for name, _ in trainer.models]
    rows = []
    for name in dict.fromkeys(names):
        idx = [i for i, n in enumerate(names) if n == name]
        row = {"loss": name, "runs": len(idx), "diverged": sum(i in trainer.diverged for i in idx)}
        for key, values in final.items():
            v = values[idx]
            v = v[np.isfinite(v)]
            if len(v) < len(idx):
                row[f"{key}_runs"] = len(v)  # e.g. reverse KL without high-quality samples
            mean = float(np.mean(v)) if len(v) else math.nan
            row[key] = (mean, float(np.std(v, ddof=1)) if len(v) > 1 else 0.0)
        rows.append(row)
    return rows
