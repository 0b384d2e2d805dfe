"""Tests of Trainer.save / Trainer.load: bitwise continuation, atomic writes, and a clear
ValueError for every bad file."""

from __future__ import annotations

import copy
import io
import os
import pickle
import re

import numpy as np
import pytest
import torch

from gandemo import data, training

SMALL = dict(
    width=16, depth=2, batch_size=32, device="cpu", metric_samples=300, metric_every=20, threads=1
)


def trainer(target=None, **kwargs):
    return training.Trainer(data.ring() if target is None else target, **{**SMALL, **kwargs})


def curves(h):
    out = {"step": h.step, "metric_step": h.metric_step}
    out.update({k: getattr(h, k) for k in training.SERIES})
    out.update({f"metric:{k}": v for k, v in h.metrics.items()})
    return out


def assert_same_state(a, b, *, wall=False):
    assert a.step == b.step and a.diverged == b.diverged and a.config == b.config
    assert a.models == b.models
    assert torch.equal(a.G.flat, b.G.flat) and torch.equal(a.D.flat, b.D.flat)
    assert (a.ema_flat is None) == (b.ema_flat is None)
    if a.ema_flat is not None:
        assert torch.equal(a.ema_flat, b.ema_flat)
    ca, cb = curves(a.history), curves(b.history)
    assert set(ca) == set(cb)
    for key in ca:
        assert np.array_equal(ca[key], cb[key], equal_nan=True), key
    if wall:
        assert np.array_equal(a.history.wall_time, b.history.wall_time)
    for e in range(a.n_models):
        assert torch.equal(a.sample(30, model=e, seed=7), b.sample(30, model=e, seed=7))
    assert np.array_equal(a.samples(30, seed=1), b.samples(30, seed=1))


CONFIGS = [
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


@pytest.mark.parametrize("target, kwargs, split", CONFIGS)
def test_save_load_continue_equals_uninterrupted(tmp_path, target, kwargs, split):
    ref = trainer(target, **kwargs)
    ref.run(70, progress=False)  # past the data chunk at 64 steps

    first = trainer(target, **kwargs)
    first.run(split, progress=False)
    path = tmp_path / "run.pt"
    first.save(path)
    second = training.Trainer.load(path, target)
    assert second.step == split and second.config == first.config
    assert_same_state(first, second, wall=True)
    second.run(70 - split, progress=False)
    assert_same_state(ref, second)
    # the viewing streams, too, stand where they would have
    assert torch.equal(ref.sample(20), second.sample(20))
    ref.run(3, progress=False)
    second.run(3, progress=False)
    assert_same_state(ref, second)


def test_save_twice_and_load_twice(tmp_path):
    t = trainer(loss=["hinge", "non-saturating"], seed=[1, 2])
    t.run(12, progress=False)
    t.save(tmp_path / "a.pt")
    t.save(tmp_path / "a.pt")  # over an existing file
    u = training.Trainer.load(tmp_path / "a.pt", data.ring())
    u.save(tmp_path / "b.pt")
    v = training.Trainer.load(tmp_path / "b.pt", data.ring())
    assert_same_state(t, v, wall=True)
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
    real_save = torch.save

    def half_then_fail(obj, f, *args, **kwargs):
        buf = io.BytesIO()
        real_save(obj, buf)
        f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
        f.flush()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(training.torch, "save", half_then_fail)
    with pytest.raises(OSError, match=re.escape(str(path))) as info:
        t.save(path)
    assert "No space left" in str(info.value) and "unchanged" in str(info.value)
    monkeypatch.setattr(training.torch, "save", real_save)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.pt"]  # no temporary file left behind
    u = training.Trainer.load(path, data.ring())
    assert u.step == 10
    ref = trainer(seed=3)
    ref.run(10, progress=False)
    assert_same_state(ref, u)


def test_an_interrupt_during_a_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    t = trainer()
    path = tmp_path / "run.pt"
    t.save(path)
    before = path.read_bytes()

    def interrupted(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(training.torch, "save", interrupted)
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
    assert_same_state(t, u)
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
