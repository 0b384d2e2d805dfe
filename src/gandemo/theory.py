r"""Exact quantities of the GAN game for 1-D densities, to check what the minibatch code estimates.

A discriminator is given by its logit function ``d_logit``: a callable that maps an array of
points :math:`x` (numpy or torch) to logits :math:`a(x)`, with :math:`D(x) = \sigma(a(x))`.
The logs are computed in logit space, :math:`\log D = -\operatorname{softplus}(-a)`.

Chapter 2 adds the optimal discriminator :math:`D^* = p_\text{data} / (p_\text{data} + p_g)`,
the Kullback-Leibler and Jensen-Shannon divergences (on a grid and by quadrature) and the value
at the optimum :math:`C(G) = -\log 4 + 2\,\mathrm{JSD}(p_\text{data} \| p_g)`. Chapter 3 adds
the objective that the non-saturating generator follows at :math:`D^*`,
:math:`\mathrm{KL}(p_g \| p_\text{data}) - 2\,\mathrm{JSD}(p_g \| p_\text{data})`, and re-exports
the Dirac-GAN of ``gandemo.dirac``.

A *density* here is any object with ``pdf(x)``, ``logpdf(x)`` (numpy, vectorised) and
``support(mass)``, such as :class:`gandemo.data.Gaussian1D` and
:class:`gandemo.data.GaussianMixture1D`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import integrate

from . import losses
from .data import Gaussian1D, GaussianMixture1D
from .utils import (
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    cpu_threads,
    torch_generator,
)

__all__ = [
    "FittedDiscriminator",
    "ValueStats",
    "fit_discriminator",
    "gaussian_fit_landscape",
    "generator_gradient_at_optimum",
    "js_divergence",
    "jsd_on_grid",
    "kl_divergence",
    "kl_on_grid",
    "mass_interval",
    "non_saturating_f",
    "non_saturating_divergence",
    "non_saturating_objective",
    "optimal_discriminator",
    "optimal_logit",
    "c_of_g",
    "value_by_quadrature",
    "value_estimates",
]


def _log_d(a: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -a)


def _log_1m_d(a: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, a)


def _sign_changes(values: np.ndarray, x: np.ndarray) -> list[float]:
    """The points where ``values`` (on the grid ``x``) changes sign, by linear interpolation."""
    finite = np.isfinite(values[:-1]) & np.isfinite(values[1:])
    with np.errstate(invalid="ignore"):
        i = np.flatnonzero(finite & (np.sign(values[:-1]) * np.sign(values[1:]) < 0))
    v0, v1 = values[i], values[i + 1]
    return (x[i] + (x[i + 1] - x[i]) * v0 / (v0 - v1)).tolist()


def _sign_definite_integral(f, cuts) -> float:
    """Integrate a one-signed f piece by piece between the sorted ``cuts``.

    Only a relative tolerance is set: the values can be far below 1e-12 (C(G) for distributions
    that barely overlap), where an absolute tolerance would stop the quadrature before it starts.
    """
    total = 0.0
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        if b > a:
            value, _ = integrate.quad(f, a, b, limit=200, epsabs=0.0, epsrel=1e-10)
            total += value
    return float(total)


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

    Introduced in :doc:`/chapters/01_bce_to_value_function`.

    .. math::

        V(D, G) = \int p_\text{data}(x) \log D(x)\,dx + \int p_g(x) \log(1 - D(x))\,dx

    Both terms are integrated over the union of the two densities' ``mass`` intervals, including
    any gap between them, split at the interval ends, the densities' centres and the points where
    the logit changes sign. The last ones matter when the densities barely overlap: for
    :math:`D^*` the whole of :math:`C(G)` then comes from around the point where the two densities
    cross, which lies outside both intervals (for :math:`\mathcal N(0, 1)` against
    :math:`\mathcal N(20, 1)`, at :math:`x = 10`). Only a relative tolerance is used, so values
    far below :math:`10^{-12}` are resolved.

    Args:
        d_logit: the discriminator's logit function, vectorised over numpy arrays.
        p_data, p_g: objects with ``pdf(x)`` and ``support(mass)`` (see :mod:`gandemo.data`).
        mass: the probability mass each density's integration interval must hold.

    Returns:
        A :class:`ValueStats` with both terms and their per-example variances.
    """
    ends = [*p_data.support(mass), *p_g.support(mass)]
    lo, hi = min(ends), max(ends)

    def logit(x):
        return np.asarray(d_logit(np.asarray(x, dtype=float)), dtype=float)

    grid = np.linspace(lo, hi, 4001)
    inner = [*ends, *_breakpoints(p_data, p_g), *_sign_changes(logit(grid), grid)]
    cuts = sorted({lo, hi, *(c for c in inner if lo < c < hi)})

    def log_d(x):
        return _log_d(logit(x))

    def log_1m_d(x):
        return _log_1m_d(logit(x))

    real_term = _sign_definite_integral(lambda x: p_data.pdf(x) * log_d(x), cuts)
    fake_term = _sign_definite_integral(lambda x: p_g.pdf(x) * log_1m_d(x), cuts)
    real_sq = _sign_definite_integral(lambda x: p_data.pdf(x) * log_d(x) ** 2, cuts)
    fake_sq = _sign_definite_integral(lambda x: p_g.pdf(x) * log_1m_d(x) ** 2, cuts)
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

    Introduced in :doc:`/chapters/01_bce_to_value_function`.

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


# --------------------------------------------------------------------------------------------
# Chapter 2: the optimal discriminator and C(G)
# --------------------------------------------------------------------------------------------

LOG2 = float(np.log(2.0))


def _check_density(p, name: str):
    for attr in ("pdf", "logpdf", "support"):
        if not callable(getattr(p, attr, None)):
            raise ValueError(
                f"{name} must be a density with pdf, logpdf and support methods "
                f"(e.g. gandemo.data.Gaussian1D); got {type(p).__name__}"
            )
    return p


def _check_points(x, name: str = "x") -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric array-like; got {type(x).__name__}") from exc
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _torch_logpdf(p, x: torch.Tensor) -> torch.Tensor | None:
    """Differentiable log-density for the two families of :mod:`gandemo.data`, else None."""
    half_log_2pi = 0.5 * float(np.log(2 * np.pi))
    if isinstance(p, Gaussian1D):
        return -0.5 * ((x - p.mean) / p.std) ** 2 - float(np.log(p.std)) - half_log_2pi
    if isinstance(p, GaussianMixture1D):
        terms = [
            float(np.log(w)) - 0.5 * ((x - m) / s) ** 2 - float(np.log(s)) - half_log_2pi
            for w, m, s in zip(p.weights, p.means, p.stds, strict=True)
            if w > 0
        ]
        return torch.logsumexp(torch.stack(terms), dim=0)
    return None


def optimal_discriminator(p_data, p_g, x) -> np.ndarray:
    r"""The optimal discriminator of Goodfellow et al. (2014, Prop. 1) at the points ``x``.

    Introduced in :doc:`/chapters/02_optimal_discriminator`.

    .. math::

        D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)}
               = \sigma\bigl(\log p_\text{data}(x) - \log p_g(x)\bigr),

    computed in the second form, so it stays accurate far in the tails where both densities
    underflow.

    Args:
        p_data, p_g: densities (module docstring).
        x: points, any shape.

    Returns:
        :math:`D^*(x)`, a numpy array of the shape of ``x``.
    """
    _check_density(p_data, "p_data")
    _check_density(p_g, "p_g")
    x = _check_points(x)
    a = p_data.logpdf(x) - p_g.logpdf(x)
    return np.exp(-np.logaddexp(0.0, -a))


def optimal_logit(p_data, p_g):
    r"""The logit function :math:`a^*(x) = \log p_\text{data}(x) - \log p_g(x)` of :math:`D^*`.

    Introduced in :doc:`/chapters/02_optimal_discriminator`.

    The callable accepts numpy arrays (returns numpy) and torch tensors (returns a tensor of the
    same dtype, differentiable in ``x`` for :class:`~gandemo.data.Gaussian1D` and
    :class:`~gandemo.data.GaussianMixture1D`), so it can be passed to
    :func:`value_by_quadrature`, :func:`value_estimates` and :mod:`gandemo.losses`.
    """
    _check_density(p_data, "p_data")
    _check_density(p_g, "p_g")

    def d_logit(x):
        if isinstance(x, torch.Tensor):
            lp, lq = _torch_logpdf(p_data, x), _torch_logpdf(p_g, x)
            if lp is not None and lq is not None:
                return lp - lq
            xn = x.detach().cpu().numpy().astype(float)
            a = p_data.logpdf(xn) - p_g.logpdf(xn)
            return torch.as_tensor(a, dtype=x.dtype, device=x.device)
        xn = np.asarray(x, dtype=float)
        return p_data.logpdf(xn) - p_g.logpdf(xn)

    return d_logit


def _grid_inputs(p_vals, q_vals, x):
    p = _check_points(p_vals, "p_vals")
    q = _check_points(q_vals, "q_vals")
    x = _check_points(x, "x")
    if x.ndim != 1 or x.size < 2 or np.any(np.diff(x) <= 0):
        raise ValueError("x must be a 1-D increasing grid with at least two points")
    try:
        p, q = np.broadcast_arrays(p, q)
    except ValueError as exc:
        raise ValueError(f"p_vals and q_vals must broadcast; got {p.shape} and {q.shape}") from exc
    if p.shape[-1] != x.size:
        raise ValueError(f"the last axis of p_vals and q_vals must match x ({x.size} points)")
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("p_vals and q_vals must be non-negative densities")
    return p, q, x


def kl_on_grid(p_vals, q_vals, x) -> np.ndarray:
    r"""Kullback-Leibler divergence from density values on a grid (trapezoidal rule).

    .. math::

        \mathrm{KL}(p \| q) = \int p(x) \log\frac{p(x)}{q(x)}\,dx,

    with :math:`0 \log 0 = 0`; :math:`+\infty` where :math:`p > 0 = q`.

    Args:
        p_vals, q_vals: density values; the last axis runs over ``x`` (leading axes broadcast,
            so a whole family of densities is handled at once).
        x: the increasing grid.

    Returns:
        The divergence, one value per leading index (a float for 1-D input).
    """
    p, q, x = _grid_inputs(p_vals, q_vals, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        integrand = np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)
    return np.trapezoid(integrand, x, axis=-1)


def jsd_on_grid(p_vals, q_vals, x) -> np.ndarray:
    r"""Jensen-Shannon divergence from density values on a grid (trapezoidal rule).

    .. math::

        \mathrm{JSD}(p \| q) = \tfrac12 \mathrm{KL}(p \| m) + \tfrac12 \mathrm{KL}(q \| m),
        \qquad m = \tfrac12 (p + q);

    it lies in :math:`[0, \log 2]`: 0 for identical densities, :math:`\log 2` for disjoint
    supports.

    Args:
        p_vals, q_vals, x: as in :func:`kl_on_grid`.
    """
    p, q, x = _grid_inputs(p_vals, q_vals, x)
    m = 0.5 * (p + q)
    return 0.5 * kl_on_grid(p, m, x) + 0.5 * kl_on_grid(q, m, x)


def _breakpoints(*densities) -> list[float]:
    points = []
    for p in densities:
        for attr in ("mean", "means"):
            if hasattr(p, attr):
                points.extend(np.atleast_1d(getattr(p, attr)).astype(float).tolist())
    return points


def _integrate(f, densities, mass: float) -> float:
    """Integrate f over the union of the densities' supports, split at their centres."""
    ends = [e for p in densities for e in p.support(mass)]
    lo, hi = min(ends), max(ends)
    cuts = sorted({lo, hi, *ends, *(c for c in _breakpoints(*densities) if lo < c < hi)})
    total = 0.0
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        if b > a:
            value, _ = integrate.quad(f, a, b, limit=200, epsabs=1e-13, epsrel=1e-11)
            total += value
    return float(total)


def _kl_integrand(lp, lq):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(lp), np.exp(lp) * (lp - lq), 0.0)


def kl_divergence(p, q, mass: float = 1 - 1e-12) -> float:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p \| q) = \int p \log(p/q)\,dx` by
    adaptive quadrature (``scipy.integrate.quad``), from the log-densities.

    Introduced in :doc:`/chapters/03_nonsaturating_objective`.

    Args:
        p, q: densities (module docstring).
        mass: the probability mass each density's integration interval must hold.
    """
    _check_density(p, "p")
    _check_density(q, "q")

    def f(x):
        return float(_kl_integrand(p.logpdf(x), q.logpdf(x)))

    return _integrate(f, (p, q), mass)


def js_divergence(p, q, mass: float = 1 - 1e-12) -> float:
    r"""Jensen-Shannon divergence by adaptive quadrature, from the log-densities.

    Introduced in :doc:`/chapters/02_optimal_discriminator`.

    .. math::

        \mathrm{JSD}(p \| q) = \frac12 \int p \log\frac{2p}{p + q}\,dx
                             + \frac12 \int q \log\frac{2q}{p + q}\,dx,

    with :math:`\log\frac{p + q}{2}` computed as ``logaddexp(log p, log q) - log 2``.
    """
    _check_density(p, "p")
    _check_density(q, "q")

    def f(x):
        lp, lq = p.logpdf(x), q.logpdf(x)
        with np.errstate(invalid="ignore"):
            lm = np.logaddexp(lp, lq) - LOG2
        return float(0.5 * _kl_integrand(lp, lm) + 0.5 * _kl_integrand(lq, lm))

    return _integrate(f, (p, q), mass)


def c_of_g(p_data, p_g) -> float:
    r""":math:`C(G) = \max_D V(D, G) = V(D^*, G)`, computed by quadrature of the value function at
    :math:`D^*` (:func:`value_by_quadrature` with :func:`optimal_logit`).

    Introduced in :doc:`/chapters/02_optimal_discriminator`.

    Theorem 1 of Goodfellow et al. (2014) says it equals
    :math:`-\log 4 + 2\,\mathrm{JSD}(p_\text{data} \| p_g)`; this function does not use that.
    It stays accurate where that formula cannot: for :math:`\mathcal N(0, 1)` against
    :math:`\mathcal N(20, 1)`, :math:`C(G) \approx -4.73 \times 10^{-23}`, far below the rounding
    error of :math:`2\,\mathrm{JSD}` near :math:`2 \log 2`.
    """
    return value_by_quadrature(optimal_logit(p_data, p_g), p_data, p_g).value


def mass_interval(densities, mass: float = 0.99, n: int = 20001) -> tuple[float, float]:
    r"""The central interval that holds ``mass`` of the equal mixture of ``densities``.

    Introduced in :doc:`/chapters/02_optimal_discriminator`.

    Used to say where a learned discriminator is compared with :math:`D^*`: where the samples it
    was trained on actually fall.
    """
    densities = list(densities)
    if not densities:
        raise ValueError("densities is empty")
    for i, p in enumerate(densities):
        _check_density(p, f"densities[{i}]")
    if not 0 < mass < 1:
        raise ValueError(f"mass must lie strictly between 0 and 1; got {mass!r}")
    ends = [e for p in densities for e in p.support(1 - 1e-9)]
    x = np.linspace(min(ends), max(ends), check_positive_int(n, "n"))
    pdf = np.mean([p.pdf(x) for p in densities], axis=0)
    cdf = integrate.cumulative_trapezoid(pdf, x, initial=0.0)
    cdf /= cdf[-1]
    tail = (1 - mass) / 2
    return float(np.interp(tail, cdf, x)), float(np.interp(1 - tail, cdf, x))


@dataclass
class FittedDiscriminator:
    """A small MLP discriminator trained by :func:`fit_discriminator`.

    Attributes:
        net: the ``torch.nn.Sequential`` (input x, output the logit).
        losses: the discriminator loss at every step.
    """

    net: torch.nn.Module
    losses: np.ndarray
    _net64: torch.nn.Module | None = field(default=None, init=False, repr=False)

    def logit(self, x) -> np.ndarray:
        """The learned logit at the points ``x`` (numpy in, numpy out).

        Evaluated by a float64 copy of the network, so the result is a smooth function of ``x``
        (float32 rounding would make adaptive quadrature of it complain)."""
        x = _check_points(x)
        if self._net64 is None:
            self._net64 = copy.deepcopy(self.net).double()
        with torch.no_grad():
            t = torch.as_tensor(x.reshape(-1, 1), dtype=torch.float64)
            return self._net64(t).reshape(x.shape).numpy()

    def prob(self, x) -> np.ndarray:
        """The learned :math:`D(x) = \\sigma(a(x))`."""
        return 1.0 / (1.0 + np.exp(-self.logit(x)))


def fit_discriminator(
    p_data,
    p_g,
    steps: int = 3000,
    batch_size: int = 512,
    hidden: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
) -> FittedDiscriminator:
    r"""Train a small MLP discriminator against *fixed* ``p_data`` and ``p_g``.

    Introduced in :doc:`/chapters/02_optimal_discriminator`.

    Each step draws fresh batches of ``batch_size`` real and generated examples and takes an Adam
    step on :func:`gandemo.losses.discriminator_loss` (:math:`-\hat V`); the learning rate decays
    linearly to 0, so the last steps average out the sampling noise. With enough capacity and data
    the result approaches :math:`D^*`.

    Args:
        p_data, p_g: densities with ``sample`` (:mod:`gandemo.data`).
        steps, batch_size, hidden: number of steps, examples of each kind per step, width of the
            two hidden layers.
        lr: initial Adam learning rate.
        seed: seeds the initial weights and the sampling stream.
    """
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    hidden = check_positive_int(hidden, "hidden")
    lr = check_positive(lr, "lr")
    seed = check_nonnegative_int(seed, "seed")
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(1, hidden),
        torch.nn.SiLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.SiLU(),
        torch.nn.Linear(hidden, 1),
    )
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 - k / steps)
    gen = torch_generator(seed)
    history = np.empty(steps)
    with cpu_threads(1):  # a small network: one thread is fastest, whatever else runs
        for k in range(steps):
            x_real = p_data.sample(batch_size, gen).reshape(-1, 1)
            x_fake = p_g.sample(batch_size, gen).reshape(-1, 1)
            loss = losses.discriminator_loss(net(x_real)[:, 0], net(x_fake)[:, 0])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            history[k] = float(loss.detach())
    net.eval()
    return FittedDiscriminator(net=net, losses=history)


# --------------------------------------------------------------------------------------------
# Chapter 3: the non-saturating generator at D*
# --------------------------------------------------------------------------------------------


def non_saturating_f(u) -> np.ndarray:
    r"""The convex function of the non-saturating objective, :math:`f(u) = (1+u)\log\frac{1+u}{2}`.

    Introduced in :doc:`/chapters/03_nonsaturating_objective`.

    :math:`f(1) = 0` and :math:`f''(u) = 1/(1+u) > 0`, so
    :math:`D_f(p_g \| p_\text{data}) = \int p_\text{data}\, f(p_g / p_\text{data})\,dx` is an
    f-divergence.
    """
    u = _check_points(u, "u")
    if np.any(u < 0):
        raise ValueError("u must be non-negative (a ratio of densities)")
    return (1 + u) * np.log((1 + u) / 2)


def non_saturating_divergence(p_data, p_g, mass: float = 1 - 1e-12) -> float:
    r"""The f-divergence :math:`\int p_\text{data}\, f(p_g/p_\text{data})\,dx` with
    :func:`non_saturating_f`, by quadrature, in the stable form

    Introduced in :doc:`/chapters/03_nonsaturating_objective`.

    .. math::

        \int \bigl(p_\text{data} + p_g\bigr) \log\frac{p_\text{data} + p_g}{2\,p_\text{data}}\,dx.
    """
    _check_density(p_data, "p_data")
    _check_density(p_g, "p_g")

    def f(x):
        lp, lq = p_data.logpdf(x), p_g.logpdf(x)
        ls = np.logaddexp(lp, lq)
        return float(np.exp(ls) * (ls - LOG2 - lp))

    return _integrate(f, (p_data, p_g), mass)


def non_saturating_objective(p_data, p_g) -> float:
    r"""The objective that the non-saturating generator follows at :math:`D^*`,

    Introduced in :doc:`/chapters/02_optimal_discriminator`.

    .. math::

        \mathrm{KL}(p_g \| p_\text{data}) - 2\,\mathrm{JSD}(p_g \| p_\text{data}),

    from :func:`kl_divergence` and :func:`js_divergence` (Arjovsky & Bottou 2017).
    """
    return kl_divergence(p_g, p_data) - 2 * js_divergence(p_g, p_data)


def generator_gradient_at_optimum(
    p_data,
    mean: float,
    std: float,
    kind: str = "non-saturating",
    n: int = 200_000,
    seed: int = 0,
) -> np.ndarray:
    r"""Monte-Carlo gradient of a generator loss with respect to :math:`(\mu, \sigma)` of
    :math:`p_g = \mathcal N(\mu, \sigma^2)`, with the discriminator frozen at :math:`D^*`.

    Introduced in :doc:`/chapters/03_nonsaturating_objective`.

    The generator is :math:`G(z) = \mu + \sigma z`, :math:`z \sim \mathcal N(0, 1)`; the loss is
    the generator loss ``kind`` of :data:`gandemo.losses.LOSSES` on the logits :math:`a^*(G(z))`
    of the optimal discriminator for the *current* :math:`p_g`, which is held fixed while
    differentiating (as in training, where D is a separate network). Autograd flows through
    :math:`G(z)` only.

    Args:
        p_data: a :class:`~gandemo.data.Gaussian1D` or :class:`~gandemo.data.GaussianMixture1D`.
        mean, std: the generator's parameters.
        kind: ``"saturating"`` or ``"non-saturating"``.
        n: number of samples.
        seed: seed of the noise.

    Returns:
        ``[d/dmu, d/dsigma]`` of the expected loss, a numpy array.
    """
    if kind not in losses.CLASSIC:
        raise ValueError(f"kind must be one of {losses.CLASSIC}; got {kind!r}")
    p_g = Gaussian1D(mean, std)
    if _torch_logpdf(p_data, torch.zeros(1)) is None:
        raise ValueError("p_data must be a Gaussian1D or GaussianMixture1D")
    logit = optimal_logit(p_data, p_g)  # frozen: built from the current p_g
    n = check_positive_int(n, "n")
    z = torch.randn(
        n, generator=torch_generator(check_nonnegative_int(seed, "seed")), dtype=torch.float64
    )
    mu = torch.tensor(p_g.mean, dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor(p_g.std, dtype=torch.float64, requires_grad=True)
    loss = losses.get_loss(kind).g_loss(logit(mu + sigma * z))
    loss.backward()
    return np.array([float(mu.grad), float(sigma.grad)])


def gaussian_fit_landscape(p_data, means, stds, x=None) -> dict:
    r"""Both generator objectives at :math:`D^*` for every Gaussian :math:`p_g = \mathcal N(\mu,
    \sigma^2)` on a grid of means and standard deviations.

    Introduced in :doc:`/chapters/03_nonsaturating_objective`.

    Computed on a fine x-grid (:func:`jsd_on_grid`, :func:`kl_on_grid`), vectorised over the
    family.

    Args:
        p_data: the data density.
        means, stds: 1-D arrays of :math:`\mu` and :math:`\sigma > 0`.
        x: the integration grid (default: 6001 points over a wide interval).

    Returns:
        A dict with ``"minimax"`` :math:`= 2\,\mathrm{JSD} - \log 4` and ``"non-saturating"``
        :math:`= \mathrm{KL}(p_g \| p_\text{data}) - 2\,\mathrm{JSD}`, each of shape
        ``(len(stds), len(means))``, and the inputs ``"means"``, ``"stds"``.
    """
    _check_density(p_data, "p_data")
    means = _check_points(means, "means").ravel()
    stds = _check_points(stds, "stds").ravel()
    if np.any(stds <= 0):
        raise ValueError("stds must be positive")
    if x is None:
        lo, hi = p_data.support(1 - 1e-12)
        lo = min(lo, means.min() - 8 * stds.max())
        hi = max(hi, means.max() + 8 * stds.max())
        x = np.linspace(lo, hi, 6001)
    x = _check_points(x, "x")
    lp = p_data.logpdf(x)[None, :]
    minimax = np.empty((stds.size, means.size))
    nonsat = np.empty_like(minimax)
    for i, s in enumerate(stds):
        lq = -0.5 * ((x[None, :] - means[:, None]) / s) ** 2 - np.log(s * np.sqrt(2 * np.pi))
        lm = np.logaddexp(lp, lq) - LOG2
        jsd = 0.5 * np.trapezoid(np.exp(lp) * (lp - lm) + np.exp(lq) * (lq - lm), x, axis=-1)
        kl = np.trapezoid(np.exp(lq) * (lq - lp), x, axis=-1)
        minimax[i] = 2 * jsd - 2 * LOG2
        nonsat[i] = kl - 2 * jsd
    return {"minimax": minimax, "non-saturating": nonsat, "means": means, "stds": stds}
