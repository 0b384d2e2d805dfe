"""Command line: train a GAN on a named target and print one summary line.

Examples::

    python -m gandemo train --data ring --loss non-saturating --steps 5000 --seed 0
    python -m gandemo compare --data grid --seeds 10 --json    # chapter 8's comparison
    python -m gandemo train --data mixture --steps 2000 --json
    gandemo train --data grid --steps 8000 --plot grid.png --save grid.pt
    gandemo train --resume grid.pt --steps 2000 --save grid.pt    # 2000 more steps

``--resume`` continues a checkpoint with its own target and settings: ``--data`` may be left
out, the learning rates (``--lr``, ``--lr-g``, ``--lr-d``) and ``--device`` may change, and an
option that would change anything else (``--loss``, ``--seed``, ``--width`` ...) is refused.

The summary gives the steps, the seconds they took, steps per second, the device, and the sample
quality of 2500 generated examples: modes covered, high-quality fraction and reverse KL of the
mode histogram for the 2-D targets (ring, grid), the binned Jensen-Shannon divergence for the
1-D ones, classes covered and the classifier's confidence for the digits. Ctrl-C stops after the
current step, prints the summary of the steps done (marked as interrupted), saves the checkpoint
if ``--save`` was given, and exits with status 130; SIGTERM (``kill``, ``timeout``, ``docker
stop``) and SIGHUP (a closed terminal) do the same and exit with 143 and 129. If the checkpoint
or the picture cannot be written at the end, the summary is printed all the same, then an
error that names the file and the cause, and the status is 1. Output paths are checked before
any training: only a regular file (or nothing) is ever replaced, never a device such as
``/dev/null``, a pipe, or a write-protected file.

``compare`` trains every chosen loss with seeds 0..N-1 on one target with the book's recipe
(:data:`gandemo.experiments.RECIPES`, the code path of chapter 8) and prints a table of mean and
standard deviation over the seeds, the chance rows beneath it; ``--json`` prints it as one JSON
object on the last line instead. Ctrl-C (or SIGTERM) stops the training, scores the models
where they stand, prints the result marked as interrupted and exits with 130 (143).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time

try:  # the libraries load for a few seconds; a Ctrl-C then loses nothing
    import numpy as np

    from . import data
    from .dirac import SCHEMES
    from .experiments import DEFAULT_STEPS, Recipe, recipe_for
    from .metrics import METRICS
    from .training import (
        LOSSES,
        Trainer,
        TrainerConfig,
        TrainingDiverged,
        resolve_device,
        target_metrics,
    )
    from .utils import (
        check_nonnegative_int,
        check_positive,
        check_positive_int,
        check_seed,
        check_writable_file,
    )
except KeyboardInterrupt:
    if __name__ != "__main__" and os.path.basename(sys.argv[0]) != "gandemo":
        raise
    print("gandemo: interrupted while starting; nothing was done", file=sys.stderr, flush=True)
    os._exit(130)  # not sys.exit: see console()

__all__ = ["DATASETS", "console", "main", "make_data", "plot_trainer", "summary"]

#: The targets the command line knows, by name, with a one-line description.
DATASETS = {name: t.description for name, t in data.TARGETS.items()}

METRIC_SAMPLES = 2500
EXIT_INTERRUPTED = 130

#: ``train``'s target when ``--data`` is not given. Every other setting of a new run comes from
#: the target's recipe (:func:`gandemo.experiments.recipe_for`, the settings the book trains
#: with), then the engine's defaults; an option given wins. With ``--resume`` the checkpoint's
#: settings hold (the parser's own default is None, meaning "not given").
DEFAULT_DATA = "ring"

#: Settings and memory: a run whose estimated working memory exceeds this share of the
#: machine's memory is refused before it starts (instead of an allocator traceback, or the
#: out-of-memory killer, much later).
MEMORY_SHARE = 0.5


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
    d = TrainerConfig.defaults()
    t.epilog = (
        "Unless given, a setting is the target's recipe's (the one the book trains with; "
        "`compare` uses it too), else the engine's default in parentheses. Without --lr "
        "options the recipe's learning-rate schedule applies."
    )
    t.add_argument("--data", choices=sorted(DATASETS), default=None, help=f"({DEFAULT_DATA})")
    t.add_argument("--loss", choices=sorted(LOSSES), default=None, help=f"({d['loss']})")
    t.add_argument(
        "--steps",
        type=_positive_int,
        default=None,
        help=f"generator updates (the recipe's budget; {DEFAULT_STEPS} without one)",
    )
    t.add_argument("--seed", type=_seed, default=None, help=f"({d['seed']})")
    t.add_argument("--batch-size", type=_positive_int, default=None, help=f"({d['batch_size']})")
    t.add_argument(
        "--d-steps", type=_nonnegative_int, default=None, help=f"D updates per G ({d['d_steps']})"
    )
    t.add_argument("--lr", type=_positive_float, default=None, help="both learning rates")
    t.add_argument("--lr-g", type=_positive_float, default=None, help="generator learning rate")
    t.add_argument("--lr-d", type=_positive_float, default=None, help="discriminator lr")
    t.add_argument("--beta1", type=_beta, default=None, help=f"Adam's beta1 ({d['betas'][0]})")
    t.add_argument("--beta2", type=_beta, default=None, help=f"Adam's beta2 ({d['betas'][1]})")
    t.add_argument("--width", type=_positive_int, default=None, help=f"units ({d['width']})")
    t.add_argument("--depth", type=_positive_int, default=None, help=f"layers ({d['depth']})")
    t.add_argument("--latent-dim", type=_positive_int, default=None, help=f"({d['latent_dim']})")
    t.add_argument(
        "--slope", type=_beta, default=None, help=f"LeakyReLU slope ({d['slope']}; 0: ReLU)"
    )
    t.add_argument("--ema", type=_decay, default=None, help="decay of a generator EMA (none)")
    t.add_argument("--scheme", choices=SCHEMES, default=None, help=f"({d['scheme']})")
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
        "of chapters 7-9) and print mean and standard deviation over the seeds, with the "
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
    c.add_argument("--seeds", type=_positive_int, default=10, help="seeds 0..N-1 per loss")
    c.add_argument("--steps", type=_positive_int, default=None, help="default: the recipe's")
    c.add_argument("--device", type=_device, default="auto", help="auto, cpu or cuda")
    c.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    sub.add_parser(
        "page-settings",
        help="print the page's gd_settings.js (trainer defaults, live recipe, colours)",
        description="Print the settings the page's JavaScript trainer reads, generated from the "
        "package (gandemo.page): make page-settings writes them to book/_static/gd_settings.js.",
    )
    return parser


def summary(trainer: Trainer, seconds: float, steps: int) -> dict:
    """The figures the command prints, as a dict."""
    fake = trainer.sample(METRIC_SAMPLES, seed=0).numpy()
    out = dict(
        data=getattr(trainer.data, "name", type(trainer.data).__name__),
        loss=trainer.config.to_dict()["loss"],
        steps=int(steps),
        total_steps=int(trainer.step),
        seconds=round(float(seconds), 3),
        steps_per_s=round(steps / seconds, 1) if seconds > 0 else float("nan"),
        device=str(trainer.device),
        seed=trainer.config.to_dict()["seed"],
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
    ax.set_title(f"{' / '.join(dict.fromkeys(trainer.config.loss))} GAN, {title}")
    fig.savefig(path, dpi=100)


#: ``train``'s options that a checkpoint fixes: with ``--resume``, giving one with another
#: value than the checkpoint's is an error.
_FIXED_BY_CHECKPOINT = (
    "loss",
    "seed",
    "batch_size",
    "d_steps",
    "beta1",
    "beta2",
    "width",
    "depth",
    "latent_dim",
    "slope",
    "ema",
    "scheme",
)


def _check_train_args(args) -> None:
    """Every check of ``train``'s arguments that needs no training, as ValueErrors: the output
    paths (writable, regular, not the same file twice), the options ``--resume`` cannot take,
    and the memory a new run needs. Fills in the defaults of a new run."""
    if args.plot is not None:
        _writable_file(args.plot, "--plot", _plot_formats())
    if args.save is not None:
        _writable_file(args.save, "--save")
    if args.save and args.plot and os.path.realpath(args.save) == os.path.realpath(args.plot):
        raise ValueError(
            f"--save and --plot name the same file {args.save!r}: the picture would replace the "
            f"checkpoint"
        )
    if args.resume is not None:
        if args.steps is None:
            args.steps = DEFAULT_STEPS
        return  # the settings are checked against the checkpoint's once it is read
    if args.data is None:
        args.data = DEFAULT_DATA
    if args.steps is None:
        args.steps = recipe_for(args.data).steps
    s = _run_settings(args)
    _check_memory(
        1,
        width=s["width"],
        depth=s["depth"],
        batch_size=s["batch_size"],
        latent_dim=s["latent_dim"],
        what="this run",
    )


def _check_resumed_settings(args, config: TrainerConfig) -> None:
    """A ValueError naming every option of :data:`_FIXED_BY_CHECKPOINT` that was given with
    ``--resume`` and differs from the checkpoint's setting (the same value is accepted)."""
    saved = dict(config.to_dict(), beta1=config.betas[0], beta2=config.betas[1])
    differ = [
        f"--{k.replace('_', '-')} {getattr(args, k)} (the checkpoint has {saved[k]!r})"
        for k in _FIXED_BY_CHECKPOINT
        if getattr(args, k) is not None and getattr(args, k) != saved[k]
    ]
    if differ:
        raise ValueError(
            f"--resume continues {args.resume} with its own settings, which "
            f"{'; '.join(differ)} would change (only --lr, --lr-g, --lr-d and --device can)"
        )


def _run_settings(args) -> dict:
    """The :class:`~gandemo.training.Trainer` settings of a new run: the engine's defaults,
    then the target's recipe, then the options given (learning rates aside)."""
    s = {**TrainerConfig.defaults(), **recipe_for(args.data).settings}
    for key in _FIXED_BY_CHECKPOINT:
        if key not in ("beta1", "beta2") and getattr(args, key) is not None:
            s[key] = getattr(args, key)
    betas = list(s["betas"])
    for i, key in enumerate(("beta1", "beta2")):
        if getattr(args, key) is not None:
            betas[i] = getattr(args, key)
    s["betas"] = tuple(betas)
    return s


def _memory_bytes() -> float:
    """The memory this process may use: the machine's, or a smaller address-space limit."""
    total = math.inf
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        pass
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            total = min(total, soft)
    except (ImportError, AttributeError, ValueError, OSError):
        pass
    return total


def _check_memory(models: int, *, width, depth, batch_size, latent_dim, what: str) -> None:
    """A ValueError if ``models`` networks of these sizes would need more than
    :data:`MEMORY_SHARE` of the memory (a rough estimate: weights, gradients, Adam's moments
    and the moving average; activations of a step with a gradient penalty; the minibatch
    buffers; 64-D data at most)."""
    dim = 64
    params = 2 * (depth - 1) * width * width + width * (2 * dim + latent_dim + 1)
    per_model = (
        6 * params
        + 20 * batch_size * width * depth
        + Trainer.CHUNK * batch_size * (dim + latent_dim)
        + METRIC_SAMPLES * (width + dim)
    )
    need = 4.0 * models * per_model
    have = MEMORY_SHARE * _memory_bytes()
    if need > have:
        raise ValueError(
            f"{what} needs about {need / 2**30:.3g} GiB of memory ({models} model(s) of width "
            f"{width}, depth {depth}, batch size {batch_size}), more than "
            f"{MEMORY_SHARE:.0%} of the {have / MEMORY_SHARE / 2**30:.3g} GiB available: "
            f"choose smaller sizes or fewer models"
        )


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and "alloc" in str(exc) and "memory" in str(exc).lower()
    )


def _build(args) -> tuple[Trainer, Recipe | None]:
    """The trainer the arguments describe, a new one or the one ``--resume`` names, and the
    schedule to train it along (a recipe; None: constant learning rates)."""
    lr_g = args.lr_g if args.lr_g is not None else args.lr
    lr_d = args.lr_d if args.lr_d is not None else args.lr
    if args.resume is not None:
        target = None if args.data is None else make_data(args.data)
        trainer = Trainer.load(
            args.resume, target, device=None if args.device == "auto" else args.device
        )
        _check_resumed_settings(args, trainer.config)
        if trainer.n_models != 1:
            raise ValueError(
                f"{args.resume} holds {trainer.n_models} models; the command line continues "
                f"one (continue it in Python with gandemo.Trainer.load)"
            )
        if trainer.diverged:
            raise ValueError(
                f"{args.resume}: this model diverged at step {trainer.diverged[0]} and cannot "
                f"be continued"
            )
        trainer.set_learning_rates(lr_g=lr_g, lr_d=lr_d)
        return trainer, None
    target = make_data(args.data)
    recipe = recipe_for(args.data)
    _, first_g, first_d = recipe.schedule[0]
    settings = dict(
        _run_settings(args),
        lr_g=first_g if lr_g is None else lr_g,
        lr_d=first_d if lr_d is None else lr_d,
        device=args.device,
        metric_every=args.steps,
        metric_samples=METRIC_SAMPLES,
    )
    schedule = recipe if lr_g is None and lr_d is None else None
    return Trainer(target, **settings), schedule


def _error(text: str, code: int = 2) -> int:
    print(f"gandemo: error: {text}", file=sys.stderr)
    return code


class _StopSignals:
    """Within the block, SIGTERM (``kill``, ``timeout``, ``docker stop``, Jupyter's shutdown)
    and SIGHUP (a closed terminal) act as Ctrl-C does at that moment: they stop a run after
    the current step, or are ignored where Ctrl-C is. ``received`` is the first one's number.
    Outside the main thread it does nothing."""

    SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))

    def __enter__(self):
        self.received = None
        self.saved = {}
        if _main_thread():
            for sig in self.SIGNALS:
                try:
                    self.saved[sig] = signal.signal(sig, self._handler)
                except (ValueError, OSError):
                    pass
        return self

    def _handler(self, signum, frame):
        if self.received is None:
            self.received = signum
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        elif handler == signal.SIG_DFL:
            raise KeyboardInterrupt

    def exit_code(self, interrupted: bool) -> int:
        """130 after Ctrl-C, 128 + the number of SIGTERM or SIGHUP after those, else 0."""
        if self.received is not None:
            return 128 + self.received
        return EXIT_INTERRUPTED if interrupted else 0

    def __exit__(self, *exc):
        for sig, old in self.saved.items():
            signal.signal(sig, old)
        return False


def _train(args) -> int:
    with _StopSignals() as stop:
        try:  # every argument and every output path is checked before a step is trained
            _check_train_args(args)
            trainer, schedule = _build(args)
        except ValueError as exc:
            return _error(str(exc))
        start = trainer.step
        t0 = time.perf_counter()
        try:
            if schedule is None:
                trainer.run(args.steps, progress=args.progress)
            else:  # the recipe's learning rates, phase by phase (a Ctrl-C ends them all)
                schedule.run(
                    trainer, start + args.steps, step=lambda t, n: t.run(n, progress=args.progress)
                )
        except TrainingDiverged as exc:
            kept = (
                f"; {args.save} was not overwritten"
                if args.save and os.path.exists(args.save)
                else ""
            )
            return _error(f"training diverged: {exc}{kept}", 1)
        except (MemoryError, RuntimeError) as exc:
            if not _out_of_memory(exc):
                raise
            return _error(f"out of memory: {str(exc).splitlines()[0]}; choose smaller sizes", 1)
        seconds = time.perf_counter() - t0
        # from here on a Ctrl-C must not lose the run: it is ignored until the summary is out
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
        failed = []
        try:
            s = summary(trainer, seconds, trainer.step - start)
            if args.data is not None:
                s["data"] = args.data
            if args.save:
                try:
                    trainer.save(args.save)
                    s["checkpoint"] = str(args.save)
                except (OSError, ValueError) as exc:
                    failed.append(f"checkpoint not saved: {exc}")
            if args.plot:
                try:
                    plot_trainer(trainer, args.plot)
                    s["plot"] = str(args.plot)
                except Exception as exc:  # any failure of the picture: the summary comes first
                    cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                    failed.append(f"picture not saved to {args.plot!r}: {cause}")
            print(json.dumps(s) if args.json else format_summary(s), flush=True)
        finally:
            if previous is not None and not _console.active:  # see console()
                signal.signal(signal.SIGINT, previous)
        for message in failed:
            _error(message)
        return 1 if failed else stop.exit_code(trainer.interrupted)


def format_comparison(result: dict) -> str:
    """The table that ``compare`` prints without ``--json``, from its JSON object."""
    keys = [
        k
        for k in ("modes", "high_quality", "reverse_kl", "confidence", "fid")
        if any(k in r for r in result["rows"] + result["chance"])
    ]
    head = {k: METRICS[k].short for k in keys}

    def cell(r, k):
        if k not in r or r[k][0] is None:
            return "n/a"
        return METRICS[k].format(*r[k])

    name_w = max(len(r.get("loss", r.get("name", ""))) for r in result["rows"] + result["chance"])
    lines = [
        ("interrupted: " if result.get("interrupted") else "")
        + f"{result['data']}: {result['steps']} steps, {result['seconds']:.1f} s "
        f"(mean ± std over seeds; chance rows over as many draws)",
        f"{'':{name_w}}  runs  " + "  ".join(f"{head[k]:>16}" for k in keys),
    ]
    for r in result["rows"] + result["chance"]:
        name = r.get("loss", r.get("name"))
        flag = "" if r.get("beats_chance", True) else "  (does not beat chance: not ranked)"
        lines.append(
            f"{name:{name_w}}  {r['runs']:4d}  "
            + "  ".join(f"{cell(r, k):>16}" for k in keys)
            + flag
        )
    return "\n".join(lines)


def _compare(args) -> int:
    from .experiments import RECIPES, compare

    losses = None if args.loss is None else list(dict.fromkeys(args.loss))
    settings = {**TrainerConfig.defaults(), **RECIPES[args.data].settings}
    try:
        _check_memory(
            args.seeds * len(losses or LOSSES),
            **{k: settings[k] for k in ("width", "depth", "batch_size", "latent_dim")},
            what=f"--seeds {args.seeds}",
        )
    except ValueError as exc:
        return _error(str(exc))
    with _StopSignals() as stop:
        # a Ctrl-C between the runs or while scoring is held until the result is out; a run
        # itself stops at the next step and the comparison scores the models where they stand
        _note_interrupt.pressed = False
        previous = signal.signal(signal.SIGINT, _note_interrupt) if _main_thread() else None
        try:
            result = compare(
                args.data,
                losses=losses,
                seeds=range(args.seeds),
                steps=args.steps,
                device=args.device,
                record=_run_unless_interrupted,
            )
            obj = result.to_json()
            obj["interrupted"] = bool(obj["interrupted"] or _note_interrupt.pressed)
            print(json.dumps(obj) if args.json else format_comparison(obj), flush=True)
        except TrainingDiverged as exc:
            return _error(f"training diverged: {exc}", 1)
        except ValueError as exc:
            return _error(str(exc))
        except (MemoryError, RuntimeError) as exc:
            if not _out_of_memory(exc):
                raise
            return _error(f"out of memory: {str(exc).splitlines()[0]}; choose fewer seeds", 1)
        finally:
            if previous is not None and not _console.active:  # see console()
                signal.signal(signal.SIGINT, previous)
        return stop.exit_code(obj["interrupted"])


def _note_interrupt(signum, frame) -> None:
    """``compare``'s SIGINT handler outside a run: note the press, raise nothing."""
    _note_interrupt.pressed = True


def _run_unless_interrupted(trainer: Trainer, n: int) -> list:
    """``compare``'s training step: no more training after a Ctrl-C between two runs."""
    if _note_interrupt.pressed:
        trainer.interrupted = True
        return []
    trainer.run(n, progress=False)
    return []


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m gandemo`` and of the ``gandemo`` console script."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "compare":
            return _compare(args)
        if args.command == "page-settings":
            from .page import settings_js

            print(settings_js(), end="")
            return 0
    except KeyboardInterrupt:  # before training started (loading a checkpoint, a dataset)
        print("gandemo: interrupted before training started; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 2  # pragma: no cover (argparse requires a command)


def console() -> None:
    """The ``gandemo`` console script and ``python -m gandemo``: run :func:`main` and exit with
    its status.

    Once the result is printed a Ctrl-C can no longer stop anything, so it stays ignored until
    the process ends (:func:`main` called from Python restores the caller's handler instead).
    After an interrupted run the process ends with ``os._exit`` once the output is flushed. A
    plain exit is not reliable there: when the KeyboardInterrupt landed inside code that a C
    extension ran through ``PyRun_String`` (which happens while torch loads), CPython remembers
    it as unhandled and, at exit, kills the process with SIGINT whatever status was asked for
    (the shell then sees -2 instead of 130). Everything the command writes (the checkpoint, the
    picture) is closed before :func:`main` returns.
    """
    _console.active = True
    code = main()
    if _main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if code in (EXIT_INTERRUPTED, 128 + signal.SIGTERM, 128 + getattr(signal, "SIGHUP", 1)):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


class _console:
    """Whether this process runs :func:`console` (and not :func:`main` from Python)."""

    active = False


if __name__ == "__main__":
    console()
