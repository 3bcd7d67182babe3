"""Messages for non-deterministic replays: what history had, what the code did now, and the likely cause."""

from __future__ import annotations

from typing import Any

from .history import EventType, HistoryEvent

_EVENT_NOUN = {
    EventType.TASK_SCHEDULED: "activity",
    EventType.TIMER_CREATED: "timer",
    EventType.SUB_ORCHESTRATION_CREATED: "sub-orchestration",
    EventType.EVENT_SENT: "entity operation",
}

_ACTION_NOUN = {
    0: "activity", 1: "activity", 2: "sub-orchestration", 3: "sub-orchestration", 5: "timer",
    7: "entity operation", 8: "HTTP call", 9: "entity operation",
}

_CAUSE = ("This usually means the orchestrator code changed while instances were in flight, or it "
          "branches on something non-deterministic (wall clock, random numbers, I/O, environment).")


def _describe_event(past: HistoryEvent) -> str:
    noun = _EVENT_NOUN.get(EventType(past["EventType"]), EventType(past["EventType"]).name)
    name = past.get("InstanceId") if past["EventType"] == EventType.EVENT_SENT else past.get("Name")
    return f"{noun} '{name}'" if name else noun


def missing_action_error(past: HistoryEvent, event_id: int) -> str:
    return (f"Non-deterministic workflow detected: a previous execution of this orchestration scheduled "
            f"{_describe_event(past)} with sequence ID {event_id}, but the current replay execution "
            f"hasn't (yet?) scheduled this task. {_CAUSE}")


def mismatched_action_error(past: HistoryEvent, action: dict[str, Any], event_id: int, name: str) -> str:
    noun = _ACTION_NOUN.get(int(action.get("actionType", -1)), f"action type {action.get('actionType')}")
    now = f"{noun} '{name}'" if name else noun
    return (f"Non-deterministic workflow detected: history has {_describe_event(past)} with sequence ID "
            f"{event_id}, but the current replay execution scheduled {now} at that position. {_CAUSE}")
