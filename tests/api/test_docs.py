"""docs/api.md lists every response field of the OpenAPI document, with the document's type, and no other."""

from __future__ import annotations

import re

from tests.api.fields import fields, response_schemas
from tests.api.spec import load_spec
from tests.hostproc import ROOT

DOCS = ROOT / "docs" / "api.md"
ROW = re.compile(r"^\| `([^`]+)` \| ([^|]+?)(, optional)? \| (.+) \|$")


def documented_tables() -> dict[str, dict[str, tuple[str, bool, str]]]:
    """schema -> field -> (type, optional, meaning), from the `#### `Schema`` tables of the reference."""
    text = DOCS.read_text(encoding="utf-8")
    reference = text[text.index("## Response fields (reference)"):]
    tables: dict[str, dict[str, tuple[str, bool, str]]] = {}
    current: dict[str, tuple[str, bool, str]] | None = None
    for line in reference.splitlines():
        heading = re.match(r"^#### `(\w+)`$", line)
        if heading:
            current = tables.setdefault(heading.group(1), {})
            continue
        row = ROW.match(line)
        if row and current is not None:
            current[row.group(1)] = (row.group(2).strip(), row.group(3) is not None, row.group(4).strip())
    return tables


def test_every_response_field_is_documented_with_its_type() -> None:
    spec = load_spec()
    tables = documented_tables()
    schemas = response_schemas(spec)
    assert set(tables) == set(schemas), (sorted(set(schemas) - set(tables)), sorted(set(tables) - set(schemas)))
    for name in schemas:
        node = spec["components"]["schemas"][name]
        declared = dict(fields(spec, node))
        assert set(tables[name]) == set(declared), (name, set(declared) ^ set(tables[name]))
        for path, kind in declared.items():
            documented, optional, meaning = tables[name][path]
            assert documented == kind, f"{name}.{path}: docs say {documented!r}, the document {kind!r}"
            top_level_optional = "." not in path and path != "<key>" and path not in node.get("required", [])
            assert optional == top_level_optional, f"{name}.{path}: optional is {top_level_optional} in the document"
            assert len(meaning) > 3, f"{name}.{path} has no meaning"


def test_response_and_request_schemas_allow_no_undocumented_fields() -> None:
    """What makes the contract tests catch a field the document does not list (drift from the routes)."""
    spec = load_spec()
    schemas = spec["components"]["schemas"]
    harmony_results = {"TaskResult", "ChordAnalysis", "Section", "Change", "Voicing"}  # the music engine's
    closed = [name for name in response_schemas(spec) if name not in harmony_results | {"ShapeStatsMap"}]
    closed += ["RecordPerformanceRequest", "UpdatePerformanceRequest", "SpiceUpRequest", "ReharmonizeRequest",
               "CreateRequest"]
    for name in closed:
        assert schemas[name].get("additionalProperties") is False, name
        for path, prop in schemas[name].get("properties", {}).items():
            if "properties" in prop:
                assert prop.get("additionalProperties") is False, f"{name}.{path}"
