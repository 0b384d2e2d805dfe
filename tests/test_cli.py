"""Tests of the command line, ``python -m gandemo train`` (run in-process through main())."""

from __future__ import annotations

import json
import math

import pytest

from gandemo.__main__ import DATASETS, main

FAST = ["--steps", "30", "--width", "16", "--batch-size", "32", "--device", "cpu"]


def run_cli(capsys, *args):
    code = main(["train", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_line_on_the_ring(capsys):
    code, out, err = run_cli(capsys, "--data", "ring", "--loss", "non-saturating", *FAST)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    line = lines[0]
    for word in ("30 steps", "steps/s", "cpu", "modes", "/8", "high-quality", "reverse KL"):
        assert word in line, word


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_json_for_every_dataset(capsys, name):
    code, out, _ = run_cli(capsys, "--data", name, "--json", "--seed", "3", *FAST)
    assert code == 0
    s = json.loads(out)
    assert s["steps"] == 30 and s["device"] == "cpu" and s["seed"] == 3
    assert s["seconds"] > 0 and s["steps_per_s"] > 0
    if name in ("ring", "grid"):
        assert s["num_modes"] == (8 if name == "ring" else 25)
        assert 0 <= s["modes"] <= s["num_modes"] and 0 <= s["high_quality"] <= 1
    else:
        assert 0 <= s["jsd"] <= math.log(2) + 1e-9


def test_same_seed_same_figures(capsys):
    args = ("--data", "ring", "--json", "--seed", "1", *FAST)
    a = json.loads(run_cli(capsys, *args)[1])
    b = json.loads(run_cli(capsys, *args)[1])
    for key in ("modes", "high_quality", "reverse_kl"):
        assert a[key] == b[key]


def test_options_reach_the_trainer(capsys):
    code, out, _ = run_cli(
        capsys,
        *("--data", "mixture", "--loss", "saturating", "--lr", "2e-4", "--lr-d", "1e-3"),
        *("--d-steps", "2", "--depth", "3", "--latent-dim", "4", "--json", *FAST),
    )
    assert code == 0 and json.loads(out)["loss"] == "saturating"
    code, out, _ = run_cli(capsys, "--update", "simultaneous", "--json", *FAST)
    assert code == 0


@pytest.mark.parametrize("name", ["ring", "gaussian"])
def test_plot_is_written(capsys, tmp_path, name):
    path = tmp_path / f"{name}.png"
    code, out, _ = run_cli(capsys, "--data", name, "--plot", str(path), *FAST)
    assert code == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


@pytest.mark.parametrize(
    "args, words",
    [
        (["--data", "spiral"], ["--data", "spiral"]),
        (["--loss", "wasserstein"], ["--loss", "wasserstein"]),
        (["--steps", "0"], ["--steps", "positive integer"]),
        (["--steps", "ten"], ["--steps", "ten"]),
        (["--lr", "-1"], ["--lr", "positive"]),
        (["--lr-g", "nan"], ["--lr-g"]),
        (["--batch-size", "1.5"], ["--batch-size"]),
        (["--d-steps", "-2"], ["--d-steps"]),
        (["--beta1", "1.0"], ["--beta1"]),
        (["--device", "tpu9"], ["--device"]),
        (["--update", "leapfrog"], ["--update"]),
        (["--update", "simultaneous", "--d-steps", "3"], ["d_steps"]),
    ],
)
def test_bad_values_exit_2_with_one_line(capsys, args, words):
    with pytest.raises(SystemExit) as info:
        code = main(["train", *args, "--steps", "5"] if "--steps" not in args else ["train", *args])
        raise SystemExit(code)
    _, err = capsys.readouterr()
    assert info.value.code == 2
    assert len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, (word, err)


def test_missing_command_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "gandemo: error" in capsys.readouterr().err
