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


def curves(h):
    d = h.as_dict()
    d.pop("wall_time")
    return d


def test_auto_picks_cuda_and_training_stays_on_it():
    t = training.Trainer(data.ring(), device="auto", seed=0, **SMALL)
    assert t.device.type == "cuda"
    t.run(300, progress=False)
    assert all(p.device.type == "cuda" for p in t.generator.parameters())
    d = t.history.as_dict()
    assert np.all(np.isfinite(d["d_loss"])) and d["modes"][-1] >= d["modes"][0]


def test_same_seed_same_cuda_history():
    a, b = (
        curves(training.Trainer(data.ring(), device="cuda", seed=3, **SMALL).run(200))
        for _ in range(2)
    )
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_cuda_checkpoint_loads_on_cpu(tmp_path):
    t = training.Trainer(data.ring(), device="cuda", seed=1, **SMALL)
    t.run(50, progress=False)
    t.save(tmp_path / "run.pt")
    with pytest.warns(UserWarning, match="cuda"):
        u = training.Trainer.load(tmp_path / "run.pt", data.ring(), device="cpu")
    z = torch.randn(100, 2)
    with torch.no_grad():
        want = t.generator(z.cuda()).cpu()
        got = u.generator(z)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert u.step == 50 and len(u.history) == len(t.history)
    u.run(10, progress=False)


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
