"""The engine itself, :class:`Trainer`: its models, streams, step and run, the controls that
change a run in place, and sampling.
"""

from __future__ import annotations

import inspect
import math
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..metrics import METRICS
from ..models import Discriminator, Generator, MLPStack, _mlp_layers
from ..utils import (
    SMALL_WORK,
    check_nonnegative_int,
    check_positive_int,
    check_seed,
    cpu_threads,
    torch_generator,
)
from . import checkpoint
from .callbacks import Callback, Every, ProgressBar
from .config import TrainerConfig
from .history import History, Snapshot, TrainingDiverged
from .runtime import (
    FlatAdam,
    _deferred_sigint,
    _optimizer,
    _stream_seed,
    _ThreadChooser,
    resolve_device,
)
from .targets import _data_dim, target_metrics
from .updates import (
    ModelLosses,
    discriminator_update,
    generator_update,
    simultaneous_update,
)


class Trainer:
    r"""Train one GAN, or :math:`E` GANs side by side, on a target of :mod:`gandemo.data`.

    Introduced in :doc:`/chapters/06_total_loss`.

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
            is proportional to the gradient: chapter 5 uses it to show a vanishing gradient).
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

    def __init__(self, data, *, _networks=None, **settings) -> None:
        #: the settings, checked (:class:`TrainerConfig`; the controls below replace it)
        self.config = TrainerConfig.of(settings)
        self._losses: ModelLosses | None = None
        e = self.n_models
        seeds = self.config.seed
        c = self.config
        self.device = resolve_device(c.device, work=e * c.batch_size * c.width)
        self.data = data
        self.dim = _data_dim(data)
        if _networks is None:
            gens = [
                Generator(
                    c.latent_dim,
                    self.dim,
                    c.width,
                    c.depth,
                    seed=s,
                    output=c.g_output,
                    slope=c.slope,
                )
                for s in seeds
            ]
            discs = [
                Discriminator(self.dim, c.width, c.depth, seed=s + 1, slope=c.slope) for s in seeds
            ]
        else:
            gens, discs = _networks
        #: the generators, one :class:`gandemo.models.MLPStack` (``(E, n, latent) -> (E, n, dim)``)
        self.G = MLPStack(gens).to(self.device)
        #: the discriminators' logits, one :class:`gandemo.models.MLPStack`
        self.D = MLPStack(discs).to(self.device)
        if self.G.in_dim != c.latent_dim or self.G.out_dim != self.dim or self.D.in_dim != self.dim:
            raise ValueError("the networks do not fit the latent size and the data's dimension")
        #: the moving average of the generators' weights (``ema`` given), else None
        self.ema_flat = self.G.flat.detach().clone() if c.ema is not None else None
        self.opt_g = _optimizer(c.g_optimizer, self.G.flat, c.lr_g, c.betas)
        self.opt_d = _optimizer(c.d_optimizer, self.D.flat, c.lr_d, c.betas)
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
                    c.metric_samples,
                    c.latent_dim,
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

    @property
    def models(self) -> list[tuple[str, int]]:
        """``(loss, seed)`` of each model (read from :attr:`config`, where the names live)."""
        return self.config.models

    @property
    def n_models(self) -> int:
        """:math:`E`, the number of models trained side by side."""
        return self.config.n_models

    @property
    def losses(self) -> ModelLosses:
        """The models' objectives (:class:`ModelLosses`), made from :attr:`config`'s names."""
        if self._losses is None or tuple(self._losses.names) != self.config.loss:
            self._losses = ModelLosses(self.config.loss)
        return self._losses

    @classmethod
    def from_networks(cls, data, generator, discriminator, **config) -> Trainer:
        """A trainer that starts from given networks (copied), e.g. a discriminator pre-trained
        against a frozen generator (chapters 5 and 6).

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

    def check_model(self, model) -> int:
        """``model`` as an index of this trainer's models (a ValueError naming the valid range
        otherwise): what every method that takes a model checks, and callbacks too."""
        if isinstance(model, bool) or not isinstance(model, (int, np.integer)):
            raise ValueError(f"model must be an index in [0, {self.n_models}); got {model!r}")
        if not 0 <= model < self.n_models:
            raise ValueError(f"model must be an index in [0, {self.n_models}); got {model!r}")
        return int(model)

    def generator(self, model: int = 0, *, ema: bool = True) -> Generator:
        """A copy of model ``model``'s generator as a :class:`gandemo.models.Generator` on the
        CPU (its moving average when the trainer keeps one, unless ``ema=False``)."""
        e = self.check_model(model)
        c = self.config
        g = Generator(
            c.latent_dim,
            self.dim,
            c.width,
            c.depth,
            seed=0,
            output=c.g_output,
            slope=c.slope,
        )
        flat = self.ema_flat if (ema and self.ema_flat is not None) else self.G.flat
        g.net = self.G.net(e, flat.detach().cpu())
        return g

    def discriminator(self, model: int = 0) -> Discriminator:
        """A copy of model ``model``'s discriminator (logits) on the CPU."""
        e = self.check_model(model)
        c = self.config
        d = Discriminator(self.dim, c.width, c.depth, seed=0, slope=c.slope)
        d.net = self.D.net(e, self.D.flat.detach().cpu())
        return d

    @property
    def sampling_weights(self) -> torch.Tensor:
        """The generators' weights that samples and metrics use (the moving average if any)."""
        return self.G.flat if self.ema_flat is None else self.ema_flat

    # -- minibatches ----------------------------------------------------------------------

    def _real_batch(self) -> torch.Tensor:
        m = self.config.batch_size
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
        m, k = self.config.batch_size, self.config.latent_dim
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
        m = self.config.batch_size
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
            self.ema_flat.lerp_(self.G.flat, 1.0 - self.config.ema)

    def _train_step(self) -> None:
        """One generator step (and its discriminator updates), without waiting for the device."""
        step = self.step + 1
        if self.config.scheme == "simultaneous":
            self._both_update(step)
        else:
            for _ in range(self.config.d_steps):
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
        complete = self.step % self.config.record_every == 0
        if complete:
            self._window = []
        e = self.n_models
        m = self.config.batch_size
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
                values = {k: (0 if _counts(k) else math.nan) for k in values}
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
        changes = {k: v for k, v in (("lr_g", lr_g), ("lr_d", lr_d)) if v is not None}
        config = self.config.replace(**changes)  # checks both before either changes
        for key in changes:
            lr = config[key]
            opt = self.opt_g if key == "lr_g" else self.opt_d
            if isinstance(opt, FlatAdam):
                opt.set_lr(lr)
            else:
                for group in opt.param_groups:
                    group["lr"] = lr
        self.config = config

    def set_loss(self, loss: str, model: int | None = None) -> None:
        """Switch model ``model`` (None: every model) to the objective ``loss`` from the next
        update on, keeping the weights, the moving average and the optimisers' state.

        The records made so far stay as they are, but ``history.models`` (and so
        ``history.model(e).loss``) name the loss as of the latest change; every change is
        appended to :attr:`loss_changes` as ``(step, model, old, new)``, where ``step`` is the
        last step trained with the old loss. A checkpoint saved afterwards stores the new loss
        (not the list of changes).
        """
        which = range(self.n_models) if model is None else [self.check_model(model)]
        names = list(self.config.loss)
        for e in which:
            if names[e] != loss:
                self.loss_changes.append((self.step, e, names[e], loss))
                names[e] = loss
        self.config = self.config.replace(loss=names)  # checks the name (a bad one changes nothing)
        self.history.models = self.models  # the record names the loss as of the latest change

    def set_d_steps(self, d_steps: int) -> None:
        """Change :math:`k`, the discriminator updates per generator update, from the next step
        on (0 freezes the discriminator; the simultaneous scheme needs 1)."""
        self.config = self.config.replace(d_steps=d_steps)

    def select(self, models: Sequence[int]) -> Trainer:
        """A new trainer holding models ``models`` of this one, exactly where they stand.

        Weights, moving averages, optimiser states, random streams, pending minibatches,
        history and divergences are copied row by row, so the selected models continue as
        they would have continued here (up to the float rounding of a different batch), and
        this trainer is left as it was. A longer budget for some models of a comparison is
        then a continuation, not a second run from step 0 (chapter 8).

        Args:
            models: indices of the models to keep, in the new trainer's order.
        """
        if isinstance(models, (str, bytes)) or not isinstance(models, Sequence) or not models:
            raise ValueError(f"models must be a non-empty list of model indices; got {models!r}")
        idx = [self.check_model(e) for e in models]
        if len(set(idx)) != len(idx):
            raise ValueError(f"models must not repeat a model; got {list(models)}")
        rows = torch.tensor(idx, device=self.device)
        c = self.config
        per_model = {  # the selected models' losses, seeds and (per-model) rates
            k: [c[k][e] for e in idx] if isinstance(c[k], tuple) else c[k]
            for k in ("loss", "seed", "lr_g", "lr_d")
        }
        t = Trainer(self.data, **{**c.to_dict(), **per_model})
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
        e = self.check_model(model)
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
        if c.threads != "auto":
            return c.threads
        small = self.n_models * c.batch_size * c.width <= SMALL_WORK
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
        if self.step % self.config.metric_every == 0:
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
            fixed = 1 if self._threads_now() == 1 else self.config.threads
            threads = _ThreadChooser(None if fixed == "auto" else fixed)
        rec, met = self.config.record_every, self.config.metric_every
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
        e = self.check_model(model)
        k = self.config.latent_dim
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
        e = self.check_model(model)
        return self._generate(self._z_eval[e : e + 1], self.sampling_weights[e : e + 1])[0]

    def samples(self, n: int, *, seed: int = 0) -> np.ndarray:
        """``n`` examples of every model from the same seeded latent codes, ``(E, n, dim)``."""
        n = check_positive_int(n, "n")
        g = torch.Generator().manual_seed(check_nonnegative_int(seed, "seed"))
        z = torch.randn(n, self.config.latent_dim, generator=g)
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
                e = self.check_model(model)
                out = self.D(t.unsqueeze(0), self.D.flat[e : e + 1])[0, :, 0]
        return out.cpu().numpy().astype(float)

    def discriminator_on(self, x, *, model: int = 0) -> np.ndarray:
        """:math:`D(x) = \\sigma(a(x))` of model ``model`` at numpy points, an ``(n,)`` array."""
        a = self.logits(x, model=model)
        return 1.0 / (1.0 + np.exp(-np.clip(a, -60, 60)))

    def snapshot(self, n: int = 1000, *, model: int = 0) -> Snapshot:
        """``n`` real and generated examples of model ``model``, its history and metrics."""
        n = check_positive_int(n, "n")
        e = self.check_model(model)
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
        checkpoint.save(self, path)

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
        return checkpoint.load(cls, path, data, device=device)


_STEP_LOCK_GUARD = threading.Lock()


# help(Trainer) and inspect show every setting with its default, read from TrainerConfig
Trainer.__signature__ = TrainerConfig.signature(
    inspect.Parameter("data", inspect.Parameter.POSITIONAL_OR_KEYWORD)
)


def summarize(trainer: Trainer) -> list[dict]:
    """Mean and standard deviation over seeds of the final metrics, one row per loss.

    Introduced in :doc:`/chapters/09_digits`.

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


def _counts(key: str) -> bool:
    """Whether the metric ``key`` counts something (modes, classes): 0 for a diverged model."""
    return key in METRICS and METRICS[key].kind == "count"
