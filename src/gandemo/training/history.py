"""What a run keeps: one record per model every ``record_every`` steps (:class:`History`),
one model's view of it (:class:`ModelHistory`) and a moment of a run (:class:`Snapshot`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The per-record series of a :class:`History`, one value per model and record.
SERIES = ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm")


class TrainingDiverged(ValueError):
    """A loss, a gradient or a weight became NaN or infinite; the message names the step."""


@dataclass
class ModelHistory:
    """One model's records (a view of a :class:`History`).

    Attributes:
        loss, seed: the model's loss and seed.
        step: the step of each record; ``d_loss``, ``g_loss``, ``d_real`` (mean
            :math:`\\sigma(a)` of the logits on real examples), ``d_fake`` (on generated ones:
            from the discriminator's batches, or the generator's when D is frozen),
            ``g_grad_norm``, ``d_grad_norm``: window means since the previous record,
            ``(records,)`` arrays. For the BCE losses (saturating, non-saturating)
            :math:`\\sigma(a)` is D's probability that an example is real; the least-squares,
            hinge and Wasserstein critics output scores, not probabilities, and for them
            ``d_real`` and ``d_fake`` are only squashed scores (1/2 at score 0) that show the
            two sides drifting apart.
        wall_time: training seconds at each record.
        metric_step, metrics: the steps of the metric records and, per metric name, the values.
    """

    loss: str
    seed: int
    step: np.ndarray
    d_loss: np.ndarray
    g_loss: np.ndarray
    d_real: np.ndarray
    d_fake: np.ndarray
    g_grad_norm: np.ndarray
    d_grad_norm: np.ndarray
    wall_time: np.ndarray
    metric_step: np.ndarray
    metrics: dict

    def __len__(self) -> int:
        return len(self.step)

    def metric_at_records(self, name: str) -> np.ndarray:
        """The metric ``name`` at the step of every record, a ``(records,)`` array.

        Raises:
            ValueError: if the metric is unknown or some record step has no metric record
                (a run with ``metric_every`` equal to ``record_every`` has one at every record).
        """
        if name not in self.metrics:
            raise ValueError(f"name must be a recorded metric {sorted(self.metrics)}; got {name!r}")
        at = np.searchsorted(self.metric_step, self.step)
        missing = np.any(at >= len(self.metric_step))
        if missing or not np.array_equal(self.metric_step[at], self.step):
            raise ValueError(
                f"metric {name!r} is not recorded at every record step "
                "(train with metric_every = record_every)"
            )
        return self.metrics[name][at]

    def as_dict(self) -> dict:
        """Every series as an array, by name (the metrics included)."""
        out = {k: getattr(self, k) for k in ("step", *SERIES, "wall_time", "metric_step")}
        out.update(self.metrics)
        return out


class History:
    """What a :class:`Trainer` recorded: one row per record, one column per model.

    ``history.d_loss`` (and every name of ``SERIES``) is a ``(records, E)`` array,
    ``history.step`` and ``history.wall_time`` are ``(records,)``; ``history.metrics`` maps a
    metric name to a ``(metric records, E)`` array measured at ``history.metric_step``.
    :meth:`model` gives one model's records, :meth:`by_loss` the models of each loss.
    """

    def __init__(self, models: Sequence[tuple[str, int]]) -> None:
        self.models = [(str(n), int(s)) for n, s in models]
        self._step: list[int] = []
        self._wall: list[float] = []
        self._rows: dict[str, list[np.ndarray]] = {k: [] for k in SERIES}
        self._metric_step: list[int] = []
        self._metrics: dict[str, list[np.ndarray]] = {}
        self._provisional = False  # the last record covers a window not yet complete

    def __len__(self) -> int:
        return len(self._step)

    def _pop(self) -> None:
        self._step.pop()
        self._wall.pop()
        for rows in self._rows.values():
            rows.pop()
        self._provisional = False

    @property
    def n_models(self) -> int:
        return len(self.models)

    def _append(self, step: int, wall: float, rows: dict[str, np.ndarray]) -> None:
        self._step.append(int(step))
        self._wall.append(float(wall))
        for k in SERIES:
            self._rows[k].append(np.asarray(rows[k], dtype=float).reshape(self.n_models))

    def _append_metrics(self, step: int, values: dict[str, np.ndarray]) -> None:
        self._metric_step.append(int(step))
        for k, v in values.items():
            self._metrics.setdefault(k, []).append(np.asarray(v, dtype=float))

    def __getattr__(self, name: str):
        if name in SERIES:
            rows = self.__dict__["_rows"][name]
            return np.asarray(rows, dtype=float).reshape(-1, len(self.__dict__["models"]))
        raise AttributeError(name)

    @property
    def step(self) -> np.ndarray:
        return np.asarray(self._step, dtype=np.int64)

    @property
    def wall_time(self) -> np.ndarray:
        return np.asarray(self._wall, dtype=float)

    @property
    def metric_step(self) -> np.ndarray:
        return np.asarray(self._metric_step, dtype=np.int64)

    @property
    def metrics(self) -> dict[str, np.ndarray]:
        e = self.n_models
        return {k: np.asarray(v, dtype=float).reshape(-1, e) for k, v in self._metrics.items()}

    def model(self, e: int) -> ModelHistory:
        """The records of model ``e``."""
        if (
            isinstance(e, bool)
            or not isinstance(e, (int, np.integer))
            or not 0 <= e < self.n_models
        ):
            raise ValueError(f"model must be an index in [0, {self.n_models}); got {e!r}")
        loss, seed = self.models[e]
        return ModelHistory(
            loss=loss,
            seed=seed,
            step=self.step,
            **{k: getattr(self, k)[:, e] for k in SERIES},
            wall_time=self.wall_time,
            metric_step=self.metric_step,
            metrics={k: v[:, e] for k, v in self.metrics.items()},
        )

    def by_loss(self) -> dict[str, list[int]]:
        """The model indices of each loss, in the order the losses first appear."""
        out: dict[str, list[int]] = {}
        for e, (name, _) in enumerate(self.models):
            out.setdefault(name, []).append(e)
        return out

    def state(self) -> dict:
        """Plain lists (what a checkpoint stores)."""
        return dict(
            models=[list(m) for m in self.models],
            step=list(self._step),
            wall_time=list(self._wall),
            rows={k: [r.tolist() for r in v] for k, v in self._rows.items()},
            metric_step=list(self._metric_step),
            metrics={k: [r.tolist() for r in v] for k, v in self._metrics.items()},
            provisional=self._provisional,
        )

    @classmethod
    def from_state(cls, state: dict, n_models: int) -> History:
        """Inverse of :meth:`state`; a ValueError if anything is missing or inconsistent."""
        try:
            h = cls([(str(n), int(s)) for n, s in state["models"]])
            if h.n_models != n_models:
                raise ValueError(f"{h.n_models} models, expected {n_models}")
            h._step = [int(s) for s in state["step"]]
            h._wall = [float(w) for w in state["wall_time"]]
            n = len(h._step)
            if len(h._wall) != n or set(state["rows"]) != set(SERIES):
                raise ValueError("the series do not match the steps")
            for k in SERIES:
                rows = [np.asarray(r, dtype=float) for r in state["rows"][k]]
                if len(rows) != n or any(r.shape != (n_models,) for r in rows):
                    raise ValueError(f"series {k!r} has the wrong length or width")
                h._rows[k] = rows
            h._metric_step = [int(s) for s in state["metric_step"]]
            for k, rows in state["metrics"].items():
                rows = [np.asarray(r, dtype=float) for r in rows]
                if len(rows) != len(h._metric_step) or any(r.shape != (n_models,) for r in rows):
                    raise ValueError(f"metric {k!r} has the wrong length or width")
                h._metrics[str(k)] = rows
            h._provisional = bool(state["provisional"])
            if h._provisional and not n:
                raise ValueError("a provisional record without records")
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"the history is incomplete ({exc!r})") from exc
        return h


@dataclass
class Snapshot:
    """One model's state for a figure or a dashboard.

    Attributes:
        step, wall_time: steps and training seconds so far.
        real, fake: ``n`` target and generated examples (numpy; ``(n,)`` for a 1-D target).
        history: :meth:`ModelHistory.as_dict` at that moment.
        metrics: :func:`target_metrics` of ``fake``.
    """

    step: int
    wall_time: float
    real: np.ndarray
    fake: np.ndarray
    history: dict
    metrics: dict
