"""The CUDA path of the training engine. Skipped where no CUDA device exists (CI has none);
run on a GPU machine with ``pytest tests/test_gpu.py``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from gandemo import data, training

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

SMALL = dict(width=32, depth=2, batch_size=64, metric_samples=500, metric_every=100)
MIX = dict(loss=["non-saturating", "wasserstein-gp", "hinge"], seed=[0, 1, 2])


def curves(h):
    out = {"step": h.step, "metric_step": h.metric_step}
    out.update({k: getattr(h, k) for k in training.SERIES})
    out.update({f"metric:{k}": v for k, v in h.metrics.items()})
    return out


def assert_same_state(a, b):
    assert a.step == b.step
    assert torch.equal(a.G.flat, b.G.flat) and torch.equal(a.D.flat, b.D.flat)
    ca, cb = curves(a.history), curves(b.history)
    for key in ca:
        assert np.array_equal(ca[key], cb[key], equal_nan=True), key
    for e in range(a.n_models):
        assert torch.equal(a.sample(50, model=e, seed=3), b.sample(50, model=e, seed=3))


def test_auto_picks_cuda_and_training_stays_on_it():
    t = training.Trainer(data.ring(), device="auto", seed=0, **SMALL)
    assert t.device.type == "cuda"
    t.run(300, progress=False)
    assert t.G.flat.device.type == "cuda" and t.D.flat.device.type == "cuda"
    assert t.opt_g.state[t.G.flat]["exp_avg"].device.type == "cuda"
    assert t.sample(10).device.type == "cpu"  # samples come back to the CPU
    h = t.history
    assert np.all(np.isfinite(h.d_loss)) and h.metrics["modes"][-1, 0] >= h.metrics["modes"][0, 0]


@pytest.mark.parametrize("kwargs", [dict(seed=3), MIX], ids=["one", "three"])
def test_same_seed_same_cuda_run(kwargs):
    a, b = (training.Trainer(data.ring(), device="cuda", **kwargs, **SMALL) for _ in range(2))
    a.run(200, progress=False)
    b.run(200, progress=False)
    assert_same_state(a, b)


def test_batched_run_on_cuda_equals_solo_cuda_runs():
    kw = dict(SMALL, device="cuda", d_optimizer="sgd", lr_d=0.05)
    bt = training.Trainer(data.ring(), **MIX, **kw)
    bt.run(100, progress=False)
    assert bt.G.flat.device.type == "cuda" and not bt.diverged
    for e, (name, seed) in enumerate(bt.models):
        t = training.Trainer(data.ring(), loss=name, seed=seed, **kw)
        t.run(100, progress=False)
        torch.testing.assert_close(bt.G.flat[e], t.G.flat[0], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(bt.D.flat[e], t.D.flat[0], atol=1e-4, rtol=1e-4)
        np.testing.assert_allclose(
            bt.history.d_loss[:, e], t.history.d_loss[:, 0], atol=1e-4, rtol=1e-4
        )


def test_split_and_checkpointed_cuda_runs_equal_one_run(tmp_path):
    ref = training.Trainer(data.ring(), device="cuda", **MIX, **SMALL)
    ref.run(120, progress=False)
    t = training.Trainer(data.ring(), device="cuda", **MIX, **SMALL)
    t.run(37, progress=False)
    t.run(30, progress=False)
    t.save(tmp_path / "run.pt")
    u = training.Trainer.load(tmp_path / "run.pt", data.ring())
    assert u.device.type == "cuda"
    u.run(53, progress=False)
    assert_same_state(ref, u)


def test_cuda_checkpoint_loads_on_cpu_with_a_warning(tmp_path):
    t = training.Trainer(data.ring(), device="cuda", **MIX, **SMALL)
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


def test_cli_on_cuda():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "gandemo",
            "train",
            "--data",
            "ring",
            "--steps",
            "300",
            "--device",
            "cuda",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    summary = json.loads(out)
    assert summary["device"].startswith("cuda") and summary["steps"] == 300
    assert summary["modes"] >= 1 and 0 <= summary["high_quality"] <= 1
