"""What the engine needs to know of a target: its dimension, a description a checkpoint can
keep, and the metrics it is judged by."""

from __future__ import annotations

import numpy as np
import torch


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
    from .. import metrics

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
