"""The data model: status strings the store and API use, one spec per action kind, the registry."""

from __future__ import annotations

import json

from funchost import replay
from funchost.history import EventType
from funchost.model import (
    ACTION_SPECS,
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    ActionKind,
    Instance,
    Registry,
    ReplayMeta,
    RetryGroup,
    RuntimeStatus,
    action_spec,
    encode_history,
)


def test_runtime_status_values_are_the_strings_of_the_protocol() -> None:
    assert [s.value for s in RuntimeStatus] == ["Pending", "Running", "Suspended", "ContinuedAsNew", "Completed",
                                                "Failed", "Terminated", "Canceled"]
    assert RuntimeStatus.COMPLETED == "Completed" and json.dumps({"s": RuntimeStatus.FAILED}) == '{"s": "Failed"}'
    assert f"{RuntimeStatus.RUNNING}" == "Running"
    assert not ACTIVE_STATUSES & TERMINAL_STATUSES and set(RuntimeStatus) == ACTIVE_STATUSES | TERMINAL_STATUSES


def test_every_recorded_action_kind_has_its_apply_function() -> None:
    recorded = {kind for kind, spec in ACTION_SPECS.items() if spec.recorded_as is not None}
    assert recorded == set(replay._APPLY)
    assert set(ACTION_SPECS) | {ActionKind.WAIT_FOR_EXTERNAL_EVENT, ActionKind.WHEN_ALL, ActionKind.WHEN_ANY} == \
        set(ActionKind)


def test_specs_name_actions_as_history_records_them() -> None:
    assert action_spec({"actionType": 0, "functionName": "say_hello"}).name_of(  # type: ignore[union-attr]
        {"functionName": "say_hello"}) == "say_hello"
    entity = action_spec({"actionType": ActionKind.SIGNAL_ENTITY})
    assert entity is not None and entity.recorded_as == EventType.EVENT_SENT
    assert entity.name_of({"instanceId": "@counter@k"}) == "@counter@k"
    http = ACTION_SPECS[ActionKind.CALL_HTTP]
    assert http.name_of({"functionName": "ignored"}) == "BuiltIn::HttpActivity"
    assert ACTION_SPECS[ActionKind.CREATE_TIMER].name_of({"fireAt": "x"}) == ""
    assert action_spec({"actionType": 99}) is None and action_spec({}) is None


def test_registry_knows_names_case_insensitively() -> None:
    registry = Registry(orchestrators=frozenset({"sequence"}), activities=frozenset({"say_hello"}),
                        entities=frozenset({"counter"}))
    assert registry.knows("activity", "Say_Hello") and registry.knows("entity", "Counter")
    assert not registry.knows("orchestrator", "say_hello")


def test_encode_history_extends_its_cached_prefix() -> None:
    inst = Instance("i", "o", "e", None, history=[{"EventType": 12, "EventId": -1}])
    first = encode_history(inst)
    inst.history.append({"EventType": 0, "EventId": -1, "Name": "o"})
    assert json.loads(encode_history(inst)) == inst.history
    assert json.loads(first) == inst.history[:1]
    inst.history = inst.history[:1]  # shorter than the cache: encoded afresh
    assert json.loads(encode_history(inst)) == inst.history


def test_encode_history_gives_the_values_of_the_json_module_for_any_text() -> None:
    inst = Instance("i", "o", "e", None, history=[{"EventType": 0, "EventId": -1, "Input": '"caf\u00e9 \u266b"'}])
    encode_history(inst)
    inst.history.append({"EventType": 15, "EventId": -1, "Name": "\ud800", "Input": None})  # a lone surrogate
    inst.history.append({"EventType": 4, "EventId": 0, "Name": "\u00e9t\u00e9", "Input": "[1, 2.5]"})
    assert json.loads(encode_history(inst)) == json.loads(json.dumps(inst.history))


def test_replay_meta_copy_equals_its_json_round_trip_and_is_independent() -> None:
    meta = ReplayMeta(action_ids=[0, 1, 3], next_id=5, input_is_value=True,
                      retry={1: RetryGroup("activity", "flaky", '"x"', None, 3, 100, attempts=2, waiting_timer=True)},
                      owner={1: 1, 2: 1})
    copy = meta.copy()
    assert copy == ReplayMeta.from_json(meta.to_json()) == meta
    copy.action_ids.append(9)
    copy.retry[1].done = True
    copy.owner[4] = 1
    assert meta.action_ids == [0, 1, 3] and not meta.retry[1].done and 4 not in meta.owner


def test_iso_writes_what_strftime_writes() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from funchost.history import iso

    for ts in (datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
               datetime(2026, 6, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5))), datetime(999, 1, 1, tzinfo=UTC),
               datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)):
        assert iso(ts) == ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_for_episode_copies_what_an_episode_changes_and_equals_the_original() -> None:
    from dataclasses import fields, replace

    inst = Instance("i", "o", "e", '"x"', status="Running", history=[{"EventType": 12, "EventId": -1}],
                    custom_status={"s": 1}, output=None, meta=ReplayMeta(action_ids=[0], next_id=1))
    inst.history_json, inst.history_json_len = '[{"EventType":12,"EventId":-1}]', 1
    copy = inst.for_episode()
    expected = replace(inst, history=list(inst.history), meta=inst.meta.copy())
    assert all(getattr(copy, f.name) == getattr(expected, f.name) for f in fields(Instance))
    copy.history.append({"EventType": 13, "EventId": -1})
    copy.meta.action_ids.append(1)
    assert len(inst.history) == 1 and inst.meta.action_ids == [0] and copy.sdk_memo is inst.sdk_memo
