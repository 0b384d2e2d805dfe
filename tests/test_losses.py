"""Tests of gandemo.losses: agreement with torch, gradients, closed forms, unequal batch sizes,
the registry LOSSES (closed forms, equilibrium values, batched reduction, the gradient penalty, the
engine) and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gandemo import data, losses, training

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
    assert close(losses.non_saturating_generator_loss(fake), ns_ref, 1e-12)
    sat_ref = -F.binary_cross_entropy_with_logits(fake, zeros)
    assert close(losses.saturating_generator_loss(fake), sat_ref, 1e-12)


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
    assert close(losses.saturating_generator_loss(fake), expected, 1e-12)
    assert float(losses.saturating_generator_loss(fake * 30)) <= 0.0


# --- gradients --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_logit_gradients_at_extreme_logits(dtype):
    logits = torch.tensor(LOGITS, dtype=dtype, requires_grad=True)
    n = len(LOGITS)
    sig = torch.sigmoid(logits.detach().double())
    for kind, expected in [("saturating", -sig / n), ("non-saturating", (sig - 1) / n)]:
        loss = losses.get_loss(kind).g_loss(logits)
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
    assert torch.autograd.gradcheck(losses.saturating_generator_loss, (fake,))
    assert torch.autograd.gradcheck(losses.non_saturating_generator_loss, (fake,))
    assert torch.autograd.gradcheck(losses.discriminator_loss, (real, fake[:4]))  # m_r != m_f
    assert torch.autograd.gradcheck(losses.value_function, (probs, probs2[:3]))
    assert torch.autograd.gradcheck(lambda p: losses.bce(p, targets), (probs,))
    assert torch.autograd.gradcheck(losses.value_function, (probs, probs2))


def test_non_saturating_gradient_survives_where_naive_bceloss_loses_it():
    """At logit -50 (D confidently rejects) the stable NS gradient is about -1/n; sigmoid +
    nn.BCELoss, the form found in much public code, returns almost nothing."""
    n = 8
    logits = torch.full((n,), -50.0, requires_grad=True)
    (stable,) = torch.autograd.grad(losses.non_saturating_generator_loss(logits), logits)
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
    for spec in losses.LOSSES.values():
        for f, args in [(spec.d_loss, (real, fake[:30])), (spec.g_loss, (fake,))]:
            a, b = f(*args), f(*args, check=False)
            ga = torch.autograd.grad(a, args)
            gb = torch.autograd.grad(b, args)
            assert close(a, b, 1e-15), (spec.name, f.__name__)
            assert all(float((x - y).abs().max()) < 1e-15 for x, y in zip(ga, gb, strict=True))


# --- closed forms -----------------------------------------------------------------------------


def test_closed_forms_at_d_equal_one_half():
    zeros = torch.zeros(16)
    assert close(losses.discriminator_loss(zeros, zeros), 2 * LN2, 1e-6)
    assert close(losses.non_saturating_generator_loss(zeros), LN2, 1e-6)
    assert close(losses.saturating_generator_loss(zeros), -LN2, 1e-6)
    half = torch.full((16,), 0.5)
    assert close(losses.value_function(half, half), -math.log(4), 1e-6)
    assert close(losses.bce(half, torch.ones(16)), LN2, 1e-6)


def test_returns_differentiable_0dim_tensors_and_accepts_lists_and_arrays():
    out = [
        losses.bce([0.2, 0.7], [0, 1]),
        losses.bce(np.array([0.2, 0.7]), np.array([0.0, 1.0])),
        losses.value_function([0.9, 0.8], np.array([0.1, 0.3])),
        losses.discriminator_loss([1.0, 2.0], (0.5, -1.0)),
        losses.non_saturating_generator_loss(np.array([0.3, -2.0])),
        losses.saturating_generator_loss([0.3, -2.0]),
    ]
    for t in out:
        assert isinstance(t, torch.Tensor) and t.dim() == 0 and torch.isfinite(t)
    a = torch.tensor([0.3, -2.0], requires_grad=True)
    loss = losses.non_saturating_generator_loss(a)
    assert loss.requires_grad
    loss.backward()
    assert a.grad is not None and a.grad.shape == (2,)


def test_large_logits_do_not_overflow():
    big = torch.tensor([1e4, -1e4])
    assert close(losses.non_saturating_generator_loss(big), 1e4 / 2, 1e-2)
    assert close(losses.saturating_generator_loss(big), -1e4 / 2, 1e-2)
    assert close(losses.discriminator_loss(big, big), 1e4, 1e-2)


# --- different real and fake batch sizes ------------------------------------------------------


def _by_hand(r, f):
    """Each objective's discriminator loss as the sum of a mean over the real logits and a mean
    over the fake ones, computed term by term."""

    def mean(terms):
        return sum(terms) / len(terms)

    def sp(t):
        return math.log1p(math.exp(t))

    return {
        "saturating": mean([sp(-x) for x in r]) + mean([sp(x) for x in f]),
        "non-saturating": mean([sp(-x) for x in r]) + mean([sp(x) for x in f]),
        "least-squares": mean([0.5 * (x - 1) ** 2 for x in r]) + mean([0.5 * x**2 for x in f]),
        "hinge": mean([max(0.0, 1 - x) for x in r]) + mean([max(0.0, 1 + x) for x in f]),
        "wasserstein-gp": mean(list(f)) - mean(list(r)),
    }


def test_three_real_against_five_fake_is_the_sum_of_the_two_means():
    r = [0.7, -1.2, 2.5]
    f = [-0.3, 1.1, -2.0, 0.4, 3.0]
    want = _by_hand(r, f)
    for name, spec in losses.LOSSES.items():
        got = spec.d_loss(r, f)
        assert got.shape == () and close(got, want[name], 1e-12), name
    d_real, d_fake = [0.9, 0.6, 0.8], [0.1, 0.3, 0.5, 0.2, 0.4]
    by_hand = sum(math.log(p) for p in d_real) / 3 + sum(math.log(1 - p) for p in d_fake) / 5
    assert close(losses.value_function(d_real, d_fake), by_hand, 1e-12)
    logits = torch.tensor(r, dtype=torch.float64), torch.tensor(f, dtype=torch.float64)
    v = losses.value_function(*(torch.sigmoid(t) for t in logits))
    assert close(v, -losses.discriminator_loss(*logits), 1e-12)


def test_unequal_batch_sizes_with_leading_dimensions_give_one_loss_per_model():
    g = torch.Generator().manual_seed(7)
    r = torch.randn(4, 3, generator=g, dtype=torch.float64)
    f = torch.randn(4, 5, generator=g, dtype=torch.float64)
    for name, spec in losses.LOSSES.items():
        for check in (True, False):
            d = spec.d_loss(r, f, check=check)
            assert d.shape == (4,), name
            for k in range(4):
                want = _by_hand(r[k].tolist(), f[k].tolist())[name]
                assert close(d[k], want, 1e-12), (name, k)
    v = losses.value_function(torch.sigmoid(r), torch.sigmoid(f))
    assert v.shape == (4,)
    torch.testing.assert_close(v, -losses.discriminator_loss(r, f))


def test_the_classic_losses_are_the_registry_entries_of_the_minimax_discriminator():
    assert losses.CLASSIC == ("saturating", "non-saturating")
    assert losses.CLASSIC == tuple(losses.LOSSES)[:2]
    sat, ns = (losses.LOSSES[n] for n in losses.CLASSIC)
    assert sat.d_loss is ns.d_loss is losses.discriminator_loss
    assert sat.g_loss is losses.saturating_generator_loss
    assert ns.g_loss is losses.non_saturating_generator_loss
    for gone in ("generator_loss", "GENERATOR_LOSS_KINDS", "minimax_discriminator_loss"):
        assert not hasattr(losses, gone), gone


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
        (lambda: losses.saturating_generator_loss([float("nan")]), "fake_logits"),
        (lambda: losses.hinge_generator_loss([float("inf")]), "fake_logits"),
        (lambda: losses.bce([], []), "empty"),
        (lambda: losses.value_function(torch.empty(0), torch.empty(0)), "empty"),
        (lambda: losses.discriminator_loss([], [1.0]), "empty"),
        (lambda: losses.non_saturating_generator_loss(np.array([])), "empty"),
        (lambda: losses.bce([0.5, 0.5], [1.0]), "shape"),
        (lambda: losses.value_function([0.5, 0.5], [[0.5, 0.5]]), "shape"),
        (lambda: losses.value_function([[0.5], [0.5]], [[0.5], [0.5], [0.5]]), "d_real and d_fake"),
        (
            lambda: losses.discriminator_loss([[0.0, 1.0]], [0.0, 1.0]),
            "real_logits and fake_logits",
        ),
        (lambda: losses.hinge_discriminator_loss(np.zeros((2, 3)), np.zeros((3, 3))), "shape"),
        (lambda: losses.bce(["a", "b"], [1, 0]), "probs"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# --- the registry LOSSES ----------------------------------------------------------------------

M = 64


def sig(a):
    return 1 / (1 + np.exp(-a))


# value of (L_D, L_G) and their gradients per logit, from the formulas, in numpy
CLOSED = {
    "saturating": dict(
        d=lambda r, f: np.mean(np.log1p(np.exp(-r))) + np.mean(np.log1p(np.exp(f))),
        g=lambda f: -np.mean(np.log1p(np.exp(f))),
        dr=lambda r: -sig(-r) / M,
        df=lambda f: sig(f) / M,
        gf=lambda f: -sig(f) / M,
    ),
    "non-saturating": dict(
        d=lambda r, f: np.mean(np.log1p(np.exp(-r))) + np.mean(np.log1p(np.exp(f))),
        g=lambda f: np.mean(np.log1p(np.exp(-f))),
        dr=lambda r: -sig(-r) / M,
        df=lambda f: sig(f) / M,
        gf=lambda f: (sig(f) - 1) / M,
    ),
    "least-squares": dict(
        d=lambda r, f: 0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f**2),
        g=lambda f: 0.5 * np.mean((f - 1) ** 2),
        dr=lambda r: (r - 1) / M,
        df=lambda f: f / M,
        gf=lambda f: (f - 1) / M,
    ),
    "hinge": dict(
        d=lambda r, f: np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)),
        g=lambda f: -np.mean(f),
        dr=lambda r: -(r < 1).astype(float) / M,
        df=lambda f: (f > -1).astype(float) / M,
        gf=lambda f: -np.ones_like(f) / M,
    ),
    "wasserstein-gp": dict(
        d=lambda r, f: np.mean(f) - np.mean(r),
        g=lambda f: -np.mean(f),
        dr=lambda r: -np.ones_like(r) / M,
        df=lambda f: np.ones_like(f) / M,
        gf=lambda f: -np.ones_like(f) / M,
    ),
}


def test_registry_has_the_five_losses_with_references():
    assert set(losses.LOSSES) == set(CLOSED)
    assert training.LOSSES is losses.LOSSES
    for name, loss in losses.LOSSES.items():
        assert loss.name == name and loss.reference and loss.formula
    assert losses.LOSSES["wasserstein-gp"].penalty_weight == 10.0
    assert all(v.penalty_weight == 0 for k, v in losses.LOSSES.items() if k != "wasserstein-gp")


@pytest.mark.parametrize("name", sorted(CLOSED))
@pytest.mark.parametrize("seed", [0, 1])
def test_losses_and_logit_gradients_match_closed_forms(name, seed):
    rng = np.random.default_rng(seed)
    r_np, f_np = rng.normal(0.5, 2, M), rng.normal(-0.5, 2, M)
    r = torch.tensor(r_np, requires_grad=True)
    f = torch.tensor(f_np, requires_grad=True)
    spec, ref = losses.get_loss(name), CLOSED[name]
    d = spec.d_loss(r, f)
    assert d.shape == () and abs(d.item() - ref["d"](r_np, f_np)) < 1e-12
    gr, gf = torch.autograd.grad(d, (r, f))
    np.testing.assert_allclose(gr.numpy(), ref["dr"](r_np), atol=1e-14)
    np.testing.assert_allclose(gf.numpy(), ref["df"](f_np), atol=1e-14)
    f2 = torch.tensor(f_np, requires_grad=True)
    g = spec.g_loss(f2)
    assert abs(g.item() - ref["g"](f_np)) < 1e-12
    (gg,) = torch.autograd.grad(g, f2)
    np.testing.assert_allclose(gg.numpy(), ref["gf"](f_np), atol=1e-14)


def test_equilibrium_values():
    ln2 = math.log(2)
    half, zero = torch.full((M,), 0.5, dtype=torch.float64), torch.zeros(M, dtype=torch.float64)
    at = {"saturating": zero, "non-saturating": zero, "least-squares": half}
    for name, a in at.items():
        spec = losses.LOSSES[name]
        assert abs(float(spec.d_loss(a, a)) - spec.d_equilibrium) < 1e-12
        assert abs(float(spec.g_loss(a)) - spec.g_equilibrium) < 1e-12
    assert losses.LOSSES["saturating"].g_equilibrium == pytest.approx(-ln2)
    hinge = losses.LOSSES["hinge"]
    for c in (-1.0, -0.3, 0.0, 0.7, 1.0):  # any constant in [-1, 1] is optimal at p_g = p_data
        a = torch.full((M,), c, dtype=torch.float64)
        assert abs(float(hinge.d_loss(a, a)) - hinge.d_equilibrium) < 1e-12
    assert hinge.g_equilibrium is None and losses.LOSSES["wasserstein-gp"].g_equilibrium is None


def test_least_squares_optimal_discriminator_is_d_star():
    # minimise p (a - 1)^2 + q a^2 pointwise: a* = p / (p + q), BCE's D*
    p, q = 0.3, 0.9
    a = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([a], lr=1, max_iter=50)

    def closure():
        opt.zero_grad()
        val = p * (a - 1) ** 2 + q * a**2
        val.backward()
        return val

    opt.step(closure)
    assert abs(a.item() - p / (p + q)) < 1e-9


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_batched_logits_give_one_loss_per_model(name):
    g = torch.Generator().manual_seed(3)
    r, f = torch.randn(5, M, generator=g), torch.randn(5, M, generator=g)
    spec = losses.LOSSES[name]
    d, gl = spec.d_loss(r, f), spec.g_loss(f)
    assert d.shape == (5,) and gl.shape == (5,)
    for k in range(5):
        assert torch.allclose(d[k], spec.d_loss(r[k], f[k]))
        assert torch.allclose(gl[k], spec.g_loss(f[k]))


def test_gradient_penalty_of_linear_and_quadratic_critics():
    w = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    real = torch.randn(32, 2, dtype=torch.float64)
    fake = torch.randn(32, 2, dtype=torch.float64)
    u = torch.rand(32, 1, dtype=torch.float64)
    pen = losses.gradient_penalty(lambda x: x @ w, real, fake, u)
    assert abs(pen.item() - (5 - 1) ** 2) < 1e-12  # |grad| = |w| = 5 everywhere
    (dw,) = torch.autograd.grad(pen, w)  # d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|
    torch.testing.assert_close(dw, 2 * 4 * w.detach() / 5)
    # a(x) = |x|^2 / 2 has gradient x_hat: the penalty is the mean of (|x_hat| - 1)^2
    pen = losses.gradient_penalty(lambda x: 0.5 * x.square().sum(-1), real, fake, u)
    x_hat = real + u * (fake - real)
    want = (x_hat.norm(dim=-1) - 1).square().mean()
    assert abs(pen.item() - float(want)) < 1e-12
    # batched: (k, m, d) examples give k penalties
    pen = losses.gradient_penalty(
        lambda x: x @ w, real.expand(3, 32, 2), fake.expand(3, 32, 2), u.expand(3, 32, 1)
    )
    assert pen.shape == (3,)


def test_gradient_penalty_gradcheck():
    torch.manual_seed(0)
    lin = torch.nn.Sequential(
        torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    ).double()
    real, fake = torch.randn(6, 2, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64)
    u = torch.rand(6, 1, dtype=torch.float64)
    w0 = lin[0].weight.detach().clone().requires_grad_(True)

    def penalty(w):
        def critic(x):
            return lin[2](torch.tanh(x @ w.T + lin[0].bias)).squeeze(-1)

        return losses.gradient_penalty(critic, real, fake, u)

    assert torch.autograd.gradcheck(penalty, (w0,))


def test_bad_input_and_unknown_names():
    with pytest.raises(ValueError, match="loss must be one of"):
        losses.get_loss("wasserstein")
    with pytest.raises(ValueError, match="fake_logits contains NaN"):
        losses.hinge_discriminator_loss([0.0, 1.0], [float("nan"), 0.0])
    with pytest.raises(ValueError, match="all but the last dimension"):
        losses.least_squares_discriminator_loss([[0.0, 1.0]], [0.0])
    with pytest.raises(ValueError, match="real_logits is empty"):
        losses.wasserstein_critic_loss([], [])
    with pytest.raises(ValueError, match="same shape"):
        losses.gradient_penalty(lambda x: x.sum(-1), torch.zeros(3, 2), torch.zeros(4, 2), None)
    with pytest.raises(ValueError, match="loss must be one of"):
        training.Trainer(data.ring(), loss="lsgan", device="cpu")


ENGINE = dict(
    width=16, depth=2, batch_size=32, device="cpu", metric_samples=300, metric_every=100, threads=1
)


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_every_loss_trains_in_the_engine(name):
    t = training.Trainer(data.ring(), loss=name, seed=0, **ENGINE)
    h = t.run(100, progress=False)
    assert t.models == [(name, 0)] and t.config.loss == (name,)
    assert h.d_loss.shape == (10, 1) and h.metrics["modes"].shape == (2, 1)
    assert np.all(np.isfinite(h.d_loss)) and np.all(np.isfinite(h.g_loss))
    assert np.all(np.isfinite(h.d_grad_norm)) and np.all(h.d_grad_norm > 0)


def test_all_five_losses_train_side_by_side():
    names = sorted(CLOSED)
    t = training.Trainer(data.ring(), loss=names, seed=[0] * 5, **ENGINE)
    assert all(torch.equal(t.G.flat[0], t.G.flat[e]) for e in range(5))  # one seed, one start
    h = t.run(60, progress=False)
    assert h.by_loss() == {n: [i] for i, n in enumerate(names)} and not t.diverged
    assert np.all(np.isfinite(h.d_loss)) and np.all(np.isfinite(h.g_loss))
    for a in range(5):  # five losses, five different runs
        for b in range(a + 1, 5):
            assert not torch.allclose(t.G.flat[a], t.G.flat[b]), (names[a], names[b])


def test_model_losses_give_each_row_its_own_loss():
    names = ["hinge", "hinge", "least-squares", "wasserstein-gp", "hinge"]
    ml = training.ModelLosses(names)
    assert [sl for _, sl in ml.groups] == [slice(0, 2), slice(2, 3), slice(3, 4), slice(4, 5)]
    assert ml.penalized and not training.ModelLosses(["hinge"]).penalized
    g = torch.Generator().manual_seed(0)
    r, f = torch.randn(5, M, generator=g), torch.randn(5, M, generator=g)
    d, gl = ml.d(r, f), ml.g(f)
    assert d.shape == (5,) and gl.shape == (5,)
    for e, name in enumerate(names):
        spec = losses.get_loss(name)
        assert torch.allclose(d[e], spec.d_loss(r[e], f[e]))
        assert torch.allclose(gl[e], spec.g_loss(f[e]))
    with pytest.raises(ValueError, match="loss must be one of"):
        training.ModelLosses(["hinge", "lsgan"])


def test_term_profile_values_slopes_and_verdicts():
    grid = torch.tensor([-3.0, 0.0, 2.0], dtype=torch.float64)
    d = losses.term_profile(losses.discriminator_loss, grid, player="discriminator")
    r, f = (t.reshape(-1) for t in torch.meshgrid(grid, grid, indexing="ij"))
    assert torch.allclose(torch.as_tensor(d.values), F.softplus(-r) + F.softplus(f))
    assert torch.allclose(torch.as_tensor(d.slopes), -torch.sigmoid(-r) - torch.sigmoid(f))
    assert d.player_wants == "minimised"

    def value(a_r, a_f):
        return -losses.discriminator_loss(a_r, a_f)

    assert losses.term_profile(value, grid, player="discriminator").player_wants == "maximised"
    g = losses.term_profile(losses.saturating_generator_loss, grid, player="generator")
    assert np.allclose(g.slopes, -torch.sigmoid(grid).numpy()) and g.player_wants == "minimised"
    mixed = losses.term_profile(lambda a: (a**2).mean(-1), grid, player="generator")
    assert mixed.player_wants == "mixed"
    with pytest.raises(ValueError, match="player must be"):
        losses.term_profile(losses.discriminator_loss, grid, player="critic")
    with pytest.raises(ValueError, match="logits must be a 1-D grid"):
        losses.term_profile(losses.saturating_generator_loss, grid[None], player="generator")


def test_loss_table_has_one_row_per_registered_loss():
    rows = losses.loss_table().split("\n")
    assert rows[0].startswith("| name |") and rows[1] == "|---|---|---|"
    assert len(rows) == 2 + len(losses.LOSSES)
    for row, (name, spec) in zip(rows[2:], losses.LOSSES.items(), strict=True):
        assert row == f"| `{name}` | {spec.formula} | {spec.reference} |"
