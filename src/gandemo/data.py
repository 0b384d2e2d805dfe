r"""Target distributions with both a density (for the theory) and a sampler (for training).

The 1-D families here have closed-form densities, so the book can compare what a network learns
with what the formulas say. The 2-D mixtures (:func:`ring`, :func:`grid`) are the standard
mode-collapse benchmarks of VEEGAN and PacGAN. Sampling is done in PyTorch from an explicit, seeded
:class:`torch.Generator` on the generator's device.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .utils import check_positive, check_positive_int

__all__ = [
    "TARGETS",
    "Gaussian1D",
    "GaussianMixture1D",
    "GaussianMixture2D",
    "Target",
    "grid",
    "ring",
    "target",
]


def _norm():
    """``scipy.stats.norm``, imported on first use (``import gandemo`` and the CLI's ``--help``
    do not pay for scipy.stats)."""
    from scipy import stats

    return stats.norm


def _finite_draws(x: torch.Tensor, target, dtype) -> torch.Tensor:
    """``x``, or a ValueError if the target's parameters overflow ``dtype`` (a mean of 1e300
    in float32 would give infinite samples)."""
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{target!r} gives samples too large for {dtype}: choose a smaller scale")
    return x


def _check_finite(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a finite number; got {value!r}") from exc
    if not np.isfinite(v):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    return v


@dataclass(frozen=True)
class Gaussian1D:
    r"""The normal density :math:`\mathcal N(\mu, \sigma^2)` on the real line.

    Introduced in :doc:`/chapters/01_bce_to_value_function`.

    Args:
        mean: :math:`\mu`, finite.
        std: :math:`\sigma > 0`.
    """

    mean: float = 0.0
    std: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", _check_finite(self.mean, "mean"))
        object.__setattr__(self, "std", check_positive(self.std, "std"))

    def pdf(self, x) -> np.ndarray:
        """Density at ``x`` (numpy array or scalar)."""
        return _norm().pdf(np.asarray(x, dtype=float), self.mean, self.std)

    def logpdf(self, x) -> np.ndarray:
        """Log-density at ``x``, finite far into the tails."""
        return _norm().logpdf(np.asarray(x, dtype=float), self.mean, self.std)

    def sample(
        self, n: int, generator: torch.Generator | None = None, dtype=torch.float32
    ) -> torch.Tensor:
        """``n`` draws as a tensor of shape ``(n,)`` on the generator's device."""
        n = check_positive_int(n, "n")
        device = generator.device if generator is not None else "cpu"
        z = torch.randn(n, generator=generator, device=device, dtype=dtype)
        return _finite_draws(self.mean + self.std * z, self, dtype)

    def support(self, mass: float = 0.999) -> tuple[float, float]:
        """The central interval that holds ``mass`` of the probability."""
        return tuple(_norm().interval(mass, self.mean, self.std))


@dataclass(frozen=True)
class GaussianMixture1D:
    r"""A mixture :math:`\sum_k w_k \mathcal N(\mu_k, \sigma_k^2)` on the real line.

    Introduced in :doc:`/chapters/02_optimal_discriminator`.

    Args:
        means: component means.
        stds: component standard deviations (> 0), one per mean.
        weights: mixture weights (>= 0, normalised here); equal weights when omitted.
    """

    means: tuple[float, ...] = (-2.0, 2.0)
    stds: tuple[float, ...] = (0.5, 0.5)
    weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        means = tuple(_check_finite(m, "means") for m in np.atleast_1d(self.means))
        stds = tuple(check_positive(s, "stds") for s in np.atleast_1d(self.stds))
        if len(means) == 0:
            raise ValueError("means is empty: a mixture needs at least one component")
        if len(stds) != len(means):
            raise ValueError(f"stds needs one value per mean ({len(means)}); got {len(stds)}")
        if self.weights is None:
            weights = (1.0 / len(means),) * len(means)
        else:
            w = np.asarray(self.weights, dtype=float)
            if w.shape != (len(means),):
                raise ValueError(f"weights needs one value per mean ({len(means)}); got {w.size}")
            if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
                raise ValueError("weights must be finite, non-negative and not all zero")
            weights = tuple(float(v) for v in w / w.sum())
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "stds", stds)
        object.__setattr__(self, "weights", weights)

    def pdf(self, x) -> np.ndarray:
        """Density at ``x``."""
        x = np.asarray(x, dtype=float)
        return sum(
            w * _norm().pdf(x, m, s)
            for w, m, s in zip(self.weights, self.means, self.stds, strict=True)
        )

    def logpdf(self, x) -> np.ndarray:
        """Log-density at ``x`` (log-sum-exp over components, finite in the tails)."""
        x = np.asarray(x, dtype=float)
        terms = [
            np.log(w) + _norm().logpdf(x, m, s)
            for w, m, s in zip(self.weights, self.means, self.stds, strict=True)
            if w > 0
        ]
        return np.logaddexp.reduce(np.stack(terms), axis=0)

    def sample(
        self, n: int, generator: torch.Generator | None = None, dtype=torch.float32
    ) -> torch.Tensor:
        """``n`` draws as a tensor of shape ``(n,)`` on the generator's device."""
        n = check_positive_int(n, "n")
        device = generator.device if generator is not None else "cpu"
        w = torch.tensor(self.weights, device=device, dtype=torch.float64)
        k = torch.multinomial(w, n, replacement=True, generator=generator)
        means = torch.tensor(self.means, device=device, dtype=dtype)[k]
        stds = torch.tensor(self.stds, device=device, dtype=dtype)[k]
        x = means + stds * torch.randn(n, generator=generator, device=device, dtype=dtype)
        return _finite_draws(x, self, dtype)

    def support(self, mass: float = 0.999) -> tuple[float, float]:
        """An interval holding at least ``mass`` of the probability (union of the components')."""
        pairs = list(zip(self.means, self.stds, strict=True))
        lo = min(_norm().ppf((1 - mass) / 2, m, s) for m, s in pairs)
        hi = max(_norm().ppf((1 + mass) / 2, m, s) for m, s in pairs)
        return float(lo), float(hi)


@dataclass(frozen=True, eq=False)
class GaussianMixture2D:
    r"""An equal-weight mixture of isotropic 2-D Gaussians, :math:`\frac1K \sum_k \mathcal N(c_k,
    s^2 I)`.

    Attributes:
        centers: the K x 2 tensor of mode centres :math:`c_k` (float32, CPU).
        std: the common standard deviation :math:`s` of every mode.
        name: a short label for plots and summaries.
    """

    centers: torch.Tensor
    std: float
    name: str = "mixture"

    def __post_init__(self) -> None:
        centers = torch.as_tensor(self.centers, dtype=torch.float32).detach().cpu()
        if centers.ndim != 2 or centers.shape[1] != 2 or centers.shape[0] < 1:
            raise ValueError(f"centers must be a K x 2 tensor; got shape {tuple(centers.shape)}")
        if not bool(torch.isfinite(centers).all()):
            raise ValueError("centers contains NaN or infinite values")
        object.__setattr__(self, "centers", centers)
        object.__setattr__(self, "std", check_positive(self.std, "std"))

    @property
    def num_modes(self) -> int:
        """K, the number of modes."""
        return int(self.centers.shape[0])

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        device: str | torch.device | None = None,
        dtype=torch.float32,
    ) -> torch.Tensor:
        """``n`` draws as an ``(n, 2)`` tensor, made on the generator's device.

        Args:
            n: number of samples.
            generator: a seeded :class:`torch.Generator`; it decides the device.
            device: the device when no generator is given (default CPU).
            dtype: floating dtype of the result.
        """
        n = check_positive_int(n, "n")
        if generator is not None:
            if device is not None and torch.device(device) != generator.device:
                raise ValueError(
                    f"device {device} differs from the generator's device {generator.device}"
                )
            device = generator.device
        device = torch.device("cpu" if device is None else device)
        k = torch.randint(self.num_modes, (n,), generator=generator, device=device)
        noise = torch.randn(n, 2, generator=generator, device=device, dtype=dtype)
        return self.centers.to(device=device, dtype=dtype)[k] + self.std * noise

    def logpdf(self, x) -> np.ndarray:
        """Log-density at the points ``x`` (an ``(n, 2)`` array)."""
        x = np.asarray(x, dtype=float).reshape(-1, 2)
        c = self.centers.double().numpy()
        sq = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1) / self.std**2
        log_norm = -np.log(2 * np.pi * self.std**2) - np.log(self.num_modes)
        return np.logaddexp.reduce(-0.5 * sq + log_norm, axis=1)

    def pdf(self, x) -> np.ndarray:
        """Density at the points ``x`` (an ``(n, 2)`` array)."""
        return np.exp(self.logpdf(x))


def ring(num_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture2D:
    r"""The ring benchmark: ``num_modes`` Gaussians at angles :math:`2\pi k / K`, ``k = 0..K-1``.

    Introduced in :doc:`/chapters/07_train_live`.

    The angles are built with an endpoint-free grid; ``linspace(0, 2 pi, K)``, as a widely copied
    demo does, puts the first and last modes on top of each other and leaves K - 1 modes.

    Args:
        num_modes: K, the number of modes (default 8).
        radius: the radius of the ring (default 1).
        std: the standard deviation of each mode (default 0.01).
    """
    k = check_positive_int(num_modes, "num_modes")
    radius = check_positive(radius, "radius")
    angles = 2 * np.pi * np.arange(k) / k
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return GaussianMixture2D(torch.tensor(centers, dtype=torch.float32), std, name="ring")


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    r"""The grid benchmark: ``side**2`` Gaussians on a square grid centred at the origin.

    Introduced in :doc:`/chapters/08_loss_zoo`.

    With the defaults the centres are :math:`\{-4, -2, 0, 2, 4\}^2` (25 modes), std 0.05.

    Args:
        side: modes per row and column (default 5).
        spacing: the distance between neighbouring modes (default 2).
        std: the standard deviation of each mode (default 0.05).
    """
    side = check_positive_int(side, "side")
    spacing = check_positive(spacing, "spacing")
    coords = spacing * (np.arange(side) - (side - 1) / 2)
    xx, yy = np.meshgrid(coords, coords, indexing="ij")
    centers = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return GaussianMixture2D(torch.tensor(centers, dtype=torch.float32), std, name="grid")


def _digits():
    from .digits import Digits

    return Digits()


@dataclass(frozen=True)
class Target:
    """A named target of the command line and the dashboard.

    Attributes:
        description: one line for menus and ``--help``.
        make: builds the target.

    How a target is trained (its recipe) is :func:`gandemo.experiments.recipe_for`'s to say.
    """

    description: str
    make: object


#: The targets the command line and the dashboard offer, by name.
TARGETS: dict[str, Target] = {
    "ring": Target("8 Gaussians on the unit circle, std 0.01 (2-D)", ring),
    "grid": Target("25 Gaussians on {-4,-2,0,2,4}^2, std 0.05 (2-D)", grid),
    "gaussian": Target("N(2, 0.5^2) on the line (1-D)", lambda: Gaussian1D(2.0, 0.5)),
    "mixture": Target(
        "0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2) (1-D)",
        lambda: GaussianMixture1D((-2.0, 2.0), (0.5, 0.5)),
    ),
    "digits": Target(
        "scikit-learn's 1797 handwritten digits, 8 x 8 pixels in [-1, 1] (64-D)", _digits
    ),
}


def target(name: str):
    """The target called ``name`` (a key of :data:`TARGETS`), built."""
    if name not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}; got {name!r}")
    return TARGETS[name].make()
