"""The SDK speed-ups give the same results as the SDK's own code, each one; `FUNCHOST_SDK_PATCHES=0` turns them off."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections import namedtuple
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dateutil.parser import parse as dateutil_parse

from funchost import sdk_patches
from funchost.history import iso, iso_seconds
from tests.hostproc import HostProcess

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE_APP = ROOT / "tests" / "conformance_app"
API = "/runtime/webhooks/durabletask"


def test_fast_timestamp_parse_matches_dateutil() -> None:
    assert sdk_patches.TIMESTAMP_PARSE in sdk_patches.apply()
    module = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    start = datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    for i in range(200):
        moment = start + timedelta(seconds=i * 7919.123457)
        for text in (iso(moment), iso_seconds(moment), moment.isoformat()):
            fast = module.dt_parse(text)
            assert fast == dateutil_parse(text) and fast.utcoffset() == timedelta(0), text
    assert module.dt_parse("Jan 5 2026 10:00 UTC") == dateutil_parse("Jan 5 2026 10:00 UTC")  # fallback


def test_namedtuple_factory_is_cached_and_builds_the_same_class() -> None:
    assert sdk_patches.NAMEDTUPLE_CACHE in sdk_patches.apply()
    executor = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
    # The SDK's own call (a tuple of field names), made once per episode.
    first = executor.namedtuple("SetTaskValuePayload", ("is_success", "task_id_key"))
    assert executor.namedtuple("SetTaskValuePayload", ("is_success", "task_id_key")) is first  # built once
    SetTaskValuePayload = namedtuple("SetTaskValuePayload", ("is_success", "task_id_key"))
    assert first._fields == SetTaskValuePayload._fields and first(True, "t1") == SetTaskValuePayload(True, "t1")
    assert first(is_success=False, task_id_key="t2")._asdict() == {"is_success": False, "task_id_key": "t2"}


def test_strict_typing_flag_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = importlib.import_module("azure.functions._durable_functions")
    before = codec._is_strict_mode()
    assert sdk_patches.STRICT_MODE_ONCE in sdk_patches.apply()
    monkeypatch.setenv("AZURE_FUNCTIONS_DURABLE_STRICT_TYPING", "false" if before else "true")
    assert codec._is_strict_mode() is before  # the value at start, not the changed environment
    value = {"when": "2026-01-01", "n": [1, 2.5, None], "s": "é"}
    assert codec.df_loads(codec.df_dumps(value)) == value


def test_speedups_are_applied_once() -> None:
    first_names = sdk_patches.apply()
    module = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    first = module.dt_parse
    assert sdk_patches.apply() == first_names == sdk_patches.applied()
    assert module.dt_parse is first


def test_opt_out_leaves_the_sdk_as_installed() -> None:
    """In a fresh process, `FUNCHOST_SDK_PATCHES=0` applies nothing; any other value applies them all."""
    script = (
        "import importlib, json, os, sys\n"
        "from funchost import sdk_patches\n"
        "module = importlib.import_module('azure.durable_functions.models.history.HistoryEvent')\n"
        "original = module.dt_parse\n"
        "names = sdk_patches.apply_from({'FUNCHOST_SDK_PATCHES': sys.argv[1]})\n"
        "print(json.dumps({'names': sorted(names), 'untouched': module.dt_parse is original}))\n"
    )
    results = {}
    for value in ("0", "1"):
        out = subprocess.run([sys.executable, "-c", script, value], cwd=ROOT, capture_output=True, text=True,
                             check=True, timeout=60)
        results[value] = json.loads(out.stdout)
    assert results["0"] == {"names": [], "untouched": True}
    assert results["1"] == {"names": sorted([sdk_patches.TIMESTAMP_PARSE, sdk_patches.NAMEDTUPLE_CACHE,
                                             sdk_patches.STRICT_MODE_ONCE, sdk_patches.CODEC_REUSE,
                                             sdk_patches.ENTITY_DIRECT, sdk_patches.ORCHESTRATION_CONTEXT,
                                             sdk_patches.ORCHESTRATION_ACTIONS, sdk_patches.ENTITY_INPUTS]),
                            "untouched": False}
    assert not sdk_patches.enabled({"FUNCHOST_SDK_PATCHES": " 0 "}) and sdk_patches.enabled({})


def test_host_runs_orchestrations_the_same_without_the_patches(tmp_path: Path) -> None:
    host = HostProcess(CONFORMANCE_APP, tmp_path / "data", env={"FUNCHOST_SDK_PATCHES": "0"}).start()
    try:
        reply = host.request("POST", f"{API}/orchestrators/sequence", ["Tokyo", "Seattle"])
        assert reply.status == 202, reply.body[:300]
        status = host.wait_status(reply.json()["id"])
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"] == ["Hello Tokyo!", "Hello Seattle!"], status
    finally:
        assert host.stop() == 0


class _Note:
    """A custom payload type (the SDK's `to_json`/`from_json` protocol), to exercise the envelope path."""

    def __init__(self, text: str) -> None:
        self.text = text

    def to_json(self) -> dict[str, str]:
        return {"text": self.text}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> _Note:
        return cls(data["text"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Note) and other.text == self.text


CODEC_VALUES: list[object] = [
    None, 0, -3, 2.5, float("nan"), float("inf"), "plain", "é and \u2603", 'a "__class__" in a string',
    [1, "two", None, [3.0]], {"nested": {"list": [1, {"deep": True}]}, "empty": {}},
    {"__class__": "x", "only": "one of the envelope keys"},
    True, False, 2**80, -(2**70), "\ud800 lone", "\x00\x1f\x7f\"\\/", "\U0001f3b8",
]


def _same(left: object, right: object) -> bool:
    """Equal values, treating NaN as equal to NaN (json round trips keep it)."""
    def plain(value: object) -> object:
        return [type(value).__name__, vars(value)]

    return json.dumps(left, default=plain) == json.dumps(right, default=plain)


def test_codec_with_reused_coders_gives_the_results_of_the_sdk_as_installed() -> None:
    codec = importlib.import_module("azure.functions._durable_functions")
    assert sdk_patches.CODEC_REUSE in sdk_patches.apply()
    assert codec.json is not json  # the codec module sees the stand-in
    note = _Note("hi")
    for value in [*CODEC_VALUES, note, {"wrapped": note, "n": 1}]:
        text = codec.df_dumps(value)
        assert text == json.dumps(value, default=codec._serialize_custom_object)  # byte for byte
        expected = json.loads(text, object_hook=codec._deserialize_custom_object)
        assert _same(codec.df_loads(text), expected), text
        for expected_type in (dict, list, str, int, _Note):
            original = json.loads(text, object_hook=codec._deserialize_custom_object)
            assert _same(codec.df_loads(text, expected_type=expected_type), original), (text, expected_type)
    escaped = json.dumps({"\u005f_class__": "written with an escape"}).replace("_", "\\u005f", 1)
    assert codec.df_loads(escaped, expected_type=dict) == json.loads(escaped)
    first = codec.df_loads('{"a": [1]}', expected_type=dict)
    second = codec.df_loads('{"a": [1]}', expected_type=dict)
    assert first == second and first is not second  # no value is handed out twice


def test_entity_state_round_trip_is_unchanged_by_the_codec_patch() -> None:
    from azure.durable_functions.models.DurableEntityContext import DurableEntityContext

    sdk_patches.apply()
    state = json.dumps({"count": 3, "history": [{"at": "2026-01-01T00:00:00Z", "ok": True}]})
    context = json.dumps({"self": {"name": "counter", "key": "k"}, "state": state, "exists": True, "batch": []})
    ctx, batch = DurableEntityContext.from_json(context)
    assert batch == [] and ctx.get_state(dict) == json.loads(state)


_EPISODES_SCRIPT = """
import json, sys
from funchost import sdk_patches
from funchost.discovery import load_app
from tests.funchost import test_replay

names = sdk_patches.apply_from({"FUNCHOST_SDK_PATCHES": sys.argv[1]})
functions = load_app(test_replay.APP)
answers = []
handles = {}
for name in test_replay.CASES:
    handle = functions.orchestrator(name)
    def recording(context, handle=handle):
        try:
            answer = handle(context)
        except Exception as exc:
            answers.append(["raised", str(exc)])
            raise
        answers.append(["returned", answer])
        return answer
    handles[name] = recording
functions.orchestrator = lambda name: handles[name]
histories = {}
for name, input_text in test_replay.CASES.items():
    inst = test_replay.drive(functions, name, input_text)
    histories[name] = [inst.status, inst.output, inst.history]
print(json.dumps({"names": sorted(names), "answers": answers, "histories": histories}))
"""


def test_orchestration_context_patch_gives_the_answers_of_the_sdk_as_installed() -> None:
    """Every episode of the golden orchestrations (activities, fan-out, entities, retries, continue-as-new,
    timers) gets the same answer text from the orchestrator handle, and ends in the same history, with
    the patches (the engine's decoded context and the HistoryEvents kept between episodes) and without."""
    runs = {}
    for value in ("0", "1"):
        out = subprocess.run([sys.executable, "-c", _EPISODES_SCRIPT, value], cwd=ROOT, capture_output=True,
                             text=True, check=True, timeout=120)
        runs[value] = json.loads(out.stdout)
    assert runs["0"]["names"] == []
    assert {sdk_patches.ORCHESTRATION_CONTEXT, sdk_patches.ORCHESTRATION_ACTIONS} <= set(runs["1"]["names"])
    assert len(runs["1"]["answers"]) > 2 * len(runs["1"]["histories"])  # several episodes per orchestration
    assert runs["1"]["answers"] == runs["0"]["answers"]
    assert runs["1"]["histories"] == runs["0"]["histories"]


def test_history_events_are_kept_between_episodes_only_for_the_same_event_objects() -> None:
    from azure.durable_functions.models.history.HistoryEvent import HistoryEvent

    first = {"EventType": 12, "EventId": -1, "IsPlayed": False, "Timestamp": "2026-01-01T00:00:00.000000Z"}
    second = {"EventType": 0, "EventId": -1, "IsPlayed": False, "Timestamp": "2026-01-01T00:00:00.000000Z",
              "Name": "o", "Input": None}
    memo: list[object] = []
    built = sdk_patches._history_events([first, second], memo, HistoryEvent)
    assert sdk_patches._history_events([first, second, first], memo, HistoryEvent)[:2] == built  # extended
    again = sdk_patches._history_events([first, dict(second)], memo, HistoryEvent)
    assert again[0] is built[0] and again[1] is not built[1]  # an equal but other dict is built afresh
    assert vars(again[1]) == vars(built[1])
    shorter = sdk_patches._history_events([first], memo, HistoryEvent)
    assert shorter == [built[0]] and memo == [[first], [built[0]]]
    assert sdk_patches._history_events([second], memo, HistoryEvent)[0] is not built[0]  # another first event


def test_activity_actions_encode_and_serialize_as_the_sdk_as_installed() -> None:
    from azure.durable_functions.models.actions.CallActivityAction import CallActivityAction
    from azure.functions._durable_functions import df_dumps

    assert sdk_patches.ORCHESTRATION_ACTIONS in sdk_patches.apply()
    action_module = importlib.import_module("azure.durable_functions.models.actions.CallActivityAction")
    assert action_module.df_dumps is not df_dumps  # the action module sees the fast path
    values: list[object] = [*CODEC_VALUES, True, False, 10**30, -0.0, "\ud800 lone", "tab\tquote\"", _Note("n"),
                            (1, 2)]
    for value in values:
        assert action_module.df_dumps(value) == df_dumps(value), value  # byte for byte
        action = CallActivityAction("say_hello", value)
        assert action.input_ == df_dumps(value)
        expected = {"actionType": action.action_type, "functionName": "say_hello", "input": action.input_}
        assert action.to_json() == expected and list(action.to_json()) == list(expected)


def test_task_results_decode_as_the_sdk_as_installed() -> None:
    from azure.functions._durable_functions import df_loads

    assert sdk_patches.ORCHESTRATION_ACTIONS in sdk_patches.apply()
    executor = importlib.import_module("azure.durable_functions.models.TaskOrchestrationExecutor")
    assert executor.df_loads is not df_loads
    texts = ["0", "7", "-7", "16", "123456789012345678", "1234567890123456789", "-0", "01", "1.5", "1e3", " 1",
             "1 ", "\u0661", "null", "true", '"16"', "[1]", '{"a": 1}', "NaN", "-", ""]
    for text in texts:
        try:
            expected: object = ("value", df_loads(text))
        except ValueError as exc:
            expected = ("error", type(exc).__name__)
        try:
            got: object = ("value", executor.df_loads(text))
        except ValueError as exc:
            got = ("error", type(exc).__name__)
        assert _same(got, expected), text
        assert type(got[1]) is type(expected[1]), text  # type: ignore[index]
    assert executor.df_loads("5", expected_type=int) == 5


def _outcome(call: object, *args: object) -> tuple[str, object]:
    try:
        return "value", call(*args)  # type: ignore[operator]
    except (ValueError, TypeError) as exc:  # json.JSONDecodeError included; TypeError: df_loads of a non-text
        return "error", type(exc).__name__


ENTITY_TEXTS = [json.dumps(value) for value in ["1", "plain", "é \u2603", "tab\there", "quote\"in", "back\\slash",
                                                "\x7f", "\x00", "\ud800", "\U0001f3b8", "", " 1 ", '"1"', "null",
                                                "{\"a\": 1}", "\u00a0nbsp", "line\u2028sep"]]
ENTITY_TEXTS += ['"raw\ttab"', '"raw\nline"', '"\u00e9"', '"', '""', '"a"b"', ' "a"', '"a" ', "1", "-7", "01", "null",
                 "[1]", "true", "\"\\u0041\"", "\"\\\"\"", ""]


def test_entity_inputs_and_states_decode_as_the_sdk_as_installed() -> None:
    from azure.durable_functions.models.DurableEntityContext import DurableEntityContext
    from azure.functions._durable_functions import df_loads

    assert sdk_patches.ENTITY_INPUTS in sdk_patches.apply()
    module = importlib.import_module("azure.durable_functions.models.DurableEntityContext")
    assert module.json is not json and module.df_loads is not df_loads  # the context's module sees the fast paths
    for text in ENTITY_TEXTS:
        got, expected = _outcome(module.json.loads, text), _outcome(json.loads, text)
        assert _same(got, expected) and type(got[1]) is type(expected[1]), text
        got, expected = _outcome(module.df_loads, text), _outcome(df_loads, text)
        assert _same(got, expected) and type(got[1]) is type(expected[1]), text
        # get_input as the SDK computes it: json.loads of the input, then df_loads of the text it holds
        context = DurableEntityContext("counter", "k", True, text)
        context._input = text
        outer = _outcome(json.loads, text)
        expected = outer if outer[0] == "error" or outer[1] is None else _outcome(df_loads, outer[1])
        assert _same(_outcome(context.get_input), expected), text
        context._state_is_raw = True  # the host's stored state text, decoded on the first get_state
        assert _same(_outcome(context.get_state), _outcome(df_loads, text)), text
    assert module.json.loads('"a"', strict=False) == "a" and module.json.JSONDecodeError is json.JSONDecodeError
