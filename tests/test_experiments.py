"""The experiment layer: recipes, chance rows, Welch tests, compare() and the compare command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from fakes import TINY_DIGITS, tiny_recipe

import gandemo as gd
from gandemo import experiments
from gandemo.__main__ import main


def test_recipe_phases_follow_the_schedule():
    r = experiments.Recipe({}, ((0, 1e-3, 2e-3), (100, 1e-4, 2e-4)), 250)
    assert r.phases() == [(100, 1e-3, 2e-3), (150, 1e-4, 2e-4)]
    assert r.phases(80) == [(80, 1e-3, 2e-3)]
    assert [r.rates_at(s) for s in (0, 99, 100, 10_000)] == [(1e-3, 2e-3)] * 2 + [(1e-4, 2e-4)] * 2
    assert r.phases(start=120) == [(130, 1e-4, 2e-4)]
    assert r.phases(start=250) == []


@pytest.mark.parametrize("schedule", [(), ((5, 1e-3, 1e-3),), ((0, 1e-3, 1e-3), (0, 1e-4, 1e-4))])
def test_recipe_rejects_bad_schedules(schedule):
    with pytest.raises(ValueError, match="schedule"):
        experiments.Recipe({}, schedule, 10)


def test_recipe_run_applies_the_rates_and_split_runs_match():
    r = experiments.Recipe(
        dict(width=8, depth=1, batch_size=16, device="cpu", threads=1, record_every=5),
        ((0, 1e-3, 1e-3), (10, 1e-4, 3e-4)),
        20,
    )
    whole = r.run(r.trainer(gd.data.ring(), "hinge", 0))
    assert whole.step == 20 and whole.config["lr_g"] == 1e-4 and whole.config["lr_d"] == 3e-4
    split = r.trainer(gd.data.ring(), "hinge", 0)
    r.run(split, 7)
    r.run(split)
    np.testing.assert_array_equal(whole.history.g_loss, split.history.g_loss)


def test_recipe_run_stops_at_an_interrupt_and_recipe_for_covers_every_target():
    r = experiments.Recipe(
        dict(width=8, depth=1, batch_size=16, record_every=5, metric_every=100),
        ((0, 1e-3, 1e-3), (20, 1e-4, 1e-4)),
        40,
    )
    t = r.trainer(gd.data.ring(), "non-saturating", 0)

    def stop_early(trainer, n):  # a callback (or Ctrl-C) stops the first phase
        trainer.run(5, progress=False)
        trainer.should_stop = True

    r.run(t, step=stop_early)
    assert t.step == 5 and t.config["lr_g"] == 1e-3  # the second phase never started
    for name in gd.data.TARGETS:
        recipe = experiments.recipe_for(name)
        assert recipe is experiments.RECIPES.get(name, recipe) and recipe.steps > 0
    assert experiments.recipe_for("gaussian").settings == {}
    with pytest.raises(ValueError, match="target must be one of"):
        experiments.recipe_for("moons")


def test_recipe_describe_says_what_trains_within_the_column():
    ring = experiments.RECIPES["ring"]
    text = ring.describe("ring: ")
    assert text.startswith("ring: ") and max(len(line) for line in text.splitlines()) <= 72
    flat = " ".join(text.split())
    s = ring.settings
    assert f"{s['depth']} x {s['width']} ReLU units" in flat
    assert f"{ring.steps} steps" in flat and f"minibatch {s['batch_size']}" in flat
    for start, lr, _ in ring.schedule:
        assert f"{lr:g} from step {start}" in flat
    digits = " ".join(experiments.RECIPES["digits"].describe().split())
    assert "LeakyReLU (0.2)" in digits and "tanh outputs" in digits
    split = experiments.Recipe({"d_steps": 5}, ((0, 1e-3, {"hinge": 2e-3}),), 10, "a test")
    flat = " ".join(split.describe(width=40).split())
    assert "5 D steps per G step" in flat and "G 0.001, D per loss from step 0" in flat
    assert flat.endswith("(a test)")


def test_every_recipe_and_published_setting_builds_a_trainer():
    for name, recipe in experiments.RECIPES.items():
        t = recipe.trainer(gd.data.target(name), "non-saturating", 0, device="cpu")
        assert t.config["lr_g"] == recipe.schedule[0][1]
    assert set(experiments.PUBLISHED) == set(gd.losses.LOSSES)
    for p in experiments.PUBLISHED.values():
        assert p.lr > 0 and p.source


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_chance_rows_score_as_chance(name):
    data = gd.data.target(name)
    rows = experiments.chance_rows(data, draws=3)
    assert [r["runs"] for r in rows] == [3, 3]
    for r in rows:
        assert r["modes"][0] <= 1  # structureless generators cover (almost) no mode
        assert r["high_quality"][0] < 0.05
        assert len(r["values"]["modes"]) == 3


def test_chance_samples_are_seeded_and_inside_the_box():
    grid = gd.data.grid()
    a = experiments.chance_samples(grid, "uniform", 100, 0)
    np.testing.assert_array_equal(a, experiments.chance_samples(grid, "uniform", 100, 0))
    assert np.abs(a).max() <= 4 + 3 * grid.std
    with pytest.raises(ValueError, match="kind"):
        experiments.chance_samples(grid, "lattice", 10, 0)


def test_welch_matches_scipy_and_handles_degenerate_samples():
    from scipy import stats

    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0]
    w = experiments.welch(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert w["t"] == pytest.approx(ref.statistic) and w["p"] == pytest.approx(ref.pvalue)
    assert w["ci"][0] < w["diff"] < w["ci"][1]
    assert experiments.welch([8, 8, 8], [8, 8, 8])["p"] == 1.0
    assert experiments.welch([8, 8, 8], [5, 5, 5])["p"] == 0.0
    assert math.isnan(experiments.welch([1.0], [1.0, 2.0])["p"])


def _tiny(monkeypatch):
    return tiny_recipe(monkeypatch)


def test_published_recipe_of_losses_that_differ_only_in_the_rate_trains_them_as_one_run(
    monkeypatch,
):
    _tiny(monkeypatch)
    recipe = experiments.published_recipe("ring", ["hinge", "wasserstein-gp"], steps=12)
    pub = experiments.PUBLISHED
    rates = {"hinge": pub["hinge"].lr, "wasserstein-gp": pub["wasserstein-gp"].lr}
    assert recipe.schedule == ((0, rates, rates),)
    assert recipe.settings["d_steps"] == pub["hinge"].settings["d_steps"] and recipe.steps == 12
    c = experiments.compare("ring", ["hinge", "wasserstein-gp"], [0, 1], recipe=recipe)
    assert c.trainer.config["lr_g"] == (pub["hinge"].lr,) * 2 + (pub["wasserstein-gp"].lr,) * 2
    for loss, e in (("hinge", 1), ("wasserstein-gp", 3)):  # model e is the run it has alone
        alone = experiments.published_recipe("ring", loss, steps=12)
        solo = alone.trainer(gd.data.ring(), loss, 1, device="cpu")
        alone.run(solo)
        assert solo.config["lr_g"] == pub[loss].lr
        np.testing.assert_allclose(
            c.trainer.history.g_loss[:, e], solo.history.g_loss[:, 0], rtol=1e-5, atol=1e-5
        )
    one = experiments.published_recipe("ring", ["saturating", "non-saturating"])
    assert one.schedule[0][1] == pub["saturating"].lr  # one rate: a number
    with pytest.raises(ValueError, match="different optimiser settings"):
        experiments.published_recipe("ring", ["hinge", "least-squares"])
    with pytest.raises(ValueError, match="loss must be one of"):
        experiments.published_recipe("ring", ["hinge", "vanilla"])


def test_paired_matches_scipy_and_handles_degenerate_samples():
    from scipy import stats

    a, b = np.array([1.0, 2.5, 3.0, 4.5]), np.array([0.5, 2.0, 3.2, 3.0])
    w = experiments.paired(a, b)
    ref = stats.ttest_rel(a, b)
    assert w["t"] == pytest.approx(ref.statistic) and w["p"] == pytest.approx(ref.pvalue)
    assert w["diff"] == pytest.approx(np.mean(a - b)) and w["ci"][0] < w["diff"] < w["ci"][1]
    assert experiments.paired([3, 4, 5], [3, 4, 5]) == {
        "diff": 0.0,
        "ci": (0.0, 0.0),
        "t": math.copysign(math.inf, 0.0),
        "p": 1.0,
    }
    assert experiments.paired([4, 5, 6], [3, 4, 5])["p"] == 0.0
    assert math.isnan(experiments.paired([1.0, math.nan], [1.0, 2.0])["p"])
    with pytest.raises(ValueError, match="one length"):
        experiments.paired([1, 2, 3], [1, 2])


def test_compare_rows_values_and_chance(monkeypatch):
    _tiny(monkeypatch)
    c = experiments.compare("ring", losses=["hinge", "least-squares"], seeds=[0, 1], device="cpu")
    assert [r["loss"] for r in c.rows] == ["hinge", "least-squares"]
    assert c.trainer.step == 20 and c.seconds > 0
    for r in c.rows:
        assert len(r["values"]["modes"]) == 2 and isinstance(r["beats_chance"], bool)
    # the same models trained alone
    solo = experiments.RECIPES["ring"].trainer(gd.data.ring(), "least-squares", 1, device="cpu")
    experiments.RECIPES["ring"].run(solo)
    np.testing.assert_array_equal(c.trainer.history.g_loss[:, 3], solo.history.g_loss[:, 0])
    obj = c.to_json()
    assert set(obj) == {"data", "steps", "seconds", "interrupted", "rows", "chance"}
    assert obj["rows"][0]["modes"] == list(c.rows[0]["modes"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(losses=["vanilla"]), "loss"),
        (dict(losses=[]), "losses"),
        (dict(seeds=[]), "seeds"),
    ],
)
def test_compare_bad_arguments(monkeypatch, kwargs, message):
    _tiny(monkeypatch)
    with pytest.raises(ValueError, match=message):
        experiments.compare("ring", **kwargs)
    with pytest.raises(ValueError, match="data"):
        experiments.compare("spiral")


def test_compare_command_json(monkeypatch, capsys):
    _tiny(monkeypatch)
    rc = main(
        [
            "compare",
            "--data",
            "ring",
            "--loss",
            "hinge",
            "--loss",
            "non-saturating",
            "--seeds",
            "2",
            "--device",
            "cpu",
            "--json",
        ]
    )
    assert rc == 0
    obj = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert obj["data"] == "ring" and obj["steps"] == 20
    assert [r["loss"] for r in obj["rows"]] == ["hinge", "non-saturating"]
    for r in obj["rows"] + obj["chance"]:
        assert r["runs"] == 2
        for key in ("modes", "high_quality", "reverse_kl"):
            assert len(r[key]) == 2
    assert all("name" in r for r in obj["chance"])


def test_compare_command_table_and_errors(monkeypatch, capsys):
    _tiny(monkeypatch)
    assert (
        main(["compare", "--loss", "hinge", "--seeds", "2", "--steps", "10", "--device", "cpu"])
        == 0
    )
    out = capsys.readouterr().out
    assert "hinge" in out and "chance" in out and "10 steps" in out
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--seeds", "0"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["compare", "--loss", "vanilla"])


def test_compare_digits_reads_against_the_digit_baselines(monkeypatch, capsys):
    tiny = experiments.Recipe(
        TINY_DIGITS,
        ((0, 1e-3, 1e-3),),
        10,
    )
    monkeypatch.setitem(experiments.RECIPES, "digits", tiny)
    assert (
        main(
            [
                "compare",
                "--data",
                "digits",
                "--loss",
                "hinge",
                "--seeds",
                "2",
                "--device",
                "cpu",
                "--json",
            ]
        )
        == 0
    )
    obj = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert obj["data"] == "digits" and [r["loss"] for r in obj["rows"]] == ["hinge"]
    for r in obj["rows"] + obj["chance"]:
        for key in ("modes", "high_quality", "reverse_kl", "fid"):
            assert len(r[key]) == 2, (r, key)
    names = " ".join(r["name"] for r in obj["chance"])
    assert "real" in names and "noise" in names
    assert obj["rows"][0]["beats_chance"] is False  # 10 steps learn nothing


def test_at_seconds_reads_one_loss_at_a_wall_time(monkeypatch):
    _tiny(monkeypatch)
    c = experiments.compare("ring", losses=["hinge", "least-squares"], seeds=[0, 1], device="cpu")
    end = experiments.at_seconds(c, 1e9, "hinge")
    assert end["step"] == 20
    assert end["high_quality"][0] == pytest.approx(c.row("hinge")["high_quality"][0])
    assert experiments.at_seconds(c, -1.0)["step"] == 0


def test_metrics_table_formats_means_spreads_percentages_and_the_reference_row():
    cols = {"classes": ("classes", 1, False), "confident": ("confident", 0, True)}
    table = gd.experiments.metrics_table(
        [dict(loss="saturating", runs=3, classes=(9.5, 0.5), confident=(0.5, 0.1))],
        cols,
        ("real", dict(classes=10, confident=0.78)),
    )
    assert "| `saturating` | 9.5 ± 0.5 | 50 ± 10 % | 3 |" in table
    assert "| real | 10.0 | 78 % | |" in table


def test_holm_adjusts_a_family_of_p_values():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 with a running maximum
    p = experiments.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(p, [0.03, 0.06, 0.06, 0.02])
    assert experiments.holm([0.5, 0.9])[1] == 1.0  # capped at 1 (0.5 x 2)
    nan = experiments.holm([0.01, math.nan, 0.02])
    assert math.isnan(nan[1]) and nan[0] == pytest.approx(0.02)  # NaN does not count in m
    with pytest.raises(ValueError, match="pvalues"):
        experiments.holm([0.2, 1.5])
    with pytest.raises(ValueError, match="pvalues"):
        experiments.holm([[0.1]])


def test_versus_is_welch_against_draws_and_a_one_sample_test_against_one_value():
    from scipy import stats

    a = np.array([1.0, 2.0, 3.0, 4.5])
    w = experiments.versus(a, [0.5, 1.0, 1.2])
    assert w == experiments.welch(a, [0.5, 1.0, 1.2])
    one = experiments.versus(a, 1.0)
    res = stats.ttest_1samp(a, 1.0)
    assert one["p"] == pytest.approx(res.pvalue) and one["diff"] == pytest.approx(a.mean() - 1)
    lo, hi = one["ci"]
    assert lo < one["diff"] < hi
    assert experiments.versus([2.0, 2.0], 1.0)["p"] == 0.0  # no spread, a difference
    assert math.isnan(experiments.versus([2.0], 1.0)["p"])


def test_pairwise_tests_every_pair_and_key_as_one_holm_family(monkeypatch):
    _tiny(monkeypatch)
    c = experiments.compare(
        "ring", losses=["hinge", "least-squares", "saturating"], seeds=[0, 1, 2], device="cpu"
    )
    tests = experiments.pairwise(c, ("modes", "high_quality"))
    assert len(tests) == 6  # 3 pairs x 2 keys
    ps = [w["p"] for w in tests.values()]
    np.testing.assert_allclose(
        [w["p_holm"] for w in tests.values()], experiments.holm(ps), equal_nan=True
    )
    w = tests["high_quality", "hinge", "saturating"]
    ref = experiments.welch(
        c.row("hinge")["values"]["high_quality"], c.row("saturating")["values"]["high_quality"]
    )
    assert w["diff"] == ref["diff"]
    with pytest.raises(ValueError, match="keys"):
        experiments.pairwise(c, "fid")


def test_compare_adds_the_one_sample_rule_the_regime_count_and_voids_empty_reverse_kl(
    monkeypatch,
):
    _tiny(monkeypatch)
    c = experiments.compare("ring", losses=["hinge"], seeds=[0, 1], device="cpu")
    r = c.rows[0]
    v = r["values"]
    assert np.all(v["modes_one_sample"] >= v["modes"])  # the looser rule counts more
    assert np.all(np.isnan(v["reverse_kl"][v["modes"] == 0]))  # void without a covered mode
    assert r["regime"] == int(np.sum(v["high_quality"] >= experiments.REGIME_HQ))
    ring = gd.data.ring()
    noise = c.chance[0]
    assert noise["values"]["modes_one_sample"].mean() > 0  # chance hits on the ring
    assert noise["modes"][0] == 0  # none under the count rule
    on = np.repeat(np.asarray(ring.centers, dtype=float), 10, axis=0)[None]
    assert experiments.one_sample_modes(ring, on)[0] == 8
    table = experiments.rows_table(c, [experiments.PACGAN_ROWS["ring"]])
    assert "beats chance" in table and "modes (one sample)" in table
    assert "6.3 ± 0.5 / 8" in table  # PacGAN's row sits in the one-sample column
    beats = "yes" if r["beats_chance"] else "no"
    assert f"| `hinge` | {beats} |" in table and f"| {r['regime']} of 2 |" in table
