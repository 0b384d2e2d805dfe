"""Tests of gandemo.batched: E models in one batched computation behave as E separate models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gandemo import batched, data, losses, training

SMALL = dict(width=16, depth=2, batch_size=32, device="cpu", metric_samples=400, metric_every=50)


def test_models_start_from_the_single_trainers_weights():
    bt = batched.BatchedTrainer(data.ring(), "hinge", [3, 7], **SMALL)
    z = torch.randn(50, 2)
    x = torch.randn(50, 2)
    for e, seed in enumerate((3, 7)):
        t = training.Trainer(data.ring(), loss="hinge", seed=seed, **SMALL)
        with torch.no_grad():
            torch.testing.assert_close(bt.generate(z.expand(2, -1, -1))[e], t.generator(z))
            torch.testing.assert_close(bt.critic(x.expand(2, -1, -1))[e], t.discriminator(x))


def test_models_do_not_interact():
    """Changing model 1's weights leaves model 0's training unchanged, update for update."""
    names = ["non-saturating", "wasserstein-gp", "wasserstein-gp"]
    a = batched.BatchedTrainer(data.ring(), names, [0, 1, 2], **SMALL)
    b = batched.BatchedTrainer(data.ring(), names, [0, 1, 2], **SMALL)
    with torch.no_grad():
        for p in b.g_params + b.d_params:
            p[1] += 0.5 * torch.randn_like(p[1])
    a.run(40, progress=False)
    b.run(40, progress=False)
    for pa, pb in zip(a.g_params + a.d_params, b.g_params + b.d_params, strict=True):
        torch.testing.assert_close(pa[0], pb[0], rtol=0, atol=1e-6)
        torch.testing.assert_close(pa[2], pb[2], rtol=0, atol=1e-6)
        assert not torch.allclose(pa[1], pb[1])


def test_gradients_are_each_models_own_loss():
    bt = batched.BatchedTrainer(data.ring(), ["least-squares", "hinge"], [0, 0], **SMALL)
    real = torch.randn(2, 32, 2)
    fake = torch.randn(2, 32, 2)
    d_vec, _ = bt._d_losses(real, fake)
    grads = torch.autograd.grad(d_vec.sum(), bt.d_params)
    for e, name in enumerate(["least-squares", "hinge"]):
        disc = training.Trainer(data.ring(), loss=name, seed=0, **SMALL).discriminator
        loss = losses.LOSSES[name].d(disc(real[e]), disc(fake[e]))
        assert abs(loss.item() - d_vec[e].item()) < 1e-6
        ref = torch.autograd.grad(loss, list(disc.parameters()))
        # batched weights are (in, out): the transpose of nn.Linear's (out, in)
        torch.testing.assert_close(grads[0][e], ref[0].T, atol=1e-6, rtol=1e-5)


def test_history_shapes_metrics_and_summary():
    names = ["saturating"] * 2 + ["least-squares"] * 3
    bt = batched.BatchedTrainer(data.ring(), names, [0, 1, 0, 1, 2], record_every=10, **SMALL)
    h = bt.run(100, progress=False).as_dict()
    assert list(h["step"]) == list(range(10, 101, 10)) and h["d_loss"].shape == (10, 5)
    assert list(h["metric_step"]) == [0, 50, 100] and h["modes"].shape == (3, 5)
    assert np.all(np.isfinite(h["d_loss"])) and np.all(np.isfinite(h["high_quality"]))
    rows = batched.summarize(bt)
    assert [r["loss"] for r in rows] == ["saturating", "least-squares"]
    assert rows[1]["runs"] == 3 and rows[1]["diverged"] == 0
    mean, std = rows[1]["modes"]
    assert mean == pytest.approx(h["modes"][-1, 2:].mean())
    assert std == pytest.approx(np.std(h["modes"][-1, 2:], ddof=1))
    assert bt.sample(7).shape == (5, 7, 2)


def test_same_seeds_same_result():
    runs = []
    for _ in range(2):
        bt = batched.BatchedTrainer(data.grid(), ["hinge", "wasserstein-gp"], [4, 4], **SMALL)
        runs.append(bt.run(60, progress=False).as_dict())
    for key in ("d_loss", "g_loss", "modes", "high_quality"):
        np.testing.assert_array_equal(runs[0][key], runs[1][key], err_msg=key)


def test_a_diverging_model_stops_alone():
    bt = batched.BatchedTrainer(data.ring(), "non-saturating", [0, 1, 2], **SMALL)
    bt.run(20, progress=False)
    with torch.no_grad():
        bt.d_params[0][1].fill_(float("nan"))
    bt.run(40, progress=False)
    assert list(bt.diverged) == [1] and bt.diverged[1] == 21
    h = bt.history.as_dict()
    assert np.isnan(h["d_loss"][-1, 1]) and np.all(np.isfinite(h["d_loss"][:, [0, 2]]))
    assert np.all(np.isfinite(h["d_loss"][:2, 1]))  # what came before is kept
    assert h["modes"][-1, 1] == 0 and all(torch.isfinite(p).all() for p in bt.g_params)
    assert batched.summarize(bt)[0]["diverged"] == 1


def test_interrupt_keeps_history_and_resumes():
    bt = batched.BatchedTrainer(data.ring(), "hinge", [0, 1], **SMALL)

    def interrupt(trainer):
        if trainer.step == 30:
            raise KeyboardInterrupt

    bt.run(100, callback=interrupt, every=10)
    assert bt.step == 30 and bt.history.step[-1] == 30
    bt.run(20, progress=False)
    assert bt.step == 50


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(loss=["hinge"], seeds=[0, 1]), "equal length"),
        (dict(loss="hinge", seeds=[]), "non-empty"),
        (dict(loss="lsgan", seeds=[0]), "loss must be one of"),
        (dict(loss="hinge", seeds=[-1]), "seeds"),
        (dict(loss="hinge", seeds=[0], width=0), "width"),
        (dict(loss="hinge", seeds=[0], betas=(0.5, 1.0)), "betas"),
        (dict(loss="hinge", seeds=[0], betas=None), "betas"),
        (dict(loss="hinge", seeds=[0], metric_every=0), "metric_every"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        batched.BatchedTrainer(data.ring(), device="cpu", **kwargs)
