"""Tests of the command line, ``python -m gandemo train`` (run in-process through main())."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from importlib.metadata import version

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
    assert s["interrupted"] is False and s["total_steps"] == 30
    if name in ("ring", "grid"):
        assert s["num_modes"] == (8 if name == "ring" else 25)
        assert 0 <= s["modes"] <= s["num_modes"] and 0 <= s["high_quality"] <= 1
    elif name == "digits":
        assert 0 <= s["classes"] <= 10 and 0.1 <= s["confidence"] <= 1
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
    code, out, _ = run_cli(capsys, "--scheme", "simultaneous", "--json", *FAST)
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
        (["--device", "mps"], ["--device", "not available"]),
        (["--device", "xpu"], ["--device", "not available"]),
        (["--seed", str(2**70)], ["--seed", "2**62"]),
        (["--seed", "-1"], ["--seed"]),
        (["--ema", "1.5"], ["--ema"]),
        (["--plot", "/no/such/folder/x.png"], ["--plot", "does not exist"]),
        (["--plot", "picture.unknown"], ["--plot", ".png"]),
        (["--save", "/no/such/folder/x.pt"], ["--save", "does not exist"]),
        (["--resume", "/no/such/checkpoint.pt"], ["does not exist"]),
        (["--scheme", "leapfrog"], ["--scheme"]),
        (["--scheme", "simultaneous", "--d-steps", "3"], ["d_steps"]),
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


def test_bad_plot_path_is_rejected_before_training(capsys, tmp_path, monkeypatch):
    import gandemo.training

    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking --plot")

    monkeypatch.setattr(gandemo.training.Trainer, "run", no_training)
    code, _, err = run_cli(capsys, "--plot", str(tmp_path), *FAST)  # a folder
    assert code == 2 and "is a folder" in err


def test_divergence_exits_1_and_keeps_the_checkpoint(capsys, tmp_path):
    ckpt = tmp_path / "run.pt"
    assert run_cli(capsys, "--save", str(ckpt), *FAST)[0] == 0
    before = ckpt.read_bytes()
    code, out, err = run_cli(capsys, "--lr", "1e9", "--save", str(ckpt), *FAST)
    assert code == 1 and out == ""
    assert "diverged" in err and "step" in err and "not overwritten" in err
    assert ckpt.read_bytes() == before


def test_save_and_resume_continue_the_run_exactly(capsys, tmp_path):
    ckpt = tmp_path / "run.pt"
    whole = json.loads(run_cli(capsys, "--json", *FAST[:0], *FAST[2:], "--steps", "60")[1])
    code, _, _ = run_cli(capsys, "--json", "--save", str(ckpt), *FAST)  # 30 steps
    assert code == 0
    code, out, _ = run_cli(capsys, "--json", "--resume", str(ckpt), "--save", str(ckpt), *FAST)
    resumed = json.loads(out)
    assert code == 0 and resumed["total_steps"] == 60 and resumed["steps"] == 30
    for key in ("modes", "high_quality", "reverse_kl"):
        assert resumed[key] == whole[key], key
    with pytest.raises(SystemExit):
        raise SystemExit(main(["train", "--resume", str(ckpt), "--data", "grid", *FAST]))
    assert "does not match" in capsys.readouterr().err


def test_digits_are_a_target_of_the_command_line(capsys, tmp_path):
    path = tmp_path / "digits.png"
    code, out, _ = run_cli(capsys, "--data", "digits", "--plot", str(path), *FAST)
    assert code == 0 and "classes" in out and "/10" in out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _start_cli(tmp_path, *args):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "gandemo", "train", "--steps", "100000000", "--progress"]
    return subprocess.Popen(
        [*cmd, "--width", "16", "--device", "cpu", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_training(proc) -> None:
    """Block until the progress bar shows on stderr (the training loop has started)."""
    seen = ""
    while "training" not in seen:
        ch = proc.stderr.read(1)
        if not ch:
            raise AssertionError(f"the command ended before training: {seen}")
        seen += ch


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_prints_the_summary_saves_and_exits_130(tmp_path, presses):
    import signal
    import time

    import gandemo as gd

    ckpt = tmp_path / "run.pt"
    proc = _start_cli(tmp_path, "--save", str(ckpt))
    _wait_for_training(proc)
    time.sleep(1.0)
    for _ in range(presses):  # a second press lands in the loop or in the summary
        proc.send_signal(signal.SIGINT)
        time.sleep(0.01)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    s = json.loads(out.strip().splitlines()[-1])
    assert s["interrupted"] is True and s["steps"] > 0
    t = gd.Trainer.load(ckpt, gd.data.ring())
    assert t.step == s["total_steps"] and len(t.history) > 0


HEAVY = ("matplotlib.pyplot", "scipy.stats", "ipywidgets")


def _heavy_modules_after(code: str) -> list[str]:
    """The modules of :data:`HEAVY` that a fresh interpreter has loaded after running ``code``."""
    loaded = f"[m for m in {HEAVY!r} if m in sys.modules]"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({loaded}))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_gandemo_is_light():
    assert _heavy_modules_after("import gandemo") == []


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["compare", "--help"]])
def test_help_is_light_and_exits_0(argv):
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['gandemo', *{argv!r}]\n"
        "try:\n"
        "    runpy.run_module('gandemo', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "else:\n"
        "    raise AssertionError('--help did not exit')"
    )
    assert _heavy_modules_after(code) == []


def test_help_of_the_real_command_exits_0():
    proc = subprocess.run(
        [sys.executable, "-m", "gandemo", "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "train" in proc.stdout and "compare" in proc.stdout


def test_version_comes_from_the_package_metadata():
    import gandemo

    assert gandemo.__version__ == version("gandemo")
