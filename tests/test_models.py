"""Tests of gandemo.models: shapes, seeding, logits and bad input."""

from __future__ import annotations

import pytest
import torch

from gandemo import models


def test_shapes_and_depth():
    g = models.Generator(latent_dim=3, out_dim=2, width=16, depth=3, seed=0)
    d = models.Discriminator(in_dim=2, width=8, depth=1, seed=0)
    x = g.sample(5, torch.Generator().manual_seed(0))
    assert x.shape == (5, 2)
    assert d(x).shape == (5,)
    linears = [m for m in g.net if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 4  # 3 hidden layers and the output layer
    assert [m.out_features for m in linears] == [16, 16, 16, 2]


def test_one_dimensional_discriminator_accepts_flat_input():
    d = models.Discriminator(in_dim=1, width=8, depth=2, seed=0)
    x = torch.linspace(-1, 1, 7)
    assert torch.equal(d(x), d(x.unsqueeze(1)))


def test_discriminator_returns_logits_not_probabilities():
    d = models.Discriminator(in_dim=1, width=8, depth=1, seed=0)
    with torch.no_grad():
        d.net[-1].bias.fill_(30.0)  # far outside [0, 1]
    with torch.no_grad():
        logits = d(torch.zeros(4))
    assert float(logits.min()) > 1.0
    assert (
        abs(float(d.prob(torch.zeros(4)).detach().mean()) - float(torch.sigmoid(logits).mean()))
        < 1e-7
    )


def test_seeded_construction_is_reproducible_and_leaves_global_stream_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = models.Generator(2, 1, 8, 2, seed=5)
    after = torch.rand(1)
    assert torch.equal(before, after)  # the global stream did not move
    b = models.Generator(2, 1, 8, 2, seed=5)
    c = models.Generator(2, 1, 8, 2, seed=6)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert any(
        not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True)
    )


def test_count_parameters():
    g = models.Generator(2, 1, 4, 1, seed=0)
    assert models.count_parameters(g) == (2 * 4 + 4) + (4 * 1 + 1)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(latent_dim=0, out_dim=1), "latent_dim"),
        (dict(latent_dim=2, out_dim=1.5), "out_dim"),
        (dict(latent_dim=2, out_dim=1, width=0), "width"),
        (dict(latent_dim=2, out_dim=1, depth=0), "depth"),
        (dict(latent_dim=2, out_dim=1, seed=-1), "seed"),
    ],
)
def test_generator_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        models.Generator(**kwargs)


def test_bad_inputs_name_the_argument():
    g = models.Generator(2, 1, 4, 1, seed=0)
    d = models.Discriminator(3, 4, 1, seed=0)
    with pytest.raises(ValueError, match="z must have shape"):
        g(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="x must have shape"):
        d(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="n must"):
        g.sample(0)
    with pytest.raises(ValueError, match="in_dim"):
        models.Discriminator(0)


# ---------------------------------------------------------------------------------------------
# MLPStack: E networks as one module
# ---------------------------------------------------------------------------------------------


def generators(n=3, **kw):
    return [models.Generator(3, 2, 8, 2, seed=s, **kw) for s in range(n)]


def flat_row(net):
    """A network's weights in MLPStack's layout: per layer the weight transposed, then the bias."""
    parts = []
    for lin in [m for m in net.modules() if isinstance(m, torch.nn.Linear)]:
        parts += [lin.weight.detach().T.reshape(-1), lin.bias.detach()]
    return torch.cat(parts)


STACK_KINDS = [
    ("g", {}),
    ("g", dict(output="tanh")),
    ("g", dict(slope=0.0)),
    ("d", {}),
    ("d", dict(slope=0.0)),
]


def nets_and_input(kind: str, kw: dict, seed: int):
    """Three generators ("g") or discriminators ("d") of one shape, and a (3, 11, in) input."""
    if kind == "g":
        nets, width = generators(**kw), 3
    else:
        nets, width = [models.Discriminator(2, 8, 3, seed=s, **kw) for s in range(3)], 2
    return nets, torch.randn(3, 11, width, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("kind, kw", STACK_KINDS)
def test_mlpstack_computes_what_each_network_computes(kind, kw):
    nets, x = nets_and_input(kind, kw, seed=0)
    stack = models.MLPStack(nets)
    assert stack.n_models == 3 and stack.in_dim == x.shape[-1]
    assert stack.out_dim == (2 if kind == "g" else 1)
    assert stack.tanh == (kw.get("output") == "tanh") and stack.slope == kw.get("slope", 0.2)
    with torch.no_grad():
        out = stack(x)
        assert out.shape == (3, 11, stack.out_dim)
        for e, net in enumerate(nets):
            want = net(x[e]).reshape(11, -1)
            torch.testing.assert_close(out[e], want, atol=1e-6, rtol=1e-6)
    if kw.get("output") == "tanh":
        with torch.no_grad():
            assert float(stack(100 * x).abs().max()) <= 1.0


def test_mlpstack_flat_layout_and_views():
    nets = generators()
    stack = models.MLPStack(nets)
    assert stack.flat.shape == (3, models.count_parameters(nets[0]))
    assert stack.sizes == [(3, 8), (8, 8), (8, 2)]
    for e, net in enumerate(nets):
        assert torch.equal(stack.flat[e], flat_row(net))
    layers = stack.layers()
    assert [tuple(w.shape) for w, _ in layers] == [(3, 3, 8), (3, 8, 8), (3, 8, 2)]
    assert [tuple(b.shape) for _, b in layers] == [(3, 1, 8), (3, 1, 8), (3, 1, 2)]
    lin0 = nets[1].net[0]
    assert torch.equal(layers[0][0][1], lin0.weight.detach().T)
    assert torch.equal(layers[0][1][1, 0], lin0.bias.detach())
    with torch.no_grad():  # the views share the flat storage
        stack.flat[1, 0] = 42.0
    assert stack.layers()[0][0][1, 0, 0] == 42.0 and stack.weights()[0][1, 0, 0] == 42.0


def test_mlpstack_copies_the_weights_it_is_built_from():
    nets = generators()
    stack = models.MLPStack(nets)
    before = stack.flat.detach().clone()
    with torch.no_grad():
        nets[0].net[0].weight.add_(1.0)
    assert torch.equal(stack.flat, before)
    with torch.no_grad():
        stack.flat.add_(1.0)
    assert torch.equal(flat_row(nets[1]), before[1])


def test_mlpstack_gradients_are_each_networks_own_and_land_in_flat():
    nets = [models.Discriminator(2, 8, 2, seed=s) for s in range(3)]
    stack = models.MLPStack(nets)
    x = torch.randn(3, 16, 2, generator=torch.Generator().manual_seed(2))
    weights = torch.tensor([1.0, -2.0, 0.5])
    out = stack(x)[..., 0]
    per_model = (weights[:, None] * out.square()).mean(1)  # a different loss per model
    stack.zero_grad()
    per_model.sum().backward(inputs=stack.weights())
    for e, net in enumerate(nets):
        loss = (weights[e] * net(x[e]).square()).mean()
        grads = torch.autograd.grad(loss, list(net.parameters()))
        parts = []
        for lin, (gw, gb) in zip(
            net.net[0::2], zip(grads[0::2], grads[1::2], strict=True), strict=True
        ):
            assert isinstance(lin, torch.nn.Linear)
            parts += [gw.T.reshape(-1), gb]
        torch.testing.assert_close(stack.flat.grad[e], torch.cat(parts), atol=1e-6, rtol=1e-5)
    # model 0's output does not depend on the other rows at all
    (g,) = torch.autograd.grad(stack(x, stack.flat)[0].sum(), stack.flat)
    assert torch.count_nonzero(g[1:]) == 0 and torch.count_nonzero(g[0]) > 0
    stack.zero_grad()
    stack(x)[0].sum().backward(inputs=stack.weights())
    torch.testing.assert_close(stack.flat.grad, g, atol=1e-6, rtol=1e-6)
    # zero_grad zeroes the same buffer in place
    buffer = stack.flat.grad
    stack.zero_grad()
    assert stack.flat.grad is buffer and torch.count_nonzero(buffer) == 0


def test_mlpstack_models_never_see_each_other():
    stack = models.MLPStack(generators())
    x = torch.randn(3, 20, 3, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        before = stack(x)
        x2 = x.clone()
        x2[1] += 5.0
        stack.flat[1] += 1.0
        after = stack(x2)
    assert torch.equal(before[0], after[0]) and torch.equal(before[2], after[2])
    assert not torch.allclose(before[1], after[1])


def test_mlpstack_rows_and_other_weights():
    nets = generators()
    stack = models.MLPStack(nets)
    x = torch.randn(3, 9, 3, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        full = stack(x)
        part = stack(x[1:], stack.flat[1:])
        torch.testing.assert_close(part, full[1:], atol=1e-6, rtol=1e-6)
        other = stack(x, torch.zeros_like(stack.flat))
    assert torch.count_nonzero(other) == 0


def test_mlpstack_net_round_trip():
    for kw in (dict(output="tanh"), dict(slope=0.0), {}):
        nets = generators(**kw)
        stack = models.MLPStack(nets)
        x = torch.randn(7, 3)
        for e in range(3):
            seq = stack.net(e)
            assert isinstance(seq, torch.nn.Sequential)
            assert [type(m) for m in seq] == [type(m) for m in nets[e].net] or kw.get("slope") == 0
            with torch.no_grad():
                torch.testing.assert_close(seq(x), nets[e](x), atol=1e-6, rtol=1e-6)
            assert torch.equal(models.MLPStack([seq]).flat[0], stack.flat[e])
        if kw.get("slope") == 0:
            assert isinstance(stack.net(0)[1], torch.nn.ReLU)
        if kw.get("output") == "tanh":
            assert isinstance(stack.net(0)[-1], torch.nn.Tanh)


def test_mlpstack_accepts_plain_sequentials_and_moves_with_to():
    seqs = [
        torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
        for _ in range(2)
    ]
    stack = models.MLPStack(seqs)
    assert stack.slope == 0.0 and not stack.tanh and stack.sizes == [(2, 4), (4, 1)]
    stack = stack.double()  # the layers follow the moved storage
    assert stack.flat.dtype == torch.float64 and stack.flat.grad.dtype == torch.float64
    x = torch.randn(2, 5, 2, dtype=torch.float64)
    stack.zero_grad()
    stack(x).sum().backward(inputs=stack.weights())
    assert torch.count_nonzero(stack.flat.grad) > 0
    for w in stack.weights()[:-1]:
        assert w.dtype == torch.float64


def test_mlpstack_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        models.MLPStack([])
    with pytest.raises(ValueError, match=r"nets\[1\]"):
        models.MLPStack([models.Generator(2, 2, 8, 2), models.Generator(2, 2, 16, 2)])
    with pytest.raises(ValueError, match=r"nets\[1\]"):
        models.MLPStack([models.Generator(2, 2, 8, 2), models.Generator(2, 2, 8, 2, slope=0.1)])
    with pytest.raises(ValueError, match=r"nets\[1\]"):
        models.MLPStack([models.Generator(2, 2, 8, 2), models.Generator(2, 2, 8, 2, output="tanh")])
    with pytest.raises(ValueError, match=r"nets\[0\]"):
        models.MLPStack([torch.nn.Linear(2, 2)])
    with pytest.raises(ValueError, match=r"nets\[0\]"):
        models.MLPStack(
            [torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))]
        )
    with pytest.raises(ValueError, match=r"nets\[0\]"):
        models.MLPStack(
            [
                torch.nn.Sequential(
                    torch.nn.Linear(2, 4, bias=False), torch.nn.ReLU(), torch.nn.Linear(4, 1)
                )
            ]
        )
    stack = models.MLPStack(generators())
    with pytest.raises(ValueError, match="x must have shape"):
        stack(torch.zeros(3, 5, 2))
    with pytest.raises(ValueError, match="x must have shape"):
        stack(torch.zeros(5, 3))


@pytest.mark.parametrize("kind, kw", [*STACK_KINDS, ("d", dict(slope=0.01))])
def test_backward_by_hand_is_autograd_to_the_bit(kind, kw):
    """forward_saved + backward_into give autograd's output, weight gradients (added to what
    flat.grad holds) and input gradient, bit for bit."""
    nets, x = nets_and_input(kind, kw, seed=1)
    stack = models.MLPStack(nets)
    x[:, 0] = 0.0  # exact zeros at the activations' kinks too
    upstream = torch.randn(3, 11, stack.out_dim, generator=torch.Generator().manual_seed(2))
    xa = x.clone().requires_grad_(True)
    stack.zero_grad()
    out = stack(xa)
    (out * upstream).sum().backward(inputs=[xa, *stack.weights()])
    want_flat, want_x = stack.flat.grad.clone(), xa.grad.clone()
    stack.zero_grad()
    stack.flat.grad.add_(1.0)  # backward_into adds to the buffer
    mine, saved = stack.forward_saved(x)
    assert torch.equal(mine, out.detach()) and not mine.requires_grad
    got_x = stack.backward_into(saved, upstream, inputs=True)
    assert torch.equal(stack.flat.grad, want_flat + 1.0)
    assert torch.equal(got_x, want_x)
    stack.zero_grad()
    assert stack.backward_into(saved, upstream, weights=True) is None
    assert torch.equal(stack.flat.grad, want_flat)  # saved tensors reusable, not modified
    before = stack.flat.grad.clone()
    assert torch.equal(stack.backward_into(saved, upstream, weights=False, inputs=True), want_x)
    assert torch.equal(stack.flat.grad, before)  # weights=False leaves the buffer alone


def test_backward_by_hand_agrees_with_autograd_in_float64():
    nets = [models.Discriminator(2, 6, 2, seed=s, slope=0.1) for s in range(2)]
    stack = models.MLPStack(nets).double()
    x = torch.randn(2, 5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    out, saved = stack.forward_saved(x)
    stack.zero_grad()
    gx = stack.backward_into(saved, torch.ones_like(out), inputs=True)
    xa = x.clone().requires_grad_(True)
    ref_x, ref_w = torch.autograd.grad(stack(xa, stack.flat).sum(), [xa, stack.flat])
    torch.testing.assert_close(gx, ref_x, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(stack.flat.grad, ref_w, atol=1e-12, rtol=1e-12)


def test_forward_saved_bad_input():
    stack = models.MLPStack(generators())
    with pytest.raises(ValueError, match="x must have shape"):
        stack.forward_saved(torch.zeros(3, 4))


@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_penalty_by_hand_is_the_double_backward_of_autograd(slope):
    """penalty_into's value and weight gradient against losses.gradient_penalty differentiated
    by autograd, in float64, for a slice of the models, with one scale per model."""
    from gandemo import losses

    nets = [models.Discriminator(2, 7, 3, seed=s, slope=slope) for s in range(4)]
    stack = models.MLPStack(nets).double()
    gen = torch.Generator().manual_seed(5)
    real = torch.randn(2, 9, 2, dtype=torch.float64, generator=gen)
    fake = torch.randn(2, 9, 2, dtype=torch.float64, generator=gen)
    u = torch.rand(2, 9, 1, dtype=torch.float64, generator=gen)
    scale = torch.tensor([10.0, 0.5], dtype=torch.float64)
    rows = slice(1, 3)

    def critic(x):
        return stack(x, stack.flat[rows])[..., 0]

    want = losses.gradient_penalty(critic, real, fake, u)
    (want_grad,) = torch.autograd.grad((want * scale).sum(), stack.flat)
    stack.zero_grad()
    got = stack.penalty_into(real + u * (fake - real), rows, scale)
    torch.testing.assert_close(got, want.detach(), atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(stack.flat.grad, want_grad, atol=1e-12, rtol=1e-12)
    assert not stack.flat.grad[[0, 3]].any()  # the other models are left alone


def test_penalty_by_hand_needs_a_critic():
    with pytest.raises(ValueError, match="critic"):
        models.MLPStack(generators()).penalty_into(torch.zeros(3, 4, 3))
