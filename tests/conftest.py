"""Shared fixtures: the book built once per session, from clean, into a temporary folder, and the
``device`` every device-dependent test runs on (``cuda`` skipped where no CUDA device exists).

Every test that uses ``built_book`` is marked ``book`` here, so ``-m "not book"`` never builds
the book."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from book_utils import BOOK, CHROMIUM, CHROMIUM_ARGS, REPORT, ROOT, require_chromium

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=CUDA)])
def device(request) -> str:
    """The device a test runs on: ``cpu`` always, ``cuda`` where a CUDA device exists."""
    return request.param


def pytest_collection_modifyitems(config, items):
    """Mark every test that needs the built book as ``book`` (``-m "not book"`` skips the build)."""
    for item in items:
        if "built_book" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.book)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """Build the whole book from clean, executing every chapter, warnings as errors."""
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(BOOK), "--path-output", str(out), "-W", "-n", "--keep-going"]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    log = result.stdout + result.stderr
    if result.returncode != 0:
        reports = out / "_build" / "html" / "reports"
        extra = ""
        if reports.exists():
            extra = "\n".join(p.read_text()[-4000:] for p in reports.glob("**/*.err.log"))
        pytest.fail(f"book build failed (exit {result.returncode}):\n{log[-8000:]}\n{extra}")
    html = out / "_build" / "html"
    yield html
    shutil.rmtree(out, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print what the tests measured (e.g. the JupyterLab slider latency)."""
    if REPORT:
        terminalreporter.section("gandemo measurements")
        for line in REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session (Playwright's sync API allows one)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
