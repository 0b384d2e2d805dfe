"""Tests of the command line, ``python -m gandemo train`` (run in-process through main())."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

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


def test_train_trains_the_books_recipe_unless_told_otherwise(capsys, monkeypatch):
    import gandemo.__main__ as cli
    from gandemo.experiments import RECIPES

    built = []
    build = cli._build

    def spy(args):
        built.append(build(args))
        return built[-1]

    monkeypatch.setattr(cli, "_build", spy)
    recipe = RECIPES["ring"]
    code, out, _ = run_cli(capsys, "--data", "ring", "--steps", "1600", "--width", "16", "--json")
    trainer, schedule = built[-1]
    assert code == 0 and schedule is recipe and trainer.step == 1600
    for key, value in recipe.settings.items():
        if key not in ("width", "metric_every"):  # given; the command line scores at the end
            assert trainer.config[key] == value, key
    assert trainer.config["width"] == 16
    (_, g0, d0), (switch, g1, d1) = recipe.schedule
    assert switch < 1600 and (trainer.config["lr_g"], trainer.config["lr_d"]) == (g1, d1)
    code, out, _ = run_cli(capsys, "--data", "ring", "--lr", "1e-3", "--json", *FAST)
    trainer, schedule = built[-1]
    assert code == 0 and schedule is None and trainer.config["lr_g"] == 1e-3
    code, out, _ = run_cli(capsys, "--data", "mixture", "--json", *FAST)
    trainer, schedule = built[-1]
    assert trainer.config["depth"] == 2 and trainer.config["ema"] is None  # engine defaults


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


# ---------------------------------------------------------------------------------------------
# Nothing lost and nothing overwritten (the reliability probe of 2026-12-04)
# ---------------------------------------------------------------------------------------------


def _no_training(monkeypatch):
    import gandemo.training

    def refuse(*args, **kwargs):
        raise AssertionError("trained or saved before the arguments were checked")

    monkeypatch.setattr(gandemo.training.Trainer, "run", refuse)
    monkeypatch.setattr(gandemo.training.Trainer, "save", refuse)


def _bad_outputs(tmp):
    import os

    os.mkfifo(tmp / "pipe.pt")
    (tmp / "link.pt").symlink_to("pipe.pt")
    (tmp / "locked.pt").write_bytes(b"an old checkpoint")
    os.chmod(tmp / "locked.pt", 0o444)
    return [
        (["--save", "/dev/null"], ["--save", "/dev/null", "not a regular file"]),
        (["--save", "/dev/full"], ["--save", "not a regular file"]),
        (["--save", str(tmp / "pipe.pt")], ["--save", "not a regular file"]),
        (["--save", str(tmp / "link.pt")], ["--save", "not a regular file"]),
        (["--save", str(tmp / "locked.pt")], ["--save", "write-protected"]),
        (["--plot", "/proc/x.png"], ["--plot", "/proc", "no file can be created"]),
        (["--save", ""], ["--save", "empty"]),
        (["--save", str(tmp / "a.png"), "--plot", str(tmp / "a.png")], ["same file"]),
    ]


def test_outputs_that_must_not_be_replaced_are_refused_before_training(
    capsys, tmp_path, monkeypatch
):
    _no_training(monkeypatch)
    for args, words in _bad_outputs(tmp_path):
        code, out, err = run_cli(capsys, *args, *FAST)
        assert code == 2 and out == "", (args, err)
        assert len(err.strip().splitlines()) == 1, err
        for word in words:
            assert word in err, (word, err)
    assert (tmp_path / "locked.pt").read_bytes() == b"an old checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.pt", "locked.pt", "pipe.pt"]


def test_a_failed_final_save_still_prints_the_summary(capsys, tmp_path, monkeypatch):
    resource = pytest.importorskip("resource")
    ckpt = tmp_path / "run.pt"
    assert run_cli(capsys, "--save", str(ckpt), *FAST)[0] == 0
    before = ckpt.read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) // 2, hard))  # as `ulimit -f`
    try:
        code, out, err = run_cli(
            capsys, "--resume", str(ckpt), "--save", str(ckpt), "--steps", "10", "--json"
        )
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    s = json.loads(out)
    assert code == 1 and s["total_steps"] == 40 and "checkpoint" not in s
    assert "checkpoint not saved" in err and str(ckpt) in err and "File too large" in err
    assert "unexpected pos" not in err and ckpt.read_bytes() == before

    import gandemo.__main__ as cli

    def no_room(trainer, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli, "plot_trainer", no_room)
    code, out, err = run_cli(capsys, "--plot", str(tmp_path / "p.png"), "--json", *FAST)
    assert code == 1 and json.loads(out)["steps"] == 30
    assert "picture not saved" in err and "p.png" in err and "No space left" in err


def _tiny_ring_recipe(monkeypatch):
    from gandemo import experiments

    tiny = experiments.Recipe(
        dict(width=8, depth=1, batch_size=16, threads=1, record_every=5, metric_every=10),
        ((0, 1e-3, 1e-3), (10, 5e-4, 5e-4), (20, 2e-4, 2e-4)),
        30,
    )
    monkeypatch.setitem(experiments.RECIPES, "ring", tiny)


def _compare(capsys, *args):
    try:
        code = main(["compare", "--loss", "hinge", "--seeds", "2", "--device", "cpu", *args])
    except KeyboardInterrupt:  # what a Ctrl-C while scoring did
        code = "KeyboardInterrupt"
    out, err = capsys.readouterr()
    return code, out, err


def test_ctrl_c_in_compare_stops_the_schedule_and_exits_130(capsys, monkeypatch):
    import signal

    import gandemo.training

    _tiny_ring_recipe(monkeypatch)
    step = gandemo.training.Trainer._train_step

    def press_at_5(self):
        step(self)
        if self.step == 5:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(gandemo.training.Trainer, "_train_step", press_at_5)
    code, out, _ = _compare(capsys, "--json")
    result = json.loads(out.strip().splitlines()[-1])
    assert code == 130 and result["interrupted"] is True
    assert result["steps"] == 5  # the later phases of the schedule did not run
    monkeypatch.setattr(gandemo.training.Trainer, "_train_step", step)
    code, out, _ = _compare(capsys, "--json")
    assert code == 0 and json.loads(out)["steps"] == 30 and not json.loads(out)["interrupted"]


def test_ctrl_c_while_compare_scores_keeps_the_comparison(capsys, monkeypatch):
    import signal

    from gandemo import experiments

    _tiny_ring_recipe(monkeypatch)
    chance_rows = experiments.chance_rows

    def pressed(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)
        return chance_rows(*args, **kwargs)

    monkeypatch.setattr(experiments, "chance_rows", pressed)
    code, out, err = _compare(capsys)
    assert code == 130, err
    assert out.startswith("interrupted: ring: 30 steps") and "hinge" in out


@pytest.mark.parametrize("name, code", [("SIGTERM", 143), ("SIGHUP", 129)])
def test_sigterm_and_sighup_stop_like_ctrl_c(tmp_path, name, code):
    import signal
    import time

    import gandemo as gd

    ckpt = tmp_path / "run.pt"
    proc = _start_cli(tmp_path, "--save", str(ckpt))
    _wait_for_training(proc)
    time.sleep(0.5)
    proc.send_signal(getattr(signal, name))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    s = json.loads(out.strip().splitlines()[-1])
    assert s["interrupted"] is True and s["steps"] > 0
    assert gd.Trainer.load(ckpt, gd.data.ring()).step == s["total_steps"]


def test_ctrl_c_while_starting_exits_130_without_a_traceback():
    import signal

    # -X importtime writes a line per imported module: once numpy's lines come, the command is
    # inside its guarded imports (torch is still to load), whatever the machine's load
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "gandemo", "train", "--steps", "10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "numpy" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    err = "".join(seen) + err
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "interrupted while starting" in err


def test_console_script_ignores_a_ctrl_c_once_its_work_is_done():
    import signal

    script = Path(sys.executable).with_name("gandemo")
    if not script.exists():
        pytest.skip("the gandemo console script is not installed next to this Python")
    proc = subprocess.Popen(
        [str(script), "train", "--steps", "10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    summary_line = proc.stdout.readline()  # printed and flushed: the command's work is done
    proc.send_signal(signal.SIGINT)  # while Python shuts down (torch's exit hooks run then)
    out, err = proc.communicate(timeout=120)
    assert "10 steps" in summary_line
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_resume_refuses_settings_it_would_ignore_and_finds_its_target(capsys, tmp_path):
    ckpt = tmp_path / "grid.pt"
    assert run_cli(capsys, "--data", "grid", "--save", str(ckpt), *FAST)[0] == 0
    # the module docstring's example: no --data, the checkpoint knows its target
    code, out, err = run_cli(capsys, "--resume", str(ckpt), "--steps", "20", "--json")
    s = json.loads(out)
    assert code == 0 and s["total_steps"] == 50 and s["num_modes"] == 25, err
    code, out, err = run_cli(
        capsys, "--resume", str(ckpt), "--loss", "hinge", "--seed", "7", "--width", "3"
    )
    assert code == 2 and out == ""
    for word in ("--loss hinge", "--seed 7", "--width 3", "non-saturating"):
        assert word in err, (word, err)
    code, _, err = run_cli(capsys, "--resume", str(ckpt), "--steps", "5", "--width", "16")
    assert code == 0, err  # the checkpoint's own value is fine


def test_resume_of_several_models_is_refused(capsys, tmp_path):
    import gandemo as gd

    t = gd.Trainer(gd.data.ring(), loss=["hinge", "least-squares"], width=8, device="cpu")
    t.save(tmp_path / "two.pt")
    code, out, err = run_cli(capsys, "--resume", str(tmp_path / "two.pt"), "--steps", "5")
    assert code == 2 and out == "" and "2 models" in err


@pytest.mark.parametrize(
    "argv, words",
    [
        (["compare", "--seeds", "1000000000"], ["--seeds", "memory"]),
        (["train", "--width", "10000000", "--steps", "5"], ["memory", "width 10000000"]),
        (["train", "--batch-size", "100000000", "--steps", "5"], ["memory", "batch size"]),
    ],
)
def test_sizes_beyond_the_memory_are_refused_at_once(capsys, argv, words):
    import time

    t0 = time.perf_counter()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and time.perf_counter() - t0 < 10
    for word in words:
        assert word in err, (word, err)
