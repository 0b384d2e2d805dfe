"""Paths of the book and the pages its toc lists (shared by the book and browser tests)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def toc_files() -> list[str]:
    """Every page listed in book/_toc.yml (root first), as paths without suffix."""
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


#: Measurements that tests report; conftest prints them at the end of the run.
REPORT: list[str] = []


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "artifacts" / "screenshots"  # test artifacts, looked at by hand
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = (
        "Debian's chromium is not installed: the browser tests CANNOT run. "
        "Install it with `apt-get install chromium` (.ci/run does this)."
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
