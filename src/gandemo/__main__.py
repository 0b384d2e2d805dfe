"""Command line: train a GAN on a named target and print one summary line.

Examples::

    python -m gandemo train --data ring --loss non-saturating --steps 5000 --seed 0
    python -m gandemo compare --data grid --seeds 5 --json     # chapter 7's comparison
    python -m gandemo train --data mixture --steps 2000 --json
    gandemo train --data grid --steps 8000 --plot grid.png --save grid.pt
    gandemo train --resume grid.pt --steps 2000 --save grid.pt    # 2000 more steps

The summary gives the steps, the seconds they took, steps per second, the device, and the sample
quality of 2500 generated examples: modes covered, high-quality fraction and reverse KL of the
mode histogram for the 2-D targets (ring, grid), the binned Jensen-Shannon divergence for the
1-D ones, classes covered and the classifier's confidence for the digits. Ctrl-C stops after the
current step, prints the summary of the steps done (marked as interrupted), saves the checkpoint
if ``--save`` was given, and exits with status 130.

``compare`` trains every chosen loss with seeds 0..N-1 on one target with the book's recipe
(:data:`gandemo.experiments.RECIPES`, the code path of chapter 7) and prints a table of mean and
standard deviation over the seeds, the chance rows beneath it; ``--json`` prints it as one JSON
object on the last line instead.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time

import numpy as np

from . import data
from .dirac import SCHEMES
from .training import LOSSES, Trainer, TrainingDiverged, resolve_device, target_metrics
from .utils import (
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    check_seed,
    check_writable_file,
)

__all__ = ["DATASETS", "main", "make_data", "plot_trainer", "summary"]

#: The targets the command line knows, by name, with a one-line description.
DATASETS = {name: t.description for name, t in data.TARGETS.items()}

METRIC_SAMPLES = 2500
EXIT_INTERRUPTED = 130


def make_data(name: str):
    """The target called ``name`` (a key of :data:`DATASETS`)."""
    if name not in DATASETS:
        raise ValueError(f"data must be one of {sorted(DATASETS)}; got {name!r}")
    return data.target(name)


def _argument(parse, check, expected: str):
    """An argparse type: parse the text, then apply the package's own check of the value."""

    def convert(text: str):
        try:
            return check(parse(text), "value")
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None

    return convert


_positive_int = _argument(int, check_positive_int, "a positive integer")
_nonnegative_int = _argument(int, check_nonnegative_int, "an integer >= 0")
_positive_float = _argument(float, check_positive, "a finite positive number")


def _fraction(zero_allowed: bool):
    """An argparse type for a number in [0, 1) (``zero_allowed``) or in (0, 1)."""
    interval = "[0, 1)" if zero_allowed else "(0, 1)"

    def convert(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not ((0 <= v) if zero_allowed else (0 < v)) or not v < 1:
            raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {text!r}")
        return v

    return convert


_beta = _fraction(zero_allowed=True)
_decay = _fraction(zero_allowed=False)
_seed = _argument(int, check_seed, "an integer in [0, 2**62)")


def _device(text: str) -> str:
    try:
        resolve_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _writable_file(path: str, what: str, extensions: tuple[str, ...] | None = None) -> str:
    """``path`` if a file can be written there (checked before any training), with one of
    ``extensions``, else a clear error message (ValueError)."""
    check_writable_file(path, what)
    if extensions is not None:
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        if ext not in extensions:
            raise ValueError(
                f"{what} {path!r} must end in one of {', '.join('.' + e for e in extensions)}"
            )
    return path


def _plot_formats() -> tuple[str, ...]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return tuple(sorted(FigureCanvasAgg(Figure()).get_supported_filetypes()))


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m gandemo``."""
    parser = _Parser(prog="gandemo", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser(
        "train",
        help="train a GAN on a toy target and print a summary",
        description="Train a GAN on a toy target and print one summary line.",
    )
    t.add_argument("--data", choices=sorted(DATASETS), default="ring", help="the target")
    t.add_argument("--loss", choices=sorted(LOSSES), default="non-saturating")
    t.add_argument("--steps", type=_positive_int, default=5000, help="generator updates")
    t.add_argument("--seed", type=_seed, default=0)
    t.add_argument("--batch-size", type=_positive_int, default=None)
    t.add_argument("--d-steps", type=_nonnegative_int, default=1, help="D updates per G update")
    t.add_argument("--lr", type=_positive_float, default=None, help="both learning rates")
    t.add_argument("--lr-g", type=_positive_float, default=None, help="generator learning rate")
    t.add_argument("--lr-d", type=_positive_float, default=None, help="discriminator lr")
    t.add_argument("--beta1", type=_beta, default=0.5, help="Adam's beta1")
    t.add_argument("--beta2", type=_beta, default=0.999, help="Adam's beta2")
    t.add_argument("--width", type=_positive_int, default=None, help="hidden units per layer")
    t.add_argument("--depth", type=_positive_int, default=2, help="hidden layers")
    t.add_argument("--latent-dim", type=_positive_int, default=None)
    t.add_argument("--slope", type=_beta, default=0.2, help="LeakyReLU slope (0: ReLU)")
    t.add_argument("--ema", type=_decay, default=None, help="decay of a generator EMA")
    t.add_argument("--scheme", choices=SCHEMES, default="alternating")
    t.add_argument("--device", type=_device, default="auto", help="auto, cpu or cuda")
    t.add_argument("--json", action="store_true", help="print the summary as JSON")
    t.add_argument("--plot", metavar="FILE", default=None, help="save the final picture here")
    t.add_argument("--save", metavar="CKPT", default=None, help="save a checkpoint here")
    t.add_argument(
        "--resume",
        metavar="CKPT",
        default=None,
        help="continue a saved run (its settings; --lr options change its learning rates)",
    )
    t.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    from .experiments import RECIPES

    c = sub.add_parser(
        "compare",
        help="compare losses over seeds with the book's recipe, next to chance rows",
        description="Train every chosen loss with seeds 0..N-1 (one batched run, the recipe "
        "of chapters 6-8) and print mean and standard deviation over the seeds, with the "
        "chance rows of the same metrics.",
    )
    c.add_argument("--data", choices=sorted(RECIPES), default="ring", help="the target")
    c.add_argument(
        "--loss",
        choices=sorted(LOSSES),
        action="append",
        default=None,
        help="a loss to compare (repeatable; default: all five)",
    )
    c.add_argument("--seeds", type=_positive_int, default=5, help="seeds 0..N-1 per loss")
    c.add_argument("--steps", type=_positive_int, default=None, help="default: the recipe's")
    c.add_argument("--device", type=_device, default="auto", help="auto, cpu or cuda")
    c.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    return parser


def summary(trainer: Trainer, seconds: float, steps: int) -> dict:
    """The figures the command prints, as a dict."""
    fake = trainer.sample(METRIC_SAMPLES, seed=0).numpy()
    out = dict(
        data=getattr(trainer.data, "name", type(trainer.data).__name__),
        loss=trainer.config["loss"],
        steps=int(steps),
        total_steps=int(trainer.step),
        seconds=round(float(seconds), 3),
        steps_per_s=round(steps / seconds, 1) if seconds > 0 else float("nan"),
        device=str(trainer.device),
        seed=trainer.config["seed"],
        interrupted=bool(trainer.interrupted),
    )
    m = target_metrics(trainer.data, fake[:, 0] if trainer.dim == 1 else fake)
    for key, value in m.items():
        value = float(value)
        out[key] = None if math.isnan(value) else round(value, 5)
    if "modes" in m:
        out["modes"] = int(m["modes"])
        out["num_modes"] = int(trainer.data.num_modes)
    if "classes" in m:
        out["classes"] = int(m["classes"])
    return out


def format_summary(s: dict) -> str:
    """One line of text for :func:`summary`'s dict."""
    head = (
        f"{s['data']} / {s['loss']}: {s['steps']} steps in {s['seconds']:.1f} s "
        f"({s['steps_per_s']:.0f} steps/s) on {s['device']}"
    )
    if s.get("interrupted"):
        head = f"interrupted: {head}"
    if s.get("total_steps", s["steps"]) != s["steps"]:
        head += f", {s['total_steps']} in all"
    if "modes" in s:
        kl = "n/a (no high-quality sample)" if s["reverse_kl"] is None else f"{s['reverse_kl']:.3f}"
        return (
            f"{head}; modes {s['modes']}/{s['num_modes']}, "
            f"high-quality {100 * s['high_quality']:.1f} %, reverse KL {kl}"
        )
    if "classes" in s:
        conf = "n/a" if s["confidence"] is None else f"{s['confidence']:.2f}"
        return f"{head}; classes {s['classes']}/10, classifier confidence {conf}"
    return f"{head}; JSD to the target {s['jsd']:.4f} nats"


def plot_trainer(trainer: Trainer, path, n: int = 1000) -> None:
    """Save real vs generated samples over the discriminator's :math:`D(x)` to ``path``.

    Uses a bare :class:`matplotlib.figure.Figure` (Agg canvas), so no GUI backend is touched.
    """
    from matplotlib.figure import Figure

    from .plots.style import COLORS as c

    snap = trainer.snapshot(n)
    fig = Figure(figsize=(5.6, 4.8) if trainer.dim != 1 else (7.0, 3.6), layout="constrained")
    ax = fig.add_subplot()
    if trainer.dim not in (1, 2):  # images: a 6 x 6 tiling of generated examples
        side = math.isqrt(trainer.dim)
        if side * side != trainer.dim:
            raise ValueError(f"cannot draw {trainer.dim}-D examples")
        tiles = np.asarray(snap.fake[:36]).reshape(6, 6, side, side)
        ax.imshow(
            tiles.transpose(0, 2, 1, 3).reshape(6 * side, 6 * side), cmap="gray_r", vmin=-1, vmax=1
        )
        ax.set_axis_off()
        m = snap.metrics
        title = f"step {snap.step}: {m.get('classes', '?')} classes covered"
    elif trainer.dim == 2:
        both = np.concatenate([snap.real, snap.fake])
        lo, hi = np.quantile(both, 0.005, axis=0), np.quantile(both, 0.995, axis=0)
        pad = 0.15 * (hi - lo) + 0.1
        lo, hi = lo - pad, hi + pad
        xs, ys = np.linspace(lo[0], hi[0], 150), np.linspace(lo[1], hi[1], 150)
        xx, yy = np.meshgrid(xs, ys)
        dd = trainer.discriminator_on(np.stack([xx.ravel(), yy.ravel()], 1)).reshape(xx.shape)
        mesh = ax.pcolormesh(xx, yy, dd, cmap="Greens", vmin=0, vmax=1, shading="auto")
        fig.colorbar(mesh, ax=ax, label="$D(x)$")
        ax.scatter(*snap.real.T, s=4, color=c["data"], alpha=0.5, label="real")
        ax.scatter(*snap.fake.T, s=4, color=c["gen"], alpha=0.5, label="generated")
        ax.set(xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
        m = snap.metrics
        title = f"step {snap.step}: {m['modes']} modes, {100 * m['high_quality']:.0f} % HQ"
    else:
        both = np.concatenate([snap.real, snap.fake])
        lo, hi = np.quantile(both, [0.002, 0.998])
        pad = 0.1 * (hi - lo)
        xs = np.linspace(lo - pad, hi + pad, 400)
        bins = np.linspace(lo - pad, hi + pad, 60)
        ax.hist(snap.real, bins, density=True, alpha=0.4, color=c["data"], label="real")
        ax.hist(snap.fake, bins, density=True, alpha=0.4, color=c["gen"], label="generated")
        ax.plot(xs, trainer.data.pdf(xs), color=c["data"], lw=1.5, label="$p_{data}$")
        ax.set(xlabel="$x$", ylabel="density")
        ax2 = ax.twinx()
        ax2.plot(xs, trainer.discriminator_on(xs), color=c["disc"], lw=2, label="$D(x)$")
        ax2.set(ylim=(0, 1), ylabel="$D(x)$")
        ax2.legend(loc="upper right")
        title = f"step {snap.step}: JSD {snap.metrics['jsd']:.3f} nats"
    if trainer.dim in (1, 2):
        ax.legend(loc="upper left", markerscale=3)
    ax.set_title(f"{trainer.config['loss']} GAN, {title}")
    fig.savefig(path, dpi=100)


def _build(args) -> Trainer:
    """The trainer the arguments describe: a new one, or the one ``--resume`` names."""
    target = make_data(args.data)
    lr_g = args.lr_g if args.lr_g is not None else args.lr
    lr_d = args.lr_d if args.lr_d is not None else args.lr
    if args.resume is not None:
        trainer = Trainer.load(
            args.resume, target, device=None if args.device == "auto" else args.device
        )
        trainer.set_learning_rates(lr_g=lr_g, lr_d=lr_d)
        return trainer
    settings = dict(data.TARGETS[args.data].settings)
    for key, value in (
        ("batch_size", args.batch_size),
        ("width", args.width),
        ("latent_dim", args.latent_dim),
        ("lr_g", lr_g),
        ("lr_d", lr_d),
    ):
        if value is not None:
            settings[key] = value
    return Trainer(
        target,
        loss=args.loss,
        depth=args.depth,
        d_steps=args.d_steps,
        betas=(args.beta1, args.beta2),
        scheme=args.scheme,
        slope=args.slope,
        ema=args.ema,
        device=args.device,
        seed=args.seed,
        metric_every=args.steps,
        metric_samples=METRIC_SAMPLES,
        **settings,
    )


def _error(text: str, code: int = 2) -> int:
    print(f"gandemo: error: {text}", file=sys.stderr)
    return code


def _train(args) -> int:
    try:  # every argument and every output path is checked before a step is trained
        if args.plot is not None:
            _writable_file(args.plot, "--plot", _plot_formats())
        if args.save is not None:
            _writable_file(args.save, "--save")
        trainer = _build(args)
    except ValueError as exc:
        return _error(str(exc))
    start = trainer.step
    t0 = time.perf_counter()
    try:
        trainer.run(args.steps, progress=args.progress)
    except TrainingDiverged as exc:
        kept = (
            f"; {args.save} was not overwritten" if args.save and os.path.exists(args.save) else ""
        )
        return _error(f"training diverged: {exc}{kept}", 1)
    seconds = time.perf_counter() - t0
    # from here on a Ctrl-C must not lose the run: it is ignored until the summary is out
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
    try:
        s = summary(trainer, seconds, trainer.step - start)
        s["data"] = args.data
        if args.save:
            trainer.save(args.save)
            s["checkpoint"] = str(args.save)
        if args.plot:
            plot_trainer(trainer, args.plot)
            s["plot"] = str(args.plot)
        print(json.dumps(s) if args.json else format_summary(s), flush=True)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return EXIT_INTERRUPTED if trainer.interrupted else 0


def format_comparison(result: dict) -> str:
    """The table that ``compare`` prints without ``--json``, from its JSON object."""
    keys = [
        k
        for k in ("modes", "high_quality", "reverse_kl", "confidence", "fid")
        if any(k in r for r in result["rows"] + result["chance"])
    ]
    head = {
        "modes": "modes",
        "high_quality": "high quality",
        "reverse_kl": "reverse KL",
        "confidence": "confidence",
        "fid": "Frechet dist.",
    }

    def cell(r, k):
        if k not in r or r[k][0] is None:
            return "n/a"
        m, s = r[k]
        return f"{100 * m:5.1f} ± {100 * s:4.1f} %" if k == "high_quality" else f"{m:.2f} ± {s:.2f}"

    name_w = max(len(r.get("loss", r.get("name", ""))) for r in result["rows"] + result["chance"])
    lines = [
        f"{result['data']}: {result['steps']} steps, {result['seconds']:.1f} s "
        f"(mean ± std over seeds; chance rows over as many draws)",
        f"{'':{name_w}}  runs  " + "  ".join(f"{head[k]:>16}" for k in keys),
    ]
    for r in result["rows"] + result["chance"]:
        name = r.get("loss", r.get("name"))
        flag = "" if r.get("converged", True) else "  (not converged: not ranked)"
        lines.append(
            f"{name:{name_w}}  {r['runs']:4d}  "
            + "  ".join(f"{cell(r, k):>16}" for k in keys)
            + flag
        )
    return "\n".join(lines)


def _compare(args) -> int:
    from .experiments import compare

    losses = None if args.loss is None else list(dict.fromkeys(args.loss))
    try:
        result = compare(
            args.data, losses=losses, seeds=range(args.seeds), steps=args.steps, device=args.device
        )
    except TrainingDiverged as exc:
        return _error(f"training diverged: {exc}", 1)
    except ValueError as exc:
        return _error(str(exc))
    obj = result.to_json()
    print(json.dumps(obj) if args.json else format_comparison(obj), flush=True)
    return 0


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m gandemo`` and of the ``gandemo`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "train":
        return _train(args)
    if args.command == "compare":
        return _compare(args)
    return 2  # pragma: no cover (argparse requires a command)


if __name__ == "__main__":
    sys.exit(main())
