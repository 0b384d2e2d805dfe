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


# ---------------------------------------------------------------------------------------------
# The Trainer engine
# ---------------------------------------------------------------------------------------------

SMALL = dict(width=16, depth=2, batch_size=32, device="cpu", metric_samples=500)


def small_trainer(target=None, **kwargs):
    return training.Trainer(data.ring() if target is None else target, **{**SMALL, **kwargs})


def curves(h):
    d = h.as_dict()
    d.pop("wall_time")
    return d


def test_trainer_records_and_history_arrays():
    t = small_trainer(record_every=10, metric_every=20)
    h = t.run(25, progress=False)
    d = h.as_dict()
    assert t.step == 25 and list(d["step"]) == [10, 20, 25]
    assert list(d["metric_step"]) == [0, 20]
    for key in training.TRAIN_HISTORY_KEYS:
        assert d[key].shape == (3,) and np.all(np.isfinite(d[key]))
    assert np.all(np.diff(d["wall_time"]) >= 0)
    assert {"modes", "high_quality", "reverse_kl"} <= set(d)
    assert np.all((d["d_real"] > 0) & (d["d_real"] < 1) & (d["d_fake"] > 0) & (d["d_fake"] < 1))
    assert t.config["batch_size"] == 32 and t.config["loss"] == "non-saturating"
    assert t.device == torch.device("cpu")


def test_short_ring_run_improves_mode_coverage():
    t = small_trainer(width=32, batch_size=64, seed=0, metric_every=100)
    t.run(400, progress=False)
    d = t.history.as_dict()
    assert d["metric_step"][0] == 0 and d["metric_step"][-1] == 400
    first = (d["modes"][0], d["high_quality"][0])
    last = (d["modes"][-1], d["high_quality"][-1])
    assert last[0] > first[0] or last[1] > first[1], (first, last)
    assert d["modes"][-1] >= 4


def test_same_seed_same_history_different_seed_differs():
    runs = [small_trainer(seed=s).run(30, progress=False) for s in (5, 5, 6)]
    a, b, c = (curves(h) for h in runs)
    for key in a:
        assert np.array_equal(a[key], b[key], equal_nan=True), key
    assert not np.array_equal(a["g_loss"], c["g_loss"])


def test_split_runs_equal_one_run():
    one = small_trainer(seed=1)
    one.run(40, progress=False)
    split = small_trainer(seed=1)
    for _ in range(4):
        split.run(10, progress=False)
    for key, value in curves(one.history).items():
        assert np.array_equal(value, curves(split.history)[key], equal_nan=True), key
    for p, q in zip(one.generator.parameters(), split.generator.parameters(), strict=True):
        assert torch.equal(p, q)


def test_one_dimensional_targets():
    target = data.GaussianMixture1D((-2.0, 2.0), (0.5, 0.5))
    t = small_trainer(target, metric_every=10)
    t.run(20, progress=False)
    snap = t.snapshot(300)
    assert snap.real.shape == (300,) and snap.fake.shape == (300,)
    assert set(snap.metrics) == {"jsd"} and 0 <= snap.metrics["jsd"] <= math.log(2) + 1e-12
    assert t.history.as_dict()["jsd"].shape == (3,)
    probs = t.discriminator_on(np.linspace(-3, 3, 7))
    assert probs.shape == (7,) and np.all((probs > 0) & (probs < 1))
    assert t.sample(5).shape == (5, 1)


def test_snapshot_and_discriminator_on_in_2d():
    t = small_trainer()
    snap = t.snapshot(200)
    assert snap.step == 0 and snap.real.shape == (200, 2) and snap.fake.shape == (200, 2)
    assert set(snap.metrics) == {"modes", "high_quality", "reverse_kl"}
    assert abs(np.sqrt((snap.real**2).sum(1)).mean() - 1.0) < 0.01  # the ring has radius 1
    probs = t.discriminator_on(np.zeros((4, 2)))
    assert probs.shape == (4,) and np.all((probs > 0) & (probs < 1))
    with pytest.raises(ValueError, match="x must have shape"):
        t.discriminator_on(np.zeros(4))


def test_step_d_and_step_g_each_move_one_player():
    t = small_trainer()
    g0 = [p.detach().clone() for p in t.generator.parameters()]
    d0 = [p.detach().clone() for p in t.discriminator.parameters()]
    t.step_d()
    assert t.step == 0
    assert all(torch.equal(a, b) for a, b in zip(g0, t.generator.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(d0, t.discriminator.parameters(), strict=True))
    d1 = [p.detach().clone() for p in t.discriminator.parameters()]
    t.step_g()
    assert t.step == 1 and t.history.step == [1]
    assert all(torch.equal(a, b) for a, b in zip(d1, t.discriminator.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(g0, t.generator.parameters(), strict=True))
    assert np.isfinite(t.history.d_real[-1]) and np.isfinite(t.history.g_loss[-1])


def test_frozen_discriminator_with_zero_d_steps():
    t = small_trainer(d_steps=0)
    d0 = [p.detach().clone() for p in t.discriminator.parameters()]
    t.run(12, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(d0, t.discriminator.parameters(), strict=True))
    assert np.all(np.isnan(t.history.d_real)) and np.all(np.isfinite(t.history.d_fake))


def test_simultaneous_updates_run_and_differ_from_alternating():
    sim = small_trainer(update="simultaneous").run(20, progress=False)
    alt = small_trainer().run(20, progress=False)
    assert np.all(np.isfinite(sim.g_loss)) and np.all(np.isfinite(sim.d_loss))
    assert not np.array_equal(sim.g_loss, alt.g_loss)


def test_callbacks_every_steps_and_at_the_end():
    t = small_trainer()
    seen = []
    t.run(25, callback=lambda s: seen.append(s.step), every=10)
    assert seen == [10, 20, 25]
    assert [s.step for s in small_trainer().iterate(25, every=10)] == [10, 20, 25]
    calls = []
    small_trainer().run(5, callback=lambda s: calls.append(s.step), every_seconds=1e-9)
    assert calls == [1, 2, 3, 4, 5]


def test_iterate_can_be_left_and_resumed():
    t = small_trainer()
    for snap in t.iterate(100, every=10):
        if snap.step == 30:
            break
    assert t.step == 30 and t.history.step[-1] == 30
    t.run(10, progress=False)
    assert t.step == 40


def test_keyboard_interrupt_stops_cleanly_and_resumes():
    def stop_at_30(snap):
        if snap.step == 30:
            raise KeyboardInterrupt

    t = small_trainer(seed=2)
    h = t.run(100, callback=stop_at_30, every=10)
    assert t.step == 30 and h.step[-1] == 30
    t.run(70, progress=False)
    ref = small_trainer(seed=2)
    ref.run(100, progress=False)
    for key, value in curves(ref.history).items():
        assert np.array_equal(value, curves(t.history)[key], equal_nan=True), key


def test_sigint_is_deferred_to_the_end_of_the_step():
    import os
    import signal

    t = small_trainer()
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when started in the background

    def press_stop(snap):
        os.kill(os.getpid(), signal.SIGINT)

    t.run(100, callback=press_stop, every=10)
    assert t.step == 11 and t.history.step[-1] == 11
    assert signal.getsignal(signal.SIGINT) is before  # restored


def test_nan_parameter_raises_naming_the_step_and_keeps_history():
    t = small_trainer(record_every=10)
    t.run(25, progress=False)
    with torch.no_grad():
        next(t.generator.parameters())[0, 0] = float("nan")
    with pytest.raises(training.TrainingDiverged, match="step 26") as info:
        t.run(10, progress=False)
    assert isinstance(info.value, ValueError)
    assert "discriminator loss" in str(info.value)
    assert t.history.step == [10, 20, 25]


class NaNAfterCalls:
    """A 2-D target whose samples turn NaN from the n-th call of sample() on."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def sample(self, n, generator=None):
        self.calls += 1
        x = torch.randn(n, 2, generator=generator, device=generator.device)
        return x * float("nan") if self.calls >= self.n else x


def test_nan_mid_window_keeps_the_steps_before_it():
    # call 1 is the Trainer's shape probe; then one call per discriminator update
    t = small_trainer(NaNAfterCalls(16), record_every=10)
    t.CHUNK = 1
    with pytest.raises(training.TrainingDiverged, match="step 15"):
        t.run(40, progress=False)
    assert t.history.step == [10, 14]
    assert np.all(np.isfinite(t.history.as_dict()["d_loss"]))


def test_unknown_loss_lists_the_known_ones():
    with pytest.raises(ValueError, match="non-saturating") as info:
        small_trainer(loss="wasserstein")
    assert "loss" in str(info.value) and "saturating" in str(info.value)
    assert set(training.LOSSES) >= {"saturating", "non-saturating"}


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(latent_dim=0), "latent_dim"),
        (dict(width=0), "width"),
        (dict(depth=1.5), "depth"),
        (dict(batch_size=-1), "batch_size"),
        (dict(d_steps=-1), "d_steps"),
        (dict(lr_g=0), "lr_g"),
        (dict(lr_d=float("inf")), "lr_d"),
        (dict(betas=(0.5, 1.0)), "betas"),
        (dict(betas="ab"), "betas"),
        (dict(update="leapfrog"), "update"),
        (dict(update="simultaneous", d_steps=2), "d_steps"),
        (dict(device="tpu9"), "device"),
        (dict(seed=-1), "seed"),
        (dict(record_every=0), "record_every"),
        (dict(metric_every=0), "metric_every"),
        (dict(metric_samples=0), "metric_samples"),
    ],
)
def test_trainer_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        small_trainer(**kwargs)


def test_trainer_bad_data_and_run_arguments():
    with pytest.raises(ValueError, match="data"):
        training.Trainer(object(), device="cpu")
    t = small_trainer()
    for kwargs, name in [
        (dict(steps=-1), "steps"),
        (dict(steps=5, every=0, callback=print), "every"),
        (dict(steps=5, every_seconds=-1.0, callback=print), "every_seconds"),
        (dict(steps=5, callback=3), "callback"),
    ]:
        with pytest.raises(ValueError, match=name):
            t.run(**kwargs)
    with pytest.raises(ValueError, match="n must"):
        t.snapshot(0)


def test_resolve_device():
    assert training.resolve_device("cpu") == torch.device("cpu")
    assert training.resolve_device("auto").type in ("cpu", "cuda", "mps")


def test_lean_adam_matches_torch_adam_and_survives_a_state_dict_round_trip():
    net = models.Discriminator(2, 16, 2, seed=0)
    ps = list(net.parameters())
    qs = [torch.nn.Parameter(p.detach().clone()) for p in ps]
    lean = training.LeanAdam(ps, 1e-2, (0.5, 0.999))
    ref = torch.optim.Adam(qs, lr=1e-2, betas=(0.5, 0.999), fused=True)
    gen = torch.Generator().manual_seed(0)
    for i in range(12):
        if i == 6:  # continue from a reloaded state
            state = lean.state_dict()
            lean = training.LeanAdam(ps, 1e-2, (0.5, 0.999))
            lean.load_state_dict(state)
        for p, q in zip(ps, qs, strict=True):
            g = torch.randn(p.shape, generator=gen)
            p.grad, q.grad = g.clone(), g.clone()
        lean.step() if i % 2 else lean.lean_step()
        ref.step()
    assert all(torch.equal(p, q) for p, q in zip(ps, qs, strict=True))
    assert float(lean.state_dict()["state"][0]["step"]) == 12.0


def test_fast_forward_matches_the_modules():
    t = small_trainer()
    z = torch.randn(7, 2)
    with torch.no_grad():
        assert torch.equal(t._g(z), t.generator(z))
        x = t.generator(z)
        assert torch.equal(t._d(x), t.discriminator(x))


def test_ema_generator_averages_and_survives_checkpoints(tmp_path):
    t = small_trainer(ema=0.9, slope=0.0, seed=2)
    plain = small_trainer()
    assert t.sampler is t.generator_ema and plain.sampler is plain.generator
    w0 = [p.detach().clone() for p in t.generator.parameters()]
    t.run(1, progress=False)
    for e, p, p0 in zip(t.generator_ema.parameters(), t.generator.parameters(), w0, strict=True):
        # after one step: ema = 0.9 * initial + 0.1 * updated
        torch.testing.assert_close(e, 0.9 * p0 + 0.1 * p.detach())
        assert not e.requires_grad
    t.run(30, progress=False)
    t.save(tmp_path / "ema.pt")
    u = training.Trainer.load(tmp_path / "ema.pt", data.ring())
    for a, b in zip(u.generator_ema.parameters(), t.generator_ema.parameters(), strict=True):
        assert torch.equal(a, b)
    assert u.config["ema"] == 0.9 and u.config["slope"] == 0.0
    assert isinstance(t.generator.net[1], torch.nn.LeakyReLU)
    assert t.generator.net[1].negative_slope == 0.0


@pytest.mark.parametrize("kwargs", [dict(ema=1.0), dict(ema=0), dict(ema="x"), dict(slope=-0.1)])
def test_ema_and_slope_bad_values(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        small_trainer(**kwargs)
