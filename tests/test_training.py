"""Tests of gandemo.training: agreement with gd.losses, reproducibility, records, NaN, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gandemo import data, models, training


def pair(seed=0):
    return (
        models.Generator(2, 1, 16, 2, seed=seed),
        models.Discriminator(1, 16, 2, seed=seed + 100),
    )


def test_records_and_shapes():
    g, d = pair()
    h = training.train(g, d, data.Gaussian1D(1.0, 0.5), steps=25, record_every=10)
    assert list(h.step) == [10, 20, 25]
    for key in training.HISTORY_KEYS:
        assert getattr(h, key).shape == (3,)
        assert np.all(np.isfinite(getattr(h, key)))
    assert np.all(np.isnan(h.metric))
    assert np.all((h.d_real > 0) & (h.d_real < 1) & (h.d_fake > 0) & (h.d_fake < 1))
    assert h.loss == "non-saturating" and h.config["steps"] == 25
    assert set(h.as_dict()) == {"step", *training.HISTORY_KEYS, "metric"}


def test_same_seeds_same_history():
    runs = []
    for _ in range(2):
        g, d = pair(3)
        runs.append(training.train(g, d, data.Gaussian1D(), steps=30, record_every=5, seed=7))
    for key in ("d_loss", "g_loss", "d_fake", "g_grad_norm"):
        assert np.array_equal(getattr(runs[0], key), getattr(runs[1], key))


def test_equilibrium_values_when_everything_is_frozen_at_half():
    g, d = pair()
    with torch.no_grad():  # D outputs the logit 0 everywhere
        for p in d.parameters():
            p.zero_()
    h = training.train(
        g, d, data.Gaussian1D(), steps=5, d_steps=0, loss="saturating", record_every=5
    )
    assert abs(h.g_loss[0] + math.log(2)) < 1e-6
    assert abs(h.d_fake[0] - 0.5) < 1e-6
    assert np.isnan(h.d_loss[0])  # no discriminator step was taken


def test_frozen_discriminator_does_not_move():
    g, d = pair()
    before = [p.detach().clone() for p in d.parameters()]
    training.train(g, d, data.Gaussian1D(), steps=5, d_steps=0)
    for a, b in zip(before, d.parameters(), strict=True):
        assert torch.equal(a, b)


def test_non_saturating_generator_learns_the_mean():
    g, d = pair(0)
    target = data.Gaussian1D(2.0, 0.5)
    h = training.train(
        g, d, target, steps=300, record_every=100, metric=lambda gen: float(gen.sample(2000).mean())
    )
    assert abs(h.metric[-1] - 2.0) < 0.5
    assert abs(h.metric[0] - 2.0) > abs(h.metric[-1] - 2.0) - 0.1


def test_metric_is_called_at_each_record():
    calls = []
    g, d = pair()
    training.train(
        g, d, data.Gaussian1D(), steps=12, record_every=4, metric=lambda gen: calls.append(1) or 0.0
    )
    assert len(calls) == 3


def test_grad_norm_matches_manual_norm():
    g, _ = pair()
    g(torch.randn(8, 2)).pow(2).sum().backward()
    manual = math.sqrt(sum(float((p.grad**2).sum()) for p in g.parameters()))
    assert abs(float(training.generator_grad_norm(g)) - manual) < 1e-5
    g.zero_grad(set_to_none=True)
    with pytest.raises(ValueError, match="generator"):
        training.generator_grad_norm(g)


class NaNAfter:
    """A 1-D target whose samples turn to NaN from the n-th call on."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def sample(self, n, generator=None):
        self.calls += 1
        x = torch.randn(n, generator=generator)
        return x * float("nan") if self.calls >= self.n else x


def test_nan_loss_raises_naming_the_step():
    g, d = pair()
    with pytest.raises(ValueError, match="step 3"):
        training.train(g, d, NaNAfter(3), steps=20, record_every=10)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(loss="minimax"), "loss"),
        (dict(steps=0), "steps"),
        (dict(batch_size=0), "batch_size"),
        (dict(d_steps=-1), "d_steps"),
        (dict(lr_g=0.0), "lr_g"),
        (dict(lr_d=float("nan")), "lr_d"),
        (dict(record_every=0), "record_every"),
        (dict(metric=3), "metric"),
        (dict(betas=(0.5, 1.0)), "betas"),
        (dict(g_optimizer="rmsprop"), "g_optimizer"),
        (dict(seed=-1), "seed"),
    ],
)
def test_bad_arguments(kwargs, name):
    g, d = pair()
    kwargs.setdefault("steps", 2)
    with pytest.raises(ValueError, match=name):
        training.train(g, d, data.Gaussian1D(), **kwargs)


def test_data_without_sampler():
    g, d = pair()
    with pytest.raises(ValueError, match="data"):
        training.train(g, d, object(), steps=2)


def test_sgd_generator_step_is_the_gradient():
    g, d = pair()
    before = [p.detach().clone() for p in g.parameters()]
    h = training.train(
        g, d, data.Gaussian1D(), steps=1, d_steps=0, lr_g=0.1, g_optimizer="sgd", record_every=1
    )
    moved = math.sqrt(
        sum(
            float(((p.detach() - b) ** 2).sum())
            for p, b in zip(g.parameters(), before, strict=True)
        )
    )
    assert abs(moved - 0.1 * h.g_grad_norm[0]) < 1e-5
