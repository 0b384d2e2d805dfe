r"""Sample-quality measures against a known target.

Loss curves of a GAN say how the two players fare against each other, not how close
:math:`p_g` is to :math:`p_\text{data}` (chapter 6). For a 1-D target with a known density we can
measure that closeness directly (:func:`jsd_to_density`); for the 2-D mode-collapse benchmarks
(ring, grid) we count modes and high-quality samples as VEEGAN and PacGAN do
(:func:`mode_coverage`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from .utils import check_positive, check_positive_int

__all__ = [
    "METRICS",
    "Metric",
    "binned_target",
    "discriminator_lag",
    "evaluation_grid",
    "evaluation_points",
    "generator_density",
    "jsd_to_density",
    "mode_coverage",
    "ModeCoverage",
]


@dataclass(frozen=True)
class Metric:
    """What the package says about one quality metric: its name in tables and titles, whether
    it counts (modes, classes) or is a fraction, how it is printed, and, for the digits, which
    metric of the 2-D targets it stands in for.

    Attributes:
        key: the name in :class:`~gandemo.training.History` metrics and in result rows.
        label: the column name of tables ("modes covered").
        short: the word of one-line summaries and titles ("modes").
        kind: ``"count"`` (0 for a model that diverged), ``"fraction"`` (printed in percent)
            or ``"value"``.
        decimals: decimals of a mean in a table.
        stands_for: the 2-D metric whose part this metric plays (digits: classes covered for
            modes covered, the confident fraction for the high-quality fraction), or None.
    """

    key: str
    label: str
    short: str
    kind: str
    decimals: int
    stands_for: str | None = None

    def format(self, mean: float, std: float | None = None) -> str:
        """``mean`` (and ``± std``) as a table cell: a fraction in percent, "n/a" if not
        finite."""
        if mean is None or not np.isfinite(mean):
            return "n/a"
        scale, unit = (100.0, " %") if self.kind == "fraction" else (1.0, "")
        text = f"{scale * mean:.{self.decimals}f}"
        if std is not None:
            text += f" ± {scale * std:.{self.decimals}f}"
        return text + unit


#: The one vocabulary of quality metrics, by key, that every table, summary line and title
#: reads. The 2-D targets report modes, high_quality and reverse_kl, the 1-D ones jsd, the
#: digits classes, confident, confidence, reverse_kl and fid.
METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("modes", "modes covered", "modes", "count", 1),
        Metric("modes_one_sample", "modes (one sample)", "modes", "count", 1),
        Metric("high_quality", "high-quality samples", "high quality", "fraction", 1),
        Metric("reverse_kl", "reverse KL", "reverse KL", "value", 2),
        Metric("jsd", "JSD to the target", "JSD", "value", 3),
        Metric("classes", "classes covered", "classes", "count", 1, stands_for="modes"),
        Metric("confident", "confident fraction", "confident", "fraction", 1, "high_quality"),
        Metric("confidence", "classifier confidence", "confidence", "value", 2),
        Metric("fid", "Fréchet distance", "Fréchet", "value", 2),
    )
}


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

    Introduced in :doc:`/chapters/06_total_loss`.

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
    try:
        mass_ok = 0 < float(mass) < 1
    except (TypeError, ValueError):
        mass_ok = False
    if isinstance(mass, bool) or not mass_ok:
        raise ValueError(f"mass must be a number in (0, 1); got {mass!r}")
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


@dataclass(frozen=True)
class ModeCoverage:
    r"""The mode-collapse figures of :func:`mode_coverage`.

    Attributes:
        modes: number of modes covered (an int in ``[0, num_modes]``; see ``min_share`` of
            :func:`mode_coverage`).
        num_modes: K, the number of modes of the target.
        high_quality: fraction of samples within 3 standard deviations of their nearest centre.
        reverse_kl: :math:`\operatorname{KL}(h \,\|\, \text{uniform})` of the high-quality
            samples' mode histogram :math:`h`, in nats (NaN when no sample is high-quality).
    """

    modes: int
    num_modes: int
    high_quality: float
    reverse_kl: float

    def as_dict(self) -> dict:
        """The fields by name."""
        return asdict(self)


def _points(x, name: str, dim: int | None = None) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if np.iscomplexobj(x):
        raise ValueError(f"{name} must be real-valued; got complex values")
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array; got {type(x).__name__}") from exc
    if a.ndim != 2 or a.shape[0] == 0 or (dim is not None and a.shape[1] != dim):
        want = f"(n, {dim})" if dim is not None else "(n, d)"
        raise ValueError(f"{name} must be a non-empty {want} array; got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def mode_coverage(samples, centers, std: float, min_share: float = 0.1) -> ModeCoverage:
    r"""Modes covered, high-quality fraction and reverse KL of samples from a Gaussian mixture.

    Introduced in :doc:`/chapters/08_loss_zoo`.

    The definitions of VEEGAN and PacGAN, for a mixture of K isotropic Gaussians with centres
    :math:`c_k` and a common standard deviation :math:`s`:

    * a sample :math:`x` is *high-quality* when :math:`\min_k \lVert x - c_k \rVert / s < 3`;
    * a mode is *covered* when it is the nearest centre of at least
      :math:`\max(1, \text{min\_share} \cdot n / K)` high-quality samples out of the :math:`n`:
      with the default ``min_share=0.1``, a tenth of its fair share. ``min_share=0`` gives
      PacGAN's definition (at least one high-quality sample), under which structureless noise
      covers most modes of the grid by chance hits alone; with the default it covers none;
    * :math:`h_k` is the fraction of high-quality samples whose nearest centre is :math:`c_k`,
      and the reverse KL is :math:`\operatorname{KL}(h \,\|\, u) = \log K - H(h)` with
      :math:`u` uniform and :math:`0 \log 0 = 0`: 0 for a perfectly balanced histogram,
      :math:`\log K` when every high-quality sample sits on one mode.

    With no high-quality sample at all there is no histogram: ``modes`` is 0,
    ``high_quality`` 0.0 and ``reverse_kl`` NaN (plots leave a gap there).

    Args:
        samples: an ``(n, d)`` array or tensor of generated points.
        centers: the ``(K, d)`` mode centres (e.g. ``gd.data.ring().centers``).
        std: the modes' common standard deviation :math:`s > 0`.
        min_share: the share of the fair count :math:`n / K` a mode needs to be covered, in
            :math:`[0, 1]` (0: PacGAN's one-sample rule).

    Returns:
        A :class:`ModeCoverage`.
    """
    c = _points(centers, "centers")
    x = _points(samples, "samples", dim=c.shape[1])
    std = check_positive(std, "std")
    try:
        min_share = float(min_share)
    except (TypeError, ValueError):
        raise ValueError(f"min_share must be a number in [0, 1]; got {min_share!r}") from None
    if not 0.0 <= min_share <= 1.0:
        raise ValueError(f"min_share must be a number in [0, 1]; got {min_share!r}")
    k = c.shape[0]
    sq = (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]
    nearest = sq.argmin(1)
    dist = np.sqrt(np.maximum(sq[np.arange(x.shape[0]), nearest], 0.0)) / std
    good = dist < 3.0
    if not good.any():
        return ModeCoverage(0, k, 0.0, float("nan"))
    counts = np.bincount(nearest[good], minlength=k)
    h = counts / counts.sum()
    nz = h > 0
    entropy = -float(np.sum(h[nz] * np.log(h[nz])))
    need = max(1.0, min_share * x.shape[0] / k)
    return ModeCoverage(
        modes=int(np.sum(counts >= need)),
        num_modes=k,
        high_quality=float(good.mean()),
        reverse_kl=max(float(np.log(k)) - entropy, 0.0),
    )


def evaluation_grid(data, grid: int = 101) -> np.ndarray:
    """The points of a 1-D target's samples panel: its central 99.9 % widened by 30 % on
    each side, ``4 * grid`` evenly spaced points."""
    lo, hi = data.support(0.999)
    pad = 0.3 * (hi - lo)
    return np.linspace(lo - pad, hi + pad, 4 * grid)


def evaluation_points(data, grid: int = 101) -> np.ndarray:
    """Where the figures and recorders of a run evaluate :math:`D` on the target ``data``.

    A 1-D target: :func:`evaluation_grid`, shape ``(4 * grid,)``. A 2-D mixture: a ``grid`` by
    ``grid`` mesh over its centres' box padded by a quarter of its width (at least 0.5), shape
    ``(grid**2, 2)``, row by row from the lower left. An image target: no points, shape
    ``(0, dim)``.
    """
    grid = check_positive_int(grid, "grid")
    if hasattr(data, "centers"):
        c = np.asarray(data.centers, dtype=float)
        pad = max(0.5, 0.25 * float(np.ptp(c)))
        xs = np.linspace(float(c.min()) - pad, float(c.max()) + pad, grid)
        xx, yy = np.meshgrid(xs, xs)
        return np.stack([xx.ravel(), yy.ravel()], axis=1)
    if hasattr(data, "pdf"):
        return evaluation_grid(data, grid)
    return np.zeros((0, int(data.dim)))


def generator_density(trainer, x, *, model: int = 0, n: int = 200_000, seed: int = 0):
    r"""The density :math:`p_g` of model ``model``'s generator on a 1-D target, at the evenly
    spaced points ``x``.

    A histogram of ``n`` samples from seeded latent codes, on bins of one grid spacing centred
    at the points, smoothed by a Gaussian of two spacings' standard deviation: with the default
    ``n`` its relative error is a few per cent wherever the density is not tiny, far below that
    of a kernel density estimate of a thousand samples, and a generator whose samples nearly
    coincide shows as a tall, narrow spike. Mass outside the points' range is not counted.

    Returns:
        An array of the shape of ``x``.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or len(x) < 3:
        raise ValueError(f"x must be a 1-D array of at least 3 points; got shape {x.shape}")
    h = float(x[1] - x[0])
    if h <= 0 or not np.allclose(np.diff(x), h, rtol=1e-6, atol=0):
        raise ValueError("x must be evenly spaced and increasing")
    if trainer.dim != 1:
        raise ValueError(f"generator_density needs a 1-D target; this one has {trainer.dim} dims")
    n = check_positive_int(n, "n")
    samples = trainer.sample(n, model=model, seed=seed).numpy().reshape(-1)
    edges = x[0] - h / 2 + h * np.arange(len(x) + 1)
    counts, _ = np.histogram(samples, bins=edges)
    density = counts / (n * h)
    offsets = np.arange(-8, 9)
    kernel = np.exp(-0.5 * (offsets / 2.0) ** 2)
    return np.convolve(density, kernel / kernel.sum(), mode="same")


def discriminator_lag(
    trainer, *, model: int = 0, x=None, n: int = 200_000, relative: bool = False
) -> float:
    r"""How far the learned :math:`D` of model ``model`` is from the optimal :math:`D^*` of
    its current generator, on a 1-D target:

    Introduced in :doc:`/chapters/07_train_live`.

    .. math::

        \int \lvert D(x) - D^*(x) \rvert \, \tfrac12 \bigl(p_\text{data}(x) + p_g(x)\bigr)\,dx,
        \qquad D^* = \frac{p_\text{data}}{p_\text{data} + p_g},

    the mean gap where the two densities put their mass, with :math:`p_g` from
    :func:`generator_density`, on the points ``x`` (default: those of a
    :class:`gandemo.plots.live.TrainingFigure`). 0 when :math:`D = D^*`; about 0.5 for an
    untrained :math:`D` (:math:`D \approx 1/2`) while the two densities do not overlap
    (:math:`D^* \in \{0, 1\}`).

    With ``relative=True`` the lag is divided by that of the constant :math:`D = 1/2` against the
    same :math:`D^*`: 1 for a discriminator no closer to :math:`D^*` than one that knows nothing,
    whatever the generator's progress, 0 for :math:`D^*`.
    """
    data = trainer.data
    if trainer.dim != 1 or not hasattr(data, "pdf"):
        raise ValueError("discriminator_lag needs a 1-D target with a density")
    x = evaluation_grid(data) if x is None else np.asarray(x, dtype=float)
    p_data = np.asarray(data.pdf(x), dtype=float)
    p_g = generator_density(trainer, x, model=model, n=n)
    total = p_data + p_g
    keep = total > 0
    d_star = p_data[keep] / total[keep]
    d = trainer.discriminator_on(x, model=model)[keep]
    w = total[keep]
    lag = float(np.sum(np.abs(d - d_star) * w) / np.sum(w))
    if relative:
        return lag / max(float(np.sum(np.abs(0.5 - d_star) * w) / np.sum(w)), 1e-12)
    return lag
