r"""The GAN loss core: binary cross-entropy, the value function and the two players' losses.

Conventions used throughout the book (chapter 1 derives them):

* labels: :math:`y = 1` for a real example, :math:`y = 0` for a generated one;
* :math:`D(x) \in [0, 1]` is the discriminator's probability that :math:`x` is real and
  :math:`a` is its logit, :math:`D = \sigma(a)`;
* the value function is

  .. math::

     V(D, G) = \mathbb{E}_{x \sim p_\text{data}}[\log D(x)]
             + \mathbb{E}_{z \sim p_z}[\log(1 - D(G(z)))],

  which :math:`D` maximises and :math:`G` minimises.

Every function takes tensors, lists or numpy arrays and returns a 0-dim tensor that autograd can
differentiate. Functions of logits are computed in logit space with softplus,
:math:`\log D = -\operatorname{softplus}(-a)` and :math:`\log(1 - D) = -\operatorname{softplus}(a)`,
never as ``log(sigmoid(a))``, so they stay finite and keep their gradients for any finite logit.
Bad input raises :class:`ValueError` naming the argument and the problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "as_tensor",
    "bce",
    "discriminator_loss",
    "GANLoss",
    "generator_loss",
    "GENERATOR_LOSS_KINDS",
    "get_loss",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "loss_table",
    "LOSSES",
    "minimax_discriminator_loss",
    "non_saturating_generator_loss",
    "saturating_generator_loss",
    "value_function",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
]

GENERATOR_LOSS_KINDS = ("saturating", "non-saturating")
GeneratorLossKind = Literal["saturating", "non-saturating"]
ArrayLike = torch.Tensor | np.ndarray | list | tuple | float


def as_tensor(x: ArrayLike, name: str, *, probabilities: bool = False) -> torch.Tensor:
    """Convert ``x`` to a floating tensor and check it, naming ``name`` in any error.

    Tensors are returned as they are (floating dtype, same device, autograd graph kept); lists and
    numpy arrays become tensors of the default dtype (float64 arrays stay float64).

    Args:
        x: the values to check.
        name: the argument's name, used in error messages.
        probabilities: also require every value to lie in [0, 1].

    Raises:
        ValueError: if ``x`` is not numeric, is empty, holds NaN or infinite values or (with
            ``probabilities``) values outside [0, 1].
    """
    if isinstance(x, torch.Tensor):
        t = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as exc:  # ragged lists and the like
            raise ValueError(f"{name} must be numeric array-like, got {type(x).__name__}") from exc
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
        ):
            raise ValueError(f"{name} must be numeric array-like, got dtype {arr.dtype}")
        t = torch.as_tensor(arr)
    if t.is_complex():
        raise ValueError(f"{name} must be real-valued, got dtype {t.dtype}")
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    if t.numel() == 0:
        raise ValueError(f"{name} is empty: it needs at least one value")
    values = t.detach()
    if not bool(torch.isfinite(values).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    if probabilities and not bool(((values >= 0) & (values <= 1)).all()):
        lo, hi = float(values.min()), float(values.max())
        raise ValueError(
            f"{name} must hold probabilities in [0, 1]; got values from {lo:.4g} to {hi:.4g}"
            " (pass logits to the *_loss functions instead)"
        )
    return t


def _same_shape(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape; got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )


def _common_dtype(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    dtype = torch.promote_types(a.dtype, b.dtype)
    if a.device != b.device:
        raise ValueError(f"inputs live on different devices: {a.device} and {b.device}")
    return a.to(dtype), b.to(dtype)


def bce(probs: ArrayLike, targets: ArrayLike) -> torch.Tensor:
    r"""Mean binary cross-entropy of probabilities against targets, the textbook formula.

    .. math::

        \operatorname{BCE}(p, y) = -\frac{1}{n} \sum_{i=1}^{n}
            \bigl[ y_i \log p_i + (1 - y_i) \log(1 - p_i) \bigr]

    A classifier minimises it. With :math:`y = 1` for real and :math:`y = 0` for generated
    examples, a mixed batch of :math:`m` real and :math:`m` generated examples gives
    :math:`\operatorname{BCE} = -\hat V / 2` (see :func:`value_function`): minimising BCE over
    :math:`D` is maximising the value function.

    Terms with a zero weight contribute nothing (``0 log 0 = 0``, via :func:`torch.xlogy`). The log
    is not clamped: a real example with ``p = 0`` costs ``+inf``, where ``torch.nn.BCELoss``
    would report 100.

    Args:
        probs: predicted probabilities :math:`p_i \in [0, 1]`.
        targets: labels :math:`y_i \in [0, 1]` (1 real, 0 generated; soft labels allowed), same
            shape as ``probs``.

    Returns:
        The mean over all elements, a 0-dim tensor.

    Example:
        >>> float(bce([0.5, 0.5], [1.0, 0.0]))  # doctest: +ELLIPSIS
        0.6931...
    """
    p = as_tensor(probs, "probs", probabilities=True)
    y = as_tensor(targets, "targets", probabilities=True)
    _same_shape(p, y, "probs", "targets")
    p, y = _common_dtype(p, y)
    return -(torch.xlogy(y, p) + torch.xlogy(1 - y, 1 - p)).mean()


def value_function(d_real: ArrayLike, d_fake: ArrayLike) -> torch.Tensor:
    r"""Minibatch estimate of the value function from discriminator probabilities.

    .. math::

        \hat V = \frac{1}{m}\sum_{i=1}^{m} \log D(x_i)
               + \frac{1}{m}\sum_{i=1}^{m} \log\bigl(1 - D(G(z_i))\bigr)

    :math:`D` maximises it, :math:`G` minimises it. It is the sum of the two per-label means of the
    log-likelihood, i.e. minus the sum of the two per-label BCE means, and twice minus the mean BCE
    over the mixed batch of :math:`2m` examples. Each mean is an unbiased estimate of its
    expectation in :math:`V(D, G)`.

    Args:
        d_real: :math:`D(x_i)` on real examples, probabilities in [0, 1].
        d_fake: :math:`D(G(z_i))` on generated examples, probabilities in [0, 1], same shape as
            ``d_real`` (the estimate pairs m real with m generated examples).

    Returns:
        :math:`\hat V \le 0`, a 0-dim tensor (``-inf`` if some ``D(x) = 0`` or ``D(G(z)) = 1``).
    """
    dr = as_tensor(d_real, "d_real", probabilities=True)
    df = as_tensor(d_fake, "d_fake", probabilities=True)
    _same_shape(dr, df, "d_real", "d_fake")
    dr, df = _common_dtype(dr, df)
    return torch.log(dr).mean() + torch.log1p(-df).mean()


def discriminator_loss(
    real_logits: ArrayLike, fake_logits: ArrayLike, *, check: bool = True
) -> torch.Tensor:
    r"""Discriminator loss from logits: minus the minibatch value function, minimised by D.

    With :math:`D = \sigma(a)`,

    .. math::

        L_D = -\hat V = \frac{1}{m}\sum_i \operatorname{softplus}(-a^\text{real}_i)
                      + \frac{1}{m}\sum_i \operatorname{softplus}(a^\text{fake}_i),

    which equals the sum of the two per-label BCE means (real examples labelled 1, generated
    ones 0), or twice the BCE over the mixed batch. At :math:`D = 1/2` everywhere it is
    :math:`2 \ln 2`.

    Args:
        real_logits: discriminator logits :math:`a` on real examples.
        fake_logits: discriminator logits on generated examples, same shape as ``real_logits``.
        check: check the inputs (finite, non-empty, same shape). The check reads the values back
            to the host; a training loop that must not wait for the device on every step passes
            tensors with ``check=False`` and watches the loss for NaN instead.

    Returns:
        :math:`L_D \ge 0`, a 0-dim tensor.
    """
    if check:
        r = as_tensor(real_logits, "real_logits")
        f = as_tensor(fake_logits, "fake_logits")
        _same_shape(r, f, "real_logits", "fake_logits")
        r, f = _common_dtype(r, f)
    else:
        r, f = real_logits, fake_logits
    return F.softplus(-r).mean() + F.softplus(f).mean()


def generator_loss(
    fake_logits: ArrayLike, kind: GeneratorLossKind = "non-saturating", *, check: bool = True
) -> torch.Tensor:
    r"""Generator loss from the discriminator's logits on generated examples, minimised by G.

    ``kind="saturating"`` (the minimax game of Goodfellow et al. 2014):

    .. math::

        L_G^\text{sat} = \frac{1}{m}\sum_i \log\bigl(1 - D(G(z_i))\bigr)
                       = -\frac{1}{m}\sum_i \operatorname{softplus}(a_i) \;\le 0,

    the only term of :math:`\hat V` that depends on G. Its gradient with respect to a logit is
    :math:`-\sigma(a_i)/m = -D(G(z_i))/m`, which vanishes when D confidently rejects the sample.

    ``kind="non-saturating"`` (the heuristic of the same paper):

    .. math::

        L_G^\text{ns} = -\frac{1}{m}\sum_i \log D(G(z_i))
                      = \frac{1}{m}\sum_i \operatorname{softplus}(-a_i) \;\ge 0,

    i.e. BCE of the generated examples against the *real* label 1. Its logit gradient is
    :math:`(\sigma(a_i) - 1)/m`, close to :math:`-1/m` exactly where the saturating one vanishes.
    At :math:`D = 1/2` the two losses are :math:`-\ln 2` and :math:`\ln 2`.

    Args:
        fake_logits: discriminator logits :math:`a_i` on generated examples.
        kind: ``"saturating"`` or ``"non-saturating"``.
        check: check the input (see :func:`discriminator_loss`).

    Returns:
        The loss, a 0-dim tensor.
    """
    if kind not in GENERATOR_LOSS_KINDS:
        raise ValueError(f"kind must be one of {GENERATOR_LOSS_KINDS}; got {kind!r}")
    a = as_tensor(fake_logits, "fake_logits") if check else fake_logits
    if kind == "saturating":
        return -F.softplus(a).mean()
    return F.softplus(-a).mean()


# ---------------------------------------------------------------------------------------------
# The loss zoo (chapter 7): losses beyond the two classics, and the registry the training loop
# uses. Every function here reduces over the LAST axis only, so logits of shape (k, m) (k models
# side by side, m examples each) give k losses; logits of shape (m,) give one 0-dim loss.
# ---------------------------------------------------------------------------------------------


def _pair(real_logits, fake_logits, check: bool) -> tuple[torch.Tensor, torch.Tensor]:
    if not check:
        return real_logits, fake_logits
    r = as_tensor(real_logits, "real_logits")
    f = as_tensor(fake_logits, "fake_logits")
    _same_shape(r, f, "real_logits", "fake_logits")
    return _common_dtype(r, f)


def _one(fake_logits, check: bool) -> torch.Tensor:
    return as_tensor(fake_logits, "fake_logits") if check else fake_logits


def minimax_discriminator_loss(
    real_logits: ArrayLike, fake_logits: ArrayLike, *, check: bool = True
) -> torch.Tensor:
    r""":func:`discriminator_loss` reduced over the last axis only (one loss per model).

    .. math:: L_D = \frac1m\sum_i \operatorname{softplus}(-a^\text{real}_i)
              + \frac1m\sum_i \operatorname{softplus}(a^\text{fake}_i)
    """
    r, f = _pair(real_logits, fake_logits, check)
    return F.softplus(-r).mean(-1) + F.softplus(f).mean(-1)


def saturating_generator_loss(fake_logits: ArrayLike, *, check: bool = True) -> torch.Tensor:
    r""":func:`generator_loss` ``"saturating"`` reduced over the last axis:
    :math:`L_G = -\frac1m\sum_i \operatorname{softplus}(a_i) = \frac1m\sum_i\log(1 - D(G(z_i)))`."""
    return -F.softplus(_one(fake_logits, check)).mean(-1)


def non_saturating_generator_loss(fake_logits: ArrayLike, *, check: bool = True) -> torch.Tensor:
    r""":func:`generator_loss` ``"non-saturating"`` reduced over the last axis:
    :math:`L_G = \frac1m\sum_i \operatorname{softplus}(-a_i) = -\frac1m\sum_i\log D(G(z_i))`."""
    return F.softplus(-_one(fake_logits, check)).mean(-1)


def least_squares_discriminator_loss(
    real_logits: ArrayLike, fake_logits: ArrayLike, *, check: bool = True
) -> torch.Tensor:
    r"""Least-squares GAN (LSGAN, Mao et al. 2017), discriminator side, 0-1 coding.

    The discriminator's raw output :math:`a` (no sigmoid) is regressed onto 1 for real and 0
    for generated examples:

    .. math::

        L_D = \frac{1}{2m}\sum_i (a^\text{real}_i - 1)^2 + \frac{1}{2m}\sum_i (a^\text{fake}_i)^2.

    For a fixed generator the minimiser is :math:`a^*(x) = p_\text{data}/(p_\text{data} + p_g)`,
    the same function as the BCE discriminator's :math:`D^*`; at :math:`p_g = p_\text{data}` it is
    1/2 and :math:`L_D = 1/4`. Its gradient grows linearly with the error instead of vanishing.
    """
    r, f = _pair(real_logits, fake_logits, check)
    return 0.5 * (r - 1).square().mean(-1) + 0.5 * f.square().mean(-1)


def least_squares_generator_loss(fake_logits: ArrayLike, *, check: bool = True) -> torch.Tensor:
    r"""LSGAN, generator side: :math:`L_G = \frac{1}{2m}\sum_i (a^\text{fake}_i - 1)^2`
    (1/8 at the equilibrium :math:`a = 1/2`). Mao et al. (2017) show that with the coding
    (a, b, c) = (-1, 1, 0) the game minimises a Pearson :math:`\chi^2` divergence; the 0-1
    coding used here is their common practical choice."""
    return 0.5 * (_one(fake_logits, check) - 1).square().mean(-1)


def hinge_discriminator_loss(
    real_logits: ArrayLike, fake_logits: ArrayLike, *, check: bool = True
) -> torch.Tensor:
    r"""Hinge loss (Lim & Ye 2017; Miyato et al. 2018), discriminator side:

    .. math::

        L_D = \frac1m\sum_i \max(0, 1 - a^\text{real}_i)
            + \frac1m\sum_i \max(0, 1 + a^\text{fake}_i).

    Examples beyond the margin (:math:`a^\text{real} > 1`, :math:`a^\text{fake} < -1`) give no
    gradient at all. When :math:`p_g = p_\text{data}` every :math:`a \in [-1, 1]` is optimal and
    :math:`L_D = 2`.
    """
    r, f = _pair(real_logits, fake_logits, check)
    return F.relu(1 - r).mean(-1) + F.relu(1 + f).mean(-1)


def hinge_generator_loss(fake_logits: ArrayLike, *, check: bool = True) -> torch.Tensor:
    r"""Hinge loss, generator side: :math:`L_G = -\frac1m\sum_i a^\text{fake}_i` (raise the
    critic's score of generated examples; its gradient per logit is :math:`-1/m`, constant)."""
    return -_one(fake_logits, check).mean(-1)


def wasserstein_critic_loss(
    real_logits: ArrayLike, fake_logits: ArrayLike, *, check: bool = True
) -> torch.Tensor:
    r"""Wasserstein GAN (Arjovsky et al. 2017), critic side, without its penalty:

    .. math:: L_C = \frac1m\sum_i a^\text{fake}_i - \frac1m\sum_i a^\text{real}_i.

    Over 1-Lipschitz critics, :math:`-\min L_C` is the Wasserstein-1 distance between
    :math:`p_\text{data}` and :math:`p_g` (Kantorovich-Rubinstein duality). The Lipschitz
    constraint is imposed softly by :func:`gradient_penalty` (WGAN-GP, Gulrajani et al. 2017).
    """
    r, f = _pair(real_logits, fake_logits, check)
    return f.mean(-1) - r.mean(-1)


def wasserstein_generator_loss(fake_logits: ArrayLike, *, check: bool = True) -> torch.Tensor:
    r"""Wasserstein GAN, generator side: :math:`L_G = -\frac1m\sum_i a^\text{fake}_i`."""
    return -_one(fake_logits, check).mean(-1)


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    u: torch.Tensor,
) -> torch.Tensor:
    r"""The gradient penalty of WGAN-GP (Gulrajani et al. 2017).

    .. math::

        P = \frac1m\sum_i \bigl(\lVert\nabla_x a(\hat x_i)\rVert_2 - 1\bigr)^2,
        \qquad \hat x_i = x_i + u_i\,(\tilde x_i - x_i),\; u_i \sim U[0, 1],

    on points between real examples :math:`x_i` and generated ones :math:`\tilde x_i`. The
    graph is kept (``create_graph``) so that the penalty can be differentiated with respect to
    the critic's weights.

    Args:
        critic: maps examples of shape ``(..., m, d)`` to logits ``(..., m)``.
        real, fake: examples, both of shape ``(..., m, d)``.
        u: mixing weights of shape ``(..., m, 1)`` in [0, 1].

    Returns:
        The penalty, reduced over ``m`` (shape ``(...)``).
    """
    if real.shape != fake.shape:
        raise ValueError(
            f"real and fake must have the same shape; got {tuple(real.shape)} and "
            f"{tuple(fake.shape)}"
        )
    x_hat = (real.detach() + u * (fake.detach() - real.detach())).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return (torch.linalg.vector_norm(grad, dim=-1) - 1).square().mean(-1)


@dataclass(frozen=True)
class GANLoss:
    r"""One entry of :data:`LOSSES`: a GAN objective as two losses of logits.

    Attributes:
        name: the registry key.
        d: ``d(real_logits, fake_logits)``, the discriminator's (critic's) loss, minimised.
        g: ``g(fake_logits)``, the generator's loss, minimised.
        penalty: weight :math:`\lambda` of :func:`gandemo.losses.gradient_penalty` added to
            ``d`` (0: none).
        d_equilibrium, g_equilibrium: the losses' values at the equilibrium
            :math:`p_g = p_\text{data}` with the optimal discriminator, where they are fixed
            numbers (None where any value is possible, e.g. :math:`-\mathbb E[a]`).
        formula: the two losses in LaTeX, for tables.
        reference: where the objective comes from.
    """

    name: str
    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[[torch.Tensor], torch.Tensor]
    penalty: float = 0.0
    d_equilibrium: float | None = None
    g_equilibrium: float | None = None
    formula: str = ""
    reference: str = ""


def _no_check(f):
    if f.__code__.co_argcount == 2:
        return lambda r, a: f(r, a, check=False)
    return lambda a: f(a, check=False)


_LN2 = float(np.log(2.0))

#: The GAN objectives the training loop knows, by name. Each gives its discriminator and
#: generator losses in logit space (the functions above; reduced over the last axis, so they
#: serve one model or many side by side).
LOSSES: dict[str, GANLoss] = {
    loss.name: loss
    for loss in (
        GANLoss(
            "saturating",
            _no_check(minimax_discriminator_loss),
            _no_check(saturating_generator_loss),
            d_equilibrium=2 * _LN2,
            g_equilibrium=-_LN2,
            formula=r"$L_D = -\hat V$, $L_G = \overline{\log(1 - D(G(z)))}$",
            reference="Goodfellow et al. (2014), the minimax game",
        ),
        GANLoss(
            "non-saturating",
            _no_check(minimax_discriminator_loss),
            _no_check(non_saturating_generator_loss),
            d_equilibrium=2 * _LN2,
            g_equilibrium=_LN2,
            formula=r"$L_D = -\hat V$, $L_G = -\overline{\log D(G(z))}$",
            reference="Goodfellow et al. (2014), the heuristic of section 3",
        ),
        GANLoss(
            "least-squares",
            _no_check(least_squares_discriminator_loss),
            _no_check(least_squares_generator_loss),
            d_equilibrium=0.25,
            g_equilibrium=0.125,
            formula=r"$L_D = \frac12\overline{(a_r - 1)^2} + \frac12\overline{a_f^2}$, "
            r"$L_G = \frac12\overline{(a_f - 1)^2}$",
            reference="Mao et al. (2017), LSGAN",
        ),
        GANLoss(
            "hinge",
            _no_check(hinge_discriminator_loss),
            _no_check(hinge_generator_loss),
            d_equilibrium=2.0,
            formula=r"$L_D = \overline{[1 - a_r]_+} + \overline{[1 + a_f]_+}$, "
            r"$L_G = -\overline{a_f}$",
            reference="Lim & Ye (2017); Miyato et al. (2018)",
        ),
        GANLoss(
            "wasserstein-gp",
            _no_check(wasserstein_critic_loss),
            _no_check(wasserstein_generator_loss),
            penalty=10.0,
            formula=r"$L_C = \overline{a_f} - \overline{a_r} + 10\,P$, $L_G = -\overline{a_f}$",
            reference="Arjovsky et al. (2017); Gulrajani et al. (2017), WGAN-GP",
        ),
    )
}


def get_loss(name: str) -> GANLoss:
    """The :class:`GANLoss` registered as ``name`` in :data:`LOSSES` (ValueError otherwise)."""
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}; got {name!r}")
    return LOSSES[name]


def loss_table() -> str:
    """The registry :data:`gandemo.losses.LOSSES` as a Markdown table."""
    lines = ["| name | losses (bars: minibatch means) | reference |", "|---|---|---|"]
    for name, spec in LOSSES.items():
        lines.append(f"| `{name}` | {spec.formula} | {spec.reference} |")
    return "\n".join(lines)
