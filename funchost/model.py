"""The durable data model: instances, ids, runtime status and action kinds, shared by engine, store and API.

Nothing here does I/O. The replay engine (`replay.py`) reads and produces these values; the
store persists them; the management API and telemetry report them. Status values are the
strings the store keeps and the HTTP payloads show (`RuntimeStatus` members compare equal to
them); action kinds are the integers the Durable SDK writes in its orchestrator state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from typing import Any

from . import fastjson
from .history import EventType, HistoryEvent

InstanceId = str  # an orchestration instance id, or an entity's scheduler id `@name@key`
ExecutionId = str  # one execution of an instance (a new one after continue-as-new)
EntityId = str  # `@name@key`, see ids.entity_id

HTTP_ACTIVITY_NAME = "BuiltIn::HttpActivity"


class RuntimeStatus(StrEnum):
    """An orchestration's runtime status, as stored and as the management API reports it."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUSPENDED = "Suspended"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TERMINATED = "Terminated"
    CANCELED = "Canceled"


# Short names, as the engine and the management API use them.
PENDING = RuntimeStatus.PENDING
RUNNING = RuntimeStatus.RUNNING
SUSPENDED = RuntimeStatus.SUSPENDED
CONTINUED_AS_NEW = RuntimeStatus.CONTINUED_AS_NEW
COMPLETED = RuntimeStatus.COMPLETED
FAILED = RuntimeStatus.FAILED
TERMINATED = RuntimeStatus.TERMINATED

TERMINAL_STATUSES = frozenset({RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.TERMINATED,
                               RuntimeStatus.CANCELED})
ACTIVE_STATUSES = frozenset({RuntimeStatus.PENDING, RuntimeStatus.RUNNING, RuntimeStatus.SUSPENDED,
                             RuntimeStatus.CONTINUED_AS_NEW})


class ActionKind(IntEnum):
    """The `actionType` of an action in the SDK's orchestrator state."""

    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    WHEN_ANY = 11
    WHEN_ALL = 12


@dataclass(frozen=True)
class ActionSpec:
    """What the engine knows about one action kind: how history records it, what it names, what it targets.

    `recorded_as` is the history event a scheduled action of this kind becomes (None: not
    recorded, e.g. continue-as-new); `target` the registry the named function must be in
    ("activity", "orchestrator", "entity", or None); `name_field` the action field naming it.
    """

    kind: ActionKind
    recorded_as: EventType | None
    target: str | None = None
    name_field: str | None = "functionName"
    fixed_name: str | None = None

    def name_of(self, action: dict[str, Any]) -> str:
        """The name history keeps for this action (compared, case-insensitively, on replay)."""
        if self.fixed_name is not None:
            return self.fixed_name
        return str(action.get(self.name_field) or "") if self.name_field else ""


ACTION_SPECS: dict[ActionKind, ActionSpec] = {spec.kind: spec for spec in (
    ActionSpec(ActionKind.CALL_ACTIVITY, EventType.TASK_SCHEDULED, "activity"),
    ActionSpec(ActionKind.CALL_ACTIVITY_WITH_RETRY, EventType.TASK_SCHEDULED, "activity"),
    ActionSpec(ActionKind.CALL_SUB_ORCHESTRATOR, EventType.SUB_ORCHESTRATION_CREATED, "orchestrator"),
    ActionSpec(ActionKind.CALL_SUB_ORCHESTRATOR_WITH_RETRY, EventType.SUB_ORCHESTRATION_CREATED, "orchestrator"),
    ActionSpec(ActionKind.CREATE_TIMER, EventType.TIMER_CREATED, name_field=None),
    ActionSpec(ActionKind.CALL_ENTITY, EventType.EVENT_SENT, "entity", name_field="instanceId"),
    ActionSpec(ActionKind.SIGNAL_ENTITY, EventType.EVENT_SENT, "entity", name_field="instanceId"),
    ActionSpec(ActionKind.CALL_HTTP, EventType.TASK_SCHEDULED, fixed_name=HTTP_ACTIVITY_NAME),
    ActionSpec(ActionKind.CONTINUE_AS_NEW, None, name_field=None),
)}


def action_spec(action: dict[str, Any]) -> ActionSpec | None:
    """The spec of `action`'s kind, or None for a kind this host does not know."""
    return ACTION_SPECS.get(action.get("actionType", -1))  # an IntEnum key matches its int


@dataclass(frozen=True)
class Registry:
    """Lower-cased durable names the app registers, so actions naming unknown functions fail early."""

    orchestrators: frozenset[str] = frozenset()
    activities: frozenset[str] = frozenset()
    entities: frozenset[str] = frozenset()

    def knows(self, target: str, name: str) -> bool:
        """Whether a function `name` of kind `target` ("activity", "orchestrator", "entity") exists."""
        names = {"activity": self.activities, "orchestrator": self.orchestrators, "entity": self.entities}[target]
        return name.lower() in names


@dataclass
class RetryGroup:
    """Host-side retry bookkeeping for one `*_with_retry` task (the SDK leaves the retries to the host)."""

    kind: str  # "activity" or "orchestration"
    name: str
    input: str | None
    instance_id: str | None
    max_attempts: int
    interval_ms: int
    attempts: int = 1
    waiting_timer: bool = False
    done: bool = False


@dataclass
class ReplayMeta:
    """What the host remembers between episodes besides the history itself."""

    action_ids: list[int] = field(default_factory=list)
    next_id: int = 0
    retry: dict[int, RetryGroup] = field(default_factory=dict)
    owner: dict[int, int] = field(default_factory=dict)
    # True when `Instance.input` is the JSON text of a non-string value posted as is (curl with an
    # object, array, number or boolean body); False when it is the string value itself (the SDK client's
    # double encoding, sub-orchestrations). Kept here so the store needs no new column.
    input_is_value: bool = False

    def has_active_retry(self) -> bool:
        return any(not g.done for g in self.retry.values())

    def to_json(self) -> str:
        raw: dict[str, Any] = {
            "a": self.action_ids, "n": self.next_id,
            "r": {str(k): vars(g) for k, g in self.retry.items()},
            "o": {str(k): v for k, v in self.owner.items()},
        }
        if self.input_is_value:  # written only when set: stores from before the flag read as False
            raw["v"] = True
        return fastjson.dumps(raw)

    @classmethod
    def from_json(cls, text: str | None) -> ReplayMeta:
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(
            action_ids=list(raw["a"]), next_id=int(raw["n"]),
            retry={int(k): RetryGroup(**g) for k, g in raw["r"].items()},
            owner={int(k): int(v) for k, v in raw["o"].items()},
            input_is_value=bool(raw.get("v", False)),
        )

    def copy(self) -> ReplayMeta:
        """An independent copy (what `from_json(to_json())` gives, without the text in between)."""
        return ReplayMeta(list(self.action_ids), self.next_id, {k: replace(g) for k, g in self.retry.items()},
                          dict(self.owner), self.input_is_value)


@dataclass(frozen=True)
class ParentRef:
    """The orchestration (and its task) that started a sub-orchestration."""

    instance_id: InstanceId
    execution_id: ExecutionId
    task_id: int


@dataclass
class Instance:
    """The durable state of one orchestration execution as the engine sees it."""

    instance_id: InstanceId
    name: str
    execution_id: ExecutionId
    input: str | None
    status: str = RuntimeStatus.PENDING
    history: list[HistoryEvent] = field(default_factory=list)
    custom_status: Any = None
    output: Any = None
    parent: ParentRef | None = None
    meta: ReplayMeta = field(default_factory=ReplayMeta)
    # The JSON of the first `history_json_len` events; history only grows within an execution, so
    # each episode encodes just its new events (see encode_history).
    history_json: str | None = field(default=None, compare=False, repr=False)
    history_json_len: int = field(default=0, compare=False, repr=False)
    # Whatever the SDK codec keeps of this execution's history between episodes (opaque here; see
    # OrchestrationContextText). Shared by the copies an episode makes: each entry is checked against
    # the event it was made from before it is used.
    sdk_memo: list[Any] = field(default_factory=list, compare=False, repr=False)

    def for_episode(self) -> Instance:
        """A copy an episode may change: its own history list and replay meta (the events themselves, which
        nothing mutates, and the encoding caches are shared). `dataclasses.replace` does the same, slower."""
        return Instance(instance_id=self.instance_id, name=self.name, execution_id=self.execution_id,
                        input=self.input, status=self.status, history=list(self.history),
                        custom_status=self.custom_status, output=self.output, parent=self.parent,
                        meta=self.meta.copy(), history_json=self.history_json,
                        history_json_len=self.history_json_len, sdk_memo=self.sdk_memo)


class OrchestrationContextText(str):
    """The orchestration context the engine hands the SDK's orchestrator handle: its JSON text, which
    is all the SDK reads as installed, carrying the `value` that text decodes to (the history is the
    instance's own list of events, which nothing mutates) and the instance's `memo`, so that a codec
    in the host (`sdk_patches`) may skip decoding what the engine already holds decoded."""

    value: dict[str, Any]
    memo: list[Any]

    def __new__(cls, text: str, value: dict[str, Any], memo: list[Any]) -> OrchestrationContextText:
        made = super().__new__(cls, text)
        made.value = value
        made.memo = memo
        return made


def input_value(inst: Instance) -> Any:
    """The input as the extension holds it (the JSON value of its stored input): what the status shows
    as `input` and what the orchestrator's context receives. A string for the SDK client's double
    encoding (the SDK's `get_input()` parses its text), the value itself for a raw JSON body."""
    if inst.input is None or not inst.meta.input_is_value:
        return inst.input
    return json.loads(inst.input)


def encode_history(inst: Instance) -> str:
    """The history as JSON, extending the cached encoding of its prefix instead of re-encoding it all.

    The host builds every history event itself (ints, strings, nested objects of strings), so
    orjson encodes them (`fastjson`); the text decodes to the same values as the json module's."""
    cached, known = inst.history_json, inst.history_json_len
    if cached is None or known > len(inst.history):
        full = fastjson.dumps(inst.history)
    elif known == len(inst.history):
        full = cached
    else:
        tail = ",".join(map(fastjson.dumps, inst.history[known:]))
        full = f"{cached[:-1]}{',' if known else ''}{tail}]"
    inst.history_json, inst.history_json_len = full, len(inst.history)
    return full
