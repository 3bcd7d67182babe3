"""Schemathesis against the live app on a real host: no 5xx, JSON `{error, details}` errors, documented answers.

Every operation of routes/openapi.json (as served by the host) gets MAX_EXAMPLES generated requests
per mode: positive (valid per the document) and negative (invalid per the document). Checks:

- no 5xx answer (`not_a_server_error`), and every status, media type and body is documented
  (`status_code_conformance`, `content_type_conformance`, `response_schema_conformance`);
- every 4xx answer is the one error document, `ErrorDocument` (`error_body_is_json`);
- negative requests are rejected with a 4xx (`negative_data_rejection`): the document is not looser
  than the app; for the player routes, whose validation the document states in full, valid requests
  are accepted (`positive_data_acceptance`): it is not stricter either.

Bad input no HTTP client sends (deep JSON, huge integers, bad framing, bombs, bad request lines) goes to
the same operations over raw sockets in test_fuzz_hostile.py.

Hypothesis runs derandomized without shrinking, so each run sends the same requests and stays bounded.
Agent task budgets are capped at 200 ms so the tasks that valid requests start do not keep the
shared cores busy (a capped request is still a valid one).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.fuzz_checks import error_body_is_json
from tests.api.spec import load_spec, operations
from tests.hostproc import ROOT, HostProcess

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = 25
MAX_BUDGET_MS = 200
FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                         print_blob=False)


@pytest.fixture(scope="module")
def fuzz_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    # Event streams wait at most half a second for news, so a fuzzed stream request answers quickly.
    host = HostProcess(ROOT, Path(tmp_path_factory.mktemp("fuzz")), env={"PLAYER_EVENTS_WAIT_S": "0.5",
                                                                        "AGENT_EVENTS_WAIT_S": "0.5"})
    host.start()
    yield host
    host.stop()


@pytest.fixture(scope="module")
def schema(fuzz_host: HostProcess) -> Any:
    return schemathesis.openapi.from_url(fuzz_host.base + "/api/openapi.json")


def _cap_budget(case: Any) -> Any:
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("budgetMs"), int) and body["budgetMs"] > MAX_BUDGET_MS:
        body["budgetMs"] = MAX_BUDGET_MS
    return case


def _cases() -> list[tuple[str, str, str]]:
    """(method, path, mode) for every operation; negative only where there is an input to get wrong."""
    spec = load_spec()
    found: list[tuple[str, str, str]] = []
    for method, path in operations(spec):
        operation = spec["paths"][path][method.lower()]
        modes = ["positive", "negative"] if operation.get("parameters") or operation.get("requestBody") else [
            "positive"]
        found.extend((method, path, mode) for mode in modes)
    return found


@pytest.mark.parametrize(("method", "path", "mode"), _cases(), ids=lambda v: str(v))
def test_operation_survives_fuzzing(schema: Any, fuzz_host: HostProcess, method: str, path: str,
                                    mode: str) -> None:
    operation = schema[path][method]
    generation_mode = schemathesis.GenerationMode(mode)
    strategy = operation.as_strategy(generation_mode=generation_mode)
    if mode == "positive" and path.startswith("/api/agents/tasks/") and method == "POST":
        strategy = strategy.map(_cap_budget)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance, error_body_is_json]
    if mode == "negative":
        checks.append(negative_data_rejection)
    elif path.startswith("/api/adaptive-ai/"):
        checks.append(positive_data_acceptance)

    @FUZZ_SETTINGS
    @given(case=strategy)
    def run(case: Any) -> None:
        case.call_and_validate(base_url=fuzz_host.base, checks=checks, timeout=30)

    run()
