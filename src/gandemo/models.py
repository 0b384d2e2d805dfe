r"""Small multilayer perceptrons for the generator and the discriminator.

Both networks are plain MLPs with ``depth`` hidden layers of ``width`` units and LeakyReLU(0.2)
activations; the book's toy problems (1-D and 2-D targets) need nothing bigger. The
discriminator returns *logits* :math:`a(x)`, never probabilities: :math:`D(x) = \sigma(a(x))` and
every loss in :mod:`gandemo.losses` is computed from :math:`a` in logit space.

Construction is seeded: ``Generator(..., seed=3)`` twice gives bitwise identical weights (same
device, thread count and versions), without touching the global random stream.

Introduced in chapter 5; the training engine of later chapters builds on the same classes.
"""

from __future__ import annotations

import torch
from torch import nn

from .utils import check_nonnegative_int, check_positive, check_positive_int

__all__ = ["Discriminator", "Generator", "MLPStack", "count_parameters", "mlp"]


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

    Introduced in :doc:`/chapters/06_total_loss`.

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

    Introduced in :doc:`/chapters/06_total_loss`.

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


def _mlp_layers(net: nn.Module, name: str) -> tuple[list[nn.Linear], float, bool]:
    """The Linear layers, the hidden slope and whether a final tanh follows, of an MLP built by
    :func:`mlp` (or any ``Sequential`` of Linear and LeakyReLU/ReLU layers, with an optional
    final Tanh); a ValueError naming ``name`` for anything else."""
    seq = getattr(net, "net", net)
    if not isinstance(seq, nn.Sequential):
        raise ValueError(f"{name} must be an MLP (gandemo.models.mlp or a Generator/Discriminator)")
    layers = list(seq)
    tanh = bool(layers) and isinstance(layers[-1], nn.Tanh)
    if tanh:
        layers = layers[:-1]
    linears = layers[0::2]
    acts = layers[1::2]
    slopes = set()
    for a in acts:
        if isinstance(a, nn.LeakyReLU):
            slopes.add(float(a.negative_slope))
        elif isinstance(a, nn.ReLU):
            slopes.add(0.0)
        else:
            slopes = {None}
    ok = (
        len(linears) == len(acts) + 1
        and all(type(lin) is nn.Linear and lin.bias is not None for lin in linears)
        and len(slopes) <= 1
        and None not in slopes
    )
    if not ok:
        raise ValueError(
            f"{name} must alternate Linear and LeakyReLU/ReLU layers (one slope), ending in a "
            f"Linear layer and optionally a Tanh; got {seq}"
        )
    return linears, (slopes.pop() if slopes else 0.2), tanh


class MLPStack(nn.Module):
    r""":math:`E` multilayer perceptrons of the same shape as one module.

    All weights and biases of model :math:`e` live in row :math:`e` of one parameter,
    :attr:`flat`, of shape ``(E, P)``; layer :math:`l` of every model is a view of it, an
    ``(E, in, out)`` weight and an ``(E, 1, out)`` bias, and the forward pass is one
    :func:`torch.baddbmm` per layer for all models at once. Model :math:`e` computes exactly
    what the MLP it was built from computes, and never sees another model's inputs or weights.
    One flat parameter per player makes the optimiser step, the gradient norms, the moving
    average and the finiteness checks one tensor operation each.

    Args:
        nets: the MLPs, one per model (:func:`mlp`, or the ``Generator``/``Discriminator``
            holding one), all of one shape; their weights are copied.

    Example:
        >>> g = [Generator(2, 2, width=8, depth=1, seed=s) for s in (0, 1)]
        >>> stack = MLPStack(g)
        >>> stack(torch.zeros(2, 5, 2)).shape  # (models, examples, features)
        torch.Size([2, 5, 2])
    """

    def __init__(self, nets) -> None:
        super().__init__()
        nets = list(nets)
        if not nets:
            raise ValueError("nets must hold at least one MLP")
        parsed = [_mlp_layers(n, f"nets[{i}]") for i, n in enumerate(nets)]
        linears, self.slope, self.tanh = parsed[0]
        self.sizes = [(lin.in_features, lin.out_features) for lin in linears]
        for i, (lins, slope, tanh) in enumerate(parsed):
            sizes = [(lin.in_features, lin.out_features) for lin in lins]
            if sizes != self.sizes or slope != self.slope or tanh != self.tanh:
                raise ValueError(f"nets[{i}] differs in shape from nets[0]")
        rows = []
        for lins, _, _ in parsed:
            parts = []
            for lin in lins:
                parts += [lin.weight.detach().T.reshape(-1), lin.bias.detach().reshape(-1)]
            rows.append(torch.cat(parts).float())
        self._offsets = []
        off = 0
        for i, o in self.sizes:
            self._offsets.append(off)
            off += i * o + o
        #: every weight of every model, one row per model
        self.flat = nn.Parameter(torch.stack(rows).to(linears[0].weight.device))
        self._bind()

    def _bind(self) -> None:
        """Give :attr:`flat` a gradient buffer, and build the layers' weights as leaf tensors
        that share storage with it (and whose gradients are views of that buffer): autograd
        then accumulates every layer's gradient straight into ``flat.grad``."""
        if self.flat.grad is None or self.flat.grad.shape != self.flat.shape:
            self.flat.grad = torch.zeros_like(self.flat)
        self._grad = self.flat.grad
        leaves = []
        for (w, b), (gw, gb) in zip(
            self.layers(self.flat.detach()), self.layers(self._grad), strict=True
        ):
            w, b = w.requires_grad_(True), b.requires_grad_(True)
            w.grad, b.grad = gw, gb
            leaves.append((w, b))
        self._leaves = leaves
        self._grads = [(w.grad, b.grad) for w, b in leaves]  # views of flat.grad, per layer
        self._weights = [t for pair in leaves for t in pair] + [self.flat]

    def weights(self) -> list[torch.Tensor]:
        """The layers' weights and biases as the leaf tensors the forward pass uses (what to
        pass as ``inputs`` to ``backward``; their gradients land in ``flat.grad``)."""
        return self._weights

    def _apply(self, fn, recurse=True):
        out = super()._apply(fn, recurse)
        self._bind()  # the storage moved (e.g. .to(device)): share the new one
        return out

    def zero_grad(self, set_to_none: bool = False) -> None:
        """Zero :attr:`flat`'s gradient buffer in place (the layers' gradients are views of it;
        ``set_to_none`` is accepted for ``nn.Module`` compatibility and ignored)."""
        if self.flat.grad is not self._grad:
            self.flat.grad = self._grad
        self._grad.zero_()

    @property
    def n_models(self) -> int:
        return self.flat.shape[0]

    @property
    def in_dim(self) -> int:
        return self.sizes[0][0]

    @property
    def out_dim(self) -> int:
        return self.sizes[-1][1]

    def layers(self, flat: torch.Tensor | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(weight, bias)`` views of ``flat`` (default :attr:`flat`) for every layer."""
        flat = self.flat if flat is None else flat
        out = []
        for (i, o), off in zip(self.sizes, self._offsets, strict=True):
            w = flat[:, off : off + i * o].view(-1, i, o)
            b = flat[:, off + i * o : off + i * o + o].view(-1, 1, o)
            out.append((w, b))
        return out

    def forward(self, x: torch.Tensor, flat: torch.Tensor | None = None) -> torch.Tensor:
        """Map ``(E, n, in)`` inputs to ``(E, n, out)`` outputs, model :math:`e` on ``x[e]``.

        ``flat`` replaces the weights (e.g. a moving average, or rows of a subset of models).
        """
        if x.dim() != 3 or x.shape[-1] != self.in_dim:
            raise ValueError(f"x must have shape (models, n, {self.in_dim}); got {tuple(x.shape)}")
        layers = self._leaves if flat is None else self.layers(flat)
        for k, (w, b) in enumerate(layers):
            x = torch.baddbmm(b, x, w)
            if k < len(layers) - 1:
                x = nn.functional.leaky_relu(x, self.slope) if self.slope else torch.relu(x)
        return torch.tanh(x) if self.tanh else x

    def forward_saved(self, x: torch.Tensor) -> tuple[torch.Tensor, list]:
        r"""The forward pass without autograd, keeping what :meth:`backward_into` needs.

        The update steps of :mod:`gandemo.training` differentiate the networks by hand: a layer
        :math:`y = x W + b` followed by a ReLU needs only its input :math:`x` and the mask of
        its positive outputs, so the step keeps those instead of an autograd graph.

        Returns:
            ``(output, saved)``: the output, as :meth:`forward` computes it, and the saved
            tensors to pass to :meth:`backward_into`.
        """
        if x.dim() != 3 or x.shape[-1] != self.in_dim:
            raise ValueError(f"x must have shape (models, n, {self.in_dim}); got {tuple(x.shape)}")
        layers = self._leaves  # views of flat (no graph is recorded below)
        saved: list = []
        with torch.no_grad():
            for k, (w, b) in enumerate(layers):
                saved.append(x)  # the layer's input: its weight gradient is x^T dy
                x = torch.baddbmm(b, x, w)
                if k < len(layers) - 1:
                    if self.slope:
                        saved.append(x)  # LeakyReLU's gradient needs its input
                        x = nn.functional.leaky_relu(x, self.slope)
                    else:
                        x = torch.relu(x)  # ReLU's gradient needs only its output: next input
            if self.tanh:
                pre = x.detach().requires_grad_(True)
                with torch.enable_grad():
                    x = torch.tanh(pre)
                saved.append((pre, x))
                x = x.detach()
        return x, saved

    def backward_into(
        self, saved: list, grad: torch.Tensor, *, weights: bool = True, inputs: bool = False
    ) -> torch.Tensor | None:
        r"""Back-propagate ``grad``, the gradient of a loss with respect to the output of
        :meth:`forward_saved`, by hand.

        With ``weights``, each layer's weight and bias gradients are *added* to
        ``flat.grad`` (:math:`\partial L/\partial W = x^	op \delta`, :math:`\partial L /
        \partial b = \sum_n \delta`, with :math:`\delta` the gradient at the layer's output);
        with ``inputs``, the gradient with respect to the input is returned. These are the
        products autograd computes for :func:`torch.baddbmm` and the activations, in the same
        order, so the gradients are the same to the bit (tested), without the graph.
        """
        saved = list(saved)
        if self.flat.grad is not self._grad:  # the buffer was replaced: share the new one
            self._bind()
        layers, grads = self._leaves, self._grads
        dy, after = grad, None  # after: the input of layer k + 1, the ReLU's output
        with torch.no_grad():
            if self.tanh:
                pre, out = saved.pop()
                with torch.enable_grad():
                    (dy,) = torch.autograd.grad(out, pre, dy, retain_graph=True)
            for k in range(len(layers) - 1, -1, -1):
                if k < len(layers) - 1:  # through the activation after layer k
                    # the activation's slope, 1 or `slope`, as a factor: sign() and products
                    # are fast kernels, where the selections of bool masks are ten times slower
                    if self.slope:  # LeakyReLU: 1 where its input is > 0, else the slope
                        factor = saved.pop().sign().clamp_(min=0)
                        dy = dy * factor.mul_(1 - self.slope).add_(self.slope)
                    else:  # ReLU: 1 where its output is > 0, else 0
                        dy = dy.mul_(after.sign())
                x = after = saved.pop()
                w, _ = layers[k]
                if weights:
                    gw, gb = grads[k]
                    gw.add_(torch.bmm(x.transpose(1, 2), dy))
                    gb.add_(dy.sum(1, keepdim=True))
                if k > 0 or inputs:
                    dy = torch.bmm(dy, w.transpose(1, 2))
        return dy if inputs else None

    def penalty_into(
        self, x: torch.Tensor, rows: slice = slice(None), scale: torch.Tensor | None = None
    ) -> torch.Tensor:
        r"""The gradient penalty of WGAN-GP at the points ``x``, with its gradient by hand.

        For the models ``rows`` (a slice of the stack), with :math:`g_i = \nabla_x a(x_i)`
        the critic's input gradient at the ``(rows, m, in_dim)`` points ``x``,
        :math:`P = \frac1m \sum_i (\lVert g_i \rVert - 1)^2` per model, as
        :func:`gandemo.losses.gradient_penalty` computes it by double back-propagation.
        Between the kinks of its activations the network is linear in :math:`x`, so
        :math:`g_i = W_1 S_1 W_2 \cdots S_{L-1} W_L` (:math:`S_l` the activations' slopes at
        :math:`x_i`), and :math:`P` depends on each weight matrix through this product alone
        (not on the biases): one pass back through the layers gives :math:`g`, one pass
        forwards gives :math:`\partial P / \partial W_l`, added to ``flat.grad`` times
        ``scale`` (one factor per model, e.g. :math:`\lambda` and a mask).

        Returns:
            :math:`P`, one value per model of ``rows``.
        """
        if self.tanh or self.out_dim != 1:
            raise ValueError("the gradient penalty needs a critic: one linear output")
        if self.flat.grad is not self._grad:
            self._bind()
        layers = [(w[rows], b[rows]) for w, b in self._leaves]
        grads = [(gw[rows], gb[rows]) for gw, gb in self._grads]
        n_layers, m = len(layers), x.shape[1]
        with torch.no_grad():
            slopes, h = [], x
            for w, b in layers[:-1]:  # forward: each hidden activation's slope, 1 or `slope`
                pre = torch.baddbmm(b, h, w)
                if self.slope:
                    f = pre.sign().clamp_(min=0).mul_(1 - self.slope).add_(self.slope)
                    h = pre * f
                else:
                    h = torch.relu(pre)
                    f = h.sign()
                slopes.append(f)
            delta = x.new_ones(x.shape[0], m, 1)  # d a / d (the last layer's output)
            deltas = [delta]
            for k in range(n_layers - 1, 0, -1):  # back: delta at each layer's output
                delta = torch.bmm(delta, layers[k][0].transpose(1, 2)).mul_(slopes[k - 1])
                deltas.insert(0, delta)
            g = torch.bmm(delta, layers[0][0].transpose(1, 2))  # (rows, m, in_dim)
            norm = torch.linalg.vector_norm(g, dim=-1)
            penalty = (norm - 1).square().mean(-1)
            coef = 2 * (norm - 1) / norm.clamp(min=1e-12) / m  # d P / d |g_i|, over |g_i|
            if scale is not None:
                coef = coef * scale[:, None]
            rho = g * coef[..., None]  # d P / d g, then d P / d (each layer's input)
            for k, ((w, _), (gw, _)) in enumerate(zip(layers, grads, strict=True)):
                gw.add_(torch.bmm(rho.transpose(1, 2), deltas[k]))
                if k < n_layers - 1:
                    rho = torch.bmm(rho, w).mul_(slopes[k])
        return penalty

    def net(self, e: int, flat: torch.Tensor | None = None) -> nn.Sequential:
        """A copy of model ``e`` as a plain ``nn.Sequential`` (on the CPU)."""
        layers: list[nn.Module] = []
        views = self.layers(flat)
        for k, (w, b) in enumerate(views):
            lin = nn.Linear(w.shape[1], w.shape[2])
            with torch.no_grad():
                lin.weight.copy_(w[e].T)
                lin.bias.copy_(b[e, 0])
            layers.append(lin)
            if k < len(views) - 1:
                layers.append(nn.LeakyReLU(self.slope) if self.slope else nn.ReLU())
        if self.tanh:
            layers.append(nn.Tanh())
        return nn.Sequential(*layers)
