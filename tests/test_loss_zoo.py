"""Tests of the loss registry (gandemo.losses.LOSSES): closed forms, logit gradients, the
equilibrium values, batched reduction, the gradient penalty and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gandemo import data, losses, training

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
    assert losses.LOSSES["wasserstein-gp"].penalty == 10.0
    assert all(v.penalty == 0 for k, v in losses.LOSSES.items() if k != "wasserstein-gp")


@pytest.mark.parametrize("name", sorted(CLOSED))
@pytest.mark.parametrize("seed", [0, 1])
def test_losses_and_logit_gradients_match_closed_forms(name, seed):
    rng = np.random.default_rng(seed)
    r_np, f_np = rng.normal(0.5, 2, M), rng.normal(-0.5, 2, M)
    r = torch.tensor(r_np, requires_grad=True)
    f = torch.tensor(f_np, requires_grad=True)
    spec, ref = losses.get_loss(name), CLOSED[name]
    d = spec.d(r, f)
    assert d.shape == () and abs(d.item() - ref["d"](r_np, f_np)) < 1e-12
    gr, gf = torch.autograd.grad(d, (r, f))
    np.testing.assert_allclose(gr.numpy(), ref["dr"](r_np), atol=1e-14)
    np.testing.assert_allclose(gf.numpy(), ref["df"](f_np), atol=1e-14)
    f2 = torch.tensor(f_np, requires_grad=True)
    g = spec.g(f2)
    assert abs(g.item() - ref["g"](f_np)) < 1e-12
    (gg,) = torch.autograd.grad(g, f2)
    np.testing.assert_allclose(gg.numpy(), ref["gf"](f_np), atol=1e-14)


def test_equilibrium_values():
    ln2 = math.log(2)
    half, zero = torch.full((M,), 0.5, dtype=torch.float64), torch.zeros(M, dtype=torch.float64)
    at = {"saturating": zero, "non-saturating": zero, "least-squares": half}
    for name, a in at.items():
        spec = losses.LOSSES[name]
        assert abs(float(spec.d(a, a)) - spec.d_equilibrium) < 1e-12
        assert abs(float(spec.g(a)) - spec.g_equilibrium) < 1e-12
    assert losses.LOSSES["saturating"].g_equilibrium == pytest.approx(-ln2)
    hinge = losses.LOSSES["hinge"]
    for c in (-1.0, -0.3, 0.0, 0.7, 1.0):  # any constant in [-1, 1] is optimal at p_g = p_data
        a = torch.full((M,), c, dtype=torch.float64)
        assert abs(float(hinge.d(a, a)) - hinge.d_equilibrium) < 1e-12
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
    d, gl = spec.d(r, f), spec.g(f)
    assert d.shape == (5,) and gl.shape == (5,)
    for k in range(5):
        assert torch.allclose(d[k], spec.d(r[k], f[k]))
        assert torch.allclose(gl[k], spec.g(f[k]))


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
    with pytest.raises(ValueError, match="same shape"):
        losses.least_squares_discriminator_loss([0.0, 1.0], [0.0])
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
    assert t.models == [(name, 0)] and t.config["loss"] == name
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
        assert torch.allclose(d[e], spec.d(r[e], f[e]))
        assert torch.allclose(gl[e], spec.g(f[e]))
    with pytest.raises(ValueError, match="loss must be one of"):
        training.ModelLosses(["hinge", "lsgan"])
