"""The examples in the package's docstrings (``>>>`` lines) run, and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import gandemo


def _modules() -> list[str]:
    names = ["gandemo"]
    for info in pkgutil.walk_packages(gandemo.__path__, "gandemo."):
        names.append(info.name)
    return sorted(names)


def _examples() -> list[tuple[str, doctest.DocTest]]:
    finder = doctest.DocTestFinder()
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        for test in finder.find(module, name):
            if test.examples and test.name.startswith(name):
                found.append((test.name, test))
    return found


EXAMPLES = _examples()


def test_the_package_has_docstring_examples():
    assert len(EXAMPLES) >= 5, [name for name, _ in EXAMPLES]


@pytest.mark.parametrize("test", [t for _, t in EXAMPLES], ids=[n for n, _ in EXAMPLES])
def test_docstring_example_runs(test):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
