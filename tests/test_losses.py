"""Tests of gandemo.losses: agreement with torch, gradients, closed forms and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gandemo import losses

LOGITS = [-1e4, -100.0, -50.0, -20.0, 0.0, 17.0, 20.0, 100.0, 1e4]
LN2 = math.log(2.0)


def close(a, b, tol):
    """Two-sided absolute tolerance."""

    def value(x):
        return float(x.detach()) if isinstance(x, torch.Tensor) else float(x)

    return abs(value(a) - value(b)) < tol


# --- agreement with torch.nn.functional -------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bce_matches_torch_binary_cross_entropy(seed):
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(257, generator=g, dtype=torch.float64) * 0.98 + 0.01
    y = torch.randint(0, 2, (257,), generator=g).to(torch.float64)
    assert close(losses.bce(p, y), F.binary_cross_entropy(p, y), 1e-12)
    soft = torch.rand(257, generator=g, dtype=torch.float64)  # soft labels too
    assert close(losses.bce(p, soft), F.binary_cross_entropy(p, soft), 1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_logit_losses_match_bce_with_logits(seed):
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(64, generator=g, dtype=torch.float64) * 4
    fake = torch.randn(64, generator=g, dtype=torch.float64) * 4
    ones, zeros = torch.ones(64, dtype=torch.float64), torch.zeros(64, dtype=torch.float64)
    d_ref = F.binary_cross_entropy_with_logits(real, ones) + F.binary_cross_entropy_with_logits(
        fake, zeros
    )
    assert close(losses.discriminator_loss(real, fake), d_ref, 1e-12)
    ns_ref = F.binary_cross_entropy_with_logits(fake, ones)
    assert close(losses.generator_loss(fake, "non-saturating"), ns_ref, 1e-12)
    sat_ref = -F.binary_cross_entropy_with_logits(fake, zeros)
    assert close(losses.generator_loss(fake, "saturating"), sat_ref, 1e-12)


def test_value_function_relations_on_a_mixed_batch():
    g = torch.Generator().manual_seed(3)
    real_logits = torch.randn(100, generator=g, dtype=torch.float64) + 1
    fake_logits = torch.randn(100, generator=g, dtype=torch.float64) - 1
    d_real, d_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    v = losses.value_function(d_real, d_fake)
    # discriminator loss = -V_hat
    assert close(losses.discriminator_loss(real_logits, fake_logits), -v, 1e-12)
    # mean BCE over the mixed batch of 2m = -V_hat / 2
    probs = torch.cat([d_real, d_fake])
    labels = torch.cat([torch.ones(100), torch.zeros(100)]).double()
    assert close(losses.bce(probs, labels), -v / 2, 1e-12)
    # value function = mean log D(x) + mean log(1 - D(G(z)))
    direct = torch.log(d_real).mean() + torch.log(1 - d_fake).mean()
    assert close(v, direct, 1e-12)


def test_saturating_generator_loss_is_the_g_part_of_v():
    g = torch.Generator().manual_seed(4)
    real = torch.randn(50, generator=g, dtype=torch.float64)
    fake = torch.randn(50, generator=g, dtype=torch.float64)
    v = losses.value_function(torch.sigmoid(real), torch.sigmoid(fake))
    expected = v - torch.log(torch.sigmoid(real)).mean()
    assert close(losses.generator_loss(fake, "saturating"), expected, 1e-12)
    assert float(losses.generator_loss(fake * 30, "saturating")) <= 0.0


# --- gradients --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_logit_gradients_at_extreme_logits(dtype):
    logits = torch.tensor(LOGITS, dtype=dtype, requires_grad=True)
    n = len(LOGITS)
    sig = torch.sigmoid(logits.detach().double())
    for kind, expected in [("saturating", -sig / n), ("non-saturating", (sig - 1) / n)]:
        loss = losses.generator_loss(logits, kind)
        (grad,) = torch.autograd.grad(loss, logits)
        assert torch.isfinite(loss), kind
        assert torch.isfinite(grad).all(), kind
        err = (grad.double() - expected).abs().max()
        assert float(err) < 1e-7, (kind, grad, expected)


def test_discriminator_gradients_at_extreme_logits():
    real = torch.tensor(LOGITS, dtype=torch.float64, requires_grad=True)
    fake = torch.tensor(LOGITS[::-1], dtype=torch.float64, requires_grad=True)
    loss = losses.discriminator_loss(real, fake)
    g_real, g_fake = torch.autograd.grad(loss, (real, fake))
    n = len(LOGITS)
    assert torch.isfinite(loss)
    assert float((g_real - (torch.sigmoid(real.detach()) - 1) / n).abs().max()) < 1e-12
    assert float((g_fake - torch.sigmoid(fake.detach()) / n).abs().max()) < 1e-12


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(5)
    real = (torch.randn(7, generator=g, dtype=torch.float64) * 3).requires_grad_()
    fake = (torch.randn(7, generator=g, dtype=torch.float64) * 3).requires_grad_()
    probs = (torch.rand(7, generator=g, dtype=torch.float64) * 0.9 + 0.05).requires_grad_()
    probs2 = (torch.rand(7, generator=g, dtype=torch.float64) * 0.9 + 0.05).requires_grad_()
    targets = torch.rand(7, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(losses.discriminator_loss, (real, fake))
    assert torch.autograd.gradcheck(lambda a: losses.generator_loss(a, "saturating"), (fake,))
    assert torch.autograd.gradcheck(lambda a: losses.generator_loss(a, "non-saturating"), (fake,))
    assert torch.autograd.gradcheck(lambda p: losses.bce(p, targets), (probs,))
    assert torch.autograd.gradcheck(losses.value_function, (probs, probs2))


def test_non_saturating_gradient_survives_where_naive_bceloss_loses_it():
    """At logit -50 (D confidently rejects) the stable NS gradient is about -1/n; sigmoid +
    nn.BCELoss, the form found in much public code, returns almost nothing."""
    n = 8
    logits = torch.full((n,), -50.0, requires_grad=True)
    (stable,) = torch.autograd.grad(losses.generator_loss(logits, "non-saturating"), logits)
    assert float((stable + 1.0 / n).abs().max()) < 1e-6

    logits2 = torch.full((n,), -50.0, requires_grad=True)
    naive_loss = torch.nn.BCELoss()(torch.sigmoid(logits2), torch.ones(n))
    (naive,) = torch.autograd.grad(naive_loss, logits2)
    assert float(naive.abs().max()) < 1e-6  # about 1e-11: the gradient is gone
    assert float(naive.abs().max()) < 1e-4 * float(stable.abs().max())


@pytest.mark.parametrize("seed", [0, 1])
def test_unchecked_path_gives_the_same_losses_and_gradients(seed):
    """check=False (used by the training loop to avoid a host sync per step) changes nothing."""
    g = torch.Generator().manual_seed(seed)
    real = (torch.randn(50, generator=g, dtype=torch.float64) * 10).requires_grad_()
    fake = (torch.randn(50, generator=g, dtype=torch.float64) * 10).requires_grad_()
    checked = losses.discriminator_loss(real, fake)
    unchecked = losses.discriminator_loss(real, fake, check=False)
    assert close(checked, unchecked, 1e-15)
    for kind in losses.GENERATOR_LOSS_KINDS:
        a = losses.generator_loss(fake, kind)
        b = losses.generator_loss(fake, kind, check=False)
        (ga,) = torch.autograd.grad(a, fake)
        (gb,) = torch.autograd.grad(b, fake)
        assert close(a, b, 1e-15) and float((ga - gb).abs().max()) < 1e-15
    with pytest.raises(ValueError, match="kind"):
        losses.generator_loss(fake, "hinge", check=False)


# --- closed forms -----------------------------------------------------------------------------


def test_closed_forms_at_d_equal_one_half():
    zeros = torch.zeros(16)
    assert close(losses.discriminator_loss(zeros, zeros), 2 * LN2, 1e-6)
    assert close(losses.generator_loss(zeros, "non-saturating"), LN2, 1e-6)
    assert close(losses.generator_loss(zeros, "saturating"), -LN2, 1e-6)
    half = torch.full((16,), 0.5)
    assert close(losses.value_function(half, half), -math.log(4), 1e-6)
    assert close(losses.bce(half, torch.ones(16)), LN2, 1e-6)


def test_returns_differentiable_0dim_tensors_and_accepts_lists_and_arrays():
    out = [
        losses.bce([0.2, 0.7], [0, 1]),
        losses.bce(np.array([0.2, 0.7]), np.array([0.0, 1.0])),
        losses.value_function([0.9, 0.8], np.array([0.1, 0.3])),
        losses.discriminator_loss([1.0, 2.0], (0.5, -1.0)),
        losses.generator_loss(np.array([0.3, -2.0])),
        losses.generator_loss([0.3, -2.0], kind="saturating"),
    ]
    for t in out:
        assert isinstance(t, torch.Tensor) and t.dim() == 0 and torch.isfinite(t)
    a = torch.tensor([0.3, -2.0], requires_grad=True)
    loss = losses.generator_loss(a)
    assert loss.requires_grad
    loss.backward()
    assert a.grad is not None and a.grad.shape == (2,)


def test_large_logits_do_not_overflow():
    big = torch.tensor([1e4, -1e4])
    assert close(losses.generator_loss(big, "non-saturating"), 1e4 / 2, 1e-2)
    assert close(losses.generator_loss(big, "saturating"), -1e4 / 2, 1e-2)
    assert close(losses.discriminator_loss(big, big), 1e4, 1e-2)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: losses.bce([0.5, 1.2], [1, 0]), "probs"),
        (lambda: losses.bce([0.5, -0.1], [1, 0]), "probs"),
        (lambda: losses.bce([0.5, 0.5], [1, 2]), "targets"),
        (lambda: losses.value_function([1.5], [0.5]), "d_real"),
        (lambda: losses.value_function([0.5], [-0.5]), "d_fake"),
        (lambda: losses.bce([0.5, float("nan")], [1, 0]), "NaN"),
        (lambda: losses.discriminator_loss([0.0, float("inf")], [0.0, 0.0]), "real_logits"),
        (lambda: losses.discriminator_loss([0.0, 0.0], [float("-inf"), 0.0]), "fake_logits"),
        (lambda: losses.generator_loss([float("nan")]), "fake_logits"),
        (lambda: losses.bce([], []), "empty"),
        (lambda: losses.value_function(torch.empty(0), torch.empty(0)), "empty"),
        (lambda: losses.discriminator_loss([], [1.0]), "empty"),
        (lambda: losses.generator_loss(np.array([])), "empty"),
        (lambda: losses.bce([0.5, 0.5], [1.0]), "shape"),
        (lambda: losses.value_function([0.5, 0.5], [[0.5, 0.5]]), "shape"),
        (lambda: losses.discriminator_loss([0.0, 1.0, 2.0], [0.0]), "shape"),
        (lambda: losses.generator_loss([0.0], kind="minimax"), "kind"),
        (lambda: losses.generator_loss([0.0], kind=None), "kind"),
        (lambda: losses.bce(["a", "b"], [1, 0]), "probs"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
