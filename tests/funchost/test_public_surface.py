"""The public surface re-exported from `funchost`: every name resolves, and importing the package stays cheap."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import funchost

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(funchost._EXPORTS))
def test_public_name_is_the_defining_modules_object(name: str) -> None:
    module = importlib.import_module(f"funchost.{funchost._EXPORTS[name]}")
    assert getattr(funchost, name) is getattr(module, name)
    assert name in funchost.__all__


def test_all_lists_exactly_the_exports() -> None:
    assert set(funchost.__all__) == {*funchost._EXPORTS, "__version__"}


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        funchost.nope  # noqa: B018


def test_importing_the_package_loads_no_host_module() -> None:
    """Activity worker processes import `funchost.activities`; that must not pull in the server or aiohttp."""
    code = ("import json, sys, funchost\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('funchost', 'aiohttp')))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         timeout=60)
    assert json.loads(out.stdout) == ["funchost"]
