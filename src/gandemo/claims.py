r"""The claims of Part III, each written once as a check of a set of runs.

A sentence of chapters 7-9 that depends on training runs ("the non-saturating loss covers more
ring modes than the saturating one") is a claim about the loss, not about the seeds the chapter
happened to train. So each such sentence is written here once, as a :class:`Claim` computed
from the runs: the chapter checks it on its own seeds (0-9) in a cell the page hides, and
``tests/test_heldout.py`` trains the same comparison on seeds the chapters never use (10-19)
and checks the same claims there. A claim that only held for the book's seeds fails CI.

Every claim checks a direction, an interval or a share of the runs, never an exact set of
seeds or of significant pairs: those change from one seed set to the next even when the
finding does not.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import experiments as ex

__all__ = [
    "BOOK_SEEDS",
    "Claim",
    "Claims",
    "digits_five_steps",
    "digits_one_step",
    "discriminator_lag",
    "early_d_fake",
    "early_saturation",
    "FIVE_STEP_BUDGET",
    "HELD_OUT_SEEDS",
    "longer_budget",
    "median_logits",
    "mode_drops",
    "nearest_real_distance",
    "ring_losses",
    "saturating_outcomes",
    "SATURATED",
    "stronger_discriminator",
    "tail_means",
    "zoo",
]

#: The seeds chapters 7-9 train each compared row on.
BOOK_SEEDS = tuple(range(10))
#: The seeds ``tests/test_heldout.py`` checks the same claims on: never used by a chapter.
HELD_OUT_SEEDS = tuple(range(10, 20))

#: Mean :math:`D(G(z))` over a run's last 100 steps below which the run counts as saturated.
SATURATED = 1e-3


@dataclass(frozen=True)
class Claim:
    """One sentence of a chapter and whether the runs support it.

    Attributes:
        text: the claim, as the chapter makes it (short).
        holds: whether these runs support it.
        evidence: the numbers it was decided on.
    """

    text: str
    holds: bool
    evidence: str


class Claims(list):
    """The claims of one experiment: a list of :class:`Claim` that prints as a report."""

    def check(self) -> Claims:
        """Raise an ``AssertionError`` naming every claim these runs do not support."""
        failed = [c for c in self if not c.holds]
        if failed:
            lines = "\n".join(f"  - {c.text} [{c.evidence}]" for c in failed)
            raise AssertionError(f"{len(failed)} of {len(self)} claims fail:\n{lines}")
        return self

    def __str__(self) -> str:
        lines = []
        for c in self:
            head = "holds: " if c.holds else "FAILS: "
            lines += textwrap.wrap(c.text, 72, initial_indent=head, subsequent_indent=" " * 7)
            lines += textwrap.wrap(
                c.evidence, 72, initial_indent=" " * 7, subsequent_indent=" " * 7
            )
        return "\n".join(lines)

    def add(self, text: str, holds, evidence: str) -> None:
        self.append(Claim(text, bool(holds), evidence))


def _ci(w: dict, scale: float = 1.0, digits: int = 2) -> str:
    lo, hi = w["ci"]
    p = w.get("p_holm", w["p"])
    name = "Holm p" if "p_holm" in w else "p"
    return (
        f"diff {scale * w['diff']:+.{digits}f}, 95 % CI [{scale * lo:+.{digits}f}, "
        f"{scale * hi:+.{digits}f}], {name} {p:.2g}"
    )


def _flip(w: dict) -> dict:
    """The same test read the other way round: ``b - a`` instead of ``a - b``."""
    return {**w, "diff": -w["diff"], "ci": (-w["ci"][1], -w["ci"][0])}


def _larger(w: dict) -> bool:
    """The first sample's mean is significantly larger (its CI above 0, p < 0.05)."""
    return w["diff"] > 0 and w.get("p_holm", w["p"]) < 0.05 and w["ci"][0] > 0


def tail_means(trainer, records: int = 10) -> dict[str, np.ndarray]:
    """Each model's mean :math:`D(G(z))` and generator gradient norm over its last
    ``records`` history records (100 steps at ``record_every=10``).

    Introduced in :doc:`/chapters/07_train_live`.
    """
    h = trainer.history
    return {"d_fake": h.d_fake[-records:].mean(0), "g_grad": h.g_grad_norm[-records:].mean(0)}


def median_logits(trainer, n: int = 2000) -> np.ndarray:
    """Each model's median discriminator logit :math:`a(G(z))` at ``n`` of its samples (the
    same seeded codes for every model).

    Introduced in :doc:`/chapters/07_train_live`.
    """
    return np.array(
        [
            float(np.median(trainer.logits(trainer.sample(n, model=e, seed=1).numpy(), model=e)))
            for e in range(trainer.n_models)
        ]
    )


def discriminator_lag(relative_k1, relative_k5) -> Claims:
    """Chapter 7, one dimension: each seed's relative lag of :math:`D` behind :math:`D^*`
    (mean over the early steps) with one and with five discriminator updates per step.

    Introduced in :doc:`/chapters/07_train_live`.
    """
    r1, r5 = np.asarray(relative_k1, dtype=float), np.asarray(relative_k5, dtype=float)
    out = Claims()
    out.add(
        "with k = 1, D is hardly closer to D* than the constant 1/2: relative lag above 0.9 "
        "on every seed",
        r1.min() > 0.9,
        f"k = 1: {r1.min():.2f}-{r1.max():.2f}",
    )
    w = ex.welch(r1, r5)
    out.add("five updates per step bring D closer", _larger(w), _ci(w, digits=3))
    out.add(
        "but not close: the mean relative lag with k = 5 stays above 1/2",
        r5.mean() > 0.5,
        f"k = 5: mean {r5.mean():.2f}",
    )
    return out


def saturating_outcomes(trainer, loss: str = "saturating") -> dict[int, str]:
    """How each run of ``loss`` on a 2-D mixture ended, by model index:

    * ``"saturated"``: mean :math:`D(G(z))` over the last 100 steps below :data:`SATURATED`;
    * ``"collapsed"``: not saturated, at least half of the samples high-quality, on at most
      three covered modes;
    * ``"wandering"``: neither (few high-quality samples, not saturated).

    Introduced in :doc:`/chapters/07_train_live`.
    """
    final = trainer.final_metrics()
    d_fake = tail_means(trainer)["d_fake"]
    out = {}
    for e in trainer.history.by_loss()[loss]:
        if d_fake[e] < SATURATED:
            out[e] = "saturated"
        elif final["high_quality"][e] >= 0.5 and final["modes"][e] <= 3:
            out[e] = "collapsed"
        else:
            out[e] = "wandering"
    return out


def ring_losses(trainer) -> Claims:
    """Chapter 7: the saturating and the non-saturating loss on the ring recipe (a trainer
    with both losses and several seeds each, trained for the recipe's budget).

    Introduced in :doc:`/chapters/07_train_live`.
    """
    final = trainer.final_metrics()
    by_loss = trainer.history.by_loss()
    sat, ns = by_loss["saturating"], by_loss["non-saturating"]
    tail = tail_means(trainer)
    out = Claims()
    w = ex.welch(final["modes"][ns], final["modes"][sat])
    out.add(
        "the non-saturating loss covers more ring modes than the saturating one",
        _larger(w),
        _ci(w, digits=1),
    )
    d, g = tail["d_fake"][ns], tail["g_grad"][ns]
    out.add(
        "no non-saturating run saturates: D(G(z)) between 0.1 and 0.55, |grad G| 1 to 100",
        np.all((d > 0.1) & (d < 0.55) & (g > 1) & (g < 100)),
        f"D(G(z)) {d.min():.2f}-{d.max():.2f}, |grad G| {g.min():.2g}-{g.max():.2g}",
    )
    hq = final["high_quality"][ns]
    out.add(
        "every non-saturating run puts at least 75 % of its samples on the modes",
        hq.min() >= 0.75,
        f"HQ {hq.min():.0%}-{hq.max():.0%}",
    )
    wrong = {
        key: sum(final[key][i] >= final[key][j] for i in sat for j in ns) / (len(sat) * len(ns))
        for key in ("modes", "high_quality")
    }
    gap = final["modes"][ns].mean() - final["modes"][sat].mean()
    spread = max(final["modes"][idx].std(ddof=1) for idx in (sat, ns))
    out.add(
        "on modes covered the gap between the losses exceeds either loss's spread over seeds, "
        "and fewer than 10 % of seed pairs rank the losses the other way; on the high-quality "
        "fraction more pairs do",
        gap > spread and wrong["modes"] < 0.1 and wrong["high_quality"] > wrong["modes"],
        f"gap {gap:.1f} modes, spread {spread:.1f}; pairs ranked the other way: modes "
        f"{wrong['modes']:.0%}, HQ {wrong['high_quality']:.0%}",
    )
    kinds = saturating_outcomes(trainer)
    count = {
        k: sum(v == k for v in kinds.values()) for k in ("saturated", "collapsed", "wandering")
    }
    out.add(
        "the saturating loss fails in two ways, each on some of the seeds: saturation and "
        "collapse onto a few sharp modes",
        count["saturated"] >= 1 and count["collapsed"] >= 1,
        ", ".join(f"{k} {v} of {len(sat)}" for k, v in count.items()),
    )
    saturated = [e for e, k in kinds.items() if k == "saturated"]
    g_sat = tail["g_grad"][saturated]
    out.add(
        "in every saturated run the generator's gradient has vanished (below 1e-3)",
        len(saturated) == 0 or np.all(g_sat < 1e-3),
        f"|grad G| up to {g_sat.max():.2g}" if saturated else "no saturated run",
    )
    if saturated:
        h = trainer.history
        first = [int(h.step[np.argmax(h.d_fake[:, e] < SATURATED)]) for e in saturated]
        logits = median_logits(trainer)[saturated]
        half = trainer.step // 2
        out.add(
            "saturation sets in within the first half of the run",
            max(first) <= half,
            f"first record below {SATURATED:g} at steps {min(first)}-{max(first)}",
        )
        out.add(
            "the discriminator has won: the median logit a(G(z)) of every saturated run "
            "is below -10",
            np.all(logits < -10),
            f"highest {logits.max():.1f}",
        )
    collapsed = [e for e, k in kinds.items() if k == "collapsed"]
    d_col = tail["d_fake"][collapsed]
    out.add(
        "the collapsed runs are not saturated: D(G(z)) above 0.05",
        len(collapsed) == 0 or np.all(d_col > 0.05),
        f"D(G(z)) {d_col.min():.2f}-{d_col.max():.2f}" if collapsed else "no collapsed run",
    )
    return out


def early_saturation(trainer1, trainer5, steps: int = 500) -> dict[int, dict]:
    """Chapter 7's exercise: the same ring models with one (``trainer1``) and five
    (``trainer5``) discriminator updates per step, up to generator step ``steps``: per ``k``,
    how many saturating runs had a record with mean :math:`D(G(z))` below :data:`SATURATED`,
    and each non-saturating run's mean gradient norm over the records.

    Introduced in :doc:`/chapters/07_train_live`.
    """
    out = {}
    for k, t in ((1, trainer1), (5, trainer5)):
        h = t.history
        rows = h.step <= steps
        by_loss = h.by_loss()
        low = h.d_fake[rows][:, by_loss["saturating"]] < SATURATED
        out[k] = {
            "saturated": int(low.any(0).sum()),
            "runs": len(by_loss["saturating"]),
            "grad_ns": h.g_grad_norm[rows][:, by_loss["non-saturating"]].mean(0),
        }
    return out


def stronger_discriminator(early: dict[int, dict]) -> Claims:
    """Chapter 7's exercise: what five discriminator updates per step do to the two losses
    in the first steps (``early``: :func:`early_saturation`).

    Introduced in :doc:`/chapters/07_train_live`.
    """
    out = Claims()
    n1, n5, runs = early[1]["saturated"], early[5]["saturated"], early[5]["runs"]
    out.add(
        "with k = 5 more saturating runs saturate by step 500 than with k = 1, at least half",
        n5 > n1 and n5 >= runs / 2,
        f"k = 1: {n1}, k = 5: {n5} of {runs}",
    )
    ratio = early[5]["grad_ns"] / early[1]["grad_ns"]
    out.add(
        "every non-saturating run gets a larger gradient with k = 5, more than 3 times larger "
        "on average",
        np.all(ratio > 1) and early[5]["grad_ns"].mean() > 3 * early[1]["grad_ns"].mean(),
        f"ratios per seed {ratio.min():.1f}-{ratio.max():.1f}, of the means "
        f"{early[5]['grad_ns'].mean() / early[1]['grad_ns'].mean():.1f}",
    )
    return out


def mode_drops(trainer, k: int = 2, min_hq: float = 0.5) -> dict:
    """Sudden losses of modes: pairs of consecutive metric records at which a model covers at
    least ``k`` modes fewer than before, counted only where at least ``min_hq`` of its samples
    are high-quality at both records (a mode count means little below that). Returns
    ``{"drops", "sharp", "rate", "by_loss"}``: the drops, the sharp pairs, their ratio, and the
    drops per loss.

    Introduced in :doc:`/chapters/08_loss_zoo`.
    """
    h = trainer.history
    modes, hq = h.metrics["modes"], h.metrics["high_quality"]
    sharp = (hq[:-1] >= min_hq) & (hq[1:] >= min_hq)
    fell = ((modes[:-1] - modes[1:]) >= k) & sharp
    n_sharp = int(sharp.sum())
    return {
        "drops": int(fell.sum()),
        "sharp": n_sharp,
        "rate": fell.sum() / n_sharp if n_sharp else 0.0,
        "by_loss": {name: int(fell[:, idx].sum()) for name, idx in h.by_loss().items()},
    }


def longer_budget(result, longer) -> Claims:
    """Chapter 8's exercise: models of ``result`` continued to a longer budget (``longer``, a
    :meth:`~gandemo.training.Trainer.select` of them), measured against themselves at the
    recipe's budget with paired tests.

    Introduced in :doc:`/chapters/08_loss_zoo`.
    """
    final = longer.final_metrics()
    out = Claims()
    for loss, idx in longer.history.by_loss().items():
        short = result.row(loss)["values"]
        w = ex.paired(final["high_quality"][idx], short["high_quality"])
        out.add(f"{loss}: the longer budget sharpens the samples", _larger(w), _ci(w, 100, 1))
        w = ex.paired(final["modes"][idx], short["modes"])
        out.add(
            f"{loss}: it adds less than 1.5 modes (upper end of the interval)",
            w["ci"][1] < 1.5,
            _ci(w, 1, 1),
        )
    return out


def _among(result, losses: Sequence[str]) -> list[str]:
    return [n for n in losses if any(r["loss"] == n for r in result.rows)]


def zoo(result, seeds_before: int | None = None) -> Claims:
    """Chapter 8: the loss zoo on the ring or the grid (a :func:`gandemo.experiments.compare`
    result over the five losses and several seeds, at the recipe's budget).

    Introduced in :doc:`/chapters/08_loss_zoo`.
    """
    name = result.data_name
    row = result.row
    tests = ex.pairwise(result, ("modes", "high_quality"))
    out = Claims()
    hq = {r["loss"]: r["values"]["high_quality"] for r in result.rows}
    modes = {r["loss"]: r["values"]["modes"] for r in result.rows}

    def beats(losses):
        return ", ".join(f"{n} {'yes' if row(n)['beats_chance'] else 'no'}" for n in losses)

    def pair(key, a, b):  # significant difference a - b > 0, with its evidence
        w = tests.get((key, a, b))
        if w is None:
            w = _flip(tests[key, b, a])
        return _larger(w), _ci(w, 100 if key == "high_quality" else 1, 1)

    d = mode_drops(result.trainer)
    out.add(
        "sudden drops of two or more modes are rare: under 5 % of the pairs of sharp records",
        d["rate"] < 0.05,
        f"{d['drops']} in {d['sharp']}",
    )
    if name == "ring":
        good = ["non-saturating", "least-squares"]
        out.add(
            "the non-saturating and least-squares losses beat chance; WGAN-GP does not",
            all(row(n)["beats_chance"] for n in good) and not row("wasserstein-gp")["beats_chance"],
            beats(good + ["wasserstein-gp"]),
        )
        means = {n: hq[n].mean() for n in good}
        out.add(
            "they put at least 85 % of their samples on the modes (mean over seeds)",
            min(means.values()) >= 0.85,
            ", ".join(f"{n} {v:.1%}" for n, v in means.items()),
        )
        m = {n: modes[n].mean() for n in good}
        out.add(
            "and keep about five of the eight modes (mean between 4 and 6.5)",
            all(4 <= v <= 6.5 for v in m.values()),
            ", ".join(f"{n} {v:.1f}" for n, v in m.items()),
        )
        ok, ev = pair("modes", "non-saturating", "saturating")
        out.add("the non-saturating loss covers more modes than the saturating one", ok, ev)
        same = [tests["modes", *good], tests["high_quality", *good]]
        out.add(
            "the non-saturating and least-squares losses cannot be told apart",
            all(w["p_holm"] >= 0.05 for w in same),
            "; ".join(
                f"{k}: Holm p {w['p_holm']:.2g}" for k, w in zip(("modes", "HQ"), same, strict=True)
            ),
        )
        h = hq["hinge"]
        out.add(
            "the hinge loss fails on some seeds and reaches the ring on most",
            (h < 0.05).sum() >= 1 and (h > 0.7).sum() >= len(h) / 2,
            f"HQ below 5 %: {(h < 0.05).sum()}, above 70 %: {(h > 0.7).sum()} of {len(h)}",
        )
        pac = {n: row(n)["modes_one_sample"][0] for n in good}
        uniform = result.chance[0]["modes_one_sample"][0]
        out.add(
            "by PacGAN's one-sample rule they cover 6 to 8 modes, and so does uniform noise",
            all(6 <= v <= 8 for v in [*pac.values(), uniform]),
            ", ".join(f"{n} {v:.1f}" for n, v in pac.items()) + f", noise {uniform:.1f}",
        )
    else:
        out.add(
            "the least-squares loss beats chance; WGAN-GP does not",
            row("least-squares")["beats_chance"] and not row("wasserstein-gp")["beats_chance"],
            beats(["least-squares", "wasserstein-gp"]),
        )
        best = max(hq, key=lambda n: hq[n].mean())
        out.add(
            "the least-squares loss has the highest high-quality fraction, 40-80 %",
            best == "least-squares" and 0.4 < hq[best].mean() < 0.8,
            f"best {best} {hq[best].mean():.1%}",
        )
        for other in ("saturating", "non-saturating", "hinge"):
            ok, ev = pair("high_quality", "least-squares", other)
            out.add(f"least-squares samples are sharper than {other} ones", ok, ev)
        noise = result.chance[0]["modes_one_sample"][0]
        best = max(r["modes_one_sample"][0] for r in result.rows)
        out.add(
            "by PacGAN's one-sample rule uniform noise covers more grid modes than any "
            "trained loss",
            noise > best,
            f"noise {noise:.1f}, best loss {best:.1f}",
        )
        top = max(v.mean() for v in modes.values())
        out.add(
            "no loss covers more than 15 of the 25 modes (mean)",
            top < 15,
            f"highest mean {top:.1f}",
        )
        h = result.trainer.history
        steps = list(h.metric_step)
        idx = h.by_loss()["least-squares"]
        at = min(steps, key=lambda s: abs(s - 2 * steps[-1] / 3))  # two thirds of the budget
        mid = steps.index(at)
        w = ex.paired(h.metrics["high_quality"][-1, idx], h.metrics["high_quality"][mid, idx])
        out.add(
            f"the grid is budget-bound: least-squares is still sharpening from step {at} to "
            f"{steps[-1]}",
            _larger(w),
            _ci(w, 100, 1),
        )
    return out


#: Generator steps of chapter 9's experiment with five discriminator updates per step.
FIVE_STEP_BUDGET = 1500


def nearest_real_distance(samples) -> np.ndarray:
    """For each model's images (``(E, n, 64)``), the median Euclidean distance from an image
    to its nearest real digit (all 1797): how far the images are, one at a time, from some
    real digit, whatever its class.

    Introduced in :doc:`/chapters/09_digits`.
    """
    from scipy.spatial.distance import cdist

    from .digits import load

    images, _ = load()
    return np.array([float(np.median(cdist(x, images).min(axis=1))) for x in samples])


def early_d_fake(trainer, records: int = 5) -> np.ndarray:
    """Each model's mean :math:`D(G(z))` over its first ``records`` history records (steps
    1-100 at ``record_every=20``).

    Introduced in :doc:`/chapters/09_digits`.
    """
    return trainer.history.d_fake[:records].mean(0)


def _base(baselines, kind: str) -> dict:
    return next(r for r in baselines if r["kind"] == kind)


def digits_one_step(trainer, baselines) -> Claims:
    """Chapter 9, first experiment: the saturating and the non-saturating loss on the digits
    recipe with one discriminator update per step (``baselines``:
    :func:`gandemo.digits.baseline_rows`).

    Introduced in :doc:`/chapters/09_digits`.
    """
    import torch

    from .digits import digit_metrics

    final = trainer.final_metrics()
    by_loss = trainer.history.by_loss()
    sat, ns = by_loss["saturating"], by_loss["non-saturating"]
    out = Claims()
    out.add(
        "every model covers all ten classes",
        np.all(final["classes"] == 10),
        f"classes {final['classes'].min():.0f}-{final['classes'].max():.0f}",
    )
    for key, what in (("fid", "Fréchet distance"), ("reverse_kl", "reverse KL")):
        w = ex.welch(final[key][ns], final[key][sat])
        out.add(f"the saturating models have the lower {what}", _larger(w), _ci(w, digits=3))
    for loss, idx in by_loss.items():
        fid = final["fid"][idx]
        real = ex.versus(fid, _base(baselines, "real")["values"]["fid"])
        out.add(
            f"{loss}: further from the data than held-out real digits", _larger(real), _ci(real)
        )
        for kind in ("prototypes", "average"):
            w = _flip(ex.versus(fid, _base(baselines, kind)["values"]["fid"]))
            out.add(f"{loss}: closer to the data than the {kind}", _larger(w), _ci(w))
    z = torch.randn(1000, trainer.config["latent_dim"], generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        raw = [trainer.generator(e, ema=False)(z).numpy() for e in range(trainer.n_models)]
        avg = [trainer.generator(e)(z).numpy() for e in range(trainer.n_models)]
    fid_raw = np.array([digit_metrics(x).fid for x in raw])
    fid_avg = np.array([digit_metrics(x).fid for x in avg])
    w = ex.paired(fid_raw, fid_avg)
    out.add("the moving average of the weights lowers the Fréchet distance", _larger(w), _ci(w))
    h = trainer.history
    steps = list(h.metric_step)
    half = steps.index(trainer.step // 2)
    w = ex.paired(h.metrics["fid"][half], h.metrics["fid"][-1])
    out.add(
        f"the steps from {trainer.step // 2} to {trainer.step} lower it too", _larger(w), _ci(w)
    )
    early = early_d_fake(trainer)
    out.add(
        "the discriminator rejects the first images only mildly: mean D(G(z)) over steps "
        "1-100 above 1/3 for every model",
        early.min() > 1 / 3,
        f"lowest {early.min():.3f}",
    )
    return out


def digits_five_steps(trainer5, trainer1, baselines) -> Claims:
    """Chapter 9, second experiment: the same losses with five discriminator updates per step
    (``trainer5``), against the first experiment (``trainer1``).

    Introduced in :doc:`/chapters/09_digits`.
    """
    final = trainer5.final_metrics()
    by_loss = trainer5.history.by_loss()
    sat, ns = by_loss["saturating"], by_loss["non-saturating"]
    out = Claims()
    e5, e1 = early_d_fake(trainer5), early_d_fake(trainer1)
    w = ex.welch(e1, e5)
    out.add(
        "five updates per step make the discriminator reject the first images decisively: "
        "mean D(G(z)) over steps 1-100 lower than with one, below 1/4 for every model",
        _larger(w) and e5.max() < 0.25,
        _ci(w, digits=3) + f"; highest {e5.max():.3f}",
    )
    w = ex.welch(final["classes"][sat], final["classes"][ns])
    out.add("the non-saturating models cover fewer classes", _larger(w), _ci(w, digits=1))
    c_sat, c_ns = final["classes"][sat], final["classes"][ns]
    out.add(
        "every saturating model keeps at least nine classes; the non-saturating ones keep "
        "eight or fewer on average",
        c_sat.min() >= 9 and c_ns.mean() <= 8,
        f"saturating {c_sat.min():.0f}-{c_sat.max():.0f}, non-saturating mean {c_ns.mean():.1f}",
    )
    for key, what, factor in (("reverse_kl", "reverse KL", 3), ("fid", "Fréchet distance", 3)):
        w = ex.welch(final[key][ns], final[key][sat])
        ratio = final[key][ns].mean() / final[key][sat].mean()
        out.add(
            f"the non-saturating models' {what} is larger, more than {factor} times",
            _larger(w) and ratio > factor,
            _ci(w, digits=3) + f"; ratio {ratio:.1f}",
        )
    proto = _base(baselines, "prototypes")["values"]["fid"]
    w = ex.versus(final["fid"][ns], proto)
    out.add(
        "the non-saturating models are further from the data than the repeated prototypes",
        _larger(w),
        _ci(w),
    )
    g5 = trainer5.history.g_grad_norm.mean(0)
    g1 = trainer1.history.g_grad_norm[: len(trainer5.history.step)].mean(0)
    w = ex.welch(g5[ns], g1[trainer1.history.by_loss()["non-saturating"]])
    out.add(
        "with five updates the non-saturating generator's gradient is larger than with one "
        "(mean over the run)",
        _larger(w),
        _ci(w),
    )
    return out
