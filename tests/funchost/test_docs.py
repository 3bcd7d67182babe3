"""docs/funchost.md stays true: its module map names every funchost module, its table every environment variable."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_module_map_names_every_funchost_module() -> None:
    doc = (ROOT / "docs" / "funchost.md").read_text()
    section = doc[doc.index("### Module map"):doc.index("### How the dispatcher works")]
    named = {name for row in section.splitlines() if row.startswith("| ")
             for name in re.findall(r"`([a-z0-9_/]+\.py)`", row.split("|")[2])}
    package = ROOT / "funchost"
    modules = {path.relative_to(package).as_posix() for path in package.rglob("*.py")}
    assert modules - named == set(), "add a row for each new module to the module map in docs/funchost.md"
    assert named - modules == set(), "the module map names modules that do not exist"


def test_every_environment_variable_the_host_reads_is_documented() -> None:
    doc = (ROOT / "docs" / "funchost.md").read_text()
    table = doc[doc.index("### Environment variables"):doc.index("### local.settings.json")]
    sources = [*(ROOT / "funchost").rglob("*.py"), ROOT / "hostext.py", *(ROOT / "routes").glob("*.py")]
    read = {name for path in sources
            for name in re.findall(r"""(?:environ|env)(?:\.get\(|\[)\s*["']((?:FUNCHOST|FUNCTIONS|WEBSITE)_[A-Z_]+)""",
                                   path.read_text())}
    assert read, "found no environment reads: the pattern is stale"
    assert {name for name in read if f"`{name}`" not in table} == set(), "add the variable to docs/funchost.md"
