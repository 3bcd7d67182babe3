"""The in-memory mailboxes of every target, mirrored from the store's `messages` table, and the timer heap.

Each target (an orchestration instance id or an entity id `@name@key`) has an ordered list of
visible messages; a target is ready when it has messages and no step is running for it. A
message that is not visible yet (a durable timer) waits in a heap keyed by its `visible_at`;
`step(now)` moves every due one into its mailbox, and `run_timers()` drives `step` from the
injected clock. Owned by the dispatcher's loop thread; nothing here touches the store.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import Callable, Collection
from typing import Any

from .history import HistoryEvent
from .ids import is_entity_id
from .messages import Message


class Mailboxes:
    """Mailboxes, the ready queue and the timer heap of one dispatcher; `clock()` gives epoch seconds."""

    def __init__(self, clock: Callable[[], float], last_seq: int = 0,
                 on_enqueue: Callable[[str, int], None] = lambda _target, _depth: None) -> None:
        self._clock = clock
        self._on_enqueue = on_enqueue  # (target, its mailbox depth now): the telemetry's mailbox metrics
        self._seq = last_seq
        self._pending: dict[str, list[Message]] = {}
        self._ready: deque[str] = deque()
        self._queued: set[str] = set()
        self._running: set[str] = set()
        self._delayed: list[tuple[float, int]] = []
        self._delayed_msgs: dict[int, Message] = {}
        self._wake = asyncio.Event()  # set when a target becomes ready (see wait_ready)
        self._timer_wake = asyncio.Event()

    # -- messages -------------------------------------------------------------------------------
    def next_seq(self) -> int:
        """The next sequence number (messages and activity rows share one sequence, as in the store)."""
        self._seq += 1
        return self._seq

    def orchestration_message(self, target: str, ev: HistoryEvent, execution_id: str | None,
                              visible_at: float = 0.0) -> Message:
        """A new message carrying `ev` to orchestration `target` (not yet enqueued)."""
        return Message.for_orchestration(self.next_seq(), target, ev, execution_id, visible_at)

    def entity_message(self, target: str, operation: dict[str, Any]) -> Message:
        """A new message carrying an operation to entity `target` (not yet enqueued)."""
        return Message.for_entity(self.next_seq(), target, operation)

    def enqueue(self, message: Message, now: float | None = None) -> None:
        """Put a committed message in its mailbox, or in the timer heap if it is not visible yet."""
        if message.visible_at > (now if now is not None else self._clock()):
            heapq.heappush(self._delayed, (message.visible_at, message.seq))
            self._delayed_msgs[message.seq] = message
            self._timer_wake.set()
            return
        mailbox = self._pending.setdefault(message.target, [])
        mailbox.append(message)
        self._on_enqueue(message.target, len(mailbox))
        self.mark_ready(message.target)

    def mark_ready(self, target: str) -> None:
        """Queue `target` for a step unless one is running or it is queued already."""
        if target not in self._running and target not in self._queued:
            self._queued.add(target)
            self._ready.append(target)
            self._wake.set()

    def messages(self, target: str) -> list[Message]:
        """The visible messages of `target`, oldest first (the list itself: do not change it)."""
        return self._pending.get(target, [])

    def has_messages(self, target: str) -> bool:
        return bool(self._pending.get(target))

    # -- steps ----------------------------------------------------------------------------------
    async def wait_ready(self) -> None:
        """Return once a target became ready since the last call (event-driven, no polling)."""
        await self._wake.wait()
        self._wake.clear()

    def take(self) -> str | None:
        """The next ready target with messages, now marked running; None when nothing is ready."""
        while self._ready:
            target = self._ready.popleft()
            self._queued.discard(target)
            if target in self._running or not self._pending.get(target):
                continue
            self._running.add(target)
            return target
        return None

    def claim(self, target: str) -> bool:
        """Mark `target` running for a step of the caller's own (its work never was a message), if no step
        runs for it and no message waits for it; False (nothing changed) otherwise. End it with `end_claim`
        (or `release`)."""
        if target in self._running or target in self._pending:
            return False
        self._running.add(target)
        return True

    def end_claim(self, target: str) -> None:
        """End a claimed step that consumed nothing; messages that came meanwhile make `target` ready."""
        self._running.discard(target)
        if target in self._pending:
            self.mark_ready(target)

    def release(self, target: str, consumed: Collection[int]) -> None:
        """End `target`'s step: drop the messages it consumed (by seq) and let it run again."""
        pending = self._pending.get(target)
        if not pending:
            self._pending.pop(target, None)
            self._running.discard(target)
            return
        if consumed and not isinstance(consumed, set | frozenset):
            consumed = set(consumed)
        remaining = [m for m in pending if m.seq not in consumed] if consumed else pending
        if remaining:
            self._pending[target] = remaining
        else:
            self._pending.pop(target, None)
        self._running.discard(target)

    def put_back(self, target: str) -> None:
        """End `target`'s step without consuming anything (it stays as it is until new messages come)."""
        self._running.discard(target)

    def retry_later(self, target: str, delay_s: float = 1.0) -> None:
        """End `target`'s step without consuming anything and run it again after `delay_s` (its commit failed)."""
        self._running.discard(target)
        asyncio.get_running_loop().call_later(delay_s, self.mark_ready, target)

    def forget_timers(self, target: str) -> None:
        """Drop every delayed message of `target` (its instance ended; its timers will never be wanted)."""
        for message in self._pending.get(target, []):
            self._delayed_msgs.pop(message.seq, None)
        for seq, message in list(self._delayed_msgs.items()):
            if message.target == target:
                del self._delayed_msgs[seq]

    def activity_completions(self) -> list[Message]:
        """Visible messages that are activity results (their durable record is still the activity row)."""
        return [m for messages in self._pending.values() for m in messages if m.activity_seq is not None]

    # -- timers ---------------------------------------------------------------------------------
    def step(self, now: float) -> int:
        """Make every delayed message due at `now` visible; returns how many fired."""
        fired = 0
        while self._delayed and self._delayed[0][0] <= now:
            _, seq = heapq.heappop(self._delayed)
            message = self._delayed_msgs.pop(seq, None)
            if message is None:
                continue
            message.visible_at = 0.0
            self._pending.setdefault(message.target, []).append(message)
            self.mark_ready(message.target)
            fired += 1
        return fired

    def next_due(self) -> float | None:
        """When the earliest delayed message becomes visible (epoch seconds), if there is one."""
        return self._delayed[0][0] if self._delayed else None

    async def run_timers(self) -> None:
        """Drive `step` from the clock: sleep until the next fire time or until a new timer comes."""
        while True:
            self.step(self._clock())
            due = self.next_due()
            timeout = max(0.0, due - self._clock()) if due is not None else None
            try:
                await asyncio.wait_for(self._timer_wake.wait(), timeout)
            except TimeoutError:
                pass
            self._timer_wake.clear()

    # -- views (gauges) -------------------------------------------------------------------------
    def idle(self) -> bool:
        """No visible message waits and no step runs."""
        return not self._pending and not self._running

    def entity_depths(self) -> dict[str, int]:
        """Entity operations waiting, per entity type."""
        depths: dict[str, int] = {}
        for target, messages in self._pending.items():
            if is_entity_id(target):
                name = target.split("@")[1]
                depths[name] = depths.get(name, 0) + len(messages)
        return depths

    def active_entities(self) -> dict[str, int]:
        """Entities with visible messages or a running step, per entity type."""
        counts: dict[str, int] = {}
        for target in self._running | set(self._pending):
            if is_entity_id(target):
                name = target.split("@")[1]
                counts[name] = counts.get(name, 0) + 1
        return counts

    def waiting(self) -> dict[str, int]:
        """Visible messages for orchestrations and for entities, and delayed messages (timers)."""
        orchestration = sum(len(m) for t, m in self._pending.items() if not is_entity_id(t))
        entity = sum(len(m) for t, m in self._pending.items() if is_entity_id(t))
        return {"orchestration": orchestration, "entity": entity, "timer": len(self._delayed_msgs)}
