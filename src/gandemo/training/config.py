"""The checks of a :class:`~gandemo.training.Trainer`'s settings, each with the message a
user sees."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..dirac import SCHEMES
from ..utils import check_nonnegative_int, check_positive, check_positive_int


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
