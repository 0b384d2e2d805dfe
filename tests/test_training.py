"""Tests of gandemo.training.Trainer: records, every option for one model and for several,
exact manual updates, reproducibility across splits and interrupts, divergence, bad input.

The batching invariants (model e of a batched run is the solo run) are in test_engine.py,
checkpoints in test_checkpoint.py.
"""

from __future__ import annotations

import math
import os
import re
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

import gandemo as gd
from gandemo import data, losses, metrics, models, training

SMALL = dict(
    width=16, depth=2, batch_size=32, device="cpu", metric_samples=300, metric_every=20, threads=1
)
MIX = ["non-saturating", "wasserstein-gp", "least-squares"]  # E = 3: three losses, one penalised


def trainer(target=None, **kwargs):
    return training.Trainer(data.ring() if target is None else target, **{**SMALL, **kwargs})


def models_kwargs(n_models, **kwargs):
    """One model (non-saturating, seed 0), or n_models with mixed losses and seeds."""
    if n_models == 1:
        return dict(loss="non-saturating", seed=0, **kwargs)
    names = (MIX * n_models)[:n_models]
    return dict(loss=names, seed=[3 * e + 1 for e in range(n_models)], **kwargs)


def curves(h):
    """Everything a History holds but the wall-clock times."""
    out = {"step": h.step, "metric_step": h.metric_step}
    out.update({k: getattr(h, k) for k in training.SERIES})
    out.update({f"metric:{k}": v for k, v in h.metrics.items()})
    return out


def assert_same_history(a, b):
    ca, cb = curves(a), curves(b)
    assert set(ca) == set(cb)
    for key in ca:
        assert np.array_equal(ca[key], cb[key], equal_nan=True), key


def assert_same_state(a, b, n=40):
    """Bitwise the same weights, history, samples and training streams."""
    assert a.step == b.step
    assert torch.equal(a.G.flat, b.G.flat) and torch.equal(a.D.flat, b.D.flat)
    if a.ema_flat is not None or b.ema_flat is not None:
        assert torch.equal(a.ema_flat, b.ema_flat)
    assert_same_history(a.history, b.history)
    for e in range(a.n_models):
        assert torch.equal(a.sample(n, model=e, seed=11), b.sample(n, model=e, seed=11))
    assert np.array_equal(a.samples(n, seed=4), b.samples(n, seed=4))


def params(net):
    return [p.detach().clone() for p in net.parameters()]


def same_params(a, b):
    return all(torch.equal(p, q) for p, q in zip(a, b, strict=True))


# ---------------------------------------------------------------------------------------------
# Records and the history
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_models", [1, 3])
def test_records_history_arrays_and_model_views(n_models):
    t = trainer(record_every=10, metric_every=20, **models_kwargs(n_models))
    h = t.run(25, progress=False)
    assert h is t.history and t.step == 25 and len(h) == 3
    assert h.step.tolist() == [10, 20, 25] and h.metric_step.tolist() == [0, 20]
    assert h.n_models == t.n_models == n_models and h.models == t.models
    for key in training.SERIES:
        v = getattr(h, key)
        assert v.shape == (3, n_models) and np.all(np.isfinite(v)), key
    assert np.all(np.diff(h.wall_time) >= 0) and h.wall_time[-1] > 0
    assert set(h.metrics) == {"modes", "high_quality", "reverse_kl"}
    assert all(v.shape == (2, n_models) for v in h.metrics.values())
    assert np.all((h.d_real > 0) & (h.d_real < 1) & (h.d_fake > 0) & (h.d_fake < 1))
    for e in range(n_models):
        m = h.model(e)
        assert (m.loss, m.seed) == t.models[e] and len(m) == 3
        assert np.array_equal(m.d_loss, h.d_loss[:, e]) and m.d_loss.shape == (3,)
        assert np.array_equal(m.metrics["modes"], h.metrics["modes"][:, e])
        d = m.as_dict()
        assert {"step", "wall_time", "metric_step", *training.SERIES, *h.metrics} == set(d)
    assert sum(len(v) for v in h.by_loss().values()) == n_models
    with pytest.raises(ValueError, match="model"):
        h.model(n_models)
    assert t.config["batch_size"] == 32 and t.device == torch.device("cpu")


def test_metric_at_records_reads_each_metric_at_the_record_steps():
    t = trainer(record_every=10, metric_every=10)
    m = t.run(20, progress=False).model(0)
    assert m.step.tolist() == [10, 20] and m.metric_step.tolist() == [0, 10, 20]
    np.testing.assert_array_equal(m.metric_at_records("modes"), m.metrics["modes"][1:])
    with pytest.raises(ValueError, match="recorded metric"):
        m.metric_at_records("jsd")
    t = trainer(record_every=10, metric_every=20)
    m = t.run(25, progress=False).model(0)  # records at 10, 20, 25; metrics at 0, 20
    with pytest.raises(ValueError, match="not recorded at every record step"):
        m.metric_at_records("modes")


def test_a_run_that_ends_between_records_shows_a_provisional_record_replaced_later():
    t = trainer(record_every=10)
    t.run(25, progress=False)
    provisional = t.history.g_loss[-1, 0]
    assert t.history.step.tolist() == [10, 20, 25]
    t.run(5, progress=False)
    assert t.history.step.tolist() == [10, 20, 30]  # 25 was replaced by the full window
    ref = trainer(record_every=10)
    ref.run(30, progress=False)
    assert_same_history(t.history, ref.history)
    assert ref.history.g_loss[-1, 0] != provisional


def test_equilibrium_values_when_the_discriminator_is_frozen_at_one_half():
    t = trainer(data.Gaussian1D(), loss="saturating", d_steps=0, record_every=5)
    with torch.no_grad():
        t.D.flat.zero_()  # the logit 0 everywhere: D = 1/2
    t.run(5, progress=False)
    assert abs(t.history.g_loss[0, 0] + math.log(2)) < 1e-6
    assert abs(t.history.d_fake[0, 0] - 0.5) < 1e-6
    assert np.isnan(t.history.d_loss[0, 0]) and np.isnan(t.history.d_real[0, 0])


def test_non_saturating_generator_learns_the_mean():
    t = trainer(data.Gaussian1D(2.0, 0.5), seed=0)
    start = float(t.sample(2000, seed=1).mean())
    t.run(300, progress=False)
    end = float(t.sample(2000, seed=1).mean())
    assert abs(end - 2.0) < 0.5 and abs(start - 2.0) > 1.0


def test_short_ring_run_improves_mode_coverage():
    t = trainer(width=32, batch_size=64, seed=0, metric_every=100, metric_samples=2500)
    t.run(400, progress=False)
    h = t.history
    assert h.metric_step.tolist() == [0, 100, 200, 300, 400]
    first = (h.metrics["modes"][0, 0], h.metrics["high_quality"][0, 0])
    last = (h.metrics["modes"][-1, 0], h.metrics["high_quality"][-1, 0])
    assert last[0] > first[0] or last[1] > first[1], (first, last)
    # 400 small steps are far from the count rule's regime; PacGAN's one-sample rule sees it
    ring = data.ring()
    fake = t.sample(2500, seed=0)
    assert metrics.mode_coverage(fake, ring.centers, ring.std, min_share=0).modes >= 4


def test_one_dimensional_targets():
    target = data.GaussianMixture1D((-2.0, 2.0), (0.5, 0.5))
    t = trainer(target, metric_every=10)
    t.run(20, progress=False)
    snap = t.snapshot(300)
    assert snap.step == 20 and snap.real.shape == (300,) and snap.fake.shape == (300,)
    assert set(snap.metrics) == {"jsd"} and 0 < snap.metrics["jsd"] <= math.log(2) + 1e-12
    assert t.history.metrics["jsd"].shape == (3, 1)
    probs = t.discriminator_on(np.linspace(-3, 3, 7))
    assert probs.shape == (7,) and np.all((probs > 0) & (probs < 1))
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-t.logits(np.linspace(-3, 3, 7), model=0))))
    assert t.sample(5).shape == (5, 1)


def test_snapshot_logits_and_samples_in_2d():
    t = trainer(**models_kwargs(3))
    snap = t.snapshot(200, model=2)
    assert snap.step == 0 and snap.real.shape == (200, 2) and snap.fake.shape == (200, 2)
    assert set(snap.metrics) == {"modes", "high_quality", "reverse_kl"}
    assert abs(np.sqrt((snap.real**2).sum(1)).mean() - 1.0) < 0.01  # the ring has radius 1
    x = np.random.default_rng(0).normal(size=(6, 2))
    all_logits = t.logits(x)
    assert all_logits.shape == (3, 6)
    for e in range(3):
        np.testing.assert_allclose(all_logits[e], t.logits(x, model=e), rtol=1e-6, atol=1e-7)
        want = t.discriminator(e)(torch.tensor(x, dtype=torch.float32)).detach().numpy()
        np.testing.assert_allclose(t.logits(x, model=e), want, rtol=1e-5, atol=1e-6)
    s = t.samples(9, seed=3)
    assert s.shape == (3, 9, 2)
    for e in range(3):
        np.testing.assert_allclose(s[e], t.sample(9, model=e, seed=3).numpy(), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="x must have shape"):
        t.discriminator_on(np.zeros(4))


def test_update_d_and_update_g_each_move_one_player():
    t = trainer()
    g0, d0 = t.G.flat.detach().clone(), t.D.flat.detach().clone()
    t.update_d()
    assert t.step == 0 and len(t.history) == 0
    assert torch.equal(t.G.flat, g0) and not torch.equal(t.D.flat, d0)
    d1 = t.D.flat.detach().clone()
    t.update_g()
    assert t.step == 1 and t.history.step.tolist() == [1] and t.history.metric_step.tolist() == [0]
    assert torch.equal(t.D.flat, d1) and not torch.equal(t.G.flat, g0)
    assert np.isfinite(t.history.d_real[-1, 0]) and np.isfinite(t.history.g_loss[-1, 0])


# ---------------------------------------------------------------------------------------------
# Every option, for one model and for several
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_models", [1, 3])
def test_zero_d_steps_freezes_the_discriminator(n_models):
    t = trainer(d_steps=0, **models_kwargs(n_models))
    d0, g0 = t.D.flat.detach().clone(), t.G.flat.detach().clone()
    t.run(12, progress=False)
    assert torch.equal(t.D.flat, d0) and not torch.equal(t.G.flat, g0)
    assert t.opt_d.state_dict()["state"] == {}  # never stepped
    h = t.history
    assert np.all(np.isnan(h.d_real)) and np.all(np.isnan(h.d_loss))
    assert np.all(np.isfinite(h.d_fake)) and np.all(np.isfinite(h.g_loss))


def twin_batches(twin, kind):
    """The minibatches a trainer built like ``twin`` draws for one step (from twin's streams)."""
    if kind == "simultaneous":
        return dict(real=twin._real_batch(), z=twin._z_batch(), u=twin._u_batch())
    real, z_d, u = twin._real_batch(), twin._z_batch(), twin._u_batch()
    return dict(real=real, z=z_d, u=u, z_g=twin._z_batch())


def manual_d_loss(name, g, d, real, z, u):
    """L_D of one model from plain modules (the penalty included)."""
    spec = losses.get_loss(name)
    fake = g(z).detach()
    loss = spec.d(d(real), d(fake))
    if spec.penalty:
        loss = loss + spec.penalty * losses.gradient_penalty(d, real, fake, u)
    return loss


def grad_norm(grads):
    return math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))


@pytest.mark.parametrize("n_models", [1, 3])
@pytest.mark.parametrize("g_opt, d_opt", [("sgd", "sgd"), ("sgd", "adam"), ("adam", "sgd")])
def test_one_alternating_step_equals_the_manual_update(n_models, g_opt, d_opt):
    """SGD: w - lr * grad; Adam's first step: w - lr * g / (|g| + eps); recorded values too."""
    lr_g, lr_d = 0.05, 0.1
    kw = models_kwargs(
        n_models, g_optimizer=g_opt, d_optimizer=d_opt, lr_g=lr_g, lr_d=lr_d, record_every=1
    )
    t, twin = trainer(**kw), trainer(**kw)
    gens = [twin.generator(e) for e in range(n_models)]
    discs = [twin.discriminator(e) for e in range(n_models)]
    b = twin_batches(twin, "alternating")
    t.run(1, progress=False)
    h = t.history
    d_grad = t.D.flat.grad.detach().clone()
    for e, (name, _) in enumerate(t.models):
        g, d = gens[e], discs[e]
        # the discriminator update, at the initial weights
        d_loss = manual_d_loss(
            name, g, d, b["real"][e], b["z"][e], None if b["u"] is None else b["u"][e]
        )
        grads = torch.autograd.grad(d_loss, list(d.parameters()))
        got = list(t.discriminator(e).parameters())
        if d_opt == "sgd":
            for p, gr, q in zip(d.parameters(), grads, got, strict=True):
                torch.testing.assert_close(q, p.detach() - lr_d * gr, atol=2e-6, rtol=1e-5)
        else:  # Adam's first step from its own gradient, element by element
            row = d_grad[e]
            want = models.MLPStack([d]).flat[0] - lr_d * row / (row.abs() + 1e-8)
            torch.testing.assert_close(t.D.flat[e].detach(), want.detach(), atol=1e-6, rtol=1e-5)
        assert h.d_loss[0, e] == pytest.approx(d_loss.item(), rel=1e-5, abs=1e-6)
        assert h.d_grad_norm[0, e] == pytest.approx(grad_norm(grads), rel=1e-4)
        with torch.no_grad():
            d_real = torch.sigmoid(d(b["real"][e])).mean().item()
            d_fake = torch.sigmoid(d(g(b["z"][e]))).mean().item()
        assert h.d_real[0, e] == pytest.approx(d_real, abs=1e-6)
        assert h.d_fake[0, e] == pytest.approx(d_fake, abs=1e-6)
        # the generator update, against the updated discriminator, on fresh latent codes
        d1 = t.discriminator(e)
        g_loss = losses.get_loss(name).g(d1(g(b["z_g"][e])))
        g_grads = torch.autograd.grad(g_loss, list(g.parameters()))
        got_g = list(t.generator(e).parameters())
        if g_opt == "sgd":
            for p, gr, q in zip(g.parameters(), g_grads, got_g, strict=True):
                torch.testing.assert_close(q, p.detach() - lr_g * gr, atol=2e-6, rtol=1e-5)
        else:
            row = t.G.flat.grad[e]
            want = models.MLPStack([g]).flat[0] - lr_g * row / (row.abs() + 1e-8)
            torch.testing.assert_close(t.G.flat[e].detach(), want.detach(), atol=1e-6, rtol=1e-5)
        assert h.g_loss[0, e] == pytest.approx(g_loss.item(), rel=1e-5, abs=1e-6)
        assert h.g_grad_norm[0, e] == pytest.approx(grad_norm(g_grads), rel=1e-4)


@pytest.mark.parametrize("n_models", [1, 3])
def test_simultaneous_step_takes_both_gradients_at_the_same_point(n_models):
    lr_g, lr_d = 0.05, 0.1
    kw = models_kwargs(
        n_models,
        scheme="simultaneous",
        g_optimizer="sgd",
        d_optimizer="sgd",
        lr_g=lr_g,
        lr_d=lr_d,
        record_every=1,
    )
    t, twin = trainer(**kw), trainer(**kw)
    gens = [twin.generator(e) for e in range(n_models)]
    discs = [twin.discriminator(e) for e in range(n_models)]
    b = twin_batches(twin, "simultaneous")
    t.run(1, progress=False)
    for e, (name, _) in enumerate(t.models):
        g, d = gens[e], discs[e]
        u = None if b["u"] is None else b["u"][e]
        d_loss = manual_d_loss(name, g, d, b["real"][e], b["z"][e], u)
        d_grads = torch.autograd.grad(d_loss, list(d.parameters()))
        g_loss = losses.get_loss(name).g(d(g(b["z"][e])))  # the same D, the same codes
        g_grads = torch.autograd.grad(g_loss, list(g.parameters()))
        for p, gr, q in zip(d.parameters(), d_grads, t.discriminator(e).parameters(), strict=True):
            torch.testing.assert_close(q, p.detach() - lr_d * gr, atol=2e-6, rtol=1e-5)
        for p, gr, q in zip(g.parameters(), g_grads, t.generator(e).parameters(), strict=True):
            torch.testing.assert_close(q, p.detach() - lr_g * gr, atol=2e-6, rtol=1e-5)
        assert t.history.d_loss[0, e] == pytest.approx(d_loss.item(), rel=1e-5, abs=1e-6)
        assert t.history.g_loss[0, e] == pytest.approx(g_loss.item(), rel=1e-5, abs=1e-6)
        # an alternating update would have used the moved discriminator: a different step
        alt = torch.autograd.grad(
            losses.get_loss(name).g(t.discriminator(e)(g(b["z"][e]))), list(g.parameters())
        )
        assert max(float((a - s).abs().max()) for a, s in zip(alt, g_grads, strict=True)) > 1e-5
    assert not np.array_equal(
        trainer(**models_kwargs(n_models, scheme="simultaneous")).run(5, progress=False).g_loss,
        trainer(**models_kwargs(n_models)).run(5, progress=False).g_loss,
    )


@pytest.mark.parametrize("n_models", [1, 3])
def test_adam_betas_reach_both_optimisers(n_models):
    b1, b2 = 0.8, 0.95
    t = trainer(betas=(b1, b2), **models_kwargs(n_models))
    assert t.config["betas"] == (b1, b2)
    for opt in (t.opt_g, t.opt_d):
        assert opt.param_groups[0]["betas"] == (b1, b2)
    t.run(1, progress=False)
    firsts = []
    for opt, flat in ((t.opt_g, t.G.flat), (t.opt_d, t.D.flat)):
        s = opt.state[flat]
        g = flat.grad
        assert float(s["step"]) == 1.0
        torch.testing.assert_close(s["exp_avg"], (1 - b1) * g, rtol=1e-6, atol=1e-12)
        torch.testing.assert_close(s["exp_avg_sq"], (1 - b2) * g * g, rtol=1e-5, atol=1e-16)
        firsts.append((s["exp_avg"].clone(), s["exp_avg_sq"].clone()))
    t.run(1, progress=False)
    for (m1, v1), (opt, flat) in zip(
        firsts, ((t.opt_g, t.G.flat), (t.opt_d, t.D.flat)), strict=True
    ):
        s, g = opt.state[flat], flat.grad
        torch.testing.assert_close(s["exp_avg"], b1 * m1 + (1 - b1) * g, rtol=1e-5, atol=1e-10)
        torch.testing.assert_close(
            s["exp_avg_sq"], b2 * v1 + (1 - b2) * g * g, rtol=1e-5, atol=1e-14
        )
    other = trainer(**models_kwargs(n_models))
    other.run(2, progress=False)
    assert not torch.equal(other.G.flat, t.G.flat)


def adam_expected(w_old, state, lr, betas, eps=1e-8):
    b1, b2 = betas
    step = float(state["step"])
    m, v = state["exp_avg"].double(), state["exp_avg_sq"].double()
    denom = v.sqrt() / math.sqrt(1 - b2**step) + eps
    return w_old.double() - lr / (1 - b1**step) * m / denom


@pytest.mark.parametrize("n_models", [1, 3])
def test_set_learning_rates_keeps_the_adam_state(n_models):
    t = trainer(**models_kwargs(n_models))
    t.run(5, progress=False)
    states = {
        k: {n: v.clone() for n, v in opt.state[flat].items()}
        for k, opt, flat in (("g", t.opt_g, t.G.flat), ("d", t.opt_d, t.D.flat))
    }
    t.set_learning_rates(lr_g=4e-3, lr_d=2e-3)
    assert t.config["lr_g"] == 4e-3 and t.config["lr_d"] == 2e-3
    assert t.opt_g.param_groups[0]["lr"] == 4e-3 and t.opt_d.param_groups[0]["lr"] == 2e-3
    for k, opt, flat in (("g", t.opt_g, t.G.flat), ("d", t.opt_d, t.D.flat)):
        for n, v in opt.state[flat].items():
            assert torch.equal(v, states[k][n]), (k, n)  # nothing was reset
    t.set_learning_rates(lr_d=3e-3)  # one of the two: the other stays
    assert t.config["lr_g"] == 4e-3 and t.opt_d.param_groups[0]["lr"] == 3e-3
    g5 = t.G.flat.detach().clone()
    t.run(1, progress=False)
    s = t.opt_g.state[t.G.flat]
    assert float(s["step"]) == 6.0  # the moments carried on from step 5
    want = adam_expected(g5, s, 4e-3, t.config["betas"])
    torch.testing.assert_close(t.G.flat.detach().double(), want, atol=2e-7, rtol=1e-6)
    assert float(t.opt_d.state[t.D.flat]["step"]) == 6.0
    # the same schedule twice gives the same run; another schedule another one
    u = trainer(**models_kwargs(n_models))
    u.run(5, progress=False)
    u.set_learning_rates(lr_g=4e-3, lr_d=2e-3)
    u.set_learning_rates(lr_d=3e-3)
    u.run(1, progress=False)
    assert_same_state(t, u)
    with pytest.raises(ValueError, match="lr_g"):
        t.set_learning_rates(lr_g=0)
    with pytest.raises(ValueError, match="lr_d"):
        t.set_learning_rates(lr_d=float("nan"))


@pytest.mark.parametrize("n_models", [1, 3])
def test_slope_zero_is_relu(n_models):
    t = trainer(slope=0.0, **models_kwargs(n_models))
    leaky = trainer(**models_kwargs(n_models))
    assert t.G.slope == 0 and t.D.slope == 0 and t.config["slope"] == 0.0
    assert torch.equal(t.G.flat, leaky.G.flat)  # same seeded weights, another activation
    z = torch.randn(200, 2, generator=torch.Generator().manual_seed(3))
    for e in range(n_models):
        g = t.generator(e)
        assert any(isinstance(m, torch.nn.ReLU) for m in g.net)
        assert not any(isinstance(m, torch.nn.LeakyReLU) for m in g.net)
        assert isinstance(t.discriminator(e).net[1], torch.nn.ReLU)
        ref = models.Generator(2, 2, 16, 2, seed=t.models[e][1], slope=0.0)
        with torch.no_grad():
            torch.testing.assert_close(t.sample(200, model=e, seed=3), ref(z), atol=1e-6, rtol=1e-6)
        assert not torch.allclose(
            t.sample(200, model=e, seed=3), leaky.sample(200, model=e, seed=3)
        )
    t.run(20, progress=False)
    assert np.all(np.isfinite(t.history.g_loss))


@pytest.mark.parametrize("n_models", [1, 3])
def test_tanh_output_stays_in_the_open_interval(n_models):
    t = trainer(data.grid(), g_output="tanh", **models_kwargs(n_models))
    lin = trainer(data.grid(), **models_kwargs(n_models))
    assert t.G.tanh and not t.D.tanh and torch.equal(t.G.flat, lin.G.flat)
    for e in range(n_models):
        assert isinstance(t.generator(e).net[-1], torch.nn.Tanh)
        assert torch.equal(
            t.sample(300, model=e, seed=2), torch.tanh(lin.sample(300, model=e, seed=2))
        )
    with torch.no_grad():  # far-out codes: the linear generator leaves [-1, 1], tanh never
        z = 200 * torch.randn(n_models, 500, 2, generator=torch.Generator().manual_seed(0))
        assert float(lin.G(z).abs().max()) > 1.5
        assert float(t.G(z).abs().max()) <= 1.0 and float(t.G(z).abs().max()) > 0.9
    t.run(30, progress=False)
    x = t.samples(500, seed=1)
    assert np.all(np.abs(x) < 1) and np.all(np.isfinite(t.history.g_loss))


@pytest.mark.parametrize("n_models", [1, 3])
def test_ema_follows_the_lerp_formula_and_is_what_samples_use(n_models):
    t = trainer(ema=0.9, **models_kwargs(n_models))
    assert torch.equal(t.ema_flat, t.G.flat) and t.ema_flat is not t.G.flat
    assert not t.ema_flat.requires_grad
    w0 = t.G.flat.detach().clone()
    t.run(1, progress=False)
    w1 = t.G.flat.detach().clone()
    assert torch.equal(t.ema_flat, w0.lerp(w1, 0.1))  # 0.9 * initial + 0.1 * updated
    torch.testing.assert_close(t.ema_flat, 0.9 * w0 + 0.1 * w1)
    e1 = t.ema_flat.clone()
    t.run(1, progress=False)
    assert torch.equal(t.ema_flat, e1.lerp(t.G.flat.detach(), 0.1))
    assert t.sampling_weights is t.ema_flat
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(5))
    for e in range(n_models):
        ema_net, live = t.generator(e), t.generator(e, ema=False)
        assert torch.equal(models.MLPStack([ema_net]).flat[0], t.ema_flat[e])
        assert torch.equal(models.MLPStack([live]).flat[0], t.G.flat[e].detach())
        with torch.no_grad():
            torch.testing.assert_close(
                t.sample(50, model=e, seed=5), ema_net(z), atol=1e-6, rtol=1e-6
            )
            assert not torch.allclose(t.sample(50, model=e, seed=5), live(z))
    plain = trainer(**models_kwargs(n_models))
    assert plain.ema_flat is None and plain.sampling_weights is plain.G.flat


@pytest.mark.parametrize("n_models", [1, 3])
def test_width_depth_and_latent_dim(n_models):
    t = trainer(latent_dim=3, width=8, depth=3, **models_kwargs(n_models))
    ref_g = models.Generator(3, 2, 8, 3, seed=0)
    ref_d = models.Discriminator(2, 8, 3, seed=0)
    assert t.G.flat.shape == (n_models, models.count_parameters(ref_g))
    assert t.D.flat.shape == (n_models, models.count_parameters(ref_d))
    assert t.G.sizes == [(3, 8), (8, 8), (8, 8), (8, 2)]
    assert t.D.sizes == [(2, 8), (8, 8), (8, 8), (8, 1)]
    g = t.generator(n_models - 1)
    assert [m.out_features for m in g.net if isinstance(m, torch.nn.Linear)] == [8, 8, 8, 2]
    assert g.latent_dim == 3 and t.config["latent_dim"] == 3
    t.run(5, progress=False)
    assert t.sample(7, model=n_models - 1).shape == (7, 2)
    assert np.all(np.isfinite(t.history.d_loss))


@pytest.mark.parametrize("n_models", [1, 3])
def test_device_cpu(n_models):
    t = trainer(**models_kwargs(n_models, device="cpu"))
    assert t.device == torch.device("cpu") and t.config["device"] == "cpu"
    t.run(3, progress=False)
    for tensor in (t.G.flat, t.D.flat, t.sample(4), torch.from_numpy(t.samples(4))):
        assert tensor.device.type == "cpu"


@pytest.mark.parametrize("n_models", [1, 3])
def test_from_networks_starts_from_exactly_the_given_weights(n_models):
    gens = [models.Generator(2, 2, 8, 1, seed=10 + e, slope=0.1) for e in range(n_models)]
    discs = [models.Discriminator(2, 8, 1, seed=20 + e, slope=0.1) for e in range(n_models)]
    with torch.no_grad():  # e.g. a pre-trained discriminator
        for d in discs:
            d.net[-1].bias.fill_(0.25)
    g_in = [params(g) for g in gens]
    d_in = [params(d) for d in discs]
    arg_g, arg_d = (gens[0], discs[0]) if n_models == 1 else (gens, discs)
    t = training.Trainer.from_networks(
        data.ring(),
        arg_g,
        arg_d,
        loss="hinge",
        batch_size=32,
        device="cpu",
        metric_samples=200,
        threads=1,
    )
    assert t.n_models == n_models and t.config["width"] == 8 and t.config["depth"] == 1
    assert t.config["slope"] == 0.1 and t.config["g_output"] == "linear"
    assert [s for _, s in t.models] == ([0] if n_models == 1 else list(range(n_models)))
    for e in range(n_models):
        assert same_params(t.generator(e).parameters(), gens[e].parameters())
        assert same_params(t.discriminator(e).parameters(), discs[e].parameters())
        assert torch.equal(t.G.flat[e], models.MLPStack([gens[e]]).flat[0])
        assert torch.equal(t.D.flat[e], models.MLPStack([discs[e]]).flat[0])
    with torch.no_grad():  # copied: the given modules and the trainer are independent
        gens[0].net[0].weight.add_(1.0)
    assert not same_params(t.generator(0).parameters(), gens[0].parameters())
    t.run(5, progress=False)
    for e in range(n_models):  # training moves the trainer's copies, never the given modules
        assert same_params(discs[e].parameters(), d_in[e])
        assert not same_params(t.discriminator(e).parameters(), d_in[e])
        if e > 0:
            assert same_params(gens[e].parameters(), g_in[e])


def test_from_networks_bad_input():
    g, d = models.Generator(2, 2, 8, 1, seed=0), models.Discriminator(2, 8, 1, seed=1)
    with pytest.raises(ValueError, match="width"):
        training.Trainer.from_networks(data.ring(), g, d, width=8, device="cpu")
    with pytest.raises(ValueError, match="same hidden width"):
        training.Trainer.from_networks(data.ring(), g, models.Discriminator(2, 16, 1), device="cpu")
    with pytest.raises(ValueError, match="same length"):
        training.Trainer.from_networks(data.ring(), [g, g], [d], device="cpu")
    with pytest.raises(ValueError, match="latent size"):
        training.Trainer.from_networks(
            data.Gaussian1D(), g, models.Discriminator(2, 8, 1), device="cpu"
        )


# ---------------------------------------------------------------------------------------------
# Reproducibility: seeds, splits, stops, sampling
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_models", [1, 3])
def test_same_seeds_same_run_other_seeds_another(n_models):
    a, b = (trainer(**models_kwargs(n_models, threads="auto")) for _ in range(2))
    a.run(30, progress=False)
    b.run(30, progress=False)
    assert_same_state(a, b)
    kw = models_kwargs(n_models)
    kw["seed"] = 5 if n_models == 1 else [s + 1 for s in kw["seed"]]
    c = trainer(**kw)
    c.run(30, progress=False)
    assert not np.array_equal(a.history.g_loss, c.history.g_loss)
    assert not torch.equal(a.G.flat, c.G.flat)


def test_thread_count_changes_nothing():
    runs = []
    for threads in (1, 2):
        t = trainer(threads=threads, **models_kwargs(2))
        t.run(12, progress=False)
        runs.append(t)
    assert_same_state(runs[0], runs[1])


SPLIT_CONFIGS = [
    models_kwargs(1),
    models_kwargs(3),
    models_kwargs(3, d_steps=2, ema=0.95),
    dict(loss="wasserstein-gp", seed=2, scheme="simultaneous"),
]


@pytest.mark.parametrize("kwargs", SPLIT_CONFIGS)
def test_split_runs_equal_one_run(kwargs):
    one = trainer(**kwargs)
    one.run(70, progress=False)  # past the latent chunk at 32 steps and the data chunk at 64
    split = trainer(**kwargs)
    for n in (7, 13, 1, 20, 29):
        split.run(n, progress=False)
    assert_same_state(one, split)
    one.run(3, progress=False)
    split.run(3, progress=False)
    assert_same_state(one, split)  # the streams, too, stand where they would


@pytest.mark.parametrize("n_models", [1, 3])
def test_should_stop_from_a_callback_stops_and_resumes_exactly(n_models):
    def stop(tr):
        if tr.step >= 23:
            tr.should_stop = True

    t = trainer(**models_kwargs(n_models))
    h = t.run(70, callback=stop, every=1)
    assert t.step == 23 and t.interrupted and h.step[-1] == 23
    t.run(47, progress=False)
    assert t.step == 70 and not t.interrupted and not t.should_stop
    ref = trainer(**models_kwargs(n_models))
    ref.run(70, progress=False)
    assert_same_state(t, ref)


@pytest.mark.parametrize("n_models", [1, 3])
def test_keyboard_interrupt_in_a_callback_stops_cleanly_and_resumes(n_models):
    def interrupt(tr):
        if tr.step == 30:
            raise KeyboardInterrupt

    t = trainer(**models_kwargs(n_models))
    h = t.run(100, callback=interrupt, every=10)
    assert t.step == 30 and t.interrupted and h.step.tolist() == [10, 20, 30]
    t.run(70, progress=False)
    ref = trainer(**models_kwargs(n_models))
    ref.run(100, progress=False)
    assert_same_state(t, ref)


def test_keyboard_interrupt_inside_a_step_keeps_the_history_and_returns():
    class InterruptOnCall:
        def __init__(self, n):
            self.n, self.calls = n, 0

        def sample(self, n, generator=None):
            self.calls += 1
            if self.calls == self.n:
                raise KeyboardInterrupt
            return torch.randn(n, 2, generator=generator)

    t = trainer(InterruptOnCall(14), record_every=5)  # call 1: the shape probe
    t.CHUNK = 1  # one call to the sampler per discriminator update
    h = t.run(40, progress=False)
    assert t.interrupted and t.step == 12 and h.step.tolist() == [5, 10, 12]
    assert np.all(np.isfinite(h.d_loss)) and np.all(np.isfinite(h.g_loss))
    t.run(3, progress=False)
    assert t.step == 15 and t.history.step.tolist() == [5, 10, 15] and not t.interrupted


def test_sigint_is_deferred_to_the_end_of_the_step():
    t = trainer()
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when started in the background

    def press_stop(tr):
        if tr.step == 10:
            os.kill(os.getpid(), signal.SIGINT)

    h = t.run(100, callback=press_stop, every=5)
    assert t.step == 10 and t.interrupted and h.step.tolist() == [10]
    assert signal.getsignal(signal.SIGINT) is before  # restored
    t.run(10, progress=False)
    ref = trainer()
    ref.run(20, progress=False)
    assert_same_state(t, ref)


def test_a_second_sigint_gives_up_waiting_and_the_run_still_returns():
    t = trainer(**models_kwargs(2))
    before = signal.getsignal(signal.SIGINT)

    def press_twice(tr):
        if tr.step == 10:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)

    t.run(100, callback=press_twice, every=5)
    assert t.step == 10 and t.interrupted and t.history.step.tolist() == [10]
    assert signal.getsignal(signal.SIGINT) is before


def test_sampling_never_touches_the_training_streams():
    a, b = trainer(**models_kwargs(3)), trainer(**models_kwargs(3))
    a.run(10, progress=False)
    b.run(10, progress=False)
    x = np.zeros((5, 2))
    first = a.sample(100)  # the viewing stream
    assert not torch.equal(first, a.sample(100))  # which moves on
    assert torch.equal(a.sample(64, model=1, seed=9), a.sample(64, model=1, seed=9))
    a.samples(30, seed=2)
    a.snapshot(50, model=2)
    a.logits(x)
    a.discriminator_on(x, model=1)
    a.final_metrics()
    _ = a.generator(1), a.discriminator(2)
    a.run(25, progress=False)
    b.run(25, progress=False)
    assert_same_state(a, b)


def test_callbacks_every_steps_seconds_and_at_the_end():
    seen = []
    trainer().run(25, callback=lambda tr: seen.append(tr.step), every=10)
    assert seen == [0, 10, 20, 25]
    calls = []
    trainer().run(5, callback=lambda tr: calls.append(tr.step), every_seconds=1e-9)
    assert calls == [0, 1, 2, 3, 4, 5]

    class Recorder(training.Callback):
        every = 4

        def __init__(self):
            self.log = []

        def on_start(self, tr):
            self.log.append(("start", tr.step))

        def on_progress(self, tr):
            self.log.append(("progress", tr.step))

        def on_end(self, tr):
            self.log.append(("end", tr.step, tr.interrupted))

    rec = Recorder()
    trainer().run(10, callbacks=[rec])
    assert rec.log == [("start", 0), ("progress", 4), ("progress", 8), ("end", 10, False)]


# ---------------------------------------------------------------------------------------------
# Divergence
# ---------------------------------------------------------------------------------------------


class NaNAfterCalls:
    """A 2-D target whose samples turn NaN from the n-th call of sample() on."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def sample(self, n, generator=None):
        self.calls += 1
        x = torch.randn(n, 2, generator=generator, device=generator.device)
        return x * float("nan") if self.calls >= self.n else x


def test_nan_in_the_data_raises_naming_the_step_and_keeps_the_steps_before():
    # call 1 is the Trainer's shape probe; then, with CHUNK = 1, one call per D update
    t = trainer(NaNAfterCalls(16), record_every=10)
    t.CHUNK = 1
    clean = trainer(NaNAfterCalls(10**9), record_every=10)
    clean.CHUNK = 1
    clean.run(14, progress=False)
    with pytest.raises(training.TrainingDiverged, match=r"step 15\b") as info:
        t.run(40, progress=False)
    assert isinstance(info.value, ValueError)
    assert "discriminator loss" in str(info.value)
    assert t.diverged == {0: 15}
    assert t.history.step.tolist() == [10, 14]
    # the records keep exactly what the steps before the bad one gave
    assert_same_history(t.history, clean.history)
    with pytest.raises(training.TrainingDiverged, match="step 15"):
        t.run(5, progress=False)


def test_a_huge_learning_rate_diverges_and_keeps_the_history_before():
    t = trainer(record_every=10)
    t.run(20, progress=False)
    before = curves(t.history)
    t.set_learning_rates(lr_g=1e9, lr_d=1e9)
    with pytest.raises(training.TrainingDiverged, match=r"at step \d+") as info:
        t.run(30, progress=False)
    bad = int(re.search(r"at step (\d+)", str(info.value)).group(1))
    assert 21 <= bad <= 30 and t.diverged == {0: bad}
    kept = [10, 20] + ([bad - 1] if bad - 1 > 20 else [])  # the steps before the bad one
    assert t.history.step.tolist() == kept
    for key, value in curves(t.history).items():
        if key != "step" and not key.startswith("metric"):
            assert np.array_equal(value[:2], before[key], equal_nan=True), key
    for key in training.SERIES:
        assert np.all(np.isfinite(getattr(t.history, key))), key  # nothing of the bad step


def test_lr_1e9_from_the_start_raises_at_step_1():
    t = trainer(lr_g=1e9, lr_d=1e9)
    with pytest.raises(training.TrainingDiverged, match=r"step 1\b"):
        t.run(30, progress=False)
    assert len(t.history) == 0


def test_nan_weights_raise_naming_the_step():
    t = trainer(record_every=10)
    t.run(25, progress=False)
    with torch.no_grad():
        t.G.flat[0, 0] = float("nan")
    with pytest.raises(training.TrainingDiverged, match=r"step 26\b") as info:
        t.run(10, progress=False)
    assert "discriminator loss" in str(info.value)
    assert t.history.step.tolist() == [10, 20, 25]
    assert np.all(np.isfinite(t.history.d_loss)) and np.all(np.isfinite(t.history.g_loss))


def test_a_non_finite_gradient_with_a_finite_loss_is_divergence():
    """Huge real examples, a first layer of zeros: the logits and the loss stay finite (they do
    not depend on x), the gradient of the first layer, x times the back-propagated error,
    overflows."""

    class Huge:
        def sample(self, n, generator=None):
            x = torch.randn(n, 2, generator=generator)
            return x if n == 2 else torch.full_like(x, 3e38)  # n == 2: the shape probe

    t = trainer(Huge())
    with torch.no_grad():
        layers = t.D.layers()
        layers[0][0].zero_()
        layers[1][0].mul_(10.0)
        layers[2][0].mul_(10.0)
        logits = t.logits(np.full((4, 2), 3e38), model=0)
    assert np.all(np.isfinite(logits)) and np.ptp(logits) == 0
    loss = losses.get_loss("non-saturating").d(torch.tensor(logits), torch.tensor(logits))
    assert math.isfinite(float(loss))
    with pytest.raises(training.TrainingDiverged, match=r"discriminator gradient.*step 1\b"):
        t.run(10, progress=False)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_unknown_loss_lists_the_known_ones():
    with pytest.raises(ValueError, match="loss must be one of") as info:
        trainer(loss="wasserstein")
    assert all(name in str(info.value) for name in training.LOSSES)
    assert set(training.LOSSES) == {
        "saturating",
        "non-saturating",
        "least-squares",
        "hinge",
        "wasserstein-gp",
    }


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(loss="lsgan"), "loss"),
        (dict(loss=3), "loss"),
        (dict(loss=[]), "loss"),
        (dict(loss=["hinge", "lsgan"], seed=[0, 1]), "loss"),
        (dict(loss=["hinge"], seed=[0, 1]), "same length"),
        (dict(loss=["hinge", "hinge", "hinge"], seed=[0, 1]), "same length"),
        (dict(seed=-1), "seed"),
        (dict(seed=2**70), "seed"),
        (dict(seed=2**62), "seed"),
        (dict(seed=1.5), "seed"),
        (dict(seed=True), "seed"),
        (dict(seed=[]), "seed"),
        (dict(seed=[0, -1]), "seed"),
        (dict(latent_dim=0), "latent_dim"),
        (dict(width=0), "width"),
        (dict(depth=1.5), "depth"),
        (dict(depth=0), "depth"),
        (dict(batch_size=-1), "batch_size"),
        (dict(d_steps=-1), "d_steps"),
        (dict(d_steps=1.5), "d_steps"),
        (dict(scheme="leapfrog"), "scheme"),
        (dict(scheme="simultaneous", d_steps=2), "d_steps"),
        (dict(lr_g=0), "lr_g"),
        (dict(lr_g="x"), "lr_g"),
        (dict(lr_d=float("inf")), "lr_d"),
        (dict(betas=(0.5, 1.0)), "betas"),
        (dict(betas=(-0.1, 0.9)), "betas"),
        (dict(betas=(float("nan"), 0.9)), "betas"),
        (dict(betas="ab"), "betas"),
        (dict(betas=(0.5,)), "betas"),
        (dict(betas=None), "betas"),
        (dict(g_optimizer="rmsprop"), "g_optimizer"),
        (dict(d_optimizer="rmsprop"), "d_optimizer"),
        (dict(slope=-0.1), "slope"),
        (dict(slope=1.0), "slope"),
        (dict(slope="x"), "slope"),
        (dict(g_output="sigmoid"), "g_output"),
        (dict(ema=1.0), "ema"),
        (dict(ema=0), "ema"),
        (dict(ema="x"), "ema"),
        (dict(ema=float("nan")), "ema"),
        (dict(device="tpu9"), "device"),
        (dict(device=3), "device"),
        (dict(device="mps"), "device"),
        (dict(device="xpu"), "device"),
        (dict(record_every=0), "record_every"),
        (dict(metric_every=0), "metric_every"),
        (dict(metric_samples=0), "metric_samples"),
        (dict(metric_samples=1.5), "metric_samples"),
        (dict(threads=0), "threads"),
        (dict(threads="x"), "threads"),
    ],
)
def test_trainer_bad_arguments(kwargs, name):
    if kwargs.get("device") == "mps" and torch.backends.mps.is_available():
        pytest.skip("MPS is available here")
    if kwargs.get("device") == "xpu" and hasattr(torch, "xpu") and torch.xpu.is_available():
        pytest.skip("XPU is available here")
    with pytest.raises(ValueError, match=name):
        trainer(**kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_a_value_error():
    for device in ("cuda", "cuda:0", torch.device("cuda")):
        with pytest.raises(ValueError, match="device"):
            trainer(device=device)


def test_trainer_bad_data_run_and_method_arguments():
    with pytest.raises(ValueError, match="data"):
        training.Trainer(object(), device="cpu")

    class Flat3D:
        def sample(self, n, generator=None):
            return torch.zeros(n, 2, 2)

    with pytest.raises(ValueError, match="data.sample"):
        training.Trainer(Flat3D(), device="cpu")
    t = trainer(**models_kwargs(2))
    for kwargs, name in [
        (dict(steps=-1), "steps"),
        (dict(steps=1.5), "steps"),
        (dict(steps=5, every=0, callback=print), "every"),
        (dict(steps=5, every_seconds=-1.0, callback=print), "every_seconds"),
        (dict(steps=5, callback=3), "callback"),
        (dict(steps=5, callbacks=[print]), "callbacks"),
    ]:
        with pytest.raises(ValueError, match=name):
            t.run(**kwargs)
    assert t.step == 0
    for call, name in [
        (lambda: t.snapshot(0), "n must"),
        (lambda: t.sample(0), "n must"),
        (lambda: t.sample(5, model=2), "model"),
        (lambda: t.sample(5, model=True), "model"),
        (lambda: t.sample(5, seed=-1), "seed"),
        (lambda: t.samples(0), "n must"),
        (lambda: t.generator(5), "model"),
        (lambda: t.discriminator(-1), "model"),
        (lambda: t.logits(np.zeros((3, 3))), "x must have shape"),
        (lambda: t.logits(np.zeros((3, 2)), model=9), "model"),
    ]:
        with pytest.raises(ValueError, match=name):
            call()


def test_resolve_device():
    assert training.resolve_device("cpu") == torch.device("cpu")
    want = (
        "cuda"
        if torch.cuda.is_available()
        else ("mps" if torch.backends.mps.is_available() else "cpu")
    )
    assert training.resolve_device("auto").type == want
    assert training.resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="device"):
        training.resolve_device("gpu0")


def test_public_names():
    assert gd.Trainer is training.Trainer
    assert issubclass(training.TrainingDiverged, ValueError)
    for gone in ("train", "TrainHistory", "LeanAdam", "generator_grad_norm", "HISTORY_KEYS"):
        assert not hasattr(training, gone), gone
    assert not hasattr(gd, "batched")


def test_no_private_torch_names_in_the_package():
    """The package uses public PyTorch only: no ``torch._x``, ``torch.nn._x``, ``from torch._x``
    or ``from torch import _x``."""
    src = Path(training.__file__).parent
    pattern = re.compile(
        r"\btorch(\.[A-Za-z]\w*)*\._\w|from\s+torch(\.\w+)*\s+import\s+[^\n]*\b_[A-Za-z]"
    )
    hits = []
    for path in sorted(src.rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{path.name}:{n}: {line.strip()}")
    assert len(list(src.rglob("*.py"))) > 10
    assert not hits, "\n".join(hits)
    assert pattern.search("x = torch._C._get_tracing_state()")  # the pattern does catch them
    assert pattern.search("from torch.optim import _functional")
    assert pattern.search("torch.nn._reduction.get_enum")
