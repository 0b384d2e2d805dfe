"""Book checks: notebooks are output-free, the toc lists real pages, the book builds from clean."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from book_utils import BOOK, toc_files


def notebooks() -> list[Path]:
    return sorted(BOOK.rglob("*.ipynb"), key=str)


CHAPTERS = sorted((BOOK / "chapters").glob("*.ipynb"))


def test_toc_has_the_numbered_parts_and_only_existing_pages():
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    assert toc["format"] == "jb-book"
    captions = [part["caption"] for part in toc["parts"]]
    assert captions[0] == "Part I: The game" and captions[-1] == "Reference"
    for part in toc["parts"][:-1]:
        assert part.get("numbered") is True
    for name in toc_files():
        found = [p for p in (BOOK / f"{name}.md", BOOK / f"{name}.ipynb") if p.exists()]
        assert found, f"_toc.yml lists {name}, which does not exist"


def test_every_chapter_notebook_is_in_the_toc():
    listed = set(toc_files())
    for nb in notebooks():
        if "_build" in nb.parts:
            continue
        assert str(nb.relative_to(BOOK).with_suffix("")) in listed, f"{nb} is not in _toc.yml"


@pytest.mark.parametrize("nb_path", [p for p in notebooks() if "_build" not in p.parts], ids=str)
def test_notebook_is_output_free_and_imports_gd(nb_path):
    nb = json.loads(nb_path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"cell {i} of {nb_path.name} has outputs"
            assert cell.get("execution_count") is None, f"cell {i} has an execution count"
    sources = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "import gandemo as gd" in sources
    assert "import *" not in sources
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.book
def test_book_builds_with_every_toc_page(built_book):
    assert (built_book / "index.html").exists()
    for name in toc_files():
        page = built_book / f"{name}.html"
        assert page.exists(), f"{page} missing from the built book"
        assert page.stat().st_size > 2000


@pytest.mark.book
def test_chapter_pages_show_executed_outputs(built_book):
    from bs4 import BeautifulSoup

    for name in toc_files():
        if not name.startswith("chapters/"):
            continue
        soup = BeautifulSoup((built_book / f"{name}.html").read_text(), "html.parser")
        assert soup.select("div.cell_output"), f"{name}: no executed outputs"
        assert soup.find("img") is not None, f"{name}: no figure"
        assert not soup.select(".traceback"), f"{name}: a cell raised"
        assert "Traceback (most recent call last)" not in soup.get_text()


#: The widest printed line (in characters) that fits the page's column; wider ones overflow it.
MAX_OUTPUT_WIDTH = 72
#: Output types the page shows instead of an output's text/plain, when present.
_RICHER = ("text/html", "text/markdown", "text/latex", "image/", "application/vnd.jupyter.widget")


def _wide_output_lines(nb: dict, width: int = MAX_OUTPUT_WIDTH) -> list[str]:
    """Each line of an executed notebook's printed output that is wider than ``width``, as
    ``"cell <id>: <n> chars: <line>"``: the stream outputs (stdout and stderr) and the text/plain
    of results and displays that the page shows as text (not behind HTML or an image), in the
    cells whose output the page shows (not tagged ``remove-cell`` or ``remove-output``)."""
    wide = []
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code" or {"remove-cell", "remove-output"} & set(tags):
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if out["output_type"] == "stream":
                text = out["text"]
            elif "text/plain" in data and not any(k.startswith(_RICHER) for k in data):
                text = data["text/plain"]
            else:
                continue
            text = "".join(text) if isinstance(text, list) else text
            for line in text.splitlines():
                if len(line.expandtabs()) > width:
                    wide.append(f"cell {cell.get('id')}: {len(line)} chars: {line}")
    return wide


def test_the_width_check_finds_wide_printed_lines():
    """The check below on a small notebook: a wide stdout or stderr line and a wide text/plain
    result count; a wide text/plain behind HTML, and a wide line in a removed cell, do not."""
    wide, ok = "x" * (MAX_OUTPUT_WIDTH + 1), "y" * MAX_OUTPUT_WIDTH

    def cell(cid, output, tags=()):
        return {"cell_type": "code", "id": cid, "metadata": {"tags": tags}, "outputs": [output]}

    def stream(text, name="stdout"):
        return {"output_type": "stream", "name": name, "text": text}

    def result(data, kind="execute_result"):
        return {"output_type": kind, "data": data}

    nb = {
        "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {}, "source": [wide]},
            cell("a", stream([ok + "\n", wide])),
            cell("b", stream(wide, "stderr")),
            cell("c", result({"text/plain": [wide]})),
            cell("d", result({"text/plain": wide, "text/html": ""}, "display_data")),
            cell("e", stream(wide), ["remove-cell"]),
        ]
    }
    assert [line.split(":")[0] for line in _wide_output_lines(nb)] == ["cell a", "cell b", "cell c"]


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_printed_output_fits_the_column(built_book, nb_path):
    """No printed line of an executed chapter is wider than the page's column (about 72
    characters): a wider line overflows it and the reader has to scroll sideways. Reads the
    notebooks that the build executed (``_build/jupyter_execute``)."""
    executed = built_book.parent / "jupyter_execute" / "chapters" / nb_path.name
    assert executed.exists(), f"the build left no executed {executed}"
    wide = _wide_output_lines(json.loads(executed.read_text()))
    assert not wide, f"{nb_path.stem}: {len(wide)} printed line(s) wider than " + (
        f"{MAX_OUTPUT_WIDTH} characters:\n" + "\n".join(wide)
    )


def _tables_rows(built_book, page: str, header: str) -> list[list[list[str]]]:
    """The body rows of every table of ``page`` with a ``header`` column, in page order."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((built_book / f"{page}.html").read_text(), "html.parser")
    found = []
    for table in soup.find_all("table"):
        heads = [th.get_text(strip=True) for th in table.find_all("th")]
        if header in heads:
            found.append(
                [
                    [td.get_text(strip=True) for td in tr.find_all("td")]
                    for tr in table.find_all("tr")
                    if tr.find("td")
                ]
            )
    assert found, f"{page}: no table with a {header!r} column"
    return found


def _table_rows(built_book, page: str, header: str, first_cell: str = "") -> list[list[str]]:
    """The body rows of the first table of ``page`` with a ``header`` column (and, if given, a
    row whose first cell starts with ``first_cell``)."""
    for rows in _tables_rows(built_book, page, header):
        if not first_cell or any(r and r[0].startswith(first_cell) for r in rows):
            return rows
    raise AssertionError(f"{page}: no {header!r} table with a row starting {first_cell!r}")


@pytest.mark.book
def test_zoo_table_comes_from_the_build(built_book):
    from gandemo.claims import BOOK_SEEDS
    from gandemo.losses import LOSSES

    n = str(len(BOOK_SEEDS))
    for modes in ("/ 8", "/ 25"):  # the ring's table, then the grid's
        rows = next(
            rows
            for rows in _tables_rows(built_book, "chapters/08_loss_zoo", "modes (count rule)")
            if rows and rows[0][3].endswith(modes)
        )
        names = [r[0] for r in rows]
        trained = rows[: len(LOSSES)]
        assert [r[0] for r in trained] == list(LOSSES), names
        assert any("PacGAN" in x for x in names) and sum(x.startswith("chance") for x in names) == 2
        for r in rows:
            assert len(r) == 8 and "±" in r[3] and r[3].endswith(modes), r  # one-sample rule
        for r in trained:
            assert r[1] in ("yes", "no") and "±" in r[2] and r[2].endswith(modes), r
            assert r[5].endswith(f"of {n}") and r[7] == n, r  # runs at >= 90 % HQ; seeds


@pytest.mark.book
def test_digits_table_comes_from_the_build(built_book):
    from gandemo.digits import BASELINES

    rows = _table_rows(built_book, "chapters/09_digits", "classes covered", "saturating")
    names = [r[0] for r in rows]
    assert names[:2] == ["saturating, EMA weights", "non-saturating, EMA weights"], names
    assert names[2:] == list(BASELINES.values()), names
    assert all("±" in cell for r in rows[:2] for cell in r[1:5])


def _solutions(nb_path: Path) -> list[tuple[str, str, int]]:
    """Every exercise solution of a notebook as ``(label, markdown text, code cells)``: a
    ``{solution}`` block has no code cells; a gated one (``solution-start`` to ``solution-end``)
    counts the code cells the build executes between its two markers."""
    import re

    found, gated = [], None
    for cell in json.loads(nb_path.read_text())["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "code":
            if gated is not None:
                gated[2] += 1
            continue
        for m in re.finditer(r"`{4,}\{solution\}\s*(\S+)(.*?)\n`{4,}", text, re.S):
            found.append((m.group(1), m.group(2), 0))
        start = re.search(r"\{solution-start\}\s*(\S+)", text)
        if start:
            gated = [start.group(1), text, 0]
        elif gated is not None:
            gated[1] += text
        if gated is not None and "{solution-end}" in text:
            found.append(tuple(gated))
            gated = None
    assert gated is None, f"{nb_path.name}: solution {gated and gated[0]} is never closed"
    return found


@pytest.mark.parametrize(
    "nb_path",
    [p for p in notebooks() if p.parent.name == "chapters" and "_build" not in p.parts],
    ids=lambda p: p.stem,
)
def test_every_solution_with_code_is_executed_by_the_build(nb_path):
    """A solution that uses the package, or shows a code block, runs its code in the build
    (a gated solution with code cells), so that what it says is what its output shows."""
    solutions = _solutions(nb_path)
    assert solutions, f"{nb_path.name} has no exercise solutions"
    for label, text, n_code in solutions:
        if n_code == 0:
            assert "```python" not in text and "gd." not in text, (
                f"{nb_path.name}: solution {label} involves code but runs none; make it a gated "
                "solution (solution-start / solution-end) around executed code cells"
            )


_FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(.*?)\s*$")
#: Directives whose body is not Markdown (so a fence inside it is text, not a nested block).
_LITERAL = ("code", "code-block", "code-cell", "math", "raw", "literalinclude", "csv-table")


def _fence_problems(
    lines: list[str], where: str, inside: tuple[str, ...] = (), first: int = 1
) -> list[str]:
    """The fence defects of a block of Markdown, as MyST reads it: a fence opened by a run of
    n backticks (tildes, colons) ends at the first later line of at least n of the same
    character with nothing after them; a directive's body is parsed again in the same way.
    Reports a fence that is never closed and a proof inside a proof (``first``: the number of
    the first line, for the messages)."""
    problems, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        marker, info = m.groups()
        name = re.match(r"\{([\w:-]+)\}", info)
        name = name.group(1) if name else None
        label = f"{where}, line {first + i}: {marker}{info}"
        close = next(
            (
                j
                for j in range(i + 1, len(lines))
                if (c := _FENCE.match(lines[j]))
                and not c.group(2)
                and c.group(1)[0] == marker[0]
                and len(c.group(1)) >= len(marker)
            ),
            None,
        )
        if close is None:
            problems.append(f"{label} is never closed")
            close = len(lines)
        if name == "prf:proof" and "prf:proof" in inside:
            problems.append(f"{label} is a proof nested inside a proof")
        if name and name not in _LITERAL:
            body = lines[i + 1 : close]
            problems += _fence_problems(body, where, (*inside, name), first + i + 1)
        i = close + 1
    return problems


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_directive_fences_are_closed_and_proofs_not_nested(nb_path):
    """Each Markdown cell closes every fence it opens (a directive left open swallows the rest
    of the cell, as a stale proof under a new one did in chapter 2), and no proof sits inside
    another proof. Reads the notebooks, not a built book."""
    nb = json.loads(nb_path.read_text())
    problems = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            lines = "".join(cell["source"]).splitlines()
            problems += _fence_problems(lines, f"{nb_path.stem} cell {cell['id']}")
    assert not problems, "\n".join(problems)


def test_the_fence_check_finds_an_open_fence_and_a_nested_proof():
    """The check above on small cases: a closed directive with a nested note passes; an open
    fence, and an old proof pasted under a new one whose fence was not closed, fail."""
    good = [
        "````{prf:proof}",
        "Text.",
        "```{note}",
        "A note.",
        "```",
        "````",
        "```python",
        "x",
        "```",
    ]
    assert _fence_problems(good, "good") == []
    assert _fence_problems(["```{note}", "Text."], "open")[0].endswith("is never closed")
    stale = ["````{prf:proof}", "New.", "````{prf:proof}", "Old.", "````"]
    found = _fence_problems(stale, "stale")
    assert any("nested inside a proof" in p for p in found), found
    assert any("never closed" in p for p in found), found
    assert _fence_problems(["```python", "````{prf:proof}", "```"], "code") == []


MAX_CELL_LINES = 25


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_code_cells_are_short_and_use_the_public_api(nb_path):
    """A chapter cell longer than about 25 lines is split or moves into the package; chapters
    reach the package through its public names only."""
    nb = json.loads(nb_path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]).strip()
        lines = len(source.splitlines())
        assert lines <= MAX_CELL_LINES, f"cell {cell['id']} has {lines} lines"
        private = re.findall(r"\bgd(?:\.\w+)*\._\w+", source)
        assert not private, f"cell {cell['id']} uses private names {private}"


PARTS_I_II = [p for p in CHAPTERS if p.name[:2] in {"01", "02", "03", "04", "05", "06"}]


@pytest.mark.parametrize("nb_path", PARTS_I_II, ids=lambda p: p.stem)
def test_checks_of_parts_i_and_ii_run_in_cells_the_page_hides(nb_path):
    """Every number a sentence quotes stays asserted, in a check cell the page does not show
    (``remove-cell``): a visible cell holds no top-level assert (asserts inside a loop that
    also prints stay where they are)."""
    import ast

    nb = json.loads(nb_path.read_text())
    hidden = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        tree = ast.parse("".join(cell["source"]))
        asserts = [n for n in tree.body if isinstance(n, ast.Assert)]
        if "remove-cell" in tags or "remove-input" in tags:
            hidden += len(asserts)
        else:
            assert not asserts, f"cell {cell['id']} shows {len(asserts)} assert(s)"
    assert hidden > 0


def _first_use() -> dict[str, str]:
    """Each public function or class of the package that a chapter calls as ``gd.<path>``,
    mapped to the docname of the first chapter that calls it."""
    import inspect

    import gandemo

    first: dict[str, str] = {}
    for nb_path in CHAPTERS:
        nb = json.loads(nb_path.read_text())
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        for path in sorted(set(re.findall(r"\bgd\.([A-Za-z]\w*(?:\.[A-Za-z]\w*)*)", code))):
            obj, parts = gandemo, path.split(".")
            for part in parts:
                obj = getattr(obj, part, None)
                if inspect.isfunction(obj) or inspect.isclass(obj):
                    key = f"{obj.__module__}.{obj.__qualname__}"
                    first.setdefault(key, f"chapters/{nb_path.stem}")
                    break
                if not inspect.ismodule(obj):
                    break
    return first


def test_each_function_a_chapter_calls_names_the_chapter_that_introduces_it():
    """As d2l does: the docstring of each public function or class a chapter calls says which
    chapter introduces it, so the API page links back to the book."""
    import importlib

    wrong = []
    for key, doc in _first_use().items():
        module, _, name = key.rpartition(".")
        obj = getattr(importlib.import_module(module), name)
        tag = f"Introduced in :doc:`/{doc}`."
        if tag not in (obj.__doc__ or ""):
            wrong.append(f"{key}: expected {tag!r}")
    assert not wrong, "\n".join(wrong)
