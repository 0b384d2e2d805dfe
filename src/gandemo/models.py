r"""Small multilayer perceptrons for the generator and the discriminator.

Both networks are plain MLPs with ``depth`` hidden layers of ``width`` units and LeakyReLU(0.2)
activations; the book's toy problems (1-D and 2-D targets) need nothing bigger. The
discriminator returns *logits* :math:`a(x)`, never probabilities: :math:`D(x) = \sigma(a(x))` and
every loss in :mod:`gandemo.losses` is computed from :math:`a` in logit space.

Construction is seeded: ``Generator(..., seed=3)`` twice gives bitwise identical weights (same
device, thread count and versions), without touching the global random stream.

Introduced in chapter 4; the training engine of later chapters builds on the same classes.
"""

from __future__ import annotations

import torch
from torch import nn

from .utils import check_nonnegative_int, check_positive, check_positive_int

__all__ = ["Discriminator", "Generator", "count_parameters", "mlp"]


def mlp(
    in_dim: int,
    out_dim: int,
    width: int,
    depth: int,
    slope: float = 0.2,
    output: str = "linear",
) -> nn.Sequential:
    """A multilayer perceptron with ``depth`` hidden layers of ``width`` LeakyReLU units.

    Args:
        in_dim: input features.
        out_dim: output features.
        width: units per hidden layer.
        depth: number of hidden layers (>= 1).
        slope: negative slope of the LeakyReLU.
        output: ``"linear"`` (no final activation) or ``"tanh"`` (outputs in (-1, 1), for
            images scaled to [-1, 1]).

    Returns:
        The network as an :class:`torch.nn.Sequential`.
    """
    in_dim = check_positive_int(in_dim, "in_dim")
    out_dim = check_positive_int(out_dim, "out_dim")
    width = check_positive_int(width, "width")
    depth = check_positive_int(depth, "depth")
    slope = check_positive(slope, "slope") if slope != 0 else 0.0
    layers: list[nn.Module] = []
    features = in_dim
    for _ in range(depth):
        layers += [nn.Linear(features, width), nn.LeakyReLU(slope)]
        features = width
    layers.append(nn.Linear(features, out_dim))
    if output == "tanh":
        layers.append(nn.Tanh())
    elif output != "linear":
        raise ValueError(f"output must be 'linear' or 'tanh'; got {output!r}")
    return nn.Sequential(*layers)


def _build_seeded(build, seed: int | None):
    if seed is None:
        return build()
    seed = check_nonnegative_int(seed, "seed")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class Generator(nn.Module):
    r"""The generator :math:`G_\theta`, mapping a latent code to an example.

    The latent prior is the standard normal :math:`p_z = \mathcal N(0, I)`.

    Args:
        latent_dim: dimension of :math:`z`.
        out_dim: dimension of a generated example.
        width: units per hidden layer.
        depth: number of hidden layers (>= 1).
        seed: seeds the initial weights (default: draw from the global stream).
        output: the last activation, ``"linear"`` or ``"tanh"``.
        slope: negative slope of the hidden LeakyReLUs (0: ReLU).

    Example:
        >>> g = Generator(latent_dim=2, out_dim=1, width=16, depth=2, seed=0)
        >>> g.sample(5, torch.Generator().manual_seed(0)).shape
        torch.Size([5, 1])
    """

    def __init__(
        self,
        latent_dim: int,
        out_dim: int,
        width: int = 32,
        depth: int = 2,
        seed: int | None = None,
        output: str = "linear",
        slope: float = 0.2,
    ) -> None:
        super().__init__()
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.out_dim = check_positive_int(out_dim, "out_dim")
        self.output = output
        self.net = _build_seeded(
            lambda: mlp(latent_dim, out_dim, width, depth, slope=slope, output=output), seed
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map latent codes of shape ``(n, latent_dim)`` to examples of shape ``(n, out_dim)``."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (n, {self.latent_dim}); got {tuple(z.shape)}")
        return self.net(z)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` latent codes from :math:`\\mathcal N(0, I)` on the generator's device."""
        n = check_positive_int(n, "n")
        device = next(self.parameters()).device
        if generator is not None and generator.device != device:
            raise ValueError(f"generator lives on {generator.device}, the model on {device}")
        return torch.randn(n, self.latent_dim, generator=generator, device=device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` generated examples, shape ``(n, out_dim)`` (with autograd, if enabled)."""
        return self(self.sample_latent(n, generator))


class Discriminator(nn.Module):
    r"""The discriminator's logit :math:`a_\psi: \mathbb R^{\text{in\_dim}} \to \mathbb R`.

    :math:`D(x) = \sigma(a_\psi(x))` is the probability that :math:`x` is real; the module
    returns the logit, so that losses stay finite however confident it gets.

    Args:
        in_dim: dimension of an example.
        width: units per hidden layer.
        depth: number of hidden layers (>= 1).
        seed: seeds the initial weights (default: draw from the global stream).
        slope: negative slope of the hidden LeakyReLUs (0: ReLU).
    """

    def __init__(
        self,
        in_dim: int,
        width: int = 32,
        depth: int = 2,
        seed: int | None = None,
        slope: float = 0.2,
    ):
        super().__init__()
        self.in_dim = check_positive_int(in_dim, "in_dim")
        self.net = _build_seeded(lambda: mlp(in_dim, 1, width, depth, slope=slope), seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(n,)`` for examples of shape ``(n, in_dim)`` (or ``(n,)`` if 1-D)."""
        if x.dim() == 1 and self.in_dim == 1:
            x = x.unsqueeze(1)
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"x must have shape (n, {self.in_dim}); got {tuple(x.shape)}")
        return self.net(x).squeeze(1)

    def prob(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`D(x) = \\sigma(a(x))`, for plots; losses should use the logits."""
        return torch.sigmoid(self(x))
