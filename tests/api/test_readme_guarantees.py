"""README.md's guarantees table names, on every line, tests that exist.

Each row's "Tested by" cell must name at least one test file or folder under tests/ (or a make target);
every file it names must exist and hold test functions, every folder must hold test files. A bare
`test_x.py` is in the folder of the path named before it in the same cell.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.hostproc import ROOT

README = ROOT / "README.md"
SECTION = "## What is guaranteed, and how it is tested"
TEST_FUNCTION = re.compile(r"^(async )?def test_\w+", re.MULTILINE)


def guarantee_rows() -> list[tuple[str, str]]:
    """(guarantee title, "Tested by" cell) for each row of the table."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index(SECTION):].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        title = re.match(r"\*\*(.+?)\*\*", cells[0])
        if len(cells) == 2 and title:
            rows.append((title.group(1), cells[1]))
    return rows


def named_paths(cell: str) -> list[Path]:
    """The test files and folders a cell names, bare file names resolved against the path before them."""
    found: list[Path] = []
    folder: Path | None = None
    for name in re.findall(r"`([^`]+)`", cell):
        if name.startswith("tests/"):
            path = ROOT / name
            folder = path if name.endswith("/") else path.parent
        elif re.fullmatch(r"test_\w+\.py", name) and folder is not None:
            path = folder / name
        else:
            continue
        found.append(path)
    return found


def test_the_table_has_every_guarantee() -> None:
    assert len(guarantee_rows()) >= 15, [title for title, _ in guarantee_rows()]


@pytest.mark.parametrize(("title", "cell"), guarantee_rows(), ids=lambda value: str(value)[:30])
def test_each_guarantee_names_tests_that_exist(title: str, cell: str) -> None:
    paths = named_paths(cell)
    targets = re.findall(r"`make ([\w-]+)`", cell)
    assert paths or targets, f"{title}: the row names no test"
    for path in paths:
        where = path.relative_to(ROOT)
        if path.is_dir():
            assert any(path.rglob("test_*.py")), f"{title}: {where} holds no test file"
        else:
            assert path.is_file(), f"{title}: {where} does not exist"
            assert TEST_FUNCTION.search(path.read_text(encoding="utf-8")), f"{title}: {where} has no test"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), f"{title}: no make target {target}"
