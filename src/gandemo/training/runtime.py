"""Where and how a run computes: the device, the optimiser of a flat parameter, the CPU
threads under contention, the random streams and Ctrl-C between two steps.
"""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import torch
from torch.optim.adam import adam as adam_update

# The threshold is documented where the package exports it (gandemo.training).
ACCELERATOR_WORK = 2**17


def resolve_device(device: str | torch.device = "auto", work: int | None = None) -> torch.device:
    """``"auto"``: CUDA if available, then Apple's MPS, then the CPU; but the CPU for a run of
    less ``work`` per step (models x batch x width) than :data:`ACCELERATOR_WORK`, where it is
    the faster. Else the device named, which must exist in this build of PyTorch (ValueError
    otherwise).

    Introduced in :doc:`/chapters/07_train_live`.
    """
    if isinstance(device, str) and device == "auto":
        if work is not None and work < ACCELERATOR_WORK:
            return torch.device("cpu")
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError, ValueError) as exc:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda'; got {device!r}") from exc
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": getattr(torch.backends, "mps", None) is not None
        and torch.backends.mps.is_available(),
        "xpu": hasattr(torch, "xpu") and torch.xpu.is_available(),
    }
    if not available.get(dev.type, False):
        raise ValueError(f"device {device!r} is not available in this build of PyTorch")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s)")
    return dev


def _stream_seed(seed: int, stream: int) -> int:
    """An independent seed for one of a model's random streams."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)[0] >> 1)


class FlatAdam:
    """Adam for the one flat parameter of a player: a :class:`torch.optim.Adam`
    (``fused=True`` where this build has the kernel) and a shorter ``step()``.

    ``Optimizer.step`` spends most of its time on a small network in bookkeeping (its hook
    wrapper and profiling scope, grouping tensors by device and type on every call). This
    ``step`` calls PyTorch's public functional form, :func:`torch.optim.adam.adam`, on the
    wrapped optimiser's own state with the arguments ``Adam.step`` would pass: same kernel,
    same state, same result (tested). The state, ``param_groups`` and ``state_dict`` are the
    wrapped optimiser's (:attr:`adam`); the first step, and anything unusual, go through
    ``Adam.step`` itself.

    Each row of the parameter (one model) may have its own learning rate (:meth:`set_lr`):
    Adam works element by element, so rows that share a rate are updated by one call of the
    same kernel on their slice of the parameter and its state, and every row gets exactly the
    update it would get alone.
    """

    def __init__(self, param: torch.Tensor, lr, betas) -> None:
        first = lr[0] if isinstance(lr, (list, tuple)) else lr
        try:
            #: the wrapped optimiser, which holds the state, the settings and the checkpoints
            self.adam = torch.optim.Adam([param], lr=first, betas=betas, fused=True)
        except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device
            self.adam = torch.optim.Adam([param], lr=first, betas=betas, foreach=False)
        self.short_step = True  # False: always through Adam.step
        self._runs: list[tuple[slice, float]] | None = None
        self.set_lr(lr)

    def set_lr(self, lr) -> None:
        """One learning rate for every row, or a list of one per row (model)."""
        (p,) = self.adam.param_groups[0]["params"]
        rates = [float(x) for x in lr] if isinstance(lr, (list, tuple)) else [float(lr)] * len(p)
        if len(rates) != len(p):
            raise ValueError(f"lr must give one rate per model ({len(p)}); got {len(rates)}")
        self.adam.param_groups[0]["lr"] = rates[0]
        runs, start = [], 0
        for i in range(1, len(rates) + 1):
            if i == len(rates) or rates[i] != rates[start]:
                runs.append((slice(start, i), rates[start]))
                start = i
        self._runs = runs if len(runs) > 1 else None

    @property
    def param_groups(self) -> list[dict]:
        return self.adam.param_groups

    @property
    def state(self):
        return self.adam.state

    def state_dict(self) -> dict:
        return self.adam.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        runs = self._runs
        self.adam.load_state_dict(state_dict)
        if runs is not None:  # the rows' own rates stay (the saved group holds the first)
            self._runs = runs

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.adam.zero_grad(set_to_none)

    def step(self, closure=None):
        """One Adam update of the parameter from its gradient."""
        group = self.adam.param_groups[0]
        (p,) = group["params"]
        state = self.adam.state.get(p)
        plain = (
            group["amsgrad"] or group["maximize"] or group["weight_decay"] or group["capturable"]
        )
        if self._runs is not None and not plain and closure is None and p.grad is not None:
            if not state:  # what Adam.step's first call creates
                state = self.adam.state[p] = {
                    "step": torch.zeros((), dtype=torch.float32, device=p.device)
                    if group["fused"]
                    else torch.tensor(0.0),
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                }
            before = state["step"].clone()
            for k, (rows, lr) in enumerate(self._runs):
                # every run counts this update once: the first on the state's own counter
                count = state["step"] if k == 0 else before.clone()
                self._adam(group, p[rows], p.grad[rows], state, rows, count, lr)
            return None
        if closure is not None or not self.short_step or not state or p.grad is None or plain:
            if self._runs is not None:
                raise ValueError("per-model learning rates need a plain Adam (no closure)")
            return self.adam.step(closure)
        try:
            self._adam(group, p, p.grad, state, slice(None), state["step"], group["lr"])
        except TypeError:  # another signature in another PyTorch: the general path from now on
            self.short_step = False
            return self.adam.step()
        return None

    @staticmethod
    def _adam(group, p, grad, state, rows, count, lr) -> None:
        beta1, beta2 = group["betas"]
        with torch.no_grad():
            adam_update(
                [p],
                [grad],
                [state["exp_avg"][rows]],
                [state["exp_avg_sq"][rows]],
                [],
                [count],
                foreach=group["foreach"],
                fused=group["fused"],
                amsgrad=False,
                beta1=beta1,
                beta2=beta2,
                lr=lr,
                weight_decay=0.0,
                eps=group["eps"],
                maximize=False,
                grad_scale=None,
                found_inf=None,
            )


def _optimizer(kind: str, param: torch.Tensor, lr: float | list[float], betas):
    if kind == "sgd":
        return torch.optim.SGD([param], lr=lr)
    return FlatAdam(param, lr, betas)


class _deferred_sigint:
    """Within the block, Ctrl-C / JupyterLab's stop button sets a flag instead of raising, so
    the loop stops between two steps; a second Ctrl-C raises. Outside the main thread it does
    nothing."""

    def __enter__(self):
        self.flag = False
        self.old = None
        if threading.current_thread() is threading.main_thread():
            try:
                self.old = signal.signal(signal.SIGINT, self._handler)
            except (ValueError, OSError):
                self.old = None
        return lambda: self.flag

    def _handler(self, signum, frame):
        if self.flag:  # a second press: give up waiting
            raise KeyboardInterrupt
        self.flag = True

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        return False


class _ThreadChooser:
    """Picks torch's CPU thread count while a run goes on, by measuring.

    On a quiet machine several threads make large batched steps faster; on a busy one (another
    process on the cores) they wait on each other and a step can take many times longer. Every
    few seconds the chooser times one record window with each candidate (all threads, one
    thread) and keeps the faster. The thread count does not change the results (each matrix
    product is split between threads by output blocks, never inside a sum).
    """

    PERIOD = 3.0  # seconds between two trials

    def __init__(self, fixed: int | None) -> None:
        self.saved = torch.get_num_threads()
        most = max(
            1,
            min(
                self.saved,
                len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else self.saved,
            ),
        )
        self.candidates = [fixed] if fixed else ([most, 1] if most > 1 else [1])
        self.current = self.candidates[0]
        self.trial: list[tuple[int, float]] | None = []  # (threads, seconds per step)
        self.next_trial = 0.0
        torch.set_num_threads(self.current)

    def window(self, seconds_per_step: float, now: float) -> None:
        """Report the time per step of the window that just ended (run with ``current``)."""
        if len(self.candidates) == 1:
            return
        if self.trial is not None:
            self.trial.append((self.current, seconds_per_step))
            if len(self.trial) < len(self.candidates):
                self.current = self.candidates[len(self.trial)]
            else:
                self.current = min(self.trial, key=lambda t: t[1])[0]
                self.trial, self.next_trial = None, now + self.PERIOD
            torch.set_num_threads(self.current)
        elif now >= self.next_trial:
            self.trial = []
            self.current = self.candidates[0]
            torch.set_num_threads(self.current)

    def restore(self) -> None:
        torch.set_num_threads(self.saved)
