"""Batching changes nothing: model e of a Trainer with E models (gandemo.models.MLPStack) is the
run ``Trainer(data, loss=loss[e], seed=seed[e])`` gives alone; models never interact; a
diverging model stops alone; summaries per loss. (What tests/test_batched.py checked for the
former gandemo.batched.BatchedTrainer.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gandemo import data, losses, models, training

SMALL = dict(
    width=16, depth=2, batch_size=32, device="cpu", metric_samples=300, metric_every=25, threads=1
)
ALL = ["non-saturating", "wasserstein-gp", "least-squares", "hinge", "saturating"]


def trainer(target=None, **kwargs):
    return training.Trainer(data.ring() if target is None else target, **{**SMALL, **kwargs})


def close(a, b, atol=1e-5, rtol=1e-5):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and np.allclose(a, b, atol=atol, rtol=rtol, equal_nan=True)


def test_models_start_from_the_seeded_networks():
    seeds = [3, 7, 11]
    for kw in (dict(), dict(slope=0.0, g_output="tanh", width=8, depth=3, latent_dim=3)):
        t = trainer(loss="hinge", seed=seeds, **kw)
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
            solo = trainer(loss="hinge", seed=s, **kw)
            assert torch.equal(solo.G.flat[0], t.G.flat[e])
            assert torch.equal(solo.D.flat[0], t.D.flat[e])


def compare_with_solo_runs(names, seeds, steps=50, **kwargs):
    """The batched run and each model's solo run, side by side."""
    bt = trainer(loss=names, seed=seeds, **kwargs)
    bt.run(steps, progress=False)
    solos = []
    for name, seed in zip(names, seeds, strict=True):
        t = trainer(loss=name, seed=seed, **kwargs)
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
    bt = trainer(loss=names, seed=seeds)
    solos = [trainer(loss=n, seed=s) for n, s in zip(names, seeds, strict=True)]
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
    a = trainer(loss=names, seed=[0, 1, 2])
    b = trainer(loss=names, seed=[0, 1, 2])
    c = trainer(loss=names, seed=[0, 9, 2])
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
    t = trainer(loss=names, seed=[0, 4, 8])
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
        loss = spec.d(d(real[e]), d(fake))
        if spec.penalty:
            loss = loss + spec.penalty * losses.gradient_penalty(d, real[e], fake, u[e])
        assert abs(loss.item() - d_vec[e].item()) < 1e-5
        want = flat_grad(d, torch.autograd.grad(loss, list(d.parameters())))
        torch.testing.assert_close(t.D.flat.grad[e], want, atol=1e-6, rtol=1e-5)
    frozen_g = torch.optim.SGD([t.G.flat], lr=0.0)
    g_vec, fake_logits = training.generator_update(t.G, t.D, frozen_g, t.losses, z)
    assert g_vec.shape == (3,) and fake_logits.shape == (3, 32)
    for e, name in enumerate(names):
        loss = losses.get_loss(name).g(discs[e](gens[e](z[e])))
        assert abs(loss.item() - g_vec[e].item()) < 1e-5
        want = flat_grad(gens[e], torch.autograd.grad(loss, list(gens[e].parameters())))
        torch.testing.assert_close(t.G.flat.grad[e], want, atol=1e-6, rtol=1e-5)
    # the generator update gives the discriminator no gradient
    d_grad = t.D.flat.grad.clone()
    training.generator_update(t.G, t.D, frozen_g, t.losses, z)
    assert torch.equal(t.D.flat.grad, d_grad)


def test_history_shapes_metrics_and_summary():
    names = ["saturating"] * 2 + ["least-squares"] * 3
    t = trainer(loss=names, seed=[0, 1, 0, 1, 2], record_every=10, metric_every=50)
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
    single = trainer(loss="hinge", seed=3)
    single.run(20, progress=False)
    (row,) = training.summarize(single)
    assert row["runs"] == 1 and row["modes"][1] == 0.0


def test_same_seeds_same_result():
    runs = []
    for _ in range(2):
        t = trainer(data.grid(), loss=["hinge", "wasserstein-gp"], seed=[4, 4])
        t.run(60, progress=False)
        runs.append(t)
    a, b = runs
    assert torch.equal(a.G.flat, b.G.flat) and torch.equal(a.D.flat, b.D.flat)
    for key in training.SERIES:
        np.testing.assert_array_equal(getattr(a.history, key), getattr(b.history, key), err_msg=key)
    for key in a.history.metrics:
        np.testing.assert_array_equal(a.history.metrics[key], b.history.metrics[key], err_msg=key)
    # the same seed with two losses: the same start, two different runs
    assert not torch.equal(a.G.flat[0], a.G.flat[1])


def test_a_diverging_model_stops_alone():
    names = ["non-saturating", "least-squares", "non-saturating"]
    t = trainer(loss=names, seed=[0, 1, 2], ema=0.9)
    ref = trainer(loss=names, seed=[0, 1, 2], ema=0.9)
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
        solo = trainer(loss=names[e], seed=e, ema=0.9)
        solo.run(60, progress=False)
        torch.testing.assert_close(t.G.flat[e], solo.G.flat[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(t.D.flat[e], solo.D.flat[0], atol=1e-5, rtol=1e-5)


def test_every_model_diverging_keeps_the_engine_alive():
    t = trainer(loss="hinge", seed=[0, 1])
    t.run(10, progress=False)
    with torch.no_grad():
        t.G.flat.fill_(float("inf"))
    t.run(10, progress=False)
    assert t.diverged == {0: 11, 1: 11} and t.step == 20
    assert [r["diverged"] for r in training.summarize(t)] == [2]
    assert torch.equal(t.G.flat, torch.zeros_like(t.G.flat))
