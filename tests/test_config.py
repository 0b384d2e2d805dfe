"""TrainerConfig: every setting of a Trainer, its default and its check, written once."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import torch

import gandemo as gd
from gandemo.__main__ import main
from gandemo.training import Trainer, TrainerConfig

SMALL = dict(width=8, batch_size=16, device="cpu", metric_every=10_000)


def test_the_trainer_shows_the_configs_settings_and_defaults():
    params = inspect.signature(Trainer).parameters
    assert list(params)[0] == "data"
    assert {k: p.default for k, p in list(params.items())[1:]} == TrainerConfig.defaults()
    t = Trainer(gd.data.ring(), **SMALL)
    for k, v in TrainerConfig.defaults().items():
        if k not in SMALL and k not in ("loss", "seed"):
            assert t.config[k] == v, k
    assert t.config.loss == ("non-saturating",) and t.config.seed == (0,)


def test_the_command_line_help_reads_the_same_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    d = TrainerConfig.defaults()
    assert f"units ({d['width']})" in text and f"Adam's beta2 ({d['betas'][1]})" in text


def test_an_unknown_setting_is_named():
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['widht'\]"):
        Trainer(gd.data.ring(), widht=8)


def test_a_config_is_frozen_and_a_change_is_checked_before_it_lands():
    t = Trainer(gd.data.ring(), scheme="simultaneous", **SMALL)
    before = t.config
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.config.width = 3
    with pytest.raises(ValueError, match="d_steps must be 1 with scheme='simultaneous'"):
        t.set_d_steps(2)
    with pytest.raises(ValueError, match="lr_g must be a finite positive number"):
        t.set_learning_rates(lr_g=-1.0, lr_d=1e-3)
    assert t.config is before  # a bad value changed nothing
    t.set_learning_rates(lr_d=2e-3)
    assert t.config.lr_d == 2e-3 and t.config.width == 8 and before.lr_d == 1e-3


def test_per_model_values_and_the_checkpoint_form():
    c = TrainerConfig(loss=["hinge", "hinge", "least-squares"], seed=[0, 1, 2], lr_g=[1e-3] * 3)
    assert c.n_models == 3 and c.lr_g == 1e-3  # equal rates become one number
    c = c.replace(lr_d={"hinge": 2e-3, "least-squares": 4e-4})
    assert c.lr_d == (2e-3, 2e-3, 4e-4)
    d = c.to_dict()
    assert d["loss"] == ["hinge", "hinge", "least-squares"] and d["lr_d"] == [2e-3, 2e-3, 4e-4]
    assert TrainerConfig(**d) == c
    one = TrainerConfig(loss="hinge", seed=3).to_dict()
    assert one["loss"] == "hinge" and one["seed"] == 3  # the checkpoint's form, as before
    assert dict(c)["width"] == 64 and set(c) == set(TrainerConfig.names())
    with pytest.raises(ValueError, match="loss and seed lists must have the same length"):
        TrainerConfig(loss=["hinge"], seed=[0, 1])
    with pytest.raises(ValueError, match="one rate per model needs g_optimizer='adam'"):
        TrainerConfig(loss=["hinge", "hinge"], lr_g=[1e-3, 2e-3], g_optimizer="sgd")


def test_the_loss_names_live_on_the_config_only(tmp_path):
    t = Trainer(gd.data.ring(), loss=["hinge", "least-squares"], seed=[0, 1], **SMALL)
    assert "models" not in vars(t) and "n_models" not in vars(t)
    t.run(5, progress=False)
    t.set_loss("non-saturating", model=1)
    assert t.config.loss == ("hinge", "non-saturating")
    assert t.models == [("hinge", 0), ("non-saturating", 1)] == t.history.models
    assert t.losses.names == ["hinge", "non-saturating"]
    t.save(tmp_path / "t.pt")
    back = Trainer.load(tmp_path / "t.pt", gd.data.ring())
    assert back.config == t.config and back.models == t.models
    state = torch.load(tmp_path / "t.pt", weights_only=True)
    assert state["config"]["loss"] == ["hinge", "non-saturating"]
    assert set(state["config"]) == set(TrainerConfig.names())
