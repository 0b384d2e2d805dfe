"""Tests of the 2-D benchmark targets in gandemo.data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gandemo as gd


def test_ring_has_eight_distinct_modes_on_the_unit_circle():
    ring = gd.data.ring()
    c = ring.centers
    assert c.shape == (8, 2) and ring.num_modes == 8 and ring.std == 0.01
    assert float((c.norm(dim=1) - 1).abs().max()) < 1e-6
    # the linspace(0, 2 pi, 8) pitfall would make two centres coincide
    gaps = torch.cdist(c, c) + torch.eye(8) * 10
    assert abs(float(gaps.min()) - 2 * math.sin(math.pi / 8)) < 1e-5
    angles = torch.atan2(c[:, 1], c[:, 0]) % (2 * math.pi)
    expected = torch.arange(8) * 2 * math.pi / 8
    assert float((angles.sort().values - expected).abs().max()) < 1e-5


def test_grid_has_25_modes_at_the_published_positions():
    grid = gd.data.grid()
    assert grid.centers.shape == (25, 2) and grid.std == 0.05
    values = sorted({float(v) for v in grid.centers.flatten()})
    assert values == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(row.tolist()) for row in grid.centers}) == 25


@pytest.mark.parametrize("make", [gd.data.ring, gd.data.grid])
def test_sampling_is_seeded_and_lands_near_the_modes(make):
    target = make()
    a = target.sample(4000, torch.Generator().manual_seed(7))
    b = target.sample(4000, torch.Generator().manual_seed(7))
    assert a.shape == (4000, 2) and torch.equal(a, b)
    nearest = torch.cdist(a, target.centers).min(dim=1).values / target.std
    assert float((nearest < 3.5).float().mean()) > 0.99  # chi(2) tail beyond 3.5 is 0.2 %
    counts = torch.bincount(torch.cdist(a, target.centers).argmin(1), minlength=target.num_modes)
    assert int((counts > 0).sum()) == target.num_modes


def test_density_of_a_2d_mixture_integrates_to_one():
    target = gd.data.ring(num_modes=4, radius=1.0, std=0.2)
    xs = np.linspace(-2.5, 2.5, 401)
    xx, yy = np.meshgrid(xs, xs)
    dens = target.pdf(np.stack([xx.ravel(), yy.ravel()], 1)).reshape(xx.shape)
    assert abs(dens.sum() * (xs[1] - xs[0]) ** 2 - 1) < 1e-3


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: gd.data.ring(num_modes=0), "num_modes"),
        (lambda: gd.data.ring(std=-1.0), "std"),
        (lambda: gd.data.grid(side=2.5), "side"),
        (lambda: gd.data.grid(spacing=0), "spacing"),
        (lambda: gd.data.GaussianMixture2D(torch.zeros(3, 3), 0.1), "centers"),
        (lambda: gd.data.ring().sample(-5), "n"),
    ],
)
def test_bad_input_raises_value_error(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
