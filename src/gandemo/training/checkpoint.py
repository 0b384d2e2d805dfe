"""Saving a :class:`~gandemo.training.Trainer` to a file and loading it back, checked: the
work of :meth:`Trainer.save <gandemo.training.Trainer.save>` and
:meth:`Trainer.load <gandemo.training.Trainer.load>` (the file format, version 2, holds
plain tensors and data only).
"""

from __future__ import annotations

import math
import os
import tempfile
import time
import warnings
from typing import TYPE_CHECKING

import torch

from ..utils import check_writable_file
from .config import TrainerConfig
from .history import History, TrainingDiverged
from .runtime import FlatAdam
from .targets import _data_dim, _data_fingerprint

if TYPE_CHECKING:
    from .trainer import Trainer


def save(trainer, path) -> None:
    """The work of :meth:`Trainer.save <gandemo.training.Trainer.save>` for ``trainer``
    (read under its step lock, written to a temporary file, renamed over ``path``)."""
    import io

    path = check_writable_file(path, "checkpoint path")
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    buffer = io.BytesIO()
    with trainer._step_lock:
        save_state(trainer, buffer)
    _remove_orphan_temporaries(folder)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".gandemo-{os.getpid()}-", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getbuffer())
            f.flush()
            os.fsync(f.fileno())
        if os.path.lexists(target) and not os.path.isfile(target):
            raise ValueError(f"checkpoint path {path!r} is no longer a regular file")
        mode = os.stat(target).st_mode & 0o777 if os.path.exists(target) else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise OSError(
                exc.errno,
                f"could not write checkpoint {path!r} ({exc.strerror or exc}); the "
                f"previous file, if any, is unchanged",
            ) from exc
        raise


def save_state(trainer, f) -> None:
    """Write the checkpoint's state to the binary file object ``f`` (under the lock)."""
    trainer._flush()
    c = trainer.config
    config = dict(c.to_dict(), betas=list(c.betas))
    state = dict(
        format="gandemo.Trainer",
        version=2,
        config=config,
        models=[list(mdl) for mdl in trainer.models],
        dim=trainer.dim,
        data=_data_fingerprint(trainer.data),
        device_type=trainer.device.type,
        step=trainer.step,
        wall=trainer._wall,
        generator={"player": "generator", "weights": trainer.G.flat.detach()},
        discriminator={"player": "discriminator", "weights": trainer.D.flat.detach()},
        generator_ema=trainer.ema_flat,
        opt_g={"player": "generator", "state": trainer.opt_g.state_dict()},
        opt_d={"player": "discriminator", "state": trainer.opt_d.state_dict()},
        history=trainer.history.state(),
        diverged={int(k): int(v) for k, v in trainer.diverged.items()},
        rngs=[
            [r.get_state() for r in rs]
            for rs in (trainer._data_rngs, trainer._z_rngs, trainer._u_rngs, trainer._view_rngs)
        ],
        real_buf=trainer._real_buf,
        z_buf=trainer._z_buf,
        real_pos=trainer._real_pos,
        z_pos=trainer._z_pos,
        window=[[step, kind, *tensors] for step, kind, tensors in trainer._window],
    )
    torch.save(state, f)


def load(cls, path, data=None, *, device: str | torch.device | None = None):
    """The work of :meth:`Trainer.load <gandemo.training.Trainer.load>`: a ``cls`` restored
    from ``path`` and checked."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"checkpoint {path!r} does not exist or is not a file")
    try:
        with warnings.catch_warnings():  # a foreign file's notes: it is rejected below
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file: many exception types
        import pickle
        import re

        if isinstance(exc, pickle.UnpicklingError) and "eights only" in str(exc):
            found = re.search(r"Unsupported (?:global: GLOBAL|operand|class) *[\w.]+", str(exc))
            detail = f" ({found.group(0)})" if found else ""
            raise ValueError(
                f"{path} is not a readable gandemo checkpoint: it holds objects other than "
                f"tensors and plain data{detail}, which could run code if loaded; refused"
            ) from None
        raise ValueError(f"{path} is not a readable gandemo checkpoint ({exc})") from exc
    if not isinstance(state, dict) or state.get("format") != "gandemo.Trainer":
        raise ValueError(f"{path} is not a gandemo Trainer checkpoint")
    if state.get("version") != 2:
        raise ValueError(f"{path}: unsupported checkpoint version {state.get('version')!r}")
    if data is None:
        data = _target_of(state.get("data"), path)
    try:
        return from_state(cls, state, data, device)
    except TrainingDiverged:
        raise
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    except (KeyError, TypeError, IndexError, AttributeError, RuntimeError) as exc:
        raise ValueError(f"{path}: the checkpoint is incomplete or inconsistent ({exc!r})") from exc


def from_state(cls, state: dict, data, device):
    config = dict(state["config"])
    if not isinstance(config.get("betas"), list):
        raise ValueError("config has no betas")
    config["betas"] = tuple(config["betas"])
    if device is not None:
        config["device"] = str(device)
    known = set(TrainerConfig.names())
    if set(config) != known:
        unknown, missing = sorted(set(config) - known), sorted(known - set(config))
        raise ValueError(f"the config has unknown settings {unknown} or lacks {missing}")
    dim = _data_dim(data)
    if dim != state["dim"]:
        raise ValueError(
            f"data has dimension {dim} but the checkpoint was trained on {state['dim']}-D data"
        )
    if _data_fingerprint(data) != state["data"]:
        raise ValueError(
            f"data {_data_fingerprint(data)} does not match the checkpoint's {state['data']}"
        )
    t = cls(data, **config)
    if [list(mdl) for mdl in t.models] != [list(mdl) for mdl in state["models"]]:
        raise ValueError("the models do not match the config")
    e = t.n_models

    def tensor(value, shape, what, dtype=torch.float32):
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != tuple(shape):
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(f"{what} has shape {got}, expected {tuple(shape)}")
        if value.dtype != dtype:
            raise ValueError(f"{what} has dtype {value.dtype}, expected {dtype}")
        return value.to(t.device)

    def player(key, name, field):
        entry = state[key]
        if not isinstance(entry, dict) or entry.get("player") != name or field not in entry:
            raise ValueError(f"{key} does not hold the {name}'s {field}")
        return entry[field]

    with torch.no_grad():
        g = player("generator", "generator", "weights")
        d = player("discriminator", "discriminator", "weights")
        t.G.flat.copy_(tensor(g, t.G.flat.shape, "the generator weights"))
        t.D.flat.copy_(tensor(d, t.D.flat.shape, "the discriminator weights"))
        if (state["generator_ema"] is None) != (t.ema_flat is None):
            raise ValueError("the moving average does not match the config's ema")
        if t.ema_flat is not None:
            t.ema_flat.copy_(tensor(state["generator_ema"], t.ema_flat.shape, "the moving average"))
    step = state["step"]
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be a non-negative integer; got {step!r}")
    c = t.config
    for name, who, opt, flat in (
        ("opt_g", "generator", t.opt_g, t.G.flat),
        ("opt_d", "discriminator", t.opt_d, t.D.flat),
    ):
        sd = player(name, who, "state")
        _check_optimizer_state(sd, opt, flat, name)
        updated = step > 0 and (who == "generator" or c.d_steps > 0)
        if isinstance(opt, FlatAdam) and updated and not sd["state"]:
            raise ValueError(f"{name} has no Adam state although {who} was trained")
        if who == "generator" and sd["state"].get(0, {}).get("step") is not None:
            if float(sd["state"][0]["step"]) != step:
                raise ValueError(f"{name} counts other updates than the step {step}")
        opt.load_state_dict(sd)
    t.step = step
    wall = state["wall"]
    if not isinstance(wall, float) or not math.isfinite(wall) or wall < 0:
        raise ValueError(f"wall (training seconds) must be a number >= 0; got {wall!r}")
    t._wall = wall
    t.history = History.from_state(state["history"], e)
    if t.history.models != [tuple(mdl) for mdl in t.models]:
        raise ValueError("the history's models do not match the config's")
    if len(t.history) and (
        t.history._step[-1] != step or sorted(t.history._step) != t.history._step
    ):
        raise ValueError("the history does not end at the checkpoint's step")
    if any(s > step for s in t.history._metric_step):
        raise ValueError("the metric records go past the checkpoint's step")
    window = []
    m = t.config.batch_size
    for entry in state["window"]:
        if not isinstance(entry, list) or len(entry) != 5 or entry[1] not in ("d", "g"):
            raise ValueError("the pending record window is malformed")
        w_step, kind, w_loss, w_logits, w_norm = entry
        bad_step = not step - t.config.record_every < w_step <= step + 1
        if not isinstance(w_step, int) or bad_step:
            raise ValueError("the pending record window does not end at the step")
        w_loss = tensor(w_loss, (e,), "a pending loss")
        w_norm = tensor(w_norm, (e,), "a pending gradient norm")
        if kind == "d" or w_logits is not None:
            width = 2 * m if kind == "d" else m
            w_logits = tensor(w_logits, (e, width), "pending logits")
        window.append((w_step, kind, (w_loss, w_logits, w_norm)))
    if bool(window) != t.history._provisional:
        raise ValueError("the pending record window does not match the history")
    t._window = window
    diverged = {int(k): int(v) for k, v in state["diverged"].items()}
    if any(not 0 <= k < e for k in diverged):
        raise ValueError("diverged names a model that does not exist")
    for k, v in diverged.items():
        t._stop_model(k, v)
    if state["device_type"] == t.device.type:
        rngs = state["rngs"]
        if len(rngs) != 4 or any(len(rs) != e for rs in rngs):
            raise ValueError("the random streams do not match the models")
        for saved, live in zip(
            rngs, (t._data_rngs, t._z_rngs, t._u_rngs, t._view_rngs), strict=True
        ):
            for s, r in zip(saved, live, strict=True):
                if not isinstance(s, torch.Tensor) or s.dtype != torch.uint8:
                    raise ValueError("a random stream state is not a byte tensor")
                r.set_state(s)
        m, k = t.config.batch_size, t.config.latent_dim
        for key, pos_key, width in (("real_buf", "real_pos", dim), ("z_buf", "z_pos", k)):
            buf, pos = state[key], state[pos_key]
            if buf is not None:
                buf = tensor(buf, (e, cls.CHUNK * m, width), key)
            if isinstance(pos, bool) or not isinstance(pos, int) or not 0 <= pos <= cls.CHUNK * m:
                raise ValueError(f"{pos_key} out of range: {pos!r}")
            setattr(t, "_" + key, buf)
            setattr(t, "_" + pos_key, pos)
    else:
        t._real_buf = t._z_buf = None
        warnings.warn(
            f"checkpoint saved on {state['device_type']}, loaded on {t.device.type}: the "
            "random streams restart (the run continues, not bitwise as before)",
            stacklevel=4,
        )
    _check_finite_state(t)
    return t


def _check_finite_state(t: Trainer) -> None:
    """A ValueError unless every number a loaded trainer continues from is finite and in range
    (the rows of a diverged model are zero by then, and its pending records are not read)."""
    live = [i for i in range(t.n_models) if i not in t.diverged]

    def check(value, what, rows=None):
        if value is None:
            return
        per_model = value.ndim >= 1 and len(value) == t.n_models
        v = value.reshape(len(value), -1) if per_model else value.reshape(1, -1)
        ok = torch.isfinite(v).all(1)
        bad = [i for i in (rows if rows is not None else range(len(v))) if not bool(ok[i])]
        if bad:
            which = f" (model {', '.join(map(str, bad))})" if per_model else ""
            raise ValueError(f"{what} hold NaN or infinite values{which}")

    check(t.G.flat, "the generator weights")
    check(t.D.flat, "the discriminator weights")
    check(t.ema_flat, "the moving average of the generator")
    for name, opt, flat in (("opt_g", t.opt_g, t.G.flat), ("opt_d", t.opt_d, t.D.flat)):
        for key, value in opt.state.get(flat, {}).items():
            if not torch.is_tensor(value):
                continue
            check(value, f"{name}: {key}")
            if key in ("step", "exp_avg_sq") and bool((value < 0).any()):
                raise ValueError(f"{name}: {key} is negative")
            if key == "step" and float(value) != round(float(value)):
                raise ValueError(f"{name}: step {float(value)} is not a whole number")
    check(t._real_buf, "the pending real minibatches")
    check(t._z_buf, "the pending latent codes")
    for _, _, tensors in t._window:
        for what, value in zip(("losses", "logits", "gradient norms"), tensors, strict=True):
            if value is not None and live:
                check(value, f"the pending {what}", live)


def _target_of(fingerprint, path):
    """The named target of :data:`gandemo.data.TARGETS` that a checkpoint's ``data`` entry
    describes, or a ValueError."""
    from .. import data as data_module

    for name in sorted(data_module.TARGETS, key=lambda n: n == "digits"):  # digits: the slowest
        target = data_module.target(name)
        if _data_fingerprint(target) == fingerprint:
            return target
    raise ValueError(
        f"{path} was trained on {fingerprint!r}, none of the named targets "
        f"{sorted(data_module.TARGETS)}; pass the target as data"
    )


#: A temporary file of :meth:`Trainer.save` older than this (seconds) whose writing process is
#: gone was left by a killed save.
ORPHAN_AGE = 60.0


def _remove_orphan_temporaries(folder: str) -> None:
    """Remove the temporary files that killed saves left in ``folder``: named
    ``.gandemo-<pid>-*.tmp``, their process gone, untouched for :data:`ORPHAN_AGE` seconds."""
    if os.name != "posix":  # os.kill(pid, 0) is only a probe on POSIX
        return
    try:
        names = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    for name in names:
        parts = name.split("-")
        if not (name.startswith(".gandemo-") and name.endswith(".tmp") and len(parts) >= 3):
            continue
        if not parts[1].isdigit() or int(parts[1]) == os.getpid():
            continue
        try:
            os.kill(int(parts[1]), 0)
            continue  # the writer is alive
        except ProcessLookupError:
            pass
        except OSError:
            continue
        full = os.path.join(folder, name)
        try:
            if os.path.isfile(full) and now - os.stat(full).st_mtime > ORPHAN_AGE:
                os.unlink(full)
        except OSError:
            pass


def _check_optimizer_state(sd, opt: torch.optim.Optimizer, flat: torch.Tensor, name: str) -> None:
    """A ValueError unless ``sd`` is a state of ``opt``'s kind for the parameter ``flat``."""
    if not isinstance(sd, dict) or set(sd) != {"state", "param_groups"}:
        raise ValueError(f"{name} is not an optimiser state")
    groups = sd["param_groups"]
    if not isinstance(groups, list) or len(groups) != 1 or groups[0].get("params") != [0]:
        raise ValueError(f"{name} does not describe one parameter group of one tensor")
    fresh = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    saved = {k: v for k, v in groups[0].items() if k != "params"}
    if set(saved) != set(fresh):
        raise ValueError(f"{name} belongs to another optimiser than the config's")
    for key, value in fresh.items():
        if key == "betas":
            same = isinstance(saved[key], (tuple, list)) and tuple(saved[key]) == tuple(value)
        else:
            same = saved[key] == value and type(saved[key]) is type(value)
        if not same:
            what = "the learning rate (lr)" if key == "lr" else key
            raise ValueError(f"{name}: {what} is {saved[key]!r}, but the config gives {value!r}")
    state = sd["state"]
    if not isinstance(state, dict) or set(state) - {0}:
        raise ValueError(f"{name} has state for parameters that do not exist")
    need = {"step", "exp_avg", "exp_avg_sq"} if isinstance(opt, FlatAdam) else set()
    if state.get(0) and isinstance(opt, FlatAdam) and set(state[0]) != need:
        raise ValueError(f"{name}: Adam's state must hold {sorted(need)}; got {sorted(state[0])}")
    for key, value in state.get(0, {}).items():
        if key == "step":
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                raise ValueError(f"{name}: step is not a one-element tensor")
        elif key in ("exp_avg", "exp_avg_sq", "momentum_buffer"):
            if not isinstance(value, torch.Tensor) or value.shape != flat.shape:
                got = tuple(value.shape) if isinstance(value, torch.Tensor) else value
                raise ValueError(
                    f"{name}: {key} has shape {got}, but the parameter has {tuple(flat.shape)}"
                )
            if value.dtype != flat.dtype:
                raise ValueError(f"{name}: {key} has dtype {value.dtype}")
        else:
            raise ValueError(f"{name}: unexpected state {key!r}")
