r"""Sample-quality measures against a known 1-D target density.

Loss curves of a GAN say how the two players fare against each other, not how close
:math:`p_g` is to :math:`p_\text{data}` (chapter 5). For a 1-D target with a known density we can
measure that closeness directly.
"""

from __future__ import annotations

import numpy as np
import torch

from .utils import check_positive_int

__all__ = ["binned_target", "jsd_to_density"]


def binned_target(density, lo: float, hi: float, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges on ``[lo, hi]`` and the target's probability of each bin.

    The probability of a bin is the density integrated over it (through ``density.cdf`` when the
    object has one, else Simpson's rule on 16 sub-intervals per bin).

    Returns:
        ``(edges, probs)`` with ``bins + 1`` edges and ``bins`` probabilities (not renormalised:
        the mass outside ``[lo, hi]`` is missing from ``probs``).
    """
    bins = check_positive_int(bins, "bins")
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        raise ValueError(f"the range must satisfy lo < hi, both finite; got lo={lo}, hi={hi}")
    edges = np.linspace(lo, hi, bins + 1)
    sub = 16
    fine = np.linspace(lo, hi, bins * sub + 1)
    values = np.asarray(density.pdf(fine), dtype=float)
    if values.shape != fine.shape or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("density.pdf must return finite, non-negative values of the input shape")
    h = (hi - lo) / (bins * sub)
    w = np.ones(sub + 1)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    chunks = np.lib.stride_tricks.sliding_window_view(values, sub + 1)[::sub]
    probs = (chunks * w).sum(axis=1) * h / 3.0
    return edges, probs


def jsd_to_density(samples, density, lo=None, hi=None, bins: int = 60, mass: float = 0.999):
    r"""Jensen-Shannon divergence between a 1-D density and the histogram of samples, in nats.

    Both distributions are discretised on the same ``bins`` equal bins over ``[lo, hi]``: the
    target as :math:`p_k = \int_{\text{bin } k} p_\text{data}(x)\,dx`, the samples as the
    fraction :math:`q_k` that falls in bin :math:`k`. Samples outside the range are counted in
    one extra "outside" bin, and the target's missing mass goes into the same extra bin, so
    both vectors sum to 1. Then

    .. math::

        \operatorname{JSD}(p \,\|\, q) = \tfrac12 \operatorname{KL}(p \,\|\, m)
            + \tfrac12 \operatorname{KL}(q \,\|\, m), \qquad m = \tfrac12 (p + q),

    with :math:`0 \log 0 = 0`. It lies in :math:`[0, \ln 2]`: 0 for identical histograms,
    :math:`\ln 2 \approx 0.693` when they do not overlap at all. With :math:`n` samples the
    estimate has a positive bias of roughly ``bins / (8 n)`` nats even for a perfect sampler, so
    compare values computed with the same ``n`` and ``bins``.

    Args:
        samples: 1-D samples (tensor or array; a trailing dimension of 1 is accepted).
        density: the target, with a vectorised ``pdf(x)`` and, when ``lo``/``hi`` are omitted,
            ``support(mass)`` (see :mod:`gandemo.data`).
        lo, hi: the binning range (default: the target's central ``mass`` interval, widened by
            a quarter on each side).
        bins: number of equal bins inside the range.
        mass: used only to choose the default range.

    Returns:
        The divergence, a float in nats.
    """
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().cpu().numpy()
    x = np.asarray(samples, dtype=float)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"samples must be a non-empty 1-D array; got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples contains NaN or infinite values")
    if lo is None or hi is None:
        s_lo, s_hi = density.support(mass)
        pad = 0.25 * (s_hi - s_lo)
        lo = s_lo - pad if lo is None else lo
        hi = s_hi + pad if hi is None else hi
    edges, p_in = binned_target(density, lo, hi, bins)
    p = np.append(p_in, max(0.0, 1.0 - p_in.sum()))
    p = p / p.sum()
    counts, _ = np.histogram(x, bins=edges)
    q = np.append(counts, x.size - counts.sum()) / x.size
    m = 0.5 * (p + q)

    def kl(a, b):
        nz = a > 0
        return float(np.sum(a[nz] * np.log(a[nz] / b[nz])))

    return min(max(0.5 * kl(p, m) + 0.5 * kl(q, m), 0.0), float(np.log(2.0)))
