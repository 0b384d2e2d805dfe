"""Command line: train a GAN on a toy target and print one summary line.

Examples::

    python -m gandemo train --data ring --loss non-saturating --steps 5000 --seed 0
    python -m gandemo train --data mixture --steps 2000 --json
    gandemo train --data grid --steps 8000 --plot grid.png

The summary gives the steps, the seconds they took, steps per second, the device, and the sample
quality of 2500 generated points: modes covered, high-quality fraction and reverse KL of the mode
histogram for the 2-D targets (ring, grid), the binned Jensen-Shannon divergence for the 1-D ones.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from . import data, metrics, plots
from .training import LOSSES, Trainer, TrainingDiverged, resolve_device
from .utils import check_nonnegative_int, check_positive, check_positive_int

__all__ = ["DATASETS", "main", "make_data", "plot_trainer", "summary"]

#: The targets the command line knows, by name, with a one-line description.
DATASETS = {
    "ring": "8 Gaussians on the unit circle, std 0.01 (2-D)",
    "grid": "25 Gaussians on {-4,-2,0,2,4}^2, std 0.05 (2-D)",
    "gaussian": "N(2, 0.5^2) on the line (1-D)",
    "mixture": "0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2) (1-D)",
}

METRIC_SAMPLES = 2500


def make_data(name: str):
    """The target called ``name`` (a key of :data:`DATASETS`)."""
    if name == "ring":
        return data.ring()
    if name == "grid":
        return data.grid()
    if name == "gaussian":
        return data.Gaussian1D(2.0, 0.5)
    if name == "mixture":
        return data.GaussianMixture1D((-2.0, 2.0), (0.5, 0.5))
    raise ValueError(f"data must be one of {sorted(DATASETS)}; got {name!r}")


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


def _beta(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return v


def _device(text: str) -> str:
    try:
        resolve_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


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
    t.add_argument("--seed", type=_nonnegative_int, default=0)
    t.add_argument("--batch-size", type=_positive_int, default=128)
    t.add_argument("--d-steps", type=_nonnegative_int, default=1, help="D updates per G update")
    t.add_argument("--lr", type=_positive_float, default=None, help="both learning rates")
    t.add_argument("--lr-g", type=_positive_float, default=None, help="generator learning rate")
    t.add_argument("--lr-d", type=_positive_float, default=None, help="discriminator lr")
    t.add_argument("--beta1", type=_beta, default=0.5, help="Adam's beta1")
    t.add_argument("--beta2", type=_beta, default=0.999, help="Adam's beta2")
    t.add_argument("--width", type=_positive_int, default=64, help="hidden units per layer")
    t.add_argument("--depth", type=_positive_int, default=2, help="hidden layers")
    t.add_argument("--latent-dim", type=_positive_int, default=2)
    t.add_argument("--update", choices=("alternating", "simultaneous"), default="alternating")
    t.add_argument("--device", type=_device, default="auto", help="auto, cpu, cuda, mps, ...")
    t.add_argument("--json", action="store_true", help="print the summary as JSON")
    t.add_argument("--plot", metavar="PNG", default=None, help="save the final picture here")
    t.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    return parser


def summary(trainer: Trainer, seconds: float, steps: int) -> dict:
    """The figures the command prints, as a dict."""
    fake = trainer.sample(METRIC_SAMPLES).numpy()
    out = dict(
        data=getattr(trainer.data, "name", type(trainer.data).__name__),
        loss=trainer.config["loss"],
        steps=int(steps),
        seconds=round(float(seconds), 3),
        steps_per_s=round(steps / seconds, 1) if seconds > 0 else float("nan"),
        device=str(trainer.device),
        seed=trainer.config["seed"],
    )
    if trainer.dim == 2:
        mc = metrics.mode_coverage(fake, trainer.data.centers, trainer.data.std)
        out.update(
            modes=mc.modes,
            num_modes=mc.num_modes,
            high_quality=round(mc.high_quality, 4),
            reverse_kl=None if math.isnan(mc.reverse_kl) else round(mc.reverse_kl, 4),
        )
    else:
        out.update(jsd=round(metrics.jsd_to_density(fake[:, 0], trainer.data), 5))
    return out


def format_summary(s: dict) -> str:
    """One line of text for :func:`summary`'s dict."""
    head = (
        f"{s['data']} / {s['loss']}: {s['steps']} steps in {s['seconds']:.1f} s "
        f"({s['steps_per_s']:.0f} steps/s) on {s['device']}"
    )
    if "modes" in s:
        kl = "n/a (no high-quality sample)" if s["reverse_kl"] is None else f"{s['reverse_kl']:.3f}"
        return (
            f"{head}; modes {s['modes']}/{s['num_modes']}, "
            f"high-quality {100 * s['high_quality']:.1f} %, reverse KL {kl}"
        )
    return f"{head}; JSD to the target {s['jsd']:.4f} nats"


def plot_trainer(trainer: Trainer, path, n: int = 1000) -> None:
    """Save real vs generated samples over the discriminator's :math:`D(x)` to ``path``.

    Uses a bare :class:`matplotlib.figure.Figure` (Agg canvas), so no GUI backend is touched.
    """
    from matplotlib.figure import Figure

    snap = trainer.snapshot(n)
    fig = Figure(figsize=(5.6, 4.8) if trainer.dim == 2 else (7.0, 3.6), layout="constrained")
    ax = fig.add_subplot()
    c = plots.COLORS
    if trainer.dim == 2:
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
    ax.legend(loc="upper left", markerscale=3)
    ax.set_title(f"{trainer.config['loss']} GAN, {title}")
    fig.savefig(path, dpi=100)


def _train(args) -> int:
    lr_g = args.lr_g if args.lr_g is not None else (args.lr if args.lr is not None else 1e-3)
    lr_d = args.lr_d if args.lr_d is not None else (args.lr if args.lr is not None else 1e-3)
    try:
        trainer = Trainer(
            make_data(args.data),
            loss=args.loss,
            latent_dim=args.latent_dim,
            width=args.width,
            depth=args.depth,
            batch_size=args.batch_size,
            d_steps=args.d_steps,
            lr_g=lr_g,
            lr_d=lr_d,
            betas=(args.beta1, args.beta2),
            update=args.update,
            device=args.device,
            seed=args.seed,
            metric_every=max(args.steps, 1),
            metric_samples=METRIC_SAMPLES,
        )
    except ValueError as exc:
        print(f"gandemo: error: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        trainer.run(args.steps, progress=args.progress)
    except TrainingDiverged as exc:
        print(f"gandemo: training diverged: {exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - t0
    s = summary(trainer, seconds, trainer.step)
    s["data"] = args.data
    if args.plot:
        plot_trainer(trainer, args.plot)
        s["plot"] = str(args.plot)
    print(json.dumps(s) if args.json else format_summary(s))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m gandemo`` and of the ``gandemo`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "train":
        return _train(args)
    return 2  # pragma: no cover (argparse requires a command)


if __name__ == "__main__":
    sys.exit(main())
