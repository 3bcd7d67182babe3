"""Fixtures of the monitor tests: real hosts over loopback and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
NOTES_APP = Path(__file__).resolve().parent / "notes_app"  # an entity that keeps any JSON; every timeline step
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# A root session has no user namespace for Chromium's sandbox; headless needs no display or GPU.
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (it is slow to start)."""
    from playwright.sync_api import sync_playwright  # the dev extra

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page; fails the test on any uncaught script error in the page."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"script errors in the page: {errors}"


def screenshot(tab: Any, name: str) -> Path:
    """Save a full-page screenshot under tests/monitor/artifacts/ (gitignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


HELD = "hold-for-metrics"  # tests.observability.fake_llm.HOLD_MARKER: the fake LLM holds such a task's call


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[Any]:
    """The stand-in LLM server: an agent task whose notes carry `HELD` stays Running at its consulting-llm
    stage until the module ends, so a test can act on a running task without racing its end."""
    from tests.observability.fake_llm import HOLD_MARKER, FakeLlm

    assert HOLD_MARKER == HELD
    server = FakeLlm(hold_limit_s=120).start()
    yield server
    server.stop()


def llm_env(server: Any) -> dict[str, str]:
    """Environment of a host whose agent tasks consult `server`."""
    # Held calls end as failures when their task is terminated; the breaker must not open on them here.
    return {"LLM_BASE_URL": server.base_url, "LLM_MODEL": "fake", "LLM_TIMEOUT_S": "120",
            "LLM_BREAKER_FAILURES": "1000"}


def start_held_task(host: Any, headers: dict[str, str]) -> str:
    """An agent task that runs until the module ends (held at consulting-llm); returns its id when it is there."""
    import time

    reply = host.request("POST", "/api/agents/tasks/spice-up", {"progression": "Dm7 G7 Cmaj7", "notes": HELD})
    assert reply.status == 202, reply.body
    task = str(reply.json()["taskId"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = host.request("GET", f"/runtime/webhooks/durabletask/instances/{task}", headers=headers).json()
        if (status.get("customStatus") or {}).get("stage") == "consulting-llm":
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task} did not reach consulting-llm: {status.get('customStatus')}")
