"""Shared fixtures: real funchost processes over loopback HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostproc import ROOT, HostProcess

CONFORMANCE_APP = ROOT / "tests" / "conformance_app"


@pytest.fixture(scope="session")
def conformance_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    host = HostProcess(CONFORMANCE_APP, tmp_path_factory.mktemp("conformance"))
    host.start()
    yield host
    host.stop()


@pytest.fixture
def fresh_conformance_host(tmp_path: Path) -> Iterator[HostProcess]:
    host = HostProcess(CONFORMANCE_APP, tmp_path / "data")
    yield host
    host.stop()


@pytest.fixture(scope="session")
def app_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    """The project's own function_app.py on funchost."""
    host = HostProcess(Path(os.environ.get("APP_SCRIPT_ROOT", str(ROOT))), tmp_path_factory.mktemp("app"))
    host.start()
    yield host
    host.stop()


@pytest.fixture(scope="session")
def portable_app_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    """The app with funchost's in-process entity calls off: the path Azure takes (one-step orchestration)."""
    host = HostProcess(Path(os.environ.get("APP_SCRIPT_ROOT", str(ROOT))), tmp_path_factory.mktemp("portable"),
                       env={"FUNCHOST_DIRECT_ENTITY_CALLS": "0"})
    host.start()
    yield host
    host.stop()


@pytest.fixture(params=["direct", "portable"])
def any_app_host(request: pytest.FixtureRequest) -> HostProcess:
    """Both ways a route reaches the entity: funchost's in-process call and Azure's orchestration call."""
    name = "app_host" if request.param == "direct" else "portable_app_host"
    host: HostProcess = request.getfixturevalue(name)
    return host
