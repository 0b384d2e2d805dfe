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
