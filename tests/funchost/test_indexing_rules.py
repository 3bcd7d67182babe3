"""funchost refuses, with the Azure worker's own message, every app the worker refuses.

The messages are the worker's (azure-functions-runtime 1.3); tests/azure_fidelity checks them
against the real worker library under Python 3.13. These run on any Python, without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from funchost.discovery import load_app
from funchost.errors import FunctionValidationError
from tests.azure_fidelity.apps import ACCEPTED, REJECTED, App, isolated_import, missing_module

CONFORMANCE_APP = Path(__file__).resolve().parents[1] / "conformance_app"


@pytest.fixture
def isolated() -> Iterator[None]:
    with isolated_import():
        yield


@pytest.mark.parametrize("app", REJECTED, ids=lambda a: a.id)
def test_refuses_with_the_workers_message(app: App, tmp_path: Path, isolated: None) -> None:
    if missing := missing_module(app):
        pytest.skip(f"{missing} is not installed")
    root = app.write(tmp_path)
    with pytest.raises(FunctionValidationError) as refused:
        load_app(root)
    assert refused.value.function_name == "f"
    assert refused.value.message == app.message
    # What `funchost start` prints: where, and the worker's words.
    assert str(refused.value) == f"cannot load the function app in {root.resolve()}: {app.message}"


@pytest.mark.parametrize("app", ACCEPTED, ids=lambda a: a.id)
def test_accepts_what_the_worker_accepts(app: App, tmp_path: Path, isolated: None) -> None:
    if missing := missing_module(app):
        pytest.skip(f"{missing} is not installed")
    functions = load_app(app.write(tmp_path))
    assert "f" in [h.name for h in functions.http] + list(functions.orchestrators) + \
        [a.function_name for a in functions.activities.values()] + [t.name for t in functions.timers] + \
        [name for name, _ in functions.other]


def test_conformance_app_passes_validation(isolated: None) -> None:
    functions = load_app(CONFORMANCE_APP)
    assert functions.orchestrators and functions.activities and functions.entities and functions.http
