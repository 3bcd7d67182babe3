"""Hosts created by a reliability test are stopped when it ends, even when it fails half-way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.hostproc import HostProcess


@pytest.fixture
def new_host() -> Iterator[Callable[..., HostProcess]]:
    """`new_host(script_root, data_dir, ...)`: a HostProcess (not started) that is stopped at teardown."""
    made: list[HostProcess] = []

    def make(*args: Any, **kwargs: Any) -> HostProcess:
        host = HostProcess(*args, **kwargs)
        made.append(host)
        return host

    yield make
    for host in made:
        host.stop()
