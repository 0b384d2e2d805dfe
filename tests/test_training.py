"""Tests of gandemo.training: records, every option for one model and for several, exact
manual updates, reproducibility across splits and interrupts, divergence, bad input; then the
batching invariants (model e of a batched run is the solo run; models never interact), the
checkpoints, and the devices (the ``device`` fixture of conftest.py: cpu always, cuda where
there is one).
"""

from __future__ import annotations

import copy
import json
import math
import os
import pickle
import re
import signal
import subprocess
import sys
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
    ring = data.ring()
    t = trainer(width=32, batch_size=64, seed=0, metric_every=100, metric_samples=2500)
    before = metrics.mode_coverage(t.sample(2500, seed=0), ring.centers, ring.std, min_share=0)
    t.run(400, progress=False)
    h = t.history
    assert h.metric_step.tolist() == [0, 100, 200, 300, 400]
    # samples within 3 std of a mode: none at the start, 0.8 % after 400 steps (seed 0)
    hq = h.metrics["high_quality"][:, 0]
    assert hq[0] == 0 and hq[-1] > 0.005, hq
    # 400 small steps are far from the count rule's regime (modes stays 0); PacGAN's one-sample
    # rule sees it: from no mode covered to half of them (4 of 8)
    after = metrics.mode_coverage(t.sample(2500, seed=0), ring.centers, ring.std, min_share=0)
    assert before.modes == 0 and after.modes >= 4, (before, after)


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
    loss = spec.d_loss(d(real), d(fake))
    if spec.penalty_weight:
        loss = loss + spec.penalty_weight * losses.gradient_penalty(d, real, fake, u)
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
        g_loss = losses.get_loss(name).g_loss(d1(g(b["z_g"][e])))
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
        g_loss = losses.get_loss(name).g_loss(d(g(b["z"][e])))  # the same D, the same codes
        g_grads = torch.autograd.grad(g_loss, list(g.parameters()))
        for p, gr, q in zip(d.parameters(), d_grads, t.discriminator(e).parameters(), strict=True):
            torch.testing.assert_close(q, p.detach() - lr_d * gr, atol=2e-6, rtol=1e-5)
        for p, gr, q in zip(g.parameters(), g_grads, t.generator(e).parameters(), strict=True):
            torch.testing.assert_close(q, p.detach() - lr_g * gr, atol=2e-6, rtol=1e-5)
        assert t.history.d_loss[0, e] == pytest.approx(d_loss.item(), rel=1e-5, abs=1e-6)
        assert t.history.g_loss[0, e] == pytest.approx(g_loss.item(), rel=1e-5, abs=1e-6)
        # an alternating update would have used the moved discriminator: a different step
        alt = torch.autograd.grad(
            losses.get_loss(name).g_loss(t.discriminator(e)(g(b["z"][e]))), list(g.parameters())
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
    loss = losses.get_loss("non-saturating").d_loss(torch.tensor(logits), torch.tensor(logits))
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
    src = Path(training.__file__).parent.parent  # the whole package
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


# ---------------------------------------------------------------------------------------------
# Batching changes nothing: model e of a Trainer with E models (gandemo.models.MLPStack) is the
# run Trainer(data, loss=loss[e], seed=seed[e]) gives alone; models never interact; a diverging
# model stops alone; summaries per loss
# ---------------------------------------------------------------------------------------------

ALL = ["non-saturating", "wasserstein-gp", "least-squares", "hinge", "saturating"]


def batched(target=None, **kwargs):
    """A trainer as above with metrics every 25 steps."""
    return trainer(target, **{"metric_every": 25, **kwargs})


def close(a, b, atol=1e-5, rtol=1e-5):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and np.allclose(a, b, atol=atol, rtol=rtol, equal_nan=True)


def test_models_start_from_the_seeded_networks():
    seeds = [3, 7, 11]
    for kw in (dict(), dict(slope=0.0, g_output="tanh", width=8, depth=3, latent_dim=3)):
        t = batched(loss="hinge", seed=seeds, **kw)
        c = t.config
        for e, s in enumerate(seeds):
            g = models.Generator(
                c["latent_dim"],
                2,
                c["width"],
                c["depth"],
                seed=s,
                output=c["g_output"],
                slope=c["slope"],
            )
            d = models.Discriminator(2, c["width"], c["depth"], seed=s + 1, slope=c["slope"])
            assert torch.equal(t.G.flat[e], models.MLPStack([g]).flat[0])
            assert torch.equal(t.D.flat[e], models.MLPStack([d]).flat[0])
            for p, q in zip(t.generator(e).parameters(), g.parameters(), strict=True):
                assert torch.equal(p, q)
            for p, q in zip(t.discriminator(e).parameters(), d.parameters(), strict=True):
                assert torch.equal(p, q)
            solo = batched(loss="hinge", seed=s, **kw)
            assert torch.equal(solo.G.flat[0], t.G.flat[e])
            assert torch.equal(solo.D.flat[0], t.D.flat[e])


def compare_with_solo_runs(names, seeds, steps=50, **kwargs):
    """The batched run and each model's solo run, side by side."""
    bt = batched(loss=names, seed=seeds, **kwargs)
    bt.run(steps, progress=False)
    solos = []
    for name, seed in zip(names, seeds, strict=True):
        t = batched(loss=name, seed=seed, **kwargs)
        t.run(steps, progress=False)
        solos.append(t)
    return bt, solos


def test_batching_changes_nothing_plain_gradient_critic():
    """All five losses side by side, different seeds, 50 steps (the critics by plain gradient
    descent, the generators by Adam): weights, every series and every metric of model e are
    those of its solo run, to float rounding."""
    seeds = [3, 7, 11, 5, 0]
    bt, solos = compare_with_solo_runs(ALL, seeds, d_optimizer="sgd", lr_d=0.05)
    assert bt.n_models == 5 and bt.models == list(zip(ALL, seeds, strict=True))
    assert bt.history.step.tolist() == solos[0].history.step.tolist() == [10, 20, 30, 40, 50]
    for e, t in enumerate(solos):
        torch.testing.assert_close(bt.G.flat[e], t.G.flat[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(bt.D.flat[e], t.D.flat[0], atol=1e-5, rtol=1e-5)
        mine, alone = bt.history.model(e), t.history.model(0)
        assert mine.loss == ALL[e] and mine.seed == seeds[e]
        for key in training.SERIES:
            assert close(getattr(mine, key), getattr(alone, key)), (ALL[e], key)
        assert set(mine.metrics) == set(alone.metrics)
        for key in mine.metrics:
            assert close(mine.metrics[key], alone.metrics[key]), (ALL[e], key)
        torch.testing.assert_close(
            bt.sample(100, model=e, seed=1), t.sample(100, seed=1), atol=1e-5, rtol=1e-5
        )


def test_batching_changes_nothing_with_adam():
    """The default optimiser, mixed losses incl. the penalised one, different seeds.

    Adam divides each step by the root mean square of that coordinate's gradient, so a
    coordinate whose exact gradient is 0 moves by up to ~lr/10 per step in *both* runs, driven
    by float rounding (~1e-9): for the Wasserstein critic, the bias of a hidden unit that stays
    on one side of 0 over every example (the loss does not change when such a bias moves).
    Those coordinates, and only those, differ by more than rounding; every other weight, and
    every series that does not depend on them, agrees to 1e-5.
    """
    names = ["non-saturating", "wasserstein-gp", "least-squares", "saturating", "wasserstein-gp"]
    seeds = [3, 7, 11, 5, 0]
    bt = batched(loss=names, seed=seeds)
    solos = [batched(loss=n, seed=s) for n, s in zip(names, seeds, strict=True)]
    noise = torch.zeros(bt.D.flat.shape, dtype=torch.bool)
    for _ in range(50):  # step by step (split runs are one run), to see every gradient
        bt.run(1, progress=False)
        for e, t in enumerate(solos):
            t.run(1, progress=False)
            for tr, row in ((bt, e), (t, 0)):
                rms = tr.opt_d.state[tr.D.flat]["exp_avg_sq"][row].sqrt()
                noise[e] |= rms < 1e-7  # a gradient of rounding size in this coordinate so far
    for e, t in enumerate(solos):
        torch.testing.assert_close(bt.G.flat[e], t.G.flat[0], atol=1e-5, rtol=1e-5)
        diff = (bt.D.flat[e] - t.D.flat[0]).detach().abs()
        assert float(diff[~noise[e]].max()) < 1e-5, names[e]
        mine, alone = bt.history.model(e), t.history.model(0)
        if names[e] != "wasserstein-gp":
            assert float(diff.max()) < 1e-5
            keys = training.SERIES
        else:
            assert 0 < int(noise[e].sum()) <= 16  # a few hidden biases
            assert float(diff.max()) < 50 * 1e-3  # at most ~lr per step
            keys = ("d_loss", "g_grad_norm", "d_grad_norm")  # do not depend on those biases
            for key in ("g_loss", "d_real", "d_fake"):
                assert close(getattr(mine, key), getattr(alone, key), atol=1e-3), key
        for key in keys:
            assert close(getattr(mine, key), getattr(alone, key)), (names[e], key)


def test_models_do_not_interact():
    """Changing model 1's weights, or its seed, leaves models 0 and 2 bitwise unchanged."""
    names = ["non-saturating", "wasserstein-gp", "wasserstein-gp"]
    a = batched(loss=names, seed=[0, 1, 2])
    b = batched(loss=names, seed=[0, 1, 2])
    c = batched(loss=names, seed=[0, 9, 2])
    with torch.no_grad():
        gen = torch.Generator().manual_seed(0)
        b.G.flat[1] += 0.5 * torch.randn(b.G.flat.shape[1], generator=gen)
        b.D.flat[1] += 0.5 * torch.randn(b.D.flat.shape[1], generator=gen)
    for t in (a, b, c):
        t.run(40, progress=False)
    for other in (b, c):
        for e in (0, 2):
            assert torch.equal(a.G.flat[e], other.G.flat[e])
            assert torch.equal(a.D.flat[e], other.D.flat[e])
            for key in training.SERIES:
                assert np.array_equal(
                    getattr(a.history, key)[:, e], getattr(other.history, key)[:, e]
                )
            for key, v in a.history.metrics.items():
                assert np.array_equal(v[:, e], other.history.metrics[key][:, e], equal_nan=True)
        assert not torch.allclose(a.G.flat[1], other.G.flat[1])
        assert not np.allclose(a.history.g_loss[:, 1], other.history.g_loss[:, 1])


def flat_grad(net, grads):
    """Module gradients in MLPStack's layout (per layer: weight transposed, then bias)."""
    parts = []
    lins = [m for m in net.net if isinstance(m, torch.nn.Linear)]
    named = dict(zip([id(p) for p in net.parameters()], grads, strict=True))
    for lin in lins:
        parts += [named[id(lin.weight)].T.reshape(-1), named[id(lin.bias)].reshape(-1)]
    return torch.cat(parts)


def test_gradients_are_each_models_own_loss():
    names = ["least-squares", "hinge", "wasserstein-gp"]
    t = batched(loss=names, seed=[0, 4, 8])
    gens = [t.generator(e) for e in range(3)]
    discs = [t.discriminator(e) for e in range(3)]
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(3, 32, 2, generator=gen)
    z = torch.randn(3, 32, 2, generator=gen)
    u = torch.rand(3, 32, 1, generator=gen)
    frozen = torch.optim.SGD([t.D.flat], lr=0.0)  # lr 0: the update changes nothing
    d_vec, logits = training.discriminator_update(t.G, t.D, frozen, t.losses, real, z, u)
    assert d_vec.shape == (3,) and logits.shape == (3, 64)
    for e, name in enumerate(names):
        spec = losses.get_loss(name)
        d, g = discs[e], gens[e]
        fake = g(z[e]).detach()
        loss = spec.d_loss(d(real[e]), d(fake))
        if spec.penalty_weight:
            loss = loss + spec.penalty_weight * losses.gradient_penalty(d, real[e], fake, u[e])
        assert abs(loss.item() - d_vec[e].item()) < 1e-5
        want = flat_grad(d, torch.autograd.grad(loss, list(d.parameters())))
        torch.testing.assert_close(t.D.flat.grad[e], want, atol=1e-6, rtol=1e-5)
    frozen_g = torch.optim.SGD([t.G.flat], lr=0.0)
    g_vec, fake_logits = training.generator_update(t.G, t.D, frozen_g, t.losses, z)
    assert g_vec.shape == (3,) and fake_logits.shape == (3, 32)
    for e, name in enumerate(names):
        loss = losses.get_loss(name).g_loss(discs[e](gens[e](z[e])))
        assert abs(loss.item() - g_vec[e].item()) < 1e-5
        want = flat_grad(gens[e], torch.autograd.grad(loss, list(gens[e].parameters())))
        torch.testing.assert_close(t.G.flat.grad[e], want, atol=1e-6, rtol=1e-5)
    # the generator update gives the discriminator no gradient
    d_grad = t.D.flat.grad.clone()
    training.generator_update(t.G, t.D, frozen_g, t.losses, z)
    assert torch.equal(t.D.flat.grad, d_grad)


def test_history_shapes_metrics_and_summary():
    names = ["saturating"] * 2 + ["least-squares"] * 3
    t = batched(loss=names, seed=[0, 1, 0, 1, 2], record_every=10, metric_every=50)
    h = t.run(100, progress=False)
    assert h.step.tolist() == list(range(10, 101, 10)) and h.d_loss.shape == (10, 5)
    assert h.metric_step.tolist() == [0, 50, 100] and h.metrics["modes"].shape == (3, 5)
    assert np.all(np.isfinite(h.d_loss)) and np.all(np.isfinite(h.metrics["high_quality"]))
    assert h.by_loss() == {"saturating": [0, 1], "least-squares": [2, 3, 4]}
    final = t.final_metrics()
    assert set(final) == {"modes", "high_quality", "reverse_kl"} and final["modes"].shape == (5,)
    assert np.array_equal(final["modes"], h.metrics["modes"][-1])
    rows = training.summarize(t)
    assert [r["loss"] for r in rows] == ["saturating", "least-squares"]
    assert rows[0]["runs"] == 2 and rows[1]["runs"] == 3 and rows[1]["diverged"] == 0
    mean, std = rows[1]["modes"]
    assert mean == pytest.approx(h.metrics["modes"][-1, 2:].mean())
    assert std == pytest.approx(np.std(h.metrics["modes"][-1, 2:], ddof=1))
    for key in ("high_quality", "reverse_kl"):
        v = h.metrics[key][-1, :2]
        v = v[np.isfinite(v)]
        if len(v) == 2:
            assert rows[0][key][0] == pytest.approx(v.mean()) and f"{key}_runs" not in rows[0]
        else:
            assert rows[0][f"{key}_runs"] == len(v)
    assert t.samples(7).shape == (5, 7, 2)
    single = batched(loss="hinge", seed=3)
    single.run(20, progress=False)
    (row,) = training.summarize(single)
    assert row["runs"] == 1 and row["modes"][1] == 0.0


def test_same_seeds_same_result():
    """The same seeds twice, a hinge and a penalised model on the grid: bitwise the same weights,
    every series and every metric (a few small steps: only determinism is checked here)."""
    kw = dict(loss=["hinge", "wasserstein-gp"], seed=[4, 4], record_every=2, metric_every=5)
    runs = []
    for _ in range(2):
        t = batched(data.grid(), metric_samples=200, **kw)
        assert torch.equal(t.G.flat[0], t.G.flat[1])  # the same seed: the same start
        t.run(10, progress=False)
        runs.append(t)
    a, b = runs
    assert a.history.step.tolist() == [2, 4, 6, 8, 10]
    assert a.history.metric_step.tolist() == [0, 5, 10] and len(a.history.metrics) >= 3
    assert torch.equal(a.G.flat, b.G.flat) and torch.equal(a.D.flat, b.D.flat)
    for key in training.SERIES:
        np.testing.assert_array_equal(getattr(a.history, key), getattr(b.history, key), err_msg=key)
    assert set(a.history.metrics) == set(b.history.metrics)
    for key in a.history.metrics:
        np.testing.assert_array_equal(a.history.metrics[key], b.history.metrics[key], err_msg=key)
    # the same seed with two losses: the same start, two different runs
    assert not torch.equal(a.G.flat[0], a.G.flat[1])
    assert not torch.equal(a.D.flat[0], a.D.flat[1])


def test_a_diverging_model_stops_alone():
    names = ["non-saturating", "least-squares", "non-saturating"]
    t = batched(loss=names, seed=[0, 1, 2], ema=0.9)
    ref = batched(loss=names, seed=[0, 1, 2], ema=0.9)
    t.run(20, progress=False)
    with torch.no_grad():
        t.D.flat[1].fill_(float("nan"))
    t.run(15, progress=False)  # no exception: the others go on
    assert t.diverged == {1: 21}
    frozen = t.G.flat[1].clone(), t.D.flat[1].clone(), t.ema_flat[1].clone()
    assert all(torch.isfinite(f).all() for f in frozen)
    t.run(25, progress=False)
    ref.run(60, progress=False)
    assert t.step == 60 and t.diverged == {1: 21}
    assert torch.equal(t.G.flat[1], frozen[0]) and torch.equal(t.D.flat[1], frozen[1])
    assert torch.equal(t.ema_flat[1], frozen[2])
    for e in (0, 2):  # bitwise the run without the accident
        assert torch.equal(t.G.flat[e], ref.G.flat[e]) and torch.equal(t.D.flat[e], ref.D.flat[e])
        assert torch.equal(t.ema_flat[e], ref.ema_flat[e])
        for key in training.SERIES:
            assert np.array_equal(getattr(t.history, key)[:, e], getattr(ref.history, key)[:, e])
    h = t.history
    assert np.all(np.isfinite(h.d_loss[:2, 1]))  # what came before is kept
    assert np.array_equal(h.d_loss[:2, 1], ref.history.d_loss[:2, 1])
    assert np.all(np.isnan(h.d_loss[2:, 1])) and np.all(np.isnan(h.g_loss[2:, 1]))
    assert np.all(np.isfinite(h.d_loss[:, [0, 2]]))
    assert h.metric_step.tolist() == [0, 25, 50]
    assert np.all(h.metrics["modes"][1:, 1] == 0) and np.all(
        np.isnan(h.metrics["high_quality"][1:, 1])
    )
    assert np.array_equal(h.metrics["modes"][:, [0, 2]], ref.history.metrics["modes"][:, [0, 2]])
    rows = training.summarize(t)
    assert [(r["loss"], r["diverged"]) for r in rows] == [
        ("non-saturating", 0),
        ("least-squares", 1),
    ]
    # the models of the other loss are alone with their solo runs, too
    for e in (0, 2):
        solo = batched(loss=names[e], seed=e, ema=0.9)
        solo.run(60, progress=False)
        torch.testing.assert_close(t.G.flat[e], solo.G.flat[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(t.D.flat[e], solo.D.flat[0], atol=1e-5, rtol=1e-5)


def test_every_model_diverging_keeps_the_engine_alive():
    t = batched(loss="hinge", seed=[0, 1])
    t.run(10, progress=False)
    with torch.no_grad():
        t.G.flat.fill_(float("inf"))
    t.run(10, progress=False)
    assert t.diverged == {0: 11, 1: 11} and t.step == 20
    assert [r["diverged"] for r in training.summarize(t)] == [2]
    assert torch.equal(t.G.flat, torch.zeros_like(t.G.flat))


# ---------------------------------------------------------------------------------------------
# Checkpoints: save, load, continue; every inconsistent or foreign file is a ValueError
# ---------------------------------------------------------------------------------------------


def assert_same_checkpoint(a, b, *, wall=False):
    """assert_same_state, and the same config, models and divergences (and wall times)."""
    assert a.diverged == b.diverged and a.config == b.config and a.models == b.models
    assert (a.ema_flat is None) == (b.ema_flat is None)
    assert_same_state(a, b, n=30)
    if wall:
        assert np.array_equal(a.history.wall_time, b.history.wall_time)


CHECKPOINT_CONFIGS = [
    pytest.param(data.ring(), dict(seed=4), 30, id="ring"),
    pytest.param(data.Gaussian1D(1.0, 0.5), dict(loss="saturating", seed=4), 30, id="1d"),
    pytest.param(data.grid(), dict(scheme="simultaneous", seed=4), 30, id="simultaneous"),
    pytest.param(data.ring(), dict(d_steps=2, seed=4), 30, id="d_steps2"),
    pytest.param(data.ring(), dict(seed=4), 25, id="mid-window"),
    pytest.param(data.ring(), dict(seed=4), 33, id="after-latent-chunk"),
    pytest.param(
        data.ring(), dict(ema=0.9, slope=0.0, g_optimizer="sgd", lr_g=0.01), 17, id="ema-relu-sgd"
    ),
    pytest.param(
        data.ring(),
        dict(loss=["hinge", "wasserstein-gp", "least-squares"], seed=[0, 5, 9]),
        27,
        id="three-models",
    ),
    pytest.param(
        data.ring(), dict(loss="wasserstein-gp", seed=[1, 2], d_steps=0), 14, id="frozen-critic"
    ),
]


@pytest.mark.parametrize("target, kwargs, split", CHECKPOINT_CONFIGS)
def test_save_load_continue_equals_uninterrupted(tmp_path, target, kwargs, split):
    ref = trainer(target, **kwargs)
    ref.run(70, progress=False)  # past the data chunk at 64 steps

    first = trainer(target, **kwargs)
    first.run(split, progress=False)
    path = tmp_path / "run.pt"
    first.save(path)
    second = training.Trainer.load(path, target)
    assert second.step == split and second.config == first.config
    assert_same_checkpoint(first, second, wall=True)
    second.run(70 - split, progress=False)
    assert_same_checkpoint(ref, second)
    # the viewing streams, too, stand where they would have
    assert torch.equal(ref.sample(20), second.sample(20))
    ref.run(3, progress=False)
    second.run(3, progress=False)
    assert_same_checkpoint(ref, second)


def test_save_twice_and_load_twice(tmp_path):
    t = trainer(loss=["hinge", "non-saturating"], seed=[1, 2])
    t.run(12, progress=False)
    t.save(tmp_path / "a.pt")
    t.save(tmp_path / "a.pt")  # over an existing file
    u = training.Trainer.load(tmp_path / "a.pt", data.ring())
    u.save(tmp_path / "b.pt")
    v = training.Trainer.load(tmp_path / "b.pt", data.ring())
    assert_same_checkpoint(t, v, wall=True)
    assert sorted(os.listdir(tmp_path)) == ["a.pt", "b.pt"]


def test_round_trip_keeps_history_optimisers_and_learning_rates(tmp_path):
    t = trainer(seed=0)
    t.run(30, progress=False)
    t.set_learning_rates(lr_g=3e-3)
    t.run(5, progress=False)
    t.save(tmp_path / "a.pt")
    u = training.Trainer.load(tmp_path / "a.pt", data.ring())
    assert u.config["lr_g"] == 3e-3 and u.opt_g.param_groups[0]["lr"] == 3e-3
    for opt_t, opt_u, ft, fu in (
        (t.opt_g, u.opt_g, t.G.flat, u.G.flat),
        (t.opt_d, u.opt_d, t.D.flat, u.D.flat),
    ):
        st, su = opt_t.state[ft], opt_u.state[fu]
        assert set(st) == set(su) == {"step", "exp_avg", "exp_avg_sq"}
        for key in st:
            assert torch.equal(st[key], su[key]), key
        assert opt_t.param_groups[0]["betas"] == opt_u.param_groups[0]["betas"]
    assert u.snapshot().wall_time == t.snapshot().wall_time
    assert np.array_equal(u.history.wall_time, t.history.wall_time)


def test_checkpoint_is_plain_tensors_and_containers(tmp_path):
    t = trainer()
    t.run(5, progress=False)
    t.save(tmp_path / "c.pt")
    state = torch.load(tmp_path / "c.pt", weights_only=True)
    assert state["format"] == "gandemo.Trainer" and state["step"] == 5
    assert torch.equal(state["generator"]["weights"], t.G.flat.detach())


# ---------------------------------------------------------------------------------------------
# Atomic saves, bad destinations
# ---------------------------------------------------------------------------------------------


def test_a_save_that_fails_halfway_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    t = trainer(seed=3)
    t.run(10, progress=False)
    path = tmp_path / "run.pt"
    t.save(path)
    before = path.read_bytes()
    t.run(10, progress=False)
    real_fdopen = os.fdopen

    class HalfThenFull:  # the temporary file takes half of the checkpoint, then the disk is full
        def __init__(self, fd, mode):
            self.f = real_fdopen(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(bytes(data)[: len(data) // 2])
            self.f.flush()
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(training.checkpoint.os, "fdopen", HalfThenFull)
    with pytest.raises(OSError, match=re.escape(str(path))) as info:
        t.save(path)
    assert "No space left" in str(info.value) and "unchanged" in str(info.value)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.pt"]  # no temporary file left behind
    u = training.Trainer.load(path, data.ring())
    assert u.step == 10
    ref = trainer(seed=3)
    ref.run(10, progress=False)
    assert_same_checkpoint(ref, u)


def test_an_interrupt_during_a_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    t = trainer()
    path = tmp_path / "run.pt"
    t.save(path)
    before = path.read_bytes()

    def interrupted(fd):  # Ctrl-C once the temporary file is written, before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(training.checkpoint.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        t.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["run.pt"]


def test_bad_destinations_name_the_path(tmp_path):
    t = trainer()
    missing = tmp_path / "no" / "such" / "folder" / "run.pt"
    with pytest.raises(ValueError, match=re.escape(str(missing))):
        t.save(missing)
    with pytest.raises(ValueError, match=re.escape(str(tmp_path))):
        t.save(tmp_path)  # a folder
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Loading validates everything
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A checkpoint mid-window (a provisional record and a pending window), with EMA."""
    folder = tmp_path_factory.mktemp("ckpt")
    t = trainer(ema=0.9, record_every=10)
    t.run(25, progress=False)
    path = folder / "base.pt"
    t.save(path)
    return torch.load(path, weights_only=True)


def load_state(tmp_path, state, target=None):
    path = tmp_path / "edited.pt"
    torch.save(state, path)
    return training.Trainer.load(path, data.ring() if target is None else target)


def test_the_unedited_state_loads(tmp_path, saved):
    u = load_state(tmp_path, copy.deepcopy(saved))
    assert u.step == 25 and u.history.step.tolist() == [10, 20, 25]


def set_key(key, value):
    def edit(s):
        s[key] = value

    return edit


def edit_history(fn):
    def edit(s):
        fn(s["history"])

    return edit


def swap(a, b):
    def edit(s):
        s[a], s[b] = s[b], s[a]

    return edit


BAD_STATES = [
    # weights and buffers of the wrong shape or type
    (
        "generator",
        lambda s: s["generator"].__setitem__("weights", s["generator"]["weights"][:, :-1]),
        "generator weights",
    ),
    (
        "generator-dtype",
        lambda s: s["generator"].__setitem__("weights", s["generator"]["weights"].double()),
        "dtype",
    ),
    (
        "generator-list",
        lambda s: s["generator"].__setitem__("weights", s["generator"]["weights"].tolist()),
        "generator",
    ),
    (
        "discriminator",
        lambda s: s["discriminator"].__setitem__("weights", s["discriminator"]["weights"][None]),
        "discriminator weights",
    ),
    ("weights-swapped", swap("generator", "discriminator"), "weights"),
    (
        "ema-shape",
        lambda s: s.__setitem__("generator_ema", s["generator_ema"][:, 1:]),
        "moving average",
    ),
    ("ema-missing", set_key("generator_ema", None), "moving average"),
    ("real-buffer", lambda s: s.__setitem__("real_buf", s["real_buf"][:, :-1]), "real_buf"),
    ("latent-buffer", lambda s: s.__setitem__("z_buf", s["z_buf"][..., :1]), "z_buf"),
    ("latent-position", set_key("z_pos", 10**6), "z_pos"),
    ("data-position", set_key("real_pos", -1), "real_pos"),
    ("rng-size", lambda s: s["rngs"][0].__setitem__(0, s["rngs"][0][0][:10]), "checkpoint"),
    ("rng-count", lambda s: s["rngs"].pop(), "random streams"),
    # the optimisers
    ("optimisers-swapped", swap("opt_g", "opt_d"), "opt_"),
    (
        "exp-avg-shape",
        lambda s: s["opt_g"]["state"]["state"][0].__setitem__("exp_avg", torch.zeros(3)),
        "exp_avg",
    ),
    ("opt-step", lambda s: s["opt_d"]["state"]["state"][0].__setitem__("step", 3.0), "step"),
    ("opt-extra-param", lambda s: s["opt_g"]["state"]["state"].__setitem__(1, {}), "opt_g"),
    (
        "opt-two-groups",
        lambda s: s["opt_g"]["state"]["param_groups"].append(
            dict(s["opt_g"]["state"]["param_groups"][0])
        ),
        "opt_g",
    ),
    (
        "opt-lr",
        lambda s: s["opt_g"]["state"]["param_groups"][0].__setitem__("lr", -1.0),
        "learning rate",
    ),
    ("opt-not-a-state", set_key("opt_d", [1, 2]), "opt_d"),
    ("opt-missing-step", lambda s: s["opt_g"]["state"]["state"][0].pop("step"), "Adam's state"),
    # the history
    ("history-rows", edit_history(lambda h: h["rows"]["d_loss"].pop()), "d_loss"),
    ("history-steps", edit_history(lambda h: h["step"].pop()), "series"),
    ("history-wall", edit_history(lambda h: h["wall_time"].pop()), "series"),
    (
        "history-width",
        edit_history(lambda h: h["rows"]["g_loss"].__setitem__(0, [1.0, 2.0])),
        "g_loss",
    ),
    ("history-metric", edit_history(lambda h: h["metrics"]["modes"].pop()), "modes"),
    ("history-series-missing", edit_history(lambda h: h["rows"].pop("d_real")), "series"),
    (
        "history-not-provisional",
        edit_history(lambda h: h.__setitem__("provisional", False)),
        "window",
    ),
    ("history-unsorted", edit_history(lambda h: h["step"].reverse()), "history"),
    (
        "history-metric-future",
        edit_history(lambda h: h["metric_step"].__setitem__(-1, 99)),
        "metric",
    ),
    # the step and the pending window
    ("step-negative", set_key("step", -1), "step"),
    ("step-text", set_key("step", "25"), "step"),
    ("step-float", set_key("step", 25.0), "step"),
    ("step-bool", set_key("step", True), "step"),
    ("step-ahead", set_key("step", 26), "step"),
    ("step-behind", set_key("step", 24), "step"),
    ("window-junk", set_key("window", [[1, 2]]), "window"),
    ("window-empty", set_key("window", []), "window"),
    ("window-type", set_key("window", 5), "checkpoint"),
    ("wall", set_key("wall", "abc"), "abc"),
    ("diverged-model", set_key("diverged", {5: 3}), "diverged"),
    # the config, the models, the data
    ("config-unknown-key", lambda s: s["config"].__setitem__("colour", "blue"), "colour"),
    ("config-networks", lambda s: s["config"].__setitem__("_networks", None), "config"),
    ("config-width", lambda s: s["config"].__setitem__("width", 24), "shape"),
    ("config-bad-value", lambda s: s["config"].__setitem__("batch_size", 0), "batch_size"),
    ("config-betas", lambda s: s["config"].__setitem__("betas", "ab"), "betas"),
    ("config-not-a-dict", set_key("config", [1]), "checkpoint"),
    ("config-loss", lambda s: s["config"].__setitem__("loss", "hinge"), "models"),
    ("models", set_key("models", [["hinge", 0]]), "models"),
    ("dim", set_key("dim", 3), "dimension"),
    ("data", set_key("data", "GaussianMixture2D(centers=[[0.0, 0.0]], std=1.0)"), "data"),
    ("version", set_key("version", 1), "version"),
    ("format", set_key("format", "something.else"), "not a gandemo Trainer checkpoint"),
    ("missing-key", lambda s: s.pop("history"), "checkpoint"),
]


@pytest.mark.parametrize("edit, match", [p[1:] for p in BAD_STATES], ids=[p[0] for p in BAD_STATES])
def test_an_inconsistent_checkpoint_is_a_value_error(tmp_path, saved, edit, match):
    state = copy.deepcopy(saved)
    edit(state)
    with pytest.raises(ValueError, match=match) as info:
        load_state(tmp_path, state)
    assert "edited.pt" in str(info.value)  # the message names the file


# Files the loader accepts although they are wrong. Each should be a ValueError too.
SILENTLY_WRONG = [
    ("config-missing-key", lambda s: s["config"].pop("record_every"), "record_every"),
    ("config-missing-lr", lambda s: s["config"].pop("lr_g"), "lr_g"),
    (
        "opt-lr-differs-from-config",
        lambda s: s["opt_g"]["state"]["param_groups"][0].__setitem__("lr", 0.5),
        "lr",
    ),
    (
        "opt-betas-differ-from-config",
        lambda s: s["opt_d"]["state"]["param_groups"][0].__setitem__("betas", (0.9, 0.9)),
        "betas",
    ),
    ("opt-eps", lambda s: s["opt_d"]["state"]["param_groups"][0].__setitem__("eps", 1.0), "eps"),
    ("adam-without-exp-avg", lambda s: s["opt_g"]["state"]["state"][0].pop("exp_avg"), "exp_avg"),
    ("adam-state-dropped", lambda s: s["opt_g"]["state"].__setitem__("state", {}), "opt_g"),
    ("history-models", edit_history(lambda h: h.__setitem__("models", [["hinge", 7]])), "models"),
]


@pytest.mark.parametrize(
    "edit, match", [p[1:] for p in SILENTLY_WRONG], ids=[p[0] for p in SILENTLY_WRONG]
)
def test_a_checkpoint_that_disagrees_with_its_own_config_is_a_value_error(
    tmp_path, saved, edit, match
):
    state = copy.deepcopy(saved)
    edit(state)
    with pytest.raises(ValueError, match=match):
        load_state(tmp_path, state)


def test_swapped_optimiser_states_of_players_of_one_shape_are_a_value_error(tmp_path):
    """1-D data and a 1-D latent code: both players have 321 weights and Adam states of one
    shape; exchanging opt_g and opt_d must still be noticed."""
    t = trainer(data.Gaussian1D(), latent_dim=1)
    assert t.G.flat.shape == t.D.flat.shape
    t.run(15, progress=False)
    t.save(tmp_path / "a.pt")
    state = torch.load(tmp_path / "a.pt", weights_only=True)
    state["opt_g"], state["opt_d"] = state["opt_d"], state["opt_g"]
    with pytest.raises(ValueError, match="opt_"):
        load_state(tmp_path, state, data.Gaussian1D())


def test_swapped_optimisers_of_two_kinds_are_a_value_error(tmp_path):
    t = trainer(g_optimizer="sgd")
    t.run(5, progress=False)
    t.save(tmp_path / "a.pt")
    state = torch.load(tmp_path / "a.pt", weights_only=True)
    state["opt_g"], state["opt_d"] = state["opt_d"], state["opt_g"]
    with pytest.raises(ValueError, match="does not hold the generator's state"):
        load_state(tmp_path, state)


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file(tmp_path, fraction):
    t = trainer()
    t.run(5, progress=False)
    t.save(tmp_path / "full.pt")
    raw = (tmp_path / "full.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(raw[: int(len(raw) * fraction)])
    with pytest.raises(ValueError, match="not a readable gandemo checkpoint"):
        training.Trainer.load(tmp_path / "cut.pt", data.ring())


class Foreign:
    def __reduce__(self):
        return (print, ("this should never run",))


def test_foreign_and_missing_files(tmp_path, capsys):
    (tmp_path / "text.pt").write_bytes(b"this is not a checkpoint")
    torch.save({"hello": torch.zeros(2)}, tmp_path / "dict.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    (tmp_path / "code.pt").write_bytes(pickle.dumps(Foreign()))
    torch.save({"obj": Foreign()}, tmp_path / "code-in-zip.pt")
    for name, match in [
        ("text.pt", "not a readable gandemo checkpoint"),
        ("dict.pt", "not a gandemo Trainer checkpoint"),
        ("list.pt", "not a gandemo Trainer checkpoint"),
        ("code.pt", "not a readable gandemo checkpoint"),
        ("code-in-zip.pt", "not a readable gandemo checkpoint"),
        ("missing.pt", "does not exist"),
    ]:
        with pytest.raises(ValueError, match=match):
            training.Trainer.load(tmp_path / name, data.ring())
    assert "should never run" not in capsys.readouterr().out
    with pytest.raises(ValueError, match="not a file"):
        training.Trainer.load(tmp_path, data.ring())


def test_data_that_does_not_match(tmp_path):
    t = trainer()
    t.save(tmp_path / "ring.pt")
    with pytest.raises(ValueError, match="dimension"):
        training.Trainer.load(tmp_path / "ring.pt", data.Gaussian1D())
    with pytest.raises(ValueError, match="does not match"):
        training.Trainer.load(tmp_path / "ring.pt", data.grid())
    with pytest.raises(ValueError, match="does not match"):
        training.Trainer.load(tmp_path / "ring.pt", data.ring(num_modes=6))
    with pytest.raises(ValueError, match="data"):
        training.Trainer.load(tmp_path / "ring.pt", object())
    u = training.Trainer.load(tmp_path / "ring.pt", data.ring())  # an equal target is fine
    assert u.step == 0


def test_a_diverged_model_and_its_mask_survive_a_checkpoint(tmp_path):
    t = trainer(loss="hinge", seed=[0, 1, 2])
    t.run(10, progress=False)
    with torch.no_grad():
        t.G.flat[2].fill_(float("nan"))
    t.run(10, progress=False)
    assert t.diverged == {2: 11}
    t.save(tmp_path / "d.pt")
    u = training.Trainer.load(tmp_path / "d.pt", data.ring())
    assert u.diverged == {2: 11}
    t.run(10, progress=False)
    u.run(10, progress=False)
    assert_same_checkpoint(t, u)
    assert torch.count_nonzero(u.G.flat[2]) == 0


def test_another_device_type_warns_and_continues(tmp_path):
    """A checkpoint from another kind of device (here: one that says so) loads with a warning;
    the weights are exact, the random streams restart."""
    t = trainer(seed=1)
    t.run(20, progress=False)
    t.save(tmp_path / "a.pt")
    state = torch.load(tmp_path / "a.pt", weights_only=True)
    state["device_type"] = "cuda"
    torch.save(state, tmp_path / "b.pt")
    with pytest.warns(UserWarning, match="cuda"):
        u = training.Trainer.load(tmp_path / "b.pt", data.ring())
    assert u.step == 20 and torch.equal(u.G.flat, t.G.flat) and torch.equal(u.D.flat, t.D.flat)
    for key, value in curves(t.history).items():
        assert np.array_equal(value, curves(u.history)[key], equal_nan=True), key
    u.run(10, progress=False)
    assert u.step == 30 and np.all(np.isfinite(u.history.d_loss))


# ---------------------------------------------------------------------------------------------
# Devices: each test runs on the cpu and, where there is one, on cuda (conftest.py's ``device``)
# ---------------------------------------------------------------------------------------------

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
ON_DEVICE = dict(width=32, depth=2, batch_size=64, metric_samples=500, metric_every=20, threads=1)
DEVICE_MIX = dict(loss=["non-saturating", "wasserstein-gp", "hinge"], seed=[0, 1, 2])


def test_auto_picks_cuda_where_there_is_one_for_large_runs_only(monkeypatch):
    big = dict(ON_DEVICE, width=64, batch_size=128)  # 16 ring models: ACCELERATOR_WORK
    t = training.Trainer(
        data.ring(),
        device="auto",
        loss=["hinge"] * 16,
        seed=list(range(16)),
        **{**big, "metric_samples": 100},
    )
    assert t.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    small = training.Trainer(data.ring(), device="auto", seed=0, **ON_DEVICE)
    assert small.device.type == "cpu"  # the CPU is the faster for one small model
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the rule, on any machine
    assert training.resolve_device("auto", work=training.ACCELERATOR_WORK - 1).type == "cpu"
    assert training.resolve_device("auto", work=training.ACCELERATOR_WORK).type == "cuda"
    assert training.resolve_device("auto").type == "cuda"  # no work given: the accelerator
    assert training.Trainer(data.ring(), device="auto", seed=0, **ON_DEVICE).device.type == "cpu"


def test_training_stays_on_the_device_and_moves_towards_the_ring(device):
    ring = data.ring()
    radius = float(np.linalg.norm(np.asarray(ring.centers), axis=1).mean())
    t = training.Trainer(ring, device=device, seed=0, **{**ON_DEVICE, "metric_every": 50})
    assert t.device.type == device
    start = float(t.sample(2000, seed=1).norm(dim=1).mean())
    t.run(200, progress=False)
    assert t.G.flat.device.type == device and t.D.flat.device.type == device
    assert t.opt_g.state[t.G.flat]["exp_avg"].device.type == device
    x = t.sample(2000, seed=1)
    assert x.device.type == "cpu"  # samples come back to the CPU
    assert np.all(np.isfinite(t.history.d_loss))
    # the samples start near the origin (mean radius ~0.2 on the cpu) and reach the ring (~0.9)
    end = float(x.norm(dim=1).mean())
    assert abs(end - radius) < 0.5 * abs(start - radius), (start, end, radius)


@pytest.mark.parametrize("kwargs", [dict(seed=3), DEVICE_MIX], ids=["one", "three"])
def test_same_seed_same_run_on_a_device(device, kwargs):
    a, b = (training.Trainer(data.ring(), device=device, **kwargs, **ON_DEVICE) for _ in range(2))
    a.run(40, progress=False)
    b.run(40, progress=False)
    assert a.history.metric_step.tolist() == [0, 20, 40]
    assert_same_state(a, b)


def test_batched_run_equals_solo_runs_on_a_device(device):
    kw = dict(ON_DEVICE, device=device, d_optimizer="sgd", lr_d=0.05)
    bt = training.Trainer(data.ring(), **DEVICE_MIX, **kw)
    bt.run(40, progress=False)
    assert bt.G.flat.device.type == device and not bt.diverged
    for e, (name, seed) in enumerate(bt.models):
        t = training.Trainer(data.ring(), loss=name, seed=seed, **kw)
        t.run(40, progress=False)
        torch.testing.assert_close(bt.G.flat[e], t.G.flat[0], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(bt.D.flat[e], t.D.flat[0], atol=1e-4, rtol=1e-4)
        np.testing.assert_allclose(
            bt.history.d_loss[:, e], t.history.d_loss[:, 0], atol=1e-4, rtol=1e-4
        )


def test_split_and_checkpointed_runs_on_a_device_equal_one_run(device, tmp_path):
    ref = training.Trainer(data.ring(), device=device, **DEVICE_MIX, **ON_DEVICE)
    ref.run(50, progress=False)
    t = training.Trainer(data.ring(), device=device, **DEVICE_MIX, **ON_DEVICE)
    t.run(17, progress=False)
    t.run(13, progress=False)
    t.save(tmp_path / "run.pt")
    u = training.Trainer.load(tmp_path / "run.pt", data.ring())
    assert u.device.type == device
    u.run(20, progress=False)
    assert_same_state(ref, u)


@needs_cuda
def test_cuda_checkpoint_loads_on_cpu_with_a_warning(tmp_path):
    t = training.Trainer(data.ring(), device="cuda", **DEVICE_MIX, **ON_DEVICE)
    t.run(50, progress=False)
    t.save(tmp_path / "run.pt")
    with pytest.warns(UserWarning, match="cuda"):
        u = training.Trainer.load(tmp_path / "run.pt", data.ring(), device="cpu")
    assert u.device.type == "cpu" and u.step == 50 and len(u.history) == len(t.history)
    assert torch.equal(u.G.flat, t.G.flat.detach().cpu())
    assert torch.equal(u.D.flat, t.D.flat.detach().cpu())
    z = torch.randn(100, 2)
    for e in range(t.n_models):
        with torch.no_grad():
            want = t.generator(e)(z)
            got = u.generator(e)(z)
        assert torch.equal(got, want)
    u.run(10, progress=False)
    assert u.step == 60 and np.all(np.isfinite(u.history.d_loss))


@needs_cuda
def test_cli_trains_on_cuda():
    """(The CLI's own tests are in test_cli.py; this is its one CUDA check.)"""
    cmd = [sys.executable, "-m", "gandemo", "train", "--data", "ring", "--steps", "300"]
    out = subprocess.run(
        [*cmd, "--device", "cuda", "--json"], capture_output=True, text=True, check=True
    ).stdout
    summary = json.loads(out)
    assert summary["device"].startswith("cuda") and summary["steps"] == 300
    # 300 steps cover no ring mode by the count rule on the CPU either: what a run this short
    # shows is a trained, finite model, not its coverage
    assert 0 <= summary["modes"] <= 8 and 0 <= summary["high_quality"] <= 1
    assert summary["total_steps"] == 300 and summary["steps_per_s"] > 0


def test_generator_gradient_is_minus_the_loss_derivative_times_the_logit_gradient():
    t = training.Trainer(
        data.ring(), loss=["non-saturating", "least-squares"], seed=[0, 1], **SMALL
    )
    t.run(20, progress=False)
    x = t.sample(7).numpy().astype(np.float64)
    for e, factor in ((0, lambda a: 1 - torch.sigmoid(a)), (1, lambda a: 1 - a)):
        d = t.discriminator(e)  # a CPU copy: another computation of a(x) and its gradient
        xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
        a = d(xt).reshape(-1)
        (grad_a,) = torch.autograd.grad(a.sum(), xt)
        want = (factor(a.detach())[:, None] * grad_a).numpy()
        got = t.generator_gradient(x, model=e)
        assert got.shape == x.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="x must have shape"):
        t.generator_gradient(np.zeros((3, 3)))


def test_set_loss_and_d_steps_change_the_objective_in_place():
    t = training.Trainer(data.ring(), seed=0, **SMALL)
    t.run(10, progress=False)
    weights, adam = t.G.flat.detach().clone(), t.opt_g.state_dict()["state"][0]["step"].clone()
    t.set_loss("hinge")
    t.set_d_steps(2)
    assert torch.equal(t.G.flat, weights) and t.opt_g.state_dict()["state"][0]["step"] == adam
    assert t.loss_changes == [(10, 0, "non-saturating", "hinge")]
    assert t.history.model(0).loss == "hinge" and t.config.loss == ("hinge",)
    assert t.config["d_steps"] == 2
    t.run(10, progress=False)
    assert t.step == 20 and np.all(np.isfinite(t.history.d_loss))
    with pytest.raises(ValueError, match="loss"):
        t.set_loss("wasserstein")
    with pytest.raises(ValueError, match="d_steps"):
        t.set_d_steps(-1)


# ---------------------------------------------------------------------------------------------
# Per-model learning rates and continuing a subset of the models
# ---------------------------------------------------------------------------------------------

RATE_MIX = dict(loss=["hinge", "hinge", "wasserstein-gp"], seed=[0, 1, 2])


def test_per_model_learning_rates_equal_solo_runs_at_those_rates():
    lr_g, lr_d = [1e-3, 3e-3, 5e-4], {"hinge": 2e-3, "wasserstein-gp": 4e-4}
    bt = batched(**RATE_MIX, lr_g=lr_g, lr_d=lr_d, d_steps=2)
    assert bt.config["lr_g"] == tuple(lr_g) and bt.config["lr_d"] == (2e-3, 2e-3, 4e-4)
    bt.run(30, progress=False)
    for e, (name, seed) in enumerate(bt.models):
        t = batched(loss=name, seed=seed, lr_g=lr_g[e], lr_d=lr_d[name], d_steps=2)
        t.run(30, progress=False)
        assert t.opt_d.state[t.D.flat]["step"] == bt.opt_d.state[bt.D.flat]["step"] == 60
        torch.testing.assert_close(bt.G.flat[e], t.G.flat[0], atol=1e-5, rtol=1e-5)
        assert close(bt.history.model(e).g_loss, t.history.model(0).g_loss, atol=1e-4)


def test_one_rate_for_every_model_is_stored_as_a_number():
    t = batched(**RATE_MIX, lr_g=[2e-3] * 3, lr_d={"hinge": 1e-3, "wasserstein-gp": 1e-3})
    assert t.config["lr_g"] == 2e-3 and t.config["lr_d"] == 1e-3
    assert t.opt_g._runs is None and t.opt_g.param_groups[0]["lr"] == 2e-3


def test_per_model_rates_changed_in_place_equal_a_run_started_with_them():
    a = batched(**RATE_MIX)
    a.run(10, progress=False)
    a.set_learning_rates(lr_g=[1e-3, 2e-3, 3e-3], lr_d={"hinge": 5e-4, "wasserstein-gp": 2e-3})
    a.run(10, progress=False)
    for e, (name, seed) in enumerate(a.models):
        b = batched(loss=name, seed=seed)
        b.run(10, progress=False)
        b.set_learning_rates(lr_g=[1e-3, 2e-3, 3e-3][e], lr_d=2e-3 if e == 2 else 5e-4)
        b.run(10, progress=False)
        torch.testing.assert_close(a.G.flat[e], b.G.flat[0], atol=1e-5, rtol=1e-5)


def test_per_model_rates_survive_a_checkpoint(tmp_path):
    kw = dict(RATE_MIX, lr_g=[1e-3, 2e-3, 5e-4], lr_d={"hinge": 2e-3, "wasserstein-gp": 4e-4})
    ref = batched(**kw)
    ref.run(40, progress=False)
    t = batched(**kw)
    t.run(25, progress=False)
    t.save(tmp_path / "rates.pt")
    u = training.Trainer.load(tmp_path / "rates.pt", data.ring())
    assert u.config["lr_g"] == (1e-3, 2e-3, 5e-4)
    u.run(15, progress=False)
    assert_same_state(ref, u)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lr_g=[1e-3, 1e-3]), "lr_g must give one rate per model \\(3\\); got 2"),
        (
            dict(lr_d={"hinge": 1e-3}),
            "lr_d gives no rate for the loss\\(es\\) \\['wasserstein-gp'\\]",
        ),
        (dict(lr_g=[1e-3, -1.0, 1e-3]), "lr_g must be a finite positive number"),
        (dict(lr_d=True), "lr_d must be a positive number; got True"),
        (dict(lr_g=[1e-3, 2e-3, 1e-3], g_optimizer="sgd"), "lr_g: one rate per model needs"),
    ],
)
def test_bad_per_model_rates_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        batched(**RATE_MIX, **kwargs)


def test_set_learning_rates_changes_nothing_when_one_rate_is_bad():
    t = batched(**RATE_MIX, lr_g=1e-3, lr_d=2e-3)
    with pytest.raises(ValueError, match="lr_d"):
        t.set_learning_rates(lr_g=[5e-3, 5e-3, 5e-3], lr_d=[1.0, 1.0])
    with pytest.raises(ValueError, match="lr_g"):
        t.set_learning_rates(lr_g=True)
    assert t.config["lr_g"] == 1e-3 and t.opt_g.param_groups[0]["lr"] == 1e-3
    assert t.config["lr_d"] == 2e-3 and t.opt_d._runs is None


def test_select_in_the_same_order_continues_exactly():
    kw = dict(RATE_MIX, lr_g=[1e-3, 2e-3, 5e-4], ema=0.9)
    ref = batched(**kw)
    ref.run(47, progress=False)
    t = batched(**kw)
    t.run(23, progress=False)  # mid-window: a provisional record travels too
    u = t.select([0, 1, 2])
    assert u is not t and u.config == t.config
    u.run(24, progress=False)
    assert_same_state(ref, u)
    assert t.step == 23  # the source is left as it was


def test_select_a_subset_continues_those_models_up_to_rounding():
    kw = dict(loss=["non-saturating", "wasserstein-gp", "least-squares"], seed=[3, 4, 5])
    ref = batched(**kw, lr_g=[1e-3, 2e-3, 3e-3])
    ref.run(60, progress=False)
    t = batched(**kw, lr_g=[1e-3, 2e-3, 3e-3])
    t.run(30, progress=False)
    u = t.select([2, 0])
    assert u.models == [("least-squares", 5), ("non-saturating", 3)]
    assert u.config["lr_g"] == (3e-3, 1e-3)
    head = u.history.model(0)
    assert np.array_equal(head.d_loss, t.history.model(2).d_loss)
    assert np.array_equal(head.metrics["modes"], t.history.model(2).metrics["modes"])
    u.run(30, progress=False)
    for new, old in ((0, 2), (1, 0)):
        torch.testing.assert_close(u.G.flat[new], ref.G.flat[old], atol=1e-5, rtol=1e-5)
        assert close(u.history.model(new).g_loss, ref.history.model(old).g_loss, atol=1e-4)


def test_select_bad_input():
    t = batched(**RATE_MIX)
    for bad in ([], [0, 0], [3], "0", None, [True]):
        with pytest.raises(ValueError, match="model"):
            t.select(bad)


# ---------------------------------------------------------------------------------------------
# Nothing lost and nothing overwritten (the reliability probe of 2026-12-04)
# ---------------------------------------------------------------------------------------------


def test_save_replaces_nothing_but_a_regular_file(tmp_path):
    t = trainer()
    pipe = tmp_path / "pipe.pt"
    os.mkfifo(pipe)
    link = tmp_path / "link.pt"  # a link to the pipe: what it points to is what counts
    link.symlink_to("pipe.pt")
    for path in (pipe, link):
        with pytest.raises(ValueError, match="not a regular file") as info:
            t.save(path)
        assert str(path) in str(info.value)
    assert os.path.islink(link) and not os.path.isfile(pipe)
    assert sorted(os.listdir(tmp_path)) == ["link.pt", "pipe.pt"]
    with pytest.raises(ValueError, match="not a regular file"):  # a check: nothing written
        training.checkpoint.check_writable_file("/dev/null", "checkpoint path")


def test_save_respects_a_write_protected_file(tmp_path):
    t = trainer()
    path = tmp_path / "keep.pt"
    t.save(path)
    before = path.read_bytes()
    os.chmod(path, 0o444)
    t.run(3, progress=False)
    with pytest.raises(ValueError, match="write-protected"):
        t.save(path)  # root included
    assert path.read_bytes() == before


def test_save_through_a_symbolic_link_updates_the_file_it_points_to(tmp_path):
    t = trainer()
    t.save(tmp_path / "target.pt")
    link = tmp_path / "link.pt"
    link.symlink_to("target.pt")
    t.run(5, progress=False)
    t.save(link)
    assert link.is_symlink() and sorted(os.listdir(tmp_path)) == ["link.pt", "target.pt"]
    assert training.Trainer.load(tmp_path / "target.pt", data.ring()).step == 5


def test_a_save_over_the_file_size_limit_names_the_path_and_the_cause(tmp_path):
    resource = pytest.importorskip("resource")
    t = trainer()
    t.run(5, progress=False)
    path = tmp_path / "run.pt"
    t.save(path)
    before = path.read_bytes()
    t.run(5, progress=False)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) // 2, hard))  # Python ignores SIGXFSZ
    try:
        with pytest.raises(OSError, match="File too large") as info:
            t.save(path)  # was torch's RuntimeError "unexpected pos ..."
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert str(path) in str(info.value) and "unchanged" in str(info.value)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["run.pt"]


def test_a_save_from_another_thread_waits_for_a_step_boundary(tmp_path):
    import threading
    import time

    t = trainer(ema=0.9, record_every=7)
    worker = threading.Thread(target=t.run, args=(10**7,), kwargs=dict(progress=False))
    worker.start()
    try:
        while t.step < 5:
            time.sleep(0.001)
        for i in range(20):
            t.save(tmp_path / f"{i}.pt")
            time.sleep(0.002)
    finally:
        t.should_stop = True
        worker.join()
    for i in range(20):
        u = training.Trainer.load(tmp_path / f"{i}.pt", data.ring())  # every save loads
        assert u.step > 0
    steps = t.history.step.tolist()
    assert steps == sorted(set(steps))  # no duplicate records


def test_a_save_removes_the_temporary_files_of_killed_saves(tmp_path):
    import time

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    old = time.time() - 3600
    orphan = tmp_path / f".gandemo-{gone.pid}-abcd1234.tmp"  # a save killed an hour ago
    alive = tmp_path / f".gandemo-{os.getppid()}-efgh5678.tmp"  # its writer still runs
    recent = tmp_path / f".gandemo-{gone.pid}-ijkl9012.tmp"  # too recent to be sure
    for f in (orphan, alive, recent):
        f.write_bytes(b"PK\x03\x04 partial")
    for f in (orphan, alive):
        os.utime(f, (old, old))
    trainer().save(tmp_path / "run.pt")
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, recent.name, "run.pt"])


def _window_entry(state, kind):
    return next(w for w in state["window"] if w[1] == kind)


def _nan_at(get):
    def edit(s):
        get(s).view(-1)[0] = math.nan

    return edit


NON_FINITE_STATES = [
    ("generator-nan", _nan_at(lambda s: s["generator"]["weights"]), "generator weights"),
    (
        "discriminator-inf",
        lambda s: s["discriminator"]["weights"].view(-1).__setitem__(3, math.inf),
        "discriminator weights",
    ),
    ("ema-nan", _nan_at(lambda s: s["generator_ema"]), "moving average"),
    ("exp-avg-nan", _nan_at(lambda s: s["opt_g"]["state"]["state"][0]["exp_avg"]), "exp_avg"),
    (
        "exp-avg-sq-negative",
        lambda s: s["opt_d"]["state"]["state"][0]["exp_avg_sq"].view(-1).__setitem__(0, -1.0),
        "exp_avg_sq is negative",
    ),
    (
        "adam-step-negative",
        lambda s: s["opt_d"]["state"]["state"][0].__setitem__("step", torch.tensor(-5.0)),
        "step is negative",
    ),
    ("real-buffer-nan", _nan_at(lambda s: s["real_buf"]), "real minibatches"),
    ("pending-logits-nan", _nan_at(lambda s: _window_entry(s, "d")[3]), "pending logits"),
    ("pending-loss-nan", _nan_at(lambda s: _window_entry(s, "g")[2]), "pending losses"),
]


@pytest.mark.parametrize(
    "edit, match", [p[1:] for p in NON_FINITE_STATES], ids=[p[0] for p in NON_FINITE_STATES]
)
def test_a_checkpoint_with_non_finite_values_is_a_value_error(tmp_path, saved, edit, match):
    state = copy.deepcopy(saved)
    edit(state)
    with pytest.raises(ValueError, match=match) as info:
        load_state(tmp_path, state)
    assert "edited.pt" in str(info.value)


def test_a_refused_pickle_gives_no_advice_to_allow_it(tmp_path, capsys):
    (tmp_path / "code.pt").write_bytes(pickle.dumps(Foreign()))
    torch.save({"obj": Foreign()}, tmp_path / "code-in-zip.pt")
    for name in ("code.pt", "code-in-zip.pt"):
        with pytest.raises(ValueError, match="refused") as info:
            training.Trainer.load(tmp_path / name, data.ring())
        message = str(info.value)
        assert str(tmp_path / name) in message
        for advice in ("safe_globals", "weights_only", "allowlist", "trust"):
            assert advice not in message, (advice, message)
    assert "should never run" not in capsys.readouterr().out


def test_load_finds_the_named_target_it_was_trained_on(tmp_path):
    t = trainer(data.grid())
    t.run(3, progress=False)
    t.save(tmp_path / "grid.pt")
    u = training.Trainer.load(tmp_path / "grid.pt")  # no target given
    assert u.step == 3 and u.data.num_modes == 25
    assert torch.equal(u.G.flat, t.G.flat)
    trainer(data.ring(num_modes=6)).save(tmp_path / "six.pt")
    with pytest.raises(ValueError, match="none of the named targets"):
        training.Trainer.load(tmp_path / "six.pt")


# Data and metrics refuse what they cannot score


def test_digit_metrics_refuses_pixels_outside_the_unit_range():
    from gandemo import digits

    real = digits.classifier().test_images[:20]
    assert digits.digit_metrics(real).n == 20
    for bad in ((real + 1) * 8, real * 1e30):  # scikit-learn's 0..16 scale; huge pixels
        with pytest.raises(ValueError, match=r"images must hold pixels in \[-1, 1\]"):
            digits.digit_metrics(bad)
    with pytest.raises(ValueError, match="threshold must be a number"):
        digits.digit_metrics(real, threshold="0.5")


def test_metric_messages_name_their_argument():
    with pytest.raises(ValueError, match="mass must be a number in"):
        metrics.jsd_to_density(np.zeros(10), data.Gaussian1D(), mass=2)
    ring = data.ring()
    with pytest.raises(ValueError, match="samples must be real-valued"):
        metrics.mode_coverage(np.ones((5, 2)) * (1 + 1j), ring.centers, ring.std)


def test_a_target_too_large_for_float32_is_a_value_error():
    with pytest.raises(ValueError, match="too large for torch.float32"):
        data.Gaussian1D(mean=1e300).sample(5)
    with pytest.raises(ValueError, match="too large"):
        data.GaussianMixture1D((0.0, 1e300), (1.0, 1.0)).sample(50)
    assert torch.isfinite(data.Gaussian1D(mean=1e300).sample(5, dtype=torch.float64)).all()


def test_losses_take_extended_precision_numbers():
    logits = [0.3, -1.5]
    for name, loss in losses.LOSSES.items():
        wide = loss.g_loss(np.array(logits, dtype=np.longdouble))  # was a TypeError
        assert math.isclose(float(wide), float(loss.g_loss(np.array(logits))), rel_tol=1e-12), name


def test_small_models_train_on_one_thread_and_restore_the_setting():
    """On the CPU, small models (models x batch x width <= SMALL_WORK) take one thread in
    run() and in single updates, whatever torch had; the setting is restored after."""
    saved = torch.get_num_threads()
    seen = []
    try:
        torch.set_num_threads(2)
        t = training.Trainer(data.ring(), width=16, batch_size=32, device="cpu", threads="auto")
        t.run(12, callback=lambda tr: seen.append(torch.get_num_threads()), every=5)
        seen = seen[:-1]  # the last call comes at the end, after the setting is restored
        t.update_d()
        t.update_g()
        assert set(seen) == {1} and torch.get_num_threads() == 2
        big = dict(width=64, batch_size=1024, device="cpu")
        assert training.Trainer(data.ring(), **big)._threads_now() == 2
        assert training.Trainer(data.ring(), **big, threads=1)._threads_now() == 1
    finally:
        torch.set_num_threads(saved)


def test_cpu_threads_sets_and_restores():
    saved = torch.get_num_threads()
    with gd.utils.cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == saved
    with pytest.raises(ValueError, match="n must be"):
        with gd.utils.cpu_threads(0):
            pass


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(metric_samples=1), "metric_samples must be at least 2"),
        (dict(lr_g="0.1"), "lr_g must be a positive number; got '0.1'"),
    ],
)
def test_more_bad_settings_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        trainer(**kwargs)


def test_sample_seed_out_of_range_is_a_value_error():
    with pytest.raises(ValueError, match="seed"):
        trainer().sample(5, seed=2**64)
