"""Paths of the book and the pages its toc lists (shared by the book and browser tests)."""

from __future__ import annotations

from pathlib import Path

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
