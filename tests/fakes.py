"""Hand-made training records for the figure tests (no training needed)."""

from __future__ import annotations

import math

import numpy as np

import gandemo as gd

LN2 = math.log(2.0)


def fake_history(loss: str, d_loss, jsd, metric_every: int = 20):
    """A ModelHistory with records every 20 steps and a JSD record at step 0 and each record."""
    d_loss = np.asarray(d_loss, dtype=float)
    steps = metric_every * np.arange(1, len(d_loss) + 1)
    nan = np.full(len(d_loss), np.nan)
    return gd.training.ModelHistory(
        loss=loss,
        seed=0,
        step=steps,
        d_loss=d_loss,
        g_loss=np.full(len(d_loss), LN2),
        d_real=nan,
        d_fake=nan,
        g_grad_norm=nan,
        d_grad_norm=nan,
        wall_time=nan,
        metric_step=np.concatenate([[0], steps]),
        metrics={"jsd": np.concatenate([[LN2], np.asarray(jsd, dtype=float)])},
    )


#: A digits model small enough for a test: the settings the comparison and claim tests train.
TINY_DIGITS = dict(
    latent_dim=4,
    width=16,
    depth=1,
    batch_size=16,
    g_output="tanh",
    threads=1,
    record_every=5,
    metric_every=10,
    metric_samples=200,
)


def tiny_recipe(monkeypatch, steps: int = 20, metric_samples: int = 500, targets=("ring",)):
    """A recipe of tiny networks and ``steps`` steps (the rate drops halfway) put in place of
    the book's for ``targets``, so that comparisons and claims run in seconds."""
    tiny = gd.experiments.Recipe(
        dict(
            width=8,
            depth=1,
            batch_size=16,
            threads=1,
            record_every=5,
            metric_every=10,
            metric_samples=metric_samples,
        ),
        ((0, 1e-3, 1e-3), (steps // 2, 5e-4, 5e-4)),
        steps,
    )
    for name in targets:
        monkeypatch.setitem(gd.experiments.RECIPES, name, tiny)
    return tiny
