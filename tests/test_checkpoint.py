"""Tests of Trainer.save / Trainer.load: exact continuation, and clear errors on bad files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gandemo import data, training

SMALL = dict(width=16, depth=2, batch_size=32, device="cpu", metric_samples=300, metric_every=20)


def curves(h):
    d = h.as_dict()
    d.pop("wall_time")
    return d


@pytest.mark.parametrize(
    "target, kwargs, split",
    [
        (data.ring(), {}, 30),
        (data.Gaussian1D(1.0, 0.5), dict(loss="saturating"), 30),
        (data.grid(), dict(update="simultaneous"), 30),
        (data.ring(), dict(d_steps=2), 30),
        (data.ring(), {}, 25),  # mid-window and mid-chunk
    ],
)
def test_save_load_continue_equals_uninterrupted(tmp_path, target, kwargs, split):
    ref = training.Trainer(target, seed=4, **SMALL, **kwargs)
    ref.run(60, progress=False)

    first = training.Trainer(target, seed=4, **SMALL, **kwargs)
    first.run(split, progress=False)
    path = tmp_path / "run.pt"
    first.save(path)
    second = training.Trainer.load(path, target)
    assert second.step == split and second.config == first.config
    second.run(60 - split, progress=False)

    for p, q in zip(ref.generator.parameters(), second.generator.parameters(), strict=True):
        assert torch.equal(p, q)
    for p, q in zip(ref.discriminator.parameters(), second.discriminator.parameters(), strict=True):
        assert torch.equal(p, q)
    a, b = curves(ref.history), curves(second.history)
    if split % SMALL.get("record_every", 10):
        # each run records its last step: an extra record at the split, other windows shift
        keys = ["metric_step", *(set(a) - set(training.TRAIN_HISTORY_KEYS) - {"metric_step"})]
    else:
        keys = list(a)
    for key in keys:
        assert np.array_equal(a[key], b[key], equal_nan=True), key


def test_round_trip_keeps_history_and_optimisers(tmp_path):
    t = training.Trainer(data.ring(), seed=0, **SMALL)
    t.run(30, progress=False)
    t.save(tmp_path / "a.pt")
    u = training.Trainer.load(tmp_path / "a.pt", data.ring())
    for key, value in t.history.as_dict().items():
        assert np.array_equal(value, u.history.as_dict()[key], equal_nan=True), key
    assert u.opt_g.state_dict()["state"][0]["step"] == t.opt_g.state_dict()["state"][0]["step"]
    assert abs(u.snapshot().wall_time - t.snapshot().wall_time) < 1e-12


def test_checkpoint_is_plain_tensors_and_containers(tmp_path):
    t = training.Trainer(data.ring(), **SMALL)
    t.run(5, progress=False)
    t.save(tmp_path / "c.pt")
    state = torch.load(tmp_path / "c.pt", weights_only=True)
    assert state["format"] == "gandemo.Trainer" and state["step"] == 5


def test_corrupt_file(tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ValueError, match="not a readable gandemo checkpoint"):
        training.Trainer.load(path, data.ring())
    torch.save({"hello": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a gandemo Trainer checkpoint"):
        training.Trainer.load(tmp_path / "other.pt", data.ring())


def test_truncated_file(tmp_path):
    t = training.Trainer(data.ring(), **SMALL)
    t.save(tmp_path / "full.pt")
    raw = (tmp_path / "full.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="checkpoint"):
        training.Trainer.load(tmp_path / "cut.pt", data.ring())


def test_data_that_does_not_match(tmp_path):
    t = training.Trainer(data.ring(), **SMALL)
    t.save(tmp_path / "ring.pt")
    with pytest.raises(ValueError, match="dimension"):
        training.Trainer.load(tmp_path / "ring.pt", data.Gaussian1D())
    with pytest.raises(ValueError, match="does not match"):
        training.Trainer.load(tmp_path / "ring.pt", data.grid())


def test_architecture_that_does_not_match_its_config(tmp_path):
    t = training.Trainer(data.ring(), **SMALL)
    t.save(tmp_path / "arch.pt")
    state = torch.load(tmp_path / "arch.pt", weights_only=True)
    state["config"]["width"] = 24  # the saved weights are 16 wide
    torch.save(state, tmp_path / "arch.pt")
    with pytest.raises(ValueError, match="architecture"):
        training.Trainer.load(tmp_path / "arch.pt", data.ring())
    state["config"]["width"] = 16
    state["config"]["colour"] = "blue"
    torch.save(state, tmp_path / "arch.pt")
    with pytest.raises(ValueError, match="config"):
        training.Trainer.load(tmp_path / "arch.pt", data.ring())
