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
