"""docs/funchost.md's module map names every module of funchost/, and only modules that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_module_map_names_every_funchost_module() -> None:
    doc = (ROOT / "docs" / "funchost.md").read_text()
    section = doc[doc.index("### Module map"):doc.index("### How the dispatcher works")]
    named = {name for row in section.splitlines() if row.startswith("| ")
             for name in re.findall(r"`([a-z_]+\.py)`", row.split("|")[2])}
    modules = {path.name for path in (ROOT / "funchost").glob("*.py")}
    assert modules - named == set(), "add a row for each new module to the module map in docs/funchost.md"
    assert named - modules == set(), "the module map names modules that do not exist"
