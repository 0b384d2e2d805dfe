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

Every function takes tensors, lists or numpy arrays and returns a tensor that autograd can
differentiate. The value function and the players' losses reduce over the last axis only: inputs of
shape ``(m,)`` give a 0-dim tensor, inputs of shape ``(k, m)`` (k models side by side) give k
values. The two expectations of :math:`V` are estimated by separate means, so the real and the
generated batches may have different sizes :math:`m_r` and :math:`m_f` (the leading dimensions
must agree). Functions of logits are computed in logit space with softplus,
:math:`\log D = -\operatorname{softplus}(-a)` and :math:`\log(1 - D) = -\operatorname{softplus}(a)`,
never as ``log(sigmoid(a))``, so they stay finite and keep their gradients for any finite logit.
Bad input raises :class:`ValueError` naming the argument and the problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "as_tensor",
    "bce",
    "CLASSIC",
    "discriminator_loss",
    "GANLoss",
    "get_loss",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "loss_table",
    "LOSSES",
    "non_saturating_generator_loss",
    "saturating_generator_loss",
    "term_profile",
    "TermProfile",
    "value_function",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
]

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
        if arr.dtype == np.longdouble and np.longdouble is not np.float64:
            arr = arr.astype(np.float64)  # torch has no extended precision: float64 it is
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


def _two_batches(
    real: ArrayLike, fake: ArrayLike, name_r: str, name_f: str, *, probabilities: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check a real and a generated batch, ``(..., m_r)`` and ``(..., m_f)``: the leading
    dimensions must agree, the batch sizes need not."""
    r = as_tensor(real, name_r, probabilities=probabilities)
    f = as_tensor(fake, name_f, probabilities=probabilities)
    if r.shape[:-1] != f.shape[:-1]:
        raise ValueError(
            f"{name_r} and {name_f} must agree in all but the last dimension (the batch); got "
            f"shapes {tuple(r.shape)} and {tuple(f.shape)}"
        )
    return _common_dtype(r, f)


def _pair(real_logits, fake_logits, check: bool) -> tuple[torch.Tensor, torch.Tensor]:
    if not check:
        return real_logits, fake_logits
    return _two_batches(real_logits, fake_logits, "real_logits", "fake_logits")


def _one(fake_logits, check: bool) -> torch.Tensor:
    return as_tensor(fake_logits, "fake_logits") if check else fake_logits


def bce(probs: ArrayLike, targets: ArrayLike) -> torch.Tensor:
    r"""Mean binary cross-entropy of probabilities against targets, the textbook formula.

    Introduced in :doc:`/chapters/01_bce_to_value_function`.

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

    Introduced in :doc:`/chapters/01_bce_to_value_function`.

    .. math::

        \hat V = \frac{1}{m_r}\sum_{i=1}^{m_r} \log D(x_i)
               + \frac{1}{m_f}\sum_{j=1}^{m_f} \log\bigl(1 - D(G(z_j))\bigr)

    :math:`D` maximises it, :math:`G` minimises it. Each expectation of :math:`V(D, G)` gets its
    own unbiased mean, so the two batch sizes may differ. With :math:`m_r = m_f = m` it is the sum
    of the two per-label means of the log-likelihood, i.e. minus the sum of the two per-label BCE
    means, and twice minus the mean BCE over the mixed batch of :math:`2m` examples.

    Args:
        d_real: :math:`D(x_i)` on real examples, probabilities in [0, 1], shape ``(..., m_r)``.
        d_fake: :math:`D(G(z_j))` on generated examples, probabilities in [0, 1], shape
            ``(..., m_f)``; the leading dimensions must be those of ``d_real``.

    Returns:
        :math:`\hat V \le 0`, reduced over the last axis (0-dim for 1-D inputs); ``-inf`` if some
        ``D(x) = 0`` or ``D(G(z)) = 1``.
    """
    dr, df = _two_batches(d_real, d_fake, "d_real", "d_fake", probabilities=True)
    return torch.log(dr).mean(-1) + torch.log1p(-df).mean(-1)


def discriminator_loss(
    real_logits: ArrayLike, fake_logits: ArrayLike, *, check: bool = True
) -> torch.Tensor:
    r"""Discriminator loss of the minimax game from logits: minus the minibatch value function.

    Introduced in :doc:`/chapters/01_bce_to_value_function`.

    With :math:`D = \sigma(a)`,

    .. math::

        L_D = -\hat V = \frac{1}{m_r}\sum_i \operatorname{softplus}(-a^\text{real}_i)
                      + \frac{1}{m_f}\sum_j \operatorname{softplus}(a^\text{fake}_j),

    which equals the sum of the two per-label BCE means (real examples labelled 1, generated
    ones 0), or, for :math:`m_r = m_f`, twice the BCE over the mixed batch. At :math:`D = 1/2`
    everywhere it is :math:`2 \ln 2`. D minimises it.

    Args:
        real_logits: discriminator logits :math:`a` on real examples, shape ``(..., m_r)``.
        fake_logits: discriminator logits on generated examples, shape ``(..., m_f)``; the leading
            dimensions must be those of ``real_logits``.
        check: check the inputs (finite, non-empty, matching leading dimensions). The check reads
            the values back to the host; a training loop that must not wait for the device on
            every step passes tensors with ``check=False`` and watches the loss for NaN instead.

    Returns:
        :math:`L_D \ge 0`, reduced over the last axis (0-dim for 1-D inputs).
    """
    r, f = _pair(real_logits, fake_logits, check)
    return F.softplus(-r).mean(-1) + F.softplus(f).mean(-1)


def saturating_generator_loss(fake_logits: ArrayLike, *, check: bool = True) -> torch.Tensor:
    r"""Saturating generator loss (the minimax game of Goodfellow et al. 2014), minimised by G.

    Introduced in :doc:`/chapters/01_bce_to_value_function`.

    .. math::

        L_G^\text{sat} = \frac{1}{m}\sum_i \log\bigl(1 - D(G(z_i))\bigr)
                       = -\frac{1}{m}\sum_i \operatorname{softplus}(a_i) \;\le 0,

    the only term of :math:`\hat V` that depends on G. Its gradient with respect to a logit is
    :math:`-\sigma(a_i)/m = -D(G(z_i))/m`, which vanishes when D confidently rejects the sample.
    At :math:`D = 1/2` it is :math:`-\ln 2`.

    Args:
        fake_logits: discriminator logits :math:`a_i` on generated examples, shape ``(..., m)``.
        check: check the input (see :func:`discriminator_loss`).

    Returns:
        The loss, reduced over the last axis (0-dim for 1-D input).
    """
    return -F.softplus(_one(fake_logits, check)).mean(-1)


def non_saturating_generator_loss(fake_logits: ArrayLike, *, check: bool = True) -> torch.Tensor:
    r"""Non-saturating generator loss (the heuristic of Goodfellow et al. 2014), minimised by G.

    Introduced in :doc:`/chapters/01_bce_to_value_function`.

    .. math::

        L_G^\text{ns} = -\frac{1}{m}\sum_i \log D(G(z_i))
                      = \frac{1}{m}\sum_i \operatorname{softplus}(-a_i) \;\ge 0,

    i.e. BCE of the generated examples against the *real* label 1. Its logit gradient is
    :math:`(\sigma(a_i) - 1)/m`, close to :math:`-1/m` exactly where the saturating one
    (:func:`saturating_generator_loss`) vanishes. At :math:`D = 1/2` it is :math:`\ln 2`.

    Args:
        fake_logits: discriminator logits :math:`a_i` on generated examples, shape ``(..., m)``.
        check: check the input (see :func:`discriminator_loss`).

    Returns:
        The loss, reduced over the last axis (0-dim for 1-D input).
    """
    return F.softplus(-_one(fake_logits, check)).mean(-1)


def least_squares_discriminator_loss(
    real_logits: ArrayLike, fake_logits: ArrayLike, *, check: bool = True
) -> torch.Tensor:
    r"""Least-squares GAN (LSGAN, Mao et al. 2017), discriminator side, 0-1 coding.

    The discriminator's raw output :math:`a` (no sigmoid) is regressed onto 1 for real and 0
    for generated examples:

    .. math::

        L_D = \frac{1}{2m_r}\sum_i (a^\text{real}_i - 1)^2
            + \frac{1}{2m_f}\sum_j (a^\text{fake}_j)^2.

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

        L_D = \frac{1}{m_r}\sum_i \max(0, 1 - a^\text{real}_i)
            + \frac{1}{m_f}\sum_j \max(0, 1 + a^\text{fake}_j).

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

    .. math:: L_C = \frac{1}{m_f}\sum_j a^\text{fake}_j - \frac{1}{m_r}\sum_i a^\text{real}_i.

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
    r"""One entry of :data:`LOSSES`: a GAN objective as two losses of logits, both minimised.

    The two losses are the functions of this module, with their ``check`` argument: a caller
    with lists or arrays calls them as they are; the training loop, which must not wait for the
    device on every step, calls them on tensors with ``check=False``.

    Attributes:
        name: the registry key.
        d_loss: ``d_loss(real_logits, fake_logits, check=True)``, the discriminator's (critic's)
            loss, one per model (reduced over the last axis).
        g_loss: ``g_loss(fake_logits, check=True)``, the generator's loss, one per model.
        penalty_weight: the weight :math:`\lambda` of :func:`gradient_penalty` added to
            ``d_loss`` (0: no penalty).
        d_equilibrium: the value of ``d_loss`` at the equilibrium :math:`p_g = p_\text{data}` with
            the optimal discriminator, where it is a fixed number (None where any value is
            possible, e.g. :math:`\mathbb E[a_f] - \mathbb E[a_r]` with a penalty).
        g_equilibrium: the value of ``g_loss`` there (None where any value is possible, e.g.
            :math:`-\mathbb E[a_f]`).
        formula: the two losses in LaTeX, for tables.
        reference: where the objective comes from.
    """

    name: str
    d_loss: Callable[..., torch.Tensor]
    g_loss: Callable[..., torch.Tensor]
    penalty_weight: float = 0.0
    d_equilibrium: float | None = None
    g_equilibrium: float | None = None
    formula: str = ""
    reference: str = ""


_LN2 = float(np.log(2.0))

#: The GAN objectives the training loop knows, by name. Each gives its discriminator and
#: generator losses in logit space (the functions above; reduced over the last axis, so they
#: serve one model or many side by side).
LOSSES: dict[str, GANLoss] = {
    loss.name: loss
    for loss in (
        GANLoss(
            "saturating",
            discriminator_loss,
            saturating_generator_loss,
            d_equilibrium=2 * _LN2,
            g_equilibrium=-_LN2,
            formula=r"$L_D = -\hat V$, $L_G = \overline{\log(1 - D(G(z)))}$",
            reference="Goodfellow et al. (2014), the minimax game",
        ),
        GANLoss(
            "non-saturating",
            discriminator_loss,
            non_saturating_generator_loss,
            d_equilibrium=2 * _LN2,
            g_equilibrium=_LN2,
            formula=r"$L_D = -\hat V$, $L_G = -\overline{\log D(G(z))}$",
            reference="Goodfellow et al. (2014), the heuristic of section 3",
        ),
        GANLoss(
            "least-squares",
            least_squares_discriminator_loss,
            least_squares_generator_loss,
            d_equilibrium=0.25,
            g_equilibrium=0.125,
            formula=r"$L_D = \frac12\overline{(a_r - 1)^2} + \frac12\overline{a_f^2}$, "
            r"$L_G = \frac12\overline{(a_f - 1)^2}$",
            reference="Mao et al. (2017), LSGAN",
        ),
        GANLoss(
            "hinge",
            hinge_discriminator_loss,
            hinge_generator_loss,
            d_equilibrium=2.0,
            formula=r"$L_D = \overline{[1 - a_r]_+} + \overline{[1 + a_f]_+}$, "
            r"$L_G = -\overline{a_f}$",
            reference="Lim & Ye (2017); Miyato et al. (2018)",
        ),
        GANLoss(
            "wasserstein-gp",
            wasserstein_critic_loss,
            wasserstein_generator_loss,
            penalty_weight=10.0,
            formula=r"$L_C = \overline{a_f} - \overline{a_r} + 10\,P$, $L_G = -\overline{a_f}$",
            reference="Arjovsky et al. (2017); Gulrajani et al. (2017), WGAN-GP",
        ),
    )
}

#: The two classic generator losses of Goodfellow et al. (2014), in registry order. They are the
#: entries that play the minimax game's :func:`discriminator_loss` and differ only in the
#: generator's loss: ``("saturating", "non-saturating")``.
CLASSIC: tuple[str, ...] = tuple(
    name for name, spec in LOSSES.items() if spec.d_loss is discriminator_loss
)


def get_loss(name: str) -> GANLoss:
    """The :class:`GANLoss` registered as ``name`` in :data:`LOSSES` (ValueError otherwise)."""
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}; got {name!r}")
    return LOSSES[name]


def loss_table() -> str:
    """The registry :data:`gandemo.losses.LOSSES` as a Markdown table.

    Introduced in :doc:`/chapters/08_loss_zoo`.
    """
    lines = ["| name | losses (bars: minibatch means) | reference |", "|---|---|---|"]
    for name, spec in LOSSES.items():
        lines.append(f"| `{name}` | {spec.formula} | {spec.reference} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class TermProfile:
    """A loss term on a grid of logits, from :func:`term_profile`.

    Attributes:
        values: the term on each grid point, flattened.
        slopes: the term's slope on each grid point in the direction in which its player
            improves, flattened like ``values``.
    """

    values: np.ndarray
    slopes: np.ndarray

    @property
    def player_wants(self) -> str:
        """What the improving player does to the term.

        ``"minimised"`` if every slope is negative, ``"maximised"`` if every slope is positive,
        ``"mixed"`` otherwise.
        """
        if np.all(self.slopes < 0):
            return "minimised"
        return "maximised" if np.all(self.slopes > 0) else "mixed"


def term_profile(term: Callable, logits: ArrayLike, *, player: str) -> TermProfile:
    r"""Values of a loss term on a grid of logits, and its slope as its player improves.

    Introduced in :doc:`/chapters/06_total_loss`.

    The discriminator improves by raising its logit :math:`a_r` on a real example and lowering
    its logit :math:`a_f` on a generated one, so its slope is
    :math:`\partial_{a_r} - \partial_{a_f}`; the generator improves by raising :math:`a_f`, so
    its slope is :math:`\partial_{a_f}`. Each grid point is a batch of one example per input,
    and the slopes come from autograd.

    Args:
        term: for ``player="discriminator"`` a function of ``(real_logits, fake_logits)``, for
            ``player="generator"`` a function of ``fake_logits``, reducing over the last axis like
            the losses of this module (:func:`discriminator_loss`,
            :func:`saturating_generator_loss`, or minus one of them).
        logits: 1-D grid of logits. The discriminator's term is evaluated on every pair
            :math:`(a_r, a_f)` of it, :math:`a_r` varying slowest; the generator's on every
            :math:`a_f`.
        player: ``"discriminator"`` or ``"generator"``.

    Returns:
        The values and slopes, as float arrays of length ``len(logits)**2`` (discriminator) or
        ``len(logits)`` (generator).

    Raises:
        ValueError: if ``player`` is neither player, or ``logits`` is not a finite non-empty 1-D
            array.
    """
    if player not in ("discriminator", "generator"):
        raise ValueError(f"player must be 'discriminator' or 'generator'; got {player!r}")
    grid = as_tensor(logits, "logits").detach()
    if grid.ndim != 1:
        raise ValueError(f"logits must be a 1-D grid; got shape {tuple(grid.shape)}")
    if player == "discriminator":
        r, f = (t.reshape(-1, 1).clone() for t in torch.meshgrid(grid, grid, indexing="ij"))
        inputs = (r.requires_grad_(True), f.requires_grad_(True))
    else:
        inputs = (grid.reshape(-1, 1).clone().requires_grad_(True),)
    values = term(*inputs)
    grads = torch.autograd.grad(values.sum(), inputs)
    slopes = grads[0] - grads[1] if player == "discriminator" else grads[0]
    return TermProfile(values.detach().numpy().copy(), slopes.reshape(-1).detach().numpy().copy())
