"""The update steps of one training step: what chapters 1 and 7 show.

Each function updates one player (or, for the simultaneous scheme, both) of all the models
of a :class:`~gandemo.training.Trainer` at once, given their minibatches; :class:`ModelLosses`
gives each model its own loss.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .. import losses
from ..models import MLPStack

#: The losses the engine knows by name (the registry :data:`gandemo.losses.LOSSES`).
LOSSES = losses.LOSSES


class ModelLosses:
    r"""The losses of :math:`E` models side by side: model :math:`e` uses ``names[e]``.

    ``d`` and ``g`` take logits of shape ``(E, m)`` and return one loss per model, ``(E,)``;
    consecutive models with the same loss are computed by one call of it, unchecked
    (``check=False``: no host sync in the training loop).
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.specs = [losses.get_loss(n) for n in self.names]
        self.groups: list[tuple[losses.GANLoss, slice]] = []
        start = 0
        for i in range(1, len(self.names) + 1):
            if i == len(self.names) or self.names[i] != self.names[start]:
                self.groups.append((self.specs[start], slice(start, i)))
                start = i
        self.penalized = any(spec.penalty_weight for spec in self.specs)

    def d(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """The discriminators' losses, ``(E,)``."""
        if len(self.groups) == 1:
            return self.specs[0].d_loss(real_logits, fake_logits, check=False)
        parts = [
            spec.d_loss(real_logits[sl], fake_logits[sl], check=False) for spec, sl in self.groups
        ]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def g(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """The generators' losses, ``(E,)``."""
        if len(self.groups) == 1:
            return self.specs[0].g_loss(fake_logits, check=False)
        parts = [spec.g_loss(fake_logits[sl], check=False) for spec, sl in self.groups]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def penalty(self, disc: MLPStack, real, fake, u, mask=None) -> torch.Tensor:
        r""":math:`\lambda_e P_e` per model (0 for a loss without a gradient penalty), its
        gradient (times ``mask``) added to ``disc.flat.grad``
        (:meth:`~gandemo.models.MLPStack.penalty_into`)."""
        parts = []
        for spec, sl in self.groups:
            n = sl.stop - sl.start
            if not spec.penalty_weight:
                parts.append(real.new_zeros(n))
                continue
            x_hat = real[sl] + u[sl] * (fake[sl] - real[sl])  # as losses.gradient_penalty
            scale = real.new_full((n,), spec.penalty_weight)
            if mask is not None:
                scale = scale * mask[sl]
            pen = disc.penalty_into(x_hat, sl, scale)
            parts.append(spec.penalty_weight * pen)
        return parts[0] if len(parts) == 1 else torch.cat(parts)


def _logit_grads(logits: torch.Tensor, *losses_of: Callable, mask=None):
    """Each loss of the ``(E, n)`` logits (a function of them returning ``(E,)``), and the
    gradient of its sum over the models (masked) with respect to the logits: a small graph of
    the loss alone, not of the networks."""
    a = logits.detach().requires_grad_(True)
    values, grads = [], []
    with torch.enable_grad():
        for fn in losses_of:
            value = fn(a)
            total = value.sum() if mask is None else (value * mask).sum()
            (grad,) = torch.autograd.grad(total, a)
            values.append(value.detach())
            grads.append(grad.unsqueeze(-1))  # the networks' output is (E, n, 1)
    return values, grads


def discriminator_update(G, D, opt_d, loss: ModelLosses, real, z, u=None, mask=None):
    """One update of the discriminator(s) against the generator(s), held fixed.

    ``real`` is ``(E, m, dim)``, ``z`` is ``(E, m, latent_dim)``; ``u`` are the mixing
    weights of a gradient penalty; ``mask`` (``(E,)``, 1 or 0) leaves stopped models alone.
    Returns the per-model losses and the ``(E, 2m)`` logits, detached.

    The gradient is back-propagated by hand through the discriminator
    (:meth:`~gandemo.models.MLPStack.backward_into`, and
    :meth:`~gandemo.models.MLPStack.penalty_into` for a gradient penalty); only the loss of the
    logits goes through autograd.
    """
    m = real.shape[1]
    with torch.no_grad():
        fake = G(z)  # the generator's examples: inputs for D, no gradient into G
    out, saved = D.forward_saved(torch.cat([real, fake], dim=1))  # real ones first, then fakes
    logits = out[..., 0]
    (d_loss,), (grad,) = _logit_grads(logits, lambda a: loss.d(a[:, :m], a[:, m:]), mask=mask)
    D.zero_grad()
    if u is not None:
        d_loss = d_loss + loss.penalty(D, real, fake, u, mask)  # its gradient too
    D.backward_into(saved, grad)  # model e gets the gradient of its own loss only
    opt_d.step()
    return d_loss, logits


def generator_update(G, D, opt_g, loss: ModelLosses, z, mask=None):
    """One update of the generator(s) through the discriminator(s), held fixed.

    Returns the per-model losses and the ``(E, m)`` logits of the fakes, detached.
    """
    fake, saved_g = G.forward_saved(z)
    out, saved_d = D.forward_saved(fake)
    fake_logits = out[..., 0]
    (g_loss,), (grad,) = _logit_grads(fake_logits, loss.g, mask=mask)
    G.zero_grad()
    grad_fake = D.backward_into(saved_d, grad, weights=False, inputs=True)  # D's weights: none
    G.backward_into(saved_g, grad_fake)
    opt_g.step()
    return g_loss, fake_logits


def simultaneous_update(G, D, opt_g, opt_d, loss: ModelLosses, real, z, u=None, mask=None):
    """Both players' gradients at the same point, then one update of each.

    Returns the per-model discriminator and generator losses and the ``(E, 2m)`` logits.
    """
    m = real.shape[1]
    fake, saved_g = G.forward_saved(z)
    out, saved_d = D.forward_saved(torch.cat([real, fake], dim=1))
    logits = out[..., 0]
    (d_loss, g_loss), (d_grad, g_grad) = _logit_grads(
        logits, lambda a: loss.d(a[:, :m], a[:, m:]), lambda a: loss.g(a[:, m:]), mask=mask
    )
    D.zero_grad()
    G.zero_grad()
    if u is not None:
        d_loss = d_loss + loss.penalty(D, real, fake, u, mask)  # its gradient too
    D.backward_into(saved_d, d_grad)
    grad_x = D.backward_into(saved_d, g_grad, weights=False, inputs=True)
    G.backward_into(saved_g, grad_x[:, m:])
    opt_d.step()
    opt_g.step()
    return d_loss, g_loss, logits
