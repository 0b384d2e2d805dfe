r"""Experiments that can carry a claim: recipes, chance baselines and tests (chapters 7-9).

A comparison of GAN losses is a measurement, and a measurement needs three things besides the
runs themselves, which this module provides:

* a **recipe** (:class:`Recipe`, :data:`RECIPES`): the architecture, optimiser, schedule and
  budget with which models reach the regime where the metrics mean something; chapters 7 and 8
  and ``python -m gandemo compare`` use the same one;
* **chance rows** (:func:`chance_rows`): generators with no structure at all, scored with the
  same metric and the same number of samples, so that a trained row is read against what luck
  alone scores;
* **tests** (:func:`welch`, :func:`paired`, :func:`pairwise`, :func:`holm`): Welch's
  unequal-variance t-test and a 95 % confidence interval of the difference of two means
  (scipy), for every comparison the prose makes, with Holm's correction over the pairwise
  tests of a table.

:func:`compare` runs one comparison (losses x seeds on one target) and returns a
:class:`Comparison` with the trainer, the rows, the chance rows and the time it took;
:data:`PUBLISHED` holds each loss's settings from the paper that introduced or popularised it,
and :data:`PACGAN_ROWS` the published rows of PacGAN (Lin et al., 2018) to read ours against.
"""

from __future__ import annotations

import math
import textwrap
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from . import data as data_module
from .losses import LOSSES
from .metrics import METRICS
from .training import Trainer, TrainerConfig, summarize
from .utils import check_nonnegative_int, check_positive_int

__all__ = [
    "at_seconds",
    "beats_chance",
    "CHANCE",
    "chance_rows",
    "chance_samples",
    "compare",
    "Comparison",
    "holm",
    "metrics_table",
    "one_sample_modes",
    "PACGAN_ROWS",
    "PUBLISHED",
    "Published",
    "REGIME_HQ",
    "paired",
    "pairwise",
    "published_recipe",
    "Recipe",
    "RECIPES",
    "LIVE_RECIPE",
    "recipe_for",
    "DEFAULT_STEPS",
    "rows_table",
    "versus",
    "welch",
]


@dataclass(frozen=True)
class Recipe:
    """How to train on one target: :class:`~gandemo.training.Trainer` settings, a learning-rate
    schedule and a budget of generator steps.

    Attributes:
        settings: keyword arguments of :class:`~gandemo.training.Trainer` (without ``loss``,
            ``seed`` and the learning rates, which the schedule sets).
        schedule: ``((from_step, lr_g, lr_d), ...)``, the first entry from step 0; a rate is a
            number, or a mapping from loss name to a number (each loss at its own rate).
        steps: generator steps of a full run.
        note: where the recipe comes from, in a few words (:meth:`describe` says the rest).
    """

    settings: dict
    schedule: tuple[tuple[int, float, float], ...]
    steps: int
    note: str = ""

    def __post_init__(self) -> None:
        if not self.schedule or self.schedule[0][0] != 0:
            raise ValueError("schedule must start with an entry for step 0")
        starts = [s for s, _, _ in self.schedule]
        if starts != sorted(set(starts)):
            raise ValueError(f"schedule steps must increase; got {starts}")
        check_positive_int(self.steps, "steps")

    def describe(self, prefix: str = "recipe: ", width: int = 72) -> str:
        """The recipe in words after ``prefix``, generated from its settings and schedule (so
        the words cannot drift from what trains), wrapped to ``width`` columns.

        Introduced in :doc:`/chapters/07_train_live`.
        """
        s = {**TrainerConfig.defaults(), **self.settings}
        units = "ReLU" if s["slope"] == 0 else f"LeakyReLU ({s['slope']:g})"
        d_steps = f"{s['d_steps']} D step{'s' if s['d_steps'] > 1 else ''} per G step"
        parts = [
            f"generator and discriminator {s['depth']} x {s['width']} {units} units",
            f"{s['latent_dim']}-D latent codes",
            *(["tanh outputs"] if s["g_output"] == "tanh" else []),
            f"minibatch {s['batch_size']}",
            d_steps,
            f"Adam betas {tuple(s['betas'])}",
            *([f"generator EMA {s['ema']:g}"] if s["ema"] else []),
            f"{self.steps} steps",
        ]

        def rate(v):
            return "per loss" if isinstance(v, Mapping) else f"{v:g}"

        rates = [
            f"{rate(g)} from step {start}"
            if rate(g) == rate(d)
            else f"G {rate(g)}, D {rate(d)} from step {start}"
            for start, g, d in self.schedule
        ]
        text = "; ".join(parts) + "; learning rate " + ", then ".join(rates)
        if self.note:
            text += f" ({self.note})"
        return textwrap.fill(prefix + text, width, subsequent_indent="  ", break_on_hyphens=False)

    def trainer(self, data, loss, seed, **overrides) -> Trainer:
        """A :class:`~gandemo.training.Trainer` with this recipe's settings (``overrides`` win)
        and the schedule's first learning rates."""
        _, lr_g, lr_d = self.schedule[0]
        config = {**self.settings, "lr_g": lr_g, "lr_d": lr_d, **overrides}
        return Trainer(data, loss=loss, seed=seed, **config)

    def rates_at(self, step: int) -> tuple[float, float]:
        """The ``(lr_g, lr_d)`` the schedule gives the update after generator step ``step``."""
        check_nonnegative_int(step, "step")
        return next((g, d) for s, g, d in reversed(self.schedule) if step >= s)

    def phases(self, steps: int | None = None, start: int = 0) -> list[tuple[int, float, float]]:
        """The schedule cut into ``(steps, lr_g, lr_d)`` pieces from generator step ``start``
        to ``steps`` (default: the recipe's budget)."""
        end = self.steps if steps is None else check_positive_int(steps, "steps")
        pieces = []
        for i, (s, lr_g, lr_d) in enumerate(self.schedule):
            nxt = self.schedule[i + 1][0] if i + 1 < len(self.schedule) else math.inf
            lo, hi = max(s, start), min(nxt, end)
            if hi > lo:
                pieces.append((int(hi - lo), lr_g, lr_d))
        return pieces

    def run(self, trainer: Trainer, steps: int | None = None, step: Callable | None = None):
        """Train ``trainer`` along the schedule up to ``steps`` generator steps in all.

        Args:
            trainer: a trainer built with :meth:`trainer` (its current step is respected).
            steps: total generator steps (default: the recipe's budget).
            step: called as ``step(trainer, n)`` to train ``n`` steps at the current rates
                (default: ``trainer.run(n, progress=False)``), e.g. to record frames.
        """
        for n, lr_g, lr_d in self.phases(steps, start=trainer.step):
            trainer.set_learning_rates(lr_g, lr_d)
            if step is None:
                trainer.run(n, progress=False)
            else:
                step(trainer, n)
            if trainer.interrupted or trainer.should_stop:  # Ctrl-C or a callback: no next phase
                break
        return trainer


_TOY = dict(
    latent_dim=2,
    width=64,
    depth=4,
    batch_size=128,
    betas=(0.5, 0.999),
    d_steps=1,
    slope=0.0,
    ema=0.99,
    record_every=10,
    metric_every=250,
    metric_samples=2500,
)

_RING = Recipe(
    _TOY,
    ((0, 2e-3, 2e-3), (1500, 5e-4, 5e-4)),
    3000,
    "tuned in benchmarks/bench_quality.py",
)

#: The book's recipes, by target name (see ``benchmarks/bench_quality.py`` for how the ring's
#: was found).
RECIPES: dict[str, Recipe] = {
    "ring": _RING,
    "grid": replace(_RING, note="the ring's recipe, unchanged"),
    "digits": Recipe(
        dict(
            latent_dim=16,
            width=256,
            depth=2,
            batch_size=64,
            betas=(0.5, 0.999),
            d_steps=1,
            g_output="tanh",
            ema=0.99,
            record_every=20,
            metric_every=250,
            metric_samples=1000,
        ),
        ((0, 5e-4, 5e-4),),
        4000,
    ),
}


#: The live trainer in the page (``book/_static/gd_live.js``, chapters 5 and 7), on the ring:
#: small enough to train at a few hundred steps per second in a browser. Measured with the page's
#: own code on seeds 0-7 (``tests/test_live_js.py``): 3-6 of 8 modes and 22-39 % high-quality
#: samples after its 1200 steps; the page reads it from ``gd_settings.js`` (:mod:`gandemo.page`).
LIVE_RECIPE = Recipe(
    dict(latent_dim=2, width=32, depth=3, batch_size=64, slope=0.2, ema=0.99),
    ((0, 5e-3, 5e-3), (800, 1e-3, 1e-3)),
    1200,
    "the page's live trainer",
)

#: Generator steps of a run on a target without a recipe (:func:`recipe_for`).
DEFAULT_STEPS = 5000


def recipe_for(target: str) -> Recipe:
    """How the command line and the dashboard train the named target (a key of
    :data:`gandemo.data.TARGETS`): its recipe in :data:`RECIPES`, else (the 1-D targets) the
    engine's own defaults at constant learning rates for :data:`DEFAULT_STEPS` steps."""
    if target in RECIPES:
        return RECIPES[target]
    if target not in data_module.TARGETS:
        raise ValueError(f"target must be one of {sorted(data_module.TARGETS)}; got {target!r}")
    defaults = TrainerConfig.defaults()
    rates = (0, defaults["lr_g"], defaults["lr_d"])
    return Recipe({}, (rates,), DEFAULT_STEPS, "the engine's defaults")


@dataclass(frozen=True)
class Published:
    """A loss's training settings as published: overrides of a recipe's settings and its one
    constant learning rate."""

    settings: dict
    lr: float
    source: str


#: Each loss's optimiser settings from its paper (constant rates, no EMA), on our networks.
PUBLISHED: dict[str, Published] = {
    "saturating": Published(
        dict(betas=(0.5, 0.999), d_steps=1, ema=None), 2e-4, "radford2016dcgan"
    ),
    "non-saturating": Published(
        dict(betas=(0.5, 0.999), d_steps=1, ema=None), 2e-4, "radford2016dcgan"
    ),
    "least-squares": Published(dict(betas=(0.5, 0.999), d_steps=1, ema=None), 2e-4, "mao2017lsgan"),
    "hinge": Published(dict(betas=(0.0, 0.9), d_steps=5, ema=None), 2e-4, "miyato2018spectral"),
    "wasserstein-gp": Published(
        dict(betas=(0.0, 0.9), d_steps=5, ema=None), 1e-4, "gulrajani2017wgangp"
    ),
}

#: The vanilla GAN's rows of PacGAN (Lin et al., 2018), Table 1. Their networks are a 4 x 400
#: ReLU generator with batch norm and a 3 x 200 maxout discriminator, trained for about 400k
#: steps of batch 100. Their modes count by the one-sample rule (``modes_one_sample``).
PACGAN_ROWS: dict[str, dict] = {
    "ring": dict(
        name="PacGAN's GAN (published)",
        modes_one_sample=(6.3, 0.5),
        high_quality=(0.982, 0.002),
        reverse_kl=(0.45, 0.09),
        steps=400_000,
    ),
    "grid": dict(
        name="PacGAN's GAN (published)",
        modes_one_sample=(17.3, 0.8),
        high_quality=(0.948, 0.007),
        reverse_kl=(0.70, 0.07),
        steps=400_000,
    ),
}


def published_recipe(data_name: str, loss: str | Sequence[str], steps: int | None = None) -> Recipe:
    """The recipe of ``data_name`` with ``loss``'s :data:`PUBLISHED` settings: the same networks
    and minibatch, the paper's optimiser and critic steps, one constant learning rate, no EMA.

    ``loss`` may be a list of losses whose published settings differ only in the learning
    rate: they then train as one batched run, each loss at its own rate.
    """
    if data_name not in RECIPES:
        raise ValueError(f"data must be one of {sorted(RECIPES)}; got {data_name!r}")
    names = [loss] if isinstance(loss, str) else list(loss)
    if not names:
        raise ValueError("loss must name at least one loss")
    for name in names:
        if name not in PUBLISHED:
            raise ValueError(f"loss must be one of {sorted(PUBLISHED)}; got {name!r}")
    base, pubs = RECIPES[data_name], [PUBLISHED[n] for n in names]
    if any(p.settings != pubs[0].settings for p in pubs):
        raise ValueError(
            f"loss: {names} were published with different optimiser settings "
            f"({[p.settings for p in pubs]}); only the learning rate may differ in one run"
        )
    rates = {n: p.lr for n, p in zip(names, pubs, strict=True)}
    lr = pubs[0].lr if len(set(rates.values())) == 1 else rates
    return Recipe(
        {**base.settings, **pubs[0].settings},
        ((0, lr, lr),),
        base.steps if steps is None else steps,
        f"{', '.join(names)} as published ({', '.join(sorted({p.source for p in pubs}))})",
    )


def at_seconds(comparison: Comparison, seconds: float, loss: str | None = None) -> dict:
    """The metrics at the last metric record whose wall time is within ``seconds``:
    ``{"step", "seconds", <metric>: (mean, std) over the models of ``loss`` (default: all)}``.

    For an equal-wall-time reading of a slower setting (e.g. 5 critic steps per generator
    step): pass the wall time the faster setting needed for its whole budget."""
    h = comparison.trainer.history
    idx = h.by_loss()[loss] if loss is not None else list(range(h.n_models))
    wall = np.interp(h.metric_step, h.step, h.wall_time, left=0.0)
    ok = np.flatnonzero(wall <= seconds + 1e-9)
    i = int(ok[-1]) if len(ok) else 0
    out = {"step": int(h.metric_step[i]), "seconds": float(wall[i])}
    for key, values in h.metrics.items():
        out[key] = _mean_std(values[i, idx])
    return out


def _box(data) -> tuple[np.ndarray, np.ndarray]:
    centers = np.asarray(data.centers, dtype=float)
    pad = 3.0 * float(data.std)
    return centers.min(0) - pad, centers.max(0) + pad


def chance_samples(data, kind: str, n: int, seed: int) -> np.ndarray:
    """``n`` samples of a generator without structure, for a 2-D mixture target:

    * ``"uniform"``: uniform over the data's box (the centres' bounding box widened by 3
      standard deviations);
    * ``"gaussian"``: one Gaussian blob with the data's mean and covariance.
    """
    n = check_positive_int(n, "n")
    rng = np.random.default_rng([int(seed), 7])
    lo, hi = _box(data)
    if kind == "uniform":
        return rng.uniform(lo, hi, size=(n, len(lo)))
    if kind == "gaussian":
        real = data.sample(20_000, torch.Generator().manual_seed(int(seed))).numpy()
        return rng.multivariate_normal(real.mean(0), np.cov(real.T), size=n)
    raise ValueError(f"kind must be 'uniform' or 'gaussian'; got {kind!r}")


#: The chance generators of :func:`chance_samples` and their row names.
CHANCE = {
    "uniform": "chance: uniform over the data's box",
    "gaussian": "chance: one Gaussian blob",
}


def _mean_std(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return (math.nan, 0.0)
    return (float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0)


def chance_rows(data, draws: int = 5, n: int = 2500) -> list[dict]:
    """The chance rows of a table: each generator of :func:`chance_samples`, ``draws`` times
    ``n`` samples scored with the engine's metrics, as ``{"name", "runs", <metric>: (mean,
    std), "values": {<metric>: per-draw array}}``."""
    from .digits import Digits, baseline_rows
    from .training import target_metrics

    draws = check_positive_int(draws, "draws")
    if isinstance(data, Digits):  # real digits, prototypes, pixel averages, noise
        rows = baseline_rows(draws=draws, n=n)
        for r in rows:
            r["chance"] = r["kind"] in ("average", "noise")
        return rows
    rows = []
    for kind, name in CHANCE.items():
        draws_x = [chance_samples(data, kind, n, d) for d in range(draws)]
        scores = [target_metrics(data, x) for x in draws_x]
        values = {k: np.array([s[k] for s in scores], dtype=float) for k in scores[0]}
        if hasattr(data, "centers"):
            values["modes_one_sample"] = one_sample_modes(data, draws_x)
        _void_reverse_kl(values)
        rows.append(
            {
                "name": name,
                "runs": draws,
                **{k: _mean_std(v) for k, v in values.items()},
                "values": values,
            }
        )
    return rows


def welch(a, b) -> dict:
    """Welch's t-test of two samples (``scipy.stats.ttest_ind(equal_var=False)``).

    Introduced in :doc:`/chapters/07_train_live`.

    Returns:
        ``{"diff": mean(a) - mean(b), "ci": (lo, hi)`` (95 % confidence interval of the
        difference), ``"t", "p"}``; NaN statistics if either sample has fewer than 2 finite
        values. Two samples without any spread give ``p`` 0 when their means differ, 1 if not.
    """
    from scipy import stats

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return _t_result(math.nan)
    diff = float(a.mean() - b.mean())
    if a.std() == 0 and b.std() == 0:
        return _t_result(diff)
    with warnings.catch_warnings():
        # one sample without spread (every seed covers all classes, say) is a valid input to
        # Welch's test; scipy's note that its moments are nearly identical says nothing more
        warnings.filterwarnings(
            "ignore", message="Precision loss occurred", category=RuntimeWarning
        )
        res = stats.ttest_ind(a, b, equal_var=False)
    return _t_result(diff, res)


def _t_result(diff: float, res=None) -> dict:
    """A t-test's result as :func:`welch` and :func:`paired` return it; without ``res``, the
    degenerate cases: NaN (too few values), or no spread (p 0 if ``diff`` is not 0, else 1)."""
    if res is None:
        if math.isnan(diff):
            return {"diff": diff, "ci": (diff, diff), "t": diff, "p": diff}
        p = 1.0 if diff == 0 else 0.0
        return {"diff": diff, "ci": (diff, diff), "t": math.copysign(math.inf, diff), "p": p}
    ci = res.confidence_interval(0.95)
    return {
        "diff": diff,
        "ci": (float(ci.low), float(ci.high)),
        "t": float(res.statistic),
        "p": float(res.pvalue),
    }


def paired(a, b) -> dict:
    """The paired t-test of two measurements of the same models (``scipy.stats.ttest_rel``),
    e.g. the same runs before and after more steps.

    Introduced in :doc:`/chapters/08_loss_zoo`.

    Returns:
        ``{"diff": mean(a - b), "ci": (lo, hi)`` (95 % confidence interval of the mean
        difference), ``"t", "p"}``, as :func:`welch`; pairs with a non-finite value are left
        out, NaN statistics with fewer than 2 pairs. Differences without any spread give ``p``
        0 when their mean is not 0, 1 if it is.
    """
    from scipy import stats

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be 1-D and of one length; got {a.shape} and {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if len(a) < 2:
        return _t_result(math.nan)
    d = a - b
    diff = float(d.mean())
    if d.std() == 0:
        return _t_result(diff)
    return _t_result(diff, stats.ttest_rel(a, b))


def versus(a, b) -> dict:
    """Compare runs ``a`` with a reference ``b``: Welch's test (:func:`welch`) when ``b`` holds
    two or more values (e.g. several draws of a random baseline), a one-sample t-test of ``a``
    against the value when ``b`` is a single measurement (a fixed baseline measured once).

    Introduced in :doc:`/chapters/09_digits`.

    Returns the dict of :func:`welch`: ``diff`` is ``mean(a) - b``, ``ci`` its 95 % interval.
    """
    from scipy import stats

    a = np.asarray(a, dtype=float)
    b = np.atleast_1d(np.asarray(b, dtype=float))
    if len(b) > 1:
        return welch(a, b)
    a = a[np.isfinite(a)]
    if len(a) < 2 or not math.isfinite(b[0]):
        return _t_result(math.nan)
    diff = float(a.mean() - b[0])
    if a.std() == 0:
        return _t_result(diff)
    res = stats.ttest_1samp(a, b[0])
    out = _t_result(diff, res)
    out["ci"] = (out["ci"][0] - b[0], out["ci"][1] - b[0])
    return out


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (Holm, 1979): the adjusted p-values,
    in the input's order. Rejecting where the adjusted value is below 0.05 keeps the chance of
    any false rejection in the family below 0.05, whatever the tests' dependence.

    Introduced in :doc:`/chapters/08_loss_zoo`.

    The i-th smallest of m p-values is multiplied by ``m - i`` (i from 0), the running
    maximum is taken in that order, and values are capped at 1. NaN p-values (tests that
    could not be run) stay NaN and do not count in m.
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"pvalues must be a 1-D sequence; got shape {p.shape}")
    finite = np.flatnonzero(np.isfinite(p))
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        raise ValueError("pvalues must lie in [0, 1]")
    out = np.full(p.shape, math.nan)
    m = len(finite)
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[j]))
        out[j] = running
    return out


def pairwise(
    comparison: Comparison, keys: str | Sequence[str], losses: Sequence[str] | None = None
) -> dict[tuple[str, str, str], dict]:
    """Welch's test (:func:`welch`) of every pair of ``losses`` (default: every row) on each
    metric of ``keys``, as one family: ``{(key, a, b): welch(a, b) | {"p_holm": ...}}``, with
    Holm's adjusted p-value (:func:`holm`) over all the pairs and keys of the call.

    Introduced in :doc:`/chapters/08_loss_zoo`.
    """
    keys = [keys] if isinstance(keys, str) else list(keys)
    names = [r["loss"] for r in comparison.rows] if losses is None else list(losses)
    values = {name: comparison.row(name)["values"] for name in names}
    for key in keys:
        if key not in values[names[0]]:
            raise ValueError(f"keys: {key!r} is not a metric of this comparison")
    out = {}
    for key in keys:
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                out[key, a, b] = welch(values[a][key], values[b][key])
    for (k, w), p in zip(out.items(), holm([w["p"] for w in out.values()]), strict=True):
        out[k] = {**w, "p_holm": float(p)}
    return out


@dataclass
class Comparison:
    """The result of :func:`compare`.

    Attributes:
        data_name: the target's name.
        trainer: the trainer of all models (losses x seeds).
        rows: :func:`gandemo.training.summarize` rows, one per loss, each with ``"values"``:
            the per-seed final metrics (for :func:`welch`; on a 2-D mixture also
            ``"modes_one_sample"``, and the reverse KL void, NaN, for runs without a covered
            mode), ``"beats_chance"`` (:func:`beats_chance`) and ``"regime"`` (how many runs
            reach :data:`REGIME_HQ`).
        chance: :func:`chance_rows`.
        seconds: wall time of the training.
        frames: what the ``record`` argument of :func:`compare` returned, if any.
        interrupted: the training was stopped early (Ctrl-C): the rows score the models at
            the step they reached (``trainer.step``), short of the budget.
    """

    data_name: str
    trainer: Trainer
    rows: list[dict]
    chance: list[dict]
    seconds: float
    frames: list = field(default_factory=list)
    interrupted: bool = False

    def row(self, loss: str) -> dict:
        """The row of ``loss``."""
        for r in self.rows:
            if r["loss"] == loss:
                return r
        raise ValueError(f"loss {loss!r} is not in this comparison")

    def to_json(self) -> dict:
        """``{"data", "steps", "seconds", "interrupted", "rows", "chance"}`` with lists for
        pairs."""

        def clean(r: dict, key: str) -> dict:
            out = {key: r[key], "runs": r["runs"]}
            # digits: classes covered and the confident fraction play the parts of the modes
            # covered and the high-quality fraction (gandemo.metrics.METRICS says which)
            alias = {m.stands_for: m.key for m in METRICS.values() if m.stands_for}
            for m in (
                "modes",
                "modes_one_sample",
                "high_quality",
                "reverse_kl",
                "confidence",
                "fid",
            ):
                src = m if m in r else alias.get(m)
                if src in r:
                    out[m] = [_json_number(x) for x in r[src]]
            for flag in ("beats_chance", "regime"):
                if flag in r:
                    out[flag] = r[flag]
            return out

        return {
            "data": self.data_name,
            "steps": self.trainer.step,
            "seconds": round(self.seconds, 2),
            "interrupted": self.interrupted,
            "rows": [clean(r, "loss") for r in self.rows],
            "chance": [clean(r, "name") for r in self.chance],
        }


def _json_number(x):
    x = float(x)
    return x if math.isfinite(x) else None


def beats_chance(row: dict, chance: Sequence[dict], key: str | None = None) -> bool:
    """Whether a trained row beats every chance row (those marked ``"chance"``, not the
    references such as real digits) on ``key`` by Welch's test (p < 0.05, and a larger mean)
    and no run diverged: a row that does not is not ranked. ``key`` defaults to the
    high-quality fraction (the confident fraction for digits).

    This is all it tests: a row at 15 % high-quality samples can beat uniform noise. Whether
    the runs reach the regime where the metrics mean what they say is a separate question
    (:func:`compare`'s ``"regime"``)."""
    if row.get("diverged"):
        return False
    if key is None:
        key = "confident" if "confident" in row["values"] else "high_quality"
    for c in chance:
        if not c.get("chance", True):
            continue
        w = welch(row["values"][key], c["values"][key])
        if not (w["diff"] > 0 and w["p"] < 0.05):
            return False
    return True


#: The high-quality fraction from which a run counts as "in the regime" (the recipe's aim, and
#: roughly where PacGAN's and VEEGAN's published models are).
REGIME_HQ = 0.9


def one_sample_modes(data, samples) -> np.ndarray:
    """Modes covered under PacGAN's one-sample rule (``mode_coverage(min_share=0)``) of each
    set of ``samples`` (``(E, n, 2)``), for the column that compares with published rows."""
    from .metrics import mode_coverage

    return np.array(
        [
            mode_coverage(x, data.centers, data.std, min_share=0).modes
            if np.all(np.isfinite(x))
            else 0
            for x in np.asarray(samples)
        ],
        dtype=float,
    )


def _void_reverse_kl(values: dict) -> None:
    """The reverse KL of a run without a covered mode describes a histogram of stray samples:
    NaN (void), so that a row's mean is over the runs that cover something."""
    if "reverse_kl" in values and "modes" in values:
        rkl = np.array(values["reverse_kl"], dtype=float)
        rkl[np.asarray(values["modes"]) == 0] = math.nan
        values["reverse_kl"] = rkl


def compare(
    data_name: str,
    losses: Sequence[str] | None = None,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    steps: int | None = None,
    recipe: Recipe | None = None,
    record: Callable | None = None,
    **overrides,
) -> Comparison:
    """Train every loss with every seed on one target as one batched run, and score it.

    Args:
        data_name: a target with a recipe (a key of :data:`RECIPES`).
        losses: names of :data:`gandemo.losses.LOSSES` (default: all five).
        seeds: the seeds; every loss gets all of them.
        steps: generator steps (default: the recipe's budget).
        recipe: default ``RECIPES[data_name]``.
        record: called as ``record(trainer, n)`` to train ``n`` steps (e.g. recording frames,
            returning a list of them); default ``trainer.run``.
        overrides: settings that replace the recipe's (e.g. ``device``).

    A Ctrl-C (or a ``record`` that leaves the trainer ``interrupted``) stops the training and
    the learning-rate schedule's later phases with it; the models are scored where they
    stand and the result is marked ``interrupted``.
    """
    if recipe is None:
        if data_name not in RECIPES:
            raise ValueError(f"data must be one of {sorted(RECIPES)}; got {data_name!r}")
        recipe = RECIPES[data_name]
    losses = list(LOSSES) if losses is None else list(losses)
    if not losses:
        raise ValueError("losses must name at least one loss")
    for name in losses:
        if name not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}; got {name!r}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    data = data_module.target(data_name)
    names = [n for n in losses for _ in seeds]
    trainer = recipe.trainer(
        data, [n for n in names], [s for _ in losses for s in seeds], **overrides
    )
    frames: list = []
    stopped = [False]

    def step(t, n):
        if stopped[0]:  # an interrupted phase ends the schedule: no later phase runs
            return
        if record is None:
            t.run(n, progress=False)
        else:
            new = record(t, n) or []
            frames.extend(new if not frames else new[1:])
        stopped[0] = bool(t.interrupted)

    start = time.perf_counter()
    recipe.run(trainer, steps, step=step)
    seconds = time.perf_counter() - start
    chance = chance_rows(data, draws=len(seeds), n=trainer.config["metric_samples"])
    final = dict(trainer.final_metrics())
    mixture = hasattr(data, "centers") and not callable(getattr(data, "metrics", None))
    if mixture:
        final["modes_one_sample"] = one_sample_modes(data, trainer.evaluation_samples())
    rows = summarize(trainer)
    for r in rows:
        idx = trainer.history.by_loss()[r["loss"]]
        r["values"] = {k: v[idx] for k, v in final.items()}
        _void_reverse_kl(r["values"])
        for key, v in r["values"].items():
            r[key] = _mean_std(v)
            finite = int(np.isfinite(v).sum())
            r.pop(f"{key}_runs", None)
            if finite < len(v):
                r[f"{key}_runs"] = finite
        r["beats_chance"] = beats_chance(r, chance)
        key = "confident" if "confident" in r["values"] else "high_quality"
        r["regime"] = int(np.sum(np.asarray(r["values"][key]) >= REGIME_HQ))
    return Comparison(data_name, trainer, rows, chance, seconds, frames, interrupted=stopped[0])


def rows_table(comparison: Comparison, extra: Sequence[dict] = ()) -> str:
    """A Markdown table of a 2-D comparison: the trained rows, then ``extra`` rows (e.g.
    :data:`PACGAN_ROWS`, whose modes count by the one-sample rule), then the chance rows.

    Columns: whether the row beats both chance rows (:func:`beats_chance`; a row that does not
    is not ranked), modes covered by the book's count rule and by PacGAN's one-sample rule,
    the high-quality fraction, how many runs reach :data:`REGIME_HQ`, and the reverse KL over
    the runs that cover a mode (void where none does; "k of n" where only some do)."""
    k = comparison.trainer.data.num_modes
    lines = [
        "| generator | beats chance | modes (count rule) | modes (one sample) | high-quality "
        f"samples | runs at ≥ {100 * REGIME_HQ:.0f} % HQ | reverse KL | runs |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def modes(r, key):
        return f"{_fmt(*r[key], 1)} / {k}" if key in r else "n/a"

    def rkl(r):
        cell = _fmt(*r["reverse_kl"], 2) if math.isfinite(r["reverse_kl"][0]) else "void"
        m = r.get("reverse_kl_runs")
        return cell if m is None or m == 0 else f"{cell} ({m} of {r['runs']} runs)"

    def line(name, r, chance, regime, runs):
        return (
            f"| {name} | {chance} | {modes(r, 'modes')} | {modes(r, 'modes_one_sample')} | "
            f"{_fmt(*r['high_quality'], 1, percent=True)} | {regime} | {rkl(r)} | {runs} |"
        )

    for r in comparison.rows:
        yes = "yes" if r["beats_chance"] else "no"
        lines.append(line(f"`{r['loss']}`", r, yes, f"{r['regime']} of {r['runs']}", r["runs"]))
    for r in extra:
        lines.append(line(r["name"], r, "", "", "published"))
    for r in comparison.chance:
        lines.append(line(r["name"], r, "", "", f"{r['runs']} draws"))
    return "\n".join(lines)


def _fmt(mean: float, std: float, digits: int, percent: bool = False) -> str:
    if not math.isfinite(mean):
        return "n/a"
    if percent:
        return f"{100 * mean:.{digits}f} ± {100 * std:.{digits}f} %"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def metrics_table(
    rows: list[dict],
    columns: dict[str, tuple[str, int, bool]],
    reference=None,
    *,
    first: str = "loss",
) -> str:
    """Rows of :func:`gandemo.training.summarize` (or of chance baselines) as a Markdown table
    of chosen metrics, each cell "mean ± std" (n/a where the mean is not finite).

    Introduced in :doc:`/chapters/09_digits`.

    Args:
        rows: the summary rows: ``(mean, std)`` per metric, ``runs``, and a label, ``name``
            if the row has one (e.g. :func:`gandemo.digits.baseline_rows`), else its ``loss``
            in code font.
        columns: maps a metric key to ``(header, decimals, as_percent)``.
        reference: optional ``(label, {key: value})`` row appended last (e.g. real data).
        first: the header of the label column.
    """
    head = f"| {first} | " + " | ".join(h for h, _, _ in columns.values()) + " | runs |"
    lines = [head, "|---" * (len(columns) + 2) + "|"]
    for r in rows:
        label = r["name"] if "name" in r else f"`{r['loss']}`"
        cells = [_fmt(*r[k], d, percent=p) for k, (_, d, p) in columns.items()]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {r['runs']} |")
    if reference is not None:
        label, values = reference
        cells = [
            f"{100 * values[k]:.{d}f} %" if p else f"{values[k]:.{d}f}"
            for k, (_, d, p) in columns.items()
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " | |")
    return "\n".join(lines)
