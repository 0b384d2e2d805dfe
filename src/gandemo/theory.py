r"""Exact quantities of the GAN game for 1-D densities, to check what the minibatch code estimates.

A discriminator is given by its logit function ``d_logit``: a callable that maps an array of
points :math:`x` (numpy or torch) to logits :math:`a(x)`, with :math:`D(x) = \sigma(a(x))`.
The logs are computed in logit space, :math:`\log D = -\operatorname{softplus}(-a)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy import integrate

from . import losses
from .utils import check_nonnegative_int, check_positive_int, torch_generator

__all__ = ["ValueStats", "value_by_quadrature", "value_estimates"]


def _log_d(a: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -a)


def _log_1m_d(a: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, a)


def _expectation(pdf, f, support) -> float:
    lo, hi = support
    value, _ = integrate.quad(lambda x: pdf(x) * f(x), lo, hi, limit=200, epsabs=1e-12)
    return float(value)


@dataclass(frozen=True)
class ValueStats:
    r"""The value function of a fixed D and its per-example spread, computed by quadrature.

    Attributes:
        real_term: :math:`\mathbb E_{p_\text{data}}[\log D(x)]`.
        fake_term: :math:`\mathbb E_{p_g}[\log(1 - D(x))]`.
        real_var: :math:`\operatorname{Var}_{p_\text{data}}[\log D(x)]`.
        fake_var: :math:`\operatorname{Var}_{p_g}[\log(1 - D(x))]`.
    """

    real_term: float
    fake_term: float
    real_var: float
    fake_var: float

    @property
    def value(self) -> float:
        r""":math:`V(D, G)` = real_term + fake_term."""
        return self.real_term + self.fake_term

    def estimate_std(self, m) -> np.ndarray:
        r"""Standard deviation of the minibatch estimate :math:`\hat V` with m real and m generated
        examples: :math:`\sqrt{(\sigma^2_\text{real} + \sigma^2_\text{fake}) / m}`."""
        m = np.asarray(m, dtype=float)
        if np.any(m < 1):
            raise ValueError("m must be at least 1")
        return np.sqrt((self.real_var + self.fake_var) / m)


def value_by_quadrature(d_logit: Callable, p_data, p_g, mass: float = 1 - 1e-12) -> ValueStats:
    r"""Compute :math:`V(D, G)` for densities ``p_data`` and ``p_g`` and a fixed D by quadrature.

    .. math::

        V(D, G) = \int p_\text{data}(x) \log D(x)\,dx + \int p_g(x) \log(1 - D(x))\,dx

    Args:
        d_logit: the discriminator's logit function, vectorised over numpy arrays.
        p_data, p_g: objects with ``pdf(x)`` and ``support(mass)`` (see :mod:`gandemo.data`).
        mass: the probability mass the integration interval must hold.

    Returns:
        A :class:`ValueStats` with both terms and their per-example variances.
    """
    real_support = p_data.support(mass)
    fake_support = p_g.support(mass)

    def log_d(x):
        return _log_d(np.asarray(d_logit(np.asarray(x, dtype=float)), dtype=float))

    def log_1m_d(x):
        return _log_1m_d(np.asarray(d_logit(np.asarray(x, dtype=float)), dtype=float))

    real_term = _expectation(p_data.pdf, log_d, real_support)
    fake_term = _expectation(p_g.pdf, log_1m_d, fake_support)
    real_sq = _expectation(p_data.pdf, lambda x: log_d(x) ** 2, real_support)
    fake_sq = _expectation(p_g.pdf, lambda x: log_1m_d(x) ** 2, fake_support)
    return ValueStats(
        real_term=real_term,
        fake_term=fake_term,
        real_var=max(real_sq - real_term**2, 0.0),
        fake_var=max(fake_sq - fake_term**2, 0.0),
    )


def value_estimates(
    d_logit: Callable, p_data, p_g, m: int, repeats: int = 1000, seed: int = 0
) -> np.ndarray:
    r"""Draw ``repeats`` independent minibatch estimates :math:`\hat V` with batch size ``m``.

    Each estimate samples m real and m generated examples and calls
    :func:`gandemo.losses.value_function` on :math:`D(x) = \sigma(a(x))`.

    Args:
        d_logit: the discriminator's logit function, accepting a torch tensor.
        p_data, p_g: objects with ``sample(n, generator, dtype)`` (see :mod:`gandemo.data`).
        m: batch size (examples of each kind per estimate).
        repeats: number of independent estimates.
        seed: seed of the sampling stream.

    Returns:
        A float64 numpy array of shape ``(repeats,)``.
    """
    m = check_positive_int(m, "m")
    repeats = check_positive_int(repeats, "repeats")
    gen = torch_generator(check_nonnegative_int(seed, "seed"))
    x_real = p_data.sample(m * repeats, gen, dtype=torch.float64).reshape(repeats, m)
    x_fake = p_g.sample(m * repeats, gen, dtype=torch.float64).reshape(repeats, m)
    d_real = torch.sigmoid(d_logit(x_real))
    d_fake = torch.sigmoid(d_logit(x_fake))
    return np.array([float(losses.value_function(d_real[i], d_fake[i])) for i in range(repeats)])
