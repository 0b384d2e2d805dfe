"""A :class:`~gandemo.training.Trainer`'s settings: :class:`TrainerConfig`, every setting with
its default and its check, once.

The trainer, its checkpoints, the command line and the dashboard read the defaults and the
checks from here; nothing restates them.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .. import losses
from ..dirac import SCHEMES
from ..utils import check_nonnegative_int, check_positive, check_positive_int, check_seed

OPTIMIZERS = ("adam", "sgd")
G_OUTPUTS = ("linear", "tanh")


@dataclasses.dataclass(frozen=True, eq=True)
class TrainerConfig(Mapping):
    r"""Every setting of a :class:`~gandemo.training.Trainer`, checked (frozen: a change is a
    new, re-checked config, :meth:`replace`).

    The settings are the keyword arguments of :class:`~gandemo.training.Trainer`, which
    documents each. ``loss`` and ``seed`` may be given as one value or as a list of one per
    model; here they are always tuples of one per model, so the number of models is
    ``len(config.loss)``, and the loss names are stored nowhere else on a trainer. ``lr_g`` and
    ``lr_d`` are one number when every model has the same rate, else a tuple of one per model.

    A config is also a read-only mapping from setting name to value (``config["width"]``,
    ``dict(config)``). :meth:`to_dict` gives the form the constructor takes and a checkpoint
    stores (one model's loss and seed as plain values).

    Example:
        >>> from gandemo.training import TrainerConfig
        >>> c = TrainerConfig(loss=["hinge", "least-squares"], lr_d={"hinge": 2e-3,
        ...                   "least-squares": 1e-3})
        >>> c.loss, c.seed, c.lr_d, c.width
        (('hinge', 'least-squares'), (0, 0), (0.002, 0.001), 64)
        >>> c.replace(d_steps=2).d_steps
        2
    """

    loss: str | Sequence[str] = "non-saturating"
    seed: int | Sequence[int] = 0
    latent_dim: int = 2
    width: int = 64
    depth: int = 2
    batch_size: int = 128
    d_steps: int = 1
    scheme: str = "alternating"
    lr_g: Any = 1e-3
    lr_d: Any = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    g_optimizer: str = "adam"
    d_optimizer: str = "adam"
    slope: float = 0.2
    g_output: str = "linear"
    ema: float | None = None
    device: str | torch.device = "auto"
    record_every: int = 10
    metric_every: int = 200
    metric_samples: int = 2500
    threads: int | str = "auto"

    def __post_init__(self) -> None:
        def put(name, value):
            object.__setattr__(self, name, value)

        names, seeds = _as_list(self.loss, "loss"), _as_list(self.seed, "seed")
        if names is not None and seeds is not None and len(names) != len(seeds):
            raise ValueError(
                f"loss and seed lists must have the same length; got {len(names)} losses and "
                f"{len(seeds)} seeds"
            )
        n = len(names) if names is not None else (len(seeds) if seeds is not None else 1)
        names = names if names is not None else [self.loss] * n
        seeds = seeds if seeds is not None else [self.seed] * n
        put("loss", tuple(check_loss(name) for name in names))
        put("seed", tuple(check_seed(s) for s in seeds))
        for k in (
            "latent_dim",
            "width",
            "depth",
            "batch_size",
            "record_every",
            "metric_every",
            "metric_samples",
        ):
            put(k, check_positive_int(getattr(self, k), k))
        if self.metric_samples < 2:
            raise ValueError(f"metric_samples must be at least 2; got {self.metric_samples!r}")
        put("d_steps", check_nonnegative_int(self.d_steps, "d_steps"))
        _check_choice(self.scheme, "scheme", SCHEMES)
        if self.scheme == "simultaneous" and self.d_steps != 1:
            raise ValueError(f"d_steps must be 1 with scheme='simultaneous'; got {self.d_steps}")
        _check_choice(self.g_optimizer, "g_optimizer", OPTIMIZERS)
        _check_choice(self.d_optimizer, "d_optimizer", OPTIMIZERS)
        for key, opt in (("lr_g", "g_optimizer"), ("lr_d", "d_optimizer")):
            rate = _check_rate(getattr(self, key), key, self.loss)
            if isinstance(rate, tuple) and getattr(self, opt) == "sgd":
                raise ValueError(f"{key}: one rate per model needs {opt}='adam'; got 'sgd'")
            put(key, rate)
        try:
            betas = tuple(float(b) for b in self.betas)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"betas must be two numbers in [0, 1); got {self.betas!r}") from exc
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1); got {self.betas!r}")
        put("betas", betas)
        _check_choice(self.g_output, "g_output", G_OUTPUTS)
        put("slope", _check_fraction(self.slope, "slope", "a number in [0, 1)", closed=True))
        if self.ema is not None:
            put("ema", _check_fraction(self.ema, "ema", "None or a decay in (0, 1)"))
        if self.threads != "auto":
            put("threads", check_positive_int(self.threads, "threads"))
        if not isinstance(self.device, (str, torch.device)):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda'; got {self.device!r}")
        put("device", str(self.device))

    # -- the settings as a whole ---------------------------------------------------------------

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The settings' names, in the constructor's order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every setting's default: the one place they are written."""
        return {f.name: f.default for f in dataclasses.fields(cls)}

    @classmethod
    def signature(cls, *first):
        """A signature with parameters ``first``, then every setting as a keyword argument with
        its default (what :class:`~gandemo.training.Trainer` shows to ``help``)."""
        return inspect.Signature(
            [
                *first,
                *(
                    inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
                    for k, v in cls.defaults().items()
                ),
            ]
        )

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> TrainerConfig:
        """A config from keyword settings, with a ValueError naming any unknown one."""
        unknown = sorted(set(settings) - set(cls.names()))
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; the settings are {list(cls.names())}")
        return cls(**settings)

    def replace(self, **changes) -> TrainerConfig:
        """A copy with ``changes``, checked as a new config is (a bad value changes nothing)."""
        return self.of({**self.to_dict(), **changes})

    @property
    def n_models(self) -> int:
        return len(self.loss)

    @property
    def models(self) -> list[tuple[str, int]]:
        """``(loss, seed)`` of each model."""
        return list(zip(self.loss, self.seed, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """The settings in the form the constructor takes and a checkpoint stores: one model's
        loss and seed as plain values, a list of them for several; per-model rates as lists."""
        d = {k: getattr(self, k) for k in self.names()}
        for k in ("loss", "seed"):
            d[k] = d[k][0] if self.n_models == 1 else list(d[k])
        for k in ("lr_g", "lr_d"):
            if isinstance(d[k], tuple):
                d[k] = list(d[k])
        return d

    # -- read-only mapping --------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        if key not in self.names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())


# -- the checks, each with the message a user sees ------------------------------------------------


def check_loss(name) -> str:
    """``name`` if it names a loss of :data:`gandemo.losses.LOSSES`; ValueError otherwise."""
    return losses.get_loss(name).name


def _check_rate(value, name: str, names: Sequence[str]) -> float | tuple[float, ...]:
    """A learning rate for the models whose losses are ``names``: a positive number, a list of
    one per model, or a mapping from loss name to a number. Returns a number when every model
    has the same rate, else a tuple of one per model; ValueError naming ``name`` otherwise."""
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
    return rates[0] if len(set(rates)) == 1 else tuple(rates)


def _check_fraction(value, name: str, what: str, *, closed: bool = False) -> float:
    """``value`` as a float in [0, 1) (``closed``) or (0, 1); ValueError saying ``what``."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be {what}; got {value!r}") from exc
    if not ((0 <= v < 1) if closed else (0 < v < 1)):
        raise ValueError(f"{name} must be {what}; got {value!r}")
    return v


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
