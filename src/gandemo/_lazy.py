"""Module-level ``__getattr__`` and ``__dir__`` (PEP 562) that import a package's submodules,
and names re-exported from them, only when first used."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence


def lazy_attributes(
    package: str, namespace: dict, submodules: Sequence[str], shortcuts: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the package named ``package`` whose module globals are
    ``namespace``: ``<package>.<submodule>`` imports the submodule; ``<package>.<name>`` for a
    name in ``shortcuts`` returns that attribute of the submodule ``shortcuts[name]``."""

    def __getattr__(name: str):
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name in shortcuts:
            return getattr(importlib.import_module(f"{package}.{shortcuts[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *submodules, *shortcuts})

    return __getattr__, __dir__
