"""gandemo.claims: the claim reports, and every claim function on tiny runs (the real runs are
in the chapters and in test_heldout.py)."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import TINY_DIGITS, tiny_recipe

import gandemo as gd
from gandemo import claims, experiments


def test_claims_report_wraps_to_the_column_and_check_names_what_fails():
    c = claims.Claims()
    c.add("a claim that holds " * 8, True, "evidence " * 12)
    c.add("a claim that fails", False, "p 0.3")
    text = str(c)
    assert all(len(line) <= 72 for line in text.splitlines())
    assert text.startswith("holds: ") and "FAILS: a claim that fails" in text
    with pytest.raises(
        AssertionError, match=r"1 of 2 claims fail:\n  - a claim that fails \[p 0.3\]"
    ):
        c.check()
    ok = claims.Claims()
    ok.add("fine", np.bool_(True), "")
    assert ok.check() is ok and isinstance(ok[0].holds, bool)


def _tiny(monkeypatch):
    return tiny_recipe(monkeypatch, steps=30, metric_samples=300, targets=("ring", "grid"))


def _is_report(c):
    assert isinstance(c, claims.Claims) and len(c) > 0
    assert all(isinstance(x.holds, bool) and x.text for x in c)
    str(c)


def test_ring_and_exercise_claims_run_on_a_tiny_run(monkeypatch):
    recipe = _tiny(monkeypatch)
    ring = gd.data.ring()
    names = ["saturating"] * 2 + ["non-saturating"] * 2
    t = recipe.trainer(ring, names, [0, 1, 0, 1], device="cpu")
    recipe.run(t)
    kinds = claims.saturating_outcomes(t)
    assert set(kinds) == {0, 1} and set(kinds.values()) <= {"saturated", "collapsed", "wandering"}
    tail = claims.tail_means(t)
    assert tail["d_fake"].shape == (4,) and np.all(tail["g_grad"] >= 0)
    assert claims.median_logits(t, n=50).shape == (4,)
    _is_report(claims.ring_losses(t))
    k5 = recipe.trainer(ring, names, [0, 1, 0, 1], d_steps=5, device="cpu")
    k5.run(10, progress=False)
    early = claims.early_saturation(t, k5, steps=10)
    assert early[5]["runs"] == 2 and early[1]["grad_ns"].shape == (2,)
    _is_report(claims.stronger_discriminator(early))
    _is_report(claims.discriminator_lag([0.95, 0.97, 0.99], [0.6, 0.7, 0.65]))
    assert claims.discriminator_lag([0.95, 0.97, 0.99], [0.6, 0.7, 0.65]).check()


@pytest.mark.parametrize("target", ["ring", "grid"])
def test_zoo_claims_run_on_a_tiny_comparison(monkeypatch, target):
    recipe = _tiny(monkeypatch)
    result = experiments.compare(target, None, [0, 1], device="cpu")
    _is_report(claims.zoo(result))
    d = claims.mode_drops(result.trainer)
    assert set(d) == {"drops", "sharp", "rate", "by_loss"} and 0 <= d["rate"] <= 1
    if target == "ring":
        by_loss = result.trainer.history.by_loss()
        longer = result.trainer.select(by_loss["non-saturating"] + by_loss["least-squares"])
        recipe.run(longer, 2 * recipe.steps)
        _is_report(claims.longer_budget(result, longer))


def test_digits_claims_run_on_tiny_runs():
    digits = gd.digits.Digits()
    settings = TINY_DIGITS
    names = ["saturating"] * 2 + ["non-saturating"] * 2
    one = gd.Trainer(digits, loss=names, seed=[0, 1, 0, 1], device="cpu", **settings)
    one.run(40, progress=False)
    five = gd.Trainer(digits, loss=names, seed=[0, 1, 0, 1], device="cpu", d_steps=5, **settings)
    five.run(20, progress=False)
    baselines = gd.digits.baseline_rows(draws=2, n=200)
    _is_report(claims.digits_one_step(one, baselines))
    _is_report(claims.digits_five_steps(five, one, baselines))
    assert claims.early_d_fake(one).shape == (4,)
    near = claims.nearest_real_distance(one.samples(20, seed=0))
    assert near.shape == (4,) and np.all(near > 0)
