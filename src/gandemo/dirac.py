r"""The Dirac-GAN of Mescheder, Geiger & Nowozin (2018): the smallest GAN that fails to converge.

The data is a point mass at 0, the generator a point mass at :math:`\theta`, the discriminator is
linear with logit :math:`a(x) = \psi x` and :math:`D(x) = \sigma(\psi x)`. In the book's
convention (label 1 for real, chapter 1) the value function is

.. math::

    V(\theta, \psi) = \log \sigma(0) + \log\bigl(1 - \sigma(\psi\theta)\bigr)
                    = f(0) + f(-\psi\theta), \qquad f(t) = -\log(1 + e^{-t}).

Mescheder et al. write :math:`f(\psi\theta) + f(0)`: their :math:`\psi` is minus ours, which
flips the picture upside down and changes nothing else. Each player takes gradient steps on its own
loss (:mod:`gandemo.losses`, from logits):

* discriminator: :math:`L_D = \operatorname{softplus}(-a(0)) + \operatorname{softplus}(a(\theta))
  + \tfrac{\gamma}{2}\psi^2`, where the last term is the R1 penalty
  :math:`\tfrac{\gamma}{2}\,\mathbb E_{p_\text{data}}|\nabla_x a(x)|^2` (here
  :math:`\nabla_x a = \psi`);
* generator: :math:`L_G = -\operatorname{softplus}(\psi\theta)` (saturating) or
  :math:`\operatorname{softplus}(-\psi\theta)` (non-saturating).

The gradient vector field :math:`v = (-\partial_\theta L_G, -\partial_\psi L_D)` is

.. math::

    v_\theta = \psi\,\sigma(\psi\theta) \;\text{(saturating)}, \quad
    v_\theta = \psi\,\sigma(-\psi\theta) \;\text{(non-saturating)}, \qquad
    v_\psi = -\theta\,\sigma(\psi\theta) - \gamma\psi .

The only equilibrium is :math:`(0, 0)`, where the Jacobian is
:math:`\begin{pmatrix} 0 & 1/2 \\ -1/2 & -\gamma \end{pmatrix}` for both losses, with eigenvalues
:math:`\pm i/2 = \pm f'(0)\,i` when :math:`\gamma = 0` and
:math:`(-\gamma \pm \sqrt{\gamma^2 - 1})/2` (negative real part) when :math:`\gamma > 0`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from . import losses
from .utils import check_nonnegative_int, check_positive

__all__ = [
    "SCHEMES",
    "eigenvalues",
    "field",
    "field_autograd",
    "jacobian",
    "ns_radius_law",
    "player_losses",
    "spectral_radius",
    "trajectory",
    "update_matrix",
]

#: The two update schemes of a step (also those of :class:`gandemo.training.Trainer`).
SCHEMES = ("simultaneous", "alternating")


def _sigmoid(t):
    if isinstance(t, float):
        return 0.5 * (1.0 + math.tanh(0.5 * t))  # fast path for the trajectory loop
    return 0.5 * (1.0 + np.tanh(0.5 * t))  # stable for any finite t


def _check_loss(loss: str) -> str:
    if loss not in losses.CLASSIC:
        raise ValueError(f"loss must be one of {losses.CLASSIC}; got {loss!r}")
    return loss


def _check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}; got {scheme!r}")
    return scheme


def _check_gamma(gamma) -> float:
    try:
        g = float(gamma)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"gamma must be a non-negative number; got {gamma!r}") from exc
    if not np.isfinite(g) or g < 0:
        raise ValueError(f"gamma must be a finite non-negative number; got {gamma!r}")
    return g


def _check_finite_array(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric; got {type(x).__name__}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def field(theta, psi, loss: str = "saturating", gamma: float = 0.0):
    r"""The gradient vector field :math:`v(\theta, \psi)` of the Dirac-GAN (module docstring).

    Introduced in :doc:`/chapters/04_game_dynamics`.

    .. math::

        v = \bigl(\psi\,\sigma(\pm\psi\theta),\; -\theta\,\sigma(\psi\theta) - \gamma\psi\bigr)

    with :math:`+` for the saturating and :math:`-` for the non-saturating generator loss.

    Args:
        theta: generator parameters (numpy-broadcastable with ``psi``).
        psi: discriminator parameters.
        loss: ``"saturating"`` or ``"non-saturating"``.
        gamma: R1 penalty weight :math:`\gamma \ge 0`.

    Returns:
        ``(v_theta, v_psi)``, numpy arrays of the broadcast shape.
    """
    th = _check_finite_array(theta, "theta")
    ps = _check_finite_array(psi, "psi")
    return _raw_field(th, ps, _check_loss(loss), _check_gamma(gamma))


def _raw_field(th, ps, loss: str, gamma: float):
    t = ps * th
    s = _sigmoid(t)
    v_theta = ps * (s if loss == "saturating" else _sigmoid(-t))
    v_psi = -th * s - gamma * ps
    return v_theta, v_psi


def player_losses(theta, psi, loss: str = "saturating", gamma: float = 0.0):
    r"""The two players' losses as autograd tensors, computed with :mod:`gandemo.losses`.

    Real example :math:`x = 0`, generated example :math:`x = \theta`, logits :math:`a = \psi x`.

    Args:
        theta, psi: 0-dim tensors (with ``requires_grad`` to differentiate) or floats.
        loss: the generator loss, one of :data:`gandemo.losses.CLASSIC`.
        gamma: R1 penalty weight.

    Returns:
        ``(L_D, L_G)``: :func:`gandemo.losses.discriminator_loss` plus
        :math:`\tfrac{\gamma}{2}\psi^2`, and the generator loss ``loss`` of
        :data:`gandemo.losses.LOSSES`.
    """
    loss, gamma = _check_loss(loss), _check_gamma(gamma)
    theta = losses.as_tensor(theta, "theta").reshape(1)
    psi = losses.as_tensor(psi, "psi").reshape(1)
    real_logits = psi * torch.zeros_like(theta)
    fake_logits = psi * theta
    d_loss = losses.discriminator_loss(real_logits, fake_logits) + 0.5 * gamma * psi[0] ** 2
    g_loss = losses.get_loss(loss).g_loss(fake_logits)
    return d_loss, g_loss


def field_autograd(theta: float, psi: float, loss: str = "saturating", gamma: float = 0.0):
    r"""The same field as ``field``, by autograd through ``player_losses``.

    Introduced in :doc:`/chapters/04_game_dynamics`.

    Returns:
        ``(-dL_G/dtheta, -dL_D/dpsi)`` as floats.
    """
    th = torch.tensor(float(theta), dtype=torch.float64, requires_grad=True)
    ps = torch.tensor(float(psi), dtype=torch.float64, requires_grad=True)
    d_loss, g_loss = player_losses(th, ps, loss, gamma)
    (g_theta,) = torch.autograd.grad(g_loss, th, retain_graph=True)
    (g_psi,) = torch.autograd.grad(d_loss, ps)
    return -float(g_theta), -float(g_psi)


def jacobian(theta=0.0, psi=0.0, loss: str = "saturating", gamma: float = 0.0) -> np.ndarray:
    r"""The Jacobian :math:`\partial v / \partial(\theta, \psi)` of ``field`` at one point.

    With :math:`t = \psi\theta`, :math:`s = \sigma(t)`, :math:`s' = s(1 - s)`:

    .. math::

        J^\text{sat} = \begin{pmatrix} \psi^2 s' & s + t s' \\
                                        -s - t s' & -\theta^2 s' - \gamma \end{pmatrix},
        \qquad
        J^\text{ns} = \begin{pmatrix} -\psi^2 s' & 1 - s - t s' \\
                                       -s - t s' & -\theta^2 s' - \gamma \end{pmatrix}.

    At the equilibrium (0, 0) both are :math:`\begin{pmatrix} 0 & 1/2 \\ -1/2 & -\gamma
    \end{pmatrix}`.

    Returns:
        A 2x2 numpy array, rows :math:`(v_\theta, v_\psi)`, columns :math:`(\theta, \psi)`.
    """
    th = float(_check_finite_array(theta, "theta"))
    ps = float(_check_finite_array(psi, "psi"))
    loss, gamma = _check_loss(loss), _check_gamma(gamma)
    t = ps * th
    s = float(_sigmoid(t))
    ds = s * (1 - s)
    bottom = [-s - t * ds, -(th**2) * ds - gamma]
    if loss == "saturating":
        top = [ps**2 * ds, s + t * ds]
    else:
        top = [-(ps**2) * ds, 1 - s - t * ds]
    return np.array([top, bottom])


def eigenvalues(loss: str = "saturating", gamma: float = 0.0) -> np.ndarray:
    r"""Eigenvalues of the Jacobian at the equilibrium (0, 0).

    Introduced in :doc:`/chapters/04_game_dynamics`.

    :math:`\pm i/2` without penalty; :math:`(-\gamma \pm \sqrt{\gamma^2 - 1})/2` with R1 weight
    :math:`\gamma`: negative real part, so gradient flow converges.

    Returns:
        Two complex numbers (numpy array).
    """
    return np.linalg.eigvals(jacobian(0.0, 0.0, loss, gamma)).astype(complex)


def update_matrix(
    scheme: str = "simultaneous", step: float = 0.1, gamma: float = 0.0, loss: str = "saturating"
) -> np.ndarray:
    r"""The linearisation at (0, 0) of one discrete update of both players.

    Introduced in :doc:`/chapters/04_game_dynamics`.

    Simultaneous steps: :math:`M = I + hJ`. Alternating steps (discriminator first, then the
    generator sees the new :math:`\psi`): :math:`M = A_G A_D` with
    :math:`A_D = \begin{pmatrix} 1 & 0 \\ h J_{21} & 1 + h J_{22} \end{pmatrix}`,
    :math:`A_G = \begin{pmatrix} 1 + h J_{11} & h J_{12} \\ 0 & 1 \end{pmatrix}`.
    Without penalty the first has eigenvalues :math:`1 \pm ih/2` of modulus
    :math:`\sqrt{1 + h^2/4} > 1` (the iterates spiral out), the second has determinant 1 and, for
    :math:`h < 4`, eigenvalues on the unit circle (the iterates circle for ever).

    Returns:
        A 2x2 numpy array acting on :math:`(\theta, \psi)`.
    """
    scheme = _check_scheme(scheme)
    h = check_positive(step, "step")
    j = jacobian(0.0, 0.0, loss, gamma)
    if scheme == "simultaneous":
        return np.eye(2) + h * j
    a_d = np.array([[1.0, 0.0], [h * j[1, 0], 1 + h * j[1, 1]]])
    a_g = np.array([[1 + h * j[0, 0], h * j[0, 1]], [0.0, 1.0]])
    return a_g @ a_d


def spectral_radius(
    scheme: str = "simultaneous", step: float = 0.1, gamma: float = 0.0, loss: str = "saturating"
) -> float:
    """Largest eigenvalue modulus of ``update_matrix``: < 1 converges locally, > 1 diverges.

    Introduced in :doc:`/chapters/04_game_dynamics`.
    """
    return float(np.max(np.abs(np.linalg.eigvals(update_matrix(scheme, step, gamma, loss)))))


def trajectory(
    theta0: float = 1.0,
    psi0: float = 1.0,
    loss: str = "saturating",
    scheme: str = "simultaneous",
    step: float = 0.1,
    gamma: float = 0.0,
    steps: int = 200,
) -> np.ndarray:
    r"""Iterate gradient steps on the (nonlinear) Dirac-GAN from :math:`(\theta_0, \psi_0)`.

    Introduced in :doc:`/chapters/04_game_dynamics`.

    Simultaneous: :math:`(\theta, \psi) \leftarrow (\theta, \psi) + h\,v(\theta, \psi)`.
    Alternating: first :math:`\psi \leftarrow \psi + h\,v_\psi(\theta, \psi)`, then
    :math:`\theta \leftarrow \theta + h\,v_\theta(\theta, \psi)` with the new :math:`\psi`.

    Args:
        theta0, psi0: starting point.
        loss: generator loss.
        scheme: ``"simultaneous"`` or ``"alternating"``.
        step: step size :math:`h > 0` (the same for both players).
        gamma: R1 penalty weight.
        steps: number of updates.

    Returns:
        An array of shape ``(steps + 1, 2)``: the iterates :math:`(\theta_k, \psi_k)`.
    """
    th = float(_check_finite_array(theta0, "theta0"))
    ps = float(_check_finite_array(psi0, "psi0"))
    loss, scheme, gamma = _check_loss(loss), _check_scheme(scheme), _check_gamma(gamma)
    h = check_positive(step, "step")
    steps = check_nonnegative_int(steps, "steps")
    out = np.empty((steps + 1, 2))
    out[0] = th, ps
    for k in range(1, steps + 1):
        if scheme == "simultaneous":
            v_th, v_ps = _raw_field(th, ps, loss, gamma)
            th, ps = th + h * v_th, ps + h * v_ps
        else:
            ps = ps + h * _raw_field(th, ps, loss, gamma)[1]
            th = th + h * _raw_field(th, ps, loss, gamma)[0]
        out[k] = th, ps
    return out


def ns_radius_law(scheme: str = "simultaneous", step: float = 0.1, k=1000):
    r"""The distance to (0, 0) that the non-saturating Dirac-GAN reaches, without penalty.

    Introduced in :doc:`/chapters/04_game_dynamics`.

    Near the equilibrium, with :math:`r^2 = \theta^2 + \psi^2` and :math:`t = \psi\theta`, one
    simultaneous step changes :math:`r^2` by
    :math:`2h\,(\theta v_\theta + \psi v_\psi) + h^2 |v|^2
    = -2h\,t \tanh(t/2) + h^2 |v|^2 \approx -h t^2 + h^2 r^2/4`.
    The iterates turn by about :math:`h/2` per step, so :math:`t^2 = r^4 \sin^2(2\phi)/4` averages
    to :math:`r^4/8` over a turn: the inward pull :math:`h r^4/8` balances the outward push
    :math:`h^2 r^2/4` at :math:`r = \sqrt{2h}`, a limit cycle. Alternating steps have no outward
    push at order :math:`h^2` (their linearisation has determinant 1), so
    :math:`r^2_{k+1} - r^2_k \approx -h r_k^4/8`, whence :math:`1/r_k^2 \approx hk/8` and
    :math:`r_k \approx \sqrt{8/(hk)}` for large :math:`k`.

    Args:
        scheme: ``"simultaneous"`` or ``"alternating"``.
        step: step size :math:`h > 0`.
        k: step number(s), positive (used by the alternating law only).

    Returns:
        :math:`\sqrt{2h}` (simultaneous, for every ``k``) or :math:`\sqrt{8/(hk)}` (alternating),
        a float or a numpy array of the shape of ``k``.
    """
    scheme = _check_scheme(scheme)
    h = check_positive(step, "step")
    ks = _check_finite_array(k, "k")
    if np.any(ks <= 0):
        raise ValueError("k must be positive")
    if scheme == "simultaneous":
        out = np.full(ks.shape, math.sqrt(2 * h))
    else:
        out = np.sqrt(8.0 / (h * ks))
    return float(out) if out.ndim == 0 else out
