"""Seeds and small checks shared by the rest of the package."""

from __future__ import annotations

import contextlib
import os
import random
import stat
import tempfile

import numpy as np
import torch

__all__ = [
    "check_nonnegative_int",
    "check_positive",
    "check_positive_int",
    "check_seed",
    "check_writable_file",
    "cpu_threads",
    "seed_everything",
    "torch_generator",
]


#: Below this many numbers in a layer's activations (models x batch x width), a second CPU
#: thread costs more in waiting than it saves, and on a busy machine far more: a loop of small
#: steps with two threads was measured 6 to 13 times slower than with one while another
#: process used a core (``benchmarks/README.md``).
SMALL_WORK = 32_768


@contextlib.contextmanager
def cpu_threads(n: int):
    """Within the block, torch computes on ``n`` CPU threads; the setting is restored after.

    The package's small computations (networks of a few thousand weights, batches of a few
    hundred) run with one thread: they gain nothing from more and lose much when another
    process shares the cores. :class:`gandemo.training.Trainer` measures what to use for
    large batched runs. The number of threads does not change any result.
    """
    n = check_positive_int(n, "n")
    saved = torch.get_num_threads()
    if saved != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != saved:
            torch.set_num_threads(saved)


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python's, NumPy's and PyTorch's global random streams and return a seeded generator.

    Introduced in :doc:`/chapters/01_bce_to_value_function`.

    Same seed, same device, same thread count and same library versions give the same result;
    CPU and CUDA streams differ for the same seed.

    Args:
        seed: a non-negative integer.

    Returns:
        A CPU :class:`torch.Generator` seeded with ``seed``, for code that takes one explicitly.
    """
    seed = check_nonnegative_int(seed, "seed")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (seeds legacy global users, e.g. sklearn)
    torch.manual_seed(seed)
    return torch_generator(seed)


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A :class:`torch.Generator` on ``device`` seeded with ``seed``.

    Introduced in :doc:`/chapters/01_bce_to_value_function`.
    """
    seed = check_nonnegative_int(seed, "seed")
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


def check_nonnegative_int(value, name: str) -> int:
    """Return ``value`` as an int, or raise ValueError naming ``name`` if it is not an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
    return int(value)


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an int, or raise ValueError naming ``name`` if it is not an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_positive(value, name: str) -> float:
    """Return ``value`` as a float, or raise ValueError naming ``name`` unless finite and > 0."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a positive number; got {value!r}") from exc
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite positive number; got {value!r}")
    return v


def check_writable_file(path, name: str) -> str:
    """Return ``path`` as a string if a file can be written there, or raise ValueError naming
    ``name`` and the problem.

    Refused: an empty path; a folder; an existing path that is not a regular file (a device
    such as ``/dev/null``, a pipe, a socket), which a save must never replace; a
    write-protected file (no write permission bit, root included); a missing folder; a folder
    in which no file can be created. The last is tried, by creating and removing a temporary
    file, because a permission check says yes to root even in ``/proc``. A symbolic link is
    followed: the file it points to is the one checked (and the one a save replaces).
    """
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path:
        raise ValueError(f"{name} must name a file; got an empty path")
    target = os.path.realpath(path)
    if os.path.isdir(target):
        raise ValueError(f"{name} {path!r} is a folder, not a file")
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise ValueError(f"{name} {path!r}: folder {folder!r} does not exist")
    if os.path.lexists(target):
        mode = os.stat(target).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(
                f"{name} {path!r} exists and is not a regular file (a device, a pipe or a "
                f"socket); only a regular file may be replaced"
            )
        if not mode & 0o222 or not os.access(target, os.W_OK):
            raise ValueError(f"{name} {path!r} is write-protected")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{name} {path!r}: folder {folder!r} is not writable")
    try:
        fd, probe = tempfile.mkstemp(prefix=".gandemo-probe-", dir=folder)
    except OSError as exc:
        raise ValueError(
            f"{name} {path!r}: no file can be created in folder {folder!r} ({exc.strerror})"
        ) from None
    os.close(fd)
    os.unlink(probe)
    return path


#: Seeds are below this bound, so that every stream derived from one stays a valid torch seed.
MAX_SEED = 2**62


def check_seed(value, name: str = "seed") -> int:
    """Return ``value`` as an int, or raise ValueError naming ``name`` unless 0 <= value < 2**62."""
    v = check_nonnegative_int(value, name)
    if v >= MAX_SEED:
        raise ValueError(f"{name} must be smaller than 2**62; got {value!r}")
    return v
